"""The LDN parts of a run: false positive/negative corrections and neutrality accounting.

Called by :func:`ldnkit.pipeline.run` (inside ``_run_into``) in three steps:

1. :func:`prepare` — right after the grid, periods and regions are known and BEFORE the heavy
   SDG computation: reads and checks every polygon and record input (corrections, planning,
   drivers, target scopes) so bad inputs fail in a second, with one line and nothing written.
2. :func:`apply_corrections` — right after the period layers are written and before the SO1
   tables: recodes the SDG layer of each corrected period (GPG Addendum "error recode"), keeps
   ``sdg_uncorrected.tif`` / ``status_uncorrected.tif`` / ``status_expanded_uncorrected.tif``
   beside the corrected layers, and recomputes the status of every reporting period from the
   corrected SDG layers. Returns the PRAIS SO1-4.T3 table.
3. :func:`run_neutrality` — after the SO1 tables: land types, gains/losses, the balance sheet per
   land type and region, the response hierarchy, planning, hotspots/brightspots with drivers and
   voluntary targets, written under ``layers/neutrality/`` and returned as tables and a summary.

See docs/neutrality.md for the outputs and formulas.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import shapely
import xarray as xr

from ldnkit.io.grid import Grid, check_overlap, grid_of
from ldnkit.io.legend import read_tags
from ldnkit.io.read import open_layer
from ldnkit.io.write import write_layers

from . import codes
from .config import RunConfig
from .drivers import DriverRecord
from .errors import ConfigError, InputError, PeriodError
from .indicators import corrections as corr_mod
from .indicators import hotspots as hs
from .indicators import land_types as ltm
from .indicators import neutrality as nm
from .indicators import sdg as sdgmod
from .indicators.land_types import RuleClass, classify_by_rules
from .io import vector as vec_io
from .io.observations import read_observations
from .io.records import rasterize_corrections, read_corrections, read_driver_records
from .layer_meta import LAYER_TAG, LayerMeta
from .pipeline import PERIOD_LAYERS, _jsonable, _mask, _need_file, _tag
from .progress import Feedback
from .tables import AOI_SCOPE
from .tables import neutrality as ntab

__all__ = [
    "CorrectionOutputs",
    "NeutralityContext",
    "NeutralityOutputs",
    "Prepared",
    "apply_corrections",
    "prepare",
    "run_neutrality",
]

NODATA = codes.NODATA
#: Layers of a period that a correction replaces (the uncorrected ones are kept as <name>_uncorrected).
CORRECTED_LAYERS = ("sdg", "status", "status_expanded")
#: Legend of the planned-loss mask (a run-time layer: 1 inside a planned-loss polygon, 0 outside).
ANTICIPATED_LOSSES = codes.Legend(
    "anticipated_losses", (0, 1), ("No anticipated loss", "Anticipated loss"), ("#f5f5f5", "#7b3294")
)
TABLE_TITLES = {
    "LDN-1 Land types": "Land types (land potential): components and area (km²)",
    "LDN-2 Balance sheet": "Neutrality balance sheet: gains, losses and ΔLDN per land type (km²)",
    "LDN-3 Response hierarchy": "Response hierarchy: avoid, reduce, reverse per land type (km²)",
    "LDN-4 Projected balance": "Projected balance sheet to the planning horizon per land type (km²)",
    "LDN-5 Field observations": "Field observations compared with the land-type map and rules",
    "SO1-4.T3": "False positives and false negatives: corrections of the indicator",
    "SO1-4.T4": "Hotspots of land degradation",
    "SO1-4.T5": "Brightspots of land improvement",
    "SO1-VT.T1": "Voluntary LDN targets and progress",
}


def _titled(df: pd.DataFrame, tid: str) -> pd.DataFrame:
    df.attrs.setdefault("title", TABLE_TITLES.get(tid, tid))
    df.attrs.setdefault("id", tid)
    return df


def _categorical(a: xr.DataArray) -> xr.DataArray:
    """A categorical input as int16 with the file's own missing value (or NaN) as NODATA."""
    nd = a.attrs.get("nodata", a.rio.nodata)
    if np.issubdtype(a.dtype, np.floating):
        a = a.where(a.notnull() & (a != nd) if nd is not None else a.notnull())
        return a.fillna(NODATA).astype(codes.CATEGORICAL_DTYPE)
    wide = a.astype(np.int32)
    if nd is not None and nd != NODATA:
        wide = wide.where(wide != int(nd), NODATA)
    return wide.astype(codes.CATEGORICAL_DTYPE)


