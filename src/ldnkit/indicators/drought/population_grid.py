"""The drought hazard on the population grid by nearest neighbour (same CRS, or none): each population
pixel takes the hazard pixel holding its centre, lazily, block by block."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from ldnkit.errors import GridError


def _axis(layer: xr.DataArray, dim: str, where: str) -> tuple[float, float, int]:
    """(outer edge of the first pixel, signed step, size) of a regular coordinate axis."""
    c = np.asarray(layer[dim].values, dtype=np.float64)
    n = c.size
    if n >= 2:
        step = (c[-1] - c[0]) / (n - 1)
        if step == 0 or np.max(np.abs(np.diff(c) - step)) > 1e-6 * abs(step):
            raise GridError(where, f"its {dim} coordinates are not regularly spaced", "resample it to a grid")
    else:
        # one pixel: only a stored GeoTransform (GDAL order c, a, b, f, d, e) gives its size
        step = 0.0
        for c_ in layer.coords.values():
            gt = str(c_.attrs.get("GeoTransform", "")).split()
            if len(gt) == 6:
                step = float(gt[1] if dim == "x" else gt[5])
        if not step:
            raise GridError(where, f"has a single {dim} pixel and no transform", "give a georeferenced layer")
    return float(c[0] - step / 2.0), float(step), n


def _nearest_index(src: xr.DataArray, dst: xr.DataArray, dim: str, where: str) -> np.ndarray:
    """Index of the source pixel holding each destination pixel centre along ``dim``; -1 outside."""
    e0, step, n = _axis(src, dim, where)
    centres = np.asarray(dst[dim].values, dtype=np.float64)
    i = np.floor((centres - e0) / step).astype(np.int64)
    i[(i < 0) | (i >= n)] = -1
    return i


def _take_block(src: np.ndarray, iy: np.ndarray, ix: np.ndarray, fill: Any) -> np.ndarray:
    out = np.take(np.take(np.asarray(src), np.maximum(iy, 0), axis=-2), np.maximum(ix, 0), axis=-1)
    out[..., iy < 0, :] = fill
    out[..., :, ix < 0] = fill
    return out


def _grid_bounds(layer: xr.DataArray, where: str) -> tuple[float, float, float, float]:
    x0, sx, nx = _axis(layer, "x", where)
    y0, sy, ny = _axis(layer, "y", where)
    xs, ys = sorted((x0, x0 + sx * nx)), sorted((y0, y0 + sy * ny))
    return xs[0], ys[0], xs[1], ys[1]


def _map_nearest(
    layer: xr.DataArray, target: xr.DataArray, fill: Any, chunks: tuple[int, int], where: str
) -> Any:
    """Lazy nearest-neighbour lookup of ``layer`` (lead, y, x) at ``target``'s pixel centres.

    Same CRS (or none): each target block takes, from just the window of source pixels it
    covers, the pixel holding each target centre. Returns a numpy or dask array."""
    iy = _nearest_index(layer, target, "y", where)
    ix = _nearest_index(layer, target, "x", where)
    if (iy < 0).all() or (ix < 0).all():
        raise GridError(
            where,
            f"does not overlap the drought hazard grid (population bounds "
            f"{_fmt(_grid_bounds(target, where))}, hazard bounds {_fmt(_grid_bounds(layer, 'hazard'))})",
            "check the population raster's extent and coordinates: it must cover the area of interest",
        )
    data = layer.data
    lead = data.shape[:-2]
    dask_out = isinstance(data, dsa.Array) or isinstance(target.data, dsa.Array)
    if not dask_out:
        return _take_block(np.asarray(data), iy, ix, fill)
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=data.shape)
    ychunks = dsa.core.normalize_chunks(chunks[0], (iy.size,))[0]
    xchunks = dsa.core.normalize_chunks(chunks[1], (ix.size,))[0]
    rows, y0 = [], 0
    for h in ychunks:
        by = iy[y0 : y0 + h]
        row, x0 = [], 0
        for w in xchunks:
            bx = ix[x0 : x0 + w]
            shape = (*lead, h, w)
            if (by < 0).all() or (bx < 0).all():
                row.append(dsa.full(shape, fill, dtype=data.dtype))
            else:
                r0, r1 = int(by[by >= 0].min()), int(by.max()) + 1
                c0, c1 = int(bx[bx >= 0].min()), int(bx.max()) + 1
                part = data[..., r0:r1, c0:c1]
                ly = np.where(by >= 0, by - r0, -1)
                lx = np.where(bx >= 0, bx - c0, -1)
                task = dask.delayed(_take_block, pure=True)(part, ly, lx, fill)
                row.append(dsa.from_delayed(task, shape, dtype=data.dtype))
            x0 += w
        rows.append(row)
        y0 += h
    return dsa.block(rows if not lead else [rows])


def _fmt(b: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in b) + ")"


def spatial_coords(layer: xr.DataArray) -> dict[str, Any]:
    """The coordinates of ``layer`` that depend on ``y`` and ``x`` only (x, y, spatial_ref)."""
    return {k: v for k, v in layer.coords.items() if set(v.dims) <= {"y", "x"}}


def block_size(layer: xr.DataArray, default: int) -> tuple[int, int]:
    """Largest (y, x) chunk of a dask-backed ``layer``, else ``(default, default)`` pixels."""
    if layer.chunks is None:
        return default, default
    ch = dict(zip(layer.dims, layer.chunks, strict=True))
    return max(ch["y"]), max(ch["x"])


def same_grid(a: xr.DataArray, b: xr.DataArray) -> bool:
    """Whether ``a`` and ``b`` have the same ``y`` and ``x`` coordinates (to 1e-6 of a pixel)."""
    if a.sizes.get("y") != b.sizes.get("y") or a.sizes.get("x") != b.sizes.get("x"):
        return False
    for d in ("y", "x"):
        u, v = np.asarray(a[d].values, float), np.asarray(b[d].values, float)
        step = abs(u[1] - u[0]) if u.size > 1 else 1.0
        if not np.all(np.abs(u - v) <= 1e-6 * step):
            return False
    return True


def on_population_grid(
    layer: xr.DataArray, pop: xr.DataArray, fill: Any, chunks: tuple[int, int], where: str
) -> xr.DataArray:
    """``layer`` (lead, y, x) resampled to ``pop``'s grid by nearest neighbour (lazy).

    Both must be in one CRS (or both without one): a hazard in another CRS is warped onto the
    population grid by the caller (indicators read no files and warp nothing), who records how
    in ``layer.attrs["resampling"]``; a layer already on ``pop``'s grid is used as it is."""
    lead = layer.dims[0]
    hcrs, pcrs = layer.rio.crs, pop.rio.crs
    if (hcrs is None) != (pcrs is None):
        raise GridError(
            where,
            "one of the hazard and population layers has a CRS and the other has none",
            "assign the same CRS to both (da.rio.write_crs(...))",
        )
    if hcrs is not None and hcrs != pcrs:
        raise GridError(
            where,
            f"is in {pcrs.to_string()} and the drought hazard in {hcrs.to_string()}",
            "warp the hazard onto the population grid first "
            "(ldnkit.io.warp.align(hazard, grid_of(population), 'nearest'))",
        )
    if isinstance(pop.data, dsa.Array) and not isinstance(layer.data, dsa.Array):
        layer = layer.chunk()  # so a large population grid is filled block by block
    resampling = "nearest (pixel holding each population pixel centre)"
    if same_grid(layer, pop):
        data = layer.data  # already there, e.g. warped by the caller, whose attrs say how
        resampling = layer.attrs.get("resampling", resampling)
    else:
        data = _map_nearest(layer, pop, fill, chunks, where)
    coords = {lead: layer[lead].values, **spatial_coords(pop)}
    for name, c in layer.coords.items():
        if c.dims == (lead,) and name != lead:
            coords[name] = (lead, c.values)
    out = xr.DataArray(data, dims=(lead, "y", "x"), coords=coords, name=layer.name)
    out.attrs = {**layer.attrs, "resampling": resampling}
    return out
