"""Exact per-zone quantiles of a raster, block by block with bounded memory.

``zonal_quantiles(values, units, q)`` returns, for every unit code, exactly what
``np.percentile(values[units == code], q)`` (linear interpolation) would return, without ever
holding more than one block plus small per-unit tables:

1. one pass of per-block histograms per unit (numba), summed across blocks, which locates the
   bin holding each order statistic needed (ranks ``floor(q (n-1))`` and the next one). With a
   ``value_range`` the bins span that range (values outside it fall in the end bins) and the
   unit codes are found in the same pass, each block histogramming its own units; without one,
   a first pass finds the unit codes and the exact value range;
2. one pass collecting only the values in those bins per unit; they are sorted and the order
   statistics picked and interpolated as numpy does.

If the located bins would still hold more than ``max_collect`` values (a huge unit with many
equal values, or a value range far from the data), those bins are refined by further
histogram passes before collecting. The bin index of a value is a monotone function of it
(clamped at the ends), so ranks are preserved exactly at every level: the range only affects
how many values are collected, never the result.

Inputs are 2-D numpy or dask arrays of the same shape (values: float, NaN = missing; units:
integer codes, negative or :data:`ldnkit.codes.NODATA` = missing). Dask inputs are reduced
block by block with a tree of small partial results; nothing else is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numba
import numpy as np

#: Budget of histogram cells (units x bins) per block: bounds the memory of pass 1.
HIST_CELLS = 1 << 22
#: Default upper bound on the number of values collected in pass 2.
MAX_COLLECT = 1 << 24


# --- per-block pieces (numpy in, numpy out) ------------------------------------------------------


def valid_unit_codes(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int64 codes, valid mask) of a units block: negative, NaN and fractional are missing."""
    units = np.asarray(units)
    if units.dtype.kind == "f":
        ok = np.isfinite(units) & (units >= 0) & (units == np.round(units))
        return np.where(ok, units, -1).astype(np.int64), ok
    codes = units.astype(np.int64)
    return codes, codes >= 0


def _unit_index(values: np.ndarray, units: np.ndarray, unit_codes: np.ndarray) -> np.ndarray:
    """Dense unit index (0..U-1) of every pixel of a block, -1 where value or unit is missing."""
    codes, ok = valid_unit_codes(units)
    ok &= np.isfinite(np.asarray(values, dtype=np.float64))
    idx = np.searchsorted(unit_codes, codes)
    idx = np.minimum(idx, max(unit_codes.size - 1, 0))
    ok &= unit_codes.size > 0
    if unit_codes.size:
        ok &= unit_codes[idx] == codes
    return np.where(ok, idx, -1).astype(np.int64).ravel()


