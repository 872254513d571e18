"""Inputs of the footprint stage, read and checked in ``prepare``: the trade tables or the MRIO
system, the producer polygons, the degraded-share table and a previous run folder's SO1 maps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ldnkit.config import FootprintConfig, RunConfig
from ldnkit.errors import ConfigError, InputError
from ldnkit.footprint import check_degraded_share
from ldnkit.io import run_folder
from ldnkit.io.trade import read_production, read_trade_matrix
from ldnkit.io.vector import read_vector

#: pymrio's reader of each ``footprint.mrio.format``.
MRIO_READERS = {
    "pymrio": "load_all",
    "exiobase3": "parse_exiobase3",
    "exiobase2": "parse_exiobase2",
    "eora26": "parse_eora26",
    "oecd": "parse_oecd",
}


@dataclass
class TradeTables:
    """Production (country, commodity, production t, harvested_area ha) and trade (exporter,
    importer, commodity, quantity t) of the commodities counted."""

    production: pd.DataFrame
    trade: pd.DataFrame


def read_trade_tables(cfg: RunConfig) -> TradeTables:
    """The FAOSTAT-shaped tables of ``footprint.trade_flow``, cut to ``footprint.commodities``."""
    section = cfg.footprint
    inputs = section.trade_flow
    production = read_production(cfg.resolve(inputs.production), year=section.year)
    trade = read_trade_matrix(
        cfg.resolve(inputs.trade_matrix), year=section.year, reported_by=inputs.reported_by
    )
    if section.commodities is not None:
        known = set(production["commodity"])
        for name in section.commodities:
            if name not in known:
                raise ConfigError(
                    "footprint.commodities",
                    f"{name!r} is not an item of {inputs.production}",
                    f"use names as in the table's Item column: {', '.join(sorted(known)[:8])}",
                )
        production = production[production["commodity"].isin(section.commodities)]
        trade = trade[trade["commodity"].isin(section.commodities)]
    if production.empty:
        raise InputError(
            str(inputs.production), "has no production for the year and items chosen", "check it"
        )
    return TradeTables(production.reset_index(drop=True), trade.reset_index(drop=True))


def load_mrio(cfg: RunConfig) -> Any:
    """The pymrio system of ``footprint.mrio`` (its reader chosen by ``format``)."""
    from ldnkit.footprint.mrio import pymrio_module

    inputs = cfg.footprint.mrio
    pymrio = pymrio_module()
    if inputs.format == "test":
        return pymrio.load_test()
    path = cfg.resolve(inputs.system)
    if not path.exists():
        raise InputError(f"footprint.mrio.system ({path})", "not found", "check the path in the config")
    try:
        return getattr(pymrio, MRIO_READERS[inputs.format])(path)
    except Exception as exc:  # pymrio raises many kinds on a folder it cannot parse
        raise InputError(
            f"footprint.mrio.system ({path})",
            f"pymrio cannot read it as {inputs.format!r}: {exc}",
            "check footprint.mrio.format",
        ) from exc


def read_csv(path: Path, key: str) -> pd.DataFrame:
    """A CSV table of the footprint section; InputError naming ``key`` if missing or unreadable."""
    if not path.is_file():
        raise InputError(f"{key} ({path})", "file not found", "check the path in the config")
    try:
        return pd.read_csv(path)
    except Exception as exc:
        raise InputError(f"{key} ({path})", f"cannot be read as CSV: {exc}", "give a CSV table") from exc


def read_share_table(cfg: RunConfig) -> pd.DataFrame | None:
    """``footprint.degraded_shares.table`` checked, with ``source`` = the file name; None if not set."""
    table = cfg.footprint.degraded_shares.table
    if table is None:
        return None
    key = "footprint.degraded_shares.table"
    path = cfg.resolve(table)
    shares = read_csv(path, key)
    check_degraded_share(shares, where=f"{key} ({path})")
    shares = shares[["region", "land_use", "degraded_share"]].astype({"region": str, "land_use": str})
    return shares.assign(source=f"table {path.name}")


def producer_polygons(cfg: RunConfig) -> gpd.GeoDataFrame | None:
    """Producer polygons (EPSG:4326, column ``producer``) from ``footprint.producers`` or the run's
    ``inputs.regions``, names mapped by ``footprint.names``; None when neither is given."""
    section = cfg.footprint
    if section.producers is not None:
        source, key = section.producers, "footprint.producers"
    elif cfg.inputs is not None and cfg.inputs.regions is not None:
        source, key = cfg.inputs.regions, "inputs.regions"
    elif section.names:
        raise ConfigError(
            "footprint.names", "maps polygon names but no polygons are given", "give footprint.producers"
        )
    else:
        return None
    polygons = read_vector(cfg.resolve(source.path), key=f"{key}.path", layer=getattr(source, "layer", None))
    if source.name_field not in polygons.columns:
        raise ConfigError(
            f"{key}.name_field",
            f"{source.name_field!r} is not a field of {source.path}",
            f"name one of: {', '.join(c for c in polygons.columns if c != 'geometry')}",
        )
    names = polygons[source.name_field].astype(str)
    unknown = sorted(set(section.names) - set(names))
    if unknown:
        raise ConfigError(
            f"footprint.names.{unknown[0]}", f"is not a name in {source.path}", "map names the polygons have"
        )
    producer = names.map(lambda n: section.names.get(n, n))
    return gpd.GeoDataFrame({"producer": producer.to_numpy()}, geometry=polygons.geometry.values).to_crs(
        "EPSG:4326"
    )


@dataclass
class RunFolderMaps:
    """The SO1 maps of a previous run: the last period's status and its final land-cover year."""

    folder: Path
    period: str
    status: Path
    land_cover: Path
    land_cover_year: int


def run_folder_maps(folder: Path) -> RunFolderMaps:
    """The last reporting period's status and land cover (its final year) of the run ``folder``."""
    key = f"footprint.degraded_shares.run_folder ({folder})"
    summary_path = folder / "summary.json"
    if not run_folder.is_ldnkit_run(folder) or not summary_path.is_file():
        raise InputError(
            key, "is not the output folder of an ldnkit run", "give the folder `ldnkit run` wrote"
        )
    summary = json.loads(summary_path.read_text())
    layers = summary.get("layers", {})
    reporting = [p for p in summary.get("periods", []) if p.get("kind") == "reporting"]
    if not reporting or f"{reporting[-1]['name']}/status" not in layers:
        raise InputError(key, "holds no SO1 status layer", "give the folder of a run with a reporting period")
    period = reporting[-1]
    year = int(period["land_cover"][1])
    if f"land_cover/land_cover_{year}" not in layers:
        raise InputError(key, f"holds no land-cover map of {year}", "give a complete SO1 run folder")
    return RunFolderMaps(
        folder,
        period["name"],
        folder / layers[f"{period['name']}/status"]["path"],
        folder / layers[f"land_cover/land_cover_{year}"]["path"],
        year,
    )


def check_reporting_country(section: FootprintConfig, countries: set[str]) -> None:
    """ConfigError unless the reporting country is one of the tables' countries or regions."""
    if section.reporting_country not in countries:
        raise ConfigError(
            "footprint.reporting_country",
            f"{section.reporting_country!r} is not a country of the footprint tables",
            f"use one of: {', '.join(sorted(countries)[:10])}",
        )


__all__ = [
    "MRIO_READERS",
    "RunFolderMaps",
    "TradeTables",
    "check_reporting_country",
    "load_mrio",
    "producer_polygons",
    "read_csv",
    "read_share_table",
    "read_trade_tables",
    "run_folder_maps",
]
