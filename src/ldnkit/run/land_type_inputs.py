"""Land types of the neutrality stage: the components (input rasters, rule-based classes, climate
zones, land cover) on the grid, their coverage of the land, and the field-observation check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.errors import InputError
from ldnkit.indicators import land_types
from ldnkit.indicators.land_types import RuleClass, classify_by_rules
from ldnkit.io.observations import read_observations
from ldnkit.run.context import RunContext, mask_outside
from ldnkit.run.so1 import open_climate_zones

NODATA = codes.NODATA


def categorical_input(a: xr.DataArray) -> xr.DataArray:
    """A categorical input as int16 with the file's own missing value (or NaN) as NODATA."""
    nd = a.attrs.get("nodata", a.rio.nodata)
    if np.issubdtype(a.dtype, np.floating):
        a = a.where(a.notnull() & (a != nd) if nd is not None else a.notnull())
        return a.fillna(NODATA).astype(codes.CATEGORICAL_DTYPE)
    wide = a.astype(np.int32)
    if nd is not None and nd != NODATA:
        wide = wide.where(wide != int(nd), NODATA)
    return wide.astype(codes.CATEGORICAL_DTYPE)


def rule_component(ctx: RunContext, i: int, rule: Any) -> tuple[xr.DataArray, dict, tuple]:
    """One rule-based component: its classes (masked), labels and rule inputs (layers, classes,
    otherwise)."""
    layers = {}
    for var, path in rule.layers.items():
        key = f"neutrality.land_types.rules[{i}].layers.{var}"
        layer = ctx.align(ctx.inputs.open(path, key, "continuous").squeeze(drop=True))
        layers[var] = layer.where(ctx.inside)
    classes = [
        RuleClass(code=c.code, label=c.label, when={k: (v[0], v[1]) for k, v in c.when.items()})
        for c in rule.classes
    ]
    component = mask_outside(classify_by_rules(layers, classes, otherwise=rule.otherwise), ctx.inside)
    labels = {c.code: c.label for c in rule.classes}
    if rule.otherwise is not None:
        labels.setdefault(rule.otherwise, "other")
    return component, labels, (layers, classes, rule.otherwise)


def climate_component(ctx: RunContext) -> tuple[xr.DataArray, dict[int, str]]:
    """Climate zones as a component: the raster's IPCC zones, or one zone everywhere."""
    zones = open_climate_zones(ctx)
    if zones is not None:
        zones = ctx.align(zones)
        valid = (zones >= min(codes.CLIMATE_ZONE.codes)) & (zones <= max(codes.CLIMATE_ZONE.codes))
        component = zones.where(valid, NODATA).astype(codes.CATEGORICAL_DTYPE)
        return mask_outside(component, ctx.inside), codes.CLIMATE_ZONE.as_dict()
    zone = ctx.config.inputs.climate_zones.zone
    one = xr.full_like(ctx.template, 1, dtype=codes.CATEGORICAL_DTYPE)
    return mask_outside(one, ctx.inside), {1: zone.replace("_", " ").capitalize()}


def components(ctx: RunContext) -> tuple[dict, dict, dict]:
    """Land-type components (int16, NODATA outside the AOI), their labels, and the rule inputs."""
    config = ctx.config.neutrality.land_types
    comps: dict[str, xr.DataArray] = {}
    labels: dict[str, dict[int, str]] = {}
    rule_inputs: dict[str, tuple[dict, list, int | None]] = {}
    for name, path in config.layers.items():
        key = f"neutrality.land_types.layers.{name}"
        layer = ctx.inputs.open(path, key, "categorical").squeeze(drop=True)
        comps[name] = mask_outside(ctx.align(categorical_input(layer)), ctx.inside)
    for i, rule in enumerate(config.rules or []):
        comps[rule.name], labels[rule.name], rule_inputs[rule.name] = rule_component(ctx, i, rule)
    if config.climate_zones:
        comps["climate"], labels["climate"] = climate_component(ctx)
    if config.land_cover:
        year = ctx.plans[0].land_cover[0]
        comps["land_cover"] = mask_outside(ctx.reopen(f"land_cover/land_cover_{year}"), ctx.inside)
        labels["land_cover"] = codes.LAND_COVER.as_dict()
    for name, lab in config.labels.items():
        labels.setdefault(name, {}).update({int(k): str(v) for k, v in lab.items()})
    return comps, labels, rule_inputs


def check_coverage(
    ctx: RunContext, comps: Mapping[str, xr.DataArray], status: xr.DataArray, land: xr.DataArray
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


def check_observations(
    ctx: RunContext,
    land_type_layer: xr.DataArray,
    rule_inputs: Mapping[str, tuple],
    land_type_names: Mapping[int, str],
) -> tuple[pd.DataFrame, Any]:
    """Field observations compared with the land-type map and the first rule's classes: the
    per-point table (LDN-5) and its summary."""
    config = ctx.config.neutrality.land_types.observations
    key = "neutrality.land_types.observations"
    points = read_observations(
        ctx.inputs.resolve(config.path, f"{key}.path"),
        x=config.x,
        y=config.y,
        crs=config.crs,
        key=key,
    )
    first_rule = next(iter(rule_inputs.values()), None)
    observed_map = None
    if first_rule is not None and config.class_field is not None:
        # capability classes I..VIII recorded in the field -> the rule classes named by them
        observed_map = land_types.roman_range_map(first_rule[1]) or None
    return land_types.check_observations(
        points,
        land_type_layer,
        rule_layers=first_rule[0] if first_rule else None,
        classes=first_rule[1] if first_rule else None,
        otherwise=first_rule[2] if first_rule else None,
        observed_class_field=config.class_field,
        observed_map=observed_map,
        land_type_names=land_type_names,
    )


__all__ = ["categorical_input", "check_coverage", "check_observations", "components"]
