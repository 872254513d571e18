"""The demo's inputs: deterministic, valid, and carrying the planted truth they claim to carry.

The planted truth is checked on the written files themselves, with independent references:
pymannkendall for the NDVI trends, the Tier 1 rule of methodology §1.6 by hand for the SOC loss,
rasterio's own rasterisation of the area of interest, climate-indices and a scipy gamma fit for
the planted droughts' SPI-12.
"""

from __future__ import annotations

import json
import logging
import sys
import types
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pymannkendall as mk
import pytest
import rasterio
import rasterio.features
import xarray as xr
from rich.console import Console
from scipy import ndimage, stats

from ldnkit import codes
from ldnkit.config import SpiMethod, load_config
from ldnkit.demo import (
    OUTPUT_LAYERS,
    YEARS,
    DemoCase,
    build_demo_inputs,
    evaluate_demo,
    print_demo_report,
    run_demo,
)
from ldnkit.demo.activities import REGISTRY_FILE
from ldnkit.indicators.drought import dvi_from_table
from ldnkit.io.climate import open_monthly

SIZE = 200  # the default is 400; the patches still hold several hundred pixels each at 200
N_SAMPLE = 50


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> DemoCase:
    return build_demo_inputs(tmp_path_factory.mktemp("demo") / "inputs", size=SIZE)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


@pytest.fixture(scope="module")
def esa(case) -> np.ndarray:
    """ESA CCI codes (year, y, x) read back from the per-year files."""
    return np.stack([_read(case.folder / f"land_cover_{y}.tif")[0] for y in YEARS])


@pytest.fixture(scope="module")
def unccd(esa) -> np.ndarray:
    """The ESA codes nested to the 7 UNCCD classes with the published nesting (0 = not nested)."""
    lut = np.zeros(256, np.int16)
    for cls, esa_codes in codes.ESA_CCI_NESTING.items():
        lut[list(esa_codes)] = cls
    return lut[esa]


@pytest.fixture(scope="module")
def ndvi(case) -> np.ndarray:
    return _read(case.folder / "ndvi_2000-2023.tif")


def _proc(case: DemoCase, name: str):
    return next(p for p in case.processes if p.name == name)


