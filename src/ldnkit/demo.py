"""A deterministic synthetic landscape with planted degradation processes and their known truth.

``ldnkit demo`` builds, in code, a 1° x 1° landscape near the equator (EPSG:4326, 0.0025° pixels,
upper-left corner at 36.0 E, 0.5 S): patchy land cover in the ESA CCI legend for every year
2000-2023, annual NDVI, a reference SOC stock, IPCC climate zones (tropical moist lowlands and a
tropical montane mountain), three sub-national regions and an area of interest a little inside the
raster. Into it are planted processes whose outcome the indicator must recover (deforestation front,
urban expansion, cropland abandonment, productivity decline, restoration, drained wetland) plus an
undisturbed reference patch that shows the false-alarm rate. For drought (UNCCD SO 3) it adds
monthly precipitation 1981-2023 on a coarser grid with two planted droughts (2009 everywhere, 2016
in the south), population counts by sex for 2000, 2010 and 2020 and a table of vulnerability
factors. The inputs are written as ordinary files with a run config, the full pipeline is run on
them, and :func:`evaluate_demo` reports, per process, period and layer, the share of the process's
pixels classed as expected.

Everything is drawn from one ``numpy.random.Generator`` with a fixed seed, so the same call writes
the same files byte for byte.

Example
-------
>>> from ldnkit.demo import build_demo_inputs
>>> case = build_demo_inputs(Path("demo/inputs"), size=200)      # doctest: +SKIP
>>> [p.name for p in case.processes]                              # doctest: +SKIP
['Deforestation front', 'Urban expansion', ...]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import rasterio.windows
import yaml
from affine import Affine
from scipy.ndimage import binary_dilation, distance_transform_edt, gaussian_filter
from shapely.geometry import Polygon, box, mapping

from . import codes
from .codes import ARTIFICIAL, CROPLAND, GRASSLAND, OTHER_LAND, TREE, WATER, WETLAND
from .errors import InputError

if TYPE_CHECKING:  # the pipeline is imported lazily in run_demo
    from rich.console import Console

    from .pipeline import Result

__all__ = [
    "DemoCase",
    "Expectation",
    "PlantedDrought",
    "PlantedProcess",
    "build_demo_inputs",
    "evaluate_demo",
    "print_demo_report",
    "print_neutrality_report",
    "run_demo",
]

# --- the grid ---------------------------------------------------------------------------------------
YEARS: tuple[int, ...] = tuple(range(2000, 2024))
PIXEL_SIZE = 0.0025  # degrees
ORIGIN = (36.0, -0.5)  # upper-left corner (lon, lat): near the equator, so areas are ellipsoidal
CRS = "EPSG:4326"
DEFAULT_SEED = 20260101
NDVI_FILE = "ndvi_2000-2023.tif"
LC_NODATA = 0  # ESA CCI no data
ZONE_NODATA = 0
BASELINE, REPORTING_1, REPORTING_2 = "baseline", "2016-2019", "2016-2023"
#: Categorical output layers evaluate_demo can read, by their file name in layers/<period>/.
OUTPUT_LAYERS = (
    "trajectory",
    "state",
    "performance",
    "lpd",
    "productivity_degradation",
    "land_cover_transition",
    "land_cover_degradation",
    "soc_degradation",
    "sdg",
    "status",
    "status_expanded",
    "sdg_uncorrected",
    "status_uncorrected",
    "status_expanded_uncorrected",
)

# --- the landscape, in coordinates relative to the raster: u east, v south, both 0..1 ---------------
AOI_INSET, AOI_CORNER = 0.05, 0.12  # octagon a bit inside the raster
REGION_BREAKS = (0.36, 0.68)  # North | Centre | South, as v
MOUNTAIN = (0.76, 0.27, 0.09)  # centre u, v and width of the bump
MONTANE = 0.35  # elevation above which the climate is tropical montane
TOWN = (0.42, 0.56, 0.045)
VILLAGES = ((0.70, 0.70, 0.012), (0.15, 0.62, 0.012), (0.66, 0.12, 0.012))
LAKE = (0.20, 0.78, 0.07, 0.045)  # centre u, v and semi-axes
RIVER_HALF_WIDTH = 0.004
#: Planted patches: centre u, v and mean radius (radius wobbles by at most 23 %).
PATCHES: dict[str, tuple[float, float, float]] = {
    "deforestation": (0.21, 0.23, 0.075),
    "urban": (0.545, 0.575, 0.07),
    "abandonment": (0.80, 0.56, 0.07),
    "decline": (0.60, 0.82, 0.07),
    "restoration": (0.82, 0.80, 0.065),
    "wetland": (0.38, 0.82, 0.06),
    "stable": (0.20, 0.47, 0.07),
}
WOBBLE = (0.15, 0.08)
#: A false positive (neutrality/corrections): grassland invaded by woody weeds from 2010, so NDVI
#: rises (the indicator says improved) although the land is degrading. Drawn from its own random
#: stream so the landscape elsewhere is unchanged.
WOODY = (0.57, 0.33, 0.06)
WOODY_START, WOODY_SLOPE = 2010, 0.012

# --- LDN neutrality accounting: land types, field sites, planning, corrections, targets --------------
SOIL_NAMES = {1: "Vertisols", 2: "Ferralsols", 3: "Andosols"}
SOIL_NODATA = 0
#: Land capability rules: slope (%) and soil depth (cm) -> classes (first match wins).
CAPABILITY_RULES = [
    {"code": 1, "label": "I-II good", "when": {"slope": [None, 8], "soil_depth": [50, None]}},
    {"code": 2, "label": "III-IV moderate", "when": {"slope": [None, 20]}},
    {"code": 3, "label": "V-VIII poor", "when": {"slope": [0, None]}},
]
#: Field sites: how many, and how many whose recorded capability class was planted to disagree
#: with the class the rules give from the mapped slope and soil depth at the site.
N_SITES, N_SITES_DISAGREE = 30, 4
MINING_PERMIT = (0.36, 0.08, 0.44, 0.15)  # u0, v0, u1, v1 (relative)
#: Restoration plan: (level, effect, place, u0, v0, u1, v1).
RESTORATION_PLAN = (
    ("reverse", 0.8, "Grassland rehabilitation", 0.50, 0.72, 0.60, 0.93),
    ("avoid", 0.9, "Forest reserve", 0.11, 0.38, 0.29, 0.56),
)
LAND_TYPES_MIN_AREA_KM2 = 25.0

# --- NDVI and SOC by UNCCD class (index = class code, 0 unused) -------------------------------------
NDVI_MEAN = np.array([0, 0.75, 0.45, 0.50, 0.60, 0.15, 0.12, np.nan])
NDVI_SPREAD = np.array([0, 0.03, 0.04, 0.04, 0.03, 0.02, 0.015, 0])  # static spatial sd
NDVI_NOISE = np.array([0, 0.008, 0.018, 0.025, 0.012, 0.008, 0.006, 0])  # inter-annual pixel sd
YEAR_SENSITIVITY = np.array([0, 0.5, 1.0, 1.3, 0.6, 0.2, 0.3, 0])  # to the regional year effect
SOC_MEAN = np.array([np.nan, 80.0, 50.0, 40.0, 150.0, 20.0, 15.0, np.nan])  # t/ha, 0-30 cm
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
DECLINE_START, DECLINE_SLOPE = 2008, -0.012  # NDVI per year from 2008 on
RESTORE_START, RESTORE_OFFSET, RESTORE_SLOPE = 2008, -0.16, 0.0105

# --- drought (SO 3): precipitation, population, vulnerability ------------------------------------------
PRECIP_FILE = "precipitation_monthly.nc"
PRECIP_YEARS: tuple[int, ...] = tuple(range(1981, 2024))
DROUGHT_CELL = 4  # NDVI pixels per precipitation cell side: 0.01°, as a coarse rainfall product
POP_SPLIT = 2  # population pixels per NDVI pixel side: 0.00125°, finer than the NDVI
POP_YEARS = (2000, 2010, 2020)
DVI_FILE = "dvi_factors.csv"
#: Mean monthly rainfall (mm) of an average cell: long rains Mar-May, short rains Oct-Dec.
RAIN_CLIMATOLOGY = np.array([45, 55, 110, 190, 120, 30, 18, 22, 30, 60, 125, 85], float)
RAIN_SHAPE = 8.0  # gamma shape of a cell's monthly total around its mean (CV 0.35)
RAIN_MONTH_SHAPE = 6.0  # gamma shape of the area-wide factor of each month (CV 0.41)
RAIN_YEAR_SD = 0.09  # log sd of the area-wide factor of a year, 1981-1999
RAIN_FIELD_SD = 0.06  # log sd of a year's smooth spatial anomaly
#: Planted droughts: year -> (where, share of normal rainfall in every month of that year). The
#: rest of the grid has a normal year (factor 1). 2009 and 2016 are also the NDVI's worst years.
PLANTED_DROUGHT = {2009: ("all", 0.35), 2016: ("south", 0.45)}
NORMAL_YEAR = 2012  # no planted deficit; NDVI's wet year, rainfall a little above normal
DROUGHT_PERIOD = (2000, 4)  # periods of the SO 3 maps: 2000-2003, 2004-2007, ...
#: Persons per km² by UNCCD class (index = code) outside built-up land, in 2000.
POP_DENSITY = np.array([0.0, 8.0, 25.0, 90.0, 5.0, 0.0, 3.0, 0.0])
POP_TOWN, POP_VILLAGE = 6500.0, 1500.0  # persons per km² of built-up land, town centre / villages
POP_GROWTH, POP_URBAN_GROWTH = 0.025, 0.04  # per year
_SEXES = ("total", "female", "male")


class Expectation(tuple):
    """What a correct run classes a planted process as: ``layer`` of ``period`` in ``codes``.

    A 3-tuple ``(period, layer, codes)``; the optional ``only_where`` = (period, layer, codes)
    restricts the check to the process's pixels where that other output layer has one of those
    codes (e.g. status_expanded is "recent degradation" only where the baseline was not degraded).
    """

    only_where: tuple[str, str, tuple[int, ...]] | None

    def __new__(
        cls,
        period: str,
        layer: str,
        codes: tuple[int, ...],
        only_where: tuple[str, str, tuple[int, ...]] | None = None,
    ) -> Expectation:
        self = super().__new__(cls, (period, layer, tuple(codes)))
        self.only_where = only_where
        return self

    def __getnewargs__(self) -> tuple:
        return (*self, self.only_where)

    def __repr__(self) -> str:
        extra = f", only_where={self.only_where!r}" if self.only_where else ""
        return f"Expectation({self[0]!r}, {self[1]!r}, {self[2]!r}{extra})"

    @property
    def period(self) -> str:
        return self[0]

    @property
    def layer(self) -> str:
        return self[1]

    @property
    def codes(self) -> tuple[int, ...]:
        return self[2]


@dataclass(frozen=True, eq=False)
class PlantedProcess:
    """A planted process: its pixels (``mask``, bool, rows x cols of the grid) and the truth."""

    name: str
    mask: np.ndarray
    expected: list[Expectation]
    description: str = ""


@dataclass(frozen=True, eq=False)
class PlantedDrought:
    """A planted drought (or a control without one) on the precipitation grid.

    ``mask`` (bool, rows x cols of the precipitation grid) holds the cells checked; a correct run
    gives them a drought class (:data:`ldnkit.codes.DROUGHT`) in ``expected`` in
    ``layers/drought/drought_class_<label>.tif``, where ``label`` is the year or, if given, the
    multi-year ``period`` ("2008-2011").
    """

    name: str
    year: int
    mask: np.ndarray
    expected: tuple[int, ...]
    description: str = ""
    period: str | None = None

    @property
    def label(self) -> str:
        return self.period or str(self.year)


@dataclass(eq=False)
class DemoCase:
    """The demo inputs written by :func:`build_demo_inputs`.

    ``aoi`` is the area of interest rasterised on the grid (pixel centre inside); ``transform`` and
    ``crs`` describe the grid every SO 1 input is on. ``droughts`` are the planted droughts, on
    the coarser precipitation grid of ``drought_transform``.
    """

    config_path: Path
    folder: Path
    processes: list[PlantedProcess]
    aoi: np.ndarray | None = None
    transform: Affine | None = None
    crs: str = CRS
    files: dict[str, Path] = field(default_factory=dict)
    droughts: list[PlantedDrought] = field(default_factory=list)
    drought_transform: Affine | None = None


@dataclass(eq=False)
class _Landscape:
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


# --- geometry helpers --------------------------------------------------------------------------------
def _uv(n: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(n) + 0.5) / n
    u, v = np.meshgrid(c, c)
    return u, v


def _smooth(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """Standardised smooth random field (Gaussian-filtered white noise, ``scale`` x size wide)."""
    f = gaussian_filter(rng.standard_normal((n, n)), sigma=scale * n, mode="reflect")
    return (f - f.mean()) / f.std()


def _blob(
    u: np.ndarray, v: np.ndarray, cu: float, cv: float, r: float, rng: np.random.Generator
) -> np.ndarray:
    """A contiguous, star-shaped patch: a disc whose radius wobbles with the angle."""
    du, dv = u - cu, v - cv
    theta = np.arctan2(dv, du)
    ph = rng.uniform(0.0, 2.0 * math.pi, 2)
    radius = r * (1.0 + WOBBLE[0] * np.sin(2 * theta + ph[0]) + WOBBLE[1] * np.sin(3 * theta + ph[1]))
    return np.hypot(du, dv) <= radius


def _lonlat(n: int, u: float, v: float) -> tuple[float, float]:
    """Coordinates of a relative position snapped to the nearest pixel edge."""
    col, row = round(u * n), round(v * n)
    return ORIGIN[0] + col * PIXEL_SIZE, ORIGIN[1] - row * PIXEL_SIZE


def _centre_weight(
    u: np.ndarray, v: np.ndarray, mask: np.ndarray, patch: tuple[float, float, float]
) -> np.ndarray:
    """1.3 at the patch centre falling linearly to 0.35 at its farthest pixel; 0 outside."""
    d = np.hypot(u - patch[0], v - patch[1])
    rel = d / d[mask].max()
    return np.where(mask, 0.35 + 0.95 * (1.0 - rel), 0.0)


def _aoi_polygon(n: int) -> Polygon:
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
    return Polygon([_lonlat(n, u, v) for u, v in rel])


def _regions(n: int, aoi: Polygon) -> list[tuple[str, Polygon]]:
    """Three horizontal bands of the area of interest (they tile it exactly)."""
    edges = [0.0, *REGION_BREAKS, 1.0]
    out = []
    for name, top, bottom in zip(("North", "Centre", "South"), edges[:-1], edges[1:], strict=True):
        x0, y0 = _lonlat(n, 0.0, top)
        x1, y1 = _lonlat(n, 1.0, bottom)
        out.append((name, aoi.intersection(box(x0, y1, x1, y0))))
    return out


def _river_distance(n: int) -> np.ndarray:
    """Distance (relative units) from each pixel centre to a meandering river ending in the lake."""
    t = np.linspace(0.0, 1.0, 8 * n)
    ru = 0.62 - 0.40 * t + 0.03 * np.sin(4 * math.pi * t)
    rv = 0.74 * t
    on = np.zeros((n, n), bool)
    on[np.clip((rv * n).astype(int), 0, n - 1), np.clip((ru * n).astype(int), 0, n - 1)] = True
    return distance_transform_edt(~on) / n


# --- the landscape -------------------------------------------------------------------------------------
def _landscape(size: int, seed: int) -> _Landscape:
    if size < 100:
        raise ValueError(f"size must be at least 100 pixels for the planted patches to fit, got {size}")
    n = size
    rng = np.random.default_rng(seed)
    u, v = _uv(n)
    ny = len(YEARS)
    yi = {y: i for i, y in enumerate(YEARS)}

    # Static fields; the order of draws is part of the determinism.
    elev_noise = _smooth(rng, n, 0.03)
    tree_f = _smooth(rng, n, 0.05)
    crop_f = _smooth(rng, n, 0.04)
    rock_f = _smooth(rng, n, 0.03)
    wet_f = _smooth(rng, n, 0.02)
    sub_f = _smooth(rng, n, 0.03)
    ndvi_f = _smooth(rng, n, 0.04)
    soc_f = _smooth(rng, n, 0.05)
    front_f = _smooth(rng, n, 0.02)

    elev = np.exp(-((u - MOUNTAIN[0]) ** 2 + (v - MOUNTAIN[1]) ** 2) / (2 * MOUNTAIN[2] ** 2))
    elev = np.clip(elev + 0.06 * elev_noise, 0.0, None)
    zones = np.where(elev > MONTANE, 9, 11).astype(np.uint8)  # IPCC: tropical montane / moist

    # Forest blocks around the deforestation front and the reference patch.
    bias = np.zeros((n, n))
    for key in ("deforestation", "stable"):
        cu, cv, r = PATCHES[key]
        bias += 2.0 * np.exp(-((np.hypot(u - cu, v - cv) / (1.8 * r)) ** 4))
    lc = np.where(crop_f > -0.1, CROPLAND, GRASSLAND).astype(np.int8)
    lc[tree_f + 1.6 * elev + bias > 0.75] = TREE
    lc[((rock_f > 2.0) & (elev < 0.3)) | (elev > 0.92)] = OTHER_LAND
    lake_d = np.hypot((u - LAKE[0]) / LAKE[2], (v - LAKE[1]) / LAKE[3])
    river_d = _river_distance(n)
    lc[((lake_d < 1.6) & (wet_f > -0.4)) | ((river_d < 0.015) & (wet_f > 0.6))] = WETLAND
    lc[_blob(u, v, *TOWN, rng)] = ARTIFICIAL
    for village in VILLAGES:
        lc[_blob(u, v, *village, rng)] = ARTIFICIAL
    lc[(lake_d <= 1.0) | (river_d * n <= max(1.0, RIVER_HALF_WIDTH * n))] = WATER

    unccd = np.repeat(lc[None], ny, axis=0)

    # Planted patches (drawn in a fixed order).
    masks = {key: _blob(u, v, *PATCHES[key], rng) for key in PATCHES}
    planted = np.zeros((n, n), bool)
    for m in masks.values():
        planted |= m

    # Background change: a few small blobs of ordinary land-use change away from the patches.
    rules = (
        (GRASSLAND, CROPLAND),
        (TREE, CROPLAND),
        (CROPLAND, TREE),
        (GRASSLAND, TREE),
        (CROPLAND, GRASSLAND),
        (TREE, GRASSLAND),
    )
    placed = attempts = 0
    keep_off = binary_dilation(planted, iterations=3)  # no change touching a patch
    while placed < 14 and attempts < 1000:
        attempts += 1
        cu, cv = rng.uniform(0.1, 0.9, 2)
        r = rng.uniform(0.02, 0.035)
        src, dst = rules[int(rng.integers(len(rules)))]
        year = int(rng.integers(2002, 2023))
        blob = _blob(u, v, cu, cv, r, rng)
        far = all(
            math.hypot(cu - pu, cv - pv) > pr * 1.25 + r * 1.25 + 0.02 for pu, pv, pr in PATCHES.values()
        )
        if not far or (blob & keep_off).any():
            continue
        hit = blob & (lc == src)
        unccd[yi[year] :, hit] = dst
        placed += 1

    # 1. Deforestation front: tree, cleared for cropland 2004-2010, moving from east to west.
    m = masks["deforestation"]
    uu = u[m]
    s = (uu.max() - uu) / (uu.max() - uu.min()) + 0.06 * front_f[m]
    clear_year = 2004 + np.clip((s * 7).astype(int), 0, 6)
    for i, y in enumerate(YEARS):
        cls = np.where(y < clear_year, TREE, CROPLAND)
        unccd[i, m] = cls
    # 2. Urban expansion: cropland/grassland built over in 2017 (near the town) and 2018.
    m = masks["urban"]
    before = np.where(np.isin(lc[m], (CROPLAND, GRASSLAND)), lc[m], CROPLAND)
    d_town = np.hypot(u[m] - TOWN[0], v[m] - TOWN[1])
    built = np.where(d_town <= np.median(d_town), 2017, 2018)
    for i, y in enumerate(YEARS):
        unccd[i, m] = np.where(y < built, before, ARTIFICIAL)
    # 3. Cropland abandonment in 2017.
    m = masks["abandonment"]
    for i, y in enumerate(YEARS):
        unccd[i, m] = CROPLAND if y < 2017 else GRASSLAND
    # 4, 5. Grassland with declining / recovering productivity, 7. undisturbed forest.
    unccd[:, masks["decline"]] = GRASSLAND
    unccd[:, masks["restoration"]] = GRASSLAND
    unccd[:, masks["stable"]] = TREE
    # 8. Woody encroachment (a false positive): grassland whose NDVI rises. Its own random stream;
    # set after the background changes so none of them touches it.
    woody = _blob(u, v, *WOODY, np.random.default_rng([seed, 4]))
    masks["woody"] = woody
    unccd[:, woody] = GRASSLAND
    # 6. Wetland drained for cropland in 2003.
    m = masks["wetland"]
    for i, y in enumerate(YEARS):
        unccd[i, m] = WETLAND if y < 2003 else CROPLAND

    esa = _esa_codes(unccd, sub_f, elev, river_d)

    # NDVI = class mean + static spatial field + regional year effect + pixel noise + planted signal.
    year_amp = 0.8 + 0.4 * v  # droughts bite harder in the south
    # Decline and recovery are strongest at the centre of their patch, faint at its edge.
    strength = {key: _centre_weight(u, v, masks[key], PATCHES[key]) for key in ("decline", "restoration")}
    montane_bonus = 0.05 * np.clip(elev, 0, 1)
    ndvi = np.empty((ny, n, n), np.float32)
    for i, y in enumerate(YEARS):
        c = unccd[i]
        noise = rng.standard_normal((n, n))
        val = (
            NDVI_MEAN[c]
            + NDVI_SPREAD[c] * ndvi_f
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

    # SOC (t/ha) of 2000: class stock, richer on the mountain, with smooth and pixel noise.
    c0 = unccd[0]
    soc = (
        SOC_MEAN[c0]
        * (1.0 + 0.3 * np.clip(elev, 0, 1))
        * np.exp(0.12 * soc_f)
        * np.exp(0.03 * rng.standard_normal((n, n)))
    )
    soc = soc.astype(np.float32)

    transform = Affine(PIXEL_SIZE, 0.0, ORIGIN[0], 0.0, -PIXEL_SIZE, ORIGIN[1])
    aoi = _aoi_polygon(n)
    aoi_mask = rasterio.features.geometry_mask([mapping(aoi)], (n, n), transform, invert=True)
    processes = _processes(masks, unccd)
    soils, slope, depth = _soils(u, v, elev, river_d, lake_d, np.random.default_rng([seed, 5]))
    return _Landscape(
        transform,
        unccd,
        esa,
        ndvi,
        soc,
        zones,
        aoi,
        _regions(n, aoi),
        aoi_mask,
        processes,
        soils=soils,
        slope=slope,
        soil_depth=depth,
    )


def _soils(
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
    hills = _smooth(rng, n, 0.06)
    depth_f = _smooth(rng, n, 0.05)
    soil_f = _smooth(rng, n, 0.08)
    relief = elev + 0.08 * hills  # relative height, 0..~1
    gy, gx = np.gradient(relief, 1.0 / n)
    steep = np.hypot(gx, gy) * MOUNTAIN[2]  # ~0.6 on the mountain's flanks
    slope = np.clip(2.0 + 45.0 * steep + 1.0 * depth_f, 0.0, None).astype(np.float32)
    depth = np.clip(130.0 - 90.0 * np.clip(elev, 0, 1) - 60.0 * steep + 25.0 * depth_f, 10.0, 200.0)
    soils = np.full((n, n), 2, np.uint8)
    soils[((river_d < 0.06) | (lake_d < 2.4)) & (soil_f > -0.8)] = 1
    soils[elev > 0.25] = 3
    return soils, slope, depth.astype(np.float32)


def _esa_codes(unccd: np.ndarray, sub: np.ndarray, elev: np.ndarray, river_d: np.ndarray) -> np.ndarray:
    """UNCCD classes -> plausible ESA CCI codes (several per class, so the nesting is exercised)."""
    montane = elev > MONTANE
    tree = np.where(
        montane, np.where(sub > 0.6, 70, 50), np.where(sub < 0.2, 50, np.where(sub < 1.0, 60, 62))
    )
    grass = np.where(sub < -0.9, 120, np.where(sub > 1.1, 110, 130))
    crop = np.where(river_d < 0.02, 20, np.where(sub > 0.6, 11, np.where(sub < -0.8, 30, 10)))
    wetland = np.where(sub > 0.8, 160, 180)
    other = np.where(elev > 0.5, 201, 200)
    by_class = [
        np.zeros_like(tree),
        tree,
        grass,
        crop,
        wetland,
        np.full_like(tree, 190),
        other,
        np.full_like(tree, 210),
    ]
    table = np.stack(by_class).astype(np.uint8)  # (class, y, x)
    rows, cols = np.indices(unccd.shape[1:])
    return table[unccd, rows[None], cols[None]]


def _processes(masks: dict[str, np.ndarray], unccd: np.ndarray) -> list[PlantedProcess]:
    urban = masks["urban"]
    not_degraded = (BASELINE, "sdg", (0, 1))
    return [
        PlantedProcess(
            "Deforestation front",
            masks["deforestation"],
            [
                Expectation(BASELINE, "land_cover_degradation", (-1,)),
                Expectation(BASELINE, "soc_degradation", (-1,)),
                Expectation(BASELINE, "sdg", (-1,)),
            ],
            "tropical moist forest cleared for cropland 2004-2010, the front moving west",
        ),
        PlantedProcess(
            "Urban expansion",
            urban,
            [
                Expectation(REPORTING_1, "land_cover_degradation", (-1,)),
                Expectation(REPORTING_2, "land_cover_degradation", (-1,)),
                Expectation(REPORTING_1, "status", (-1,)),
                Expectation(REPORTING_2, "status", (-1,)),
                Expectation(REPORTING_1, "status_expanded", (2,), not_degraded),
                Expectation(REPORTING_2, "status_expanded", (2,), not_degraded),
            ],
            "cropland and grassland next to the town built over in 2017-2018",
        ),
        PlantedProcess(
            "Cropland abandonment",
            masks["abandonment"],
            [
                Expectation(REPORTING_1, "land_cover_degradation", (-1,)),
                Expectation(REPORTING_2, "land_cover_degradation", (-1,)),
            ],
            "cropland left to grassland in 2017 (withdrawal of agriculture)",
        ),
        PlantedProcess(
            "Productivity decline",
            masks["decline"],
            [
                Expectation(REPORTING_2, "lpd", (1, 2)),
                Expectation(REPORTING_2, "productivity_degradation", (-1,)),
                Expectation(REPORTING_2, "land_cover_degradation", (0,)),
                Expectation(REPORTING_2, "sdg", (-1,)),
            ],
            f"grassland, NDVI falling {DECLINE_SLOPE:+.3f}/yr from {DECLINE_START}, no cover change",
        ),
        PlantedProcess(
            "Restoration",
            masks["restoration"],
            [
                Expectation(REPORTING_2, "lpd", (5,)),
                Expectation(REPORTING_2, "productivity_degradation", (1,)),
                Expectation(REPORTING_2, "sdg", (1,)),
            ],
            f"degraded grassland, NDVI rising {RESTORE_SLOPE:+.4f}/yr from {RESTORE_START}",
        ),
        PlantedProcess(
            "Drained wetland",
            masks["wetland"],
            [Expectation(BASELINE, "land_cover_degradation", (-1,)), Expectation(BASELINE, "sdg", (-1,))],
            "wetland by the lake drained for cropland in 2003",
        ),
        PlantedProcess(
            "Woody encroachment",
            masks["woody"],
            [
                Expectation(REPORTING_2, "sdg_uncorrected", (1,)),
                Expectation(REPORTING_2, "sdg", (-1,)),
                Expectation(REPORTING_2, "status", (-1,)),
            ],
            f"grassland invaded by woody weeds, NDVI rising {WOODY_SLOPE:+.3f}/yr from {WOODY_START}: "
            "a false positive recoded to degraded",
        ),
        PlantedProcess(
            "Stable reference",
            masks["stable"],
            [
                Expectation(BASELINE, "land_cover_degradation", (0,)),
                Expectation(REPORTING_2, "land_cover_degradation", (0,)),
                Expectation(REPORTING_2, "sdg", (0, 1)),
            ],
            "undisturbed lowland forest: any degradation here is a false alarm",
        ),
    ]


# --- drought: precipitation, population, vulnerability ------------------------------------------------
def _drought_grid(n: int) -> tuple[int, Affine]:
    """Cells per side and transform of the precipitation grid (nested in and covering the NDVI)."""
    step = PIXEL_SIZE * DROUGHT_CELL
    return -(-n // DROUGHT_CELL), Affine(step, 0.0, ORIGIN[0], 0.0, -step, ORIGIN[1])


def _drought_uv(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Relative coordinates (u east, v south) of the precipitation cell centres."""
    m, _ = _drought_grid(n)
    c = (np.arange(m) + 0.5) * DROUGHT_CELL / n
    u, v = np.meshgrid(c, c)
    return u, v


