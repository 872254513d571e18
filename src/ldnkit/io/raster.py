"""Raster I/O: open any GDAL / NetCDF / Zarr source lazily, align it to a grid, write COGs.

Everything here is lazy and windowed: sources are opened as dask-backed DataArrays whose blocks are
read on demand, alignment to a target :class:`Grid` is done per output block (a GDAL ``WarpedVRT``
for files, a block-wise ``rasterio.warp.reproject`` for arrays already in xarray), and outputs are
written block by block from one dask computation, then converted to Cloud-Optimised GeoTIFFs.

Conventions (see ``docs/architecture.md``): continuous layers are float32 with NaN as missing;
categorical layers keep integer codes and expose their nodata value in ``attrs["nodata"]`` (and
``.rio.nodata``); written categorical layers are int16 with :data:`ldnkit.codes.NODATA`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import dask
import dask.array as dsa
import numpy as np
import rasterio
import rasterio.shutil
import rasterio.warp
import rasterio.windows
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from .. import codes
from ..errors import ConfigError, GridError, InputError, PeriodError

__all__ = [
    "Grid",
    "grid_of",
    "open_layer",
    "open_annual_stack",
    "align",
    "band_years",
    "check_overlap",
    "write_layer",
    "write_layers",
    "write_scratch",
    "is_virtual",
    "read_legend",
    "read_tags",
    "atomic_output_dir",
]

#: Tile size of every GeoTIFF ldnkit writes.
TILE = 512
#: GeoTIFF metadata item holding the legend of a categorical layer (JSON).
LEGEND_TAG = "LDNKIT_LEGEND"
#: GeoTIFF metadata item holding every attribute / tag of a layer (JSON, exact round trip).
ATTRS_TAG = "LDNKIT_ATTRS"

_YEAR_RE = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)(?!\d)")
_TIFF_SUFFIXES = {".tif", ".tiff"}
_CF_SUFFIXES = {".nc", ".nc4", ".netcdf", ".zarr"}


# ================================================================================================
# Grid
# ================================================================================================


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, affine transform of the upper-left corner, size in pixels.

    Example
    -------
    >>> g = Grid.from_bounds((0, 0, 100, 50), 10, "EPSG:32633")
    >>> g.shape, g.bounds
    ((5, 10), (0.0, 0.0, 100.0, 50.0))
    """

    crs: CRS
    transform: Affine
    width: int
    height: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "crs", CRS.from_user_input(self.crs))
        object.__setattr__(self, "transform", Affine(*tuple(self.transform)[:6]))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise GridError(
                "grid",
                f"rotated or south-up grids are not supported (transform {tuple(t)[:6]})",
                "warp the layer to a north-up grid first, e.g. gdalwarp SRC DST",
            )
        if self.width < 1 or self.height < 1:
            raise GridError("grid", f"empty grid ({self.width} x {self.height} pixels)")

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def from_bounds(
        cls,
        bounds: Sequence[float],
        resolution: float | tuple[float, float],
        crs: Any,
    ) -> Grid:
        """Grid covering ``bounds`` (left, bottom, right, top) with square or (x, y) pixels.

        The origin is snapped outward to a multiple of the resolution, so grids made from
        different bounds with the same resolution share one pixel lattice.
        """
        rx, ry = (resolution, resolution) if np.isscalar(resolution) else resolution
        rx, ry = float(rx), float(ry)
        left, bottom, right, top = (float(v) for v in bounds)
        left = math.floor(left / rx + 1e-9) * rx
        top = math.ceil(top / ry - 1e-9) * ry
        width = max(1, math.ceil((right - left) / rx - 1e-9))
        height = max(1, math.ceil((top - bottom) / ry - 1e-9))
        return cls(CRS.from_user_input(crs), Affine(rx, 0, left, 0, -ry, top), width, height)

    # --- properties -----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return self.height, self.width

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in grid CRS units."""
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)

    @property
    def res(self) -> tuple[float, float]:
        """Pixel size (x, y), both positive."""
        return self.transform.a, -self.transform.e

    @property
    def is_geographic(self) -> bool:
        """True for longitude/latitude grids (pixel areas then need the ellipsoid)."""
        return bool(self.crs.is_geographic)

    # --- coordinates ----------------------------------------------------------------------------
    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates ``(x, y)``; y decreases (north-up).

        Computed in the same floating-point order as rioxarray, so layers opened by either carry
        bit-identical coordinates and xarray aligns them exactly."""
        t = self.transform
        x0 = t.a * 0.5 + t.b * 0.5 + t.c  # centre of the first pixel
        y0 = t.d * 0.5 + t.e * 0.5 + t.f
        return np.arange(self.width) * t.a + x0, np.arange(self.height) * t.e + y0

    def to_dataarray_coords(self) -> dict[str, np.ndarray]:
        """``{"y": ..., "x": ...}`` for building DataArrays on this grid."""
        x, y = self.coords()
        return {"y": y, "x": x}

    def wrap(
        self,
        data: Any,
        *,
        dims: Sequence[str] = ("y", "x"),
        coords: Mapping[str, Any] | None = None,
        name: str | None = None,
        attrs: Mapping[str, Any] | None = None,
        nodata: float | None = None,
    ) -> xr.DataArray:
        """Wrap a numpy or dask array whose last two axes are (y, x) of this grid as a DataArray
        with coordinates, CRS and transform."""
        dims = tuple(dims)
        if tuple(data.shape[-2:]) != self.shape or dims[-2:] != ("y", "x"):
            raise ValueError(f"array of shape {data.shape} / dims {dims} is not on grid {self}")
        all_coords: dict[str, Any] = dict(self.to_dataarray_coords())
        all_coords.update(coords or {})
        out = xr.DataArray(data, dims=dims, coords=all_coords, name=name, attrs=dict(attrs or {}))
        out = out.rio.write_crs(self.crs).rio.write_transform(self.transform)
        return _set_nodata(out, nodata)

    def template(
        self,
        chunks: int | tuple[int, int] = 1024,
        dtype: Any = "float32",
        fill: float = np.nan,
        name: str | None = None,
    ) -> xr.DataArray:
        """A lazy constant DataArray on this grid (useful as a map_blocks template)."""
        data = dsa.full(self.shape, fill, dtype=dtype, chunks=_spatial_chunks(chunks))
        return self.wrap(data, name=name)

    # --- comparison -----------------------------------------------------------------------------
    def same_as(self, other: Grid, tol: float = 1e-3) -> bool:
        """Same CRS, size and pixel lattice (to ``tol`` pixel over the whole extent)."""
        if (self.width, self.height) != (other.width, other.height):
            return False
        if not _same_crs(self.crs, other.crs):
            return False
        a, b = self.transform, other.transform
        rx, ry = self.res
        return (
            abs(a.c - b.c) <= tol * rx
            and abs(a.f - b.f) <= tol * ry
            and abs(a.a - b.a) * self.width <= tol * rx
            and abs(a.e - b.e) * self.height <= tol * ry
        )

    def window_grid(self, window: Window) -> Grid:
        """Sub-grid of a pixel window."""
        shift = Affine.translation(window.col_off, window.row_off)
        return Grid(self.crs, self.transform @ shift, int(window.width), int(window.height))

    def __str__(self) -> str:
        name = self.crs.to_string() if self.crs else "no CRS"
        if len(name) > 40:
            name = name[:37] + "..."
        rx, ry = self.res
        return f"{self.width}x{self.height} px of {rx:g}x{ry:g} in {name}, bounds {_fmt(self.bounds)}"


