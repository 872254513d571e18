"""The footprint stage end to end on the demo (size 100) and the bundled example: sheets, summary,
report section; every producer's harvested area allocated in full through the stage; degraded
shares from the run's maps equal a hand count of the pixels; ``ldnkit footprint`` alone with the
shares from a previous run folder; bad settings are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import xarray as xr
import yaml
from rasterio import features
from typer.testing import CliRunner

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.cli import app
from ldnkit.config import load_config
from ldnkit.demo import build_demo_inputs
from ldnkit.demo.footprint_inputs import REGION_PRODUCERS, REPORTING_COUNTRY
from ldnkit.footprint import degraded_share_by_zone
from ldnkit.io.trade import bundled_example
from ldnkit.run import CorrectionsStage, So1Stage, So1TablesStage, run
from ldnkit.run.footprint import FootprintStage

runner = CliRunner()
SIZE = 100


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("footprint")
    return build_demo_inputs(folder / "inputs", size=SIZE, output=folder / "run")


@pytest.fixture(scope="module")
def result(case):
    cfg = load_config(case.config_path)
    return run(cfg, stages=[So1Stage(), CorrectionsStage(), So1TablesStage(), FootprintStage()], quiet=True)


def _raw_production() -> pd.DataFrame:
    """Harvested area (ha) per country and item, read straight from the bundled CSV."""
    raw = pd.read_csv(bundled_example()["production"])
    raw = raw[raw["Element"] == "Area harvested"]
    return raw.groupby(["Area", "Item"])["Value"].sum()


def _hand_shares(case, result) -> dict[tuple[str, str], float]:
    """Degraded share of each demo region's cropland and grassland, counted pixel by pixel."""
    plan = result.periods[-1]
    status = result.layer("status", plan.name).values
    land_cover = result.layer(f"land_cover_{plan.land_cover[1]}", "land_cover").values
    area = cell_area(result.layer("status", plan.name)).values
    regions = pyogrio.read_dataframe(case.folder / "regions.gpkg")
    shares = {}
    for name, geometry in zip(regions["name"], regions.geometry, strict=True):
        inside = features.rasterize([(geometry, 1)], out_shape=(SIZE, SIZE), transform=case.transform) == 1
        for code, use in ((codes.CROPLAND, "cropland"), (codes.GRASSLAND, "grazing")):
            land = inside & (land_cover == code) & np.isin(status, [-1, 0, 1])
            if land.any():
                degraded = land & (status == codes.DEGRADED)
                shares[(REGION_PRODUCERS[name], use)] = area[degraded].sum() / area[land].sum()
    return shares


def test_shares_from_the_maps_equal_a_hand_count(case, result):
    hand = _hand_shares(case, result)
    assert hand and any(0 < v < 1 for v in hand.values())  # some degraded land, not all
    fp4 = result.tables[codes.AOI_SCOPE]["FP-4"].set_index(["region", "land_use"])
    for key, share in hand.items():
        assert fp4.loc[key, "degraded_share"] == pytest.approx(share, rel=1e-9)
        assert fp4.loc[key, "source"].startswith("maps of this run")
    table = pd.read_csv(bundled_example()["degraded_share"]).set_index(["region", "land_use"])
    for key in [("Dorvia", "cropland"), ("Estmark", "cropland")]:  # outside the maps: the table's
        assert fp4.loc[key, "degraded_share"] == table.loc[key, "degraded_share"]
        assert fp4.loc[key, "source"] == "table footprint_degraded_share.csv"


def test_every_producers_area_is_allocated_through_the_stage(result):
    flows = pd.read_csv(result.output / "footprint" / "flows.csv")
    allocated = flows.groupby(["producer", "commodity"])["hectares"].sum()
    harvested = _raw_production()
    harvested = harvested[harvested > 0]
    assert sorted(allocated.index) == sorted(harvested.index)
    for key, ha in harvested.items():
        assert allocated[key] == pytest.approx(ha, rel=1e-9)
    fp4 = result.tables[codes.AOI_SCOPE]["FP-4"].set_index(["region", "land_use"])["degraded_share"]
    expected = flows["hectares"] * [fp4[(p, "cropland")] for p in flows["producer"]]
    np.testing.assert_allclose(flows["degraded_hectares"], expected, rtol=1e-12)


