"""The table of input formats (:data:`READERS`) and annual stacks (:func:`open_annual_stack`).

As xarray's backends (``BackendEntrypoint.guess_can_open``), each input format is one
:class:`Reader` with a ``can_open(path)`` test and the function opening it as an annual
``(year, y, x)`` stack; the first reader whose test passes opens the path. A new input format is
one new entry in :data:`READERS`; :func:`format_of` tells other readers (climate series) which
format a path is.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ldnkit.errors import ConfigError, GridError, InputError, PeriodError
from ldnkit.io.cf import annual_cf_stack
from ldnkit.io.grid import Grid, grid_of, inspect_raster, is_virtual, spatial_chunks
from ldnkit.io.nodata import json_number
from ldnkit.io.read import open_layer, resampling_method, source_label
from ldnkit.io.warp import align

_YEAR_RE = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)(?!\d)")


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

    ``source`` is one of (the first reader of :data:`READERS` whose ``can_open`` accepts it opens it)

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
    :func:`ldnkit.io.warp.align`: with ``workdir``, the annual values are computed once into a
    temporary GeoTIFF there and warped through a ``WarpedVRT`` (eager; keep ``workdir`` until the
    result is computed); without, lazily block by block.

    The result has an int ``year`` coordinate, a CRS, NaN for missing and ``attrs`` recording how it
    was made.

    Example
    -------
    >>> evi = open_annual_stack("MOD13A2.006_aid0001.nc", variable="_1_km_16_days_EVI")
    >>> evi.sel(year=slice(2001, 2016)).mean("year")
    """
    src = Path(source)
    where = source_label(src, key)
    if aggregate not in ("mean", "sum"):
        raise ConfigError(f"{key}.aggregate", f"unknown aggregate {aggregate!r}", "use mean or sum")
    if not is_virtual(src) and not src.exists():
        raise InputError(where, "file or folder not found", "check the path in the config")
    attrs: dict[str, Any] = {
        "method": "annual_stack",
        "source": str(src),
        "scale": float(scale),
        "offset": float(offset),
        "nodata": None if nodata is None else json_number(nodata),
    }
    request = StackRequest(
        key=key,
        years=years,
        variable=variable,
        aggregate=aggregate,
        scale=scale,
        offset=offset,
        nodata=nodata,
        chunks=chunks,
        grid=grid,
        resampling=resampling,
        workdir=workdir,
        complete_years_only=complete_years_only,
        min_valid=min_valid,
        attrs=attrs,
    )
    out = reader_for(src).open_stack(src, where, request)
    cy, cx = spatial_chunks(chunks)
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
    return _band_years(p, years, source_label(p, key))[0]


def _band_years(path: Path, years: Sequence[int] | None, where: str) -> tuple[list[int], bool]:
    info = inspect_raster(path, where)
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


def _open_multiband_stack(src: Path, where: str, request: StackRequest) -> xr.DataArray:
    """A multi-band GDAL raster, one band per year."""
    years, attrs = request.years, request.attrs
    labels, from_descriptions = _band_years(src, years, where)
    select = years if from_descriptions else None
    attrs["years_from"] = "band descriptions" if from_descriptions else "years argument"
    da = open_layer(
        src,
        chunks=request.chunks,
        grid=request.grid,
        resampling=request.resampling,
        nodata=request.nodata,
        masked=True,
    )
    da = _as_years(da, labels).sortby("year")
    attrs["source_kind"] = "multi-band GeoTIFF"
    if "resampling" in da.attrs:
        attrs["resampling"] = da.attrs["resampling"]
    return _scaled(_select_years(da, select, where), request)


