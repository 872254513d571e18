"""Mann–Kendall / Theil–Sen kernel and ``productivity.trend`` against independent references:
pymannkendall (S, variance, z, p), scipy.stats.theilslopes (slope with real, gappy years),
numpy (OLS, medians) and the exact Kendall S distribution (Trends.Earth table)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pymannkendall as pmk
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ldnkit import codes
from ldnkit.indicators import productivity as prod
from ldnkit.kernels import trend as tk

YEARS = np.arange(2001, 2017, dtype=np.float64)


def _random_block(seed: int, nt: int = 16, ny: int = 9, nx: int = 11, gap: float = 0.2):
    """Trend + noise, rounded to create ties, with random NaN gaps."""
    rng = np.random.default_rng(seed)
    slope = rng.normal(0, 0.02, size=(ny, nx))
    v = 0.5 + slope * np.arange(nt)[:, None, None] + rng.normal(0, 0.05, size=(nt, ny, nx))
    v = np.round(v, 2)  # many ties
    v[rng.random(v.shape) < gap] = np.nan
    return v


def _reference(y: np.ndarray, x: np.ndarray):
    ok = np.isfinite(y)
    r = pmk.original_test(y[ok])
    return r, stats.theilslopes(y[ok], x[ok]).slope


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernel_matches_pymannkendall_and_scipy_with_ties_and_gaps(seed):
    v = _random_block(seed)
    slope, s, z, p, n = tk.mann_kendall_theil_sen(v, YEARS, min_count=3)
    assert slope.dtype == np.float32 and s.dtype == np.float32
    assert z.dtype == np.float64 and p.dtype == np.float64 and n.dtype == np.int16
    checked = 0
    for iy in range(v.shape[1]):
        for ix in range(v.shape[2]):
            y = v[:, iy, ix]
            assert n[iy, ix] == np.isfinite(y).sum()
            if n[iy, ix] < 3:
                continue
            ref, ts = _reference(y, YEARS)
            assert s[iy, ix] == ref.s
            assert z[iy, ix] == pytest.approx(ref.z, rel=1e-12, abs=1e-12)
            assert p[iy, ix] == pytest.approx(ref.p, rel=1e-9, abs=1e-12)
            assert slope[iy, ix] == pytest.approx(ts, rel=1e-6, abs=1e-7)
            checked += 1
    assert checked > 80


def test_tie_corrected_variance_matches_pymannkendall():
    # z depends on the variance: check a series made of a few tie groups exactly.
    y = np.array([1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 2, 5, 5, 5, 1, 6], dtype=np.float64)
    _, s, z, p, _ = tk.mann_kendall_theil_sen(y[:, None, None], YEARS)
    ref = pmk.original_test(y)
    assert s[0, 0] == ref.s
    assert (s[0, 0] - np.sign(s[0, 0])) / z[0, 0] == pytest.approx(np.sqrt(ref.var_s), rel=1e-12)
    assert p[0, 0] == pytest.approx(ref.p, rel=1e-12)


def test_slope_without_gaps_equals_pymannkendall_sens_slope():
    v = _random_block(5, gap=0.0)
    slope = tk.mann_kendall_theil_sen(v, YEARS)[0]
    for iy, ix in [(0, 0), (3, 4), (8, 10)]:
        ref = pmk.sens_slope(v[:, iy, ix]).slope  # unit spacing = consecutive years
        assert slope[iy, ix] == pytest.approx(ref, rel=1e-6, abs=1e-7)


def test_gap_uses_real_years():
    # A perfect line with missing years: the slope per year must stay exact.
    y = 0.3 + 0.01 * (YEARS - 2001)
    y[[2, 3, 9]] = np.nan
    slope = tk.mann_kendall_theil_sen(y[:, None, None], YEARS)[0]
    assert slope[0, 0] == pytest.approx(0.01, rel=1e-6)


def test_below_min_count_and_all_nan():
    v = np.full((16, 1, 3), np.nan)
    v[:4, 0, 1] = [1.0, 2.0, 3.0, 5.0]  # 4 values
    v[:, 0, 2] = np.arange(16.0)
    slope, s, z, p, n = tk.mann_kendall_theil_sen(v, YEARS, min_count=5)
    assert n.tolist() == [[0, 4, 16]]
    for a in (slope, s, z, p):
        assert np.isnan(a[0, 0]) and np.isnan(a[0, 1]) and np.isfinite(a[0, 2])
    assert s[0, 2] == 16 * 15 / 2


def test_constant_series():
    v = np.full((16, 2, 2), 0.42, dtype=np.float32)
    slope, s, z, p, n = tk.mann_kendall_theil_sen(v, YEARS)
    assert (slope == 0).all() and (s == 0).all() and (z == 0).all() and (p == 1).all()
    assert (n == 16).all()


def test_int16_with_nodata_equals_float_with_nan():
    v = np.round(_random_block(7) * 10000)
    vi = np.where(np.isnan(v), codes.NODATA, v).astype(np.int16)
    a = tk.mann_kendall_theil_sen(v, YEARS)
    b = tk.mann_kendall_theil_sen(vi, YEARS)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_bad_arguments():
    with pytest.raises(ValueError):
        tk.mann_kendall_theil_sen(np.zeros((16, 2)), YEARS)
    with pytest.raises(ValueError):
        tk.mann_kendall_theil_sen(np.zeros((16, 2, 2)), YEARS[:5])
    with pytest.raises(ValueError):
        tk.mann_kendall_theil_sen(np.zeros((16, 2, 2)), YEARS, min_count=1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(-5, 5).map(float), st.floats(-1e3, 1e3, allow_nan=False)),
        min_size=1,
        max_size=200,
    )
)
def test_median_selection_equals_numpy_median(xs):
    a = np.array(xs, dtype=np.float64)
    expected = np.median(a)
    assert tk._median_select(a.copy(), a.size) == pytest.approx(expected, rel=1e-15, abs=0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=3, max_size=25),
    st.floats(0.5, 3.0),
)
def test_reversing_time_flips_s_and_slope(raw, step):
    y = np.array([np.nan if r is None else r for r in raw], dtype=np.float64)
    x = 1990.0 + step * np.arange(y.size)
    fwd = tk.mann_kendall_theil_sen(y[:, None, None], x)
    # Reversed order with time running the other way: same points seen backwards.
    rev = tk.mann_kendall_theil_sen(y[::-1, None, None].copy(), -x[::-1].copy())
    np.testing.assert_array_equal(rev[1], -fwd[1])  # S
    np.testing.assert_allclose(rev[0], -fwd[0], rtol=1e-6, atol=1e-7)  # slope
    np.testing.assert_allclose(rev[3], fwd[3], rtol=1e-12)  # p
    np.testing.assert_array_equal(rev[4], fwd[4])  # n


def test_ols_slope_matches_polyfit():
    v = _random_block(11)
    out = tk.ols_slope(v, YEARS)
    for iy, ix in [(0, 0), (4, 5), (8, 10)]:
        y = v[:, iy, ix]
        ok = np.isfinite(y)
        assert out[iy, ix] == pytest.approx(np.polyfit(YEARS[ok], y[ok], 1)[0], rel=1e-5)


def _exact_kendall_tail(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact null distribution of S without ties: (S values, P(S >= value))."""
    counts = np.array([1.0])
    for k in range(1, n):  # permutations counted by number of inversions
        new = np.zeros(counts.size + k)
        for j in range(k + 1):
            new[j : j + counts.size] += counts
        counts = new
    prob = counts / counts.sum()
    s = n * (n - 1) // 2 - 2 * np.arange(prob.size)  # S = concordant - discordant
    return s, np.cumsum(prob)  # s decreasing -> cumulative sum = P(S >= s)