def grid_of(obj: Any) -> Grid:
    """The :class:`Grid` of a DataArray/Dataset (via rioxarray), a raster file path or an open
    rasterio dataset.

    Raises :class:`InputError` if it has no CRS.
    """
    if isinstance(obj, (xr.DataArray, xr.Dataset)):
        crs = obj.rio.crs
        if crs is None:
            raise InputError(
                _name_of(obj),
                "has no coordinate reference system",
                "assign one with da.rio.write_crs('EPSG:4326')",
            )
        return Grid(crs, obj.rio.transform(), obj.rio.width, obj.rio.height)
    if hasattr(obj, "transform") and hasattr(obj, "crs") and hasattr(obj, "width"):
        if obj.crs is None:
            raise InputError(obj.name, *_no_crs_msg(obj.name))
        return Grid(obj.crs, obj.transform, obj.width, obj.height)
    return _inspect(Path(obj), str(obj)).grid


# ================================================================================================
# Opening rasters
# ================================================================================================


@dataclass(frozen=True)
class _RasterInfo:
    grid: Grid
    count: int
    dtype: str
    nodata: float | None
    descriptions: tuple[str | None, ...]
    scales: tuple[float, ...]
    offsets: tuple[float, ...]


def _where(path: Any, key: str | None) -> str:
    return f"{key} ({path})" if key else str(path)


def _no_crs_msg(path: Any) -> tuple[str, str]:
    return (
        "has no coordinate reference system",
        f"assign one, e.g. gdal_edit.py -a_srs EPSG:4326 {path}",
    )


def _first_line(exc: BaseException) -> str:
    """The most specific one-line message of a (chained) rasterio / GDAL error."""
    msgs = []
    while exc is not None:
        text = " ".join(str(exc).split())
        if text and "See previous exception" not in text:
            msgs.append(text)
        exc = exc.__cause__ or exc.__context__
    return msgs[-1] if msgs else "unknown GDAL error"


#: Metadata of files already inspected, keyed by (path, size, modification time): a run opens the
#: same file several times (grid, bands, layer, reopening outputs) and the probe reads of a large
#: pixel-interleaved stack decompress whole tiles of every band.
_INSPECTED: dict[tuple[str, int, int], _RasterInfo] = {}
_INSPECTED_LOCK = threading.Lock()
_INSPECTED_MAX = 512


def is_virtual(path: str | os.PathLike) -> bool:
    """True for a GDAL virtual file system path (``/vsis3/bucket/key.tif``, ``/vsigs/...``,
    ``/vsiaz/...``, ``/vsicurl/https://...``): read by GDAL directly, not on the local disk."""
    return str(path).startswith("/vsi")


def _inspect(path: Path, where: str) -> _RasterInfo:
    """Open ``path`` with rasterio, check it is complete and georeferenced, return its metadata.

    GDAL opens a truncated GeoTIFF happily and fails only when a missing block is read, so we read
    one pixel at each corner and at the centre of every band: the bottom-right block is normally
    the last one in the file, which catches files cut short. Results are cached per file version
    (size and modification time); errors are not.
    """
    if is_virtual(path):
        key = (str(path), -1, -1)  # objects are assumed not to change during a run
    else:
        try:
            st = path.stat()
        except OSError:
            raise InputError(where, "file not found", "check the path in the config") from None
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _INSPECTED_LOCK:
        info = _INSPECTED.get(key)
    if info is None:
        info = _inspect_file(path, where)
        with _INSPECTED_LOCK:
            if len(_INSPECTED) >= _INSPECTED_MAX:
                _INSPECTED.clear()
            _INSPECTED[key] = info
    return info


def _inspect_file(path: Path, where: str) -> _RasterInfo:
    if not is_virtual(path) and not path.exists():
        raise InputError(where, "file not found", "check the path in the config")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            src = rasterio.open(path)
    except RasterioError as exc:
        raise InputError(
            where,
            f"cannot be read as a raster ({_first_line(exc)})",
            "check that it is a complete GeoTIFF or another GDAL-readable raster",
        ) from None
    with src:
        if src.subdatasets:
            raise InputError(
                where,
                f"contains {len(src.subdatasets)} sub-datasets",
                "open NetCDF/HDF files with open_annual_stack(variable=...) or pick one sub-dataset",
            )
        h, w = src.height, src.width
        probes = {(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)}
        try:
            for r, c in sorted(probes):
                src.read(window=Window(c, r, 1, 1))
        except RasterioError as exc:
            raise InputError(
                where,
                f"is truncated or corrupt: reading pixel ({r}, {c}) failed ({_first_line(exc)})",
                "download or export the file again",
            ) from None
        if src.crs is None:
            raise InputError(where, *_no_crs_msg(path))
        t = src.transform
        if t.b != 0 or t.d != 0 or t.e >= 0:
            raise GridError(
                where,
                "is rotated or south-up",
                f"warp it to a north-up grid first, e.g. gdalwarp {path} north_up.tif",
            )
        grid = Grid(src.crs, t, w, h)
        return _RasterInfo(
            grid=grid,
            count=src.count,
            dtype=src.dtypes[0],
            nodata=src.nodata,
            descriptions=tuple(src.descriptions),
            scales=tuple(float(s) for s in src.scales),
            offsets=tuple(float(o) for o in src.offsets),
        )


