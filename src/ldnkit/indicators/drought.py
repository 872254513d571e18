"""Drought hazard, exposure and vulnerability (UNCCD SO 3-1, 3-2, 3-3; methodology §3.3).

* Hazard (SO 3-1): :func:`drought_class` turns annual SPI into the five intensity classes of
  :data:`ldnkit.codes.DROUGHT`; :func:`drought_period_max` keeps the minimum SPI (= the highest
  intensity) of each 4-year period (2000-03, 2004-07, ...).
* Exposure (SO 3-2): :func:`exposure` puts the hazard on the population grid by nearest
  neighbour and turns population rasters (counts or densities) into persons per pixel.
* Vulnerability (SO 3-3): :func:`dvi_from_table` computes the Drought Vulnerability Index from a
  national factor table (Tiers 1-2); :func:`dvi_grid` from gridded factors (Tier 3).

Everything takes and returns xarray objects, numpy- or dask-backed; dask inputs stay lazy and
are processed block by block. Categorical outputs are ``int16`` with
:data:`ldnkit.codes.NODATA` (-32768) as missing; continuous outputs are ``float32`` with NaN.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.errors import ConfigError, GridError, InputError, PeriodError

__all__ = [
    "BOUNDARIES",
    "COMPONENTS",
    "drought_class",
    "drought_period_max",
    "exposure",
    "dvi_from_table",
    "dvi_grid",
]

NODATA = codes.NODATA

#: Lower bounds of the mild, moderate, severe and extreme classes (SPI), as in the UNCCD table.
_THRESHOLDS = (0.0, -1.0, -1.5, -2.0)

#: The two readings of the SPI class table, as exact inequalities (class: condition).
BOUNDARIES: dict[str, dict[int, str]] = {
    # UNCCD GPG for SO3 / PRAIS 4: "> 0 non-drought; 0 to -0.99 mild; -1.0 to -1.49 moderate;
    # -1.5 to -1.99 severe; <= -2.0 extreme". Each listed value belongs to its row, so 0 is mild,
    # -1.0 moderate, -1.5 severe, -2.0 extreme; values between two rows (e.g. -0.995) belong to
    # the milder row, i.e. the table is read as intervals closed at their upper end.
    "unccd": {
        0: "SPI > 0",
        1: "-1.0 < SPI <= 0",
        2: "-1.5 < SPI <= -1.0",
        3: "-2.0 < SPI <= -1.5",
        4: "SPI <= -2.0",
    },
    # Trends.Earth (te_algorithms drought_class on SPI x 1000): every boundary value goes to the
    # milder class, so 0 is non-drought, -1.0 mild, -1.5 moderate and -2.0 severe.
    "trends_earth": {
        0: "SPI >= 0",
        1: "-1.0 <= SPI < 0",
        2: "-1.5 <= SPI < -1.0",
        3: "-2.0 <= SPI < -1.5",
        4: "SPI < -2.0",
    },
}

#: The three DVI components.
COMPONENTS: tuple[str, ...] = ("social", "economic", "infrastructural")
_COMPONENT_NAMES = {
    "social": "social",
    "economic": "economic",
    "infrastructural": "infrastructural",
    "infrastructure": "infrastructural",
}
_DIRECTION_NAMES = {"positive": 1, "+": 1, "pos": 1, "negative": -1, "-": -1, "neg": -1}
_SEXES = ("total", "female", "male")


# ================================================================================================
# Hazard (SO 3-1)
# ================================================================================================


def _class_block(spi: np.ndarray, inclusive: bool) -> np.ndarray:
    """SPI block -> drought class 0..4 (int16), NODATA where SPI is NaN."""
    spi = np.asarray(spi)
    out = np.zeros(spi.shape, dtype=np.int16)
    with np.errstate(invalid="ignore"):
        for t in _THRESHOLDS:
            # one step more severe for every threshold the value reaches
            out += (spi <= t) if inclusive else (spi < t)
    out[np.isnan(spi)] = NODATA
    return out


def _check_float(spi: xr.DataArray, where: str) -> None:
    if not isinstance(spi, xr.DataArray):
        raise TypeError(f"{where}: expected an xarray.DataArray, got {type(spi).__name__}")
    if spi.dtype.kind != "f":
        raise InputError(
            where,
            f"SPI has integer dtype {spi.dtype} (codes or scaled values?)",
            "give SPI as floats with NaN for missing; divide a scaled SPI first, "
            "e.g. spi_x1000.where(spi_x1000 != -32768) / 1000",
        )


def drought_class(spi: xr.DataArray, boundaries: str = "unccd") -> xr.DataArray:
    """Drought intensity class of every SPI value (SO 3-1; public API contract).

    Parameters
    ----------
    spi : SPI (or SPEI), float, NaN = missing; any dims, e.g. ``(year, y, x)`` from
        ``annual_spi`` or ``(period, y, x)`` from :func:`drought_period_max`.
    boundaries : ``"unccd"`` (default) or ``"trends_earth"``. The classes and their exact
        inequalities (see :data:`BOUNDARIES`):

        ====  ===================  =====================  =====================
        code  class                ``"unccd"``            ``"trends_earth"``
        ====  ===================  =====================  =====================
        0     non-drought          SPI > 0                SPI >= 0
        1     mild drought         -1.0 < SPI <= 0        -1.0 <= SPI < 0
        2     moderate drought     -1.5 < SPI <= -1.0     -1.5 <= SPI < -1.0
        3     severe drought       -2.0 < SPI <= -1.5     -2.0 <= SPI < -1.5
        4     extreme drought      SPI <= -2.0            SPI < -2.0
        ====  ===================  =====================  =====================

        The UNCCD table ("> 0; 0 to -0.99; -1.0 to -1.49; -1.5 to -1.99; <= -2.0") puts each
        value it lists in its own row, so 0 is mild and -1.0, -1.5, -2.0 are moderate, severe,
        extreme; values between two listed ones (-0.995, -1.495) are not rounded and fall in the
        milder row. Trends.Earth puts every boundary value in the milder class. The two readings
        differ only at exactly 0, -1.0, -1.5 and -2.0.

    Returns
    -------
    int16 DataArray of codes 0..4 (:data:`ldnkit.codes.DROUGHT`), NODATA (-32768) where SPI is
    NaN; same dims, coords and chunks as ``spi``; attrs record the boundaries and inequalities.

    Raises
    ------
    ConfigError for unknown ``boundaries``; InputError for integer SPI (scaled or coded values).

    Example
    -------
    >>> cls = drought_class(annual_spi(spi(precip)), boundaries="unccd")
    >>> float((cls >= 1).where(cls != -32768).mean())   # share of pixels under drought
    """
    if boundaries not in BOUNDARIES:
        raise ConfigError(
            "drought.boundaries",
            f"unknown SPI class boundaries {boundaries!r}",
            "use 'unccd' (UNCCD manual: exactly -1.0 is moderate) or 'trends_earth' (-1.0 is mild)",
        )
    _check_float(spi, str(spi.name or "spi"))
    out = xr.apply_ufunc(
        _class_block,
        spi,
        kwargs={"inclusive": boundaries == "unccd"},
        dask="parallelized",
        output_dtypes=[np.int16],
        keep_attrs="drop_conflicts",  # keeps the CRS attrs of spatial_ref
    )
    out.name = "drought_class"
    out.attrs = {
        "method": "spi_drought_class",
        "boundaries": boundaries,
        "classes": {str(k): v for k, v in BOUNDARIES[boundaries].items()},
        "legend": codes.DROUGHT.name,
        "input": str(spi.attrs.get("method", spi.name or "spi")),
        "_FillValue": NODATA,
    }
    return out


def _period_blocks(
    years: Sequence[int],
    length: int,
    start: int,
    blocks: Sequence[tuple[int, int]] | None,
    partial: bool,
) -> list[tuple[int, int, list[int]]]:
    """(first, last, data years inside) of every period to evaluate."""
    where = "drought.periods"
    have = sorted(int(y) for y in years)
    explicit = blocks is not None
    if blocks is None:
        if int(length) != length or length < 1:
            raise ConfigError(where, f"period length {length!r} is not a positive integer")
        length = int(length)
        k0 = (have[0] - start) // length
        k1 = (have[-1] - start) // length
        blocks = [(start + k * length, start + k * length + length - 1) for k in range(k0, k1 + 1)]
    out = []
    for b in blocks:
        a, z = (int(v) for v in b)
        if z < a:
            raise ConfigError(where, f"period {a}-{z} ends before it starts", "give (first, last) years")
        inside = [y for y in have if a <= y <= z]
        if not inside:
            if explicit:
                raise PeriodError(where, f"period {a}-{z} has no SPI year (SPI years {have[0]}-{have[-1]})")
            continue  # a gap in the SPI years
        if len(inside) < z - a + 1 and not partial:
            continue
        out.append((a, z, inside))
    if not out:
        raise PeriodError(
            where,
            f"no complete period in the SPI years {have[0]}-{have[-1]}",
            "check the period length/start or the blocks, or allow partial periods",
        )
    return out


def _period_min_block(a: np.ndarray, groups: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """(..., year) -> (..., period): NaN-ignoring minimum over each group of year indices."""
    out = np.empty(a.shape[:-1] + (len(groups),), dtype=np.float32)
    for k, g in enumerate(groups):
        # fmin ignores NaN unless every value is NaN, and does not warn
        out[..., k] = np.fmin.reduce(a[..., list(g)], axis=-1)
    return out


def _period_argmin_block(a: np.ndarray, groups: tuple[tuple[int, ...], ...], years: tuple[int, ...]):
    """(..., year) -> (..., period): year of the minimum (earliest on ties), NODATA if all NaN."""
    yrs = np.asarray(years, dtype=np.int16)
    out = np.empty(a.shape[:-1] + (len(groups),), dtype=np.int16)
    for k, g in enumerate(groups):
        sub = a[..., list(g)].astype(np.float64)
        nan = np.isnan(sub)
        i = np.argmin(np.where(nan, np.inf, sub), axis=-1)
        out[..., k] = np.where(nan.all(axis=-1), NODATA, yrs[list(g)][i])
    return out


def drought_period_max(
    spi: xr.DataArray,
    length: int = 4,
    start: int = 2000,
    *,
    blocks: Sequence[tuple[int, int]] | None = None,
    partial: bool = True,
    return_year: bool = False,
) -> xr.DataArray | xr.Dataset:
    """Highest drought intensity of each multi-year period = minimum annual SPI (SO 3-1 maps).

    Parameters
    ----------
    spi : annual SPI ``(year, y, x)`` (float, NaN missing; integer ``year`` coordinate).
    length, start : periods of ``length`` years aligned to ``start``: with the defaults
        2000-2003, 2004-2007, ..., 2020-2023 (the UNCCD reporting periods); periods are laid on
        the same lattice before ``start`` too (1996-1999 ...).
    blocks : explicit ``[(first, last), ...]`` years instead of ``length``/``start``.
    partial : keep periods the SPI covers only in part (default True; their ``n_years``
        coordinate says how many years they hold); False keeps complete periods only.
    return_year : also return the year in which each pixel's minimum occurred.

    Returns
    -------
    float32 DataArray ``(period, y, x)`` of the minimum SPI of every year of each period (NaN
    years ignored; NaN if all are NaN), with coordinates ``period`` (label ``"2000-2003"``),
    ``period_start``, ``period_end`` and ``n_years`` (years with SPI in the input). Every year of
    the period is used (Trends.Earth uses only the first 3 of each 4). Since both class tables
    are monotone, ``drought_class(drought_period_max(spi))`` is the highest class of the period.
    With ``return_year``: a Dataset with ``spi`` (as above) and ``year`` (int16, earliest year
    of the minimum, NODATA where all years are NaN) — give it to :func:`exposure` as
    ``hazard_year`` to count the population of that year.

    Example
    -------
    >>> pmax = drought_period_max(annual)                 # 2000-2003, ..., 2020-2023
    >>> maps = drought_class(pmax)                        # highest class per period
    """
    _check_float(spi, str(spi.name or "spi"))
    if "year" not in spi.dims:
        raise InputError(
            str(spi.name or "spi"), f"has dims {spi.dims} without 'year'", "use annual_spi first"
        )
    years = [int(y) for y in spi["year"].values]
    per = _period_blocks(years, length, start, blocks, partial)
    index = {y: i for i, y in enumerate(years)}
    groups = tuple(tuple(index[y] for y in inside) for _, _, inside in per)
    labels = [f"{a}-{z}" for a, z, _ in per]
    arr = spi.chunk({"year": -1}) if spi.chunks is not None else spi
    common = dict(
        input_core_dims=[["year"]],
        output_core_dims=[["period"]],
        dask="parallelized",
        dask_gufunc_kwargs={"output_sizes": {"period": len(per)}},
        keep_attrs="drop_conflicts",  # keeps the CRS attrs of spatial_ref
    )
    spi_min = xr.apply_ufunc(
        _period_min_block, arr, kwargs={"groups": groups}, output_dtypes=[np.float32], **common
    )
    coords = {
        "period": labels,
        "period_start": ("period", [a for a, _, _ in per]),
        "period_end": ("period", [z for _, z, _ in per]),
        "n_years": ("period", [len(g) for g in groups]),
    }
    attrs = {
        "method": "period_minimum_spi",
        "period_length": None if blocks is not None else int(length),
        "period_start_year": None if blocks is not None else int(start),
        "blocks": [[a, z] for a, z, _ in per],
        "years_used": {f"{a}-{z}": list(inside) for a, z, inside in per},
        "partial_periods": bool(partial),
        "input": str(spi.attrs.get("method", spi.name or "spi")),
    }
    dims = ("period", *[d for d in spi.dims if d != "year"])
    spi_min = spi_min.transpose(*dims).assign_coords(coords)
    spi_min.name = "spi_period_min"
    spi_min.attrs = dict(attrs, units="1")
    if not return_year:
        return spi_min
    yr = xr.apply_ufunc(
        _period_argmin_block,
        arr,
        kwargs={"groups": groups, "years": tuple(years)},
        output_dtypes=[np.int16],
        **common,
    )
    yr = yr.transpose(*dims).assign_coords(coords)
    yr.attrs = dict(attrs, method="year_of_period_minimum_spi", _FillValue=NODATA)
    return xr.Dataset({"spi": spi_min, "year": yr}, attrs=attrs)


# ================================================================================================
# Exposure (SO 3-2)
# ================================================================================================

_COUNT_UNITS = {
    "persons",
    "person",
    "people",
    "count",
    "counts",
    "population",
    "inhabitants",
    "number of people",
    "persons per pixel",
    "people per pixel",
    "persons/pixel",
    "people/pixel",
    "persons/cell",
    "persons per cell",
    "1",
}
_DENSITY_RE = re.compile(r"(km\s*(2|²|\^2|\*\*2|-2)|sq\.?\s*km|square\s+kilomet)")


def _population_units(pop: xr.DataArray, units: str, where: str) -> str:
    """``"count"`` or ``"density"`` (persons/km²) for a population layer."""
    if units in ("count", "density"):
        return units
    if units != "auto":
        raise ConfigError(
            "drought.population.units", f"unknown units {units!r}", "use 'count', 'density' or 'auto'"
        )
    raw = pop.attrs.get("units")
    text = " ".join(str(raw).strip().lower().split()) if raw is not None else ""
    if text and _DENSITY_RE.search(text) and not re.search(r"\bha\b|hectare|/m2|m-2\b", text):
        return "density"
    if text in _COUNT_UNITS:
        return "count"
    got = f"units {raw!r}" if raw is not None else "no 'units' attribute"
    raise InputError(
        where,
        f"population units are ambiguous ({got}): counts per pixel or persons per km²?",
        "pass units='count' or units='density' (persons/km², e.g. WorldPop/GPW density)",
    )


def _axis(layer: xr.DataArray, dim: str, where: str) -> tuple[float, float, int]:
    """(outer edge of the first pixel, signed step, size) of a regular coordinate axis."""
    c = np.asarray(layer[dim].values, dtype=np.float64)
    n = c.size
    if n >= 2:
        step = (c[-1] - c[0]) / (n - 1)
        if step == 0 or np.max(np.abs(np.diff(c) - step)) > 1e-6 * abs(step):
            raise GridError(where, f"its {dim} coordinates are not regularly spaced", "resample it to a grid")
    else:
        # one pixel: only a stored GeoTransform (GDAL order c, a, b, f, d, e) gives its size
        step = 0.0
        for c_ in layer.coords.values():
            gt = str(c_.attrs.get("GeoTransform", "")).split()
            if len(gt) == 6:
                step = float(gt[1] if dim == "x" else gt[5])
        if not step:
            raise GridError(where, f"has a single {dim} pixel and no transform", "give a georeferenced layer")
    return float(c[0] - step / 2.0), float(step), n


def _nearest_index(src: xr.DataArray, dst: xr.DataArray, dim: str, where: str) -> np.ndarray:
    """Index of the source pixel holding each destination pixel centre along ``dim``; -1 outside."""
    e0, step, n = _axis(src, dim, where)
    centres = np.asarray(dst[dim].values, dtype=np.float64)
    i = np.floor((centres - e0) / step).astype(np.int64)
    i[(i < 0) | (i >= n)] = -1
    return i


def _take_block(src: np.ndarray, iy: np.ndarray, ix: np.ndarray, fill: Any) -> np.ndarray:
    out = np.take(np.take(np.asarray(src), np.maximum(iy, 0), axis=-2), np.maximum(ix, 0), axis=-1)
    out[..., iy < 0, :] = fill
    out[..., :, ix < 0] = fill
    return out


def _grid_bounds(layer: xr.DataArray, where: str) -> tuple[float, float, float, float]:
    x0, sx, nx = _axis(layer, "x", where)
    y0, sy, ny = _axis(layer, "y", where)
    xs, ys = sorted((x0, x0 + sx * nx)), sorted((y0, y0 + sy * ny))
    return xs[0], ys[0], xs[1], ys[1]


def _map_nearest(
    layer: xr.DataArray, target: xr.DataArray, fill: Any, chunks: tuple[int, int], where: str
) -> Any:
    """Lazy nearest-neighbour lookup of ``layer`` (lead, y, x) at ``target``'s pixel centres.

    Same CRS (or none): each target block takes, from just the window of source pixels it
    covers, the pixel holding each target centre. Returns a numpy or dask array."""
    iy = _nearest_index(layer, target, "y", where)
    ix = _nearest_index(layer, target, "x", where)
    if (iy < 0).all() or (ix < 0).all():
        raise GridError(
            where,
            f"does not overlap the drought hazard grid (population bounds "
            f"{_fmt(_grid_bounds(target, where))}, hazard bounds {_fmt(_grid_bounds(layer, 'hazard'))})",
            "check the population raster's extent and coordinates: it must cover the area of interest",
        )
    data = layer.data
    lead = data.shape[:-2]
    dask_out = isinstance(data, dsa.Array) or isinstance(target.data, dsa.Array)
    if not dask_out:
        return _take_block(np.asarray(data), iy, ix, fill)
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=data.shape)
    ychunks = dsa.core.normalize_chunks(chunks[0], (iy.size,))[0]
    xchunks = dsa.core.normalize_chunks(chunks[1], (ix.size,))[0]
    rows, y0 = [], 0
    for h in ychunks:
        by = iy[y0 : y0 + h]
        row, x0 = [], 0
        for w in xchunks:
            bx = ix[x0 : x0 + w]
            shape = (*lead, h, w)
            if (by < 0).all() or (bx < 0).all():
                row.append(dsa.full(shape, fill, dtype=data.dtype))
            else:
                r0, r1 = int(by[by >= 0].min()), int(by.max()) + 1
                c0, c1 = int(bx[bx >= 0].min()), int(bx.max()) + 1
                part = data[..., r0:r1, c0:c1]
                ly = np.where(by >= 0, by - r0, -1)
                lx = np.where(bx >= 0, bx - c0, -1)
                task = dask.delayed(_take_block, pure=True)(part, ly, lx, fill)
                row.append(dsa.from_delayed(task, shape, dtype=data.dtype))
            x0 += w
        rows.append(row)
        y0 += h
    return dsa.block(rows if not lead else [rows])


def _fmt(b: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in b) + ")"


def _spatial_coords(layer: xr.DataArray) -> dict[str, Any]:
    return {k: v for k, v in layer.coords.items() if set(v.dims) <= {"y", "x"}}


def _chunks_of(layer: xr.DataArray, default: int) -> tuple[int, int]:
    if layer.chunks is None:
        return default, default
    ch = dict(zip(layer.dims, layer.chunks, strict=True))
    return max(ch["y"]), max(ch["x"])


def _on_population_grid(
    layer: xr.DataArray, pop: xr.DataArray, fill: Any, chunks: tuple[int, int], where: str
) -> xr.DataArray:
    """``layer`` (lead, y, x) resampled to ``pop``'s grid by nearest neighbour (lazy)."""
    from ldnkit.io.grid import check_overlap, grid_of
    from ldnkit.io.warp import align

    lead = layer.dims[0]
    hcrs, pcrs = layer.rio.crs, pop.rio.crs
    if (hcrs is None) != (pcrs is None):
        raise GridError(
            where,
            "one of the hazard and population layers has a CRS and the other has none",
            "assign the same CRS to both (da.rio.write_crs(...))",
        )
    if isinstance(pop.data, dsa.Array) and not isinstance(layer.data, dsa.Array):
        layer = layer.chunk()  # so a large population grid is filled block by block
    if hcrs is not None and hcrs != pcrs:
        pgrid = grid_of(pop)
        check_overlap(grid_of(layer), pgrid, where)
        out = align(layer, pgrid, "nearest", chunks={"y": chunks[0], "x": chunks[1]}, nodata=fill)
        data = out.data
        resampling = f"nearest (GDAL warp from {hcrs.to_string()})"
    else:
        data = _map_nearest(layer, pop, fill, chunks, where)
        resampling = "nearest (pixel holding each population pixel centre)"
    coords = {lead: layer[lead].values, **_spatial_coords(pop)}
    for name, c in layer.coords.items():
        if c.dims == (lead,) and name != lead:
            coords[name] = (lead, c.values)
    out = xr.DataArray(data, dims=(lead, "y", "x"), coords=coords, name=layer.name)
    out.attrs = {**layer.attrs, "resampling": resampling}
    return out