def _sample(mask: np.ndarray, k: int = N_SAMPLE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(mask)
    pick = np.random.default_rng(seed).choice(len(rows), size=min(k, len(rows)), replace=False)
    return rows[pick], cols[pick]


def _registry_records(path) -> list[dict]:
    """The activities of a registry file, without the times they were written."""
    from ldnkit.registry import open_store
    from ldnkit.registry.bulk import all_records

    store = open_store(path)
    try:
        times = ("created_at", "updated_at")
        return [{k: v for k, v in r.items() if k not in times} for r in all_records(store)]
    finally:
        store.close()


def _years(first: int, last: int) -> slice:
    return slice(YEARS.index(first), YEARS.index(last) + 1)


# --- files, grid, config -------------------------------------------------------------------------------
def test_same_inputs_byte_for_byte(case, tmp_path):
    out = tmp_path / "run"
    a = build_demo_inputs(tmp_path / "a", size=SIZE, output=out)
    b = build_demo_inputs(tmp_path / "b", size=SIZE, output=out)
    names = sorted(p.name for p in a.folder.iterdir())
    assert names == sorted(p.name for p in b.folder.iterdir())
    # 24 land-cover maps, ndvi, soc, zones, 2 gpkg, config; precipitation, 9 population maps, dvi;
    # soil groups, slope, soil depth, field sites, mining permits, restoration plan, corrections;
    # the activity registry; the footprint example's production, trade matrix and shares
    assert len(names) == 24 + 6 + 1 + 9 + 1 + 7 + 1 + 3
    for name in names:
        if name == REGISTRY_FILE:  # a database stamps its rows with the time: same records instead
            assert _registry_records(a.folder / name) == _registry_records(b.folder / name)
            continue
        assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes(), name
    # ... and the same arrays as the module's case (written elsewhere, other output folder).
    for name in ("ndvi_2000-2023.tif", "land_cover_2011.tif", "soc_2000.tif", "climate_zones.tif"):
        np.testing.assert_array_equal(_read(a.folder / name), _read(case.folder / name))
    for name in (
        "precipitation_monthly.nc",
        "population_female_2010.tif",
        "dvi_factors.csv",
        "field_sites.csv",
        "corrections.gpkg",
        "soil_groups.tif",
    ):
        assert (a.folder / name).read_bytes() == (case.folder / name).read_bytes(), name
    # Another seed gives another landscape.
    c = build_demo_inputs(tmp_path / "c", size=SIZE, seed=7)
    for name in ("land_cover_2000.tif", "population_total_2000.tif"):
        assert not np.array_equal(_read(c.folder / name), _read(a.folder / name)), name
    assert (c.folder / "precipitation_monthly.nc").read_bytes() != (
        a.folder / "precipitation_monthly.nc"
    ).read_bytes()


def test_config_parses_and_names_every_input(case):
    cfg = load_config(case.config_path)
    assert cfg.periods.baseline.name == "baseline"
    assert (cfg.periods.baseline.start, cfg.periods.baseline.end) == (2000, 2015)
    assert [(p.name, p.start, p.end) for p in cfg.periods.reporting] == [
        ("2016-2019", 2016, 2019),
        ("2016-2023", 2016, 2023),
    ]
    assert cfg.output == case.folder.resolve() / "run"
    inp = cfg.inputs
    assert inp.land_cover.legend == "esa_cci"
    assert sorted(inp.land_cover.maps) == list(YEARS)
    paths = [
        inp.productivity.path,
        inp.soc.path,
        inp.climate_zones.path,
        inp.area_of_interest,
        inp.regions.path,
        *inp.land_cover.maps.values(),
    ]
    for p in paths:
        assert cfg.resolve(p).is_file(), p
    # Default methods: the demo must not tune the methods to its own data.
    assert cfg.methods.model_dump() == type(cfg.methods)().model_dump()


def test_config_drought_section(case):
    d = load_config(case.config_path).drought
    assert d is not None and d.spi is None and d.pet is None
    assert d.method.model_dump() == SpiMethod().model_dump()  # SPI-12, 1981-2010, December
    assert (d.method.index, d.method.scale, list(d.method.reference)) == ("spi", 12, [1981, 2010])
    assert list(d.years) == [2000, 2023] and (d.period_start, d.period_length) == (2000, 4)
    assert (d.precipitation.variable, d.precipitation.units) == ("precip", "mm")
    assert (case.folder / d.precipitation.path).is_file()
    pop = d.population
    assert pop.units == "count"
    for maps in (pop.total, pop.female, pop.male):
        assert sorted(maps) == [2000, 2010, 2020]
        assert all((case.folder / p).is_file() for p in maps.values())
    assert pop.female[2010].name == "population_female_2010.tif"
    assert (case.folder / d.vulnerability.table).is_file() and d.vulnerability.weights is None


def test_rasters_share_the_documented_grid(case):
    files = [case.folder / f"land_cover_{y}.tif" for y in YEARS] + [
        case.folder / n for n in ("ndvi_2000-2023.tif", "soc_2000.tif", "climate_zones.tif")
    ]
    for f in files:
        with rasterio.open(f) as src:
            assert src.crs.to_epsg() == 4326
            assert (src.width, src.height) == (SIZE, SIZE)
            t = src.transform
            assert (t.a, t.e, t.b, t.d) == pytest.approx((0.0025, -0.0025, 0.0, 0.0))
            assert (t.c, t.f) == pytest.approx((36.0, -0.5))
    with rasterio.open(case.folder / "ndvi_2000-2023.tif") as src:
        assert src.count == 24 and src.dtypes[0] == "float32" and np.isnan(src.nodata)
        assert list(src.descriptions) == [str(y) for y in YEARS]
    with rasterio.open(case.folder / "land_cover_2000.tif") as src:
        assert src.dtypes[0] in ("uint8", "int16") and src.nodata == 0
    with rasterio.open(case.folder / "soc_2000.tif") as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)


def test_land_cover_codes_are_esa_cci_and_exercise_the_nesting(esa, unccd):
    known = {c for cs in codes.ESA_CCI_NESTING.values() for c in cs}
    used = set(np.unique(esa).tolist())
    assert used <= known, used - known
    assert (unccd > 0).all()  # no pixel left un-nested, no no-data
    assert set(np.unique(unccd[0]).tolist()) == set(range(1, 8))  # all 7 UNCCD classes
    per_class = {cls: used & set(cs) for cls, cs in codes.ESA_CCI_NESTING.items()}
    assert sum(len(v) > 1 for v in per_class.values()) >= 3  # several codes nest to one class
    assert {60, 130, 10, 180, 190, 200, 210} <= used


def test_ndvi_is_realistic(ndvi, unccd):
    water = unccd == codes.WATER
    assert np.isnan(ndvi[water]).all()
    assert np.isfinite(ndvi[~water]).all()
    assert ndvi[~water].min() >= 0.0 and ndvi[~water].max() <= 1.0
    # Class means near the documented values (all years, pixels of that class that year).
    for cls, mean in (
        (codes.TREE, 0.75),
        (codes.GRASSLAND, 0.45),
        (codes.CROPLAND, 0.50),
        (codes.WETLAND, 0.60),
        (codes.ARTIFICIAL, 0.15),
        (codes.OTHER_LAND, 0.12),
    ):
        assert np.median(ndvi[unccd == cls]) == pytest.approx(mean, abs=0.05), cls
    # Cropland varies more from year to year than forest.
    stable = (unccd == unccd[0]).all(0)
    sd = ndvi.std(0)
    assert np.median(sd[stable & (unccd[0] == codes.CROPLAND)]) > 1.5 * np.median(
        sd[stable & (unccd[0] == codes.TREE)]
    )


