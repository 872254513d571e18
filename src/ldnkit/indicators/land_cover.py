"""Land-cover sub-indicator (SO 1-1): nesting to the 7 UNCCD classes, annual maps, transitions
and the transition-matrix degradation (methodology §1.4).

Every function takes and returns :class:`xarray.DataArray` objects, numpy- or dask-backed; dask
inputs stay lazy and are processed block by block. Categorical outputs are ``int16`` with
:data:`ldnkit.codes.NODATA` (-32768) as missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dask
import numpy as np
import xarray as xr
from dask.delayed import Delayed

from ldnkit import codes
from ldnkit.errors import ConfigError, GridError, PeriodError

#: Code written for raw land-cover codes that the nesting does not list.
UNMAPPED: int = -32767

_N_CLASSES = len(codes.LAND_COVER_CODES)
_MAX_REGIONAL_MATRICES = 5  # PRAIS 4: one national matrix or up to 5 regional ones


# --- helpers ---------------------------------------------------------------------------------------


def _int_codes(a: np.ndarray) -> np.ndarray:
    """Categorical block as int32; NaN, infinite or fractional floats become NODATA."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        ok = np.isfinite(a) & (a == np.round(a))
        return np.where(ok, a, codes.NODATA).astype(np.int32)
    return a.astype(np.int32)


def _finish(out: xr.DataArray, name: str, attrs: Mapping[str, Any]) -> xr.DataArray:
    out = out.rename(name)
    out.attrs = dict(attrs)
    out.attrs["_FillValue"] = codes.NODATA
    return out


def _apply(func, *arrays: xr.DataArray, dtype=np.int16, kwargs=None) -> xr.DataArray:
    """Element-wise block function over aligned DataArrays, lazy when dask-backed."""
    return xr.apply_ufunc(
        func,
        *arrays,
        kwargs=kwargs or {},
        dask="parallelized",
        output_dtypes=[dtype],
        keep_attrs="drop_conflicts",  # keeps the CRS attrs of spatial_ref
    )


# --- nesting ---------------------------------------------------------------------------------------


