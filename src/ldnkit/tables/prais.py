"""The UNCCD PRAIS 4 (2026) SO1 tables as pandas DataFrames (methodology §1.11).

All areas come from one set of cross-tabulations computed in a single dask pass
(:func:`ldnkit.crosstab.compute_crosstabs`); the tables are then marginal sums of these
small frames, so the figures of different tables agree exactly.

Conventions (the same in every table)
-------------------------------------
* Areas are km² (float, not rounded). Codes outside a layer's legend count as "No data".
* **Total land area** of a year = area of the pixels of the area of interest (or region) whose
  land-cover class that year is 1..6, i.e. water (7) and land-cover no-data excluded (CP-1.T1).
* Per-period class tables (SO1-1.T7, SO1-2.T3, SO1-3.T2, SO1-4.T1, SO1-4.T2, change) count the
  **land pixels of the final land-cover year of the period** (``land_cover_years[1]``); their rows
  (improved/stable/degraded/no data) add up to that year's total land area, and "% of total land
  area" divides by it (so the percentages, the no-data row included, add up to 100).
* Land-cover extent, change matrices, LPD-by-class and SOC tables cover every pixel of the scope,
  water and no data included, each in its own row/column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.codes import AOI_SCOPE
from ldnkit.crosstab import CrosstabRequest, compute_crosstabs
from ldnkit.errors import ConfigError, PeriodError

DataArray = xr.DataArray
NODATA = codes.NODATA
KM2 = "Area (km²)"
PCT = "% of total land area"
LAND = "Total land area (km²)"
NO_DATA = "No data"
TOTAL = "Total"
#: Column giving the land-cover year whose land pixels a row's total land area counts.
LC_YEAR = "Land-cover year"
#: Row/column labels of the land subtotals (classes 1-6) in tables that also cover water/no data.
LAND_ROW = "Total land area (excl. water bodies and no data)"
LAND_INITIAL = "Total land area, initial year"
LAND_FINAL = "Total land area, final year"
LAND_CLASSES = tuple(c for c in codes.LAND_COVER.codes if c != codes.WATER)
#: Order of the classes in the 3-class tables (PRAIS order).
DEGRADATION_ORDER = (codes.IMPROVED, codes.STABLE, codes.DEGRADED)
#: SO1-4.T2 confidence when the config gives none: the Party must assess it (PRAIS 4).
CONFIDENCE_NOT_ASSESSED = "not assessed"

#: Table id -> short title (the order is the order of the sheets).
TABLE_TITLES: dict[str, str] = {
    "CP-1.T1": "Total land area, water bodies and total area (km²)",
    "SO1-1.T1": "Key land-cover degradation processes: degraded area by transition (km²)",
    "SO1-1.T2": "National land-cover legend nested in the 7 UNCCD classes",
    "SO1-1.T3": "Land-cover transition matrix (+ improvement, - degradation, 0 stable)",
    "SO1-1.T4": "Land-cover extent by class (km²)",
    "SO1-1.T5": "Land-cover change matrix, baseline (km²; rows initial, columns final class)",
    "SO1-1.T6": "Land-cover change matrix, reporting period (km²; rows initial, columns final)",
    "SO1-1.T7": "Land-cover degradation (km², % of total land area)",
    "SO1-2.T1": "Land productivity dynamics by land-cover class, baseline (km²)",
    "SO1-2.T2": "Land productivity dynamics by land-cover class, reporting period (km²)",
    "SO1-2.T3": "Land productivity degradation (km², % of total land area)",
    "SO1-3.T1": "Soil organic carbon: mean stock by land-cover class (t/ha) and total stock (t)",
    "SO1-3.T2": "SOC stock degradation (km², % of total land area)",
    "SO1-4.T1": "Status of land degradation vs the baseline (km², % of total land area)",
    "SO1-4.T2": "Proportion of degraded land, SDG indicator 15.3.1 (km², % of total land area)",
    "SO1-4.change": "Change assessment: degraded area of each period minus the baseline",
    "SO1-4.change_crosstab": "Change assessment: baseline x period SDG 15.3.1 (1OAO) area (km²)",
}


@dataclass
class PeriodLayers:
    """Layers of one period (all on one grid, lazily). Codes as in :mod:`ldnkit.codes`."""

    name: str  # "baseline" or e.g. "2016-2023"
    kind: str  # "baseline" | "reporting"
    land_cover_years: tuple[int, int]  # initial, final year of the LC/SOC change
    productivity_years: tuple[int, int] | None  # trend window; None for an external LPD
    land_cover_degradation: DataArray  # {-1,0,1,NODATA}
    lpd: DataArray  # 1..5 / NODATA
    productivity_degradation: DataArray  # {-1,0,1}
    soc_degradation: DataArray  # {-1,0,1}
    sdg: DataArray  # 1OAO {-1,0,1}
    status: DataArray | None = None  # reporting only: 3-class status vs baseline
    status_expanded: DataArray | None = None  # reporting only: 1..7
    confidence: str | None = None  # high | medium | low, as assessed by the Party (SO1-4.T2)


@dataclass
class TableInputs:
    """Everything :func:`compute_tables` needs; the pipeline fills it."""

    land_cover: dict[int, DataArray]  # year -> UNCCD class 1..7, every year to tabulate
    soc: dict[int, DataArray]  # year -> SOC stock t/ha (float32)
    periods: list[PeriodLayers]  # periods[0] is the baseline
    area: DataArray  # km² per pixel
    aoi: DataArray  # int16 1 inside the area of interest, 0/NODATA outside (None: whole grid)
    regions: DataArray | None  # int16 region id 1..k, NODATA outside
    region_names: dict[int, str]
    nesting: dict[int, list[int]] | None  # UNCCD class -> national legend codes (SO1-1.T2)
    legend_name: str  # e.g. "esa_cci"
    matrices: dict[str, list[list[int]]]  # "national" (+ region names) -> 7x7 matrix (SO1-1.T3)
    soc_tier: str = "Tier 1"
    methods: dict = field(default_factory=dict)  # method settings/text for SO1-4.T2 "Method"


# --- small helpers ----------------------------------------------------------------------------


def _clean(s: pd.Series, legend: Iterable[int]) -> pd.Series:
    """Codes outside the legend become NODATA."""
    return s.where(s.isin(list(legend)), NODATA)


def _area_by(df: pd.DataFrame, cols: Sequence[str]) -> dict:
    """Sum of ``area`` per combination of ``cols`` as a plain dict (missing key = 0 km²)."""
    if df.empty:
        return {}
    g = df.groupby(list(cols), sort=False)["area"].sum()
    return {(k if len(cols) > 1 else (k[0] if isinstance(k, tuple) else k)): float(v) for k, v in g.items()}


def _pct(a: float, land: float) -> float:
    return a / land * 100.0 if land > 0 else float("nan")


def _titled(df: pd.DataFrame, tid: str, **attrs) -> pd.DataFrame:
    df.attrs = {"id": tid, "title": TABLE_TITLES[tid], "area_unit": "km2", **attrs}
    return df


def _lc_name(code: int) -> str:
    return codes.LAND_COVER.name_of(code) if code in codes.LAND_COVER.codes else NO_DATA


def _land(df: pd.DataFrame, lc_col: str) -> pd.DataFrame:
    return df[df[lc_col].isin(LAND_CLASSES)]


def _class_rows(
    df: pd.DataFrame,
    col: str,
    legend: codes.Legend,
    order: Sequence[int],
    period: str,
    year: int,
    lc_col: str = "lc_final",
    extra: dict | None = None,
) -> list[dict]:
    """Rows (one per class + no data) of a per-period class table over the land pixels of ``year``."""
    land_df = _land(df, lc_col)
    land = float(land_df["area"].sum())
    by = _area_by(land_df.assign(**{col: _clean(land_df[col], order)}), [col])
    rows = []
    for c in [*order, NODATA]:
        a = by.get(c, 0.0)
        rows.append(
            {
                "Period": period,
                **(extra or {}),
                "Code": c,
                "Class": legend.name_of(c) if c != NODATA else NO_DATA,
                KM2: a,
                PCT: _pct(a, land),
                LAND: land,
                LC_YEAR: year,
            }
        )
    return rows


def _matrix_table(
    df: pd.DataFrame,
    row_col: str,
    col_col: str,
    row_codes: Sequence[int],
    col_codes: Sequence[int],
    row_name,
    col_name,
    row_label: str,
    period: str,
    *,
    land_row: str | None = None,
    land_col: str | None = None,
    extra: dict | None = None,
) -> list[dict]:
    """Area cross-table rows (row classes + no data + total) x (column classes + no data + total).

    ``land_row``: label of an extra last row summing the land-cover rows 1-6 (the land of the rows'
    year); ``land_col``: name of an extra last column summing the land-cover columns 1-6. ``extra``:
    columns appended to every row (e.g. the years)."""
    d = df.assign(**{row_col: _clean(df[row_col], row_codes), col_col: _clean(df[col_col], col_codes)})
    by = _area_by(d, [row_col, col_col])
    rc, cc = [*row_codes, NODATA], [*col_codes, NODATA]
    land_cc = [c for c in cc if c in LAND_CLASSES]

    def rec_of(label, code, rs):
        rec = {"Period": period, "Code": code, row_label: label}
        for c in cc:
            rec[col_name(c)] = sum(by.get((r, c), 0.0) for r in rs)
        rec[TOTAL] = sum(by.get((r, c), 0.0) for r in rs for c in cc)
        if land_col:
            rec[land_col] = sum(by.get((r, c), 0.0) for r in rs for c in land_cc)
        return {**rec, **(extra or {})}

    rows = [rec_of(row_name(r), r, [r]) for r in rc]
    rows.append(rec_of(TOTAL, None, rc))
    if land_row:
        rows.append(rec_of(land_row, None, [r for r in rc if r in LAND_CLASSES]))
    return rows


def _frame(rows: list[dict], columns: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    for c in df.columns:
        # codes/years: ints, None on total rows (a float column would show 1.0, -32768.0)
        if c == "Code" or (
            (c.endswith(" code") or c.endswith(" year")) and any(r.get(c) is None for r in rows)
        ):
            df[c] = pd.Series([r.get(c) for r in rows], index=df.index, dtype=object)
    return df


def _deg_name(c: int) -> str:
    return codes.DEGRADATION.name_of(c) if c != NODATA else NO_DATA


# --- requests ---------------------------------------------------------------------------------


def _check(inputs: TableInputs) -> None:
    if not inputs.periods:
        raise ConfigError("periods", "no period to tabulate", "give at least the baseline period")
    if inputs.periods[0].kind != "baseline":
        raise ConfigError(
            "periods",
            f"the first period ({inputs.periods[0].name}) is not the baseline",
            "list the baseline first",
        )
    for p in inputs.periods:
        for y in p.land_cover_years:
            if y not in inputs.land_cover:
                raise PeriodError(
                    f"periods.{p.name}",
                    f"land cover of {y} is not among the tabulated years {sorted(inputs.land_cover)}",
                    f"add {y} to the land-cover years to tabulate",
                )
    for y in inputs.soc:
        if y not in inputs.land_cover:
            raise PeriodError(
                "tables.soc",
                f"SOC of {y} has no land cover of the same year",
                f"add {y} to the land-cover years to tabulate",
            )


def _requests(inputs: TableInputs, zones: DataArray | None) -> dict[str, CrosstabRequest]:
    reg = {} if inputs.regions is None else {"region": inputs.regions}
    req: dict[str, CrosstabRequest] = {}
    for y in sorted(inputs.land_cover):
        sums = {"soc": inputs.soc[y]} if y in inputs.soc else None
        req[f"lc_{y}"] = CrosstabRequest({**reg, "lc": inputs.land_cover[y]}, inputs.area, zones, sums)
    base = inputs.periods[0]
    for i, p in enumerate(inputs.periods):
        y0, y1 = p.land_cover_years
        lc0, lc1 = inputs.land_cover[y0], inputs.land_cover[y1]
        req[f"p{i}_lc"] = CrosstabRequest(
            {**reg, "lc_initial": lc0, "lc_final": lc1, "lc_deg": p.land_cover_degradation},
            inputs.area,
            zones,
        )
        keys = {
            **reg,
            "lc_final": lc1,
            "lpd": p.lpd,
            "prod_deg": p.productivity_degradation,
            "soc_deg": p.soc_degradation,
            "sdg": p.sdg,
        }
        if i > 0:
            keys["baseline_sdg"] = base.sdg
            if p.status is not None:
                keys["status"] = p.status
            if p.status_expanded is not None:
                keys["status_expanded"] = p.status_expanded
        req[f"p{i}_ind"] = CrosstabRequest(keys, inputs.area, zones)
    return req


def _scopes(inputs: TableInputs, cts: dict[str, pd.DataFrame]) -> list[tuple[str, int | None]]:
    scopes: list[tuple[str, int | None]] = [(AOI_SCOPE, None)]
    if inputs.regions is None:
        return scopes
    ids = set(inputs.region_names)
    for df in cts.values():
        ids |= {int(v) for v in df["region"].unique() if v != NODATA}
    for rid in sorted(ids):
        scopes.append((inputs.region_names.get(rid, f"Region {rid}"), rid))
    return scopes


# --- the tables -------------------------------------------------------------------------------


def _cp1_t1(inputs, ct) -> pd.DataFrame:
    rows = []
    for y in sorted(inputs.land_cover):
        df = ct[f"lc_{y}"]
        by = _area_by(df.assign(lc=_clean(df["lc"], codes.LAND_COVER.codes)), ["lc"])
        land = sum(by.get(c, 0.0) for c in LAND_CLASSES)
        rows.append(
            {
                "Year": y,
                LAND: land,
                "Water bodies (km²)": by.get(codes.WATER, 0.0),
                "No data (km²)": by.get(NODATA, 0.0),
                "Total area (km²)": sum(by.values()),
            }
        )
    cols = ["Year", LAND, "Water bodies (km²)", "No data (km²)", "Total area (km²)"]
    return _titled(
        _frame(rows, cols),
        "CP-1.T1",
        note="total land area excludes water bodies (class 7) and land-cover no data",
    )


def _so1_1_t1(inputs, ct) -> pd.DataFrame:
    per: dict[str, dict] = {}
    totals: dict[str, tuple[float, float]] = {}  # period -> (degraded on land, land) of the final year
    for i, p in enumerate(inputs.periods):
        df = ct[f"p{i}_lc"]
        deg = df[
            (df["lc_deg"] == codes.DEGRADED)
            & df["lc_initial"].isin(codes.LAND_COVER.codes)
            & df["lc_final"].isin(codes.LAND_COVER.codes)
        ]
        per[p.name] = _area_by(deg, ["lc_initial", "lc_final"])
        land = _land(df, "lc_final")
        land_deg = float(land.loc[land["lc_deg"] == codes.DEGRADED, "area"].sum())
        totals[p.name] = (land_deg, float(land["area"].sum()))
    pairs = sorted({k for d in per.values() for k, v in d.items() if v > 0})
    rows = []
    for a, b in pairs:
        rec = {
            "Process": codes.TRANSITION_PROCESS.get((a, b), "Other"),
            "Initial code": a,
            "Initial class": _lc_name(a),
            "Final code": b,
            "Final class": _lc_name(b),
        }
        for p in inputs.periods:
            rec[f"{p.name} (km²)"] = per[p.name].get((a, b), 0.0)
        rows.append(rec)
    # Summary rows: degraded + not degraded = total land area of each period's final LC year.
    # Transitions into water (degrading under a custom matrix) are listed above but are not land.
    years = " | ".join(f"{p.name}: {p.land_cover_years[1]}" for p in inputs.periods)
    summary = [
        ("Total degraded by land-cover change, land of the final year", 0),
        ("Not degraded by land-cover change or no data, land of the final year", 1),
        (f"Total land area of the final land-cover year ({years})", 2),
    ]
    for label, k in summary:
        rec = {"Process": label}
        for p in inputs.periods:
            deg, land = totals[p.name]
            rec[f"{p.name} (km²)"] = (deg, land - deg, land)[k]
        rows.append(rec)
    cols = ["Process", "Initial code", "Initial class", "Final code", "Final class"]
    cols += [f"{p.name} (km²)" for p in inputs.periods]
    note = (
        "area of pixels degraded by land-cover change, per transition; the last three rows: degraded "
        "and not degraded land of each period's final land-cover year, adding up to its total land "
        "area (CP-1.T1); transitions into water bodies are not land in the final year"
    )
    return _titled(
        _frame(rows, cols),
        "SO1-1.T1",
        note=note,
        land_cover_year={p.name: p.land_cover_years[1] for p in inputs.periods},
    )


def _so1_1_t2(inputs) -> pd.DataFrame:
    rows = []
    for k, v in (inputs.nesting or {}).items():
        if isinstance(v, Iterable) and not isinstance(v, str):
            pairs = [(int(c), int(k)) for c in v]  # UNCCD class -> [national codes]
        else:
            pairs = [(int(k), int(v))]  # national code -> UNCCD class
        for nat, cls in pairs:
            rows.append({"National code": nat, "UNCCD code": cls, "UNCCD class": _lc_name(cls)})
    rows.sort(key=lambda r: (r["National code"], r["UNCCD code"]))
    df = _frame(rows, ["National code", "UNCCD code", "UNCCD class"])
    out = _titled(df, "SO1-1.T2", legend=inputs.legend_name)
    out.attrs["title"] += f" (legend: {inputs.legend_name})"
    return out


def _so1_1_t3(inputs, scope: str, region_id: int | None) -> pd.DataFrame:
    names = list(inputs.matrices)
    if region_id is not None:
        names = [scope] if scope in inputs.matrices else [n for n in names if n == "national"]
    sym = {1: "+", 0: "0", -1: "-"}
    rows = []
    for n in names:
        m = inputs.matrices[n]
        ok = len(m) == 7 and all(len(r) == 7 and all(v in sym for v in r) for r in m)
        if not ok:
            raise ConfigError(
                f"matrices.{n}",
                "is not a 7x7 matrix of -1/0/1",
                "give 7 rows of 7 values (rows initial, columns final class)",
            )
        for i, r in enumerate(m):
            rec = {"Matrix": n, "Initial class": codes.LAND_COVER.names[i]}
            rec.update({codes.LAND_COVER.names[j]: sym[int(v)] for j, v in enumerate(r)})
            rows.append(rec)
    cols = ["Matrix", "Initial class", *codes.LAND_COVER.names]
    return _titled(_frame(rows, cols), "SO1-1.T3")


def _so1_1_t4(inputs, ct) -> pd.DataFrame:
    years = sorted(inputs.land_cover)
    by = {}
    for y in years:
        df = ct[f"lc_{y}"]
        by[y] = _area_by(df.assign(lc=_clean(df["lc"], codes.LAND_COVER.codes)), ["lc"])
    rows = []
    for c in [*codes.LAND_COVER.codes, NODATA]:
        rows.append(
            {"Code": c, "Land cover class": _lc_name(c), **{str(y): by[y].get(c, 0.0) for y in years}}
        )
    rows.append({"Code": None, "Land cover class": TOTAL, **{str(y): sum(by[y].values()) for y in years}})
    rows.append(
        {
            "Code": None,
            "Land cover class": LAND_ROW,
            **{str(y): sum(by[y].get(c, 0.0) for c in LAND_CLASSES) for y in years},
        }
    )
    note = (
        f"columns: land-cover year; '{TOTAL}' = all pixels of the scope; '{LAND_ROW}' = classes 1-6 "
        "= total land area of that year (CP-1.T1)"
    )
    return _titled(_frame(rows, ["Code", "Land cover class", *map(str, years)]), "SO1-1.T4", note=note)


def _lc_change(inputs, ct, periods: list[tuple[int, PeriodLayers]], tid: str) -> pd.DataFrame:
    lc = codes.LAND_COVER.codes
    rows = []
    for i, p in periods:
        y0, y1 = p.land_cover_years
        rows += _matrix_table(
            ct[f"p{i}_lc"],
            "lc_initial",
            "lc_final",
            lc,
            lc,
            _lc_name,
            _lc_name,
            "Initial class",
            p.name,
            land_row=LAND_INITIAL,
            land_col=LAND_FINAL,
            extra={"Initial year": y0, "Final year": y1},
        )
    cols = ["Period", "Code", "Initial class", *[_lc_name(c) for c in [*lc, NODATA]], TOTAL, LAND_FINAL]
    cols += ["Initial year", "Final year"]
    note = (
        "rows: land cover of the initial year, columns: of the final year; all pixels, water and no "
        f"data included. '{LAND_INITIAL}' (row) sums the land rows 1-6 = total land area of the "
        f"initial year; '{LAND_FINAL}' (column) sums the land columns 1-6 = total land area of the "
        "final year (CP-1.T1)"
    )
    return _titled(
        _frame(rows, cols), tid, note=note, years={p.name: list(p.land_cover_years) for _, p in periods}
    )


def _lpd_by_lc(inputs, ct, periods: list[tuple[int, PeriodLayers]], tid: str) -> pd.DataFrame:
    lc, lpd = codes.LAND_COVER.codes, codes.LPD.codes
    rows = []
    for i, p in periods:
        rows += _matrix_table(
            ct[f"p{i}_ind"],
            "lc_final",
            "lpd",
            lc,
            lpd,
            _lc_name,
            lambda c: codes.LPD.name_of(c) if c != NODATA else NO_DATA,
            "Land cover class",
            p.name,
            land_row=LAND_ROW,
            extra={LC_YEAR: p.land_cover_years[1]},
        )
    cols = ["Period", "Code", "Land cover class", *codes.LPD.names, NO_DATA, TOTAL, LC_YEAR]
    note = (
        "land cover of the final year of each period's land-cover change (column "
        f"'{LC_YEAR}'); all pixels, water and no data included; '{LAND_ROW}' sums the land "
        "rows 1-6 = total land area of that year (CP-1.T1)"
    )
    return _titled(
        _frame(rows, cols),
        tid,
        note=note,
        land_cover_year={p.name: p.land_cover_years[1] for _, p in periods},
    )


def _deg_table(inputs, ct, suffix: str, col: str, tid: str) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(inputs.periods):
        rows += _class_rows(
            ct[f"p{i}_{suffix}"], col, codes.DEGRADATION, DEGRADATION_ORDER, p.name, p.land_cover_years[1]
        )
    cols = ["Period", "Code", "Class", KM2, PCT, LAND, LC_YEAR]
    return _titled(_frame(rows, cols), tid, note=_LAND_NOTE)


_LAND_NOTE = (
    "land pixels (land-cover class 1-6) of the final land-cover year of each period; "
    "rows add up to that year's total land area"
)


def _so1_3_t1(inputs, ct) -> pd.DataFrame:
    years = sorted(inputs.soc)
    per: dict[int, pd.DataFrame] = {}
    for y in years:
        df = ct[f"lc_{y}"]
        per[y] = df.assign(lc=_clean(df["lc"], codes.LAND_COVER.codes))

    def mean(df: pd.DataFrame) -> float:
        a = float(df["soc_area"].sum())
        return float(df["soc"].sum()) / a if a > 0 else float("nan")

    rows = []
    for c in [*codes.LAND_COVER.codes, NODATA]:
        rows.append(
            {
                "Code": c,
                "Land cover class": _lc_name(c),
                "Unit": "t/ha",
                **{str(y): mean(per[y][per[y]["lc"] == c]) for y in years},
            }
        )
    rows.append(
        {
            "Code": None,
            "Land cover class": "All cover types",
            "Unit": "t/ha",
            **{str(y): mean(per[y]) for y in years},
        }
    )
    # t/ha x km² x 100 ha/km² = t
    rows.append(
        {
            "Code": None,
            "Land cover class": "Total SOC stock, all cover types",
            "Unit": "t",
            **{str(y): float(per[y]["soc"].sum()) * 100.0 for y in years},
        }
    )
    rows.append(
        {
            "Code": None,
            "Land cover class": "Total SOC stock, excluding water bodies",
            "Unit": "t",
            **{str(y): float(per[y].loc[per[y]["lc"] != codes.WATER, "soc"].sum()) * 100.0 for y in years},
        }
    )
    df = _frame(rows, ["Code", "Land cover class", "Unit", *map(str, years)])
    out = _titled(
        df,
        "SO1-3.T1",
        tier=inputs.soc_tier,
        note="area-weighted means over pixels with SOC data; land cover of the same year",
    )
    out.attrs["title"] += f"; {inputs.soc_tier}"
    return out


def _so1_4_t1(inputs, ct) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(inputs.periods):
        if i == 0:
            continue
        df = ct[f"p{i}_ind"]
        if "status" in df.columns:
            rows += _class_rows(
                df,
                "status",
                codes.DEGRADATION,
                DEGRADATION_ORDER,
                p.name,
                p.land_cover_years[1],
                extra={"Status": "Status (3 classes)"},
            )
        if "status_expanded" in df.columns:
            rows += _class_rows(
                df,
                "status_expanded",
                codes.STATUS_EXPANDED,
                codes.STATUS_EXPANDED.codes,
                p.name,
                p.land_cover_years[1],
                extra={"Status": "Expanded status (7 classes)"},
            )
    cols = ["Period", "Status", "Code", "Class", KM2, PCT, LAND, LC_YEAR]
    return _titled(_frame(rows, cols), "SO1-4.T1", note=_LAND_NOTE)


def _method_text(inputs: TableInputs, p: PeriodLayers) -> str:
    m = inputs.methods or {}
    for key in (p.name, p.kind, "default"):
        if isinstance(m.get(key), str):
            return m[key]
    comb = m.get("combination", "one-out-all-out")
    text = f"{comb} of land cover, land productivity and SOC sub-indicators"
    if p.kind != "baseline":
        text += "; status vs the baseline by the status matrix"
    details = [
        f"{k}: {v}"
        for k, v in m.items()
        if k != "combination" and isinstance(v, str | int | float) and not isinstance(v, bool)
    ]
    return text + ("; " + ", ".join(details) if details else "")


def _degraded(inputs, ct, i: int) -> tuple[float, float]:
    """(degraded km², total land km²) of period i: baseline 1OAO for i = 0, status otherwise."""
    df = _land(ct[f"p{i}_ind"], "lc_final")
    land = float(df["area"].sum())
    if i == 0:
        col, deg = "sdg", (codes.DEGRADED,)
    elif "status" in df.columns:
        col, deg = "status", (codes.DEGRADED,)
    elif "status_expanded" in df.columns:
        col = "status_expanded"
        deg = tuple(k for k, v in codes.STATUS_EXPANDED_TO_DEGRADATION.items() if v == codes.DEGRADED)
    else:
        return float("nan"), land
    return float(df.loc[df[col].isin(deg), "area"].sum()), land


def _so1_4_t2(inputs, ct) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(inputs.periods):
        deg, land = _degraded(inputs, ct, i)
        rows.append(
            {
                "Period": p.name,
                "Kind": p.kind,
                "Land cover years": f"{p.land_cover_years[0]}-{p.land_cover_years[1]}",
                "Productivity years": (
                    f"{p.productivity_years[0]}-{p.productivity_years[1]}"
                    if p.productivity_years
                    else "external LPD"
                ),
                "Degraded area (km²)": deg,
                PCT: _pct(deg, land),
                LAND: land,
                LC_YEAR: p.land_cover_years[1],
                "Method": _method_text(inputs, p),
                "Confidence": p.confidence or CONFIDENCE_NOT_ASSESSED,
            }
        )
    cols = [
        "Period",
        "Kind",
        "Land cover years",
        "Productivity years",
        "Degraded area (km²)",
        PCT,
        LAND,
        LC_YEAR,
        "Method",
        "Confidence",
    ]
    note = (
        "baseline: 1OAO of the baseline; reporting periods: their status vs the baseline. "
        "'Confidence' comes from periods.<period>.confidence (high, medium or low); "
        f"'{CONFIDENCE_NOT_ASSESSED}' until you set and justify it"
    )
    return _titled(_frame(rows, cols), "SO1-4.T2", note=note)


def _change(inputs, ct) -> tuple[pd.DataFrame, pd.DataFrame]:
    b_deg, b_land = _degraded(inputs, ct, 0)
    rows, xrows = [], []
    deg3 = codes.DEGRADATION.codes
    for i, p in enumerate(inputs.periods):
        if i == 0:
            continue
        deg, land = _degraded(inputs, ct, i)
        rows.append(
            {
                "Period": p.name,
                "Baseline degraded (km²)": b_deg,
                "Period degraded (km²)": deg,
                "Change (km²)": deg - b_deg,
                "Baseline degraded (%)": _pct(b_deg, b_land),
                "Period degraded (%)": _pct(deg, land),
                "Change (percentage points)": _pct(deg, land) - _pct(b_deg, b_land),
                "Baseline total land area (km²)": b_land,
                "Baseline land-cover year": inputs.periods[0].land_cover_years[1],
                "Period total land area (km²)": land,
                "Period land-cover year": p.land_cover_years[1],
            }
        )
        xrows += _matrix_table(
            _land(ct[f"p{i}_ind"], "lc_final"),
            "baseline_sdg",
            "sdg",
            deg3,
            deg3,
            _deg_name,
            _deg_name,
            "Baseline",
            p.name,
            extra={LC_YEAR: p.land_cover_years[1]},
        )
    cols = [
        "Period",
        "Baseline degraded (km²)",
        "Period degraded (km²)",
        "Change (km²)",
        "Baseline degraded (%)",
        "Period degraded (%)",
        "Change (percentage points)",
        "Baseline total land area (km²)",
        "Baseline land-cover year",
        "Period total land area (km²)",
        "Period land-cover year",
    ]
    note = (
        "period degraded = status degraded; % of the total land area of each period's final "
        "land-cover year (the baseline's for the baseline)"
    )
    xcols = ["Period", "Code", "Baseline", *[_deg_name(c) for c in [*deg3, NODATA]], TOTAL, LC_YEAR]
    xnote = (
        "rows baseline 1OAO, columns period 1OAO; land pixels of the period's final land-cover year "
        f"('{LC_YEAR}'): Total x Total = its total land area"
    )
    return (
        _titled(_frame(rows, cols), "SO1-4.change", note=note),
        _titled(_frame(xrows, xcols), "SO1-4.change_crosstab", note=xnote),
    )


def _scope_tables(
    inputs: TableInputs, ct: dict[str, pd.DataFrame], scope: str, region_id: int | None
) -> dict[str, pd.DataFrame]:
    periods = list(enumerate(inputs.periods))
    out = {"CP-1.T1": _cp1_t1(inputs, ct), "SO1-1.T1": _so1_1_t1(inputs, ct)}
    if inputs.nesting is not None:
        out["SO1-1.T2"] = _so1_1_t2(inputs)
    out["SO1-1.T3"] = _so1_1_t3(inputs, scope, region_id)
    out["SO1-1.T4"] = _so1_1_t4(inputs, ct)
    out["SO1-1.T5"] = _lc_change(inputs, ct, periods[:1], "SO1-1.T5")
    out["SO1-1.T6"] = _lc_change(inputs, ct, periods[1:], "SO1-1.T6")
    out["SO1-1.T7"] = _deg_table(inputs, ct, "lc", "lc_deg", "SO1-1.T7")
    out["SO1-2.T1"] = _lpd_by_lc(inputs, ct, periods[:1], "SO1-2.T1")
    out["SO1-2.T2"] = _lpd_by_lc(inputs, ct, periods[1:], "SO1-2.T2")
    out["SO1-2.T3"] = _deg_table(inputs, ct, "ind", "prod_deg", "SO1-2.T3")
    out["SO1-3.T1"] = _so1_3_t1(inputs, ct)
    out["SO1-3.T2"] = _deg_table(inputs, ct, "ind", "soc_deg", "SO1-3.T2")
    out["SO1-4.T1"] = _so1_4_t1(inputs, ct)
    out["SO1-4.T2"] = _so1_4_t2(inputs, ct)
    out["SO1-4.change"], out["SO1-4.change_crosstab"] = _change(inputs, ct)
    for df in out.values():
        df.attrs["scope"] = scope
    return out


def compute_tables(inputs: TableInputs, scheduler=None) -> dict[str, dict[str, pd.DataFrame]]:
    """All PRAIS 4 SO1 tables, for the area of interest and for each region, in one dask pass.

    Parameters
    ----------
    inputs : the layers (lazy DataArrays on one grid) and settings, see :class:`TableInputs`.
    scheduler : passed to ``dask.compute`` (None = dask's default / active distributed client).

    Returns
    -------
    ``{scope: {table id: DataFrame}}`` with scopes ``"Area of interest"`` (pixels with aoi == 1)
    then each region name (pixels in the area of interest and in the region). Table ids:
    CP-1.T1, SO1-1.T1..T7 (T2 only when ``nesting`` is given), SO1-2.T1..T3, SO1-3.T1..T2,
    SO1-4.T1, SO1-4.T2, SO1-4.change and SO1-4.change_crosstab. Every DataFrame has
    ``attrs["title"]`` (short title) and ``attrs["id"]``; areas are km², not rounded.
    See the module docstring for which pixels each table counts and the % denominators.

    Example
    -------
    >>> tables = compute_tables(inputs)                                  # doctest: +SKIP
    >>> tables["Area of interest"]["SO1-4.T2"][["Period", "% of total land area"]]  # doctest: +SKIP
    """
    _check(inputs)
    aoi = inputs.aoi
    zones = (
        None  # no area of interest: the whole grid
        if aoi is None
        else xr.where(aoi == 1, np.int16(1), np.int16(NODATA)).astype(codes.CATEGORICAL_DTYPE)
    )
    ct = compute_crosstabs(_requests(inputs, zones), scheduler=scheduler)
    out = {}
    for scope, rid in _scopes(inputs, ct):
        sub = ct if rid is None else {k: df[df["region"] == rid] for k, df in ct.items()}
        out[scope] = _scope_tables(inputs, sub, scope, rid)
    return out


# --- reconciliation -----------------------------------------------------------------------------


def _close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def _scope_problems(scope: str, t: Mapping[str, pd.DataFrame], rel: float) -> list[str]:
    out: list[str] = []

    def check(a: float, b: float, what: str) -> None:
        if not _close(float(a), float(b), rel):
            out.append(f"{scope} / {what}: {float(a):.6f} != {float(b):.6f} km²")

    cp = t.get("CP-1.T1")
    if cp is None:
        return [f"{scope}: CP-1.T1 missing"] if any(k.startswith("SO1-") for k in t) else []
    land = {int(r["Year"]): float(r[LAND]) for _, r in cp.iterrows()}
    total = {int(r["Year"]): float(r["Total area (km²)"]) for _, r in cp.iterrows()}
    for _, r in cp.iterrows():
        parts = r[LAND] + r["Water bodies (km²)"] + r["No data (km²)"]
        check(parts, r["Total area (km²)"], f"CP-1.T1 {r['Year']}: land + water + no data vs total")

    def land_of(year, what: str) -> float | None:
        if int(year) not in land:
            out.append(f"{scope} / {what}: no CP-1.T1 row for {year}")
            return None
        return land[int(year)]

    # class tables: the classes of each period sum to its total land area = CP-1.T1 of its year
    for tid in ("SO1-1.T7", "SO1-2.T3", "SO1-3.T2", "SO1-4.T1"):
        df = t.get(tid)
        if df is None or df.empty:
            continue
        keys = ["Period", "Status"] if "Status" in df.columns else ["Period"]
        for key, g in df.groupby(keys, sort=False):
            name = f"{tid} {' '.join(map(str, key))}"
            check(g[KM2].sum(), g[LAND].iloc[0], f"{name}: classes vs total land area")
            want = land_of(g[LC_YEAR].iloc[0], name)
            if want is not None:
                check(g[LAND].iloc[0], want, f"{name}: total land area vs CP-1.T1 {g[LC_YEAR].iloc[0]}")
    df = t.get("SO1-4.T2")
    if df is not None:
        for _, r in df.iterrows():
            want = land_of(r[LC_YEAR], f"SO1-4.T2 {r['Period']}")
            if want is not None:
                check(r[LAND], want, f"SO1-4.T2 {r['Period']}: total land area vs CP-1.T1 {r[LC_YEAR]}")
    df = t.get("SO1-1.T4")
    if df is not None:
        classes = df[df["Code"].notna()]
        tot = df[df["Land cover class"] == TOTAL].iloc[0]
        lrow = df[df["Land cover class"] == LAND_ROW].iloc[0]
        for y in [c for c in df.columns if str(c).isdigit()]:
            check(classes[y].sum(), tot[y], f"SO1-1.T4 {y}: classes vs total")
            check(classes.loc[classes["Code"].isin(LAND_CLASSES), y].sum(), lrow[y], f"SO1-1.T4 {y}: land")
            if (want := land_of(y, f"SO1-1.T4 {y}")) is not None:
                check(lrow[y], want, f"SO1-1.T4 {y}: total land area vs CP-1.T1")
                check(tot[y], total[int(y)], f"SO1-1.T4 {y}: total area vs CP-1.T1")
    # matrices: rows and columns add up to the totals; the land subtotals equal CP-1.T1
    for tid, row_label, col_start in (
        ("SO1-1.T5", "Initial class", "Tree-covered areas"),
        ("SO1-1.T6", "Initial class", "Tree-covered areas"),
        ("SO1-2.T1", "Land cover class", codes.LPD.names[0]),
        ("SO1-2.T2", "Land cover class", codes.LPD.names[0]),
        ("SO1-4.change_crosstab", "Baseline", codes.DEGRADATION.name_of(DEGRADATION_ORDER[-1])),
    ):
        df = t.get(tid)
        if df is None or df.empty:
            continue
        cols = list(df.columns)
        classes_c = [c for c in cols[cols.index(col_start) : cols.index(TOTAL)]]
        for period, g in df.groupby("Period", sort=False):
            name = f"{tid} {period}"
            body = g[g["Code"].notna()]
            tot = g[g[row_label] == TOTAL].iloc[0]
            for _, r in body.iterrows():
                check(r[classes_c].sum(), r[TOTAL], f"{name} row {r[row_label]}: classes vs Total")
            for c in [*classes_c, TOTAL]:
                check(body[c].sum(), tot[c], f"{name} column {c}: classes vs Total row")
            if tid.startswith("SO1-1"):
                y0, y1 = int(g["Initial year"].iloc[0]), int(g["Final year"].iloc[0])
                linit = g[g[row_label] == LAND_INITIAL].iloc[0]
                if (want := land_of(y0, name)) is not None:
                    check(linit[TOTAL], want, f"{name}: {LAND_INITIAL} vs CP-1.T1 {y0}")
                if (want := land_of(y1, name)) is not None:
                    check(tot[LAND_FINAL], want, f"{name}: {LAND_FINAL} vs CP-1.T1 {y1}")
                    check(tot[TOTAL], total[y1], f"{name}: total area vs CP-1.T1 {y1}")
            elif tid.startswith("SO1-2"):
                y = int(g[LC_YEAR].iloc[0])
                lrow = g[g[row_label] == LAND_ROW].iloc[0]
                if (want := land_of(y, name)) is not None:
                    check(lrow[TOTAL], want, f"{name}: {LAND_ROW} vs CP-1.T1 {y}")
                    check(tot[TOTAL], total[y], f"{name}: total area vs CP-1.T1 {y}")
            else:
                y = int(g[LC_YEAR].iloc[0])
                if (want := land_of(y, name)) is not None:
                    check(tot[TOTAL], want, f"{name}: Total vs CP-1.T1 land {y}")
    df = t.get("SO1-1.T1")
    if df is not None and len(df) >= 3:
        years = df.attrs.get("land_cover_year", {})
        deg, notdeg, lrow = (df.iloc[k] for k in (-3, -2, -1))
        for p, y in years.items():
            c = f"{p} (km²)"
            check(deg[c] + notdeg[c], lrow[c], f"SO1-1.T1 {p}: degraded + not degraded vs land")
            if (want := land_of(y, f"SO1-1.T1 {p}")) is not None:
                check(lrow[c], want, f"SO1-1.T1 {p}: total land area vs CP-1.T1 {y}")
    df = t.get("SO1-4.change")
    if df is not None:
        for _, r in df.iterrows():
            for k in ("Baseline", "Period"):
                y = r[f"{k} land-cover year"]
                if (want := land_of(y, f"SO1-4.change {r['Period']}")) is not None:
                    check(r[f"{k} total land area (km²)"], want, f"SO1-4.change {r['Period']}: {k} land")
    return out


def reconciliation_problems(tables: Mapping[str, Mapping[str, pd.DataFrame]], rel: float = 1e-9) -> list[str]:
    """Check that the areas of the SO1 / CP-1 tables reconcile; return the problems (empty: all good).

    In every scope: CP-1.T1 land + water + no data = total area; in the class tables (SO1-1.T7,
    SO1-2.T3, SO1-3.T2, SO1-4.T1) the classes of each period add up to its total land area, which
    equals CP-1.T1's total land area of the year in ``Land-cover year``; SO1-4.T2 and the change
    assessment use those same totals; SO1-1.T4's classes add up to the total and its land subtotal
    equals CP-1.T1 per year; the matrices (SO1-1.T5/T6, SO1-2.T1/T2, change cross-table) add up by
    rows and columns and their land subtotals equal CP-1.T1 of their initial/final year; SO1-1.T1's
    degraded + not degraded land equals the final year's land. ``rel`` is the relative tolerance
    (sums taken in different orders differ in the last bits).

    Example
    -------
    >>> assert not reconciliation_problems(compute_tables(inputs))      # doctest: +SKIP
    """
    out: list[str] = []
    for scope, t in tables.items():
        try:
            out += _scope_problems(scope, t, rel)
        except (KeyError, IndexError) as e:  # a table without its total row/column
            out.append(f"{scope}: cannot check, a table lacks the total {e}")
    return out
