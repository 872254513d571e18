"""Tests of ldnkit.io: lazy opening, annual stacks, alignment, COG writing, run folders, vectors.

Fixtures are tiny rasters written with rasterio in tmp_path; references are numpy / rasterio
computations on the whole array, or hand calculations.
"""

from __future__ import annotations

import json
import threading
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import dask
import dask.array as dsa
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.features
import rasterio.warp
import rioxarray
import shapely
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from ldnkit import codes
from ldnkit.errors import ConfigError, GridError, InputError, PeriodError
from ldnkit.io.grid import Grid, check_overlap, grid_of
from ldnkit.io.legend import read_legend, read_tags
from ldnkit.io.read import open_layer
from ldnkit.io.readers import band_years, open_annual_stack
from ldnkit.io.run_folder import atomic_output_dir
from ldnkit.io.vector import check_aoi_inside, rasterize, read_vector
from ldnkit.io.warp import _kernel_scale, align
from ldnkit.io.write import write_layer, write_layers

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BUFFALO = SHARED / "buffalo_ny_modis"
UTM = CRS.from_epsg(32633)


def _tif(path, data, *, transform=None, crs=UTM, nodata=None, descriptions=None, **kw):
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    profile = dict(
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype,
        crs=crs,
        transform=transform or from_origin(500000, 1000, 10, 10),
        nodata=nodata,
        **kw,
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)
    return Path(path)


# ================================================================================================
# Grid
# ================================================================================================


def test_grid_properties_and_coords():
    g = Grid.from_bounds((3, 1, 98, 49), 10, "EPSG:32633")
    assert g.bounds == (0.0, 0.0, 100.0, 50.0)  # snapped outward to the 10 m lattice
    assert g.shape == (5, 10) and not g.is_geographic
    x, y = g.coords()
    assert x[0] == 5 and x[-1] == 95 and y[0] == 45 and y[-1] == 5
    da = g.template(chunks=4)
    assert isinstance(da.data, dsa.Array) and da.chunks == ((4, 1), (4, 4, 2))
    assert grid_of(da).same_as(g)
    assert Grid(CRS.from_epsg(4326), Affine(0.5, 0, 0, 0, -0.5, 10), 4, 4).is_geographic
    shifted = Grid(g.crs, g.transform @ Affine.translation(0.5, 0), g.width, g.height)
    assert not g.same_as(shifted)


def test_grid_coords_match_rioxarray_bit_for_bit(tmp_path):
    for t in (
        from_origin(1373258.8917883341, 2362894.8542916677, 926.6254330554511, 926.625433055684),
        from_origin(-180, 90, 1 / 12, 1 / 12),
        from_origin(0.1, 0.7, 0.3, 0.3),
    ):
        p = _tif(tmp_path / "c.tif", np.zeros((7, 9), "uint8"), transform=t)
        ref = rioxarray.open_rasterio(p)
        x, y = grid_of(p).coords()
        assert np.array_equal(x, ref.x.values) and np.array_equal(y, ref.y.values)


def test_grid_of_file_and_dataarray(tmp_path):
    p = _tif(tmp_path / "a.tif", np.zeros((3, 4), "float32"))
    g = grid_of(p)
    assert g.shape == (3, 4) and g.transform == from_origin(500000, 1000, 10, 10)
    assert grid_of(open_layer(p)).same_as(g)


# ================================================================================================
# open_layer: errors
# ================================================================================================


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
    p = _tif(tmp_path / "full.tif", rng.random((2, 300, 300)).astype("float32"), compress="deflate")
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


def test_non_overlapping_layer_error(tmp_path):
    p = _tif(tmp_path / "far.tif", np.ones((4, 4), "float32"))  # UTM 33N near x=500 km
    grid = Grid.from_bounds((-75, 40, -74, 41), 0.25, "EPSG:4326")  # New York
    with pytest.raises(GridError, match="does not overlap the target grid"):
        open_layer(p, grid=grid, key="inputs.soc")
    with pytest.raises(GridError):
        check_overlap(grid, grid_of(p), "soc")
    # bounds in another CRS that do overlap: returns the intersection in grid units
    inter = check_overlap(grid, (-74.5, 40.5, -73, 42), "aoi", crs="EPSG:4326")
    assert inter == (-74.5, 40.5, -74.0, 41.0)


# ================================================================================================
# open_layer: values
# ================================================================================================


