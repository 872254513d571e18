"""Per-pixel trend kernels: Mann–Kendall test and Theil–Sen slope, NaN-aware; OLS slope.

Numpy in, numpy out. Input blocks are ``(n_time, ny, nx)``; every pixel uses only its own
finite values (integer inputs: every value except :data:`ldnkit.codes.NODATA`), with the real
time coordinate of those values, so a gap year does not bias the slope per year.

Two implementations of the Mann–Kendall / Theil–Sen kernel give identical numbers:

* up to :data:`NETWORK_MAX_TIME` time steps (the usual 10-30 years), :func:`_mk_ts_lanes`
  processes :data:`LANES` pixels in lockstep, so every step is a SIMD operation across pixels:
  S, the tie term and the pairwise slopes are computed for all time pairs at once (a pair with
  a missing value gets a NaN slope), and the median slope is selected by a fixed
  compare-exchange network (Batcher's odd-even merge sort pruned to the two middle ranks)
  instead of a data-dependent quickselect. Slopes are compared as order-preserving int64 keys;
  missing slopes get the lowest and the highest key in alternation, which keeps the median of
  the valid slopes at a fixed rank of the padded set.
* longer series use :func:`_mk_ts_pixels`: one pixel at a time with a quickselect median.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from ldnkit import codes

_SQRT2 = math.sqrt(2.0)
#: Pixels processed in lockstep by the lane kernel (8 AVX-512 or 16 AVX2 vectors per row; the
#: key buffer is 120 x 64 x 8 bytes = 61 KB at 16 years).
LANES = 64
#: Longest series handled by the lane kernel: its network grows as n² log² n, faster than a
#: quickselect. Measured on AVX-512 (benchmarks/kernels.py) it is about 2x faster at 32-40 years
#: and break-even near 48-64; 40 keeps a margin for machines with narrower vectors.
NETWORK_MAX_TIME = 40
# Flipping the 63 low bits of negative floats makes the int64 view of a float64 order-preserving
# (the flip is its own inverse); the int64 extremes sort below/above every float key.
_KEY_MASK = 0x7FFFFFFFFFFFFFFF
_KEY_LOW = -(2**63)
_KEY_HIGH = 2**63 - 1


@intrinsic
def _float_bits(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64 (a register move, no memory round trip)."""

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, b):
    """Inverse of :func:`_float_bits`."""

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


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
def _inverse_dx(x):
    """1 / (x[j] - x[i]) for every pair of time steps (NaN where equal): a multiply per pair
    instead of a divide, the same number whichever kernel uses it."""
    n_time = x.size
    inv_dx = np.empty((n_time, n_time), dtype=np.float64)
    for i in range(n_time):
        for j in range(n_time):
            inv_dx[i, j] = 1.0 / (x[j] - x[i]) if x[j] != x[i] else np.nan
    return inv_dx


@numba.njit(cache=True, nogil=True)
def _finish_pixel(p, m, s, ties, median, min_count, slope, s_out, z_out, p_out, n_out):
    """Write one pixel's outputs from its count, S, tie term and median slope."""
    n_out[p] = m
    if m < min_count or m < 2:
        slope[p] = np.nan
        s_out[p] = np.nan
        z_out[p] = np.nan
        p_out[p] = np.nan
        return
    slope[p] = median
    var = (m * (m - 1.0) * (2.0 * m + 5.0) - ties) / 18.0
    if s > 0 and var > 0:
        z = (s - 1.0) / math.sqrt(var)
    elif s < 0 and var > 0:
        z = (s + 1.0) / math.sqrt(var)
    else:
        z = 0.0
    s_out[p] = s
    z_out[p] = z
    p_out[p] = math.erfc(abs(z) / _SQRT2)


