"""Writers of the PRAIS tables: an Excel workbook and JSON records (for summary.json)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ldnkit.codes import AOI_SCOPE
from ldnkit.jsonable import jsonable
from ldnkit.layer_meta import sorted_entries
from ldnkit.tables.prais import TABLE_TITLES, reconciliation_problems

Tables = Mapping[str, Mapping[str, pd.DataFrame]]

#: Number formats by column kind (the values keep full precision; only the display is rounded).
FORMATS = {
    "km2": "#,##0.00",
    "pct": "0.00",
    "t_ha": "0.0",
    "t": "#,##0",
    "people": "#,##0",
    "float": "0.000",
    "int": "0",
}
_UNIT_TEXT = {
    "km2": "areas in km²",
    "pct": "percentages in %",
    "t_ha": "SOC stocks in t/ha",
    "t": "SOC stocks in t (tonnes)",
    "people": "population in persons",
}
_MAX_WIDTH = 60
_HEADER_WIDTH = 28  # longer column names wrap in the header row
SCOPE = "Scope"
#: Layout of a table sheet (1-based rows): title, units, note, header, then the rows.
TITLE_ROW, UNITS_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3, 4
LAYERS_SHEET = "Layers"
#: Columns of the Layers sheet: (header, width).
LAYER_COLUMNS = (
    ("Key", 32),
    ("File", 42),
    ("Group", 20),
    ("Subgroup", 24),
    ("Title", 40),
    ("Description", 60),
    ("Unit", 10),
    ("Kind", 12),
    ("Legend", 20),
    ("Classes", 80),
)


def _value(v: Any) -> Any:
    """A cell value as a plain Python number/string; missing -> None."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _table_ids(tables: Tables) -> list[str]:
    ids = [t for t in TABLE_TITLES if any(t in s for s in tables.values())]
    ids += sorted({t for s in tables.values() for t in s} - set(ids))
    return ids


def _sheet_name(tid: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "_", tid)[:31]  # Excel's forbidden characters and length
    base, k = name, 1
    while name.lower() in {u.lower() for u in used}:
        k += 1
        name = f"{base[: 31 - len(str(k)) - 1]}~{k}"
    used.add(name)
    return name


def column_kind(column: str, title: str = "") -> str | None:
    """Kind of a column from its name (km2, pct, t_ha, t, people), else from the table title:
    unnamed numbers of a table titled "... (km² ..." are areas (class columns of the matrices)."""
    name = str(column)
    low = name.lower()
    if re.search(r"(^|\s)(code|year|id)$", low) or low in ("pixels", "years with spi"):
        return "int"  # codes, years, counts: never a unit format, even when stored as floats
    if "%" in name or "percentage points" in low or "percent" in low:
        return "pct"
    if "km²" in name or "km2" in low:
        return "km2"
    if "t/ha" in low:
        return "t_ha"
    if re.search(r"\(t\)|\btonnes\b", low):
        return "t"
    if "persons" in low or "population" in low or "people" in low:
        return "people"
    if "km²" in title and not re.search(r"\b(code|year|years|id|pixels)\b", low):
        return "km2"
    return None


def _cell_kind(col_kind: str | None, row_unit: Any, value: Any) -> str | None:
    if not isinstance(value, float):
        return None
    if col_kind == "int":
        return "int"
    if row_unit in ("t/ha", "t"):  # SO1-3.T1: the unit is given per row
        return "t_ha" if row_unit == "t/ha" else "t"
    return col_kind or "float"


def _ordered_scopes(tables: Tables) -> list[str]:
    aoi = [s for s in tables if s == AOI_SCOPE]
    return aoi + [s for s in tables if s != AOI_SCOPE]