def test_trends_earth_table_is_plausible_against_exact_distribution():
    # Guards the transcription: one-sided exact p of each critical value (n >= 10).
    bands = {90: (0.08, 0.13), 95: (0.03, 0.07), 99: (0.001, 0.012)}
    for level, (lo, hi) in bands.items():
        table = tk.TE_KENDALL_CRITICAL[level]
        for i, crit in enumerate(table):
            n = i + tk.TE_KENDALL_MIN_N
            if n < 10:
                continue
            s, tail = _exact_kendall_tail(n)
            p = tail[s >= crit][-1]
            assert lo <= p <= hi, (level, n, crit, p)
    # levels are ordered and each list increases with n
    for a, b in ((90, 95), (95, 99)):
        ta, tb = tk.TE_KENDALL_CRITICAL[a], tk.TE_KENDALL_CRITICAL[b]
        assert all(x <= y for x, y in zip(ta, tb, strict=False))
    crit = tk.te_critical_s(np.array([3, 4, 16, 60, 61]), 95)
    assert np.isnan(crit[0]) and np.isnan(crit[-1])
    assert crit[1:4].tolist() == [4.0, 36.0, 258.0]
    assert np.isnan(tk.te_critical_s(np.array([60]), 99)[0])  # its 99 % list stops at 59


# --- productivity.trend (xarray)


def _stack(v: np.ndarray) -> xr.DataArray:
    nt, ny, nx = v.shape
    return xr.DataArray(
        v,
        dims=("year", "y", "x"),
        coords={
            "year": np.arange(2001, 2001 + nt),
            "y": 50.0 - np.arange(ny),
            "x": 10.0 + np.arange(nx),
        },
    )


