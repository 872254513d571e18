"""Adding a layer touches only the stage that computes it: a toy per-period layer, written with its
metadata the way a new stage would (GeoTIFF + LDNKIT_LAYER tag + summary.json entry), reaches the
QGIS project, the report and the workbook through the real writers, none of which names it."""

from __future__ import annotations

import json
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest
import rioxarray
from golden.fingerprint import demo_run

from ldnkit.codes import Legend
from ldnkit.io.legend import read_tags
from ldnkit.io.qgis import project_layers, write_qgis_project
from ldnkit.io.write import write_layers
from ldnkit.layer_meta import LAYER_TAG, LayerMeta
from ldnkit.report import write_report
from ldnkit.tables import write_xlsx

pytestmark = pytest.mark.slow

TOY_LEGEND = Legend("toy", (0, 1), ("Low toy index", "High toy index"), ("#fee8c8", "#e34a33"))
TOY = LayerMeta(
    "Toy index",
    "Toy",
    "A toy per-period index: 1 where the SDG 15.3.1 layer is degraded, else 0",
    "class",
    TOY_LEGEND,
    order=0,
    subgroup="baseline",
)


def _add_toy_layer(run_dir) -> dict:
    """What a new stage does: compute, write with its metadata, record its summary entry."""
    sdg = rioxarray.open_rasterio(run_dir / "layers" / "baseline" / "sdg.tif").squeeze("band", drop=True)
    toy = (sdg == -1).astype(np.int16).where(sdg != sdg.rio.nodata, -32768).astype(np.int16)
    path = run_dir / "layers" / "baseline" / "toy_index.tif"
    opts = {"legend": TOY.legend, "description": TOY.description, "tags": {LAYER_TAG: TOY.tag()}}
    write_layers([(toy.rio.write_crs(sdg.rio.crs), path, opts)])
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["layers"]["baseline/toy_index"] = {
        "path": "layers/baseline/toy_index.tif",
        "attrs": {},
    } | TOY.entry()
    (run_dir / "summary.json").write_text(json.dumps(summary))
    return summary


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    run_dir = demo_run(tmp_path_factory.mktemp("toy"), size=100)
    return run_dir, _add_toy_layer(run_dir)


def test_toy_layer_carries_its_metadata(toy_run):
    run_dir, summary = toy_run
    tag = json.loads(read_tags(run_dir / "layers" / "baseline" / "toy_index.tif")[LAYER_TAG])
    assert tag == TOY.entry()
    assert summary["layers"]["baseline/toy_index"]["classes"] == [[0, "Low toy index"], [1, "High toy index"]]


def test_toy_layer_reaches_the_qgis_project(toy_run):
    run_dir, summary = toy_run
    layers = project_layers(write_qgis_project(run_dir, summary))
    (toy,) = [lay for lay in layers if lay["source"] == "./layers/baseline/toy_index.tif"]
    assert toy["group"] == ("Toy", "baseline")
    assert toy["name"] == "Toy index (baseline)"
    assert toy["renderer"] == "paletted"
    # a new group sorts after the known ones, before "Other"
    tops = list(dict.fromkeys(lay["group"][0] for lay in layers))
    assert tops.index("Toy") == tops.index("Neutrality") + 1


def test_toy_layer_reaches_the_report(toy_run):
    run_dir, summary = toy_run
    html = write_report(run_dir, summary, max_map_pixels=20_000).read_text(encoding="utf-8")
    section = html[html.index('id="map-other-layers"') :]
    section = section[: section.index("</div>")]
    assert re.search(r'<img src="data:image/png;base64,[^"]+" alt="Toy index, baseline">', section)
    assert TOY.description in section and "layers/baseline/toy_index.tif" in section


def test_toy_layer_reaches_the_workbook(toy_run, tmp_path):
    _, summary = toy_run
    tables = {
        scope: {tid: pd.DataFrame(t["records"], columns=t["columns"]) for tid, t in per.items()}
        for scope, per in summary["tables"].items()
    }
    wb = openpyxl.load_workbook(write_xlsx(tables, tmp_path / "tables.xlsx", summary=summary))
    assert wb.sheetnames[:2] == ["README", "Layers"]
    rows = list(wb["Layers"].iter_rows(values_only=True))
    head = rows[3]
    toy = next(dict(zip(head, r, strict=True)) for r in rows[4:] if r[0] == "baseline/toy_index")
    assert toy["File"] == "layers/baseline/toy_index.tif"
    assert (toy["Group"], toy["Subgroup"], toy["Title"]) == ("Toy", "baseline", "Toy index")
    assert toy["Classes"] == "0 Low toy index; 1 High toy index"
