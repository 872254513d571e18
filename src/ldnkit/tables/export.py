"""Writers of the PRAIS tables: an Excel workbook and JSON records (for summary.json)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ldnkit.tables.prais import TABLE_TITLES

Tables = Mapping[str, Mapping[str, pd.DataFrame]]

_FLOAT_FORMAT = "#,##0.000"
_MAX_WIDTH = 60


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
    while name in used:
        k += 1
        name = f"{base[: 31 - len(str(k)) - 1]}~{k}"
    used.add(name)
    return name


def write_xlsx(tables: Tables, path: str | Path) -> Path:
    """Write ``{scope: {table id: DataFrame}}`` to an Excel workbook.

    One sheet per table id (named by the id), with the title in the first row; in each sheet the
    scopes are stacked ("Area of interest" first, then the regions), each under a bold header row
    naming the scope, followed by the column names and the rows. Numbers are written as numbers
    (areas keep their full precision, shown with 3 decimals); missing values are empty cells.

    Example
    -------
    >>> write_xlsx(compute_tables(inputs), "out/tables.xlsx")          # doctest: +SKIP
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    bold, big = Font(bold=True), Font(bold=True, size=12)
    used: set[str] = set()
    for tid in _table_ids(tables):
        ws = wb.create_sheet(_sheet_name(tid, used))
        widths: dict[int, int] = {}
        first = next(s[tid] for s in tables.values() if tid in s)
        title = first.attrs.get("title", TABLE_TITLES.get(tid, ""))
        ws.append([f"{tid} — {title}" if title else tid])
        ws.cell(row=1, column=1).font = big
        for scope, scope_tables in tables.items():
            if tid not in scope_tables:
                continue
            df = scope_tables[tid]
            ws.append([])
            ws.append([scope])
            ws.cell(row=ws.max_row, column=1).font = bold
            ws.cell(row=ws.max_row, column=1).data_type = "s"
            ws.append([str(c) for c in df.columns])
            for j, c in enumerate(df.columns, start=1):
                ws.cell(row=ws.max_row, column=j).font = bold
                widths[j] = max(widths.get(j, 0), len(str(c)))
            note = df.attrs.get("note")
            for rec in df.itertuples(index=False, name=None):
                ws.append([_value(v) for v in rec])
                for j in range(1, len(rec) + 1):
                    cell = ws.cell(row=ws.max_row, column=j)
                    if isinstance(cell.value, float):
                        cell.number_format = _FLOAT_FORMAT
                        shown = len(f"{cell.value:,.3f}")
                    elif isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"  # text such as a region name, never a formula
                        shown = len(cell.value)
                    else:
                        shown = len(str(cell.value)) if cell.value is not None else 0
                    widths[j] = max(widths.get(j, 0), shown)
            if note:
                ws.append([f"Note: {note}"])
                ws.cell(row=ws.max_row, column=1).font = Font(italic=True)
        for j, w in widths.items():
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), _MAX_WIDTH)
    if not wb.sheetnames:
        wb.create_sheet("empty")
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return _value(v)


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
                "attrs": _jsonable({k: v for k, v in df.attrs.items() if k != "title"}),
            }
    return out