def _population_layers(population: xr.DataArray | Mapping[str, xr.DataArray]) -> dict[str, xr.DataArray]:
    if isinstance(population, xr.DataArray):
        layers = {"total": population}
    elif isinstance(population, Mapping):
        layers = dict(population)
    else:
        raise TypeError(
            f"population: expected a DataArray or a dict of them, got {type(population).__name__}"
        )
    bad = set(layers) - set(_SEXES)
    if bad or not layers:
        raise ConfigError(
            "drought.population",
            f"unknown population layer(s) {sorted(bad) or 'none'}",
            "give 'total' and/or 'female' and 'male'",
        )
    ref_name, ref = next(iter(layers.items()))
    for k, v in layers.items():
        where = f"population.{k}"
        if not isinstance(v, xr.DataArray):
            raise TypeError(f"{where}: expected an xarray.DataArray")
        if v.dims[-2:] != ("y", "x") or v.ndim not in (2, 3) or (v.ndim == 3 and v.dims[0] != "year"):
            raise InputError(where, f"has dims {v.dims}", "give (y, x) or (year, y, x)")
        same = v.sizes["y"] == ref.sizes["y"] and v.sizes["x"] == ref.sizes["x"]
        if same:
            for d in ("y", "x"):
                a, b = np.asarray(v[d].values, float), np.asarray(ref[d].values, float)
                tol = 1e-6 * max(abs(a[1] - a[0]) if a.size > 1 else 1.0, 1e-12)
                same = same and bool(np.all(np.abs(a - b) <= tol))
        if not same:
            raise GridError(
                where,
                f"is not on the grid of population.{ref_name}",
                "give every population layer on one grid (same extent and resolution)",
            )
    return layers


