"""Bulk import and export of activities: GeoPackage, GeoJSON, CSV (geometry as WKT).

An import is all-or-nothing: every row is validated and added in ONE transaction, and the first bad
row aborts it with a :class:`RegistryError` naming the row (1 = first data row) and the field, so
nothing is imported. Imported activities get new ids (an export's ``id``, ``version``, computed area
and ``created_*``/``updated_*`` columns are ignored, so an export can be imported elsewhere).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from ldnkit.registry.errors import RegistryError
from ldnkit.registry.query import MAX_LIMIT, ActivityQuery
from ldnkit.registry.store import RECORD_FIELDS, Store

#: File suffixes read and written.
FORMATS: dict[str, str] = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "CSV"}
#: Columns of an export that an import ignores (the registry computes or assigns them).
_EXPORT_ONLY = ("id", "computed_area_ha", "created_by", "created_at", "updated_by", "updated_at", "version")
_LIST_FIELDS = ("practices", "drivers", "co_benefits")


def _format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RegistryError(
            str(path), f"{path.suffix!r} is not a supported format", "use .gpkg, .geojson or .csv"
        )
    return fmt


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of an activity file as field dicts (geometry as shapely, in EPSG:4326)."""
    path = Path(path)
    fmt = _format(path)
    if not path.exists():
        raise RegistryError(str(path), "does not exist", "check the file name")
    if fmt == "CSV":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "geometry" not in frame.columns:
            raise RegistryError(f"{path}: geometry", "column is missing", "add a 'geometry' column of WKT")
        rows = frame.to_dict("records")
        for i, row in enumerate(rows, start=1):
            try:
                row["geometry"] = shapely.from_wkt(row["geometry"]) if row["geometry"] else None
            except shapely.errors.GEOSException as exc:
                raise RegistryError(f"row {i}: geometry", f"is not WKT ({exc})", "write it as WKT") from None
            for key, value in list(row.items()):
                row[key] = None if value == "" else value
        return rows
    frame = gpd.read_file(path)
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    rows = []
    for record in frame.to_dict("records"):
        rows.append({k: _clean(v) for k, v in record.items()})
    return rows


def import_file(store: Store, path: str | Path, by: str) -> list[str]:
    """Import every activity of ``path`` in one transaction; their new ids. Nothing on any error."""
    rows = read_rows(path)
    boundary = store.boundary()
    ids = []
    with store.writing() as session:
        for number, row in enumerate(rows, start=1):
            fields = {k: v for k, v in row.items() if k not in _EXPORT_ONLY and k != "fid"}
            try:
                ids.append(store.add_activity(session, fields, by, boundary).id)
            except RegistryError as exc:  # raising here rolls the whole import back
                raise RegistryError(f"row {number}: {exc.field}", exc.what, exc.fix, exc.repaired) from None
    return ids


def records_frame(records: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Activity records as a GeoDataFrame (lists joined with ``;``, dates and times as ISO text)."""
    columns = [*RECORD_FIELDS, "geometry"]
    rows = []
    for rec in records:
        row = {}
        for key in RECORD_FIELDS:
            value = rec[key]
            if key in _LIST_FIELDS:
                value = ";".join(value)
            elif isinstance(value, dt.date):
                value = value.isoformat()
            row[key] = value
        row["geometry"] = rec["geometry"]
        rows.append(row)
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs="EPSG:4326")


def all_records(store: Store) -> list[dict[str, Any]]:
    """Every activity, oldest first (paged through the store)."""
    found: list[dict[str, Any]] = []
    while True:
        page = store.query(ActivityQuery(limit=MAX_LIMIT, offset=len(found)))
        found.extend(page.items)
        if len(found) >= page.matched or not page.items:
            return found


def export_file(store: Store, path: str | Path) -> int:
    """Write every activity to ``path`` (.gpkg, .geojson or .csv); how many."""
    path = Path(path)
    fmt = _format(path)
    frame = records_frame(all_records(store))
    if fmt == "CSV":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["geometry"] = frame.geometry.to_wkt()
        table.to_csv(path, index=False)
    else:
        frame.to_file(path, driver=fmt, **({"layer": "activities"} if fmt == "GPKG" else {}))
    return len(frame)
