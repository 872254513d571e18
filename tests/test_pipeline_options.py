"""The pipeline's switches and alternative inputs, each checked against an independent expectation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from ldnkit import codes
from ldnkit.config import parse_config
from ldnkit.run import run


@pytest.fixture(scope="module")
def reference(small_inputs, tmp_path_factory):
    """The default run on the small inputs."""
    cfg = _config(small_inputs, tmp_path_factory.mktemp("ref") / "run")
    return run(parse_config(cfg, base_dir=small_inputs), quiet=True)


def _config(inputs: Path, out: Path) -> dict:
    cfg = yaml.safe_load((inputs / "config.yaml").read_text())
    cfg["output"] = str(out)
    cfg["overwrite"] = False
    cfg.pop("drought", None)  # SO1 switches here; the drought part has tests of its own
    return cfg


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def test_external_lpd_replaces_computed_lpd(small_inputs, reference, tmp_path):
    # an external Trends.Earth-coded LPD layer: a stripe pattern of classes 1..5 and a no-data hole
    with rasterio.open(small_inputs / "soc_2000.tif") as src:
        profile = src.profile | {"dtype": "int16", "nodata": codes.NODATA, "count": 1}
        h, w = src.height, src.width
    ext = (np.arange(w)[None, :] // 20 % 5 + 1).repeat(h, 0).astype("int16")
    ext[:10, :10] = codes.NODATA
    with rasterio.open(tmp_path / "lpd.tif", "w", **profile) as dst:
        dst.write(ext, 1)
    cfg = _config(small_inputs, tmp_path / "run")
    cfg["inputs"]["external_lpd"] = {
        "path": str(tmp_path / "lpd.tif"),
        "legend": "trends_earth",
        "periods": ["2016-2023"],
    }
    res = run(parse_config(cfg, base_dir=small_inputs), quiet=True)
    lpd = _read(res.layers["2016-2023/lpd"])
    inside = _read(reference.layers["2016-2023/lpd"]) != codes.NODATA  # the AOI
    assert np.array_equal(lpd[inside & (ext != codes.NODATA)], ext[inside & (ext != codes.NODATA)])
    assert (lpd[:10, :10] == codes.NODATA).all()
    prod = _read(res.layers["2016-2023/productivity_degradation"])
    lut = codes.LPD_TO_DEGRADATION
    valid = inside & (ext != codes.NODATA)
    assert np.array_equal(prod[valid], np.vectorize(lut.get)(ext[valid]))
    # the other periods are still computed from the vegetation index, unchanged
    for period in ("baseline", "2016-2019"):
        assert np.array_equal(_read(res.layers[f"{period}/lpd"]), _read(reference.layers[f"{period}/lpd"]))
    assert "2016-2023/trajectory" not in res.layers
    summary = json.loads((res.output / "summary.json").read_text())
    assert summary["methods"]["external_lpd"]["legend"] == "trends_earth"


def test_regional_matrix_applies_only_in_its_region(small_inputs, reference, tmp_path):
    cfg = _config(small_inputs, tmp_path / "run")
    zero = [[0] * 7 for _ in range(7)]
    cfg.setdefault("methods", {})["land_cover"] = {"regional_matrices": [{"region": "North", "matrix": zero}]}
    res = run(parse_config(cfg, base_dir=small_inputs), quiet=True)
    import geopandas as gpd
    import rasterio.features

    regions = gpd.read_file(small_inputs / "regions.gpkg")
    with rasterio.open(res.layers["baseline/land_cover_degradation"]) as src:
        north = rasterio.features.geometry_mask(
            regions[regions["name"] == "North"].geometry, src.shape, src.transform, invert=True
        )
        new = src.read(1)
    old = _read(reference.layers["baseline/land_cover_degradation"])
    valid = new != codes.NODATA
    assert (new[north & valid] == 0).all()
    assert (old[north & valid] != 0).any(), "the test needs land-cover change in the North"
    assert np.array_equal(new[~north], old[~north])
    t3 = res.tables["Area of interest"]["SO1-1.T3"]
    assert "North" in t3.to_string()


def test_custom_nesting_file_equals_builtin(small_inputs, reference, tmp_path):
    nesting = {k: list(v) for k, v in codes.ESA_CCI_NESTING.items()}
    (tmp_path / "nesting.yaml").write_text(yaml.safe_dump(nesting))
    cfg = _config(small_inputs, tmp_path / "run")
    cfg["inputs"]["land_cover"]["legend"] = "custom"
    cfg["inputs"]["land_cover"]["nesting"] = str(tmp_path / "nesting.yaml")
    res = run(parse_config(cfg, base_dir=small_inputs), quiet=True)
    for key in ("land_cover/land_cover_2015", "baseline/land_cover_degradation", "2016-2023/sdg"):
        assert np.array_equal(_read(res.layers[key]), _read(reference.layers[key])), key


def test_method_switches_are_applied_and_recorded(small_inputs, reference, tmp_path):
    cfg = _config(small_inputs, tmp_path / "run")
    cfg["methods"] = {
        "lpd": {"table": "gpg_v2"},
        "trajectory": {"method": "z_score", "z_threshold": 1.28},
        "state": {"method": "z_score", "z_denominator": "se"},
        "soc": {"threshold": 5.0, "inclusive": False},
    }
    res = run(parse_config(cfg, base_dir=small_inputs), quiet=True)
    lpd = _read(res.layers["2016-2023/lpd"])
    assert set(np.unique(lpd)) <= {1, 4, 5, codes.NODATA}  # GPG tables have three outcomes
    # z_score at 1.28 flags at least as many trajectories as p <= 0.05 (|z| >= 1.96)
    t_new = _read(res.layers["2016-2023/trajectory"])
    t_old = _read(reference.layers["2016-2023/trajectory"])
    assert (t_new != 0).sum() >= (t_old != 0).sum()
    assert np.all(t_new[t_old == 1] == 1) and np.all(t_new[t_old == -1] == -1)
    # a 5 % SOC threshold (strict) flags at least as much as 10 % (inclusive)
    s_new = _read(res.layers["baseline/soc_degradation"])
    s_old = _read(reference.layers["baseline/soc_degradation"])
    assert (s_new == -1).sum() >= (s_old == -1).sum()
    summary = json.loads((res.output / "summary.json").read_text())
    assert summary["methods"]["lpd_table"] == "gpg_v2"
    assert summary["methods"]["trajectory"]["method"] == "z_score"
    assert summary["methods"]["state"]["z_denominator"] == "se"
    assert summary["methods"]["soc"]["inclusive"] is False


def test_folder_of_annual_files_equals_multiband(small_inputs, reference, tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(small_inputs, inputs)
    folder = inputs / "ndvi"
    folder.mkdir()
    with rasterio.open(inputs / "ndvi_2000-2023.tif") as src:
        profile = src.profile | {"count": 1}
        for i, desc in enumerate(src.descriptions, start=1):
            with rasterio.open(folder / f"ndvi_{desc}.tif", "w", **profile) as dst:
                dst.write(src.read(i), 1)
    cfg = _config(inputs, tmp_path / "run")
    cfg["inputs"]["productivity"]["path"] = "ndvi"
    res = run(parse_config(cfg, base_dir=inputs), quiet=True)
    for key in ("baseline/trend_slope", "2016-2023/lpd", "2016-2023/state", "2016-2023/performance"):
        a, b = _read(res.layers[key]), _read(reference.layers[key])
        assert np.array_equal(a, b, equal_nan=np.issubdtype(a.dtype, np.floating)), key


def test_period_confidence_reaches_the_table(small_inputs, tmp_path):
    cfg = _config(small_inputs, tmp_path / "run")
    cfg["periods"]["baseline"]["confidence"] = "high"
    res = run(parse_config(cfg, base_dir=small_inputs), quiet=True)
    t2 = res.tables["Area of interest"]["SO1-4.T2"]
    assert list(t2["Confidence"]) == ["high", "not assessed", "not assessed"]


def test_ecological_units_raster_equal_to_default_units(small_inputs, reference, tmp_path):
    """A units raster built by hand as (land cover class x 100 + climate zone) gives the default result."""
    lut = np.zeros(256, np.int32)
    for cls, esa in codes.ESA_CCI_NESTING.items():
        lut[list(esa)] = cls
    # the default units use the latest land-cover map at or before the performance window's end
    with rasterio.open(small_inputs / "land_cover_2023.tif") as src:
        lc = lut[src.read(1)]
        profile = src.profile | {"dtype": "int32", "nodata": -1, "count": 1}
    with rasterio.open(small_inputs / "climate_zones.tif") as src:
        zone = src.read(1).astype(np.int32)
    units = np.where(lc > 0, lc * 100 + zone, -1).astype(np.int32)
    with rasterio.open(tmp_path / "units.tif", "w", **profile) as dst:
        dst.write(units, 1)
    cfg = _config(small_inputs, tmp_path / "run")
    cfg["inputs"]["ecological_units"] = str(tmp_path / "units.tif")
    cfg["methods"] = {"performance": {"units": "ecological_units"}}
    # only the last period's window ends in 2023; give every period that window's units
    res = run(parse_config(cfg, base_dir=small_inputs), quiet=True)
    for key in ("2016-2023/performance_ratio", "2016-2023/performance", "2016-2023/lpd"):
        a, b = _read(res.layers[key]), _read(reference.layers[key])
        assert np.array_equal(a, b, equal_nan=np.issubdtype(a.dtype, np.floating)), key
