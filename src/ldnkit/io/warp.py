"""Put a DataArray on another grid (:func:`align`): lazily, each output block warped with
``rasterio.warp.reproject`` from just the source window it needs, or through a temporary GeoTIFF
read by a GDAL ``WarpedVRT``. Files are better opened on the grid directly
(``open_layer(path, grid=...)``).
"""

from __future__ import annotations

import math
import os
import secrets
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import rasterio
import rasterio.warp
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.windows import Window

from ldnkit.io.grid import Grid, check_overlap, grid_of, layer_name, spatial_chunks, transform_bounds
from ldnkit.io.nodata import categorical_target, json_number, set_nodata
from ldnkit.io.read import open_layer, resampling_method
from ldnkit.io.write import write_tiled


def _source_window(dst_grid: Grid, src_grid: Grid, pad: int) -> tuple[int, int, int, int] | None:
    """(row0, row1, col0, col1) of source pixels needed for ``dst_grid``, or None if none."""
    tb = transform_bounds(dst_grid.crs, src_grid.crs, dst_grid.bounds)
    if tb is None:
        return None
    inv = ~src_grid.transform
    c0, r0 = inv @ (tb[0], tb[3])
    c1, r1 = inv @ (tb[2], tb[1])
    r0, r1 = sorted((r0, r1))
    c0, c1 = sorted((c0, c1))
    r0 = max(0, math.floor(r0) - pad)
    c0 = max(0, math.floor(c0) - pad)
    r1 = min(src_grid.height, math.ceil(r1) + pad)
    c1 = min(src_grid.width, math.ceil(c1) + pad)
    if r1 <= r0 or c1 <= c0:
        return None
    return r0, r1, c0, c1


def _warp_block(
    src: np.ndarray,
    src_transform: Affine,
    src_crs: CRS,
    dst_grid: Grid,
    lead: int | None,
    dtype: np.dtype,
    src_nodata: float | None,
    dst_nodata: float,
    resampling: Resampling,
    extras: dict[str, str],
) -> np.ndarray:
    shape = dst_grid.shape if lead is None else (lead, *dst_grid.shape)
    out = np.full(shape, dst_nodata, dtype=dtype)
    with warnings.catch_warnings():
        # rasterio warns while it builds in-memory datasets for numpy arrays
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        _reproject(
            out, src, src_transform, src_crs, dst_grid, src_nodata, dst_nodata, resampling, extras, dtype
        )
    return out


def _reproject(
    out, src, src_transform, src_crs, dst_grid, src_nodata, dst_nodata, resampling, extras, dtype
) -> None:
    rasterio.warp.reproject(
        source=np.ascontiguousarray(src, dtype=dtype),
        destination=out,
        src_transform=src_transform,
        src_crs=src_crs,
        src_nodata=src_nodata,
        dst_transform=dst_grid.transform,
        dst_crs=dst_grid.crs,
        dst_nodata=dst_nodata,
        resampling=resampling,
        num_threads=1,
        **extras,
    )


_KERNEL_RADIUS = {"bilinear": 1, "cubic": 2, "cubic_spline": 2, "lanczos": 3}


_KERNELS = set(_KERNEL_RADIUS)


def _kernel_scale(src_grid: Grid, dst_grid: Grid) -> dict[str, str]:
    """GDAL warp options fixing the kernel scale (destination pixels per source pixel).

    GDAL widens bilinear/cubic kernels when downsampling, by a factor it derives from each warp
    chunk's source window, so results would depend on block boundaries. Computing the factor once
    from the overlap of the whole grids makes block-wise warping deterministic."""
    inter = check_overlap(dst_grid, src_grid, "layer")
    tb = transform_bounds(dst_grid.crs, src_grid.crs, inter)
    if tb is None:
        return {}
    rx, ry = dst_grid.res
    sx, sy = src_grid.res
    xscale = ((inter[2] - inter[0]) / rx) / ((tb[2] - tb[0]) / sx)
    yscale = ((inter[3] - inter[1]) / ry) / ((tb[3] - tb[1]) / sy)
    return {"XSCALE": f"{xscale:.12g}", "YSCALE": f"{yscale:.12g}"}