def _resampling(name: str | Resampling) -> Resampling:
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


def _spatial_chunks(chunks: Any) -> tuple[int, int]:
    if isinstance(chunks, Mapping):
        return int(chunks.get("y", 1024)), int(chunks.get("x", 1024))
    if np.isscalar(chunks):
        return int(chunks), int(chunks)
    return int(chunks[0]), int(chunks[1])


def _categorical_target(dtype: Any, nodata: float | None) -> tuple[np.dtype, float]:
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


def _decode(
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
    info: _RasterInfo,
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
    cy, cx = _spatial_chunks(chunks)
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
        resampling=_resampling(resampling),
    )
    if not masked:
        dtype, dst_nodata = _categorical_target(info.dtype, src_nodata)
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
    where = _where(p, key)
    info = _inspect(p, where)
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
        attrs["resampling"] = _resampling(resampling).name
    if not masked:
        return _set_nodata(_finish(raw, name or p.stem, attrs), raw_nodata)
    scale = np.array([info.scales[i] for i in idx])
    offset = np.array([info.offsets[i] for i in idx])
    if "band" in raw.dims:
        scale_x: Any = xr.DataArray(scale, dims="band")
        offset_x: Any = xr.DataArray(offset, dims="band")
    else:
        scale_x, offset_x = float(scale[0]), float(offset[0])
    fills = [raw_nodata] + ([info.nodata] if grid is None or info.grid.same_as(grid) else [])
    values = _decode(raw, fills, scale_x, offset_x)
    return _finish(values, name or p.stem, attrs)


def _set_nodata(da: xr.DataArray, nodata: float | None) -> xr.DataArray:
    """Record the missing value of an integer layer in ``attrs["nodata"]`` and, as a plain Python
    number (JSON-serialisable), in ``attrs["_FillValue"]`` where ``.rio.nodata`` finds it. Float
    layers use NaN and record nothing."""
    da.attrs.pop("_FillValue", None)
    value = None if nodata is None else _json_number(nodata)
    if da.dtype.kind == "f" and value is None:
        return da
    da.attrs["nodata"] = value
    if value is not None:
        da.attrs["_FillValue"] = value
    return da


def _json_number(v: Any) -> Any:
    v = float(v)
    if math.isnan(v):
        return None
    return int(v) if v.is_integer() else v


# ================================================================================================
# Annual stacks
# ================================================================================================


def _year_in(text: str | None) -> int | None:
    """The single 4-digit year (1800..2100) in ``text``, or None if none or ambiguous."""
    if not text:
        return None
    found = set(int(m) for m in _YEAR_RE.findall(text))
    return found.pop() if len(found) == 1 else None


def open_annual_stack(
    source: str | os.PathLike,
    *,
    years: Sequence[int] | None = None,
    variable: str | None = None,
    aggregate: str = "mean",
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float | None = None,
    chunks: int | Mapping[str, int] = 1024,
    key: str = "inputs.productivity",
    grid: Grid | None = None,
    resampling: str = "average",
    workdir: str | os.PathLike | None = None,
    complete_years_only: bool = True,
    min_valid: int = 1,
) -> xr.DataArray:
    """Open an annual series (e.g. annual NDVI) as a lazy ``(year, y, x)`` float32 DataArray.

    ``source`` is one of

    a. a multi-band GeoTIFF: band ``i`` is the year parsed from its band description (``"2001"``,
       ``"NDVI_2001"``); if the descriptions carry no year, ``years`` gives the year of each band;
    b. a folder of single-band GeoTIFFs, the year parsed from each file name (must be unique);
    c. a NetCDF (``.nc``) or Zarr (``.zarr``) with a time axis (``variable`` names the data
       variable if there are several). Several values per calendar year (monthly, 16-day ...) are
       reduced per calendar year lazily and NaN-aware: ``aggregate="mean"`` (default) or ``"sum"``
       (an annual integral: the sum of the valid values, no gap filling). A pixel-year is NaN when
       it has fewer than ``min_valid`` valid values. With ``complete_years_only`` a year is kept only
       if the series covers the whole calendar year (first step within one time step of 1 January,
       last within one time step of 31 December) — this drops the partial years at the ends of a
       series; counts per year are recorded in ``attrs["steps_per_year"]``. Series that already
       have one value per year are not aggregated.

    Stored values are decoded: nodata / ``_FillValue`` / ``missing_value`` / valid range are
    masked, file scale and offset (``scale_factor``/``add_offset``) applied, then
    ``value * scale + offset`` with the arguments given here (e.g. ``scale=1e-4`` for NDVI stored
    × 10000 without metadata). ``nodata`` is the stored value meaning missing, in addition to the
    file's own.

    ``years`` selects years (:class:`PeriodError` if one is missing); for case (a) without year
    descriptions it labels the bands instead (its length must equal the band count).

    With ``grid``, the stack is aligned to it (``resampling`` ``"average"`` by default). GeoTIFF
    sources are read through a ``WarpedVRT``. NetCDF/Zarr stacks not on the grid are aligned with
    :func:`align`: with ``workdir``, the annual values are computed once into a temporary GeoTIFF
    there and warped through a ``WarpedVRT`` (eager; keep ``workdir`` until the result is
    computed); without, lazily block by block.

    The result has an int ``year`` coordinate, a CRS, NaN for missing and ``attrs`` recording how it
    was made.

    Example
    -------
    >>> evi = open_annual_stack("MOD13A2.006_aid0001.nc", variable="_1_km_16_days_EVI")
    >>> evi.sel(year=slice(2001, 2016)).mean("year")
    """
    src = Path(source)
    where = _where(src, key)
    if aggregate not in ("mean", "sum"):
        raise ConfigError(f"{key}.aggregate", f"unknown aggregate {aggregate!r}", "use mean or sum")
    if not is_virtual(src) and not src.exists():
        raise InputError(where, "file or folder not found", "check the path in the config")
    attrs: dict[str, Any] = {
        "method": "annual_stack",
        "source": str(src),
        "scale": float(scale),
        "offset": float(offset),
        "nodata": None if nodata is None else _json_number(nodata),
    }
    if src.suffix.lower() in _CF_SUFFIXES:
        out = _open_cf_stack(
            src,
            where,
            key=key,
            variable=variable,
            aggregate=aggregate,
            chunks=chunks,
            nodata=nodata,
            complete_years_only=complete_years_only,
            min_valid=min_valid,
            attrs=attrs,
        )
        out = _select_years(out, years, where)
        if scale != 1.0 or offset != 0.0:
            out = (out.astype(np.float64) * scale + offset).astype(np.float32)
        if grid is not None and not grid_of(out).same_as(grid):
            out = align(out, grid, resampling, chunks=chunks, key=key, workdir=workdir)
            attrs["aligned_via"] = out.attrs["aligned_via"]
            attrs["resampling"] = _resampling(resampling).name
    else:
        if src.is_dir():
            out = _open_folder_stack(src, where, years, chunks, nodata, grid, resampling, attrs)
        else:
            out = _open_multiband_stack(src, where, years, chunks, nodata, grid, resampling, attrs)
        if scale != 1.0 or offset != 0.0:
            out = (out.astype(np.float64) * scale + offset).astype(np.float32)
    cy, cx = _spatial_chunks(chunks)
    out = out.chunk({"year": -1, "y": cy, "x": cx})
    attrs["years"] = [int(y) for y in out["year"].values]
    out.attrs = attrs
    out.name = str(attrs.get("variable") or src.stem)
    return out


