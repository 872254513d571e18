"""Tests of ldnkit.io.write and ldnkit.io.legend: COGs, their legend and tags, one computation.

Fixtures are tiny rasters written with rasterio in tmp_path; references are numpy / rasterio
computations on the whole array, or hand calculations.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import dask.array as dsa
import numpy as np
import pytest
import rasterio
import rasterio.features
import rasterio.warp
from io_rasters import UTM
from rasterio.transform import from_origin

from ldnkit import codes
from ldnkit.io.grid import Grid
from ldnkit.io.legend import read_legend, read_tags
from ldnkit.io.readers import open_annual_stack
from ldnkit.io.write import write_layer, write_layers


def _cat_layer(shape=(1030, 1030), chunks=256):
    rng = np.random.default_rng(5)
    g = Grid(UTM, from_origin(500000, 20000, 10, 10), shape[1], shape[0])
    vals = rng.choice(np.array([1, 2, 3, 4, 5], "int16"), size=shape)
    vals[:3, :3] = codes.NODATA
    return (
        g,
        vals,
        g.wrap(
            dsa.from_array(vals, chunks=chunks),
            name="lpd",
            attrs={"method": "te_lpd", "alpha": 0.05, "years": [2001, 2015]},
        ),
    )


def test_write_categorical_cog_round_trip(tmp_path):
    g, vals, da = _cat_layer()
    out = write_layer(
        da, tmp_path / "lpd.tif", legend=codes.LPD, description="LPD", tags={"period": "baseline"}
    )
    assert out == tmp_path / "lpd.tif"
    with rasterio.open(out) as src:
        assert src.dtypes[0] == "int16" and src.nodata == codes.NODATA
        assert src.profile["tiled"] and src.profile["blockxsize"] == 512
        assert src.profile["compress"] == "deflate"
        assert src.overviews(1) == [2, 4]
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.descriptions == ("LPD",) and src.crs == UTM
        assert src.transform == g.transform
        np.testing.assert_array_equal(src.read(1), vals)
    assert read_legend(out) == codes.LPD
    tags = read_tags(out)
    assert tags["method"] == "te_lpd" and tags["alpha"] == 0.05 and tags["years"] == [2001, 2015]
    assert tags["period"] == "baseline"
    # RAT sidecar: GDAL field types and usages, one row per code
    root = ET.parse(str(out) + ".aux.xml").getroot()
    rat = root.find("PAMRasterBand/GDALRasterAttributeTable")
    fields = [(f.findtext("Name"), f.findtext("Type"), f.findtext("Usage")) for f in rat.findall("FieldDefn")]
    assert fields == [
        ("Value", "0", "5"),
        ("Class name", "2", "2"),
        ("Red", "0", "6"),
        ("Green", "0", "7"),
        ("Blue", "0", "8"),
        ("Alpha", "0", "9"),
    ]
    rows = [[f.text for f in r.findall("F")] for r in rat.findall("Row")]
    assert [int(r[0]) for r in rows] == list(codes.LPD.codes)
    assert [r[1] for r in rows] == list(codes.LPD.names)
    assert tuple(int(v) for v in rows[0][2:]) == codes.hex_to_rgba(codes.LPD.colours[0])
    # QGIS style sidecar
    qml = ET.parse(out.with_suffix(".qml")).getroot()
    entries = qml.findall(".//rasterrenderer[@type='paletted']/colorPalette/paletteEntry")
    assert [int(e.get("value")) for e in entries] == list(codes.LPD.codes)
    assert entries[4].get("color") == codes.LPD.colours[4].lower()
    # no temporary files left
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "lpd.aux.xml",
        "lpd.qml",
        "lpd.tif",
        "lpd.tif.aux.xml",
    ] or sorted(p.name for p in tmp_path.iterdir()) == ["lpd.qml", "lpd.tif", "lpd.tif.aux.xml"]


def test_write_float_and_nan_to_nodata(tmp_path):
    g = Grid(UTM, from_origin(0, 100, 10, 10), 7, 5)
    vals = np.linspace(-1, 1, 35).reshape(5, 7)
    vals[2, 3] = np.nan
    out = write_layer(g.wrap(vals), tmp_path / "trend.tif")  # numpy-backed, float64
    with rasterio.open(out) as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        np.testing.assert_array_equal(src.read(1), vals.astype("float32"))
    assert read_legend(out) is None and not Path(str(out) + ".aux.xml").exists()
    # a float array of codes written with a legend: NaN becomes NODATA
    codes_f = np.where(np.isnan(vals), np.nan, np.sign(vals))
    out2 = write_layer(g.wrap(codes_f), tmp_path / "deg.tif", legend=codes.DEGRADATION)
    with rasterio.open(out2) as src:
        back = src.read(1)
    assert back.dtype == np.int16 and back[2, 3] == codes.NODATA
    assert set(np.unique(back)) <= {-1, 0, 1, codes.NODATA}
    # uint8 codes with their own nodata (255) become int16 with NODATA
    u8 = g.wrap(np.full(g.shape, 3, "uint8"))
    u8.values[0, 0] = 255
    u8.attrs["nodata"] = 255
    out3 = write_layer(u8, tmp_path / "lc.tif", legend=codes.LAND_COVER)
    with rasterio.open(out3) as src:
        back = src.read(1)
    assert back.dtype == np.int16 and back[0, 0] == codes.NODATA and (back.ravel()[1:] == 3).all()


def test_write_stack_one_band_per_year(tmp_path):
    g = Grid(UTM, from_origin(0, 100, 10, 10), 6, 4)
    data = np.arange(3 * 4 * 6, dtype="float32").reshape(3, 4, 6)
    da = g.wrap(data, dims=("year", "y", "x"), coords={"year": [2001, 2002, 2003]})
    out = write_layer(da, tmp_path / "ndvi.tif")
    with rasterio.open(out) as src:
        assert src.count == 3 and src.descriptions == ("2001", "2002", "2003")
    back = open_annual_stack(out)
    np.testing.assert_array_equal(back.values, data)


def test_write_layers_computes_shared_work_once(tmp_path):
    g = Grid(UTM, from_origin(0, 1000, 10, 10), 40, 30)
    calls = []
    lock = threading.Lock()

    def expensive(block):
        with lock:
            calls.append(block.shape)
        return block * 2.0

    base = dsa.ones(g.shape, chunks=(16, 16), dtype="float32").map_blocks(
        expensive, meta=np.array((), dtype="float32")
    )
    n_blocks = base.npartitions
    a = g.wrap(base + 1, name="a")
    b = g.wrap((base > 1).astype("int16"), name="b")
    write_layers(
        [(a, tmp_path / "a.tif"), (b, tmp_path / "b.tif", {"legend": codes.DEGRADATION})],
        scheduler="threads",
    )
    assert len(calls) == n_blocks  # not 2 * n_blocks
    with rasterio.open(tmp_path / "a.tif") as src:
        np.testing.assert_array_equal(src.read(1), 3.0)
    with rasterio.open(tmp_path / "b.tif") as src:
        np.testing.assert_array_equal(src.read(1), 1)


def test_write_layers_failure_leaves_no_file(tmp_path):
    g = Grid(UTM, from_origin(0, 1000, 10, 10), 20, 20)

    def boom(block):
        raise RuntimeError("kernel failed")

    bad = g.wrap(dsa.ones(g.shape, chunks=10).map_blocks(boom, dtype=float))
    with pytest.raises(RuntimeError, match="kernel failed"):
        write_layers([(g.template(), tmp_path / "ok.tif"), (bad, tmp_path / "bad.tif")])
    assert list(tmp_path.iterdir()) == []


def test_write_layers_with_distributed_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    g, vals, da = _cat_layer(shape=(600, 700), chunks=256)
    cont = g.wrap(da.data.astype("float32") / 2)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        write_layers(
            [(da, tmp_path / "lpd.tif", {"legend": codes.LPD}), (cont, tmp_path / "half.tif")],
            scheduler=client,
        )
    with rasterio.open(tmp_path / "lpd.tif") as src:
        np.testing.assert_array_equal(src.read(1), vals)
    with rasterio.open(tmp_path / "half.tif") as src:
        np.testing.assert_array_equal(src.read(1), vals.astype("float32") / 2)
