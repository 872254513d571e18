"""The corrections stage: false positives/negatives recode the written SDG layers inside the
correction polygons (GPG Addendum "error recode"), BEFORE the SO1 tables, so every table reports
the corrected figures.

For a period with a correction that applies to it (its name or ``all`` in the polygon's periods),
``layers/<period>/sdg.tif`` is kept as ``sdg_uncorrected.tif`` and the recoded layer is written as
``sdg.tif``; for every reporting period whose own SDG or the baseline's was recoded, ``status``
and ``status_expanded`` likewise (recomputed from the corrected SDG layers). Returns SO1-4.T3.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from ldnkit import codes
from ldnkit.config import RunConfig
from ldnkit.errors import PeriodError
from ldnkit.indicators import corrections, sdg
from ldnkit.io.legend import read_tags
from ldnkit.io.read import open_layer
from ldnkit.io.records import rasterize_corrections, read_corrections
from ldnkit.layer_meta import LAYER_TAG
from ldnkit.run.context import LayerToWrite, RunContext, mask_outside
from ldnkit.run.ldn_labels import titled
from ldnkit.run.outputs import StageOutputs
from ldnkit.run.so1 import PERIOD_LAYERS

#: Layers of a period that a correction replaces (the uncorrected ones are kept as <name>_uncorrected).
CORRECTED_LAYERS = ("sdg", "status", "status_expanded")
#: Attributes :func:`ldnkit.io.read.open_layer` adds to a layer it reads back.
READER_ATTRS = frozenset(
    {"source", "LDNKIT_ATTRS", "LDNKIT_LEGEND", LAYER_TAG, "_FillValue", "AREA_OR_POINT"}
)


def applies_to(correction: Any, period: str) -> bool:
    """Whether a correction record applies to the period called ``period``."""
    return "all" in correction.periods or period in correction.periods


class CorrectionsStage:
    """Recode the SDG layers inside the correction polygons; recompute status; table SO1-4.T3."""

    name = "corrections"
    needs_grid = True

    def applies(self, cfg: RunConfig) -> bool:
        return cfg.inputs is not None and cfg.corrections is not None

    def prepare(self, ctx: RunContext) -> None:
        """Read and check the correction polygons (period names, conflicting overlaps) and
        rasterize them, one lazy raster per period."""
        key = "corrections.path"
        names = [p.name for p in ctx.plans]
        path = ctx.inputs.resolve(ctx.config.corrections.path, key)
        records, polygons = read_corrections(path, ctx.grid, key, valid_periods=names)
        for record in records:
            unknown = [p for p in record.periods if p != "all" and p not in names]
            if unknown:
                raise PeriodError(
                    f"{key} (correction {record.id})",
                    f"unknown period name(s) {unknown}",
                    f"use names of the config's periods ({', '.join(names)}) or 'all'",
                )
        self.records = list(records)
        # one raster per period: overlapping polygons may apply to different periods
        self.rasters = {
            n: ctx.align(rasterize_corrections(polygons, ctx.grid, ctx.chunks, period=n))
            .where(ctx.inside, codes.NODATA)
            .astype(codes.CATEGORICAL_DTYPE)
            for n in names
        }

    def run(self, ctx: RunContext) -> StageOutputs:
        out = StageOutputs()
        names = [p.name for p in ctx.plans]
        baseline = ctx.plans[0].name
        own = {n: any(applies_to(c, n) for c in self.records) for n in names}
        status_redo = {p.name for p in ctx.plans[1:] if own[p.name] or own[baseline]}
        for n in names:  # keep the uncorrected layers beside the corrected ones
            todo = (["sdg"] if own[n] else []) + (["status", "status_expanded"] if n in status_redo else [])
            for layer in todo:
                if f"{n}/{layer}" in ctx.layers:
                    keep_uncorrected(ctx, n, layer, out)
        uncorrected = {n: ctx.reopen(self._uncorrected_key(ctx, n)) for n in names}
        corrected = {
            n: mask_outside(corrections.recode(uncorrected[n], self.rasters[n], self.records, n), ctx.inside)
            if own[n]
            else uncorrected[n]
            for n in names
        }
        layers = []
        for n in names:
            if own[n]:
                layers.append(self._corrected(n, "sdg", corrected[n]))
            if n in status_redo:
                status = sdg.status(corrected[baseline], corrected[n])
                expanded = sdg.status(corrected[baseline], corrected[n], expanded=True)
                layers.append(self._corrected(n, "status", mask_outside(status, ctx.inside)))
                layers.append(self._corrected(n, "status_expanded", mask_outside(expanded, ctx.inside)))
        ctx.write_layers(layers, out, title="Corrections (false positives/negatives)")
        before = {n: uncorrected[n] for n in names if own[n]}
        after = {n: ctx.reopen(f"{n}/sdg") for n in before}
        rasters = {n: self.rasters[n] for n in before}
        table = corrections.correction_table(self.records, rasters, before, after, ctx.area)
        out.tables = {codes.AOI_SCOPE: {"SO1-4.T3": titled(table, "SO1-4.T3")}}
        out.summary["corrections"] = {
            "file": str(ctx.config.resolve(ctx.config.corrections.path)),
            "corrections": len(self.records),
            "periods_recoded": [n for n in names if own[n]],
            "status_recomputed": sorted(status_redo),
            "uncorrected_layers": sorted(k for k in out.layers if k.endswith("_uncorrected")),
        }
        return out

    @staticmethod
    def _uncorrected_key(ctx: RunContext, period: str) -> str:
        key = f"{period}/sdg_uncorrected"
        return key if key in ctx.layers else f"{period}/sdg"

    def _corrected(self, period: str, layer: str, da: xr.DataArray) -> LayerToWrite:
        """A corrected layer with the corrections that made it in its attrs."""
        # what the reader added (the temporary path, the raw tags) says nothing about the method
        attrs = {k: v for k, v in da.attrs.items() if k not in READER_ATTRS}
        ids = [int(c.id) for c in self.records]
        attrs["corrections"] = [int(c.id) for c in self.records if applies_to(c, period)] or ids
        attrs["corrected"] = True
        da.attrs = attrs
        meta = PERIOD_LAYERS[layer]
        meta = meta.replace(
            description=meta.description + ", corrected for false positives/negatives", subgroup=period
        )
        return LayerToWrite(f"{period}/{layer}", da, meta)


def keep_uncorrected(ctx: RunContext, period: str, layer: str, out: StageOutputs) -> None:
    """Copy a written layer to ``<name>_uncorrected.tif`` with its own metadata and remove the
    original and its sidecars (.qml, .tif.aux.xml), making room for the corrected layer.

    A copy, not a rename: the layer's metadata tag says what it is, and a COG's tags cannot be
    updated in place without breaking its layout."""
    key = f"{period}/{layer}"
    path = ctx.layers[key]
    meta = PERIOD_LAYERS[layer]
    meta = meta.replace(
        title=f"{meta.title}, uncorrected",
        description=f"{meta.description}, before corrections",
        order=meta.order + 50,
        subgroup=period,
        report_map=False,
    )
    da = open_layer(path).squeeze(drop=True)
    da.attrs = {}  # what the reader added (the temporary path ...) is not the layer's
    # the original's own tags (method, inputs ...), exactly; only what the layer is changes
    tags = {k: v for k, v in read_tags(path).items() if k != LAYER_TAG}
    item = LayerToWrite(f"{key}_uncorrected", da, meta, tags=tags, attrs=ctx.attrs.get(key, {}))
    ctx.write_layers([item], out)
    for old in (path, path.with_suffix(".qml"), path.with_name(f"{path.name}.aux.xml")):
        old.unlink(missing_ok=True)


__all__ = ["CORRECTED_LAYERS", "CorrectionsStage", "applies_to", "keep_uncorrected"]