# ---------------------------------------------------------------------------------------------------
@dataclass
class NeutralityContext:
    """What the LDN stages need from the run being built (filled by ``pipeline._run_into``)."""

    cfg: RunConfig
    tmp: Path
    grid: Grid
    template: xr.DataArray
    inside: xr.DataArray  # bool, the area of interest
    area: xr.DataArray  # km² per pixel
    plans: list  # PeriodPlan, baseline first
    paths: dict[str, Path]  # written layers, "<folder>/<name>" -> path
    reopen: Callable[[str], xr.DataArray]  # a written layer, lazily, on the template's coords
    loader: Any  # pipeline._Loader
    fb: Feedback
    distributed: bool = False
    regions: xr.DataArray | None = None
    region_names: dict[int, str] = field(default_factory=dict)
    zones: xr.DataArray | None = None  # climate zones (int16) when given as a raster
    attrs: dict[str, dict] = field(default_factory=dict)  # layer key -> attrs (for summary.json)

    @property
    def chunks(self) -> int:
        return self.cfg.compute.chunk_size

    def align(self, a: xr.DataArray) -> xr.DataArray:
        return a.assign_coords(x=self.template.x, y=self.template.y)


@dataclass
class Prepared:
    """Polygon and record inputs of the LDN stages, read and checked before the heavy work."""

    corrections: list = field(default_factory=list)
    corrections_raster: dict[str, xr.DataArray] = field(default_factory=dict)  # period -> ids
    period: str | None = None
    anticipated: xr.DataArray | None = None  # int16 1 inside a planned-loss polygon, 0 outside
    interventions: xr.DataArray | None = None  # int16 1..3, NODATA none
    effect: xr.DataArray | None = None  # float32 0..1, NaN none
    drivers: list = field(default_factory=list)
    planning: dict[str, Any] = field(default_factory=dict)


def _period_names(plans: list) -> list[str]:
    return [p.name for p in plans]


def _check_polygons_on_grid(gdf, grid: Grid, key: str) -> None:
    """Every feature must meet the grid's extent (a planning polygon outside it is a mistake)."""
    g = gdf.to_crs(grid.crs) if gdf.crs is not None else gdf
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


def _read_polygons(cfg: RunConfig, path: Path, key: str, grid: Grid, layer: str | None = None):
    gdf = vec_io.read_vector(_need_file(cfg, path, key), key=key, layer=layer)
    _check_polygons_on_grid(gdf, grid, key)
    return gdf


def _levels(values: pd.Series, key: str, field_name: str) -> np.ndarray:
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


def _effects(gdf, ic, key: str) -> np.ndarray:
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


