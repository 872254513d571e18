"""User records: false positive / negative correction polygons and driver records.

:func:`read_corrections` reads and validates the correction polygons (PRAIS SO1-4.T3 fields) and
:func:`rasterize_corrections` burns their ids on the grid for :func:`ldnkit.indicators.corrections.recode`;
:func:`read_driver_records` reads the drivers a user attaches to hotspots (config list, YAML or CSV).
Every problem is a one-line :class:`~ldnkit.errors.InputError` / :class:`~ldnkit.errors.ConfigError`
naming the file, the feature and the field.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
import yaml

from ldnkit import codes
from ldnkit.drivers import DriverRecord
from ldnkit.errors import ConfigError, InputError
from ldnkit.io.grid import Grid, grid_of
from ldnkit.io.vector import rasterize, read_vector
from ldnkit.records import Correction

__all__ = ["read_corrections", "rasterize_corrections", "read_driver_records", "CORRECTION_FIELDS"]

#: Required and optional fields of a corrections file.
CORRECTION_FIELDS: dict[str, bool] = {
    "type": True,
    "periods": True,
    "place_name": True,
    "process": True,
    "basis": True,
    "id": False,
    "start": False,
    "recode_to": False,
}
_TYPE_ALIASES = {
    "fp": codes.FALSE_POSITIVE,
    "false positive": codes.FALSE_POSITIVE,
    "false positives": codes.FALSE_POSITIVE,
    "fn": codes.FALSE_NEGATIVE,
    "false negative": codes.FALSE_NEGATIVE,
    "false negatives": codes.FALSE_NEGATIVE,
}
_RECODE = {"stable": codes.STABLE, "0": codes.STABLE, "improved": codes.IMPROVED, "1": codes.IMPROVED}


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _text(v: Any) -> str:
    if _missing(v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _norm_type(v: Any) -> str | None:
    t = " ".join(str(v).replace("_", " ").replace("-", " ").split()).casefold()
    return _TYPE_ALIASES.get(t)


def _periods_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return "all" in a or "all" in b or bool(set(a) & set(b))


def read_corrections(
    path: str | os.PathLike | gpd.GeoDataFrame,
    grid: Grid | xr.DataArray,
    key: str = "corrections.path",
    *,
    valid_periods: Sequence[str] | None = None,
    layer: str | int | None = None,
) -> tuple[list[Correction], gpd.GeoDataFrame]:
    """Read and check false positive / negative polygons (any GDAL vector: GeoPackage, Shapefile ...).

    Fields (names case-insensitive): ``type`` ("false positive"/"false negative"; also "FP", "FN",
    "false_positive" ...), ``periods`` (comma-separated period names, or "all"), ``place_name``,
    ``process``, ``basis`` (basis for judgement); optional ``id`` (1..32767, unique; default 1..N in
    file order), ``start`` (when the process started), ``recode_to`` (false negatives: "stable"/0,
    the default, or "improved"/1).

    Checks: every field and value above; period names against ``valid_periods`` (when given); polygons
    only; and no two polygons overlapping (intersection area > 0) whose corrections conflict in a
    period they share (a false positive and a false negative, or false negatives with different
    ``recode_to``) — the error names both ids. Overlaps that agree are allowed and both apply; their
    pairs are listed in ``gdf.attrs["overlaps"]``.

    Returns ``(corrections, gdf)``: the records, and the polygons reprojected to the grid CRS with
    normalised columns ``id, type, periods, place_name, process, basis, start, recode_to``.

    Example
    -------
    >>> corrs, gdf = read_corrections("corrections.gpkg", grid, valid_periods=["baseline", "2016-2023"])
    ...                                                                  # doctest: +SKIP
    """
    if isinstance(grid, xr.DataArray):
        grid = grid_of(grid)
    if isinstance(path, gpd.GeoDataFrame):
        src = str(path.attrs.get("source", "corrections"))
        gdf = path
        if gdf.crs is None:
            raise InputError(f"{key} ({src})", "has no coordinate reference system", "assign one")
    else:
        src = str(path)
        gdf = read_vector(path, key=key, layer=layer)
    where = f"{key} ({src})"
    cols = _correction_columns(gdf, where)
    valid = None if valid_periods is None else [str(p) for p in valid_periods]
    ids = _correction_ids(gdf, cols, where)
    records = [
        _correction_record(row, cols, cid, f"{where} feature id={cid}", valid)
        for cid, (_, row) in zip(ids, gdf.iterrows(), strict=True)
    ]
    out = gpd.GeoDataFrame(
        {
            "id": np.asarray(ids, dtype=np.int16),
            "type": [c.type for c in records],
            "periods": [",".join(c.periods) for c in records],
            "place_name": [c.place_name for c in records],
            "process": [c.process for c in records],
            "basis": [c.basis for c in records],
            "start": [c.start for c in records],
            "recode_to": pd.array([c.recode_to for c in records], dtype="Int16"),
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    ).to_crs(grid.crs)
    out.attrs = {**gdf.attrs, "source": src}
    out.attrs["overlaps"] = _check_overlaps(out, records, where, grid)
    return records, out


def _correction_columns(gdf: gpd.GeoDataFrame, where: str) -> dict[str, Any]:
    """Field name (lower case; "period" stands for "periods") -> column; checks fields and geometries."""
    cols = {str(c).strip().lower(): c for c in gdf.columns if c != gdf.geometry.name}
    if "periods" not in cols and "period" in cols:
        cols["periods"] = cols["period"]
    missing = [f for f, req in CORRECTION_FIELDS.items() if req and f not in cols]
    if missing:
        raise InputError(
            where,
            f"has no field {', '.join(repr(m) for m in missing)} "
            f"(it has {', '.join(map(str, cols)) or 'none'})",
            "add the fields "
            + ", ".join(f for f, r in CORRECTION_FIELDS.items() if r)
            + " (optional: id, start, recode_to)",
        )
    gtypes = set(gdf.geometry.geom_type)
    if not gtypes <= {"Polygon", "MultiPolygon"}:
        raise InputError(
            where,
            f"has {', '.join(sorted(gtypes - {'Polygon', 'MultiPolygon'}))} geometries",
            "give polygons",
        )
    return cols


def _correction_ids(gdf: gpd.GeoDataFrame, cols: Mapping[str, Any], where: str) -> list[int]:
    """The polygons' ids: the ``id`` field (distinct, 1..32767) or 1..N in file order."""
    n = len(gdf)
    if "id" not in cols:
        if n > 32767:
            raise InputError(where, f"has {n} polygons, more than 32767", "merge polygons")
        return list(range(1, n + 1))
    ids = []
    for i, v in enumerate(gdf[cols["id"]]):
        try:
            f = float(v)
            ok = not math.isnan(f) and f.is_integer() and 1 <= f <= 32767
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InputError(
                f"{where} feature {i + 1} field 'id'",
                f"{v!r} is not an integer in 1..32767",
                "give each polygon a distinct id from 1 to 32767",
            )
        ids.append(int(f))
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError(
            f"{where} field 'id'", f"id {dup[0]} is used by more than one polygon", "make ids unique"
        )
    return ids


