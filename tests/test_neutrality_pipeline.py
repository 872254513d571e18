"""End to end: LDN neutrality accounting and false positive/negative corrections in a run.

The small demo (100 x 100, the session fixture ``small_inputs``) carries every LDN input: land-type
components, field sites, a mining permit, a restoration plan, a false-positive polygon over planted
woody encroachment, driver records and targets. The written layers and tables are checked against
independent numpy computations (the status matrices, the 1OAO rule, the balance by hand, rasterio's
own rasterisation of the polygons); the bad inputs must fail with one line, exit 2, nothing written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import rasterio.features
import yaml
from shapely.geometry import box
from typer.testing import CliRunner

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.cli import app
from ldnkit.config import parse_config
from ldnkit.demo import N_SITES, N_SITES_DISAGREE
from ldnkit.errors import ConfigError
from ldnkit.io.read import open_layer
from ldnkit.run import run

runner = CliRunner()
PERIOD = "2016-2023"
NEUTRALITY_LAYERS = (
    "land_types",
    "gains_losses",
    "response_hierarchy",
    "hotspots",
    "brightspots",
    "hotspot_kind",
    "anticipated_losses",
    "interventions",
)
NEUTRALITY_TABLES = (
    "SO1-4.T3",
    "LDN-1 Land types",
    "LDN-2 Balance sheet",
    "LDN-3 Response hierarchy",
    "LDN-4 Projected balance",
    "LDN-5 Field observations",
    "SO1-4.T4",
    "SO1-4.T5",
    "SO1-VT.T1",
)
#: Status matrices by hand (methodology §1.7): rows baseline -1/0/1, columns period -1/0/1.
STATUS3 = np.array([[-1, -1, 1], [-1, 0, 1], [-1, 1, 1]])
STATUS7 = np.array([[1, 3, 6], [2, 4, 6], [2, 5, 7]])


def _config(inputs: Path, out: Path) -> dict:
    cfg = yaml.safe_load((inputs / "config.yaml").read_text())
    cfg.pop("drought", None)  # SO 3 has tests of its own
    cfg["output"] = str(out)
    cfg["overwrite"] = False
    return cfg


@pytest.fixture(scope="module")
def ldn_run(small_inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("ldn") / "run"
    cfg = parse_config(_config(small_inputs, out), base_dir=small_inputs)
    assert cfg.neutrality is not None and cfg.corrections is not None
    result = run(cfg, quiet=True)
    return result, small_inputs


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def _burn(path: Path, like: Path, values=None) -> np.ndarray:
    """rasterio's own rasterisation of a vector file on the grid of the raster ``like``."""
    gdf = gpd.read_file(path)
    with rasterio.open(like) as src:
        shape, transform, crs = src.shape, src.transform, src.crs
    gdf = gdf.to_crs(crs)
    vals = values if values is not None else [1] * len(gdf)
    return rasterio.features.rasterize(
        zip(gdf.geometry, vals, strict=True), out_shape=shape, transform=transform, fill=0, dtype="int32"
    )


def _area(path: Path) -> np.ndarray:
    return cell_area(open_layer(path).squeeze(drop=True)).values


