"""The activities stage on the demo (size 100): registry activities against the SO1 status of the
last reporting period. Every area equals a hand count of the activities' pixels (pixel centre
inside, rasterio) times the cell area; overlapping activities count once except per activity."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from rasterio import features

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.config import load_config
from ldnkit.demo import build_demo_inputs
from ldnkit.demo.activities import ACTIVITIES, activity_fields
from ldnkit.run import CorrectionsStage, So1Stage, So1TablesStage, run
from ldnkit.run.activities import ActivitiesStage
from ldnkit.tables import activities as activity_tables

pytestmark = pytest.mark.slow
SIZE = 100
APPROVED = [i for i, a in enumerate(ACTIVITIES) if a[2] == "approved"]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("activities")
    return build_demo_inputs(folder / "inputs", size=SIZE, output=folder / "run")


@pytest.fixture(scope="module")
def result(case):
    cfg = load_config(case.config_path)
    stages = [So1Stage(), CorrectionsStage(), So1TablesStage(), ActivitiesStage()]
    return run(cfg, stages=stages, quiet=True)


def _burn(geometry, case) -> np.ndarray:
    return features.rasterize([(geometry, 1)], out_shape=(SIZE, SIZE), transform=case.transform) == 1


def _hand(case, result):
    status = result.layer("status", "2016-2023")
    area = cell_area(status).values
    aoi = case.aoi.astype(bool)
    fields = activity_fields(SIZE)
    masks = [_burn(fields[i]["geometry"], case) & aoi for i in APPROVED]
    return status.values, area, aoi, masks


def test_areas_equal_hand_counts(case, result):
    status, area, aoi, masks = _hand(case, result)
    tables = result.tables[codes.AOI_SCOPE]
    per_activity = tables["ACT-4"].set_index("ID")["Area on the grid (km²)"]
    assert list(per_activity.index) == [f"demo-{i + 1}" for i in APPROVED]  # the draft is not counted
    for i, mask in zip(APPROVED, masks, strict=True):
        assert mask.sum() > 0
        assert per_activity[f"demo-{i + 1}"] == pytest.approx(area[mask].sum(), rel=1e-9)
    union = np.logical_or.reduce(masks)
    assert union.sum() < sum(m.sum() for m in masks)  # two activities overlap ...
    act1 = tables["ACT-1"].set_index("Scope")
    aoi_row = act1.loc[codes.AOI_SCOPE]
    assert aoi_row[activity_tables.AREA] == pytest.approx(area[union].sum(), rel=1e-9)  # ... counted once
    degraded = aoi & (status == codes.DEGRADED)
    assert aoi_row[activity_tables.DEGRADED] == pytest.approx(area[degraded].sum(), rel=1e-9)
    share = 100 * area[union & degraded].sum() / area[degraded].sum()
    assert aoi_row[activity_tables.SHARE] == pytest.approx(share, rel=1e-9)
    assert 0 < share < 100
    summary = json.loads((result.output / "summary.json").read_text())["activities"]
    assert summary["share_of_degraded_land_addressed_pct"] == pytest.approx(share, rel=1e-9)
    assert summary["activities"] == len(APPROVED)


def test_per_region_and_breakdowns(case, result):
    status, area, aoi, masks = _hand(case, result)
    union = np.logical_or.reduce(masks)
    regions = gpd.read_file(case.folder / "regions.gpkg")
    act1 = result.tables[codes.AOI_SCOPE]["ACT-1"].set_index("Scope")
    for name, geometry in zip(regions["name"], regions.geometry, strict=True):
        region = _burn(geometry, case) & aoi
        row = act1.loc[name]
        assert row[activity_tables.AREA] == pytest.approx(area[union & region].sum(), rel=1e-9, abs=1e-12)
        addressed = union & region & (status == codes.DEGRADED)
        assert row["Degraded land addressed (km²)"] == pytest.approx(
            area[addressed].sum(), rel=1e-9, abs=1e-12
        )
    act2 = result.tables[codes.AOI_SCOPE]["ACT-2"]
    aoi_rows = act2[act2["Scope"] == codes.AOI_SCOPE].set_index(["Breakdown", "Class"])
    for level in ("avoid", "reduce", "reverse"):
        union_level = np.logical_or.reduce(
            [m for i, m in zip(APPROVED, masks, strict=True) if ACTIVITIES[i][3] == level]
        )
        assert aoi_rows.loc[("Level", level), activity_tables.AREA] == pytest.approx(area[union_level].sum())
    assert aoi_rows.loc[("Status", "approved"), activity_tables.AREA] == pytest.approx(area[union].sum())
    assert ("Status", "draft") not in aoi_rows.index
    act3 = result.tables[codes.AOI_SCOPE]["ACT-3"]
    act3 = act3[act3["Scope"] == codes.AOI_SCOPE].set_index("Overlaps degraded land")
    touching = [m for m in masks if (m & (status == codes.DEGRADED)).any()]
    assert act3.loc["Yes", "Activities"] == len(touching)
    assert act3.loc["Yes", "Activities"] + act3.loc["No", "Activities"] == len(APPROVED)
    assert act3.loc["Yes", activity_tables.AREA] == pytest.approx(area[np.logical_or.reduce(touching)].sum())


def test_level_layer_and_outputs(case, result):
    _, _, _, masks = _hand(case, result)
    level = result.layer("activity_level", "activities").values
    expected = np.full((SIZE, SIZE), codes.NODATA, dtype=np.int16)
    for i, mask in zip(APPROVED, masks, strict=True):  # where activities overlap the highest level
        expected[mask] = np.maximum(
            np.where(expected[mask] == codes.NODATA, 0, expected[mask]),
            codes.RESPONSE_LEVELS[ACTIVITIES[i][3]],
        )
    np.testing.assert_array_equal(level, expected)
    summary = json.loads((result.output / "summary.json").read_text())
    entry = summary["layers"]["activities/activity_level"]
    assert entry["group"] == "Activities" and entry["kind"] == "categorical"
    workbook = openpyxl.load_workbook(result.output / "tables.xlsx", read_only=True)
    assert {"ACT-1", "ACT-2", "ACT-3", "ACT-4"} <= set(workbook.sheetnames)
    html = (result.output / "report.html").read_text()
    assert all(t in html for t in ("ACT-1", "ACT-4", activity_tables.TITLES["ACT-1"]))
    project = (result.output / "project.qgs").read_text()
    assert 'name="Activities"' in project and "layers/activities/activity_level.tif" in project


def test_a_registry_outside_the_grid_fails_in_prepare(case, tmp_path):
    from shapely.geometry import box

    from ldnkit.errors import InputError
    from ldnkit.registry import open_store

    store = open_store(tmp_path / "far.gpkg", upgrade=True)
    store.create({"name": "Far away", "geometry": box(10, 10, 10.01, 10.01), "status": "approved"}, by="t")
    store.close()
    cfg = load_config(case.config_path)
    cfg.activities.registry = str(tmp_path / "far.gpkg")
    cfg.output = tmp_path / "out"
    with pytest.raises(InputError, match="overlaps the run grid"):
        run(cfg, stages=[So1Stage(), ActivitiesStage()], quiet=True)
    assert not cfg.output.exists()


def test_cli_compile_gives_the_stage_table(case, result, tmp_path):
    from typer.testing import CliRunner

    from ldnkit.cli import app

    registry, regions = case.folder / "activities.gpkg", case.folder / "regions.gpkg"
    args = ["registry", "compile", str(registry), "--regions", str(regions), "--name-field", "name"]
    out = tmp_path / "act1.csv"
    done = CliRunner().invoke(app, [*args, "--status", str(result.output), "--output", str(out)])
    assert done.exit_code == 0, done.output
    got = pd.read_csv(out).set_index("Scope")
    want = result.tables[codes.AOI_SCOPE]["ACT-1"].set_index("Scope")
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)
    # without a run: geodesic areas of the activities' union (no status, so no degraded land)
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    vector = pd.read_csv(io.StringIO(done.stdout)).set_index("Scope")
    assert vector.loc[codes.AOI_SCOPE, activity_tables.AREA] == pytest.approx(
        want.loc[codes.AOI_SCOPE, activity_tables.AREA], rel=0.1
    )
    assert vector[activity_tables.DEGRADED].isna().all()
    assert list(vector["Activities"]) == list(want["Activities"])
    done = CliRunner().invoke(app, [*args[:-1], "nope"])
    assert done.exit_code == 2 and "--name-field" in done.output


def test_a_missing_registry_fails_in_prepare_and_creates_nothing(case, tmp_path):
    from ldnkit.errors import InputError

    cfg = load_config(case.config_path)
    cfg.activities.registry = str(tmp_path / "missing.gpkg")
    cfg.output = tmp_path / "out"
    with pytest.raises(InputError, match="file not found"):
        run(cfg, stages=[So1Stage(), ActivitiesStage()], quiet=True)
    assert not (tmp_path / "missing.gpkg").exists() and not cfg.output.exists()
