"""The ``inputs`` and ``periods`` sections: the SDG 15.3.1 layers and the years they cover."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ldnkit.config.model import Strict, YearRange


class ProductivityInput(Strict):
    """Annual vegetation index: a multi-band GeoTIFF (a year per band), a folder of per-year GeoTIFFs,
    or a NetCDF/Zarr variable with a time axis (sub-annual data are aggregated per calendar year)."""

    path: Path
    years: list[int] | None = None
    variable: str | None = None
    aggregate: Literal["mean", "sum"] = "mean"
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None
    index: Literal["ndvi", "evi", "savi", "other"] = "ndvi"


class LandCoverInput(Strict):
    """Land cover maps in any legend, nested to the 7 UNCCD classes.

    Give either ``maps`` (year -> file) or ``path`` (a multi-band file, years from band descriptions or
    ``years``)."""

    maps: dict[int, Path] | None = None
    path: Path | None = None
    years: list[int] | None = None
    legend: Literal["esa_cci", "modis_igbp", "unccd", "custom"] = "esa_cci"
    nesting: dict[int, list[int]] | Path | None = None
    nodata: list[float] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> LandCoverInput:
        if (self.maps is None) == (self.path is None):
            raise ValueError("give exactly one of 'maps' (year: file) or 'path' (multi-band file)")
        if self.legend == "custom" and self.nesting is None:
            raise ValueError("legend 'custom' needs a 'nesting' (UNCCD class: [your codes])")
        if isinstance(self.nesting, dict):
            bad = [k for k in self.nesting if k not in range(1, 8)]
            if bad:
                raise ValueError(f"nesting keys must be UNCCD classes 1-7, got {bad}")
        return self


class SocInput(Strict):
    """Reference SOC stock (t/ha, 0-30 cm) for the reference year (default: first land-cover year)."""

    path: Path
    year: int | None = None
    scale: float = 1.0
    nodata: float | None = None


class ClimateZonesInput(Strict):
    """IPCC climate zones as a raster (12-class IPCC/JRC codes) or one zone for the whole area."""

    path: Path | None = None
    zone: (
        Literal["temperate_dry", "temperate_moist", "tropical_dry", "tropical_moist", "tropical_montane"]
        | None
    ) = None

    @model_validator(mode="after")
    def _one_source(self) -> ClimateZonesInput:
        if (self.path is None) == (self.zone is None):
            raise ValueError("give exactly one of 'path' (zone raster) or 'zone' (one zone name)")
        return self


class RegionsInput(Strict):
    """Sub-national regions (any vector format GDAL reads); ``name_field`` names each region."""

    path: Path
    name_field: str = "name"


class ExternalLpdInput(Strict):
    """An external LPD layer used instead of computing productivity (JRC, FAO-WOCAT, Trends.Earth)."""

    path: Path
    legend: Literal["jrc", "fao_wocat", "trends_earth"] = "trends_earth"
    periods: list[str] | None = None  # period names it applies to; default all


class Inputs(Strict):
    productivity: ProductivityInput | None = None
    land_cover: LandCoverInput
    soc: SocInput
    climate_zones: ClimateZonesInput = Field(default_factory=lambda: ClimateZonesInput(zone="temperate_dry"))
    ecological_units: Path | None = None
    area_of_interest: Path | None = None
    regions: RegionsInput | None = None
    external_lpd: ExternalLpdInput | None = None

    @model_validator(mode="after")
    def _productivity_source(self) -> Inputs:
        if self.productivity is None and self.external_lpd is None:
            raise ValueError("give 'productivity' (a vegetation-index stack) or 'external_lpd'")
        return self


class Period(Strict):
    """A baseline or reporting period. Windows not given are derived (see docs/methods.md):
    productivity windows end at ``end`` and span ``methods.productivity_window`` years (clamped to the data);
    land cover/SOC change runs from ``start`` (baseline) or the baseline's end (reporting) to ``end``."""

    name: str | None = None
    start: int
    end: int
    trend: YearRange | None = None
    state_historical: YearRange | None = None
    state_comparison: YearRange | None = None
    performance: YearRange | None = None
    land_cover: YearRange | None = None
    #: confidence in the period's estimate, as assessed by the reporting Party (PRAIS SO1-4.T2)
    confidence: Literal["high", "medium", "low"] | None = None

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        for key in ("trend", "state_historical", "state_comparison", "performance", "land_cover"):
            r = getattr(self, key)
            if r is not None and r[1] < r[0]:
                raise ValueError(f"{key}: {r[1]} is before {r[0]}")
        return self


class Periods(Strict):
    baseline: Period
    reporting: list[Period] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> Periods:
        if self.baseline.name is None:
            self.baseline.name = "baseline"
        for p in self.reporting:
            if p.name is None:
                p.name = f"{p.start}-{p.end}"
        names = [self.baseline.name] + [p.name for p in self.reporting]
        if len(set(names)) != len(names):
            raise ValueError(f"period names must be unique, got {names}")
        for n in names:
            if not re.fullmatch(r"[A-Za-z0-9_.\-]+", n):
                raise ValueError(f"period name {n!r} may use only letters, digits, '_', '-', '.'")
        return self