def _open_folder_stack(folder: Path, where: str, request: StackRequest) -> xr.DataArray:
    """A folder of single-band GeoTIFFs, the year parsed from each file name."""
    years, grid, resampling, attrs = request.years, request.grid, request.resampling, request.attrs
    chunks, nodata = request.chunks, request.nodata
    files = sorted(p for p in folder.iterdir() if _GEOTIFF.can_open(p))
    if not files:
        raise InputError(where, "contains no GeoTIFF (.tif) files", "check the folder")
    by_year: dict[int, list[Path]] = {}
    for f in files:
        y = _year_in(f.stem)
        if y is None:
            raise InputError(
                source_label(f, None),
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
        info = inspect_raster(f, source_label(f, None))
        if info.count != 1:
            raise InputError(
                source_label(f, None),
                f"has {info.count} bands; a folder stack needs single-band files",
                "split the bands or use a multi-band file as the source",
            )
        if grid is None:
            if first_grid is None:
                first_grid = info.grid
            elif not info.grid.same_as(first_grid):
                raise GridError(
                    source_label(f, None),
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
        attrs["resampling"] = resampling_method(resampling).name
    return _scaled(out, request)


def open_cf_dataset(path: Path, where: str) -> xr.Dataset:
    """A NetCDF file or Zarr store, lazily, raw values (masking and scaling are done by the caller)."""
    opener = reader_for(path).open_dataset or _open_netcdf
    try:
        with warnings.catch_warnings():
            # stores without consolidated metadata open fine, only slower
            warnings.filterwarnings("ignore", "Failed to open Zarr store with consolidated")
            return opener(path)
    except Exception as exc:  # netCDF4/zarr raise many types; all mean "unreadable"
        raise InputError(
            where,
            f"cannot be read as NetCDF/Zarr ({type(exc).__name__}: {' '.join(str(exc).split())})",
            "check that the file is complete and is NetCDF-4/HDF5 or a Zarr store",
        ) from None


def _open_netcdf(path: Path) -> xr.Dataset:
    return xr.open_dataset(path, decode_coords="all", mask_and_scale=False, chunks={})


def _open_zarr(path: Path) -> xr.Dataset:
    return xr.open_zarr(path, decode_coords="all", mask_and_scale=False, chunks={})


def _open_cf_stack(path: Path, where: str, request: StackRequest) -> xr.DataArray:
    """The gridded variable of a NetCDF file or Zarr store, annualised, on ``request.grid``."""
    out = annual_cf_stack(
        open_cf_dataset(path, where),
        path.name,
        where,
        key=request.key,
        variable=request.variable,
        aggregate=request.aggregate,
        chunks=request.chunks,
        nodata=request.nodata,
        complete_years_only=request.complete_years_only,
        min_valid=request.min_valid,
        attrs=request.attrs,
    )
    out = _scaled(_select_years(out, request.years, where), request)
    grid = request.grid
    if grid is not None and not grid_of(out).same_as(grid):
        out = align(
            out, grid, request.resampling, chunks=request.chunks, key=request.key, workdir=request.workdir
        )
        request.attrs["aligned_via"] = out.attrs["aligned_via"]
        request.attrs["resampling"] = resampling_method(request.resampling).name
    return out


def _scaled(da: xr.DataArray, request: StackRequest) -> xr.DataArray:
    """``value * scale + offset`` with the arguments of :func:`open_annual_stack` (float64, once)."""
    if request.scale != 1.0 or request.offset != 0.0:
        return (da.astype(np.float64) * request.scale + request.offset).astype(np.float32)
    return da


# ================================================================================================
# The table of readers
# ================================================================================================


@dataclass(frozen=True)
class StackRequest:
    """The arguments of :func:`open_annual_stack`, handed to a reader's ``open_stack``."""

    key: str
    years: Sequence[int] | None
    variable: str | None
    aggregate: str
    scale: float
    offset: float
    nodata: float | None
    chunks: int | Mapping[str, int]
    grid: Grid | None
    resampling: str
    workdir: str | os.PathLike | None
    complete_years_only: bool
    min_valid: int
    #: what the stack records about how it was made (the reader adds to it)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reader:
    """One input format.

    ``can_open(path)`` recognises a path of this format without reading it; ``open_stack(path,
    where, request)`` opens it as a lazy ``(year, y, x)`` float32 stack (``where`` names it in
    errors); ``open_dataset(path)``, for NetCDF-like formats, opens it as a raw xarray Dataset.
    """

    name: str
    description: str
    can_open: Callable[[Path], bool]
    open_stack: Callable[[Path, str, StackRequest], xr.DataArray]
    open_dataset: Callable[[Path], xr.Dataset] | None = None


def _suffix_in(*suffixes: str) -> Callable[[Path], bool]:
    def can_open(path: Path) -> bool:
        return path.suffix.lower() in suffixes

    return can_open


def _any_path(path: Path) -> bool:
    return True


_GEOTIFF = Reader("geotiff", "GeoTIFF file", _suffix_in(".tif", ".tiff"), _open_multiband_stack)

#: Input formats, tried in order: the first whose ``can_open`` accepts a path opens it.
READERS: tuple[Reader, ...] = (
    Reader("netcdf", "NetCDF file", _suffix_in(".nc", ".nc4", ".netcdf"), _open_cf_stack, _open_netcdf),
    Reader("zarr", "Zarr store", _suffix_in(".zarr"), _open_cf_stack, _open_zarr),
    Reader("folder", "folder of per-year GeoTIFFs", Path.is_dir, _open_folder_stack),
    _GEOTIFF,
    Reader("vrt", "GDAL virtual raster", _suffix_in(".vrt"), _open_multiband_stack),
    # last: GDAL reads many more formats (ERDAS .img, JPEG2000 ...); it says if it cannot
    Reader("gdal", "other GDAL-readable raster", _any_path, _open_multiband_stack),
)


def reader_for(path: str | os.PathLike) -> Reader:
    """The :class:`Reader` of ``path``: the first in :data:`READERS` that can open it."""
    p = Path(path)
    return next(reader for reader in READERS if reader.can_open(p))


def format_of(path: str | os.PathLike) -> str:
    """The input format of ``path``, by the name of its reader: ``"netcdf"``, ``"zarr"``,
    ``"folder"`` (of per-year GeoTIFFs), ``"geotiff"``, ``"vrt"``, or ``"gdal"`` (anything else,
    left to GDAL).

    Example
    -------
    >>> format_of("chirps_monthly.nc"), format_of("ndvi_2001-2020.tif")
    ('netcdf', 'geotiff')
    """
    return reader_for(path).name
