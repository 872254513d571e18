"""The neutrality stage's polygon and record inputs (planning polygons, drivers, target scopes),
read and checked in ``prepare``, before any heavy work of any stage, so a bad config fails in a
second with one line and nothing written."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import xarray as xr

from ldnkit import codes
from ldnkit.drivers import DriverRecord
from ldnkit.errors import ConfigError, InputError
from ldnkit.io import vector
from ldnkit.io.grid import Grid
from ldnkit.io.records import read_driver_records
from ldnkit.run.context import RunContext, mask_outside

NODATA = codes.NODATA


@dataclass
class NeutralityInputs:
    """Polygon and record inputs of the neutrality stage, read and checked before the heavy work."""

    period: str | None = None
    anticipated: xr.DataArray | None = None  # int16 1 inside a planned-loss polygon, 0 outside
    interventions: xr.DataArray | None = None  # int16 1..3, NODATA none
    effect: xr.DataArray | None = None  # float32 0..1, NaN none
    drivers: list = field(default_factory=list)
    planning: dict[str, Any] = field(default_factory=dict)


def check_polygons_on_grid(polygons: Any, grid: Grid, key: str) -> None:
    """Every feature must meet the grid's extent (a planning polygon outside it is a mistake)."""
    g = polygons.to_crs(grid.crs) if polygons.crs is not None else polygons
    box = shapely.box(*grid.bounds)
    geoms = np.asarray(g.geometry.values, dtype=object)
    outside = [i for i, geom in enumerate(geoms) if not shapely.intersects(geom, box)]
    if outside:
        shown = ", ".join(str(i + 1) for i in outside[:5])
        b = tuple(round(v, 6) for v in grid.bounds)
        raise InputError(
            key,
            f"feature(s) {shown} of {len(geoms)} lie outside the grid (bounds {b}, in the grid CRS)",
            "check the polygons and their CRS",
        )


def read_polygons(ctx: RunContext, path: Path, key: str, layer: str | None = None) -> Any:
    """A polygon input, every feature of which must meet the grid."""
    polygons = vector.read_vector(ctx.inputs.resolve(path, key), key=key, layer=layer)
    check_polygons_on_grid(polygons, ctx.grid, key)
    return polygons


def response_levels(values: pd.Series, key: str, field_name: str) -> np.ndarray:
    """Response levels from names (avoid/reduce/reverse) or codes 1-3; anything else is an error."""
    out = np.empty(len(values), np.int16)
    for i, v in enumerate(values):
        code = None
        if isinstance(v, str):
            code = codes.RESPONSE_LEVELS.get(v.strip().lower())
            if code is None and v.strip().isdigit():
                code = int(v.strip())
        elif v is not None and not (isinstance(v, float) and math.isnan(v)):
            with_int = float(v)
            code = int(with_int) if with_int.is_integer() else None
        if code not in codes.RESPONSE_HIERARCHY.codes:
            raise InputError(
                f"{key} (feature {i + 1})",
                f"bad {field_name} value {v!r}",
                "use avoid, reduce or reverse (or 1, 2, 3)",
            )
        out[i] = code
    return out


def intervention_effects(gdf: Any, ic: Any, key: str) -> np.ndarray:
    """Expected share of success (0-1) of each intervention polygon, from its field or the default."""
    if ic.effect_field is None or ic.effect_field not in gdf.columns:
        if ic.effect_field is not None and ic.effect_field != "effect":
            raise InputError(
                key,
                f"has no field {ic.effect_field!r} "
                f"(it has {', '.join(c for c in gdf.columns if c != 'geometry')})",
                "set neutrality.planning.interventions.effect_field to one of them",
            )
        return np.full(len(gdf), ic.effect, np.float32)
    raw = pd.to_numeric(gdf[ic.effect_field], errors="coerce").to_numpy(np.float64)
    text = gdf[ic.effect_field].astype(str)
    bad = [
        i
        for i, (v, t) in enumerate(zip(raw, text, strict=True))
        if (np.isnan(v) and t not in ("None", "nan"))
    ]
    bad += [i for i, v in enumerate(raw) if np.isfinite(v) and not (0 <= v <= 1)]
    if bad:
        i = sorted(bad)[0]
        raise InputError(
            f"{key} (feature {i + 1})",
            f"bad {ic.effect_field} value {gdf[ic.effect_field].iloc[i]!r}",
            "give the expected share that succeeds, a number from 0 to 1",
        )
    return np.where(np.isnan(raw), ic.effect, raw).astype(np.float32)