def _long_table(tables: Tables, tid: str) -> tuple[list[str], list[list[Any]]]:
    """One long table of every scope's rows, the scope as the first column."""
    columns: list[str] = [SCOPE]
    rows: list[list[Any]] = []
    for scope in _ordered_scopes(tables):
        df = tables[scope].get(tid)
        if df is None:
            continue
        for c in map(str, df.columns):
            if c not in columns:
                columns.append(c)
        names = [str(c) for c in df.columns]
        for rec in df.itertuples(index=False, name=None):
            d = dict(zip(names, rec, strict=True))
            d.setdefault(SCOPE, scope)  # a table with its own Scope column keeps it
            rows.append(d)
    return columns, [[_value(r.get(c)) for c in columns] for r in rows]


def _units_line(kinds: set[str], df: pd.DataFrame) -> str:
    parts = [_UNIT_TEXT[k] for k in ("km2", "pct", "t_ha", "t", "people") if k in kinds]
    if "km2" in kinds:
        parts[0] += " (full precision stored, 2 decimals shown)"
    return "Units: " + ("; ".join(parts) if parts else "none (codes, names and counts)")


def _write_table_sheet(ws, tid: str, tables: Tables) -> str:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    first = next(tables[s][tid] for s in _ordered_scopes(tables) if tid in tables[s])
    title = str(first.attrs.get("title", TABLE_TITLES.get(tid, "")))
    columns, rows = _long_table(tables, tid)
    col_kind = [column_kind(c, title) if c != SCOPE else None for c in columns]
    unit_col = columns.index("Unit") if "Unit" in columns else None

    ws.cell(TITLE_ROW, 1, f"{tid} — {title}" if title else tid).font = Font(bold=True, size=12)
    kinds: set[str] = set()
    widths = [0] * len(columns)
    for i, vals in enumerate(rows):
        r = HEADER_ROW + 1 + i
        unit = vals[unit_col] if unit_col is not None else None
        for j, v in enumerate(vals):
            cell = ws.cell(r, j + 1, v)
            kind = _cell_kind(col_kind[j], unit, v)
            if kind:
                kinds.add(kind)
                cell.number_format = FORMATS[kind]
                shown = len(f"{v:,.2f}")
            elif isinstance(v, str):
                if v.startswith("="):
                    cell.data_type = "s"  # text such as a region name, never a formula
                shown = len(v)
            else:
                shown = len(str(v)) if v is not None else 0
            widths[j] = max(widths[j], shown)
    ws.cell(UNITS_ROW, 1, _units_line(kinds, first)).font = Font(italic=True)
    note = first.attrs.get("note")
    if note:
        ws.cell(NOTE_ROW, 1, f"Note: {note}").font = Font(italic=True)
    head_font, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    lines = 1
    for j, c in enumerate(columns):
        cell = ws.cell(HEADER_ROW, j + 1, c)
        cell.font, cell.alignment = head_font, wrap
        w = min(max(widths[j], min(len(c), _HEADER_WIDTH), 6) + 2, _MAX_WIDTH)
        ws.column_dimensions[get_column_letter(j + 1)].width = w
        lines = max(lines, math.ceil(len(c) / max(w - 2, 1)))
    ws.row_dimensions[HEADER_ROW].height = 15 * lines
    last = get_column_letter(len(columns))
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 2)  # header rows and the Scope column stay visible
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(len(rows), 1)}"
    return title


def _flatten(prefix: str, v: Any) -> list[tuple[str, str]]:
    if isinstance(v, Mapping):
        out = []
        for k, x in v.items():
            out += _flatten(f"{prefix}.{k}" if prefix else str(k), x)
        return out
    if isinstance(v, list | tuple) and not any(isinstance(x, Mapping | list | tuple) for x in v):
        return [(prefix, ", ".join(map(str, v)) if v else "(none)")]
    if isinstance(v, list | tuple):
        return [(prefix, json.dumps(jsonable(v, nan_as_none=True)))]
    return [(prefix, "(none)" if v is None else str(v))]


