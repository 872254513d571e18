"""Standardized indices (SPI, SPEI) per cell: accumulation, per-calendar-month fit, CDF, z-score.

Numpy in, numpy out, serial (dask gives the parallelism). A block is ``(n_cell, n_time)`` monthly
values; every cell is processed on its own:

1. accumulation over ``scale`` months (the first ``scale - 1`` months, and any window holding a
   missing month, are NaN; a window of zeros is exactly 0 so it lands in the zero mass);
2. per calendar month, a fit over the reference-period values of that month:

   * ``GAMMA`` — two-parameter gamma with a probability of zero (mixed distribution), shape by
     Thom's (1958) approximation, the estimator of McKee et al., NCL, climate-indices and xclim
     ``method="APP"``; ``GAMMA_MLE`` — the exact maximum-likelihood shape (Newton on
     ``ln a - digamma(a) = ln(mean) - mean(ln x)`` started from Thom's value);
   * ``PEARSON3`` — Pearson type III by L-moments (Hosking 1990) of the non-zero values, with the
     same probability of zero;
   * ``LOGLOGISTIC`` — generalized logistic by L-moments (Hosking's PELGLO, the "log-logistic"
     of the R package SPEI), all values, no zero mass (for SPEI: precipitation minus PET);

3. probability ``p0 + (1 - p0) F(x)``, z-score by the inverse normal (Wichura's AS241),
   clipped to ``±clip``.

Special functions are implemented here because scipy's are not callable from numba:
regularized incomplete gamma (series and Lentz continued fraction, double precision, with a
Stirling-corrected prefactor for large shapes), AS241, digamma and trigamma.

Speed: the ~n_time/12 values of one calendar month of a cell share their distribution, so they
are processed together as SIMD lanes (:func:`gamma_p_lanes`, :func:`ndtri_lanes`,
:func:`exp_lanes`, :func:`log_lanes`); the scalar functions (:func:`gammainc_pq`,
:func:`ndtri`, :func:`cdf`) are the reference path, used for the rare lanes the vectorized
code does not cover. Blocks may be strided views (e.g. the transpose of a time-major block),
which avoids a transposing copy. The per-cell code (:func:`_cell`, with the lane functions
inlined into it) runs without numba's reference counting: its atomic increments and decrements
on every array slice and call took about a third of the time.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Distribution codes of :func:`standardize`.
GAMMA, GAMMA_MLE, PEARSON3, LOGLOGISTIC = 0, 1, 2, 3
#: Fewest non-zero reference values a gamma / Pearson III fit accepts, and fewest values a
#: log-logistic fit accepts (three L-moments need at least three; four keeps them stable).
MIN_NONZERO = 4
#: Parameters stored per calendar month (see :func:`fit_sample`).
N_PAR = 8

_EPS = 1e-16  # relative size of the last series term / continued-fraction change kept
_TINY = 1e-300
_MAX_ITER = 100_000
_LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT1_2 = math.sqrt(0.5)
#: Above this shape the incomplete gamma uses the Wilson–Hilferty approximation (absolute error
#: below 6e-9 there; only Pearson III fits with |skew| < 0.002 get such shapes).
_WH_SHAPE = 1e6


# --- inverse normal: Wichura (1988), Algorithm AS 241 (PPND16), accurate to about 1e-16 ------------

_AS241_A = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
_AS241_B = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
_AS241_C = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
_AS241_D = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)
_AS241_E = (
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_AS241_F = (
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _poly7(c: tuple, r: float) -> float:
    return ((((((c[7] * r + c[6]) * r + c[5]) * r + c[4]) * r + c[3]) * r + c[2]) * r + c[1]) * r + c[0]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def ndtri(p: float) -> float:
    """Standard normal quantile (inverse CDF) of ``p``; -inf at 0, +inf at 1, NaN outside [0, 1]."""
    if not (0.0 <= p <= 1.0):
        return np.nan
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly7(_AS241_A, r) / _poly7(_AS241_B, r)
    r = p if q < 0.0 else 1.0 - p
    if r <= 0.0:
        return -np.inf if q < 0.0 else np.inf
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        z = _poly7(_AS241_C, r) / _poly7(_AS241_D, r)
    else:
        r -= 5.0
        z = _poly7(_AS241_E, r) / _poly7(_AS241_F, r)
    return -z if q < 0.0 else z


@numba.njit(cache=True, nogil=True, error_model="numpy")
def ndtr(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * math.erfc(-z * _SQRT1_2)


# --- gamma function helpers -----------------------------------------------------------------------


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _stirling_rest(a: float) -> float:
    """lgamma(a) - [(a - 1/2) ln a - a + ln sqrt(2 pi)], for a >= 10 (Stirling series, < 1e-17)."""
    r = 1.0 / a
    r2 = r * r
    return r * (
        1.0 / 12.0
        + r2
        * (
            -1.0 / 360.0
            + r2
            * (
                1.0 / 1260.0
                + r2 * (-1.0 / 1680.0 + r2 * (1.0 / 1188.0 + r2 * (-691.0 / 360360.0 + r2 / 156.0)))
            )
        )
    )


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _log_gamma_prefix(a: float, x: float, lga: float) -> float:
    """ln(x**a * exp(-x) / Gamma(a)) for x > 0; ``lga`` = lgamma(a).

    For large ``a`` the direct form loses about ``a ln x`` ulps to cancellation; with Stirling's
    series for lgamma the leading terms cancel analytically and only ``a (log1p(t) - t)`` with
    ``t = (x - a) / a`` remains (error about sqrt(a) ulps instead of a ln a).
    """
    if a < 10.0:
        return a * math.log(x) - x - lga
    t = (x - a) / a
    return a * (math.log1p(t) - t) + 0.5 * math.log(a) - _LN_SQRT_2PI - _stirling_rest(a)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def gammainc_pq(a: float, x: float, lga: float) -> tuple[float, float]:
    """Regularized incomplete gamma functions ``(P(a, x), Q(a, x))``, ``lga`` = lgamma(a).

    ``x < a + 1``: power series of P (all terms positive); otherwise the continued fraction of Q
    (modified Lentz). Each is summed until the last term changes the result by less than 1e-16
    relative, so both are accurate to a few ulps of the larger of P and Q (about 1e-13 relative
    to the smaller one deep in its tail). Shapes above 1e6 use the Wilson–Hilferty
    approximation (absolute error < 6e-9).
    """
    if not (x > 0.0):
        if x == 0.0:
            return 0.0, 1.0
        return np.nan, np.nan
    if a > _WH_SHAPE:
        z = 3.0 * math.sqrt(a) * ((x / a) ** (1.0 / 3.0) + 1.0 / (9.0 * a) - 1.0)
        return ndtr(z), ndtr(-z)
    lp = _log_gamma_prefix(a, x, lga)
    if x < a + 1.0:
        ap = a
        term = 1.0 / a
        total = term
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= x / ap
            total += term
            if term < total * _EPS:
                break
        p = total * math.exp(lp)
        if p > 1.0:
            p = 1.0
        return p, 1.0 - p
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    q = math.exp(lp) * h
    if q > 1.0:
        q = 1.0
    return 1.0 - q, q


@numba.njit(cache=True, nogil=True, error_model="numpy")
def gammainc(a: float, x: float) -> float:
    """Regularized lower incomplete gamma P(a, x) (same as ``scipy.special.gammainc``)."""
    return gammainc_pq(a, x, math.lgamma(a))[0]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def gammaincc(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) (same as ``scipy.special.gammaincc``)."""
    return gammainc_pq(a, x, math.lgamma(a))[1]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def digamma(x: float) -> float:
    """psi(x) for x > 0: recurrence up to x >= 10, then the asymptotic series (< 1e-16)."""
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    r = 1.0 / x
    r2 = r * r
    series = r2 * (
        -1.0 / 12.0
        + r2
        * (
            1.0 / 120.0
            + r2 * (-1.0 / 252.0 + r2 * (1.0 / 240.0 + r2 * (-1.0 / 132.0 + r2 * (691.0 / 32760.0))))
        )
    )
    return acc + math.log(x) - 0.5 * r + series