def _as_years(da: xr.DataArray, years: Sequence[int]) -> xr.DataArray:
    """(band, y, x) or (y, x) -> (year, y, x) with an int year coordinate."""
    if "band" not in da.dims:
        da = da.expand_dims("band")
    da = da.rename(band="year").assign_coords(year=np.asarray(years, dtype=int))
    return da


def _select_years(da: xr.DataArray, years: Sequence[int] | None, where: str) -> xr.DataArray:
    if years is None:
        return da
    have = [int(y) for y in da["year"].values]
    missing = sorted(set(int(y) for y in years) - set(have))
    if missing:
        raise PeriodError(
            where,
            f"has no data for year(s) {missing} (it has {_span(have)})",
            "choose years the input covers, or add the missing years",
        )
    return da.sel(year=[int(y) for y in years])


def _span(years: Sequence[int]) -> str:
    ys = sorted(years)
    if not ys:
        return "no years"
    if ys == list(range(ys[0], ys[-1] + 1)):
        return f"{ys[0]}-{ys[-1]}"
    return ", ".join(map(str, ys))


def band_years(
    path: str | os.PathLike, years: Sequence[int] | None = None, *, key: str | None = None
) -> list[int]:
    """The year of each band of a multi-band raster: parsed from the band descriptions (``"2001"``,
    ``"NDVI_2001"``) when they give one distinct year per band, otherwise ``years`` (one per band).

    Raises :class:`InputError` when neither gives one year per band.

    Example
    -------
    >>> band_years("lc_2000-2015.tif")
    [2000, 2015]
    """
    p = Path(path)
    return _band_years(p, years, _where(p, key))[0]


def _band_years(path: Path, years: Sequence[int] | None, where: str) -> tuple[list[int], bool]:
    info = _inspect(path, where)
    desc_years = [_year_in(d) for d in info.descriptions]
    if all(y is not None for y in desc_years) and len(set(desc_years)) == info.count:
        return [int(y) for y in desc_years], True  # type: ignore[arg-type]
    if years is not None:
        if len(years) != info.count:
            raise InputError(
                where,
                f"has {info.count} band(s) but {len(years)} year(s) were given",
                "give one year per band, or set band descriptions to the years",
            )
        return [int(y) for y in years], False
    raise InputError(
        where,
        "band descriptions do not give one distinct year per band",
        "set `years` (one per band), or set the band descriptions to the years ('2001', '2002' ...)",
    )


def _open_multiband_stack(
    src: Path,
    where: str,
    years: Sequence[int] | None,
    chunks: Any,
    nodata: float | None,
    grid: Grid | None,
    resampling: str,
    attrs: dict[str, Any],
) -> xr.DataArray:
    labels, from_descriptions = _band_years(src, years, where)
    select = years if from_descriptions else None
    attrs["years_from"] = "band descriptions" if from_descriptions else "years argument"
    da = open_layer(src, chunks=chunks, grid=grid, resampling=resampling, nodata=nodata, masked=True)
    da = _as_years(da, labels).sortby("year")
    attrs["source_kind"] = "multi-band GeoTIFF"
    if "resampling" in da.attrs:
        attrs["resampling"] = da.attrs["resampling"]
    return _select_years(da, select, where)