def _precipitation(n: int, seed: int) -> np.ndarray:
    """Monthly rainfall (mm, float32, (month, y, x) north-up), 1981-01 .. 2023-12.

    A cell's month = the cell's mean annual total (wetter on the mountain, a smooth pattern) x
    the month's share of the climatology x the area-wide factor of the year x a smooth anomaly of
    the year x an area-wide factor of the month (normalised so the year's total is unchanged) x
    gamma noise of the cell (so a year's SPI differs from cell to cell, as in real data). The year
    factor is drawn for 1981-1999 and follows the NDVI's year effect from 2000; in a planted
    drought year every month of the planted cells is at the planted share of normal, the other
    cells have a normal year.
    """
    rng = np.random.default_rng([seed, 1])  # its own stream: the SO 1 inputs stay as they were
    u, v = _drought_uv(n)
    m = u.shape[0]
    elev = np.exp(-((u - MOUNTAIN[0]) ** 2 + (v - MOUNTAIN[1]) ** 2) / (2 * MOUNTAIN[2] ** 2))
    annual = RAIN_CLIMATOLOGY.sum() * (1.0 + 0.6 * elev) * np.exp(0.08 * _smooth(rng, m, 0.15))
    share = RAIN_CLIMATOLOGY / RAIN_CLIMATOLOGY.sum()
    early = rng.normal(0.0, RAIN_YEAR_SD, len(PRECIP_YEARS))
    out = np.empty((12 * len(PRECIP_YEARS), m, m), np.float32)
    for i, year in enumerate(PRECIP_YEARS):
        anomaly = np.exp(RAIN_FIELD_SD * _smooth(rng, m, 0.2))
        months = rng.gamma(RAIN_MONTH_SHAPE, 1.0 / RAIN_MONTH_SHAPE, 12)
        months /= (share * months).sum()
        noise = rng.gamma(RAIN_SHAPE, 1.0 / RAIN_SHAPE, (12, m, m))
        if year in PLANTED_DROUGHT:
            where, level = PLANTED_DROUGHT[year]
            factor = np.where(v > 0.5, level, 1.0) if where == "south" else np.full((m, m), level)
        elif year in YEAR_EFFECT:
            factor = 1.0 + 4.0 * YEAR_EFFECT[year]
        else:
            factor = math.exp(early[i])
        mean = (annual * anomaly * factor)[None] * (share * months)[:, None, None]
        out[12 * i : 12 * (i + 1)] = np.round(mean * noise, 1)  # gauges read to 0.1 mm
    return out


