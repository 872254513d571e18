"""CF decoding of NetCDF / Zarr variables: which dims are time, x and y; which variable to read;
fill values, valid range and packing; north-up orientation; and annualising sub-annual series.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from rasterio.crs import CRS

from ldnkit.errors import ConfigError, InputError, PeriodError
from ldnkit.io.grid import Grid, spatial_chunks
from ldnkit.io.read import decode_values

_X_NAMES = ("x", "lon", "longitude", "xdim", "xc", "easting")


_Y_NAMES = ("y", "lat", "latitude", "ydim", "yc", "northing")


_T_NAMES = ("time", "t", "date", "year", "years")


def classify_dim(ds: xr.Dataset, dim: str) -> str | None:
    """The role of ``dim`` in ``ds``: ``"time"``, ``"x"``, ``"y"`` or None, from its CF ``axis`` /
    ``standard_name`` attributes, its name (``lat``, ``lon``, ``time`` ...) or a datetime dtype."""
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


def annual_cf_stack(
    ds: xr.Dataset,
    file_name: str,
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
    """The gridded (time, y, x) variable of an open NetCDF / Zarr dataset as a lazy (year, y, x)
    float32 stack: CF-decoded (fill values, valid range, packing), north-up, with canonical
    coordinates, and annualised (see :func:`ldnkit.io.readers.open_annual_stack`); ``attrs`` is
    updated with how."""
    variable = choose_variable(
        ds, variable, [v for v in ds.data_vars if ds[v].ndim >= 3], key, file_name, "gridded variables"
    )
    da = ds[variable]
    roles = {d: classify_dim(ds, str(d)) for d in da.dims}
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
    values = decode_values(
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
    cy, cx = spatial_chunks(chunks)
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