def test_sheets_summary_and_report(result):
    out = result.output
    book = openpyxl.load_workbook(out / "tables.xlsx", read_only=True)
    assert {"FP-1", "FP-2", "FP-3", "FP-4"} <= set(book.sheetnames)
    summary = json.loads((out / "summary.json").read_text())
    info = summary["footprint"]
    assert info["method"] == "trade_flow" and info["year"] == 2020
    assert info["reporting_country"] == REPORTING_COUNTRY
    assert "re-exports" in info["system_boundaries"]
    assert info["sources"]["production"].endswith("footprint_production.csv")
    assert info["degraded_shares"]["maps"].startswith("maps of this run")
    flows = pd.read_csv(out / info["flows_file"])
    into = flows[flows["consumer"] == REPORTING_COUNTRY]
    assert info["totals_ha"]["consumption_ha"] == pytest.approx(into["hectares"].sum(), rel=1e-12)
    assert info["totals_ha"]["degraded_in_consumption_ha"] == pytest.approx(
        into["degraded_hectares"].sum(), rel=1e-12
    )
    assert info["totals_ha"]["not_assessed_ha"] == 0.0  # every producer has a share
    producers = pyogrio.read_dataframe(out / info["producers_file"])
    assert sorted(producers["producer"]) == sorted(REGION_PRODUCERS.values())
    fp3 = result.tables[codes.AOI_SCOPE]["FP-3"]
    assert (fp3["consumer"] == REPORTING_COUNTRY).all()
    assert list(fp3["degraded_hectares"]) == sorted(fp3["degraded_hectares"], reverse=True)
    report = (out / "report.html").read_text()
    section = report[report.index("id='footprint'") :]
    section = section[: section.index("</section>")]
    assert section.count('<img src="data:image/png;base64,') == 2  # flow chart and map
    assert "Top flows of degraded land" in section and fp3["producer"].iloc[0] in section


def test_footprint_command_with_shares_from_a_previous_run(result, tmp_path):
    """`ldnkit footprint` alone, shares from the run folder: the same shares as in the run."""
    example = bundled_example()
    cfg = {
        "output": str(tmp_path / "fp"),
        "footprint": {
            "year": 2020,
            "reporting_country": REPORTING_COUNTRY,
            "trade_flow": {
                "production": str(example["production"]),
                "trade_matrix": str(example["trade_matrix"]),
            },
            "producers": {"path": str(result.output / "boundaries.gpkg"), "layer": "regions"},
            "names": REGION_PRODUCERS,
            "degraded_shares": {"run_folder": str(result.output)},
        },
    }
    path = tmp_path / "fp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["footprint", str(path), "-q"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "fp" / "summary.json").read_text())
    assert summary["stages"] == ["footprint"]
    got = summary["tables"][codes.AOI_SCOPE]["FP-4"]["records"]
    want = result.tables[codes.AOI_SCOPE]["FP-4"]
    want = want[want["source"].str.startswith("maps")].set_index(["region", "land_use"])["degraded_share"]
    assert len(got) == len(want)
    for row in got:
        assert row["degraded_share"] == pytest.approx(want[(row["region"], row["land_use"])], rel=1e-12)
    assert any("not assessed" in w for w in summary["warnings"])  # Dorvia and Estmark have no share
    fp2 = pd.DataFrame(summary["tables"][codes.AOI_SCOPE]["FP-2"]["records"]).set_index("producer")
    assert np.isnan(fp2.loc["Dorvia", "degraded_hectares"])  # null in the JSON: not assessed, never 0
    assert fp2.loc["Arland", "degraded_hectares"] > 0
    flows = pd.read_csv(tmp_path / "fp" / "footprint" / "flows.csv")
    unknown = flows[(flows["consumer"] == REPORTING_COUNTRY) & flows["producer"].isin(["Dorvia", "Estmark"])]
    assert summary["footprint"]["totals_ha"]["not_assessed_ha"] == pytest.approx(unknown["hectares"].sum())
    assert summary["footprint"]["totals_ha"]["not_assessed_ha"] > 0
    # the run folder it reads from is never its output
    cfg["output"] = str(result.output)
    cfg["overwrite"] = True
    path.write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["footprint", str(path), "-q"])
    assert res.exit_code == 2 and (result.output / "layers").is_dir()


