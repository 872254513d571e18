"""Weighted cross-tabulation: categorical layers tabulated by pixel area, block by block.

A base module (imports only codes and errors): indicators and tables both use it.

Each dask block is reduced to a small table (one row per combination of codes present in the
block); the block tables are merged in a tree, so memory is bounded by the chunk size and the
number of distinct combinations, never by the raster size. Many cross-tabulations are evaluated
in one graph (:func:`compute_crosstabs`): every block of every input is read once and feeds all
the tables that need it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.delayed import Delayed, delayed

from ldnkit import codes
from ldnkit.errors import GridError

#: Partial tables merged per step of the tree reduction.
_FAN_IN = 8
#: Block size used when every input is numpy-backed (bounds the temporaries).
_NUMPY_CHUNK = 2048
#: Codes spanning fewer values than this are densified with a look-up table (O(n), no sort).
_LUT_SPAN = 1 << 20


@dataclass
class CrosstabRequest:
    """One cross-tabulation for :func:`compute_crosstabs` (same arguments as :func:`crosstab`)."""

    keys: Mapping[str, xr.DataArray]
    area: xr.DataArray
    zones: xr.DataArray | None = None
    sums: Mapping[str, xr.DataArray] | None = None


@dataclass(frozen=True)
class _Spec:
    """A request reduced to indices into the list of distinct input arrays (cheap to pickle)."""

    name: str
    key_names: tuple[str, ...]
    key_idx: tuple[int, ...]
    zone_idx: int | None
    area_idx: int
    sum_names: tuple[str, ...]
    sum_idx: tuple[int, ...]

    @property
    def n_keys(self) -> int:
        return len(self.key_idx) + (self.zone_idx is not None)

    @property
    def n_weights(self) -> int:
        return 2 + 2 * len(self.sum_idx)  # pixels, area, then (value*area, area) per sum


# --- per-block numpy work ---------------------------------------------------------------------


def _as_codes(block: np.ndarray) -> np.ndarray:
    """Flatten a categorical block to integers; NaN in float layers is :data:`codes.NODATA`."""
    v = np.asarray(block).ravel()
    if v.dtype.kind == "f":
        v = np.where(np.isfinite(v), v, codes.NODATA).astype(np.int64)
    elif v.dtype.kind == "b":
        v = v.astype(np.int8)
    return v


def _dense(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of integer ``v`` (sorted, int64) and each element's index into them."""
    if v.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.uint8)
    lo, hi = int(v.min()), int(v.max())
    if hi - lo < _LUT_SPAN:
        # Categorical codes span a short range: a presence table beats sorting.
        off = v.astype(np.intp) - lo  # widen first: int16 - lo could overflow
        present = np.zeros(hi - lo + 1, bool)
        present[off] = True
        uniq = np.flatnonzero(present)
        lut = (np.cumsum(present) - 1).astype(_index_dtype(uniq.size))
        return uniq.astype(np.int64) + lo, lut[off]
    uniq, inv = np.unique(v, return_inverse=True)
    return uniq.astype(np.int64), inv.astype(_index_dtype(uniq.size)).ravel()


def _index_dtype(n: int) -> type:
    return np.uint8 if n <= 1 << 8 else np.uint16 if n <= 1 << 16 else np.int64


def _code_dtype(uniq: Sequence[np.ndarray]) -> type:
    """Smallest signed dtype holding every code (partials stay small: int16 for class codes)."""
    lo = min((int(u[0]) for u in uniq if u.size), default=0)
    hi = max((int(u[-1]) for u in uniq if u.size), default=0)
    for t in (np.int16, np.int32):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return t
    return np.int64