def _summary_block(values: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Distinct valid unit codes, min and max of the valid values of a block."""
    vals = np.asarray(values, dtype=np.float64)
    codes, ok = valid_unit_codes(units)
    ok &= np.isfinite(vals)
    if not ok.any():
        return np.empty(0, dtype=np.int64), np.inf, -np.inf
    v = vals[ok]
    return np.unique(codes[ok]), float(v.min()), float(v.max())


def _combine_summary(a, b):
    return np.union1d(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2])


#: Largest code span indexed by a lookup table instead of a sort (np.unique) in a block.
_DENSE_SPAN = 1 << 20


def _local_units(values: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct valid unit codes of a block, flat index of every pixel into them or -1)."""
    codes, ok = valid_unit_codes(units)
    ok &= np.isfinite(np.asarray(values, dtype=np.float64))
    codes = codes.ravel()
    ok = ok.ravel()
    if not ok.any():
        return np.empty(0, dtype=np.int64), np.full(codes.size, -1, dtype=np.int64)
    present = codes[ok]
    lo, hi = int(present.min()), int(present.max())
    if hi - lo < _DENSE_SPAN:  # land cover x zone codes: a table, no sort
        seen = np.bincount(present - lo, minlength=hi - lo + 1) > 0
        local = np.flatnonzero(seen).astype(np.int64) + lo
        lut = np.cumsum(seen) - 1
        idx = np.where(ok, lut[np.clip(codes - lo, 0, hi - lo)], -1)
    else:
        local = np.unique(present)
        idx = np.where(ok, np.searchsorted(local, codes), -1)
    return local, idx.astype(np.int64)


def _local_hist_block(values, units, a, s, nbins, max_units):
    """Histogram per unit of a block over its own unit codes: (codes, counts[n_local, nbins])."""
    local, idx = _local_units(values, units)
    if local.size > max_units:
        raise _TooManyUnits
    counts = np.zeros((local.size, nbins), dtype=np.int64)
    _hist_units(_flat(values), idx, a, s, nbins, counts)
    return local, counts


def _combine_local_hist(a, b):
    codes = np.union1d(a[0], b[0])
    counts = np.zeros((codes.size, a[1].shape[1]), dtype=np.int64)
    counts[np.searchsorted(codes, a[0])] += a[1]
    counts[np.searchsorted(codes, b[0])] += b[1]
    return codes, counts


class _TooManyUnits(Exception):
    """A block has more units than the single-pass histogram budget allows."""


@numba.njit(cache=True, nogil=True)
def _bin(v: float, a: float, s: float, nbins: int) -> int:
    """Bin of v for a level starting at a with scale s (bins per unit of value); monotone in v."""
    b = int(np.floor((v - a) * s))
    if b < 0:
        return 0
    if b >= nbins:
        return nbins - 1
    return b


@numba.njit(cache=True, nogil=True)
def _is_member(v, t, depth, lev_a, lev_s, lev_c, nbins):
    """True if v falls in the chosen bin of target t at every one of its first `depth` levels."""
    for lv in range(depth):
        if _bin(v, lev_a[lv, t], lev_s[lv, t], nbins) != lev_c[lv, t]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _hist_units(vals, uidx, a, s, nbins, counts):
    """Level-0 histogram per unit: counts[u, bin] over a flat block."""
    for i in range(vals.size):
        u = uidx[i]
        if u >= 0:
            counts[u, _bin(vals[i], a, s, nbins)] += 1


@numba.njit(cache=True, nogil=True)
def _hist_targets(vals, uidx, slot, depth, lev_a, lev_s, lev_c, nbins, counts, vmin, vmax):
    """Refinement histogram: for each target t with slot[t] >= 0, histogram at level depth[t]
    of the values that are members of all its previous levels; also their min and max."""
    for i in range(vals.size):
        u = uidx[i]
        if u < 0:
            continue
        v = vals[i]
        for t in range(2 * u, 2 * u + 2):
            k = slot[t]
            if k < 0:
                continue
            d = depth[t]
            if not _is_member(v, t, d, lev_a, lev_s, lev_c, nbins):
                continue
            counts[k, _bin(v, lev_a[d, t], lev_s[d, t], nbins)] += 1
            if v < vmin[k]:
                vmin[k] = v
            if v > vmax[k]:
                vmax[k] = v


@numba.njit(cache=True, nogil=True)
def _collect(vals, uidx, want, depth, lev_a, lev_s, lev_c, nbins):
    """(target, value) of every value that is a member of a wanted target's chosen bins."""
    n = 0
    for i in range(vals.size):
        u = uidx[i]
        if u < 0:
            continue
        for t in range(2 * u, 2 * u + 2):
            if want[t] and _is_member(vals[i], t, depth[t], lev_a, lev_s, lev_c, nbins):
                n += 1
    tid = np.empty(n, dtype=np.int64)
    out = np.empty(n, dtype=np.float64)
    n = 0
    for i in range(vals.size):
        u = uidx[i]
        if u < 0:
            continue
        for t in range(2 * u, 2 * u + 2):
            if want[t] and _is_member(vals[i], t, depth[t], lev_a, lev_s, lev_c, nbins):
                tid[n] = t
                out[n] = vals[i]
                n += 1
    return tid, out


def _flat(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).ravel())


def _hist_units_block(values, units, unit_codes, a, s, nbins):
    counts = np.zeros((unit_codes.size, nbins), dtype=np.int64)
    _hist_units(_flat(values), _unit_index(values, units, unit_codes), a, s, nbins, counts)
    return counts


def _hist_targets_block(values, units, unit_codes, slot, n_slots, depth, la, ls, lc, nbins):
    counts = np.zeros((n_slots, nbins), dtype=np.int64)
    vmin = np.full(n_slots, np.inf)
    vmax = np.full(n_slots, -np.inf)
    uidx = _unit_index(values, units, unit_codes)
    _hist_targets(_flat(values), uidx, slot, depth, la, ls, lc, nbins, counts, vmin, vmax)
    return counts, vmin, vmax


