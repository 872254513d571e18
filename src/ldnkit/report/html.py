"""``report.html``: one self-contained file (PNG images inline as base64, CSS inline, no script,
no external font) built from a run folder only: summary.json, layers/**.tif and the optional
boundaries.gpkg.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from ldnkit import codes  # noqa: E402
from ldnkit.codes import AOI_SCOPE  # noqa: E402
from ldnkit.errors import InputError  # noqa: E402
from ldnkit.report import charts  # noqa: E402
from ldnkit.report.footprint import footprint_section  # noqa: E402
from ldnkit.report.map_sections import map_sections  # noqa: E402
from ldnkit.report.maps import png_uri, read_boundaries  # noqa: E402

__all__ = ["write_report", "load_summary", "compute_warnings", "headline", "REPORT_NAME"]

REPORT_NAME = "report.html"
#: Prefixes of table ids, in the order the report shows them (ids not listed come last, sorted).
TABLE_GROUPS: tuple[str, ...] = (
    "CP-",
    "SO1-1.",
    "SO1-2.",
    "SO1-3.",
    "SO1-4.",
    "SO1-VT",
    "LDN-",
    "SO2-",
    "SO3-",
)


# ------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------


def load_summary(run_dir: str | os.PathLike) -> dict[str, Any]:
    """summary.json of ``run_dir``; :class:`InputError` when ``run_dir`` is not a run folder."""
    run = Path(run_dir)
    p = run / "summary.json"
    if not run.is_dir():
        raise InputError(str(run), "is not a folder", "give the output folder of a run (ldnkit run CONFIG)")
    if not p.exists():
        raise InputError(
            str(run), "is not an ldnkit run folder (no summary.json)", "give the output folder of a run"
        )
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(str(p), f"is not valid JSON ({exc})", "re-run the pipeline") from None


def _scopes(summary: Mapping[str, Any]) -> list[str]:
    tables = summary.get("tables") or {}
    return ([AOI_SCOPE] if AOI_SCOPE in tables else []) + [s for s in tables if s != AOI_SCOPE]


def _period_names(summary: Mapping[str, Any]) -> list[str]:
    return [str(p["name"]) for p in summary.get("periods") or [] if "name" in p]


# ------------------------------------------------------------------------------------------------
# headline figures
# ------------------------------------------------------------------------------------------------


def headline(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per scope (area of interest first, then the regions): ``{"scope", "periods": [{"name", "kind",
    "percent", "km2", "change_pp", "confidence"}], "land_km2"}`` from SO1-4.T2 and SO1-4.change."""
    out = []
    for scope in _scopes(summary):
        t = summary["tables"][scope]
        df = charts.table_frame(t, "SO1-4.T2")
        if df is None:
            continue
        change = charts.table_frame(t, "SO1-4.change")
        pp = {}
        if change is not None:
            pp = {str(r["Period"]): r.get("Change (percentage points)") for _, r in change.iterrows()}
        base = next((r for _, r in df.iterrows() if r.get("Kind") == "baseline"), None)
        periods = []
        for _, r in df.iterrows():
            pct = _num(r.get("% of total land area"))
            ch = _num(pp.get(str(r["Period"])))
            if ch is None and base is not None and r.get("Kind") != "baseline" and pct is not None:
                b = _num(base.get("% of total land area"))
                ch = None if b is None else pct - b
            periods.append(
                {
                    "name": str(r["Period"]),
                    "kind": str(r.get("Kind", "")),
                    "percent": pct,
                    "km2": _num(r.get("Degraded area (km²)")),
                    "land_km2": _num(r.get("Total land area (km²)")),
                    "change_pp": ch,
                    "confidence": r.get("Confidence"),
                }
            )
        out.append({"scope": scope, "periods": periods})
    return out


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def headline_chart(rows: list[dict[str, Any]]) -> Figure | None:
    """Grouped bars: % of land degraded per period (bars) and scope (groups)."""
    if not rows:
        return None
    periods = list(dict.fromkeys(p["name"] for r in rows for p in r["periods"]))
    fig = Figure(figsize=(7.0, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    w = 0.8 / max(len(periods), 1)
    palette = ["#7f7f7f", "#d6604d", "#b2182b", "#67001f", "#f4a582", "#fddbc7"]
    for k, p in enumerate(periods):
        vals = [next((q["percent"] for q in r["periods"] if q["name"] == p), None) for r in rows]
        v = np.array([np.nan if q is None else q for q in vals], dtype=float)
        bars = ax.bar(
            x + (k - (len(periods) - 1) / 2) * w,
            v,
            width=w,
            label=p,
            color=palette[k % len(palette)],
            edgecolor="white",
            linewidth=0.5,
        )
        for b, val in zip(bars, v, strict=True):
            if np.isfinite(val):
                ax.text(
                    b.get_x() + b.get_width() / 2, val, f"{val:.1f}", ha="center", va="bottom", fontsize=7
                )
    ax.set_xticks(x, [r["scope"] for r in rows], fontsize=8.5)
    # decimals follow the axis span, so small shares do not repeat labels ("0 % 0 % 1 % 1 %")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=None))
    ax.set_ylabel("land degraded", fontsize=9)
    ax.set_title("Proportion of land degraded (SDG 15.3.1)", fontsize=10.5, loc="left", fontweight="bold")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8)
    return fig


# ------------------------------------------------------------------------------------------------
# warnings
# ------------------------------------------------------------------------------------------------


def _mean_pixel_km2(summary: Mapping[str, Any]) -> float | None:
    g = summary.get("grid") or {}
    try:
        w, h = int(g["width"]), int(g["height"])
        t = [float(v) for v in g["transform"]]
    except (KeyError, TypeError, ValueError):
        return None
    if g.get("geographic"):
        from ldnkit.area import strip_area

        top = t[5]
        bottom = top + t[4] * h
        return float(strip_area(bottom, top, abs(t[0]) * w)) / 1e6 / (w * h)
    return abs(t[0] * t[4]) / 1e6  # projected units are metres for every CRS the pipeline accepts


Finding = dict[str, str]


def _warning(level: str, scope: str, text: str) -> Finding:
    return {"level": level, "scope": scope, "text": text}


def _change_warnings(scope: str, sdg: Any) -> list[Finding]:
    """More than 5 percentage points of degraded land between two periods (SO1-4.T2); figures whose
    confidence is 'not assessed'."""
    out = []
    pcts = [(str(r["Period"]), _num(r.get("% of total land area"))) for _, r in sdg.iterrows()]
    pcts = [(p, v) for p, v in pcts if v is not None]
    for (p0, v0), (p1, v1) in zip(pcts, pcts[1:], strict=False):
        if abs(v1 - v0) > 5.0:
            text = (
                f"Degraded land changes by {v1 - v0:+.1f} percentage points from "
                f"{p0} ({v0:.1f} %) to {p1} ({v1:.1f} %): check that the change is real."
            )
            out.append(_warning("warning", scope, text))
    if len(pcts) > 2:  # every reporting period against the baseline too
        p0, v0 = pcts[0]
        for p1, v1 in pcts[2:]:
            if abs(v1 - v0) > 5.0:
                text = f"Degraded land changes by {v1 - v0:+.1f} percentage points between {p0} and {p1}."
                out.append(_warning("warning", scope, text))
    not_assessed = any(
        str(r.get("Confidence", "")).strip().lower() == "not assessed" for _, r in sdg.iterrows()
    )
    if not_assessed and scope == AOI_SCOPE:
        text = (
            "The confidence of the SDG 15.3.1 figures is 'not assessed': set and justify "
            "periods.<period>.confidence (high, medium or low) before reporting."
        )
        out.append(_warning("note", scope, text))
    return out


def _small_region_warning(scope: str, land: float, aoi_land: float | None, px: float | None) -> list[Finding]:
    """A region with less than 1 % of the area of interest's land or fewer than 50 pixels."""
    small = []
    if aoi_land and land < 0.01 * aoi_land:
        small.append(f"{100 * land / aoi_land:.2f} % of the area of interest's land")
    if px and land / px < 50:
        small.append(f"about {land / px:.0f} pixels")
    if not small:
        return []
    text = f"Region {scope} is small ({' and '.join(small)}): its percentages rest on few pixels."
    return [_warning("warning", scope, text)]


def _small_class_notes(scope: str, lc: Any, land: float, px: float | None) -> list[Finding]:
    """Land-cover classes (SO1-1.T4) with less than 1 % of the land or fewer than 50 pixels."""
    out = []
    for _, r in lc[lc["Code"].isin(codes.LAND_COVER.codes)].iterrows():
        for y in [c for c in lc.columns if str(c).isdigit()]:
            a = _num(r.get(y)) or 0.0
            if a <= 0:
                continue
            reasons = []
            if a < 0.01 * land:
                reasons.append(f"{100 * a / land:.2f} % of the land")
            if px and a / px < 50:
                reasons.append(f"about {a / px:.0f} pixels")
            if reasons:
                text = (
                    f"Land-cover class {r['Land cover class']} covers only "
                    f"{' / '.join(reasons)} in {y}: its statistics are fragile."
                )
                out.append(_warning("note", scope, text))
                break
    return out


def _missing_data_warnings(scope: str, t: Mapping[str, Any]) -> list[Finding]:
    """A sub-indicator without data on more than 10 % of the land."""
    out = []
    for tid, label in (
        ("SO1-1.T7", "land cover"),
        ("SO1-2.T3", "land productivity"),
        ("SO1-3.T2", "soil organic carbon"),
    ):
        df = charts.table_frame(t, tid)
        if df is None or "Code" not in df.columns:
            continue
        for _, r in df[df["Code"] == codes.NODATA].iterrows():
            v = _num(r.get("% of total land area"))
            if v is not None and v > 10.0:
                text = f"The {label} sub-indicator has no data on {v:.1f} % of the land in {r.get('Period')}."
                out.append(_warning("warning", scope, text))
    return out


def _correction_notes(scope: str, t: Mapping[str, Any]) -> list[Finding]:
    corr = next((tid for tid in t if tid.startswith("SO1-4.T3")), None)
    df = charts.table_frame(t, corr) if corr else None
    if df is None or not len(df):
        return []
    text = (
        f"False-positive / false-negative corrections were applied ({corr}, {len(df)} rows): see the table."
    )
    return [_warning("note", scope, text)]


def _run_notes(summary: Mapping[str, Any]) -> list[Finding]:
    """The periods' own notes and the stages' one-line warnings (``summary["warnings"]``)."""
    out = [
        _warning("note", AOI_SCOPE, f"{p.get('name')}: {n}")
        for p in summary.get("periods") or []
        for n in p.get("notes") or []
    ]
    stage_warnings = summary.get("warnings") or []
    if isinstance(stage_warnings, Mapping):  # older run folders: {what: text}
        stage_warnings = [f"{k}: {v}" for k, v in stage_warnings.items()]
    out += [_warning("warning", AOI_SCOPE, str(v)) for v in stage_warnings]
    return out


def compute_warnings(summary: Mapping[str, Any]) -> list[dict[str, str]]:
    """Things a reviewer should look at, as ``[{"level": "warning"|"note", "scope", "text"}]``.

    - the degraded share changes by more than 5 percentage points between two periods;
    - a land-cover class or a region covers fewer than 50 pixels or less than 1 % of the land;
    - a sub-indicator has more than 10 % of the land without data;
    - an SDG 15.3.1 figure whose confidence is "not assessed";
    - false-positive / false-negative corrections applied (SO1-4.T3), the periods' own notes, and
      the warnings the run's stages recorded in ``summary["warnings"]`` (one-line strings).
    """
    out: list[Finding] = []
    px = _mean_pixel_km2(summary)
    aoi_land = None
    for scope in _scopes(summary):
        t = summary["tables"][scope]
        sdg = charts.table_frame(t, "SO1-4.T2")
        if sdg is not None:
            out += _change_warnings(scope, sdg)
        cp = charts.table_frame(t, "CP-1.T1")
        land = None
        if cp is not None and "Total land area (km²)" in cp.columns:
            land = _num(cp["Total land area (km²)"].iloc[-1])
        if scope == AOI_SCOPE:
            aoi_land = land
            lc = charts.table_frame(t, "SO1-1.T4")
            if lc is not None and land:
                out += _small_class_notes(scope, lc, land, px)
        elif land is not None:
            out += _small_region_warning(scope, land, aoi_land, px)
        out += _missing_data_warnings(scope, t)
        out += _correction_notes(scope, t)
    return out + _run_notes(summary)


# ------------------------------------------------------------------------------------------------
# tables, parameters
# ------------------------------------------------------------------------------------------------


def _table_sort_key(tid: str) -> tuple[int, list[Any]]:
    group = next((i for i, g in enumerate(TABLE_GROUPS) if tid.startswith(g)), len(TABLE_GROUPS))
    natural = [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", tid)]
    return group, natural


def _fmt(v: Any, col: str) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–"
        c = col.lower()
        if "persons" in c or "population" in c:
            return f"{v:,.0f}"
        if "%" in c or "percentage" in c:
            return f"{v:,.2f}"
        if abs(v) >= 1000:
            return f"{v:,.1f}"
        if abs(v) >= 1 or v == 0:
            return f"{v:,.2f}"
        return f"{v:.3g}"
    return str(v)


#: Rows of one table shown in the report (the rest are in tables.xlsx).
MAX_TABLE_ROWS = 200


def _tables_html_data(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every table of the run: ``[{"id", "title", "note", "blocks": [{"scope", "columns", "rows"}]}]``."""
    tables = summary.get("tables") or {}
    ids = sorted({tid for s in tables.values() for tid in s}, key=_table_sort_key)
    out = []
    for tid in ids:
        blocks, title, note = [], "", ""
        for scope in _scopes(summary):
            t = tables[scope].get(tid)
            if not t:
                continue
            title = title or t.get("title", "")
            note = note or (t.get("attrs") or {}).get("note", "")
            cols = list(t.get("columns") or (t["records"][0].keys() if t.get("records") else []))
            num = [
                any(
                    isinstance(r.get(c), int | float) and not isinstance(r.get(c), bool)
                    for r in t.get("records", [])
                )
                for c in cols
            ]
            records = t.get("records", [])
            # A national hotspot table can hold thousands of rows (they come largest first): the
            # report shows the first ones, the workbook has them all.
            shown = records[:MAX_TABLE_ROWS]
            rows = [[(_fmt(r.get(c), c), n) for c, n in zip(cols, num, strict=True)] for r in shown]
            blocks.append(
                {
                    "scope": scope,
                    "columns": list(zip(cols, num, strict=True)),
                    "rows": rows,
                    "hidden": len(records) - len(shown),
                }
            )
        out.append({"id": tid, "title": title, "note": note, "blocks": blocks})
    for k, block in enumerate(b for table in out for b in table["blocks"]):
        block["css_id"] = f"tb{k}"
    return out


def numeric_columns_css(tables: list[dict[str, Any]]) -> str:
    """CSS right-aligning the numeric columns of every table block, by column position: one rule per
    block instead of a class on each of the report's thousands of cells (a fifth of the HTML)."""
    rules = []
    for block in (b for table in tables for b in table["blocks"]):
        cols = [i + 1 for i, (_, num) in enumerate(block["columns"]) if num]
        rules += [f"#{block['css_id']} :is(td,th):nth-child({i})" for i in cols]
    if not rules:
        return ""
    return (
        ",\n".join(rules) + " { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }"
    )


def _flatten(d: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(d, Mapping):
        for k, v in d.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(d, list) and d and all(isinstance(x, Mapping) for x in d):
        for i, x in enumerate(d):
            yield from _flatten(x, f"{prefix}[{i}]")
    else:
        yield prefix, json.dumps(d, ensure_ascii=False) if not isinstance(d, str) else d


def _sources(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [(str(k), str(v)) for k, v in (summary.get("inputs") or {}).items()]
    cfg = summary.get("config") or {}
    inputs = cfg.get("inputs") or {}
    for key in ("area_of_interest", "regions", "ecological_units", "external_lpd"):
        v = inputs.get(key)
        v = v.get("path") if isinstance(v, Mapping) else v
        if v and not any(str(v) in r[1] or key in r[0] for r in rows):
            rows.append((f"inputs.{key}", str(v)))
    drought = cfg.get("drought") or {}
    seen = {v for _, v in rows}
    for k, v in _flatten(
        {
            k: drought.get(k)
            for k in ("precipitation", "pet", "spi", "population", "vulnerability")
            if drought.get(k)
        },
        "drought",
    ):
        if (
            v not in seen
            and v not in ("null", "None")
            and not k.endswith((".units", ".variable", ".weights"))
        ):
            rows.append((k, v))
    return rows


# ------------------------------------------------------------------------------------------------
# images
# ------------------------------------------------------------------------------------------------


def _chart_items(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    t = (summary.get("tables") or {}).get(AOI_SCOPE) or {}
    periods = _period_names(summary)
    figs: list[tuple[str, Figure | None]] = [("Land-cover area by class", charts.land_cover_areas(t))]
    for p in periods:
        figs.append((f"Land-cover change matrix, {p}", charts.land_cover_change_matrix(t, p)))
    for p in periods:
        figs.append((f"LPD by land-cover class, {p}", charts.lpd_by_land_cover(t, p)))
    figs += [
        ("Degraded / stable / improved by sub-indicator", charts.degradation_by_subindicator(t)),
        ("LDN balance sheet", charts.balance_sheet(t)),
        ("Drought classes per year", charts.drought_classes(t)),
        ("Population exposed to drought", charts.population_exposed(t)),
    ]
    return [{"title": title, "img": png_uri(f)} for title, f in figs if f is not None]


# ------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------


def write_report(
    run_dir: str | os.PathLike,
    summary: Mapping[str, Any] | None = None,
    *,
    max_map_pixels: int = 600_000,
) -> Path:
    """Write ``run_dir/report.html`` and return its path.

    One self-contained HTML file (images inline as base64 PNG, CSS inline, no script or external
    resource; it opens offline) with the headline SDG 15.3.1 figures for the area of interest and
    each region, a map per layer in the GeoTIFF legend colours (with legend, scale bar, coordinates
    and the boundaries.gpkg outlines), charts, every PRAIS table, the methods and parameters, the data
    sources and the warnings a reviewer should see. Maps are read with at most ``max_map_pixels``
    pixels, so the time does not grow with the raster size.

    Raises :class:`~ldnkit.errors.InputError` when ``run_dir`` is not a run folder.

    Example
    -------
    >>> from ldnkit.report import write_report
    >>> write_report("ldnkit-demo/run")                          # doctest: +SKIP
    PosixPath('ldnkit-demo/run/report.html')
    """
    import jinja2

    run = Path(run_dir)
    summary = dict(summary) if summary is not None else load_summary(run)
    if not run.is_dir():
        raise InputError(str(run), "is not a folder", "give the output folder of a run")
    boundaries = read_boundaries(run)
    rows = headline(summary)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.1f} %"
    env.filters["pp"] = lambda v: "–" if v is None else f"{v:+.1f} pp"
    env.filters["km2"] = lambda v: "–" if v is None else f"{v:,.1f} km²"
    cfg = summary.get("config") or {}
    params = [(k, v) for k, v in _flatten({k: v for k, v in cfg.items() if k not in ("inputs", "output")})]
    tables = _tables_html_data(summary)
    html = env.get_template("report.html.j2").render(
        title=summary.get("title") or "ldnkit run",
        summary=summary,
        created=summary.get("created", ""),
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=summary.get("ldnkit_version", ""),
        headline=rows,
        aoi=next((r for r in rows if r["scope"] == AOI_SCOPE), rows[0] if rows else None),
        headline_img=png_uri(headline_chart(rows)),
        warnings=compute_warnings(summary),
        map_groups=map_sections(run, summary, _period_names(summary), boundaries, max_map_pixels),
        has_boundaries=boundaries is not None,
        charts=_chart_items(summary),
        tables=tables,
        numeric_columns_css=numeric_columns_css(tables),
        periods=summary.get("periods") or [],
        methods=list(_flatten(summary.get("methods") or {})),
        drought=list(_flatten(summary.get("drought") or {})),
        params=params,
        grid=list(_flatten(summary.get("grid") or {})),
        sources=_sources(summary),
        footprint=footprint_section(run, summary),
        timings=summary.get("timings_s") or {},
    )
    out = run / REPORT_NAME
    tmp = out.with_name(f".{REPORT_NAME}.partial")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)  # never a half-written report
    return out
