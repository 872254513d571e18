"""The block kernels: accumulation, then per cell and calendar month gather, fit, CDF and z-score."""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from ldnkit.kernels.spi.fit import (
    GAMMA,
    GAMMA_MLE,
    LOGLOGISTIC,
    N_PAR,
    PEARSON3,
    cdf,
    clear_parameters,
    fit_gamma,
    fit_sample,
    glo_cdf,
)
from ldnkit.kernels.spi.gamma import R_MAX, WH_SHAPE, gamma_p_into
from ldnkit.kernels.spi.lanes import log_into
from ldnkit.kernels.spi.normal import ndtri_into


class Series(NamedTuple):
    """What a standardized index of one series is asked for (see :func:`standardize`)."""

    scale: int  # months accumulated
    month0: int  # calendar month of step 0 (0 = January)
    ref_start: int  # reference steps [ref_start, ref_stop)
    ref_stop: int
    dist: int  # distribution code (GAMMA, GAMMA_MLE, PEARSON3, LOGLOGISTIC)
    min_valid: int  # fewest valid reference values a calendar month is fitted from
    clip: float  # z-scores are clipped to [-clip, clip]


class Work(NamedTuple):
    """Work arrays of :func:`_cell`, made once per block by :func:`_work` (a view costs ~30 ns).

    ``tw`` (6, n_time) in time order: accumulation, its log, probability, z, two for the inverse
    normal; ``ws`` (10, n_group) for one calendar month; ``twb``, ``wsb`` and ``fbuf`` are the bit
    views of ``tw``, ``ws`` and ``ibuf``; ``sample`` the reference values of a month; ``r`` the table
    of :func:`~ldnkit.kernels.spi.gamma.gamma_p_into` (:data:`R_MAX` long); ``par`` the parameters
    of the month being fitted.
    """

    tw: np.ndarray
    twb: np.ndarray
    ws: np.ndarray
    wsb: np.ndarray
    ibuf: np.ndarray
    fbuf: np.ndarray
    sample: np.ndarray
    r: np.ndarray
    par: np.ndarray


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
def _month_probabilities(g: int, dist: int, work: Work) -> None:
    """Mixed CDF ``p0 + (1 - p0) F(x)`` of the ``g`` values ``ws[0, :g]`` (logs in ``ws[1]``)
    of one calendar month, fitted in ``work.par``, into ``ws[6]``."""
    ws = work.ws
    wsb = work.wsb
    ibuf = work.ibuf
    fbuf = work.fbuf
    par = work.par
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
            prob[j] = glo_cdf(x, par) if (fitted and x == x) else np.nan
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
        log_into(wsb[2], g, ly, ibuf, fbuf)
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
    if a > WH_SHAPE:
        cap = -1.0  # every lane by the scalar function
    # lanes outside (1e-300, cap] (NaN, zero, beyond the cap, below a PE3 origin) are computed
    # as y = 0 here and fixed below
    for j in range(g):
        yj = y[j]
        ok = 1e-300 < yj <= cap
        y[j] = yj if ok else 0.0
        ly[j] = ly[j] if ok else 0.0
    gamma_p_into(a, lga, y, ly, g, f, ws[7:10], wsb[7:10], ibuf, fbuf, work.r)
    for j in range(g):
        fj = 1.0 - f[j] if flip else f[j]
        prob[j] = p0 + (1.0 - p0) * fj
    for j in range(g):
        if not (y[j] > 0.0):
            prob[j] = cdf(gx[j], dist, par)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _fit_group(first: int, g: int, series: Series, work: Work) -> None:
    """Fit one calendar month into ``work.par`` from its values ``ws[0, :g]`` (logs in ``ws[1]``)
    whose time index ``first + 12 j`` lies in the reference steps."""
    gx = work.ws[0]
    glog = work.ws[1]
    sample = work.sample
    par = work.par
    dist = series.dist
    ref_stop = series.ref_stop
    n = 0
    n_zero = 0
    total = 0.0
    logs = 0.0
    gamma = dist == GAMMA or dist == GAMMA_MLE
    j0 = max(0, (series.ref_start - first + 11) // 12)
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
    if n < series.min_valid or n == 0:
        clear_parameters(par)
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
def _cell(row: np.ndarray, series: Series, work: Work, out_row: np.ndarray, params: np.ndarray) -> float:
    """One cell: accumulate, then per calendar month gather, fit and CDF, then the z-scores of
    the whole series into ``out_row`` (if it has the series' length) and parameters into
    ``params`` (if it has 12 rows). Returns the smallest input value. Must not allocate, nor
    return arrays: it runs without reference counting.

    The logs and z-scores are computed once per series (in ``work.tw``) rather than per month:
    fewer, longer vector loops.
    """
    n_time = row.shape[0]
    tw = work.tw
    twb = work.twb
    par = work.par
    acc = tw[0]
    acc_log = tw[1]
    prob_t = tw[2]
    z = tw[3]
    dist = series.dist
    low = accumulate(row, series.scale, acc)
    gamma = dist == GAMMA or dist == GAMMA_MLE
    if gamma:
        log_into(twb[0], n_time, acc_log, work.ibuf, work.fbuf)  # garbage for zero / NaN steps, unused
    gx = work.ws[0]
    glog = work.ws[1]
    prob = work.ws[6]
    want_z = out_row.shape[0] == n_time
    for m in range(12):
        first = (m - series.month0) % 12
        if first >= n_time:
            continue
        g = (n_time - 1 - first) // 12 + 1
        for j in range(g):
            gx[j] = acc[first + 12 * j]
        if gamma:
            for j in range(g):
                glog[j] = acc_log[first + 12 * j]
        _fit_group(first, g, series, work)
        if params.shape[0] == 12:
            for i in range(N_PAR):
                params[m, i] = par[i]
        if not want_z:
            continue
        _month_probabilities(g, dist, work)
        for j in range(g):
            prob_t[first + 12 * j] = prob[j]
    if want_z:
        ndtri_into(prob_t, n_time, z, tw[4:6], twb[4:6], work.ibuf, work.fbuf)
        clip = series.clip
        for t in range(n_time):
            out_row[t] = min(max(z[t], -clip), clip)
    return low


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _work(n_time: int) -> Work:
    """Work arrays of :func:`_cell` for series of ``n_time`` steps (made once per block)."""
    n_group = n_time // 12 + 1
    tw = np.empty((6, n_time), dtype=np.float64)
    ws = np.empty((10, n_group), dtype=np.float64)
    ibuf = np.empty(max(n_time, n_group), dtype=np.int64)
    sample = np.empty(n_group, dtype=np.float64)
    r = np.empty(R_MAX, dtype=np.float64)
    par = np.empty(N_PAR, dtype=np.float64)
    return Work(tw, tw.view(np.int64), ws, ws.view(np.int64), ibuf, ibuf.view(np.float64), sample, r, par)


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
    series = Series(scale, month0, ref_start, ref_stop, dist, min_valid, clip)
    work = _work(n_time)
    no_params = np.empty((0, N_PAR), dtype=np.float64)
    low = np.inf
    for c in range(n_cell):
        low = min(low, _cell(values[c], series, work, out[c], no_params))
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
    (0 = January); see :func:`~ldnkit.kernels.spi.fit.fit_sample` for the layout."""
    n_cell, n_time = values.shape
    out = np.empty((n_cell, 12, N_PAR), dtype=np.float64)
    series = Series(scale, month0, ref_start, ref_stop, dist, min_valid, 0.0)
    work = _work(n_time)
    no_z = np.empty(0, dtype=np.float64)
    for c in range(n_cell):
        _cell(values[c], series, work, no_z, out[c])
    return out