def test_soc_and_climate_zones(case, unccd):
    soc = _read(case.folder / "soc_2000.tif")[0]
    zones = _read(case.folder / "climate_zones.tif")[0]
    lc0 = unccd[0]
    assert np.isnan(soc[lc0 == codes.WATER]).all()
    assert np.isfinite(soc[lc0 != codes.WATER]).all() and (soc[lc0 != codes.WATER] > 0).all()
    low = zones == 11
    med = {cls: np.median(soc[low & (lc0 == cls)]) for cls in range(1, 7)}
    for cls, ref in ((1, 80), (2, 50), (3, 40), (4, 150), (5, 20), (6, 15)):
        assert med[cls] == pytest.approx(ref, rel=0.2), cls
    assert np.std(soc[low & (lc0 == codes.TREE)]) > 3  # spatial noise, not a constant per class
    assert set(np.unique(zones).tolist()) == {9, 11}
    assert 0.03 < (zones == 9).mean() < 0.3  # a mountain, not half the map


def test_area_of_interest_and_regions(case):
    aoi = gpd.read_file(case.folder / "area_of_interest.gpkg")
    regions = gpd.read_file(case.folder / "regions.gpkg")
    assert aoi.crs.to_epsg() == 4326 and regions.crs.to_epsg() == 4326
    assert list(regions["name"]) == ["North", "Centre", "South"]
    shape = aoi.union_all()
    xmin, ymin, xmax, ymax = shape.bounds
    ext = (36.0, -0.5 - SIZE * 0.0025, 36.0 + SIZE * 0.0025, -0.5)
    assert ext[0] < xmin and ymin > ext[1] and xmax < ext[2] and ymax < ext[3]  # strictly inside
    assert shape.area < 0.95 * (ext[2] - ext[0]) * (ext[3] - ext[1])
    # Regions tile the area of interest: no overlap, no gap.
    geoms = list(regions.geometry)
    for i in range(3):
        for j in range(i + 1, 3):
            assert geoms[i].intersection(geoms[j]).area == pytest.approx(0.0, abs=1e-12)
    assert regions.union_all().symmetric_difference(shape).area == pytest.approx(0.0, abs=1e-12)
    # The case's raster AOI agrees with rasterio's own rasterisation of the file.
    with rasterio.open(case.folder / "soc_2000.tif") as src:
        inside = rasterio.features.geometry_mask(aoi.geometry, src.shape, src.transform, invert=True)
    np.testing.assert_array_equal(inside, case.aoi)


def test_planted_masks_are_contiguous_disjoint_and_well_inside(case):
    with rasterio.open(case.folder / "soc_2000.tif") as src:
        inside = rasterio.features.geometry_mask(
            gpd.read_file(case.folder / "area_of_interest.gpkg").geometry,
            src.shape,
            src.transform,
            invert=True,
        )
    core = ndimage.binary_erosion(inside, iterations=3)  # away from the AOI edge
    total = np.zeros((SIZE, SIZE), int)
    assert len(case.processes) == 8
    for p in case.processes:
        assert p.mask.shape == (SIZE, SIZE) and p.mask.dtype == bool
        assert p.mask.sum() > 300, p.name
        assert (p.mask <= core).all(), p.name
        assert ndimage.label(p.mask)[1] == 1, p.name  # one contiguous patch
        assert p.expected, p.name
        for period, layer, allowed in p.expected:  # plain 3-tuples
            assert period in ("baseline", "2016-2019", "2016-2023")
            assert layer in OUTPUT_LAYERS and allowed
        total += p.mask
    assert total.max() == 1  # disjoint
    default = build_demo_inputs(case.folder.parent / "full", seed=20260101)
    for p in default.processes:
        assert 1500 <= p.mask.sum() <= 5000, (p.name, p.mask.sum())  # "a few thousand" at 400


# --- the planted truth, on the inputs themselves --------------------------------------------------------
def test_deforestation_front(case, unccd):
    m = _proc(case, "Deforestation front").mask
    assert (unccd[YEARS.index(2000)][m] == codes.TREE).all()
    assert (unccd[YEARS.index(2015)][m] == codes.CROPLAND).all()
    first_crop = np.array(YEARS)[np.argmax(unccd[:, m] == codes.CROPLAND, axis=0)]
    assert first_crop.min() == 2004 and first_crop.max() == 2010  # progressive, 2004-2010
    assert len(np.unique(first_crop)) == 7
    zones = _read(case.folder / "climate_zones.tif")[0]
    assert (zones[m] == 11).all()  # tropical moist: F_LU = 0.48 (methodology §1.6)
    # Tier 1 by hand: each full year after clearing loses SOC_2000 * (1 - 0.48) / 20; counting
    # only the years after the clearing year, the latest-cleared pixels lose 5 x 2.6 % = 13 %.
    years_after = 2015 - first_crop
    assert (years_after * (1 - 0.48) / 20 >= 0.10).all()


