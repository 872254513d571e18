"""Monthly climate series (precipitation, PET, precomputed SPI) from rasters and tables.

:func:`open_monthly` opens

* a multi-band GeoTIFF, one band per month, the month read from each band description
  (``"2001-01"``, ``"200101"``, ``"precip_2001_01"`` ...) or given by ``start``;
* a NetCDF (``.nc``) or Zarr (``.zarr``) variable with a monthly time axis — gridded
  ``(time, y, x)``, or ``(time, station)`` / ``(time,)`` series;
* a CSV table, either *wide* — a date column (``YYYY-MM``, ``YYYYMM`` or ``YYYY-MM-DD``) and one
  column per station, like NOAA nClimDiv extracts (``month,0101,0102,...``) or a single series
  (``month,precip_in,precip_mm``: pick one with ``variable``) — or *long*: one row per station
  and month with a station column (``station``/``id``/``site``/``division``), a date column and
  a value column.

and returns a DataArray ``(time, y, x)`` (lazy, dask) or ``(time, station)`` with a monthly
``datetime64`` time coordinate (first day of each month). The time axis must be monthly and
complete: several steps in one month (daily data), gaps (absent months), duplicates or a
disordered axis are refused with a one-line :class:`~ldnkit.errors.InputError`
(:func:`month_index`; CSV rows and GeoTIFF bands may come in any order, they are sorted by
month). A missing *value* is NaN and is handled by the indices.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from rasterio.crs import CRS

from ldnkit.errors import ConfigError, InputError
from ldnkit.io.cf import choose_variable, classify_dim
from ldnkit.io.grid import inspect_raster, spatial_chunks
from ldnkit.io.read import decode_values, open_layer, source_label
from ldnkit.io.readers import format_of, open_cf_dataset
from ldnkit.months import format_month, month_index, month_starts

_DATE_RE = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d|2100)[-_/.]?(0[1-9]|1[0-2])(?:[-_/.]?(\d\d))?(?!\d)")
_DATE_COLUMNS = ("date", "time", "month", "datetime", "period", "yearmonth", "yyyymm")
_STATION_COLUMNS = (
    "station",
    "station_id",
    "stationid",
    "id",
    "site",
    "site_id",
    "division",
    "gauge",
    "code",
)
_UNIT_SUFFIXES = {
    "mm": "mm",
    "millimeters": "mm",
    "millimetres": "mm",
    "in": "in",
    "inch": "in",
    "inches": "in",
}


def _parse_month(text: str) -> int | None:
    """Months since year 0 of the one date in ``text`` (``2001-01``, ``200101``, ``2001-01-15``)."""
    found = _DATE_RE.findall(str(text))
    if len(found) != 1:
        return None
    y, mo, _ = found[0]
    return int(y) * 12 + int(mo) - 1


# --- public entry ---------------------------------------------------------------------------------


def open_monthly(
    path: str | os.PathLike,
    *,
    variable: str | None = None,
    key: str = "drought.precipitation",
    start: str | None = None,
    units: str | None = None,
    nodata: float | None = None,
    chunks: int | Mapping[str, int] = 256,
) -> xr.DataArray:
    """Open a monthly series (precipitation, PET or a precomputed SPI) as a DataArray.

    Parameters
    ----------
    path : multi-band GeoTIFF, NetCDF / Zarr, or CSV (see the module docstring for layouts).
    variable : NetCDF/Zarr variable, or CSV value column (required when a file has several
        candidates, e.g. ``precip_in`` / ``precip_mm``).
    key : config key, used with the path in error messages.
    start : first month (``"1981-01"``) of a GeoTIFF whose band descriptions carry no dates;
        bands are then consecutive months.
    units : units of the values (``"mm"``, ``"in"`` ...), overriding what the file says. Without
        it: the GeoTIFF band unit, the NetCDF ``units`` attribute, or for CSV a unit suffix of
        the column (``precip_mm``, ``precip_in``) or a unit word in the file name
        (``..._inches_...``).
    nodata : stored value meaning missing (in addition to the file's own nodata / _FillValue);
        e.g. -99.99 in raw NOAA files.
    chunks : spatial block size for gridded sources (time is always one chunk).

    Returns
    -------
    ``(time, y, x)`` float32 (lazy; CRS and transform via rioxarray) or ``(time, station)``
    float32 (CSV, station series), NaN missing, ``time`` the first day of each month;
    ``attrs`` give ``units`` (when known), ``source`` and ``source_kind``.

    Example
    -------
    >>> p = open_monthly("ncei_climdiv_precip_inches_1895-2022.csv")      # (time, station), in
    >>> p = open_monthly("chirps_monthly.nc", variable="precip")           # (time, y, x), mm
    >>> s = spi(p, scale=12)
    """
    src = Path(path)
    where = source_label(src, key)
    if not src.exists():
        raise InputError(where, "file not found", "check the path")
    # station tables are climate's own format; gridded ones are found by io's table of readers
    kind = "csv" if src.suffix.lower() in (".csv", ".txt") else format_of(src)
    if kind == "csv":
        out = _open_csv(src, where, key, variable, nodata)
    elif kind in ("netcdf", "zarr"):
        out = _open_cf(src, where, key, variable, nodata, chunks)
    elif kind in ("geotiff", "vrt"):
        out = _open_tiff(src, where, start, nodata, chunks)
    else:
        raise InputError(
            where, f"has unknown type {src.suffix.lower()!r}", "give a GeoTIFF, NetCDF, Zarr or CSV file"
        )
    if units is not None:  # one spelling per unit ("inches" -> "in"), as read from files
        out.attrs["units"] = _UNIT_SUFFIXES.get(str(units).lower(), str(units))
    if not out.attrs.get("units"):
        out.attrs.pop("units", None)
    out.attrs["source"] = str(src)
    month_index(out["time"].values, where)
    return out


# --- GeoTIFF --------------------------------------------------------------------------------------


def _open_tiff(src: Path, where: str, start: str | None, nodata: float | None, chunks: Any) -> xr.DataArray:
    info = inspect_raster(src, where)
    if start is not None:
        m0 = _parse_month(start)
        if m0 is None:
            raise ConfigError("start", f"is {start!r}", "give the first month as 'YYYY-MM'")
        months = np.arange(m0, m0 + info.count, dtype=np.int64)
        how = f"consecutive months from {format_month(m0)}"
    else:
        parsed = [_parse_month(d) if d else None for d in info.descriptions]
        if any(p is None for p in parsed):
            bad = next(i for i, p in enumerate(parsed) if p is None)
            raise InputError(
                where,
                f"band {bad + 1} has no month in its description ({info.descriptions[bad]!r})",
                "set the band descriptions to the months ('2001-01' or '200101'), or give start='YYYY-MM'",
            )
        months = np.asarray(parsed, dtype=np.int64)
        how = "band descriptions"
    cy, cx = spatial_chunks(chunks)
    da = open_layer(src, chunks={"y": cy, "x": cx}, masked=True, nodata=nodata)
    if "band" not in da.dims:
        da = da.expand_dims("band")
    da = da.rename(band="time").assign_coords(time=month_starts(months))
    order = np.argsort(months, kind="stable")
    if np.any(np.diff(order) != 1):
        da = da.isel(time=order)
    with rasterio.open(src) as f:
        band_units = {u for u in f.units if u}
    attrs: dict[str, Any] = {"source_kind": "multi-band GeoTIFF", "months_from": how}
    if len(band_units) == 1:
        attrs["units"] = band_units.pop()
    da.attrs = attrs
    da.name = src.stem
    return da.chunk({"time": -1})


# --- NetCDF / Zarr --------------------------------------------------------------------------------


def _open_cf(
    src: Path, where: str, key: str, variable: str | None, nodata: float | None, chunks: Any
) -> xr.DataArray:
    ds = open_cf_dataset(src, where)

    def roles_of(v: Any) -> dict[Any, str | None]:
        return {d: classify_dim(ds, str(d)) for d in ds[v].dims}

    candidates = [v for v in ds.data_vars if "time" in roles_of(v).values()]
    variable = choose_variable(ds, variable, candidates, key, src.name, "variables with a time axis")
    var = ds[variable]
    roles = roles_of(variable)
    tdims = [d for d, r in roles.items() if r == "time"]
    spatial = sorted(r for r in roles.values() if r in ("x", "y"))
    others = [d for d, r in roles.items() if r not in ("time", "x", "y")]
    if len(tdims) != 1 or not (spatial == ["x", "y"] and not others or not spatial and len(others) <= 1):
        raise InputError(
            where,
            f"variable {variable} has dims {var.dims}; need (time, y, x), (time, station) or (time,)",
            "select or reshape the variable",
        )
    a = var.attrs
    fills = [a.get("_FillValue"), nodata]
    mv = a.get("missing_value")
    fills += list(np.atleast_1d(mv)) if mv is not None else []
    vmin, vmax = a.get("valid_min"), a.get("valid_max")
    if "valid_range" in a:
        vmin, vmax = np.asarray(a["valid_range"]).tolist()
    da = var.rename({d: r for d, r in roles.items() if r and d != r})
    if not spatial:
        if not others:
            da = da.expand_dims(station=[variable])
        elif others[0] != "station":
            da = da.rename({others[0]: "station"})
        da = da.transpose("time", "station")
    else:
        da = da.transpose("time", "y", "x")
    keep = [c for c in da.coords if c in ("time", "y", "x", "station")]
    values = decode_values(
        da.drop_vars([c for c in da.coords if c not in keep]),
        fills,
        float(a.get("scale_factor", 1.0)),
        float(a.get("add_offset", 0.0)),
        None if vmin is None else float(vmin),
        None if vmax is None else float(vmax),
    )
    attrs: dict[str, Any] = {"source_kind": "NetCDF/Zarr", "variable": variable}
    if a.get("units"):
        attrs["units"] = str(a["units"])
    if spatial:
        crs = var.rio.crs
        if crs is None and any(str(d).lower() in ("lat", "latitude", "lon", "longitude") for d in roles):
            crs = CRS.from_epsg(4326)
            attrs["crs_assumed"] = "EPSG:4326 (latitude/longitude axes, no grid mapping)"
        # north-up, as every other layer (NetCDF often stores latitude ascending)
        if values.sizes["y"] > 1 and float(values["y"][1]) > float(values["y"][0]):
            values = values.isel(y=slice(None, None, -1))
        if values.sizes["x"] > 1 and float(values["x"][1]) < float(values["x"][0]):
            values = values.isel(x=slice(None, None, -1))
        cy, cx = spatial_chunks(chunks)
        values = values.chunk({"time": -1, "y": cy, "x": cx})
        if crs is not None:
            values = values.rio.write_crs(crs)
    else:
        values = values.chunk({"time": -1})
    months = month_index(values["time"].values, where)
    values = values.assign_coords(time=month_starts(months))
    values.attrs = attrs
    values.name = variable
    return values


# --- CSV ------------------------------------------------------------------------------------------


def _units_from_name(text: str, *, column: bool) -> str | None:
    """Units named by a column suffix (``precip_mm``, ``precip_in``) or, for a file name, by an
    unambiguous unit word (``..._inches_...``, ``..._mm_...``; not ``in``, an English word)."""
    tokens = [t for t in re.split(r"[^a-z]+", text.lower()) if t]
    if column:
        return _UNIT_SUFFIXES.get(tokens[-1]) if tokens else None
    found = {_UNIT_SUFFIXES[t] for t in tokens if t in _UNIT_SUFFIXES and t != "in"}
    return found.pop() if len(found) == 1 else None


def _numbers(col: pd.Series, where: str, name: str, nodata: float | None) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce")
    bad = values.isna() & col.notna() & (col.astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            where,
            f"column {name!r} has a non-numeric value {col.iloc[i]!r} (row {i + 2})",
            "use numbers, and leave missing values empty (or NA)",
        )
    out = values.to_numpy(dtype=np.float64)
    if nodata is not None:
        out[out == float(nodata)] = np.nan
    return out


def _date_column(table: pd.DataFrame) -> str | None:
    for c in table.columns:
        if str(c).strip().lower() in _DATE_COLUMNS:
            return str(c)
    first = str(table.columns[0])
    sample = table[first].dropna().head(24)
    if len(sample) and all(_parse_month(v) is not None for v in sample):
        return first
    return None


def _months_of(col: pd.Series, where: str) -> tuple[np.ndarray, list[str]]:
    labels = [str(v).strip() for v in col]
    months = [_parse_month(v) for v in labels]
    if any(m is None for m in months):
        i = next(i for i, m in enumerate(months) if m is None)
        raise InputError(
            where,
            f"row {i + 2} has no readable month ({labels[i]!r})",
            "write dates as YYYY-MM, YYYYMM or YYYY-MM-DD",
        )
    return np.asarray(months, dtype=np.int64), labels


def _check_rows(months: np.ndarray, labels: Sequence[str], where: str) -> None:
    """Duplicate dates and several dates per month are errors before any pivoting."""
    seen: dict[int, str] = {}
    for m, lab in zip(months.tolist(), labels, strict=True):
        if m in seen:
            if seen[m] == lab:
                raise InputError(where, f"has duplicate rows for {lab}", "keep one row per month")
            raise InputError(
                where,
                f"is not monthly: {seen[m]} and {lab} fall in the same month (daily data?)",
                "aggregate to monthly totals first",
            )
        seen[m] = lab


def _open_csv(src: Path, where: str, key: str, variable: str | None, nodata: float | None) -> xr.DataArray:
    try:
        table = pd.read_csv(src, dtype=str, skipinitialspace=True)
    except Exception as exc:  # pandas raises several types for unreadable text
        raise InputError(where, f"cannot be read as CSV ({' '.join(str(exc).split())})") from None
    table.columns = [str(c).strip() for c in table.columns]
    if table.empty:
        raise InputError(where, "has no rows")
    date_col = _date_column(table)
    if date_col is None:
        raise InputError(
            where,
            f"has no date column (columns {', '.join(table.columns[:6])} ...)",
            "name the date column 'date' or 'month' and write dates as YYYY-MM",
        )
    station_col = next((c for c in table.columns if c.lower() in _STATION_COLUMNS and c != date_col), None)
    if station_col is not None:
        return _long_table(table, src, where, key, date_col, station_col, variable, nodata)
    series = [c for c in table.columns if c != date_col]
    if variable is not None:
        if variable not in series:
            raise ConfigError(
                f"{key}.variable",
                f"{src.name} has no column {variable!r}",
                f"use one of {', '.join(series[:8])}",
            )
        series = [variable]
        kind = "CSV (one series)"
    else:
        suffixed = [c for c in series if _units_from_name(c, column=True)]
        if len(series) > 1 and len(suffixed) == len(series):
            raise ConfigError(
                f"{key}.variable",
                f"{src.name} has several value columns ({', '.join(series)})",
                "set `variable` to the one to use",
            )
        kind = "CSV (wide: one column per station)"
    months, labels = _months_of(table[date_col], where)
    _check_rows(months, labels, where)
    order = np.argsort(months, kind="stable")
    values = np.column_stack([_numbers(table[c], where, c, nodata) for c in series])[order]
    months = months[order]
    month_index(month_starts(months), where)
    units = _units_from_name(series[0], column=True) if len(series) == 1 else None
    units = units or _units_from_name(src.stem, column=False)
    return _table_array(values, months, series, variable or "precipitation", kind, units)


def _long_table(
    table: pd.DataFrame,
    src: Path,
    where: str,
    key: str,
    date_col: str,
    station_col: str,
    variable: str | None,
    nodata: float | None,
) -> xr.DataArray:
    value_cols = [c for c in table.columns if c not in (date_col, station_col)]
    if variable is None:
        if len(value_cols) != 1:
            raise ConfigError(
                f"{key}.variable",
                f"{src.name} has {len(value_cols)} value columns ({', '.join(value_cols)})",
                "set `variable` to the one to use",
            )
        variable = value_cols[0]
    if variable not in value_cols:
        raise ConfigError(
            f"{key}.variable", f"{src.name} has no column {variable!r}", f"use one of {value_cols}"
        )
    months, labels = _months_of(table[date_col], where)
    stations = table[station_col].astype(str).str.strip().to_numpy()
    values = _numbers(table[variable], where, variable, nodata)
    frame = pd.DataFrame({"s": stations, "m": months, "v": values, "label": labels})
    dup = frame.duplicated(["s", "m"], keep=False)
    if dup.any():
        row = frame[dup].iloc[0]
        same = frame[dup & (frame["s"] == row["s"]) & (frame["m"] == row["m"])]["label"].nunique() == 1
        what = "duplicate rows" if same else "several rows in one month (daily data?)"
        raise InputError(
            where,
            f"has {what} for station {row['s']} in {format_month(int(row['m']))}",
            "keep one row per station and month (aggregate daily data to monthly totals first)",
        )
    wide = frame.pivot(index="m", columns="s", values="v").sort_index()
    all_months = wide.index.to_numpy(dtype=np.int64)
    month_index(month_starts(all_months), where)  # a month absent for every station is a gap
    names = [str(c) for c in wide.columns]
    units = _units_from_name(variable, column=True) or _units_from_name(src.stem, column=False)
    return _table_array(wide.to_numpy(dtype=np.float64), all_months, names, variable, "CSV (long)", units)


def _table_array(
    values: np.ndarray, months: np.ndarray, stations: Sequence[str], name: str, kind: str, units: str | None
) -> xr.DataArray:
    attrs: dict[str, Any] = {"source_kind": kind}
    if units:
        attrs["units"] = units
    return xr.DataArray(
        values.astype(np.float32),
        dims=("time", "station"),
        coords={"time": month_starts(months), "station": np.asarray(stations, dtype=str)},
        name=name,
        attrs=attrs,
    )
