"""Annual NDVI of the demo landscape: a mean by land-cover class, a static spatial pattern, a
regional year effect, pixel noise, and the planted declines and rises (processes.py)."""

from __future__ import annotations

import numpy as np

from ldnkit.codes import CROPLAND, GRASSLAND, TREE, WATER
from ldnkit.demo.grid import YEARS
from ldnkit.demo.processes import (
    DECLINE_SLOPE,
    DECLINE_START,
    PATCHES,
    RESTORE_OFFSET,
    RESTORE_SLOPE,
    RESTORE_START,
    WOODY_SLOPE,
    WOODY_START,
)

NDVI_FILE = "ndvi_2000-2023.tif"
# By UNCCD class (index = class code, 0 unused).
NDVI_MEAN = np.array([0, 0.75, 0.45, 0.50, 0.60, 0.15, 0.12, np.nan])
NDVI_SPREAD = np.array([0, 0.03, 0.04, 0.04, 0.03, 0.02, 0.015, 0])  # static spatial sd
NDVI_NOISE = np.array([0, 0.008, 0.018, 0.025, 0.012, 0.008, 0.006, 0])  # inter-annual pixel sd
YEAR_SENSITIVITY = np.array([0, 0.5, 1.0, 1.3, 0.6, 0.2, 0.3, 0])  # to the regional year effect
#: Regional year effect on NDVI (droughts 2005, 2009, 2011, 2016; wet 2007, 2012, 2020). Chosen
#: so that no trend window or state comparison of the default periods is biased by much.
YEAR_EFFECT = {
    2000: 0.010,
    2001: 0.005,
    2002: -0.005,
    2003: 0.010,
    2004: 0.000,
    2005: -0.040,
    2006: 0.015,
    2007: 0.020,
    2008: 0.005,
    2009: -0.045,
    2010: 0.015,
    2011: -0.025,
    2012: 0.020,
    2013: 0.000,
    2014: -0.010,
    2015: 0.005,
    2016: -0.030,
    2017: 0.000,
    2018: 0.005,
    2019: -0.010,
    2020: 0.020,
    2021: -0.005,
    2022: -0.015,
    2023: 0.010,
}


def centre_weight(
    u: np.ndarray, v: np.ndarray, mask: np.ndarray, patch: tuple[float, float, float]
) -> np.ndarray:
    """1.3 at the patch centre falling linearly to 0.35 at its farthest pixel; 0 outside."""
    d = np.hypot(u - patch[0], v - patch[1])
    rel = d / d[mask].max()
    return np.where(mask, 0.35 + 0.95 * (1.0 - rel), 0.0)


def ndvi_stack(
    unccd: np.ndarray,
    masks: dict[str, np.ndarray],
    u: np.ndarray,
    v: np.ndarray,
    elev: np.ndarray,
    pattern: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """NDVI (float32, year x y x, 0.01..0.95, NaN on water) for the land cover ``unccd``.

    Class mean + the static spatial ``pattern`` (a standardised field) + the regional year effect
    (stronger in the south) + pixel noise drawn from ``rng`` year by year + the planted signals of
    the decline, restoration and woody patches in ``masks``.
    """
    n = u.shape[0]
    year_amp = 0.8 + 0.4 * v  # droughts bite harder in the south
    # Decline and recovery are strongest at the centre of their patch, faint at its edge.
    strength = {key: centre_weight(u, v, masks[key], PATCHES[key]) for key in ("decline", "restoration")}
    montane_bonus = 0.05 * np.clip(elev, 0, 1)
    ndvi = np.empty((len(YEARS), n, n), np.float32)
    for i, y in enumerate(YEARS):
        c = unccd[i]
        noise = rng.standard_normal((n, n))
        val = (
            NDVI_MEAN[c]
            + NDVI_SPREAD[c] * pattern
            + YEAR_SENSITIVITY[c] * year_amp * YEAR_EFFECT[y]
            + NDVI_NOISE[c] * noise
        )
        val += np.where(np.isin(c, (TREE, GRASSLAND, CROPLAND)), montane_bonus, 0.0)
        if y >= DECLINE_START:
            val += strength["decline"] * DECLINE_SLOPE * (y - DECLINE_START + 1)
        val += strength["restoration"] * (RESTORE_OFFSET + RESTORE_SLOPE * max(0, y - RESTORE_START + 1))
        val += np.where(masks["woody"], WOODY_SLOPE * max(0, y - WOODY_START + 1), 0.0)
        ndvi[i] = np.clip(val, 0.01, 0.95)
        ndvi[i][c == WATER] = np.nan
    return ndvi
