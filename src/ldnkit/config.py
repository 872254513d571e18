"""The run configuration: pydantic models of the YAML file given to ``ldnkit run``.

Every method choice has a default here and is recorded in ``summary.json``. Unknown keys and bad values
are errors that name the key's path (``methods.soc.threshold: ...``).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ldnkit.codes import AOI_SCOPE
from ldnkit.errors import ConfigError

Matrix7 = list[list[int]]
FactorMatrix = list[list[float]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


# --- inputs ---------------------------------------------------------------------------------------
class ProductivityInput(_Strict):
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


class LandCoverInput(_Strict):
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


class SocInput(_Strict):
    """Reference SOC stock (t/ha, 0-30 cm) for the reference year (default: first land-cover year)."""

    path: Path
    year: int | None = None
    scale: float = 1.0
    nodata: float | None = None


class ClimateZonesInput(_Strict):
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


class RegionsInput(_Strict):
    """Sub-national regions (any vector format GDAL reads); ``name_field`` names each region."""

    path: Path
    name_field: str = "name"


class ExternalLpdInput(_Strict):
    """An external LPD layer used instead of computing productivity (JRC, FAO-WOCAT, Trends.Earth)."""

    path: Path
    legend: Literal["jrc", "fao_wocat", "trends_earth"] = "trends_earth"
    periods: list[str] | None = None  # period names it applies to; default all


class Inputs(_Strict):
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


# --- periods --------------------------------------------------------------------------------------
YearRange = Annotated[list[int], Field(min_length=2, max_length=2)]


class Period(_Strict):
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


class Periods(_Strict):
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


# --- methods --------------------------------------------------------------------------------------
class TrajectoryMethod(_Strict):
    """Productivity trend. ``mann_kendall`` (default): two-sided p <= alpha with the tie-corrected
    variance; ``trends_earth``: Trends.Earth's S critical-value table (no tie correction, 'level');
    ``z_score``: |z| > z_threshold (PRAIS 2022 style)."""

    method: Literal["mann_kendall", "trends_earth", "z_score"] = "mann_kendall"
    alpha: float = Field(0.05, gt=0, lt=1)
    z_threshold: float = Field(1.96, gt=0)
    level: Literal[90, 95, 99] = 95


class StateMethod(_Strict):
    """Productivity state. ``percentile_class`` (default, Trends.Earth/PRAIS 2026) or ``z_score``
    (GPG v2/PRAIS 2022, denominator SD or SE)."""

    method: Literal["percentile_class", "z_score"] = "percentile_class"
    comparison_years: int = Field(3, ge=1)
    min_difference: float = Field(0.01, ge=0)
    z_threshold: float = Field(1.96, gt=0)
    z_denominator: Literal["sd", "se"] = "sd"


class PerformanceMethod(_Strict):
    """Productivity performance: pixel mean / percentile of its ecological unit (over the whole input
    extent, not the area of interest); ratio <= threshold is degraded."""

    percentile: float = Field(90.0, gt=0, le=100)
    threshold: float = Field(0.5, gt=0, lt=1)
    units: Literal["land_cover_x_climate", "land_cover", "ecological_units"] = "land_cover_x_climate"


class LpdMethod(_Strict):
    table: Literal["prais2026", "gpg_v1", "gpg_v2"] = "prais2026"


class RegionalMatrix(_Strict):
    """A transition matrix for the pixels of one sub-national region (by its name in the regions layer)."""

    region: str
    matrix: Matrix7


class LandCoverMethod(_Strict):
    """Land-cover degradation by a transition matrix (rows initial, columns final UNCCD class)."""

    matrix: Matrix7 | None = None
    regional_matrices: list[RegionalMatrix] = Field(default_factory=list, max_length=5)

    @field_validator("matrix")
    @classmethod
    def _check_matrix(cls, m: Matrix7 | None) -> Matrix7 | None:
        if m is not None:
            _check_7x7(m)
        return m

    @field_validator("regional_matrices")
    @classmethod
    def _check_regional(cls, ms: list[RegionalMatrix]) -> list[RegionalMatrix]:
        for r in ms:
            _check_7x7(r.matrix)
        return ms


def _check_7x7(m: Matrix7) -> None:
    if len(m) != 7 or any(len(row) != 7 for row in m):
        raise ValueError("a transition matrix must be 7 rows of 7 values (-1, 0 or 1)")
    if any(v not in (-1, 0, 1) for row in m for v in row):
        raise ValueError("transition matrix values must be -1, 0 or 1")


class SocMethod(_Strict):
    """Tier 1 SOC bookkeeping and its degradation threshold."""

    threshold: float = Field(10.0, gt=0, lt=100)
    inclusive: bool = True
    management_factor: float | FactorMatrix = 1.0
    input_factor: float | FactorMatrix = 1.0
    years_to_equilibrium: int = Field(20, ge=1)

    @field_validator("management_factor", "input_factor")
    @classmethod
    def _check_factor(cls, v: float | FactorMatrix) -> float | FactorMatrix:
        if isinstance(v, list) and (len(v) != 7 or any(len(r) != 7 for r in v)):
            raise ValueError("a factor matrix must be 7 rows of 7 numbers")
        if isinstance(v, float | int) and v <= 0:
            raise ValueError("a factor must be positive")
        return v


class Methods(_Strict):
    productivity_window: int = Field(16, ge=3)
    min_window_years: int = Field(10, ge=3)
    trajectory: TrajectoryMethod = Field(default_factory=TrajectoryMethod)
    state: StateMethod = Field(default_factory=StateMethod)
    performance: PerformanceMethod = Field(default_factory=PerformanceMethod)
    lpd: LpdMethod = Field(default_factory=LpdMethod)
    land_cover: LandCoverMethod = Field(default_factory=LandCoverMethod)
    soc: SocMethod = Field(default_factory=SocMethod)


class PrecipitationInput(_Strict):
    """Monthly precipitation: a GeoTIFF stack (dates in band descriptions), NetCDF/Zarr, or a CSV table of
    stations/divisions. ``units`` overrides the file's (mm or inches; SPI does not depend on them)."""

    path: Path
    variable: str | None = None
    # the spellings io.climate reads from files too; "in" is what its docs and CF files use
    units: Literal["mm", "millimeters", "millimetres", "in", "inch", "inches"] | None = None


