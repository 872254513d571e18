"""The report's land-footprint section (docs/footprint.md), from the run folder only: summary.json's
``footprint`` and tables FP-2/FP-3, ``footprint/flows.csv`` and ``footprint/producers.gpkg``.

A flow chart (alluvial: producing countries left, consuming countries right, band width = hectares),
the top embodied-degradation flows, and a map of the degraded land embodied in the reporting
country's consumption by producer. Plain matplotlib, no script.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ldnkit.codes import AOI_SCOPE
from ldnkit.report.maps import png_uri

#: Countries shown one by one on each side of the flow chart; the rest are grouped.
MAX_NODES = 12
OTHERS = "Others"


def top_nodes(totals: pd.Series, n: int = MAX_NODES) -> pd.Series:
    """``totals`` (name -> hectares) keeping the ``n - 1`` largest and the rest summed as Others
    (when more than ``n``)."""
    totals = totals.sort_values(ascending=False)
    if len(totals) <= n:
        return totals
    kept = totals.iloc[: n - 1]
    return pd.concat([kept, pd.Series({OTHERS: totals.iloc[n - 1 :].sum()})])


def node_spans(totals: pd.Series, gap: float) -> dict[str, tuple[float, float]]:
    """Vertical span (bottom, top) of each node stacked top-down, heights = share of the total."""
    scale = (1.0 - gap * (len(totals) - 1)) / totals.sum()
    spans, top = {}, 1.0
    for name, value in totals.items():
        spans[name] = (top - value * scale, top)
        top -= value * scale + gap
    return spans


def flow_chart(flows: pd.DataFrame, country: str) -> Figure | None:
    """Alluvial chart of land (ha) from producing (left) to consuming (right) countries, all
    products; bands into ``country``'s consumption are drawn strong, others pale."""
    pairs = flows.groupby(["producer", "consumer"])["hectares"].sum()
    pairs = pairs[pairs > 0]
    if pairs.empty:
        return None
    left = top_nodes(pairs.groupby(level=0).sum())
    right = top_nodes(pairs.groupby(level=1).sum())
    keep_left, keep_right = set(left.index) - {OTHERS}, set(right.index) - {OTHERS}
    named = pairs.rename(index=lambda n: n if n in keep_left else OTHERS, level=0).rename(
        index=lambda n: n if n in keep_right else OTHERS, level=1
    )
    named = named.groupby(level=[0, 1]).sum()
    lspan, rspan = node_spans(left, 0.02), node_spans(right, 0.02)
    scale = (lspan[left.index[0]][1] - lspan[left.index[0]][0]) / left.iloc[0]
    fig = Figure(figsize=(8, 5.2))
    ax = fig.subplots()
    colours = {name: f"C{i % 10}" for i, name in enumerate(left.index)}
    lpos = {k: v[1] for k, v in lspan.items()}
    rpos = {k: v[1] for k, v in rspan.items()}
    x = np.linspace(0.1, 0.9, 60)
    smooth = 3 * ((x - 0.1) / 0.8) ** 2 - 2 * ((x - 0.1) / 0.8) ** 3
    rank_left, rank_right = (
        {n: i for i, n in enumerate(left.index)},
        {n: i for i, n in enumerate(right.index)},
    )
    # bands stacked in the order of the nodes on the other side: fewer crossings
    order = sorted(named.index, key=lambda pc: (rank_left[pc[0]], rank_right[pc[1]]))
    for (producer, consumer), value in named.loc[order].items():
        h = value * scale
        y0, y1 = lpos[producer], rpos[consumer]
        lpos[producer] -= h
        rpos[consumer] -= h
        top = y0 + (y1 - y0) * smooth
        strong = consumer == country
        ax.fill_between(x, top - h, top, color=colours[producer], alpha=0.75 if strong else 0.25, lw=0)
    for spans, xpos, ha in ((lspan, 0.1, "right"), (rspan, 0.9, "left")):
        totals = left if xpos < 0.5 else right
        for name, (bottom, top) in spans.items():
            ax.fill_between([xpos - 0.01, xpos + 0.01], bottom, top, color="#333", lw=0)
            label = f"{name}  {totals[name]:,.0f} ha"
            weight = "bold" if name == country else "normal"
            offset = -0.015 if ha == "right" else 0.015
            ax.text(xpos + offset, (bottom + top) / 2, label, ha=ha, va="center", fontsize=8.5, weight=weight)
    ax.text(0.1, 1.03, "Producing (land)", ha="center", fontsize=9.5, weight="bold")
    ax.text(0.9, 1.03, "Consuming", ha="center", fontsize=9.5, weight="bold")
    ax.set_xlim(-0.22, 1.22)
    ax.set_ylim(-0.02, 1.08)
    ax.axis("off")
    fig.tight_layout()
    return fig


