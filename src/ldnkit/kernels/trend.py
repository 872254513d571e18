"""Per-pixel trend kernels: Mann–Kendall test and Theil–Sen slope, NaN-aware; OLS slope.

Numpy in, numpy out. Input blocks are ``(n_time, ny, nx)``; every pixel uses only its own
finite values (integer inputs: every value except :data:`ldnkit.codes.NODATA`), with the real
time coordinate of those values, so a gap year does not bias the slope per year.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ldnkit import codes

_SQRT2 = math.sqrt(2.0)


@numba.njit(cache=True, nogil=True)
def _rank_select(a: np.ndarray, lo: int, hi: int, r: int) -> float:
    """Value of rank r (0-based) within a[lo:hi + 1], by counting (branchless, short ranges)."""
    for i in range(lo, hi + 1):
        ai = a[i]
        below = 0
        equal = 0
        for j in range(lo, hi + 1):
            below += a[j] < ai
            equal += a[j] == ai
        if below <= r < below + equal:
            return ai
    return np.nan  # not reached for r in range


@numba.njit(cache=True, nogil=True)
def _median_select(a: np.ndarray, n: int) -> float:
    """Median of a[:n] (mean of both middle elements for even n); reorders a in place.

    Quickselect with a median-of-three pivot and a branchless Lomuto partition (comparisons
    are unpredictable on noisy slopes, so avoiding branches is ~3x faster); the last short
    range is resolved by counting ranks rather than sorting.
    """
    k = n // 2
    lo = 0
    hi = n - 1
    upper = np.nan
    found = False
    while hi - lo > 6:
        mid = (lo + hi) >> 1
        # Median of a[lo], a[mid], a[hi], moved to a[hi] as the pivot.
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[mid] < a[hi]:
            a[mid], a[hi] = a[hi], a[mid]
        pivot = a[hi]
        store = lo
        for i in range(lo, hi):
            ai = a[i]
            a[i] = a[store]
            a[store] = ai
            store += ai < pivot
        a[hi] = a[store]
        a[store] = pivot
        if store == k:
            upper = pivot
            found = True
            break
        if store > k:
            hi = store - 1
            continue
        unbalanced = store - lo < (hi - lo) >> 3
        lo = store + 1
        if unbalanced:
            # Few values below the pivot often means many ties with it (constant or rounded
            # series): gather the values equal to the pivot so they are not re-scanned.
            eq = lo
            for i in range(lo, hi + 1):
                ai = a[i]
                a[i] = a[eq]
                a[eq] = ai
                eq += ai == pivot
            if k < eq:
                upper = pivot
                found = True
                break
            lo = eq
    # Invariant: every a[:lo] <= every a[lo:hi + 1], and a[k] is in [lo, hi] unless found.
    if not found:
        upper = _rank_select(a, lo, hi, k - lo)
    if n % 2 == 1:
        return upper
    if not found and k - 1 >= lo:
        lower = _rank_select(a, lo, hi, k - 1 - lo)
    else:
        # a[:k] are the k smallest values: the lower middle is their maximum.
        lower = a[0]
        for i in range(1, k):
            if a[i] > lower:
                lower = a[i]
    return 0.5 * (lower + upper)


@numba.njit(cache=True, nogil=True)
def _mk_ts_block(values, x, min_count, use_nodata, nodata, slope, s_out, z_out, p_out, n_out):
    n_time, ny, nx = values.shape
    # Scratch buffers, allocated once per block: nothing is allocated inside the pixel loop.
    v = np.empty(n_time, dtype=np.float64)
    idx = np.empty(n_time, dtype=np.int64)
    pairs = np.empty(max(n_time * (n_time - 1) // 2, 1), dtype=np.float64)
    # 1 / (x[j] - x[i]) for every pair of time steps: a multiply per pair instead of a divide.
    inv_dx = np.zeros((n_time, n_time), dtype=np.float64)
    distinct_x = True
    for i in range(n_time):
        for j in range(n_time):
            if i != j:
                if x[j] == x[i]:
                    distinct_x = False
                else:
                    inv_dx[i, j] = 1.0 / (x[j] - x[i])
    for iy in range(ny):
        for ix in range(nx):
            m = 0
            for it in range(n_time):
                val = values[it, iy, ix]
                if val != val:  # NaN
                    continue
                if use_nodata and val == nodata:
                    continue
                v[m] = val
                idx[m] = it
                m += 1
            n_out[iy, ix] = m
            if m < min_count or m < 2:
                slope[iy, ix] = np.nan
                s_out[iy, ix] = np.nan
                z_out[iy, ix] = np.nan
                p_out[iy, ix] = np.nan
                continue
            # Kendall S, the pairwise slopes and the tie term in one pass over the pairs.
            # Tie term sum_groups t(t-1)(2t+5) = sum_i 6e(e+2), e = number of later values
            # equal to value i (a group of t contributes e = t-1, ..., 0): no sort needed.
            s = 0
            k = 0
            ties = 0.0
            for i in range(m - 1):
                vi = v[i]
                ii = idx[i]
                e = 0
                for j in range(i + 1, m):
                    d = v[j] - vi
                    s += (d > 0) - (d < 0)
                    e += d == 0
                    if distinct_x:
                        pairs[k] = d * inv_dx[ii, idx[j]]
                        k += 1
                    elif x[idx[j]] != x[ii]:  # pairs at equal x have no slope (as scipy)
                        pairs[k] = d * inv_dx[ii, idx[j]]
                        k += 1
                ties += 6.0 * e * (e + 2.0)
            slope[iy, ix] = _median_select(pairs, k) if k > 0 else np.nan
            var = (m * (m - 1.0) * (2.0 * m + 5.0) - ties) / 18.0
            if s > 0 and var > 0:
                z = (s - 1.0) / math.sqrt(var)
            elif s < 0 and var > 0:
                z = (s + 1.0) / math.sqrt(var)
            else:
                z = 0.0
            s_out[iy, ix] = s
            z_out[iy, ix] = z
            p_out[iy, ix] = math.erfc(abs(z) / _SQRT2)


def _check_block(values: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, float]:
    values = np.asarray(values)
    if values.ndim != 3:
        raise ValueError(f"values must be (n_time, ny, nx), got shape {values.shape}")
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.shape != (values.shape[0],):
        raise ValueError(f"x has shape {x.shape}, expected ({values.shape[0]},)")
    if values.dtype.kind not in "fiu":
        raise ValueError(f"values must be numeric, got {values.dtype}")
    if values.dtype.kind == "f":
        return values, x, False, 0.0
    return values, x, True, float(codes.NODATA)


def mann_kendall_theil_sen(
    values: np.ndarray, x: np.ndarray, min_count: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mann–Kendall test and Theil–Sen slope of every pixel of a block.

    Parameters
    ----------
    values : ``(n_time, ny, nx)`` float32/float64 (NaN = missing) or integer
        (:data:`ldnkit.codes.NODATA` = missing).
    x : ``(n_time,)`` time coordinate (years), float64.
    min_count : pixels with fewer finite values get NaN slope, S, z and p (at least 2).

    Returns
    -------
    slope : float32, Theil–Sen median of the pairwise slopes, per unit of ``x``.
    s : float32, Mann–Kendall S.
    z : float64, normal approximation with tie-corrected variance and continuity correction
        (``(S-1)/sqrt(var)`` if S > 0, ``(S+1)/sqrt(var)`` if S < 0, 0 if S == 0).
    p : float64, two-sided p-value ``2 * (1 - Phi(|z|))``.
    n : int16, number of finite values used.

    Example
    -------
    >>> slope, s, z, p, n = mann_kendall_theil_sen(ndvi_block, np.arange(2001.0, 2017.0))
    """
    if min_count < 2:
        raise ValueError(f"min_count must be at least 2, got {min_count}")
    values, x, use_nodata, nodata = _check_block(values, x)
    _, ny, nx = values.shape
    slope = np.empty((ny, nx), dtype=np.float32)
    s = np.empty((ny, nx), dtype=np.float32)
    z = np.empty((ny, nx), dtype=np.float64)
    p = np.empty((ny, nx), dtype=np.float64)
    n = np.empty((ny, nx), dtype=np.int16)
    _mk_ts_block(values, x, int(min_count), use_nodata, nodata, slope, s, z, p, n)
    return slope, s, z, p, n