def _droughts(n: int, aoi: Polygon) -> tuple[Affine, list[PlantedDrought]]:
    """The planted droughts and controls, on the precipitation cells inside the area of interest."""
    m, transform = _drought_grid(n)
    inside = rasterio.features.geometry_mask([mapping(aoi)], (m, m), transform, invert=True)
    south = inside & (_drought_uv(n)[1] > 0.5)
    first, length = DROUGHT_PERIOD

    def period(year: int) -> str:
        start = first + (year - first) // length * length
        return f"{start}-{start + length - 1}"

    severe, no_drought = (3, 4), (0, 1)
    national = "every month of 2009 at {:.0%} of normal rainfall over the whole area"
    southern = "every month of 2016 at {:.0%} of normal rainfall in the southern half"
    return transform, [
        PlantedDrought("National drought", 2009, inside, severe, national.format(PLANTED_DROUGHT[2009][1])),
        PlantedDrought("National drought", 2009, inside, severe, "highest class of its period", period(2009)),
        PlantedDrought("Southern drought", 2016, south, severe, southern.format(PLANTED_DROUGHT[2016][1])),
        PlantedDrought("Southern drought", 2016, south, severe, "highest class of its period", period(2016)),
        PlantedDrought(
            "Drought-free north", 2016, inside & ~south, no_drought, "normal rainfall in the north in 2016"
        ),
        PlantedDrought(
            "Normal year",
            NORMAL_YEAR,
            inside,
            no_drought,
            f"{NORMAL_YEAR}: rainfall a little above normal; moderate or worse drought is a false alarm",
        ),
    ]