def test_open_layer_lazy_masked_and_scaled(tmp_path):
    raw = np.arange(20, dtype="int16").reshape(4, 5)
    raw[1, 2] = -9999
    p = _tif(tmp_path / "ndvi.tif", raw, nodata=-9999)
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
    p = _tif(tmp_path / "m.tif", data)
    da = open_layer(p)
    assert da.dims == ("band", "y", "x") and list(da.band.values) == [1, 2, 3]
    assert float(open_layer(p, band=2).max()) == 2.0
    with pytest.raises(InputError, match="no band 4"):
        open_layer(p, band=4)


# ================================================================================================
# Alignment
# ================================================================================================


@pytest.fixture
def fine_and_coarse(tmp_path):
    """A 10 m continuous layer (with gaps) and a 20 m categorical layer over the same extent."""
    rng = np.random.default_rng(42)
    fine = rng.random((8, 12)).astype("float32")
    fine[0, 0] = fine[3, 5] = np.nan
    fine[4:6, 6:8] = np.nan  # one whole coarse pixel missing
    coarse_codes = rng.integers(1, 8, size=(4, 6)).astype("uint8")
    coarse_codes[0, 1] = 255
    t10 = from_origin(500000, 1000, 10, 10)
    t20 = from_origin(500000, 1000, 20, 20)
    pf = _tif(tmp_path / "fine.tif", fine, transform=t10, nodata=np.nan)
    pc = _tif(tmp_path / "coarse.tif", coarse_codes, transform=t20, nodata=255)
    return pf, pc, fine, coarse_codes, Grid(UTM, t10, 12, 8), Grid(UTM, t20, 6, 4)


