"""Write layers as tiled GeoTIFFs, block by block from one dask computation: Cloud-Optimised
GeoTIFFs with overviews and legend (:func:`write_layer`, :func:`write_layers`), or plain tiled
scratch files (:func:`write_scratch`, :func:`write_tiled`).

Categorical layers are written int16 with :data:`ldnkit.codes.NODATA`; float layers float32 with
NaN. The metadata written beside the pixels follows :mod:`ldnkit.io.legend`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import dask
import dask.array as dsa
import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from affine import Affine
from rasterio.windows import Window

from ldnkit import codes
from ldnkit.io.grid import Grid, grid_of, spatial_chunks
from ldnkit.io.legend import gdal_tags, qml_style, rat_xml
from ldnkit.io.nodata import json_number
from ldnkit.jsonable import jsonable

#: Tile size of every GeoTIFF ldnkit writes.
TILE = 512


@dataclass
class _Prepared:
    data: dsa.Array  # (bands, y, x)
    path: Path
    grid: Grid
    dtype: np.dtype
    nodata: float | None
    descriptions: list[str]
    tags: dict[str, Any]
    legend: codes.Legend | None
    categorical: bool
    #: compress the file written block by block: no for temporaries that are copied to a COG
    #: (compressing noisy int16 tiles costs ~20x the write) nor for scratch layers
    compress: bool = False


def _tag_value(v: Any) -> Any:
    """JSON-ready copy of an attribute value (:func:`ldnkit.jsonable.jsonable`), or raise
    TypeError/ValueError for what JSON cannot hold, so that attribute is not written."""
    v = jsonable(v)
    json.dumps(v, allow_nan=True)
    return v


_SKIP_ATTRS = {"_FillValue", "scale_factor", "add_offset", "grid_mapping", "coordinates"}


def _prepare(
    da: xr.DataArray,
    path: str | os.PathLike,
    legend: codes.Legend | None,
    nodata: float | None,
    description: str,
    tags: Mapping[str, Any] | None,
    chunks: int = 1024,
    float_dtype: Any = "float32",
) -> _Prepared:
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"write_layer needs an xarray.DataArray, got {type(da).__name__}")
    if da.ndim not in (2, 3) or tuple(da.dims[-2:]) != ("y", "x"):
        raise ValueError(f"cannot write dims {da.dims}: need (y, x) or (band/year, y, x)")
    grid = grid_of(da)
    kind = da.dtype.kind
    if legend is not None or kind in "iub":
        categorical = True
        if legend is not None:
            dtype = np.dtype("int16")
            nd = codes.NODATA if nodata is None else nodata
            src_nd = da.attrs.get("nodata", da.rio.nodata)
            if kind == "f":
                src = da.where(da.notnull(), nd)
            else:
                # widen first: NODATA does not fit in (u)int8
                src = da.astype(np.int32) if da.dtype.itemsize < 4 else da
                if src_nd is not None and src_nd != nd:
                    src = src.where(src != src_nd, nd)  # map the layer's own missing value
        else:
            dtype = np.dtype("uint8") if kind == "b" else da.dtype
            nd = nodata if nodata is not None else da.attrs.get("nodata", da.rio.nodata)
            if nd is None and dtype == np.int16:
                nd = codes.NODATA
            src = da
        data = src.data.astype(dtype) if isinstance(src.data, dsa.Array) else src.values.astype(dtype)
    else:
        categorical = False
        dtype = np.dtype(float_dtype)
        nd = np.nan
        data = da.data.astype(dtype) if isinstance(da.data, dsa.Array) else da.values.astype(dtype)
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(data, chunks=(-1,) * (data.ndim - 2) + spatial_chunks(chunks))
    if data.ndim == 2:
        data = data[None]
        descriptions = [description or str(da.name or "")]
    else:
        lead = da.dims[0]
        if lead in da.coords:
            descriptions = [str(jsonable(v)) for v in da.coords[lead].values]
        else:
            descriptions = [description] * da.shape[0]
    # tiles rewritten by two dask blocks cost a read-modify-write: align blocks to tiles
    data = data.rechunk(
        {
            0: -1 if data.shape[0] <= 64 else 1,
            1: _tile_chunks(data.chunks[1]),
            2: _tile_chunks(data.chunks[2]),
        }
    )
    all_tags: dict[str, Any] = {}
    for k, v in {**da.attrs, **dict(tags or {})}.items():
        if k in _SKIP_ATTRS or str(k).startswith("_"):
            continue
        with contextlib.suppress(TypeError, ValueError):
            all_tags[str(k)] = _tag_value(v)
    if description:
        all_tags.setdefault("description", description)
    return _Prepared(
        data=data,
        path=Path(path),
        grid=grid,
        dtype=dtype,
        nodata=None if nd is None else float(nd),
        descriptions=descriptions,
        tags=all_tags,
        legend=legend,
        categorical=categorical,
    )


def _tile_chunks(chunks: tuple[int, ...]) -> tuple[int, ...]:
    total = sum(chunks)
    if all(c % TILE == 0 for c in chunks[:-1]):
        return chunks
    size = max(TILE, round(max(chunks) / TILE) * TILE)
    return dsa.core.normalize_chunks(size, (total,))[0]


def _distributed_worker() -> Any:
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        return get_worker()
    except ValueError:
        return None


class _BlockWriter:
    """Target of ``dask.array.store``: writes each block into a window of a GeoTIFF.

    - threaded scheduler: one shared ``r+`` handle per file, guarded by a per-file thread lock;
    - dask.distributed workers: the file is opened ``r+`` for each block under a cluster-wide
      ``distributed.Lock`` named after the file (rasterio handles cannot be pickled; the folder
      must be on a filesystem shared by the workers);
    - other processes (multiprocessing scheduler): an ``fcntl`` lock file serialises writers.
    """

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._ds: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "pid": self._pid}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self._pid = state["path"], state["pid"]
        self._lock, self._ds = threading.Lock(), None

    def __dask_tokenize__(self) -> Any:
        return ("ldnkit-block-writer", self.path)

    def __setitem__(self, key: tuple[slice, ...], value: np.ndarray) -> None:
        bands, ys, xs = key
        window = Window(xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start)
        indexes = list(range(bands.start + 1, bands.stop + 1))
        worker = _distributed_worker()
        if worker is not None:
            from distributed import Lock

            with Lock(f"ldnkit-write-{self.path}"), rasterio.open(self.path, "r+") as dst:
                dst.write(value, indexes=indexes, window=window)
        elif os.getpid() != self._pid:
            import fcntl

            with open(self.path + ".lock", "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    with rasterio.open(self.path, "r+") as dst:
                        dst.write(value, indexes=indexes, window=window)
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        else:
            with self._lock:
                if self._ds is None:
                    self._ds = rasterio.open(self.path, "r+")
                self._ds.write(value, indexes=indexes, window=window)

    def close(self) -> None:
        with self._lock:
            if self._ds is not None:
                self._ds.close()
                self._ds = None
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path + ".lock")


def _create_gtiff(p: _Prepared, path: Path, grid: Grid | None = None) -> None:
    """Create the (empty) tiled GeoTIFF that blocks are written into; ``grid`` for an overview."""
    g = grid or p.grid
    profile = dict(
        driver="GTiff",
        width=g.width,
        height=g.height,
        count=p.data.shape[0],
        dtype=p.dtype.name,
        crs=g.crs,
        transform=g.transform,
        nodata=p.nodata,
        tiled=True,
        blockxsize=TILE,
        blockysize=TILE,
        bigtiff="IF_SAFER",
        interleave="band",
        sparse_ok=True,  # every block is written later: do not write empty tiles first
    )
    if p.compress:
        # the final COG is compressed; this file is read once by the COG copy
        profile.update(compress="DEFLATE", zlevel=1)
    with rasterio.open(path, "w", **profile) as dst:
        if grid is None:
            for i, d in enumerate(p.descriptions, start=1):
                dst.set_band_description(i, d)
            dst.update_tags(**gdal_tags(p.tags, p.legend))


def _overview_factors(width: int, height: int) -> list[int]:
    """Overview factors of a COG (as GDAL's COG driver makes them): halve until the whole raster
    fits in one tile."""
    factors: list[int] = []
    f = 1
    while math.ceil(width / f) > TILE or math.ceil(height / f) > TILE:
        f *= 2
        factors.append(f)
    return factors


def _halve_block(block: np.ndarray, average: bool) -> np.ndarray:
    """A (bands, h, w) block at half resolution: the NaN-aware mean of each 2 x 2 cell (continuous
    layers) or its lower-right pixel (categorical layers, as GDAL's ``nearest`` picks for a
    factor of 2). Cells cut by the edge of the raster use the pixels they have."""
    b, h, w = block.shape
    oh, ow = -(-h // 2), -(-w // 2)
    if not average:
        rows = np.minimum(np.arange(oh) * 2 + 1, h - 1)
        cols = np.minimum(np.arange(ow) * 2 + 1, w - 1)
        return block[:, rows[:, None], cols[None, :]]
    total = np.zeros((b, oh, ow), np.float32)
    count = np.zeros((b, oh, ow), np.uint8)
    for dy in (0, 1):
        for dx in (0, 1):
            part = block[:, dy::2, dx::2]
            ok = np.isfinite(part)
            ph, pw = part.shape[1:]
            total[:, :ph, :pw] += np.where(ok, part, 0)
            count[:, :ph, :pw] += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).astype(block.dtype)


def _overviews(data: dsa.Array, levels: int, average: bool) -> list[dsa.Array]:
    """``levels`` overviews (factors 2, 4, 8 ...) of a (bands, y, x) array, each halving the one
    before, block by block (blocks but the last must be multiples of 2**levels pixels): they cost
    no extra pass over the layer."""
    out = []
    for _ in range(levels):
        chunks = (data.chunks[0],) + tuple(tuple(-(-c // 2) for c in cs) for cs in data.chunks[1:])
        data = data.map_blocks(_halve_block, average, chunks=chunks, dtype=data.dtype)
        out.append(data)
    return out


_GDAL_TYPES = {
    "uint8": "Byte",
    "int8": "Int8",
    "uint16": "UInt16",
    "int16": "Int16",
    "uint32": "UInt32",
    "int32": "Int32",
    "uint64": "UInt64",
    "int64": "Int64",
    "float32": "Float32",
    "float64": "Float64",
}


def _vrt_with_overviews(p: _Prepared, full: Path, overviews: list[Path]) -> str:
    """GDAL VRT of the full-resolution temporary file with explicit overview files, carrying the
    layer's metadata, band descriptions and nodata (what the COG copy takes from its source)."""
    t = p.grid.transform
    gt = ", ".join(repr(float(v)) for v in (t.c, t.a, t.b, t.f, t.d, t.e))
    lines = [
        f'<VRTDataset rasterXSize="{p.grid.width}" rasterYSize="{p.grid.height}">',
        f"  <SRS>{escape(p.grid.crs.to_wkt())}</SRS>",
        f"  <GeoTransform>{gt}</GeoTransform>",
        "  <Metadata>",
        *(f"    <MDI key={quoteattr(k)}>{escape(v)}</MDI>" for k, v in gdal_tags(p.tags, p.legend).items()),
        "  </Metadata>",
    ]
    nodata = None
    if p.nodata is not None:
        nodata = "nan" if math.isnan(p.nodata) else repr(json_number(p.nodata))
    for b in range(1, p.data.shape[0] + 1):
        lines.append(f'  <VRTRasterBand dataType="{_GDAL_TYPES[p.dtype.name]}" band="{b}">')
        if p.descriptions[b - 1]:
            lines.append(f"    <Description>{escape(p.descriptions[b - 1])}</Description>")
        if nodata is not None:
            lines.append(f"    <NoDataValue>{nodata}</NoDataValue>")
        src = f"<SourceFilename>{escape(str(full))}</SourceFilename><SourceBand>{b}</SourceBand>"
        lines.append(f"    <SimpleSource>{src}</SimpleSource>")
        for ov in overviews:
            lines.append(
                f"    <Overview><SourceFilename>{escape(str(ov))}</SourceFilename>"
                f"<SourceBand>{b}</SourceBand></Overview>"
            )
        lines.append("  </VRTRasterBand>")
    lines.append("</VRTDataset>")
    return "\n".join(lines) + "\n"


def _write_gtiffs(items: list[_Prepared], scheduler: Any, *, cog: bool) -> list[Path]:
    """Compute every item in one dask computation into tiled GeoTIFFs (COGs if ``cog``).

    For COGs, each layer's overviews are computed in the same pass, block by block, into small
    temporary files; a VRT ties them to the full-resolution temporary file and GDAL's COG driver
    copies the lot, in parallel over the layers (GDAL would otherwise compute every overview level
    with extra reads of the layer, more than half of the time of the copy)."""
    temps: list[Path] = []
    writers: list[_BlockWriter] = []
    sources: list[dsa.Array] = []
    jobs: list[_CogJob] = []

    def add(data: dsa.Array, path: Path, p: _Prepared, grid: Grid | None = None) -> None:
        _create_gtiff(p, path, grid)
        sources.append(data)
        writers.append(_BlockWriter(path))

    try:
        for p in items:
            p.path.parent.mkdir(parents=True, exist_ok=True)
            if not cog:
                add(p.data, p.path, p)
                continue
            stem = f".{p.path.name}.{secrets.token_hex(4)}"
            full = p.path.parent / f"{stem}.tmp.tif"
            temps.append(full)
            add(p.data, full, p)
            factors = _overview_factors(p.grid.width, p.grid.height)
            src = full
            # blocks (multiples of TILE pixels) must make whole overview pixels at every level
            aligned = (
                all(c % factors[-1] == 0 for cs in p.data.chunks[1:] for c in cs[:-1]) if factors else False
            )
            if aligned:
                ovs = []
                levels = _overviews(p.data, len(factors), average=not p.categorical)
                for f, level in zip(factors, levels, strict=True):
                    ov = p.path.parent / f"{stem}.ov{f}.tmp.tif"
                    temps.append(ov)
                    ovs.append(ov)
                    g = p.grid
                    ov_grid = Grid(
                        g.crs, g.transform * Affine.scale(f), math.ceil(g.width / f), math.ceil(g.height / f)
                    )
                    add(level, ov, p, ov_grid)
                src = p.path.parent / f"{stem}.vrt"
                temps.append(src)
                src.write_text(_vrt_with_overviews(p, full, ovs), encoding="utf-8")
            jobs.append(
                _CogJob(p.path, src, p.categorical, p.legend, int(p.data.shape[0]), p.nodata, src != full)
            )
        try:
            dsa.store(sources, writers, lock=False, compute=True, scheduler=scheduler)
        finally:
            for w in writers:
                w.close()
        if cog:
            # one task per file on the active scheduler: conversions run in parallel (on the
            # workers of a cluster), each single-threaded unless there is only one
            threads = "ALL_CPUS" if len(jobs) == 1 else "1"
            dask.compute(
                *[dask.delayed(_to_cog, pure=False)(job, threads) for job in jobs], scheduler=scheduler
            )
    except BaseException:
        for t in temps:
            _remove_with_sidecars(t)
        raise
    finally:
        for t in temps:
            _remove_with_sidecars(t)
    return [p.path for p in items]


def _remove_with_sidecars(path: Path) -> None:
    for f in (path, Path(str(path) + ".aux.xml"), Path(str(path) + ".lock")):
        with contextlib.suppress(FileNotFoundError):
            f.unlink()


@dataclass(frozen=True)
class _CogJob:
    """What converting one temporary GeoTIFF (or VRT) into the final COG needs (small, picklable)."""

    path: Path
    src: Path
    categorical: bool
    legend: codes.Legend | None
    bands: int
    nodata: float | None
    has_overviews: bool = False


#: DEFLATE level of the COGs: level 3 without predictor is ~30 % faster to write than GDAL's
#: default (6 with predictor) and, on ldnkit's layers, within a few % of its size.
COG_LEVEL = 3


def _to_cog(job: _CogJob, num_threads: str = "ALL_CPUS") -> None:
    for stale in (job.path, Path(str(job.path) + ".aux.xml"), job.path.with_suffix(".qml")):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    if job.has_overviews:
        ovr: dict[str, Any] = {"overviews": "FORCE_USE_EXISTING"}
    else:
        ovr = {"overview_resampling": "NEAREST" if job.categorical else "AVERAGE"}
    rasterio.shutil.copy(
        job.src,
        job.path,
        driver="COG",
        compress="DEFLATE",
        level=COG_LEVEL,
        predictor="NO",
        blocksize=TILE,
        bigtiff="IF_SAFER",
        num_threads=num_threads,
        **ovr,
    )
    if job.legend is not None:
        Path(str(job.path) + ".aux.xml").write_text(rat_xml(job.legend, job.bands), encoding="utf-8")
        job.path.with_suffix(".qml").write_text(qml_style(job.legend, job.nodata), encoding="utf-8")


def write_layer(
    da: xr.DataArray,
    path: str | os.PathLike,
    *,
    legend: codes.Legend | None = None,
    nodata: float | None = None,
    description: str = "",
    tags: Mapping[str, Any] | None = None,
    scheduler: Any = None,
) -> Path:
    """Write a (y, x) or (band/year, y, x) layer as a tiled, DEFLATE-compressed COG.

    The array is computed block by block into a temporary tiled GeoTIFF (never whole in memory),
    then copied to a COG with overviews (``mode`` resampling for categorical layers, ``average``
    for continuous ones). Categorical layers (a ``legend`` given, or integer data) are written
    int16 with nodata :data:`ldnkit.codes.NODATA` (NaN becomes NODATA); with a legend, a GDAL
    Raster Attribute Table (``path + ".aux.xml"``), a QGIS style (``path.with_suffix(".qml")``) and
    a ``LDNKIT_LEGEND`` metadata item are written too. Float layers are float32 with NaN nodata.
    ``da.attrs`` plus ``tags`` (method and parameters) are written as GeoTIFF metadata and, as
    JSON, in ``LDNKIT_ATTRS`` (see :func:`ldnkit.io.legend.read_tags`). A 3-D layer gets one band per leading
    coordinate value, described by that value (e.g. the year).

    Example
    -------
    >>> write_layer(lpd, out / "lpd.tif", legend=codes.LPD, description="Land productivity")
    """
    p = _prepare(da, path, legend, nodata, description, tags)
    return _write_gtiffs([p], scheduler, cog=True)[0]


def write_layers(
    items: Sequence[tuple[xr.DataArray, str | os.PathLike] | tuple[xr.DataArray, Any, Mapping]],
    scheduler: Any = None,
) -> list[Path]:
    """Write several layers computing them in ONE dask computation, so upstream work shared by
    several outputs is done once. Each item is ``(da, path)`` or ``(da, path, kwargs)`` with the
    keyword arguments of :func:`write_layer` (legend, nodata, description, tags).

    ``scheduler`` is passed to dask (``"threads"``, ``"synchronous"``, a ``distributed.Client``;
    default: the active one). With dask.distributed the output folder must be visible to every
    worker.

    Example
    -------
    >>> write_layers([(lpd, d / "lpd.tif", {"legend": codes.LPD}), (trend, d / "trend.tif")])
    """
    prepared = []
    for item in items:
        da, path = item[0], item[1]
        kw = dict(item[2]) if len(item) > 2 else {}
        unknown = set(kw) - {"legend", "nodata", "description", "tags"}
        if unknown:
            raise TypeError(f"unknown write_layer arguments: {sorted(unknown)}")
        prepared.append(
            _prepare(
                da,
                path,
                kw.get("legend"),
                kw.get("nodata"),
                kw.get("description", ""),
                kw.get("tags"),
            )
        )
    paths = [p.path.resolve() for p in prepared]
    if len(set(paths)) != len(paths):
        raise ValueError("write_layers: two layers have the same path")
    return _write_gtiffs(prepared, scheduler, cog=True)


def write_scratch(
    items: Sequence[tuple[xr.DataArray, str | os.PathLike]], scheduler: Any = None
) -> list[Path]:
    """Write intermediate layers in ONE dask computation as plain tiled GeoTIFFs, to be reopened
    later in the same run with :func:`ldnkit.io.read.open_layer`: uncompressed, no COG copy, no
    legend, and the layer's dtype kept (float64 stays float64, so values round-trip exactly; NaN is
    missing).

    Example
    -------
    >>> (path,) = write_scratch([(mean_ndvi, workdir / "mean.tif")])
    >>> mean_again = open_layer(path, chunks=1024)
    """
    prepared = []
    for da, path in items:
        float_dtype = da.dtype if da.dtype.kind == "f" else "float32"
        p = _prepare(da, path, None, None, "", {}, float_dtype=float_dtype)
        p.compress = False
        prepared.append(p)
    return _write_gtiffs(prepared, scheduler, cog=False)


def write_tiled(
    da: xr.DataArray, path: str | os.PathLike, *, nodata: float | None = None, scheduler: Any = None
) -> Path:
    """Write one layer as a plain tiled GeoTIFF (uncompressed, no COG copy, no legend): float
    layers as float32 with NaN missing, integer layers keep their dtype and ``nodata`` (default:
    the layer's own). Used for temporary files read back through a GDAL ``WarpedVRT``.

    Example
    -------
    >>> write_tiled(annual_ndvi, workdir / "ndvi.tif")
    """
    return _write_gtiffs([_prepare(da, path, None, nodata, "", {})], scheduler, cog=False)[0]