def _population(land: _Landscape, n: int, seed: int) -> dict[int, tuple[np.ndarray, ...]]:
    """Persons per pixel (total, female, male; float32) on the population grid, for POP_YEARS.

    Density by land cover (built-up land dense, highest in the town centre, half as dense where
    built after 2000; a peri-urban halo around the town; none on water), growing faster in
    built-up land, times a static and a small yearly log-normal noise, times the pixel's area. The
    female share is about 50.6 %, lower in the town (men moving in for work). ``female + male ==
    total`` exactly in float32.
    """
    rng = np.random.default_rng([seed, 2])
    k = POP_SPLIT
    fine = n * k
    u, v = _uv(fine)
    size = PIXEL_SIZE / k
    lat = ORIGIN[1] - (np.arange(fine) + 0.5) * size
    # km² per pixel on the authalic sphere: within 0.1 % of the ellipsoidal area near the equator
    area = (np.radians(size) * 6371.0072) ** 2 * np.cos(np.radians(lat))[:, None]
    town = np.exp(-((np.hypot(u - TOWN[0], v - TOWN[1]) / 0.08) ** 2))
    static = np.exp(0.35 * rng.standard_normal((fine, fine)) - 0.35**2 / 2)  # mean 1
    female_share = np.clip(0.506 - 0.03 * town + 0.006 * rng.standard_normal((fine, fine)), 0.45, 0.55)
    larger = np.maximum(female_share, 1.0 - female_share)
    old_built = np.repeat(np.repeat(land.unccd[0] == ARTIFICIAL, k, axis=0), k, axis=1)
    out = {}
    for year in POP_YEARS:
        lc = np.repeat(np.repeat(land.unccd[YEARS.index(year)], k, axis=0), k, axis=1)
        built = lc == ARTIFICIAL
        rural = POP_DENSITY[lc] + 300.0 * town * (lc != WATER)
        density = np.where(built, POP_VILLAGE + (POP_TOWN - POP_VILLAGE) * town, rural)
        density[built & ~old_built] *= 0.5  # new suburbs fill slowly
        growth = np.where(built, 1.0 + POP_URBAN_GROWTH, 1.0 + POP_GROWTH) ** (year - POP_YEARS[0])
        noise = np.exp(0.05 * rng.standard_normal((fine, fine)))
        total = (density * growth * static * noise * area).astype(np.float32)
        # The larger part (>= total / 2) is rounded, the smaller is the difference, which float32
        # computes exactly (Sterbenz): so female + male == total with no rounding left over.
        big = (total * larger).astype(np.float32)
        small = total - big
        woman = female_share >= 0.5
        out[year] = (total, np.where(woman, big, small), np.where(woman, small, big))
    return out