@numba.njit(cache=True, nogil=True, error_model="numpy")
def trigamma(x: float) -> float:
    """psi'(x) for x > 0: recurrence up to x >= 10, then the asymptotic series (< 1e-16)."""
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x)
        x += 1.0
    r = 1.0 / x
    r2 = r * r
    # 1/x + 1/(2x^2) + sum_k B_2k / x^(2k+1), Bernoulli numbers B_2 ... B_14
    tail = r2 * (
        -1.0 / 30.0
        + r2
        * (1.0 / 42.0 + r2 * (-1.0 / 30.0 + r2 * (5.0 / 66.0 + r2 * (-691.0 / 2730.0 + r2 * (7.0 / 6.0)))))
    )
    series = r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + tail)))
    return acc + series


# --- estimators -----------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True, error_model="numpy")
def thom_shape(a_stat: float) -> float:
    """Thom's (1958) approximation of the gamma shape from ``A = ln(mean) - mean(ln x)``."""
    return (1.0 + math.sqrt(1.0 + 4.0 * a_stat / 3.0)) / (4.0 * a_stat)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def mle_shape(a_stat: float) -> float:
    """Exact maximum-likelihood gamma shape: the root of ``ln a - digamma(a) = A`` (Newton)."""
    a = thom_shape(a_stat)
    for _ in range(100):
        f = math.log(a) - digamma(a) - a_stat
        fp = 1.0 / a - trigamma(a)  # < 0 for every a > 0
        step = f / fp
        new = a - step
        if new <= 0.0:
            new = 0.5 * a
        if abs(new - a) <= 1e-15 * new:
            return new
        a = new
    return a


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _insertion_sort(v: np.ndarray, n: int) -> None:
    for i in range(1, n):
        x = v[i]
        j = i - 1
        while j >= 0 and v[j] > x:
            v[j + 1] = v[j]
            j -= 1
        v[j + 1] = x


@numba.njit(cache=True, nogil=True, error_model="numpy")
def lmoments3(v: np.ndarray, n: int) -> tuple[float, float, float]:
    """First two sample L-moments and the L-skewness ``(l1, l2, t3)`` of ``v[:n]`` (unbiased
    probability-weighted moments, Hosking 1990); sorts ``v[:n]`` in place."""
    _insertion_sort(v, n)
    b0 = 0.0
    b1 = 0.0
    b2 = 0.0
    for i in range(n):
        x = v[i]
        b0 += x
        b1 += x * i
        b2 += x * i * (i - 1)
    b0 /= n
    b1 /= n * (n - 1.0)
    b2 /= n * (n - 1.0) * (n - 2.0)
    l2 = 2.0 * b1 - b0
    l3 = 6.0 * b2 - 6.0 * b1 + b0
    t3 = l3 / l2 if l2 > 0.0 else np.nan
    return b0, l2, t3


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _gamma_ratio_half(a: float) -> float:
    """Gamma(a + 1/2) / Gamma(a), without the cancellation of lgamma differences for large a."""
    if a < 50.0:
        return math.exp(math.lgamma(a + 0.5) - math.lgamma(a))
    r = 1.0 / a
    # asymptotic series of Gamma(a + 1/2) / (Gamma(a) sqrt(a))
    s = 1.0 + r * (-1.0 / 8.0 + r * (1.0 / 128.0 + r * (5.0 / 1024.0 + r * (-21.0 / 32768.0))))
    return math.sqrt(a) * s


