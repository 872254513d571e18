"""Drought hazard, exposure, vulnerability (SO 3-1, 3-2, 3-3) and the SO3 tables.

References are independent of the code under test: class tables written out value by value,
hand-summed populations on tiny grids, a DVI worked by hand (the arithmetic is next to each
figure), pyproj for the cross-CRS nearest neighbour, and plain numpy sums for the tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit import codes
from ldnkit.errors import ConfigError, GridError, InputError, PeriodError
from ldnkit.indicators.drought import (
    drought_class,
    drought_period_max,
    dvi_from_table,
    dvi_grid,
    exposure,
)
from ldnkit.io.grid import check_overlap, grid_of
from ldnkit.io.warp import align
from ldnkit.tables import tables_to_json, write_xlsx
from ldnkit.tables.so3 import compute_so3_tables

N = codes.NODATA


def _grid(a, x0=0.0, top=None, res=1.0, crs=None, years=None, dim="year", name=None, attrs=None):
    """DataArray of ``a`` ((y, x) or (lead, y, x)) on a north-up grid with pixel size ``res``."""
    a = np.asarray(a)
    ny, nx = a.shape[-2:]
    top = ny * res if top is None else top
    coords = {"y": top - (np.arange(ny) + 0.5) * res, "x": x0 + (np.arange(nx) + 0.5) * res}
    dims = ("y", "x")
    if a.ndim == 3:
        dims = (dim, "y", "x")
        coords[dim] = list(years) if years is not None else list(range(2001, 2001 + a.shape[0]))
    da = xr.DataArray(a, dims=dims, coords=coords, name=name, attrs=dict(attrs or {}))
    return da.rio.write_crs(crs) if crs is not None else da


# ================================================================================================
# drought_class: every boundary in both modes
# ================================================================================================

# SPI value -> (UNCCD class, Trends.Earth class). UNCCD table: > 0 non-drought; 0 to -0.99 mild;
# -1.0 to -1.49 moderate; -1.5 to -1.99 severe; <= -2.0 extreme (listed values in their row,
# values between rows in the milder one). Trends.Earth: boundary values in the milder class.
BOUNDARY_CASES = [
    (3.0, 0, 0),
    (0.01, 0, 0),
    (0.0, 1, 0),
    (-0.0, 1, 0),
    (-0.01, 1, 1),
    (-0.5, 1, 1),
    (-0.99, 1, 1),
    (-0.995, 1, 1),
    (-0.9999, 1, 1),
    (-1.0, 2, 1),
    (-1.0001, 2, 2),
    (-1.2, 2, 2),
    (-1.49, 2, 2),
    (-1.495, 2, 2),
    (-1.5, 3, 2),
    (-1.5001, 3, 3),
    (-1.99, 3, 3),
    (-1.995, 3, 3),
    (-2.0, 4, 3),
    (-2.0001, 4, 4),
    (-3.09, 4, 4),
    (-np.inf, 4, 4),
    (np.inf, 0, 0),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spi,unccd,te", BOUNDARY_CASES)
def test_drought_class_boundaries(spi, unccd, te, dtype):
    a = xr.DataArray(np.array([spi], dtype=dtype), dims="i")
    assert int(drought_class(a).values[0]) == unccd
    assert int(drought_class(a, boundaries="unccd").values[0]) == unccd
    assert int(drought_class(a, boundaries="trends_earth").values[0]) == te


def test_drought_class_all_boundaries_vectorised_dask_and_nan():
    vals = np.array([c[0] for c in BOUNDARY_CASES] + [np.nan], dtype=np.float32)
    want_u = np.array([c[1] for c in BOUNDARY_CASES] + [N], dtype=np.int16)
    want_t = np.array([c[2] for c in BOUNDARY_CASES] + [N], dtype=np.int16)
    a = _grid(vals.reshape(1, -1), crs="EPSG:4326", name="spi")
    for mode, want in (("unccd", want_u), ("trends_earth", want_t)):
        lazy = drought_class(a.chunk({"x": 5}), boundaries=mode)
        assert lazy.chunks is not None  # stays lazy
        out = lazy.compute()
        assert out.dtype == np.int16
        np.testing.assert_array_equal(out.values.ravel(), want)
        assert out.rio.crs == a.rio.crs  # CRS survives
        np.testing.assert_array_equal(out.x.values, a.x.values)
        assert out.attrs["boundaries"] == mode
        json.dumps(out.attrs)
    # the two modes differ exactly at 0, -1.0, -1.5, -2.0
    diff = vals[want_u != want_t]
    assert sorted(set(np.abs(diff).tolist())) == [0.0, 1.0, 1.5, 2.0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-4, 4, width=32), min_size=1, max_size=40))
def test_drought_class_matches_if_chain(values):
    def unccd(s):
        if s > 0:
            return 0
        if s > -1.0:
            return 1
        if s > -1.5:
            return 2
        if s > -2.0:
            return 3
        return 4

    def te(s):
        if s >= 0:
            return 0
        if s >= -1.0:
            return 1
        if s >= -1.5:
            return 2
        if s >= -2.0:
            return 3
        return 4

    a = np.array(values, dtype=np.float32)
    da = xr.DataArray(a, dims="i")
    assert drought_class(da).values.tolist() == [unccd(float(v)) for v in a]
    assert drought_class(da, "trends_earth").values.tolist() == [te(float(v)) for v in a]


def test_drought_class_bad_input():
    with pytest.raises(ConfigError, match="boundaries"):
        drought_class(xr.DataArray(np.zeros(2)), boundaries="wmo")
    with pytest.raises(InputError, match="integer") as e:
        drought_class(xr.DataArray(np.array([-1500, 300], dtype=np.int16)))
    assert "\n" not in str(e.value)


# ================================================================================================
# drought_period_max
# ================================================================================================


def test_period_max_blocks_aligned_to_2000_use_every_year():
    rng = np.random.default_rng(1)
    years = list(range(2001, 2024))  # 2001-2023: first period 2000-2003 has 3 years
    spi = rng.normal(size=(len(years), 3, 4)).astype(np.float32)
    spi[3, 0, 0] = -5.0  # 2004: first year of 2004-2007
    spi[6, 0, 1] = -5.0  # 2007: LAST year of 2004-2007 (Trends.Earth drops it)
    spi[:, 2, 3] = np.nan  # never any SPI
    spi[[3, 4, 5], 1, 1] = np.nan  # only 2007 left in 2004-2007
    a = _grid(spi, years=years)
    out = drought_period_max(a)
    assert list(out.period.values) == [
        "2000-2003",
        "2004-2007",
        "2008-2011",
        "2012-2015",
        "2016-2019",
        "2020-2023",
    ]
    assert out.n_years.values.tolist() == [3, 4, 4, 4, 4, 4]
    assert out.dims == ("period", "y", "x") and out.dtype == np.float32
    for k, (a0, z) in enumerate(
        [(2000, 2003), (2004, 2007), (2008, 2011), (2012, 2015), (2016, 2019), (2020, 2023)]
    ):
        idx = [i for i, y in enumerate(years) if a0 <= y <= z]
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
            ref = np.nanmin(spi[idx], axis=0)
        np.testing.assert_array_equal(out.values[k], ref)
    assert out.values[1, 0, 1] == -5.0  # the 4th year of the block counts
    assert out.values[1, 1, 1] == spi[6, 1, 1]
    assert np.isnan(out.values[:, 2, 3]).all()
    # dask gives the same, lazily
    lazy = drought_period_max(a.chunk({"y": 2, "x": 3, "year": 5}))
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, out.values)
    # highest class of the period = class of its minimum SPI
    cls = drought_class(out)
    yearly = drought_class(a)
    for k, (a0, z) in enumerate([(2000, 2003), (2004, 2007)]):
        sub = yearly.sel(year=slice(a0, z)).values.astype(int)
        sub = np.where(sub == N, -1, sub).max(axis=0)
        np.testing.assert_array_equal(np.where(cls.values[k] == N, -1, cls.values[k]), sub)


def test_period_max_options_and_year_of_minimum():
    spi = np.array(
        [[[0.5, np.nan]], [[-1.2, np.nan]], [[-1.2, np.nan]], [[0.1, np.nan]], [[-2.5, -0.1]]],
        dtype=np.float32,
    )  # years 2000..2004, one row of 2 pixels
    a = _grid(spi, years=range(2000, 2005))
    full = drought_period_max(a, partial=False)
    assert list(full.period.values) == ["2000-2003"]
    ds = drought_period_max(a, return_year=True)
    assert list(ds.period.values) == ["2000-2003", "2004-2007"]
    assert ds.spi.values[0, 0, 0] == np.float32(-1.2) and np.isnan(ds.spi.values[0, 0, 1])
    assert ds["year"].values[0, 0, 0] == 2001  # tie 2001/2002 -> earliest
    assert ds["year"].values[0, 0, 1] == N  # all NaN
    assert ds["year"].values[1, 0].tolist() == [2004, 2004]
    three = drought_period_max(a, length=3, start=2000)
    assert list(three.period.values) == ["2000-2002", "2003-2005"]
    np.testing.assert_allclose(three.values[:, 0, 0], [-1.2, -2.5])
    custom = drought_period_max(a, blocks=[(2001, 2002), (2003, 2004)])
    np.testing.assert_allclose(custom.values[:, 0, 0], [-1.2, -2.5])
    assert custom.attrs["years_used"] == {"2001-2002": [2001, 2002], "2003-2004": [2003, 2004]}
    with pytest.raises(PeriodError):
        drought_period_max(a, blocks=[(1990, 1993)])
    with pytest.raises(PeriodError):
        drought_period_max(a, length=8, partial=False)


# ================================================================================================
# exposure
# ================================================================================================

# Hazard 2x2 pixels of 2 units; population 4x4 pixels of 1 unit on the same lattice (2x finer).
HAZ = np.array(
    [
        [[0, 1], [2, 4]],  # 2001
        [[3, N], [1, 0]],  # 2002
    ],
    dtype=np.int16,
)
POP = np.array(
    [
        [1, 2, 10, 20],
        [3, 4, 30, 40],
        [100, 200, 1000, 2000],
        [300, 400, 3000, 4000],
    ],
    dtype=np.float32,
)
# People per hazard pixel: top-left 1+2+3+4 = 10, top-right 10+20+30+40 = 100,
# bottom-left 100+200+300+400 = 1000, bottom-right 1000+2000+3000+4000 = 10000; total 11110.
HAND = {
    2001: {0: 10.0, 1: 100.0, 2: 1000.0, 3: 0.0, 4: 10000.0, N: 0.0},
    2002: {0: 10000.0, 1: 1000.0, 2: 0.0, 3: 10.0, 4: 0.0, N: 100.0},
}


def _people(ex, year, cls):
    c = ex.drought_class.sel(year=year).values
    p = ex.population_total.sel(year=year).values
    return float(p[c == cls].sum())


@pytest.mark.parametrize("crs", [None, "EPSG:32633"])
@pytest.mark.parametrize("lazy", [False, True])
def test_exposure_hand_calculation_two_times_finer(crs, lazy):
    haz = _grid(HAZ, res=2.0, crs=crs, x0=500000.0, top=4.0)
    pop = _grid(POP, res=1.0, crs=crs, x0=500000.0, top=4.0, attrs={"units": "persons"})
    if lazy:
        haz, pop = haz.chunk({"y": 1, "x": 1}), pop.chunk({"y": 3, "x": 2})
    ex = exposure(haz, pop)
    if lazy:
        assert ex.drought_class.chunks is not None and ex.population_total.chunks is not None
    ex = ex.compute()
    assert ex.drought_class.shape == (2, 4, 4) and ex.drought_class.dtype == np.int16
    for y, per in HAND.items():
        for c, n in per.items():
            assert _people(ex, y, c) == n, (y, c)
    # the class map is the hazard repeated 2x2
    np.testing.assert_array_equal(ex.drought_class.values, np.repeat(np.repeat(HAZ, 2, 1), 2, 2))
    np.testing.assert_array_equal(ex.x.values, pop.x.values)
    if crs:
        assert ex.rio.crs == pop.rio.crs
    json.dumps(ex.attrs)


def test_exposure_crs_free_unnested_grids_and_partial_cover():
    # hazard: 3x3 pixels of 1.0 from x=0, y 0..3; population: 0.4-unit pixels from x=-0.3, top
    # 3.3 (centres x -0.1, 0.3 .. 3.1; y 3.1 .. 0.3), so the first row and column and the last
    # column lie off the hazard grid (-> no data); no centre falls on a hazard pixel edge.
    haz = _grid(np.array([[[0, 1, 2], [3, 4, 0], [1, 2, 3]]], dtype=np.int16), res=1.0, top=3.0)
    pop = _grid(np.arange(1, 8 * 9 + 1, dtype=np.float32).reshape(8, 9), x0=-0.3, res=0.4, top=3.3)
    ex = exposure(haz, pop, units="count").compute()
    # Hand reference: population pixel centre (x, y) -> hazard column floor(x), row floor(3 - y).
    xs, ys = pop.x.values, pop.y.values
    want = np.full((8, 9), N)
    for i, yc in enumerate(ys):
        for j, xc in enumerate(xs):
            r, c = int(np.floor(3.0 - yc)), int(np.floor(xc))
            if 0 <= r < 3 and 0 <= c < 3:
                want[i, j] = haz.values[0, r, c]
    np.testing.assert_array_equal(ex.drought_class.values[0], want)
    assert (ex.drought_class.values[0, :, 0] == N).all()  # x = -0.1: west of the hazard
    assert (ex.drought_class.values[0, :, -1] == N).all()  # x = 3.1: east of the hazard
    assert (ex.drought_class.values[0, 0, :] == N).all()  # y = 3.1: north of the hazard
    assert (ex.drought_class.values[0, 1:, 1:-1] != N).all()
    # every person is counted once: the class sums add up to the total population
    p = ex.population_total.values[0]
    assert sum(p[ex.drought_class.values[0] == c].sum() for c in [0, 1, 2, 3, 4, N]) == p.sum()


def test_exposure_across_crs_matches_pyproj_lookup():
    pyproj = pytest.importorskip("pyproj")
    rng = np.random.default_rng(3)
    haz = _grid(rng.integers(0, 5, (1, 4, 5)).astype(np.int16), x0=10.0, top=2.0, res=0.5, crs="EPSG:4326")
    # population in Web Mercator, 7 km pixels, inside the hazard extent
    pop = _grid(
        rng.integers(0, 50, (24, 30)).astype(np.float32),
        x0=1.12e6,
        top=2.1e5,
        res=7000.0,
        crs="EPSG:3857",
        attrs={"units": "people"},
    )
    with pytest.raises(GridError, match="is in EPSG:3857 and the drought hazard in EPSG:4326") as e:
        exposure(haz, pop)  # an indicator warps nothing: the caller puts the hazard in the population CRS
    assert "\n" not in str(e.value) and "align(" in str(e.value)
    warped = align(haz, grid_of(pop), "nearest", nodata=N)
    warped.attrs = {**haz.attrs, "resampling": "nearest (GDAL warp from EPSG:4326)"}
    ex = exposure(warped, pop).compute()
    assert ex.attrs["resampling"] == "nearest (GDAL warp from EPSG:4326)"
    t = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    X, Y = np.meshgrid(pop.x.values, pop.y.values)
    lon, lat = t.transform(X, Y)
    col, row = (lon - 10.0) / 0.5, (2.0 - lat) / 0.5
    inside = (col >= 0) & (col < 5) & (row >= 0) & (row < 4)
    want = np.full(X.shape, N)
    want[inside] = haz.values[0][row[inside].astype(int), col[inside].astype(int)]
    # compare away from hazard pixel edges, where GDAL's approximate transform may tip over
    far = (np.minimum(col % 1, 1 - col % 1) > 0.02) & (np.minimum(row % 1, 1 - row % 1) > 0.02)
    assert far.sum() > 500
    np.testing.assert_array_equal(ex.drought_class.values[0][far], want[far])


def test_exposure_density_equals_counts_and_year_matching():
    # EPSG:3035 (LAEA Europe) pixels of 1 km: density (persons/km²) x 1 km² = persons
    haz = _grid(HAZ, res=2000.0, crs="EPSG:3035", x0=4.0e6, top=3.0e6)
    counts = np.stack([POP, POP * 2])
    dens = _grid(
        counts,
        res=1000.0,
        crs="EPSG:3035",
        x0=4.0e6,
        top=3.0e6,
        years=[2000, 2002],
        attrs={"units": "persons per km²"},
    )
    cnt = _grid(
        counts, res=1000.0, crs="EPSG:3035", x0=4.0e6, top=3.0e6, years=[2000, 2002], attrs={"units": "count"}
    )
    a = exposure(haz, dens).compute()
    b = exposure(haz, cnt).compute()
    np.testing.assert_allclose(a.population_total.values, b.population_total.values, rtol=1e-6)
    # nearest population year: 2001 -> 2000 (tie 2000/2002 takes the earlier), 2002 -> 2002
    assert a.population_total.attrs["population_year"] == {"2001": 2000, "2002": 2002}
    assert float(b.population_total.sel(year=2001).sum()) == 11110.0
    assert float(b.population_total.sel(year=2002).sum()) == 22220.0
    # 0.5 km pixels: density x 0.25 km²
    dens_fine = _grid(
        POP, res=500.0, crs="EPSG:3035", x0=4.0e6, top=3.0e6 - 1000.0, attrs={"units": "persons/km2"}
    )
    c = exposure(haz, dens_fine).compute()
    assert float(c.population_total.sel(year=2001).sum()) == pytest.approx(11110.0 * 0.25)
    with pytest.raises(PeriodError, match="2001"):
        exposure(haz, cnt, match="exact")
    # female + male -> total
    ex = exposure(haz, {"female": cnt, "male": cnt * 3}).compute()
    np.testing.assert_allclose(ex.population_total.values, 4 * b.population_total.values)
    assert set(ex.data_vars) == {"drought_class", "population_total", "population_female", "population_male"}


@pytest.mark.parametrize("units", [None, "", "persons/ha", "thousands", "density?"])
def test_exposure_ambiguous_units_error(units):
    haz = _grid(HAZ, res=2.0)
    attrs = {} if units is None else {"units": units}
    pop = _grid(POP, res=1.0, attrs=attrs)
    with pytest.raises(InputError, match="ambiguous") as e:
        exposure(haz, pop)
    msg = str(e.value)
    assert "\n" not in msg and "units='count'" in msg
    exposure(haz, pop, units="count")  # explicit units resolve it


def test_exposure_density_without_crs_needs_area():
    haz = _grid(HAZ, res=2.0)
    pop = _grid(POP, res=1.0, attrs={"units": "people/km2"})
    with pytest.raises(InputError, match="CRS"):
        exposure(haz, pop)
    area = xr.full_like(pop, 0.5)
    ex = exposure(haz, pop, area=area).compute()
    assert float(ex.population_total.sel(year=2001).sum()) == 11110.0 * 0.5


@pytest.mark.parametrize("crs_pop", ["EPSG:32633", "EPSG:4326", None])
def test_exposure_population_not_overlapping_is_one_line_grid_error(crs_pop):
    crs_h = None if crs_pop is None else "EPSG:32633"
    haz = _grid(HAZ, res=2.0, crs=crs_h, x0=500000.0, top=4.0)
    x0 = 100.0 if crs_pop == "EPSG:4326" else 600000.0  # far east of the hazard
    pop = _grid(
        POP,
        res=1.0 if crs_pop != "EPSG:4326" else 0.001,
        crs=crs_pop,
        x0=x0,
        top=4.0,
        attrs={"units": "persons"},
    )
    with pytest.raises(GridError, match="does not overlap") as e:
        if crs_pop == "EPSG:4326":  # across CRSs the caller warps the hazard first, checking overlap
            check_overlap(grid_of(haz), grid_of(pop), "population.total")
        exposure(haz, pop)
    assert "\n" not in str(e.value) and str(e.value).startswith("population.total")


def test_exposure_population_layers_on_different_grids():
    haz = _grid(HAZ, res=2.0)
    f = _grid(POP, res=1.0, attrs={"units": "persons"})
    m = _grid(POP, res=1.0, x0=0.5, attrs={"units": "persons"})
    with pytest.raises(GridError, match="population.male"):
        exposure(haz, {"female": f, "male": m})


def test_period_exposure_counts_population_of_the_year_of_the_minimum():
    # hazard 2x2 pixels, each = 2x2 population pixels; SPI years 2000..2003: the left column's
    # minimum is in 2002, the right column's in 2000; population is 1, 2, 3, 4 per pixel by year
    col = np.array([[0.5, -2.5], [-0.2, 0.0], [-1.7, 0.1], [0.3, 0.2]], dtype=np.float32)
    spi = _grid(np.repeat(col[:, None, :], 2, axis=1), years=range(2000, 2004), res=2.0)
    pop = _grid(
        np.stack([np.full((4, 4), v, np.float32) for v in (1.0, 2.0, 3.0, 4.0)]),
        years=range(2000, 2004),
        res=1.0,
        attrs={"units": "persons"},
    )
    pm = drought_period_max(spi, return_year=True)
    ex = exposure(drought_class(pm.spi), pop, hazard_year=pm["year"]).compute()
    assert ex.drought_class.values[0].tolist() == [[3, 3, 4, 4]] * 4
    assert ex.population_total.values[0].tolist() == [[3.0, 3.0, 1.0, 1.0]] * 4  # 2002 | 2000
    # without the year: the population of the period's last year
    ex2 = exposure(drought_class(pm.spi), pop).compute()
    assert ex2.population_total.values.ravel().tolist() == [4.0] * 16


# ================================================================================================
# DVI from a factor table (hand-computed)
# ================================================================================================


def _factor_table() -> pd.DataFrame:
    rows = []

    def add(f, comp, d, vals, sex=None):
        for y, v in zip((2000, 2001, 2002), vals, strict=True):
            if v is not None:
                rows.append(
                    {"Factor": f, "Component": comp, "Direction": d, "Year": y, "Value": v, "Sex": sex}
                )

    add("literacy", "social", "negative", (60, 70, 80), "total")
    add("literacy", "social", "negative", (50, 55, 65), "female")
    add("literacy", "social", "negative", (70, 80, 90), "male")
    add("life_expectancy", "Social", "negative", (60, 62, 64))  # no sex: applies to all
    add("poverty", "economic", "positive", (40, 30, 20))
    add("safe_water", "infrastructural", "negative", (50, None, 90))  # 2001 missing
    add("irrigation", "infrastructure", "negative", (10, 20, 30))
    return pd.DataFrame(rows)


# Hand calculation (weights literacy 3, life expectancy 1; all others 1):
# literacy, pooled range 50..90, F = 1 - (X - 50)/40:
#   total 0.75, 0.5, 0.25; female 1, 0.875, 0.625; male 0.5, 0.25, 0
# life expectancy, range 60..64, F = 1 - (X - 60)/4: 1, 0.5, 0 (every sex)
# social = (3 F_lit + F_life)/4: total 0.8125, 0.5, 0.1875; female 1, 0.78125, 0.46875;
#   male 0.625, 0.3125, 0
# economic: poverty (X - 20)/20 = 1, 0.5, 0
# infrastructural: water 1 - (X - 50)/40 = 1, -, 0; irrigation 1 - (X - 10)/20 = 1, 0.5, 0
#   -> means 1, 0.5 (irrigation only), 0
# DVI = mean: total 2.8125/3 = 0.9375, 1.5/3 = 0.5, 0.1875/3 = 0.0625
#   female 1, 1.78125/3 = 0.59375, 0.46875/3 = 0.15625; male 2.625/3 = 0.875, 1.3125/3 = 0.4375, 0
HAND_DVI = {
    ("total", 2000): (0.8125, 1.0, 1.0, 0.9375),
    ("total", 2001): (0.5, 0.5, 0.5, 0.5),
    ("total", 2002): (0.1875, 0.0, 0.0, 0.0625),
    ("female", 2000): (1.0, 1.0, 1.0, 1.0),
    ("female", 2001): (0.78125, 0.5, 0.5, 0.59375),
    ("female", 2002): (0.46875, 0.0, 0.0, 0.15625),
    ("male", 2000): (0.625, 1.0, 1.0, 0.875),
    ("male", 2001): (0.3125, 0.5, 0.5, 0.4375),
    ("male", 2002): (0.0, 0.0, 0.0, 0.0),
}


def test_dvi_from_table_hand_example(tmp_path):
    df = _factor_table()
    out = dvi_from_table(df, weights={"literacy": 3})
    assert list(out.columns) == ["year", "sex", "social", "economic", "infrastructural", "dvi"]
    assert len(out) == 9
    for r in out.itertuples(index=False):
        want = HAND_DVI[(r.sex, r.year)]
        np.testing.assert_allclose([r.social, r.economic, r.infrastructural, r.dvi], want, atol=1e-12)
    assert out.attrs["factors"]["literacy"] == {"component": "social", "direction": "negative"}
    json.dumps(out.attrs)
    # same from a CSV file
    path = tmp_path / "dvi.csv"
    df.to_csv(path, index=False)
    pd.testing.assert_frame_equal(dvi_from_table(path, weights={"literacy": 3}), out)
    # per-sex scaling: female literacy on 50..65 -> F = 1, 2/3, 0
    per = dvi_from_table(df, weights={"literacy": 3}, scale_by_sex=True)
    fem = per[per.sex == "female"].sort_values("year")
    np.testing.assert_allclose(fem.social, [(3 * 1 + 1) / 4, (3 * 2 / 3 + 0.5) / 4, 0.0], atol=1e-12)


def test_dvi_from_table_missing_component_constant_factor_and_errors(tmp_path):
    df = _factor_table()
    # a constant factor cannot be normalised: left out and reported
    extra = pd.DataFrame(
        [
            {"Factor": "refugees", "Component": "economic", "Direction": "positive", "Year": y, "Value": 5.0}
            for y in (2000, 2001, 2002)
        ]
    )
    out = dvi_from_table(pd.concat([df, extra]), weights={"literacy": 3})
    assert out.attrs["constant_factors"] == ["refugees"]
    assert out[out.sex == "total"].dvi.tolist() == pytest.approx([0.9375, 0.5, 0.0625])
    with pytest.raises(InputError, match="infrastructural"):
        dvi_from_table(df[~df.Component.isin(["infrastructural", "infrastructure"])])
    with pytest.raises(InputError, match="direction"):
        dvi_from_table(df.assign(Direction="up"))
    with pytest.raises(InputError, match="duplicate"):
        dvi_from_table(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(InputError, match="missing column"):
        dvi_from_table(df.drop(columns="Direction"))
    with pytest.raises(InputError, match="non-numeric"):
        dvi_from_table(df.assign(Value=df.Value.astype(object).where(df.index != 2, "n/a")))
    with pytest.raises(ConfigError, match="unknown factor"):
        dvi_from_table(df, weights={"gdp": 2})
    with pytest.raises(ConfigError, match="positive"):
        dvi_from_table(df, weights={"poverty": 0})
    with pytest.raises(InputError, match="not found"):
        dvi_from_table(tmp_path / "absent.csv")


# ================================================================================================
# Gridded DVI (Tier 3)
# ================================================================================================


def test_dvi_grid_against_numpy():
    rng = np.random.default_rng(7)
    lit = rng.uniform(40, 95, (3, 4, 5))
    lit[1, 2, 2] = np.nan
    pov = rng.uniform(5, 60, (3, 4, 5))
    gdp = rng.uniform(500, 9000, (3, 4, 5))
    water = rng.uniform(20, 100, (4, 5))  # static
    factors = {
        "literacy": _grid(lit, crs="EPSG:4326"),
        "poverty": _grid(pov, crs="EPSG:4326").chunk({"x": 2}),
        "gdp": _grid(gdp, crs="EPSG:4326"),
        "water": _grid(water, crs="EPSG:4326"),
    }
    comps = {"literacy": "social", "poverty": "economic", "gdp": "economic", "water": "infrastructural"}
    dirs = {"literacy": "negative", "poverty": "positive", "gdp": "negative", "water": "negative"}
    ds = dvi_grid(factors, comps, dirs, weights={"poverty": 2})

    def norm(a):
        return (a - np.nanmin(a)) / (np.nanmax(a) - np.nanmin(a))

    social = 1 - norm(lit)
    economic = (2 * norm(pov) + (1 - norm(gdp))) / 3
    infra = np.broadcast_to(1 - norm(water), (3, 4, 5))
    dvi = (social + economic + infra) / 3
    assert ds.dvi.dims == ("year", "y", "x") and ds.dvi.dtype == np.float32
    np.testing.assert_allclose(ds.social.values, social, rtol=1e-6)
    np.testing.assert_allclose(ds.economic.values, economic, rtol=1e-6)
    np.testing.assert_allclose(ds.dvi.values, dvi, rtol=1e-6)
    assert np.isnan(ds.dvi.values[1, 2, 2])
    assert ds.rio.crs == factors["literacy"].rio.crs
    json.dumps(ds.attrs)
    # shared ranges (e.g. for female and male maps), clipped to 0..1
    ranges = {"literacy": (50, 90), "poverty": (10, 50), "gdp": (1000, 8000), "water": (30, 90)}
    ds2 = dvi_grid(factors, comps, dirs, ranges=ranges).compute()
    np.testing.assert_allclose(
        ds2.social.values, 1 - np.clip((lit - 50) / 40, 0, 1), rtol=1e-6, equal_nan=True
    )
    with pytest.raises(GridError):
        dvi_grid({**factors, "water": _grid(water, x0=3.0)}, comps, dirs)
    with pytest.raises(ConfigError, match="infrastructural"):
        dvi_grid({k: v for k, v in factors.items() if k != "water"}, comps, dirs)


# ================================================================================================
# SO3 tables against plain numpy sums
# ================================================================================================


@pytest.fixture(scope="module")
def so3_inputs():
    rng = np.random.default_rng(11)
    years = list(range(2001, 2009))
    spi = rng.normal(-0.3, 1.0, (len(years), 6, 8)).astype(np.float32)
    spi[:, 0, 0] = np.nan
    spi[2, 3, 3] = np.nan
    spi_da = _grid(spi, years=years, res=1000.0, crs="EPSG:3035", x0=4.0e6, top=3.0e6).chunk({"y": 4, "x": 3})
    land = np.ones((6, 8), bool)
    land[5, :] = False  # "water"
    pop = rng.integers(0, 100, (len(years), 12, 16)).astype(np.float32)
    pop[:, 0, 5] = np.nan
    popf = _grid(
        pop * 0.5, years=years, res=500.0, crs="EPSG:3035", x0=4.0e6, top=3.0e6, attrs={"units": "persons"}
    ).chunk({"y": 5, "x": 7})
    popm = _grid(
        pop * 0.5, years=years, res=500.0, crs="EPSG:3035", x0=4.0e6, top=3.0e6, attrs={"units": "persons"}
    )
    return {
        "spi": spi,
        "spi_da": spi_da,
        "land": land,
        "years": years,
        "pop": pop,
        "popf": popf,
        "popm": popm,
    }


def test_so3_tables_against_numpy(so3_inputs, tmp_path):
    d = so3_inputs
    cls = drought_class(d["spi_da"])
    land = _grid(d["land"], res=1000.0, crs="EPSG:3035", x0=4.0e6, top=3.0e6)
    pm = drought_period_max(d["spi_da"], return_year=True)
    pcls = drought_class(pm.spi)
    ex = exposure(cls, {"female": d["popf"], "male": d["popm"]})
    pex = exposure(pcls, {"female": d["popf"], "male": d["popm"]}, hazard_year=pm["year"])
    pmask = xr.ones_like(d["popm"].isel(year=0, drop=True), dtype=np.int16)
    tables = compute_so3_tables(
        hazard=cls, land=land, period_hazard=pcls, exposure=ex, period_exposure=pex, population_mask=pmask
    )
    assert set(tables) == {
        "SO3-1.T1",
        "SO3-1.T2",
        "SO3-1.periods",
        "SO3-2.T1",
        "SO3-2.T2",
        "SO3-2.T3",
        "SO3-2.periods",
    }

    # reference classes by an if-chain (UNCCD) in numpy, 1 km² pixels in EPSG:3035 (equal area)
    s = d["spi"]
    ref_cls = np.select([np.isnan(s), s > 0, s > -1, s > -1.5, s > -2], [N, 0, 1, 2, 3], 4)
    t1, t2 = tables["SO3-1.T1"], tables["SO3-1.T2"]
    n_land = d["land"].sum()
    for i, y in enumerate(d["years"]):
        c = ref_cls[i][d["land"]]
        for code in [0, 1, 2, 3, 4, N]:
            row = t1[(t1.Year == y) & (t1.Code == code)]
            assert float(row["Area (km²)"].iloc[0]) == pytest.approx(float((c == code).sum()))
            assert float(row["% of total land area"].iloc[0]) == pytest.approx(
                (c == code).sum() / n_land * 100
            )
        r2 = t2[t2.Year == y].iloc[0]
        assert r2["Area under drought (km²)"] == pytest.approx(float(((c >= 1) & (c <= 4)).sum()))
        assert r2["% of land under drought"] == pytest.approx(((c >= 1) & (c <= 4)).sum() / n_land * 100)
        assert r2["Total land area (km²)"] == pytest.approx(float(n_land))
    assert "equal-area" in t1.attrs["area_basis"]
    assert t1.attrs["boundaries"] == "unccd"

    # population: hazard pixel (r, c) holds population pixels (2r..2r+1, 2c..2c+1)
    big = np.repeat(np.repeat(ref_cls, 2, 1), 2, 2)
    pop = d["pop"]
    for tid, share in (("SO3-2.T1", 1.0), ("SO3-2.T2", 0.5), ("SO3-2.T3", 0.5)):
        t = tables[tid]
        for i, y in enumerate(d["years"]):
            p = np.nan_to_num(pop[i] * share)
            total = p.sum()
            for code in [0, 1, 2, 3, 4, N]:
                row = t[(t.Year == y) & (t.Code == code)].iloc[0]
                assert row["Population (persons)"] == pytest.approx(p[big[i] == code].sum())
                assert row["Total population"] == pytest.approx(total)
            exp_row = t[(t.Year == y) & t.Code.isna()].iloc[0]
            exposed = p[(big[i] >= 1) & (big[i] <= 4)].sum()
            assert exp_row["Population (persons)"] == pytest.approx(exposed)
            assert exp_row["% of population"] == pytest.approx(exposed / total * 100)

    # periods: class of the minimum SPI; population of the year of that minimum
    tp = tables["SO3-2.periods"]
    per = tables["SO3-1.periods"]
    for a0, z in [(2000, 2003), (2004, 2007), (2008, 2011)]:
        idx = [i for i, y in enumerate(d["years"]) if a0 <= y <= z]
        sub = np.where(np.isnan(s[idx]), np.inf, s[idx])
        arg = np.argmin(sub, axis=0)
        smin = np.take_along_axis(sub, arg[None], 0)[0]
        pc = np.select([np.isinf(smin), smin > 0, smin > -1, smin > -1.5, smin > -2], [N, 0, 1, 2, 3], 4)
        row = per[(per.Period == f"{a0}-{z}") & (per.Code == 1)].iloc[0]
        assert row["Area (km²)"] == pytest.approx(float((pc[d["land"]] == 1).sum()))
        yr_idx = np.repeat(np.repeat(np.array(idx)[arg], 2, 0), 2, 1)
        p = np.take_along_axis(np.nan_to_num(pop), yr_idx[None], 0)[0]
        bigc = np.repeat(np.repeat(pc, 2, 0), 2, 1)
        row = tp[(tp.Period == f"{a0}-{z}") & (tp.Population == "total") & (tp.Code == 2)].iloc[0]
        assert row["Population (persons)"] == pytest.approx(p[bigc == 2].sum())

    # merge with other tables and export
    merged = {"Area of interest": {**tables}}
    json.dumps(tables_to_json(merged))
    path = write_xlsx(merged, tmp_path / "t.xlsx")
    assert path.exists()


def test_so3_population_mask_and_dvi_tables():
    haz = _grid(HAZ, res=2.0, crs="EPSG:32633", x0=500000.0, top=4.0)
    pop = _grid(POP, res=1.0, crs="EPSG:32633", x0=500000.0, top=4.0, attrs={"units": "persons"})
    ex = exposure(haz, pop)
    mask = xr.zeros_like(pop, dtype=np.int16)
    mask[:2, :] = 1  # only the top half counts: 10 + 100 people
    t = compute_so3_tables(
        exposure=ex, population_mask=mask, dvi=dvi_from_table(_factor_table(), weights={"literacy": 3})
    )
    t1 = t["SO3-2.T1"]
    r = t1[t1.Year == 2002].set_index("Class")["Population (persons)"]
    assert r["Severe drought"] == 10.0 and r["No data"] == 100.0 and r["Non-drought"] == 0.0
    assert t1[t1.Year == 2001]["Total population"].iloc[0] == 110.0
    dv = t["SO3-3.T1"]
    assert dv[(dv.Year == 2001) & (dv.Sex == "female")]["DVI"].iloc[0] == pytest.approx(0.59375)
    t2 = t["SO3-3.T2"].set_index(["Series", "Sex"])
    # total DVI 0.9375 -> 0.0625: decrease; male social 0.625 -> 0: decrease
    assert t2.loc[("DVI", "total"), "Direction"] == "decrease"
    assert t2.loc[("DVI", "total"), "Change"] == pytest.approx(-0.875)
    # tolerance decides 'stable'
    small = pd.DataFrame(
        {
            "year": [2000, 2005],
            "sex": "total",
            "social": [0.5, 0.505],
            "economic": [0.2, 0.2],
            "infrastructural": [0.1, 0.3],
            "dvi": [0.26, 0.335],
        }
    )
    t3 = compute_so3_tables(dvi=small, tolerance=0.01)["SO3-3.T2"].set_index("Series")
    assert t3.loc["Social component", "Direction"] == "stable"
    assert t3.loc["Economic component", "Direction"] == "stable"
    assert t3.loc["Infrastructural component", "Direction"] == "increase"
    assert t3.loc["DVI", "Direction"] == "increase"


def test_so3_gridded_dvi_table_is_area_weighted_mean_over_land():
    rng = np.random.default_rng(5)
    f = {n: _grid(rng.uniform(0, 10, (2, 3, 4)), crs="EPSG:4326", x0=20.0, top=60.0) for n in ("a", "b", "c")}
    ds = dvi_grid(
        f,
        {"a": "social", "b": "economic", "c": "infrastructural"},
        {"a": "positive", "b": "negative", "c": "positive"},
    )
    land = _grid(
        np.array([[1, 1, 0, 1], [1, 1, 1, 1], [0, 1, 1, 1]], dtype=np.int16),
        crs="EPSG:4326",
        x0=20.0,
        top=60.0,
    )
    t = compute_so3_tables(dvi=ds, land=land)["SO3-3.T1"]
    # pixel areas of 1° rows at 59.5, 58.5, 57.5 N scale with cos(latitude) (to < 0.5 %)
    w = np.cos(np.radians([59.5, 58.5, 57.5]))[:, None] * (land.values == 1)
    for j, y in enumerate([2001, 2002]):
        want = float((ds.dvi.values[j] * w).sum() / w.sum())
        assert t[t.Year == y]["DVI"].iloc[0] == pytest.approx(want, rel=5e-3)


# ================================================================================================
# Real data: GPWv4 population density of Bangladesh, 2015 (persons/km², 30″)
# ================================================================================================

GPW = Path(__file__).resolve().parents[2] / "shared" / "data" / "bangladesh_gpw_pop"


@pytest.mark.skipif(not GPW.exists(), reason="../shared/data/bangladesh_gpw_pop is absent")
def test_exposure_real_gpw_bangladesh_density():
    from ldnkit.io.read import open_layer

    pop = open_layer(GPW / "gpw_v4_population_density_2015_bangladesh.tif", chunks=256)
    with pytest.raises(InputError, match="ambiguous"):  # the file carries no units
        exposure(xr.zeros_like(pop, dtype=np.int16).expand_dims(year=[2015]), pop)
    # synthetic 0.1° hazard over the extent: class = column index % 5
    left, bottom, right, top = pop.rio.bounds()
    nx, ny = int(np.ceil((right - left) / 0.1)), int(np.ceil((top - bottom) / 0.1))
    haz = _grid(
        np.broadcast_to(np.arange(nx) % 5, (1, ny, nx)).astype(np.int16),
        x0=left,
        top=top,
        res=0.1,
        crs="EPSG:4326",
        years=[2015],
    ).chunk({"y": 16, "x": 16})
    ex = exposure(haz, pop, units="density")
    t = compute_so3_tables(exposure=ex)["SO3-2.T1"]
    total = t["Total population"].iloc[0]
    # GPWv4 2015 for Bangladesh: about 156 million people (UN WPP: 156-161 M)
    assert 150e6 < total < 165e6
    # every person is on a hazard pixel, and the class rows add up to the total
    rows = t[t.Code.notna()]
    assert rows[rows.Code == N]["Population (persons)"].iloc[0] == 0.0
    assert rows["Population (persons)"].sum() == pytest.approx(total, rel=1e-9)
    # class of each population pixel = column of the 0.1° cell holding its centre, mod 5
    cls = ex.drought_class.isel(year=0).values
    want = (np.floor((pop.x.values - left) / 0.1).astype(int) % 5)[None, :]
    np.testing.assert_array_equal(cls, np.broadcast_to(want, cls.shape))
