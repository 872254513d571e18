"""Tests of ldnkit.io.read and ldnkit.io.readers: lazy opening and its errors, the table of
readers, annual stacks from multi-band GeoTIFFs, folders, NetCDF and Zarr.

Fixtures are tiny rasters written with rasterio in tmp_path; references are numpy / rasterio
computations on the whole array, or hand calculations.
"""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.features
import rasterio.warp
import xarray as xr
from affine import Affine
from io_rasters import UTM, write_tif
from rasterio.crs import CRS
from rasterio.transform import from_origin

from ldnkit.errors import ConfigError, GridError, InputError, PeriodError
from ldnkit.io import readers
from ldnkit.io.grid import Grid, grid_of
from ldnkit.io.read import open_layer
from ldnkit.io.readers import band_years, format_of, open_annual_stack, open_cf_dataset, reader_for

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BUFFALO = SHARED / "buffalo_ny_modis"


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found") as e:
        open_layer(tmp_path / "nope.tif", key="inputs.soc.path")
    assert "inputs.soc.path" in str(e.value) and "\n" not in str(e.value)


def test_unreadable_file(tmp_path):
    p = tmp_path / "junk.tif"
    p.write_text("this is not a raster")
    with pytest.raises(InputError, match="cannot be read as a raster"):
        open_layer(p)


def test_truncated_geotiff_is_detected(tmp_path):
    rng = np.random.default_rng(0)
    p = write_tif(tmp_path / "full.tif", rng.random((2, 300, 300)).astype("float32"), compress="deflate")
    cut = tmp_path / "cut.tif"
    raw = p.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="truncated or corrupt") as e:
        open_layer(cut)
    assert str(cut) in str(e.value) and "\n" not in str(e.value)


def test_no_crs_error(tmp_path):
    p = tmp_path / "nocrs.tif"
    with rasterio.open(
        p,
        "w",
        driver="GTiff",
        width=3,
        height=3,
        count=1,
        dtype="uint8",
        transform=from_origin(0, 3, 1, 1),
    ) as dst:
        dst.write(np.ones((1, 3, 3), "uint8"))
    with pytest.raises(InputError, match="has no coordinate reference system") as e:
        open_layer(p)
    assert f"gdal_edit.py -a_srs EPSG:4326 {p}" in str(e.value)


def test_open_layer_lazy_masked_and_scaled(tmp_path):
    raw = np.arange(20, dtype="int16").reshape(4, 5)
    raw[1, 2] = -9999
    p = write_tif(tmp_path / "ndvi.tif", raw, nodata=-9999)
    with rasterio.open(p, "r+") as dst:
        dst.scales, dst.offsets = (0.5,), (1.0,)
    da = open_layer(p, chunks=2, masked=True)
    assert isinstance(da.data, dsa.Array) and da.dtype == np.float32 and da.dims == ("y", "x")
    assert da.chunks == ((2, 2), (2, 2, 1))
    expected = raw * 0.5 + 1.0
    expected = np.where(raw == -9999, np.nan, expected)
    np.testing.assert_array_equal(da.values, expected.astype("float32"))
    cat = open_layer(p)  # stored codes
    assert cat.dtype == np.int16 and cat.attrs["nodata"] == -9999 and cat.rio.nodata == -9999
    np.testing.assert_array_equal(cat.values, raw)
    json.dumps(cat.attrs)  # attrs stay JSON-serialisable


def test_open_layer_bands(tmp_path):
    data = np.stack([np.full((3, 3), i, "float32") for i in range(1, 4)])
    p = write_tif(tmp_path / "m.tif", data)
    da = open_layer(p)
    assert da.dims == ("band", "y", "x") and list(da.band.values) == [1, 2, 3]
    assert float(open_layer(p, band=2).max()) == 2.0
    with pytest.raises(InputError, match="no band 4"):
        open_layer(p, band=4)