# --- outputs ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_every_layer_table_and_summary_is_written(ldn_run):
    result, _ = ldn_run
    out = result.output
    for name in NEUTRALITY_LAYERS:
        path = out / "layers" / "neutrality" / f"{name}.tif"
        assert path.is_file(), name
        with rasterio.open(path) as src:
            if name in ("hotspots", "brightspots"):  # ids 1..N (0 none), may exceed int16 on a continent
                assert src.dtypes[0] == "int32" and src.read(1).min() >= 0, name
            else:
                assert src.dtypes[0] == "int16" and src.nodata == codes.NODATA, name
        assert result.layers[f"neutrality/{name}"] == path
    tables = result.tables["Area of interest"]
    for tid in NEUTRALITY_TABLES:
        assert tid in tables and len(tables[tid]) > 0, tid
        assert tables[tid].attrs.get("title"), tid
    summary = json.loads((out / "summary.json").read_text())
    ldn = summary["neutrality"]
    assert ldn["period"] == PERIOD
    assert {"verdict", "balance_sheet", "settings", "land_types", "targets"} <= set(ldn)
    assert ldn["settings"]["planning"]["horizon"] == 2030
    assert isinstance(ldn["verdict"]["ldn_achieved"], bool)
    assert len(ldn["balance_sheet"]) == len(tables["LDN-2 Balance sheet"])
    for tid in NEUTRALITY_TABLES:
        assert tid in summary["tables"]["Area of interest"], tid
    # the targets table has one row per configured target
    assert list(tables["SO1-VT.T1"]["Target"]) == ["VT1", "VT2", "VT3"]
    # boundaries for the report and the QGIS project
    layers = [n for n, _ in pyogrio.list_layers(out / "boundaries.gpkg")]
    assert layers == ["area_of_interest", "regions"]
    regions = gpd.read_file(out / "boundaries.gpkg", layer="regions")
    assert list(regions["name"]) == ["North", "Centre", "South"]
    # the workbook carries the new sheets
    import openpyxl

    wb = openpyxl.load_workbook(out / "tables.xlsx", read_only=True)
    for sheet in ("SO1-4.T3", "SO1-4.T4", "SO1-VT.T1"):
        assert sheet in wb.sheetnames


@pytest.mark.slow
def test_balance_sheet_equals_a_hand_computation(ldn_run):
    result, inputs = ldn_run
    out = result.output
    s7_path = out / "layers" / PERIOD / "status_expanded.tif"
    s7 = _read(s7_path)
    lt = _read(out / "layers" / "neutrality" / "land_types.tif")
    area = _area(s7_path)
    regions = _burn(inputs / "regions.gpkg", s7_path, values=[1, 2, 3])
    names = {1: "North", 2: "Centre", 3: "South"}
    balance = result.tables["Area of interest"]["LDN-2 Balance sheet"]
    valid = (s7 != codes.NODATA) & (lt != codes.NODATA)
    checked = 0
    for scope in ["Area of interest", *names.values()]:
        in_scope = valid if scope == "Area of interest" else valid & (regions == _rid(names, scope))
        rows = balance[balance["Scope"] == scope]
        types = sorted(set(np.unique(lt[in_scope]).tolist()))
        per = rows[rows["Land type"].astype(str) != "All land types"]
        assert sorted(int(t) for t in per["Land type"]) == types, scope
        for t in types:
            m = in_scope & (lt == t)
            gain = area[m & np.isin(s7, (6, 7))].sum()
            loss = area[m & np.isin(s7, (1, 2))].sum()
            total = area[m].sum()
            row = per[per["Land type"].astype(int) == t].iloc[0]
            assert row["Gains (km²)"] == pytest.approx(gain, rel=1e-9, abs=1e-12)
            assert row["Losses (km²)"] == pytest.approx(loss, rel=1e-9, abs=1e-12)
            assert row["Total (km²)"] == pytest.approx(total, rel=1e-9)
            assert row["ΔLDN (km²)"] == pytest.approx(gain - loss, rel=1e-9, abs=1e-12)
            assert bool(row["LDN achieved"]) == (gain - loss >= -1e-12)
            checked += 1
        every = rows[rows["Land type"].astype(str) == "All land types"].iloc[0]
        achieved = [bool(per[per["Land type"].astype(int) == t].iloc[0]["LDN achieved"]) for t in types]
        assert bool(every["LDN achieved"]) == all(achieved)  # no offsetting across land types
        assert every["Gains (km²)"] == pytest.approx(area[in_scope & np.isin(s7, (6, 7))].sum(), rel=1e-9)
    assert checked > 20
    # the gains/losses map is the rule applied to the same status
    gl = _read(out / "layers" / "neutrality" / "gains_losses.tif")
    expect = np.full(s7.shape, codes.NODATA)
    expect[np.isin(s7, (1, 2))] = -1
    expect[np.isin(s7, (3, 4, 5))] = 0
    expect[np.isin(s7, (6, 7))] = 1
    np.testing.assert_array_equal(gl, expect)
    # the verdict in summary.json is the table's
    ldn = result.summary["neutrality"]
    aoi_all = balance[
        (balance["Scope"] == "Area of interest") & (balance["Land type"].astype(str) == "All land types")
    ]
    assert ldn["verdict"]["ldn_achieved"] == bool(aoi_all["LDN achieved"].iloc[0])


