"""The neutrality stage (LDN accounting), after the SO1 tables: land types, gains/losses, the
balance sheet per land type and region, the response hierarchy, planning, hotspots/brightspots
with drivers and voluntary targets, written under ``layers/neutrality/``.

See docs/neutrality.md for the outputs and formulas.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.config import RunConfig
from ldnkit.indicators import land_types, neutrality
from ldnkit.jsonable import jsonable
from ldnkit.periods import PeriodPlan
from ldnkit.run.context import LayerToWrite, RunContext, mask_outside
from ldnkit.run.hotspots import spot_attributes, write_spots
from ldnkit.run.land_type_inputs import check_coverage, check_observations, components
from ldnkit.run.ldn_labels import ANTICIPATED_LOSSES, TABLE_TITLES, neutrality_meta, titled
from ldnkit.run.neutrality_inputs import NeutralityInputs, read_neutrality_inputs
from ldnkit.run.outputs import StageOutputs
from ldnkit.tables import neutrality as neutrality_tables


def verdict(balance: pd.DataFrame) -> dict[str, Any]:
    """Whether LDN is achieved (no net loss in the area of interest), with its figures and text."""
    scope_col = "Scope"
    lt_col = "Land type"
    aoi = balance[balance[scope_col] == codes.AOI_SCOPE] if scope_col in balance.columns else balance
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


def records(df: pd.DataFrame | None) -> list[dict]:
    """A table's rows as JSON-ready records (NaN as null)."""
    if df is None:
        return []
    return jsonable(df.replace({np.nan: None}).to_dict(orient="records"))


def period_drivers(drivers: list[Any], plans: list[PeriodPlan], period: str) -> list[Any]:
    """Driver records about ``period``: those of no period or of it, and those whose free-text
    period names none of the run's periods."""
    names = [p.name for p in plans]
    return [d for d in drivers if d.period in (None, period) or d.period not in names]


