"""The activities stage: restoration and land-management activities of the registry
(docs/registry.md) compiled against the SO1 status of the last reporting period, per region and
for the whole area of interest, after neutrality.

Overlaps: every area is that of the UNION of the activities counted (a pixel under two activities
counts once), except the per-activity rows (ACT-4), where each activity has its own area.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.config import RunConfig
from ldnkit.crosstab import CrosstabRequest, compute_crosstabs
from ldnkit.errors import InputError
from ldnkit.io import vector
from ldnkit.io.grid import Grid
from ldnkit.layer_meta import LayerMeta
from ldnkit.run.context import LayerToWrite, RunContext, mask_outside
from ldnkit.run.outputs import StageOutputs
from ldnkit.tables import activities as activity_tables

LEVEL_META = LayerMeta(
    "Activities: response level",
    "Activities",
    "Response-hierarchy level of the registry's activities (where they overlap: the highest level)",
    "class",
    codes.RESPONSE_HIERARCHY,
    report_map=False,
)


def read_activities(location: str, statuses: list[str]) -> gpd.GeoDataFrame:
    """The registry's activities whose status is one of ``statuses`` (EPSG:4326), with their
    ``start_year`` (text, "unknown" when no start date) and practices joined by ``;``."""
    # imported here: the registry is an optional extra, a run without activities needs none of it
    from ldnkit.registry import open_store
    from ldnkit.registry.bulk import all_records, records_frame

    store = open_store(location)
    try:
        frame = records_frame(all_records(store))
    finally:
        store.close()
    frame = frame[frame["status"].isin(statuses)].reset_index(drop=True)
    frame["start_year"] = [str(d)[:4] if d else "unknown" for d in frame["start_date"]]
    return frame


def registry_location(cfg: RunConfig) -> str:
    """The registry of the ``activities:`` section: a URL as given, a path against the config's folder."""
    location = cfg.activities.registry
    return location if "://" in location else str(cfg.resolve(location))


def activity_groups(frame: gpd.GeoDataFrame) -> dict[tuple[str, str], list[int]]:
    """(breakdown, class) -> the rows of ``frame`` in that class: status, level, practice, start year."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, row in frame.iterrows():
        practices = [p for p in (row["practices"] or "").split(";") if p] or ["none"]
        keys = [
            ("Status", row["status"]),
            ("Level", row["level"] or "none"),
            ("Start year", row["start_year"]),
        ]
        for key in keys + [("Practice", p) for p in practices]:
            groups.setdefault(key, []).append(int(i))
    return dict(sorted(groups.items()))


@dataclass
class Place:
    """Where activities are compiled: the grid (and a template layer on it whose coordinates every
    mask takes), the area of interest (bool), cell areas (km²), region ids (int16, NODATA outside
    every region, or None) and names, and the block size."""

    grid: Grid
    template: xr.DataArray
    inside: xr.DataArray
    area: xr.DataArray
    regions: xr.DataArray | None
    region_names: Mapping[int, str]
    chunks: int

    def align(self, layer: xr.DataArray) -> xr.DataArray:
        return layer.assign_coords(x=self.template.x, y=self.template.y)

    def mask(self, frame: gpd.GeoDataFrame, rows: list[int]) -> xr.DataArray:
        """1 under the union of the activities ``rows``, 0 elsewhere, NODATA outside the AOI."""
        burnt = vector.rasterize(frame.iloc[rows], self.grid, values=1, fill=0, chunks=self.chunks)
        return mask_outside(self.align(burnt), self.inside)

    def level(self, frame: gpd.GeoDataFrame) -> xr.DataArray:
        """Response level code (1 avoid, 2 reduce, 3 reverse) under the activities; where they
        overlap the highest; NODATA elsewhere."""
        levels = frame["level"].map(codes.RESPONSE_LEVELS).fillna(codes.NODATA).astype(int)
        order = levels.sort_values(kind="stable").index  # higher levels burn last: they win overlaps
        values = levels.loc[order].to_numpy()
        burnt = vector.rasterize(
            frame.loc[order], self.grid, values=values, fill=codes.NODATA, chunks=self.chunks
        )
        return mask_outside(self.align(burnt), self.inside)

    def areas(self, status: xr.DataArray, masks: Mapping[Any, xr.DataArray]) -> dict:
        """Per mask, per scope (the regions and the AOI): its areas (``tables.activities.scope_areas``)."""
        requests = {}
        for key, mask in masks.items():
            requests[(key, "aoi")] = CrosstabRequest({"activity": mask, "status": status}, self.area)
            if self.regions is not None:
                requests[(key, "zones")] = CrosstabRequest(
                    {"activity": mask, "status": status}, self.area, zones=self.regions
                )
        found = compute_crosstabs(requests)
        out: dict[Any, dict[str, dict[str, float]]] = {}
        for key in masks:
            zones = found.get((key, "zones"))
            per_zone = activity_tables.scope_areas(zones, self.region_names) if zones is not None else {}
            out[key] = per_zone | activity_tables.scope_areas(found[(key, "aoi")])
        return out


def compile_activities(
    frame: gpd.GeoDataFrame, place: Place, status: xr.DataArray
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The tables ACT-1..ACT-4 (docs/registry.md) of the activities ``frame`` against ``status``
    (SO1 status codes -1 degraded, 0 stable, 1 improved, NODATA), and the summary figures (km², %)."""
    every = list(range(len(frame)))
    groups = activity_groups(frame)
    masks = {("all",): place.mask(frame, every)} | {("one", i): place.mask(frame, [i]) for i in every}
    masks |= {("group", k): place.mask(frame, rows) for k, rows in groups.items()}
    areas = place.areas(status, masks)
    singles = [areas[("one", i)] for i in every]
    overlapping = {i for i in every if singles[i][codes.AOI_SCOPE][activity_tables.ON_DEGRADED] > 0}
    split = {True: sorted(overlapping), False: sorted(set(every) - overlapping)}
    split_areas = place.areas(status, {k: place.mask(frame, rows) for k, rows in split.items()})
    tables = {
        "ACT-1": activity_tables.region_table(areas[("all",)], scope_counts(singles, every)),
        "ACT-2": activity_tables.breakdown_table({k: areas[("group", k)] for k in groups}),
        "ACT-3": activity_tables.overlap_table(
            split_areas, {k: scope_counts(singles, rows) for k, rows in split.items()}
        ),
        "ACT-4": activity_tables.activity_table(frame, [s[codes.AOI_SCOPE] for s in singles]),
    }
    aoi = areas[("all",)][codes.AOI_SCOPE]
    summary = {
        "activities": len(frame),
        "area_under_restoration_km2": aoi[activity_tables.AREA],
        "degraded_land_addressed_km2": aoi[activity_tables.ON_DEGRADED],
        "share_of_degraded_land_addressed_pct": activity_tables.share(
            aoi[activity_tables.ON_DEGRADED], aoi[activity_tables.DEGRADED]
        ),
    }
    return tables, summary