class PopulationInput(_Strict):
    """Population rasters per year (GeoTIFF): ``{year: path}`` for the total and, optionally, by sex.
    ``units``: ``count`` (persons per pixel) or ``density`` (persons per km², multiplied by cell areas)."""

    total: dict[int, Path]
    female: dict[int, Path] | None = None
    male: dict[int, Path] | None = None
    units: Literal["count", "density"]


class VulnerabilityGrid(_Strict):
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


class VulnerabilityInput(_Strict):
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


class SpiMethod(_Strict):
    """SPI (default) or SPEI settings. ``distribution``: gamma (default) or pearson3; ``fit``: thom
    (Thom 1958 approximation, as McKee, NCL, climate-indices and xclim APP) or mle."""

    index: Literal["spi", "spei"] = "spi"
    scale: int = Field(12, ge=1, le=48)
    reference: YearRange = Field(default_factory=lambda: [1981, 2010])
    distribution: Literal["gamma", "pearson3"] = "gamma"
    fit: Literal["thom", "mle"] = "thom"
    month: int = Field(12, ge=1, le=12)


class DroughtConfig(_Strict):
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


# --- LDN neutrality accounting, corrections, report ----------------------------------------------
class ReportConfig(_Strict):
    """Extra outputs of a run: an HTML report and a QGIS project (both on by default)."""

    html: bool = True
    qgis_project: bool = True


