"""Productivity indicators against hand calculations, numpy/scipy/pymannkendall references and the
look-up tables of methodology §1.5.4 written out row by row."""

from __future__ import annotations

import itertools
import json

import dask.array as dsa
import numpy as np
import pymannkendall as pmk
import pytest
import xarray as xr

from ldnkit import codes
from ldnkit.errors import ConfigError, GridError, PeriodError
from ldnkit.indicators import productivity as prod
from ldnkit.kernels.zonal import zonal_quantiles

ND = codes.NODATA


def _stack(v, first_year: int = 2001) -> xr.DataArray:
    v = np.asarray(v)
    if v.ndim == 1:
        v = v[:, None, None]
    nt, ny, nx = v.shape
    return xr.DataArray(
        v,
        dims=("year", "y", "x"),
        coords={
            "year": np.arange(first_year, first_year + nt),
            "y": -np.arange(ny) * 1.0,
            "x": np.arange(nx) * 1.0,
        },
    )


def _grid(a) -> xr.DataArray:
    a = np.asarray(a)
    ny, nx = a.shape
    return xr.DataArray(a, dims=("y", "x"), coords={"y": -np.arange(ny) * 1.0, "x": np.arange(nx) * 1.0})


def _json_ok(obj):
    json.dumps(obj.attrs)
    return True


# --- LPD tables: every row, written out from methodology §1.5.4

UP, S, D = 1, 0, -1  # trend / state: improving, stable, degrading
PS, PD = 0, -1  # performance: stable (not degraded), degraded
INC, STB, SBS, MOD, DEC = 5, 4, 3, 2, 1

# PRAIS 2026 Table 13 (rows 1..18).
PRAIS2026 = [
    (UP, UP, PS, INC),
    (UP, UP, PD, INC),
    (UP, S, PS, INC),
    (UP, S, PD, INC),
    (UP, D, PS, INC),
    (UP, D, PD, MOD),
    (S, UP, PS, STB),
    (S, UP, PD, STB),
    (S, S, PS, STB),
    (S, S, PD, SBS),
    (S, D, PS, MOD),
    (S, D, PD, DEC),
    (D, UP, PS, DEC),
    (D, UP, PD, DEC),
    (D, S, PS, DEC),
    (D, S, PD, DEC),
    (D, D, PS, DEC),
    (D, D, PD, DEC),
]
# GPG v1 and GPG v2 Table 4-5 (Trend, State, Perf) -> D/S/I; D -> 1, S -> 4, I -> 5.
_O = {"D": DEC, "S": STB, "I": INC}
GPG = [
    (D, D, PD, "D", "D"),
    (D, D, PS, "D", "D"),
    (D, S, PD, "D", "D"),
    (D, S, PS, "D", "S"),
    (D, UP, PD, "D", "D"),
    (D, UP, PS, "D", "D"),
    (S, D, PD, "D", "D"),
    (S, D, PS, "S", "S"),
    (S, S, PD, "S", "D"),
    (S, S, PS, "S", "S"),
    (S, UP, PD, "S", "S"),
    (S, UP, PS, "S", "S"),
    (UP, D, PD, "D", "D"),
    (UP, D, PS, "I", "I"),
    (UP, S, PD, "I", "I"),
    (UP, S, PS, "I", "I"),
    (UP, UP, PD, "I", "I"),
    (UP, UP, PS, "I", "I"),
]
TABLES = {
    "prais2026": [(t, s, p, o) for t, s, p, o in PRAIS2026],
    "gpg_v1": [(t, s, p, _O[v1]) for t, s, p, v1, _ in GPG],
    "gpg_v2": [(t, s, p, _O[v2]) for t, s, p, _, v2 in GPG],
}


@pytest.mark.parametrize("table", list(TABLES))
def test_lpd_every_row(table):
    rows = TABLES[table]
    assert len(rows) == 18 and len({r[:3] for r in rows}) == 18
    t, s, p, expected = (np.array([r[i] for r in rows], dtype=np.int16)[None, :] for i in range(4))
    out = prod.lpd(_grid(t), _grid(s), _grid(p), table=table)
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out.values, expected)
    assert out.attrs["table"] == table and _json_ok(out)
    # 3-class degradation follows codes.LPD_TO_DEGRADATION
    deg = prod.lpd_degradation(out).values[0]
    assert deg.tolist() == [codes.LPD_TO_DEGRADATION[int(v)] for v in expected[0]]


