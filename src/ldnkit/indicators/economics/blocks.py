"""Per-block helpers shared by the economics indicators: code look-ups and lazy element-wise maps."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.errors import GridError

#: Hectares per km² (pixel areas are km², coefficients are per ha).
HA_PER_KM2 = 100.0


def int_codes(block: np.ndarray) -> np.ndarray:
    """A categorical block as int64; NaN or fractional floats become :data:`codes.NODATA`."""
    a = np.asarray(block)
    if a.dtype.kind == "f":
        ok = np.isfinite(a) & (a == np.round(a))
        return np.where(ok, a, codes.NODATA).astype(np.int64)
    return a.astype(np.int64)


def take(lut: np.ndarray, code_block: np.ndarray) -> np.ndarray:
    """``lut[code]`` element-wise (float64); codes outside the table (NODATA ...) give NaN."""
    c = int_codes(code_block)
    ok = (c >= 0) & (c < lut.shape[0])
    out = np.full(c.shape, np.nan)
    out[ok] = lut[c[ok]]
    return out


def elementwise(func: Callable[..., np.ndarray], *arrays: xr.DataArray, **kwargs) -> xr.DataArray:
    """``func`` over aligned 2-D DataArrays block by block (lazy when dask-backed), float64 out."""
    return xr.apply_ufunc(
        func,
        *arrays,
        kwargs=kwargs,
        dask="parallelized",
        output_dtypes=[np.float64],
        keep_attrs="drop_conflicts",
    )


def pixel_area(layer: xr.DataArray, area: xr.DataArray | None) -> xr.DataArray:
    """``area`` (km² per pixel) checked against ``layer``'s shape, or :func:`cell_area` of the layer."""
    if area is None:
        return cell_area(layer)  # InputError when the layer has no CRS
    if area.shape != layer.shape:
        raise GridError("area", f"has shape {area.shape}, the land-cover maps {layer.shape}")
    return area


def check_same_grid(**layers: xr.DataArray | None) -> None:
    """Every given layer is 2-D with the shape of the first (one-line GridError otherwise)."""
    shape = None
    for name, layer in layers.items():
        if layer is None:
            continue
        if layer.ndim != 2:
            raise GridError(name, f"has {layer.ndim} dimensions", "give one (y, x) map")
        if shape is None:
            shape = layer.shape
        elif layer.shape != shape:
            raise GridError(name, f"has shape {layer.shape}, the other layers {shape}", "align them first")
