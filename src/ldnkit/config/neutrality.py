"""The ``corrections`` and ``neutrality`` sections: LDN accounting by land type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ldnkit.codes import AOI_SCOPE
from ldnkit.config.model import Bound, Strict


class CorrectionsConfig(Strict):
    """False positive / negative polygons (GPG Addendum; PRAIS SO1-4.T3), any vector format GDAL reads.

    Fields: ``type`` (false positive | false negative), ``periods`` (period names, comma separated, or
    ``all``), ``place_name``, ``process``, ``basis``; optional ``start`` and ``recode_to`` (0 or 1,
    for a false negative). See docs/neutrality.md."""

    path: Path


class RuleClassConfig(Strict):
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


class RuleConfig(Strict):
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


class ObservationsConfig(Strict):
    """Field observations (CSV with x/y or lon/lat columns, or points in any vector format) with
    LandPKS-like fields, compared with the land-type map and the rules."""

    path: Path
    class_field: str | None = None
    x: str | None = None
    y: str | None = None
    crs: str | None = None


class LandTypesConfig(Strict):
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


class RiskConfig(Strict):
    """A user risk layer: land not degraded with risk > threshold is 'reduce' in the response hierarchy."""

    path: Path
    threshold: float = 0.0


class PolygonsInput(Strict):
    """Polygons in any vector format GDAL reads (``layer``: the layer of a multi-layer file)."""

    path: Path
    layer: str | None = None


class InterventionsConfig(Strict):
    """Planned interventions: polygons with a response level (avoid, reduce or reverse, or 1-3) in
    ``level_field`` and an expected effect (share 0-1 that succeeds) in ``effect_field``; polygons
    without an effect (or no such field) use ``effect``."""

    path: Path
    layer: str | None = None
    level_field: str = "level"
    effect_field: str | None = "effect"
    effect: float = Field(1.0, ge=0, le=1)


class PlanningConfig(Strict):
    """Planning to a horizon year: anticipated losses and planned interventions."""

    horizon: int
    anticipated_losses: list[PolygonsInput] = Field(default_factory=list)
    interventions: InterventionsConfig | None = None


class HotspotsConfig(Strict):
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


class DriverConfig(Strict):
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


class TargetConfig(Strict):
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


class NeutralityConfig(Strict):
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
