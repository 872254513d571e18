"""The SO1 stage: land cover, soil organic carbon and land productivity of every period, the SDG
15.3.1 indicator and status, written in ONE dask computation with their metadata.

:data:`PERIOD_LAYERS` (the layers written for every period, with their metadata) lives here,
beside the computation that makes them.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import xarray as xr

from ldnkit import codes
from ldnkit.config import RunConfig
from ldnkit.errors import ConfigError
from ldnkit.indicators import land_cover, productivity, sdg, soc
from ldnkit.layer_meta import LayerMeta
from ldnkit.periods import PeriodPlan
from ldnkit.run.context import LayerToWrite, RunContext, as_int16, mask_outside
from ldnkit.run.outputs import StageOutputs
from ldnkit.run.performance import land_cover_units, performance_inputs, productivity_layers


def _period_layer(title, group, description, order, legend=None, unit="class", report_map=False):
    return LayerMeta(title, group, description, unit, legend, order, report_map=report_map)


SDG_GROUP, LAND_COVER_GROUP = "SDG 15.3.1", "Land cover"
PRODUCTIVITY_GROUP, SOC_GROUP = "Land productivity", "Soil organic carbon"
#: Layers written for every period, in this order, with their metadata (the subgroup, set when
#: written, is the period's name).
PERIOD_LAYERS: dict[str, LayerMeta] = {
    "trend_slope": _period_layer(
        "Trend slope",
        PRODUCTIVITY_GROUP,
        "Theil-Sen slope of the vegetation index (VI units per year)",
        11,
        unit="VI units per year",
    ),
    "trajectory": _period_layer(
        "Productivity trajectory",
        PRODUCTIVITY_GROUP,
        "Productivity trajectory (-1 degrading, 0 stable, 1 improving)",
        7,
        codes.DEGRADATION,
    ),
    "state": _period_layer(
        "Productivity state",
        PRODUCTIVITY_GROUP,
        "Productivity state (-1 degrading, 0 stable, 1 improving)",
        8,
        codes.DEGRADATION,
    ),
    "performance_ratio": _period_layer(
        "Performance ratio",
        PRODUCTIVITY_GROUP,
        "Productivity performance: pixel mean / unit percentile",
        10,
        unit="ratio",
    ),
    "performance": _period_layer(
        "Productivity performance",
        PRODUCTIVITY_GROUP,
        "Productivity performance (-1 degraded, 0 not degraded)",
        9,
        codes.DEGRADATION,
    ),
    "lpd": _period_layer(
        "Land productivity dynamics",
        PRODUCTIVITY_GROUP,
        "Land productivity dynamics (1 declining .. 5 increasing)",
        5,
        codes.LPD,
        report_map=True,
    ),
    "productivity_degradation": _period_layer(
        "Productivity sub-indicator",
        PRODUCTIVITY_GROUP,
        "Productivity sub-indicator (-1 degraded, 0 stable, 1 improved)",
        6,
        codes.DEGRADATION,
    ),
    "land_cover_transition": _period_layer(
        "Land-cover transition",
        LAND_COVER_GROUP,
        "Land cover transition (initial class * 10 + final class)",
        3,
        codes.LAND_COVER_TRANSITION,
    ),
    "land_cover_degradation": _period_layer(
        "Land-cover degradation",
        LAND_COVER_GROUP,
        "Land cover sub-indicator (-1 degraded, 0 stable, 1 improved)",
        4,
        codes.DEGRADATION,
        report_map=True,
    ),
    "soc_change": _period_layer(
        "Soil organic carbon change", SOC_GROUP, "SOC stock change (%)", 12, unit="%", report_map=True
    ),
    "soc_degradation": _period_layer(
        "SOC sub-indicator",
        SOC_GROUP,
        "SOC sub-indicator (-1 degraded, 0 stable, 1 improved)",
        13,
        codes.DEGRADATION,
    ),
    "sdg": _period_layer(
        "SDG 15.3.1 (one-out-all-out)",
        SDG_GROUP,
        "SDG 15.3.1 one-out-all-out (-1 degraded, 0 stable, 1 improved)",
        0,
        codes.DEGRADATION,
        report_map=True,
    ),
    "status": _period_layer(
        "Status against the baseline",
        SDG_GROUP,
        "Status against the baseline (-1 degraded, 0 stable, 1 improved)",
        1,
        codes.DEGRADATION,
        report_map=True,
    ),
    "status_expanded": _period_layer(
        "Expanded status (7 classes)",
        SDG_GROUP,
        "Expanded status against the baseline (7 classes)",
        2,
        codes.STATUS_EXPANDED,
    ),
}


def land_cover_meta(year: int) -> LayerMeta:
    """Metadata of the land-cover map of ``year`` (UNCCD classes)."""
    return LayerMeta(
        f"Land cover {year}",
        LAND_COVER_GROUP,
        f"UNCCD land cover classes, {year}",
        "class",
        codes.LAND_COVER,
        20,
        subgroup="Land cover maps",
    )


def soc_stock_meta(year: int) -> LayerMeta:
    """Metadata of the SOC stock map of ``year`` (t/ha, 0-30 cm)."""
    return LayerMeta(
        f"SOC stock {year}",
        SOC_GROUP,
        f"Soil organic carbon stock 0-30 cm, {year} (t/ha)",
        "t/ha",
        None,
        20,
        subgroup="SOC stock (t/ha)",
    )


def method_text(cfg: RunConfig) -> dict[str, Any]:
    """summary.json's ``methods``: the SO1 methods and parameters of a run."""
    m = cfg.methods
    return {
        "trajectory": m.trajectory.model_dump(),
        "state": m.state.model_dump(),
        "performance": m.performance.model_dump(),
        "lpd_table": m.lpd.table,
        "productivity_window": m.productivity_window,
        "land_cover_matrix": "custom" if m.land_cover.matrix else "UNCCD default",
        "regional_matrices": [r.region for r in m.land_cover.regional_matrices],
        "soc": m.soc.model_dump(),
        "climate_zones": "per pixel raster"
        if cfg.inputs.climate_zones.path
        else cfg.inputs.climate_zones.zone,
        "combination": "one-out-all-out",
        "external_lpd": cfg.inputs.external_lpd.model_dump(mode="json") if cfg.inputs.external_lpd else None,
    }