def _correction_record(
    row: pd.Series, cols: Mapping[str, Any], cid: int, w: str, valid: Sequence[str] | None
) -> Correction:
    """One polygon's record, every field checked (``w`` names the feature in errors)."""
    raw_type = row[cols["type"]]
    ctype = None if _missing(raw_type) else _norm_type(raw_type)
    if ctype is None:
        raise InputError(
            f"{w} field 'type'",
            f"{raw_type!r} is not a correction type",
            "use 'false positive' (FP) or 'false negative' (FN)",
        )
    periods = _correction_periods(row[cols["periods"]], w, valid)
    recode_to = None
    if "recode_to" in cols and not _missing(row[cols["recode_to"]]):
        recode_to = _recode_to(row[cols["recode_to"]], ctype, w)
    start = _text(row[cols["start"]]) if "start" in cols else ""
    return Correction(
        id=cid,
        type=ctype,
        periods=periods,
        place_name=_text(row[cols["place_name"]]),
        process=_text(row[cols["process"]]),
        basis=_text(row[cols["basis"]]),
        start=start or None,
        recode_to=recode_to,
    )


def _correction_periods(raw_p: Any, w: str, valid: Sequence[str] | None) -> tuple[str, ...]:
    """Comma-separated period names (checked against ``valid`` when given), or ("all",)."""
    names = tuple(p.strip() for p in _text(raw_p).split(",") if p.strip())
    if not names:
        raise InputError(f"{w} field 'periods'", "is empty", "give period names separated by commas, or all")
    lowered = tuple("all" if p.lower() == "all" else p for p in names)
    if "all" in lowered and len(lowered) > 1:
        raise InputError(f"{w} field 'periods'", f"{_text(raw_p)!r} mixes 'all' with names", "use all alone")
    if valid is not None and lowered != ("all",):
        bad = [p for p in lowered if p not in valid]
        if bad:
            raise InputError(
                f"{w} field 'periods'",
                f"unknown period {bad[0]!r}",
                f"use the run's period names ({', '.join(valid)}) or all",
            )
    return lowered