def test_prais2026_matches_equivalent_rule():
    # methodology: trend -1 -> 1; +1 -> 5 unless (state -1 & perf -1) -> 2; 0 -> 4 except
    # (0, -1) -> 3, (-1, 0) -> 2, (-1, -1) -> 1.
    for t, s, p, o in PRAIS2026:
        if t == -1:
            rule = 1
        elif t == 1:
            rule = 2 if (s, p) == (-1, -1) else 5
        else:
            rule = {(0, -1): 3, (-1, 0): 2, (-1, -1): 1}.get((s, p), 4)
        assert rule == o


def test_lpd_nodata_and_invalid_codes_and_dataset_input():
    t = _grid([[1, ND, 1, 1, 2]])
    s = _grid([[1, 1, ND, 1, 1]])
    p = _grid([[0, 0, 0, ND, 0]])
    np.testing.assert_array_equal(prod.lpd(t, s, p).values, [[5, ND, ND, ND, ND]])
    perf_ds = xr.Dataset({"class": p, "ratio": p.astype("float32")})
    np.testing.assert_array_equal(prod.lpd(t, s, perf_ds).values, [[5, ND, ND, ND, ND]])
    # float inputs with NaN are no data too
    tf = _grid([[1.0, np.nan]])
    np.testing.assert_array_equal(prod.lpd(tf, _grid([[0, 0]]), _grid([[0, 0]])).values, [[5, ND]])
    with pytest.raises(ConfigError):
        prod.lpd(t, s, p, table="nope")


def test_lpd_degradation_codes():
    out = prod.lpd_degradation(_grid([[1, 2, 3, 4, 5, 0, 6, ND]]))
    np.testing.assert_array_equal(out.values, [[-1, -1, 0, 0, 1, ND, ND, ND]])
    assert out.dtype == np.int16 and _json_ok(out)


def test_external_lpd():
    layer = _grid([[0, 1, 2, 3, 4, 5, 6, ND]])
    for legend in ("trends_earth", "jrc", "fao_wocat"):
        out = prod.external_lpd(layer, legend=legend)
        np.testing.assert_array_equal(out.values, [[ND, 1, 2, 3, 4, 5, ND, ND]])
        assert out.dtype == np.int16 and out.attrs["legend"] == legend
    out = prod.external_lpd(_grid([[10.0, 20.0, np.nan, 30.0]]), legend={10: 1, 20: 5})
    np.testing.assert_array_equal(out.values, [[1, 5, ND, ND]])
    with pytest.raises(ConfigError):
        prod.external_lpd(layer, legend="nope")
    with pytest.raises(ConfigError):
        prod.external_lpd(layer, legend={1: 9})


# --- trajectory


def _lehmer(code):
    """Permutation with the given Lehmer code (its number of inversions is sum(code))."""
    pool = list(range(len(code)))
    return np.array([pool.pop(c) for c in code], dtype=np.float64)


def _s_brute(y):
    return sum(np.sign(y[j] - y[i]) for i in range(len(y)) for j in range(i + 1, len(y)))


