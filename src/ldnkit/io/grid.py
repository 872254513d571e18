"""The pixel grid of a layer or a raster file: :class:`Grid` (CRS, transform, size), :func:`grid_of`,
overlap checks and the CRS / bounds helpers they need.

The grid of a file comes from one cached inspection of it (:func:`inspect_raster`), which also
checks the file is complete and georeferenced, and gives its band count, dtype, nodata, band
descriptions and scale/offset to the readers.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as dsa
import numpy as np
import rasterio
import rasterio.warp
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.windows import Window

from ldnkit.errors import GridError, InputError
from ldnkit.io.nodata import set_nodata


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
        return set_nodata(out, nodata)

    def template(
        self,
        chunks: int | tuple[int, int] = 1024,
        dtype: Any = "float32",
        fill: float = np.nan,
        name: str | None = None,
    ) -> xr.DataArray:
        """A lazy constant DataArray on this grid (useful as a map_blocks template)."""
        data = dsa.full(self.shape, fill, dtype=dtype, chunks=spatial_chunks(chunks))
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
                layer_name(obj),
                "has no coordinate reference system",
                "assign one with da.rio.write_crs('EPSG:4326')",
            )
        return Grid(crs, obj.rio.transform(), obj.rio.width, obj.rio.height)
    if hasattr(obj, "transform") and hasattr(obj, "crs") and hasattr(obj, "width"):
        if obj.crs is None:
            raise InputError(obj.name, *_no_crs_msg(obj.name))
        return Grid(obj.crs, obj.transform, obj.width, obj.height)
    return inspect_raster(Path(obj), str(obj)).grid


def layer_name(obj: Any) -> str:
    """How error messages name a layer: its ``source`` attribute, else its name, else ``"layer"``."""
    if isinstance(obj, xr.DataArray):
        return str(obj.attrs.get("source") or obj.name or "layer")
    return "dataset"


def spatial_chunks(chunks: Any) -> tuple[int, int]:
    """Block size ``(y, x)`` in pixels from an int, a ``(y, x)`` pair or a dict with ``y``/``x``
    (1024 where the dict has none)."""
    if isinstance(chunks, Mapping):
        return int(chunks.get("y", 1024)), int(chunks.get("x", 1024))
    if np.isscalar(chunks):
        return int(chunks), int(chunks)
    return int(chunks[0]), int(chunks[1])


def _fmt(b: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in b) + ")"


def _same_crs(a: CRS | None, b: CRS | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return bool(a == b)
    except Exception:  # very unusual WKT: fall back to text comparison
        return a.to_wkt() == b.to_wkt()


def transform_bounds(
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
    tb = transform_bounds(ocrs, grid.crs, ob)
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


@dataclass(frozen=True)
class RasterInfo:
    """What one inspection of a raster file found: its grid, band count, dtype of band 1, nodata,
    band descriptions and per-band scale and offset."""

    grid: Grid
    count: int
    dtype: str
    nodata: float | None
    descriptions: tuple[str | None, ...]
    scales: tuple[float, ...]
    offsets: tuple[float, ...]


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
_INSPECTED: dict[tuple[str, int, int], RasterInfo] = {}
_INSPECTED_LOCK = threading.Lock()
_INSPECTED_MAX = 512


def is_virtual(path: str | os.PathLike) -> bool:
    """True for a GDAL virtual file system path (``/vsis3/bucket/key.tif``, ``/vsigs/...``,
    ``/vsiaz/...``, ``/vsicurl/https://...``): read by GDAL directly, not on the local disk."""
    return str(path).startswith("/vsi")


def inspect_raster(path: Path, where: str) -> RasterInfo:
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


def _inspect_file(path: Path, where: str) -> RasterInfo:
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
        return RasterInfo(
            grid=grid,
            count=src.count,
            dtype=src.dtypes[0],
            nodata=src.nodata,
            descriptions=tuple(src.descriptions),
            scales=tuple(float(s) for s in src.scales),
            offsets=tuple(float(o) for o in src.offsets),
        )