def _match_years(targets: Sequence[int], available: Sequence[int], match: str, where: str) -> dict[int, int]:
    if match not in ("exact", "nearest"):
        raise ConfigError(
            "drought.population.match", f"unknown year matching {match!r}", "use exact or nearest"
        )
    avail = sorted(int(a) for a in available)
    out = {}
    for t in targets:
        t = int(t)
        if t in avail:
            out[t] = t
        elif match == "exact":
            raise PeriodError(
                where,
                f"has no population for {t} (population years {avail})",
                "add that year or use match='nearest' (e.g. WorldPop 2020 for 2021-2023)",
            )
        else:
            out[t] = min(avail, key=lambda a: (abs(a - t), a))  # ties: the earlier year
    return out


def _counts(pop: xr.DataArray, units: str, area: xr.DataArray | None, where: str) -> xr.DataArray:
    """Persons per pixel, float32, NaN missing (negative values are fill values -> NaN)."""
    kind = _population_units(pop, units, where)
    p = pop if pop.dtype.kind == "f" else pop.astype(np.float64).where(pop != NODATA)
    p = p.where(p >= 0)
    if kind == "density":
        if area is None:
            if pop.rio.crs is None:
                raise InputError(
                    where,
                    "population densities need pixel areas but the layer has no CRS",
                    "assign its CRS, give area= (km² per pixel) or give counts",
                )
            area = cell_area(pop)
        p = p * area
    return p.astype(np.float32)