def prepare(
    cfg: RunConfig,
    grid: Grid,
    template: xr.DataArray,
    inside: xr.DataArray,
    plans: list,
    region_names: Mapping[int, str],
) -> Prepared:
    """Read and check the corrections, planning polygons, drivers and target scopes (lazy rasters).

    Raises one-line :class:`~ldnkit.errors.LdnError` s for: unknown period names, overlapping
    correction polygons with conflicting types, planning polygons outside the grid, bad
    response levels or effects, unknown driver names, target scopes that are not a region.
    """
    out = Prepared()
    names = _period_names(plans)
    chunks = cfg.compute.chunk_size

    def on_grid(a: xr.DataArray) -> xr.DataArray:
        return a.assign_coords(x=template.x, y=template.y)

    if cfg.corrections is not None:
        key = "corrections.path"
        path = _need_file(cfg, cfg.corrections.path, key)
        corrections, gdf = read_corrections(path, grid, key, valid_periods=names)
        for c in corrections:
            unknown = [p for p in c.periods if p != "all" and p not in names]
            if unknown:
                raise PeriodError(
                    f"{key} (correction {c.id})",
                    f"unknown period name(s) {unknown}",
                    f"use names of the config's periods ({', '.join(names)}) or 'all'",
                )
        out.corrections = list(corrections)
        # one raster per period: overlapping polygons may apply to different periods
        out.corrections_raster = {
            n: on_grid(rasterize_corrections(gdf, grid, chunks, period=n))
            .where(inside, NODATA)
            .astype(codes.CATEGORICAL_DTYPE)
            for n in names
        }

    nt = cfg.neutrality
    if nt is None:
        return out
    out.period = nt.period or names[-1]
    scopes = {AOI_SCOPE, *region_names.values()}
    for i, t in enumerate(nt.targets):
        if t.scope not in scopes:
            raise ConfigError(
                f"neutrality.targets[{i}].scope",
                f"{t.scope!r} is neither '{AOI_SCOPE}' nor a region",
                f"use one of {sorted(scopes)}",
            )
    if isinstance(nt.drivers, Path):
        path = _need_file(cfg, nt.drivers, "neutrality.drivers")
        out.drivers = list(read_driver_records(path, "neutrality.drivers"))
    else:
        out.drivers = [
            DriverRecord(
                **{k: (tuple(v) if k == "at" else v) for k, v in d.model_dump(exclude_none=True).items()},
                where=f"neutrality.drivers[{i}]",
            )
            for i, d in enumerate(nt.drivers)
        ]

    pl = nt.planning
    if pl is not None:
        plan = next(p for p in plans if p.name == out.period)
        if pl.horizon <= plan.end:
            raise ConfigError(
                "neutrality.planning.horizon",
                f"is {pl.horizon}, not after the end of the accounted period {out.period} ({plan.end})",
                "give a later horizon year, e.g. 2030",
            )
        mask = None
        for i, src in enumerate(pl.anticipated_losses):
            key = f"neutrality.planning.anticipated_losses[{i}]"
            gdf = _read_polygons(cfg, src.path, key, grid, src.layer)
            burnt = on_grid(vec_io.rasterize(gdf, grid, chunks=chunks)) == 1
            mask = burnt if mask is None else (mask | burnt)
        if mask is not None:
            out.anticipated = _mask(mask.astype(codes.CATEGORICAL_DTYPE), inside)
            out.anticipated.attrs = {"method": "rasterize", "meaning": "1 inside a planned-loss polygon"}
        ic = pl.interventions
        if ic is not None:
            key = "neutrality.planning.interventions"
            gdf = _read_polygons(cfg, ic.path, key, grid, ic.layer)
            if ic.level_field not in gdf.columns:
                raise InputError(
                    key,
                    f"has no field {ic.level_field!r} "
                    f"(it has {', '.join(c for c in gdf.columns if c != 'geometry')})",
                    "set neutrality.planning.interventions.level_field to the field of the levels",
                )
            levels = _levels(gdf[ic.level_field], key, ic.level_field)
            effects = _effects(gdf, ic, key)
            lev = on_grid(vec_io.rasterize(gdf, grid, values=levels, fill=NODATA, chunks=chunks))
            eff = on_grid(
                vec_io.rasterize(gdf, grid, values=effects, fill=np.nan, chunks=chunks, dtype="float32")
            )
            out.interventions = _mask(lev, inside)
            out.interventions.attrs = {"method": "rasterize", "field": ic.level_field}
            out.effect = eff.where(inside & (lev != NODATA))
            out.planning["interventions"] = {
                "features": len(gdf),
                "levels": {
                    codes.RESPONSE_HIERARCHY.name_of(int(c)): int((levels == c).sum()) for c in set(levels)
                },
            }
    return out


# ---------------------------------------------------------------------------------------------------
@dataclass
class CorrectionOutputs:
    table: pd.DataFrame | None = None
    layers: dict[str, Path] = field(default_factory=dict)  # the *_uncorrected layers added
    attrs: dict[str, dict] = field(default_factory=dict)  # layer key -> attrs of the rewritten layers
    meta: dict[str, LayerMeta] = field(default_factory=dict)  # layer key -> metadata, both kinds
    summary: dict[str, Any] = field(default_factory=dict)


def _applies(c, period: str) -> bool:
    return "all" in c.periods or period in c.periods


def _keep_uncorrected(path: Path, meta: LayerMeta) -> Path:
    """Copy a written layer to ``<stem>_uncorrected.tif`` with its own metadata and remove the
    original and its sidecars (.qml, .tif.aux.xml), making room for the corrected layer.

    A copy, not a rename: the layer's metadata tag says what it is, and a COG's tags cannot be
    updated in place without breaking its layout."""
    new = path.with_name(f"{path.stem}_uncorrected.tif")
    da = open_layer(path).squeeze(drop=True)
    da.attrs = {}  # what the reader added (its path ...) is not the layer's
    # the original's own tags (method, inputs ...), exactly; only what the layer is changes
    tags = {k: v for k, v in read_tags(path).items() if k != LAYER_TAG} | {LAYER_TAG: meta.tag()}
    write_layers([(da, new, {"legend": meta.legend, "description": meta.description, "tags": tags})])
    for old in (path, path.with_suffix(".qml"), Path(f"{path}.aux.xml")):
        old.unlink(missing_ok=True)
    return new


#: Attributes :func:`ldnkit.io.read.open_layer` adds to a layer it reads back.
_READER_ATTRS = frozenset(
    {"source", "LDNKIT_ATTRS", "LDNKIT_LEGEND", LAYER_TAG, "_FillValue", "AREA_OR_POINT"}
)


