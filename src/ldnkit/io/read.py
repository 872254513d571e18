"""Open one GDAL-readable raster file lazily as a dask-backed DataArray (:func:`open_layer`),
optionally through a GDAL ``WarpedVRT`` onto another grid, and decode stored values.

Conventions (see ``docs/architecture.md``): continuous layers are float32 with NaN as missing;
categorical layers keep integer codes and expose their nodata value in ``attrs["nodata"]`` (and
``.rio.nodata``). Annual stacks and the table of input formats are in :mod:`ldnkit.io.readers`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rioxarray
import xarray as xr
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from ldnkit.errors import ConfigError, InputError
from ldnkit.io.grid import Grid, RasterInfo, check_overlap, inspect_raster, spatial_chunks
from ldnkit.io.nodata import categorical_target, set_nodata


def source_label(path: Any, key: str | None) -> str:
    """How error messages name an input: ``"<config key> (<path>)"``, or the path alone."""
    return f"{key} ({path})" if key else str(path)


def resampling_method(name: str | Resampling) -> Resampling:
    """The rasterio :class:`Resampling` named ``name`` (``nearest``, ``mode``, ``average``,
    ``bilinear`` ...); :class:`ConfigError` for an unknown name."""
    if isinstance(name, Resampling):
        return name
    try:
        return Resampling[str(name).lower()]
    except KeyError:
        raise ConfigError(
            "resampling",
            f"unknown resampling {name!r}",
            "use nearest or mode (categorical), average or bilinear (continuous)",
        ) from None


def decode_values(
    raw: xr.DataArray,
    fills: Sequence[float | None],
    scale: Any = 1.0,
    offset: Any = 0.0,
    valid_min: float | None = None,
    valid_max: float | None = None,
) -> xr.DataArray:
    """Raw stored values -> float32 physical values with NaN for missing (lazy).

    Masks the fill values and the valid range (in stored units, as CF defines them), then applies
    ``value * scale + offset`` in float64 before rounding once to float32.
    """
    fill_list = [f for f in fills if f is not None]
    kind = raw.dtype.kind
    scaled = not (np.all(np.asarray(scale) == 1) and np.all(np.asarray(offset) == 0))
    if (
        kind == "f"
        and not scaled
        and valid_min is None
        and valid_max is None
        and all(math.isnan(float(f)) for f in fill_list)
    ):
        # float values with NaN as their only missing value: nothing to decode (saves three
        # passes over e.g. a 24-band stack)
        return raw if raw.dtype == np.float32 else raw.astype(np.float32)
    # float64 keeps int32 codes and scale factors exact; float32 input stays float32 until scaled
    work = raw.astype(np.float64 if kind in "iub" or raw.dtype.itemsize > 4 else np.float32)
    mask = np.isnan(work) if kind == "f" else xr.zeros_like(work, dtype=bool)
    for f in fill_list:
        if math.isnan(float(f)):
            continue  # NaN is masked above
        if kind == "f":  # compare at the stored precision (a float32 fill is rounded)
            mask = mask | (raw == np.asarray(f, dtype=raw.dtype))
        else:
            mask = mask | (work == float(f))
    if valid_min is not None:
        mask = mask | (work < valid_min)
    if valid_max is not None:
        mask = mask | (work > valid_max)
    if scaled:
        work = work.astype(np.float64) * scale + offset
    return work.where(~mask).astype(np.float32)


def _open_raw(
    src_path: Path,
    info: RasterInfo,
    *,
    chunks: Any,
    grid: Grid | None,
    resampling: str | Resampling,
    masked: bool,
    nodata: float | None,
    where: str,
) -> tuple[xr.DataArray, float | None]:
    """Lazily open (band, y, x) raw values, through a WarpedVRT when ``grid`` differs from the
    file's grid. Returns the array and the nodata value of the values returned."""
    cy, cx = spatial_chunks(chunks)
    band_chunk = chunks.get("band", -1) if isinstance(chunks, Mapping) else -1
    rio_chunks = {"band": band_chunk, "y": cy, "x": cx}
    src_nodata = nodata if nodata is not None else info.nodata
    # lock=False: rioxarray keeps one file handle per thread, so blocks are read in parallel
    if grid is None or info.grid.same_as(grid):
        raw = rioxarray.open_rasterio(src_path, chunks=rio_chunks, lock=False)
        # canonical coordinates (the target's, for a file on the same lattice) so every layer
        # on one grid aligns exactly in xarray
        g = info.grid if grid is None else grid
        raw = raw.assign_coords(g.to_dataarray_coords())
        raw = raw.rio.write_crs(g.crs).rio.write_transform(g.transform)
        return raw, src_nodata
    check_overlap(grid, info.grid, where)
    vrt_kwargs: dict[str, Any] = dict(
        crs=grid.crs,
        transform=grid.transform,
        width=grid.width,
        height=grid.height,
        resampling=resampling_method(resampling),
    )
    if not masked:
        dtype, dst_nodata = categorical_target(info.dtype, src_nodata)
        vrt_kwargs.update(nodata=dst_nodata, dtype=dtype.name)
    else:
        if src_nodata is None and np.dtype(info.dtype).kind == "f":
            src_nodata = np.nan
        dst_nodata = np.nan
        vrt_kwargs.update(nodata=np.nan, dtype="float32")
    if src_nodata is not None:
        vrt_kwargs["src_nodata"] = src_nodata
    with rasterio.open(src_path) as src, WarpedVRT(src, **vrt_kwargs) as vrt:
        raw = rioxarray.open_rasterio(vrt, chunks=rio_chunks, lock=False)
    raw = raw.assign_coords(grid.to_dataarray_coords())
    raw = raw.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    return raw, dst_nodata