def _pick_block(yr, pop, lut, ymin, fallback):
    """Population of the year in ``yr`` (lead, y, x) from ``pop`` (1, y, x, pop_year)."""
    yr = np.asarray(yr).astype(np.int64)
    ok = (yr != NODATA) & (yr >= ymin) & (yr < ymin + lut.size)
    idx = np.where(ok, lut[np.clip(yr - ymin, 0, lut.size - 1)], fallback.reshape(-1, 1, 1))
    shape = (*yr.shape, pop.shape[-1])
    return np.take_along_axis(np.broadcast_to(pop, shape), idx[..., None], axis=-1)[..., 0]


def _population_at_year(
    c: xr.DataArray,
    hy: xr.DataArray,
    hazard: xr.DataArray,
    targets: Sequence[int],
    match: str,
    where: str,
) -> xr.DataArray:
    """Per pixel, the population of the year in ``hy`` (period, y, x), matched to the population
    years; pixels without a year (no SPI) take the population matched to the period's end."""
    avail = [int(y) for y in c["year"].values]
    starts = hazard.coords["period_start"].values if "period_start" in hazard.coords else targets
    span = list(range(int(min(starts)), int(max(targets)) + 1))
    m = _match_years(span, avail, match, where)
    lut = np.array([avail.index(m[y]) for y in span], dtype=np.int64)
    end = _match_years(targets, avail, match, where)
    fallback = np.array([avail.index(end[t]) for t in targets], dtype=np.int64)
    stack = c.rename(year="pop_year")
    stack = stack.drop_vars([n for n in stack.coords if n not in stack.dims])
    if stack.chunks is not None:
        stack = stack.chunk({"pop_year": -1})
    return xr.apply_ufunc(
        _pick_block,
        hy,
        stack,
        input_core_dims=[[], ["pop_year"]],
        kwargs={"lut": lut, "ymin": span[0], "fallback": fallback},
        dask="parallelized",
        output_dtypes=[np.float32],
    )


