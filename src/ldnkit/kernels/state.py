"""Productivity window kernels (methodology §1.5.3): the state of a comparison window against
a historical window, and the window mean used by performance, per pixel.

Numpy in, numpy out. Inputs are blocks ``(n_time, ny, nx)`` of the historical and of the
comparison years; each pixel uses only its finite values (integer inputs: every value except
:data:`ldnkit.codes.NODATA`). Outputs are int16 ``(ny, nx)``: -1 degrading, 0 stable,
1 improving, NODATA where a window has too few values.

Means and standard deviations are summed in numpy's pairwise order over the finite values, so
they equal ``np.mean`` / ``np.std(ddof=1)`` of those values bit for bit, and the deciles equal
``np.percentile`` (linear): the class boundaries are exactly those of the numpy reference.

Windows of up to :data:`LANES_MAX_TIME` years (all real ones) are processed :data:`LANES`
pixels in lockstep, with no data-dependent branch, so every step is a SIMD operation across
pixels: the finite values are compacted by selects, numpy's summation order is reproduced with
masks, and the historical values are sorted by a compare-exchange network. Longer windows use
a one-pixel-at-a-time kernel giving the same numbers.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numba
import numpy as np

from ldnkit import codes
from ldnkit.kernels.trend import odd_even_merge_sort, sort_lanes

NODATA = codes.NODATA
#: Pixels processed in lockstep (a row of 64 float64 is 8 AVX-512 vectors).
LANES = 64
#: Longest window of the lockstep kernels (numpy sums up to 128 values in one block).
LANES_MAX_TIME = 128
#: p10 .. p90 as fractions, exactly as ``np.percentile`` divides q by 100.
_DECILES = np.arange(10, 100, 10, dtype=np.float64) / 100.0


@numba.njit(cache=True, nogil=True)
def _pairwise_block(a, lo, n):
    """numpy's ``pairwise_sum`` of a[lo:lo + n] for n <= 128: 8 interleaved partial sums, a
    sequential sum below 8 values."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@numba.njit(cache=True, nogil=True)
def _pairwise_sum(a, n):
    """Sum of a[:n] exactly as numpy sums a contiguous float64 array (so sum / n == np.mean).

    Above 128 values numpy halves recursively (at a multiple of 8); this walks the same
    binary tree with an explicit stack, leaves first, so no recursive calls are needed.
    """
    if n <= 128:
        return 0.0 + _pairwise_block(a, 0, n)  # numpy's reduction adds the result to 0.0
    # Post-order walk: stack of (lo, n, partial-sum slot); sums combined as left + right.
    los = np.empty(64, dtype=np.int64)
    ns = np.empty(64, dtype=np.int64)
    state = np.empty(64, dtype=np.int64)  # 0: children not done, 1: left done
    left = np.empty(64, dtype=np.float64)
    top = 0
    los[0], ns[0], state[0] = 0, n, 0
    result = 0.0
    while top >= 0:
        lo, m = los[top], ns[top]
        if m <= 128:
            val = _pairwise_block(a, lo, m)
            top -= 1
        elif state[top] == 0:
            half = m // 2
            half -= half % 8
            state[top] = 1
            top += 1
            los[top], ns[top], state[top] = lo, half, 0
            continue
        elif state[top] == 1:
            half = m // 2
            half -= half % 8
            state[top] = 2
            top += 1
            los[top], ns[top], state[top] = lo + half, m - half, 0
            continue
        else:
            val = left[top] + result
            top -= 1
        # hand val to the parent: first as its left sum, then as the right one
        if top >= 0 and state[top] == 1:
            left[top] = val
        else:
            result = val
    return 0.0 + result


# --- one pixel at a time (windows longer than LANES_MAX_TIME)


@numba.njit(cache=True, nogil=True)
def _gather(values, p, use_nodata, nodata, out):
    """The finite values of column p of a ``(n_time, npix)`` block into out; their count."""
    m = 0
    for it in range(values.shape[0]):
        val = np.float64(values[it, p])
        out[m] = val  # branch-free: overwritten unless finite
        m += (val - val == 0.0) & ((not use_nodata) | (val != nodata))
    return m


