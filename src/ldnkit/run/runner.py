"""``run(config) -> Result``: resolve the config, open the atomic output folder, build the context,
prepare every stage, run them in order, then write summary.json, tables.xlsx, project.qgs and
report.html from what is in the folder.

Each stage builds its layers as one lazy dask graph (rasters read window by window, per-pixel work
block by block) written in a single ``dask.compute``, so shared upstream work is done once.
Everything goes to a temporary sibling of the output folder, renamed into place when complete.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xarray as xr

from ldnkit.config import RunConfig, load_config
from ldnkit.io import run_folder
from ldnkit.io.grid import Grid
from ldnkit.io.read import open_layer
from ldnkit.layer_meta import LayerMeta
from ldnkit.periods import PeriodPlan
from ldnkit.progress import Feedback
from ldnkit.run.activities import ActivitiesStage
from ldnkit.run.build import build_context
from ldnkit.run.context import RunContext
from ldnkit.run.corrections import CorrectionsStage
from ldnkit.run.drought import DroughtStage
from ldnkit.run.footprint import FootprintStage
from ldnkit.run.neutrality import NeutralityStage
from ldnkit.run.outputs import StageOutputs
from ldnkit.run.scheduler import gdal_env, use_scheduler
from ldnkit.run.so1 import So1Stage
from ldnkit.run.so1_tables import So1TablesStage
from ldnkit.run.stage import Stage
from ldnkit.tables import tables_to_json, write_xlsx
from ldnkit.version import __version__


@dataclass
class Result:
    """What a run produced: the output folder, its layer files, tables and summary."""

    output: Path
    layers: dict[str, Path]
    tables: dict[str, dict[str, Any]]
    summary: dict[str, Any]
    wall_time: float = 0.0
    periods: list[PeriodPlan] = field(default_factory=list)

    def layer(self, name: str, period: str | None = None) -> xr.DataArray:
        """Open one written layer lazily, e.g. ``result.layer("sdg", "baseline")``."""
        key = f"{period}/{name}" if period else name
        if key not in self.layers:
            raise KeyError(f"no layer {key!r}; have {sorted(self.layers)}")
        return open_layer(self.layers[key]).squeeze(drop=True)


def default_stages() -> list[Stage]:
    """The stages of a run, in order: SO1 layers, corrections (before the tables, so they report
    corrected figures), SO1 tables, neutrality (uses the SO1 tables), activities (registry
    activities against the SO1 status), drought."""
    return [
        So1Stage(),
        CorrectionsStage(),
        So1TablesStage(),
        NeutralityStage(),
        ActivitiesStage(),
        DroughtStage(),
        FootprintStage(),
    ]


def layer_entry(path: Path, root: Path, attrs: Mapping[str, Any], meta: LayerMeta | None) -> dict[str, Any]:
    """summary.json's entry for one written layer: its path, attrs and metadata."""
    entry = {"path": str(path.relative_to(root)), "attrs": attrs}
    return entry | (meta.entry() if meta is not None else {})


def summary_head(cfg: RunConfig) -> dict[str, Any]:
    """The part of summary.json every run has: versions, time, the whole config with defaults."""
    return {
        "ldnkit_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "title": cfg.title,
        "python": platform.python_version(),
        "config": cfg.recorded(),
    }


def grid_entry(grid: Grid) -> dict[str, Any]:
    """summary.json's ``grid``: CRS, size, transform and how pixel areas are computed."""
    return {
        "crs": grid.crs.to_string(),
        "width": grid.width,
        "height": grid.height,
        "transform": list(grid.transform)[:6],
        "geographic": bool(grid.crs.is_geographic),
        "area_method": "WGS84 ellipsoid row strips" if grid.crs.is_geographic else "pixel size",
    }


def merge_outputs(ctx: RunContext, outputs: StageOutputs) -> None:
    """Record a stage's layers and tables in the context, for the stages after it."""
    ctx.layers.update(outputs.layers)
    ctx.meta.update(outputs.meta)
    ctx.attrs.update(outputs.attrs)
    for scope, tables in outputs.tables.items():
        ctx.tables.setdefault(scope, {}).update(tables)