def test_urban_expansion(case, unccd, esa):
    m = _proc(case, "Urban expansion").mask
    pre = unccd[_years(2000, 2016)][:, m]
    assert np.isin(pre, (codes.CROPLAND, codes.GRASSLAND)).all()
    assert (esa[YEARS.index(2019)][m] == 190).all() and (esa[YEARS.index(2023)][m] == 190).all()
    built = np.array(YEARS)[np.argmax(unccd[:, m] == codes.ARTIFICIAL, axis=0)]
    assert set(np.unique(built).tolist()) == {2017, 2018}


def test_cropland_abandonment(case, unccd):
    m = _proc(case, "Cropland abandonment").mask
    assert (unccd[_years(2000, 2016)][:, m] == codes.CROPLAND).all()
    assert (unccd[_years(2017, 2023)][:, m] == codes.GRASSLAND).all()
    # The default matrix calls cropland -> grassland degradation ("withdrawal of agriculture").
    assert codes.DEFAULT_TRANSITION_MATRIX[codes.CROPLAND - 1][codes.GRASSLAND - 1] == -1


def test_drained_wetland(case, unccd):
    m = _proc(case, "Drained wetland").mask
    assert (unccd[_years(2000, 2002)][:, m] == codes.WETLAND).all()
    assert (unccd[_years(2003, 2023)][:, m] == codes.CROPLAND).all()


def test_productivity_decline_is_a_significant_trend(case, unccd, ndvi):
    m = _proc(case, "Productivity decline").mask
    assert (unccd[:, m] == codes.GRASSLAND).all()  # no land-cover change
    rows, cols = _sample(m)
    window = ndvi[_years(2008, 2023)]
    tests = [mk.original_test(window[:, r, c], alpha=0.05) for r, c in zip(rows, cols, strict=True)]
    share = np.mean([t.trend == "decreasing" for t in tests])
    assert share >= 0.9, share
    assert np.median([t.slope for t in tests]) < -0.005


def test_restoration_rises_and_is_not_flagged_by_performance(case, unccd, ndvi):
    m = _proc(case, "Restoration").mask
    assert (unccd[:, m] == codes.GRASSLAND).all()
    rows, cols = _sample(m)
    window = ndvi[_years(2008, 2023)]
    tests = [mk.original_test(window[:, r, c], alpha=0.05) for r, c in zip(rows, cols, strict=True)]
    assert np.mean([t.trend == "increasing" for t in tests]) >= 0.9
    # Performance by hand: window mean / 90th percentile of grassland x zone over the full extent.
    zones = _read(case.folder / "climate_zones.tif")[0]
    mean = window.mean(0)
    zone = zones[m][0]
    unit = (unccd[YEARS.index(2023)] == codes.GRASSLAND) & (zones == zone)
    p90 = np.percentile(mean[unit], 90)
    assert (mean[m & (zones == zone)] / p90 > 0.5).mean() >= 0.95


def test_stable_reference_is_undisturbed(case, unccd, ndvi):
    m = _proc(case, "Stable reference").mask
    assert (unccd[:, m] == codes.TREE).all()
    window = ndvi[_years(2008, 2023)]
    rows, cols = _sample(m)
    trends = [mk.original_test(window[:, r, c], alpha=0.05).trend for r, c in zip(rows, cols, strict=True)]
    assert np.mean([t == "no trend" for t in trends]) >= 0.9
    # False alarms of the state comparison stay rare: last 3 years vs the 13 before, by > 0.01.
    drop = window[13:].mean(0) - window[:13].mean(0)
    assert (drop[m] < -0.01).mean() < 0.1


# --- drought (SO 3): precipitation, planted droughts, population, vulnerability -------------------------
M = SIZE // 4  # precipitation cells per side: 0.01°, 4 x 4 NDVI pixels
N_YEARS = 2023 - 1981 + 1
DECEMBER = 11


@pytest.fixture(scope="module")
def precip(case) -> np.ndarray:
    """(month, y, x) rainfall read with ldnkit's own reader (checked against the raw file below)."""
    return open_monthly(case.folder / "precipitation_monthly.nc", variable="precip").values


def _drought(case: DemoCase, name: str, period: str | None = None):
    return next(d for d in case.droughts if d.name == name and d.period == period)