@numba.njit(cache=True, nogil=True)
def _insertion_sort(a, n):
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@numba.njit(cache=True, nogil=True)
def _decile_lerp(a, b, g):
    diff = b - a
    return b - diff * (1.0 - g) if g >= 0.5 else a + diff * g  # numpy's _lerp


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _percentile_class_pixels(hist, comp, use_nodata, nodata, min_difference, deciles, out):
    n_h, npix = hist.shape
    h = np.empty(max(n_h, 1), dtype=np.float64)
    c = np.empty(max(comp.shape[0], 1), dtype=np.float64)
    ext = np.empty(n_h + 2, dtype=np.float64)
    for p in range(npix):
        m_h = _gather(hist, p, use_nodata, nodata, h)
        m_c = _gather(comp, p, use_nodata, nodata, c)
        if m_h == 0 or m_c == 0:
            out[p] = NODATA
            continue
        mean_h = _pairwise_sum(h, m_h) / m_h
        mean_c = _pairwise_sum(c, m_c) / m_c
        if abs(mean_c - mean_h) <= min_difference:
            out[p] = 0
            continue
        # Historical values extended by min - 5 % and max + 5 % of their range (Trends.Earth),
        # sorted: the extensions are the extremes.
        _insertion_sort(h, m_h)
        rng = h[m_h - 1] - h[0]
        ext[0] = h[0] - 0.05 * rng
        for i in range(m_h):
            ext[i + 1] = h[i]
        ext[m_h + 1] = h[m_h - 1] + 0.05 * rng
        # Class 1 (<= p10) .. 10 (> p90): one plus the number of deciles the mean exceeds.
        cls_h = 1
        cls_c = 1
        for k in range(deciles.size):
            virtual = (m_h + 1) * deciles[k]  # np.percentile "linear" on m_h + 2 values
            prev = math.floor(virtual)
            i0 = int(prev)
            d = _decile_lerp(ext[i0], ext[i0 + 1], virtual - prev)
            cls_h += mean_h > d
            cls_c += mean_c > d
        delta = cls_c - cls_h
        out[p] = -1 if delta <= -2 else (1 if delta >= 2 else 0)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _z_score_pixels(hist, comp, use_nodata, nodata, z_threshold, se, out):
    h = np.empty(max(hist.shape[0], 1), dtype=np.float64)
    c = np.empty(max(comp.shape[0], 1), dtype=np.float64)
    for p in range(hist.shape[1]):
        m_h = _gather(hist, p, use_nodata, nodata, h)
        m_c = _gather(comp, p, use_nodata, nodata, c)
        if m_h < 2 or m_c == 0:
            out[p] = NODATA
            continue
        mean_h = _pairwise_sum(h, m_h) / m_h
        mean_c = _pairwise_sum(c, m_c) / m_c
        for i in range(m_h):
            dev = h[i] - mean_h
            h[i] = dev * dev
        sd = math.sqrt(_pairwise_sum(h, m_h) / (m_h - 1))  # np.std(ddof=1)
        denom = sd / math.sqrt(m_c) if se else sd
        z = (mean_c - mean_h) / denom  # a constant history gives +-inf (or NaN -> stable)
        out[p] = 1 if z > z_threshold else (-1 if z < -z_threshold else 0)


# --- LANES pixels in lockstep (windows up to LANES_MAX_TIME)


@numba.njit(cache=True, nogil=True)
def _load_lanes(values, p0, use_nodata, nodata, tile, m):
    """Columns p0 .. p0 + LANES of a ``(n_time, npix)`` block into tile ``(n_time, LANES)`` as
    float64, missing (NaN, infinite, no data, past the block's end) -> NaN; m = the number of
    finite values of each lane (int64). Returns the smallest m."""
    m[:] = 0
    for it in range(values.shape[0]):
        src = values[it, p0 : p0 + LANES]  # a 1-D slice: 2-D indexing here compiles to gathers
        row = tile[it]
        if src.size == LANES:
            for lane in range(LANES):
                val = np.float64(src[lane])
                ok = (val - val == 0.0) & ((not use_nodata) | (val != nodata))
                row[lane] = val if ok else np.nan
                m[lane] += ok
        else:
            for lane in range(LANES):
                val = np.nan
                if lane < src.size:
                    val = np.float64(src[lane])
                    if use_nodata and val == nodata:
                        val = np.nan
                ok = val - val == 0.0
                row[lane] = val if ok else np.nan
                m[lane] += ok
    lowest = values.shape[0]
    for lane in range(LANES):
        lowest = min(lowest, m[lane])
    return lowest