def degraded_map(producers: Any, by_producer: pd.DataFrame, country: str) -> Figure | None:
    """Choropleth of the degraded land (ha) of each producer embodied in ``country``'s consumption;
    hatched grey: land in its consumption whose degradation is not assessed; white: no flow."""
    if producers is None or by_producer.empty:
        return None
    totals = by_producer.groupby("producer").agg(
        hectares=("hectares", "sum"), degraded=("degraded_hectares", lambda s: s.sum(min_count=1))
    )
    shapes = producers.merge(totals, left_on="producer", right_index=True, how="left")
    fig = Figure(figsize=(6.5, 5.2))
    ax = fig.subplots()
    shapes.plot(ax=ax, color="white", edgecolor="#555", linewidth=0.6)
    unknown = shapes[shapes["hectares"].notna() & shapes["degraded"].isna()]
    if len(unknown):
        unknown.plot(ax=ax, color="#ddd", hatch="//", edgecolor="#777", linewidth=0.6)
    known = shapes[shapes["degraded"].notna()]
    if len(known):
        known.plot(
            ax=ax, column="degraded", cmap="OrRd", edgecolor="#555", linewidth=0.6, legend=True,
            legend_kwds={"label": f"Degraded land in {country}'s consumption (ha)", "shrink": 0.7},
            vmin=0,
        )  # fmt: skip
    for _, row in shapes.iterrows():
        point = row.geometry.representative_point()
        ax.annotate(
            row["producer"],
            (point.x, point.y),
            ha="center",
            fontsize=8,
            bbox={"fc": "white", "alpha": 0.7, "lw": 0},
        )
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def read_producers(run: Path, summary: Mapping[str, Any]) -> Any:
    """The producer polygons the run wrote (GeoDataFrame), or None."""
    name = (summary.get("footprint") or {}).get("producers_file")
    if not name or not (run / name).is_file():
        return None
    import geopandas as gpd

    return gpd.read_file(run / name, engine="pyogrio")


def table_frame(summary: Mapping[str, Any], table_id: str) -> pd.DataFrame:
    """A table of summary.json's ``tables`` as a DataFrame (empty when absent)."""
    table = ((summary.get("tables") or {}).get(AOI_SCOPE) or {}).get(table_id)
    if not table:
        return pd.DataFrame()
    return pd.DataFrame(table["records"], columns=table["columns"]).astype(
        {c: float for c in ("hectares", "degraded_hectares") if c in table["columns"]}
    )


def html_table(frame: pd.DataFrame) -> str:
    """A small HTML table (numbers as whole hectares; empty = not assessed)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return '<td class="num">–</td>' if np.isnan(v) else f'<td class="num">{v:,.0f}</td>'
        return f"<td>{html.escape(str(v))}</td>"

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in frame.itertuples(index=False))
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def figure_html(fig: Figure | None, caption: str) -> str:
    if fig is None:
        return ""
    text = html.escape(caption)
    return f'<figure><img src="{png_uri(fig)}" alt="{text}"><figcaption>{text}</figcaption></figure>'


def map_html(producers: Any, by_producer: pd.DataFrame, country: str) -> str:
    """The map's figure, its caption naming the producers that have no polygon (not on the map)."""
    caption = f"Degraded land embodied in {country}'s consumption, by producer (ha)"
    if producers is not None and len(by_producer):
        degraded = by_producer.groupby("producer")["degraded_hectares"].sum(min_count=1)
        off = degraded[~degraded.index.isin(set(producers["producer"]))]
        if len(off):
            listed = ", ".join(f"{p} {_ha(v)}" for p, v in off.items())
            caption += f"; producers without a polygon (not mapped): {listed}"
    return figure_html(degraded_map(producers, by_producer, country), caption)


def shares_text(info: Mapping[str, Any]) -> str:
    """Where the degraded shares came from, in words."""
    shares = info.get("degraded_shares") or {}
    parts = []
    if shares.get("maps"):
        parts.append(f"from the {shares['maps']} (cropland: UNCCD cropland; grazing: grassland)")
    if shares.get("table"):
        parts.append(f"from the table {Path(shares['table']).name} for producers outside the maps")
    return "; ".join(parts) or "none given (degraded land not assessed)"


def footprint_section(run_dir: str | os.PathLike, summary: Mapping[str, Any]) -> str:
    """The section's HTML (empty when the run has no footprint)."""
    info = summary.get("footprint")
    if not info:
        return ""
    run = Path(run_dir)
    country = info["reporting_country"]
    flows_path = run / info.get("flows_file", "")
    flows = pd.read_csv(flows_path) if flows_path.is_file() else pd.DataFrame()
    totals = info.get("totals_ha") or {}
    e = html.escape
    head = (
        f"<p class='intro'>Land, and degraded land, embodied in the consumption of <b>{e(country)}</b>: "
        f"{e(info.get('method_name', ''))}, year {e(str(info.get('year')))}. System boundaries: "
        f"{e(info.get('system_boundaries', ''))}. Degraded shares: {e(shares_text(info))}.</p>"
    )
    figures = [
        figure_html(
            flow_chart(flows, country), "Land (ha) from producing to consuming countries, all products"
        )
        if len(flows)
        else "",
        map_html(read_producers(run, summary), table_frame(summary, "FP-2"), country),
    ]
    cards = "".join(
        f"<div class='card'><div class='label'>{e(label)}</div>"
        f"<div class='value'>{_ha(totals.get(key))}</div></div>"
        for key, label in (
            ("consumption_ha", "Land in consumption"),
            ("imported_ha", "of which imported"),
            ("degraded_in_consumption_ha", "Degraded land in consumption"),
            ("not_assessed_ha", "Land not assessed"),
        )
    )
    top = table_frame(summary, "FP-3")
    return (
        "<section id='footprint' data-section='footprint'><h2>Land footprint of consumption</h2>"
        f"{head}<div class='cards'>{cards}</div><div class='grid'>{''.join(figures)}</div>"
        "<h3>Top flows of degraded land embodied in consumption</h3>"
        f"{html_table(top) if len(top) else '<p class=intro>No assessed flow.</p>'}</section>"
    )


def _ha(v: Any) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:,.0f} ha"


__all__ = ["degraded_map", "flow_chart", "footprint_section"]