def apply_corrections(ctx: NeutralityContext, prep: Prepared) -> CorrectionOutputs:
    """Recode the SDG layer of each corrected period and recompute every reporting period's status.

    For a period with a correction that applies to it (its name or ``all`` in the polygon's
    periods), ``layers/<period>/sdg.tif`` becomes ``sdg_uncorrected.tif`` and the recoded layer is
    written as ``sdg.tif``; for every reporting period whose own SDG or the baseline's was recoded,
    ``status`` and ``status_expanded`` likewise (recomputed with the status matrices from the
    corrected SDG layers). The uncorrected files keep their legend and QML. Returns SO1-4.T3.
    """

    out = CorrectionOutputs()
    corrections, raster = prep.corrections, prep.corrections_raster
    names = _period_names(ctx.plans)
    baseline = ctx.plans[0].name
    own = {n: any(_applies(c, n) for c in corrections) for n in names}
    status_redo = {p.name for p in ctx.plans[1:] if own[p.name] or own[baseline]}
    # 1. keep the uncorrected layers beside the corrected ones
    uncorrected: dict[str, xr.DataArray] = {}
    for n in names:
        todo = (["sdg"] if own[n] else []) + (["status", "status_expanded"] if n in status_redo else [])
        for layer in todo:
            key = f"{n}/{layer}"
            if key not in ctx.paths:
                continue
            meta = PERIOD_LAYERS[layer]
            meta = meta.replace(
                title=f"{meta.title}, uncorrected",
                description=f"{meta.description}, before corrections",
                order=meta.order + 50,
                subgroup=n,
                report_map=False,
            )
            out.layers[f"{n}/{layer}_uncorrected"] = _keep_uncorrected(ctx.paths[key], meta)
            out.meta[f"{n}/{layer}_uncorrected"] = meta
    for n in names:
        ukey = f"{n}/sdg_uncorrected"
        path = out.layers.get(ukey, ctx.paths[f"{n}/sdg"])
        uncorrected[n] = ctx.align(open_layer(path, chunks=ctx.chunks).squeeze(drop=True))
    # 2. corrected SDG of each period, status of each reporting period from them
    corrected: dict[str, xr.DataArray] = {}
    for n in names:
        if own[n]:
            rec = corr_mod.recode(uncorrected[n], raster[n], corrections, n)
            corrected[n] = _mask(rec, ctx.inside)
        else:
            corrected[n] = uncorrected[n]
    items = []
    folder = ctx.tmp / "layers"
    ids = [int(c.id) for c in corrections]

    def add(n: str, layer: str, da: xr.DataArray) -> None:
        # what the reader added (the temporary path, the raw tags) says nothing about the method
        attrs = {k: v for k, v in da.attrs.items() if k not in _READER_ATTRS}
        attrs["corrections"] = [int(c.id) for c in corrections if _applies(c, n)] or ids
        attrs["corrected"] = True
        da.attrs = attrs
        meta = PERIOD_LAYERS[layer]
        meta = meta.replace(
            description=meta.description + ", corrected for false positives/negatives", subgroup=n
        )
        tags = {k: _tag(v) for k, v in attrs.items()} | {LAYER_TAG: meta.tag()}
        items.append(
            (
                da,
                folder / n / f"{layer}.tif",
                {"legend": meta.legend, "description": meta.description, "tags": tags},
            )
        )
        out.attrs[f"{n}/{layer}"] = attrs
        out.meta[f"{n}/{layer}"] = meta

    for n in names:
        if own[n]:
            add(n, "sdg", corrected[n])
        if n in status_redo:
            add(n, "status", _mask(sdgmod.status(corrected[baseline], corrected[n]), ctx.inside))
            add(
                n,
                "status_expanded",
                _mask(sdgmod.status(corrected[baseline], corrected[n], expanded=True), ctx.inside),
            )
    with ctx.fb.stage("Corrections (false positives/negatives)", pixels=ctx.grid.width * ctx.grid.height):
        write_layers(items)
    # 3. the SO1-4.T3 table, from the written layers
    before = {n: uncorrected[n] for n in names if own[n]}
    after = {
        n: ctx.align(open_layer(ctx.paths[f"{n}/sdg"], chunks=ctx.chunks).squeeze(drop=True)) for n in before
    }
    table = corr_mod.correction_table(corrections, {n: raster[n] for n in before}, before, after, ctx.area)
    out.table = _titled(table, "SO1-4.T3")
    out.summary = {
        "file": str(ctx.cfg.resolve(ctx.cfg.corrections.path)),
        "corrections": len(corrections),
        "periods_recoded": [n for n in names if own[n]],
        "status_recomputed": sorted(status_redo),
        "uncorrected_layers": sorted(out.layers),
    }
    return out


# ---------------------------------------------------------------------------------------------------
def neutrality_meta(name: str, legend, description: str, order: int) -> LayerMeta:
    """Metadata of a layer of the neutrality group (title from the description's first clause)."""
    title = description.split(" (")[0].split(", ")[0]
    unit = "class" if legend is not None else ""
    return LayerMeta(title, "Neutrality", description, unit, legend, order)