def test_degraded_share_by_zone_equals_a_hand_count():
    rng = np.random.default_rng(3)
    shape = (37, 23)
    status = rng.choice([-1, 0, 1, codes.NODATA], size=shape).astype("int16")
    land_cover = rng.choice([1, 2, 3, 7], size=shape).astype("int16")
    zones = rng.choice([1, 2, codes.NODATA], size=shape).astype("int16")
    area = rng.uniform(0.5, 2.0, size=shape)
    da = {
        k: xr.DataArray(v, dims=("y", "x")) for k, v in dict(s=status, lc=land_cover, z=zones, a=area).items()
    }
    got = degraded_share_by_zone(da["s"], da["lc"], da["a"], da["z"], {1: "A", 2: "B"})
    got = got.set_index(["region", "land_use"])
    for zone, name in ((1, "A"), (2, "B")):
        for code, use in ((3, "cropland"), (2, "grazing")):
            land = (zones == zone) & (land_cover == code) & (status != codes.NODATA)
            share = area[land & (status == -1)].sum() / area[land].sum()
            assert got.loc[(name, use), "degraded_share"] == pytest.approx(share, rel=1e-12)
            assert got.loc[(name, use), "area_km2"] == pytest.approx(area[land].sum(), rel=1e-12)
    assert len(got) == 4  # tree cover and water are neither cropland nor grazing land


def test_mrio_through_the_stage_equals_pymrio(tmp_path):
    pymrio = pytest.importorskip("pymrio")
    example = bundled_example()
    cfg = {
        "output": str(tmp_path / "mrio"),
        "footprint": {
            "method": "mrio",
            "reporting_country": "reg3",
            "mrio": {"format": "test", "land": str(example["mrio_land"])},
            "degraded_shares": {"table": str(example["mrio_degraded_share"])},
        },
    }
    path = tmp_path / "mrio.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["footprint", str(path), "-q"])
    assert res.exit_code == 0, res.output
    info = json.loads((tmp_path / "mrio" / "summary.json").read_text())["footprint"]
    io = pymrio.load_test()
    land = pd.read_csv(example["mrio_land"])
    f = land.pivot_table(index="land_use", columns=["region", "sector"], values="hectares", aggfunc="sum")
    f = f.reindex(columns=io.Z.columns).fillna(0.0)
    io.land = pymrio.Extension(name="land", F=f)
    io.calc_all()
    cba = io.land.D_cba_reg["reg3"].sum()  # pymrio's consumption-based account of reg3
    assert info["totals_ha"]["consumption_ha"] == pytest.approx(cba, rel=1e-9)
    report = (tmp_path / "mrio" / "report.html").read_text()
    section = report[report.index("id='footprint'") :]
    section = section[: section.index("</section>")]
    assert section.count("<img ") == 1  # the flow chart; no producer polygons, so no map


def test_no_footprint_section(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        yaml.safe_dump({"output": str(tmp_path / "o"), "drought": {"precipitation": {"path": "p.nc"}}})
    )
    res = runner.invoke(app, ["footprint", str(path), "-q"])
    assert res.exit_code == 2 and "footprint" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def _bad(tmp_path, change) -> tuple:
    example = bundled_example()
    cfg = {
        "output": str(tmp_path / "out"),
        "footprint": {
            "year": 2020,
            "reporting_country": "Estmark",
            "trade_flow": {
                "production": str(example["production"]),
                "trade_matrix": str(example["trade_matrix"]),
            },
            "degraded_shares": {"table": str(example["degraded_share"])},
        },
    }
    change(cfg["footprint"])
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return runner.invoke(app, ["footprint", str(path), "-q"]), cfg