def _dvi_factors(seed: int) -> pd.DataFrame:
    """A national table of drought vulnerability factors 2000-2023 (SO 3-3), 6 factors.

    Columns factor, component, direction, year, value, sex (total / female / male). The drought
    years 2009 and 2016 leave a mark on poverty and GDP.
    """
    rng = np.random.default_rng([seed, 3])
    years = np.arange(2000, 2024)
    t = (years - 2000) / 23.0
    shock = np.select([np.isin(years, (2009, 2010)), np.isin(years, (2016, 2017))], [1.0, 0.6], 0.0)

    def noise(sd: float) -> np.ndarray:
        return rng.normal(0.0, sd, len(years))

    lit_f = 62.0 + 20.0 * t + noise(0.6)
    lit_m = 78.0 + 10.0 * t + noise(0.6)
    series = [
        ("adult_literacy_rate", "social", "negative", "total", (lit_f + lit_m) / 2, 1),
        ("adult_literacy_rate", "social", "negative", "female", lit_f, 1),
        ("adult_literacy_rate", "social", "negative", "male", lit_m, 1),
        ("poverty_headcount_ratio", "social", "positive", "total", 47 - 14 * t + 4 * shock + noise(0.8), 1),
        (
            "gdp_per_capita_usd",
            "economic",
            "negative",
            "total",
            420 * 1.045 ** (years - 2000) * (1 - 0.06 * shock) * np.exp(noise(0.015)),
            0,
        ),
        ("agriculture_share_of_gdp", "economic", "positive", "total", 32 - 8 * t + noise(0.7), 1),
        ("access_to_improved_water", "infrastructural", "negative", "total", 45 + 20 * t + noise(0.8), 1),
        ("irrigated_cropland_share", "infrastructural", "negative", "total", 2 + 1.5 * t + noise(0.1), 2),
    ]
    rows = [
        (factor, comp, direction, int(y), round(float(x), digits), sex)
        for factor, comp, direction, sex, values, digits in series
        for y, x in zip(years, values, strict=True)
    ]
    return pd.DataFrame(rows, columns=["factor", "component", "direction", "year", "value", "sex"])


# --- writing -------------------------------------------------------------------------------------------
def _write_tif(
    path: Path,
    data: np.ndarray,
    transform: Affine,
    nodata: float | int,
    descriptions: list[str] | None = None,
) -> None:
    data = data if data.ndim == 3 else data[None]
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": CRS,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 128,
        "blockysize": 128,
        "compress": "deflate",
        "predictor": 3 if data.dtype.kind == "f" else 2,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)


def _write_precipitation(path: Path, data: np.ndarray, transform: Affine) -> None:
    """Monthly rainfall ``(month, y, x)`` north-up -> a CF NetCDF-4 file (as a CHIRPS download).

    Latitude is stored ascending (south to north) like most NetCDF products; the CRS is a CF grid
    mapping variable ``spatial_ref``. No timestamps are written, so the file is byte-identical
    from run to run.
    """
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    import xarray as xr

    t, rows, cols = data.shape
    lon = transform.c + (np.arange(cols) + 0.5) * transform.a
    lat = transform.f + (np.arange(rows) + 0.5) * transform.e
    months = [f"{y}-{mo:02d}-01" for y in PRECIP_YEARS for mo in range(1, 13)]
    ds = xr.Dataset(
        {"precip": (("time", "lat", "lon"), data[:, ::-1])},
        coords={"time": np.array(months, "datetime64[ns]"), "lat": lat[::-1], "lon": lon},
    )
    ds["precip"].attrs = {"long_name": "monthly precipitation total", "units": "mm"}
    ds["lat"].attrs = {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}
    ds["lon"].attrs = {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}
    ds["time"].attrs = {"standard_name": "time", "axis": "T"}
    ds.attrs = {
        "title": "ldnkit demo: synthetic monthly precipitation with planted droughts",
        "source": "ldnkit.demo.build_demo_inputs (synthetic, not observations)",
        "Conventions": "CF-1.8",
    }
    ds = ds.rio.write_crs(CRS)
    ds["precip"].attrs["grid_mapping"] = "spatial_ref"  # rioxarray only links x/y-named dims
    side = min(rows, 64)
    encoding = {
        "precip": {
            "dtype": "float32",
            "zlib": True,
            "complevel": 4,
            "shuffle": True,
            "chunksizes": (t, side, side),  # whole series per block, as SPI reads it
            "_FillValue": np.float32(np.nan),
        },
        "time": {"units": "days since 1981-01-01", "calendar": "standard", "dtype": "int32"},
        "lat": {"_FillValue": None},
        "lon": {"_FillValue": None},
    }
    if path.exists():
        path.unlink()
    ds.to_netcdf(path, encoding=encoding, engine="netcdf4", format="NETCDF4")


def _write_gpkg(
    path: Path, names: list[str], geoms: list[Polygon], layer: str, columns: dict[str, list] | None = None
) -> None:
    import geopandas as gpd
    import pyogrio

    # A fixed gpkg_contents timestamp keeps the file identical from run to run.
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2026-01-01T00:00:00.000Z"})
    try:
        if path.exists():
            path.unlink()
        gdf = gpd.GeoDataFrame({"name": names, **(columns or {})}, geometry=geoms, crs=CRS)
        gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _config(output: Path, n: int) -> dict:
    return {
        "title": "ldnkit demo: synthetic landscape with planted processes",
        "output": str(output),
        "overwrite": True,
        "inputs": {
            "productivity": {"path": NDVI_FILE, "index": "ndvi"},
            "land_cover": {
                "maps": {y: f"land_cover_{y}.tif" for y in YEARS},
                "legend": "esa_cci",
                "nodata": [LC_NODATA],
            },
            "soc": {"path": "soc_2000.tif", "year": 2000},
            "climate_zones": {"path": "climate_zones.tif"},
            "area_of_interest": "area_of_interest.gpkg",
            "regions": {"path": "regions.gpkg", "name_field": "name"},
        },
        "periods": {
            "baseline": {"name": BASELINE, "start": 2000, "end": 2015},
            "reporting": [
                {"name": REPORTING_1, "start": 2016, "end": 2019},
                {"name": REPORTING_2, "start": 2016, "end": 2023},
            ],
        },
        "drought": {
            "precipitation": {"path": PRECIP_FILE, "variable": "precip", "units": "mm"},
            # the defaults, written out so the config documents them
            "method": {"index": "spi", "scale": 12, "reference": [1981, 2010]},
            "years": [2000, 2023],
            "period_length": DROUGHT_PERIOD[1],
            "period_start": DROUGHT_PERIOD[0],
            "population": {
                **{sex: {y: f"population_{sex}_{y}.tif" for y in POP_YEARS} for sex in _SEXES},
                "units": "count",
            },
            "vulnerability": {"table": DVI_FILE},
        },
        "corrections": {"path": "corrections.gpkg"},
        "neutrality": _neutrality_config(n),
        # Several blocks even at the default size, so the demo exercises block-wise work.
        "compute": {"chunk_size": 256},
    }