def test_trajectory_trends_earth_hand_example():
    # n = 16: Trends.Earth critical |S| 28 (90 %), 36 (95 %), 56 (99 %).
    s36 = 0.3 + 0.02 * _lehmer([3] * 13 + [2, 1, 0])  # 42 inversions: S = 120 - 84 = 36
    s34 = s36.copy()
    s34[[0, 1]] = s34[[1, 0]]  # one more inversion: S = 34
    assert _s_brute(s36) == 36 and _s_brute(s34) == 34
    years = np.arange(2001, 2017.0)
    assert np.polyfit(years, s36, 1)[0] > 0.001 and np.polyfit(years, s34, 1)[0] > 0.001
    series = np.stack([s36, s34, -s36 + 1.0, s36 * 1e-3], axis=1)[:, None, :]
    out = prod.trajectory(_stack(series), method="trends_earth")
    # S = 36 >= 36 -> +1; S = 34 is only "90 %" -> 0; decreasing -> -1; tiny OLS slope -> 0.
    np.testing.assert_array_equal(out.values, [[1, 0, -1, 0]])
    assert out.attrs["method"] == "trends_earth" and out.attrs["level"] == 95
    assert out.attrs["min_slope"] == 0.001 and _json_ok(out)
    np.testing.assert_array_equal(
        prod.trajectory(_stack(series), method="trends_earth", level=90).values, [[1, 1, -1, 0]]
    )
    # The same S = 36 is not significant at two-sided p <= 0.05 with the exact-variance test.
    assert pmk.original_test(s36).p > 0.05
    mk = prod.trajectory(_stack(series))
    np.testing.assert_array_equal(mk.values, [[0, 0, 0, 0]])


def test_trajectory_trends_earth_equal_to_90_critical_is_stable():
    # n = 5: the 90 % and 95 % critical values are both 6; TE resets |S| <= 6 to 0.
    up = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # S = 10
    s6 = np.array([2.0, 1.0, 3.0, 5.0, 4.0])  # S = 6 (2 inversions)
    assert _s_brute(s6) == 6
    out = prod.trajectory(_stack(np.stack([up, s6], 1)[:, None, :]), method="trends_earth")
    np.testing.assert_array_equal(out.values, [[1, 0]])


def test_trajectory_mann_kendall_and_z_score_against_pymannkendall():
    rng = np.random.default_rng(4)
    v = np.round(
        rng.normal(0.5, 0.05, (16, 6, 7)) + rng.normal(0, 0.01, (6, 7)) * np.arange(16)[:, None, None],
        2,
    )
    v[rng.random(v.shape) < 0.1] = np.nan
    v[:, 0, 0] = np.nan
    v[2:, 0, 1] = np.nan  # 2 values < min_count
    for alpha in (0.05, 0.2):
        out = prod.trajectory(_stack(v), alpha=alpha).values
        for iy, ix in itertools.product(range(6), range(7)):
            y = v[:, iy, ix][np.isfinite(v[:, iy, ix])]
            if y.size < 3:
                assert out[iy, ix] == ND
                continue
            r = pmk.original_test(y, alpha=alpha)
            expected = int(np.sign(r.s)) if r.p <= alpha else 0
            assert out[iy, ix] == expected
    z = prod.trajectory(_stack(v), method="z_score", z_threshold=1.28).values
    for iy, ix in itertools.product(range(1, 6), range(7)):
        r = pmk.original_test(v[:, iy, ix][np.isfinite(v[:, iy, ix])])
        assert z[iy, ix] == (1 if r.z > 1.28 else -1 if r.z < -1.28 else 0)


def test_trajectory_errors_and_lazy():
    arr = _stack(np.arange(16.0))
    with pytest.raises(ConfigError):
        prod.trajectory(arr, method="linear")
    with pytest.raises(ConfigError):
        prod.trajectory(arr, method="trends_earth", level=80)
    with pytest.raises(PeriodError):
        prod.trajectory(_stack(np.arange(61.0)), method="trends_earth")
    lazy = prod.trajectory(_stack(np.ones((16, 4, 4))).chunk({"y": 2}), method="trends_earth")
    assert isinstance(lazy.data, dsa.Array)
    assert (lazy.values == 0).all()


# --- state


def _pc_reference(hist, cmp_, min_difference=0.01):
    """Trends.Earth percentile-class state of one pixel, by hand with np.percentile."""
    h = hist[np.isfinite(hist)]
    c = cmp_[np.isfinite(cmp_)]
    if h.size == 0 or c.size == 0:
        return ND
    lo, hi = h.min(), h.max()
    ext = np.concatenate([h, [lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)]])
    dec = np.percentile(ext, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100])

    def cls(m):
        if m <= dec[0]:
            return 1
        for k in range(1, 9):
            if dec[k - 1] < m <= dec[k]:
                return k + 1
        return 10

    mh, mc = h.mean(), c.mean()
    delta = cls(mc) - cls(mh)
    if abs(mc - mh) <= min_difference:
        return 0
    return -1 if delta <= -2 else 1 if delta >= 2 else 0


