"""Tests of ldnkit.io.warp: aligning files and DataArrays to a grid, block by block.

Fixtures are tiny rasters written with rasterio in tmp_path; references are numpy / rasterio
computations on the whole array, or hand calculations.
"""

from __future__ import annotations

import warnings

import dask.array as dsa
import numpy as np
import pytest
import rasterio
import rasterio.features
import rasterio.warp
from io_rasters import UTM, write_tif
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from ldnkit.io.grid import Grid, grid_of
from ldnkit.io.read import open_layer
from ldnkit.io.warp import _kernel_scale, align


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
    pf = write_tif(tmp_path / "fine.tif", fine, transform=t10, nodata=np.nan)
    pc = write_tif(tmp_path / "coarse.tif", coarse_codes, transform=t20, nodata=255)
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