@dataclass
class NeutralityOutputs:
    layers: dict[str, Path] = field(default_factory=dict)
    attrs: dict[str, dict] = field(default_factory=dict)
    meta: dict[str, LayerMeta] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def _components(ctx: NeutralityContext, plan) -> tuple[dict, dict, dict]:
    """Land-type components (int16, NODATA outside the AOI), their labels, and the rule inputs."""
    cfg, grid = ctx.cfg, ctx.grid
    lt = cfg.neutrality.land_types
    comps: dict[str, xr.DataArray] = {}
    labels: dict[str, dict[int, str]] = {}
    rule_inputs: dict[str, tuple[dict, list, int | None]] = {}
    for name, path in lt.layers.items():
        key = f"neutrality.land_types.layers.{name}"
        check_overlap(grid, grid_of(_need_file(cfg, path, key)), key)
        a = ctx.loader.categorical(path, key, grid).squeeze(drop=True)
        comps[name] = _mask(ctx.align(_categorical(a)), ctx.inside)
    if lt.rules:
        for i, rule in enumerate(lt.rules):
            layers = {}
            for var, path in rule.layers.items():
                key = f"neutrality.land_types.rules[{i}].layers.{var}"
                check_overlap(grid, grid_of(_need_file(cfg, path, key)), key)
                layers[var] = ctx.align(ctx.loader.continuous(path, key, grid).squeeze(drop=True)).where(
                    ctx.inside
                )
            classes = [
                RuleClass(code=c.code, label=c.label, when={k: (v[0], v[1]) for k, v in c.when.items()})
                for c in rule.classes
            ]
            comps[rule.name] = _mask(classify_by_rules(layers, classes, otherwise=rule.otherwise), ctx.inside)
            labels[rule.name] = {c.code: c.label for c in rule.classes}
            if rule.otherwise is not None:
                labels[rule.name].setdefault(rule.otherwise, "other")
            rule_inputs[rule.name] = (layers, classes, rule.otherwise)
    if lt.climate_zones:
        if ctx.zones is not None:
            z = ctx.zones
            valid = (z >= min(codes.CLIMATE_ZONE.codes)) & (z <= max(codes.CLIMATE_ZONE.codes))
            comps["climate"] = _mask(z.where(valid, NODATA).astype(codes.CATEGORICAL_DTYPE), ctx.inside)
            labels["climate"] = codes.CLIMATE_ZONE.as_dict()
        else:
            zone = cfg.inputs.climate_zones.zone
            one = xr.full_like(ctx.template, 1, dtype=codes.CATEGORICAL_DTYPE)
            comps["climate"] = _mask(one, ctx.inside)
            labels["climate"] = {1: zone.replace("_", " ").capitalize()}
    if lt.land_cover:
        year = ctx.plans[0].land_cover[0]
        lc = ctx.reopen(f"land_cover/land_cover_{year}")
        comps["land_cover"] = _mask(lc, ctx.inside)
        labels["land_cover"] = codes.LAND_COVER.as_dict()
    for name, lab in lt.labels.items():
        labels.setdefault(name, {}).update({int(k): str(v) for k, v in lab.items()})
    return comps, labels, rule_inputs


def _check_coverage(
    ctx: NeutralityContext, comps: Mapping[str, xr.DataArray], status: xr.DataArray, land
) -> None:
    """InputError when land of the AOI with a valid status has no land type (a component is missing)."""
    need = ctx.inside & (status != NODATA) & land
    missing = {n: need & (c == NODATA) for n, c in comps.items()}
    any_missing = None
    for m in missing.values():
        any_missing = m if any_missing is None else (any_missing | m)
    lazy = {
        "pixels": any_missing.sum(),
        "km2": ctx.area.where(any_missing, 0.0).sum(),
        **{n: m.sum() for n, m in missing.items()},
    }
    (res,) = dask.compute(lazy)
    n = int(res["pixels"])
    if n == 0:
        return
    parts = [f"{name} ({int(res[name])} pixels)" for name in comps if int(res[name])]
    raise InputError(
        "neutrality.land_types",
        f"land types do not cover {float(res['km2']):.3f} km² ({n} pixels) of land with a status in the area "
        f"of interest; missing there: {', '.join(parts)}",
        "give components that cover the whole area of interest (fill their gaps or add a class)",
    )