def exposure(
    hazard: xr.DataArray,
    population: xr.DataArray | Mapping[str, xr.DataArray],
    *,
    units: str = "auto",
    area: xr.DataArray | None = None,
    match: str = "nearest",
    hazard_year: xr.DataArray | None = None,
    chunks: int = 1024,
) -> xr.Dataset:
    """Drought hazard on the population grid and persons per pixel (SO 3-2).

    Parameters
    ----------
    hazard : drought classes ``(year, y, x)`` (:func:`drought_class`), or ``(period, y, x)``
        classes of :func:`drought_period_max` (with its ``period_end`` coordinate).
    population : persons ``(year, y, x)`` or ``(y, x)``; or a dict with ``"total"``, ``"female"``
        and/or ``"male"`` layers on one grid (``"total"`` = female + male if not given).
    units : ``"count"`` (persons per pixel), ``"density"`` (persons per km²; converted with
        :func:`ldnkit.cell_area` of the population grid or ``area``) or ``"auto"``: read each
        layer's ``attrs["units"]`` ("persons", "people", "count" ... or "persons/km2",
        "people per km²" ...); missing or other units raise an InputError.
    area : km² per population pixel, for densities on a grid without CRS.
    match : population year used for each hazard year: ``"nearest"`` (default; ties take the
        earlier year, so WorldPop 2020 serves 2021-2023) or ``"exact"`` (PeriodError if absent).
        For periods: the year given by ``hazard_year`` per pixel, else the period's last year.
    hazard_year : ``(period, y, x)`` year of each pixel's minimum SPI
        (``drought_period_max(..., return_year=True)["year"]``): the period exposure then counts
        the population of the year the period's highest intensity occurred (as Trends.Earth).
    chunks : block size of the outputs when the population is numpy-backed.

    The hazard is resampled to the (finer) population grid by nearest neighbour, never the
    population to the hazard grid, so no person is created or lost. Same CRS (or both without
    one): each population pixel takes the class of the hazard pixel that holds its centre
    (a lazy index mapping, exact for nested grids); different CRSs: GDAL nearest-neighbour warp
    (:func:`ldnkit.io.raster.align`). Population pixels off the hazard grid get NODATA.

    Returns
    -------
    Dataset on the population grid with ``drought_class`` (int16, hazard dims) and
    ``population_total`` / ``_female`` / ``_male`` (float32 persons per pixel, NaN = no data;
    negative values are treated as fill values). Attrs record units, years and resampling.

    Raises
    ------
    GridError if a population raster does not overlap the hazard grid or the population layers
    are not on one grid; InputError for ambiguous units.

    Example
    -------
    >>> ex = exposure(drought_class(annual), {"female": f, "male": m}, units="density")
    >>> float(ex.population_total.where(ex.drought_class >= 1).sel(year=2019).sum())
    """
    if not isinstance(hazard, xr.DataArray) or hazard.ndim != 3 or hazard.dims[1:] != ("y", "x"):
        raise InputError("drought hazard", "expected a (year, y, x) or (period, y, x) DataArray of classes")
    lead = hazard.dims[0]
    layers = _population_layers(population)
    ref_name, ref = next(iter(layers.items()))
    ref2d = ref.isel(year=0, drop=True) if ref.ndim == 3 else ref
    ch = _chunks_of(ref2d, chunks)
    where = f"population.{ref_name}"

    if lead == "year":
        targets = [int(y) for y in hazard["year"].values]
    elif "period_end" in hazard.coords:
        targets = [int(y) for y in hazard["period_end"].values]
    else:
        raise InputError(
            "drought hazard",
            f"leading dim {lead!r} is neither 'year' nor a period with a 'period_end' coordinate",
            "use drought_class(annual_spi) or drought_class(drought_period_max(...))",
        )
    hz = hazard if hazard.dtype == np.int16 else hazard.fillna(NODATA).astype(np.int16)
    cls = _on_population_grid(hz, ref2d, NODATA, ch, where)
    cls.name = "drought_class"
    cls.attrs = {**hazard.attrs, "resampling": cls.attrs.get("resampling"), "_FillValue": NODATA}

    kinds = {k: _population_units(v, units, f"population.{k}") for k, v in layers.items()}
    counts = {k: _counts(v, kinds[k], area, f"population.{k}") for k, v in layers.items()}
    if "total" not in counts:
        if not {"female", "male"} <= set(counts):
            raise ConfigError("drought.population", "give 'total' or both 'female' and 'male'")
        counts = {"total": counts["female"] + counts["male"], **counts}
        kinds["total"] = "female + male"

    hy = None
    if hazard_year is not None:
        if hazard_year.dims != hazard.dims or hazard_year.shape != hazard.shape:
            raise InputError("hazard_year", f"has dims {hazard_year.dims}, the hazard {hazard.dims}")
        hy = _on_population_grid(hazard_year.astype(np.int16), ref2d, NODATA, ch, where)
        hy = hy.drop_vars([n for n in hy.coords if n not in hy.dims])
    lead_coords = {n: c for n, c in cls.coords.items() if lead in c.dims}
    out_vars = {"drought_class": cls}
    year_used: dict[str, dict[str, Any]] = {}
    for k, c in counts.items():
        key = f"population.{k}"
        if "year" not in c.dims:  # one population map for every year
            c3 = c.expand_dims({lead: hazard.sizes[lead]})
            used: dict[str, Any] = {str(t): "static" for t in targets}
        elif hy is None:
            m = _match_years(targets, [int(y) for y in c["year"].values], match, key)
            c3 = c.sel(year=[m[t] for t in targets]).drop_vars("year")
            if lead != "year":
                c3 = c3.rename(year=lead)
            used = {str(t): m[t] for t in targets}
        else:
            c3 = _population_at_year(c, hy, hazard, targets, match, key)
            used = {str(t): "year of the period minimum SPI" for t in targets}
        c3 = c3.transpose(lead, "y", "x")
        c3 = c3.drop_vars([n for n in c3.coords if n not in ("y", "x")])
        c3 = c3.assign_coords({**lead_coords, **_spatial_coords(ref2d)})
        c3.name = f"population_{k}"
        c3.attrs = {
            "units": "persons per pixel",
            "source_units": kinds[k],
            "population_year": used,
            "year_matching": match if hy is None else "year of the period minimum SPI",
        }
        out_vars[f"population_{k}"] = c3
        year_used[k] = used
    attrs = {
        "method": "drought_exposure",
        "resampling": cls.attrs.get("resampling"),
        "hazard": str(hazard.attrs.get("method", hazard.name)),
        "boundaries": hazard.attrs.get("boundaries"),
        "population_layers": list(counts),
        "population_year": year_used,
    }
    ds = xr.Dataset(out_vars, attrs=attrs)
    if ref.rio.crs is not None:
        ds = ds.rio.write_crs(ref.rio.crs)
    return ds