def test_format_of_each_reader(tmp_path):
    folder = tmp_path / "ndvi"
    folder.mkdir()
    store = tmp_path / "ndvi.zarr"
    store.mkdir()  # a Zarr store is a folder: the suffix wins over the folder reader
    cases = {
        "a.nc": "netcdf",
        "a.NC4": "netcdf",
        "a.netcdf": "netcdf",
        str(store): "zarr",
        str(folder): "folder",
        "a.tif": "geotiff",
        "a.TIFF": "geotiff",
        "a.vrt": "vrt",
        "a.img": "gdal",
        "/vsis3/bucket/ndvi.tif": "geotiff",
    }
    for path, name in cases.items():
        assert format_of(path) == name, path
        assert reader_for(Path(path)).name == name
    names = [r.name for r in readers.READERS]
    assert len(set(names)) == len(names) and names[-1] == "gdal"


def test_stack_opens_through_the_table_of_readers(tmp_path, monkeypatch):
    # a new input format is one new entry in the table
    g = Grid(UTM, from_origin(500000, 1000, 10, 10), 4, 3)
    calls = []

    def open_fake(path, where, request):
        calls.append((path.name, where, request.key))
        request.attrs["source_kind"] = "fake"
        data = np.arange(24, dtype="float32").reshape(2, 3, 4)
        return g.wrap(data, dims=("year", "y", "x"), coords={"year": [2001, 2002]})

    fake = readers.Reader("fake", "test format", lambda p: p.suffix == ".fake", open_fake)
    monkeypatch.setattr(readers, "READERS", (fake, *readers.READERS))
    src = tmp_path / "x.fake"
    src.write_text("")
    s = open_annual_stack(src, key="inputs.productivity", scale=2.0)
    assert calls == [("x.fake", f"inputs.productivity ({src})", "inputs.productivity")]
    assert s.attrs["source_kind"] == "fake" and s.attrs["years"] == [2001, 2002]
    assert float(s.sum()) == float(np.arange(24).sum())  # scaling is the reader's job
    assert format_of(src) == "fake"