def _group(
    dense: Sequence[np.ndarray],
    uniq: Sequence[np.ndarray],
    weights: Sequence[np.ndarray | None],
    drop: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum ``weights`` per combination of keys; ``None`` as a weight means a count of 1.

    ``dense[j]`` indexes the sorted codes ``uniq[j]``; pixels where ``drop`` is True are left
    out. Returns ``(codes (g, k), sums (g, m) float64)`` for the g combinations present.
    """
    n = dense[0].size if dense else next(w.size for w in weights if w is not None)
    card = [max(u.size, 1) for u in uniq]
    total = math.prod(card)
    if total >= 1 << 62:  # pragma: no cover - needs > 10 high-cardinality keys
        raise ValueError("too many distinct key combinations to encode in int64")
    # One int64 per pixel: mixed-radix number of the per-key dense indices.
    comb = np.zeros(n, np.int64)
    for d, c in zip(dense, card, strict=True):
        comb *= c
        comb += d
    if drop is not None:
        comb[drop] = total  # a sentinel bin, discarded below (cheaper than filtering each key)
    size = total + (drop is not None)
    if size <= max(4 * n, 1 << 16):
        counts = np.bincount(comb, minlength=size)[:total]
        groups = np.flatnonzero(counts)
        cols = [
            counts[groups].astype(np.float64)
            if w is None
            else np.bincount(comb, weights=w, minlength=size)[groups]
            for w in weights
        ]
    else:
        groups, inv = np.unique(comb, return_inverse=True)
        inv = inv.ravel()
        cols = [
            np.bincount(inv, minlength=groups.size).astype(np.float64)
            if w is None
            else np.bincount(inv, weights=w, minlength=groups.size)
            for w in weights
        ]
        if groups.size and groups[-1] == total:  # the sentinel sorts last
            groups, cols = groups[:-1], [c[:-1] for c in cols]
    digits = []
    rem = groups
    for c in reversed(card):
        digits.append(rem % c)
        rem = rem // c
    digits.reverse()
    key_codes = np.empty((groups.size, len(uniq)), _code_dtype(uniq))
    for j, (u, d) in enumerate(zip(uniq, digits, strict=True)):
        key_codes[:, j] = u[d]
    return key_codes, np.stack(cols, axis=1) if cols else np.empty((groups.size, 0))


def _block_partials(*blocks: np.ndarray, specs: tuple[_Spec, ...]) -> np.ndarray:
    """Reduce one block of every input to one partial table per spec (a 1x1 object array)."""
    dense_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    drop_cache: dict[tuple[int, int | None], np.ndarray | None] = {}

    def dense_of(i: int) -> tuple[np.ndarray, np.ndarray]:
        if i not in dense_cache:  # layers shared by several specs are densified once
            dense_cache[i] = _dense(_as_codes(blocks[i]))
        return dense_cache[i]

    out = []
    for s in specs:
        area = np.asarray(blocks[s.area_idx], dtype=np.float64).ravel()
        mkey = (s.area_idx, s.zone_idx)
        if mkey not in drop_cache:
            drop = ~np.isfinite(area)  # pixels without an area lie off the grid
            if s.zone_idx is not None:
                zu, zd = dense_of(s.zone_idx)
                drop |= (zu == codes.NODATA)[zd]  # NODATA zone = outside every zone
            drop_cache[mkey] = drop if drop.any() else None
        drop = drop_cache[mkey]
        idx = ([s.zone_idx] if s.zone_idx is not None else []) + list(s.key_idx)
        dense, uniq = [], []
        for i in idx:
            u, d = dense_of(i)
            dense.append(d)
            uniq.append(u)
        weights: list[np.ndarray | None] = [None, area]
        for i in s.sum_idx:
            v = np.asarray(blocks[i], dtype=np.float64).ravel()
            fin = np.isfinite(v)
            weights.append(np.where(fin, v * area, 0.0))  # NaN values skipped
            weights.append(np.where(fin, area, 0.0))
        if area.size == 0:
            part = (np.empty((0, s.n_keys), np.int16), np.empty((0, s.n_weights)))
        else:
            part = _group(dense, uniq, weights, drop)
        out.append(part)
    res = np.empty((1, 1), object)
    res[0, 0] = out
    return res


def _merge(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Merge partial tables of one spec (same key columns) by summing equal key rows."""
    key_codes = np.concatenate([p[0] for p in parts])
    sums = np.concatenate([p[1] for p in parts])
    if key_codes.shape[0] == 0:
        return key_codes, sums
    uniq, dense = [], []
    for j in range(key_codes.shape[1]):
        u, d = _dense(key_codes[:, j])
        uniq.append(u)
        dense.append(d)
    if not uniq:  # no key at all: a single total row
        return np.empty((1, 0), np.int64), sums.sum(axis=0, keepdims=True)
    return _group(dense, uniq, [sums[:, j] for j in range(sums.shape[1])])


def _combine(blocks: list) -> list:
    """Merge a list of per-block results (each: list of partials, one per spec)."""
    lists = [b[0, 0] if isinstance(b, np.ndarray) else b for b in blocks]
    return [_merge([lst[k] for lst in lists]) for k in range(len(lists[0]))]


def _finalize(result, specs: tuple[_Spec, ...]) -> dict[str, pd.DataFrame]:
    lists = _combine([result])  # also unwraps a single block's result
    out = {}
    for s, (key_codes, sums) in zip(specs, lists, strict=True):
        names = (["zone"] if s.zone_idx is not None else []) + list(s.key_names)
        data = {n: key_codes[:, j].astype(np.int64) for j, n in enumerate(names)}
        data["pixels"] = sums[:, 0].astype(np.int64)
        data["area"] = sums[:, 1]
        for j, n in enumerate(s.sum_names):
            data[n] = sums[:, 2 + 2 * j]
            data[f"{n}_area"] = sums[:, 3 + 2 * j]
        df = pd.DataFrame(data)
        if names:
            df = df.sort_values(names, ignore_index=True)
        df.attrs = {
            "method": "crosstab",
            "keys": list(s.key_names),
            "zones": s.zone_idx is not None,
            "sums": list(s.sum_names),
            "area_unit": "km2",
            "nodata": codes.NODATA,
        }
        out[s.name] = df
    return out


# --- graph construction -----------------------------------------------------------------------


def _as_2d(arr: xr.DataArray, what: str) -> xr.DataArray:
    if not isinstance(arr, xr.DataArray):
        raise TypeError(f"{what}: expected an xarray.DataArray, got {type(arr).__name__}")
    if arr.ndim != 2:
        raise GridError(what, f"has dims {arr.dims}; tables need 2-D (y, x) layers", "select one year first")
    if set(arr.dims) == {"y", "x"}:
        arr = arr.transpose("y", "x")
    return arr


def crosstab_graph(requests: Mapping[str, CrosstabRequest]) -> Delayed:
    """One delayed object computing every request's DataFrame (dict name -> DataFrame).

    For callers that put several graphs into one ``dask.compute`` (each input block read once).
    """
    if not requests:
        raise ValueError("no cross-tabulation requested")
    arrays: list = []
    seen: dict = {}
    shape: tuple[int, ...] | None = None

    def add(arr: xr.DataArray, what: str) -> int:
        nonlocal shape
        arr = _as_2d(arr, what)
        if shape is None:
            shape = arr.shape
        elif arr.shape != shape:
            raise GridError(
                what,
                f"has shape {arr.shape}, other layers {shape}",
                "align every layer to one grid before tabulating",
            )
        data = arr.data
        token = data.name if isinstance(data, da.Array) else id(data)
        if token not in seen:
            seen[token] = len(arrays)
            arrays.append(data)
        return seen[token]

    specs = []
    for name, r in requests.items():
        sums = dict(r.sums or {})
        clash = {"zone", "pixels", "area"} & (set(r.keys) | set(sums) | {f"{k}_area" for k in sums})
        if clash or set(r.keys) & set(sums):
            raise ValueError(f"crosstab {name}: column names clash: {sorted(clash) or sorted(sums)}")
        specs.append(
            _Spec(
                name=name,
                key_names=tuple(r.keys),
                key_idx=tuple(add(a, f"{name}: key {k}") for k, a in r.keys.items()),
                zone_idx=None if r.zones is None else add(r.zones, f"{name}: zones"),
                area_idx=add(r.area, f"{name}: area"),
                sum_names=tuple(sums),
                sum_idx=tuple(add(a, f"{name}: sum {k}") for k, a in sums.items()),
            )
        )
    specs_t = tuple(specs)

    ref = next((a for a in arrays if isinstance(a, da.Array)), None)
    chunks = ref.chunks if ref is not None else tuple(min(n, _NUMPY_CHUNK) for n in shape)
    darrs = [
        a if isinstance(a, da.Array) else da.from_array(np.asarray(a), chunks=chunks, name=False)
        for a in arrays
    ]
    args = []
    for a in darrs:
        args += [a, "yx"]
    # blockwise aligns (rechunks) the inputs to common chunks and gives one task per block.
    parts = da.blockwise(
        _block_partials,
        "yx",
        *args,
        specs=specs_t,
        dtype=object,
        meta=np.empty((0, 0), object),
        adjust_chunks={"y": lambda n: 1, "x": lambda n: 1},
    )
    level = parts.to_delayed().ravel().tolist()
    while len(level) > 1:
        level = [delayed(_combine, pure=True)(level[i : i + _FAN_IN]) for i in range(0, len(level), _FAN_IN)]
    return delayed(_finalize, pure=True)(level[0], specs_t)


def _compute(obj, scheduler):
    kwargs = {} if scheduler is None else {"scheduler": scheduler}
    (res,) = dask.compute(obj, **kwargs)
    return res


def crosstab(
    keys: Mapping[str, xr.DataArray],
    area: xr.DataArray,
    *,
    zones: xr.DataArray | None = None,
    sums: Mapping[str, xr.DataArray] | None = None,
    compute: bool = True,
    scheduler=None,
) -> pd.DataFrame | Delayed:
    """Area (km²) per combination of categorical codes, optionally per zone, in one pass.

    Parameters
    ----------
    keys : name -> categorical layer (int16 codes; NaN in a float layer counts as
        :data:`codes.NODATA`). NODATA (-32768) is a category of its own and is kept.
    area : km² per pixel (float), same grid. Pixels with a non-finite area are ignored.
    zones : optional int16 zone ids; pixels whose zone is NODATA (outside every zone) are dropped.
    sums : name -> continuous layer (float, NaN missing). For each, column ``name`` holds the
        area-weighted sum Σ value × area over the pixels where the value is finite, and
        ``name_area`` that area, so ``name / name_area`` is the area-weighted mean.
    compute : if False, return a ``dask.delayed`` object producing the DataFrame.
    scheduler : passed to ``dask.compute`` (e.g. ``"threads"``, ``"synchronous"``, a Client).

    Returns
    -------
    DataFrame with columns ``zone`` (if zones), one per key (int64 codes), ``pixels`` (count),
    ``area`` (km²) and the sum columns; one row per combination present, sorted by the keys.
    Works block by block on dask-backed inputs (memory bounded by the chunk size) and on
    numpy-backed ones.

    Example
    -------
    >>> ct = crosstab({"lc_2000": lc0, "lc_2015": lc1}, area)          # doctest: +SKIP
    >>> ct.pivot_table("area", "lc_2000", "lc_2015", aggfunc="sum")     # doctest: +SKIP
    """
    obj = crosstab_graph({"crosstab": CrosstabRequest(keys, area, zones, sums)})["crosstab"]
    return _compute(obj, scheduler) if compute else obj


def compute_crosstabs(requests: Mapping[str, CrosstabRequest], scheduler=None) -> dict[str, pd.DataFrame]:
    """Evaluate many cross-tabulations in ONE ``dask.compute``: each input block is read once.

    Layers shared by several requests (same dask array) are read and densified once per block.
    Returns name -> DataFrame as :func:`crosstab` gives.

    Example
    -------
    >>> out = compute_crosstabs({"lc": CrosstabRequest({"lc": lc}, area),
    ...                          "soc": CrosstabRequest({"lc": lc}, area, sums={"soc": soc})})
    ...                                                                  # doctest: +SKIP
    """
    return _compute(crosstab_graph(requests), scheduler)