def align(
    da: xr.DataArray,
    grid: Grid,
    resampling: str = "nearest",
    *,
    chunks: int | Mapping[str, int] = 1024,
    nodata: float | None = None,
    key: str | None = None,
    workdir: str | os.PathLike | None = None,
) -> xr.DataArray:
    """Put a (y, x) or (lead, y, x) DataArray on ``grid``.

    By default lazily, block by block: each output block is warped (``rasterio.warp.reproject``)
    from just the window of source pixels it needs plus the kernel's margin, so memory stays
    bounded by the block size. In the same CRS the result equals one warp of the whole raster;
    across CRSs GDAL's per-chunk approximations (footprints of ``average``, kernel scale of
    ``bilinear``, which align fixes from the whole grids) can make values differ very slightly
    from a single warp. With ``workdir`` (a dask-backed ``da``), the layer is instead computed
    once into a temporary tiled GeoTIFF in ``workdir`` and read through a GDAL ``WarpedVRT`` —
    eager, but each source block is computed once however many output blocks need it; keep
    ``workdir`` until the result has been computed.

    Use ``nearest`` (or ``mode``) for categorical layers and ``average`` (or ``bilinear``) for
    continuous ones. Float layers come back float32 with NaN missing; integer layers keep their
    codes, missing = ``nodata`` (default: the layer's own nodata, else
    :data:`ldnkit.codes.NODATA`, promoting (u)int8 to int16). Returns ``da`` (rechunked) when it
    is already on ``grid``. For files prefer ``open_layer(path, grid=...)``.

    Example
    -------
    >>> soc_on_grid = align(soc, target_grid, "average")
    """
    where = key or layer_name(da)
    src_grid = grid_of(da)
    if tuple(da.dims[-2:]) != ("y", "x") or da.ndim not in (2, 3):
        raise ValueError(f"align expects dims (y, x) or (lead, y, x), got {da.dims}")
    cy, cx = spatial_chunks(chunks)
    if src_grid.same_as(grid):
        out = da.assign_coords(grid.to_dataarray_coords())
        if isinstance(da.data, dsa.Array):
            out = out.chunk({"y": cy, "x": cx})
        return out.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    check_overlap(grid, src_grid, where)
    rs = resampling_method(resampling)
    if workdir is not None and isinstance(da.data, dsa.Array):
        return _align_via_file(da, grid, rs, chunks, nodata, Path(workdir), where)
    extras = _kernel_scale(src_grid, grid) if rs.name in _KERNELS else {}
    dtype, src_nd, dst_nd = _warp_nodata(da, nodata)
    lead = da.dims[0] if da.ndim == 3 else None
    nlead = da.sizes[lead] if lead else None
    warp_args = (dtype, src_nd, dst_nd, rs, extras)
    data = da.data
    if not isinstance(data, dsa.Array):
        # already in memory: warp in one go
        result_data: Any = _warp_block(
            np.asarray(data), src_grid.transform, src_grid.crs, grid, nlead, *warp_args
        )
    else:
        result_data = _warp_blockwise(data, src_grid, grid, nlead, (cy, cx), *warp_args)
    coords: dict[str, Any] = {}
    if lead is not None and lead in da.coords:
        coords[lead] = da.coords[lead].values
    attrs = dict(da.attrs)
    attrs["resampling"] = rs.name
    attrs["aligned_via"] = "block-wise reproject"
    if da.dtype.kind != "f":
        attrs["nodata"] = json_number(dst_nd)
    out = grid.wrap(result_data, dims=da.dims, coords=coords, name=da.name, attrs=attrs, nodata=dst_nd)
    return out