def _block_nanmean(a, k):
    h, w = a.shape
    blocks = a.reshape(h // k, k, w // k, k).transpose(0, 2, 1, 3).reshape(h // k, w // k, k * k)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        return np.nanmean(blocks, axis=-1)


def test_align_files_via_vrt(fine_and_coarse):
    pf, pc, fine, coarse_codes, g10, g20 = fine_and_coarse
    # categorical, 2x finer target, nearest: each coarse pixel becomes a 2x2 block
    cat = open_layer(pc, grid=g10, resampling="nearest", chunks=4)
    assert grid_of(cat).same_as(g10) and cat.attrs["nodata"] == 255
    np.testing.assert_array_equal(cat.values, np.kron(coarse_codes, np.ones((2, 2), "uint8")))
    # continuous to the 2x coarser grid, average: the NaN-aware block mean
    cont = open_layer(pf, grid=g20, resampling="average", chunks=3, masked=True)
    assert cont.dtype == np.float32 and grid_of(cont).same_as(g20)
    np.testing.assert_allclose(cont.values, _block_nanmean(fine, 2), rtol=1e-6)


@pytest.mark.parametrize("lazy", [True, False])
def test_align_dataarrays_blockwise(fine_and_coarse, lazy):
    pf, pc, fine, coarse_codes, g10, g20 = fine_and_coarse
    cont = open_layer(pf, chunks=3, masked=True)
    cat = open_layer(pc, chunks=3)
    if not lazy:
        cont, cat = cont.compute(), cat.compute()
    up = align(cat, g10, "nearest", chunks=5)
    down = align(cont, g20, "average", chunks=4)
    assert isinstance(up.data, dsa.Array) == lazy
    np.testing.assert_array_equal(up.values, np.kron(coarse_codes, np.ones((2, 2), "uint8")))
    np.testing.assert_allclose(down.values, _block_nanmean(fine, 2), rtol=1e-6)
    assert down.attrs["resampling"] == "average" and up.attrs["nodata"] == 255


def test_align_via_temporary_file(fine_and_coarse, tmp_path):
    pf, pc, fine, coarse_codes, g10, g20 = fine_and_coarse
    work = tmp_path / "scratch"
    up = align(open_layer(pc, chunks=3), g10, "nearest", workdir=work)
    down = align(open_layer(pf, chunks=3, masked=True), g20, "average", workdir=work)
    assert up.attrs["aligned_via"] == "temporary GeoTIFF + WarpedVRT" and len(list(work.iterdir())) == 2
    np.testing.assert_array_equal(up.values, np.kron(coarse_codes, np.ones((2, 2), "uint8")))
    assert up.rio.nodata == 255
    np.testing.assert_allclose(down.values, _block_nanmean(fine, 2), rtol=1e-6)


def test_align_reprojection_blockwise_equals_whole_warp():
    """Block-wise warping (many small blocks) equals one rasterio warp of the whole array."""
    rng = np.random.default_rng(1)
    src = rng.random((60, 80)).astype("float32")
    src[10:20, 10:30] = np.nan
    src_grid = Grid(UTM, from_origin(500000, 4_500_000, 100, 100), 80, 60)
    da = src_grid.wrap(dsa.from_array(src, chunks=(17, 23)))
    dst = Grid.from_bounds((14.99, 40.61, 15.07, 40.65), 0.0015, "EPSG:4326")

    def whole(method, **extra):
        ref = np.full(dst.shape, np.nan, "float32")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            rasterio.warp.reproject(
                src,
                ref,
                src_transform=src_grid.transform,
                src_crs=src_grid.crs,
                src_nodata=np.nan,
                dst_transform=dst.transform,
                dst_crs=dst.crs,
                dst_nodata=np.nan,
                resampling=Resampling[method],
                **extra,
            )
        assert np.isfinite(ref).sum() > 100
        return ref

    out = align(da, dst, "nearest", chunks=7)
    np.testing.assert_array_equal(out.values, whole("nearest"))
    # Average and bilinear footprints are computed by GDAL per warp chunk (approximate
    # transformer, kernel scale), so block-wise results may differ very slightly from one warp
    out = align(da, dst, "average", chunks=7)
    ref = whole("average")
    finite = np.isfinite(out.values) & np.isfinite(ref)
    assert finite.sum() > 0.97 * np.isfinite(ref).sum()
    np.testing.assert_allclose(out.values[finite], ref[finite], atol=1e-2)
    out = align(da, dst, "bilinear", chunks=7)
    extras = _kernel_scale(src_grid, dst)  # align fixes the kernel scale from the whole grids
    # 0.0015 deg at 40.63 N is ~126.8 m east-west and ~166.6 m north-south
    assert float(extras["XSCALE"]) == pytest.approx(100 / 126.8, rel=0.02)
    assert float(extras["YSCALE"]) == pytest.approx(100 / 166.6, rel=0.02)
    ref = whole("bilinear", **extras)
    finite = np.isfinite(out.values) & np.isfinite(ref)
    assert finite.sum() > 0.9 * np.isfinite(ref).sum()
    np.testing.assert_allclose(out.values[finite], ref[finite], atol=1e-2)


def test_align_3d_stack_keeps_years(fine_and_coarse):
    pf, pc, fine, coarse_codes, g10, g20 = fine_and_coarse
    da = g10.wrap(
        dsa.from_array(np.stack([fine, fine * 2]), chunks=(2, 4, 4)),
        dims=("year", "y", "x"),
        coords={"year": [2001, 2002]},
    )
    out = align(da, g20, "average", chunks=4)
    assert out.dims == ("year", "y", "x") and list(out.year.values) == [2001, 2002]
    np.testing.assert_allclose(out.values[1], 2 * _block_nanmean(fine, 2), rtol=1e-6)


# ================================================================================================
# Annual stacks
# ================================================================================================


def test_stack_multiband_with_year_descriptions(tmp_path):
    data = np.stack([np.full((3, 4), 1000 * i, "int16") for i in range(1, 4)])
    data[1, 0, 0] = -32768
    p = _tif(
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
    p = _tif(tmp_path / "lc.tif", data, descriptions=["LC 2000", "LC 2015 (v2.1)"])
    assert band_years(p) == [2000, 2015] and band_years(p, [1, 2]) == [2000, 2015]
    q = _tif(tmp_path / "lc2.tif", data)
    assert band_years(q, [2001, 2019]) == [2001, 2019]
    with pytest.raises(InputError, match="inputs.land_cover"):
        band_years(q, key="inputs.land_cover")


def test_stack_multiband_years_argument(tmp_path):
    data = np.stack([np.full((2, 2), i, "float32") for i in range(3)])
    p = _tif(tmp_path / "x.tif", data)
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
        _tif(folder / f"mod13_ndvi_{y}_250m.tif", np.full((3, 3), y - 2000, "int16"), nodata=-1)
    s = open_annual_stack(folder, chunks=2)
    assert list(s.year.values) == [2000, 2001, 2002]
    np.testing.assert_array_equal(s.values[:, 1, 1], [0, 1, 2])
    assert s.attrs["files"]["2001"] == "mod13_ndvi_2001_250m.tif"
    _tif(folder / "ndvi_2001_copy.tif", np.zeros((3, 3), "int16"))
    with pytest.raises(InputError, match="2 files for year 2001"):
        open_annual_stack(folder)


def test_stack_folder_on_other_grid_needs_target(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    _tif(folder / "a_2000.tif", np.ones((4, 4), "float32"))
    _tif(
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


# ================================================================================================
# Writing
# ================================================================================================


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


# ================================================================================================
# Run folder
# ================================================================================================


def test_atomic_output_dir(tmp_path):
    out = tmp_path / "run"
    with atomic_output_dir(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".run.partial-")
        (tmp / "a.txt").write_text("1")
    assert (out / "a.txt").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    # exists, no overwrite: refused before anything is written
    with pytest.raises(ConfigError, match="already exists"), atomic_output_dir(out):
        pass
    # overwrite but the run fails: old folder intact, nothing else left behind
    with pytest.raises(ValueError), atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
        raise ValueError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    # overwrite and success: replaced
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "c.txt").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_atomic_output_dir_failure_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_output_dir(tmp_path / "new") as tmp:
        (tmp / "x").write_text("x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


# ================================================================================================
# Vectors
# ================================================================================================


@pytest.fixture
def polygons():
    return gpd.GeoDataFrame(
        {"zone": [3, 7, 9]},
        geometry=[
            shapely.Polygon([(500003, 999), (500401, 640), (500150, 520), (500020, 700)]),
            shapely.Point(500300, 800).buffer(90),
            shapely.box(500250, 700, 500330, 900),  # overlaps the circle: later wins
        ],
        crs=UTM,
    )


@pytest.mark.parametrize("all_touched", [False, True])
def test_rasterize_lazy_equals_whole_grid(polygons, all_touched):
    grid = Grid(UTM, from_origin(500000, 1000, 7, 7), 70, 66)
    out = rasterize(polygons, grid, values="zone", fill=-1, all_touched=all_touched, chunks=9)
    assert isinstance(out.data, dsa.Array) and out.chunks[0][0] == 9 and out.dtype == np.int16
    ref = rasterio.features.rasterize(
        zip(polygons.geometry, polygons.zone, strict=True),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=-1,
        all_touched=all_touched,
        dtype="int16",
    )
    np.testing.assert_array_equal(out.values, ref)
    assert set(np.unique(ref)) == {-1, 3, 7, 9}
    mask = rasterize(polygons.to_crs(4326), grid, chunks=16)  # reprojected to the grid CRS
    assert set(np.unique(mask.values)) == {0, 1}
    assert grid_of(mask).same_as(grid)


def test_read_vector_repairs_and_errors(tmp_path, polygons):
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[bowtie, shapely.box(5, 5, 6, 6)], crs="EPSG:4326")
    p = tmp_path / "aoi.gpkg"
    gdf.to_file(p)
    back = read_vector(p)
    assert back.attrs["repaired"] == 1 and back.geometry.is_valid.all()
    assert back.geometry.iloc[0].geom_type in ("Polygon", "MultiPolygon")
    assert back.geometry.iloc[0].area == pytest.approx(2.0)
    with pytest.raises(InputError, match="file not found"):
        read_vector(tmp_path / "none.gpkg")
    junk = tmp_path / "junk.geojson"
    junk.write_text("{not json")
    with pytest.raises(InputError, match="cannot be read as a vector file"):
        read_vector(junk)
    shp = tmp_path / "nocrs.shp"  # a shapefile without its .prj
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.box(0, 0, 1, 1)]).to_file(shp)
    with pytest.raises(InputError, match="no coordinate reference system"):
        read_vector(shp)
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"id": []}, geometry=[], crs="EPSG:4326").to_file(empty)
    with pytest.raises(InputError, match="no features"):
        read_vector(empty)


def test_check_aoi_inside(polygons):
    assert check_aoi_inside(
        polygons, Grid(UTM, from_origin(500000, 1000, 10, 10), 50, 50), "aoi"
    ) == pytest.approx(1.0)
    grid = Grid(UTM, from_origin(500000, 1000, 10, 10), 20, 20)
    far = polygons.translate(xoff=1e5)
    with pytest.raises(GridError, match="area of interest lies outside the data"):
        check_aoi_inside(far, grid, "inputs.area_of_interest")
    half = gpd.GeoDataFrame(geometry=[shapely.box(500100, 800, 500300, 900)], crs=UTM)
    assert check_aoi_inside(half, grid, "aoi") == pytest.approx(0.5)


def test_dask_config_untouched():
    # the io module must not change global dask settings
    assert dask.config.get("scheduler", None) in (None, "threads", "threaded")
