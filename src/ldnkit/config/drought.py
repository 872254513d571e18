"""The ``drought`` section (SO3): precipitation, population, vulnerability, SPI method."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ldnkit.config.model import Strict, YearRange


class PrecipitationInput(Strict):
    """Monthly precipitation: a GeoTIFF stack (dates in band descriptions), NetCDF/Zarr, or a CSV table of
    stations/divisions. ``units`` overrides the file's (mm or inches; SPI does not depend on them)."""

    path: Path
    variable: str | None = None
    # the spellings io.climate reads from files too; "in" is what its docs and CF files use
    units: Literal["mm", "millimeters", "millimetres", "in", "inch", "inches"] | None = None


class PopulationInput(Strict):
    """Population rasters per year (GeoTIFF): ``{year: path}`` for the total and, optionally, by sex.
    ``units``: ``count`` (persons per pixel) or ``density`` (persons per km², multiplied by cell areas)."""

    total: dict[int, Path]
    female: dict[int, Path] | None = None
    male: dict[int, Path] | None = None
    units: Literal["count", "density"]


class VulnerabilityGrid(Strict):
    """One gridded vulnerability factor (Tier 3): rasters per year (or one static raster)."""

    component: Literal["social", "economic", "infrastructural"]
    direction: Literal["positive", "negative"]
    maps: dict[int, Path] | None = None
    path: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> VulnerabilityGrid:
        if (self.maps is None) == (self.path is None):
            raise ValueError("give exactly one of 'maps' (year: raster) or 'path' (one static raster)")
        return self


class VulnerabilityInput(Strict):
    """Drought vulnerability (SO 3-3): a national factor table (CSV: factor, component, direction, year,
    value, optional sex) and/or gridded factors (Tier 3, giving a DVI map); optional weights per factor."""

    table: Path | None = None
    grids: dict[str, VulnerabilityGrid] | None = None
    weights: dict[str, float] | None = None

    @model_validator(mode="after")
    def _some(self) -> VulnerabilityInput:
        if self.table is None and not self.grids:
            raise ValueError("give a factor 'table' (CSV) and/or gridded factors 'grids'")
        return self


class SpiMethod(Strict):
    """SPI (default) or SPEI settings. ``distribution``: gamma (default) or pearson3; ``fit``: thom
    (Thom 1958 approximation, as McKee, NCL, climate-indices and xclim APP) or mle."""

    index: Literal["spi", "spei"] = "spi"
    scale: int = Field(12, ge=1, le=48)
    reference: YearRange = Field(default_factory=lambda: [1981, 2010])
    distribution: Literal["gamma", "pearson3"] = "gamma"
    fit: Literal["thom", "mle"] = "thom"
    month: int = Field(12, ge=1, le=12)


class DroughtConfig(Strict):
    """Drought (UNCCD SO 3): hazard from SPI, population exposure by sex, vulnerability."""

    precipitation: PrecipitationInput | None = None
    pet: PrecipitationInput | None = None
    spi: Path | None = None  # precomputed annual or monthly SPI instead of precipitation
    method: SpiMethod = Field(default_factory=SpiMethod)
    years: YearRange | None = None
    boundaries: Literal["unccd", "trends_earth"] = "unccd"
    period_length: int = Field(4, ge=1)
    period_start: int = 2000
    population: PopulationInput | None = None
    vulnerability: VulnerabilityInput | None = None

    @model_validator(mode="after")
    def _source(self) -> DroughtConfig:
        if (self.precipitation is None) == (self.spi is None):
            raise ValueError("give exactly one of 'precipitation' (monthly) or 'spi' (precomputed)")
        if self.method.index == "spei" and self.pet is None:
            raise ValueError("method.index 'spei' needs 'pet' (potential evapotranspiration)")
        if self.years is not None and self.years[1] < self.years[0]:
            raise ValueError(f"years: {self.years[1]} is before {self.years[0]}")
        return self