def _open_folder_stack(
    folder: Path,
    where: str,
    years: Sequence[int] | None,
    chunks: Any,
    nodata: float | None,
    grid: Grid | None,
    resampling: str,
    attrs: dict[str, Any],
) -> xr.DataArray:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _TIFF_SUFFIXES)
    if not files:
        raise InputError(where, "contains no GeoTIFF (.tif) files", "check the folder")
    by_year: dict[int, list[Path]] = {}
    for f in files:
        y = _year_in(f.stem)
        if y is None:
            raise InputError(
                _where(f, None),
                "file name does not contain one distinct 4-digit year",
                "name per-year files like ndvi_2001.tif, or move other files out of the folder",
            )
        by_year.setdefault(y, []).append(f)
    dupes = {y: fs for y, fs in by_year.items() if len(fs) > 1}
    if dupes:
        y, fs = next(iter(sorted(dupes.items())))
        raise InputError(
            where,
            f"has {len(fs)} files for year {y}: {', '.join(f.name for f in fs)}",
            "keep one file per year in the folder",
        )
    chosen = sorted(by_year)
    if years is not None:
        missing = sorted(set(int(y) for y in years) - set(chosen))
        if missing:
            raise PeriodError(
                where,
                f"has no file for year(s) {missing} (it has {_span(chosen)})",
                "choose years the input covers, or add the missing files",
            )
        chosen = sorted(set(int(y) for y in years))
    first_grid = None
    layers = []
    for y in chosen:
        f = by_year[y][0]
        info = _inspect(f, _where(f, None))
        if info.count != 1:
            raise InputError(
                _where(f, None),
                f"has {info.count} bands; a folder stack needs single-band files",
                "split the bands or use a multi-band file as the source",
            )
        if grid is None:
            if first_grid is None:
                first_grid = info.grid
            elif not info.grid.same_as(first_grid):
                raise GridError(
                    _where(f, None),
                    f"is on a different grid ({info.grid}) from {by_year[chosen[0]][0].name} ({first_grid})",
                    "give the stack a target grid so each file is aligned",
                )
        layers.append(
            open_layer(f, chunks=chunks, grid=grid, resampling=resampling, nodata=nodata, masked=True)
        )
    out = xr.concat(layers, dim="year", join="override", combine_attrs="drop")
    out = out.assign_coords(year=np.asarray(chosen, dtype=int))
    out = out.rio.write_crs(layers[0].rio.crs).rio.write_transform(layers[0].rio.transform())
    attrs["source_kind"] = "folder of per-year GeoTIFFs"
    attrs["files"] = {str(y): by_year[y][0].name for y in chosen}
    if grid is not None and any("resampling" in da.attrs for da in layers):
        attrs["resampling"] = _resampling(resampling).name
    return out


# --- NetCDF / Zarr ------------------------------------------------------------------------------

_X_NAMES = ("x", "lon", "longitude", "xdim", "xc", "easting")
_Y_NAMES = ("y", "lat", "latitude", "ydim", "yc", "northing")
_T_NAMES = ("time", "t", "date", "year", "years")


def _classify_dim(ds: xr.Dataset, dim: str) -> str | None:
    coord = ds[dim] if dim in ds.variables else None
    attrs = coord.attrs if coord is not None else {}
    axis = str(attrs.get("axis", "")).upper()
    std = str(attrs.get("standard_name", "")).lower()
    low = dim.lower()
    if axis == "T" or std == "time" or low in _T_NAMES:
        return "time"
    if coord is not None and np.issubdtype(coord.dtype, np.datetime64):
        return "time"
    if axis == "X" or std in ("projection_x_coordinate", "longitude") or low in _X_NAMES:
        return "x"
    if axis == "Y" or std in ("projection_y_coordinate", "latitude") or low in _Y_NAMES:
        return "y"
    return None


def open_cf_dataset(path: Path, where: str) -> xr.Dataset:
    """A NetCDF file or Zarr store, lazily, raw values (masking and scaling are done by the caller)."""
    try:
        with warnings.catch_warnings():
            # stores without consolidated metadata open fine, only slower
            warnings.filterwarnings("ignore", "Failed to open Zarr store with consolidated")
            if path.suffix.lower() == ".zarr":
                return xr.open_zarr(path, decode_coords="all", mask_and_scale=False, chunks={})
            return xr.open_dataset(path, decode_coords="all", mask_and_scale=False, chunks={})
    except Exception as exc:  # netCDF4/zarr raise many types; all mean "unreadable"
        raise InputError(
            where,
            f"cannot be read as NetCDF/Zarr ({type(exc).__name__}: {' '.join(str(exc).split())})",
            "check that the file is complete and is NetCDF-4/HDF5 or a Zarr store",
        ) from None


def choose_variable(
    ds: xr.Dataset, variable: str | None, candidates: list, key: str, file_name: str, what: str
) -> str:
    """The variable to read: the one given, else the only candidate; ConfigError naming the choices."""
    if variable is None:
        if len(candidates) != 1:
            raise ConfigError(
                f"{key}.variable",
                f"{file_name} has {len(candidates)} {what} ({', '.join(map(str, candidates))})",
                "set `variable` to the one to use",
            )
        return str(candidates[0])
    if variable not in ds.data_vars:
        raise ConfigError(
            f"{key}.variable",
            f"{file_name} has no variable {variable!r} (it has {', '.join(map(str, ds.data_vars))})",
            "set `variable` to one of these",
        )
    return variable


