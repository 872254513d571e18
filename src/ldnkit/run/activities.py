"""The activities stage: restoration and land-management activities of the registry
(docs/registry.md) compiled against the SO1 status of the last reporting period, per region and
for the whole area of interest, after neutrality.

Overlaps: every area is that of the UNION of the activities counted (a pixel under two activities
counts once), except the per-activity rows (ACT-4), where each activity has its own area.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import xarray as xr
from pyproj import Geod

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.config import RunConfig
from ldnkit.crosstab import CrosstabRequest, compute_crosstabs
from ldnkit.errors import InputError
from ldnkit.io import vector
from ldnkit.io.grid import Grid, grid_of
from ldnkit.io.read import open_layer
from ldnkit.io.vector import read_vector
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

    if "://" not in location and not Path(location).is_file():  # sqlite would create an empty file
        raise InputError("activities.registry", f"file not found: {location}", "check the path")
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
        except InputError:
            raise
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


def regions_layer(regions: gpd.GeoDataFrame, name_field: str, grid: Grid, chunks: int) -> tuple:
    """Region ids 1..n burnt on ``grid`` (NODATA outside every region) and {id: name}."""
    if name_field not in regions.columns:
        raise InputError(
            "--name-field", f"{name_field!r} is not a field of the regions", "name one of its fields"
        )
    ids = np.arange(1, len(regions) + 1)
    layer = vector.rasterize(regions, grid, values=ids, fill=codes.NODATA, chunks=chunks)
    return layer, {int(i): str(n) for i, n in zip(ids, regions[name_field], strict=True)}


def last_status(run_dir: Path) -> tuple[str, Path]:
    """(period, path) of the last period's SO1 status layer of a run folder."""
    summary = json.loads((run_dir / "summary.json").read_text())
    keys = [k for k in summary.get("layers", {}) if k.endswith("/status")]
    if not keys:
        raise InputError("--status", f"{run_dir} holds no SO1 status layer", "give the folder of an SO1 run")
    return keys[-1].split("/")[0], run_dir / summary["layers"][keys[-1]]["path"]


def compile_run_folder(
    frame: gpd.GeoDataFrame, run_dir: Path, regions: gpd.GeoDataFrame, name_field: str, chunks: int = 1024
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """:func:`compile_activities` against the last status of the run folder ``run_dir``, on its
    grid, inside its area of interest (boundaries.gpkg; else where the status has data)."""
    period, path = last_status(run_dir)
    status = categorical(open_layer(path, chunks=chunks).squeeze(drop=True))
    grid = grid_of(path)
    check_overlap(frame, grid)
    boundaries = run_dir / "boundaries.gpkg"
    if boundaries.is_file() and "area_of_interest" in pyogrio.list_layers(boundaries)[:, 0]:
        aoi = read_vector(boundaries, key="boundaries.gpkg", layer="area_of_interest")
        inside = (
            vector.rasterize(aoi, grid, values=1, fill=0, chunks=chunks).assign_coords(x=status.x, y=status.y)
            == 1
        )
    else:
        inside = status != codes.NODATA
    zones, names = regions_layer(regions, name_field, grid, chunks)
    zones = mask_outside(zones.assign_coords(x=status.x, y=status.y), inside)
    place = Place(grid, status, inside, cell_area(status), zones, names, chunks)
    tables, summary = compile_activities(frame, place, status)
    return tables, {"period": period} | summary


def compile_vectors(frame: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, name_field: str) -> pd.DataFrame:
    """ACT-1 without a run: the geodesic area (km²) of the union of the activities in each region
    and in all (no status, so the degraded-land columns are empty)."""
    if name_field not in regions.columns:
        raise InputError(
            "--name-field", f"{name_field!r} is not a field of the regions", "name one of its fields"
        )
    geod = Geod(ellps="WGS84")
    union = shapely.union_all(frame.geometry.values) if len(frame) else shapely.Polygon()
    scopes = dict(zip(regions[name_field].astype(str), regions.to_crs("EPSG:4326").geometry, strict=True))
    union_areas, counts = {}, {}
    for scope, shape in [*scopes.items(), (codes.AOI_SCOPE, None)]:
        part = union if shape is None else union.intersection(shape)
        km2 = abs(geod.geometry_area_perimeter(part)[0]) / 1e6 if not part.is_empty else 0.0
        nan = float("nan")
        union_areas[scope] = {
            activity_tables.AREA: km2,
            activity_tables.ON_DEGRADED: nan,
            activity_tables.DEGRADED: nan,
        }
        counts[scope] = int(sum(shape is None or g.intersection(shape).area > 0 for g in frame.geometry))
    return activity_tables.region_table(union_areas, counts)