def _combine_hist_targets(a, b):
    return a[0] + b[0], np.minimum(a[1], b[1]), np.maximum(a[2], b[2])


def _collect_block(values, units, unit_codes, want, depth, la, ls, lc, nbins):
    uidx = _unit_index(values, units, unit_codes)
    return _collect(_flat(values), uidx, want, depth, la, ls, lc, nbins)


def _combine_collect(a, b):
    return np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]])


# --- block driver --------------------------------------------------------------------------------


def _reduce_blocks(func: Callable, combine: Callable, values: Any, units: Any, *args: Any) -> Any:
    """func(values_block, units_block, *args) on every block, combined pairwise (a tree)."""
    if not isinstance(values, da.Array) and not isinstance(units, da.Array):
        return func(np.asarray(values), np.asarray(units), *args)
    values = da.asarray(values)
    units = da.asarray(units).rechunk(values.chunks)
    shared = [dask.delayed(a, traverse=False) for a in args]  # embedded once, not per block
    parts = [
        dask.delayed(func, pure=True)(vb, ub, *shared)
        for vb, ub in zip(values.to_delayed().ravel(), units.to_delayed().ravel(), strict=True)
    ]
    while len(parts) > 1:
        nxt = [dask.delayed(combine, pure=True)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return dask.compute(parts[0])[0]


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's linear interpolation of quantiles (same rounding as ``np.percentile``)."""
    diff = b - a
    out = a + diff * t
    return np.where(t >= 0.5, b - diff * (1 - t), out)


def zonal_quantiles(
    values: Any,
    units: Any,
    q: float,
    nbins: int | None = None,
    max_collect: int = MAX_COLLECT,
    value_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact ``q``-th percentile (0..100, numpy "linear") of ``values`` per unit code.

    Parameters
    ----------
    values : 2-D float numpy/dask array, NaN = missing.
    units : integer unit codes, same shape (chunks aligned to ``values`` if dask); negative
        codes (including :data:`ldnkit.codes.NODATA`) and NaN are missing.
    q : percentile in [0, 100].
    nbins : histogram bins per unit (default: up to 4096, fewer when there are many units).
    max_collect : most values collected at once in the final pass; larger located bins are
        refined by extra histogram passes first.
    value_range : (low, high) expected range of the values (any values outside it are still
        handled exactly): saves the pass that finds the unit codes and the value range, so the
        result takes 2 passes over the data instead of 3. Falls back to 3 passes when a block
        holds more than ``HIST_CELLS / nbins`` units.

    Returns
    -------
    (codes int64, percentiles float64, counts int64), one entry per unit that has at least one
    valid pixel, sorted by code.

    Example
    -------
    >>> codes, p90, n = zonal_quantiles(mean_ndvi, lceu, 90.0)
    """
    q = float(q)
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q}")
    if np.shape(values) != np.shape(units):
        raise ValueError(f"values {np.shape(values)} and units {np.shape(units)} differ in shape")

    unit_codes, counts, gmin, scale0, nbins = _unit_histograms(values, units, nbins, value_range)
    if unit_codes.size == 0:
        return unit_codes, np.empty(0), np.empty(0, dtype=np.int64)
    n = counts.sum(axis=1)

    # Ranks needed per unit, as numpy computes them: virtual index (n-1)*q/100.
    virtual = (n - 1) * (q / 100.0)
    prev = np.floor(virtual)
    gamma = virtual - prev
    above = virtual >= n - 1
    rank_lo = np.where(above, n - 1, prev).astype(np.int64)
    rank_hi = np.where(above, n - 1, prev + 1).astype(np.int64)

    targets = _Targets(rank_lo, rank_hi, gmin, scale0)
    targets.choose(np.arange(targets.n), np.repeat(counts, 2, axis=0))
    _refine(targets, values, units, unit_codes, nbins, max_collect)
    _collect_order_statistics(targets, values, units, unit_codes, nbins)

    lower, upper = targets.result[0::2], targets.result[1::2]
    return unit_codes, _lerp(lower, upper, gamma), n


def _unit_histograms(
    values: Any, units: Any, nbins: int | None, value_range: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    """Passes 0-1: (unit codes, histogram per unit, first bin start, bins per value unit, nbins).

    With a ``value_range`` one pass finds each block's units and histograms them; otherwise (or
    when a block holds too many units) a first pass finds the unit codes and the value range.
    """
    if value_range is not None:
        lo, hi = (float(v) for v in value_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise ValueError(f"value_range must be finite (low, high), got {value_range}")
        bins = max(int(nbins or 1024), 2)
        scale0 = bins / (hi - lo) if hi > lo else 0.0
        try:
            unit_codes, counts = _reduce_blocks(
                _local_hist_block, _combine_local_hist, values, units, lo, scale0, bins, HIST_CELLS // bins
            )
            return np.asarray(unit_codes, dtype=np.int64), counts, lo, scale0, bins
        except _TooManyUnits:
            pass
    unit_codes, gmin, gmax = _reduce_blocks(_summary_block, _combine_summary, values, units)
    unit_codes = np.asarray(unit_codes, dtype=np.int64)
    if unit_codes.size == 0:
        return unit_codes, np.empty((0, 2), dtype=np.int64), gmin, 0.0, 2
    if nbins is None:
        nbins = int(np.clip(HIST_CELLS // unit_codes.size, 64, 4096))
    nbins = max(int(nbins), 2)
    scale0 = nbins / (gmax - gmin) if gmax > gmin else 0.0
    counts = _reduce_blocks(_hist_units_block, np.add, values, units, unit_codes, gmin, scale0, nbins)
    return unit_codes, counts, gmin, scale0, nbins


class _Targets:
    """The order statistics sought: target 2u is unit u's lower one, 2u+1 its upper one.

    Level ``lv`` of target t is a histogram starting at ``lev_a[lv, t]`` with ``lev_s[lv, t]``
    bins per value unit, of which bin ``lev_c[lv, t]`` holds the order statistic; ``rank`` is
    its rank among the members of the chosen bins (``size`` of them) after ``depth`` levels.
    """

    def __init__(self, rank_lo: np.ndarray, rank_hi: np.ndarray, gmin: float, scale0: float) -> None:
        n_t = 2 * rank_lo.size
        self.n = n_t
        self.rank = np.empty(n_t, dtype=np.int64)
        self.rank[0::2], self.rank[1::2] = rank_lo, rank_hi
        self.lev_a = np.full((1, n_t), gmin)
        self.lev_s = np.full((1, n_t), scale0)
        self.lev_c = np.zeros((1, n_t), dtype=np.int64)
        self.depth = np.zeros(n_t, dtype=np.int64)
        self.size = np.zeros(n_t, dtype=np.int64)  # members of the chosen bins so far
        self.resolved = np.zeros(n_t, dtype=bool)
        self.result = np.full(n_t, np.nan)
        # Exact value range of a target's members, known when its last refinement did not split
        # them; the next level then spans exactly that range, which always splits.
        self.range_lo = np.full(n_t, np.nan)
        self.range_hi = np.full(n_t, np.nan)
        self.stuck = np.zeros(n_t, dtype=bool)  # cannot be split further (range below float resolution)

    def choose(self, t_ids: np.ndarray, hist: np.ndarray) -> None:
        """Pick, for each target, the bin holding its rank; update rank, size and depth."""
        cum = np.cumsum(hist, axis=1)
        c = (cum <= self.rank[t_ids, None]).sum(axis=1)  # first bin whose cumulative count > rank
        below = np.where(c > 0, cum[np.arange(t_ids.size), np.maximum(c - 1, 0)], 0)
        self.rank[t_ids] -= below
        self.size[t_ids] = hist[np.arange(t_ids.size), c]
        self.lev_c[self.depth[t_ids], t_ids] = c
        self.depth[t_ids] += 1

    def to_refine(self, max_collect: int) -> np.ndarray:
        """Targets to refine so the located bins hold at most ``max_collect`` values (largest first)."""
        pending = np.flatnonzero(~self.resolved)
        open_t = pending[~self.stuck[pending]]
        excess = int(self.size[pending].sum()) - max_collect
        if excess <= 0 or open_t.size == 0:
            return np.empty(0, dtype=np.int64)
        order = open_t[np.argsort(self.size[open_t], kind="stable")[::-1]]
        return order[: int(np.searchsorted(np.cumsum(self.size[order]), excess)) + 1]

    def add_level(self, refine: np.ndarray, nbins: int) -> None:
        """Next level of ``refine``: the previous level's chosen bin split in nbins, or the exact range."""
        d = self.depth[refine]
        need = int(d.max()) + 1
        if self.lev_a.shape[0] < need:
            grow = need - self.lev_a.shape[0]
            self.lev_a = np.vstack([self.lev_a, np.zeros((grow, self.n))])
            self.lev_s = np.vstack([self.lev_s, np.zeros((grow, self.n))])
            self.lev_c = np.vstack([self.lev_c, np.zeros((grow, self.n), dtype=np.int64)])
        prev_s = self.lev_s[d - 1, refine]
        safe_s = np.where(prev_s > 0, prev_s, 1.0)
        a_new = self.lev_a[d - 1, refine] + np.where(prev_s > 0, self.lev_c[d - 1, refine] / safe_s, 0.0)
        s_new = prev_s * nbins
        known = np.isfinite(self.range_lo[refine])
        with np.errstate(divide="ignore", over="ignore"):
            s_range = nbins / (self.range_hi[refine] - self.range_lo[refine])
        self.lev_a[d, refine] = np.where(known, self.range_lo[refine], a_new)
        self.lev_s[d, refine] = np.where(known, s_range, s_new)

    def update(
        self, refine: np.ndarray, hist: np.ndarray, vmin: np.ndarray, vmax: np.ndarray, nbins: int
    ) -> None:
        """Take a refinement histogram of ``refine`` (and its members' min and max) into account."""
        # Members all equal: the order statistic is that value, no need to collect.
        flat = vmin == vmax
        self.resolved[refine[flat]] = True
        self.result[refine[flat]] = vmin[flat]
        keep = ~flat
        t_keep = refine[keep]
        before = self.size[t_keep].copy()
        self.choose(t_keep, hist[keep])
        no_split = self.size[t_keep] == before
        self.range_lo[t_keep] = np.where(no_split, vmin[keep], np.nan)
        self.range_hi[t_keep] = np.where(no_split, vmax[keep], np.nan)
        with np.errstate(divide="ignore", over="ignore"):
            s_next = nbins / (vmax[keep] - vmin[keep])
        self.stuck[t_keep] = no_split & ~(np.isfinite(s_next) & (s_next > 0))


def _refine(
    targets: _Targets, values: Any, units: Any, unit_codes: np.ndarray, nbins: int, max_collect: int
) -> None:
    """Histogram passes over the located bins while they would hold too many values to collect."""
    while (refine := targets.to_refine(max_collect)).size:
        targets.add_level(refine, nbins)
        slot = np.full(targets.n, -1, dtype=np.int64)
        slot[refine] = np.arange(refine.size)
        hist, vmin, vmax = _reduce_blocks(
            _hist_targets_block,
            _combine_hist_targets,
            values,
            units,
            unit_codes,
            slot,
            refine.size,
            targets.depth,
            targets.lev_a,
            targets.lev_s,
            targets.lev_c,
            nbins,
        )
        targets.update(refine, hist, vmin, vmax, nbins)


def _collect_order_statistics(
    targets: _Targets, values: Any, units: Any, unit_codes: np.ndarray, nbins: int
) -> None:
    """Last pass: collect the members of the located bins, sort per target, pick each rank."""
    want = ~targets.resolved
    if not want.any():
        return
    tid, vals = _reduce_blocks(
        _collect_block,
        _combine_collect,
        values,
        units,
        unit_codes,
        want,
        targets.depth,
        targets.lev_a,
        targets.lev_s,
        targets.lev_c,
        nbins,
    )
    order = np.lexsort((vals, tid))
    tid, vals = tid[order], vals[order]
    start = np.searchsorted(tid, np.arange(targets.n))
    got = np.bincount(tid, minlength=targets.n)
    w = np.flatnonzero(want)
    if np.any(got[w] != targets.size[w]):  # bins are recomputed identically, so this is a bug
        raise RuntimeError("zonal_quantiles: collected counts differ from the histogram")
    targets.result[w] = vals[start[w] + targets.rank[w]]