def test_trend_dataset_numpy_and_dask_agree_and_stay_lazy():
    import json

    import dask.array as dsa

    v = _random_block(3, ny=20, nx=23).astype(np.float32)
    arr = _stack(v)
    ref = prod.trend(arr)
    lazy = prod.trend(arr.chunk({"year": 5, "y": 7, "x": 9}))  # time split on purpose
    assert isinstance(lazy["slope"].data, dsa.Array)
    got = lazy.compute()
    for name in ("slope", "s", "z", "p", "n"):
        np.testing.assert_array_equal(got[name].values, ref[name].values)
        assert got[name].dims == ("y", "x")
        json.dumps(got[name].attrs)
    np.testing.assert_array_equal(got["x"].values, arr["x"].values)
    kernel = tk.mann_kendall_theil_sen(v, YEARS)
    np.testing.assert_array_equal(ref["slope"].values, kernel[0])
    assert ref.attrs["method"] == "mann_kendall_theil_sen" and ref.attrs["years"] == [2001, 2016]


def test_trend_keeps_crs_and_checks_inputs():
    import rioxarray  # noqa: F401

    from ldnkit.errors import ConfigError, InputError, PeriodError

    arr = _stack(_random_block(4)).rio.write_crs("EPSG:32633")
    out = prod.trend(arr)
    assert out["slope"].rio.crs == arr.rio.crs
    with pytest.raises(InputError, match="time"):
        prod.trend(arr, dim="time")
    with pytest.raises(ConfigError):
        prod.trend(arr, min_count=1)
    with pytest.raises(PeriodError):
        prod.trend(arr.isel(year=slice(0, 2)))


REAL_EVI = (
    Path(__file__).resolve().parents[1]
    / "../shared/data/buffalo_ny_modis/evi_annual_mean_2001-2016_derived.tif"
)


@pytest.mark.skipif(not REAL_EVI.exists(), reason="../shared/data (real Buffalo EVI) not present")
def test_real_buffalo_evi_against_references():
    import rioxarray

    raw = rioxarray.open_rasterio(REAL_EVI, chunks={"x": 20, "y": 20})
    evi = raw.rename(band="year").assign_coords(year=np.arange(2001, 2017))
    ds = prod.trend(evi).compute()
    v = raw.values.astype(np.float64)
    rng = np.random.default_rng(0)
    pixels = [(iy, ix) for iy in range(v.shape[1]) for ix in range(v.shape[2])]
    checked = 0
    for k in rng.choice(len(pixels), 150, replace=False):
        iy, ix = pixels[k]
        y = v[:, iy, ix]
        assert ds["n"].values[iy, ix] == np.isfinite(y).sum()
        if np.isfinite(y).sum() < 3:
            assert np.isnan(ds["slope"].values[iy, ix])
            continue
        ref, ts = _reference(y, YEARS)
        assert ds["s"].values[iy, ix] == ref.s
        assert ds["p"].values[iy, ix] == pytest.approx(ref.p, rel=1e-9, abs=1e-12)
        assert ds["slope"].values[iy, ix] == pytest.approx(ts, rel=1e-5, abs=1e-9)
        checked += 1
    assert checked > 50
    assert ds["slope"].rio.crs == raw.rio.crs


def test_trend_orders_years_and_rejects_repeats():
    from ldnkit.errors import InputError

    arr = _stack(_random_block(6))
    ref = prod.trend(arr)
    shuffled = arr.isel(year=np.random.default_rng(1).permutation(16))
    got = prod.trend(shuffled)
    for name in ("slope", "s", "p"):
        np.testing.assert_array_equal(got[name].values, ref[name].values)
    with pytest.raises(InputError, match="repeated"):
        prod.trend(arr.assign_coords(year=[2001] * 2 + list(range(2003, 2017))))


# --- the lockstep (SIMD) kernel against the plain reference kernel and the one-pixel kernel