def _open_cf_stack(
    path: Path,
    where: str,
    *,
    key: str,
    variable: str | None,
    aggregate: str,
    chunks: Any,
    nodata: float | None,
    complete_years_only: bool,
    min_valid: int,
    attrs: dict[str, Any],
) -> xr.DataArray:
    ds = open_cf_dataset(path, where)
    variable = choose_variable(
        ds, variable, [v for v in ds.data_vars if ds[v].ndim >= 3], key, path.name, "gridded variables"
    )
    da = ds[variable]
    roles = {d: _classify_dim(ds, str(d)) for d in da.dims}
    if sorted(r for r in roles.values() if r) != ["time", "x", "y"] or len(da.dims) != 3:
        raise InputError(
            where,
            f"variable {variable} has dims {da.dims}; need one time and two spatial dims",
            "give a (time, y, x) variable",
        )
    da = da.rename({d: r for d, r in roles.items() if r and d != r})
    da = da.transpose("time", "y", "x")
    crs = da.rio.crs
    if crs is None:
        if roles and any(str(d).lower() in ("lat", "latitude", "lon", "longitude") for d in roles):
            crs = CRS.from_epsg(4326)
            attrs["crs_assumed"] = "EPSG:4326 (latitude/longitude axes, no grid mapping)"
        else:
            raise InputError(
                where,
                f"variable {variable} has no coordinate reference system",
                "add a CF grid_mapping variable (e.g. with rioxarray .rio.write_crs) or use a GeoTIFF",
            )
    # north-up: NetCDF often stores latitude ascending
    if da.sizes["y"] > 1 and float(da["y"][1]) > float(da["y"][0]):
        da = da.isel(y=slice(None, None, -1))
    if da.sizes["x"] > 1 and float(da["x"][1]) < float(da["x"][0]):
        da = da.isel(x=slice(None, None, -1))
    # decode CF packing ourselves: fill/missing/valid range are in stored units
    a = ds[variable].attrs
    fills = [a.get("_FillValue"), nodata]
    mv = a.get("missing_value")
    fills += list(np.atleast_1d(mv)) if mv is not None else []
    vmin, vmax = a.get("valid_min"), a.get("valid_max")
    if "valid_range" in a:
        vmin, vmax = np.asarray(a["valid_range"]).tolist()
    values = _decode(
        da.drop_vars([c for c in da.coords if c not in ("time", "y", "x")]),
        fills,
        float(a.get("scale_factor", 1.0)),
        float(a.get("add_offset", 0.0)),
        None if vmin is None else float(vmin),
        None if vmax is None else float(vmax),
    )
    attrs.update(source_kind="NetCDF/Zarr", variable=variable)
    annual = _annualise(
        values,
        where,
        aggregate=aggregate,
        complete_years_only=complete_years_only,
        min_valid=min_valid,
        chunks=chunks,
        attrs=attrs,
    )
    annual = annual.rio.write_crs(crs)
    # the file's stored x/y can differ from transform-derived centres in the last bits: use the
    # canonical ones so the stack aligns exactly with layers opened on the same grid
    g = Grid(crs, annual.rio.transform(recalc=True), annual.sizes["x"], annual.sizes["y"])
    annual = annual.assign_coords(g.to_dataarray_coords())
    return annual.rio.write_transform(g.transform)


def _annualise(
    da: xr.DataArray,
    where: str,
    *,
    aggregate: str,
    complete_years_only: bool,
    min_valid: int,
    chunks: Any,
    attrs: dict[str, Any],
) -> xr.DataArray:
    """(time, y, x) -> (year, y, x): NaN-aware mean/sum per calendar year (lazy)."""
    cy, cx = _spatial_chunks(chunks)
    t = da["time"]
    if np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.floating):
        # an integer axis is a year axis already
        yrs = t.values.astype(int)
        if len(set(yrs.tolist())) != len(yrs):
            raise InputError(where, "has repeated values on its year axis", "give one per year")
        attrs["aggregate"] = "none (already annual)"
        out = da.rename(time="year").assign_coords(year=yrs).sortby("year")
        return out.chunk({"year": -1, "y": cy, "x": cx})
    da = da.sortby("time")
    t = da["time"]
    year = t.dt.year.values.astype(int)
    doy = t.dt.dayofyear.values.astype(float)
    uniq, first_idx, counts = np.unique(year, return_index=True, return_counts=True)
    if counts.max() == 1:
        attrs["aggregate"] = "none (already annual)"
        out = da.rename(time="year").assign_coords(year=year)
        return out.chunk({"year": -1, "y": cy, "x": cx})
    # typical time step in days (robust to the year wrap and to leap years)
    steps = np.diff(year * 365.25 + doy)
    step = float(np.median(steps)) if len(steps) else 365.0
    days_in_year = np.where((uniq % 4 == 0) & ((uniq % 100 != 0) | (uniq % 400 == 0)), 366, 365)
    keep, dropped = [], []
    for k in range(len(uniq)):
        i0, n = int(first_idx[k]), int(counts[k])
        covers = doy[i0] <= step + 1 and doy[i0 + n - 1] >= days_in_year[k] - step
        (keep if covers or not complete_years_only else dropped).append(k)
    if not keep:
        raise PeriodError(
            where,
            f"has no complete calendar year (time step ~{step:.0f} days)",
            "use a series covering whole years, or set complete_years_only=False",
        )
    # one time chunk per year keeps each year's reduction inside its own blocks
    da = da.chunk({"time": tuple(int(c) for c in counts), "y": cy, "x": cx})
    pieces = []
    for k in keep:
        i0, n = int(first_idx[k]), int(counts[k])
        sub = da.isel(time=slice(i0, i0 + n))
        valid = sub.notnull().sum("time")
        red = sub.sum("time", skipna=True) if aggregate == "sum" else sub.mean("time", skipna=True)
        pieces.append(red.where(valid >= min_valid).astype(np.float32))
    out = xr.concat(pieces, dim="year", coords="minimal", compat="override")
    out = out.assign_coords(year=np.asarray([int(uniq[k]) for k in keep], dtype=int))
    attrs.update(
        aggregate=aggregate,
        time_step_days=round(step, 2),
        min_valid=int(min_valid),
        complete_years_only=bool(complete_years_only),
        steps_per_year={str(int(uniq[k])): int(counts[k]) for k in keep},
        years_dropped=[int(uniq[k]) for k in dropped],
    )
    return out


# ================================================================================================
# Overlap and alignment
# ================================================================================================


def _fmt(b: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in b) + ")"