def _finish(raw: xr.DataArray, name: str, attrs: dict[str, Any]) -> xr.DataArray:
    keep = {k: raw.coords[k] for k in raw.coords if k in ("band", "year", "y", "x", "spatial_ref")}
    out = xr.DataArray(raw.data, dims=raw.dims, coords=keep, name=name, attrs=attrs)
    return out


def open_layer(
    path: str | os.PathLike,
    *,
    band: int | None = None,
    chunks: int | Mapping[str, int] = 1024,
    name: str | None = None,
    grid: Grid | None = None,
    resampling: str = "nearest",
    masked: bool = False,
    nodata: float | None = None,
    key: str | None = None,
) -> xr.DataArray:
    """Open a GDAL-readable raster lazily as a dask-backed DataArray.

    Parameters
    ----------
    path : raster file (GeoTIFF, VRT, any GDAL format with a CRS).
    band : 1-based band to return as (y, x); ``None`` returns (y, x) for single-band files and
        (band, y, x) otherwise.
    chunks : spatial block size (pixels) or a dict with ``y``/``x``/``band``.
    grid : if given and different from the file's grid, the file is read through a GDAL
        ``WarpedVRT`` onto ``grid`` (lazy, windowed) with ``resampling`` — ``nearest``/``mode``
        for categorical layers, ``average``/``bilinear`` for continuous ones.
    masked : False (default, for categorical layers) keeps the stored values and dtype —
        ``attrs["nodata"]`` and ``.rio.nodata`` give the missing value, which callers map to
        :data:`ldnkit.codes.NODATA` (when warped, a layer without nodata gets NODATA, promoting
        (u)int8 to int16, so off-source pixels are never a valid code); True (continuous layers)
        returns float32 with NaN for missing and the file's scale/offset applied.
    nodata : value meaning missing in the file, overriding the file's own nodata.
    key : config key, used with the path in error messages.

    Raises :class:`InputError` (missing, unreadable, truncated, no CRS) or :class:`GridError`.

    Example
    -------
    >>> lc = open_layer("lc_2015.tif", grid=target, resampling="nearest")
    >>> soc = open_layer("soc.tif", grid=target, resampling="average", masked=True)
    """
    p = Path(path)
    where = source_label(p, key)
    info = inspect_raster(p, where)
    if band is not None and not 1 <= band <= info.count:
        raise InputError(where, f"has {info.count} band(s), no band {band}", "check `band`")
    raw, raw_nodata = _open_raw(
        p,
        info,
        chunks=chunks,
        grid=grid,
        resampling=resampling,
        masked=masked,
        nodata=nodata,
        where=where,
    )
    if band is not None:
        raw = raw.isel(band=band - 1, drop=True)
        idx = [band - 1]
    elif info.count == 1:
        raw = raw.isel(band=0, drop=True)
        idx = [0]
    else:
        raw = raw.assign_coords(band=np.arange(1, info.count + 1))
        idx = list(range(info.count))
    attrs: dict[str, Any] = {"source": str(p)}
    if grid is not None and not info.grid.same_as(grid):
        attrs["resampling"] = resampling_method(resampling).name
    if not masked:
        return set_nodata(_finish(raw, name or p.stem, attrs), raw_nodata)
    scale = np.array([info.scales[i] for i in idx])
    offset = np.array([info.offsets[i] for i in idx])
    if "band" in raw.dims:
        scale_x: Any = xr.DataArray(scale, dims="band")
        offset_x: Any = xr.DataArray(offset, dims="band")
    else:
        scale_x, offset_x = float(scale[0]), float(offset[0])
    fills = [raw_nodata] + ([info.nodata] if grid is None or info.grid.same_as(grid) else [])
    values = decode_values(raw, fills, scale_x, offset_x)
    return _finish(values, name or p.stem, attrs)
