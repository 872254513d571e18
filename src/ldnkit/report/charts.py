"""Charts of the PRAIS tables of a run (matplotlib, Agg backend, no pyplot state).

Every function takes the tables of ONE scope as stored in summary.json
(``{table id: {"title", "columns", "records"}}``) and returns a :class:`matplotlib.figure.Figure`,
or ``None`` when the table it needs is absent (the report then leaves the chart out).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from ldnkit import codes  # noqa: E402

__all__ = [
    "table_frame",
    "land_cover_areas",
    "land_cover_change_matrix",
    "lpd_by_land_cover",
    "degradation_by_subindicator",
    "drought_classes",
    "population_exposed",
    "balance_sheet",
]

ScopeTables = Mapping[str, Mapping[str, Any]]
_EDGE = "#8a8a8a"  # bar edges, so white / pale classes stay visible
_GRID = {"color": "#dddddd", "linewidth": 0.6}


def table_frame(tables: ScopeTables, tid: str) -> pd.DataFrame | None:
    """Table ``tid`` of one scope as a DataFrame (columns in their stored order), or ``None``."""
    t = tables.get(tid)
    if not t or not t.get("records"):
        return None
    return pd.DataFrame.from_records(t["records"], columns=t.get("columns"))


def _fig(w: float = 7.0, h: float = 3.8) -> Figure:
    return Figure(figsize=(w, h), dpi=100, layout="constrained")


def _thousands(v: float, _pos: Any = None) -> str:
    return f"{v:,.0f}"


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8)


def _class_rows(df: pd.DataFrame, legend: codes.Legend, code_col: str = "Code") -> pd.DataFrame:
    """Rows whose code is a class of ``legend`` (no "No data", no "Total"), in legend order."""
    d = df[df[code_col].isin(legend.codes)].copy()
    d["_order"] = d[code_col].map({c: i for i, c in enumerate(legend.codes)})
    return d.sort_values("_order")


def _year_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if str(c).isdigit()]


def land_cover_areas(tables: ScopeTables) -> Figure | None:
    """Land-cover area (km²) by UNCCD class for each land-cover year (SO1-1.T4), stacked bars."""
    df = table_frame(tables, "SO1-1.T4")
    if df is None:
        return None
    d = _class_rows(df, codes.LAND_COVER)
    years = _year_columns(df)
    if not years or d.empty:
        return None
    fig = _fig(7.0, 3.6)
    ax = fig.add_subplot()
    series = [(int(row["Code"]), [float(row[y] or 0.0) for y in years]) for _, row in d.iterrows()]
    _stacked_bars(ax, years, series, codes.LAND_COVER, width=0.6)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_ylabel("km²", fontsize=9)
    ax.set_title("Land-cover area by class", fontsize=10.5, loc="left", fontweight="bold")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, reverse=True)
    ax.grid(axis="y", **_GRID)
    _style(ax)
    return fig


def _matrix_signs(tables: ScopeTables) -> np.ndarray:
    """7 x 7 signs (+1 improvement, -1 degradation, 0 stable) of the national transition matrix
    (SO1-1.T3), else the UNCCD default."""
    df = table_frame(tables, "SO1-1.T3")
    signs = np.array(codes.DEFAULT_TRANSITION_MATRIX, dtype=int)
    if df is None:
        return signs
    if "Matrix" in df.columns:
        nat = df[df["Matrix"] == "national"]
        df = nat if not nat.empty else df
    names = list(codes.LAND_COVER.names)
    sym = {"+": 1, "-": -1, "0": 0}
    for _, row in df.iterrows():
        if row.get("Initial class") not in names:
            continue
        i = names.index(row["Initial class"])
        for j, n in enumerate(names):
            if n in row and str(row[n]) in sym:
                signs[i, j] = sym[str(row[n])]
    return signs


def land_cover_change_matrix(tables: ScopeTables, period: str = "baseline") -> Figure | None:
    """Heat map of the land-cover change matrix (km²; rows initial class, columns final class) of
    ``period`` (SO1-1.T5 for the baseline, SO1-1.T6 for a reporting period). Cells the transition
    matrix calls degradation are framed red, improvement green."""
    df = None
    for tid in ("SO1-1.T5", "SO1-1.T6"):
        t = table_frame(tables, tid)
        if t is not None and "Period" in t.columns and (t["Period"] == period).any():
            df = t[t["Period"] == period]
            break
    if df is None:
        return None
    d = _class_rows(df, codes.LAND_COVER)
    names = list(codes.LAND_COVER.names)
    m = np.array([[float(r.get(n) or 0.0) for n in names] for _, r in d.iterrows()])
    rows = [codes.LAND_COVER.name_of(int(c)) for c in d["Code"]]
    if m.size == 0:
        return None
    fig = _fig(7.0, 5.0)
    ax = fig.add_subplot()
    positive = m[m > 0]
    vmin = max(float(positive.min()) if positive.size else 1.0, float(m.max()) * 1e-4, 1e-6)
    vmax = max(float(m.max()), vmin * 10)
    im = ax.imshow(np.where(m > 0, m, np.nan), cmap="Blues", norm=LogNorm(vmin=vmin, vmax=vmax))
    signs = _matrix_signs(tables)
    row_idx = [names.index(r) for r in rows]
    for i, ri in enumerate(row_idx):
        for j in range(len(names)):
            v = m[i, j]
            if v > 0:
                dark = math.log(v / vmin) > 0.6 * math.log(vmax / vmin)
                ax.text(
                    j,
                    i,
                    f"{v:,.1f}" if v < 100 else f"{v:,.0f}",
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="white" if dark else "#222222",
                )
            s = signs[ri, j]
            if s and v > 0:
                ax.add_patch(
                    matplotlib.patches.Rectangle(
                        (j - 0.46, i - 0.46),
                        0.92,
                        0.92,
                        fill=False,
                        lw=1.8,
                        edgecolor=codes.DEGRADATION.colour_of(codes.DEGRADED if s < 0 else codes.IMPROVED),
                    )
                )
    short = [n.replace(" areas", "").replace(" surfaces", "").replace(" bodies", "") for n in names]
    ax.set_xticks(range(len(names)), short, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [short[i] for i in row_idx], fontsize=8)
    ax.set_xlabel("Final class", fontsize=9)
    ax.set_ylabel("Initial class", fontsize=9)
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label("km² (log scale)", fontsize=8)
    cb.ax.tick_params(labelsize=7.5)
    ax.set_title(f"Land-cover change matrix, {period} (km²)", fontsize=10.5, loc="left", fontweight="bold")
    ax.text(
        0.0,
        -0.28,
        "red frame: degradation, green frame: improvement (transition matrix)",
        transform=ax.transAxes,
        fontsize=7.5,
        color="#555555",
    )
    return fig


def lpd_by_land_cover(tables: ScopeTables, period: str = "baseline") -> Figure | None:
    """Land productivity dynamics classes (km²) within each land-cover class for ``period``
    (SO1-2.T1 / SO1-2.T2), horizontal stacked bars in the LPD colours."""
    df = None
    for tid in ("SO1-2.T1", "SO1-2.T2"):
        t = table_frame(tables, tid)
        if t is not None and "Period" in t.columns and (t["Period"] == period).any():
            df = t[t["Period"] == period]
            break
    if df is None:
        return None
    d = _class_rows(df, codes.LAND_COVER)
    d = d[d["Code"] != codes.WATER]  # LPD is a land measure: water bodies only add a no-data bar
    if d.empty:
        return None
    fig = _fig(7.0, 3.6)
    ax = fig.add_subplot()
    labels = [codes.LAND_COVER.name_of(int(c)) for c in d["Code"]][::-1]
    left = np.zeros(len(labels))
    for code, name, colour in zip(codes.LPD.codes, codes.LPD.names, codes.LPD.colours, strict=True):
        if name not in d.columns:
            continue
        vals = np.array([float(v or 0.0) for v in d[name]])[::-1]
        ax.barh(labels, vals, left=left, color=colour, edgecolor=_EDGE, linewidth=0.5, label=name)
        left += vals
        del code
    if "No data" in d.columns:
        vals = np.array([float(v or 0.0) for v in d["No data"]])[::-1]
        if vals.sum() > 0:
            ax.barh(labels, vals, left=left, color="#cccccc", edgecolor=_EDGE, linewidth=0.5, label="No data")
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel("km²", fontsize=9)
    ax.set_title(
        f"Land productivity dynamics by land-cover class, {period}",
        fontsize=10.5,
        loc="left",
        fontweight="bold",
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="x", **_GRID)
    _style(ax)
    return fig


def _three_class(df: pd.DataFrame | None, period: str) -> dict[int, float] | None:
    if df is None or "Period" not in df.columns:
        return None
    d = df[(df["Period"] == period) & df["Code"].isin(codes.DEGRADATION.codes)]
    if "Status" in d.columns:
        d = d[d["Status"].astype(str).str.startswith("Status (3")]
    if d.empty:
        return None
    col = "% of total land area" if "% of total land area" in d.columns else "Area (km²)"
    return {int(r["Code"]): float(r[col] or 0.0) for _, r in d.iterrows()}


def degradation_shares(tables: ScopeTables) -> list[tuple[str, str, dict[int, float]]]:
    """``[(period, sub-indicator, {code: % of land})]`` for every period and sub-indicator present
    (land cover SO1-1.T7, productivity SO1-2.T3, SOC SO1-3.T2, the indicator: status SO1-4.T1 for the
    reporting periods, the baseline 1OAO from SO1-4.change_crosstab)."""
    subs = [
        ("Land cover", "SO1-1.T7"),
        ("Land productivity", "SO1-2.T3"),
        ("Soil organic carbon", "SO1-3.T2"),
    ]
    frames = {tid: table_frame(tables, tid) for _, tid in subs}
    status = table_frame(tables, "SO1-4.T1")
    periods: list[str] = []
    for f in [*frames.values(), status]:
        if f is not None and "Period" in f.columns:
            periods += [p for p in f["Period"].astype(str).unique() if p not in periods]
    out = []
    cross = table_frame(tables, "SO1-4.change_crosstab")
    for p in periods:
        for label, tid in subs:
            shares = _three_class(frames[tid], p)
            if shares:
                out.append((p, label, shares))
        shares = _three_class(status, p)
        if shares is None and cross is not None and "Baseline" in cross.columns and p == "baseline":
            first = cross[cross["Period"] == cross["Period"].iloc[0]]
            d = first[first["Code"].isin(codes.DEGRADATION.codes)]
            total = float(d["Total"].sum())
            if total > 0:
                shares = {int(r["Code"]): 100.0 * float(r["Total"]) / total for _, r in d.iterrows()}
        if shares:
            out.append((p, "SDG 15.3.1", shares))
    return out


def degradation_by_subindicator(tables: ScopeTables) -> Figure | None:
    """Share of land degraded / stable / improved for each sub-indicator and the indicator, per
    period (100 % stacked horizontal bars in the degradation colours)."""
    rows = degradation_shares(tables)
    if not rows:
        return None
    fig = _fig(7.0, 0.5 + 0.28 * len(rows) + 0.15 * len({p for p, _, _ in rows}))
    ax = fig.add_subplot()
    labels, ypos, y = [], [], 0.0
    last = None
    for p, sub, _ in rows:
        if last is not None and p != last:
            y += 0.6  # a gap between periods
        labels.append(f"{p} · {sub}")
        ypos.append(y)
        y += 1.0
        last = p
    ypos_a = -np.array(ypos)
    left = np.zeros(len(rows))
    for code in (codes.DEGRADED, codes.STABLE, codes.IMPROVED):
        vals = np.array([s.get(code, 0.0) for _, _, s in rows])
        ax.barh(
            ypos_a,
            vals,
            left=left,
            height=0.8,
            color=codes.DEGRADATION.colour_of(code),
            edgecolor=_EDGE,
            linewidth=0.5,
            label=codes.DEGRADATION.name_of(code),
        )
        for yy, lv, v in zip(ypos_a, left, vals, strict=True):
            if v >= 4:
                ax.text(
                    lv + v / 2,
                    yy,
                    f"{v:.1f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if code != codes.STABLE else "#333333",
                )
        left += vals
    ax.set_yticks(ypos_a, labels, fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of total land area (no data not shown)", fontsize=9)
    ax.set_title(
        "Degraded, stable and improved land, per period", fontsize=10.5, loc="left", fontweight="bold"
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    _style(ax)
    return fig


def _drought_bars(
    ax: Any, labels: Sequence[str], d: pd.DataFrame, key: str, value: str, classes: Sequence[int]
) -> None:
    series = []
    for code in classes:
        sub = d[d["Code"] == code].set_index(key)[value]
        series.append((code, [float(sub.get(k, 0.0) or 0.0) for k in labels]))
    _stacked_bars(ax, [str(k) for k in labels], series, codes.DROUGHT, width=0.7)


def _stacked_bars(
    ax: Any,
    x: Sequence[Any],
    series: Sequence[tuple[int, Sequence[float]]],
    legend: codes.Legend,
    width: float,
) -> None:
    """One bar per x, stacked by class in the order given, in the legend's colours and names."""
    bottom = np.zeros(len(x))
    for code, values in series:
        vals = np.asarray(values, dtype=np.float64)
        ax.bar(
            x,
            vals,
            bottom=bottom,
            color=legend.colour_of(code),
            edgecolor=_EDGE,
            linewidth=0.5,
            label=legend.name_of(code),
            width=width,
        )
        bottom += vals


