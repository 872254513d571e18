"""Writing the demo's inputs as ordinary files (tiled GeoTIFF, CF NetCDF-4, GeoPackage), byte for
byte the same from run to run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from shapely.geometry.base import BaseGeometry

from ldnkit.demo.grid import CRS


def write_tif(
    path: Path,
    data: np.ndarray,
    transform: Affine,
    nodata: float | int,
    descriptions: list[str] | None = None,
) -> None:
    """``data`` ((band,) y, x) -> a tiled, DEFLATE-compressed GeoTIFF in EPSG:4326 with band
    ``descriptions``."""
    data = data if data.ndim == 3 else data[None]
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": CRS,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 128,
        "blockysize": 128,
        "compress": "deflate",
        "predictor": 3 if data.dtype.kind == "f" else 2,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)


def write_precipitation(path: Path, data: np.ndarray, transform: Affine, years: Sequence[int]) -> None:
    """Monthly rainfall ``(month, y, x)`` north-up, 12 months of each of ``years`` -> a CF NetCDF-4
    file (as a CHIRPS download).

    Latitude is stored ascending (south to north) like most NetCDF products; the CRS is a CF grid
    mapping variable ``spatial_ref``. No timestamps are written, so the file is byte-identical
    from run to run.
    """
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    import xarray as xr

    t, rows, cols = data.shape
    lon = transform.c + (np.arange(cols) + 0.5) * transform.a
    lat = transform.f + (np.arange(rows) + 0.5) * transform.e
    months = [f"{y}-{mo:02d}-01" for y in years for mo in range(1, 13)]
    ds = xr.Dataset(
        {"precip": (("time", "lat", "lon"), data[:, ::-1])},
        coords={"time": np.array(months, "datetime64[ns]"), "lat": lat[::-1], "lon": lon},
    )
    ds["precip"].attrs = {"long_name": "monthly precipitation total", "units": "mm"}
    ds["lat"].attrs = {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}
    ds["lon"].attrs = {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}
    ds["time"].attrs = {"standard_name": "time", "axis": "T"}
    ds.attrs = {
        "title": "ldnkit demo: synthetic monthly precipitation with planted droughts",
        "source": "ldnkit.demo.build_demo_inputs (synthetic, not observations)",
        "Conventions": "CF-1.8",
    }
    ds = ds.rio.write_crs(CRS)
    ds["precip"].attrs["grid_mapping"] = "spatial_ref"  # rioxarray only links x/y-named dims
    side = min(rows, 64)
    encoding = {
        "precip": {
            "dtype": "float32",
            "zlib": True,
            "complevel": 4,
            "shuffle": True,
            "chunksizes": (t, side, side),  # whole series per block, as SPI reads it
            "_FillValue": np.float32(np.nan),
        },
        "time": {"units": "days since 1981-01-01", "calendar": "standard", "dtype": "int32"},
        "lat": {"_FillValue": None},
        "lon": {"_FillValue": None},
    }
    if path.exists():
        path.unlink()
    ds.to_netcdf(path, encoding=encoding, engine="netcdf4", format="NETCDF4")


def write_gpkg(
    path: Path,
    names: list[str],
    geoms: list[BaseGeometry],
    layer: str,
    columns: dict[str, list] | None = None,
) -> None:
    """Features (field ``name`` plus ``columns``) in EPSG:4326 -> a GeoPackage layer ``layer``."""
    import geopandas as gpd
    import pyogrio

    # A fixed gpkg_contents timestamp keeps the file identical from run to run.
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2026-01-01T00:00:00.000Z"})
    try:
        if path.exists():
            path.unlink()
        gdf = gpd.GeoDataFrame({"name": names, **(columns or {})}, geometry=geoms, crs=CRS)
        gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
