"""SOC sub-indicator: Tier 1 bookkeeping against hand calculations, change and degradation."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from ldnkit.errors import ConfigError, PeriodError
from ldnkit.indicators.soc import (
    soc_change_percent,
    soc_conversion_matrix,
    soc_degradation,
    soc_stock,
)

ND = -32768
FOREST, GRASS, CROP, WETLAND, ARTIF, OTHER, WATER = 1, 2, 3, 4, 5, 6, 7


def grid(values, chunks=None, first_year=2000) -> xr.DataArray:
    values = np.asarray(values)
    ny, nx = values.shape[-2:]
    coords = {"y": 5.0 - np.arange(ny) * 0.5, "x": np.arange(nx) * 0.5}
    dims = ("y", "x")
    if values.ndim == 3:
        dims = ("year", "y", "x")
        coords["year"] = np.arange(first_year, first_year + values.shape[0])
    arr = xr.DataArray(values, dims=dims, coords=coords).rio.write_crs("EPSG:4326")
    return arr.chunk(chunks) if chunks else arr


def series(*pixels, first_year=2000):
    """(year, 1, n) land cover from per-pixel class lists."""
    lc = np.array(pixels, dtype=np.int16).T[:, None, :]
    return grid(lc, first_year=first_year)


# --- conversion matrix ---------------------------------------------------------------------------


def test_conversion_matrix_table():
    f = 0.48
    # methodology §1.6, written out
    table = [
        [1, 1, f, 1, 0.1, 0.1, 1],
        [1, 1, f, 1, 0.1, 0.1, 1],
        [1 / f, 1 / f, 1, 1 / 0.71, 0.1, 0.1, 1],
        [1, 1, 0.71, 1, 0.1, 0.1, 1],
        [2, 2, 2, 2, 1, 1, 1],
        [2, 2, 2, 2, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 1],
    ]
    np.testing.assert_allclose(soc_conversion_matrix(f), table, rtol=1e-12)
    np.testing.assert_allclose(soc_conversion_matrix(0.8)[2, 0], 1.25)


# --- bookkeeping ---------------------------------------------------------------------------------

N_YEARS = 30  # 2000..2029
R = 80.0


def test_two_transitions_and_run_out_vs_hand_calculation():
    # pixel 0: forest 2000-2002, crop 2003-2011, grass 2012-2029 (second transition interrupts
    # the first); pixel 1: forest 2000-2001, crop from 2002 (its 20 years end in 2021);
    # pixel 2: never changes.
    p0 = [FOREST] * 3 + [CROP] * 9 + [GRASS] * (N_YEARS - 12)
    p1 = [FOREST] * 2 + [CROP] * (N_YEARS - 2)
    p2 = [GRASS] * N_YEARS
    lc = series(p0, p1, p2)
    ref = grid(np.full((1, 3), R, dtype=np.float32))
    out = soc_stock(ref, lc, flu_class="tropical_moist")
    assert out.dims == ("year", "y", "x")
    assert out.dtype == np.float32
    assert out["year"].values.tolist() == list(range(2000, 2000 + N_YEARS))
    got = out.values[:, 0, :].astype(np.float64)

    f = 0.48
    # pixel 0 by hand: annual loss d1 from year index 3, gain d2 from index 12
    d1 = (R - R * f) / 20
    s11 = R - 9 * d1
    d2 = (s11 - s11 * (1 / f)) / 20  # negative: cropland -> grassland restores carbon
    exp0 = []
    for t in range(N_YEARS):
        if t < 3:
            exp0.append(R)
        elif t < 12:
            exp0.append(R - (t - 2) * d1)
        else:
            exp0.append(s11 - (t - 11) * d2)
    np.testing.assert_allclose(got[:, 0], exp0, rtol=1e-6)
    # pixel 1: linear decline for 20 years (2002..2021) to R*f, then flat
    exp1 = [R if t < 2 else R - min(t - 1, 20) * d1 for t in range(N_YEARS)]
    np.testing.assert_allclose(got[:, 1], exp1, rtol=1e-6)
    assert got[21, 1] == pytest.approx(R * f, rel=1e-6)
    assert np.all(got[21:, 1] == got[21, 1])
    np.testing.assert_allclose(got[:, 2], R)
    assert out.attrs["climate_source"] == "flu_class"
    assert out.attrs["f"] == 0.48


def test_management_and_input_factor_matrices():
    lc = series([FOREST] * 3 + [CROP] * 3)
    ref = grid(np.full((1, 1), R))
    fmg = np.ones((7, 7))
    fmg[0, 2] = 1.1
    out = soc_stock(ref, lc, flu_class=4, management_factor=fmg, input_factor=0.9)
    d = (R - R * 0.48 * 1.1 * 0.9) / 20
    np.testing.assert_allclose(out.values[:, 0, 0], [R, R, R, R - d, R - 2 * d, R - 3 * d])
    assert out.attrs["input_factor"] == 0.9
    assert out.attrs["management_factor"][0][2] == 1.1


# Climate zone -> f written out from methodology §1.6 (odd temperate/boreal/polar codes moist
# 0.69, even dry 0.80, 9 montane 0.64, 10-11 tropical moist 0.48, 12 tropical dry 0.58).
ZONE_F = {
    1: 0.69,
    2: 0.80,
    3: 0.69,
    4: 0.80,
    5: 0.69,
    6: 0.80,
    7: 0.69,
    8: 0.80,
    9: 0.64,
    10: 0.48,
    11: 0.48,
    12: 0.58,
}
CLASS_F = {1: 0.80, 2: 0.69, 3: 0.58, 4: 0.48, 5: 0.64}


def test_per_pixel_climate_zones_vs_scalar_class():
    zones = list(ZONE_F) + [0, ND]
    n = len(zones)
    lc = series(*([[FOREST] + [CROP] * 21] * n))  # 20 years after the transition: S = R * f
    ref = grid(np.full((1, n), R))
    per_pixel = soc_stock(ref, lc, climate_zone=grid(np.array([zones], dtype=np.int16)))
    final = per_pixel.values[-1, 0]
    np.testing.assert_allclose(final[:-2], [R * ZONE_F[z] for z in ZONE_F], rtol=1e-6)
    assert np.isnan(final[-2:]).all() and np.isnan(per_pixel.values[0, 0, -2:]).all()
    assert per_pixel.attrs["climate_source"] == "per_pixel_climate_zones"
    for cls, f in CLASS_F.items():
        scalar = soc_stock(ref, lc, flu_class=cls).values[-1, 0, 0]
        assert scalar == pytest.approx(R * f, rel=1e-6)
        same = [i for i, z in enumerate(ZONE_F) if ZONE_F[z] == f]
        np.testing.assert_allclose(final[same], scalar, rtol=1e-6)


def test_missing_inputs_give_nan():
    lc = series(
        [FOREST, CROP, CROP, CROP],
        [FOREST, CROP, ND, CROP],  # class missing in 2002 -> NaN from 2002 on
        [FOREST, CROP, CROP, CROP],  # reference missing
        [FOREST, CROP, 9, CROP],  # class outside 1..7
    )
    ref = grid(np.array([[R, R, np.nan, R]]))
    out = soc_stock(ref, lc, flu_class=1).values[:, 0, :]
    assert np.isfinite(out[:, 0]).all()
    assert np.isfinite(out[:2, 1]).all() and np.isnan(out[2:, 1]).all()
    assert np.isnan(out[:, 2]).all()
    assert np.isnan(out[2:, 3]).all()


def test_reference_year_and_dask_equals_numpy():
    rng = np.random.default_rng(3)
    lc = rng.choice([1, 2, 3, 5, 7], size=(12, 9, 11), p=[0.5, 0.2, 0.2, 0.05, 0.05])
    lc = np.sort(lc, axis=0).astype(np.int16)  # a few transitions per pixel
    ref = rng.uniform(20, 120, size=(9, 11)).astype(np.float32)
    zones = rng.integers(0, 13, size=(9, 11)).astype(np.int16)
    eager = soc_stock(grid(ref), grid(lc, first_year=1998), grid(zones), reference_year=2000)
    lazy = soc_stock(
        grid(ref, {"y": 4, "x": 5}),
        grid(lc, {"year": 3, "y": 4, "x": 5}, first_year=1998),
        grid(zones, {"y": 4, "x": 5}),
        reference_year=2000,
    )
    assert isinstance(lazy.data, da.Array)
    assert eager["year"].values[0] == 2000 and eager.sizes["year"] == 10
    np.testing.assert_array_equal(lazy.values, eager.values)
    np.testing.assert_array_equal(eager.values[0], np.where(zones > 0, ref, np.nan))
    assert lazy.rio.crs.to_epsg() == 4326


def test_soc_stock_config_errors():
    lc = series([FOREST, CROP])
    ref = grid(np.full((1, 1), R))
    with pytest.raises(ConfigError, match="neither"):
        soc_stock(ref, lc)
    with pytest.raises(ConfigError, match="both"):
        soc_stock(ref, lc, climate_zone=grid(np.ones((1, 1))), flu_class=1)
    with pytest.raises(ConfigError, match="methods.soc.climate"):
        soc_stock(ref, lc, flu_class=6)
    with pytest.raises(ConfigError, match="management_factor"):
        soc_stock(ref, lc, flu_class=1, management_factor=np.ones((3, 3)))
    with pytest.raises(PeriodError, match="1990"):
        soc_stock(ref, lc, flu_class=1, reference_year=1990)


# --- change and degradation ----------------------------------------------------------------------

# rows: initial, final, expected percent, inclusive class, strict class
BOUNDARY_ROWS = [
    (100.0, 90.0, -10.0, -1, 0),  # exactly -10 %
    (100.0, 110.0, 10.0, 1, 0),  # exactly +10 %
    (100.0, 89.9, -10.1, -1, -1),
    (100.0, 90.1, -9.9, 0, 0),
    (100.0, 109.9, 9.9, 0, 0),
    (100.0, 110.1, 10.1, 1, 1),
    (50.0, 45.0, -10.0, -1, 0),
    (80.0, 80.0, 0.0, 0, 0),
]


@pytest.mark.parametrize("chunks", [None, {"x": 3}])
def test_degradation_boundaries(chunks):
    init = np.array([[r[0] for r in BOUNDARY_ROWS]], dtype=np.float32)
    fin = np.array([[r[1] for r in BOUNDARY_ROWS]], dtype=np.float32)
    pct = soc_change_percent(grid(init, chunks), grid(fin, chunks))
    assert pct.dtype == np.float32
    np.testing.assert_allclose(pct.values[0], [r[2] for r in BOUNDARY_ROWS], atol=1e-4)
    inc = soc_degradation(grid(init, chunks), grid(fin, chunks))
    strict = soc_degradation(grid(init, chunks), grid(fin, chunks), inclusive=False)
    assert inc.dtype == np.int16
    np.testing.assert_array_equal(inc.values[0], [r[3] for r in BOUNDARY_ROWS])
    np.testing.assert_array_equal(strict.values[0], [r[4] for r in BOUNDARY_ROWS])
    assert inc.attrs["inclusive"] is True and strict.attrs["inclusive"] is False
    assert inc.attrs["threshold_percent"] == 10.0
    assert inc.rio.crs.to_epsg() == 4326 and pct.rio.crs.to_epsg() == 4326


def test_custom_threshold():
    init = grid(np.array([[100.0, 100.0]]))
    fin = grid(np.array([[94.0, 96.0]]))
    np.testing.assert_array_equal(soc_degradation(init, fin, threshold=5).values, [[-1, 0]])
    with pytest.raises(ConfigError, match="threshold"):
        soc_degradation(init, fin, threshold=0)


def test_water_and_missing_masked():
    init = grid(np.array([[100.0, 100.0, np.nan, 0.0, 100.0]]))
    fin = grid(np.array([[50.0, 50.0, 50.0, 10.0, np.nan]]))
    water = grid(np.array([[False, True, False, False, False]]))
    out = soc_degradation(init, fin, water=water).values
    np.testing.assert_array_equal(out, [[-1, ND, ND, ND, ND]])
    pct = soc_change_percent(init, fin).values
    assert pct[0, 0] == -50.0 and np.isnan(pct[0, 2:]).all()