def _readme_rows(summary: Mapping | None, sheets: list[tuple[str, str]], problems: list[str]) -> list:
    """(item, text) rows of the README sheet; None marks a section heading given as the text."""
    from ldnkit.version import __version__

    s = dict(summary or {})
    grid = s.get("grid") or {}
    rows: list[tuple[str | None, str]] = [
        (None, "About this workbook"),
        ("Title", str(s.get("title") or "")),
        ("Software", f"ldnkit {s.get('ldnkit_version', __version__)}"),
        ("Created", str(s.get("created") or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))),
        (
            "Layout",
            "one sheet per table: title, units, note, then one long table whose first column "
            f"'{SCOPE}' is '{AOI_SCOPE}' then each sub-national region; filter it with the header's "
            "autofilter. Numbers are stored unrounded (the display is rounded).",
        ),
        (None, "How the areas were made"),
        (
            "Total land area",
            "area of the pixels whose land-cover class of the year is 1-6 (tree-covered, grassland, "
            "cropland, wetland, artificial surfaces, other land): water bodies (7) and pixels without "
            "land cover are excluded (CP-1.T1). Per-period tables count the land of the period's final "
            "land-cover year (column 'Land-cover year'), so their classes, the 'No data' row included, "
            "add up to CP-1.T1's total land area of that year.",
        ),
        ("Area method", str(grid.get("area_method", "km² per pixel (see summary.json)"))),
    ]
    if grid:
        rows.append(("Grid", f"{grid.get('crs')}, {grid.get('width')} x {grid.get('height')} pixels"))
    rows.append(
        (
            "Reconciliation",
            "every area of the SO1 / CP-1 tables reconciles with CP-1.T1 (checked when writing)"
            if not problems
            else "PROBLEMS: " + "; ".join(problems[:20]),
        )
    )
    periods = s.get("periods") or []
    if periods:
        rows.append((None, "Periods"))
        for p in periods:
            bits = [f"{p.get('kind', '')} {p.get('start')}-{p.get('end')}"]
            for k in ("land_cover", "trend", "state_historical", "state_comparison", "performance"):
                if p.get(k):
                    bits.append(f"{k.replace('_', ' ')} {p[k][0]}-{p[k][1]}")
            if p.get("external_lpd"):
                bits.append("external LPD")
            rows.append((str(p.get("name")), "; ".join(bits)))
    if s.get("methods"):
        rows.append((None, "Methods and parameters"))
        rows += _flatten("", s["methods"])
    drought = s.get("drought")
    if isinstance(drought, Mapping):
        rows.append((None, "Drought (SO3)"))
        rows += _flatten("", {k: v for k, v in drought.items() if k != "index_attrs"})
    rows.append((None, "Sheets"))
    rows += sheets
    return rows


def _write_readme(ws, rows: list) -> None:
    from openpyxl.styles import Alignment, Font

    ws.cell(1, 1, "ldnkit — PRAIS 4 tables: how the figures were made").font = Font(bold=True, size=14)
    r = 2
    for item, text in rows:
        r += 1
        if item is None:
            r += 1
            ws.cell(r, 1, text).font = Font(bold=True, size=12)
            continue
        ws.cell(r, 1, item).font = Font(bold=True)
        c = ws.cell(r, 2, text)
        c.data_type = "s"
        c.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(r, 1).alignment = Alignment(vertical="top")
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 110


def layer_rows(summary: Mapping | None) -> list[list[Any]]:
    """One row per layer of ``summary["layers"]`` in display order (group, order, key), with the
    columns of :data:`LAYER_COLUMNS`; a categorical layer's classes as "code name; code name ..."
    (from its entry's ``classes``; empty when the entry gives only the legend's name)."""
    rows = []
    for key, e in sorted_entries((summary or {}).get("layers") or {}):
        classes = "; ".join(f"{code} {name}" for code, name in e.get("classes") or [])
        fields = ("path", "group", "subgroup", "title", "description", "unit", "kind", "legend")
        rows.append([key, *(_value(e.get(f)) for f in fields), classes])
    return rows


