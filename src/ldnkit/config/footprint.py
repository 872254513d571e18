"""The ``footprint`` section (mission M7): the land, and degraded land, behind a country's consumption."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ldnkit.config.model import Strict


class TradeFlowInputs(Strict):
    """Physical trade flows (Kastner et al. 2011) from FAOSTAT-shaped CSVs (docs/footprint.md):
    ``production`` (QCL: Production t, Area harvested ha), ``trade_matrix`` (detailed trade matrix,
    t); ``reported_by`` picks importers' (default) or exporters' reports; ``land_use`` maps a
    commodity to the land use its area counts as (default ``cropland``; fodder to ``grazing``)."""

    production: Path
    trade_matrix: Path
    reported_by: Literal["importer", "exporter"] = "importer"
    land_use: dict[str, str] = Field(default_factory=dict)


class MrioInputs(Strict):
    """An environmentally extended MRIO system read by pymrio: ``system`` (a folder or archive) in
    ``format`` (``pymrio``: ``pymrio.load_all``; ``exiobase3``, ``exiobase2``, ``eora26``, ``oecd``:
    pymrio's parse functions; ``test``: pymrio's bundled test system, no ``system``), and ``land``
    (CSV: region, sector, land_use, hectares) the land each industry occupies."""

    format: Literal["pymrio", "exiobase3", "exiobase2", "eora26", "oecd", "test"] = "pymrio"
    system: Path | None = None
    land: Path
    by_producing_sector: bool = False

    @model_validator(mode="after")
    def _system_given(self) -> MrioInputs:
        if (self.system is None) != (self.format == "test"):
            raise ValueError("give 'system' (the path pymrio reads) unless format is 'test'")
        return self


class ProducerPolygons(Strict):
    """Producer polygons (any vector format GDAL reads); ``name_field`` holds names matching the
    trade tables' producers (or mapped to them by ``footprint.names``); ``layer`` picks a layer of a
    multi-layer file (a run's ``boundaries.gpkg``: ``regions``)."""

    path: Path
    name_field: str = "name"
    layer: str | None = None


class DegradedShares(Strict):
    """Where each producer's degraded share of cropland and grazing land comes from.

    ``from_run`` (default true): this run's SO1 status and land cover, per producer polygon (needs
    ``inputs:``); ``run_folder``: instead, the folder of a previous ``ldnkit run``; ``table``: a CSV
    (region, land_use, degraded_share) for producers the maps do not cover (maps win where both
    give a share). Producers with no share get degraded hectares "not assessed" (empty), never 0."""

    from_run: bool = True
    run_folder: Path | None = None
    table: Path | None = None


class FootprintConfig(Strict):
    """Land footprint of consumption (docs/footprint.md): ``method`` (``trade_flow``, the default,
    or ``mrio``) with its inputs; ``year`` (picked from tables holding several years);
    ``commodities`` (default all; names as in the tables: items or MRIO sectors); the
    ``reporting_country`` whose consumption is reported; ``producers`` (polygons; default the run's
    ``inputs.regions``) and ``names`` (polygon name -> producer name in the tables); the
    ``degraded_shares`` sources; ``top_flows`` (rows of the top embodied-degradation table)."""

    method: Literal["trade_flow", "mrio"] = "trade_flow"
    trade_flow: TradeFlowInputs | None = None
    mrio: MrioInputs | None = None
    year: int | None = None
    commodities: list[str] | None = Field(None, min_length=1)
    reporting_country: str
    producers: ProducerPolygons | None = None
    names: dict[str, str] = Field(default_factory=dict)
    degraded_shares: DegradedShares = Field(default_factory=DegradedShares)
    top_flows: int = Field(10, ge=1, le=1000)

    @model_validator(mode="after")
    def _method_inputs(self) -> FootprintConfig:
        if getattr(self, self.method) is None:
            raise ValueError(f"method {self.method!r} needs a '{self.method}:' subsection with its tables")
        return self