def run_stages(
    cfg: RunConfig, stages: Sequence[Stage], folder: Path, feedback: Feedback, distributed: bool
) -> Result:
    """Build the context in ``folder``, prepare every stage (cheap checks first), run each."""
    t = time.perf_counter()
    needs_grid = any(getattr(stage, "needs_grid", True) for stage in stages)
    ctx = build_context(cfg, folder, feedback, distributed, needs_grid=needs_grid)
    for stage in stages:
        stage.prepare(ctx)
    timings = {"prepare": time.perf_counter() - t}
    entries: dict[str, Any] = {}
    warnings: list[str] = []
    for stage in stages:
        t = time.perf_counter()
        outputs = stage.run(ctx)
        merge_outputs(ctx, outputs)
        timings |= outputs.timings
        timings[stage.name] = time.perf_counter() - t
        entries |= outputs.summary
        warnings += outputs.warnings
    summary = summary_head(cfg) | {"stages": [stage.name for stage in stages]}
    if ctx.grid is not None:
        summary |= {
            "grid": grid_entry(ctx.grid),
            "inputs": ctx.inputs.inputs_used,
            "periods": [p.as_dict() for p in ctx.plans],
        }
    summary |= entries
    summary["layers"] = {
        k: layer_entry(p, folder, ctx.attrs.get(k, {}), ctx.meta.get(k)) for k, p in ctx.layers.items()
    }
    summary["timings_s"] = timings
    if warnings:
        summary["warnings"] = warnings
    shutil.rmtree(ctx.scratch, ignore_errors=True)
    return Result(
        output=folder, layers=dict(ctx.layers), tables=ctx.tables, summary=summary, periods=ctx.plans
    )


def write_run_files(cfg: RunConfig, result: Result, folder: Path, feedback: Feedback) -> None:
    """tables.xlsx, summary.json, then project.qgs and report.html read back from the folder they
    describe, so ``ldnkit report`` on a copied run folder gives the same files."""
    result.summary["tables"] = tables_to_json(result.tables)
    if result.tables:
        write_xlsx(result.tables, folder / "tables.xlsx", summary=result.summary)
    (folder / "summary.json").write_text(json.dumps(result.summary, indent=2, default=str))
    if cfg.report.qgis_project:
        from ldnkit.io.qgis import write_qgis_project

        write_qgis_project(folder, result.summary)
    if cfg.report.html:
        from ldnkit.report import write_report

        t = time.perf_counter()
        write_report(folder, result.summary)
        feedback.say(f"HTML report written in {time.perf_counter() - t:.1f} s")


def run(
    config: RunConfig | str | Path,
    *,
    stages: Sequence[Stage] | None = None,
    quiet: bool = False,
    scheduler: str | None = None,
    console: Any = None,
) -> Result:
    """Compute every stage of ``config`` that applies (SDG 15.3.1 and its sub-indicators for every
    period, corrections, PRAIS tables, LDN accounting, drought) and write the outputs.

    Parameters
    ----------
    config : a :class:`~ldnkit.config.RunConfig` or the path of a YAML run config.
    stages : the stages to run, in order (default :func:`default_stages`); those whose
        ``applies(config)`` is false are skipped.
    quiet : no progress output.
    scheduler : overrides ``compute.scheduler`` (``threads``, ``processes``, or ``tcp://host:port``).

    Returns
    -------
    Result with the output folder, paths of the written layers, the PRAIS tables and the summary.

    Example
    -------
    >>> result = ldnkit.run("kenya.yaml")          # doctest: +SKIP
    >>> result.tables["Area of interest"]["SO1-4.T2"]  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    if scheduler:
        cfg.compute.scheduler = scheduler
    chosen = [stage for stage in (default_stages() if stages is None else stages) if stage.applies(cfg)]
    feedback = Feedback(quiet=quiet, console=console)
    out = cfg.resolve(cfg.output)
    # refused before any work: a folder that is not an earlier ldnkit run, or holds the config/inputs
    run_folder.check_output_folder(out, cfg.overwrite, protected=cfg.input_paths())
    with gdal_env(), use_scheduler(cfg.compute.scheduler, cfg.compute.workers) as distributed:
        feedback.distributed = distributed
        with run_folder.atomic_output_dir(out, cfg.overwrite, protected=cfg.input_paths()) as tmp:
            result = run_stages(cfg, chosen, tmp, feedback, distributed)
            write_run_files(cfg, result, tmp, feedback)
    result.output = out
    result.layers = {k: out / v.relative_to(tmp) for k, v in result.layers.items()}
    result.wall_time = time.perf_counter() - t0
    feedback.say(f"Done in {result.wall_time:.1f} s. Outputs: {out}")
    return result


__all__ = ["Result", "default_stages", "layer_entry", "run", "run_stages"]
