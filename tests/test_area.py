"""Pixel areas: ellipsoidal strips for geographic grids, pixel size for projected ones."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine

from ldnkit.area import cell_area
from ldnkit.errors import InputError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WGS84_SURFACE_KM2 = 510_065_621.72  # 4·π·R_authalic², R_authalic = 6 371 007.181 m


def globe(res=1.0, chunks=None, extra_year=False) -> xr.DataArray:
    y = np.arange(90 - res / 2, -90, -res)
    x = np.arange(-180 + res / 2, 180, res)
    data = np.zeros((y.size, x.size), dtype=np.int16)
    arr = xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x})
    if extra_year:
        arr = arr.expand_dims(year=[2000, 2001])
    arr = arr.rio.write_crs("EPSG:4326")
    return arr.chunk(chunks) if chunks else arr


def test_one_degree_cell_at_equator():
    area = cell_area(globe())
    assert area.dtype == np.float64
    assert area.dims == ("y", "x")
    assert float(area.sel(y=0.5, x=10.5)) == pytest.approx(12_308.46, abs=0.01)
    assert area.attrs["units"] == "km2"


def test_hemispheres_symmetric_and_rows_constant():
    area = cell_area(globe(0.5)).values
    np.testing.assert_allclose(area, area[::-1], rtol=1e-9)
    np.testing.assert_array_equal(area, np.broadcast_to(area[:, :1], area.shape))
    # areas shrink towards the poles
    half = area[: area.shape[0] // 2, 0]
    assert np.all(np.diff(half) > 0)


def test_total_area_check():
    total = float(cell_area(globe(1.0)).sum())
    assert total == pytest.approx(WGS84_SURFACE_KM2, abs=1.0)


def test_dask_equals_numpy_and_keeps_chunks():
    lazy = cell_area(globe(1.0, chunks={"y": 50, "x": 100}, extra_year=True).chunk({"year": 1}))
    assert isinstance(lazy.data, da.Array)
    assert lazy.chunks == ((50, 50, 50, 30), (100, 100, 100, 60))
    eager = cell_area(globe(1.0))
    np.testing.assert_array_equal(lazy.values, eager.values)
    assert lazy.rio.crs.to_epsg() == 4326


def test_projected_grid_250m():
    x = np.arange(10) * 250.0 + 125.0
    y = 1_000_000.0 - np.arange(8) * 250.0 - 125.0
    arr = xr.DataArray(np.zeros((8, 10)), dims=("y", "x"), coords={"y": y, "x": x})
    area = cell_area(arr.rio.write_crs("EPSG:3857"))
    np.testing.assert_allclose(area.values, 0.0625, rtol=1e-12)
    assert area.attrs["method"] == "projected_pixel"


def test_projected_grid_in_us_feet():
    # EPSG:2263 (NY Long Island, US survey feet): 1000 ft pixels
    x = np.arange(4) * 1000.0
    y = -np.arange(3) * 1000.0
    arr = xr.DataArray(np.zeros((3, 4)), dims=("y", "x"), coords={"y": y, "x": x})
    area = cell_area(arr.rio.write_crs("EPSG:2263"))
    ft = 1200 / 3937  # US survey foot in metres
    np.testing.assert_allclose(area.values, (1000 * ft) ** 2 / 1e6, rtol=1e-9)


def test_rotated_and_missing_crs_are_input_errors():
    arr = xr.DataArray(np.zeros((3, 3)), dims=("y", "x"))
    arr = arr.rio.write_crs("EPSG:4326").rio.write_transform(Affine(1.0, 0.2, 0.0, 0.1, -1.0, 0.0))
    with pytest.raises(InputError, match="rotated"):
        cell_area(arr)
    bare = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords={"y": [1.0, 0.0], "x": [0, 1.0]})
    with pytest.raises(InputError, match="no CRS"):
        cell_area(bare)


@pytest.mark.skipif(not (SHARED / "whrc_soc_global_10km").exists(), reason="../shared/data absent")
def test_real_global_grid_matches_strip_sum():
    path = SHARED / "whrc_soc_global_10km" / "SOCS_0_30cm_year_2010AD_10km.tif"
    layer = rioxarray.open_rasterio(path, chunks={"x": 1024, "y": 1024}).isel(band=0, drop=True)
    area = cell_area(layer)
    assert isinstance(area.data, da.Array)
    # all rows together equal the zone between the grid's edge latitudes (independent formula:
    # a zone of the authalic sphere between the authalic latitudes of the edges)
    top, bottom = float(layer.y.max()), float(layer.y.min())
    res = abs(float(layer.rio.resolution()[1]))
    lat1, lat2 = np.radians(bottom - res / 2), np.radians(top + res / 2)
    a, f = 6378137.0, 1 / 298.257223563
    e = np.sqrt(f * (2 - f))

    def q(phi):
        s = np.sin(phi)
        return (1 - e**2) * (s / (1 - e**2 * s**2) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))

    width = layer.sizes["x"] * abs(float(layer.rio.resolution()[0]))
    expected = a**2 / 2 * (q(lat2) - q(lat1)) * np.radians(width) / 1e6
    assert float(area.sum()) == pytest.approx(expected, rel=1e-9)