def test_open_cf_dataset_unreadable(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    with pytest.raises(InputError, match="cannot be read as NetCDF/Zarr"):
        open_cf_dataset(bad, "drought.precipitation")


def test_stack_multiband_with_year_descriptions(tmp_path):
    data = np.stack([np.full((3, 4), 1000 * i, "int16") for i in range(1, 4)])
    data[1, 0, 0] = -32768
    p = write_tif(
        tmp_path / "ndvi.tif",
        data,
        nodata=-32768,
        descriptions=["NDVI_2003", "NDVI_2001", "NDVI_2002"],
    )
    s = open_annual_stack(p, scale=1e-4)
    assert s.dims == ("year", "y", "x") and s.dtype == np.float32
    assert list(s.year.values) == [2001, 2002, 2003]  # sorted by year
    assert s.year.dtype.kind == "i" and s.rio.crs == UTM
    np.testing.assert_allclose(s.sel(year=2003).values, 0.1)
    np.testing.assert_allclose(s.sel(year=2001).values[0, 1:], 0.2)
    assert np.isnan(s.sel(year=2001).values[0, 0])
    assert s.attrs["years_from"] == "band descriptions" and s.attrs["scale"] == 1e-4
    json.dumps(s.attrs)
    sub = open_annual_stack(p, years=[2002, 2003])
    assert list(sub.year.values) == [2002, 2003]
    with pytest.raises(PeriodError, match="2004"):
        open_annual_stack(p, years=[2003, 2004])


def test_band_years(tmp_path):
    data = np.zeros((2, 2, 2), "uint8")
    p = write_tif(tmp_path / "lc.tif", data, descriptions=["LC 2000", "LC 2015 (v2.1)"])
    assert band_years(p) == [2000, 2015] and band_years(p, [1, 2]) == [2000, 2015]
    q = write_tif(tmp_path / "lc2.tif", data)
    assert band_years(q, [2001, 2019]) == [2001, 2019]
    with pytest.raises(InputError, match="inputs.land_cover"):
        band_years(q, key="inputs.land_cover")


def test_stack_multiband_years_argument(tmp_path):
    data = np.stack([np.full((2, 2), i, "float32") for i in range(3)])
    p = write_tif(tmp_path / "x.tif", data)
    s = open_annual_stack(p, years=[2010, 2011, 2012])
    assert list(s.year.values) == [2010, 2011, 2012]
    np.testing.assert_array_equal(s.values[:, 0, 0], [0, 1, 2])
    with pytest.raises(InputError, match="do not give one distinct year"):
        open_annual_stack(p)
    with pytest.raises(InputError, match="3 band"):
        open_annual_stack(p, years=[2010, 2011])


def test_stack_folder_of_years(tmp_path):
    folder = tmp_path / "ndvi"
    folder.mkdir()
    for y in (2002, 2000, 2001):
        write_tif(folder / f"mod13_ndvi_{y}_250m.tif", np.full((3, 3), y - 2000, "int16"), nodata=-1)
    s = open_annual_stack(folder, chunks=2)
    assert list(s.year.values) == [2000, 2001, 2002]
    np.testing.assert_array_equal(s.values[:, 1, 1], [0, 1, 2])
    assert s.attrs["files"]["2001"] == "mod13_ndvi_2001_250m.tif"
    write_tif(folder / "ndvi_2001_copy.tif", np.zeros((3, 3), "int16"))
    with pytest.raises(InputError, match="2 files for year 2001"):
        open_annual_stack(folder)


def test_stack_folder_on_other_grid_needs_target(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    write_tif(folder / "a_2000.tif", np.ones((4, 4), "float32"))
    write_tif(
        folder / "a_2001.tif",
        np.ones((2, 2), "float32"),
        transform=from_origin(500000, 1000, 20, 20),
    )
    with pytest.raises(GridError, match="different grid"):
        open_annual_stack(folder)
    g = grid_of(folder / "a_2000.tif")
    s = open_annual_stack(folder, grid=g, resampling="nearest")
    assert grid_of(s).same_as(g) and float(s.sum()) == 32.0


def _monthly_netcdf(path, start="2000-01-01", months=30, *, zarr=False):
    """int16 monthly data, scale 0.001, _FillValue -999, 3 x 4 pixels, UTM CRS."""
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 900, size=(months, 3, 4)).astype("int16")
    raw[rng.random(raw.shape) < 0.2] = -999
    raw[:12, 2, 3] = -999  # a pixel with no valid value in the first year
    time = pd.date_range(start, periods=months, freq="MS")
    g = Grid(UTM, from_origin(500000, 1000, 10, 10), 4, 3)
    x, y = g.coords()
    da = xr.DataArray(raw, dims=("time", "y", "x"), coords={"time": time, "y": y, "x": x})
    da.attrs.update(scale_factor=0.001, add_offset=0.0, _FillValue=np.int16(-999))
    ds = da.to_dataset(name="ndvi")
    ds["other"] = (("time", "y", "x"), np.zeros_like(raw))
    ds = ds.rio.write_crs(UTM)
    if zarr:
        ds.to_zarr(path, mode="w", consolidated=False)
    else:
        ds.to_netcdf(path)
    return raw, time


@pytest.mark.parametrize("zarr", [False, True])
def test_stack_netcdf_monthly_to_annual_mean(tmp_path, zarr):
    path = tmp_path / ("ndvi.zarr" if zarr else "ndvi.nc")
    raw, time = _monthly_netcdf(path, zarr=zarr)
    with pytest.raises(ConfigError, match="set `variable`"):
        open_annual_stack(path)
    s = open_annual_stack(path, variable="ndvi")
    # 2002 has only Jan-Jun: incomplete, dropped
    assert list(s.year.values) == [2000, 2001]
    assert s.attrs["years_dropped"] == [2002] and s.attrs["steps_per_year"]["2000"] == 12
    assert s.rio.crs == UTM and grid_of(s).transform == from_origin(500000, 1000, 10, 10)
    vals = np.where(raw == -999, np.nan, raw * 0.001)
    for k, year in enumerate([2000, 2001]):
        sel = vals[time.year == year]
        expected = np.full(sel.shape[1:], np.nan)
        for i in range(3):
            for j in range(4):
                v = sel[:, i, j][~np.isnan(sel[:, i, j])]
                if len(v):
                    expected[i, j] = v.sum() / len(v)
        np.testing.assert_allclose(s.values[k], expected, rtol=1e-6)
    assert np.isnan(s.values[0, 2, 3])
    total = open_annual_stack(path, variable="ndvi", aggregate="sum", complete_years_only=False)
    assert list(total.year.values) == [2000, 2001, 2002]
    np.testing.assert_allclose(
        total.values[2],
        np.nansum(vals[24:], axis=0) + np.where(np.isnan(vals[24:]).all(axis=0), np.nan, 0),
        rtol=1e-6,
    )


def test_stack_netcdf_latlon_annual_axis(tmp_path):
    """Latitude stored south-to-north, no grid mapping, already one value per year."""
    lat = np.array([10.25, 10.75, 11.25])  # ascending
    lon = np.array([20.25, 20.75])
    vals = np.arange(2 * 3 * 2, dtype="float32").reshape(2, 3, 2)
    ds = xr.Dataset(
        {"npp": (("year", "lat", "lon"), vals)},
        coords={"year": [2005, 2006], "lat": lat, "lon": lon},
    )
    path = tmp_path / "npp.nc"
    ds.to_netcdf(path)
    s = open_annual_stack(path)
    assert s.rio.crs == CRS.from_epsg(4326) and "crs_assumed" in s.attrs
    assert s.attrs["aggregate"] == "none (already annual)"
    assert list(s.year.values) == [2005, 2006]
    np.testing.assert_array_equal(s.values, vals[:, ::-1, :])  # north-up
    assert grid_of(s).transform == Affine(0.5, 0, 20.0, 0, -0.5, 11.5)


def test_stack_netcdf_aligned_to_grid(tmp_path):
    path = tmp_path / "ndvi.nc"
    _monthly_netcdf(path, months=24)
    native = open_annual_stack(path, variable="ndvi").compute()
    target = Grid(UTM, from_origin(500000, 1000, 5, 5), 8, 6)  # 2x finer
    lazy = open_annual_stack(path, variable="ndvi", grid=target, resampling="nearest")
    via_tmp = open_annual_stack(path, variable="ndvi", grid=target, resampling="nearest", workdir=tmp_path)
    expected = np.stack([np.kron(v, np.ones((2, 2))) for v in native.values])
    for s in (lazy, via_tmp):
        assert grid_of(s).same_as(target) and list(s.year.values) == [2000, 2001]
        np.testing.assert_allclose(s.values, expected, rtol=1e-6)


@pytest.mark.skipif(not BUFFALO.exists(), reason=f"real data not found at {BUFFALO}")
def test_buffalo_modis_evi_annual_means():
    nc = BUFFALO / "MOD13A2.006_aid0001.nc"
    ref_path = BUFFALO / "evi_annual_mean_2001-2016_derived.tif"
    s = open_annual_stack(nc, variable="_1_km_16_days_EVI", key="inputs.productivity")
    assert list(s.year.values) == list(range(2001, 2017))
    assert s.attrs["years_dropped"] == [2000, 2017]
    with rasterio.open(ref_path) as ref_src:
        ref = ref_src.read()
        assert s.rio.crs == ref_src.crs
        assert grid_of(s).same_as(grid_of(ref_path))
    # pixel-years where every 16-day composite is valid (the reference is NaN elsewhere)
    raw = xr.open_dataset(nc, mask_and_scale=False)["_1_km_16_days_EVI"]
    years = raw.time.dt.year.values
    all_valid = np.stack([(raw.values[years == y] != -3000).all(axis=0) for y in range(2001, 2017)])
    assert all_valid.sum() > 20000
    np.testing.assert_array_equal(~np.isnan(ref), all_valid)
    ours = s.values
    np.testing.assert_allclose(ours[all_valid], ref[all_valid], atol=1e-6)
    # elsewhere we keep NaN-aware means where at least one composite is valid
    assert np.isfinite(ours[~all_valid]).sum() > 0