def _rid(names: dict[int, str], scope: str) -> int:
    return next(k for k, v in names.items() if v == scope)


@pytest.mark.slow
def test_false_positive_recoding_step_by_step(ldn_run):
    result, inputs = ldn_run
    out = result.output
    layers = out / "layers"
    like = layers / PERIOD / "sdg.tif"
    poly = _burn(inputs / "corrections.gpkg", like) == 1
    assert poly.sum() > 50
    land = np.isin(_read(layers / "land_cover" / "land_cover_2023.tif"), range(1, 7))

    def one_out_all_out(period: str) -> np.ndarray:
        subs = [
            _read(layers / period / f"{n}_degradation.tif") for n in ("productivity", "land_cover", "soc")
        ]
        res = np.zeros(subs[0].shape, np.int32)
        res[np.logical_or.reduce([s == 1 for s in subs])] = 1
        res[np.logical_or.reduce([s == -1 for s in subs])] = -1
        res[np.logical_or.reduce([s == codes.NODATA for s in subs])] = codes.NODATA
        return res

    sdg = {}
    for period in ("baseline", "2016-2019", PERIOD):
        # 1. the uncorrected layer is the 1OAO of the sub-indicators, kept with its legend
        unc = _read(layers / period / "sdg_uncorrected.tif")
        np.testing.assert_array_equal(unc, one_out_all_out(period))
        assert (layers / period / "sdg_uncorrected.qml").is_file()
        with rasterio.open(layers / period / "sdg_uncorrected.tif") as src:
            assert "Degraded" in src.tags()["LDNKIT_LEGEND"]
        # 2. the corrected layer: stable/improved inside the false-positive polygon -> degraded
        expect = unc.copy()
        expect[poly & np.isin(unc, (0, 1))] = -1
        cor = _read(layers / period / "sdg.tif")
        np.testing.assert_array_equal(cor, expect)
        sdg[period] = (unc, cor)
    # the planted woody encroachment was improved and is now degraded
    woody = poly & (sdg[PERIOD][0] == 1)
    assert woody.sum() >= 0.9 * poly.sum()
    # 3. status recomputed from the corrected SDG layers (baseline and period), uncorrected kept
    for period in ("2016-2019", PERIOD):
        for name, matrix in (("status", STATUS3), ("status_expanded", STATUS7)):
            for i, suffix in ((0, "_uncorrected"), (1, "")):
                b, p = sdg["baseline"][i], sdg[period][i]
                ok = (b != codes.NODATA) & (p != codes.NODATA)
                expect = np.where(ok, matrix[np.clip(b + 1, 0, 2), np.clip(p + 1, 0, 2)], codes.NODATA)
                np.testing.assert_array_equal(_read(layers / period / f"{name}{suffix}.tif"), expect)
    # 4. SO1-4.T2 counts the corrected status; the uncorrected would give less degradation
    s3, s3u = _read(layers / PERIOD / "status.tif"), _read(layers / PERIOD / "status_uncorrected.tif")
    area = _area(like)
    t2 = result.tables["Area of interest"]["SO1-4.T2"]
    row = t2[t2["Period"] == PERIOD].iloc[0]
    degraded = area[(s3 == -1) & land].sum()
    assert row["Degraded area (km²)"] == pytest.approx(degraded, rel=1e-9)
    assert degraded - area[(s3u == -1) & land].sum() > 0.5 * area[woody].sum()
    # 5. SO1-4.T3 lists the correction with the area it recoded in each period
    t3 = result.tables["Area of interest"]["SO1-4.T3"]
    assert len(t3) == 1 and t3["Type"].iloc[0].lower() == codes.FALSE_POSITIVE
    for period, (unc, cor) in sdg.items():
        assert t3[f"Recoded {period} (km²)"].iloc[0] == pytest.approx(area[unc != cor].sum(), rel=1e-9)
    assert result.summary["corrections"]["status_recomputed"] == ["2016-2019", PERIOD]


