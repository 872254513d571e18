"""The demo grid, and shapes drawn on it in relative coordinates (u east, v south, both 0..1).

Positions in the demo are relative, so the landscape looks the same at every size; these helpers turn
them into pixels, coordinates and shapes.
"""

from __future__ import annotations

import math

import numpy as np
from affine import Affine
from scipy.ndimage import gaussian_filter
from shapely.geometry import Polygon, box

YEARS: tuple[int, ...] = tuple(range(2000, 2024))
PIXEL_SIZE = 0.0025  # degrees
ORIGIN = (36.0, -0.5)  # upper-left corner (lon, lat): near the equator, so areas are ellipsoidal
CRS = "EPSG:4326"
DEFAULT_SEED = 20260101
#: How much a planted patch's radius wobbles with the angle (2nd and 3rd harmonic): at most 23 %.
WOBBLE = (0.15, 0.08)


def grid_transform(step: float = PIXEL_SIZE) -> Affine:
    """North-up transform of a grid of ``step``-degree pixels whose upper-left corner is ORIGIN."""
    return Affine(step, 0.0, ORIGIN[0], 0.0, -step, ORIGIN[1])


def relative_coords(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Relative coordinates ``(u, v)`` of the pixel centres of an ``n`` x ``n`` grid."""
    c = (np.arange(n) + 0.5) / n
    u, v = np.meshgrid(c, c)
    return u, v


def smooth_field(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """Standardised smooth random field (Gaussian-filtered white noise, ``scale`` x size wide)."""
    f = gaussian_filter(rng.standard_normal((n, n)), sigma=scale * n, mode="reflect")
    return (f - f.mean()) / f.std()


def blob(
    u: np.ndarray, v: np.ndarray, cu: float, cv: float, r: float, rng: np.random.Generator
) -> np.ndarray:
    """A contiguous, star-shaped patch: a disc whose radius wobbles with the angle."""
    du, dv = u - cu, v - cv
    theta = np.arctan2(dv, du)
    ph = rng.uniform(0.0, 2.0 * math.pi, 2)
    radius = r * (1.0 + WOBBLE[0] * np.sin(2 * theta + ph[0]) + WOBBLE[1] * np.sin(3 * theta + ph[1]))
    return np.hypot(du, dv) <= radius


def lonlat(n: int, u: float, v: float) -> tuple[float, float]:
    """Coordinates of a relative position snapped to the nearest pixel edge."""
    col, row = round(u * n), round(v * n)
    return ORIGIN[0] + col * PIXEL_SIZE, ORIGIN[1] - row * PIXEL_SIZE


def pixel_centre(n: int, u: float, v: float) -> tuple[float, float]:
    """Coordinates of the centre of the pixel at a relative position."""
    col, row = min(int(u * n), n - 1), min(int(v * n), n - 1)
    return ORIGIN[0] + (col + 0.5) * PIXEL_SIZE, ORIGIN[1] - (row + 0.5) * PIXEL_SIZE


def relative_box(n: int, u0: float, v0: float, u1: float, v1: float) -> Polygon:
    """The rectangle between two relative positions, snapped to pixel edges."""
    x0, y0 = lonlat(n, u0, v0)
    x1, y1 = lonlat(n, u1, v1)
    return box(x0, y1, x1, y0)
