"""The land-degradation alert and dust-source susceptibility, by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from ldnkit import codes
from ldnkit.errors import InputError
from ldnkit.indicators.early_warning import degradation_alert, dust_source_susceptibility

NA = codes.EW_NODATA


def stack(rows: list[list[float]]) -> xr.DataArray:
    """(time, 1, n) from one list per pixel."""
    v = np.array(rows, dtype=np.float32).T[:, None, :]
    t = pd.date_range("2020-01-01", periods=v.shape[0], freq="MS")
    return xr.DataArray(v, dims=("time", "y", "x"), coords={"time": t})


def test_planted_decline_flagged_after_min_consecutive_not_before():
    z = stack(
        [
            [0.0, -1.5, -1.5, -1.5, -1.5, 0.0, -2.0, -2.0],  # a 4-step decline
            [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0],  # at the threshold: never below
            [-2.0, -2.0, np.nan, -2.0, -2.0, -2.0, 0.5, -3.0],  # a gap breaks the run
        ]
    )
    ds = degradation_alert(z, min_consecutive=3)
    assert ds["run_length"].values[:, 0, 0].tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    assert ds["alert"].values[:, 0, 0].tolist() == [0, 0, 0, 1, 1, 0, 0, 0]
    assert ds["alert"].values[:, 0, 1].tolist() == [0] * 8
    assert ds["alert"].values[:, 0, 2].tolist() == [0, 0, NA, 0, 0, 1, 0, 0]
    assert ds["run_length"].values[:, 0, 2].tolist() == [1, 2, 0, 1, 2, 3, 0, 1]
    two = degradation_alert(z, min_consecutive=2, threshold=-1.75)
    assert two["alert"].values[:, 0, 0].tolist() == [0, 0, 0, 0, 0, 0, 0, 1]
    assert "so1_declining" not in ds


def test_raised_where_the_so1_trend_declines():
    z = stack([[-2.0] * 4, [-2.0] * 4, [0.0] * 4])
    declining = xr.DataArray(np.array([[True, False, True]]), dims=("y", "x"))
    ds = degradation_alert(z, declining, min_consecutive=3)
    assert ds["alert"].values[:, 0, :].tolist() == [[0, 0, 0], [0, 0, 0], [2, 1, 0], [2, 1, 0]]
    assert ds["so1_declining"].values.tolist() == [[True, False, True]]
    assert ds["alert"].attrs["legend"] == codes.DEGRADATION_ALERT.name


def test_incremental_runs_equal_one_call():
    rng = np.random.default_rng(1)
    z = stack(rng.normal(-0.8, 1.0, size=(6, 30)).tolist())
    whole = degradation_alert(z)
    run, parts = None, []
    for t in range(z.sizes["time"]):
        part = degradation_alert(z.isel(time=[t]), previous_run=run)
        run = part["run_length"].isel(time=-1)
        parts.append(part["alert"].values)
    np.testing.assert_array_equal(np.concatenate(parts), whole["alert"].values)
    assert (whole["alert"].values == 1).any()
    with pytest.raises(InputError, match="min_consecutive"):
        degradation_alert(z, min_consecutive=0)


def _grid(values) -> xr.DataArray:
    return xr.DataArray(np.array(values, dtype=float).reshape(1, 1, -1), dims=("time", "y", "x"))


def _static(values) -> xr.DataArray:
    return xr.DataArray(np.array(values).reshape(1, -1), dims=("y", "x"))


def test_dust_by_hand_on_a_few_pixels():
    lc = _static([6, 1, 2, 2, 6])  # bare, forest, grassland, grassland, bare
    ndvi = _grid([0.05, 0.8, 0.2, 0.2, 0.2])
    sm = _grid([0.02, 0.02, 0.125, 0.125, 0.30])
    tex = _static([12, 12, 12, 7, 12])  # sand, sand, sand, loam, sand
    s = dust_source_susceptibility(lc, ndvi).values[0, 0]
    # cover 1, veg 1 -> 1; forest cover 0 -> 0; grassland 0.5, veg (0.3-0.2)/0.2 = 0.5 -> 0.5
    assert s[:3].tolist() == pytest.approx([1.0, 0.0, 0.5])
    s = dust_source_susceptibility(lc, ndvi, sm, tex).values[0, 0]
    assert s[0] == pytest.approx(1.0)  # bare, dry, sandy
    assert s[1] == 0.0  # forest
    assert s[2] == pytest.approx((0.5 * 0.5 * 0.5 * 1.0) ** 0.25)  # moisture (0.2-0.125)/0.15 = 0.5
    assert s[3] == pytest.approx((0.5 * 0.5 * 0.5 * 0.22) ** 0.25)
    assert s[4] == 0.0  # wet soil
    out = dust_source_susceptibility(lc, ndvi, sm)
    assert out.attrs["inputs_used"] == "land_cover,ndvi,soil_moisture" and out.dtype == np.float32


def test_dust_monotone_in_each_input():
    ndvi = np.linspace(-0.1, 0.6, 15)
    sm = np.linspace(0.0, 0.3, 13)
    cover = [1, 4, 7, 5, 2, 3, 6]  # in increasing cover factor
    texture = [10, 5, 7, 8, 4, 6, 1, 2, 3, 9, 11, 12]  # in increasing texture factor
    combos = list(itertools.product(cover, texture, ndvi, sm))
    lc = _static([c[0] for c in combos])
    tex = _static([c[1] for c in combos])
    s = dust_source_susceptibility(lc, _grid([c[2] for c in combos]), _grid([c[3] for c in combos]), tex)
    arr = s.values.reshape(len(cover), len(texture), ndvi.size, sm.size)
    assert (np.diff(arr, axis=0) >= 0).all() and (np.diff(arr, axis=1) >= 0).all()
    assert (np.diff(arr, axis=2) <= 0).all() and (np.diff(arr, axis=3) <= 0).all()
    assert arr.min() == 0.0 and arr.max() == 1.0


def test_dust_no_data_classes_and_bad_bounds():
    s = dust_source_susceptibility(_static([-32768, 9]), _grid([0.1, 0.1]))
    assert np.isnan(s.values).all()
    with pytest.raises(InputError, match="ndvi"):
        dust_source_susceptibility(_static([6]), _grid([0.1]), ndvi_low=0.5, ndvi_high=0.2)


def test_degradation_alert_stays_lazy_on_dask_and_equals_numpy():
    rng = np.random.default_rng(2)
    v = rng.normal(-0.7, 1.0, size=(24, 6, 8)).astype(np.float32)
    v[rng.random(v.shape) < 0.1] = np.nan
    t = pd.date_range("2020-01-01", periods=24, freq="MS")
    z = xr.DataArray(v, dims=("time", "y", "x"), coords={"time": t, "y": np.arange(6.0), "x": np.arange(8.0)})
    declining = xr.DataArray(rng.random((6, 8)) < 0.5, dims=("y", "x"), coords={"y": z.y, "x": z.x})
    ref = degradation_alert(z, declining)
    lazy = degradation_alert(z.chunk({"y": 3, "x": 4}), declining.chunk({"y": 3, "x": 4}))
    assert lazy["alert"].chunks is not None  # nothing computed yet
    for name in ("alert", "run_length", "so1_declining"):
        np.testing.assert_array_equal(lazy[name].values, ref[name].values)
    assert ref["alert"].dims == ("time", "y", "x") and ref["alert"].dtype == np.int8
    assert set(np.unique(ref["alert"].values)) == {NA, 0, 1, 2}


def test_dust_lazy_on_dask():
    lc = _static([6, 1, 2, 3]).chunk({"x": 2})
    ndvi = _grid([0.05, 0.8, 0.2, 0.25]).chunk({"x": 2})
    lazy = dust_source_susceptibility(lc, ndvi)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(
        lazy.values, dust_source_susceptibility(lc.compute(), ndvi.compute()).values
    )
