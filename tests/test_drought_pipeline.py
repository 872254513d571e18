"""The drought part of a run (SO 3) end to end: its layers against an independent SPI, its tables,
the drought-only command, and its bad inputs."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
import yaml
from typer.testing import CliRunner

from ldnkit.cli import app

runner = CliRunner()


@pytest.fixture
def case(small_inputs, tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(small_inputs, inputs)
    cfg = yaml.safe_load((inputs / "config.yaml").read_text())
    cfg["output"] = str(tmp_path / "run")
    return inputs, cfg


def _invoke(command: str, inputs: Path, cfg: dict):
    path = inputs / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return runner.invoke(app, [command, str(path), "--quiet"])


@pytest.fixture(scope="module")
def drought_run(small_inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("drought_run")
    cfg = yaml.safe_load((small_inputs / "config.yaml").read_text())
    cfg["output"] = str(out / "run")
    # relative paths resolve against the config's folder: write it beside the inputs
    path = small_inputs / "drought_only.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["drought", str(path), "--quiet"])
    assert res.exit_code == 0, res.output
    return out / "run"


def test_drought_only_run_writes_so3_and_no_so1(drought_run):
    import json

    summary = json.loads((drought_run / "summary.json").read_text())
    tables = summary["tables"]["Area of interest"]
    assert {"SO3-1.T1", "SO3-1.T2", "SO3-2.T1", "SO3-2.T2", "SO3-2.T3", "SO3-3.T1"} <= set(tables)
    assert not any(t.startswith("SO1") for t in tables)
    assert summary["drought"]["method"]["scale"] == 12
    assert summary["drought"]["boundaries"] == "unccd"
    assert (drought_run / "layers" / "drought" / "drought_class_2008-2011.tif").is_file()
    # SO3-1.T2: % under drought = km² under drought / land km², and every class row adds up to land
    for rec in tables["SO3-1.T2"]["records"]:
        assert rec["% of land under drought"] == pytest.approx(
            100 * rec["Area under drought (km²)"] / rec["Total land area (km²)"]
        )
    # SO3-2.T1: female + male = total population exposed, per year and class
    t1, t2, t3 = (tables[f"SO3-2.T{i}"]["records"] for i in (1, 2, 3))
    for a, f, m in zip(t1, t2, t3, strict=True):
        assert a["Population (persons)"] == pytest.approx(
            f["Population (persons)"] + m["Population (persons)"], rel=1e-5, abs=1e-3
        )


def test_spi_layer_equals_climate_indices(small_inputs, drought_run):
    """December SPI-12 written for 2009 equals climate-indices' SPI on the same cells."""
    ci = pytest.importorskip("climate_indices")
    from climate_indices import compute, indices

    logging.getLogger("climate_indices").setLevel(logging.ERROR)
    del ci
    ds = xr.open_dataset(small_inputs / "precipitation_monthly.nc")
    precip = ds["precip"].load()
    lat = [d for d in precip.dims if d != "time"][0]
    lon = [d for d in precip.dims if d not in ("time", lat)][0]
    precip = precip.sortby(lat, ascending=False)  # north-up like the written layers
    first_year = int(precip["time"].dt.year[0])
    with rasterio.open(drought_run / "layers" / "drought" / "spi_2009.tif") as src:
        written = src.read(1)
    rng = np.random.default_rng(1)
    cells = rng.integers(0, min(written.shape), size=(25, 2))
    months = np.flatnonzero((precip["time"].dt.year.values == 2009) & (precip["time"].dt.month.values == 12))[
        0
    ]
    for r, c in cells:
        series = precip.isel({lat: r, lon: c}).values.astype("float64")
        ref = indices.spi(
            series, 12, indices.Distribution.gamma, first_year, 1981, 2010, compute.Periodicity.monthly
        )
        if np.isfinite(written[r, c]):
            assert written[r, c] == pytest.approx(np.clip(ref[months], -3.09, 3.09), abs=1e-5)


def test_no_drought_section(case):
    inputs, cfg = case
    cfg.pop("drought")
    res = _invoke("drought", inputs, cfg)
    assert res.exit_code == 2 and "drought" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_negative_precipitation(case, assert_user_error):
    inputs, cfg = case
    path = inputs / "precipitation_monthly.nc"
    ds = xr.open_dataset(path).load()
    ds.close()
    ds["precip"][5, 3, 3] = -4.0
    path.unlink()
    ds.to_netcdf(path)
    assert_user_error(_invoke("drought", inputs, cfg), cfg, "negative")


def test_reference_period_outside_the_data(case, assert_user_error):
    inputs, cfg = case
    cfg["drought"]["method"]["reference"] = [1951, 1980]
    assert_user_error(_invoke("drought", inputs, cfg), cfg, "1951")


def test_population_that_does_not_overlap(case, assert_user_error):
    inputs, cfg = case
    for path in inputs.glob("population_*.tif"):
        with rasterio.open(path) as src:
            profile, data = src.profile, src.read()
        t = profile["transform"]
        profile["transform"] = rasterio.Affine(t.a, t.b, t.c + 40.0, t.d, t.e, t.f)
        path.unlink()
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
    assert_user_error(_invoke("drought", inputs, cfg), cfg, "overlap")