@numba.njit(cache=True, nogil=True)
def _compact_lanes(tile, packed, m):
    """packed[k] = the k-th finite value of each lane (NaN past the lane's count m, int64)."""
    packed[:] = np.nan
    m[:] = 0
    gap = 0  # most missing values of any lane so far: bounds the positions to fill
    for it in range(tile.shape[0]):
        row = tile[it]
        for k in range(it - gap, it + 1):  # the value at time it lands at position m <= it
            dst = packed[k]
            for lane in range(LANES):
                val = row[lane]
                dst[lane] = val if (val == val) & (m[lane] == k) else dst[lane]
        lowest = it + 1
        for lane in range(LANES):  # (int min reduction: vectorizes, a float max does not)
            m[lane] += row[lane] == row[lane]
            lowest = min(lowest, m[lane])
        gap = it + 1 - lowest


@numba.njit(cache=True, nogil=True)
def _sum_lanes(packed, m, out, r, m8):
    """out = numpy's pairwise sum of the m finite values of each lane (m <= 128: one block).

    ``packed`` holds them in order with NaN for missing: compacted (NaN past m) when it has 8
    rows or more; otherwise any order-preserving layout will do, as numpy sums fewer than 8
    values sequentially. A missing value adds 0.0, which changes nothing: a partial sum that
    starts from 0.0 is never -0.0, and numpy's result is itself added to 0.0.
    Scratch: r float64 ``(9, LANES)`` (8 partial sums, the sequential sum), m8 int64 ``(LANES,)``.
    """
    n = packed.shape[0]
    seq = r[8]
    # Values at positions below m8 = m - m % 8 go to the 8 partial sums, the others follow.
    lo_m8 = n
    hi_m8 = 0
    lo_m = n
    for lane in range(LANES):
        seq[lane] = 0.0
        m8[lane] = m[lane] - m[lane] % 8
        lo_m8 = min(lo_m8, m8[lane])
        hi_m8 = max(hi_m8, m8[lane])
        lo_m = min(lo_m, m[lane])
    for k in range(min(n, 8)):
        rk = r[k]
        src = packed[k]
        for lane in range(LANES):
            val = src[lane] if src[lane] == src[lane] else 0.0
            rk[lane] = val
            seq[lane] += val  # below 8 values numpy sums sequentially
    if n < 8 or hi_m8 == 0:
        for lane in range(LANES):
            out[lane] = 0.0 + seq[lane]
        return
    for k in range(8, hi_m8):  # (bounds over the tile: most tiles skip this loop entirely)
        rk = r[k % 8]
        src = packed[k]
        for lane in range(LANES):
            rk[lane] += src[lane] if k < m8[lane] else 0.0
    r0, r1, r2, r3, r4, r5, r6, r7 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
    for lane in range(LANES):  # (1-D rows: 2-D indexing in a lane loop compiles to gathers)
        out[lane] = ((r0[lane] + r1[lane]) + (r2[lane] + r3[lane])) + (
            (r4[lane] + r5[lane]) + (r6[lane] + r7[lane])
        )
    for k in range(max(lo_m8, 8), n):  # then the last m % 8 values, one by one
        src = packed[k]
        for lane in range(LANES):
            out[lane] += src[lane] if (k >= m8[lane]) & (src[lane] == src[lane]) else 0.0
    if lo_m < 8:
        for lane in range(LANES):
            out[lane] = seq[lane] if m[lane] < 8 else out[lane]
    for lane in range(LANES):
        out[lane] = 0.0 + out[lane]


