"""Gamma-function helpers: regularized incomplete gamma (scalar, and vectorized over lanes), digamma,
trigamma. Implemented here because scipy's are not callable from numba."""

from __future__ import annotations

import math

import numba
import numpy as np

from ldnkit.kernels.spi.lanes import INLINE, LANES, exp_into, log_into
from ldnkit.kernels.spi.normal import ndtr

_EPS = 1e-16  # relative size of the last series term / continued-fraction change kept
_TINY = 1e-300
_MAX_ITER = 100_000
_LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Above this shape the incomplete gamma uses the Wilson–Hilferty approximation (absolute error
#: below 6e-9 there; only Pearson III fits with |skew| < 0.002 get such shapes).
WH_SHAPE = 1e6


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
    if a > WH_SHAPE:
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


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _series_bound(a: float, y: float) -> int:
    """Terms of the P(a, y) series that are certainly enough for 1e-17 relative precision at
    every value up to ``y`` (checked against the exact count for 1e-3 <= a <= 1e6, 0 < y <=
    a + 4 sqrt(a) + 5; it exceeds the exact count by about 6 terms)."""
    return int(max(y - a, 0.0) + 9.2 * math.sqrt(y) + 13.0)


#: Table size that :func:`gamma_p_into` needs for any shape up to WH_SHAPE (y up to its cap
#: a + 4 sqrt(a) + 5): 8 * ceil(_series_bound / 8), with margin.
R_MAX = 8 * (int(4.0 * WH_SHAPE**0.5 + 9.2 * (WH_SHAPE + 4.0 * WH_SHAPE**0.5 + 5.0) ** 0.5 + 18.0) // 8 + 2)


@numba.njit(**LANES)
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
    gamma_p_into(a, lga, y, ly, k, out, work, work.view(np.int64), ibuf, ibuf.view(np.float64), r)
    return r


@numba.njit(**INLINE)
def gamma_p_into(
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
    ``ibuf``; ``r`` must hold the table (:data:`R_MAX` values always do)."""
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
        log_into(work_bits[2], k, lp, ibuf, fbuf)
        la = math.log(a)
        const = 0.5 * la - _LN_SQRT_2PI - _stirling_rest(a)
        for i in range(k):
            t = (y[i] - a) * inv_a
            v = 1.0 - u[i]
            l1p = lp[i] - ((u[i] - 1.0) - t) * ((1.0 + v) * (1.0 + v * v))  # tiny term: 1/u to 6 %
            # far from the mode ln(y / a) = ln y - ln a is the more accurate of the two
            l1p = l1p if abs(t) <= 0.5 else ly[i] - la
            lp[i] = a * (l1p - t) + const
    exp_into(lp, k, out, ibuf, fbuf)
    inv_a = 1.0 / a
    for i in range(k):
        out[i] = min(s[i] * out[i] * inv_a, 1.0)
