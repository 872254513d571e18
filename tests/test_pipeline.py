"""End to end: the demo's planted truth, the run folder's contents, and every documented bad input.

Each bad input must give exit status 2, one line on stderr naming the file or key, no traceback, and
leave nothing behind (no output folder, no partial sibling).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pytest
import rasterio
import yaml
from shapely.geometry import box
from typer.testing import CliRunner

import ldnkit
from ldnkit import codes
from ldnkit.cli import app
from ldnkit.demo import run_demo

runner = CliRunner()


# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result, table = run_demo(out, quiet=True)
    return result, table


@pytest.mark.slow
def test_demo_recovers_planted_truth(demo_run):
    _, table = demo_run
    assert len(table) >= 20
    worst = table.sort_values("recovered").iloc[0]
    assert table["recovered"].min() >= 90.0, f"weakest: {worst.to_dict()}"
    assert table["recovered"].mean() >= 97.0


@pytest.mark.slow
def test_run_folder_contents(demo_run):
    result, _ = demo_run
    out = result.output
    assert (out / "summary.json").is_file() and (out / "tables.xlsx").is_file()
    assert not list(out.parent.glob(f".{out.name}.partial-*"))
    summary = json.loads((out / "summary.json").read_text())
    # every method choice is recorded, with its default
    assert summary["methods"]["trajectory"]["method"] == "mann_kendall"
    assert summary["methods"]["trajectory"]["alpha"] == 0.05
    assert summary["methods"]["lpd_table"] == "prais2026"
    assert summary["config"]["methods"]["soc"]["threshold"] == 10.0
    assert [p["name"] for p in summary["periods"]] == ["baseline", "2016-2019", "2016-2023"]
    assert summary["periods"][2]["trend"] == [2008, 2023]
    # layers: COG layout, int16 with -32768, legend attached
    sdg = out / "layers" / "2016-2023" / "status_expanded.tif"
    with rasterio.open(sdg) as src:
        assert src.dtypes[0] == "int16" and src.nodata == codes.NODATA
        assert src.profile["tiled"] and src.compression.name.lower() == "deflate"
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        legend = json.loads(src.tags()["LDNKIT_LEGEND"])
        values = src.read(1)
    assert set(np.unique(values)) <= set(codes.STATUS_EXPANDED.codes) | {codes.NODATA}
    assert "Persistent degradation" in json.dumps(legend)
    assert sdg.with_suffix(".qml").is_file() and Path(str(sdg) + ".aux.xml").is_file()
    # the workbook has the PRAIS sheets; its SDG figure equals the one in summary.json
    wb = openpyxl.load_workbook(out / "tables.xlsx", read_only=True)
    for sheet in ("CP-1.T1", "SO1-1.T4", "SO1-1.T7", "SO1-2.T3", "SO1-3.T2", "SO1-4.T2"):
        assert sheet in wb.sheetnames
    t2 = summary["tables"]["Area of interest"]["SO1-4.T2"]["records"]
    assert 0 < t2[0]["% of total land area"] < 100
    # regions: one table scope per region, their degraded areas add up to the AOI's
    scopes = [s for s in summary["tables"] if s != "Area of interest"]
    assert sorted(scopes) == ["Centre", "North", "South"]
    total = sum(summary["tables"][s]["SO1-4.T2"]["records"][0]["Degraded area (km²)"] for s in scopes)
    assert total == pytest.approx(t2[0]["Degraded area (km²)"], rel=1e-9)


@pytest.mark.slow
def test_degraded_area_equals_layer_sum(demo_run):
    """The table's degraded km² equals the status layer's -1 pixels times the ellipsoidal cell area."""
    result, _ = demo_run
    status = result.layer("status", "2016-2023")
    area = ldnkit.cell_area(status).values
    lc = result.layer("land_cover_2023", "land_cover").values
    land = (lc >= 1) & (lc <= 6)
    by_hand = float(area[(status.values == -1) & land].sum())
    t2 = result.tables["Area of interest"]["SO1-4.T2"]
    row = t2[t2["Period"] == "2016-2023"].iloc[0]
    assert row["Degraded area (km²)"] == pytest.approx(by_hand, rel=1e-9)


def test_public_api_is_exported():
    for name in (
        "trend",
        "lpd",
        "land_cover_degradation",
        "soc_degradation",
        "one_out_all_out",
        "status",
        "cell_area",
        "run",
        "spi",
        "spei",
        "annual_spi",
        "drought_class",
    ):
        assert callable(getattr(ldnkit, name)), name


def test_cli_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.strip() == f"ldnkit {ldnkit.__version__}"


# --------------------------------------------------------------------------------------------------
@pytest.fixture
def case(small_inputs, tmp_path):
    """A fresh copy of valid inputs and a config dict writing into tmp_path/run."""
    inputs = tmp_path / "inputs"
    shutil.copytree(small_inputs, inputs)
    cfg = yaml.safe_load((inputs / "config.yaml").read_text())
    cfg["output"] = str(tmp_path / "run")
    cfg["overwrite"] = False
    cfg.pop("drought", None)  # SO1 errors here; the drought part has tests of its own
    return inputs, cfg


def _run_cli(inputs: Path, cfg: dict):
    path = inputs / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return runner.invoke(app, ["run", str(path), "--quiet"])


def test_valid_small_run_succeeds(case):
    inputs, cfg = case
    res = _run_cli(inputs, cfg)
    assert res.exit_code == 0, res.output
    assert (Path(cfg["output"]) / "summary.json").is_file()


def test_raster_without_crs(case, assert_user_error):
    inputs, cfg = case
    path = inputs / "soc_2000.tif"
    with rasterio.open(path) as src:
        profile, data = src.profile, src.read()
    profile.pop("crs", None)
    path.unlink()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    assert_user_error(_run_cli(inputs, cfg), cfg, "soc_2000.tif", "coordinate reference system")


def test_layers_do_not_overlap(case, assert_user_error):
    inputs, cfg = case
    path = inputs / "soc_2000.tif"
    with rasterio.open(path) as src:
        profile, data = src.profile, src.read()
    t = profile["transform"]
    profile["transform"] = rasterio.Affine(t.a, t.b, t.c + 50.0, t.d, t.e, t.f)
    path.unlink()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    assert_user_error(_run_cli(inputs, cfg), cfg, "inputs.soc", "overlap")


def test_too_few_years_for_a_window(case, assert_user_error):
    inputs, cfg = case
    cfg["periods"]["reporting"].append({"start": 2024, "end": 2026})
    assert_user_error(_run_cli(inputs, cfg), cfg, "periods.reporting[2]", "2026")


def test_window_shorter_than_minimum(case, assert_user_error):
    inputs, cfg = case
    cfg.setdefault("methods", {})["productivity_window"] = 6
    assert_user_error(_run_cli(inputs, cfg), cfg, "periods.baseline.trend", "at least 10")


def test_land_cover_code_missing_from_nesting(case, assert_user_error):
    inputs, cfg = case
    path = inputs / "land_cover_2015.tif"
    with rasterio.open(path, "r+") as src:
        a = src.read(1)
        a[10:12, 10:12] = 230
        src.write(a, 1)
    assert_user_error(_run_cli(inputs, cfg), cfg, "2015", "230", "nesting")


def test_truncated_file(case, assert_user_error):
    inputs, cfg = case
    path = inputs / "ndvi_2000-2023.tif"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    assert_user_error(_run_cli(inputs, cfg), cfg, "ndvi_2000-2023.tif")


def test_unreadable_file(case, assert_user_error):
    inputs, cfg = case
    (inputs / "climate_zones.tif").write_text("this is not a raster")
    assert_user_error(_run_cli(inputs, cfg), cfg, "climate_zones.tif")


def test_missing_file(case, assert_user_error):
    inputs, cfg = case
    cfg["inputs"]["soc"]["path"] = "nowhere.tif"
    assert_user_error(_run_cli(inputs, cfg), cfg, "inputs.soc.path", "nowhere.tif")


def test_area_of_interest_outside_the_data(case, assert_user_error):
    inputs, cfg = case
    gpd.GeoDataFrame(geometry=[box(10.0, 40.0, 11.0, 41.0)], crs="EPSG:4326").to_file(
        inputs / "far_away.gpkg"
    )
    cfg["inputs"]["area_of_interest"] = "far_away.gpkg"
    assert_user_error(_run_cli(inputs, cfg), cfg, "inputs.area_of_interest")


def test_unknown_config_key(case, assert_user_error):
    inputs, cfg = case
    cfg["methods"] = {"soc": {"treshold": 5}}
    assert_user_error(_run_cli(inputs, cfg), cfg, "methods.soc.treshold", "unknown key")


def test_bad_config_value(case, assert_user_error):
    inputs, cfg = case
    cfg["methods"] = {"trajectory": {"method": "linear"}}
    assert_user_error(_run_cli(inputs, cfg), cfg, "methods.trajectory.method")


def test_output_exists_without_overwrite(case):
    inputs, cfg = case
    Path(cfg["output"]).mkdir()
    res = _run_cli(inputs, cfg)
    assert res.exit_code == 2 and "overwrite" in res.stderr
    assert not any(Path(cfg["output"]).iterdir())


def test_failure_midway_leaves_nothing(case, monkeypatch):
    inputs, cfg = case
    from ldnkit.run import runner

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner, "write_xlsx", boom)
    (inputs / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(RuntimeError):
        runner.run(inputs / "config.yaml", quiet=True)
    out = Path(cfg["output"])
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*"))