def _verdict(balance: pd.DataFrame) -> dict[str, Any]:
    scope_col = "Scope"
    lt_col = "Land type"
    aoi = balance[balance[scope_col] == AOI_SCOPE] if scope_col in balance.columns else balance
    total = aoi[aoi[lt_col].astype(str) == "All land types"]
    per = aoi[aoi[lt_col].astype(str) != "All land types"]
    achieved = bool(total["LDN achieved"].iloc[0]) if len(total) else bool(per["LDN achieved"].all())
    row = total.iloc[0] if len(total) else None

    def num(col: str) -> float | None:
        return float(row[col]) if row is not None and col in row.index else None

    failing = (
        [str(v) for v in per.loc[~per["LDN achieved"].astype(bool), "Land type name"]] if len(per) else []
    )
    return {
        "ldn_achieved": achieved,
        "gains_km2": num("Gains (km²)"),
        "losses_km2": num("Losses (km²)"),
        "delta_ldn_km2": num("ΔLDN (km²)"),
        "land_types": int(len(per)),
        "land_types_achieved": int(per["LDN achieved"].astype(bool).sum()) if len(per) else 0,
        "land_types_not_achieved": failing,
        "text": (
            "LDN achieved: no net loss in every land type"
            if achieved
            else f"LDN not achieved: net loss in {len(failing)} of {len(per)} land types"
        ),
    }


