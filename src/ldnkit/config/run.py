"""The whole run configuration: every section, compute settings, cross-section checks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from ldnkit.config.activities import ActivitiesConfig
from ldnkit.config.drought import DroughtConfig
from ldnkit.config.footprint import FootprintConfig
from ldnkit.config.inputs import Inputs, Periods
from ldnkit.config.methods import Methods
from ldnkit.config.model import Strict
from ldnkit.config.neutrality import CorrectionsConfig, NeutralityConfig


class ReportConfig(Strict):
    """Extra outputs of a run: an HTML report and a QGIS project (both on by default)."""

    html: bool = True
    qgis_project: bool = True


class Compute(Strict):
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


class GridConfig(Strict):
    """The grid every layer is aligned to: ``productivity`` (default), ``land_cover``, ``soc`` or a path."""

    target: str = "productivity"


class RunConfig(Strict):
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
    footprint: FootprintConfig | None = None
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
        if self.inputs is None and self.drought is None and self.footprint is None:
            raise ValueError("give 'inputs' and 'periods' (SDG 15.3.1), a 'drought' or 'footprint' section")
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
