"""Voluntary LDN targets and their progress: a table like PRAIS SO1-VT.T1 (methodology §2.5).

Targets are evaluated from tables already computed — the LDN balance sheet
(:func:`ldnkit.indicators.neutrality.neutrality`) and the PRAIS SO1 tables
(:func:`ldnkit.tables.prais.compute_tables`: SO1-1.T4 land-cover extent per class and year,
SO1-4.T2 degraded area and % per period) — so no raster is read here.

Status of a target
------------------
* **achieved**: the current value meets the target (at the latest year assessed);
* **on track**: not achieved, but the progress from the base year to the latest year is at
  least proportional to the time elapsed: progress (%) ≥ (latest − base) / (target year − base) × 100,
  where progress (%) = (current − baseline value) / (target value − baseline value) × 100;
* **not on track**: otherwise (in particular when the target year has passed);
* **not assessable: <why>**: the inputs cannot answer (unknown scope, base year not among the
  table years, class without area in the base year ...). A malformed target (unknown kind,
  missing value) raises :class:`~ldnkit.errors.ConfigError` naming the target id instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ldnkit import codes
from ldnkit.codes import AOI_SCOPE
from ldnkit.errors import ConfigError
from ldnkit.indicators.neutrality import (
    ACHIEVED,
    ALL_LAND_TYPES,
    DELTA,
    GAINS,
    LAND_TYPE,
    SCOPE,
    TOTAL,
)

TABLE_ID = "SO1-VT.T1"
TITLE = "Voluntary LDN targets and progress"

NO_NET_LOSS = "no_net_loss"
MAX_DEGRADED_PERCENT = "max_degraded_percent"
LAND_COVER_CHANGE_PERCENT = "land_cover_change_percent"
RESTORE_KM2 = "restore_km2"
#: Target kinds and what they mean.
TARGET_KINDS: dict[str, str] = {
    NO_NET_LOSS: "ΔLDN ≥ 0 in every land type of the scope (balance sheet)",
    MAX_DEGRADED_PERCENT: "SDG 15.3.1 degraded land of the scope ≤ value % of total land area (SO1-4.T2)",
    LAND_COVER_CHANGE_PERCENT: (
        "area of land-cover class `land_cover` changes by ≥ value % from base_year to the latest "
        "year of SO1-1.T4 (value < 0: reduce by at least |value| %)"
    ),
    RESTORE_KM2: "improved area (expanded status 6 + 7) of the scope ≥ value km² (balance sheet)",
}

COLUMNS = [
    "Target",
    "Description",
    "Scope",
    "Kind",
    "Target year",
    "Base year",
    "Latest year",
    "Unit",
    "Baseline value",
    "Target value",
    "Current value",
    "Progress (%)",
    "Status",
    "Note",
]


@dataclass
class Target:
    """One voluntary LDN target (PRAIS SO1-VT.T1).

    kind : one of :data:`TARGET_KINDS` — "no_net_loss", "max_degraded_percent",
        "land_cover_change_percent", "restore_km2".
    year : the year by which the target is to be met.
    scope : "Area of interest" or a region name (as in the tables).
    land_cover : UNCCD class 1..7 (land_cover_change_percent only).
    base_year : year the progress is measured from (required for land_cover_change_percent;
        otherwise default: the end year of the baseline period).
    value : the target value (% or km², see the kind); not used by no_net_loss.

    Example
    -------
    >>> Target("VT2", "land_cover_change_percent", "+10 % tree cover in North by 2030 vs 2019",
    ...        2030, scope="North", land_cover=1, base_year=2019, value=10)    # doctest: +SKIP
    """

    id: str
    kind: str
    description: str
    year: int
    scope: str = AOI_SCOPE
    land_cover: int | None = None
    base_year: int | None = None
    value: float | None = None


def _validate(t: Target) -> None:
    where = f"neutrality.targets.{t.id}"
    if t.kind not in TARGET_KINDS:
        raise ConfigError(where, f"unknown target kind {t.kind!r}", f"use one of {', '.join(TARGET_KINDS)}")
    if t.kind != NO_NET_LOSS and (t.value is None or not math.isfinite(float(t.value))):
        raise ConfigError(where, f"kind {t.kind} needs a numeric value", "add value: <number>")
    if t.kind == LAND_COVER_CHANGE_PERCENT:
        if t.land_cover not in codes.LAND_COVER.codes:
            raise ConfigError(
                where,
                f"land_cover is {t.land_cover!r}",
                "give the UNCCD land-cover class 1..7 (1 tree-covered ... 7 water)",
            )
        if t.base_year is None:
            raise ConfigError(
                where, "kind land_cover_change_percent needs base_year", "add base_year: <year>"
            )
    try:
        int(t.year)
    except (TypeError, ValueError):
        raise ConfigError(where, f"year is {t.year!r}", "give the target year, e.g. 2030") from None


def _end_year(text) -> int | None:
    """Last 4-digit year in e.g. "2015-2023" (None if there is none)."""
    years = re.findall(r"\d{4}", str(text))
    return int(years[-1]) if years else None


def _is_baseline(row: pd.Series) -> bool:
    return str(row.get("Kind", "")) == "baseline" or str(row.get("Period", "")) == "baseline"


def _period_years(
    tables: Mapping[str, Mapping[str, pd.DataFrame]], period: str
) -> tuple[int | None, int | None]:
    """(end year of the baseline, end year of ``period``) from SO1-4.T2, else from the period name."""
    base = latest = None
    t2 = tables.get(AOI_SCOPE, {}).get("SO1-4.T2")
    if t2 is not None and not t2.empty:
        for _, r in t2.iterrows():
            if _is_baseline(r):
                base = _end_year(r.get("Land cover years", ""))
            if str(r["Period"]) == str(period):
                latest = _end_year(r.get("Land cover years", ""))
    if latest is None:
        latest = _end_year(period)
    return base, latest


class _NotAssessable(Exception):
    pass


def _status(achieved: bool, progress: float, base: int | None, latest: int | None, year: int) -> str:
    if achieved:
        return "achieved"
    if base is None or latest is None:
        raise _NotAssessable("base or latest year unknown (give base_year)")
    if year <= base:
        raise _NotAssessable(f"target year {year} is not after the base year {base}")
    elapsed = min(max((latest - base) / (year - base), 0.0), 1.0) * 100.0
    return "on track" if progress >= elapsed else "not on track"


def _progress(current: float, baseline: float, target: float, achieved: bool) -> float:
    """(current − baseline) / (target − baseline) × 100; 100/0 when target equals baseline."""
    if target == baseline:
        return 100.0 if achieved else 0.0
    return (current - baseline) / (target - baseline) * 100.0


def _balance_scope(balance: pd.DataFrame, scope: str) -> pd.DataFrame:
    sub = balance[balance[SCOPE] == scope]
    if sub.empty:
        known = ", ".join(dict.fromkeys(balance[SCOPE].astype(str)))
        raise _NotAssessable(f"scope {scope!r} is not in the balance sheet (scopes: {known})")
    return sub


def _scope_table(tables, scope: str, tid: str) -> pd.DataFrame:
    if scope not in tables:
        raise _NotAssessable(f"scope {scope!r} is not in the tables (scopes: {', '.join(tables)})")
    if tid not in tables[scope]:
        raise _NotAssessable(f"table {tid} is missing")
    return tables[scope][tid]


def _no_net_loss(t: Target, balance, base, latest) -> dict:
    sub = _balance_scope(balance, t.scope)
    types = sub[sub[LAND_TYPE] != ALL_LAND_TYPES]
    if types.empty:
        raise _NotAssessable(f"no land type in scope {t.scope!r}")
    achieved = bool(types[ACHIEVED].all())
    current = float(types[DELTA].min())
    total = float(types[TOTAL].sum())
    ok_area = float(types.loc[types[ACHIEVED], TOTAL].sum())
    losing = types.loc[~types[ACHIEVED], LAND_TYPE].tolist()
    return {
        "Base year": base,
        "Latest year": latest,
        "Unit": "km² (smallest ΔLDN of a land type)",
        "Baseline value": 0.0,
        "Target value": 0.0,
        "Current value": current,
        # Neutrality is binary per land type: progress = share of the area in types that achieve it.
        "Progress (%)": ok_area / total * 100.0 if total > 0 else float("nan"),
        "Status": "achieved" if achieved else "not on track",
        "Note": (
            "ΔLDN ≥ 0 in every land type"
            if achieved
            else f"net loss in land type(s) {', '.join(map(str, losing))}; progress = % of the area in "
            "land types with ΔLDN ≥ 0"
        ),
    }


def _max_degraded(t: Target, tables, period: str, base_default, latest_default) -> dict:
    t2 = _scope_table(tables, t.scope, "SO1-4.T2")
    pct = "% of total land area"
    cur = t2[t2["Period"].astype(str) == str(period)]
    if cur.empty:
        raise _NotAssessable(f"period {period!r} is not in SO1-4.T2")
    ends = {_end_year(r.get("Land cover years", "")): r for _, r in t2.iterrows()}
    if t.base_year is None:
        brows = [r for _, r in t2.iterrows() if _is_baseline(r)]
        if not brows:
            raise _NotAssessable("no baseline row in SO1-4.T2")
        brow = brows[0]
    elif int(t.base_year) in ends:
        brow = ends[int(t.base_year)]
    else:
        known = ", ".join(str(y) for y in ends if y is not None)
        raise _NotAssessable(f"base year {t.base_year} is not the end year of a period of SO1-4.T2 ({known})")
    base = _end_year(brow.get("Land cover years", ""))
    latest = _end_year(cur.iloc[0].get("Land cover years", "")) or latest_default
    b, c, v = float(brow[pct]), float(cur.iloc[0][pct]), float(t.value)
    if not (math.isfinite(b) and math.isfinite(c)):
        raise _NotAssessable("no degraded share in SO1-4.T2 (no land area?)")
    achieved = c <= v
    # Already at or below the limit at the base year: nothing to progress towards.
    progress = (100.0 if achieved else 0.0) if b <= v else _progress(c, b, v, achieved)
    return {
        "Base year": base,
        "Latest year": latest,
        "Unit": pct,
        "Baseline value": b,
        "Target value": v,
        "Current value": c,
        "Progress (%)": progress,
        "Status": _status(achieved, progress, base, latest, int(t.year)),
        "Note": f"degraded {float(cur.iloc[0]['Degraded area (km²)']):.6g} km² in period {period}",
    }


def _lc_change(t: Target, tables) -> dict:
    t4 = _scope_table(tables, t.scope, "SO1-1.T4")
    years = sorted(int(c) for c in t4.columns if str(c).isdigit())
    base = int(t.base_year)
    if base not in years:
        raise _NotAssessable(f"base year {base} is not a year of SO1-1.T4 ({', '.join(map(str, years))})")
    latest = years[-1]
    if latest <= base:
        raise _NotAssessable(f"no land-cover year after the base year {base}")
    row = t4[t4["Code"] == t.land_cover]
    if row.empty:
        raise _NotAssessable(f"land-cover class {t.land_cover} is not in SO1-1.T4")
    a0 = float(row.iloc[0][_col(t4, base)])
    a1 = float(row.iloc[0][_col(t4, latest)])
    name = codes.LAND_COVER.name_of(int(t.land_cover))
    if not a0 > 0:
        raise _NotAssessable(f"{name} has no area in {base}")
    change = (a1 - a0) / a0 * 100.0
    v = float(t.value)
    achieved = change >= v if v >= 0 else change <= v
    progress = _progress(change, 0.0, v, achieved)
    return {
        "Base year": base,
        "Latest year": latest,
        "Unit": f"% change of {name} area",
        "Baseline value": 0.0,
        "Target value": v,
        "Current value": change,
        "Progress (%)": progress,
        "Status": _status(achieved, progress, base, latest, int(t.year)),
        "Note": f"{name}: {a0:.6g} km² in {base}, {a1:.6g} km² in {latest}",
    }


def _col(df: pd.DataFrame, year: int):
    return next(c for c in df.columns if str(c) == str(year))


def _restore(t: Target, balance, base, latest) -> dict:
    sub = _balance_scope(balance, t.scope)
    all_row = sub[sub[LAND_TYPE] == ALL_LAND_TYPES]
    current = float(all_row.iloc[0][GAINS]) if not all_row.empty else float(sub[GAINS].sum())
    v = float(t.value)
    achieved = current >= v
    progress = _progress(current, 0.0, v, achieved)
    if t.base_year is not None:
        base = int(t.base_year)
    return {
        "Base year": base,
        "Latest year": latest,
        "Unit": "km² improved (status 6 + 7)",
        "Baseline value": 0.0,
        "Target value": v,
        "Current value": current,
        "Progress (%)": progress,
        "Status": _status(achieved, progress, base, latest, int(t.year)),
        "Note": "gains counted against the baseline",
    }


def evaluate_targets(
    targets: Sequence[Target],
    *,
    balance: pd.DataFrame,
    tables: Mapping[str, Mapping[str, pd.DataFrame]],
    period: str,
) -> pd.DataFrame:
    """Progress of voluntary LDN targets: a table like PRAIS SO1-VT.T1.

    Parameters
    ----------
    targets : the targets (validated first: an unknown kind, a missing value, a bad land-cover
        class or a land_cover_change_percent without base_year raise ConfigError naming the id).
    balance : the balance sheet of ``period`` (:func:`ldnkit.indicators.neutrality.neutrality`).
    tables : ``{scope: {table id: DataFrame}}`` from :func:`ldnkit.tables.prais.compute_tables`.
    period : the reporting period assessed (a "Period" of SO1-4.T2, e.g. "2016-2023").

    What each kind reads (base year default = end year of the baseline's land-cover years in
    SO1-4.T2, e.g. 2015; latest year = end year of ``period``'s land-cover years, e.g. 2023):

    * ``no_net_loss`` — balance sheet rows of the scope. Current value = the smallest ΔLDN of a
      land type (km²), target 0; achieved iff ΔLDN ≥ 0 in every land type, otherwise
      "not on track" (a net loss remains to be counterbalanced); progress = % of the scope's
      area in land types with ΔLDN ≥ 0.
    * ``max_degraded_percent`` — SO1-4.T2 "% of total land area": baseline value = the baseline
      row (or the period ending in ``base_year``), current = ``period``'s row; achieved iff
      current ≤ value; progress = (baseline − current) / (baseline − value) × 100.
    * ``land_cover_change_percent`` — SO1-1.T4 areas of ``land_cover``: current =
      (area(latest year) − area(base_year)) / area(base_year) × 100 with the latest year of the
      table; achieved iff current ≥ value (value ≥ 0) or ≤ value (value < 0, "reduce by");
      progress = current / value × 100.
    * ``restore_km2`` — balance sheet "Gains (km²)" (status 6 + 7) of the scope's "All land
      types" row; achieved iff ≥ value; progress = gains / value × 100.

    Status: "achieved"; "on track" if progress (%) ≥ (latest − base) / (target year − base) × 100;
    "not on track"; or "not assessable: <why>" (unknown scope, period or base year, no area ...).

    Returns
    -------
    DataFrame with "Target", "Description", "Scope", "Kind", "Target year", "Base year",
    "Latest year", "Unit", "Baseline value", "Target value", "Current value", "Progress (%)",
    "Status", "Note"; ``attrs["title"]``, ``attrs["id"] = "SO1-VT.T1"``.

    Example
    -------
    A target of at most 12 % degraded land by 2030, with 15 % at the 2015 baseline and 13.5 % in
    2023: progress = (15 − 13.5) / (15 − 12) × 100 = 50 % < time elapsed
    (2023 − 2015) / (2030 − 2015) × 100 = 53.3 %, so "not on track".

    >>> evaluate_targets([Target("VT1", "no_net_loss", "LDN by 2030", 2030)],
    ...                  balance=bs, tables=tables, period="2016-2023")    # doctest: +SKIP
    """
    for t in targets:
        _validate(t)
    base, latest = _period_years(tables, period)
    rows = []
    for t in targets:
        row = {
            "Target": t.id,
            "Description": t.description,
            "Scope": t.scope,
            "Kind": t.kind,
            "Target year": int(t.year),
        }
        try:
            if t.kind == NO_NET_LOSS:
                row.update(_no_net_loss(t, balance, base, latest))
            elif t.kind == MAX_DEGRADED_PERCENT:
                row.update(_max_degraded(t, tables, period, base, latest))
            elif t.kind == LAND_COVER_CHANGE_PERCENT:
                row.update(_lc_change(t, tables))
            else:
                row.update(_restore(t, balance, base, latest))
        except _NotAssessable as e:
            row.update(
                {
                    "Target value": None if t.value is None else float(t.value),
                    "Status": f"not assessable: {e}",
                }
            )
        rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs = {
        "id": TABLE_ID,
        "title": TITLE,
        "period": str(period),
        "on_track_rule": "progress % >= (latest - base) / (target year - base) x 100",
        "kinds": dict(TARGET_KINDS),
    }
    return df
