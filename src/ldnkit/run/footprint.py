"""The footprint stage (mission M7, docs/footprint.md): the land, and the degraded land, behind the
reporting country's consumption, by physical trade flows or MRIO, with the degraded share of each
producer's cropland and grazing land taken from the SO1 maps (this run's, or a previous run
folder's) per producer polygon, and from a table for producers outside the maps.

Writes ``footprint/flows.csv`` (every flow of the system), ``footprint/producers.gpkg`` (producer
polygons, when given), the tables FP-1..FP-4 and summary.json's ``footprint``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.config import RunConfig
from ldnkit.errors import ConfigError
from ldnkit.footprint import degraded_share_by_zone, land_accounts, mrio_land_footprint, trade_flow_footprint
from ldnkit.io import vector
from ldnkit.io.grid import Grid, grid_of
from ldnkit.io.read import open_layer
from ldnkit.run.context import RunContext, as_int16
from ldnkit.run.footprint_inputs import (
    check_reporting_country,
    load_mrio,
    producer_polygons,
    read_csv,
    read_share_table,
    read_trade_tables,
    run_folder_maps,
)
from ldnkit.run.outputs import StageOutputs
from ldnkit.tables.footprint import country_totals, footprint_tables

FLOWS_FILE = "footprint/flows.csv"
PRODUCERS_FILE = "footprint/producers.gpkg"

#: What each method follows and leaves out (summary.json, the report; docs/footprint.md "Limits").
SYSTEM_BOUNDARIES = {
    "trade_flow": (
        "harvested area of each primary commodity followed through bilateral trade between countries "
        "(re-exports traced exactly); processed products traded under other items and feed embodied "
        "in livestock products are not traced back to the crop; one year, no stock changes"
    ),
    "mrio": (
        "land of every industry followed through the monetary supply chains of the MRIO system to "
        "final demand (Leontief inverse, exact); sector and region aggregation and price "
        "proportionality as in the system"
    ),
}
REFERENCES = {
    "trade_flow": "Kastner, Kastner and Nonhebel (2011), Ecological Economics 70(6)",
    "mrio": "Miller and Blair (2009), ch. 2; pymrio (Stadler 2021)",
}


def map_shares(
    status: xr.DataArray, land_cover: xr.DataArray, polygons: gpd.GeoDataFrame, grid: Grid, chunks: int
) -> pd.DataFrame:
    """Degraded share of each producer polygon's cropland and grazing land from the SO1 ``status``
    and the ``land_cover`` (UNCCD classes) of its final year, on ``grid`` (areas: ldnkit.area)."""
    ids = np.arange(1, len(polygons) + 1)
    zones = vector.rasterize(polygons, grid, values=ids, fill=codes.NODATA, chunks=chunks)
    zones = zones.assign_coords(x=status.x, y=status.y)
    names = dict(zip(ids.tolist(), polygons["producer"], strict=True))
    land_cover = land_cover.assign_coords(x=status.x, y=status.y)
    return degraded_share_by_zone(as_int16(status), as_int16(land_cover), cell_area(status), zones, names)


def combine_shares(from_maps: pd.DataFrame | None, table: pd.DataFrame | None) -> pd.DataFrame:
    """The maps' shares, then the table's for the producers and land uses the maps do not give."""
    parts = [p for p in (from_maps, table) if p is not None and len(p)]
    if not parts:
        return pd.DataFrame(columns=["region", "land_use", "degraded_share", "source"])
    both = pd.concat(parts, ignore_index=True)
    return both.drop_duplicates(["region", "land_use"], keep="first").reset_index(drop=True)


class FootprintStage:
    """Land and degraded land embodied in consumption (a ``footprint:`` section)."""

    name = "footprint"
    needs_grid = False  # the shares use the run's grid when SO1 ran; the stage alone needs none

    def applies(self, cfg: RunConfig) -> bool:
        return cfg.footprint is not None

    def prepare(self, ctx: RunContext) -> None:
        cfg = ctx.config
        section = cfg.footprint
        if section.method == "trade_flow":
            self.tables = read_trade_tables(cfg)
            t = self.tables
            countries = set(t.production["country"]) | set(t.trade["exporter"]) | set(t.trade["importer"])
        else:
            self.io = load_mrio(cfg)
            path = cfg.resolve(section.mrio.land)
            self.land = read_csv(path, "footprint.mrio.land")
            land_accounts(self.io, self.land, where=f"footprint.mrio.land ({path})")
            countries = set(self.io.get_regions())
            self.check_sectors(section.commodities)
        check_reporting_country(section, countries)
        self.share_table = read_share_table(cfg)
        self.polygons = producer_polygons(cfg)
        shares = section.degraded_shares
        self.folder_maps = run_folder_maps(cfg.resolve(shares.run_folder)) if shares.run_folder else None
        uses_maps = self.folder_maps is not None or (shares.from_run and cfg.inputs is not None)
        if uses_maps and self.polygons is None:
            raise ConfigError(
                "footprint.producers",
                "no producer polygons for the degraded shares from the maps",
                "give footprint.producers or inputs.regions, or set degraded_shares.from_run: false",
            )

    def check_sectors(self, sectors: list[str] | None) -> None:
        known = set(self.io.get_sectors())
        for name in sectors or []:
            if name not in known:
                raise ConfigError(
                    "footprint.commodities",
                    f"{name!r} is not a sector of the MRIO system",
                    f"use one of: {', '.join(sorted(known)[:8])}",
                )

    def shares_from_maps(self, ctx: RunContext) -> tuple[pd.DataFrame | None, str | None]:
        """(shares, source) from a previous run folder or this run's SO1 maps; (None, None) without."""
        cfg = ctx.config
        if self.folder_maps is not None:
            m = self.folder_maps
            status = open_layer(m.status, chunks=cfg.compute.chunk_size).squeeze(drop=True)
            land_cover = open_layer(m.land_cover, chunks=cfg.compute.chunk_size).squeeze(drop=True)
            source = f"maps of run {m.folder.name} ({m.period} status, land cover {m.land_cover_year})"
            grid = grid_of(m.status)
        elif (
            cfg.footprint.degraded_shares.from_run
            and ctx.plans
            and f"{ctx.plans[-1].name}/status" in ctx.layers
        ):
            plan = ctx.plans[-1]
            year = plan.land_cover[1]
            status = ctx.reopen(f"{plan.name}/status")
            land_cover = ctx.reopen(f"land_cover/land_cover_{year}")
            source = f"maps of this run ({plan.name} status, land cover {year})"
            grid = ctx.grid
        else:
            return None, None
        shares = map_shares(status, land_cover, self.polygons, grid, cfg.compute.chunk_size)
        return shares.assign(source=source), source

    def flows(self, cfg: RunConfig, shares: pd.DataFrame) -> pd.DataFrame:
        """The tidy flow table of the configured method, with degraded hectares."""
        section = cfg.footprint
        given = shares if len(shares) else None
        if section.method == "trade_flow":
            return trade_flow_footprint(
                self.tables.production,
                self.tables.trade,
                land_use=section.trade_flow.land_use or None,
                degraded_share=given,
            )
        flows = mrio_land_footprint(
            self.io, self.land, degraded_share=given, by_producing_sector=section.mrio.by_producing_sector
        )
        if section.commodities is not None:
            attrs = flows.attrs
            flows = flows[flows["sector"].isin(section.commodities)].reset_index(drop=True)
            flows.attrs = attrs
        return flows

    def run(self, ctx: RunContext) -> StageOutputs:
        cfg = ctx.config
        section = cfg.footprint
        from_maps, maps_source = self.shares_from_maps(ctx)
        shares = combine_shares(from_maps, self.share_table)
        flows = self.flows(cfg, shares)
        out = StageOutputs()
        (ctx.folder / "footprint").mkdir(parents=True, exist_ok=True)
        flows.to_csv(ctx.folder / FLOWS_FILE, index=False)
        if self.polygons is not None:
            dissolved = self.polygons.dissolve(by="producer", as_index=False)
            dissolved.to_file(ctx.folder / PRODUCERS_FILE, layer="producers", driver="GPKG", engine="pyogrio")
        country = section.reporting_country
        out.tables = {codes.AOI_SCOPE: footprint_tables(flows, shares, country, section.top_flows)}
        out.warnings = self.warnings(cfg, flows, maps_source)
        out.summary = {"footprint": self.summary(cfg, flows, shares, maps_source)}
        return out

    def warnings(self, cfg: RunConfig, flows: pd.DataFrame, maps_source: str | None) -> list[str]:
        """Doubtful figures: scaled exports, land whose degradation is not assessed, maps asked for
        but absent."""
        section = cfg.footprint
        found = [
            f"footprint: exports of {c} ({item}) exceed production plus imports; scaled by {f:.3f}"
            for c, item, f in flows.attrs.get("exports_scaled", [])
        ]
        into = flows[flows["consumer"] == section.reporting_country]
        unknown = into[into["degraded_hectares"].isna()]
        if len(unknown):
            producers = ", ".join(sorted(unknown["producer"].unique())[:8])
            country = section.reporting_country
            found.append(
                f"footprint: {unknown['hectares'].sum():,.0f} ha of the land in {country}'s "
                f"consumption come from producers with no degraded share (not assessed): {producers}"
            )
        shares = section.degraded_shares
        if maps_source is None and shares.from_run and shares.run_folder is None and cfg.inputs is not None:
            found.append(
                "footprint: degraded shares from the maps were asked for (degraded_shares.from_run) but "
                "this run has no SO1 status; only the table's shares are used"
            )
        return found

    def summary(
        self, cfg: RunConfig, flows: pd.DataFrame, shares: pd.DataFrame, maps_source: str | None
    ) -> dict[str, Any]:
        """summary.json's ``footprint``: method, boundaries, year, sources, totals, files."""
        section = cfg.footprint
        if section.method == "trade_flow":
            inputs = section.trade_flow
            sources = {
                "production": str(cfg.resolve(inputs.production)),
                "trade_matrix": str(cfg.resolve(inputs.trade_matrix)),
                "reported_by": inputs.reported_by,
            }
            products = sorted(self.tables.production["commodity"].unique())
        else:
            inputs = section.mrio
            system = "pymrio.load_test()" if inputs.format == "test" else str(cfg.resolve(inputs.system))
            sources = {"mrio_system": system, "format": inputs.format, "land": str(cfg.resolve(inputs.land))}
            products = section.commodities or sorted(self.io.get_sectors())
        table = section.degraded_shares.table
        totals = country_totals(flows, section.reporting_country)
        return {
            "method": section.method,
            "method_name": flows.attrs.get("method", ""),
            "reference": REFERENCES[section.method],
            "system_boundaries": SYSTEM_BOUNDARIES[section.method],
            "year": section.year,
            "products": list(products),
            "reporting_country": section.reporting_country,
            "sources": sources,
            "degraded_shares": {
                "maps": maps_source,
                "table": str(cfg.resolve(table)) if table is not None else None,
                "land_cover_classes": {"cropland": "UNCCD 3 cropland", "grazing": "UNCCD 2 grassland"},
                "producers": int(shares["region"].nunique()) if len(shares) else 0,
            },
            "names": dict(section.names),
            "totals_ha": {k: None if np.isnan(v) else v for k, v in totals.items()},
            "flows": len(flows),
            "exports_scaled": [list(x) for x in flows.attrs.get("exports_scaled", [])],
            "flows_file": FLOWS_FILE,
            "producers_file": PRODUCERS_FILE if self.polygons is not None else None,
        }


def footprint_only(cfg: RunConfig, source: Path) -> None:
    """ConfigError unless ``cfg`` (read from ``source``) has a ``footprint:`` section (for the
    ``ldnkit footprint`` command, which runs this stage alone)."""
    if cfg.footprint is None:
        raise ConfigError(str(source), "has no 'footprint:' section", "add one (see docs/footprint.md)")


__all__ = ["FLOWS_FILE", "PRODUCERS_FILE", "FootprintStage", "combine_shares", "footprint_only", "map_shares"]
