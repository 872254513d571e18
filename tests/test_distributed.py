"""The same run on other dask schedulers gives the same bytes.

The demo landscape (120 x 120 pixels, several blocks) runs once on the default threaded scheduler,
then on a ``distributed.LocalCluster`` of 2 worker processes (1 thread each) through its address,
and with ``--scheduler processes`` through the CLI. Every GeoTIFF must hold the same pixels bit for
bit, the same metadata and legend, and the summary tables must be equal.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from typer.testing import CliRunner

from ldnkit.cli import app
from ldnkit.config import load_config
from ldnkit.demo import build_demo_inputs
from ldnkit.io.run_folder import MARKER
from ldnkit.run import run

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("dist")
    case = build_demo_inputs(base / "inputs", size=120)
    cfg = load_config(case.config_path)
    cfg.output = base / "threads"
    threaded = run(cfg, quiet=True, scheduler="threads")
    return case, threaded.output


def _config_with_output(case, output: Path) -> Path:
    """A copy of the demo config writing to ``output`` (relative inputs still resolve)."""
    data = yaml.safe_load(case.config_path.read_text())
    data["output"] = str(output)
    path = case.config_path.with_name(f"config_{output.name}.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _assert_same_outputs(a: Path, b: Path, subset: bool = False) -> None:
    """Run folder ``b`` holds the same layers and tables as ``a`` (with ``subset``: those it has)."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*.tif"))
    files_b = sorted(p.relative_to(b) for p in b.rglob("*.tif"))
    if subset:
        assert set(files_b) <= set(files_a)
        files_a = files_b
    assert files_a == files_b and len(files_a) > 30
    for rel in files_a:
        with rasterio.open(a / rel) as x, rasterio.open(b / rel) as y:
            meta_x = (x.dtypes, str(x.nodata), x.crs, x.transform, x.overviews(1))
            assert meta_x == (y.dtypes, str(y.nodata), y.crs, y.transform, y.overviews(1)), rel
            assert x.tags() == y.tags(), rel
            assert x.descriptions == y.descriptions, rel
            xa, ya = x.read(), y.read()
        assert xa.tobytes() == ya.tobytes(), f"{rel}: pixels differ"
    # sidecars with the legend are written too
    for sidecar in b.rglob("*.aux.xml"):
        assert (a / sidecar.relative_to(b)).read_text() == sidecar.read_text()
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    if subset:
        sa["tables"] = {s: {t: sa["tables"][s][t] for t in tabs} for s, tabs in sb["tables"].items()}
        sa["layers"] = {k: sa["layers"][k] for k in sb["layers"]}
    assert sa["tables"] == sb["tables"]
    assert sa["layers"] == sb["layers"]
    # nothing left behind by the writers (temporary files, locks, scratch)
    leftovers = [
        p.name
        for p in b.rglob("*")
        if (p.name.startswith(".") and p.name != MARKER) or p.suffix in (".lock", ".vrt")
    ]
    assert not leftovers


@pytest.mark.slow
def test_local_cluster_equals_threads(demo, tmp_path):
    case, threaded = demo
    cfg = load_config(case.config_path)
    cfg.output = tmp_path / "cluster"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = run(cfg, quiet=True, scheduler=cluster.scheduler_address)
        with distributed.Client(cluster) as client:
            assert len(client.scheduler_info()["workers"]) == 2
    assert result.summary["config"]["compute"]["scheduler"] == cluster.scheduler_address
    _assert_same_outputs(threaded, result.output)


