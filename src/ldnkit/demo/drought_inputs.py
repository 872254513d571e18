"""Drought (UNCCD SO 3) inputs of the demo: monthly precipitation with planted droughts on a coarser
grid, population by sex on a finer one, and a national table of vulnerability factors.

Each is drawn from its own random stream (seed, 1), (seed, 2), (seed, 3), so the SO 1 inputs are
the same with or without them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio.features
from affine import Affine
from shapely.geometry import Polygon, mapping

from ldnkit.codes import ARTIFICIAL, WATER
from ldnkit.demo.geography import TOWN, mountain
from ldnkit.demo.grid import ORIGIN, PIXEL_SIZE, YEARS, grid_transform, relative_coords, smooth_field
from ldnkit.demo.processes import PlantedDrought
from ldnkit.demo.productivity import YEAR_EFFECT
from ldnkit.demo.writers import write_precipitation, write_tif

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
SEXES = ("total", "female", "male")


def drought_grid(n: int) -> tuple[int, Affine]:
    """Cells per side and transform of the precipitation grid (nested in and covering the NDVI)."""
    return -(-n // DROUGHT_CELL), grid_transform(PIXEL_SIZE * DROUGHT_CELL)


def drought_uv(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Relative coordinates (u east, v south) of the precipitation cell centres."""
    m, _ = drought_grid(n)
    c = (np.arange(m) + 0.5) * DROUGHT_CELL / n
    u, v = np.meshgrid(c, c)
    return u, v


def precipitation(n: int, seed: int) -> np.ndarray:
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
    u, v = drought_uv(n)
    m = u.shape[0]
    annual = RAIN_CLIMATOLOGY.sum() * (1.0 + 0.6 * mountain(u, v)) * np.exp(0.08 * smooth_field(rng, m, 0.15))
    share = RAIN_CLIMATOLOGY / RAIN_CLIMATOLOGY.sum()
    early = rng.normal(0.0, RAIN_YEAR_SD, len(PRECIP_YEARS))
    out = np.empty((12 * len(PRECIP_YEARS), m, m), np.float32)
    for i, year in enumerate(PRECIP_YEARS):
        anomaly = np.exp(RAIN_FIELD_SD * smooth_field(rng, m, 0.2))
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


def planted_droughts(n: int, aoi: Polygon) -> tuple[Affine, list[PlantedDrought]]:
    """The planted droughts and controls, on the precipitation cells inside the area of interest."""
    m, transform = drought_grid(n)
    inside = rasterio.features.geometry_mask([mapping(aoi)], (m, m), transform, invert=True)
    south = inside & (drought_uv(n)[1] > 0.5)
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


def population(unccd: np.ndarray, n: int, seed: int) -> dict[int, tuple[np.ndarray, ...]]:
    """Persons per pixel (total, female, male; float32) on the population grid, for POP_YEARS.

    ``unccd`` is the landscape's land cover (year, y, x) on the ``n`` x ``n`` grid. Density by land
    cover (built-up land dense, highest in the town centre, half as dense where built after 2000;
    a peri-urban halo around the town; none on water), growing faster in built-up land, times a
    static and a small yearly log-normal noise, times the pixel's area. The female share is about
    50.6 %, lower in the town (men moving in for work). ``female + male == total`` exactly in float32.
    """
    rng = np.random.default_rng([seed, 2])
    k = POP_SPLIT
    fine = n * k
    u, v = relative_coords(fine)
    size = PIXEL_SIZE / k
    lat = ORIGIN[1] - (np.arange(fine) + 0.5) * size
    # km² per pixel on the authalic sphere: within 0.1 % of the ellipsoidal area near the equator
    area = (np.radians(size) * 6371.0072) ** 2 * np.cos(np.radians(lat))[:, None]
    town = np.exp(-((np.hypot(u - TOWN[0], v - TOWN[1]) / 0.08) ** 2))
    static = np.exp(0.35 * rng.standard_normal((fine, fine)) - 0.35**2 / 2)  # mean 1
    female_share = np.clip(0.506 - 0.03 * town + 0.006 * rng.standard_normal((fine, fine)), 0.45, 0.55)
    larger = np.maximum(female_share, 1.0 - female_share)
    old_built = np.repeat(np.repeat(unccd[0] == ARTIFICIAL, k, axis=0), k, axis=1)
    out = {}
    for year in POP_YEARS:
        lc = np.repeat(np.repeat(unccd[YEARS.index(year)], k, axis=0), k, axis=1)
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


def dvi_factors(seed: int) -> pd.DataFrame:
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


def write_drought_inputs(
    folder: Path, aoi: Polygon, unccd: np.ndarray, n: int, seed: int, files: dict[str, Path]
) -> tuple[Affine, list[PlantedDrought]]:
    """Write the precipitation, population and vulnerability files into ``folder`` (recording each
    in ``files``); return the precipitation grid's transform and the planted droughts."""
    drought_transform, droughts = planted_droughts(n, aoi)
    files["precipitation"] = folder / PRECIP_FILE
    write_precipitation(files["precipitation"], precipitation(n, seed), drought_transform, PRECIP_YEARS)
    pop_transform = grid_transform(PIXEL_SIZE / POP_SPLIT)
    for year, layers in population(unccd, n, seed).items():
        for sex, counts in zip(SEXES, layers, strict=True):
            key = f"population_{sex}_{year}"
            files[key] = folder / f"{key}.tif"
            write_tif(files[key], counts, pop_transform, float("nan"), [str(year)])
    files["dvi"] = folder / DVI_FILE
    dvi_factors(seed).to_csv(files["dvi"], index=False, lineterminator="\n")
    return drought_transform, droughts