@numba.njit(cache=True, nogil=True, error_model="numpy")
def pearson3_from_lmoments(l1: float, l2: float, t3: float) -> tuple[float, float, float]:
    """Pearson III ``(mean, sd, skew)`` from L-moments (Hosking's PELPE3 rational approximation
    of the shape from ``t3``); NaNs if the L-moments are invalid."""
    if not (l2 > 0.0) or not (abs(t3) < 1.0):
        return np.nan, np.nan, np.nan
    at3 = abs(t3)
    if at3 <= 1e-6:
        return l1, l2 * math.sqrt(math.pi), 0.0
    if at3 < 1.0 / 3.0:
        t = 3.0 * math.pi * at3 * at3
        alpha = (1.0 + 0.2906 * t) / (t * (1.0 + t * (0.1882 + t * 0.0442)))
    else:
        t = 1.0 - at3
        alpha = (
            t
            * (0.36067 + t * (-0.59567 + t * 0.25361))
            / (1.0 + t * (-2.78861 + t * (2.56096 + t * -0.77045)))
        )
    root = math.sqrt(alpha)
    beta = math.sqrt(math.pi) * l2 / _gamma_ratio_half(alpha)
    skew = 2.0 / root if t3 > 0.0 else -2.0 / root
    return l1, beta * root, skew


@numba.njit(cache=True, nogil=True, error_model="numpy")
def glo_from_lmoments(l1: float, l2: float, t3: float) -> tuple[float, float, float]:
    """Generalized logistic ``(loc, scale, shape k)`` from L-moments (Hosking's PELGLO)."""
    k = -t3
    if not (l2 > 0.0) or not (abs(k) < 1.0):
        return np.nan, np.nan, np.nan
    if abs(k) <= 1e-6:
        return l1, l2, 0.0
    gg = k * math.pi / math.sin(k * math.pi)
    scale = l2 / gg
    return l1 - scale * (1.0 - gg) / k, scale, k


# --- per-month fit --------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _clear(par: np.ndarray) -> None:
    for i in range(N_PAR):
        par[i] = np.nan
    par[1] = 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def fit_gamma(n: int, n_zero: int, sum_x: float, sum_log: float, mle: bool, par: np.ndarray) -> None:
    """Gamma fit of a calendar month from its reference statistics: ``n`` valid values of which
    ``n_zero`` are zero, and the sum and sum of logs of the non-zero ones. Writes ``par``:
    ``[p0, fitted, shape, scale, lgamma(shape), ...]`` (see :func:`fit_sample`)."""
    _clear(par)
    m = n - n_zero
    if n == 0 or m == 0:
        return  # no values, or all zero: probability of zero undefined / 1 -> no distribution
    par[0] = n_zero / n
    if m < MIN_NONZERO:
        return
    mean = sum_x / m
    a_stat = math.log(mean) - sum_log / m
    if not (a_stat > 0.0):  # all non-zero values equal: no spread to fit
        return
    shape = mle_shape(a_stat) if mle else thom_shape(a_stat)
    par[1] = 1.0
    par[2] = shape
    par[3] = mean / shape
    par[4] = math.lgamma(shape)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def fit_sample(sample: np.ndarray, n: int, dist: int, par: np.ndarray) -> None:
    """Fit ``dist`` to the ``n`` valid reference values ``sample[:n]`` (reordered in place).

    ``par`` (length :data:`N_PAR`) receives:

    * ``par[0]`` probability of zero (NaN when undefined: no values, or every value zero;
      0 for the log-logistic, which has no zero mass);
    * ``par[1]`` 1 when the distribution of the (non-zero) values was fitted, else 0 — fewer
      than :data:`MIN_NONZERO` such values, no spread, or invalid L-moments;
    * gamma: ``par[2:5]`` shape, scale, lgamma(shape);
    * Pearson III: ``par[2:8]`` mean, sd, skew, gamma shape 4/skew², its lgamma, origin;
    * log-logistic: ``par[2:5]`` location, scale, shape k.
    """
    if dist == GAMMA or dist == GAMMA_MLE:
        n_zero = 0
        total = 0.0
        logs = 0.0
        for i in range(n):
            v = sample[i]
            if v == 0.0:
                n_zero += 1
            else:
                total += v
                logs += math.log(v)
        fit_gamma(n, n_zero, total, logs, dist == GAMMA_MLE, par)
        return
    _clear(par)
    if n == 0:
        return
    if dist == LOGLOGISTIC:
        par[0] = 0.0
        if n < MIN_NONZERO:
            return
        l1, l2, t3 = lmoments3(sample, n)
        loc, scale, k = glo_from_lmoments(l1, l2, t3)
        if scale == scale:
            par[1] = 1.0
            par[2] = loc
            par[3] = scale
            par[4] = k
        return
    m = 0  # Pearson III: the non-zero values to the front
    for i in range(n):
        v = sample[i]
        if v != 0.0:
            sample[m] = v
            m += 1
    if m == 0:
        return
    par[0] = (n - m) / n
    if m < MIN_NONZERO:
        return
    l1, l2, t3 = lmoments3(sample, m)
    mu, sd, g = pearson3_from_lmoments(l1, l2, t3)
    if sd != sd:
        return
    par[1] = 1.0
    par[2] = mu
    par[3] = sd
    par[4] = g
    if g != 0.0:
        shape = 4.0 / (g * g)
        par[5] = shape
        par[6] = math.lgamma(shape)
        par[7] = mu - 2.0 * sd / g


