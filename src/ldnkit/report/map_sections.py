"""The map sections of report.html, chosen from the layers' metadata entries in summary.json.

Each written layer has an entry (``summary["layers"]``, see :mod:`ldnkit.layer_meta`): group,
subgroup, title, description, unit, order and ``report_map``. The report draws

- one section per period (the run's periods, in order): the entries with ``report_map`` whose
  subgroup is that period, in ``order``;
- one section per known group (in :data:`~ldnkit.layer_meta.GROUP_ORDER`) with its layers that do
  not belong to a period (land-cover maps, SOC stocks, drought per period, neutrality ...); a
  subgroup of more than :data:`MAX_SUBGROUP_MAPS` layers (a yearly series) is named in the
  section's intro instead of drawn, and identifiers (unit "id") are not drawn;
- an "Other layers" section with every layer of a group the report does not know (a new stage's),
  unless it is already among its period's maps.

Nothing here names a layer: a new layer reaches the report through its metadata.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ldnkit.layer_meta import GROUP_ORDER, sorted_entries
from ldnkit.report.maps import Boundaries, map_figure, png_uri, read_map

#: A subgroup with more layers than this (a yearly series) is listed, not drawn.
MAX_SUBGROUP_MAPS = 12
OTHER_SECTION = "Other layers"

Entry = Mapping[str, Any]


def slug(s: str) -> str:
    """``"Land cover"`` -> ``"land-cover"`` (HTML ids)."""
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _map_item(run: Path, entry: Entry, title: str, boundaries: Boundaries | None, max_pixels: int) -> dict:
    path = run / str(entry["path"])
    md = read_map(path, max_pixels=max_pixels)
    fig = map_figure(md, boundaries=boundaries, title=title[:70])
    caption = str(entry.get("description") or "")
    unit = str(entry.get("unit") or "")
    if unit and unit not in ("1", "class", "id") and caption and unit not in caption:
        caption += f" ({unit})"
    return {
        "title": title,
        "img": png_uri(fig),
        "caption": caption,
        "path": str(entry["path"]),
        "file": str(path),
    }


def _section(
    run: Path,
    gid: str,
    title: str,
    entries: list[tuple[Entry, str]],
    boundaries: Boundaries | None,
    max_pixels: int,
    intro: str = "",
) -> dict[str, Any] | None:
    maps = [
        _map_item(run, e, t, boundaries, max_pixels) for e, t in entries if (run / str(e["path"])).is_file()
    ]
    if not maps and not intro:
        return None
    return {"id": gid, "title": title, "intro": intro, "maps": maps}


def _with_period(entry: Entry, periods: list[str]) -> str:
    title, sub = str(entry.get("title") or entry["path"]), entry.get("subgroup")
    return f"{title}, {sub}" if sub in periods and str(sub) not in title else title


def _group_entries(
    entries: list[tuple[str, Entry]], group: str, periods: list[str]
) -> tuple[list[tuple[Entry, str]], str]:
    """The non-period layers of a known group to draw, and an intro naming the series not drawn."""
    own = [e for _, e in entries if e.get("group") == group and e.get("subgroup") not in periods]
    size: dict[Any, int] = {}
    for e in own:
        size[e.get("subgroup")] = size.get(e.get("subgroup"), 0) + 1
    drawn = [
        (e, _with_period(e, periods))
        for e in own
        if size[e.get("subgroup")] <= MAX_SUBGROUP_MAPS and e.get("unit") != "id"
    ]
    series = [f"{s} ({n} layers)" for s, n in size.items() if n > MAX_SUBGROUP_MAPS]
    intro = f"Not drawn here (see the QGIS project): {'; '.join(series)}." if series else ""
    return drawn, intro


def map_sections(
    run: Path,
    summary: Mapping[str, Any],
    periods: list[str],
    boundaries: Boundaries | None,
    max_pixels: int,
) -> list[dict[str, Any]]:
    """``[{"id", "title", "intro", "maps": [{"title", "img", "caption", "path", "file"}]}]`` for the
    report, from ``summary["layers"]`` (see the module docstring)."""
    entries = [(k, e) for k, e in sorted_entries(summary.get("layers") or {}) if e.get("path")]
    out: list[dict[str, Any] | None] = []
    for period in periods:
        chosen = [e for _, e in entries if e.get("report_map") and e.get("subgroup") == period]
        titled = [(e, _with_period(e, periods)) for e in chosen]
        out.append(
            _section(run, f"map-period-{slug(period)}", f"Period {period}", titled, boundaries, max_pixels)
        )
    for group in GROUP_ORDER[:-1]:  # "Other" joins the groups the report does not know
        drawn, intro = _group_entries(entries, group, periods)
        out.append(_section(run, f"map-{slug(group)}", group, drawn, boundaries, max_pixels, intro))
    other = [
        (e, _with_period(e, periods))
        for _, e in entries
        if e.get("group") not in GROUP_ORDER[:-1]
        and not (e.get("report_map") and e.get("subgroup") in periods)
    ]
    out.append(_section(run, f"map-{slug(OTHER_SECTION)}", OTHER_SECTION, other, boundaries, max_pixels))
    return [s for s in out if s is not None]