def _nesting_table(nesting: Mapping[int, Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted raw codes and their UNCCD class, validated."""
    where = "inputs.land_cover.nesting"
    raw_codes: list[int] = []
    classes: list[int] = []
    for cls, members in nesting.items():
        if int(cls) not in codes.LAND_COVER_CODES:
            raise ConfigError(where, f"class {cls!r} is not a UNCCD land-cover class", "use classes 1 to 7")
        for code in members:
            if float(code) != int(code):
                raise ConfigError(where, f"raw code {code!r} is not an integer")
            raw_codes.append(int(code))
            classes.append(int(cls))
    if not raw_codes:
        raise ConfigError(where, "the nesting lists no raw codes", "map raw codes to classes 1-7")
    keys = np.asarray(raw_codes, dtype=np.int64)
    vals = np.asarray(classes, dtype=np.int16)
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    dup = keys[1:][keys[1:] == keys[:-1]]
    if dup.size:
        raise ConfigError(
            where,
            f"raw code(s) {sorted(set(dup.tolist()))} are nested into more than one class",
            "list each raw code under one class only",
        )
    return keys, vals


def _nodata_list(raw: xr.DataArray, nodata_values: Sequence) -> np.ndarray:
    values = [float(v) for v in nodata_values]
    encoded = raw.rio.nodata if hasattr(raw, "rio") else None
    if encoded is not None and np.isfinite(encoded):
        values.append(float(encoded))
    values.append(float(codes.NODATA))  # the ldnkit / Trends.Earth missing value is never a class
    return np.unique(np.asarray(values, dtype=np.float64))


def _lookup(a: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index into keys, found, missing) for every element of a raw block."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        missing = np.isnan(a)
        integral = np.isfinite(a) & (a == np.round(a))
        raw = np.where(integral, a, 0).astype(np.int64)
    else:
        missing = np.zeros(a.shape, dtype=bool)
        integral = np.ones(a.shape, dtype=bool)
        raw = a.astype(np.int64)
    idx = np.minimum(np.searchsorted(keys, raw), keys.size - 1)
    found = integral & (keys[idx] == raw)
    return idx, found, missing


def _nest_block(a, keys, vals, nodata):
    idx, found, missing = _lookup(a, keys)
    out = np.full(np.shape(a), UNMAPPED, dtype=np.int16)
    out[found] = vals[idx[found]]
    out[missing | np.isin(a, nodata)] = codes.NODATA
    return out


def nest_land_cover(
    raw: xr.DataArray,
    nesting: Mapping[int, Sequence[int]],
    nodata_values: Sequence = (),
) -> xr.DataArray:
    """Reclassify a raw land-cover map into the 7 UNCCD classes.

    Parameters
    ----------
    raw : land-cover map in its own legend (any integer or float dtype; ``(y, x)`` or
        ``(year, y, x)``).
    nesting : ``{UNCCD class (1..7): [raw codes]}``; built-in ones are in
        :data:`ldnkit.codes.BUILTIN_NESTINGS` (``esa_cci``, ``modis_igbp``, ``unccd``).
    nodata_values : raw codes meaning "no data". NaN, the layer's encoded nodata
        (``raw.rio.nodata``) and -32768 are always treated as no data.

    Returns
    -------
    int16 DataArray of classes 1..7 (:data:`ldnkit.codes.LAND_COVER`), NODATA (-32768) where
    the source is missing and :data:`UNMAPPED` (-32767) where the raw code is not in the nesting
    (see :func:`unmapped_codes`).

    Example
    -------
    >>> lc = nest_land_cover(esa_map, codes.ESA_CCI_NESTING, nodata_values=[0])
    """
    keys, vals = _nesting_table(nesting)
    nodata = _nodata_list(raw, nodata_values)
    out = _apply(_nest_block, raw, kwargs={"keys": keys, "vals": vals, "nodata": nodata})
    return _finish(
        out,
        "land_cover",
        {
            "method": "nesting",
            "nesting": {str(k): [int(c) for c in v] for k, v in nesting.items()},
            "nodata_values": [float(v) for v in nodata],
            "unmapped_code": UNMAPPED,
            "legend": "UNCCD 7 classes",
        },
    )


def _unmapped_block(a, keys, nodata) -> np.ndarray:
    a = np.asarray(a)
    idx, found, missing = _lookup(a, keys)
    bad = ~(found | missing | np.isin(a, nodata))
    return np.unique(a[bad])


def unmapped_codes(
    raw: xr.DataArray,
    nesting: Mapping[int, Sequence[int]],
    nodata_values: Sequence = (),
    compute: bool = True,
) -> list[int] | Delayed:
    """Distinct raw codes of ``raw`` that the nesting does not list (computed, sorted).

    Evaluated block by block (one ``np.unique`` per chunk, then combined), so memory stays
    bounded by the chunk size. An empty list means every valid pixel nests. With
    ``compute=False``, a ``dask.delayed`` giving the list, so several maps can be checked in one
    ``dask.compute``.

    Example
    -------
    >>> unmapped_codes(esa_map, codes.ESA_CCI_NESTING, nodata_values=[0])
    [255]
    """
    keys, _ = _nesting_table(nesting)
    nodata = _nodata_list(raw, nodata_values)
    data = raw.data
    if isinstance(data, dask.array.Array):
        parts = [dask.delayed(_unmapped_block)(block, keys, nodata) for block in data.to_delayed().ravel()]
        found = dask.delayed(_merge_codes)(parts)
        return found.compute() if compute else found
    found = _merge_codes([_unmapped_block(np.asarray(data), keys, nodata)])
    return found if compute else dask.delayed(found)


def _merge_codes(parts: Sequence[np.ndarray]) -> list[int]:
    found = np.unique(np.concatenate(parts)) if len(parts) else np.empty(0)
    return [int(v) if float(v).is_integer() else float(v) for v in found.tolist()]


# --- annual maps -----------------------------------------------------------------------------------


def annual_land_cover(maps: Mapping[int, xr.DataArray], years: Sequence[int]) -> xr.DataArray:
    """Stack of one land-cover map per year, carrying the latest map forward.

    For each requested year the most recent map at or before that year is used (maps for
    2000, 2005 and years 2000..2007 give 2000 ×5 then 2005 ×3). Lazy: the result is a
    concatenation of references to the input maps.

    Parameters
    ----------
    maps : ``{year: (y, x) UNCCD class map}``, all on the same grid.
    years : years wanted (any order; output is sorted).

    Returns
    -------
    int16 DataArray ``(year, y, x)``; ``attrs["source_year"]`` lists the map year used for each
    year.

    Raises
    ------
    PeriodError if a year precedes the first map.

    Example
    -------
    >>> lc = annual_land_cover({2000: lc2000, 2015: lc2015}, range(2000, 2024))
    """
    if not maps:
        raise ConfigError("inputs.land_cover", "no land-cover map given", "give at least one map")
    years = sorted({int(y) for y in years})
    if not years:
        raise ConfigError("periods", "no year requested for the land-cover stack")
    by_year = {int(y): layer for y, layer in maps.items()}
    available = sorted(by_year)
    chosen = []
    for year in years:
        before = [m for m in available if m <= year]
        if not before:
            raise PeriodError(
                "inputs.land_cover",
                f"no land-cover map for {year} or earlier (first map is {available[0]})",
                f"add a land-cover map for {year} or start the period at {available[0]}",
            )
        chosen.append(before[-1])
    layers = []
    for year, src in zip(years, chosen, strict=True):
        layer = by_year[src]
        layer = layer.drop_vars([c for c in ("year", "band") if c in layer.coords])
        if "band" in layer.dims:
            layer = layer.squeeze("band", drop=True)
        layers.append(layer.expand_dims(year=[year]))
    try:
        out = xr.concat(layers, dim="year", join="exact", coords="minimal", compat="override")
    except ValueError as exc:
        raise GridError(
            "inputs.land_cover",
            f"the land-cover maps are not on the same grid ({exc})",
            "align them to one grid first",
        ) from exc
    out = out.assign_coords(year=np.asarray(years, dtype=np.int64))
    if out.dtype != np.int16:
        out = _apply(lambda a: _int_codes(a).astype(np.int16), out)
    return _finish(
        out,
        "land_cover",
        {"method": "carry_forward", "years": years, "source_year": chosen},
    )


# --- transitions and degradation -------------------------------------------------------------------


def _valid_class(a: np.ndarray) -> np.ndarray:
    return (a >= 1) & (a <= _N_CLASSES)


def _transition_block(initial, final):
    i, f = _int_codes(initial), _int_codes(final)
    ok = _valid_class(i) & _valid_class(f)
    code = i * codes.TRANSITION_MULTIPLIER + f
    return np.where(ok, code, codes.NODATA).astype(np.int16)


def land_cover_transition(initial: xr.DataArray, final: xr.DataArray) -> xr.DataArray:
    """Transition code ``initial * 10 + final`` (e.g. 13 = tree-covered → cropland).

    Parameters
    ----------
    initial, final : UNCCD class maps (1..7), same grid.

    Returns
    -------
    int16 DataArray of codes 11..77 (:data:`ldnkit.codes.LAND_COVER_TRANSITION`); NODATA where
    either class is missing or not in 1..7.

    Example
    -------
    >>> land_cover_transition(lc.sel(year=2000), lc.sel(year=2015))
    """
    out = _apply(_transition_block, initial, final)
    return _finish(
        out,
        "land_cover_transition",
        {"method": "transition_code", "multiplier": codes.TRANSITION_MULTIPLIER},
    )


def _check_matrix(matrix: Any, where: str) -> np.ndarray:
    try:
        m = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(where, f"the transition matrix is not numeric ({exc})") from exc
    if m.shape != (_N_CLASSES, _N_CLASSES):
        raise ConfigError(
            where,
            f"the transition matrix has shape {m.shape}, expected 7x7",
            "give 7 rows (initial class) of 7 values (final class)",
        )
    if not np.all(np.isin(m, (-1, 0, 1))):
        raise ConfigError(
            where,
            "the transition matrix has values other than -1, 0 and 1",
            "use -1 (degradation), 0 (stable) or 1 (improvement)",
        )
    return m.astype(np.int16)


def _degradation_block(initial, final, regions=None, *, lut, region_ids):
    i, f = _int_codes(initial), _int_codes(final)
    ok = _valid_class(i) & _valid_class(f)
    which = np.zeros(i.shape, dtype=np.intp)  # 0 = national matrix
    if regions is not None and region_ids.size:
        r = np.broadcast_to(_int_codes(regions), i.shape)
        pos = np.minimum(np.searchsorted(region_ids, r), region_ids.size - 1)
        has = region_ids[pos] == r
        which = np.where(has, pos + 1, 0)
    ii = np.where(ok, i - 1, 0)
    ff = np.where(ok, f - 1, 0)
    return np.where(ok, lut[which, ii, ff], codes.NODATA).astype(np.int16)


def land_cover_degradation(
    initial: xr.DataArray,
    final: xr.DataArray,
    matrix: Any = None,
    regions: xr.DataArray | None = None,
    regional_matrices: Mapping[int, Any] | None = None,
) -> xr.DataArray:
    """Land-cover degradation from a transition matrix (public API contract).

    Parameters
    ----------
    initial, final : UNCCD class maps (1..7) of the first and last year of the period.
    matrix : 7x7 array-like of -1/0/1, rows = initial class, columns = final class; default
        :data:`ldnkit.codes.DEFAULT_TRANSITION_MATRIX` (methodology §1.4).
    regions : int DataArray of region ids on the same grid (e.g. rasterized polygons).
    regional_matrices : ``{region id: 7x7 matrix}`` (at most 5, PRAIS 4); pixels whose region
        id has a matrix use it, all others use ``matrix``.

    Returns
    -------
    int16 DataArray: -1 degraded, 0 stable, 1 improved, NODATA where either class is missing.
    ``attrs["matrix"]`` (and ``attrs["regional_matrices"]``) record the matrices used.

    Raises
    ------
    ConfigError (``methods.land_cover.matrix``) if a matrix is not 7x7 of -1/0/1.

    Example
    -------
    >>> deg = land_cover_degradation(lc.sel(year=2000), lc.sel(year=2015))
    >>> int(deg.sel(x=..., y=...))   # tree-covered -> cropland gives -1
    """
    where = "methods.land_cover.matrix"
    national = _check_matrix(codes.DEFAULT_TRANSITION_MATRIX if matrix is None else matrix, where)
    regional = {int(k): v for k, v in (regional_matrices or {}).items()}
    if len(regional) > _MAX_REGIONAL_MATRICES:
        raise ConfigError(
            "methods.land_cover.regional_matrices",
            f"{len(regional)} regional matrices given; PRAIS 4 allows at most 5",
            "merge regions so that at most 5 matrices remain",
        )
    if regional and regions is None:
        raise ConfigError(
            "methods.land_cover.regions",
            "regional matrices are given without a region layer",
            "give the regions (vector boundaries) that the matrices apply to",
        )
    region_ids = np.asarray(sorted(int(k) for k in regional), dtype=np.int64)
    mats = [national] + [
        _check_matrix(regional[rid], f"methods.land_cover.regional_matrices.{rid}")
        for rid in region_ids.tolist()
    ]
    lut = np.stack(mats)
    kwargs = {"lut": lut, "region_ids": region_ids}
    if regional:
        out = _apply(_degradation_block, initial, final, regions, kwargs=kwargs)
    else:
        out = _apply(_degradation_block, initial, final, kwargs=kwargs)
    attrs: dict[str, Any] = {
        "method": "transition_matrix",
        "matrix": national.tolist(),
        "matrix_is_default": bool(np.array_equal(national, np.asarray(codes.DEFAULT_TRANSITION_MATRIX))),
    }
    if regional:
        attrs["regional_matrices"] = {
            str(rid): m.tolist() for rid, m in zip(region_ids.tolist(), mats[1:], strict=True)
        }
    return _finish(out, "land_cover_degradation", attrs)