@numba.njit(cache=True, nogil=True, error_model="numpy")
def cdf(x: float, dist: int, par: np.ndarray) -> float:
    """Mixed-distribution CDF ``p0 + (1 - p0) F(x)`` of one value with parameters from
    :func:`fit_sample` (scalar reference path); NaN where undefined. A zero gets ``p0`` (plus
    ``(1 - p0) F(0)`` for a Pearson III whose origin is below 0), also when the distribution of
    the non-zero values could not be fitted."""
    if x != x:
        return np.nan
    if dist == LOGLOGISTIC:
        return _glo_cdf(x, par) if par[1] == 1.0 else np.nan
    p0 = par[0]
    if p0 != p0:
        return np.nan
    if par[1] == 0.0:
        return p0 if x == 0.0 else np.nan
    if x == 0.0 and dist != PEARSON3:
        return p0  # F(0) = 0 for the gamma; a Pearson III may extend below 0
    if dist == PEARSON3:
        f = _pe3_cdf_scalar(x, par)
    else:
        f = gammainc_pq(par[2], x / par[3], par[4])[0]
    return p0 + (1.0 - p0) * f


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _glo_cdf(x: float, par: np.ndarray) -> float:
    loc, scale, k = par[2], par[3], par[4]
    z = (x - loc) / scale
    if k == 0.0:
        y = z
    else:
        arg = 1.0 - k * z
        if arg <= 0.0:  # beyond the bound of the support
            return 1.0 if k > 0.0 else 0.0
        y = -math.log(arg) / k
    return 1.0 / (1.0 + math.exp(-y))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pe3_cdf_scalar(x: float, par: np.ndarray) -> float:
    g = par[4]
    if g == 0.0:
        return ndtr((x - par[2]) / par[3])
    y = 2.0 * (x - par[7]) / (par[3] * g)  # distance from the origin in gamma scale units
    if y <= 0.0:
        return 0.0 if g > 0.0 else 1.0
    p, q = gammainc_pq(par[5], y, par[6])
    return p if g > 0.0 else q


# --- lane functions: one operation over the values of a calendar month, vectorized ---------------
# Written as branch-free loops over contiguous arrays so LLVM emits SIMD code (error_model="numpy"
# drops the division-by-zero checks that block vectorization; "contract" allows FMAs). exp and log
# are evaluated here rather than by libm, whose calls do not vectorize.

_LANES = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract"}}
# Inlined at numba IR level into the kernel: a call with array arguments costs an atomic
# reference-count increment and decrement per array (NRT), which cannot be removed across calls;
# with ~10 such calls per calendar month they took ~40 % of the kernel's time.
_INLINE = {**_LANES, "inline": "always"}
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact (fdlibm)
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.4426950408889634
_SQRT2 = 1.4142135623730951


@numba.njit(**_LANES)
def exp_lanes(x: np.ndarray, k: int, out: np.ndarray, ibuf: np.ndarray) -> None:
    """exp(x[:k]) into out[:k] (within 2 ulp; 0 below -708). ``ibuf`` is an int64 work array."""
    _exp_into(x, k, out, ibuf, ibuf.view(np.float64))


# The kernel calls the *_into functions, which take the bit views of their work arrays from the
# caller: ``ndarray.view`` costs about 30 ns per call in numba, more than a 40-lane log itself.


@numba.njit(**_INLINE)
def _exp_into(x: np.ndarray, k: int, out: np.ndarray, ibuf: np.ndarray, two_k: np.ndarray) -> None:
    """:func:`exp_lanes` with ``two_k`` = ``ibuf.view(np.float64)``."""
    for i in range(k):
        xi = min(max(x[i], -708.0), 709.0)
        kf = math.floor(xi * _LOG2E + 0.5)
        r = (xi - kf * _LN2_HI) - kf * _LN2_LO  # |r| <= 0.347: Taylor to r**13 is exact to 4e-18
        out[i] = 1.0 + r * (
            1.0
            + r
            * (
                1.0 / 2
                + r
                * (
                    1.0 / 6
                    + r
                    * (
                        1.0 / 24
                        + r
                        * (
                            1.0 / 120
                            + r
                            * (
                                1.0 / 720
                                + r
                                * (
                                    1.0 / 5040
                                    + r
                                    * (
                                        1.0 / 40320
                                        + r
                                        * (
                                            1.0 / 362880
                                            + r
                                            * (
                                                1.0 / 3628800
                                                + r
                                                * (
                                                    1.0 / 39916800
                                                    + r * (1.0 / 479001600 + r * (1.0 / 6227020800))
                                                )
                                            )
                                        )
                                    )
                                )
                            )
                        )
                    )
                )
            )
        )
        ibuf[i] = (np.int64(kf) + 1023) << 52  # the bits of 2**k
    for i in range(k):
        v = out[i] * two_k[i]
        out[i] = v if x[i] >= -708.0 else 0.0


@numba.njit(**_LANES)
def log_lanes(x: np.ndarray, k: int, out: np.ndarray, ibuf: np.ndarray) -> None:
    """ln(x[:k]) into out[:k] for positive normal x (within 2 ulp); other lanes get garbage.

    ``x = 2**e * m`` with ``m`` in [sqrt(1/2), sqrt(2)) read from the bits;
    ``ln m = 2 atanh(f)``, ``f = (m - 1) / (m + 1)``, by its series to f**23.
    """
    _log_into(x.view(np.int64), k, out, ibuf, ibuf.view(np.float64))