def _recode_to(raw: Any, ctype: str, w: str) -> int:
    """A false negative's target code: 0 (stable) or 1 (improved)."""
    rv = _text(raw).lower()
    if rv not in _RECODE:
        raise InputError(
            f"{w} field 'recode_to'",
            f"{raw!r} is not a value a false negative can take",
            "use stable (0) or improved (1), or leave it empty (stable)",
        )
    if ctype == codes.FALSE_POSITIVE:
        raise InputError(
            f"{w} field 'recode_to'",
            "is set on a false positive, which always recodes to degraded",
            "leave recode_to empty for false positives",
        )
    return _RECODE[rv]


def _check_overlaps(
    gdf: gpd.GeoDataFrame, records: list[Correction], where: str, grid: Grid
) -> list[list[int]]:
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = []
    units = "degrees" if grid.is_geographic else "CRS units"
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        inter = float(shapely.area(shapely.intersection(geoms[i], geoms[j])))
        if inter <= 0:
            continue  # touching edges only
        a, b = records[i], records[j]
        if _periods_overlap(a.periods, b.periods) and (a.type != b.type or a.target != b.target):
            what = (
                f"correction {a.id} ({a.type}) and correction {b.id} ({b.type}) overlap"
                if a.type != b.type
                else f"false negatives {a.id} (recode to {a.target}) and {b.id} "
                f"(recode to {b.target}) overlap"
            )
            raise InputError(
                where,
                f"{what} over {inter:.6g} square {units} in a period they share",
                "a place cannot be corrected two ways in one period: fix the polygons, their types "
                "or periods",
            )
        pairs.append([int(a.id), int(b.id)])
    return pairs


def rasterize_corrections(
    gdf: gpd.GeoDataFrame,
    grid: Grid | xr.DataArray,
    chunks: int = 1024,
    *,
    period: str | None = None,
    all_touched: bool = False,
) -> xr.DataArray:
    """int16 raster of correction ids on ``grid`` (NODATA = no correction), lazy, block by block.

    ``gdf`` as returned by :func:`read_corrections`. With ``period``, only the corrections applying to
    it are burnt. A pixel holds one id: where polygons overlap the later one wins, which is harmless when
    they agree; when overlapping polygons apply to different periods, one raster cannot hold both, so
    ``period`` must be given (ValueError otherwise) — rasterize once per period.

    Example
    -------
    >>> ids = rasterize_corrections(gdf, grid, period="2016-2023")      # doctest: +SKIP
    """
    if isinstance(grid, xr.DataArray):
        grid = grid_of(grid)
    per = {int(i): tuple(str(p).split(",")) for i, p in zip(gdf["id"], gdf["periods"], strict=True)}
    if period is None:
        for a, b in gdf.attrs.get("overlaps", []):
            if per[a] != per[b]:
                raise ValueError(
                    f"corrections {a} and {b} overlap and apply to different periods: rasterize per period"
                )
        sel = gdf
    else:
        keep = [("all" in per[int(i)]) or (period in per[int(i)]) for i in gdf["id"]]
        sel = gdf[np.asarray(keep, dtype=bool)]
    out = rasterize(
        sel,
        grid,
        values=np.asarray(sel["id"], dtype=np.int16),
        fill=codes.NODATA,
        all_touched=all_touched,
        chunks=chunks,
        dtype="int16",
    )
    out = out.rename("corrections")
    out.attrs.update(
        method="rasterize", values="correction id", nodata=codes.NODATA, period=period, n_corrections=len(sel)
    )
    out.attrs["_FillValue"] = codes.NODATA
    return out