@numba.njit(cache=True, nogil=True)
def _window_lanes(values, p0, use_nodata, nodata, tile, packed, m, mean, r, m8):
    """Load LANES pixels of a window into tile, count (m) and average (mean) their finite
    values; returns their values in numpy's summation order (see :func:`_sum_lanes`): packed
    when compaction is needed (8 values or more, some missing), else the tile itself."""
    lowest = _load_lanes(values, p0, use_nodata, nodata, tile, m)
    order = tile
    if tile.shape[0] >= 8 and lowest < tile.shape[0]:  # (a tile without gaps needs no compaction)
        _compact_lanes(tile, packed, m)
        order = packed
    _sum_lanes(order, m, mean, r, m8)
    for lane in range(LANES):
        mean[lane] /= m[lane]  # no value: 0 / 0 = NaN
    return order


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _z_score_lanes(hist, comp, use_nodata, nodata, z_threshold, se, out):
    n_h, npix = hist.shape
    n_c = comp.shape[0]
    tile_h = np.empty((n_h, LANES), dtype=np.float64)
    tile_c = np.empty((n_c, LANES), dtype=np.float64)
    packed_h = np.empty((n_h, LANES), dtype=np.float64)
    packed_c = np.empty((n_c, LANES), dtype=np.float64)
    m_h = np.empty(LANES, dtype=np.int64)
    m_c = np.empty(LANES, dtype=np.int64)
    scratch = np.empty((9, LANES), dtype=np.float64)
    m8 = np.empty(LANES, dtype=np.int64)
    mean_h = np.empty(LANES, dtype=np.float64)
    mean_c = np.empty(LANES, dtype=np.float64)
    ss = np.empty(LANES, dtype=np.float64)
    for p0 in range(0, npix, LANES):
        order = _window_lanes(hist, p0, use_nodata, nodata, tile_h, packed_h, m_h, mean_h, scratch, m8)
        _window_lanes(comp, p0, use_nodata, nodata, tile_c, packed_c, m_c, mean_c, scratch, m8)
        for k in range(n_h):  # squared deviations (NaN stays NaN: missing)
            row = order[k]
            for lane in range(LANES):
                dev = row[lane] - mean_h[lane]
                row[lane] = dev * dev
        _sum_lanes(order, m_h, ss, scratch, m8)
        n_here = min(LANES, npix - p0)
        for lane in range(n_here):
            sd = math.sqrt(ss[lane] / (m_h[lane] - 1.0))  # np.std(ddof=1)
            denom = sd / math.sqrt(m_c[lane]) if se else sd
            z = (mean_c[lane] - mean_h[lane]) / denom  # constant history: +-inf (NaN: stable)
            cls = 1 if z > z_threshold else (-1 if z < -z_threshold else 0)
            out[p0 + lane] = NODATA if (m_h[lane] < 2) | (m_c[lane] == 0) else cls


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _percentile_class_lanes(hist, comp, use_nodata, nodata, min_difference, deciles, ca, cb, out):
    n_h, npix = hist.shape
    n_c = comp.shape[0]
    tile_h = np.empty((n_h, LANES), dtype=np.float64)
    tile_c = np.empty((n_c, LANES), dtype=np.float64)
    packed_h = np.empty((n_h, LANES), dtype=np.float64)
    packed_c = np.empty((n_c, LANES), dtype=np.float64)
    m_h = np.empty(LANES, dtype=np.int64)
    m_c = np.empty(LANES, dtype=np.int64)
    scratch = np.empty((9, LANES), dtype=np.float64)
    m8 = np.empty(LANES, dtype=np.int64)
    mean_h = np.empty(LANES, dtype=np.float64)
    mean_c = np.empty(LANES, dtype=np.float64)
    lo = np.empty(LANES, dtype=np.float64)
    hi = np.empty(LANES, dtype=np.float64)
    a = np.empty(LANES, dtype=np.float64)
    b = np.empty(LANES, dtype=np.float64)
    i0 = np.empty(LANES, dtype=np.float64)
    g = np.empty(LANES, dtype=np.float64)
    cls_h = np.empty(LANES, dtype=np.int64)
    cls_c = np.empty(LANES, dtype=np.int64)
    for p0 in range(0, npix, LANES):
        _window_lanes(hist, p0, use_nodata, nodata, tile_h, packed_h, m_h, mean_h, scratch, m8)
        _window_lanes(comp, p0, use_nodata, nodata, tile_c, packed_c, m_c, mean_c, scratch, m8)
        # Sort the historical values (missing -> +inf, so the m finite ones come first).
        for k in range(n_h):
            row = tile_h[k]
            for lane in range(LANES):
                row[lane] = row[lane] if row[lane] == row[lane] else np.inf
        sort_lanes(tile_h, ca, cb)
        # Extended values ext = [lo - 5 % range, sorted values, hi + 5 % range].
        first = tile_h[0]
        for lane in range(LANES):
            lo[lane] = first[lane]
            hi[lane] = tile_h[max(m_h[lane] - 1, 0), lane]  # a gather from the tile
        for lane in range(LANES):
            rng = hi[lane] - lo[lane]
            lo[lane] = lo[lane] - 0.05 * rng  # ext[0]
            hi[lane] = hi[lane] + 0.05 * rng  # ext[m + 1]
            cls_h[lane] = 1
            cls_c[lane] = 1
        for d in range(deciles.size):
            for lane in range(LANES):
                virtual = (m_h[lane] + 1.0) * deciles[d]  # np.percentile "linear", m + 2 values
                prev = math.floor(virtual)
                i0[lane] = prev
                g[lane] = virtual - prev
                a[lane] = lo[lane]  # ext[i0] with i0 = 0
                b[lane] = hi[lane]  # ext[i0 + 1] with i0 + 1 = m + 1
            for lane in range(LANES):  # ext[i] = sorted value i - 1 for 1 <= i <= m
                i = int(i0[lane])
                a[lane] = tile_h[i - 1, lane] if i >= 1 else a[lane]  # a gather from the tile
                b[lane] = tile_h[i, lane] if i < m_h[lane] else b[lane]
            for lane in range(LANES):
                dec = _decile_lerp(a[lane], b[lane], g[lane])
                cls_h[lane] += mean_h[lane] > dec
                cls_c[lane] += mean_c[lane] > dec
        n_here = min(LANES, npix - p0)
        for lane in range(n_here):
            delta = cls_c[lane] - cls_h[lane]
            cls = -1 if delta <= -2 else (1 if delta >= 2 else 0)
            cls = 0 if abs(mean_c[lane] - mean_h[lane]) <= min_difference else cls
            out[p0 + lane] = NODATA if (m_h[lane] == 0) | (m_c[lane] == 0) else cls


