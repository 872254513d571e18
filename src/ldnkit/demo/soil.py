"""Soils of the demo landscape: the reference SOC stock, soil groups, slope and soil depth."""

from __future__ import annotations

import numpy as np

from ldnkit.demo.geography import MOUNTAIN
from ldnkit.demo.grid import smooth_field

SOC_MEAN = np.array([np.nan, 80.0, 50.0, 40.0, 150.0, 20.0, 15.0, np.nan])  # t/ha, 0-30 cm by UNCCD class
SOIL_NAMES = {1: "Vertisols", 2: "Ferralsols", 3: "Andosols"}
SOIL_NODATA = 0


def soc_stock(
    land_cover: np.ndarray, elev: np.ndarray, pattern: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """SOC (float32 t/ha, 0-30 cm) of the UNCCD classes ``land_cover``: the class stock, richer on
    the mountain, with the smooth ``pattern`` and pixel noise drawn from ``rng``; NaN on water."""
    n = land_cover.shape[0]
    soc = (
        SOC_MEAN[land_cover]
        * (1.0 + 0.3 * np.clip(elev, 0, 1))
        * np.exp(0.12 * pattern)
        * np.exp(0.03 * rng.standard_normal((n, n)))
    )
    return soc.astype(np.float32)


def soils(
    u: np.ndarray,
    v: np.ndarray,
    elev: np.ndarray,
    river_d: np.ndarray,
    lake_d: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soil groups (1 Vertisols in the lowlands by the river and lake, 3 Andosols on the mountain,
    2 Ferralsols elsewhere), slope (%) from the mountain's and some hills' gradients, and soil
    depth (cm), shallow on steep and high land. The same at every size (relative coordinates)."""
    n = u.shape[0]
    hills = smooth_field(rng, n, 0.06)
    depth_f = smooth_field(rng, n, 0.05)
    soil_f = smooth_field(rng, n, 0.08)
    relief = elev + 0.08 * hills  # relative height, 0..~1
    gy, gx = np.gradient(relief, 1.0 / n)
    steep = np.hypot(gx, gy) * MOUNTAIN[2]  # ~0.6 on the mountain's flanks
    slope = np.clip(2.0 + 45.0 * steep + 1.0 * depth_f, 0.0, None).astype(np.float32)
    depth = np.clip(130.0 - 90.0 * np.clip(elev, 0, 1) - 60.0 * steep + 25.0 * depth_f, 10.0, 200.0)
    groups = np.full((n, n), 2, np.uint8)
    groups[((river_d < 0.06) | (lake_d < 2.4)) & (soil_f > -0.8)] = 1
    groups[elev > 0.25] = 3
    return groups, slope, depth.astype(np.float32)
