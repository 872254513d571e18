"""read_observations: LandPKS-like field data (CSV / vector points) and its bad inputs."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from ldnkit.errors import InputError
from ldnkit.io.observations import capability_class, read_observations, slope_percent
from ldnkit.labels import roman_to_int

LANDPKS_CSV = """\
name,Latitude,Longitude,slope,texture_0_1,texture_1_10,texture_10_20,texture_20_50,texture_50_70,texture_70_100,texture_100_120,land_capability_class
site A,-0.70,36.50,10-15%,LOAM,LOAM,CLAY LOAM,CLAY,,,,III
site B,-0.71,36.52,0-2%,SANDY LOAM,SANDY LOAM,SANDY LOAM,SANDY CLAY LOAM,SANDY CLAY LOAM,CLAY,CLAY,i
site C,-0.72,36.54,>60%,SILT,,,,,,,Class VII
site D,-0.73,36.56,hilly,,,,,,,,2
site E,-0.74,36.58,7.5,,CLAY,,CLAY,,,,
"""


def write(tmp_path, text: str, name: str = "sites.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_landpks_csv_fields(tmp_path):
    gdf = read_observations(write(tmp_path, LANDPKS_CSV))
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf["id"]) == [1, 2, 3, 4, 5]
    assert gdf.geometry.x.tolist() == [36.50, 36.52, 36.54, 36.56, 36.58]
    assert gdf.geometry.y.tolist() == [-0.70, -0.71, -0.72, -0.73, -0.74]
    # slope classes: midpoint of a range, lower bound of the open class, LandPKS "hilly" = 15-30 %
    assert gdf["slope"].tolist() == [12.5, 1.0, 60.0, 22.5, 7.5]
    # soil depth: bottom of the deepest layer with a texture (site E: 20-50 cm, a gap above it)
    d = gdf["soil_depth_cm"].tolist()
    assert d[:3] == [50.0, 120.0, 1.0] and math.isnan(d[3]) and d[4] == 50.0
    assert gdf["topsoil_texture"].tolist() == ["LOAM", "SANDY LOAM", "SILT", None, "CLAY"]
    assert gdf["land_capability_class"].tolist()[:4] == [3, 1, 7, 2]
    assert gdf["land_capability_class"].isna().tolist() == [False] * 4 + [True]
    assert str(gdf["land_capability_class"].dtype) == "Int16"


def test_projected_xy_csv_and_geojson(tmp_path):
    p = write(tmp_path, "id,easting,northing,lcc\nk1,500000,9900000,IV\nk2,510000,9910000,8\n")
    gdf = read_observations(p, x="easting", y="northing", crs="EPSG:32737")
    assert gdf.crs.to_epsg() == 32737 and list(gdf["id"]) == ["k1", "k2"]
    assert gdf["land_capability_class"].tolist() == [4, 8]
    pts = gpd.GeoDataFrame({"slope": ["5-10%", "30-60%"]}, geometry=[Point(1, 2), Point(3, 4)], crs=4326)
    gj = tmp_path / "sites.geojson"
    pts.to_file(gj, driver="GeoJSON")
    g2 = read_observations(gj)
    assert g2["slope"].tolist() == [7.5, 45.0] and g2.geometry.x.tolist() == [1, 3]


def test_parsers():
    assert roman_to_int("iv") == 4 and roman_to_int("IIII") is None and roman_to_int("A") is None
    assert capability_class("VIII", "f", "c") == 8 and capability_class(3.0, "f", "c") == 3
    assert capability_class("", "f", "c") is None
    assert slope_percent("<2%", "f") == 1.0 and slope_percent("60+", "f") == 60.0
    assert slope_percent("2 – 5 %", "f") == 3.5 and math.isnan(slope_percent(np.nan, "f"))


BAD = [
    ("name,lat\na,1\n", "'lon'"),  # no longitude column
    ("lon,lat\n36.5,abc\n", "column 'lat', row 1"),  # non-numeric coordinate
    ("lon,lat\n36.5,\n", "column 'lat', row 1"),  # missing coordinate
    ("lon,lat,slope\n36.5,-1,10-15%\n36.6,-1,very flat\n", "column 'slope', row 2"),
    ("lon,lat,land_capability_class\n36.5,-1,IX\n", "column 'land_capability_class', row 1"),
    ("lon,lat,lcc\n36.5,-1,0\n", "column 'lcc', row 1"),
    ("lon,lat,texture_10_5\n36.5,-1,LOAM\n", "column 'texture_10_5'"),
    ("lon,lat\n36.5,95\n", "beyond"),
]


@pytest.mark.parametrize(("text", "needle"), BAD)
def test_bad_csv(tmp_path, text, needle):
    p = write(tmp_path, text, "bad_sites.csv")
    with pytest.raises(InputError) as e:
        read_observations(p)
    msg = str(e.value)
    assert "bad_sites.csv" in msg and needle in msg, msg
    assert len(msg.splitlines()) == 1


def test_bad_vector_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_observations(tmp_path / "missing.csv")
    poly = gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    pg = tmp_path / "polys.gpkg"
    poly.to_file(pg)
    with pytest.raises(InputError, match=r"polys\.gpkg.*not points"):
        read_observations(pg)
    junk = write(tmp_path, "not a vector", "junk.gpkg")
    with pytest.raises(InputError, match="junk.gpkg"):
        read_observations(junk)
