"""Tests of ldnkit.io.grid: the pixel grid of arrays and files, overlap checks.

Fixtures are tiny rasters written with rasterio in tmp_path; references are numpy / rasterio
computations on the whole array, or hand calculations.
"""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pytest
import rioxarray
from affine import Affine
from io_rasters import write_tif
from rasterio.crs import CRS
from rasterio.transform import from_origin

from ldnkit.errors import GridError
from ldnkit.io.grid import Grid, check_overlap, grid_of
from ldnkit.io.read import open_layer


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
        p = write_tif(tmp_path / "c.tif", np.zeros((7, 9), "uint8"), transform=t)
        ref = rioxarray.open_rasterio(p)
        x, y = grid_of(p).coords()
        assert np.array_equal(x, ref.x.values) and np.array_equal(y, ref.y.values)


def test_grid_of_file_and_dataarray(tmp_path):
    p = write_tif(tmp_path / "a.tif", np.zeros((3, 4), "float32"))
    g = grid_of(p)
    assert g.shape == (3, 4) and g.transform == from_origin(500000, 1000, 10, 10)
    assert grid_of(open_layer(p)).same_as(g)


def test_non_overlapping_layer_error(tmp_path):
    p = write_tif(tmp_path / "far.tif", np.ones((4, 4), "float32"))  # UTM 33N near x=500 km
    grid = Grid.from_bounds((-75, 40, -74, 41), 0.25, "EPSG:4326")  # New York
    with pytest.raises(GridError, match="does not overlap the target grid"):
        open_layer(p, grid=grid, key="inputs.soc")
    with pytest.raises(GridError):
        check_overlap(grid, grid_of(p), "soc")
    # bounds in another CRS that do overlap: returns the intersection in grid units
    inter = check_overlap(grid, (-74.5, 40.5, -73, 42), "aoi", crs="EPSG:4326")
    assert inter == (-74.5, 40.5, -74.0, 41.0)


def test_dask_config_untouched():
    # the io module must not change global dask settings
    assert dask.config.get("scheduler", None) in (None, "threads", "threaded")