@numba.njit(cache=True, nogil=True)
def _mk_ts_pixels(values, x, min_count, use_nodata, nodata, slope, s_out, z_out, p_out, n_out):
    """One pixel at a time (long series): values ``(n_time, npix)``, outputs ``(npix,)``."""
    n_time, npix = values.shape
    # Scratch buffers, allocated once per block: nothing is allocated inside the pixel loop.
    v = np.empty(n_time, dtype=np.float64)
    idx = np.empty(n_time, dtype=np.int64)
    pairs = np.empty(max(n_time * (n_time - 1) // 2, 1), dtype=np.float64)
    inv_dx = _inverse_dx(x)
    for p in range(npix):
        m = 0
        for it in range(n_time):
            val = np.float64(values[it, p])
            if val - val != 0.0:  # NaN or infinite
                continue
            if use_nodata and val == nodata:
                continue
            v[m] = val
            idx[m] = it
            m += 1
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
                w = inv_dx[ii, idx[j]]
                if w == w:  # pairs at equal x have no slope (as scipy)
                    pairs[k] = d * w
                    k += 1
            ties += 6.0 * e * (e + 2.0)
        med = _median_select(pairs, k) if k > 0 else np.nan
        _finish_pixel(p, m, s, ties, med, min_count, slope, s_out, z_out, p_out, n_out)


@numba.njit(cache=True, nogil=True)
def _mk_ts_lanes(values, x, min_count, use_nodata, nodata, ca, cb, slope, s_out, z_out, p_out, n_out):
    """LANES pixels in lockstep (series up to NETWORK_MAX_TIME): values ``(n_time, npix)``,
    outputs ``(npix,)``; (ca, cb) is the compare-exchange network of
    :func:`_median_network`.

    Every inner loop runs over the lanes with no data-dependent branch, so LLVM turns it into
    vector instructions; all scratch memory is allocated once per block.
    """
    n_time, npix = values.shape
    n_pairs = n_time * (n_time - 1) // 2
    r0 = max(n_pairs - 1, 0) // 2
    r1 = min(r0 + 1, max(n_pairs - 1, 0))
    inv_dx = _inverse_dx(x)
    v = np.empty((n_time, LANES), dtype=np.float64)
    # Slopes as order-preserving int64 keys: min/max of int64 compile to plain vector
    # instructions, where a float compare-exchange becomes masked stores (2x slower).
    keys = np.empty((max(n_pairs, 1), LANES), dtype=np.int64)
    m = np.empty(LANES, dtype=np.float64)
    s = np.empty(LANES, dtype=np.int64)
    e = np.empty(LANES, dtype=np.int64)
    ties = np.empty(LANES, dtype=np.float64)
    n_nan = np.empty(LANES, dtype=np.int64)
    for p0 in range(0, npix, LANES):
        # Gather: time step rows of LANES consecutive pixels (contiguous reads); missing -> NaN.
        full = p0 + LANES <= npix
        for it in range(n_time):
            row = v[it]
            src = values[it, p0 : p0 + LANES]  # a 1-D slice: 2-D indexing here compiles to gathers
            if full:
                for lane in range(LANES):
                    val = np.float64(src[lane])
                    bad = (val - val != 0.0) | (use_nodata & (val == nodata))
                    row[lane] = np.nan if bad else val
            else:
                for lane in range(LANES):
                    val = np.nan
                    if lane < src.size:
                        val = np.float64(src[lane])
                        if use_nodata and val == nodata:
                            val = np.nan
                    row[lane] = val if val - val == 0.0 else np.nan
        for lane in range(LANES):
            m[lane] = 0.0
            s[lane] = 0
            ties[lane] = 0.0
            n_nan[lane] = 0
        for it in range(n_time):
            row = v[it]
            for lane in range(LANES):
                m[lane] += row[lane] == row[lane]
        # All pairs (i < j) of time steps: a pair with a missing value has d = NaN, which adds
        # nothing to S or the ties and gives a NaN slope, whose key is replaced by the lowest,
        # the highest, the lowest... key (pairs at equal x have inv_dx = NaN: no slope either).
        k = 0
        for i in range(n_time - 1):
            vi = v[i]
            for lane in range(LANES):
                e[lane] = 0
            for j in range(i + 1, n_time):
                w = inv_dx[i, j]
                vj = v[j]
                out = keys[k]
                for lane in range(LANES):
                    d = vj[lane] - vi[lane]
                    s[lane] += (d > 0) - (d < 0)
                    e[lane] += d == 0
                    sl = d * w
                    b = _float_bits(sl)
                    key = b ^ ((b >> 63) & _KEY_MASK)
                    missing = sl != sl
                    q = n_nan[lane]
                    out[lane] = (_KEY_HIGH if q & 1 else _KEY_LOW) if missing else key
                    n_nan[lane] = q + missing
                k += 1
            for lane in range(LANES):
                ties[lane] += 6.0 * e[lane] * (e[lane] + 2.0)
        sort_lanes(keys, ca, cb)
        # Medians. With q missing slopes, ceil(q/2) lowest keys sort first and the valid slopes
        # hold ranks ceil(q/2) .. ceil(q/2) + valid - 1, so their middle one(s) are always at
        # ranks r0 = (n_pairs - 1) // 2 and r0 + 1: one of them when valid is odd (r0 + 1 if
        # n_pairs is even, else r0), both when valid is even.
        key0 = keys[r0]
        key1 = keys[r1]
        n_here = min(LANES, npix - p0)
        for lane in range(n_here):
            b = key0[lane]
            mid0 = _bits_float(b ^ ((b >> 63) & _KEY_MASK))
            b = key1[lane]
            mid1 = _bits_float(b ^ ((b >> 63) & _KEY_MASK))
            valid = n_pairs - n_nan[lane]
            one = mid1 if n_pairs % 2 == 0 else mid0
            median = one if valid % 2 == 1 else 0.5 * (mid0 + mid1)  # as np.median
            median = median if valid > 0 else np.nan
            mm = m[lane]
            sv = np.float64(s[lane])
            var = (mm * (mm - 1.0) * (2.0 * mm + 5.0) - ties[lane]) / 18.0
            num = sv - 1.0 if sv > 0 else sv + 1.0
            zv = num / math.sqrt(var) if (sv != 0) & (var > 0) else 0.0
            ok = (mm >= min_count) & (mm >= 2)
            slope[p0 + lane] = median if ok else np.nan
            s_out[p0 + lane] = sv if ok else np.nan
            z_out[p0 + lane] = zv if ok else np.nan
            n_out[p0 + lane] = mm
        for lane in range(n_here):  # erfc is a library call: the one scalar loop
            zv = z_out[p0 + lane]
            p_out[p0 + lane] = math.erfc(abs(zv) / _SQRT2) if zv == zv else np.nan


def odd_even_merge_sort(n: int) -> list[tuple[int, int]]:
    """Batcher's odd-even merge sort comparators (i < j: min to i) for n inputs.

    Built for the next power of two; comparators reaching past n are dropped, which is exact
    when the missing inputs are thought of as +inf (they would never move).
    """
    size = 1
    while size < n:
        size *= 2
    out = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    a, b = i + j, i + j + k
                    if a // (2 * p) == b // (2 * p) and b < n:
                        out.append((a, b))
            k //= 2
        p *= 2
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def sort_lanes(rows, ca, cb):
    """Apply a compare-exchange network (pairs ``ca[c] < cb[c]``) to every column of ``rows``.

    ``rows`` is (n, lanes): each column is one pixel's values, sorted ascending in place; the
    inner loop runs over the lanes so the compiler vectorises it (one min/max per pixel at once).
    """
    for c in range(ca.size):
        ra = rows[ca[c]]
        rb = rows[cb[c]]
        for lane in range(rows.shape[1]):
            x1 = ra[lane]
            x2 = rb[lane]
            ra[lane] = min(x1, x2)
            rb[lane] = max(x1, x2)


@lru_cache(maxsize=64)
def _median_network(n_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Compare-exchange network leaving the ranks ``(n_pairs - 1) // 2`` and the next one of
    n_pairs values in place: the sorting network with every comparator that cannot reach
    those two outputs removed (about 9 comparators per value at 16 years)."""
    keep_ranks = {(n_pairs - 1) // 2, (n_pairs - 1) // 2 + 1} & set(range(n_pairs))
    needed = set(keep_ranks)
    kept = []
    for a, b in reversed(odd_even_merge_sort(n_pairs)):
        if a in needed or b in needed:
            kept.append((a, b))
            needed.update((a, b))
    kept.reverse()
    ca = np.array([c[0] for c in kept], dtype=np.intp)
    cb = np.array([c[1] for c in kept], dtype=np.intp)
    return ca, cb


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
    values: np.ndarray, x: np.ndarray, min_count: int = 3, lanes: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mann–Kendall test and Theil–Sen slope of every pixel of a block.

    Parameters
    ----------
    values : ``(n_time, ny, nx)`` float32/float64 (NaN or infinite = missing) or integer
        (:data:`ldnkit.codes.NODATA` = missing); int16 is read as is (half the memory traffic).
    x : ``(n_time,)`` time coordinate (years), float64.
    min_count : pixels with fewer finite values get NaN slope, S, z and p (at least 2).
    lanes : force the lockstep kernel (True) or the one-pixel-at-a-time kernel (False);
        default: lockstep up to :data:`NETWORK_MAX_TIME` time steps. Both give the same numbers.

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
    n_time, ny, nx = values.shape
    flat = values.reshape(n_time, ny * nx)  # a view for C-ordered blocks
    shape = (ny, nx)
    slope = np.empty(ny * nx, dtype=np.float32)
    s = np.empty(ny * nx, dtype=np.float32)
    z = np.empty(ny * nx, dtype=np.float64)
    p = np.empty(ny * nx, dtype=np.float64)
    n = np.empty(ny * nx, dtype=np.int16)
    outs = (slope, s, z, p, n)
    if lanes is None:
        lanes = n_time <= NETWORK_MAX_TIME
    if lanes:
        ca, cb = _median_network(n_time * (n_time - 1) // 2)
        _mk_ts_lanes(flat, x, int(min_count), use_nodata, nodata, ca, cb, *outs)
    else:
        _mk_ts_pixels(flat, x, int(min_count), use_nodata, nodata, *outs)
    return tuple(o.reshape(shape) for o in outs)


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
                if val - val != 0.0 or (use_nodata and val == nodata):  # NaN, inf, no data
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
                if val - val != 0.0 or (use_nodata and val == nodata):  # NaN, inf, no data
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
