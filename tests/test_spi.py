"""SPI / SPEI kernels, indicators and monthly I/O against independent references.

* special functions against scipy (incomplete gamma, inverse normal, digamma, trigamma) and
  numpy (the vectorized exp / log), AS241's published coefficient hash sums;
* fits against scipy (gamma maximum likelihood) and climate-indices' L-moment routines;
* SPI on 344 real NOAA nClimDiv divisions, 1895-2022, scales 1, 3, 6, 12, 24, against
  climate-indices 3.1 (gamma, calibration 1981-2010) and xclim 0.62 (``method="APP"``,
  ``floc=0``) to 1e-6; SPEI against climate-indices' log-logistic; Pearson III and the exact
  MLE against references assembled from scipy.stats;
* every documented bad input has a test of its one-line message.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from pathlib import Path

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from scipy import special, stats

from ldnkit.errors import ConfigError, InputError, LdnError, PeriodError
from ldnkit.indicators.spi import CLIP, annual_spi, spei, spi
from ldnkit.io.climate import open_monthly
from ldnkit.kernels.spi import (
    N_PAR,
    accumulate,
    digamma,
    exp_lanes,
    fit_gamma,
    gamma_p_lanes,
    gammainc,
    gammaincc,
    glo_from_lmoments,
    lmoments3,
    log_lanes,
    mle_shape,
    ndtri,
    ndtri_lanes,
    normal,
    pearson3_from_lmoments,
    thom_shape,
    trigamma,
)
from ldnkit.months import month_index

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CLIMDIV = SHARED / "ncei_climdiv_precip"
BUFFALO_CSV = SHARED / "buffalo_ny_modis" / "ncei_climdiv_NY_div09_GreatLakes_precip_1895-2022.csv"
needs_climdiv = pytest.mark.skipif(
    not CLIMDIV.exists(), reason="real data absent: ../shared/data/ncei_climdiv_precip not found"
)
SCALES = (1, 3, 6, 12, 24)
REF0 = (1981 - 1895) * 12  # reference steps of the 1895-01 .. 2022-12 record
REF1 = (2011 - 1895) * 12


def _climate_indices():
    ci = pytest.importorskip("climate_indices")
    from climate_indices import compute, indices, lmoments

    logging.getLogger("climate_indices").setLevel(logging.ERROR)
    return ci, indices, compute, lmoments


@pytest.fixture(scope="module")
def climdiv() -> np.ndarray:
    """(344, 1536) monthly precipitation in inches, float64."""
    if not CLIMDIV.exists():
        pytest.skip("real data absent")
    return np.load(CLIMDIV / "ncei_climdiv_precip_inches_344x1536.npy")


def _as_array(a: np.ndarray, start: str = "1895-01-01", units: str | None = "in") -> xr.DataArray:
    """(cells, time) -> (time, station) DataArray."""
    t = pd.date_range(start, periods=a.shape[-1], freq="MS")
    attrs = {"units": units} if units else {}
    return xr.DataArray(a.T, dims=("time", "station"), coords={"time": t}, attrs=attrs)


def _sums(a: np.ndarray, scale: int) -> np.ndarray:
    """Rolling sums by np.convolve, NaN-padded (independent of the kernel's running sum)."""
    a = np.atleast_2d(a)
    out = np.full(a.shape, np.nan)
    for i, row in enumerate(a):
        out[i, scale - 1 :] = np.convolve(row, np.ones(scale), mode="valid")
    return out


def _synthetic(n_cell: int, years: int = 40, seed: int = 0, shape: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.gamma(shape, 30.0, size=(n_cell, 12 * years))


# --- special functions ---------------------------------------------------------------------------


def test_as241_coefficients_match_the_published_hash_sums():
    # Wichura (1988) prints the sum of the mantissas of each coefficient set to check transcription
    def mantissa_sum(*sets):
        return sum(c / 10 ** math.floor(math.log10(abs(c))) for coeffs in sets for c in coeffs)

    ab = mantissa_sum(normal.AS241_A, normal.AS241_B[1:])
    cd = mantissa_sum(normal.AS241_C, normal.AS241_D[1:])
    ef = mantissa_sum(normal.AS241_E, normal.AS241_F[1:])
    assert ab == pytest.approx(55.8831928806149014439, abs=1e-13)
    assert cd == pytest.approx(49.33206503301610289036, abs=1e-13)
    assert ef == pytest.approx(47.52583317549289671629, abs=1e-13)


def test_ndtri_matches_scipy_over_the_whole_range():
    rng = np.random.default_rng(0)
    p = np.concatenate(
        [rng.random(20000), 10 ** rng.uniform(-300, -1, 3000), 1 - 10 ** rng.uniform(-16, -1, 3000)]
    )
    ref = special.ndtri(p)
    z = np.array([ndtri(v) for v in p])
    zl = np.empty_like(p)
    ndtri_lanes(p, p.size, zl, np.empty((2, p.size)), np.empty(p.size, np.int64))
    for got in (z, zl):
        np.testing.assert_allclose(got, ref, rtol=2e-15, atol=1e-15)
    assert ndtri(0.0) == -np.inf and ndtri(1.0) == np.inf and math.isnan(ndtri(1.5))
    assert ndtri(0.5) == 0.0


def test_regularized_incomplete_gamma_matches_scipy():
    rng = np.random.default_rng(1)
    a = np.exp(rng.uniform(math.log(1e-3), math.log(1e5), 6000))
    # the bulk (where SPI lives) and the far tails
    x = np.concatenate([a * np.exp(rng.normal(0, 3, a.size) / np.sqrt(a)), a * rng.uniform(0, 4, a.size)])
    a = np.concatenate([a, a])
    p = np.array([gammainc(u, v) for u, v in zip(a, x, strict=True)])
    q = np.array([gammaincc(u, v) for u, v in zip(a, x, strict=True)])
    rp, rq = special.gammainc(a, x), special.gammaincc(a, x)
    np.testing.assert_allclose(p, rp, rtol=1e-12, atol=2e-14)
    np.testing.assert_allclose(q, rq, rtol=5e-12, atol=2e-14)
    assert gammainc(2.0, 0.0) == 0.0 and gammaincc(2.0, 0.0) == 1.0


@pytest.mark.parametrize("a", [0.01, 0.3, 1.0, 2.5, 9.99, 10.0, 24.0, 150.0, 1000.0, 1e4, 1e5])
def test_vectorized_gamma_series_matches_scipy(a):
    cap = a + 4 * math.sqrt(a) + 5
    y = np.concatenate([np.linspace(cap * 1e-6, cap, 61), [a, a + 1e-9, cap]])
    out = np.empty(y.size)
    gamma_p_lanes(
        a,
        math.lgamma(a),
        y,
        np.log(y),
        y.size,
        out,
        np.empty((3, y.size)),
        np.empty(y.size, np.int64),
        np.empty(4),
    )
    np.testing.assert_allclose(out, special.gammainc(a, y), rtol=2e-12, atol=2e-13)


def test_digamma_trigamma_exp_log():
    rng = np.random.default_rng(2)
    x = np.exp(rng.uniform(-6, 8, 4000))
    np.testing.assert_allclose([digamma(v) for v in x], special.digamma(x), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose([trigamma(v) for v in x], special.polygamma(1, x), rtol=1e-13)
    e = np.concatenate([rng.uniform(-708, 709, 20000), rng.uniform(-1, 1, 20000)])
    out, ib = np.empty(e.size), np.empty(e.size, np.int64)
    exp_lanes(e, e.size, out, ib)
    np.testing.assert_allclose(out, np.exp(e), rtol=4.5e-16)
    v = np.concatenate([np.exp(rng.uniform(-700, 700, 20000)), rng.uniform(0.99, 1.01, 20000)])
    log_lanes(v, v.size, out, ib)
    np.testing.assert_allclose(out, np.log(v), rtol=5e-16, atol=2.3e-16)


# --- accumulation and fits -----------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1, 3, 12, 48])
def test_accumulation_matches_convolution_with_gaps_and_zeros(scale):
    rng = np.random.default_rng(scale)
    row = rng.gamma(0.5, 20.0, 1536)
    row[rng.random(row.size) < 0.3] = 0.0
    row[100:160] = 0.0  # long dry spell: windows of zeros must be exactly 0
    row[rng.random(row.size) < 0.01] = np.nan
    out = np.empty(row.size)
    accumulate(row, scale, out)
    ref = _sums(row, scale)[0]
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    ok = ~np.isnan(ref)
    np.testing.assert_allclose(out[ok], ref[ok], rtol=1e-12, atol=1e-9)
    assert np.all(out[ok][ref[ok] == 0] == 0.0)


def test_mle_shape_matches_scipy_gamma_fit():
    rng = np.random.default_rng(3)
    for shape in (0.4, 1.0, 3.0, 30.0, 300.0):
        v = rng.gamma(shape, 2.0, 30)
        a_stat = math.log(v.mean()) - np.log(v).mean()
        ref_a, _, ref_scale = stats.gamma.fit(v, floc=0)
        assert mle_shape(a_stat) == pytest.approx(ref_a, rel=1e-9)
        par = np.empty(N_PAR)
        fit_gamma(30, 0, v.sum(), np.log(v).sum(), True, par)
        assert par[3] == pytest.approx(ref_scale, rel=1e-9)
        # Thom's closed form, by hand
        assert thom_shape(a_stat) == pytest.approx((1 + math.sqrt(1 + 4 * a_stat / 3)) / (4 * a_stat))


def test_lmoment_fits_match_climate_indices():
    _, _, _, lmoments = _climate_indices()
    rng = np.random.default_rng(4)
    for k in range(20):
        v = rng.gamma(1.0 + k, 3.0, 30) + (rng.normal(0, 5, 30) if k % 3 == 0 else 0)
        l1, l2, t3 = lmoments3(v.copy(), v.size)
        mu, sd, g = pearson3_from_lmoments(l1, l2, t3)
        ref = lmoments.fit(v)
        assert (mu, sd, g) == pytest.approx((ref["loc"], ref["scale"], ref["skew"]), rel=1e-10, abs=1e-12)
        loc, scale, shape = glo_from_lmoments(l1, l2, t3)
        ref = lmoments.fit_glo(v)
        assert (loc, scale, shape) == pytest.approx(
            (ref["loc"], ref["scale"], ref["shape"]), rel=1e-10, abs=1e-12
        )


# --- agreement on 344 real divisions -------------------------------------------------------------


@needs_climdiv
@pytest.mark.parametrize("scale", SCALES)
def test_spi_agrees_with_climate_indices_on_344_divisions(climdiv, scale):
    _, indices, compute, _ = _climate_indices()
    ours = spi(_as_array(climdiv), scale).values.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # climate-indices' goodness-of-fit notes
        ref = _ci_spi(indices, compute, climdiv, scale)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    assert np.isnan(ours[:, : scale - 1]).all() and not np.isnan(ours[:, scale - 1 :]).any()
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def _ci_spi(indices, compute, climdiv, scale):
    return indices.spi(
        np.ascontiguousarray(climdiv.T)[:, :, None],
        scale,
        indices.Distribution.gamma,
        1895,
        1981,
        2010,
        compute.Periodicity.monthly,
        spatial_time_major=True,
    )[:, :, 0].T


@needs_climdiv
@pytest.mark.parametrize("scale", SCALES)
def test_spi_agrees_with_xclim_app_on_344_divisions(climdiv, scale):
    xclim = pytest.importorskip("xclim")
    from xclim.indices import standardized_precipitation_index

    assert xclim.__version__
    da = _as_array(climdiv, units="in/month")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = standardized_precipitation_index(
            da,
            freq=None,
            window=scale,
            dist="gamma",
            method="APP",
            fitkwargs={"floc": 0},
            cal_start="1981-01-01",
            cal_end="2010-12-31",
        ).values
    ours = spi(da, scale).values
    # xclim clips at +-8.21 by design (float64 limit), ldnkit and climate-indices at +-3.09
    assert np.nanmax(np.abs(ref)) <= 8.21
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, np.clip(ref, -CLIP, CLIP), rtol=0, atol=1e-6)


@needs_climdiv
@pytest.mark.parametrize("scale", [1, 6, 12])
def test_spei_agrees_with_climate_indices_loglogistic(climdiv, scale):
    _, indices, compute, _ = _climate_indices()
    precip = climdiv * 25.4
    month = np.arange(climdiv.shape[1]) % 12
    pet = (
        np.clip(60.0 - 55.0 * np.cos(2 * np.pi * month / 12), 0, None)[None, :]
        * np.linspace(0.6, 1.6, 344)[:, None]
    )
    ours = spei(_as_array(precip, units="mm"), _as_array(pet, units="mm"), scale).values.T
    ref = indices.spei(
        np.ascontiguousarray(precip.T)[:, :, None],
        np.ascontiguousarray(pet.T)[:, :, None],
        scale,
        indices.Distribution.loglogistic,
        compute.Periodicity.monthly,
        1895,
        1981,
        2010,
        spatial_time_major=True,
    )[:, :, 0].T
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def _reference_by_month(acc: np.ndarray, cdf_of_month) -> np.ndarray:
    """SPI from a per-calendar-month CDF built by the test (reference steps REF0:REF1)."""
    out = np.full(acc.shape, np.nan)
    for m in range(12):
        ref = acc[REF0 + m : REF1 : 12]
        cdf = cdf_of_month(ref[np.isfinite(ref)])
        idx = np.arange(m, acc.size, 12)
        out[idx] = np.clip(special.ndtri(cdf(acc[idx])), -CLIP, CLIP)
    return out


@needs_climdiv
@pytest.mark.parametrize("scale", [1, 3, 12])
def test_pearson3_matches_scipy_with_lmoment_parameters(climdiv, scale):
    _, _, _, lmoments = _climate_indices()
    cells = list(range(0, 344, 7))
    ours = spi(_as_array(climdiv[cells]), scale, distribution="pearson3").values.T

    def cdf_of_month(ref):
        p0 = np.mean(ref == 0)
        fit = lmoments.fit(ref[ref > 0])
        assert abs(fit["skew"]) > 2e-5  # scipy.stats.pearson3 turns normal below 1.6e-5
        return lambda x: np.where(
            np.isnan(x), np.nan, p0 + (1 - p0) * stats.pearson3.cdf(x, fit["skew"], fit["loc"], fit["scale"])
        )

    acc = _sums(climdiv[cells], scale)
    for i in range(len(cells)):
        np.testing.assert_allclose(ours[i], _reference_by_month(acc[i], cdf_of_month), atol=1e-6)


@needs_climdiv
def test_gamma_mle_matches_scipy_fit(climdiv):
    cells = list(range(3, 344, 11))
    ours = spi(_as_array(climdiv[cells]), 3, fit="mle").values.T

    def cdf_of_month(ref):
        p0 = np.mean(ref == 0)
        shape, _, scale = stats.gamma.fit(ref[ref > 0], floc=0)
        return lambda x: p0 + (1 - p0) * stats.gamma.cdf(x, shape, scale=scale)

    acc = _sums(climdiv[cells], 3)
    for i in range(len(cells)):
        np.testing.assert_allclose(ours[i], _reference_by_month(acc[i], cdf_of_month), atol=1e-6)


# --- indicator behaviour -------------------------------------------------------------------------


def test_zero_handling_by_hand():
    rng = np.random.default_rng(5)
    x = rng.gamma(2.0, 10.0, 12 * 40)
    jan = np.arange(0, x.size, 12)
    x[jan[:10]] = 0.0  # 10 of the 30 reference Januaries (1981-2010 = years 1..30) are dry
    x[jan[1:11]] = 0.0
    x[np.arange(1, x.size, 12)] = 0.0  # every February dry: no distribution
    s = spi(_as_array(x[None, :], start="1980-01-01", units="mm"), 1).values[:, 0]
    ref_jan = x[jan[1:31]]
    p0 = np.mean(ref_jan == 0)
    assert p0 == pytest.approx(9 / 30 + 1 / 30)
    assert np.allclose(s[jan][x[jan] == 0], special.ndtri(p0), atol=1e-6)
    assert np.isnan(s[1::12]).all()
    # a zero in a month whose reference period had none is the driest possible: -3.09
    y = rng.gamma(2.0, 10.0, 12 * 40)
    y[12 * 35 + 5] = 0.0
    t = spi(_as_array(y[None, :], start="1980-01-01", units="mm"), 1).values[:, 0]
    assert t[12 * 35 + 5] == pytest.approx(-CLIP)


def test_missing_months_as_nan_and_completeness():
    x = _synthetic(1, 45, seed=6)[0]
    x[12 * 10 + 3] = np.nan  # April 1990: every 3-month window holding it is NaN
    s = spi(_as_array(x[None, :], start="1980-01-01", units="mm"), 3).values[:, 0]
    assert np.isnan(s[12 * 10 + 3 : 12 * 10 + 6]).all() and np.isfinite(s[12 * 10 + 6])
    x[np.arange(12 * 2 + 6, 12 * 8, 12)] = np.nan  # 6 of 30 reference Julys missing: 80 % < 85 %
    s = spi(_as_array(x[None, :], start="1980-01-01", units="mm"), 1).values[:, 0]
    assert np.isnan(s[6::12]).all() and np.isfinite(s[7::12]).all()
    s = spi(_as_array(x[None, :], start="1980-01-01", units="mm"), 1, min_completeness=0.75).values[:, 0]
    assert np.isfinite(s[6::12]).sum() == 45 - 6


def test_grid_dask_and_numpy_agree_and_keep_coords():
    x = _synthetic(6 * 7, 41, seed=7).reshape(6, 7, -1)
    cube = xr.DataArray(
        np.moveaxis(x, -1, 0).astype(np.float32),
        dims=("time", "y", "x"),
        coords={
            "time": pd.date_range("1980-01-01", periods=x.shape[-1], freq="MS"),
            "y": np.arange(6.0),
            "x": np.arange(7.0),
        },
        attrs={"units": "mm"},
    ).rio.write_crs("EPSG:4326")
    eager = spi(cube, 6)
    lazy = spi(cube.chunk({"time": 100, "y": 3, "x": 4}), 6)
    assert isinstance(lazy.data, dsa.Array) and lazy.dims == ("time", "y", "x")
    np.testing.assert_array_equal(lazy.values, eager.values)
    assert eager.dtype == np.float32 and eager.rio.crs.to_epsg() == 4326
    np.testing.assert_array_equal(eager["x"].values, cube["x"].values)
    json.dumps(eager.attrs)
    assert (
        eager.attrs["method"] == "spi"
        and eager.attrs["scale"] == 6
        and eager.attrs["reference"] == [1981, 2010]
    )
    # each cell equals the single-series computation
    one = spi(cube.isel(y=2, x=3), 6)
    assert one.dims == ("time",)
    np.testing.assert_array_equal(one.values, eager.isel(y=2, x=3).values)


def test_series_may_start_in_any_month():
    x = _synthetic(3, 40, seed=8)
    full = spi(_as_array(x, start="1975-01-01", units="mm"), 12).values
    part = spi(_as_array(x[:, 5:], start="1975-06-01", units="mm"), 12).values
    np.testing.assert_allclose(part[11:], full[5 + 11 :], atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(st.floats(1e-3, 1e3), st.integers(0, 10_000), st.sampled_from([1, 3, 12]))
def test_spi_is_unit_free_and_monotone_within_a_month(factor, seed, scale):
    x = _synthetic(1, 35, seed=seed, shape=0.8)
    x[0, np.random.default_rng(seed).random(x.shape[1]) < 0.1] = 0.0
    a = spi(_as_array(x, start="1978-01-01", units="mm"), scale).values[:, 0]
    b = spi(_as_array(x * factor, start="1978-01-01", units="mm"), scale).values[:, 0]
    np.testing.assert_allclose(a, b, atol=2e-6)
    acc = _sums(x, scale)[0]
    for m in range(12):
        sel = np.isfinite(a[m::12])
        order = np.argsort(acc[m::12][sel], kind="stable")
        assert np.all(np.diff(a[m::12][sel][order]) >= -1e-6)


def test_mm_and_inches_give_the_same_spi():
    if not BUFFALO_CSV.exists():
        pytest.skip("real data absent")
    mm = open_monthly(BUFFALO_CSV, variable="precip_mm")
    inch = open_monthly(BUFFALO_CSV, variable="precip_in")
    assert mm.attrs["units"] == "mm" and inch.attrs["units"] == "in"
    a, b = spi(mm), spi(inch)
    assert a.attrs["input_units"] == "mm" and b.attrs["input_units"] == "in"
    np.testing.assert_allclose(a.values, b.values, atol=1e-6)


def test_annual_spi_takes_december():
    x = _synthetic(2, 40, seed=9)
    s = spi(_as_array(x, start="1980-01-01", units="mm"), 12)
    ann = annual_spi(s)
    assert ann.dims == ("year", "station") and ann["year"].dtype.kind == "i"
    assert list(ann["year"].values) == list(range(1980, 2020))
    np.testing.assert_array_equal(ann.values, s.values[11::12])
    assert ann.attrs["annual_month"] == 12 and ann.attrs["method"] == "spi"
    may = annual_spi(s, month=5)
    np.testing.assert_array_equal(may.values, s.values[4::12])
    with pytest.raises(ConfigError, match="month"):
        annual_spi(s, month=13)


# --- bad input: one-line errors ------------------------------------------------------------------


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and isinstance(exc.value, LdnError)
    return text


def test_negative_precipitation_is_refused_eagerly_and_lazily():
    x = _synthetic(2, 35, seed=10)
    x[1, 50] = -0.4
    with pytest.raises(InputError, match="negative precipitation") as exc:
        spi(_as_array(x, start="1976-01-01", units="mm"), 3)
    assert "-0.4" in _one_line(exc)
    lazy = spi(
        _as_array(x, start="1976-01-01", units="mm").chunk({"station": 1}), 3
    )  # lazy: raised when computed
    with pytest.raises(InputError, match="negative precipitation"):
        lazy.compute()


def test_reference_period_errors():
    da = _as_array(_synthetic(1, 40, seed=11), start="1985-01-01", units="mm")
    with pytest.raises(PeriodError, match="not the whole reference period 1981-2010") as exc:
        spi(da)
    assert "1985-01 to 2024-12" in _one_line(exc)
    with pytest.raises(PeriodError, match="at least 30"):
        spi(da, reference=(1990, 2010))
    with pytest.raises(ConfigError, match="reference"):
        spi(da, reference=1990)
    ok = spi(da, reference=(1990, 2019))
    assert ok.attrs["reference"] == [1990, 2019]
    assert "reference_coverage" not in ok.attrs


def test_a_partly_covered_last_reference_year_is_accepted_and_noted():
    """climate-indices and xclim accept a reference period whose last year the data cover in part;
    so do we, with a note, and the result equals the fit on the months that are there."""
    full = _as_array(_synthetic(2, 40, seed=12), start="1981-01-01", units="mm")  # 1981-2020
    cut = full.isel(time=slice(0, 30 * 12 - 5))  # ends 2010-07: Aug-Dec 2010 missing
    partial = spi(cut, 3, reference=(1981, 2010))
    assert "only partly covered" in partial.attrs["reference_coverage"]
    assert "2010-07" in partial.attrs["reference_coverage"]
    # the same data padded with NaN months to Dec 2010 (missing values, not absent steps): same SPI
    padded = full.isel(time=slice(0, 30 * 12)).copy()
    padded.loc[{"time": padded.time[30 * 12 - 5 :]}] = np.nan
    whole = spi(padded, 3, reference=(1981, 2010)).isel(time=slice(0, 30 * 12 - 5))
    np.testing.assert_array_equal(whole.values, partial.values)
    assert np.isfinite(partial.values).mean() > 0.9
    # a whole missing reference year is still refused
    with pytest.raises(PeriodError, match="not the whole reference period"):
        spi(full.isel(time=slice(12, None)), 3, reference=(1981, 2010))  # 1981 missing


def test_short_record_and_bad_settings():
    short = _as_array(_synthetic(1, 29, seed=12), start="1981-01-01", units="mm")
    with pytest.raises(InputError, match="at least 30 years"):
        spi(short)
    da = _as_array(_synthetic(1, 40, seed=12), start="1975-01-01", units="mm")
    for bad in (0, 49, 2.5, True):
        with pytest.raises(ConfigError, match="scale"):
            spi(da, scale=bad)
    with pytest.raises(ConfigError, match="distribution"):
        spi(da, distribution="weibull")
    with pytest.raises(ConfigError, match="fit"):
        spi(da, fit="pwm")
    with pytest.raises(ConfigError, match="L-moments"):
        spi(da, distribution="pearson3", fit="mle")
    with pytest.raises(InputError, match="no 'month' dimension"):
        spi(da, time_dim="month")


@pytest.mark.parametrize(
    ("units", "ok"),
    [
        ("mm", True),
        ("mm/month", True),
        ("in", True),
        ("inches", True),
        ("kg m-2", True),
        (None, True),
        ("kg m-2 s-1", False),
        ("mm/day", False),
        ("K", False),
    ],
)
def test_units_check(units, ok):
    da = _as_array(_synthetic(1, 40, seed=13), start="1975-01-01", units=units)
    if ok:
        assert spi(da).attrs["input_units"] in ("mm", "in", "")
    else:
        with pytest.raises(InputError, match="units") as exc:
            spi(da)
        _one_line(exc)


def _times(kind: str) -> pd.DatetimeIndex:
    t = pd.date_range("1975-01-01", periods=480, freq="MS")
    if kind == "daily":
        return pd.date_range("1975-01-01", periods=480, freq="D")
    if kind == "gap":
        return t.delete([100, 101])
    if kind == "duplicate":
        return t[:-1].insert(50, t[50])
    if kind == "disorder":
        return t[[1, 0, *range(2, 480)]]
    if kind == "annual":
        return pd.date_range("1975-01-01", periods=480, freq="YS")
    return t


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("daily", "not monthly: 31 time steps fall in 1975-01"),
        ("gap", "missing months: 1983-05, 1983-06"),
        ("duplicate", r"duplicate time steps \(1979-03-01 twice\)"),
        ("disorder", "not in order"),
        ("annual", "12 months apart"),
    ],
)
def test_time_axis_errors(kind, message):
    t = _times(kind)
    da = xr.DataArray(_synthetic(1, 40, seed=14)[0, : t.size], dims="time", coords={"time": t})
    with pytest.raises(InputError, match=message) as exc:
        spi(da)
    _one_line(exc)


def test_spei_errors():
    p = _as_array(_synthetic(1, 40, seed=15), start="1975-01-01", units="mm")
    with pytest.raises(InputError, match="same units"):
        spei(p, p.assign_attrs(units="in"))
    with pytest.raises(InputError, match="same months"):
        spei(p, p.isel(time=slice(1, None)))
    pet = xr.DataArray(np.full(480, 40.0), dims="time", coords={"time": p["time"]}, attrs={"units": "mm"})
    out = spei(p, pet)  # one PET series for every cell
    assert out.dims == p.dims and out.attrs["distribution"] == "log-logistic"


# --- monthly I/O ---------------------------------------------------------------------------------


@needs_climdiv
def test_open_monthly_nclimdiv_wide_csv(climdiv):
    p = open_monthly(CLIMDIV / "ncei_climdiv_precip_inches_1895-2022.csv")
    assert p.dims == ("time", "station") and p.shape == (1536, 344) and p.dtype == np.float32
    assert p.attrs["units"] == "in" and p["station"].values[0] == "0101"  # leading zero kept
    assert str(p["time"].values[0])[:10] == "1895-01-01" and str(p["time"].values[-1])[:10] == "2022-12-01"
    np.testing.assert_allclose(p.values, climdiv.T.astype(np.float32))
    stations = json.loads((CLIMDIV / "divisions.json").read_text())
    assert list(p["station"].values) == stations


def test_open_monthly_buffalo_csv_needs_a_column():
    if not BUFFALO_CSV.exists():
        pytest.skip("real data absent")
    with pytest.raises(ConfigError, match="several value columns"):
        open_monthly(BUFFALO_CSV)
    p = open_monthly(BUFFALO_CSV, variable="precip_in")
    assert p.shape == (1536, 1) and list(p["station"].values) == ["precip_in"]


def test_open_monthly_long_csv(tmp_path):
    rows = []
    for st_id, shift in (("A", 0.0), ("B", 5.0)):
        for i, t in enumerate(pd.date_range("1980-01-01", periods=36, freq="MS")):
            if st_id == "B" and i == 7:
                continue  # absent row: NaN for B only
            rows.append({"station": st_id, "date": t.strftime("%Y-%m"), "precip_mm": i + shift})
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    p = open_monthly(path)
    assert p.dims == ("time", "station") and list(p["station"].values) == ["A", "B"]
    assert p.attrs["units"] == "mm" and np.isnan(p.values[7, 1]) and p.values[7, 0] == 7.0
    pd.DataFrame(rows + [rows[3]]).to_csv(path, index=False)
    with pytest.raises(InputError, match="duplicate rows for station A in 1980-04"):
        open_monthly(path)


def test_open_monthly_units_from_names(tmp_path):
    dates = pd.date_range("1990-01-01", periods=3, freq="MS").strftime("%Y-%m")
    plain = tmp_path / "rain_in_kenya.csv"  # "in" in a file name is a word, not inches
    pd.DataFrame({"month": dates, "k1": [1.0, 2.0, 3.0]}).to_csv(plain, index=False)
    assert "units" not in open_monthly(plain).attrs
    named = tmp_path / "rain_mm.csv"
    pd.DataFrame({"month": dates, "k1": [1.0, 2.0, 3.0]}).to_csv(named, index=False)
    assert open_monthly(named).attrs["units"] == "mm"
    assert open_monthly(plain, units="in").attrs["units"] == "in"


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (["2001-01", "2001-02", "2001-04"], "missing months: 2001-03"),
        (["2001-01-01", "2001-01-02", "2001-01-03"], "not monthly"),
        (["2001-01", "2001-02", "2001-02"], "duplicate rows for 2001-02"),
        (["2001-01", "nonsense", "2001-03"], "no readable month"),
    ],
)
def test_open_monthly_csv_errors(tmp_path, dates, message):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"month": dates, "s1": [1.0, 2.0, 3.0]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=message) as exc:
        open_monthly(path)
    _one_line(exc)