class CorrectionsConfig(_Strict):
    """False positive / negative polygons (GPG Addendum; PRAIS SO1-4.T3), any vector format GDAL reads.

    Fields: ``type`` (false positive | false negative), ``periods`` (period names, comma separated, or
    ``all``), ``place_name``, ``process``, ``basis``; optional ``start`` and ``recode_to`` (0 or 1,
    for a false negative). See docs/neutrality.md."""

    path: Path


Bound = Annotated[list[float | None], Field(min_length=2, max_length=2)]


class ActivitiesConfig(_Strict):
    """Restoration and land-management activities compiled per region (docs/registry.md): the
    registry (an embedded GeoPackage path or ``postgresql://...``) and the statuses counted."""

    registry: str
    statuses: list[str] = Field(default_factory=lambda: ["approved"], min_length=1)


class RuleClassConfig(_Strict):
    """One class of a rule-based classification: ``when`` maps a variable to ``[min, max)``
    (``null`` = open); the first class whose every condition holds wins."""

    code: int = Field(ge=1, le=32767)
    label: str
    when: dict[str, Bound] = Field(min_length=1)

    @field_validator("when")
    @classmethod
    def _bounds(cls, v: dict[str, list[float | None]]) -> dict[str, list[float | None]]:
        for name, (lo, hi) in v.items():
            if lo is not None and hi is not None and hi <= lo:
                raise ValueError(f"{name}: the maximum {hi} is not above the minimum {lo}")
        return v


class RuleConfig(_Strict):
    """Continuous rasters (averaged onto the grid) classed by rules into one land-type component."""

    name: str
    layers: dict[str, Path] = Field(min_length=1)
    classes: list[RuleClassConfig] = Field(min_length=1)
    otherwise: int | None = Field(None, ge=1, le=32767)

    @model_validator(mode="after")
    def _check(self) -> RuleConfig:
        seen = [c.code for c in self.classes]
        dup = sorted({c for c in seen if seen.count(c) > 1})
        if dup:
            raise ValueError(f"class codes must be unique, {dup} repeated")
        if self.otherwise is not None and self.otherwise in seen:
            raise ValueError(f"otherwise {self.otherwise} is also the code of a class")
        for c in self.classes:
            unknown = sorted(set(c.when) - set(self.layers))
            if unknown:
                raise ValueError(
                    f"class {c.code} uses {unknown}, which are not in layers ({sorted(self.layers)})"
                )
        return self


class ObservationsConfig(_Strict):
    """Field observations (CSV with x/y or lon/lat columns, or points in any vector format) with
    LandPKS-like fields, compared with the land-type map and the rules."""

    path: Path
    class_field: str | None = None
    x: str | None = None
    y: str | None = None
    crs: str | None = None


class LandTypesConfig(_Strict):
    """Land types (land potential): the intersection of categorical components."""

    layers: dict[str, Path] = Field(default_factory=dict)
    labels: dict[str, dict[int, str]] = Field(default_factory=dict)
    climate_zones: bool = False
    land_cover: bool = False
    rules: list[RuleConfig] = Field(default_factory=list)
    min_area_km2: float = Field(0.0, ge=0)
    observations: ObservationsConfig | None = None

    def components(self) -> list[str]:
        """Component names in the order they are combined."""
        names = list(self.layers) + [r.name for r in self.rules]
        if self.climate_zones:
            names.append("climate")
        if self.land_cover:
            names.append("land_cover")
        return names

    @model_validator(mode="after")
    def _check(self) -> LandTypesConfig:
        names = self.components()
        if not names:
            raise ValueError(
                "give at least one component: layers, rules, climate_zones: true or land_cover: true"
            )
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(
                f"component names must be unique, {dup} repeated ('climate' and "
                "'land_cover' are taken by climate_zones and land_cover)"
            )
        unknown = sorted(set(self.labels) - set(names))
        if unknown:
            raise ValueError(f"labels for {unknown}, which are not components ({names})")
        return self


class RiskConfig(_Strict):
    """A user risk layer: land not degraded with risk > threshold is 'reduce' in the response hierarchy."""

    path: Path
    threshold: float = 0.0