def test_state_percentile_class_hand_pixel():
    hist = np.round(np.linspace(0.40, 0.52, 13), 4)  # 2001..2013
    up = np.concatenate([hist, [0.55, 0.56, 0.57]])  # comparison mean 0.56
    # deciles of the extended set, by hand
    ext = np.concatenate([hist, [0.40 - 0.05 * 0.12, 0.52 + 0.05 * 0.12]])
    dec = np.percentile(ext, np.arange(10, 101, 10))
    assert hist.mean() == pytest.approx(0.46)
    assert dec[3] < 0.46 <= dec[4]  # historical class 5
    assert 0.56 > dec[8]  # comparison class 10 -> delta 5 -> improving
    down = np.concatenate([hist, [0.41, 0.42, 0.40]])  # mean 0.41: class 1 or 2 -> degrading
    assert 0.41 <= dec[1]
    narrow = np.linspace(0.5, 0.5012, 13)  # tiny range: big class change, tiny difference
    flat = np.concatenate([narrow, [0.505, 0.505, 0.505]])
    gap = up.copy()
    gap[[1, 5, 14]] = np.nan
    nocmp = up.copy()
    nocmp[13:] = np.nan
    v = np.stack([up, down, flat, gap, nocmp], axis=1)[:, None, :]
    out = prod.state(_stack(v), historical=(2001, 2013), comparison=(2014, 2016))
    expected = [_pc_reference(v[:13, 0, i], v[13:, 0, i]) for i in range(5)]
    assert expected[:3] == [1, -1, 0] and expected[4] == ND
    np.testing.assert_array_equal(out.values[0], expected)
    assert out.dtype == np.int16 and out.attrs["historical"] == [2001, 2013] and _json_ok(out)
    # without the minimum difference the narrow pixel is "improving"
    out0 = prod.state(_stack(v), (2001, 2013), (2014, 2016), min_difference=0.0)
    assert out0.values[0, 2] == 1


def test_state_percentile_class_random_against_reference_and_dask():
    rng = np.random.default_rng(8)
    v = np.round(rng.normal(0.5, 0.08, (16, 9, 8)), 3)
    v[13:] += rng.normal(0, 0.1, (9, 8))
    v[rng.random(v.shape) < 0.15] = np.nan
    v[:13, 0, 0] = np.nan
    arr = _stack(v)
    out = prod.state(arr, (2001, 2013), (2014, 2016)).values
    for iy, ix in itertools.product(range(9), range(8)):
        assert out[iy, ix] == _pc_reference(v[:13, iy, ix], v[13:, iy, ix]), (iy, ix)
    lazy = prod.state(arr.chunk({"year": 3, "y": 4, "x": 3}), (2001, 2013), (2014, 2016))
    assert isinstance(lazy.data, dsa.Array)
    np.testing.assert_array_equal(lazy.values, out)
    assert len({-1, 0, 1} & set(np.unique(out).tolist())) == 3


def test_state_z_score_sd_and_se():
    hist = np.array([0.50, 0.52, 0.48, 0.51, 0.49, 0.50, 0.53, 0.47, 0.50, 0.52, 0.48, 0.51, 0.49])
    sd = hist.std(ddof=1)
    cmp_small = hist.mean() - 1.5 * sd  # z_sd = -1.5, z_se = -1.5 * sqrt(3) = -2.6
    cmp_big = hist.mean() + 2.5 * sd  # z = 2.5 either way
    v = np.stack(
        [
            np.concatenate([hist, [cmp_small] * 3]),
            np.concatenate([hist, [cmp_big] * 3]),
            np.concatenate([np.full(13, 0.5), [0.6] * 3]),
        ],
        1,
    )[:, None, :]
    v2 = v.copy()
    v2[:12, 0, 0] = np.nan  # one historical value: no SD
    sd_out = prod.state(_stack(v), (2001, 2013), (2014, 2016), method="z_score")
    se_out = prod.state(_stack(v), (2001, 2013), (2014, 2016), method="z_score", z_denominator="se")
    np.testing.assert_array_equal(sd_out.values, [[0, 1, 1]])
    np.testing.assert_array_equal(se_out.values, [[-1, 1, 1]])
    assert se_out.attrs["z_denominator"] == "se" and _json_ok(se_out)
    one = prod.state(_stack(v2), (2001, 2013), (2014, 2016), method="z_score")
    assert one.values[0, 0] == ND