@pytest.mark.slow
def test_planning_layers_observations_and_hotspots(ldn_run):
    result, inputs = ldn_run
    out = result.output / "layers" / "neutrality"
    like = out / "land_types.tif"
    aoi = _burn(inputs / "area_of_interest.gpkg", like) == 1
    mine = (_burn(inputs / "mining_permits.gpkg", like) == 1) & aoi
    al = _read(out / "anticipated_losses.tif")
    np.testing.assert_array_equal(al == 1, mine)
    assert (al[aoi] != codes.NODATA).all() and (al[~aoi] == codes.NODATA).all()
    plan = gpd.read_file(inputs / "restoration_plan.gpkg")
    levels = [codes.RESPONSE_LEVELS[v] for v in plan["level"]]
    burnt = _burn(inputs / "restoration_plan.gpkg", like, values=levels)
    iv = _read(out / "interventions.tif")
    np.testing.assert_array_equal(np.where(aoi & (burnt > 0), burnt, codes.NODATA), iv)
    # response hierarchy: reverse exactly where the status is degraded
    rh = _read(out / "response_hierarchy.tif")
    s3 = _read(result.output / "layers" / PERIOD / "status.tif")
    assert ((rh == codes.REVERSE) == (s3 == -1)).all()
    # field sites: the planted disagreements are found
    obs = result.tables["Area of interest"]["LDN-5 Field observations"]
    assert len(obs) == N_SITES
    assert int((~obs["Agrees"].astype(bool)).sum()) == N_SITES_DISAGREE
    # hotspots: every id of the table is in the layer, the decline patch carries its driver
    hot = result.tables["Area of interest"]["SO1-4.T4"]
    ids = _read(out / "hotspots.tif")
    assert sorted(set(np.unique(ids[ids > 0]).tolist())) == sorted(int(i) for i in hot["Id"])
    assert hot["Drivers"].astype(str).str.contains("Rangeland management").any()
    kind = _read(out / "hotspot_kind.tif")
    assert ((kind == codes.HOTSPOT) == (ids > 0)).all()
    assert (s3[ids > 0] == -1).all()


# --- bad inputs ---------------------------------------------------------------------------------------
@pytest.fixture
def case(small_inputs, tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(small_inputs, inputs)
    return inputs, _config(inputs, tmp_path / "run")


def _run_cli(inputs: Path, cfg: dict):
    path = inputs / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return runner.invoke(app, ["run", str(path), "--quiet"])


def _polygons(path: Path, rows: list[dict], layer: str) -> None:
    gdf = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "geometry"} for r in rows],
        geometry=[r["geometry"] for r in rows],
        crs="EPSG:4326",
    )
    path.unlink(missing_ok=True)
    gdf.to_file(path, layer=layer, driver="GPKG")


def _correction(i: int, kind: str, geom, periods: str = "all") -> dict:
    return {
        "id": i,
        "type": kind,
        "periods": periods,
        "place_name": f"place {i}",
        "process": "test",
        "basis": "test",
        "geometry": geom,
    }


def test_overlapping_corrections_with_conflicting_types(case, assert_user_error):
    inputs, cfg = case
    a, b = box(36.05, -0.60, 36.10, -0.55), box(36.08, -0.62, 36.13, -0.57)
    rows = [_correction(1, "false positive", a), _correction(2, "false negative", b)]
    _polygons(inputs / "corrections.gpkg", rows, "corrections")
    assert_user_error(_run_cli(inputs, cfg), cfg, "corrections", "1", "2")


def test_unknown_period_name_in_corrections(case, assert_user_error):
    inputs, cfg = case
    rows = [_correction(1, "false positive", box(36.05, -0.60, 36.10, -0.55), periods="2016-2030")]
    _polygons(inputs / "corrections.gpkg", rows, "corrections")
    assert_user_error(_run_cli(inputs, cfg), cfg, "corrections", "2016-2030")


def test_unknown_neutrality_period(case, assert_user_error):
    inputs, cfg = case
    cfg["neutrality"]["period"] = "2016-2030"
    assert_user_error(_run_cli(inputs, cfg), cfg, "neutrality.period", "2016-2030")
    cfg["neutrality"]["period"] = "baseline"
    assert_user_error(_run_cli(inputs, cfg), cfg, "neutrality.period", "baseline")


def test_planning_polygon_outside_the_grid(case, assert_user_error):
    inputs, cfg = case
    _polygons(inputs / "mining_permits.gpkg", [{"name": "far", "geometry": box(40, 5, 40.1, 5.1)}], "m")
    assert_user_error(_run_cli(inputs, cfg), cfg, "anticipated_losses[0]", "outside the grid")