def soc_years(cfg: RunConfig, plans: list[PeriodPlan], maps: dict[int, xr.DataArray]) -> tuple[int, int]:
    """The SOC reference year and the last land-cover year the periods need, checked."""
    soc_year = cfg.inputs.soc.year
    first_needed = min(p.land_cover[0] for p in plans)
    soc_year = soc_year if soc_year is not None else first_needed
    if soc_year > first_needed:
        raise ConfigError(
            "inputs.soc.year",
            f"is {soc_year}, after the first land-cover year {first_needed}",
            "give the SOC reference stock for that year or earlier",
        )
    if soc_year < min(maps):
        raise ConfigError(
            "inputs.soc.year",
            f"is {soc_year} but the first land-cover map is for {min(maps)}",
            "add a land-cover map for the SOC reference year",
        )
    return soc_year, max(p.land_cover[1] for p in plans)


def regional_matrices(cfg: RunConfig, region_names: dict[int, str]) -> dict[int, Any]:
    """Region id -> its land-cover transition matrix, from ``methods.land_cover.regional_matrices``."""
    regional = {}
    for i, rm in enumerate(cfg.methods.land_cover.regional_matrices):
        ids = [k for k, n in region_names.items() if n == rm.region]
        if not ids:
            raise ConfigError(
                f"methods.land_cover.regional_matrices[{i}].region",
                f"no region named {rm.region!r}",
                f"use one of {sorted(set(region_names.values()))}",
            )
        for k in ids:
            regional[k] = rm.matrix
    return regional


