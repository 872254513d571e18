"""FAOSTAT-shaped tables for footprints: crop production, harvested area and the detailed trade matrix.

Reads the "normalized" CSV layout of FAOSTAT bulk downloads (one value per row):

- production (domain QCL): ``Area``, ``Item``, ``Element``, ``Unit``, ``Value`` and optionally ``Year``,
  with elements ``Production`` (t) and ``Area harvested`` (ha);
- detailed trade matrix (domain TM): ``Reporter Countries``, ``Partner Countries``, ``Item``,
  ``Element``, ``Unit``, ``Value`` and optionally ``Year``, with elements ``Import Quantity`` and
  ``Export Quantity`` (t); value elements are ignored.

Other columns (codes, flags) are ignored; an empty ``Value`` is a missing row and skipped. A bad value
raises a one-line :class:`InputError` naming the file, row (the line in the file, header = 1) and
column. The readers return the tidy tables :mod:`ldnkit.footprint.trade_flows` takes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ldnkit.errors import InputError

__all__ = ["bundled_example", "read_production", "read_trade_matrix"]

#: FAOSTAT units accepted for quantities (t) and areas (ha), lower case.
TONNE_UNITS = ("t", "tonnes", "tonne")
HECTARE_UNITS = ("ha",)

_PRODUCTION_ELEMENTS = {
    "production": ("production", TONNE_UNITS),
    "area harvested": ("harvested_area", HECTARE_UNITS),
}
_TRADE_ELEMENTS = {"import quantity": "importer", "export quantity": "exporter"}


def read_production(path: str | os.PathLike, year: int | None = None) -> pd.DataFrame:
    """Production (t) and harvested area (ha) per country and commodity from a FAOSTAT QCL-shaped CSV.

    Returns columns ``country``, ``commodity``, ``production`` (t), ``harvested_area`` (ha); a
    country and commodity with only one of the two gets 0 for the other. ``year`` picks one year
    when the file has several (required then).
    """
    table = _read(path, ("Area", "Item", "Element", "Unit", "Value"), year)
    element = table["Element"].str.strip().str.lower()
    table = table[element.isin(_PRODUCTION_ELEMENTS)]
    parts = []
    for name, (column, units) in _PRODUCTION_ELEMENTS.items():
        rows = table[table["Element"].str.strip().str.lower() == name]
        _check_units(rows, units, path)
        values = _values(rows, path)
        parts.append(pd.DataFrame({"country": rows["Area"], "commodity": rows["Item"], column: values}))
    tidy = pd.concat(parts).groupby(["country", "commodity"], sort=True).sum(min_count=1).fillna(0.0)
    return tidy.reindex(columns=["production", "harvested_area"], fill_value=0.0).reset_index()


def read_trade_matrix(
    path: str | os.PathLike, year: int | None = None, reported_by: str = "importer"
) -> pd.DataFrame:
    """Bilateral trade (t) per commodity from a FAOSTAT detailed-trade-matrix-shaped CSV.

    Returns columns ``exporter``, ``importer``, ``commodity``, ``quantity`` (t). ``reported_by``
    chooses whose reports are used: ``"importer"`` (Import Quantity: the reporter imports from the
    partner; the usual choice, as importers' customs records are the more complete) or
    ``"exporter"`` (Export Quantity). ``year`` picks one year when the file has several.
    """
    if reported_by not in _TRADE_ELEMENTS.values():
        raise ValueError(f"reported_by must be 'importer' or 'exporter', not {reported_by!r}")
    needed = ("Reporter Countries", "Partner Countries", "Item", "Element", "Unit", "Value")
    table = _read(path, needed, year)
    element = table["Element"].str.strip().str.lower().map(_TRADE_ELEMENTS)
    rows = table[element == reported_by]
    if rows.empty:
        wanted = "Import Quantity" if reported_by == "importer" else "Export Quantity"
        raise InputError(path, f"has no {wanted!r} rows", f"download the trade matrix with {wanted}")
    _check_units(rows, TONNE_UNITS, path)
    reporter, partner = rows["Reporter Countries"], rows["Partner Countries"]
    exporter, importer = (partner, reporter) if reported_by == "importer" else (reporter, partner)
    tidy = pd.DataFrame(
        {
            "exporter": exporter,
            "importer": importer,
            "commodity": rows["Item"],
            "quantity": _values(rows, path),
        }
    )
    tidy = tidy[tidy["quantity"].notna()]
    return tidy.groupby(["exporter", "importer", "commodity"], sort=True, as_index=False)["quantity"].sum()


def _read(path: str | os.PathLike, columns: tuple[str, ...], year: int | None) -> pd.DataFrame:
    """The CSV as strings, with a ``_row`` column (line in the file), one year kept."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "does not exist", "check the path")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:  # FAOSTAT bulk files are sometimes Latin-1
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="latin-1")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(path, f"is not a readable CSV table ({str(error).strip()})") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            path, f"has no column {missing[0]!r}", f"give a FAOSTAT-shaped table with {', '.join(columns)}"
        )
    table["_row"] = np.arange(len(table)) + 2
    if "Year" not in table.columns:
        return table
    years = sorted(set(table["Year"].str.strip()))
    if year is None:
        if len(years) > 1:
            raise InputError(path, f"has years {years[0]}..{years[-1]}", "choose one year")
        return table
    kept = table[table["Year"].str.strip() == str(year)]
    if kept.empty:
        raise InputError(path, f"has no rows for year {year} (it has {', '.join(years[:5])} ...)")
    return kept


def _values(rows: pd.DataFrame, path: str | os.PathLike) -> np.ndarray:
    """The ``Value`` column as floats (NaN where empty); a bad value raises naming its row."""
    text = rows["Value"].str.strip()
    values = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero((text != "").to_numpy() & ~(np.isfinite(values) & (values >= 0)))
    if bad.size:
        first = bad[0]
        raise InputError(
            path,
            f"row {rows['_row'].iloc[first]}, column 'Value': '{rows['Value'].iloc[first]}' "
            "is not a number >= 0",
            "fix or empty the value",
        )
    return values


def _check_units(rows: pd.DataFrame, units: tuple[str, ...], path: str | os.PathLike) -> None:
    bad = np.flatnonzero(~rows["Unit"].str.strip().str.lower().isin(units).to_numpy())
    if bad.size:
        first = bad[0]
        raise InputError(
            path,
            f"row {rows['_row'].iloc[first]}, column 'Unit': '{rows['Unit'].iloc[first]}' is not one of "
            f"{', '.join(units)} for {rows['Element'].iloc[first]!r}",
            "convert the values to tonnes and hectares",
        )


def bundled_example() -> dict[str, Path]:
    """Paths of the bundled SYNTHETIC footprint example (see its README.md): ``production``,
    ``trade_matrix``, ``degraded_share`` (FAOSTAT-shaped, five invented countries, three crops) and
    ``mrio_land``, ``mrio_degraded_share`` (for ``pymrio.load_test()``)."""
    folder = Path(__file__).resolve().parent.parent / "data" / "footprint"
    names = ("production", "trade_matrix", "degraded_share", "mrio_land", "mrio_degraded_share")
    return {name: folder / f"{name}.csv" for name in names}
