"""Anomalies (z-score, VCI, TCI, percent of median), VHI and FAO's ASI against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from ldnkit.errors import InputError
from ldnkit.indicators.early_warning import (
    agricultural_stress_index,
    anomaly,
    baseline_stats,
    calendar_period,
    vegetation_health,
)


def monthly(values: np.ndarray, start: str = "2001-01-01") -> xr.DataArray:
    t = pd.date_range(start, periods=values.shape[0], freq="MS")
    ny, nx = values.shape[1:]
    return xr.DataArray(
        values.astype(np.float32),
        dims=("time", "y", "x"),
        coords={"time": t, "y": np.arange(ny) + 0.5, "x": np.arange(nx) + 0.5},
        attrs={"units": "1"},
    )


@pytest.fixture
def series():
    # 3 baseline years (2001-2003) + 2004, two pixels; January values 1, 2, 4 then 3 in 2004
    rng = np.random.default_rng(0)
    v = rng.uniform(0.2, 0.8, size=(48, 1, 2))
    v[[0, 12, 24, 36], 0, 0] = [1.0, 2.0, 4.0, 3.0]
    v[[0, 12, 24, 36], 0, 1] = [5.0, 5.0, 5.0, 6.0]  # no spread in January
    v[13, 0, 0] = np.nan  # a missing February
    return monthly(v)


def test_baseline_stats_by_hand(series):
    stats = baseline_stats(series, (2001, 2003))
    jan = stats.sel(period=1).isel(y=0, x=0)
    assert float(jan["mean"]) == pytest.approx(7 / 3)
    assert float(jan["std"]) == pytest.approx(
        math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2)
    )
    assert (float(jan["median"]), float(jan["min"]), float(jan["max"]), int(jan["count"])) == (2, 1, 4, 3)
    feb = stats.sel(period=2).isel(y=0, x=0)
    vals = series.values[[1, 25], 0, 0]  # 2002's February is missing
    assert int(feb["count"]) == 2 and float(feb["mean"]) == pytest.approx(vals.mean())
    assert stats.sizes["period"] == 12 and stats.attrs["baseline_years"] == "2001-2003"


def test_anomalies_of_one_new_step_by_hand(series):
    stats = baseline_stats(series, (2001, 2003))
    new = series.isel(time=[36])  # January 2004 alone: an incremental update
    z = anomaly(new, stats, "zscore").values[0, 0]
    assert z[0] == pytest.approx((3 - 7 / 3) / math.sqrt(7 / 3), rel=1e-6)
    assert np.isnan(z[1])  # zero spread
    vci = anomaly(new, stats, "vci").values[0, 0]
    tci = anomaly(new, stats, "tci").values[0, 0]
    assert vci[0] == pytest.approx(100 * (3 - 1) / (4 - 1), rel=1e-6)
    assert tci[0] == pytest.approx(100 * (4 - 3) / (4 - 1), rel=1e-6)
    pom = anomaly(new, stats, "percent_of_median").values[0, 0]
    assert pom.tolist() == pytest.approx([150.0, 120.0])
    # the whole series gives the same value for that step
    whole = anomaly(series, stats, "zscore").values[36, 0]
    assert whole[0] == pytest.approx(z[0])
    assert anomaly(new, stats, "vci").attrs["baseline_years"] == "2001-2003"
    # a single (y, x) step with a scalar time coordinate, as a monthly update reads it
    single = anomaly(series.isel(time=36), stats, "zscore")
    assert single.dims == ("y", "x") and single.values[0, 0] == pytest.approx(z[0])


def test_vci_clipped_outside_the_baseline_range():
    v = np.array([1.0, 2.0, 3.0, 5.0, 0.0])[:, None, None] * np.ones((1, 1, 1))
    t = pd.to_datetime(["2001-01-01", "2002-01-01", "2003-01-01", "2004-01-01", "2005-01-01"])
    x = xr.DataArray(v, dims=("time", "y", "x"), coords={"time": t})
    stats = baseline_stats(x, (2001, 2003))
    assert anomaly(x, stats, "vci").values[3:, 0, 0].tolist() == [100.0, 0.0]
    assert anomaly(x, stats, "vci", clip=False).values[3:, 0, 0].tolist() == pytest.approx([200.0, -50.0])


def test_dekads():
    t = pd.to_datetime(["2001-01-05", "2001-01-15", "2001-01-25", "2001-01-31", "2001-02-01", "2001-12-31"])
    assert calendar_period(xr.DataArray(t, dims="time"), "dekad").values.tolist() == [1, 2, 3, 3, 4, 36]
    x = xr.DataArray(np.arange(6.0)[:, None, None], dims=("time", "y", "x"), coords={"time": t})
    stats = baseline_stats(x, (2001, 2001), "dekad")
    assert stats.sizes["period"] == 36 and float(stats["mean"].sel(period=3)[0, 0]) == 2.5


def test_vhi_by_hand():
    vci = xr.DataArray(np.array([[20.0, 80.0]]), dims=("y", "x"))
    tci = xr.DataArray(np.array([[40.0, 10.0]]), dims=("y", "x"))
    assert vegetation_health(vci, tci).values.tolist() == [[30.0, 45.0]]
    assert vegetation_health(vci, tci, weight=0.25).values[0].tolist() == pytest.approx([35.0, 27.5])
    with pytest.raises(InputError, match="weight"):
        vegetation_health(vci, tci, weight=1.5)


def test_asi_share_by_hand():
    vhi = xr.DataArray(
        np.array([[[10.0, 50.0, 20.0], [34.9, np.nan, 35.0]], [[40.0, 40.0, 40.0], [5.0, 5.0, 5.0]]]),
        dims=("time", "y", "x"),
        coords={"time": pd.to_datetime(["2020-01-01", "2020-02-01"])},
    )
    mask = xr.DataArray(np.array([[True, True, False], [True, True, True]]), dims=("y", "x"))
    zones = xr.DataArray(np.array([[1, 1, 1], [2, 2, 2]]), dims=("y", "x"))
    df = agricultural_stress_index(vhi, mask, zones=zones).set_index(["zone", "time"])
    # zone 1, January: cropland pixels 10 and 50 -> 1 of 2 below 35
    assert df.loc[(1, pd.Timestamp("2020-01-01")), "asi_percent"] == pytest.approx(50.0)
    # zone 2, January: 34.9 stressed, NaN left out, 35.0 not below -> 1 of 2
    row = df.loc[(2, pd.Timestamp("2020-01-01"))]
    assert (row["area"], row["stressed_area"], row["asi_percent"]) == (2, 1, pytest.approx(50.0))
    assert df.loc[(1, pd.Timestamp("2020-02-01")), "asi_percent"] == 0.0
    assert df.loc[(2, pd.Timestamp("2020-02-01")), "asi_percent"] == 100.0
    # area weights and no zones
    w = xr.DataArray(np.array([[3.0, 1.0, 1.0], [1.0, 1.0, 1.0]]), dims=("y", "x"))
    one = agricultural_stress_index(vhi.isel(time=0), mask, weights=w)
    # stressed: 10 (3 km2) and 34.9 (1 km2); with VHI: 10, 50, 34.9, 35.0 -> 3+1+1+1 = 6
    assert one["asi_percent"].tolist() == pytest.approx([100 * 4 / 6])


def test_bad_baselines_refused(series):
    with pytest.raises(InputError, match="holds none"):
        baseline_stats(series, (1990, 1995))
    with pytest.raises(InputError, match="starts after"):
        baseline_stats(series, (2003, 2001))
    with pytest.raises(InputError, match="anomaly kind"):
        anomaly(series, baseline_stats(series, (2001, 2003)), "spi")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # all-NaN pixels, computed by dask
def test_baseline_stats_equal_numpy_per_pixel_with_gaps_and_dask():
    rng = np.random.default_rng(7)
    v = rng.normal(size=(60, 2, 3))
    v[rng.random(v.shape) < 0.2] = np.nan
    v[[2, 14, 26], 1, 2] = np.nan  # March of every baseline year missing at one pixel
    x = monthly(v)
    stats = baseline_stats(x, (2001, 2003))
    lazy = baseline_stats(x.chunk({"y": 1}), (2001, 2003)).compute()
    for p in range(1, 13):
        idx = [p - 1 + 12 * k for k in range(3)]  # 2001-2003 only
        for i in range(2):
            for j in range(3):
                vals = v[idx, i, j].astype(np.float32)
                vals = vals[np.isfinite(vals)]
                got = stats.sel(period=p).isel(y=i, x=j)
                assert int(got["count"]) == vals.size
                if vals.size == 0:
                    assert np.isnan(float(got["mean"])) and np.isnan(float(got["median"]))
                    continue
                assert float(got["mean"]) == pytest.approx(vals.mean(), rel=1e-5)
                assert float(got["median"]) == pytest.approx(np.median(vals), rel=1e-5)
                assert float(got["min"]) == vals.min() and float(got["max"]) == vals.max()
                if vals.size > 1:
                    assert float(got["std"]) == pytest.approx(vals.std(ddof=1), rel=1e-5)
    for name in stats.data_vars:
        np.testing.assert_allclose(lazy[name].values, stats[name].values, rtol=1e-6)


@pytest.mark.parametrize("kind", ["zscore", "vci", "tci", "percent_of_median"])
def test_one_step_at_a_time_equals_the_whole_series_bit_for_bit(kind):
    rng = np.random.default_rng(3)
    v = rng.gamma(2.0, 0.2, size=(60, 3, 4))
    v[rng.random(v.shape) < 0.1] = np.nan
    x = monthly(v)
    stats = baseline_stats(x, (2001, 2003))
    whole = anomaly(x, stats, kind).values
    steps = np.concatenate([anomaly(x.isel(time=[t]), stats, kind).values for t in range(60)])
    assert whole.tobytes() == steps.tobytes()