class PolygonsInput(_Strict):
    """Polygons in any vector format GDAL reads (``layer``: the layer of a multi-layer file)."""

    path: Path
    layer: str | None = None


class InterventionsConfig(_Strict):
    """Planned interventions: polygons with a response level (avoid, reduce or reverse, or 1-3) in
    ``level_field`` and an expected effect (share 0-1 that succeeds) in ``effect_field``; polygons
    without an effect (or no such field) use ``effect``."""

    path: Path
    layer: str | None = None
    level_field: str = "level"
    effect_field: str | None = "effect"
    effect: float = Field(1.0, ge=0, le=1)


class PlanningConfig(_Strict):
    """Planning to a horizon year: anticipated losses and planned interventions."""

    horizon: int
    anticipated_losses: list[PolygonsInput] = Field(default_factory=list)
    interventions: InterventionsConfig | None = None


class HotspotsConfig(_Strict):
    """Hotspots (contiguous degradation) and brightspots (contiguous improvement) of the accounted
    period's status."""

    min_area_km2: float = Field(1.0, ge=0)
    connectivity: Literal[4, 8] = 8
    method: Literal["components", "density"] = "components"
    window: int = Field(5, ge=3)
    density_threshold: float = Field(0.5, gt=0, le=1)

    @field_validator("window")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError("the window must be an odd number of pixels")
        return v


class DriverConfig(_Strict):
    """A driver of degradation (or of improvement) attached to a hotspot/brightspot: at a point
    (``at``: x, y in the grid CRS, or in ``crs``) or by table ``hotspot_id``. ``driver`` and
    ``sub_driver`` are names of the UNCCD/IPBES vocabulary, ``confidence`` an IPBES term (both
    checked when the run starts, with the closest valid names)."""

    driver: str
    confidence: str
    sub_driver: str | None = None
    at: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    hotspot_id: int | None = Field(None, ge=1)
    kind: Literal["hotspot", "brightspot"] | None = None
    period: str | None = None
    remediation: str | None = None
    crs: str | None = None

    @model_validator(mode="after")
    def _where(self) -> DriverConfig:
        if (self.at is None) == (self.hotspot_id is None):
            raise ValueError("give exactly one of 'at' ([x, y] in the grid CRS) or 'hotspot_id'")
        return self


TargetKind = Literal["no_net_loss", "max_degraded_percent", "land_cover_change_percent", "restore_km2"]


class TargetConfig(_Strict):
    """A voluntary LDN target (PRAIS SO1-VT.T1)."""

    id: str
    kind: TargetKind
    description: str = ""
    year: int
    scope: str = AOI_SCOPE
    land_cover: int | None = Field(None, ge=1, le=7)
    base_year: int | None = None
    value: float | None = None

    @model_validator(mode="after")
    def _needs(self) -> TargetConfig:
        if self.kind != "no_net_loss" and self.value is None:
            raise ValueError(f"a '{self.kind}' target needs a 'value'")
        if self.kind == "land_cover_change_percent" and (self.land_cover is None or self.base_year is None):
            raise ValueError("a 'land_cover_change_percent' target needs 'land_cover' (1-7) and 'base_year'")
        if self.kind == "max_degraded_percent" and not (0 <= self.value <= 100):
            raise ValueError(f"value {self.value} is not a percentage (0-100)")
        if self.base_year is not None and self.base_year > self.year:
            raise ValueError(f"base_year {self.base_year} is after the target year {self.year}")
        return self