def test_state_errors():
    arr = _stack(np.ones((16, 2, 2)))
    with pytest.raises(PeriodError, match="2000"):
        prod.state(arr, (2000, 2012), (2013, 2016))
    with pytest.raises(PeriodError):
        prod.state(arr, (2010, 2005), (2013, 2016))
    with pytest.raises(ConfigError):
        prod.state(arr, (2001, 2013), (2014, 2016), method="nope")
    with pytest.raises(ConfigError):
        prod.state(arr, (2001, 2013), (2014, 2016), z_denominator="var")


# --- performance and zonal percentiles


def _perf_case(seed=2, ny=23, nx=19):
    rng = np.random.default_rng(seed)
    v = rng.gamma(4.0, 0.1, (8, ny, nx)).astype(np.float32)
    v[rng.random(v.shape) < 0.1] = np.nan
    v[:, 0, 0] = np.nan  # no mean
    units = rng.choice([101, 102, 305, 2000007], size=(ny, nx)).astype(np.int32)
    units[rng.random((ny, nx)) < 0.05] = ND
    units[1, 1] = -5  # negative = missing
    units[2, 2] = 999  # a unit of one pixel
    return v, units


def test_performance_against_np_percentile_per_unit():
    v, units = _perf_case()
    finite = np.isfinite(v)
    with np.errstate(invalid="ignore"):
        means = np.where(finite, v, 0).astype(np.float64).sum(0) / finite.sum(0)
    out = prod.performance(_stack(v), _grid(units), threshold=0.5, percentile=90.0)
    ratio, cls = out["ratio"].values, out["class"].values
    assert ratio.dtype == np.float32 and cls.dtype == np.int16
    ok = np.isfinite(means) & (units >= 0)
    exp_ratio = np.full(units.shape, np.nan)
    for u in np.unique(units[ok]):
        sel = ok & (units == u)
        exp_ratio[sel] = means[sel] / np.percentile(means[sel], 90.0)
    np.testing.assert_allclose(ratio, exp_ratio.astype(np.float32), rtol=1e-6)
    assert np.isnan(ratio[~ok]).all()
    assert ratio[2, 2] == 1.0  # one-pixel unit is its own potential
    exp_cls = np.where(exp_ratio <= 0.5, -1, 0)
    exp_cls[~ok] = ND
    np.testing.assert_array_equal(cls, exp_cls)
    assert (cls == -1).any() and (cls == 0).any()
    assert out["class"].attrs["percentile"] == 90.0 and _json_ok(out["class"])


def test_performance_dask_equals_numpy():
    v, units = _perf_case(seed=5, ny=40, nx=37)
    ref = prod.performance(_stack(v), _grid(units), percentile=75.0)
    lazy = prod.performance(
        _stack(v).chunk({"year": 3, "y": 11, "x": 9}),
        _grid(units).chunk({"y": 7, "x": 13}),
        percentile=75.0,
    )
    assert isinstance(lazy["ratio"].data, dsa.Array)
    np.testing.assert_array_equal(lazy["class"].values, ref["class"].values)
    np.testing.assert_allclose(lazy["ratio"].values, ref["ratio"].values, rtol=1e-6)
    with pytest.raises(GridError):
        prod.performance(_stack(v), _grid(units[:-1]))


