"""Per-calendar-month distribution fits (gamma by Thom or maximum likelihood, Pearson III and
generalized logistic by L-moments) and their mixed CDF (scalar reference path)."""

from __future__ import annotations

import math

import numba
import numpy as np

from ldnkit.kernels.spi.gamma import digamma, gammainc_pq, trigamma
from ldnkit.kernels.spi.normal import ndtr

#: Distribution codes of :func:`standardize`.
GAMMA, GAMMA_MLE, PEARSON3, LOGLOGISTIC = 0, 1, 2, 3
#: Fewest non-zero reference values a gamma / Pearson III fit accepts, and fewest values a
#: log-logistic fit accepts (three L-moments need at least three; four keeps them stable).
MIN_NONZERO = 4
#: Parameters stored per calendar month (see :func:`fit_sample`).
N_PAR = 8


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


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def clear_parameters(par: np.ndarray) -> None:
    for i in range(N_PAR):
        par[i] = np.nan
    par[1] = 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def fit_gamma(n: int, n_zero: int, sum_x: float, sum_log: float, mle: bool, par: np.ndarray) -> None:
    """Gamma fit of a calendar month from its reference statistics: ``n`` valid values of which
    ``n_zero`` are zero, and the sum and sum of logs of the non-zero ones. Writes ``par``:
    ``[p0, fitted, shape, scale, lgamma(shape), ...]`` (see :func:`fit_sample`)."""
    clear_parameters(par)
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
    clear_parameters(par)
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
        return glo_cdf(x, par) if par[1] == 1.0 else np.nan
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
def glo_cdf(x: float, par: np.ndarray) -> float:
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
