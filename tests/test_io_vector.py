"""Tests of ldnkit.io.vector: reading polygons and rasterizing them lazily.

Fixtures are tiny rasters written with rasterio in tmp_path; references are numpy / rasterio
computations on the whole array, or hand calculations.
"""

from __future__ import annotations

import dask.array as dsa
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
import rasterio.warp
import shapely
from io_rasters import UTM
from rasterio.transform import from_origin

from ldnkit.errors import GridError, InputError
from ldnkit.io.grid import Grid, grid_of
from ldnkit.io.vector import check_aoi_inside, rasterize, read_vector


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
