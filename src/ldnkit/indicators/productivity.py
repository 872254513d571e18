"""Land productivity sub-indicator (SO 1-2): trend, trajectory, state, performance and LPD
(methodology §1.5, §5).

Every function takes and returns :mod:`xarray` objects, numpy- or dask-backed; dask inputs stay
lazy and are processed block by block (the time axis is made one chunk when needed). The one
exception is :func:`performance`, whose per-unit percentiles are a reduction over the whole
extent: they are computed (block by block, exactly, in two passes) when the function is called.

Per-pixel work runs in numba kernels (:mod:`ldnkit.kernels.trend`, :mod:`ldnkit.kernels.state`)
that process 64 pixels in lockstep; their numbers equal those of the numpy / scipy /
pymannkendall references.

Vegetation-index values are in their natural units (e.g. NDVI in [-1, 1]): thresholds such as
``min_difference`` are in those units (Trends.Earth's 100 on NDVI x 10000 is 0.01 here).
Categorical outputs are ``int16`` with :data:`ldnkit.codes.NODATA` (-32768) as missing;
integer inputs use -32768 as missing too, float inputs NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from ldnkit import codes
from ldnkit.errors import ConfigError, GridError, InputError, PeriodError
from ldnkit.kernels import state as state_kernels
from ldnkit.kernels import trend as trend_kernels
from ldnkit.kernels.zonal import valid_unit_codes, zonal_quantiles

NODATA = codes.NODATA
_TRAJECTORY_METHODS = ("mann_kendall", "trends_earth", "z_score")
_STATE_METHODS = ("percentile_class", "z_score")
#: Trends.Earth's minimum |OLS slope| for a trend: 10 NDVI x 10000 per year, in NDVI units.
TE_MIN_SLOPE = 0.001


# --- helpers


def _check_stack(values: xr.DataArray, dim: str, where: str) -> None:
    if not isinstance(values, xr.DataArray):
        raise InputError(where, f"expected an xarray.DataArray, got {type(values).__name__}")
    if dim not in values.dims:
        raise InputError(
            where,
            f"has no '{dim}' dimension (dims {values.dims})",
            f"pass dim= one of {values.dims}",
        )
    if values.dtype.kind not in "fiu":
        raise InputError(where, f"has non-numeric dtype {values.dtype}")


def _years(values: xr.DataArray, dim: str) -> np.ndarray:
    """Time coordinate in years as float64: integer years as they are, datetimes as decimal
    years (so slopes stay per year); positions 0..n-1 if the dimension has no coordinate."""
    if dim not in values.coords:
        return np.arange(values.sizes[dim], dtype=np.float64)
    coord = values[dim]
    if coord.dtype.kind == "M":
        t = coord.dt
        days = np.where(t.is_leap_year, 366.0, 365.0)
        return (t.year + (t.dayofyear - 1 + t.hour / 24.0) / days).values.astype(np.float64)
    if coord.dtype.kind not in "fiu":
        raise InputError(f"coordinate '{dim}'", f"has dtype {coord.dtype}", "use integer years")
    return np.asarray(coord.values, dtype=np.float64)


def _year_span(values: xr.DataArray, dim: str) -> list[int]:
    x = np.floor(_years(values, dim))
    return [int(x.min()), int(x.max())] if x.size else []


def _one_time_chunk(values: xr.DataArray, dim: str) -> xr.DataArray:
    if isinstance(values.data, da.Array) and len(values.chunks[values.get_axis_num(dim)]) > 1:
        return values.chunk({dim: -1})
    return values


def _as_float(a: np.ndarray) -> np.ndarray:
    """Block as float64 with NaN missing (integer inputs: NODATA is missing)."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return a.astype(np.float64, copy=False)
    out = a.astype(np.float64)
    out[a == NODATA] = np.nan
    return out


