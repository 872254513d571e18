"""The SO1 tables stage: the PRAIS 4 SO1 tables, in one pass over the written int16 layers
(after corrections, so every table reports the corrected figures)."""

from __future__ import annotations

from ldnkit import codes
from ldnkit.config import Period, RunConfig
from ldnkit.periods import PeriodPlan
from ldnkit.run.context import RunContext
from ldnkit.run.outputs import StageOutputs
from ldnkit.run.so1 import method_text
from ldnkit.tables import PeriodLayers, TableInputs, compute_tables


def period_config(cfg: RunConfig, name: str) -> Period:
    """The config of the period called ``name``."""
    return next(p for p in [cfg.periods.baseline, *cfg.periods.reporting] if p.name == name)


def period_layers(ctx: RunContext, plan: PeriodPlan) -> PeriodLayers:
    """The written layers of one period, reopened lazily, for the tables."""

    def written(name: str):
        key = f"{plan.name}/{name}"
        return ctx.reopen(key) if key in ctx.layers else None

    return PeriodLayers(
        name=plan.name,
        kind=plan.kind,
        land_cover_years=plan.land_cover,
        productivity_years=plan.trend,
        land_cover_degradation=written("land_cover_degradation"),
        lpd=written("lpd"),
        productivity_degradation=written("productivity_degradation"),
        soc_degradation=written("soc_degradation"),
        sdg=written("sdg"),
        status=written("status"),
        status_expanded=written("status_expanded"),
        confidence=period_config(ctx.config, plan.name).confidence,
    )


class So1TablesStage:
    """PRAIS SO1 tables (CP-1.T1, SO1-1 ... SO1-4) for the area of interest and each region."""

    name = "tables"
    needs_grid = True

    def applies(self, cfg: RunConfig) -> bool:
        return cfg.inputs is not None

    def prepare(self, ctx: RunContext) -> None:
        """Nothing to read: the tables come from the layers the SO1 stage writes."""

    def run(self, ctx: RunContext) -> StageOutputs:
        cfg = ctx.config
        methods = cfg.methods
        land_cover_input = cfg.inputs.land_cover
        years = sorted({y for p in ctx.plans for y in p.land_cover})
        matrices = {
            "national": [list(r) for r in (methods.land_cover.matrix or codes.DEFAULT_TRANSITION_MATRIX)]
        }
        for rm in methods.land_cover.regional_matrices:
            matrices[rm.region] = rm.matrix
        inputs = TableInputs(
            land_cover={y: ctx.reopen(f"land_cover/land_cover_{y}") for y in years},
            soc={y: ctx.reopen(f"soc/soc_{y}").astype("float32") for y in years},
            periods=[period_layers(ctx, plan) for plan in ctx.plans],
            area=ctx.area,
            aoi=ctx.inside.astype(codes.CATEGORICAL_DTYPE),
            regions=ctx.regions,
            region_names=ctx.region_names,
            nesting=ctx.nesting if land_cover_input.legend != "unccd" else None,
            legend_name=land_cover_input.legend,
            matrices=matrices,
            soc_tier="Tier 1",
            methods=method_text(cfg),
        )
        with ctx.feedback.stage("Area tables", pixels=ctx.pixels, distributed=ctx.distributed):
            return StageOutputs(tables=compute_tables(inputs))


__all__ = ["So1TablesStage", "period_config", "period_layers"]