def _same_crs(a: CRS | None, b: CRS | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return bool(a == b)
    except Exception:  # very unusual WKT: fall back to text comparison
        return a.to_wkt() == b.to_wkt()


def _transform_bounds(
    src_crs: CRS, dst_crs: CRS, bounds: Sequence[float]
) -> tuple[float, float, float, float] | None:
    """Bounds in ``dst_crs`` of a box in ``src_crs``; None if no point of it can be transformed.

    Falls back to transforming a dense sample of the box when the edges leave the projection's
    valid area (transform_bounds then returns inf)."""
    if _same_crs(src_crs, dst_crs):
        return tuple(float(v) for v in bounds)  # type: ignore[return-value]
    with contextlib.suppress(Exception):
        tb = rasterio.warp.transform_bounds(src_crs, dst_crs, *bounds, densify_pts=21)
        if all(np.isfinite(tb)):
            return tuple(float(v) for v in tb)  # type: ignore[return-value]
    left, bottom, right, top = bounds
    xs, ys = np.meshgrid(np.linspace(left, right, 41), np.linspace(bottom, top, 41))
    try:
        tx, ty = rasterio.warp.transform(src_crs, dst_crs, xs.ravel(), ys.ravel())
    except Exception:
        return None
    tx, ty = np.asarray(tx), np.asarray(ty)
    ok = np.isfinite(tx) & np.isfinite(ty)
    if not ok.any():
        return None
    return float(tx[ok].min()), float(ty[ok].min()), float(tx[ok].max()), float(ty[ok].max())


def check_overlap(
    grid: Grid,
    other: Grid | Sequence[float],
    where: str,
    *,
    crs: Any = None,
) -> tuple[float, float, float, float]:
    """Raise :class:`GridError` unless ``other`` (a Grid, or bounds in ``crs`` — default the grid's
    CRS) overlaps ``grid``. Returns the intersection in grid CRS units."""
    if isinstance(other, Grid):
        ob, ocrs = other.bounds, other.crs
    else:
        ob, ocrs = tuple(other), CRS.from_user_input(crs) if crs is not None else grid.crs
    tb = _transform_bounds(ocrs, grid.crs, ob)
    gl, gb, gr, gt = grid.bounds
    if tb is not None:
        left, bottom = max(gl, tb[0]), max(gb, tb[1])
        right, top = min(gr, tb[2]), min(gt, tb[3])
        if right > left and top > bottom:
            return left, bottom, right, top
    raise GridError(
        where,
        f"does not overlap the target grid (layer bounds {_fmt(ob)} in {_crs_name(ocrs)}, "
        f"grid bounds {_fmt(grid.bounds)} in {_crs_name(grid.crs)})",
        "check the layer's CRS and extent: every input must cover the area of interest",
    )


def _crs_name(crs: CRS) -> str:
    epsg = None
    with contextlib.suppress(Exception):
        epsg = crs.to_epsg()
    if epsg:
        return f"EPSG:{epsg}"
    with contextlib.suppress(Exception):
        wkt = crs.to_wkt()
        m = re.match(r'\w+\["([^"]+)"', wkt)
        if m:
            return m.group(1)
    return "custom CRS"


def _source_window(dst_grid: Grid, src_grid: Grid, pad: int) -> tuple[int, int, int, int] | None:
    """(row0, row1, col0, col1) of source pixels needed for ``dst_grid``, or None if none."""
    tb = _transform_bounds(dst_grid.crs, src_grid.crs, dst_grid.bounds)
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
    tb = _transform_bounds(dst_grid.crs, src_grid.crs, inter)
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
    where = key or _name_of(da)
    src_grid = grid_of(da)
    if tuple(da.dims[-2:]) != ("y", "x") or da.ndim not in (2, 3):
        raise ValueError(f"align expects dims (y, x) or (lead, y, x), got {da.dims}")
    cy, cx = _spatial_chunks(chunks)
    if src_grid.same_as(grid):
        out = da.assign_coords(grid.to_dataarray_coords())
        if isinstance(da.data, dsa.Array):
            out = out.chunk({"y": cy, "x": cx})
        return out.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    check_overlap(grid, src_grid, where)
    rs = _resampling(resampling)
    if workdir is not None and isinstance(da.data, dsa.Array):
        return _align_via_file(da, grid, rs, chunks, nodata, Path(workdir), where)
    extras = _kernel_scale(src_grid, grid) if rs.name in _KERNELS else {}
    kind = da.dtype.kind
    if kind == "f":
        dtype, src_nd, dst_nd = np.dtype("float32"), np.nan, np.nan
        if nodata is not None and not math.isnan(nodata):
            src_nd = nodata  # an explicit fill value inside a float layer
    else:
        src_nd = nodata
        if src_nd is None:
            src_nd = da.attrs.get("nodata", da.rio.nodata)
        dtype, dst_nd = _categorical_target(da.dtype, src_nd)
    lead = da.dims[0] if da.ndim == 3 else None
    nlead = da.sizes[lead] if lead else None
    data = da.data
    if not isinstance(data, dsa.Array):
        # already in memory: warp in one go
        out_np = _warp_block(
            np.asarray(data),
            src_grid.transform,
            src_grid.crs,
            grid,
            nlead,
            dtype,
            src_nd,
            dst_nd,
            rs,
            extras,
        )
        result_data: Any = out_np
    else:
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
                shape = (h, w) if lead is None else (nlead, h, w)
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
        result_data = dsa.block(rows) if lead is None else dsa.block([rows])
    coords: dict[str, Any] = {}
    if lead is not None and lead in da.coords:
        coords[lead] = da.coords[lead].values
    attrs = dict(da.attrs)
    attrs["resampling"] = rs.name
    attrs["aligned_via"] = "block-wise reproject"
    if kind != "f":
        attrs["nodata"] = _json_number(dst_nd)
    out = grid.wrap(result_data, dims=da.dims, coords=coords, name=da.name, attrs=attrs, nodata=dst_nd)
    return out


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
    _write_gtiffs([_prepare(da, tmp, None, nodata, "", {})], None, cog=False)
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
    return _set_nodata(out, attrs.get("nodata")) if not masked else out


def _name_of(obj: Any) -> str:
    if isinstance(obj, xr.DataArray):
        return str(obj.attrs.get("source") or obj.name or "layer")
    return "dataset"


# ================================================================================================
# Writing
# ================================================================================================


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


def _jsonable(v: Any) -> Any:
    """JSON-serialisable copy of an attribute value, or raise TypeError."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, tuple):
        v = list(v)
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
        data = dsa.from_array(data, chunks=(-1,) * (data.ndim - 2) + _spatial_chunks(chunks))
    if data.ndim == 2:
        data = data[None]
        descriptions = [description or str(da.name or "")]
    else:
        lead = da.dims[0]
        if lead in da.coords:
            descriptions = [str(_jsonable(v)) for v in da.coords[lead].values]
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
            all_tags[str(k)] = _jsonable(v)
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
            dst.update_tags(**_gdal_tags(p))


def _gdal_tags(p: _Prepared) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in p.tags.items():
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", k)
        out[safe] = v if isinstance(v, str) else json.dumps(v)
    out[ATTRS_TAG] = json.dumps(p.tags)
    if p.legend is not None:
        out[LEGEND_TAG] = json.dumps(_legend_dict(p.legend))
    return out


def _legend_dict(legend: codes.Legend) -> dict[str, Any]:
    return {
        "name": legend.name,
        "codes": list(legend.codes),
        "names": list(legend.names),
        "colours": list(legend.colours),
    }


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
        *(f"    <MDI key={quoteattr(k)}>{escape(v)}</MDI>" for k, v in _gdal_tags(p).items()),
        "  </Metadata>",
    ]
    nodata = None
    if p.nodata is not None:
        nodata = "nan" if math.isnan(p.nodata) else repr(_json_number(p.nodata))
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
        Path(str(job.path) + ".aux.xml").write_text(_rat_xml(job.legend, job.bands), encoding="utf-8")
        job.path.with_suffix(".qml").write_text(_qml(job.legend, job.nodata), encoding="utf-8")


def _rat_xml(legend: codes.Legend, bands: int) -> str:
    """GDAL PAM sidecar with a thematic Raster Attribute Table per band.

    Field types: 0 integer, 2 string; usages: 5 MinMax (class value), 2 Name, 6-9 Red, Green,
    Blue, Alpha (GDALRATFieldType / GDALRATFieldUsage)."""
    fields = [
        ("Value", 0, 5),
        ("Class name", 2, 2),
        ("Red", 0, 6),
        ("Green", 0, 7),
        ("Blue", 0, 8),
        ("Alpha", 0, 9),
    ]
    lines = ["<PAMDataset>"]
    for b in range(1, bands + 1):
        lines.append(f'  <PAMRasterBand band="{b}">')
        lines.append('    <GDALRasterAttributeTable tableType="thematic">')
        for i, (name, ftype, usage) in enumerate(fields):
            lines.append(
                f'      <FieldDefn index="{i}"><Name>{escape(name)}</Name><Type>{ftype}</Type>'
                f"<Usage>{usage}</Usage></FieldDefn>"
            )
        for i, (code, name, colour) in enumerate(
            zip(legend.codes, legend.names, legend.colours, strict=True)
        ):
            r, g, bl, a = codes.hex_to_rgba(colour)
            cells = "".join(f"<F>{escape(str(v))}</F>" for v in (code, name, r, g, bl, a))
            lines.append(f'      <Row index="{i}">{cells}</Row>')
        lines.append("    </GDALRasterAttributeTable>")
        lines.append("  </PAMRasterBand>")
    lines.append("</PAMDataset>")
    return "\n".join(lines) + "\n"


def _qml(legend: codes.Legend, nodata: float | None) -> str:
    """QGIS layer style: paletted renderer with one entry (value, colour, label) per code."""
    entries = "\n".join(
        f"        <paletteEntry value={quoteattr(str(c))} color={quoteattr(col.lower())} "
        f'alpha="255" label={quoteattr(f"{c} {n}")}/>'
        for c, n, col in zip(legend.codes, legend.names, legend.colours, strict=True)
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="AllStyleCategories">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" '
        'nodataColor="">\n'
        "      <rasterTransparency/>\n"
        "      <colorPalette>\n"
        f"{entries}\n"
        "      </colorPalette>\n"
        "    </rasterrenderer>\n"
        '    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>\n'
        '    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>\n'
        '    <rasterresampler maxOversampling="2"/>\n'
        "  </pipe>\n"
        "  <blendMode>0</blendMode>\n"
        "</qgis>\n"
    )


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
    JSON, in ``LDNKIT_ATTRS`` (see :func:`read_tags`). A 3-D layer gets one band per leading
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
    later in the same run with :func:`open_layer`: uncompressed, no COG copy, no legend, and the
    layer's dtype kept (float64 stays float64, so values round-trip exactly; NaN is missing).

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


def read_legend(path: str | os.PathLike) -> codes.Legend | None:
    """The legend stored by :func:`write_layer` in ``path`` (``None`` if it has none)."""
    with rasterio.open(path) as src:
        text = src.tags().get(LEGEND_TAG)
    if not text:
        return None
    d = json.loads(text)
    return codes.Legend(d["name"], tuple(d["codes"]), tuple(d["names"]), tuple(d["colours"]))


def read_tags(path: str | os.PathLike) -> dict[str, Any]:
    """Attributes/tags written by :func:`write_layer` (exact JSON round trip); for other files,
    the plain GeoTIFF metadata."""
    with rasterio.open(path) as src:
        tags = src.tags()
    if ATTRS_TAG in tags:
        return json.loads(tags[ATTRS_TAG])
    return dict(tags)


# ================================================================================================
# Run folder
# ================================================================================================


@contextlib.contextmanager
def atomic_output_dir(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder ``.<name>.partial-<random>``; rename it to ``path`` when
    the block succeeds, delete it if anything fails — so ``path`` is either complete or absent.

    An existing ``path`` raises :class:`ConfigError` unless ``overwrite``; it is then replaced
    only after success (the old folder is kept if the run fails).

    Example
    -------
    >>> with atomic_output_dir("runs/kenya_2023") as tmp:
    ...     write_layer(sdg, tmp / "sdg.tif", legend=codes.DEGRADATION)
    """
    final = Path(path)
    if final.exists() and not overwrite:
        raise ConfigError(
            str(final),
            "output folder already exists",
            "choose another output folder or allow overwriting (--overwrite)",
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.partial-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    try:
        if final.exists():
            if not overwrite:
                raise ConfigError(
                    str(final),
                    "output folder appeared while the run was going",
                    "choose another output folder or allow overwriting (--overwrite)",
                )
            old = final.parent / f".{final.name}.old-{secrets.token_hex(4)}"
            final.rename(old)
        tmp.rename(final)
    except BaseException:
        if old is not None and not final.exists():
            old.rename(final)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