def test_precipitation_opens_monthly_on_a_coarser_nested_grid(case):
    da = open_monthly(case.folder / "precipitation_monthly.nc", variable="precip")
    assert da.dims == ("time", "y", "x") and da.dtype == np.float32
    assert da.attrs["units"] == "mm"
    assert "crs_assumed" not in da.attrs and da.rio.crs.to_epsg() == 4326  # from the grid mapping
    months = pd.date_range("1981-01-01", "2023-12-01", freq="MS")  # monthly, no gaps
    assert len(months) == 12 * N_YEARS
    np.testing.assert_array_equal(da["time"].values, months.to_numpy("datetime64[ns]"))
    t = da.rio.transform()
    assert (t.a, t.b, t.c, t.d, t.e, t.f) == pytest.approx((0.01, 0, 36.0, 0, -0.01, -0.5))
    assert da.shape[1:] == (M, M)  # the NDVI's extent exactly
    assert case.drought_transform.almost_equals(t)
    values = da.values
    assert np.isfinite(values).all() and (values >= 0).all()
    # Stored as a CHIRPS file is (float32, latitude ascending); opened north-up, same values.
    with xr.open_dataset(case.folder / "precipitation_monthly.nc") as raw:
        assert np.all(np.diff(raw["lat"].values) > 0)
        assert raw["precip"].dtype == np.float32 and raw["precip"].attrs["units"] == "mm"
        np.testing.assert_array_equal(raw["precip"].values[:, ::-1], values)


