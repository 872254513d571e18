"""A run is an ordered list of stages: what a stage is and what it hands back.

A stage reads what it needs from the :class:`~ldnkit.run.context.RunContext` (config, grid,
area of interest, what earlier stages wrote), writes its layers into the run folder through
``ctx.write_layers`` and returns :class:`StageOutputs`; the runner merges those into summary.json,
tables.xlsx, project.qgs and report.html.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pandas as pd

from ldnkit.layer_meta import LayerMeta

if TYPE_CHECKING:
    from ldnkit.config import RunConfig
    from ldnkit.run.context import RunContext


@dataclass
class StageOutputs:
    """What one stage produced.

    ``layers``: written files by key (``"<folder>/<name>"``, e.g. ``"baseline/sdg"``), with their
    metadata (``meta``) and JSON-ready attrs (``attrs``) for summary.json; ``tables``:
    ``{scope: {table id: DataFrame}}``; ``summary``: top-level summary.json entries;
    ``timings``: seconds by step; ``warnings``: one-line messages for summary.json and the report.
    """

    layers: dict[str, Path] = field(default_factory=dict)
    meta: dict[str, LayerMeta] = field(default_factory=dict)
    attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@runtime_checkable
class Stage(Protocol):
    """One step of a run.

    ``name`` names it (timings, errors); ``applies(cfg)`` says whether the config asks for it;
    ``prepare(ctx)`` is cheap: it reads and checks every input, polygon and record of the stage,
    and is called for every stage before ANY stage runs, so a bad config fails in a second;
    ``run(ctx)`` does the heavy work. A stage may set ``needs_grid = False`` (default True) when it
    does not use the run grid built from ``inputs:`` (the drought stage has its own grid).
    """

    name: str

    def applies(self, cfg: RunConfig) -> bool: ...

    def prepare(self, ctx: RunContext) -> None: ...

    def run(self, ctx: RunContext) -> StageOutputs: ...


__all__ = ["Stage", "StageOutputs"]