def check_target_scopes(ctx: RunContext) -> None:
    """Every target's scope is the area of interest or a region."""
    scopes = {codes.AOI_SCOPE, *ctx.region_names.values()}
    for i, t in enumerate(ctx.config.neutrality.targets):
        if t.scope not in scopes:
            raise ConfigError(
                f"neutrality.targets[{i}].scope",
                f"{t.scope!r} is neither '{codes.AOI_SCOPE}' nor a region",
                f"use one of {sorted(scopes)}",
            )


def read_drivers(ctx: RunContext) -> list[DriverRecord]:
    """Driver records from a file (``neutrality.drivers: path``) or the config's list."""
    drivers = ctx.config.neutrality.drivers
    if isinstance(drivers, Path):
        path = ctx.inputs.resolve(drivers, "neutrality.drivers")
        return list(read_driver_records(path, "neutrality.drivers"))
    return [
        DriverRecord(
            **{k: (tuple(v) if k == "at" else v) for k, v in d.model_dump(exclude_none=True).items()},
            where=f"neutrality.drivers[{i}]",
        )
        for i, d in enumerate(drivers)
    ]


def read_anticipated_losses(ctx: RunContext) -> xr.DataArray | None:
    """int16 1 inside any planned-loss polygon, 0 outside (NODATA outside the AOI), or None."""
    mask = None
    for i, src in enumerate(ctx.config.neutrality.planning.anticipated_losses):
        key = f"neutrality.planning.anticipated_losses[{i}]"
        polygons = read_polygons(ctx, src.path, key, src.layer)
        burnt = ctx.align(vector.rasterize(polygons, ctx.grid, chunks=ctx.chunks)) == 1
        mask = burnt if mask is None else (mask | burnt)
    if mask is None:
        return None
    anticipated = mask_outside(mask.astype(codes.CATEGORICAL_DTYPE), ctx.inside)
    anticipated.attrs = {"method": "rasterize", "meaning": "1 inside a planned-loss polygon"}
    return anticipated


def read_interventions(ctx: RunContext, out: NeutralityInputs) -> None:
    """Planned interventions: their response level (int16 1-3) and expected effect (0-1) rasters."""
    ic = ctx.config.neutrality.planning.interventions
    key = "neutrality.planning.interventions"
    gdf = read_polygons(ctx, ic.path, key, ic.layer)
    if ic.level_field not in gdf.columns:
        raise InputError(
            key,
            f"has no field {ic.level_field!r} "
            f"(it has {', '.join(c for c in gdf.columns if c != 'geometry')})",
            "set neutrality.planning.interventions.level_field to the field of the levels",
        )
    levels = response_levels(gdf[ic.level_field], key, ic.level_field)
    effects = intervention_effects(gdf, ic, key)
    grid, chunks = ctx.grid, ctx.chunks
    level_raster = ctx.align(vector.rasterize(gdf, grid, values=levels, fill=NODATA, chunks=chunks))
    effect_raster = ctx.align(
        vector.rasterize(gdf, grid, values=effects, fill=np.nan, chunks=chunks, dtype="float32")
    )
    out.interventions = mask_outside(level_raster, ctx.inside)
    out.interventions.attrs = {"method": "rasterize", "field": ic.level_field}
    out.effect = effect_raster.where(ctx.inside & (level_raster != NODATA))
    out.planning["interventions"] = {
        "features": len(gdf),
        "levels": {codes.RESPONSE_HIERARCHY.name_of(int(c)): int((levels == c).sum()) for c in set(levels)},
    }


def read_neutrality_inputs(ctx: RunContext) -> NeutralityInputs:
    """Read and check the planning polygons, drivers and target scopes (lazy rasters).

    Raises one-line :class:`~ldnkit.errors.LdnError` s for: target scopes that are not a region,
    unknown driver names, a planning horizon not after the period, planning polygons outside the
    grid, bad response levels or effects.
    """
    nt = ctx.config.neutrality
    out = NeutralityInputs(period=nt.period or ctx.plans[-1].name)
    check_target_scopes(ctx)
    out.drivers = read_drivers(ctx)
    if nt.planning is None:
        return out
    plan = next(p for p in ctx.plans if p.name == out.period)
    if nt.planning.horizon <= plan.end:
        raise ConfigError(
            "neutrality.planning.horizon",
            f"is {nt.planning.horizon}, not after the end of the accounted period {out.period} ({plan.end})",
            "give a later horizon year, e.g. 2030",
        )
    out.anticipated = read_anticipated_losses(ctx)
    if nt.planning.interventions is not None:
        read_interventions(ctx, out)
    return out


__all__ = [
    "NeutralityInputs",
    "check_polygons_on_grid",
    "intervention_effects",
    "read_neutrality_inputs",
    "read_polygons",
    "response_levels",
]
