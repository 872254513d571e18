"""The QGIS project of a run folder (project.qgs): relative paths, styles and groups.

The project XML is parsed with ElementTree and checked against the files on disk: every data
source exists relative to the project, every categorical GeoTIFF has its .qml and the project's
paletted renderer has exactly the classes (value, colour, label) of the legend stored in the
GeoTIFF. (Loading the project in real QGIS is a manual check, see docs/outputs.md.)
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import xarray as xr
from shapely.geometry import box

from ldnkit import codes
from ldnkit.io.legend import read_legend
from ldnkit.io.qgis import write_qgis_project
from ldnkit.io.write import write_layers
from ldnkit.layer_meta import LAYER_TAG, LayerMeta


def _layers(project: Path) -> dict[str, ET.Element]:
    root = ET.parse(project).getroot()
    return {m.findtext("datasource"): m for m in root.iter("maplayer")}


def _groups(project: Path) -> dict[str, tuple[str, ...]]:
    """source -> group path in the layer tree."""
    out: dict[str, tuple[str, ...]] = {}

    def walk(el, path):
        for ch in el:
            if ch.tag == "layer-tree-group":
                walk(ch, (*path, ch.get("name")))
            elif ch.tag == "layer-tree-layer":
                out[ch.get("source")] = path

    walk(ET.parse(project).getroot().find("layer-tree-group"), ())
    return out


def _check_project(run_dir: Path, project: Path) -> dict[str, ET.Element]:
    layers = _layers(project)
    root = ET.parse(project).getroot()
    assert root.tag == "qgis" and root.findtext("properties/Paths/Absolute") == "false"
    ids = [m.findtext("id") for m in root.iter("maplayer")]
    assert len(set(ids)) == len(ids)
    tree = {e.get("id") for e in root.iter("layer-tree-layer")}
    assert tree == set(ids)  # every layer is in the tree, and nothing else
    tifs = sorted(run_dir.glob("layers/**/*.tif"))
    assert {f"./{t.relative_to(run_dir).as_posix()}" for t in tifs} <= set(layers)  # every layer opened
    for src, m in layers.items():
        assert src.startswith("./"), src  # relative to the project
        file = (project.parent / src.split("|")[0]).resolve()
        assert file.is_file(), src
        if m.get("type") != "raster":
            continue
        legend = read_legend(file)
        r = m.find("pipe/rasterrenderer")
        if legend is None:
            assert r.get("type") == "singlebandpseudocolor", src
            lo, hi = float(r.get("classificationMin")), float(r.get("classificationMax"))
            with rasterio.open(file) as f:
                v = f.read(1, masked=True).compressed()
            assert v.min() <= hi and lo <= v.max() and lo < hi, src  # limits inside the data
            continue
        assert file.with_suffix(".qml").is_file(), f"no .qml beside {src}"
        assert r.get("type") == "paletted", src
        entries = [(int(e.get("value")), e.get("color"), e.get("label")) for e in r.iter("paletteEntry")]
        want = [
            (c, col.lower(), f"{c} {n}")
            for c, n, col in zip(legend.codes, legend.names, legend.colours, strict=True)
        ]
        assert entries == want, src
        # ... and the same as the .qml beside it
        qml = ET.parse(file.with_suffix(".qml")).getroot()
        assert [
            (int(e.get("value")), e.get("color"), e.get("label")) for e in qml.iter("paletteEntry")
        ] == want
    return layers


# --- on a small hand-made run folder (fast) ------------------------------------------------------


@pytest.fixture
def mini_run(tmp_path):
    run = tmp_path / "run"
    y = np.arange(10)[::-1] * 0.01 + 0.005
    x = 36 + np.arange(12) * 0.01 + 0.005

    def da(a):
        out = xr.DataArray(a, dims=("y", "x"), coords={"y": y, "x": x})
        return out.rio.write_crs("EPSG:4326")

    rng = np.random.default_rng(0)
    cat = da(rng.integers(-1, 2, (10, 12)).astype(np.int16))
    lpd = da(rng.integers(1, 6, (10, 12)).astype(np.int16))
    soc = da(rng.uniform(20, 80, (10, 12)).astype(np.float32))
    spi = da(rng.normal(0, 1, (10, 12)).astype(np.float32))
    labels = da(rng.integers(0, 4, (10, 12)).astype(np.int32))  # hotspot ids: no legend
    L = run / "layers"
    # each layer with its metadata, as a stage writes it: in the GeoTIFF tag and in summary.json
    layers = [
        (cat, "baseline/sdg", LayerMeta("SDG 15.3.1", "SDG 15.3.1", "sdg", "", codes.DEGRADATION, 0)),
        (cat, "2016-2023/status", LayerMeta("Status", "SDG 15.3.1", "status", "", codes.DEGRADATION, 1)),
        (
            cat,
            "2016-2023/sdg_uncorrected",
            LayerMeta("SDG, uncorrected", "SDG 15.3.1", "u", "", codes.DEGRADATION, 50),
        ),
        (lpd, "2016-2023/lpd", LayerMeta("LPD", "Land productivity", "lpd", "", codes.LPD, 5)),
        (
            soc,
            "soc/soc_2000",
            LayerMeta("SOC stock 2000", "Soil organic carbon", "soc", "t/ha", subgroup="SOC stock (t/ha)"),
        ),
        (
            spi,
            "drought/spi_2001",
            LayerMeta("Annual SPI 2001", "Drought", "spi", "1", subgroup="SPI per year"),
        ),
        (lpd, "neutrality/land_types", LayerMeta("Land types", "Neutrality", "types", "", codes.LPD, 0)),
        (labels, "neutrality/hotspots", LayerMeta("Hotspot ids", "Neutrality", "ids", "id", None, 90)),
    ]
    items, entries = [], {}
    for da_, key, meta in layers:
        if key.startswith(("baseline/", "2016-2023/")):
            meta = meta.replace(subgroup=key.split("/")[0])
        path = L / f"{key}.tif"
        items.append((da_, path, {"legend": meta.legend, "tags": {LAYER_TAG: meta.tag()}}))
        entries[key] = {"path": f"layers/{key}.tif", "attrs": {}} | meta.entry()
    items.append((soc, L / "baseline" / "by_hand.tif"))  # dropped in by hand: no metadata
    write_layers(items)
    aoi = gpd.GeoDataFrame({"name": ["Area of interest"]}, geometry=[box(36, 0, 36.12, 0.1)], crs="EPSG:4326")
    regions = gpd.GeoDataFrame(
        {"name": ["West", "East"]},
        geometry=[box(36, 0, 36.06, 0.1), box(36.06, 0, 36.12, 0.1)],
        crs="EPSG:4326",
    )
    aoi.to_file(run / "boundaries.gpkg", layer="area_of_interest")
    regions.to_file(run / "boundaries.gpkg", layer="regions")
    summary = {
        "title": "mini",
        "grid": {"crs": "EPSG:4326", "width": 12, "height": 10, "transform": [0.01, 0, 36.0, 0, -0.01, 0.1]},
        "periods": [{"name": "baseline"}, {"name": "2016-2023"}],
        "layers": entries,
    }
    return run, summary


def test_project_of_a_small_run(mini_run):
    run, summary = mini_run
    project = write_qgis_project(run, summary)
    assert project == run / "project.qgs"
    layers = _check_project(run, project)
    assert len(layers) == 9 + 2
    g = _groups(project)
    assert g["./layers/baseline/sdg.tif"] == ("SDG 15.3.1", "baseline")
    assert g["./layers/2016-2023/status.tif"] == ("SDG 15.3.1", "2016-2023")
    assert g["./layers/2016-2023/sdg_uncorrected.tif"] == ("SDG 15.3.1", "2016-2023")
    assert g["./layers/2016-2023/lpd.tif"] == ("Land productivity", "2016-2023")
    assert g["./layers/soc/soc_2000.tif"] == ("Soil organic carbon", "SOC stock (t/ha)")
    assert g["./layers/drought/spi_2001.tif"] == ("Drought", "SPI per year")
    assert g["./layers/neutrality/land_types.tif"] == ("Neutrality",)
    assert g["./layers/baseline/by_hand.tif"] == ("Other",)
    assert g["./boundaries.gpkg|layername=regions"] == ("Boundaries",)
    assert g["./boundaries.gpkg|layername=area_of_interest"] == ("Boundaries",)
    # the tree: outlines on top, then the groups in GROUP_ORDER, periods in run order
    tops = list(dict.fromkeys(path for path in g.values()))
    assert tops == [
        ("Boundaries",),
        ("SDG 15.3.1", "baseline"),
        ("SDG 15.3.1", "2016-2023"),
        ("Land productivity", "2016-2023"),
        ("Soil organic carbon", "SOC stock (t/ha)"),
        ("Drought", "SPI per year"),
        ("Neutrality",),
        ("Other",),
    ]
    # names from the titles, with the period for per-period layers; order within a group
    names = {s: m.findtext("layername") for s, m in layers.items()}
    assert names["./layers/2016-2023/status.tif"] == "Status (2016-2023)"
    assert names["./layers/soc/soc_2000.tif"] == "SOC stock 2000"
    assert names["./layers/baseline/by_hand.tif"] == "baseline/by_hand"
    sources = [s for s in layers if "/2016-2023/" in s and "/lpd" not in s]
    assert sources == ["./layers/2016-2023/status.tif", "./layers/2016-2023/sdg_uncorrected.tif"]
    # SPI: a ramp centred on 0
    r = layers["./layers/drought/spi_2001.tif"].find("pipe/rasterrenderer")
    assert float(r.get("classificationMin")) == -float(r.get("classificationMax"))
    # project CRS and extent = the grid
    root = ET.parse(project).getroot()
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:4326"
    ext = [float(root.findtext(f"mapcanvas/extent/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
    assert ext == pytest.approx([36.0, 0.0, 36.12, 0.1])
    # the folder can move: nothing absolute in the file
    assert str(run) not in project.read_text()


def test_project_without_summary_or_boundaries(mini_run):
    run, _ = mini_run
    (run / "boundaries.gpkg").unlink()
    project = write_qgis_project(run)
    layers = _check_project(run, project)
    assert not any("boundaries" in s for s in layers)
    g = _groups(project)  # without summary.json, each file's own metadata tag places it
    assert g["./layers/2016-2023/lpd.tif"] == ("Land productivity", "2016-2023")
    assert g["./layers/neutrality/hotspots.tif"] == ("Neutrality",)
    assert g["./layers/baseline/by_hand.tif"] == ("Other",)
    root = ET.parse(project).getroot()
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:4326"  # from the layers


# --- on the demo run -----------------------------------------------------------------------------


@pytest.mark.slow
def test_project_of_the_demo_run(small_inputs, tmp_path):
    from test_export import run_small_demo

    result = run_small_demo(small_inputs, tmp_path / "run")
    project = write_qgis_project(result.output, result.summary)
    layers = _check_project(result.output, project)
    g = _groups(project)
    tops = list(dict.fromkeys(path[0] for path in g.values()))
    assert {"SDG 15.3.1", "Land cover", "Land productivity", "Soil organic carbon", "Drought"} <= set(tops)
    for p in result.summary["periods"]:
        assert g[f"./layers/{p['name']}/sdg.tif"] == ("SDG 15.3.1", p["name"])
    # every categorical layer of the run (int16, incl. the drought classes) has a legend and a .qml
    for t in result.output.glob("layers/**/*.tif"):
        with rasterio.open(t) as f:
            categorical = f.dtypes[0] == "int16"
        if categorical:
            assert read_legend(t) is not None and t.with_suffix(".qml").is_file(), t
    assert any("/drought/drought_class_" in s for s in layers)