@lru_cache(maxsize=64)
def _sort_network(n: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = odd_even_merge_sort(n)
    return (np.array([p[0] for p in pairs], dtype=np.intp), np.array([p[1] for p in pairs], dtype=np.intp))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _mean_block(values, use_nodata, nodata, out):
    npix = values.shape[1]
    count = np.zeros(npix, dtype=np.float64)
    out[:] = 0.0
    for it in range(values.shape[0]):
        row = values[it]
        for p in range(npix):
            val = np.float64(row[p])
            ok = (val - val == 0.0) & ((not use_nodata) | (val != nodata))
            out[p] += val if ok else 0.0
            count[p] += ok
    for p in range(npix):
        out[p] /= count[p]  # no finite value: 0 / 0 = NaN


def window_mean(values: np.ndarray) -> np.ndarray:
    """Mean of the finite values of every pixel of a ``(n_time, ny, nx)`` block, float64.

    Summed in time order in float64, so it equals ``np.nanmean(values.astype("f8"), axis=0)``;
    NaN where a pixel has no finite value (integer inputs: NODATA is missing).

    Example
    -------
    >>> window_mean(ndvi[:16])
    """
    values = np.asarray(values)
    if values.ndim != 3 or values.dtype.kind not in "fiu":
        raise ValueError(
            f"values must be a numeric (n_time, ny, nx) block, got {values.dtype} {values.shape}"
        )
    flat = values.reshape(values.shape[0], -1)
    out = np.empty(flat.shape[1], dtype=np.float64)
    _mean_block(flat, values.dtype.kind in "iu", float(NODATA), out)
    return out.reshape(values.shape[1:])


def _check(hist: np.ndarray, comp: np.ndarray, lanes: bool | None):
    hist = np.asarray(hist)
    comp = np.asarray(comp)
    if hist.ndim != 3 or comp.ndim != 3 or hist.shape[1:] != comp.shape[1:] or 0 in (len(hist), len(comp)):
        raise ValueError(f"hist and comp must be (n_time, ny, nx) blocks, got {hist.shape} and {comp.shape}")
    for a in (hist, comp):
        if a.dtype.kind not in "fiu":
            raise ValueError(f"values must be numeric, got {a.dtype}")
    if lanes and max(hist.shape[0], comp.shape[0]) > LANES_MAX_TIME:
        raise ValueError(f"the lockstep kernels take windows of at most {LANES_MAX_TIME} years")
    use_nodata = hist.dtype.kind in "iu" or comp.dtype.kind in "iu"
    flat = [a.reshape(a.shape[0], -1) for a in (hist, comp)]  # views for C-ordered blocks
    if lanes is None:
        lanes = max(hist.shape[0], comp.shape[0]) <= LANES_MAX_TIME
    return flat[0], flat[1], use_nodata, float(NODATA), hist.shape[1:], lanes


def percentile_class(
    hist: np.ndarray, comp: np.ndarray, min_difference: float = 0.01, lanes: bool | None = None
) -> np.ndarray:
    """Trends.Earth / PRAIS 2026 percentile-class state of every pixel of a block.

    The historical values extended by min - 5 % and max + 5 % of their range give the deciles
    p10..p90 (numpy linear); the historical and the comparison means fall in classes
    1 (<= p10) .. 10 (> p90); a class change <= -2 is -1, >= 2 is +1, else 0; and 0 whenever
    ``|mean_comp - mean_hist| <= min_difference`` (value units).

    Parameters
    ----------
    hist, comp : ``(n_time, ny, nx)`` blocks of the historical and comparison years (float:
        NaN/infinite missing; integer: NODATA missing).
    min_difference : smallest mean difference that can change the state.
    lanes : force the lockstep kernel (True, windows up to :data:`LANES_MAX_TIME` years) or the
        one-pixel-at-a-time kernel (False); default: lockstep when possible. Same numbers.

    Returns
    -------
    int16 ``(ny, nx)``: -1, 0, 1; NODATA where a window has no value.

    Example
    -------
    >>> percentile_class(ndvi[:13], ndvi[13:16], min_difference=0.01)
    """
    h, c, use_nodata, nodata, shape, lanes = _check(hist, comp, lanes)
    out = np.empty(h.shape[1], dtype=np.int16)
    args = (h, c, use_nodata, nodata, float(min_difference), _DECILES)
    if lanes:
        _percentile_class_lanes(*args, *_sort_network(h.shape[0]), out)
    else:
        _percentile_class_pixels(*args, out)
    return out.reshape(shape)


def z_score(
    hist: np.ndarray, comp: np.ndarray, z_threshold: float = 1.96, se: bool = False, lanes: bool | None = None
) -> np.ndarray:
    """GPG v2 / PRAIS 2022 z-score state of every pixel of a block.

    ``z = (mean_comp - mean_hist) / D`` with D the standard deviation of the historical values
    (ddof=1), or D / sqrt(number of comparison values) if ``se``; z < -z_threshold is -1,
    z > z_threshold is +1, else 0. A constant history gives +-1 for any change.

    Parameters
    ----------
    hist, comp : ``(n_time, ny, nx)`` blocks (see :func:`percentile_class`).
    z_threshold : positive threshold on |z|.
    se : divide the standard deviation by sqrt(number of comparison values) (SEPAL).
    lanes : kernel choice, see :func:`percentile_class`.

    Returns
    -------
    int16 ``(ny, nx)``: -1, 0, 1; NODATA where fewer than 2 historical or no comparison values.

    Example
    -------
    >>> z_score(ndvi[:13], ndvi[13:16], z_threshold=1.96)
    """
    h, c, use_nodata, nodata, shape, lanes = _check(hist, comp, lanes)
    out = np.empty(h.shape[1], dtype=np.int16)
    (_z_score_lanes if lanes else _z_score_pixels)(
        h, c, use_nodata, nodata, float(z_threshold), bool(se), out
    )
    return out.reshape(shape)