class So1Stage:
    """SDG 15.3.1 and its sub-indicators for every period (layers only; tables: so1_tables)."""

    name = "so1"
    needs_grid = True

    def applies(self, cfg: RunConfig) -> bool:
        return cfg.inputs is not None

    def prepare(self, ctx: RunContext) -> None:
        """Check the SOC years and regional matrices; open the SOC stock and climate zones."""
        cfg = ctx.config
        soc_input = cfg.inputs.soc
        self.soc_year, self.last_year = soc_years(cfg, ctx.plans, ctx.land_cover_maps)
        soc_ref = ctx.inputs.open(soc_input.path, "inputs.soc.path", "continuous").squeeze(drop=True)
        if soc_input.nodata is not None:
            soc_ref = soc_ref.where(soc_ref != soc_input.nodata)
        self.soc_reference = (soc_ref.astype("float32") * np.float32(soc_input.scale)).where(soc_ref >= 0)
        self.zones = open_climate_zones(ctx)
        self.regional = regional_matrices(cfg, ctx.region_names)

    def run(self, ctx: RunContext) -> StageOutputs:
        out = StageOutputs(summary={"methods": method_text(ctx.config)})
        t = time.perf_counter()
        annual_land_cover, soc_annual = self._annual_maps(ctx)
        perf_inputs = self._performance_inputs(ctx)
        out.timings["performance_means"] = time.perf_counter() - t
        t = time.perf_counter()
        layers: list[LayerToWrite] = []
        baseline_sdg = None
        for plan in ctx.plans:
            period = self._period_layers(ctx, plan, annual_land_cover, soc_annual, perf_inputs)
            if plan.kind == "baseline":
                baseline_sdg = period["sdg"]
            else:
                period["status"] = sdg.status(baseline_sdg, period["sdg"])
                period["status_expanded"] = sdg.status(baseline_sdg, period["sdg"], expanded=True)
            for name, meta in PERIOD_LAYERS.items():
                if name in period:
                    layer = mask_outside(period[name], ctx.inside)
                    layers.append(
                        LayerToWrite(f"{plan.name}/{name}", layer, meta.replace(subgroup=plan.name))
                    )
        out.timings["unit_percentiles"] = time.perf_counter() - t
        for y in sorted({y for p in ctx.plans for y in p.land_cover}):
            land_cover_map = mask_outside(annual_land_cover.sel(year=y, drop=True), ctx.inside)
            soc_map = mask_outside(soc_annual.sel(year=y, drop=True).astype("float32"), ctx.inside)
            layers.append(LayerToWrite(f"land_cover/land_cover_{y}", land_cover_map, land_cover_meta(y)))
            layers.append(LayerToWrite(f"soc/soc_{y}", soc_map, soc_stock_meta(y)))
        t = time.perf_counter()
        for item in layers:
            item.layer = item.layer.squeeze(drop=True)
        ctx.write_layers(layers, out, title="Computing and writing layers")
        out.timings["layers"] = time.perf_counter() - t
        return out

    def _annual_maps(self, ctx: RunContext) -> tuple[xr.DataArray, xr.DataArray]:
        """Land cover of every year from the SOC reference year on, and the SOC stock of the
        years the periods use (lazy)."""
        cfg = ctx.config
        maps = ctx.land_cover_maps
        annual_land_cover = land_cover.annual_land_cover(maps, list(range(self.soc_year, self.last_year + 1)))
        # SOC: the maps themselves (carried forward in the kernel, never stacked per year), and only
        # the years the periods and tables use
        climate_zones = cfg.inputs.climate_zones
        soc_annual = soc.soc_stock(
            self.soc_reference,
            {y: m for y, m in maps.items() if y <= self.last_year},
            climate_zone=self.zones,
            flu_class=None if self.zones is not None else codes.FLU_CLASS_NAMES[climate_zones.zone],
            reference_year=self.soc_year,
            management_factor=cfg.methods.soc.management_factor,
            input_factor=cfg.methods.soc.input_factor,
            years_to_equilibrium=cfg.methods.soc.years_to_equilibrium,
            years=sorted({y for p in ctx.plans for y in p.land_cover}),
        )
        return annual_land_cover, soc_annual

    def _performance_inputs(self, ctx: RunContext) -> dict[str, tuple[xr.DataArray, xr.DataArray]]:
        """Mean of each performance window and its units, in one pass over the vegetation index."""
        if ctx.vegetation_index is None or all(p.external_lpd for p in ctx.plans):
            return {}
        cfg = ctx.config

        def units_of(plan: PeriodPlan) -> xr.DataArray:
            kind = cfg.methods.performance.units
            if kind == "ecological_units":
                return open_ecological_units(ctx)
            return land_cover_units(plan.performance[1], ctx.land_cover_maps, self.zones, kind)

        with ctx.feedback.stage("Mean productivity", pixels=ctx.pixels, distributed=ctx.distributed):
            return performance_inputs(
                ctx.vegetation_index, ctx.plans, units_of, ctx.grid, ctx.scratch, ctx.chunks
            )

    def _period_layers(
        self,
        ctx: RunContext,
        plan: PeriodPlan,
        annual_land_cover: xr.DataArray,
        soc_annual: xr.DataArray,
        perf_inputs: dict[str, tuple[xr.DataArray, xr.DataArray]],
    ) -> dict[str, xr.DataArray]:
        """Every layer of one period but its status (lazy, except the performance percentiles)."""
        cfg, methods = ctx.config, ctx.config.methods
        period: dict[str, xr.DataArray] = {}
        if plan.external_lpd:
            external = cfg.inputs.external_lpd
            key = "inputs.external_lpd.path"
            external_layer = as_int16(ctx.inputs.open(external.path, key, "categorical").squeeze(drop=True))
            period["lpd"] = productivity.external_lpd(external_layer, legend=external.legend)
        else:
            window = ctx.vegetation_index.sel(year=slice(*plan.trend))
            period.update(
                productivity_layers(
                    window, ctx.vegetation_index, plan, methods, ctx.grid, perf_inputs, ctx.feedback
                )
            )
        period["productivity_degradation"] = productivity.lpd_degradation(period["lpd"])
        initial, final = plan.land_cover
        lc_initial, lc_final = annual_land_cover.sel(year=initial), annual_land_cover.sel(year=final)
        period["land_cover_transition"] = land_cover.land_cover_transition(lc_initial, lc_final)
        period["land_cover_degradation"] = land_cover.land_cover_degradation(
            lc_initial,
            lc_final,
            matrix=methods.land_cover.matrix,
            regions=ctx.regions if self.regional else None,
            regional_matrices=self.regional or None,
        )
        soc_initial, soc_final = soc_annual.sel(year=initial), soc_annual.sel(year=final)
        period["soc_change"] = soc.soc_change_percent(soc_initial, soc_final)
        period["soc_degradation"] = soc.soc_degradation(
            soc_initial,
            soc_final,
            threshold=methods.soc.threshold,
            water=(lc_initial == codes.WATER),
            inclusive=methods.soc.inclusive,
        )
        period["sdg"] = sdg.one_out_all_out(
            period["productivity_degradation"], period["land_cover_degradation"], period["soc_degradation"]
        )
        return period


def open_climate_zones(ctx: RunContext) -> xr.DataArray | None:
    """The climate-zone raster (int16 IPCC codes) on the grid, or None when one zone is given."""
    path = ctx.config.inputs.climate_zones.path
    if path is None:
        return None
    return as_int16(ctx.inputs.open(path, "inputs.climate_zones.path", "categorical").squeeze(drop=True))


def open_ecological_units(ctx: RunContext) -> xr.DataArray:
    """The ecological-unit raster (int16) for performance, which the config must give."""
    cfg = ctx.config
    if cfg.inputs.ecological_units is None:
        raise ConfigError(
            "methods.performance.units",
            "is 'ecological_units' but inputs.ecological_units is not set",
            "add inputs.ecological_units or use land_cover_x_climate",
        )
    key = "inputs.ecological_units"
    return as_int16(ctx.inputs.open(cfg.inputs.ecological_units, key, "categorical").squeeze(drop=True))


__all__ = [
    "PERIOD_LAYERS",
    "So1Stage",
    "land_cover_meta",
    "method_text",
    "open_climate_zones",
    "soc_stock_meta",
]