def test_zonal_percentile_multichunk_dask_equals_np_percentile():
    rng = np.random.default_rng(9)
    vals = np.round(rng.normal(size=(57, 43)), 2)  # ties
    vals[rng.random(vals.shape) < 0.1] = np.nan
    units = rng.integers(0, 6, size=(57, 43)) * 1000 + 7
    units[rng.random(units.shape) < 0.05] = ND
    units[0, 0] = 123456789
    values = _grid(vals).chunk({"y": 10, "x": 8})
    for q in (0.0, 12.5, 50.0, 90.0, 100.0):
        got = prod.zonal_percentile(values, _grid(units).chunk({"y": 13, "x": 5}), q)
        ok = np.isfinite(vals) & (units >= 0)
        expected = {int(u): float(np.percentile(vals[ok & (units == u)], q)) for u in np.unique(units[ok])}
        assert got == expected  # exact


@pytest.mark.parametrize("kw", [{"nbins": 2, "max_collect": 1}, {"nbins": 3, "max_collect": 0}])
def test_zonal_quantiles_refinement_is_exact(kw):
    # Forces the refinement passes (few bins, tiny collect budget) incl. heavy ties.
    rng = np.random.default_rng(10)
    vals = np.round(rng.normal(size=(30, 31)) * 3)
    vals[:10] = 1.0  # many equal values
    units = rng.integers(0, 3, size=(30, 31))
    codes_, pct, n = zonal_quantiles(
        dsa.from_array(vals, chunks=(8, 9)), dsa.from_array(units, chunks=(8, 9)), 90.0, **kw
    )
    for c, p, k in zip(codes_, pct, n, strict=True):
        assert p == np.percentile(vals[units == c], 90.0)
        assert k == (units == c).sum()


def test_trajectory_significant_s_with_zero_median_slope():
    # 11 zeros then 5 ones: S = 55, p ~ 0.002, but the Theil-Sen slope is 0 (65 of 120 pairs tie).
    y = np.array([0.0] * 11 + [1.0] * 5)
    r = pmk.original_test(y)
    assert r.p < 0.01 and pmk.sens_slope(y).slope == 0
    arr = _stack(y)
    assert prod.trajectory(arr).values[0, 0] == 1  # default: the test alone decides
    assert prod.trajectory(arr, min_slope=0.001).values[0, 0] == 0
    assert prod.trajectory(arr, method="z_score").values[0, 0] == 1


def test_trajectory_int16_nodata_input():
    # NDVI x 10000 int16 with -32768 gaps behaves like the float series with NaN.
    rng = np.random.default_rng(12)
    v = np.round(rng.normal(5000, 400, (16, 5, 6)) + 60 * np.arange(16)[:, None, None])
    v[rng.random(v.shape) < 0.2] = np.nan
    vi = np.where(np.isnan(v), ND, v).astype(np.int16)
    for method in ("mann_kendall", "trends_earth"):
        a = prod.trajectory(_stack(v), method=method, min_slope=10.0)
        b = prod.trajectory(_stack(vi), method=method, min_slope=10.0)
        np.testing.assert_array_equal(a.values, b.values)
    sa = prod.state(_stack(v), (2001, 2013), (2014, 2016), min_difference=100.0)
    sb = prod.state(_stack(vi), (2001, 2013), (2014, 2016), min_difference=100.0)
    np.testing.assert_array_equal(sa.values, sb.values)


# --- numba state / mean kernels against numpy references, pixel by pixel


