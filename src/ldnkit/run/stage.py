"""A run is an ordered list of stages: what a stage is and what it hands back.

A stage reads what it needs from the :class:`~ldnkit.run.context.RunContext` (config, grid,
area of interest, what earlier stages wrote), writes its layers into the run folder through
``ctx.write_layers`` and returns :class:`StageOutputs`; the runner merges those into summary.json,
tables.xlsx, project.qgs and report.html.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ldnkit.config import RunConfig
from ldnkit.run.context import RunContext
from ldnkit.run.outputs import StageOutputs


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