@numba.njit(cache=True, nogil=True)
def _ols_block(values, x, min_count, use_nodata, nodata, out):
    n_time, ny, nx = values.shape
    for iy in range(ny):
        for ix in range(nx):
            m = 0
            sx = 0.0
            sy = 0.0
            for it in range(n_time):
                val = values[it, iy, ix]
                if val != val or (use_nodata and val == nodata):
                    continue
                m += 1
                sx += x[it]
                sy += val
            if m < min_count or m < 2:
                out[iy, ix] = np.nan
                continue
            mx = sx / m
            my = sy / m
            sxy = 0.0
            sxx = 0.0
            for it in range(n_time):
                val = values[it, iy, ix]
                if val != val or (use_nodata and val == nodata):
                    continue
                dx = x[it] - mx
                sxy += dx * (val - my)
                sxx += dx * dx
            out[iy, ix] = sxy / sxx if sxx > 0 else np.nan


def ols_slope(values: np.ndarray, x: np.ndarray, min_count: int = 2) -> np.ndarray:
    """Least-squares slope per unit of ``x`` of every pixel, using its finite values only.

    Same input conventions as :func:`mann_kendall_theil_sen`; returns float32 ``(ny, nx)``,
    NaN where fewer than ``min_count`` values (or a single distinct ``x``).

    Example
    -------
    >>> ols_slope(ndvi_block, np.arange(2001.0, 2017.0))
    """
    values, x, use_nodata, nodata = _check_block(values, x)
    out = np.empty(values.shape[1:], dtype=np.float32)
    _ols_block(values, x, int(min_count), use_nodata, nodata, out)
    return out