def _write_layers_sheet(ws, rows: list[list[Any]]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws.cell(TITLE_ROW, 1, "Layers of the run: files, groups, units and classes").font = Font(
        bold=True, size=12
    )
    ws.cell(UNITS_ROW, 1, "File paths are relative to the run folder.").font = Font(italic=True)
    for j, (head, width) in enumerate(LAYER_COLUMNS, 1):
        ws.cell(HEADER_ROW, j, head).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(j)].width = width
    for i, row in enumerate(rows):
        for j, v in enumerate(row, 1):
            cell = ws.cell(HEADER_ROW + 1 + i, j, v)
            if isinstance(v, str):
                cell.data_type = "s"  # a description is text, never a formula
                cell.alignment = Alignment(vertical="top", wrap_text=j >= 6)
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 2)
    last = get_column_letter(len(LAYER_COLUMNS))
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(len(rows), 1)}"


def write_xlsx(tables: Tables, path: str | Path, *, summary: Mapping | None = None) -> Path:
    """Write ``{scope: {table id: DataFrame}}`` to an Excel workbook laid out like the PRAIS tables.

    A README sheet first (how the figures were made: total land area definition, area method,
    periods and their years, methods and parameters from ``summary`` — summary.json's dict —,
    ldnkit version and date, the result of :func:`~ldnkit.tables.prais.reconciliation_problems`,
    the list of sheets); then, when ``summary`` lists layers, a "Layers" sheet (one row per layer,
    see :func:`layer_rows`); then one sheet per table id (named by the id, any table, ``attrs["title"]``
    as its title): row 1 the title, row 2 the units, row 3 the table's note, row 4 the header, then
    ONE long table whose first column "Scope" is "Area of interest" then each region. Numbers are
    stored unrounded with display formats by column kind (km² ``#,##0.00``, % ``0.00``, t/ha
    ``0.0``, t and people ``#,##0``); the header and Scope column are frozen, with an autofilter.

    Example
    -------
    >>> write_xlsx(compute_tables(inputs), "out/tables.xlsx", summary=summary)   # doctest: +SKIP
    """
    from openpyxl import Workbook

    path = Path(path)
    wb = Workbook()
    readme = wb.active
    readme.title = "README"
    used: set[str] = {"README"}
    sheets: list[tuple[str, str]] = []
    layers = layer_rows(summary)
    if layers:  # right after README: what each GeoTIFF of the run folder holds
        _write_layers_sheet(wb.create_sheet(LAYERS_SHEET), layers)
        used.add(LAYERS_SHEET)
        sheets.append((LAYERS_SHEET, f"the {len(layers)} layers of the run: file, group, unit, classes"))
    for tid in _table_ids(tables):
        name = _sheet_name(tid, used)
        title = _write_table_sheet(wb.create_sheet(name), tid, tables)
        sheets.append((name, title))
    _write_readme(readme, _readme_rows(summary, sheets, reconciliation_problems(tables)))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def tables_to_json(tables: Tables) -> dict:
    """``{scope: {table id: {"title", "columns", "records", "attrs"}}}`` (JSON-serialisable).

    ``records`` is a list of ``{column name: value}``; NaN becomes ``null``.

    Example
    -------
    >>> json.dumps(tables_to_json(compute_tables(inputs)))             # doctest: +SKIP
    """
    out: dict = {}
    for scope, scope_tables in tables.items():
        out[scope] = {}
        for tid, df in scope_tables.items():
            cols = [str(c) for c in df.columns]
            records = [
                {c: _value(v) for c, v in zip(cols, rec, strict=True)}
                for rec in df.itertuples(index=False, name=None)
            ]
            out[scope][tid] = {
                "title": df.attrs.get("title", TABLE_TITLES.get(tid, "")),
                "columns": cols,
                "records": records,
                "attrs": jsonable({k: v for k, v in df.attrs.items() if k != "title"}, nan_as_none=True),
            }
    return out