_DRIVER_FIELDS = (
    "driver",
    "confidence",
    "sub_driver",
    "at",
    "hotspot_id",
    "kind",
    "period",
    "remediation",
    "crs",
)


def _record(item: Mapping[str, Any], where: str) -> DriverRecord:
    d = {str(k).strip().lower(): v for k, v in item.items() if not _missing(v)}
    if "x" in d or "y" in d:
        if not ("x" in d and "y" in d):
            raise ConfigError(where, "has only one of x and y", "give both x and y, or at: [x, y]")
        d["at"] = (d.pop("x"), d.pop("y"))
    if "id" in d and "hotspot_id" not in d:
        d["hotspot_id"] = d.pop("id")
    unknown = sorted(set(d) - set(_DRIVER_FIELDS))
    if unknown:
        raise ConfigError(
            where, f"unknown field {unknown[0]!r}", f"use {', '.join(_DRIVER_FIELDS)} (or x, y)"
        )
    for f in ("driver", "confidence"):
        if f not in d:
            raise ConfigError(where, f"has no {f}", f"add {f}")
    for f in ("sub_driver", "kind", "period", "remediation", "crs"):
        if f in d:
            d[f] = _text(d[f])
    return DriverRecord(**d, where=where)


def read_driver_records(
    path_or_list: str | os.PathLike | Sequence[Mapping[str, Any]], key: str = "neutrality.drivers"
) -> list[DriverRecord]:
    """Driver records from the config (a list of mappings), a YAML file holding such a list, or a CSV.

    Fields: ``driver``, ``confidence`` (IPBES term), optional ``sub_driver``, the place as ``at: [x, y]``
    (CSV: columns ``x`` and ``y``) or ``hotspot_id`` (alias ``id``), ``kind`` (hotspot/brightspot),
    ``period``, ``remediation``, ``crs`` (of the point; default the grid CRS). Driver names and
    confidence terms are checked against :mod:`ldnkit.drivers` (ConfigError naming the record and the
    closest valid names); an unreadable file is an InputError.

    Example
    -------
    >>> recs = read_driver_records([{"at": [36.5, -0.7], "driver": "Extraction of mineral resources",
    ...                              "confidence": "well established"}])
    >>> recs[0].confidence
    'well established'
    """
    if isinstance(path_or_list, (str, os.PathLike)):
        p = Path(path_or_list)
        where = f"{key} ({p})"
        if not p.exists():
            raise InputError(where, "file not found", "check the path")
        try:
            if p.suffix.lower() == ".csv":
                df = pd.read_csv(p)
                df.columns = [str(c).strip().lower() for c in df.columns]
                items = [
                    (f"{where} row {i + 2}", {k: (None if pd.isna(v) else v) for k, v in r.items()})
                    for i, r in enumerate(df.to_dict("records"))
                ]
            else:
                data = yaml.safe_load(p.read_text())
                if not isinstance(data, list):
                    raise InputError(
                        where, "does not hold a list of records", "write one '- driver: ...' per record"
                    )
                items = [(f"{where} item {i + 1}", r) for i, r in enumerate(data)]
        except (OSError, UnicodeDecodeError, yaml.YAMLError, pd.errors.ParserError) as exc:
            raise InputError(
                where, f"cannot be read ({' '.join(str(exc).split())})", "give a CSV or YAML file"
            ) from None
    else:
        items = [(f"{key}[{i}]", r) for i, r in enumerate(path_or_list)]
    out = []
    for where_i, item in items:
        if not isinstance(item, Mapping):
            raise ConfigError(
                where_i, f"{item!r} is not a record", "write driver: ..., confidence: ..., at: [x, y]"
            )
        out.append(_record(item, where_i))
    return out