# ================================================================================================
# Vulnerability (SO 3-3)
# ================================================================================================


def _norm_label(v: Any, table: Mapping[str, Any], what: str, where: str) -> Any:
    key = str(v).strip().lower()
    if key not in table:
        raise InputError(
            where, f"unknown {what} {v!r}", f"use one of {', '.join(sorted(set(map(str, table))))}"
        )
    return table[key]


def _read_table(table: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table.copy()
    try:
        return pd.read_csv(table)
    except FileNotFoundError:
        raise InputError(str(table), "file not found", "check the path of the DVI factor table") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(str(table), f"cannot be read as CSV ({exc})".splitlines()[0]) from None


def _weights(weights: Mapping[str, float] | None, factors: Sequence[str], where: str) -> dict[str, float]:
    w = {f: 1.0 for f in factors}
    for k, v in (weights or {}).items():
        if k not in w:
            raise ConfigError(where, f"weight given for unknown factor {k!r}", f"factors are {sorted(w)}")
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ConfigError(where, f"weight of {k!r} is not a number ({v!r})") from None
        if not (math.isfinite(v) and v > 0):
            raise ConfigError(where, f"weight of {k!r} must be a positive number, got {v}")
        w[k] = v
    return w


def dvi_from_table(
    table: pd.DataFrame | str | os.PathLike,
    weights: Mapping[str, float] | None = None,
    *,
    scale_by_sex: bool = False,
) -> pd.DataFrame:
    """Drought Vulnerability Index per year from a national factor table (SO 3-3, Tiers 1-2).

    Parameters
    ----------
    table : DataFrame or CSV path with columns ``factor``, ``component`` (social / economic /
        infrastructural), ``direction`` (positive: a higher value means more vulnerable, e.g.
        poverty; negative: less vulnerable, e.g. literacy), ``year``, ``value`` and optionally
        ``sex`` (total / female / male; empty = total). Column names are case-insensitive.
    weights : factor -> positive weight inside its component (default 1 each).
    scale_by_sex : normalise each sex's series on its own range. Default False: the female,
        male and total values of a factor share one min-max range, so the DVIs of the sexes
        are on one scale and can be compared.

    Method (UNCCD GPG for SO3): every factor is min-max normalised over its national time
    series, ``F = (X - X_min) / (X_max - X_min)`` for positive and ``1 - F`` for negative
    factors (0 = least, 1 = most vulnerable in the series); a component is the weighted mean of
    the F of its factors that have a value that year; ``DVI = (social + economic +
    infrastructural) / 3`` (NaN when a component has no factor that year). The female / male
    DVI uses a factor's female / male value where given and its total value otherwise. A factor
    whose values are all equal cannot be normalised: it is left out (listed in
    ``attrs["constant_factors"]``). Because of the normalisation, DVIs are relative to the
    country's own series and not comparable across countries.

    Returns
    -------
    DataFrame with columns ``year``, ``sex``, ``social``, ``economic``, ``infrastructural``,
    ``dvi`` (floats 0..1), one row per year and sex present; ``attrs`` record the method,
    weights and each factor's component, direction and range.

    Raises
    ------
    InputError for missing columns, unknown components/directions/sexes, non-numeric values,
    duplicate (factor, year, sex) rows or a factor given two components or directions; a
    component without any factor. ConfigError for bad weights.

    Example
    -------
    >>> dvi = dvi_from_table("factors.csv", weights={"literacy": 2})
    >>> dvi[dvi.sex == "total"][["year", "dvi"]]
    """
    where = str(table) if not isinstance(table, pd.DataFrame) else "drought.vulnerability.table"
    df = _read_table(table)
    df.columns = [str(c).strip().lower() for c in df.columns]
    need = ["factor", "component", "direction", "year", "value"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(where, f"missing column(s) {missing}", f"give columns {need} (+ optional sex)")
    if df.empty:
        raise InputError(where, "the factor table has no rows")
    df["factor"] = df["factor"].astype(str).str.strip()
    df["component"] = [_norm_label(v, _COMPONENT_NAMES, "component", where) for v in df["component"]]
    df["direction"] = [_norm_label(v, _DIRECTION_NAMES, "direction", where) for v in df["direction"]]
    if "sex" in df.columns:
        sex = df["sex"].where(df["sex"].notna() & (df["sex"].astype(str).str.strip() != ""), "total")
        df["sex"] = [
            _norm_label(v, {s: s for s in _SEXES} | {"both": "total", "all": "total"}, "sex", where)
            for v in sex
        ]
    else:
        df["sex"] = "total"
    for col in ("year", "value"):
        num = pd.to_numeric(df[col], errors="coerce")
        bad = df.loc[num.isna() | ~np.isfinite(num.astype(float)), col]
        if len(bad):
            raise InputError(
                where,
                f"non-numeric or missing {col} {bad.iloc[0]!r} (row {bad.index[0]})",
                f"give a number in every {col} cell",
            )
        df[col] = num.astype(float)
    if not (df["year"] == df["year"].round()).all():
        raise InputError(where, "years must be whole numbers")
    df["year"] = df["year"].astype(int)
    for col in ("component", "direction"):
        n = df.groupby("factor")[col].nunique()
        if (n > 1).any():
            raise InputError(
                where,
                f"factor {n[n > 1].index[0]!r} has more than one {col}",
                f"give each factor a single {col}",
            )
    dup = df.duplicated(["factor", "year", "sex"])
    if dup.any():
        r = df[dup].iloc[0]
        raise InputError(
            where,
            f"duplicate row for factor {r.factor!r}, year {r.year}, sex {r.sex}",
            "give one value per factor, year and sex",
        )
    meta = df.groupby("factor").first()[["component", "direction"]]
    absent = [c for c in COMPONENTS if c not in set(meta["component"])]
    if absent:
        raise InputError(
            where,
            f"no factor for the {', '.join(absent)} component(s)",
            "give at least one factor per component (Tier 1)",
        )
    w = _weights(weights, list(meta.index), "drought.vulnerability.weights")

    # Normalise: range over the factor's whole series (all sexes unless scale_by_sex).
    grp = ["factor", "sex"] if scale_by_sex else ["factor"]
    lo = df.groupby(grp)["value"].transform("min")
    hi = df.groupby(grp)["value"].transform("max")
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (df["value"] - lo) / (hi - lo)
    f = f.where(hi > lo)
    df["F"] = np.where(df["direction"] > 0, f, 1.0 - f)
    constant = sorted(df.loc[~(hi > lo), "factor"].unique().tolist())

    sexes = [s for s in _SEXES if s in set(df["sex"])]
    years = sorted(df["year"].unique())
    val = df.set_index(["factor", "year", "sex"])["F"]
    rows = []
    for y in years:
        for s in sexes:
            rec: dict[str, Any] = {"year": int(y), "sex": s}
            for comp in COMPONENTS:
                num = den = 0.0
                for fac in meta.index[meta["component"] == comp]:
                    v = val.get((fac, y, s), np.nan)
                    if not np.isfinite(v) and s != "total":
                        v = val.get((fac, y, "total"), np.nan)  # not disaggregated: total applies
                    if np.isfinite(v):
                        num += w[fac] * v
                        den += w[fac]
                rec[comp] = num / den if den > 0 else np.nan
            rec["dvi"] = float(np.mean([rec[c] for c in COMPONENTS]))  # NaN if any is NaN
            rows.append(rec)
    out = pd.DataFrame(rows, columns=["year", "sex", *COMPONENTS, "dvi"])
    ranges = df.groupby(grp)["value"].agg(["min", "max"])
    out.attrs = {
        "method": "dvi_min_max",
        "source": "national factor table",
        "normalisation": "min-max over each factor's national time series"
        + (" per sex" if scale_by_sex else " (all sexes pooled)"),
        "dvi": "mean of the social, economic and infrastructural components",
        "weights": w,
        "factors": {
            str(fac): {
                "component": str(meta.loc[fac, "component"]),
                "direction": "positive" if meta.loc[fac, "direction"] > 0 else "negative",
            }
            for fac in meta.index
        },
        "ranges": {
            "/".join(map(str, k if isinstance(k, tuple) else (k,))): [float(a), float(b)]
            for k, (a, b) in ranges.iterrows()
        },
        "constant_factors": constant,
        "scale_by_sex": bool(scale_by_sex),
    }
    return out


def _same_grid(a: xr.DataArray, b: xr.DataArray) -> bool:
    if a.sizes.get("y") != b.sizes.get("y") or a.sizes.get("x") != b.sizes.get("x"):
        return False
    for d in ("y", "x"):
        u, v = np.asarray(a[d].values, float), np.asarray(b[d].values, float)
        step = abs(u[1] - u[0]) if u.size > 1 else 1.0
        if not np.all(np.abs(u - v) <= 1e-6 * step):
            return False
    return True


def dvi_grid(
    factors: Mapping[str, xr.DataArray],
    components: Mapping[str, str],
    directions: Mapping[str, str],
    weights: Mapping[str, float] | None = None,
    *,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> xr.Dataset:
    """Gridded Drought Vulnerability Index (SO 3-3, Tier 3).

    Parameters
    ----------
    factors : name -> factor raster ``(year, y, x)`` or ``(y, x)`` (static), float, NaN missing,
        all on one grid. Years missing from a factor leave it out of that year's means.
    components : name -> ``"social"`` / ``"economic"`` / ``"infrastructural"``.
    directions : name -> ``"positive"`` (higher value = more vulnerable) or ``"negative"``.
    weights : name -> positive weight inside its component (default 1).
    ranges : name -> (min, max) to normalise with (e.g. national ranges shared by the female and
        male maps); values are then clipped to 0..1. By default each factor's minimum and
        maximum over all its pixels and years, computed first in one bounded-memory pass.

    Same formulas as :func:`dvi_from_table`, applied per pixel: F min-max normalised (1 - F for
    negative factors), components = weighted means of the available F, DVI = mean of the three
    components (NaN where one is missing). Normalising over space and time (not per pixel)
    keeps the map comparable between pixels. For female / male maps, call it with the factors
    of that sex and shared ``ranges``.

    Returns
    -------
    Dataset of float32 ``dvi``, ``social``, ``economic`` and ``infrastructural`` (0..1, NaN
    missing) on the factors' grid, ``(year, y, x)`` if any factor has years; lazy for dask
    inputs. Attrs record components, directions, weights and ranges.

    Example
    -------
    >>> ds = dvi_grid({"poverty": pov, "literacy": lit, "water": wat},
    ...               {"poverty": "economic", "literacy": "social", "water": "infrastructural"},
    ...               {"poverty": "positive", "literacy": "negative", "water": "negative"})
    >>> ds.dvi.sel(year=2020)
    """
    where = "drought.vulnerability.factors"
    if not factors:
        raise ConfigError(where, "no factor given", "give at least one factor per component")
    names = list(factors)
    for n in names:
        if n not in components or n not in directions:
            raise ConfigError(
                where,
                f"factor {n!r} has no component or direction",
                "give components[name] and directions[name] for every factor",
            )
    comp = {n: _norm_label(components[n], _COMPONENT_NAMES, "component", where) for n in names}
    sign = {n: _norm_label(directions[n], _DIRECTION_NAMES, "direction", where) for n in names}
    absent = [c for c in COMPONENTS if c not in comp.values()]
    if absent:
        raise ConfigError(
            where,
            f"no factor for the {', '.join(absent)} component(s)",
            "give at least one factor per component",
        )
    w = _weights(weights, names, "drought.vulnerability.weights")
    ref = factors[names[0]]
    arrs = {}
    for n in names:
        a = factors[n]
        if a.dims[-2:] != ("y", "x") or a.ndim not in (2, 3) or (a.ndim == 3 and a.dims[0] != "year"):
            raise InputError(f"{where}.{n}", f"has dims {a.dims}", "give (y, x) or (year, y, x)")
        if not _same_grid(a, ref):
            raise GridError(
                f"{where}.{n}",
                f"is not on the grid of factor {names[0]!r}",
                "align every factor to one grid first (io.raster.align)",
            )
        a = a.astype(np.float64) if a.dtype.kind != "f" else a
        arrs[n] = a.assign_coords(y=ref["y"].values, x=ref["x"].values)
    if ranges is None:
        lazy = [(arrs[n].min(skipna=True).data, arrs[n].max(skipna=True).data) for n in names]
        vals = dask.compute(*lazy)
        rng = {n: (float(lo), float(hi)) for n, (lo, hi) in zip(names, vals, strict=True)}
        clip = False
    else:
        missing = [n for n in names if n not in ranges]
        if missing:
            raise ConfigError("drought.vulnerability.ranges", f"no range for factor(s) {missing}")
        rng = {n: (float(ranges[n][0]), float(ranges[n][1])) for n in names}
        clip = True
    constant = [n for n in names if not (rng[n][1] > rng[n][0])]
    years_present = any("year" in a.dims for a in arrs.values())
    if years_present:
        aligned = xr.align(*[arrs[n] for n in names if "year" in arrs[n].dims], join="outer")
        it = iter(aligned)
        arrs = {n: next(it) if "year" in arrs[n].dims else arrs[n] for n in names}
    fs = {}
    for n in names:
        if n in constant:
            continue
        lo, hi = rng[n]
        f = (arrs[n] - lo) / (hi - lo)
        if clip:
            f = f.clip(0.0, 1.0)
        fs[n] = f if sign[n] > 0 else 1.0 - f
    out = {}
    for c in COMPONENTS:
        members = [n for n in fs if comp[n] == c]
        if not members:
            raise InputError(
                where,
                f"every factor of the {c} component is constant",
                "a factor needs at least two distinct values to be normalised",
            )
        num = sum(fs[n].fillna(0.0) * w[n] for n in members)
        den = sum(fs[n].notnull() * w[n] for n in members)
        out[c] = (num / den).where(den > 0)
    out["dvi"] = (out["social"] + out["economic"] + out["infrastructural"]) / 3.0
    dims = ("year", "y", "x") if years_present else ("y", "x")
    attrs = {
        "method": "dvi_min_max",
        "source": "gridded factors",
        "normalisation": "min-max over all pixels and years of each factor"
        if ranges is None
        else "min-max over the given ranges, clipped to 0-1",
        "dvi": "mean of the social, economic and infrastructural components",
        "components": comp,
        "directions": {n: "positive" if sign[n] > 0 else "negative" for n in names},
        "weights": w,
        "ranges": {n: list(rng[n]) for n in names},
        "constant_factors": constant,
    }
    data = {}
    for k in ("dvi", *COMPONENTS):
        v = out[k].broadcast_like(out["dvi"]).transpose(*dims).astype(np.float32)
        v.attrs = dict(attrs, units="1")
        v = v.assign_coords(_spatial_coords(ref))
        data[k] = v
    ds = xr.Dataset(data, attrs=attrs)
    if ref.rio.crs is not None:
        ds = ds.rio.write_crs(ref.rio.crs)
    return ds