@pytest.mark.parametrize(
    "change, needles",
    [
        (lambda f: f.update(reporting_country="Atlantis"), ["footprint.reporting_country", "Atlantis"]),
        (lambda f: f.update(commodities=["Rice"]), ["footprint.commodities", "Rice"]),
        (lambda f: f["trade_flow"].update(production="nowhere.csv"), ["nowhere.csv"]),
        (lambda f: f.update(method="mrio"), ["footprint", "mrio"]),
        (lambda f: f.update(names={"Nowhere": "Arland"}), ["footprint"]),
        (lambda f: f["degraded_shares"].update(run_folder="/tmp"), ["footprint.degraded_shares.run_folder"]),
        (lambda f: f.update(top_flow=3), ["top_flow"]),
    ],
)
def test_config_errors_are_one_line_exit_2(tmp_path, assert_user_error, change, needles):
    res, cfg = _bad(tmp_path, change)
    assert_user_error(res, cfg, *needles)


def test_a_degraded_share_out_of_range_names_the_file(tmp_path, assert_user_error):
    table = tmp_path / "shares.csv"
    table.write_text("region,land_use,degraded_share\nArland,cropland,1.5\n")
    res, cfg = _bad(tmp_path, lambda f: f["degraded_shares"].update(table=str(table)))
    assert_user_error(res, cfg, "footprint.degraded_shares.table", "shares.csv", "row 1")


def test_names_need_polygons(tmp_path, assert_user_error):
    """`names` without any producer polygons is a mistake, not a silent no-op."""
    res, cfg = _bad(tmp_path, lambda f: f.update(names={"North": "Arland"}))
    assert_user_error(res, cfg, "footprint.names")


def test_dash_h():
    res = runner.invoke(app, ["footprint", "-h"])
    assert res.exit_code == 0 and "Usage" in res.output and "footprint" in res.output


def test_demo_config_maps_its_regions(small_inputs):
    cfg = yaml.safe_load((Path(small_inputs) / "config.yaml").read_text())
    assert cfg["footprint"]["names"] == REGION_PRODUCERS
    for name in ("production", "trade_matrix", "degraded_share"):
        assert (Path(small_inputs) / f"footprint_{name}.csv").is_file()


def test_footprint_is_a_computation_layer():
    """ldnkit.footprint imports no io, run, config, tables or report (like indicators/)."""
    import ast

    import ldnkit.footprint

    forbidden = ("ldnkit.io", "ldnkit.run", "ldnkit.config", "ldnkit.tables", "ldnkit.report", "ldnkit.cli")
    for path in Path(ldnkit.footprint.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                assert not name.startswith(forbidden), (path.name, name)


def test_estmarks_wheat_equals_a_hand_calculation(result):
    """Kastner by hand on the bundled example (importer-reported trade): Estmark imports 100 kt of
    wheat from Dorvia, which grows none and passes on Arland's; and 50 kt from Borduria, whose
    430 kt available are 400 kt its own and 30 kt Arland's. Arland harvests 1/3 ha/t, Borduria 0.4."""
    fp1 = result.tables[codes.AOI_SCOPE]["FP-1"]
    wheat = fp1[(fp1["consumer"] == REPORTING_COUNTRY) & (fp1["commodity"] == "Wheat")]
    ha = wheat.set_index("producer")["hectares"]
    assert ha["Arland"] == pytest.approx((100_000 + 50_000 * 30 / 430) / 3, rel=1e-12)
    assert ha["Borduria"] == pytest.approx(50_000 * 400 / 430 * 0.4, rel=1e-12)
    assert ha["Estmark"] == pytest.approx(40_000, rel=1e-12)  # its own harvest, none exported