def test_precipitation_is_plausible(precip):
    by_year = precip.astype(np.float64).reshape(N_YEARS, 12, M, M)
    annual = by_year.sum(1)
    normal = np.delete(annual, [2009 - 1981, 2016 - 1981], axis=0)
    assert 700 < np.median(normal) < 1400  # mm per year
    clim = by_year.mean((0, 2, 3))
    assert clim[3] > 3 * clim[6] and clim[10] > 3 * clim[7]  # long and short rains, dry Jul-Aug
    mean_map = normal.mean(0)  # a smooth spatial pattern, wetter on the mountain (north-east)
    assert mean_map.std() / mean_map.mean() > 0.05
    assert np.corrcoef(mean_map[:, :-1].ravel(), mean_map[:, 1:].ravel())[0, 1] > 0.8
    assert mean_map[: M // 2, M // 2 :].mean() > mean_map[M // 2 :, : M // 2].mean()
    cv = normal.std(0) / normal.mean(0)  # year-to-year variability of a cell's total
    assert 0.1 < np.median(cv) < 0.3


def test_drought_masks(case):
    aoi = gpd.read_file(case.folder / "area_of_interest.gpkg")
    inside = rasterio.features.geometry_mask(aoi.geometry, (M, M), case.drought_transform, invert=True)
    lat = -0.5 - (np.arange(M) + 0.5) * 0.01
    south = inside & (lat < -0.5 - SIZE * 0.0025 / 2)[:, None]
    np.testing.assert_array_equal(_drought(case, "National drought").mask, inside)
    np.testing.assert_array_equal(_drought(case, "National drought", "2008-2011").mask, inside)
    np.testing.assert_array_equal(_drought(case, "Southern drought").mask, south)
    np.testing.assert_array_equal(_drought(case, "Southern drought", "2016-2019").mask, south)
    np.testing.assert_array_equal(_drought(case, "Drought-free north").mask, inside & ~south)
    assert 0.4 < south.sum() / inside.sum() < 0.6
    assert [d.label for d in case.droughts] == ["2009", "2008-2011", "2016", "2016-2019", "2016", "2012"]
    for d in case.droughts:
        assert d.mask.shape == (M, M) and d.mask.dtype == bool and d.mask.sum() > 200
        assert set(d.expected) <= set(codes.DROUGHT.codes)


def _climate_indices_spi12(series: np.ndarray) -> np.ndarray:
    """SPI-12 (time, cells) by climate-indices: gamma, calibration 1981-2010."""
    pytest.importorskip("climate_indices")
    from climate_indices import compute, indices

    logging.getLogger("climate_indices").setLevel(logging.ERROR)
    return np.stack(
        [
            indices.spi(s, 12, indices.Distribution.gamma, 1981, 1981, 2010, compute.Periodicity.monthly)
            for s in series.T
        ],
        axis=1,
    )


def _december_spi12_by_hand(series: np.ndarray, year: int) -> float:
    """December SPI-12 = the Jan-Dec total, against a 2-parameter gamma (scipy MLE) of 1981-2010."""
    annual = series.reshape(N_YEARS, 12).sum(1)
    shape, _, scale = stats.gamma.fit(annual[:30], floc=0)
    return float(stats.norm.ppf(stats.gamma.cdf(annual[year - 1981], shape, scale=scale)))


@pytest.mark.parametrize(
    ("name", "year", "drought"),
    [
        ("National drought", 2009, True),
        ("Southern drought", 2016, True),
        ("Drought-free north", 2016, False),
        ("Normal year", 2012, False),
    ],
)
def test_planted_droughts_by_independent_spi(case, precip, name, year, drought):
    d = _drought(case, name)
    assert d.year == year
    rows, cols = _sample(d.mask, k=30)
    series = precip[:, rows, cols].astype(np.float64)
    ci = _climate_indices_spi12(series)[(year - 1981) * 12 + DECEMBER]
    hand = np.array([_december_spi12_by_hand(series[:, i], year) for i in range(series.shape[1])])
    np.testing.assert_allclose(np.clip(hand, -3.09, 3.09), ci, atol=0.25)  # Thom vs MLE fit
    if drought:  # severe (<= -1.5) or extreme
        assert (ci <= -1.5).mean() >= 0.9 and (hand <= -1.5).mean() >= 0.9, ci
        assert d.expected == (3, 4)
    else:  # no moderate or worse drought
        assert (ci > -1.0).mean() >= 0.8 and (hand > -1.0).mean() >= 0.8, ci
        assert d.expected == (0, 1)


def test_planted_drought_deficits_in_the_totals(case, precip):
    """The drought years' rainfall, as a share of the cell's mean of the other years."""
    annual = precip.astype(np.float64).reshape(N_YEARS, 12, M, M).sum(1)
    normal = np.delete(annual, [2009 - 1981, 2016 - 1981], axis=0).mean(0)
    south = _drought(case, "Southern drought").mask
    north = _drought(case, "Drought-free north").mask
    share_2009 = annual[2009 - 1981] / normal
    share_2016 = annual[2016 - 1981] / normal
    assert np.median(share_2009) == pytest.approx(0.35, abs=0.05)
    assert np.median(share_2016[south]) == pytest.approx(0.45, abs=0.05)
    assert np.median(share_2016[north]) == pytest.approx(1.0, abs=0.1)


@pytest.fixture(scope="module")
def population(case) -> dict[tuple[str, int], np.ndarray]:
    return {
        (sex, y): _read(case.folder / f"population_{sex}_{y}.tif")[0]
        for sex in ("total", "female", "male")
        for y in (2000, 2010, 2020)
    }


def test_population_counts_by_sex(case, population, unccd):
    for y in (2000, 2010, 2020):
        with rasterio.open(case.folder / f"population_total_{y}.tif") as src:
            assert src.dtypes[0] == "float32" and src.crs.to_epsg() == 4326
            assert (src.width, src.height) == (2 * SIZE, 2 * SIZE)  # twice finer than the NDVI
            t = src.transform
            assert (t.a, t.b, t.c, t.d, t.e, t.f) == pytest.approx((0.00125, 0, 36.0, 0, -0.00125, -0.5))
        total, female, male = (population[(sex, y)] for sex in ("total", "female", "male"))
        assert np.isfinite(total).all() and (female >= 0).all() and (male >= 0).all()
        np.testing.assert_array_equal(female + male, total)  # exactly, pixel by pixel
        np.testing.assert_array_equal(female.astype(np.float64) + male, total)  # not float32 luck
        assert 0.47 < female.sum(dtype=np.float64) / total.sum(dtype=np.float64) < 0.53
        # Concentrated in the town and villages (built-up land of the same year's land cover).
        lc = np.kron(unccd[YEARS.index(y)], np.ones((2, 2), np.int16))
        built = lc == codes.ARTIFICIAL
        assert built.mean() < 0.05 and total[built].sum() / total.sum() > 0.3
        assert (total[lc == codes.WATER] == 0).all()
        # Persons per pixel, not per km²: a rural pixel of 0.019 km² holds a few persons.
        assert 0.1 < np.median(total[lc == codes.CROPLAND]) < 10
    totals = [population[("total", y)].sum(dtype=np.float64) for y in (2000, 2010, 2020)]
    assert totals[0] < totals[1] < totals[2]


def test_dvi_factors_parse_and_match_a_hand_calculation(case):
    path = case.folder / "dvi_factors.csv"
    table = pd.read_csv(path)
    assert list(table.columns) == ["factor", "component", "direction", "year", "value", "sex"]
    assert table.factor.nunique() == 6
    assert set(table.component) == {"social", "economic", "infrastructural"}
    assert set(table.direction) == {"positive", "negative"}
    assert (table.year.min(), table.year.max()) == (2000, 2023)
    dvi = dvi_from_table(path)
    assert sorted(dvi.year.unique()) == list(range(2000, 2024))
    assert set(dvi.sex) == {"total", "female", "male"}
    # Total DVI by hand (UNCCD GPG): min-max per factor over all its values (sexes share a range),
    # 1 - F for negative factors, mean per component, mean of the three components.
    comps: dict[str, list[pd.Series]] = {}
    for _, g in table.groupby("factor"):
        lo, hi = g.value.min(), g.value.max()
        f = (g[g.sex == "total"].set_index("year").value - lo) / (hi - lo)
        comps.setdefault(g.component.iloc[0], []).append(1 - f if g.direction.iloc[0] == "negative" else f)
    hand = sum(pd.concat(fs, axis=1).mean(axis=1) for fs in comps.values()) / 3
    got = dvi[dvi.sex == "total"].set_index("year").dvi
    np.testing.assert_allclose(got.loc[hand.index].to_numpy(), hand.to_numpy(), atol=1e-9)
    assert got.loc[2000] > 0.8 and got.loc[2023] < 0.2  # vulnerability falls over the years


# --- evaluation ---------------------------------------------------------------------------------------------
def _write_truth(case: DemoCase, run_dir: Path, *, spoil: dict | None = None) -> None:
    """Fake run outputs that hold exactly the expected codes (first accepted code)."""
    layers: dict[tuple[str, str], np.ndarray] = {}
    for p in case.processes:
        for e in p.expected:
            a = layers.setdefault((e.period, e.layer), np.full((SIZE, SIZE), codes.NODATA, np.int16))
            a[p.mask] = e.codes[0]
    urban = _proc(case, "Urban expansion").mask
    rows = np.nonzero(urban.any(1))[0]
    top = urban.copy()
    top[rows[len(rows) // 2] :] = False  # northern part of the patch: baseline not degraded
    base = layers.setdefault(("baseline", "sdg"), np.full((SIZE, SIZE), codes.NODATA, np.int16))
    base[urban] = -1
    base[top] = 0
    for (period, layer), fn in (spoil or {}).items():
        fn(layers[(period, layer)])
    for (period, layer), a in layers.items():
        _write_int16(run_dir / "layers" / period / f"{layer}.tif", a, case.transform)
    # a run folder's summary.json says where each layer is and what kind it is (as a real run's)
    entries = {f"{p}/{n}": {"path": f"layers/{p}/{n}.tif", "kind": "categorical"} for p, n in layers}
    (run_dir / "summary.json").write_text(json.dumps({"layers": entries}))
    drought: dict[str, np.ndarray] = {}
    for d in case.droughts:
        a = drought.setdefault(d.label, np.full(d.mask.shape, codes.NODATA, np.int16))
        a[d.mask] = d.expected[0]
    for label, a in drought.items():
        _write_int16(run_dir / "layers" / "drought" / f"drought_class_{label}.tif", a, case.drought_transform)


def _write_int16(path: Path, a: np.ndarray, transform) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=a.shape[1],
        height=a.shape[0],
        count=1,
        dtype="int16",
        nodata=codes.NODATA,
        crs="EPSG:4326",
        transform=transform,
    ) as dst:
        dst.write(a, 1)


def test_evaluate_demo_against_hand_counts(case, tmp_path):
    stable = _proc(case, "Stable reference").mask
    wet = _proc(case, "Drained wetland").mask
    urban = _proc(case, "Urban expansion").mask
    rows, _ = np.nonzero(stable)
    cut = np.median(rows)

    def spoil_sdg(a):  # the northern half of the reference patch falsely degraded
        a[stable & (np.indices(a.shape)[0] < cut)] = -1

    def spoil_wet(a):  # a third of the drained wetland: no data
        idx = np.flatnonzero(wet)
        a.flat[idx[: len(idx) // 3]] = codes.NODATA

    _write_truth(
        case,
        tmp_path,
        spoil={("2016-2023", "sdg"): spoil_sdg, ("baseline", "land_cover_degradation"): spoil_wet},
    )
    (tmp_path / "layers" / "2016-2019" / "status.tif").unlink()
    df = evaluate_demo(tmp_path, case)
    assert list(df.columns[:6]) == ["process", "period", "layer", "expected", "pixels", "recovered"]
    assert len(df) == sum(len(p.expected) for p in case.processes) + len(case.droughts)
    key = df.set_index(["process", "period", "layer"])
    ref = key.loc[("Stable reference", "2016-2023", "sdg")]
    north = (stable & (np.indices(stable.shape)[0] < cut)).sum()
    assert ref.pixels == stable.sum()
    assert ref.recovered == pytest.approx(100 * (1 - north / stable.sum()))
    assert ref.expected == "0, 1"
    w = key.loc[("Drained wetland", "baseline", "land_cover_degradation")]
    assert w.recovered == pytest.approx(100 * (wet.sum() - wet.sum() // 3) / wet.sum())
    assert np.isnan(key.loc[("Urban expansion", "2016-2019", "status")].recovered)
    # status_expanded is checked only where the baseline was not degraded (the northern part).
    se = key.loc[("Urban expansion", "2016-2023", "status_expanded")]
    rows_u = np.nonzero(urban.any(1))[0]
    assert se.pixels == urban[: rows_u[len(rows_u) // 2]].sum()
    assert se.recovered == pytest.approx(100.0)
    others = df[~df.layer.isin(["sdg", "land_cover_degradation"]) & df.recovered.notna()]
    assert (others.recovered == 100.0).all()


def test_evaluate_counts_pixels_outside_the_aoi_as_missed(case, tmp_path):
    _write_truth(case, tmp_path)
    m = _proc(case, "Productivity decline").mask
    shrunk = DemoCase(
        case.config_path, case.folder, case.processes, aoi=case.aoi & ~m, transform=case.transform
    )
    df = evaluate_demo(tmp_path, shrunk).set_index(["process", "period", "layer"])
    assert df.loc[("Productivity decline", "2016-2023", "lpd")].recovered == 0.0
    assert df.loc[("Restoration", "2016-2023", "lpd")].recovered == 100.0


def test_evaluate_reads_a_layer_written_on_a_smaller_extent(case, tmp_path):
    """A layer cropped to part of the grid is read in place; pixels it lacks are misses."""
    _write_truth(case, tmp_path)
    m = _proc(case, "Restoration").mask
    cols = np.nonzero(m.any(0))[0]
    keep = int(cols[len(cols) // 2])  # crop off the eastern half of the restoration patch
    path = tmp_path / "layers" / "2016-2023" / "lpd.tif"
    with rasterio.open(path) as src:
        a = src.read(1)
    a, off = a[10:, :keep], 10
    t = case.transform @ rasterio.Affine.translation(0, off)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=a.shape[1],
        height=a.shape[0],
        count=1,
        dtype="int16",
        nodata=codes.NODATA,
        crs="EPSG:4326",
        transform=t,
    ) as dst:
        dst.write(a, 1)
    df = evaluate_demo(tmp_path, case).set_index(["process", "period", "layer"])
    expected = 100 * m[:, :keep].sum() / m.sum()
    assert df.loc[("Restoration", "2016-2023", "lpd")].recovered == pytest.approx(expected)
    assert df.loc[("Productivity decline", "2016-2023", "lpd")].recovered == 100.0


def test_evaluate_drought_rows(case, tmp_path):
    folder = tmp_path / "layers" / "drought"
    # No drought layers (the run had no drought part): one NaN row per planted drought.
    df = evaluate_demo(tmp_path, case)
    rows = df[df.layer == "drought_class"]
    assert len(rows) == len(case.droughts) and rows.recovered.isna().all() and (rows.pixels > 0).all()
    _write_truth(case, tmp_path)
    nat = _drought(case, "National drought").mask
    path = folder / "drought_class_2009.tif"
    a = _read(path)[0]
    idx = np.flatnonzero(nat)
    k = len(idx) // 3
    a.flat[idx[:k]] = 1  # a third only mild
    a.flat[idx[k]] = codes.NODATA  # and one cell no data
    _write_int16(path, a, case.drought_transform)
    (folder / "drought_class_2012.tif").unlink()
    # The 2016 layer written for the southern half only: the north's cells count as missed.
    path = folder / "drought_class_2016.tif"
    a = _read(path)[0][M // 2 :]
    _write_int16(path, a, case.drought_transform * rasterio.Affine.translation(0, M // 2))
    df = evaluate_demo(tmp_path, case)
    rows = df[df.layer == "drought_class"].set_index(["process", "period"])
    assert list(rows.index) == [
        ("National drought", "2009"),
        ("National drought", "2008-2011"),
        ("Southern drought", "2016"),
        ("Southern drought", "2016-2019"),
        ("Drought-free north", "2016"),
        ("Normal year", "2012"),
    ]
    r = rows.loc[("National drought", "2009")]
    assert r.pixels == nat.sum() and r.expected == "3, 4" and r.condition == ""
    assert r.recovered == pytest.approx(100 * (len(idx) - k - 1) / len(idx))
    assert rows.loc[("National drought", "2008-2011")].recovered == 100.0
    assert rows.loc[("Southern drought", "2016")].recovered == 100.0
    assert rows.loc[("Drought-free north", "2016")].recovered == 0.0
    assert rows.loc[("Drought-free north", "2016")].expected == "0, 1"
    assert np.isnan(rows.loc[("Normal year", "2012")].recovered)


def test_print_demo_report(case, tmp_path):
    _write_truth(case, tmp_path)
    df = evaluate_demo(tmp_path, case)
    console = Console(record=True, width=160)
    print_demo_report(df, console)
    text = console.export_text()
    for p in [*case.processes, *case.droughts]:
        assert p.name in text
    assert "100.0 %" in text and "drought_class" in text


def test_run_demo_wires_inputs_pipeline_and_evaluation(tmp_path, monkeypatch):
    """run_demo with a stand-in pipeline that writes the truth: paths and config are right."""
    seen = {}

    def fake_run(cfg, quiet=False):
        seen["cfg"], seen["quiet"] = cfg, quiet
        out = cfg.resolve(cfg.output)
        _write_truth(seen["case"], out)
        return types.SimpleNamespace(output=out)

    real_build = build_demo_inputs

    def small_build(folder, **kw):  # keep the test fast
        seen["case"] = real_build(folder, size=SIZE, output=kw.get("output"))
        return seen["case"]

    monkeypatch.setitem(sys.modules, "ldnkit.run", types.SimpleNamespace(run=fake_run))
    monkeypatch.setattr("ldnkit.demo.evaluate.build_demo_inputs", small_build)  # where run_demo looks it up
    result, df = run_demo(tmp_path / "demo", quiet=True)
    assert seen["quiet"] is True
    assert (tmp_path / "demo" / "inputs" / "config.yaml").is_file()
    assert seen["cfg"].output == (tmp_path / "demo" / "run").resolve()
    assert result.output == (tmp_path / "demo" / "run").resolve()
    assert df.recovered.dropna().eq(100.0).all() and len(df.recovered.dropna()) == len(df)