class NeutralityConfig(_Strict):
    """LDN neutrality accounting (GPG Addendum; Cowie et al. 2018): land types, the balance sheet per
    land type and region, the response hierarchy, planning, hotspots with drivers, targets."""

    period: str | None = None  # reporting period accounted; default the last
    land_types: LandTypesConfig
    risk: RiskConfig | None = None
    planning: PlanningConfig | None = None
    hotspots: HotspotsConfig = Field(default_factory=HotspotsConfig)
    drivers: list[DriverConfig] | Path = Field(default_factory=list)
    targets: list[TargetConfig] = Field(default_factory=list)

    @field_validator("targets")
    @classmethod
    def _unique(cls, v: list[TargetConfig]) -> list[TargetConfig]:
        ids = [t.id for t in v]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"target ids must be unique, {dup} repeated")
        return v


class Compute(_Strict):
    """``scheduler``: ``threads`` (default), ``processes``, ``synchronous`` or the address of a
    dask.distributed scheduler (``tcp://host:8786``)."""

    chunk_size: int = Field(1024, ge=64, le=16384)
    scheduler: str = "threads"
    workers: int | None = Field(None, ge=1)

    @field_validator("scheduler")
    @classmethod
    def _check_scheduler(cls, v: str) -> str:
        if v in ("threads", "processes", "synchronous") or "://" in v:
            return v
        raise ValueError("use threads, processes, synchronous or a scheduler address like tcp://host:8786")


class GridConfig(_Strict):
    """The grid every layer is aligned to: ``productivity`` (default), ``land_cover``, ``soc`` or a path."""

    target: str = "productivity"