def drought_classes(tables: ScopeTables) -> Figure | None:
    """% of land in each drought intensity class (mild to extreme), per year (SO3-1.T1)."""
    df = table_frame(tables, "SO3-1.T1")
    if df is None:
        return None
    years = list(dict.fromkeys(df["Year"].tolist()))
    fig = _fig(7.0, 3.4)
    ax = fig.add_subplot()
    _drought_bars(ax, years, df, "Year", "% of total land area", (1, 2, 3, 4))
    ax.set_ylabel("% of land", fontsize=9)
    ax.set_title(
        "Land under drought by intensity class (SPI), per year", fontsize=10.5, loc="left", fontweight="bold"
    )
    ax.tick_params(axis="x", rotation=90)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, reverse=True)
    ax.grid(axis="y", **_GRID)
    _style(ax)
    return fig


def population_exposed(tables: ScopeTables, population: str = "total") -> Figure | None:
    """People exposed to each drought intensity class (mild to extreme): per 4-year period by the
    period's highest intensity (SO3-2.periods), else per year (SO3-2.T1)."""
    df = table_frame(tables, "SO3-2.periods")
    key = "Period"
    if df is not None and "Population" in df.columns:
        df = df[df["Population"] == population]
    if df is None or df.empty:
        df, key = (
            table_frame(
                tables,
                {"total": "SO3-2.T1", "female": "SO3-2.T2", "male": "SO3-2.T3"}.get(population, "SO3-2.T1"),
            ),
            "Year",
        )
    if df is None or df.empty:
        return None
    labels = list(dict.fromkeys(df[key].tolist()))
    fig = _fig(7.0, 3.4)
    ax = fig.add_subplot()
    _drought_bars(ax, labels, df, key, "Population (persons)", (1, 2, 3, 4))
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_ylabel("persons", fontsize=9)
    what = "highest intensity of each period" if key == "Period" else "per year"
    ax.set_title(
        f"Population exposed to drought ({population}), {what}", fontsize=10.5, loc="left", fontweight="bold"
    )
    if key == "Year":
        ax.tick_params(axis="x", rotation=90)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, reverse=True)
    ax.grid(axis="y", **_GRID)
    _style(ax)
    return fig