class NeutralityStage:
    """LDN accounting of one period (``neutrality.period``, default the last)."""

    name = "neutrality"
    needs_grid = True

    def applies(self, cfg: RunConfig) -> bool:
        return cfg.inputs is not None and cfg.neutrality is not None

    def prepare(self, ctx: RunContext) -> None:
        """Read and check the planning polygons, drivers and target scopes."""
        self.inputs: NeutralityInputs = read_neutrality_inputs(ctx)

    def run(self, ctx: RunContext) -> StageOutputs:
        out = StageOutputs()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        period = self.inputs.period
        plan = next(p for p in ctx.plans if p.name == period)
        status7 = ctx.reopen(f"{period}/status_expanded")
        final_land_cover = ctx.reopen(f"land_cover/land_cover_{plan.land_cover[1]}")
        comps, labels, rule_inputs = components(ctx)
        check_coverage(ctx, comps, status7, (final_land_cover >= 1) & (final_land_cover <= 6))
        settings = ctx.config.neutrality
        with ctx.feedback.stage("Land types", pixels=ctx.pixels):
            types = land_types.land_types(
                comps, area=ctx.area, labels=labels, min_area_km2=settings.land_types.min_area_km2
            )
        land_type_legend = land_types.land_type_legend(types)
        land_type_names = land_type_legend.as_dict()
        timings["land_types"] = time.perf_counter() - t
        t = time.perf_counter()
        self._write_layers(ctx, types.layer, land_type_legend, period, out)
        timings["layers"] = time.perf_counter() - t
        t = time.perf_counter()
        land_type_layer = ctx.reopen("neutrality/land_types")
        balance, response_areas, projected = self._balance(ctx, plan, land_type_layer, land_type_names)
        timings["balance"] = time.perf_counter() - t
        tables: dict[str, pd.DataFrame] = {}
        observations = None
        if settings.land_types.observations is not None:
            per_point, observations = check_observations(ctx, land_type_layer, rule_inputs, land_type_names)
            tables["LDN-5 Field observations"] = titled(per_point, "LDN-5 Field observations")
        t = time.perf_counter()
        attributes = spot_attributes(ctx, period, land_type_layer, land_type_names)
        drivers = period_drivers(self.inputs.drivers, ctx.plans, period)
        spots = write_spots(ctx, ctx.reopen(f"{period}/status"), period, attributes, drivers, out)
        timings["hotspots"] = time.perf_counter() - t
        targets = self._targets(ctx, balance, period)
        tables |= {
            "LDN-1 Land types": types.legend,
            "LDN-2 Balance sheet": balance,
            "LDN-3 Response hierarchy": response_areas,
            "LDN-4 Projected balance": projected,
            "SO1-4.T4": spots["hotspot"],
            "SO1-4.T5": spots["brightspot"],
            "SO1-VT.T1": targets,
        }
        # order as documented
        out.tables = {
            codes.AOI_SCOPE: {k: titled(tables[k], k) for k in TABLE_TITLES if tables.get(k) is not None}
        }
        parts = {"types": types, "comps": comps, "names": land_type_names, "observations": observations}
        out.summary["neutrality"] = self._summary(ctx, plan, out.tables[codes.AOI_SCOPE], parts, timings)
        return out

    def _write_layers(
        self, ctx: RunContext, land_type_layer: xr.DataArray, legend: codes.Legend, period: str, out
    ) -> None:
        """Land types, gains/losses, response hierarchy and the planning layers, in one pass."""
        settings = ctx.config.neutrality
        status7 = ctx.reopen(f"{period}/status_expanded")
        risk = None
        if settings.risk is not None:
            key = "neutrality.risk.path"
            risk = ctx.align(ctx.inputs.open(settings.risk.path, key, "continuous").squeeze(drop=True))
        hierarchy = neutrality.response_hierarchy(
            ctx.reopen(f"{period}/status"),
            ctx.reopen(f"{period}/lpd"),
            status_classes=3,
            risk=risk,
            risk_threshold=settings.risk.threshold if settings.risk else 0.0,
        )
        gains = f"Neutrality gains and losses, {period} (-1 loss, 1 gain)"
        layers = [
            ("land_types", mask_outside(land_type_layer, ctx.inside), legend, "Land types (land potential)"),
            (
                "gains_losses",
                mask_outside(neutrality.gains_losses(status7), ctx.inside),
                codes.GAINS_LOSSES,
                gains,
            ),
            (
                "response_hierarchy",
                mask_outside(hierarchy, ctx.inside),
                codes.RESPONSE_HIERARCHY,
                "Response hierarchy (avoid, reduce, reverse)",
            ),
        ]
        if self.inputs.anticipated is not None:
            description = "Anticipated losses (planned)"
            layers.append(("anticipated_losses", self.inputs.anticipated, ANTICIPATED_LOSSES, description))
        if self.inputs.interventions is not None:
            description = "Planned interventions by response level"
            layers.append(("interventions", self.inputs.interventions, codes.RESPONSE_HIERARCHY, description))
        items = [
            LayerToWrite(f"neutrality/{name}", layer, neutrality_meta(name, legend, description, order))
            for order, (name, layer, legend, description) in enumerate(layers)
        ]
        ctx.write_layers(items, out, title="Neutrality layers")

    def _balance(
        self, ctx: RunContext, plan: PeriodPlan, land_type_layer: xr.DataArray, names: dict[int, str]
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
        """Balance sheet, response areas and (with planning) the projected balance."""
        settings = ctx.config.neutrality
        status7 = ctx.reopen(f"{plan.name}/status_expanded")
        regions = ctx.regions
        region_names = dict(ctx.region_names) if regions is not None else None
        with ctx.feedback.stage("Balance sheet", pixels=ctx.pixels, distributed=ctx.distributed):
            balance = neutrality.neutrality(
                status7,
                land_type_layer,
                area=ctx.area,
                regions=regions,
                region_names=region_names,
                land_type_names=names,
            )
            response_areas = neutrality.response_areas(
                ctx.reopen("neutrality/response_hierarchy"),
                land_type_layer,
                ctx.area,
                regions=regions,
                region_names=region_names,
                land_type_names=names,
            )
            if settings.planning is None:
                return balance, response_areas, None
            inputs = self.inputs
            projected = neutrality.projected_balance(
                status7,
                land_type_layer,
                ctx.area,
                period_years=float(plan.end - plan.start + 1),
                horizon_years=float(settings.planning.horizon - plan.end),
                anticipated_loss=ctx.reopen("neutrality/anticipated_losses")
                if inputs.anticipated is not None
                else None,
                interventions=ctx.reopen("neutrality/interventions")
                if inputs.interventions is not None
                else None,
                effect=inputs.effect if inputs.effect is not None else 1.0,
                land_type_names=names,
                regions=regions,
                region_names=region_names,
            )
        return balance, response_areas, projected

    def _targets(self, ctx: RunContext, balance: pd.DataFrame, period: str) -> pd.DataFrame | None:
        """Voluntary targets and progress (SO1-VT.T1), or None without targets."""
        if not ctx.config.neutrality.targets:
            return None
        targets = [
            neutrality_tables.Target(
                id=tg.id,
                kind=tg.kind,
                description=tg.description,
                year=tg.year,
                scope=tg.scope,
                land_cover=tg.land_cover,
                base_year=tg.base_year,
                value=tg.value,
            )
            for tg in ctx.config.neutrality.targets
        ]
        return neutrality_tables.evaluate_targets(targets, balance=balance, tables=ctx.tables, period=period)

    def _summary(
        self,
        ctx: RunContext,
        plan: PeriodPlan,
        tables: dict[str, pd.DataFrame],
        parts: dict[str, Any],
        timings: dict[str, float],
    ) -> dict[str, Any]:
        """summary.json's ``neutrality``."""
        settings = ctx.config.neutrality
        balance = tables["LDN-2 Balance sheet"]
        hot, bright = tables["SO1-4.T4"], tables["SO1-4.T5"]
        types, observations = parts["types"], parts["observations"]
        return {
            "period": plan.name,
            "verdict": verdict(balance),
            "balance_sheet": records(balance),
            "excluded_km2": jsonable(balance.attrs.get("excluded_km2")),
            "land_types": {
                "components": list(parts["comps"]),
                "n_types": int(len(parts["names"])),
                "min_area_km2": settings.land_types.min_area_km2,
                "merges": records(types.merges),
                "attrs": jsonable(dict(types.layer.attrs)),
            },
            "hotspots": {"n": int(len(hot)), "area_km2": float(hot["Area (km²)"].sum()) if len(hot) else 0.0},
            "brightspots": {
                "n": int(len(bright)),
                "area_km2": float(bright["Area (km²)"].sum()) if len(bright) else 0.0,
            },
            "targets": records(tables.get("SO1-VT.T1")),
            "planning": {
                "horizon": settings.planning.horizon if settings.planning else None,
                "period_years": plan.end - plan.start + 1,
                **self.inputs.planning,
                "projected": records(tables.get("LDN-4 Projected balance")),
            },
            "observations": jsonable(observations.to_dict(orient="records"))
            if isinstance(observations, pd.DataFrame)
            else jsonable(observations),
            "settings": settings.model_dump(mode="json"),
            "timings_s": timings,
        }


__all__ = ["NeutralityStage", "period_drivers", "records", "verdict"]