@numba.njit(**_INLINE)
def _log_into(bits: np.ndarray, k: int, out: np.ndarray, ibuf: np.ndarray, mant: np.ndarray) -> None:
    """:func:`log_lanes` of the values whose bits are ``bits`` (an int64 view); ``mant`` =
    ``ibuf.view(np.float64)``."""
    for i in range(k):
        ibuf[i] = (bits[i] & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000
    for i in range(k):
        e = np.float64((bits[i] >> 52) - 1023)
        m = mant[i]
        big = m > _SQRT2
        m = m * 0.5 if big else m
        e = e + 1.0 if big else e
        f = (m - 1.0) / (m + 1.0)
        f2 = f * f
        t = f2 * (
            1.0 / 3
            + f2
            * (
                1.0 / 5
                + f2
                * (
                    1.0 / 7
                    + f2
                    * (
                        1.0 / 9
                        + f2
                        * (
                            1.0 / 11
                            + f2
                            * (
                                1.0 / 13
                                + f2
                                * (
                                    1.0 / 15
                                    + f2 * (1.0 / 17 + f2 * (1.0 / 19 + f2 * (1.0 / 21 + f2 * (1.0 / 23))))
                                )
                            )
                        )
                    )
                )
            )
        )
        out[i] = e * _LN2_HI + (2.0 * f + (2.0 * f * t + e * _LN2_LO))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _series_bound(a: float, y: float) -> int:
    """Terms of the P(a, y) series that are certainly enough for 1e-17 relative precision at
    every value up to ``y`` (checked against the exact count for 1e-3 <= a <= 1e6, 0 < y <=
    a + 4 sqrt(a) + 5; it exceeds the exact count by about 6 terms)."""
    return int(max(y - a, 0.0) + 9.2 * math.sqrt(y) + 13.0)


#: Table size that :func:`_gamma_p_into` needs for any shape up to _WH_SHAPE (y up to its cap
#: a + 4 sqrt(a) + 5): 8 * ceil(_series_bound / 8), with margin.
_R_MAX = 8 * (
    int(4.0 * _WH_SHAPE**0.5 + 9.2 * (_WH_SHAPE + 4.0 * _WH_SHAPE**0.5 + 5.0) ** 0.5 + 18.0) // 8 + 2
)


@numba.njit(**_LANES)
def gamma_p_lanes(
    a: float,
    lga: float,
    y: np.ndarray,
    ly: np.ndarray,
    k: int,
    out: np.ndarray,
    work: np.ndarray,
    ibuf: np.ndarray,
    r: np.ndarray,
) -> np.ndarray:
    """P(a, y[i]) into ``out`` for the ``k`` lanes, given ``ly = ln y``; every lane must satisfy
    0 <= y <= a + 4 sqrt(a) + 5 (there P <= 0.99995; callers send larger values to
    :func:`gammainc_pq`). Lanes with y = 0 get garbage, which callers overwrite.

    The series ``P = y^a e^-y / Gamma(a + 1) * sum_n prod_{i<=n} y / (a + i)`` is evaluated in
    Horner form, backwards, with a table built from ``1 / (a + i)`` shared by all lanes, so the
    inner loop runs across lanes in SIMD registers. The prefactor uses Stirling's series for a >= 10
    (see :func:`_log_gamma_prefix`). ``work`` is a (3, >= k) work array; ``r`` a work array for
    the table, returned (grown if it was too small).
    """
    ymax = 0.0
    for i in range(k):
        ymax = max(ymax, y[i])
    need = 8 * ((_series_bound(a, ymax) + 7) // 8)
    if r.shape[0] < need:
        r = np.empty(2 * need, dtype=np.float64)
    _gamma_p_into(a, lga, y, ly, k, out, work, work.view(np.int64), ibuf, ibuf.view(np.float64), r)
    return r


@numba.njit(**_INLINE)
def _gamma_p_into(
    a: float,
    lga: float,
    y: np.ndarray,
    ly: np.ndarray,
    k: int,
    out: np.ndarray,
    work: np.ndarray,
    work_bits: np.ndarray,
    ibuf: np.ndarray,
    fbuf: np.ndarray,
    r: np.ndarray,
) -> None:
    """:func:`gamma_p_lanes` with the bit views ``work_bits`` of ``work`` and ``fbuf`` of
    ``ibuf``; ``r`` must hold the table (:data:`_R_MAX` values always do)."""
    if k == 0:
        return
    ymax = 0.0
    for i in range(k):
        ymax = max(ymax, y[i])
    nb = (_series_bound(a, ymax) + 7) // 8
    # P_j of block b at r[j * nb + b]: P_j = 1 / D_j, D_j = (a + 8b + 1) ... (a + 8b + j + 1):
    # prefix products, one division, then P_(j-1) = P_j (a + 8b + j + 1) — each step a loop
    # over the blocks, so the table has no long dependency chains
    for b in range(nb):
        r[b] = a + (8 * b + 1)
    for j in range(1, 8):
        for b in range(nb):
            r[j * nb + b] = r[(j - 1) * nb + b] * (a + (8 * b + j + 1))
    for b in range(nb):
        r[7 * nb + b] = 1.0 / r[7 * nb + b]
    for j in range(7, 0, -1):
        for b in range(nb):
            r[(j - 1) * nb + b] = r[j * nb + b] * (a + (8 * b + j + 1))
    s = work[0]
    lp = work[1]
    for i in range(k):
        s[i] = 1.0
    for b in range(nb - 1, -1, -1):
        p1, p2, p3, p4 = r[b], r[nb + b], r[2 * nb + b], r[3 * nb + b]
        p5, p6, p7, p8 = r[4 * nb + b], r[5 * nb + b], r[6 * nb + b], r[7 * nb + b]
        for i in range(k):
            # s = 1 + p1 u + ... + p7 u^7 + p8 u^8 s: the degree-7 part by Estrin's scheme, so
            # the chain through s is one FMA per block (a Horner chain of 8 FMAs per block
            # leaves the FMA units waiting on latency); all terms are positive, so either
            # order is accurate to a few ulps
            u = y[i]
            u2 = u * u
            u4 = u2 * u2
            q = (1.0 + p1 * u) + u2 * (p2 + p3 * u) + u4 * ((p4 + p5 * u) + u2 * (p6 + p7 * u))
            s[i] = q + (p8 * (u4 * u4)) * s[i]
    if a < 10.0:
        const = -a - lga
        for i in range(k):
            lp[i] = a * ly[i] - (y[i] - a) + const
    else:
        # Stirling form (see _log_gamma_prefix): a (log1p(t) - t) with t = (y - a) / a; log1p
        # from the vectorized log with the usual correction for the rounding of 1 + t
        inv_a = 1.0 / a
        u = work[2]
        for i in range(k):
            u[i] = 1.0 + (y[i] - a) * inv_a
        _log_into(work_bits[2], k, lp, ibuf, fbuf)
        la = math.log(a)
        const = 0.5 * la - _LN_SQRT_2PI - _stirling_rest(a)
        for i in range(k):
            t = (y[i] - a) * inv_a
            v = 1.0 - u[i]
            l1p = lp[i] - ((u[i] - 1.0) - t) * ((1.0 + v) * (1.0 + v * v))  # tiny term: 1/u to 6 %
            # far from the mode ln(y / a) = ln y - ln a is the more accurate of the two
            l1p = l1p if abs(t) <= 0.5 else ly[i] - la
            lp[i] = a * (l1p - t) + const
    _exp_into(lp, k, out, ibuf, fbuf)
    inv_a = 1.0 / a
    for i in range(k):
        out[i] = min(s[i] * out[i] * inv_a, 1.0)


_C = _AS241_C
_D = _AS241_D


@numba.njit(**_LANES)
def ndtri_lanes(p: np.ndarray, k: int, z: np.ndarray, work: np.ndarray, ibuf: np.ndarray) -> None:
    """:func:`ndtri` of ``p[:k]`` into ``z[:k]``: both AS241 branches for every lane
    (vectorized, with the vectorized log), the rare far tails (p < 1.4e-11) and invalid p by
    the scalar function. ``work`` is a (2, >= k) work array."""
    _ndtri_into(p, k, z, work, work.view(np.int64), ibuf, ibuf.view(np.float64))


@numba.njit(**_INLINE)
def _ndtri_into(
    p: np.ndarray,
    k: int,
    z: np.ndarray,
    work: np.ndarray,
    work_bits: np.ndarray,
    ibuf: np.ndarray,
    fbuf: np.ndarray,
) -> None:
    """:func:`ndtri_lanes` with the bit views ``work_bits`` of ``work`` and ``fbuf`` of ``ibuf``."""
    w = work[0]
    lw = work[1]
    for i in range(k):
        pi = p[i]
        w[i] = max(min(pi, 1.0 - pi), 1e-300)
    _log_into(work_bits[0], k, lw, ibuf, fbuf)
    for i in range(k):
        q = p[i] - 0.5
        rc = 0.180625 - q * q
        rt = math.sqrt(-lw[i]) - 1.6
        central = abs(q) <= 0.425
        # both rational functions, one division
        num = q * _poly7(_AS241_A, rc) if central else _poly7(_C, rt)
        den = _poly7(_AS241_B, rc) if central else _poly7(_D, rt)
        zi = num / den
        z[i] = zi if central or q >= 0.0 else -zi
    for i in range(k):
        pi = p[i]
        if not (1.4e-11 < pi < 1.0 - 1.4e-11):
            z[i] = ndtri(pi)


# --- the block kernel -----------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True, error_model="numpy")
def accumulate(row: np.ndarray, scale: int, out: np.ndarray) -> float:
    """Sums of ``scale`` consecutive values ending at each step (NaN for the first ``scale - 1``
    steps and for windows with a missing value). A running sum, re-summed exactly every 256
    steps so rounding cannot drift; a window of zeros is exactly 0. Returns the smallest valid
    value of ``row`` (+inf if none), so callers can refuse negative precipitation for free."""
    n = row.shape[0]
    s = 0.0
    nonzero = 0
    missing = 0
    low = np.inf
    for t in range(n):
        v = row[t]
        if v != v:
            missing += 1
        elif v != 0.0:
            s += v
            nonzero += 1
            low = min(low, v)
        if t >= scale:
            o = row[t - scale]
            if o != o:
                missing -= 1
            elif o != 0.0:
                s -= o
                nonzero -= 1
        if (t & 255) == 255 and t >= scale:
            s = 0.0
            for j in range(t - scale + 1, t + 1):
                w = row[j]
                if w == w:
                    s += w
        if t < scale - 1 or missing > 0:
            out[t] = np.nan
        elif nonzero == 0:
            out[t] = 0.0
        else:
            out[t] = s
    if low == np.inf and missing < n:
        low = 0.0  # only zeros
    return low


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _month_probabilities(
    first: int,
    g: int,
    dist: int,
    par: np.ndarray,
    ws: np.ndarray,
    wsb: np.ndarray,
    ibuf: np.ndarray,
    fbuf: np.ndarray,
    r: np.ndarray,
) -> None:
    """Mixed CDF ``p0 + (1 - p0) F(x)`` of the ``g`` values ``ws[0, :g]`` (logs in ``ws[1]``)
    of one calendar month into ``ws[6]``; ``wsb`` and ``fbuf`` are the bit views of ``ws`` and
    ``ibuf``; ``r`` the table of :func:`_gamma_p_into`."""
    gx = ws[0]
    glog = ws[1]
    y = ws[2]
    ly = ws[3]
    f = ws[4]
    prob = ws[6]
    p0 = par[0]
    fitted = par[1] == 1.0
    if dist == LOGLOGISTIC:
        for j in range(g):
            x = gx[j]
            prob[j] = _glo_cdf(x, par) if (fitted and x == x) else np.nan
        return
    if p0 != p0 or not fitted or (dist == PEARSON3 and par[4] == 0.0):
        for j in range(g):  # no gamma-type fit: the scalar path (zeros, NaN, a normal PE3)
            prob[j] = cdf(gx[j], dist, par)
        return
    if dist == PEARSON3:
        a = par[5]
        lga = par[6]
        flip = par[4] < 0.0  # negative skew: F = Q(a, y), y measured down from the origin
        to_y = 2.0 / (par[3] * par[4])
        origin = par[7]
        for j in range(g):
            y[j] = (gx[j] - origin) * to_y
        _log_into(wsb[2], g, ly, ibuf, fbuf)
    else:
        a = par[2]
        lga = par[4]
        flip = False
        inv_scale = 1.0 / par[3]
        log_scale = math.log(par[3])
        for j in range(g):
            y[j] = gx[j] * inv_scale
            ly[j] = glog[j] - log_scale
    cap = a + 4.0 * math.sqrt(a) + 5.0
    if a > _WH_SHAPE:
        cap = -1.0  # every lane by the scalar function
    # lanes outside (1e-300, cap] (NaN, zero, beyond the cap, below a PE3 origin) are computed
    # as y = 0 here and fixed below
    for j in range(g):
        yj = y[j]
        ok = 1e-300 < yj <= cap
        y[j] = yj if ok else 0.0
        ly[j] = ly[j] if ok else 0.0
    _gamma_p_into(a, lga, y, ly, g, f, ws[7:10], wsb[7:10], ibuf, fbuf, r)
    for j in range(g):
        fj = 1.0 - f[j] if flip else f[j]
        prob[j] = p0 + (1.0 - p0) * fj
    for j in range(g):
        if not (y[j] > 0.0):
            prob[j] = cdf(gx[j], dist, par)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _fit_group(
    ws: np.ndarray,
    first: int,
    g: int,
    ref_start: int,
    ref_stop: int,
    dist: int,
    min_valid: int,
    sample: np.ndarray,
    par: np.ndarray,
) -> None:
    """Fit one calendar month from its values ``ws[0, :g]`` (logs in ``ws[1]``) whose time index
    ``first + 12 j`` lies in the reference steps ``[ref_start, ref_stop)``."""
    gx = ws[0]
    glog = ws[1]
    n = 0
    n_zero = 0
    total = 0.0
    logs = 0.0
    gamma = dist == GAMMA or dist == GAMMA_MLE
    j0 = max(0, (ref_start - first + 11) // 12)
    for j in range(j0, g):
        if first + 12 * j >= ref_stop:
            break
        v = gx[j]
        if v != v:
            continue
        if gamma:
            if v == 0.0:
                n_zero += 1
            else:
                total += v
                logs += glog[j]
        else:
            sample[n] = v
        n += 1
    if n < min_valid or n == 0:
        _clear(par)
        return
    if gamma:
        fit_gamma(n, n_zero, total, logs, dist == GAMMA_MLE, par)
    else:
        fit_sample(sample, n, dist, par)


# No reference counting in the per-cell code (``_nrt=False``, so it must not allocate): every
# array slice and every call with array arguments costs an atomic increment and decrement of the
# block's work arrays, ~150 per cell, which took ~30 % of the time; the arrays are owned by the
# block-level callers, which outlive the call.
@numba.njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _cell(
    row: np.ndarray,
    scale: int,
    month0: int,
    ref_start: int,
    ref_stop: int,
    dist: int,
    min_valid: int,
    tw: np.ndarray,
    twb: np.ndarray,
    ws: np.ndarray,
    wsb: np.ndarray,
    ibuf: np.ndarray,
    fbuf: np.ndarray,
    sample: np.ndarray,
    r: np.ndarray,
    par: np.ndarray,
    out_row: np.ndarray,
    clip: float,
    params: np.ndarray,
) -> float:
    """One cell: accumulate, then per calendar month gather, fit and CDF, then the z-scores of
    the whole series into ``out_row`` (if it has the series' length) and parameters into
    ``params`` (if it has 12 rows). Returns the smallest input value. ``r`` is the table of
    :func:`_gamma_p_into`, :data:`_R_MAX` long (this function must not allocate, nor return
    arrays: it runs without reference counting).

    Work arrays (see :func:`_work`): ``tw`` (6, n_time) in time order — accumulation, its log,
    probability, z, two for the inverse normal — and ``ws`` (10, n_group) for one calendar
    month; ``twb``, ``wsb`` and ``fbuf`` are the bit views of ``tw``, ``ws`` and ``ibuf``. The
    logs and z-scores are computed once per series rather than per month: fewer, longer vector
    loops.
    """
    n_time = row.shape[0]
    acc = tw[0]
    acc_log = tw[1]
    prob_t = tw[2]
    z = tw[3]
    low = accumulate(row, scale, acc)
    gamma = dist == GAMMA or dist == GAMMA_MLE
    if gamma:
        _log_into(twb[0], n_time, acc_log, ibuf, fbuf)  # garbage for zero / NaN steps, unused
    gx = ws[0]
    glog = ws[1]
    prob = ws[6]
    want_z = out_row.shape[0] == n_time
    for m in range(12):
        first = (m - month0) % 12
        if first >= n_time:
            continue
        g = (n_time - 1 - first) // 12 + 1
        for j in range(g):
            gx[j] = acc[first + 12 * j]
        if gamma:
            for j in range(g):
                glog[j] = acc_log[first + 12 * j]
        _fit_group(ws, first, g, ref_start, ref_stop, dist, min_valid, sample, par)
        if params.shape[0] == 12:
            for i in range(N_PAR):
                params[m, i] = par[i]
        if not want_z:
            continue
        _month_probabilities(first, g, dist, par, ws, wsb, ibuf, fbuf, r)
        for j in range(g):
            prob_t[first + 12 * j] = prob[j]
    if want_z:
        _ndtri_into(prob_t, n_time, z, tw[4:6], twb[4:6], ibuf, fbuf)
        for t in range(n_time):
            out_row[t] = min(max(z[t], -clip), clip)
    return low


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _work(n_time: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Work arrays of :func:`_cell` for series of ``n_time`` steps: ``tw``, ``ws``, ``ibuf``
    and the bit views ``twb``, ``wsb``, ``fbuf`` (made once per block: a view costs ~30 ns)."""
    n_group = n_time // 12 + 1
    tw = np.empty((6, n_time), dtype=np.float64)
    ws = np.empty((10, n_group), dtype=np.float64)
    ibuf = np.empty(max(n_time, n_group), dtype=np.int64)
    return tw, tw.view(np.int64), ws, ws.view(np.int64), ibuf, ibuf.view(np.float64)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def standardize_into(
    values: np.ndarray,
    scale: int,
    month0: int,
    ref_start: int,
    ref_stop: int,
    dist: int,
    min_valid: int,
    clip: float,
    out: np.ndarray,
) -> float:
    """:func:`standardize` writing into ``out`` (n_cell, n_time); returns the smallest input
    value (+inf if none), so that callers can refuse negative precipitation. Both arrays may be strided
    views — e.g. the transpose of a time-major ``(n_time, n_cell)`` block, which is how blocks
    are stored: each cell then reads and writes one value per cache line, and the next cells
    find those lines in cache, which is cheaper than transposing the block."""
    n_cell, n_time = values.shape
    tw, twb, ws, wsb, ibuf, fbuf = _work(n_time)
    sample = np.empty(n_time // 12 + 1, dtype=np.float64)
    r = np.empty(_R_MAX, dtype=np.float64)
    par = np.empty(N_PAR, dtype=np.float64)
    no_params = np.empty((0, N_PAR), dtype=np.float64)
    low = np.inf
    for c in range(n_cell):
        cell_low = _cell(
            values[c],
            scale,
            month0,
            ref_start,
            ref_stop,
            dist,
            min_valid,
            tw,
            twb,
            ws,
            wsb,
            ibuf,
            fbuf,
            sample,
            r,
            par,
            out[c],
            clip,
            no_params,
        )
        low = min(low, cell_low)
    return low


@numba.njit(cache=True, nogil=True, error_model="numpy")
def standardize(
    values: np.ndarray,
    scale: int,
    month0: int,
    ref_start: int,
    ref_stop: int,
    dist: int,
    min_valid: int,
    clip: float,
) -> np.ndarray:
    """Standardized index of every cell of ``values`` (n_cell, n_time): float32, NaN missing.

    ``scale`` months are accumulated, each calendar month is fitted to ``dist`` over the time
    steps ``ref_start:ref_stop`` (``month0`` = calendar month of step 0, 0 = January; a month
    with fewer than ``min_valid`` valid reference values is NaN) and the mixed CDF is turned into
    a z-score clipped to ``[-clip, clip]``.
    """
    out = np.empty(values.shape, dtype=np.float32)
    standardize_into(values, scale, month0, ref_start, ref_stop, dist, min_valid, clip, out)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def fit_parameters(
    values: np.ndarray,
    scale: int,
    month0: int,
    ref_start: int,
    ref_stop: int,
    dist: int,
    min_valid: int,
) -> np.ndarray:
    """Parameters (n_cell, 12, N_PAR) that :func:`standardize` fits, indexed by calendar month
    (0 = January); see :func:`fit_sample` for the layout."""
    n_cell, n_time = values.shape
    out = np.empty((n_cell, 12, N_PAR), dtype=np.float64)
    tw, twb, ws, wsb, ibuf, fbuf = _work(n_time)
    sample = np.empty(n_time // 12 + 1, dtype=np.float64)
    r = np.empty(_R_MAX, dtype=np.float64)
    par = np.empty(N_PAR, dtype=np.float64)
    no_z = np.empty(0, dtype=np.float64)
    for c in range(n_cell):
        _cell(
            values[c],
            scale,
            month0,
            ref_start,
            ref_stop,
            dist,
            min_valid,
            tw,
            twb,
            ws,
            wsb,
            ibuf,
            fbuf,
            sample,
            r,
            par,
            no_z,
            0.0,
            out[c],
        )
    return out