def _z_reference(hist, cmp_, z_threshold=1.96, se=False):
    h = hist[np.isfinite(hist)]
    c = cmp_[np.isfinite(cmp_)]
    if h.size < 2 or c.size == 0:
        return ND
    d = h.std(ddof=1) / (np.sqrt(c.size) if se else 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (c.mean() - h.mean()) / d
    return 1 if z > z_threshold else -1 if z < -z_threshold else 0


def _state_cases(seed, n_h, n_c, npix=150):
    rng = np.random.default_rng(seed)
    v = np.round(rng.normal(0.5, 0.05, (n_h + n_c, npix)), 2)  # heavy ties
    v[n_h:] += rng.normal(0, 0.06, npix)
    v[rng.random(v.shape) < 0.15] = np.nan
    v[:, 0] = np.nan
    v[:n_h, 1] = 0.3  # constant history
    v[n_h:, 1] = 0.3  # ... and no change: mean == every decile
    v[:n_h, 2] = 0.1  # 0.1 * 13 / 13 is not 0.1 in floating point
    v[:n_h, 3] = np.nan
    v[0, 3] = 0.4  # one historical value
    v[n_h:, 4] = np.nan  # no comparison value
    v[1, 5] = np.inf  # infinite = missing
    return v[:n_h, None, :], v[n_h:, None, :]


@pytest.mark.parametrize(("n_h", "n_c"), [(1, 1), (2, 3), (7, 1), (8, 2), (13, 3), (16, 8), (20, 5), (31, 9)])
def test_state_kernels_equal_numpy_references_pixel_by_pixel(n_h, n_c):
    from ldnkit.kernels import state as sk

    h, c = _state_cases(n_h * 100 + n_c, n_h, n_c)
    for lanes in (True, False):
        pc = sk.percentile_class(h, c, 0.01, lanes=lanes)
        pc0 = sk.percentile_class(h, c, 0.0, lanes=lanes)
        zs = sk.z_score(h, c, 1.28, lanes=lanes)
        ze = sk.z_score(h, c, 1.96, se=True, lanes=lanes)
        for i in range(h.shape[2]):
            hi, ci = h[:, 0, i], c[:, 0, i]
            assert pc[0, i] == _pc_reference(hi, ci), (lanes, i)
            assert pc0[0, i] == _pc_reference(hi, ci, 0.0), (lanes, i)
            assert zs[0, i] == _z_reference(hi, ci, 1.28), (lanes, i)
            assert ze[0, i] == _z_reference(hi, ci, 1.96, se=True), (lanes, i)


@pytest.mark.parametrize("n_h", [8, 13, 24])
def test_state_kernels_on_gap_free_tiles(n_h):
    # Tiles whose values are all present skip the compaction step: same numbers.
    from ldnkit.kernels import state as sk

    rng = np.random.default_rng(n_h)
    v = np.round(rng.normal(0.5, 0.05, (n_h + 3, 1, 192)), 2)
    v[n_h:] += rng.normal(0, 0.05, 192)
    v[:, 0, 128:] = np.round(v[:, 0, 128:], 1)  # a third tile, with heavier ties
    h, c = v[:n_h], v[n_h:]
    pc, zs = sk.percentile_class(h, c, 0.0), sk.z_score(h, c, 1.0)
    for i in range(192):
        assert pc[0, i] == _pc_reference(h[:, 0, i], c[:, 0, i], 0.0)
        assert zs[0, i] == _z_reference(h[:, 0, i], c[:, 0, i], 1.0)


def test_state_kernels_int16_nodata_and_long_windows():
    from ldnkit.kernels import state as sk

    rng = np.random.default_rng(21)
    v = np.round(rng.normal(5000, 500, (150, 1, 90)))
    v[rng.random(v.shape) < 0.1] = np.nan
    vi = np.where(np.isnan(v), ND, v).astype(np.int16)
    for n_h in (13, 140):  # 140 > LANES_MAX_TIME: the one-pixel kernel, numpy's recursive sums
        h, c = v[:n_h], v[n_h:]
        a = sk.percentile_class(h, c, 100.0)
        np.testing.assert_array_equal(a, sk.percentile_class(vi[:n_h], vi[n_h:], 100.0))
        z = sk.z_score(h, c, 1.0)
        np.testing.assert_array_equal(z, sk.z_score(vi[:n_h], vi[n_h:], 1.0))
        for i in range(0, 90, 7):
            assert a[0, i] == _pc_reference(h[:, 0, i], c[:, 0, i], 100.0)
            assert z[0, i] == _z_reference(h[:, 0, i], c[:, 0, i], 1.0)
    with pytest.raises(ValueError):
        sk.z_score(v[:140], v[140:], lanes=True)


def test_numpy_pairwise_sum_order_is_reproduced():
    from ldnkit.kernels import state as sk

    rng = np.random.default_rng(5)
    for n in [*range(0, 140), 255, 256, 257, 1000, 4099]:
        a = rng.normal(size=n) * 10.0 ** rng.uniform(-6, 6, size=n)  # rounding-sensitive
        assert sk._pairwise_sum(a, n) == np.sum(a), n
    assert str(sk._pairwise_sum(np.array([-0.0, -0.0]), 2)) == "0.0"  # as np.sum


def test_window_mean_equals_nanmean():
    from ldnkit.kernels import state as sk

    rng = np.random.default_rng(6)
    v = rng.normal(size=(16, 7, 9)) * 10.0 ** rng.uniform(-4, 4, size=(16, 7, 9))
    v[rng.random(v.shape) < 0.2] = np.nan
    v[:, 0, 0] = np.nan
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmean(v, axis=0)
    np.testing.assert_array_equal(sk.window_mean(v), expected)
    vi = np.where(np.isnan(v), ND, np.clip(np.round(v), -30000, 30000)).astype(np.int16)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        expected_i = np.nanmean(np.where(vi == ND, np.nan, vi.astype(np.float64)), axis=0)
    np.testing.assert_array_equal(sk.window_mean(vi), expected_i)


@pytest.mark.parametrize(
    "value_range",
    [None, (-3.0, 3.0), (-0.5, 0.5), (10.0, 20.0), (1.0, 1.0), (-1e6, 1e6)],  # exact, narrow, off, flat, wide
)
def test_zonal_quantiles_with_value_range_hint_are_exact(value_range):
    rng = np.random.default_rng(11)
    vals = np.round(rng.normal(size=(45, 38)), 2)
    vals[rng.random(vals.shape) < 0.1] = np.nan
    units = rng.integers(0, 5, size=(45, 38)) * 7 + 3
    units[rng.random(units.shape) < 0.05] = ND
    for q in (0.0, 90.0, 100.0):
        for kw in ({}, {"nbins": 4, "max_collect": 10}):
            codes_, pct, n = zonal_quantiles(
                dsa.from_array(vals, chunks=(15, 13)),
                dsa.from_array(units, chunks=(15, 13)),
                q,
                value_range=value_range,
                **kw,
            )
            ok = np.isfinite(vals) & (units >= 0)
            assert codes_.tolist() == np.unique(units[ok]).tolist()
            for c, p, k in zip(codes_, pct, n, strict=True):
                assert p == np.percentile(vals[ok & (units == c)], q)
                assert k == (ok & (units == c)).sum()


def test_zonal_quantiles_falls_back_when_a_block_has_too_many_units(monkeypatch):
    from ldnkit.kernels import zonal

    monkeypatch.setattr(zonal, "HIST_CELLS", 4 * 1024)  # at most 4 units per block with a hint
    rng = np.random.default_rng(12)
    vals = rng.normal(size=(30, 30))
    units = rng.integers(0, 9, size=(30, 30)) * 1_000_003  # also a sparse code range
    codes_, pct, _ = zonal.zonal_quantiles(vals, units, 75.0, value_range=(-1.0, 1.0))
    for c, p in zip(codes_, pct, strict=True):
        assert p == np.percentile(vals[units == c], 75.0)
    with pytest.raises(ValueError):
        zonal.zonal_quantiles(vals, units, 75.0, value_range=(1.0, -1.0))


def test_performance_int16_input_equals_float_input():
    v, units = _perf_case(seed=7, ny=33, nx=29)
    vf = np.round(v.astype(np.float64) * 1000)
    vi = np.where(np.isnan(vf), ND, vf).astype(np.int16)
    a = prod.performance(_stack(vf).chunk({"y": 11, "x": 10}), _grid(units))
    b = prod.performance(_stack(vi).chunk({"y": 11, "x": 10}), _grid(units))
    np.testing.assert_array_equal(a["ratio"].values, b["ratio"].values)
    np.testing.assert_array_equal(a["class"].values, b["class"].values)
    assert prod._value_range(_stack(vi), _grid(units)) == (-32768.0, 32767.0)
