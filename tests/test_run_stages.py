"""A run is an ordered list of stages: a caller adds a stage (a toy per-period layer with its own
metadata and table) or picks some, and what a stage writes reaches the GeoTIFFs, summary.json and
the workbook without editing the run package; every stage is prepared before any stage runs."""

from __future__ import annotations

import json

import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio

from ldnkit import codes
from ldnkit.config import load_config
from ldnkit.demo import build_demo_inputs
from ldnkit.errors import InputError
from ldnkit.layer_meta import LAYER_TAG, LayerMeta
from ldnkit.run import (
    LayerToWrite,
    RunContext,
    So1Stage,
    Stage,
    StageOutputs,
    default_stages,
    mask_outside,
    run,
)
from ldnkit.run.inputs import InputLoader

pytestmark = pytest.mark.slow


class ToyStage:
    """Writes ``<period>/toy`` (1 where the period's SDG is degraded, 0 elsewhere) and a table."""

    name = "toy"

    def applies(self, cfg) -> bool:
        return cfg.inputs is not None

    def prepare(self, ctx: RunContext) -> None:
        self.periods = [p.name for p in ctx.plans]

    def run(self, ctx: RunContext) -> StageOutputs:
        out = StageOutputs(summary={"toy": {"periods": self.periods}}, warnings=["toy: a warning"])
        items = []
        for period in self.periods:
            degraded = (ctx.reopen(f"{period}/sdg") == -1).astype(codes.CATEGORICAL_DTYPE)
            meta = LayerMeta(
                "Toy index",
                "Toy",
                "Toy layer (1 degraded)",
                "class",
                codes.HOTSPOTS,
                subgroup=period,
                report_map=True,
            )
            items.append(LayerToWrite(f"{period}/toy", mask_outside(degraded, ctx.inside), meta))
        ctx.write_layers(items, out)
        counts = {p: int((ctx.reopen(f"{p}/toy") == 1).sum()) for p in self.periods}
        table = pd.DataFrame({"Period": list(counts), "Degraded pixels": list(counts.values())})
        table.attrs["title"] = "Toy table"
        out.tables = {codes.AOI_SCOPE: {"TOY-1": table}}
        return out


class FailingPrepare:
    name = "failing"

    def applies(self, cfg) -> bool:
        return True

    def prepare(self, ctx: RunContext) -> None:
        raise InputError("toy.path", "file not found: toy.tif", "check the path")

    def run(self, ctx: RunContext) -> StageOutputs:  # pragma: no cover - never reached
        raise AssertionError("run() called after a failed prepare()")


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stages")
    return build_demo_inputs(folder / "inputs", size=100, output=folder / "run").config_path


def _config(config_path, tmp_path, name, report=False):
    cfg = load_config(config_path)
    cfg.output = tmp_path / name
    cfg.report.html = report
    cfg.report.qgis_project = report
    return cfg


def test_a_toy_stage_reaches_geotiffs_summary_workbook_qgis_and_report(config_path, tmp_path):
    """The walk-through of docs/architecture.md ("How to add a stage"): a new stage and its layer's
    metadata, and nothing else edited, reach every output."""
    toy = ToyStage()
    assert isinstance(toy, Stage)
    cfg = _config(config_path, tmp_path, "toy", report=True)
    result = run(cfg, stages=[*default_stages(), toy], quiet=True)
    summary = json.loads((result.output / "summary.json").read_text())
    for period in toy.periods:
        entry = summary["layers"][f"{period}/toy"]
        assert entry["title"] == "Toy index" and entry["subgroup"] == period
        assert entry["kind"] == "categorical" and entry["group"] == "Toy"
        with rasterio.open(result.output / entry["path"]) as src:
            assert json.loads(src.tags()[LAYER_TAG]) == {
                k: v for k, v in entry.items() if k not in ("path", "attrs")
            }
        toy_layer = result.layer("toy", period).values
        sdg = result.layer("sdg", period).values
        np.testing.assert_array_equal(toy_layer == 1, sdg == -1)
    assert summary["toy"] == {"periods": toy.periods}
    assert summary["warnings"] == ["toy: a warning"]
    assert summary["timings_s"]["toy"] >= 0
    assert "TOY-1" in summary["tables"][codes.AOI_SCOPE]
    workbook = openpyxl.load_workbook(result.output / "tables.xlsx", read_only=True)
    assert "TOY-1" in workbook.sheetnames
    layer_rows = [r for r in workbook["Layers"].iter_rows(values_only=True) if r and r[0] == "baseline/toy"]
    assert len(layer_rows) == 1 and "Toy index" in layer_rows[0]
    # the QGIS project: a layer of the Toy group, per period
    project = (result.output / "project.qgs").read_text()
    assert 'name="Toy"' in project and project.count("layers/baseline/toy.tif") >= 1
    # the report: a map with the layer's title, and the stage's warning
    html = (result.output / "report.html").read_text()
    assert "Toy index" in html and "toy: a warning" in html
    # the stages before it are untouched: the SO1 tables are there too
    assert "SO1-4.T2" in result.tables[codes.AOI_SCOPE]


def test_picking_stages(config_path, tmp_path):
    result = run(_config(config_path, tmp_path, "so1"), stages=[So1Stage()], quiet=True)
    assert "baseline/sdg" in result.layers and result.tables == {}
    assert not (result.output / "tables.xlsx").exists()
    summary = json.loads((result.output / "summary.json").read_text())
    assert "methods" in summary and "neutrality" not in summary


def test_every_stage_is_prepared_before_any_runs(config_path, tmp_path):
    cfg = _config(config_path, tmp_path, "failing")
    with pytest.raises(InputError, match="toy.path"):
        run(cfg, stages=[*default_stages(), FailingPrepare()], quiet=True)
    assert not cfg.output.exists() and not list(cfg.output.parent.glob(f".{cfg.output.name}*"))


def test_input_loader_resolves_relative_to_the_config(config_path, tmp_path):
    loader = InputLoader(load_config(config_path))
    assert loader.resolve("soc_2000.tif", "inputs.soc.path") == config_path.parent / "soc_2000.tif"
    assert str(loader.resolve("/vsis3/bucket/x.tif", "k")) == "/vsis3/bucket/x.tif"
    with pytest.raises(InputError, match="inputs.soc.path"):
        loader.resolve("missing.tif", "inputs.soc.path")