def _warp_nodata(da: xr.DataArray, nodata: float | None) -> tuple[np.dtype, float | None, float]:
    """(output dtype, source nodata, output nodata) of a layer warped by :func:`align`."""
    if da.dtype.kind == "f":
        dtype, src_nd, dst_nd = np.dtype("float32"), np.nan, np.nan
        if nodata is not None and not math.isnan(nodata):
            src_nd = nodata  # an explicit fill value inside a float layer
        return dtype, src_nd, dst_nd
    src_nd = nodata
    if src_nd is None:
        src_nd = da.attrs.get("nodata", da.rio.nodata)
    dtype, dst_nd = categorical_target(da.dtype, src_nd)
    return dtype, src_nd, dst_nd


def _warp_blockwise(
    data: dsa.Array,
    src_grid: Grid,
    grid: Grid,
    nlead: int | None,
    block_shape: tuple[int, int],
    dtype: np.dtype,
    src_nd: float | None,
    dst_nd: float,
    rs: Resampling,
    extras: dict[str, str],
) -> dsa.Array:
    """A dask array on ``grid`` whose every block is warped from just the window of ``data`` it
    needs plus the kernel's margin (blocks off the source are ``dst_nd``)."""
    cy, cx = block_shape
    token = dask.base.tokenize(
        data.name,
        grid.crs.to_wkt(),
        tuple(grid.transform),
        grid.shape,
        rs.name,
        str(dtype),
        src_nd,
        dst_nd,
    )
    name = f"ldnkit-align-{token}"
    # source margin: the resampling kernel's radius, widened when downsampling
    scale = min([1.0] + [float(v) for v in extras.values()])
    pad = math.ceil(_KERNEL_RADIUS.get(rs.name, 1) / max(scale, 1e-6)) + 1
    ychunks = dsa.core.normalize_chunks(cy, (grid.height,))[0]
    xchunks = dsa.core.normalize_chunks(cx, (grid.width,))[0]
    rows = []
    y0 = 0
    for i, h in enumerate(ychunks):
        row = []
        x0 = 0
        for j, w in enumerate(xchunks):
            bgrid = grid.window_grid(Window(x0, y0, w, h))
            shape = (h, w) if nlead is None else (nlead, h, w)
            win = _source_window(bgrid, src_grid, pad=pad)
            if win is None:
                block = dsa.full(shape, dst_nd, dtype=dtype)
            else:
                r0, r1, c0, c1 = win
                part = data[..., r0:r1, c0:c1]
                src_t = src_grid.transform @ Affine.translation(c0, r0)
                task = dask.delayed(_warp_block, pure=True)(
                    part,
                    src_t,
                    src_grid.crs,
                    bgrid,
                    nlead,
                    dtype,
                    src_nd,
                    dst_nd,
                    rs,
                    extras,
                    dask_key_name=(name, i, j),
                )
                block = dsa.from_delayed(task, shape, dtype=dtype)
            row.append(block)
            x0 += w
        rows.append(row)
        y0 += h
    return dsa.block(rows) if nlead is None else dsa.block([rows])


def _align_via_file(
    da: xr.DataArray,
    grid: Grid,
    rs: Resampling,
    chunks: Any,
    nodata: float | None,
    workdir: Path,
    where: str,
) -> xr.DataArray:
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = workdir / f"ldnkit-align-{dask.base.tokenize(da.data.name)[:12]}-{secrets.token_hex(3)}.tif"
    write_tiled(da, tmp, nodata=nodata)
    masked = da.dtype.kind == "f"
    out = open_layer(tmp, grid=grid, resampling=rs, chunks=chunks, masked=masked, key=where)
    if da.ndim == 3:
        lead = da.dims[0]
        if "band" not in out.dims:
            out = out.expand_dims("band")
        out = out.rename(band=lead)
        out = out.assign_coords({lead: da.coords[lead].values} if lead in da.coords else {})
        if lead not in da.coords:
            out = out.drop_vars(lead)
    attrs = dict(da.attrs)
    attrs.update(resampling=rs.name, aligned_via="temporary GeoTIFF + WarpedVRT")
    if not masked:
        attrs["nodata"] = out.attrs.get("nodata")
    out.attrs = attrs
    out.name = da.name
    return set_nodata(out, attrs.get("nodata")) if not masked else out