def run_neutrality(
    ctx: NeutralityContext, prep: Prepared, so1_tables: Mapping[str, Mapping[str, pd.DataFrame]]
) -> NeutralityOutputs:
    """Land types, balance sheet, response hierarchy, planning, hotspots and targets of a run.

    Writes ``layers/neutrality/*.tif`` into the run folder being built and returns the tables
    (for the "Area of interest" scope of the workbook) and ``summary.json["neutrality"]``.
    """

    cfg, nt = ctx.cfg, ctx.cfg.neutrality
    out = NeutralityOutputs()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    period = prep.period
    plan = next(p for p in ctx.plans if p.name == period)
    status7 = ctx.reopen(f"{period}/status_expanded")
    status3 = ctx.reopen(f"{period}/status")
    lpd = ctx.reopen(f"{period}/lpd")
    final_lc = ctx.reopen(f"land_cover/land_cover_{plan.land_cover[1]}")
    land = (final_lc >= 1) & (final_lc <= 6)

    # ---- land types -------------------------------------------------------------------------------
    comps, labels, rule_inputs = _components(ctx, plan)
    _check_coverage(ctx, comps, status7, land)
    with ctx.fb.stage("Land types", pixels=ctx.grid.width * ctx.grid.height):
        lt = ltm.land_types(comps, area=ctx.area, labels=labels, min_area_km2=nt.land_types.min_area_km2)
    lt_legend = ltm.land_type_legend(lt)
    lt_names = lt_legend.as_dict()
    timings["land_types"] = time.perf_counter() - t

    # ---- layers that need no table: land types, gains/losses, response hierarchy, planning ----------
    t = time.perf_counter()
    folder = ctx.tmp / "layers" / "neutrality"
    folder.mkdir(parents=True, exist_ok=True)
    items = []

    def add(name: str, da: xr.DataArray, legend, desc: str) -> None:
        path = folder / f"{name}.tif"
        meta = neutrality_meta(name, legend, desc, len(items))
        out.meta[f"neutrality/{name}"] = meta
        tags = {k: _tag(v) for k, v in da.attrs.items()} | {LAYER_TAG: meta.tag()}
        items.append((da, path, {"legend": legend, "description": desc, "tags": tags}))
        out.layers[f"neutrality/{name}"] = path
        out.attrs[f"neutrality/{name}"] = _jsonable(dict(da.attrs))

    add("land_types", _mask(lt.layer, ctx.inside), lt_legend, "Land types (land potential)")
    gl = _mask(nm.gains_losses(status7), ctx.inside)
    add("gains_losses", gl, codes.GAINS_LOSSES, f"Neutrality gains and losses, {period} (-1 loss, 1 gain)")
    risk = None
    if nt.risk is not None:
        key = "neutrality.risk.path"
        check_overlap(ctx.grid, grid_of(_need_file(cfg, nt.risk.path, key)), key)
        risk = ctx.align(ctx.loader.continuous(nt.risk.path, key, ctx.grid).squeeze(drop=True))
    rh = nm.response_hierarchy(
        status3, lpd, status_classes=3, risk=risk, risk_threshold=nt.risk.threshold if nt.risk else 0.0
    )
    add(
        "response_hierarchy",
        _mask(rh, ctx.inside),
        codes.RESPONSE_HIERARCHY,
        "Response hierarchy (avoid, reduce, reverse)",
    )
    if prep.anticipated is not None:
        add("anticipated_losses", prep.anticipated, ANTICIPATED_LOSSES, "Anticipated losses (planned)")
    if prep.interventions is not None:
        add(
            "interventions",
            prep.interventions,
            codes.RESPONSE_HIERARCHY,
            "Planned interventions by response level",
        )
    with ctx.fb.stage(
        "Neutrality layers", pixels=ctx.grid.width * ctx.grid.height, distributed=ctx.distributed
    ):
        write_layers(items)
    timings["layers"] = time.perf_counter() - t

    def reopen(name: str) -> xr.DataArray:
        return ctx.align(open_layer(out.layers[f"neutrality/{name}"], chunks=ctx.chunks).squeeze(drop=True))

    # ---- balance sheet, response areas, projected balance ---------------------------------------------
    t = time.perf_counter()
    lt_layer = reopen("land_types")
    regions = ctx.regions
    with ctx.fb.stage("Balance sheet", pixels=ctx.grid.width * ctx.grid.height, distributed=ctx.distributed):
        balance = nm.neutrality(
            status7,
            lt_layer,
            area=ctx.area,
            regions=regions,
            region_names=dict(ctx.region_names) if regions is not None else None,
            land_type_names=lt_names,
        )
        rh_areas = nm.response_areas(
            reopen("response_hierarchy"),
            lt_layer,
            ctx.area,
            regions=regions,
            region_names=dict(ctx.region_names) if regions is not None else None,
            land_type_names=lt_names,
        )
        projected = None
        if nt.planning is not None:
            projected = nm.projected_balance(
                status7,
                lt_layer,
                ctx.area,
                period_years=float(plan.end - plan.start + 1),
                horizon_years=float(nt.planning.horizon - plan.end),
                anticipated_loss=reopen("anticipated_losses") if prep.anticipated is not None else None,
                interventions=reopen("interventions") if prep.interventions is not None else None,
                effect=prep.effect if prep.effect is not None else 1.0,
                land_type_names=lt_names,
                regions=regions,
                region_names=dict(ctx.region_names) if regions is not None else None,
            )
    timings["balance"] = time.perf_counter() - t

    # ---- field observations ---------------------------------------------------------------------------
    obs_summary = None
    obs_cfg = nt.land_types.observations
    if obs_cfg is not None:
        key = "neutrality.land_types.observations"
        points = read_observations(
            _need_file(cfg, obs_cfg.path, f"{key}.path"),
            x=obs_cfg.x,
            y=obs_cfg.y,
            crs=obs_cfg.crs,
            key=key,
        )
        first_rule = next(iter(rule_inputs.values()), None)
        observed_map = None
        if first_rule is not None and obs_cfg.class_field is not None:
            # capability classes I..VIII recorded in the field -> the rule classes named by them
            observed_map = ltm.roman_range_map(first_rule[1]) or None
        per_point, obs_summary = ltm.check_observations(
            points,
            lt_layer,
            rule_layers=first_rule[0] if first_rule else None,
            classes=first_rule[1] if first_rule else None,
            otherwise=first_rule[2] if first_rule else None,
            observed_class_field=obs_cfg.class_field,
            observed_map=observed_map,
            land_type_names=lt_names,
        )
        out.tables["LDN-5 Field observations"] = _titled(per_point, "LDN-5 Field observations")

    # ---- hotspots and brightspots ------------------------------------------------------------------------
    t = time.perf_counter()
    h = nt.hotspots
    attributes = {
        "Land type": lt_layer,
        "Land-cover transition": ctx.reopen(f"{period}/land_cover_transition"),
        "LPD class": lpd,
    }
    attribute_names = {
        "Land type": lt_names,
        "Land-cover transition": codes.LAND_COVER_TRANSITION.as_dict(),
        "LPD class": codes.LPD.as_dict(),
    }
    if regions is not None:
        attributes = {"Region": regions, **attributes}
        attribute_names = {"Region": dict(ctx.region_names), **attribute_names}
    # One kind at a time, its id raster written before the next is labelled: labelling holds whole
    # rasters (5 bytes per pixel), and two kept label rasters would add 8 more.
    names = _period_names(ctx.plans)
    records = [d for d in prep.drivers if d.period in (None, period) or d.period not in names]
    spot_tables: dict[str, pd.DataFrame] = {}
    with ctx.fb.stage("Hotspots and brightspots", pixels=ctx.grid.width * ctx.grid.height):
        for kind, name, what in (
            ("hotspot", "hotspots", "degradation"),
            ("brightspot", "brightspots", "improvement"),
        ):
            labels, table = hs.find_hotspots(
                status3,
                kind=kind,
                area=ctx.area,
                min_area_km2=h.min_area_km2,
                connectivity=h.connectivity,
                method=h.method,
                window=h.window,
                density_threshold=h.density_threshold,
                attributes=attributes,
                attribute_names=attribute_names,
            )
            if records:
                # records about another period are kept out; free-text periods that are not names apply
                table = hs.attach_drivers(table, labels, records)
            spot_tables[kind] = table
            # ids 1..N join the map to table SO1-4.T4/T5; no legend (thousands of ids at national
            # scale): hotspot_kind.tif carries the styled map
            labels = ctx.align(labels)
            path = folder / f"{name}.tif"
            desc = f"{kind.capitalize()} ids ({what}), {period}: the Id column of {table.attrs['id']}"
            meta = neutrality_meta(name, None, desc, 90).replace(unit="id")
            out.meta[f"neutrality/{name}"] = meta
            tags = {k: _tag(v) for k, v in labels.attrs.items()} | {LAYER_TAG: meta.tag()}
            write_layers(
                [(labels.astype("int32"), path, {"legend": None, "description": desc, "tags": tags})]
            )
            out.layers[f"neutrality/{name}"] = path
            out.attrs[f"neutrality/{name}"] = _jsonable(dict(labels.attrs))
            del labels
        hot_table, bright_table = spot_tables["hotspot"], spot_tables["brightspot"]
        reopened = [
            ctx.align(open_layer(out.layers[f"neutrality/{n}"], chunks=ctx.chunks).squeeze(drop=True))
            for n in ("hotspots", "brightspots")
        ]
        kind_layer = _mask(hs.hotspot_kind_layer(*reopened), ctx.inside).rio.write_crs(ctx.grid.crs)
        path = folder / "hotspot_kind.tif"
        desc = f"Hotspots (-1) and brightspots (1), {period}"
        meta = neutrality_meta("hotspot_kind", codes.HOTSPOTS, desc, 80)
        out.meta["neutrality/hotspot_kind"] = meta
        tags = {k: _tag(v) for k, v in kind_layer.attrs.items()} | {LAYER_TAG: meta.tag()}
        write_layers([(kind_layer, path, {"legend": codes.HOTSPOTS, "description": desc, "tags": tags})])
        out.layers["neutrality/hotspot_kind"] = path
        out.attrs["neutrality/hotspot_kind"] = _jsonable(dict(kind_layer.attrs))
    timings["hotspots"] = time.perf_counter() - t

    # ---- targets -------------------------------------------------------------------------------------
    targets_table = None
    if nt.targets:
        targets = [
            ntab.Target(
                id=tg.id,
                kind=tg.kind,
                description=tg.description,
                year=tg.year,
                scope=tg.scope,
                land_cover=tg.land_cover,
                base_year=tg.base_year,
                value=tg.value,
            )
            for tg in nt.targets
        ]
        targets_table = ntab.evaluate_targets(targets, balance=balance, tables=so1_tables, period=period)

    # ---- tables and summary ---------------------------------------------------------------------------
    legend_df = lt.legend
    out.tables["LDN-1 Land types"] = _titled(legend_df, "LDN-1 Land types")
    out.tables["LDN-2 Balance sheet"] = _titled(balance, "LDN-2 Balance sheet")
    out.tables["LDN-3 Response hierarchy"] = _titled(rh_areas, "LDN-3 Response hierarchy")
    if projected is not None:
        out.tables["LDN-4 Projected balance"] = _titled(projected, "LDN-4 Projected balance")
    out.tables["SO1-4.T4"] = _titled(hot_table, "SO1-4.T4")
    out.tables["SO1-4.T5"] = _titled(bright_table, "SO1-4.T5")
    if targets_table is not None:
        out.tables["SO1-VT.T1"] = _titled(targets_table, "SO1-VT.T1")
    # order as documented
    order = [k for k in TABLE_TITLES if k in out.tables]
    out.tables = {k: out.tables[k] for k in order}

    def records(df: pd.DataFrame | None) -> list[dict]:
        if df is None:
            return []
        return _jsonable(df.replace({np.nan: None}).to_dict(orient="records"))

    out.summary = {
        "period": period,
        "verdict": _verdict(balance),
        "balance_sheet": records(balance),
        "excluded_km2": _jsonable(balance.attrs.get("excluded_km2")),
        "land_types": {
            "components": list(comps),
            "n_types": int(len(lt_names)),
            "min_area_km2": nt.land_types.min_area_km2,
            "merges": records(lt.merges),
            "attrs": _jsonable(dict(lt.layer.attrs)),
        },
        "hotspots": {
            "n": int(len(hot_table)),
            "area_km2": float(hot_table["Area (km²)"].sum()) if len(hot_table) else 0.0,
        },
        "brightspots": {
            "n": int(len(bright_table)),
            "area_km2": float(bright_table["Area (km²)"].sum()) if len(bright_table) else 0.0,
        },
        "targets": records(targets_table),
        "planning": {
            "horizon": nt.planning.horizon if nt.planning else None,
            "period_years": plan.end - plan.start + 1,
            **prep.planning,
            "projected": records(projected),
        },
        "observations": _jsonable(obs_summary.to_dict(orient="records"))
        if isinstance(obs_summary, pd.DataFrame)
        else _jsonable(obs_summary),
        "settings": nt.model_dump(mode="json"),
        "timings_s": timings,
    }
    return out