def test_bad_intervention_level(case, assert_user_error):
    inputs, cfg = case
    rows = [{"name": "x", "level": "restore", "effect": 0.5, "geometry": box(36.05, -0.60, 36.10, -0.55)}]
    _polygons(inputs / "restoration_plan.gpkg", rows, "plan")
    assert_user_error(_run_cli(inputs, cfg), cfg, "interventions", "'restore'", "avoid, reduce or reverse")


def test_bad_target_scope_and_driver(case, assert_user_error):
    inputs, cfg = case
    good = [dict(t) for t in cfg["neutrality"]["targets"]]
    cfg["neutrality"]["targets"][2]["scope"] = "Nowhere"
    assert_user_error(_run_cli(inputs, cfg), cfg, "neutrality.targets[2].scope", "Nowhere")
    cfg["neutrality"]["targets"] = good
    cfg["neutrality"]["drivers"][0]["driver"] = "Rangeland managment"
    assert_user_error(_run_cli(inputs, cfg), cfg, "neutrality.drivers[0]", "Rangeland management")


@pytest.mark.slow
def test_land_types_that_do_not_cover_the_area(case, assert_user_error):
    inputs, cfg = case
    path = inputs / "soil_groups.tif"
    with rasterio.open(path) as src:
        a, profile = src.read(1), src.profile
    a[40:50, 40:50] = 0  # a hole of 100 pixels of no data well inside the area of interest
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(a, 1)
    res = _run_cli(inputs, cfg)
    assert_user_error(res, cfg, "neutrality.land_types", "do not cover", "km²", "soil (")
    assert "capability (" not in res.stderr


def test_config_validation_names_the_key():
    base = {
        "output": "out",
        "inputs": {
            "productivity": {"path": "a.tif"},
            "land_cover": {"path": "b.tif"},
            "soc": {"path": "c.tif"},
        },
        "periods": {"baseline": {"start": 2000, "end": 2015}, "reporting": [{"start": 2016, "end": 2019}]},
    }
    rule = {"name": "cap", "layers": {"slope": "s.tif"}}
    bad = {
        "neutrality.land_types.rules[0]": {
            "land_types": {
                "rules": [{**rule, "classes": [{"code": 1, "label": "a", "when": {"slope": [0, 5]}}] * 2}]
            }
        },
        "neutrality.land_types": {"land_types": {}},
        "neutrality.targets[0]": {
            "land_types": {"land_cover": True},
            "targets": [{"id": "a", "kind": "restore_km2", "year": 2030}],
        },
        "neutrality.hotspots.method": {"land_types": {"land_cover": True}, "hotspots": {"method": "kde"}},
    }
    for where, section in bad.items():
        with pytest.raises(ConfigError) as err:
            parse_config({**base, "neutrality": section})
        assert where in str(err.value), (where, str(err.value))
    with pytest.raises(ConfigError, match="needs 'inputs'"):
        parse_config({"output": "o", "drought": {"spi": "x.tif"}, "corrections": {"path": "c.gpkg"}})
    cfg = parse_config(
        {**base, "neutrality": {"land_types": {"land_cover": True}}, "report": {"html": False}}
    )
    assert cfg.report.html is False and cfg.report.qgis_project is True
    assert cfg.neutrality.hotspots.min_area_km2 == 1.0 and cfg.neutrality.period is None


@pytest.mark.slow
def test_print_neutrality_report(ldn_run):
    from rich.console import Console

    from ldnkit.demo import print_neutrality_report

    result, _ = ldn_run
    console = Console(record=True, width=200)
    print_neutrality_report(result.output, console)
    text = console.export_text()
    balance = result.tables["Area of interest"]["LDN-2 Balance sheet"]
    aoi = balance[balance["Scope"] == "Area of interest"]
    assert "All land types" in text and "LDN balance sheet, 2016-2023" in text
    assert f"{aoi['Losses (km²)'].max():,.2f}" in text
    for target in ("VT1", "VT2", "VT3"):
        assert target in text
    assert result.summary["neutrality"]["verdict"]["text"] in text