def categorical(layer: xr.DataArray) -> xr.DataArray:
    """An int16 categorical layer as read back (NaN, if any, as NODATA)."""
    return layer.fillna(codes.NODATA).astype(codes.CATEGORICAL_DTYPE)


class ActivitiesStage:
    """Registry activities against the SO1 status (an ``activities:`` section)."""

    name = "activities"

    def applies(self, cfg: RunConfig) -> bool:
        return cfg.activities is not None and cfg.inputs is not None

    def prepare(self, ctx: RunContext) -> None:
        cfg = ctx.config.activities
        try:
            self.frame = read_activities(registry_location(ctx.config), cfg.statuses)
        except Exception as exc:  # a missing file or a server that does not answer
            raise InputError(
                "activities.registry", f"cannot read the registry: {exc}", "check the path or URL"
            ) from exc
        check_overlap(self.frame, ctx.grid)

    def run(self, ctx: RunContext) -> StageOutputs:
        period = ctx.plans[-1].name
        out = StageOutputs()
        place = Place(ctx.grid, ctx.template, ctx.inside, ctx.area, ctx.regions, ctx.region_names, ctx.chunks)
        layer = LayerToWrite("activities/activity_level", place.level(self.frame), LEVEL_META)
        ctx.write_layers([layer], out)
        tables, summary = compile_activities(self.frame, place, categorical(ctx.reopen(f"{period}/status")))
        out.tables = {codes.AOI_SCOPE: tables}  # each table holds its own Scope column
        section = ctx.config.activities
        out.summary = {
            "activities": {"period": period, "registry": section.registry, "statuses": list(section.statuses)}
            | summary
        }
        return out


def check_overlap(frame: gpd.GeoDataFrame, grid: Grid) -> None:
    """InputError unless some activity of ``frame`` meets the grid's extent (none: nothing to check)."""
    if not len(frame):
        return
    left, bottom, right, top = grid.bounds
    x0, y0, x1, y1 = frame.to_crs(grid.crs).total_bounds
    if x1 < left or x0 > right or y1 < bottom or y0 > top:
        raise InputError(
            "activities.registry",
            f"none of its {len(frame)} activities overlaps the run grid",
            "check the registry or the statuses counted",
        )


def scope_counts(singles: list[Mapping[str, Mapping[str, float]]], rows: list[int]) -> dict[str, int]:
    """Per scope, how many of the activities ``rows`` have some area in it."""
    counts: dict[str, int] = {}
    for i in rows:
        for scope, v in singles[i].items():
            counts[scope] = counts.get(scope, 0) + (v[activity_tables.AREA] > 0)
    return counts
