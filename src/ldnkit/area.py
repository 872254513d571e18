"""Pixel areas in km² (methodology §1.8).

Geographic grids use the exact area of an ellipsoidal row strip (the "authalic slice" of
Trends.Earth ``calc_cell_area``) on the CRS's own ellipsoid; projected grids use the pixel
width × height in the CRS units. Areas are computed per row (a tiny vector) and broadcast
lazily to the shape and chunks of the layer.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pyproj
import xarray as xr

from ldnkit.errors import InputError

__all__ = ["cell_area", "strip_area"]


def _authalic_integral(phi: np.ndarray, b: float, e: float) -> np.ndarray:
    """Integral of the ellipsoid's area element from the equator to latitude ``phi`` (rad),
    per radian of longitude, in the squared units of ``b``."""
    s = np.sin(phi)
    if e < 1e-12:  # a sphere: the formula below divides by e
        return b * b * s
    return (b * b / 2.0) * (
        s / (1.0 - e * e * s * s) + (1.0 / (2.0 * e)) * np.log((1.0 + e * s) / (1.0 - e * s))
    )


def strip_area(
    lat1: np.ndarray, lat2: np.ndarray, dlon: float, a: float = 6378137.0, b: float = 6356752.314245
) -> np.ndarray:
    """Area (m²) between latitudes ``lat1`` and ``lat2`` (degrees) over ``dlon`` degrees of
    longitude on the ellipsoid with semi-axes ``a`` and ``b`` (m). Default WGS84.

    >>> round(float(strip_area(0.0, 1.0, 1.0)) / 1e6, 2)
    12308.46
    """
    e = np.sqrt(max(1.0 - (b * b) / (a * a), 0.0))
    p1 = np.radians(np.clip(np.asarray(lat1, dtype=np.float64), -90.0, 90.0))
    p2 = np.radians(np.clip(np.asarray(lat2, dtype=np.float64), -90.0, 90.0))
    return np.abs(_authalic_integral(p2, b, e) - _authalic_integral(p1, b, e)) * np.radians(abs(dlon))


def _name(layer: xr.DataArray) -> str:
    return str(layer.name) if layer.name is not None else "layer"


def cell_area(layer: xr.DataArray) -> xr.DataArray:
    """Area of every pixel of ``layer``'s grid in km² (public API contract).

    Parameters
    ----------
    layer : any raster on the grid (``(y, x)`` or ``(year, y, x)``) with a CRS (rioxarray).

    Returns
    -------
    float64 DataArray ``(y, x)`` in km², with the layer's x/y/spatial_ref coordinates and, if the
    layer is dask-backed, its spatial chunks. Geographic CRS: exact ellipsoidal area of each cell
    (1°×1° at the equator = 12,308.46 km² on WGS84). Projected CRS: |pixel width × height|
    converted to km² — the grid area, which equals the ground area only in an equal-area
    projection. For numpy-backed layers the result is a read-only broadcast view.

    Raises
    ------
    InputError if the layer has no CRS or a rotated/sheared transform.

    Example
    -------
    >>> km2 = cell_area(lc)
    >>> float(km2.where(deg == -1).sum())   # degraded area in km²
    """
    where = _name(layer)
    crs = layer.rio.crs
    if crs is None:
        raise InputError(where, "the layer has no CRS", "assign one (e.g. EPSG:4326) in the source")
    ydim, xdim = layer.rio.y_dim, layer.rio.x_dim
    transform = layer.rio.transform()
    if transform.b != 0 or transform.d != 0:
        raise InputError(
            where,
            "the grid is rotated or sheared, pixel areas are not supported",
            "warp it to a north-up grid first (e.g. gdalwarp)",
        )
    dx, dy = abs(transform.a), abs(transform.e)
    ny, nx = layer.sizes[ydim], layer.sizes[xdim]
    pcrs = pyproj.CRS.from_user_input(crs.to_wkt())
    unit = pcrs.axis_info[0].unit_conversion_factor if pcrs.axis_info else 1.0

    if pcrs.is_geographic:
        ell = pcrs.ellipsoid
        a, b = ell.semi_major_metre, ell.semi_minor_metre
        # centre latitudes in degrees (unit factor converts e.g. grads to radians)
        deg = unit / np.radians(1.0)
        yc = np.asarray(layer[ydim].values, dtype=np.float64) * deg
        half = dy * deg / 2.0
        row = strip_area(yc - half, yc + half, dx * deg, a, b) / 1e6
        attrs = {
            "method": "ellipsoidal_strip",
            "ellipsoid_a_m": float(a),
            "ellipsoid_b_m": float(b),
        }
    else:
        row = np.full(ny, dx * dy * unit * unit / 1e6, dtype=np.float64)
        attrs = {"method": "projected_pixel", "unit_to_metre": float(unit)}
    attrs.update(units="km2", crs=pcrs.to_string())

    if isinstance(layer.data, da.Array):
        chunks = dict(zip(layer.dims, layer.chunks, strict=True))
        col = da.from_array(row[:, None], chunks=(chunks[ydim], 1))
        data = da.broadcast_to(col, (ny, nx), chunks=(chunks[ydim], chunks[xdim]))
    else:
        data = np.broadcast_to(row[:, None], (ny, nx))
    coords = {k: v for k, v in layer.coords.items() if set(v.dims) <= {ydim, xdim}}
    out = xr.DataArray(data, dims=(ydim, xdim), coords=coords, name="cell_area", attrs=attrs)
    return out