#: Trends.Earth's Mann–Kendall critical values of |S| for n = 4..60 (index n - 4; its 99 % list
#: stops at n = 59), at its
#: "90", "95" and "99" % levels (te_algorithms/gee/stats.py ``get_kendall_coef``, citing
#: Hollander & Wolfe table A.30). Reproduced only for the ``trends_earth`` compatibility mode.
TE_KENDALL_MIN_N = 4
# fmt: off
TE_KENDALL_CRITICAL: dict[int, tuple[int, ...]] = {
    90: (
        4, 6, 7, 9, 10, 12, 15, 17, 18, 22, 23, 27, 28, 32, 35, 37, 40, 42, 45, 49, 52, 56, 59,
        61, 66, 68, 73, 75, 80, 84, 87, 91, 94, 98, 103, 107, 110, 114, 119, 123, 128, 132, 135,
        141, 144, 150, 153, 159, 162, 168, 173, 177, 182, 186, 191, 197, 202,
    ),
    95: (
        4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 31, 33, 36, 40, 43, 47, 50, 54, 59, 63, 66, 70, 75,
        79, 84, 88, 93, 97, 102, 106, 111, 115, 120, 126, 131, 137, 142, 146, 151, 157, 162, 168,
        173, 179, 186, 190, 197, 203, 208, 214, 221, 227, 232, 240, 245, 251, 258,
    ),
    99: (
        6, 8, 11, 18, 22, 25, 29, 34, 38, 41, 47, 50, 56, 61, 65, 70, 76, 81, 87, 92, 98, 105,
        111, 116, 124, 129, 135, 142, 150, 155, 163, 170, 176, 183, 191, 198, 206, 213, 221, 228,
        236, 245, 253, 260, 268, 277, 285, 294, 302, 311, 319, 328, 336, 345, 355, 364,
    ),
}
# fmt: on


def te_critical_s(n: np.ndarray, level: int) -> np.ndarray:
    """Trends.Earth critical |S| for sample sizes ``n`` (float64; NaN where its table has no
    entry: n < 4, n > 60, or n > 59 at the 99 % level)."""
    table = np.asarray(TE_KENDALL_CRITICAL[level], dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    ok = (n >= TE_KENDALL_MIN_N) & (n < TE_KENDALL_MIN_N + table.size)
    idx = np.clip(n - TE_KENDALL_MIN_N, 0, table.size - 1)
    return np.where(ok, table[idx], np.nan)