def _neutrality_config(n: int) -> dict:
    """The demo's ``neutrality:`` section (see docs/neutrality.md)."""
    decline, urban = PATCHES["decline"], PATCHES["urban"]
    return {
        "period": REPORTING_2,
        "land_types": {
            "layers": {"soil": "soil_groups.tif"},
            "labels": {"soil": dict(SOIL_NAMES)},
            "rules": [
                {
                    "name": "capability",
                    "layers": {"slope": "slope.tif", "soil_depth": "soil_depth.tif"},
                    "classes": [dict(c) for c in CAPABILITY_RULES],
                }
            ],
            "climate_zones": True,
            "land_cover": True,
            "min_area_km2": LAND_TYPES_MIN_AREA_KM2,
            "observations": {"path": "field_sites.csv", "class_field": "land_capability_class"},
        },
        "planning": {
            "horizon": 2030,
            "anticipated_losses": [{"path": "mining_permits.gpkg"}],
            "interventions": {
                "path": "restoration_plan.gpkg",
                "level_field": "level",
                "effect_field": "effect",
            },
        },
        "hotspots": {"min_area_km2": 1.0, "connectivity": 8, "method": "components"},
        "drivers": [
            {
                "at": list(_pixel_centre(n, decline[0], decline[1])),
                "driver": "Rangeland management",
                "sub_driver": "stocking rate",
                "confidence": "established but incomplete",
                "remediation": "rotational grazing; rehabilitation of the western half (restoration plan)",
            },
            {
                "at": list(_pixel_centre(n, urban[0], urban[1])),
                "driver": "Infrastructure, industry and urbanization",
                "confidence": "well established",
            },
        ],
        "targets": [
            {
                "id": "VT1",
                "kind": "no_net_loss",
                "year": 2030,
                "description": "Achieve LDN by 2030 compared to the 2015 baseline",
            },
            {
                "id": "VT2",
                "kind": "max_degraded_percent",
                "year": 2030,
                "value": 10.0,
                "description": "No more than 10 % of the land degraded by 2030",
            },
            {
                "id": "VT3",
                "kind": "land_cover_change_percent",
                "year": 2030,
                "scope": "North",
                "land_cover": TREE,
                "base_year": 2019,
                "value": 10.0,
                "description": "Tree-covered area in the North +10 % by 2030 against 2019",
            },
        ],
    }


def _pixel_centre(n: int, u: float, v: float) -> tuple[float, float]:
    """Coordinates of the centre of the pixel at a relative position."""
    col, row = min(int(u * n), n - 1), min(int(v * n), n - 1)
    return ORIGIN[0] + (col + 0.5) * PIXEL_SIZE, ORIGIN[1] - (row + 0.5) * PIXEL_SIZE