@pytest.mark.slow
def test_processes_scheduler_from_cli_equals_threads(demo, tmp_path):
    case, threaded = demo
    out = tmp_path / "processes"
    config = _config_with_output(case, out)
    res = CliRunner().invoke(app, ["run", str(config), "--scheduler", "processes", "--quiet"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == str(out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["compute"]["scheduler"] == "processes"
    _assert_same_outputs(threaded, out)


def _halve(a: np.ndarray, average: bool) -> np.ndarray:
    """Whole-array reference of one overview level: 2 x 2 cells (cut at the edges), their
    lower-right pixel or the mean of their finite values."""
    h, w = a.shape
    oh, ow = -(-h // 2), -(-w // 2)
    if not average:
        return a[np.ix_(np.minimum(2 * np.arange(oh) + 1, h - 1), np.minimum(2 * np.arange(ow) + 1, w - 1))]
    cell = (np.arange(h)[:, None] // 2) * ow + np.arange(w)[None, :] // 2
    ok = np.isfinite(a)
    sums = np.bincount(cell[ok], weights=a[ok].astype(np.float64), minlength=oh * ow)
    counts = np.bincount(cell[ok], minlength=oh * ow)
    with np.errstate(invalid="ignore"):
        return (sums / counts).reshape(oh, ow).astype(np.float32)


def test_overviews_are_written_block_by_block(tmp_path):
    """The COG's overviews, computed per block in the write pass, equal whole-array references
    (each level halves the previous one)."""
    import xarray as xr

    from ldnkit import codes
    from ldnkit.io.grid import Grid
    from ldnkit.io.write import write_layers

    rng = np.random.default_rng(3)
    h, w = 1300, 1100  # 3 x 3 blocks of 512, partial at the edges; overviews 2 and 4
    grid = Grid(rasterio.crs.CRS.from_epsg(32633), rasterio.Affine(30, 0, 5e5, 0, -30, 1e6), w, h)
    cat = rng.integers(-1, 2, (h, w)).astype(np.int16)
    cat[:7] = codes.NODATA
    val = rng.random((h, w)).astype(np.float32)
    val[rng.random((h, w)) < 0.2] = np.nan
    val[:, :9] = np.nan
    write_layers(
        [
            (
                grid.wrap(xr.DataArray(cat).chunk(512).data),
                tmp_path / "cat.tif",
                {"legend": codes.DEGRADATION},
            ),
            (grid.wrap(xr.DataArray(val).chunk(512).data), tmp_path / "val.tif"),
        ]
    )
    for name, expected in (("cat", cat), ("val", val)):
        with rasterio.open(tmp_path / f"{name}.tif") as src:
            assert src.overviews(1) == [2, 4]
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert src.read(1).tobytes() == expected.tobytes()
        for level in range(2):
            expected = _halve(expected, average=name == "val")
            with rasterio.open(tmp_path / f"{name}.tif", OVERVIEW_LEVEL=level) as ov:
                got = ov.read(1)
            assert got.shape == expected.shape
            if name == "cat":
                np.testing.assert_array_equal(got, expected)
            else:
                assert np.isnan(got[:, 0]).all()  # the first 9 columns are missing
                np.testing.assert_allclose(got, expected, rtol=1e-6, equal_nan=True)


def test_inputs_on_a_gdal_virtual_file_system(demo, tmp_path):
    """Inputs given as GDAL virtual paths (/vsis3/... on a cluster; /vsimem/ stands in for object
    storage here) are read by GDAL directly and give the same outputs."""
    import geopandas as gpd
    import rasterio.shutil

    case, threaded = demo
    cfg = yaml.safe_load(case.config_path.read_text())
    cfg.pop("drought", None)  # SO 3 reads its inputs on its own: the SO 1 layers are compared
    inputs = cfg["inputs"]
    root = "/vsimem/ldnkit-test-inputs"
    copied = []
    try:
        for f in case.folder.glob("*.tif"):
            rasterio.shutil.copyfiles(str(f), f"{root}/{f.name}")
            copied.append(f"{root}/{f.name}")
        for name in (inputs["area_of_interest"], inputs["regions"]["path"]):
            gpd.read_file(case.folder / name).to_file(f"{root}/{name}", driver="GPKG")
            copied.append(f"{root}/{name}")
        inputs["productivity"]["path"] = f"{root}/{inputs['productivity']['path']}"
        inputs["land_cover"]["maps"] = {y: f"{root}/{p}" for y, p in inputs["land_cover"]["maps"].items()}
        for key in ("soc", "climate_zones", "regions"):
            inputs[key]["path"] = f"{root}/{inputs[key]['path']}"
        inputs["area_of_interest"] = f"{root}/{inputs['area_of_interest']}"
        cfg["output"] = str(tmp_path / "vsi")
        config = case.folder / "config_vsi.yaml"  # other relative paths still resolve
        config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        result = run(config, quiet=True)
    finally:
        for path in copied:
            rasterio.shutil.delete(path, driver="GPKG" if path.endswith(".gpkg") else "GTiff")
    assert result.summary["inputs"]["productivity"].startswith(root)
    _assert_same_outputs(threaded, result.output, subset=True)
