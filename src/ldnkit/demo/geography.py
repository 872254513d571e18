"""Where things are in the demo landscape: the area of interest, the regions, the mountain and its
climate zones, the town, the villages, the lake and the river (relative coordinates, see grid.py)."""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import distance_transform_edt
from shapely.geometry import Polygon, box

from ldnkit.demo.grid import lonlat

AOI_INSET, AOI_CORNER = 0.05, 0.12  # octagon a bit inside the raster
REGION_BREAKS = (0.36, 0.68)  # North | Centre | South, as v
MOUNTAIN = (0.76, 0.27, 0.09)  # centre u, v and width of the bump
MONTANE = 0.35  # elevation above which the climate is tropical montane
TOWN = (0.42, 0.56, 0.045)
VILLAGES = ((0.70, 0.70, 0.012), (0.15, 0.62, 0.012), (0.66, 0.12, 0.012))
LAKE = (0.20, 0.78, 0.07, 0.045)  # centre u, v and semi-axes
RIVER_HALF_WIDTH = 0.004
ZONE_NODATA = 0


def mountain(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The mountain's smooth bump: relative height 1 at its summit, falling to 0 in the lowlands."""
    return np.exp(-((u - MOUNTAIN[0]) ** 2 + (v - MOUNTAIN[1]) ** 2) / (2 * MOUNTAIN[2] ** 2))


def elevation(u: np.ndarray, v: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Relative height (0..~1): the mountain plus a little smooth ``noise`` (a standardised field)."""
    return np.clip(mountain(u, v) + 0.06 * noise, 0.0, None)


def climate_zones(elev: np.ndarray) -> np.ndarray:
    """IPCC climate zones (uint8): 9 tropical montane above MONTANE, 11 tropical moist below."""
    return np.where(elev > MONTANE, 9, 11).astype(np.uint8)


def lake_distance(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Distance from the lake's centre in units of its semi-axes (1 on its shore)."""
    return np.hypot((u - LAKE[0]) / LAKE[2], (v - LAKE[1]) / LAKE[3])


def river_distance(n: int) -> np.ndarray:
    """Distance (relative units) from each pixel centre to a meandering river ending in the lake."""
    t = np.linspace(0.0, 1.0, 8 * n)
    ru = 0.62 - 0.40 * t + 0.03 * np.sin(4 * math.pi * t)
    rv = 0.74 * t
    on = np.zeros((n, n), bool)
    on[np.clip((rv * n).astype(int), 0, n - 1), np.clip((ru * n).astype(int), 0, n - 1)] = True
    return distance_transform_edt(~on) / n


def aoi_polygon(n: int) -> Polygon:
    """The area of interest: an octagon a little inside the raster, its corners on pixel edges."""
    m, c = AOI_INSET, AOI_CORNER
    rel = [
        (m + c, m),
        (1 - m - c, m),
        (1 - m, m + c),
        (1 - m, 1 - m - c),
        (1 - m - c, 1 - m),
        (m + c, 1 - m),
        (m, 1 - m - c),
        (m, m + c),
    ]
    return Polygon([lonlat(n, u, v) for u, v in rel])


def regions(n: int, aoi: Polygon) -> list[tuple[str, Polygon]]:
    """Three horizontal bands of the area of interest (they tile it exactly)."""
    edges = [0.0, *REGION_BREAKS, 1.0]
    out = []
    for name, top, bottom in zip(("North", "Centre", "South"), edges[:-1], edges[1:], strict=True):
        x0, y0 = lonlat(n, 0.0, top)
        x1, y1 = lonlat(n, 1.0, bottom)
        out.append((name, aoi.intersection(box(x0, y1, x1, y0))))
    return out