def _capability(slope: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The capability rules (first match wins) applied by hand; 0 where none matches."""
    out = np.zeros(slope.shape, np.int16)
    values = {"slope": slope, "soil_depth": depth}
    for rule in reversed(CAPABILITY_RULES):  # reversed: the first matching rule is written last
        ok = np.ones(slope.shape, bool)
        for var, (lo, hi) in rule["when"].items():
            x = values[var]
            if lo is not None:
                ok &= x >= lo
            if hi is not None:
                ok &= x < hi
        out[ok] = rule["code"]
    return out


_ROMAN = {1: ("I", "II"), 2: ("III", "IV"), 3: ("V", "VI", "VII")}
_SLOPE_CLASSES = ((2, "0-2%"), (5, "2-5%"), (10, "5-10%"), (15, "10-15%"), (30, "15-30%"), (60, "30-60%"))
_TEXTURE_LAYERS = ((0, 10), (10, 20), (20, 50), (50, 70), (70, 100), (100, 120))
_TEXTURES = {
    1: ("clay", "clay", "silty clay"),
    2: ("sandy clay loam", "clay loam", "sandy loam"),
    3: ("loam",) * 3,
}


def _field_sites(land: _Landscape, n: int, seed: int) -> pd.DataFrame:
    """LandPKS-like field observations at N_SITES land pixels well inside the area of interest.

    Columns: id, lon, lat (pixel centres), slope (a LandPKS slope class such as "5-10%"),
    texture_<top>_<bottom> (soil texture by depth, cm; empty below the soil), land_capability_class
    (roman numerals). The recorded class agrees with the capability rules applied to the mapped
    slope and soil depth at the site, except at N_SITES_DISAGREE sites (a class of another group).
    """
    rng = np.random.default_rng([seed, 6])
    core = binary_dilation(~land.aoi_mask, iterations=3)
    ok = ~core & (land.unccd[0] != WATER) & (land.unccd[-1] != WATER)
    rows, cols = np.nonzero(ok)
    pick = np.sort(rng.choice(len(rows), size=N_SITES, replace=False))
    rows, cols = rows[pick], cols[pick]
    mapped = _capability(land.slope[rows, cols], land.soil_depth[rows, cols])
    wrong = set(rng.choice(N_SITES, size=N_SITES_DISAGREE, replace=False).tolist())
    records = []
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        cls = int(mapped[i])
        if i in wrong:
            cls = int(rng.choice([k for k in _ROMAN if k != cls]))
        lcc = _ROMAN[cls][int(rng.integers(len(_ROMAN[cls])))]
        slope = float(land.slope[r, c])
        slope_class = next((name for top, name in _SLOPE_CLASSES if slope < top), ">60%")
        depth = float(land.soil_depth[r, c])
        soil = int(land.soils[r, c])
        rec = {
            "id": f"S{i + 1:02d}",
            "lon": round(ORIGIN[0] + (c + 0.5) * PIXEL_SIZE, 7),
            "lat": round(ORIGIN[1] - (r + 0.5) * PIXEL_SIZE, 7),
            "slope": slope_class,
        }
        for k, (top, bottom) in enumerate(_TEXTURE_LAYERS):
            texture = _TEXTURES[soil][min(k, 2)] if top < depth else ""
            rec[f"texture_{top}_{bottom}"] = texture
        rec["land_capability_class"] = lcc
        records.append(rec)
    return pd.DataFrame(records)


def _mask_polygon(mask: np.ndarray, transform: Affine):
    """The union of a mask's pixel squares as one (multi)polygon."""
    from shapely.geometry import shape
    from shapely.ops import unary_union

    parts = [
        shape(g)
        for g, val in rasterio.features.shapes(mask.astype(np.uint8), mask=mask, transform=transform)
        if val
    ]
    return unary_union(parts)


def _rel_box(n: int, u0: float, v0: float, u1: float, v1: float) -> Polygon:
    x0, y0 = _lonlat(n, u0, v0)
    x1, y1 = _lonlat(n, u1, v1)
    return box(x0, y1, x1, y0)


def _write_neutrality_inputs(
    folder: Path, land: _Landscape, n: int, seed: int, files: dict[str, Path]
) -> None:
    """Soil groups, slope, soil depth, field sites, planning polygons and the false-positive polygon."""
    files["soil_groups"] = folder / "soil_groups.tif"
    _write_tif(files["soil_groups"], land.soils, land.transform, SOIL_NODATA)
    files["slope"] = folder / "slope.tif"
    _write_tif(files["slope"], land.slope, land.transform, float("nan"))
    files["soil_depth"] = folder / "soil_depth.tif"
    _write_tif(files["soil_depth"], land.soil_depth, land.transform, float("nan"))
    files["field_sites"] = folder / "field_sites.csv"
    _field_sites(land, n, seed).to_csv(files["field_sites"], index=False, lineterminator="\n")
    files["mining_permits"] = folder / "mining_permits.gpkg"
    _write_gpkg(
        files["mining_permits"],
        ["Mining permit ML-2024-017"],
        [_rel_box(n, *MINING_PERMIT)],
        "mining_permits",
        {"granted": ["2024-03-01"]},
    )
    files["restoration_plan"] = folder / "restoration_plan.gpkg"
    _write_gpkg(
        files["restoration_plan"],
        [r[2] for r in RESTORATION_PLAN],
        [_rel_box(n, *r[3:]) for r in RESTORATION_PLAN],
        "restoration_plan",
        {"level": [r[0] for r in RESTORATION_PLAN], "effect": [r[1] for r in RESTORATION_PLAN]},
    )
    woody = next(p for p in land.processes if p.name == "Woody encroachment").mask
    files["corrections"] = folder / "corrections.gpkg"
    _write_gpkg(
        files["corrections"],
        ["Woody encroachment north-east of the town"],
        [_mask_polygon(woody, land.transform)],
        "corrections",
        {
            "id": [1],
            "type": ["false positive"],
            "periods": ["all"],
            "place_name": ["Grassland north-east of the town"],
            "process": ["Woody encroachment (invasive shrubs) raising NDVI"],
            "basis": ["Field visits 2022 and very-high-resolution imagery"],
            "start": ["2010"],
        },
    )


def build_demo_inputs(
    folder: Path, *, size: int = 400, seed: int = DEFAULT_SEED, output: Path | None = None
) -> DemoCase:
    """Write the demo landscape's input files and run config into ``folder``.

    Files: ``ndvi_2000-2023.tif`` (float32 NDVI 0..1, a band per year, descriptions "2000"...,
    NaN no data), ``land_cover_<year>.tif`` 2000..2023 (uint8 ESA CCI codes, 0 no data),
    ``soc_2000.tif`` (float32 t/ha 0-30 cm, NaN on water), ``climate_zones.tif`` (uint8 IPCC codes:
    11 tropical moist, 9 tropical montane), ``regions.gpkg`` (field ``name``: North, Centre,
    South; they tile the area of interest), ``area_of_interest.gpkg`` and ``config.yaml`` (baseline
    2000-2015, reporting 2016-2019 and 2016-2023, default methods, ``output`` = ``output`` or
    ``folder/run``). Grid: EPSG:4326, ``size`` x ``size`` pixels of 0.0025°, upper-left 36.0 E 0.5 S.

    For drought (the config's ``drought:`` section: SPI-12 with reference 1981-2010, years
    2000-2023): ``precipitation_monthly.nc`` (variable ``precip``, float32 mm, monthly 1981-01 to
    2023-12, on 0.01° cells = 4 x 4 pixels, CF grid mapping EPSG:4326, latitude ascending; planted
    droughts: all of 2009 at 35 % of normal rainfall everywhere, 2016 at 45 % in the southern
    half), ``population_{total,female,male}_{2000,2010,2020}.tif`` (float32 persons per pixel on
    0.00125° pixels, female + male = total exactly) and ``dvi_factors.csv`` (6 vulnerability
    factors 2000-2023, literacy also by sex).

    For LDN neutrality accounting (the config's ``corrections:`` and ``neutrality:`` sections, see
    docs/neutrality.md): ``soil_groups.tif`` (uint8 1 Vertisols, 2 Ferralsols, 3 Andosols, 0 no
    data), ``slope.tif`` (float32 %) and ``soil_depth.tif`` (float32 cm) classed by
    :data:`CAPABILITY_RULES` into land capability classes, ``field_sites.csv`` (:data:`N_SITES`
    LandPKS-like sites, :data:`N_SITES_DISAGREE` of them recording a capability class the map
    disagrees with), ``mining_permits.gpkg`` (a planned loss), ``restoration_plan.gpkg`` (reverse
    with effect 0.8 over the western part of the productivity decline; avoid over the reference
    forest) and ``corrections.gpkg`` (a false positive over the planted woody encroachment,
    periods "all"). The config adds driver records for two hotspots and three targets.

    Deterministic: the same ``size`` and ``seed`` give the same files byte for byte.

    Example
    -------
    >>> case = build_demo_inputs(tmp_path / "inputs", size=200)   # doctest: +SKIP
    >>> load_config(case.config_path).periods.reporting[1].name   # doctest: +SKIP
    '2016-2023'
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    land = _landscape(int(size), int(seed))
    files: dict[str, Path] = {}

    files["ndvi"] = folder / NDVI_FILE
    _write_tif(files["ndvi"], land.ndvi, land.transform, float("nan"), [str(y) for y in YEARS])
    for i, y in enumerate(YEARS):
        files[f"land_cover_{y}"] = folder / f"land_cover_{y}.tif"
        _write_tif(files[f"land_cover_{y}"], land.esa[i], land.transform, LC_NODATA, [str(y)])
    files["soc"] = folder / "soc_2000.tif"
    _write_tif(files["soc"], land.soc, land.transform, float("nan"), ["2000"])
    files["climate_zones"] = folder / "climate_zones.tif"
    _write_tif(files["climate_zones"], land.zones, land.transform, ZONE_NODATA)
    files["area_of_interest"] = folder / "area_of_interest.gpkg"
    _write_gpkg(files["area_of_interest"], ["Demo area"], [land.aoi], "area_of_interest")
    files["regions"] = folder / "regions.gpkg"
    _write_gpkg(files["regions"], [n for n, _ in land.regions], [g for _, g in land.regions], "regions")

    # Drought (SO 3): precipitation on a coarser grid, population on a finer one, a factor table.
    drought_transform, droughts = _droughts(int(size), land.aoi)
    files["precipitation"] = folder / PRECIP_FILE
    _write_precipitation(files["precipitation"], _precipitation(int(size), int(seed)), drought_transform)
    step = PIXEL_SIZE / POP_SPLIT
    pop_transform = Affine(step, 0.0, ORIGIN[0], 0.0, -step, ORIGIN[1])
    for year, layers in _population(land, int(size), int(seed)).items():
        for sex, counts in zip(_SEXES, layers, strict=True):
            key = f"population_{sex}_{year}"
            files[key] = folder / f"{key}.tif"
            _write_tif(files[key], counts, pop_transform, float("nan"), [str(year)])
    files["dvi"] = folder / DVI_FILE
    _dvi_factors(int(seed)).to_csv(files["dvi"], index=False, lineterminator="\n")
    _write_neutrality_inputs(folder, land, int(size), int(seed), files)

    out = Path(output) if output is not None else folder / "run"
    config_path = folder / "config.yaml"
    text = "# ldnkit demo run: written by ldnkit.demo.build_demo_inputs\n"
    text += yaml.safe_dump(_config(out.resolve(), int(size)), sort_keys=False, allow_unicode=True)
    config_path.write_text(text)
    files["config"] = config_path
    return DemoCase(
        config_path,
        folder,
        land.processes,
        aoi=land.aoi_mask,
        transform=land.transform,
        crs=CRS,
        files=files,
        droughts=droughts,
        drought_transform=drought_transform,
    )


# --- evaluation -------------------------------------------------------------------------------------------
def _read_layer(path: Path, t: Affine, shape: tuple[int, int]) -> np.ndarray:
    """A written int16 layer, read on the grid ``t``, ``shape`` (pixels it does not cover are NODATA)."""
    with rasterio.open(path) as src:
        if not (
            math.isclose(src.transform.a, t.a, rel_tol=1e-9)
            and math.isclose(src.transform.e, t.e, rel_tol=1e-9)
        ):
            raise InputError(
                str(path),
                "is not on the demo grid (pixel size differs)",
                "write the demo's layers on the grid of its inputs",
            )
        if src.transform.almost_equals(t) and src.shape == shape:
            return src.read(1).astype(np.int32)
        # Same pixels, other extent (e.g. cropped to the area of interest): read our window.
        col = round((t.c - src.transform.c) / t.a)  # our origin in the file's pixels
        row = round((t.f - src.transform.f) / t.e)
        out = np.full(shape, codes.NODATA, np.int32)
        r0, r1 = max(row, 0), min(row + shape[0], src.height)
        c0, c1 = max(col, 0), min(col + shape[1], src.width)
        if r0 < r1 and c0 < c1:
            win = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
            out[r0 - row : r1 - row, c0 - col : c1 - col] = src.read(1, window=win)
        return out


def evaluate_demo(run_dir: Path, case: DemoCase) -> pd.DataFrame:
    """Share of each planted process's pixels that a run classed as expected.

    Reads ``run_dir/layers/<period>/<layer>.tif`` (int16, -32768 no data) and returns one row per
    (process, period, layer): ``process``, ``period``, ``layer``, ``expected`` (the accepted codes,
    e.g. "-1" or "1, 2"), ``pixels`` (pixels checked) and ``recovered`` (% of them with an accepted
    code; NaN if the layer file is missing). Pixels outside the area of interest or with no data
    count as not recovered. Then one row per planted drought (layer ``drought_class``, period the
    year or multi-year period), read from ``run_dir/layers/drought/drought_class_<label>.tif`` on
    the precipitation grid; its pixels are precipitation cells.
    """
    run_dir = Path(run_dir)
    shape = case.processes[0].mask.shape
    aoi = case.aoi if case.aoi is not None else np.ones(shape, bool)
    cache: dict[tuple[str, str], np.ndarray | None] = {}

    def layer(period: str, name: str) -> np.ndarray | None:
        if (period, name) not in cache:
            path = run_dir / "layers" / period / f"{name}.tif"
            cache[(period, name)] = _read_layer(path, case.transform, shape) if path.exists() else None
        return cache[(period, name)]

    rows = []
    for proc in case.processes:
        for exp in proc.expected:
            sel = proc.mask.copy()
            note = ""
            if exp.only_where is not None:
                w_period, w_layer, w_codes = exp.only_where
                cond = layer(w_period, w_layer)
                sel &= np.isin(cond, w_codes) if cond is not None else False
                note = f"where {w_period} {w_layer} in {{{', '.join(map(str, w_codes))}}}"
            values = layer(exp.period, exp.layer)
            pixels = int(sel.sum())
            if values is None or pixels == 0:
                share = float("nan")
            else:
                ok = sel & aoi & np.isin(values, exp.codes) & (values != codes.NODATA)
                share = 100.0 * int(ok.sum()) / pixels
            rows.append(
                {
                    "process": proc.name,
                    "period": exp.period,
                    "layer": exp.layer,
                    "expected": ", ".join(str(c) for c in exp.codes),
                    "pixels": pixels,
                    "recovered": share,
                    "condition": note,
                }
            )
    folder = run_dir / "layers" / "drought"
    for d in case.droughts:
        path = folder / f"drought_class_{d.label}.tif"
        pixels = int(d.mask.sum())
        if not path.exists() or pixels == 0 or case.drought_transform is None:
            share = float("nan")
        else:
            values = _read_layer(path, case.drought_transform, d.mask.shape)
            share = 100.0 * int((d.mask & np.isin(values, d.expected)).sum()) / pixels
        rows.append(
            {
                "process": d.name,
                "period": d.label,
                "layer": "drought_class",
                "expected": ", ".join(str(c) for c in d.expected),
                "pixels": pixels,
                "recovered": share,
                "condition": "",
            }
        )
    return pd.DataFrame(
        rows, columns=["process", "period", "layer", "expected", "pixels", "recovered", "condition"]
    )


def print_demo_report(df: pd.DataFrame, console: Console) -> None:
    """Print :func:`evaluate_demo`'s table with rich: green >= 90 %, yellow >= 75 %, red below."""
    from rich import box
    from rich.table import Table

    table = Table(
        title="ldnkit demo: planted processes recovered",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("Process", ratio=1, min_width=12)
    table.add_column("Period", no_wrap=True)
    table.add_column("Layer", no_wrap=True)
    for col in ("Codes", "Pixels", "Recovered"):
        table.add_column(col, justify="right", no_wrap=True)
    notes: list[str] = []
    previous = None
    for row in df.itertuples(index=False):
        share = row.recovered
        if share != share:  # NaN: layer missing or nothing to check
            shown = "[red]missing[/red]" if row.pixels else "[dim]n/a[/dim]"
        else:
            colour = "green" if share >= 90 else "yellow" if share >= 75 else "red"
            shown = f"[{colour}]{share:5.1f} %[/{colour}]"
        layer = row.layer
        if row.condition:  # footnote, so the table stays narrow
            if row.condition not in notes:
                notes.append(row.condition)
            layer += " " + "*" * (notes.index(row.condition) + 1)
        table.add_row(
            row.process if row.process != previous else "",
            row.period,
            layer,
            f"{{{row.expected}}}",
            f"{row.pixels:,}",
            shown,
        )
        previous = row.process
    console.print(table)
    for i, note in enumerate(notes, start=1):
        console.print(f"[dim]{'*' * i} only {note}[/dim]")
    valid = df["recovered"].dropna()
    if len(valid):
        console.print(
            f"Recovered {valid.mean():.1f} % on average; lowest {valid.min():.1f} % "
            f"({(valid >= 90).sum()} of {len(df)} checks at 90 % or more)."
        )


def run_demo(out: Path | None = None, quiet: bool = False) -> tuple[Result, pd.DataFrame]:
    """Build the demo inputs in ``out/inputs``, run the pipeline into ``out/run`` and evaluate it.

    ``out`` defaults to ``./ldnkit-demo``. Returns the pipeline's Result and the table of
    :func:`evaluate_demo`.
    """
    from .config import load_config
    from .pipeline import run  # lazily: the demo builds its inputs without the pipeline

    out = Path(out) if out is not None else Path("ldnkit-demo")
    case = build_demo_inputs(out / "inputs", output=out / "run")
    cfg = load_config(case.config_path)
    result = run(cfg, quiet=quiet)
    return result, evaluate_demo(cfg.resolve(cfg.output), case)


#: Land types printed by :func:`print_neutrality_report` (the largest).
PRINTED_LAND_TYPES = 12


def print_neutrality_report(run_dir: Path, console: Console) -> None:
    """Print the neutrality balance sheet (per land type, with the verdict) and the progress of the
    voluntary targets of a finished run, read from ``run_dir/summary.json``."""
    import json

    from rich import box
    from rich.table import Table

    summary = json.loads((Path(run_dir) / "summary.json").read_text())
    ldn = summary.get("neutrality")
    if not ldn:
        console.print("[dim]This run has no neutrality accounting (no 'neutrality:' section).[/dim]")
        return
    table = Table(
        title=f"LDN balance sheet, {ldn['period']} (area of interest, km²)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("Land type (largest first)", ratio=1, min_width=16)
    for col in ("Gains", "Losses", "ΔLDN", "ΔLDN %", "LDN"):
        table.add_column(col, justify="right", no_wrap=True)
    rows = [
        r for r in ldn.get("balance_sheet", []) if r.get("Scope", "Area of interest") == "Area of interest"
    ]

    def km2(v) -> str:
        return "" if v is None else f"{v:,.2f}"

    # The largest land types, then the verdict over all of them (the rest are in tables.xlsx).
    types = [r for r in rows if str(r.get("Land type")) != "All land types"]
    shown = sorted(types, key=lambda r: -(r.get("Total (km²)") or 0.0))[:PRINTED_LAND_TYPES]
    hidden = len(types) - len(shown)
    rows = [r for r in rows if r in shown or str(r.get("Land type")) == "All land types"]
    for r in rows:
        total = str(r.get("Land type")) == "All land types"
        ok = bool(r.get("LDN achieved"))
        mark = "[green]achieved[/green]" if ok else "[red]not achieved[/red]"
        # "soil: Vertisols · climate: ..." -> "Vertisols · ...": the components' values suffice here
        short = " · ".join(p.split(": ", 1)[-1] for p in str(r.get("Land type name", "")).split(" · "))
        name = "All land types" if total else f"{r.get('Land type')}. {short}"
        if total and hidden:
            table.add_row(f"[dim]… {hidden} smaller land types: tables.xlsx, sheet LDN-2[/dim]")
        pct = r.get("ΔLDN (% of land type)")
        table.add_row(
            f"[bold]{name}[/bold]" if total else name,
            km2(r.get("Gains (km²)")),
            km2(r.get("Losses (km²)")),
            km2(r.get("ΔLDN (km²)")),
            "" if pct is None else f"{pct:+.1f} %",
            mark,
            end_section=total,
        )
    console.print(table)
    verdict = ldn.get("verdict", {})
    colour = "green" if verdict.get("ldn_achieved") else "red"
    console.print(f"[{colour}]{verdict.get('text', '')}[/{colour}]")
    targets = ldn.get("targets") or []
    if targets:
        tt = Table(title="Voluntary targets (SO1-VT.T1)", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("Target", "Scope", "Year", "Current", "Target value", "Progress", "Status"):
            tt.add_column(col, no_wrap=col not in ("Scope", "Status"))
        for t in targets:
            prog = t.get("Progress (%)")
            cur, val = t.get("Current value"), t.get("Target value")
            tt.add_row(
                str(t.get("Target", "")),
                str(t.get("Scope", "")),
                str(t.get("Target year", "")),
                "" if cur is None else (f"{cur:,.2f}" if isinstance(cur, int | float) else str(cur)),
                "" if val is None else (f"{val:,.2f}" if isinstance(val, int | float) else str(val)),
                "" if prog is None else f"{prog:.0f} %",
                str(t.get("Status", "")),
            )
        console.print(tt)
