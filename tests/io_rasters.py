"""Tiny GeoTIFF fixtures for the io tests, written with rasterio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

UTM = CRS.from_epsg(32633)


def write_tif(path, data, *, transform=None, crs=UTM, nodata=None, descriptions=None, **kw):
    """Write ``data`` ((y, x) or (band, y, x)) as a GeoTIFF with 10 m pixels from (500000, 1000)."""
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
