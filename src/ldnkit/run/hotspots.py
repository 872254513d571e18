"""Hotspots and brightspots of the neutrality stage: labelled, tabulated with their attributes and
drivers, and written one kind at a time (labelling holds whole rasters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.indicators import hotspots
from ldnkit.run.context import LayerToWrite, RunContext, mask_outside
from ldnkit.run.ldn_labels import neutrality_meta
from ldnkit.run.outputs import StageOutputs

#: (kind, layer name, what it marks) of the two kinds of spots, in the order they are labelled.
SPOT_KINDS = (("hotspot", "hotspots", "degradation"), ("brightspot", "brightspots", "improvement"))


def spot_attributes(
    ctx: RunContext, period: str, land_type_layer: xr.DataArray, land_type_names: Mapping[int, str]
) -> tuple[dict[str, xr.DataArray], dict[str, Mapping[int, str]]]:
    """Layers whose majority class each spot reports (region, land type, transition, LPD), and
    their class names."""
    attributes = {
        "Land type": land_type_layer,
        "Land-cover transition": ctx.reopen(f"{period}/land_cover_transition"),
        "LPD class": ctx.reopen(f"{period}/lpd"),
    }
    attribute_names: dict[str, Mapping[int, str]] = {
        "Land type": land_type_names,
        "Land-cover transition": codes.LAND_COVER_TRANSITION.as_dict(),
        "LPD class": codes.LPD.as_dict(),
    }
    if ctx.regions is not None:
        attributes = {"Region": ctx.regions, **attributes}
        attribute_names = {"Region": dict(ctx.region_names), **attribute_names}
    return attributes, attribute_names


def write_spots(
    ctx: RunContext,
    status: xr.DataArray,
    period: str,
    attributes: tuple[dict, dict],
    drivers: list[Any],
    out: StageOutputs,
) -> dict[str, pd.DataFrame]:
    """Label hotspots and brightspots of the 3-class ``status``, write their id rasters and the
    styled ``hotspot_kind`` map; returns each kind's table (SO1-4.T4 / T5)."""
    settings = ctx.config.neutrality.hotspots
    layers, names = attributes
    tables: dict[str, pd.DataFrame] = {}
    # One kind at a time, its id raster written before the next is labelled: labelling holds whole
    # rasters (5 bytes per pixel), and two kept label rasters would add 8 more.
    with ctx.feedback.stage("Hotspots and brightspots", pixels=ctx.pixels):
        for kind, name, what in SPOT_KINDS:
            labels, table = hotspots.find_hotspots(
                status,
                kind=kind,
                area=ctx.area,
                min_area_km2=settings.min_area_km2,
                connectivity=settings.connectivity,
                method=settings.method,
                window=settings.window,
                density_threshold=settings.density_threshold,
                attributes=layers,
                attribute_names=names,
            )
            if drivers:
                # records about another period are kept out; free-text periods that are not names apply
                table = hotspots.attach_drivers(table, labels, drivers)
            tables[kind] = table
            # ids 1..N join the map to table SO1-4.T4/T5; no legend (thousands of ids at national
            # scale): hotspot_kind.tif carries the styled map
            labels = ctx.align(labels)
            description = f"{kind.capitalize()} ids ({what}), {period}: the Id column of {table.attrs['id']}"
            meta = neutrality_meta(name, None, description, 90).replace(unit="id")
            ctx.write_layers([LayerToWrite(f"neutrality/{name}", labels.astype("int32"), meta)], out)
            del labels
        spots = [ctx.reopen(f"neutrality/{name}") for _, name, _ in SPOT_KINDS]
        kind_layer = mask_outside(hotspots.hotspot_kind_layer(*spots), ctx.inside).rio.write_crs(ctx.grid.crs)
        description = f"Hotspots (-1) and brightspots (1), {period}"
        meta = neutrality_meta("hotspot_kind", codes.HOTSPOTS, description, 80)
        ctx.write_layers([LayerToWrite("neutrality/hotspot_kind", kind_layer, meta)], out)
    return tables


__all__ = ["SPOT_KINDS", "spot_attributes", "write_spots"]