def test_population_years_on_different_grids(case, assert_user_error):
    inputs, cfg = case
    path = inputs / "population_total_2010.tif"
    with rasterio.open(path) as src:
        profile, data = src.profile, src.read()
    t = profile["transform"]
    profile["transform"] = rasterio.Affine(t.a, t.b, t.c + t.a * 3, t.d, t.e, t.f)
    path.unlink()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    assert_user_error(_invoke("drought", inputs, cfg), cfg, "population.total.2010", "grid")


def test_gridded_vulnerability_map(case):
    """Tier 3 DVI map from two factor rasters equals the min-max formula computed by hand."""
    inputs, cfg = case
    with rasterio.open(inputs / "population_total_2000.tif") as src:
        profile = src.profile | {"count": 1, "dtype": "float32", "nodata": None}
        shape = src.shape
    rng = np.random.default_rng(7)
    values = {}
    for name in ("poverty", "literacy", "water"):
        for year in (2010, 2020):
            a = rng.uniform(5, 95, shape).astype("float32")
            values[(name, year)] = a
            with rasterio.open(inputs / f"{name}_{year}.tif", "w", **profile) as dst:
                dst.write(a, 1)
    spec = {
        "poverty": ("economic", "positive"),
        "literacy": ("social", "negative"),
        "water": ("infrastructural", "negative"),
    }
    cfg["drought"]["vulnerability"] = {
        "grids": {
            n: {"component": c, "direction": d, "maps": {y: f"{n}_{y}.tif" for y in (2010, 2020)}}
            for n, (c, d) in spec.items()
        }
    }
    cfg["drought"].pop("population")
    res = _invoke("drought", inputs, cfg)
    assert res.exit_code == 0, res.output
    out = Path(cfg["output"]) / "layers" / "drought"
    for year in (2010, 2020):
        comps = []
        for n, (_, d) in spec.items():
            both = np.stack([values[(n, 2010)], values[(n, 2020)]]).astype("float64")
            f = (values[(n, year)] - both.min()) / (both.max() - both.min())
            comps.append(f if d == "positive" else 1 - f)
        expected = np.mean(comps, axis=0)
        with rasterio.open(out / f"dvi_{year}.tif") as src:
            got = src.read(1)
        np.testing.assert_allclose(got, expected, atol=1e-6)
    import json

    summary = json.loads((Path(cfg["output"]) / "summary.json").read_text())
    assert "SO3-3.T1" in summary["tables"]["Area of interest"]


def test_exposed_population_maps_add_up_to_so3_2(drought_run):
    """Each period's exposed-population map sums to the SO3-2 people in classes mild..extreme."""
    import json

    import rasterio

    summary = json.loads((drought_run / "summary.json").read_text())
    records = summary["tables"]["Area of interest"]["SO3-2.periods"]["records"]
    periods = sorted({r["Period"] for r in records})
    assert len(periods) == 6
    for period in periods:
        expected = sum(
            r["Population (persons)"]
            for r in records
            if r["Period"] == period and r["Population"] == "total" and (r["Code"] or 0) >= 1
        )
        with rasterio.open(drought_run / "layers" / "drought" / f"population_exposed_{period}.tif") as src:
            people = src.read(1, masked=True)
        assert people.min() >= 0
        assert float(people.sum(dtype=np.float64)) == pytest.approx(expected, rel=1e-5)


def test_population_in_another_crs_is_met_by_warping_the_hazard(case):
    """The run warps the hazard onto a population grid in another CRS (GDAL nearest; exposure
    itself maps within one CRS) and says so in the SO3-2 tables; hazard maps keep their grid."""
    import json

    from rasterio.warp import Resampling, calculate_default_transform, reproject

    inputs, cfg = case
    for path in sorted(inputs.glob("population_*.tif")):
        with rasterio.open(path) as src:
            profile = src.profile
            transform, width, height = calculate_default_transform(
                src.crs, "EPSG:3857", src.width, src.height, *src.bounds
            )
            dst = np.full((height, width), profile.get("nodata") or 0, dtype=profile["dtype"])
            reproject(
                rasterio.band(src, 1),
                dst,
                dst_transform=transform,
                dst_crs="EPSG:3857",
                resampling=Resampling.nearest,
                dst_nodata=profile.get("nodata"),
            )
        profile.update(crs="EPSG:3857", transform=transform, width=width, height=height)
        path.unlink()
        with rasterio.open(path, "w", **profile) as out:
            out.write(dst, 1)
    res = _invoke("drought", inputs, cfg)
    assert res.exit_code == 0, res.output
    run = Path(cfg["output"])
    summary = json.loads((run / "summary.json").read_text())
    assert "GDAL warp from" in json.dumps(summary["tables"]["Area of interest"]["SO3-2.T1"])
    first = summary["drought"]["years"][0]
    with rasterio.open(run / "layers" / "drought" / f"drought_class_{first}.tif") as src:
        assert src.crs is not None and src.crs.to_epsg() != 3857  # hazard maps stay on their grid