class RunConfig(_Strict):
    """One run of ldnkit: inputs, periods, methods, outputs and compute settings."""

    output: Path
    overwrite: bool = False
    title: str = "ldnkit run"
    inputs: Inputs | None = None
    grid: GridConfig = Field(default_factory=GridConfig)
    periods: Periods | None = None
    drought: DroughtConfig | None = None
    corrections: CorrectionsConfig | None = None
    activities: ActivitiesConfig | None = None
    neutrality: NeutralityConfig | None = None
    report: ReportConfig = Field(default_factory=ReportConfig)
    methods: Methods = Field(default_factory=Methods)
    compute: Compute = Field(default_factory=Compute)
    #: folder that relative paths are resolved against (the config file's folder); not a YAML key.
    base_dir: Path = Field(default=Path("."), exclude=True)
    #: the YAML file this config was read from (``None`` if built in code); not a YAML key.
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _matrices_need_regions(self) -> RunConfig:
        if (self.inputs is None) != (self.periods is None):
            raise ValueError("give both 'inputs' and 'periods' (SDG 15.3.1), or neither (drought only)")
        if self.inputs is None and self.drought is None:
            raise ValueError("give 'inputs' and 'periods' (SDG 15.3.1), a 'drought' section, or both")
        if self.inputs is None:
            for key in ("corrections", "neutrality", "activities"):
                if getattr(self, key) is not None:
                    raise ValueError(f"'{key}' needs 'inputs' and 'periods' (SDG 15.3.1)")
            return self
        self._check_period_names()
        if self.methods.land_cover.regional_matrices and self.inputs.regions is None:
            raise ValueError("methods.land_cover.regional_matrices needs inputs.regions")
        return self

    def _check_period_names(self) -> None:
        names = [self.periods.baseline.name] + [p.name for p in self.periods.reporting]
        nt = self.neutrality
        if nt is None:
            return
        reporting = names[1:]
        if not reporting:
            raise ValueError("'neutrality' needs a reporting period (the balance uses its status)")
        if nt.period is not None and nt.period not in reporting:
            what = "is the baseline, which has no status" if nt.period == names[0] else "is not a period"
            raise ValueError(f"neutrality.period {nt.period!r} {what}: use one of {reporting}")
        for i, d in enumerate(nt.drivers if isinstance(nt.drivers, list) else []):
            if d.period is not None and d.period not in names:
                raise ValueError(
                    f"neutrality.drivers[{i}].period {d.period!r} is not a period: use one of {names}"
                )

    def resolve(self, path: Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(path).expanduser()
        return Path(os.path.normpath(p if p.is_absolute() else (self.base_dir / p)))

    def input_paths(self) -> list[Path]:
        """Every file or folder the run reads (resolved), for the run-folder checks."""
        found: list[Path] = []
        if self.grid.target not in ("productivity", "land_cover", "soc"):
            found.append(Path(self.grid.target))
        fields = [k for k in type(self).model_fields if k not in ("output", "base_dir")]
        stack: list[Any] = [getattr(self, k) for k in fields]
        while stack:
            item = stack.pop()
            if isinstance(item, Path):
                found.append(item)
            elif isinstance(item, BaseModel):
                stack.extend(getattr(item, k) for k in type(item).model_fields)
            elif isinstance(item, dict | list | tuple):
                stack.extend(item.values() if isinstance(item, dict) else item)
        return [self.resolve(p) for p in found]

    def recorded(self) -> dict[str, Any]:
        """The whole configuration with defaults filled in, JSON-ready (for summary.json)."""
        return self.model_dump(mode="json")


def _error_path(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "function-before") or "[" in str(item):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "config"


def _problem(err: Mapping[str, Any]) -> tuple[str, str, str]:
    """(where, what, fix) of one pydantic error, with a spelling suggestion for an unknown key."""
    loc = tuple(err["loc"])
    where = _error_path(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _keys_at(loc[:-1]), n=1)
        what = f"unknown key (did you mean '{close[0]}'?)" if close else "unknown key"
        return where, what, "check its spelling against docs/config.md"
    if kind == "missing":
        return where, "is required", "add it (see docs/config.md)"
    bad = err.get("input")
    shown = "" if isinstance(bad, dict | list) else f" (got {bad!r})"
    return where, f"{err['msg'].removeprefix('Value error, ')}{shown}", "see docs/config.md"


def _keys_at(loc: tuple) -> list[str]:
    """The keys the config schema allows at ``loc`` (a pydantic error location), for suggestions."""
    schema = RunConfig.model_json_schema()
    defs = schema.get("$defs", {})

    def resolve(node: dict) -> list[dict]:
        if "$ref" in node:
            return resolve(defs[node["$ref"].rsplit("/", 1)[1]])
        options = node.get("anyOf") or node.get("oneOf") or node.get("allOf")
        return [o for opt in options for o in resolve(opt)] if options else [node]

    nodes = resolve(schema)
    for part in loc:
        nxt = []
        for node in nodes:
            if isinstance(part, int) and "items" in node:
                nxt += resolve(node["items"])
            elif part in node.get("properties", {}):
                nxt += resolve(node["properties"][part])
            elif isinstance(node.get("additionalProperties"), dict):
                nxt += resolve(node["additionalProperties"])
        nodes = nxt
    return sorted({k for node in nodes for k in node.get("properties", {})})


def parse_config(data: dict[str, Any], base_dir: Path | str = ".", source: str = "config") -> RunConfig:
    """Validate a config mapping; raise :class:`ConfigError` naming the first bad key."""
    if not isinstance(data, dict):
        raise ConfigError(source, "is not a mapping of keys", "see docs/config.md for the layout")
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        # a misspelt key is also a missing one: name the misspelling first, with its suggestion
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        problems = [_problem(err) for err in errors]
        where, what, fix = problems[0]
        if len(problems) > 1:  # every problem at once, still on one line
            what = f"{what}; and {len(problems) - 1} more: " + "; ".join(
                f"{w} {m}" for w, m, _ in problems[1:]
            )
        raise ConfigError(f"{source}: {where}", what, fix) from None
    cfg.base_dir = Path(base_dir)
    return cfg


def load_config(path: Path | str) -> RunConfig:
    """Read and validate a YAML run config; relative paths in it are relative to its folder."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "config file not found", "give the path of a YAML run config")
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" at line {line + 1}" if line is not None else ""
        raise ConfigError(str(path), f"is not valid YAML{at}", "fix the syntax") from None
    cfg = parse_config(data, base_dir=path.parent.resolve(), source=str(path))
    cfg.source = path.resolve()
    return cfg