def _as_codes(a: np.ndarray) -> np.ndarray:
    """Categorical block as int32; NaN, infinite or fractional floats become NODATA."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        ok = np.isfinite(a) & (a == np.round(a))
        return np.where(ok, a, NODATA).astype(np.int32)
    return a.astype(np.int32)


def _finish(out: xr.DataArray, name: str, attrs: Mapping[str, Any], like: xr.DataArray):
    out = out.rename(name)
    # apply_ufunc drops coordinate attrs: restore them (spatial_ref holds the CRS).
    restored = {}
    for c, coord in like.coords.items():
        if c in out.coords and out.coords[c].dims == coord.dims and coord.attrs:
            var = out.coords[c].variable.copy(deep=False)
            var.attrs = dict(coord.attrs)
            restored[c] = var
    if restored:
        out = out.assign_coords(restored)
    out.attrs = dict(attrs)
    grid_mapping = like.encoding.get("grid_mapping", like.attrs.get("grid_mapping"))
    if grid_mapping is not None:  # the CRS link rioxarray reads
        out.encoding["grid_mapping"] = grid_mapping
    if out.dtype == np.int16:
        out.attrs["_FillValue"] = NODATA
    return out


def _drop_band(a: xr.DataArray) -> xr.DataArray:
    """A single-band raster as read by rioxarray, without its band dimension."""
    if "band" in a.dims and a.sizes["band"] == 1:
        return a.squeeze("band", drop=True)
    return a


def _spatial(values: xr.DataArray, dim: str) -> xr.DataArray:
    """A 2-D template (the stack without ``dim``) for names, coords and attrs."""
    return values.isel({dim: 0}, drop=True)


def _map(func, *arrays: xr.DataArray, dtype=np.int16, kwargs=None) -> xr.DataArray:
    """Element-wise block function over aligned DataArrays, lazy when dask-backed."""
    return xr.apply_ufunc(
        func,
        *arrays,
        kwargs=kwargs or {},
        dask="parallelized",
        output_dtypes=[dtype],
        keep_attrs=False,
        join="exact",  # layers on different grids must not be silently cropped
    )


# --- trend


def _time_first(arr: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """A block with the core (time) dim last, as apply_ufunc gives it, as ``(n_time, 1, npix)``:
    for a chunk read as (time, y, x) this is a view, with consecutive pixels contiguous."""
    a = np.moveaxis(arr, -1, 0)
    return a.reshape(a.shape[0], 1, -1), a.shape[1:]


def _trend_block(arr: np.ndarray, x: np.ndarray, min_count: int):
    a, lead = _time_first(arr)
    outs = trend_kernels.mann_kendall_theil_sen(a, x, min_count)
    return tuple(o.reshape(lead) for o in outs)


def trend(values: xr.DataArray, dim: str = "year", min_count: int = 3) -> xr.Dataset:
    """Mann–Kendall test and Theil–Sen slope of an annual series, per pixel.

    Parameters
    ----------
    values : ``(year, y, x)`` annual productivity (float, NaN missing; or integer, -32768
        missing). Each pixel uses only its finite years, at their real year values.
    dim : the time dimension; its coordinate gives the years.
    min_count : pixels with fewer finite years get NaN slope, s, z and p.

    Returns
    -------
    Dataset with, per pixel (dims y, x):

    * ``slope`` (float32) Theil–Sen slope in value units per year;
    * ``s`` (float32) Mann–Kendall S;
    * ``z`` (float64) normal score, tie-corrected variance, continuity correction;
    * ``p`` (float64) two-sided p-value;
    * ``n`` (int16) number of finite years.

    Example
    -------
    >>> ds = trend(ndvi.sel(year=slice(2001, 2016)))
    >>> ds["slope"].attrs["method"]
    'mann_kendall_theil_sen'
    """
    _check_stack(values, dim, "trend(values)")
    if int(min_count) < 2:
        raise ConfigError("trend(min_count)", f"is {min_count}", "use at least 2")
    n_time = values.sizes[dim]
    if n_time < min_count:
        raise PeriodError(
            "trend(values)",
            f"has {n_time} value(s) along '{dim}', fewer than min_count={min_count}",
            "give a longer window or lower min_count",
        )
    x = _years(values, dim)
    if np.unique(x).size != x.size:
        raise InputError("trend(values)", f"has repeated '{dim}' values", "give one layer per year")
    if np.any(np.diff(x) < 0):  # S counts pairs in series order: put the years in order
        values = values.isel({dim: np.argsort(x, kind="stable")})
        x = np.sort(x)
    stack = _one_time_chunk(values, dim)
    outs = xr.apply_ufunc(
        _trend_block,
        stack,
        input_core_dims=[[dim]],
        output_core_dims=[[]] * 5,
        kwargs={"x": x, "min_count": int(min_count)},
        dask="parallelized",
        output_dtypes=[np.float32, np.float32, np.float64, np.float64, np.int16],
        keep_attrs=False,
    )
    attrs = {
        "method": "mann_kendall_theil_sen",
        "min_count": int(min_count),
        "dim": dim,
        "years": _year_span(values, dim),
        "variance": "tie-corrected",
        "continuity_correction": True,
    }
    described = {
        "slope": "Theil-Sen slope (value units per year)",
        "s": "Mann-Kendall S",
        "z": "Mann-Kendall z (tie-corrected variance, continuity correction)",
        "p": "two-sided p-value",
        "n": "number of finite years",
    }
    data = {}
    for (name, text), out in zip(described.items(), outs, strict=True):
        data[name] = _finish(out, name, {**attrs, "long_name": text}, values)
        data[name].attrs.pop("_FillValue", None)  # n is a count, every pixel has one
    return xr.Dataset(data, attrs=attrs)


# --- trajectory


def _signed(pos: np.ndarray, neg: np.ndarray, missing: np.ndarray) -> np.ndarray:
    out = np.zeros(pos.shape, dtype=np.int16)
    out[pos] = 1
    out[neg] = -1
    out[missing] = NODATA
    return out


def _big_enough(slope: np.ndarray, min_slope: float):
    # Only an explicit minimum filters: with many ties a significant S can have a zero median
    # slope, and the default rule is the test alone.
    return np.abs(slope) > min_slope if min_slope > 0 else True


def _traj_mk_block(s, p, slope, alpha, min_slope):
    sig = (p <= alpha) & _big_enough(slope, min_slope)
    return _signed(sig & (s > 0), sig & (s < 0), np.isnan(p))


def _traj_z_block(z, slope, z_threshold, min_slope):
    big = _big_enough(slope, min_slope)
    return _signed(big & (z > z_threshold), big & (z < -z_threshold), np.isnan(z))


def _traj_te_block(s, n, ols, level, min_slope):
    # Trends.Earth: |S| >= critical(level) (its "90 %" critical value must also be exceeded
    # strictly), sign from the OLS slope, no trend if |OLS slope| <= min_slope.
    crit = trend_kernels.te_critical_s(n, level)
    crit90 = trend_kernels.te_critical_s(n, 90)
    a = np.abs(s)
    sig = (a >= crit) & (a > crit90) & (np.abs(ols) > min_slope)
    return _signed(sig & (ols > 0), sig & (ols < 0), np.isnan(s) | np.isnan(crit) | np.isnan(ols))


def _ols_block(arr: np.ndarray, x: np.ndarray, min_count: int):
    a, lead = _time_first(arr)
    return trend_kernels.ols_slope(a, x, min_count).reshape(lead)


def trajectory(
    values: xr.DataArray,
    dim: str = "year",
    method: str = "mann_kendall",
    alpha: float = 0.05,
    z_threshold: float = 1.96,
    level: int = 95,
    min_slope: float | None = None,
    min_count: int = 3,
) -> xr.DataArray:
    """Productivity trajectory: significant decline (-1), no significant trend (0), increase (1).

    Methods
    -------
    * ``mann_kendall`` (default): two-sided p (tie-corrected variance) <= ``alpha``; direction
      from the sign of S.
    * ``z_score``: ``|z| > z_threshold`` (PRAIS 2022 style; 1.96 ~ p 0.05, 1.28 ~ p 0.20).
    * ``trends_earth``: Trends.Earth compatibility: |S| (no tie correction) >= its critical-value
      table at ``level`` (90, 95 or 99; its table has n = 4..60 years), direction from the OLS
      slope, and no trend if ``|OLS slope| <= min_slope``. Its "95 %" level corresponds to a
      one-sided p of about 0.05-0.07, not the documented p <= 0.05 (methodology §5.1).

    Parameters
    ----------
    values : ``(year, y, x)`` annual productivity (see :func:`trend`).
    min_slope : if > 0, pixels whose |slope| (Theil–Sen; OLS for ``trends_earth``) is at most
        this are 0. Default: no minimum, or 0.001 for ``trends_earth`` (its 10 on NDVI x 10000;
        give 10 for data in those units).
    min_count : fewer finite years -> NODATA (``trends_earth`` also needs n >= 4).

    Returns
    -------
    int16 DataArray: -1 degrading, 0 stable, 1 improving, -32768 no data.

    Example
    -------
    >>> traj = trajectory(ndvi.sel(year=slice(2001, 2016)), method="trends_earth")
    """
    where = "trajectory"
    if method not in _TRAJECTORY_METHODS:
        raise ConfigError(
            f"{where}(method)",
            f"unknown method {method!r}",
            f"use one of {', '.join(_TRAJECTORY_METHODS)}",
        )
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"{where}(alpha)", f"is {alpha}", "use a value between 0 and 1")
    if z_threshold <= 0:
        raise ConfigError(f"{where}(z_threshold)", f"is {z_threshold}", "use a positive value")
    if min_slope is None:
        min_slope = TE_MIN_SLOPE if method == "trends_earth" else 0.0
    if min_slope < 0:
        raise ConfigError(f"{where}(min_slope)", f"is {min_slope}", "use 0 or a positive value")
    ds = trend(values, dim=dim, min_count=min_count)
    attrs: dict[str, Any] = {
        "method": method,
        "min_slope": float(min_slope),
        "min_count": int(min_count),
        "dim": dim,
        "years": _year_span(values, dim),
        "codes": {"-1": "degrading", "0": "stable", "1": "improving"},
    }
    if method == "mann_kendall":
        out = _map(
            _traj_mk_block,
            ds["s"],
            ds["p"],
            ds["slope"],
            kwargs={"alpha": float(alpha), "min_slope": float(min_slope)},
        )
        attrs.update(alpha=float(alpha), test="two-sided, tie-corrected variance")
    elif method == "z_score":
        out = _map(
            _traj_z_block,
            ds["z"],
            ds["slope"],
            kwargs={"z_threshold": float(z_threshold), "min_slope": float(min_slope)},
        )
        attrs.update(z_threshold=float(z_threshold))
    else:
        level = int(level)
        if level not in trend_kernels.TE_KENDALL_CRITICAL:
            raise ConfigError(f"{where}(level)", f"is {level}", "use 90, 95 or 99")
        max_n = trend_kernels.TE_KENDALL_MIN_N + len(trend_kernels.TE_KENDALL_CRITICAL[level]) - 1
        if values.sizes[dim] > max_n:
            raise PeriodError(
                f"{where}(values)",
                f"has {values.sizes[dim]} years; the Trends.Earth table at level {level} stops at {max_n}",
                "use a shorter window or method='mann_kendall'",
            )
        x = _years(values, dim)
        ols = xr.apply_ufunc(
            _ols_block,
            _one_time_chunk(values, dim),
            input_core_dims=[[dim]],
            kwargs={"x": x, "min_count": int(min_count)},
            dask="parallelized",
            output_dtypes=[np.float32],
        )
        out = _map(
            _traj_te_block,
            ds["s"],
            ds["n"],
            ols,
            kwargs={"level": level, "min_slope": float(min_slope)},
        )
        attrs.update(
            level=level,
            test="Trends.Earth Kendall S table, no tie correction",
            direction="sign of OLS slope",
        )
    return _finish(out, "trajectory", attrs, values)


# --- state


def _state_pc_block(h, c, min_difference):
    h, lead = _time_first(h)
    c, _ = _time_first(c)
    return state_kernels.percentile_class(h, c, min_difference).reshape(lead)


def _state_z_block(h, c, z_threshold, se):
    h, lead = _time_first(h)
    c, _ = _time_first(c)
    return state_kernels.z_score(h, c, z_threshold, se).reshape(lead)


def _window(values: xr.DataArray, dim: str, years, name: str, where: str) -> xr.DataArray:
    try:
        first, last = (int(years[0]), int(years[1]))
    except (TypeError, ValueError, IndexError):
        raise ConfigError(f"{where}({name})", f"is {years!r}", "give (first_year, last_year)") from None
    if first > last:
        raise PeriodError(
            f"{where}({name})",
            f"starts after it ends ({first} > {last})",
            "give (first_year, last_year)",
        )
    have = np.floor(_years(values, dim)).astype(np.int64)
    missing = sorted(set(range(first, last + 1)) - set(have.tolist()))
    if missing:
        raise PeriodError(
            f"{where}({name})",
            f"asks for year(s) {missing} that the input does not have ({_year_span(values, dim)})",
            "choose years inside the input or add the missing years",
        )
    sel = np.flatnonzero((have >= first) & (have <= last))
    win = values.isel({dim: sel})
    return _one_time_chunk(win, dim)


def state(
    values: xr.DataArray,
    historical: tuple[int, int],
    comparison: tuple[int, int],
    dim: str = "year",
    method: str = "percentile_class",
    min_difference: float = 0.01,
    z_threshold: float = 1.96,
    z_denominator: str = "sd",
) -> xr.DataArray:
    """Productivity state: comparison-period productivity against the historical period.

    ``historical`` and ``comparison`` are inclusive year ranges of the ``dim`` coordinate
    (e.g. (2001, 2013) and (2014, 2016)); missing (NaN) years are skipped per pixel.

    Methods
    -------
    * ``percentile_class`` (default, Trends.Earth / PRAIS 2026): the historical values
      extended by min - 5 % and max + 5 % of their range give deciles p10..p100 (linear);
      the historical and comparison means fall in classes 1 (<= p10) .. 10 (> p90);
      class change <= -2 -> -1, >= 2 -> +1, else 0; and 0 whenever
      ``|mean_cmp - mean_hist| <= min_difference`` (value units; 0.01 NDVI = TE's 100).
    * ``z_score`` (GPG v2 / PRAIS 2022): ``z = (mean_cmp - mean_hist) / D`` with D the
      standard deviation of the historical values (ddof=1, ``z_denominator="sd"``, PRAIS 2022)
      or that divided by sqrt(number of comparison values) (``"se"``, SEPAL);
      z < -z_threshold -> -1, z > z_threshold -> +1, else 0. Needs >= 2 historical values;
      a constant history gives +-1 for any change.

    Returns
    -------
    int16 DataArray: -1 degrading, 0 stable, 1 improving; -32768 where a window has no value.

    Example
    -------
    >>> st = state(ndvi, historical=(2001, 2013), comparison=(2014, 2016))
    """
    where = "state"
    _check_stack(values, dim, f"{where}(values)")
    if method not in _STATE_METHODS:
        raise ConfigError(
            f"{where}(method)",
            f"unknown method {method!r}",
            f"use one of {', '.join(_STATE_METHODS)}",
        )
    if z_denominator not in ("sd", "se"):
        raise ConfigError(f"{where}(z_denominator)", f"is {z_denominator!r}", "use 'sd' or 'se'")
    if min_difference < 0:
        raise ConfigError(f"{where}(min_difference)", f"is {min_difference}", "use 0 or more")
    if z_threshold <= 0:
        raise ConfigError(f"{where}(z_threshold)", f"is {z_threshold}", "use a positive value")
    hist = _window(values, dim, historical, "historical", where)
    comp = _window(values, dim, comparison, "comparison", where)
    # Distinct core-dimension names: the two windows have different lengths and years.
    hist = hist.rename({dim: "_hist_year"}).drop_vars("_hist_year", errors="ignore")
    comp = comp.rename({dim: "_cmp_year"}).drop_vars("_cmp_year", errors="ignore")
    attrs: dict[str, Any] = {
        "method": method,
        "historical": [int(historical[0]), int(historical[1])],
        "comparison": [int(comparison[0]), int(comparison[1])],
        "dim": dim,
        "codes": {"-1": "degrading", "0": "stable", "1": "improving"},
    }
    if method == "percentile_class":
        func, kwargs = _state_pc_block, {"min_difference": float(min_difference)}
        attrs.update(
            min_difference=float(min_difference),
            deciles="historical values +- 5% range",
            class_change=2,
        )
    else:
        func = _state_z_block
        kwargs = {"z_threshold": float(z_threshold), "se": z_denominator == "se"}
        attrs.update(z_threshold=float(z_threshold), z_denominator=z_denominator)
    out = xr.apply_ufunc(
        func,
        hist,
        comp,
        input_core_dims=[["_hist_year"], ["_cmp_year"]],
        kwargs=kwargs,
        dask="parallelized",
        output_dtypes=[np.int16],
        keep_attrs=False,
    )
    return _finish(out, "state", attrs, values)


# --- performance


def _mean_block(arr: np.ndarray) -> np.ndarray:
    a, lead = _time_first(arr)
    return state_kernels.window_mean(a).reshape(lead)


def _value_range(values: xr.DataArray, derived: xr.DataArray) -> tuple[float, float] | None:
    """Expected range of ``derived`` (``values`` or a mean of them) for the unit percentiles'
    histograms: the dtype's range for integer ``values``; else the range of the first block of
    ``derived`` widened by half its span on each side (all of it if numpy-backed); None if that
    block has no finite value. Only a hint: values outside it are still handled exactly (it
    saves a pass over the data), and a poor one only makes the last pass collect more values."""
    if values.dtype.kind in "iu":
        info = np.iinfo(values.dtype)
        return float(info.min), float(info.max)
    data = derived.data
    if data.size == 0:
        return None
    if isinstance(data, da.Array):
        sample = data.blocks[(0,) * data.ndim].compute()
        widen = 0.5
    else:
        sample, widen = np.asarray(data), 0.0
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    return lo - widen * (hi - lo), hi + widen * (hi - lo)


def _aligned_units(units: xr.DataArray, like: xr.DataArray, where: str) -> xr.DataArray:
    if not isinstance(units, xr.DataArray):
        raise InputError(where, f"expected an xarray.DataArray, got {type(units).__name__}")
    units = _drop_band(units)
    if set(units.dims) != set(like.dims) or any(units.sizes[d] != like.sizes[d] for d in like.dims):
        raise GridError(
            where,
            f"has dims {dict(units.sizes)}, productivity has {dict(like.sizes)}",
            "align the units layer to the productivity grid",
        )
    units = units.transpose(*like.dims)
    if units.dtype.kind not in "fiu":
        raise InputError(where, f"has non-numeric dtype {units.dtype}")
    if isinstance(like.data, da.Array):
        units = units.chunk(dict(zip(like.dims, like.chunks, strict=True)))
    return units


def zonal_percentile(values: xr.DataArray, units: xr.DataArray, q: float) -> dict[int, float]:
    """Exact ``q``-th percentile (0..100, numpy linear) of ``values`` within each unit code.

    ``values``: 2-D float (NaN missing; integer: -32768 missing); ``units``: integer codes on
    the same grid, negative / -32768 missing. Equal to ``np.percentile(values[units == u], q)``
    for every unit ``u``, computed block by block with memory bounded by the chunk size.

    Example
    -------
    >>> zonal_percentile(mean_ndvi, lc_units, 90.0)
    {101: 0.71, 102: 0.64}
    """
    if not 0.0 <= float(q) <= 100.0:
        raise ConfigError("zonal_percentile(q)", f"is {q}", "use a percentile in [0, 100]")
    if not isinstance(values, xr.DataArray):
        raise InputError("zonal_percentile(values)", "expected an xarray.DataArray")
    units = _aligned_units(units, values, "zonal_percentile(units)")
    data = values.data
    data = data.map_blocks(_as_float, dtype=np.float64) if isinstance(data, da.Array) else _as_float(data)
    hint = _value_range(values, values.copy(data=data))
    unit_codes, pct, _ = zonal_quantiles(data, units.data, float(q), value_range=hint)
    return {int(c): float(p) for c, p in zip(unit_codes, pct, strict=True)}


def _perf_block(mean, units, unit_codes, pct, threshold):
    u, found = valid_unit_codes(units)
    idx = np.minimum(np.searchsorted(unit_codes, u), max(unit_codes.size - 1, 0))
    if unit_codes.size:
        found &= unit_codes[idx] == u
        p = np.where(found, pct[idx], np.nan)
    else:
        p = np.full(u.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(p > 0, mean / p, np.nan)  # a unit percentile <= 0 leaves no ratio
    cls = np.where(ratio <= threshold, -1, 0).astype(np.int16)
    cls[np.isnan(ratio)] = NODATA
    return ratio.astype(np.float32), cls


def performance(
    values: xr.DataArray,
    units: xr.DataArray,
    threshold: float = 0.5,
    percentile: float = 90.0,
    dim: str = "year",
) -> xr.Dataset:
    """Productivity performance: pixel mean over the window relative to its unit's potential.

    The potential of a unit is the ``percentile``-th percentile (exact, numpy linear) of the
    pixel means of all pixels with the same ``units`` code over the **whole given extent**
    (not an area of interest), so the result depends on the ecological unit only.

    Parameters
    ----------
    values : ``(year, y, x)`` productivity over the performance window (e.g. 16 years).
    units : ``(y, x)`` integer ecological-unit codes (e.g. land cover x 100 + zone) on the same
        grid; negative and -32768 are missing.
    threshold : ratio <= threshold is degraded (GPG v2: 0.5).
    percentile : percentile of the unit's pixel means taken as its potential (GPG v2: 90).

    Returns
    -------
    Dataset with ``ratio`` (float32, pixel mean / unit percentile; NaN where the mean or unit is
    missing or the unit percentile is <= 0) and ``class`` (int16: -1 degraded, 0 not degraded,
    -32768 no data). The percentiles are computed when this function is called, in two
    passes over the window (histograms, then the values of the located bins); for float input
    the first block of the mean is computed once more to set the histogram range.

    Example
    -------
    >>> perf = performance(ndvi.sel(year=slice(2001, 2016)), lc * 100 + zones)
    >>> perf["class"]
    """
    where = "performance"
    _check_stack(values, dim, f"{where}(values)")
    if not 0.0 < percentile <= 100.0:
        raise ConfigError(f"{where}(percentile)", f"is {percentile}", "use a value in (0, 100]")
    if threshold <= 0:
        raise ConfigError(f"{where}(threshold)", f"is {threshold}", "use a positive ratio")
    mean = xr.apply_ufunc(
        _mean_block,
        _one_time_chunk(values, dim),
        input_core_dims=[[dim]],
        dask="parallelized",
        output_dtypes=[np.float64],
        keep_attrs=False,
    )
    units = _aligned_units(units, mean, f"{where}(units)")
    unit_codes, pct, _ = zonal_quantiles(
        mean.data, units.data, float(percentile), value_range=_value_range(values, mean)
    )
    ratio, cls = xr.apply_ufunc(
        _perf_block,
        mean,
        units,
        kwargs={"unit_codes": unit_codes, "pct": pct, "threshold": float(threshold)},
        output_core_dims=[[], []],
        dask="parallelized",
        output_dtypes=[np.float32, np.int16],
        keep_attrs=False,
        join="override",  # same shape checked above; the units' coordinates may differ by noise
    )
    attrs = {
        "method": "unit_percentile_ratio",
        "threshold": float(threshold),
        "percentile": float(percentile),
        "percentile_extent": "whole input extent per unit",
        "dim": dim,
        "years": _year_span(values, dim),
        "n_units": int(unit_codes.size),
    }
    like = _spatial(values, dim)
    return xr.Dataset(
        {
            "ratio": _finish(ratio, "ratio", {**attrs, "long_name": "mean / unit percentile"}, like),
            "class": _finish(cls, "class", {**attrs, "codes": {"-1": "degraded", "0": "not degraded"}}, like),
        },
        attrs=attrs,
    )


# --- LPD

_D, _M, _SS, _S, _I = (
    codes.DECLINING,
    codes.MODERATE_DECLINE,
    codes.STABLE_STRESSED,
    codes.STABLE_PRODUCTIVITY,
    codes.INCREASING,
)


def _table(rows: Mapping[tuple[int, int, int], int]) -> np.ndarray:
    """Lookup array [trajectory+1, state+1, performance+1] from {(traj, state, perf): lpd}."""
    t = np.full((3, 3, 2), NODATA, dtype=np.int16)
    for (tr, st, pf), v in rows.items():
        t[tr + 1, st + 1, pf + 1] = v
    assert (t != NODATA).all()
    return t


def _three_outcome(rows: Mapping[tuple[str, str, str], str]) -> np.ndarray:
    # D/S/I outcomes written as LPD codes D -> 1, S -> 4, I -> 5 (see lpd docstring).
    val = {"D": -1, "S": 0, "I": 1}
    perf = {"D": -1, "ND": 0}
    out = {"D": _D, "S": _S, "I": _I}
    return _table({(val[t], val[s], perf[p]): out[o] for (t, s, p), o in rows.items()})


#: PRAIS 2026 Table 13 = Trends.Earth calc_prod5 (methodology §1.5.4).
LPD_TABLES: dict[str, np.ndarray] = {
    "prais2026": _table(
        {
            **{(-1, s, p): _D for s in (-1, 0, 1) for p in (-1, 0)},
            (0, 1, 0): _S,
            (0, 1, -1): _S,
            (0, 0, 0): _S,
            (0, 0, -1): _SS,
            (0, -1, 0): _M,
            (0, -1, -1): _D,
            **{(1, s, p): _I for s in (-1, 0, 1) for p in (-1, 0)},
            (1, -1, -1): _M,
        }
    ),
}
# GPG v1 (PRAIS 2022 Table 12) and GPG v2 Table 4-5, rows (trend, state, performance).
_GPG_ROWS = [
    # trend state perf  v1   v2
    ("D", "D", "D", "D", "D"),
    ("D", "D", "ND", "D", "D"),
    ("D", "S", "D", "D", "D"),
    ("D", "S", "ND", "D", "S"),
    ("D", "I", "D", "D", "D"),
    ("D", "I", "ND", "D", "D"),
    ("S", "D", "D", "D", "D"),
    ("S", "D", "ND", "S", "S"),
    ("S", "S", "D", "S", "D"),
    ("S", "S", "ND", "S", "S"),
    ("S", "I", "D", "S", "S"),
    ("S", "I", "ND", "S", "S"),
    ("I", "D", "D", "D", "D"),
    ("I", "D", "ND", "I", "I"),
    ("I", "S", "D", "I", "I"),
    ("I", "S", "ND", "I", "I"),
    ("I", "I", "D", "I", "I"),
    ("I", "I", "ND", "I", "I"),
]
LPD_TABLES["gpg_v1"] = _three_outcome({r[:3]: r[3] for r in _GPG_ROWS})
LPD_TABLES["gpg_v2"] = _three_outcome({r[:3]: r[4] for r in _GPG_ROWS})


def _lpd_block(t, s, p, table):
    t, s, p = _as_codes(t), _as_codes(s), _as_codes(p)
    ok = (np.abs(t) <= 1) & (np.abs(s) <= 1) & ((p == -1) | (p == 0))
    out = np.full(t.shape, NODATA, dtype=np.int16)
    out[ok] = table[t[ok] + 1, s[ok] + 1, p[ok] + 1]
    return out


def lpd(
    trajectory: xr.DataArray,
    state: xr.DataArray,
    performance: xr.DataArray | xr.Dataset,
    table: str = "prais2026",
) -> xr.DataArray:
    """Combine trajectory, state and performance into the 5 LPD classes.

    Parameters
    ----------
    trajectory, state : int16 -1/0/1 layers (:func:`trajectory`, :func:`state`).
    performance : int16 -1/0 layer, or the Dataset of :func:`performance` (its ``class``).
    table : ``prais2026`` (default; PRAIS 2026 Table 13 = Trends.Earth ``calc_prod5``),
        ``gpg_v1`` (GPG v1 / PRAIS 2022) or ``gpg_v2`` (GPG v2 Table 4-5). The GPG tables have
        only three outcomes; they are written as LPD codes degraded -> 1 (declining),
        stable -> 4 (stable), improved -> 5 (increasing), so :func:`lpd_degradation` maps them
        back to -1/0/1 unchanged.

    Returns
    -------
    int16 DataArray of LPD codes 1..5 (:data:`ldnkit.codes.LPD`); -32768 where any input is no
    data (or outside its codes).

    Example
    -------
    >>> lpd(traj, st, perf)  # doctest: +SKIP
    """
    if table not in LPD_TABLES:
        raise ConfigError("lpd(table)", f"unknown table {table!r}", f"use one of {', '.join(LPD_TABLES)}")
    if isinstance(performance, xr.Dataset):
        performance = performance["class"]
    out = _map(_lpd_block, trajectory, state, performance, kwargs={"table": LPD_TABLES[table]})
    attrs = {
        "method": "lpd_lookup",
        "table": table,
        "legend": "lpd",
        "codes": {str(c): n for c, n in codes.LPD.as_dict().items()},
    }
    if table != "prais2026":
        attrs["note"] = "three-outcome table written as LPD 1 (degraded), 4 (stable), 5 (improved)"
    return _finish(out, "lpd", attrs, trajectory)


def _recode_block(a, keys, vals):
    a = _as_codes(a)
    out = np.full(a.shape, NODATA, dtype=np.int16)
    for k, v in zip(keys, vals, strict=True):
        out[a == k] = v
    return out


def lpd_degradation(lpd: xr.DataArray) -> xr.DataArray:
    """LPD classes 1..5 -> productivity sub-indicator -1/0/1 (:data:`codes.LPD_TO_DEGRADATION`:
    1, 2 -> -1 degraded; 3, 4 -> 0 stable; 5 -> 1 improved; anything else -> -32768).

    Example
    -------
    >>> lpd_degradation(lpd(traj, st, perf))  # doctest: +SKIP
    """
    keys = list(codes.LPD_TO_DEGRADATION)
    vals = [codes.LPD_TO_DEGRADATION[k] for k in keys]
    out = _map(_recode_block, lpd, kwargs={"keys": keys, "vals": vals})
    attrs = {
        "method": "lpd_to_degradation",
        "mapping": {str(k): v for k, v in codes.LPD_TO_DEGRADATION.items()},
        "codes": {"-1": "degraded", "0": "stable", "1": "improved"},
    }
    if "table" in lpd.attrs:
        attrs["lpd_table"] = lpd.attrs["table"]
    return _finish(out, "productivity_degradation", attrs, lpd)


def external_lpd(layer: xr.DataArray, legend: str | Mapping[int, int] = "trends_earth"):
    """An external LPD product (JRC, FAO-WOCAT, Trends.Earth) as ldnkit LPD codes 1..5.

    ``legend`` names one of :data:`codes.EXTERNAL_LPD_LEGENDS` or is a mapping
    ``{product code: LPD code}``; every value not in the legend (e.g. 0, 6, -32768, NaN) is
    no data (-32768).

    Example
    -------
    >>> external_lpd(jrc_layer, legend="jrc")  # doctest: +SKIP
    """
    if isinstance(legend, str):
        if legend not in codes.EXTERNAL_LPD_LEGENDS:
            raise ConfigError(
                "external_lpd(legend)",
                f"unknown legend {legend!r}",
                f"use one of {', '.join(codes.EXTERNAL_LPD_LEGENDS)} or a mapping",
            )
        name, mapping = legend, codes.EXTERNAL_LPD_LEGENDS[legend]
    else:
        name, mapping = "custom", {int(k): int(v) for k, v in legend.items()}
        bad = sorted(v for v in mapping.values() if v not in codes.LPD.codes)
        if bad:
            raise ConfigError(
                "external_lpd(legend)",
                f"maps to non-LPD code(s) {bad}",
                "map product codes to LPD codes 1..5",
            )
    out = _map(
        _recode_block,
        _drop_band(layer),
        kwargs={"keys": list(mapping), "vals": list(mapping.values())},
    )
    attrs = {
        "method": "external_lpd",
        "legend": name,
        "mapping": {str(k): int(v) for k, v in mapping.items()},
        "codes": {str(c): n for c, n in codes.LPD.as_dict().items()},
    }
    return _finish(out, "lpd", attrs, layer)