def _plain_kernel():
    """The plain numba kernel of benchmarks/kernels.py (per-pixel loop, O(n²) S and ties,
    np.median of the pairwise slopes): an independent implementation to compare against."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "kernels.py"
    spec = importlib.util.spec_from_file_location("ldnkit_bench_kernels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.plain_mann_kendall_theil_sen


def _gappy(rng, n_time: int, npix: int, decimals: int, gap: float) -> np.ndarray:
    v = 0.5 + rng.normal(0, 0.02, npix) * np.arange(n_time)[:, None] + rng.normal(0, 0.05, (n_time, npix))
    v = np.round(v, decimals)
    v[rng.random(v.shape) < gap] = np.nan
    return v[:, None, :]


@pytest.mark.parametrize("n_time", [2, 3, 5, 8, 13, 16, 17, 24, 32])
def test_lanes_kernel_equals_plain_reference_kernel(n_time):
    plain = _plain_kernel()
    rng = np.random.default_rng(n_time)
    x = 2000.0 + np.arange(n_time)
    for decimals, gap in ((1, 0.3), (2, 0.1), (3, 0.05), (6, 0.0)):
        v = _gappy(rng, n_time, 333, decimals, gap).astype(np.float32)  # 333: a partial last group
        got = tk.mann_kendall_theil_sen(v, x, min_count=2, lanes=True)
        ref = plain(v, x, 2)
        np.testing.assert_array_equal(got[4], ref[4])  # n
        np.testing.assert_array_equal(got[1], ref[1])  # S, bit for bit
        np.testing.assert_array_equal(got[2], ref[2])  # z = (S -+ 1) / sqrt(var): var bit for bit
        np.testing.assert_array_equal(got[3], ref[3])  # p
        # slopes: d * (1 / dx) here, d / dx there: equal to float32 rounding
        np.testing.assert_allclose(got[0], ref[0], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("n_time", [1, 2, 3, 4, 7, 11, 16, 21, 32, 33, 40])
def test_lanes_and_one_pixel_kernels_give_identical_numbers(n_time):
    rng = np.random.default_rng(100 + n_time)
    x = 1990.0 + np.cumsum(rng.integers(1, 3, n_time)).astype(np.float64)  # uneven spacing
    v = _gappy(rng, n_time, 200, 2, 0.15)
    v[:, 0, :5] = np.nan  # empty pixels
    v[:, 0, 5:9] = 0.3  # constant
    v[: n_time // 2, 0, 9] = np.inf  # infinite = missing
    v[:, 0, 10] = np.where(np.arange(n_time) % 2, 1e300, -1e300)  # slopes overflow to +-inf
    lanes = tk.mann_kendall_theil_sen(v, x, min_count=2, lanes=True)
    pixels = tk.mann_kendall_theil_sen(v, x, min_count=2, lanes=False)
    for a, b in zip(lanes, pixels, strict=True):
        np.testing.assert_array_equal(a, b)
    with_nan = v.copy()
    with_nan[np.isinf(with_nan)] = np.nan
    for a, b in zip(lanes, tk.mann_kendall_theil_sen(with_nan, x, min_count=2), strict=True):
        np.testing.assert_array_equal(a, b)


def test_repeated_x_pairs_have_no_slope_in_both_kernels():
    # Two layers at the same x (allowed at kernel level): S counts the pair, the slope does not.
    x = np.array([2000.0, 2001.0, 2001.0, 2002.0, 2003.0, 2004.0])
    rng = np.random.default_rng(7)
    v = np.round(rng.normal(size=(6, 1, 150)), 1)
    v[rng.random(v.shape) < 0.2] = np.nan
    a = tk.mann_kendall_theil_sen(v, x, lanes=True)
    b = tk.mann_kendall_theil_sen(v, x, lanes=False)
    for p, q in zip(a, b, strict=True):
        np.testing.assert_array_equal(p, q)
    for i in range(0, 150, 13):
        y = v[:, 0, i]
        ok = np.isfinite(y)
        if ok.sum() >= 3 and np.unique(x[ok]).size >= 2:
            assert a[0][0, i] == pytest.approx(stats.theilslopes(y[ok], x[ok]).slope, rel=1e-6, abs=1e-9)


def test_median_network_leaves_the_middle_ranks_in_place():
    rng = np.random.default_rng(3)
    for n_pairs in [1, 2, 3, 5, 10, 28, 66, 120, 121, 190, 496]:
        ca, cb = tk._median_network(n_pairs)
        a = rng.integers(0, 12, size=(n_pairs, 300)).astype(np.float64)  # many ties
        a[:, :100] = rng.normal(size=(n_pairs, 100))
        expected = np.sort(a, axis=0)
        for i, j in zip(ca, cb, strict=True):
            lo, hi = np.minimum(a[i], a[j]), np.maximum(a[i], a[j])
            a[i], a[j] = lo, hi
        r0 = (n_pairs - 1) // 2
        ranks = [r0, r0 + 1] if n_pairs > 1 else [0]
        np.testing.assert_array_equal(a[ranks], expected[ranks])
    # the pruned network is much smaller than a full sort at 16 years
    assert tk._median_network(120)[0].size < len(tk.odd_even_merge_sort(120))


def test_int16_and_float_inputs_give_identical_numbers_in_lanes_kernel():
    rng = np.random.default_rng(9)
    v = np.round(rng.normal(5000, 300, (16, 3, 70)))
    v[rng.random(v.shape) < 0.1] = np.nan
    vi = np.where(np.isnan(v), codes.NODATA, v).astype(np.int16)
    for a, b in zip(tk.mann_kendall_theil_sen(v, YEARS), tk.mann_kendall_theil_sen(vi, YEARS), strict=True):
        np.testing.assert_array_equal(a, b)