def balance_sheet(tables: ScopeTables) -> Figure | None:
    """The LDN balance sheet (table LDN-2, if the run has it): gains, losses and the net balance per
    row (land type, region ...), as horizontal bars."""
    tid = next((t for t in tables if t == "LDN-2" or t.startswith("LDN-2.")), None)
    df = table_frame(tables, tid) if tid else None
    if df is None:
        return None
    label_col = next((c for c in df.columns if df[c].dtype == object), df.columns[0])
    numeric = [c for c in df.columns if c != label_col and pd.api.types.is_numeric_dtype(df[c])]
    wanted = [c for c in numeric if any(k in str(c).lower() for k in ("gain", "loss", "net", "balance"))]
    cols = wanted or numeric
    if not cols:
        return None
    d = df[~df[label_col].astype(str).str.lower().isin(["total"])] if len(df) > 1 else df
    labels = d[label_col].astype(str).tolist()[::-1]
    fig = _fig(7.0, 1.0 + 0.35 * len(labels) * max(1, len(cols)) / 2)
    ax = fig.add_subplot()
    h = 0.8 / len(cols)
    y = np.arange(len(labels))
    for k, c in enumerate(cols):
        name = str(c).lower()
        colour = (
            codes.GAINS_LOSSES.colour_of(codes.GAIN)
            if "gain" in name
            else codes.GAINS_LOSSES.colour_of(codes.LOSS)
            if "loss" in name
            else codes.QUALITATIVE_COLOURS[12 + k % 8]
        )
        vals = np.array([float(v or 0.0) for v in d[c]])[::-1]
        ax.barh(
            y + (k - (len(cols) - 1) / 2) * h,
            vals,
            height=h,
            color=colour,
            edgecolor=_EDGE,
            linewidth=0.5,
            label=str(c),
        )
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_title(f"LDN balance sheet ({tid})", fontsize=10.5, loc="left", fontweight="bold")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="x", **_GRID)
    _style(ax)
    return fig
