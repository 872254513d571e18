"""The missing-value convention of layers: integer (categorical) layers carry their nodata value in
``attrs["nodata"]`` (and ``.rio.nodata``); float layers use NaN and record nothing. Warped
categorical layers get :data:`ldnkit.codes.NODATA` where the source has no data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from ldnkit import codes


def set_nodata(da: xr.DataArray, nodata: float | None) -> xr.DataArray:
    """Record the missing value of an integer layer in ``attrs["nodata"]`` and, as a plain Python
    number (JSON-serialisable), in ``attrs["_FillValue"]`` where ``.rio.nodata`` finds it. Float
    layers use NaN and record nothing."""
    da.attrs.pop("_FillValue", None)
    value = None if nodata is None else json_number(nodata)
    if da.dtype.kind == "f" and value is None:
        return da
    da.attrs["nodata"] = value
    if value is not None:
        da.attrs["_FillValue"] = value
    return da


def json_number(v: Any) -> Any:
    """A nodata or fill value as a plain JSON number: int when whole, None for NaN."""
    v = float(v)
    if math.isnan(v):
        return None
    return int(v) if v.is_integer() else v


def categorical_target(dtype: Any, nodata: float | None) -> tuple[np.dtype, float]:
    """dtype and nodata for a categorical layer warped to a new grid (area off the source must be
    missing, never a valid code such as 0)."""
    dtype = np.dtype(dtype)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        return dtype, nodata
    if dtype.kind == "f":
        return dtype, np.nan
    if dtype.itemsize <= 2 and not (dtype.kind == "u" and dtype.itemsize == 2):
        return np.dtype("int16"), codes.NODATA
    return np.dtype("int32"), codes.NODATA
