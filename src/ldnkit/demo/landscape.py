"""The demo landscape in memory: every SO 1 and land-type array, drawn in a fixed order from one seed.

:func:`build_landscape` draws the static fields, the land cover, the planted patches, the NDVI and
the SOC from ``numpy.random.default_rng(seed)`` in that order (the order of draws is part of the
determinism); the woody patch and the soils have their own streams, so they leave the rest unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio.features
from affine import Affine
from shapely.geometry import Polygon, mapping

from ldnkit.demo.fields import draw_static_fields
from ldnkit.demo.geography import (
    aoi_polygon,
    climate_zones,
    elevation,
    lake_distance,
    regions,
    river_distance,
)
from ldnkit.demo.grid import YEARS, grid_transform, relative_coords
from ldnkit.demo.land_cover import add_background_changes, esa_codes, initial_land_cover, plant_land_cover
from ldnkit.demo.processes import PlantedProcess, patch_masks, planted_processes, woody_mask
from ldnkit.demo.productivity import ndvi_stack
from ldnkit.demo.soil import soc_stock, soils


@dataclass(eq=False)
class Landscape:
    """Every array of the demo, in memory (class maps are UNCCD codes, esa the ESA CCI codes)."""

    transform: Affine
    unccd: np.ndarray  # (year, y, x) int8
    esa: np.ndarray  # (year, y, x) uint8
    ndvi: np.ndarray  # (year, y, x) float32
    soc: np.ndarray  # (y, x) float32
    zones: np.ndarray  # (y, x) uint8
    aoi: Polygon
    regions: list[tuple[str, Polygon]]
    aoi_mask: np.ndarray
    processes: list[PlantedProcess]
    soils: np.ndarray | None = None  # (y, x) uint8 soil group 1..3
    slope: np.ndarray | None = None  # (y, x) float32 %
    soil_depth: np.ndarray | None = None  # (y, x) float32 cm


def build_landscape(size: int, seed: int) -> Landscape:
    """The demo landscape on a ``size`` x ``size`` grid (at least 100), deterministic in ``seed``."""
    if size < 100:
        raise ValueError(f"size must be at least 100 pixels for the planted patches to fit, got {size}")
    n = size
    rng = np.random.default_rng(seed)
    u, v = relative_coords(n)
    fields = draw_static_fields(rng, n)
    elev = elevation(u, v, fields.elevation)
    lake_d, river_d = lake_distance(u, v), river_distance(n)

    lc = initial_land_cover(u, v, elev, lake_d, river_d, fields, rng)
    unccd = np.repeat(lc[None], len(YEARS), axis=0)
    masks = patch_masks(u, v, rng)
    add_background_changes(unccd, lc, masks, u, v, rng)
    masks["woody"] = woody_mask(u, v, seed)
    plant_land_cover(unccd, lc, masks, u, v, fields.front)

    esa = esa_codes(unccd, fields.sub, elev, river_d)
    ndvi = ndvi_stack(unccd, masks, u, v, elev, fields.ndvi, rng)
    soc = soc_stock(unccd[0], elev, fields.soc, rng)  # of 2000

    transform = grid_transform()
    aoi = aoi_polygon(n)
    aoi_mask = rasterio.features.geometry_mask([mapping(aoi)], (n, n), transform, invert=True)
    groups, slope, depth = soils(u, v, elev, river_d, lake_d, np.random.default_rng([seed, 5]))
    return Landscape(
        transform,
        unccd,
        esa,
        ndvi,
        soc,
        climate_zones(elev),
        aoi,
        regions(n, aoi),
        aoi_mask,
        planted_processes(masks),
        soils=groups,
        slope=slope,
        soil_depth=depth,
    )