def _write_tiff(path: Path, data: np.ndarray, descriptions: list[str] | None) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(10.0, 50.0, 0.5, 0.5),
        nodata=-9999.0,
    ) as dst:
        dst.write(data.astype(np.float32))
        if descriptions:
            for i, d in enumerate(descriptions, start=1):
                dst.set_band_description(i, d)


def test_open_monthly_geotiff_and_netcdf(tmp_path):
    x = _synthetic(4 * 5, 31, seed=16).reshape(4, 5, -1)
    data = np.moveaxis(x, -1, 0)
    data[5, 0, 0] = -9999.0  # nodata
    months = pd.date_range("1980-01-01", periods=data.shape[0], freq="MS")
    tif = tmp_path / "p.tif"
    _write_tiff(tif, data, [f"precip_{t:%Y%m}" for t in months])
    p = open_monthly(tif, units="mm")
    assert p.dims == ("time", "y", "x") and isinstance(p.data, dsa.Array) and p.rio.crs.to_epsg() == 4326
    assert np.isnan(p.values[5, 0, 0]) and p.attrs["units"] == "mm"
    np.testing.assert_array_equal(p["time"].values, months.values)
    plain = tmp_path / "plain.tif"
    _write_tiff(plain, data, None)
    with pytest.raises(InputError, match="no month in its description"):
        open_monthly(plain)
    q = open_monthly(plain, start="1980-01")
    np.testing.assert_array_equal(q.values, p.values)
    s = spi(q, 3, reference=(1980, 2010))
    assert s.rio.crs.to_epsg() == 4326 and np.isnan(s.values[5:8, 0, 0]).all()
    # NetCDF (time, lat, lon), latitude ascending
    ds = xr.Dataset(
        {"pr": (("time", "lat", "lon"), data[:, ::-1, :], {"units": "mm", "_FillValue": -9999.0})},
        coords={"time": months, "lat": np.arange(48.25, 50.0, 0.5), "lon": np.arange(10.25, 12.5, 0.5)},
    )
    nc = tmp_path / "p.nc"
    ds.to_netcdf(nc)
    n = open_monthly(nc)
    assert n.dims == ("time", "y", "x") and n.rio.crs.to_epsg() == 4326 and n.attrs["units"] == "mm"
    np.testing.assert_array_equal(n.values, p.values)
    ds.isel(time=[0, 1, 3]).to_netcdf(tmp_path / "gap.nc")
    with pytest.raises(InputError, match="missing months: 1980-03"):
        open_monthly(tmp_path / "gap.nc")


def test_month_index():
    t = pd.date_range("1999-11-01", periods=4, freq="MS")
    np.testing.assert_array_equal(
        month_index(t.values, "t"), [1999 * 12 + 10, 1999 * 12 + 11, 2000 * 12, 2000 * 12 + 1]
    )
    with pytest.raises(InputError, match="not dates"):
        month_index(np.arange(4), "t")
