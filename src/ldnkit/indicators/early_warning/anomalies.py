"""Anomalies of a monthly or dekadal series against the same calendar period of a baseline.

* :func:`baseline_stats`: per calendar period (month 1..12 or dekad 1..36) the mean, standard
  deviation (ddof=1), median, minimum, maximum and count of valid values over the baseline years.
* :func:`anomaly`: each time step against the statistics of its calendar period: z-score
  ``(x - mean) / std``, Kogan's VCI ``100 (x - min) / (max - min)`` and TCI
  ``100 (max - x) / (max - min)``, or percent of median ``100 x / median``. It works on one new
  time step as well as on a whole series (incremental updates need only the stored statistics).
* :func:`vegetation_health`: VHI = ``w VCI + (1 - w) TCI`` (Kogan; w = 0.5).
* :func:`agricultural_stress_index`: FAO's ASI, the share of cropland or grassland with VHI below
  35, per zone and time step.

Dekads: days 1-10, 11-20 and 21-end of each month; dekad ``3 (month - 1) + k``.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit.errors import InputError

PERIODS = {"month": 12, "dekad": 36}
ANOMALY_KINDS = ("zscore", "vci", "tci", "percent_of_median")


def calendar_period(time: xr.DataArray, period: Literal["month", "dekad"] = "month") -> xr.DataArray:
    """Calendar period of each time step: month 1..12 or dekad 1..36 (int, dim ``time``)."""
    if period not in PERIODS:
        raise InputError("period", f"is {period!r}", "use 'month' or 'dekad'")
    month = time.dt.month
    if period == "month":
        return month.rename("period")
    k = np.minimum((time.dt.day.values - 1) // 10, 2)
    return ((month - 1) * 3 + k + 1).rename("period")


def baseline_stats(
    x: xr.DataArray, baseline: tuple[int, int], period: Literal["month", "dekad"] = "month"
) -> xr.Dataset:
    """Statistics of ``x`` ``(time, y, x)`` per calendar period over the years
    ``baseline[0]..baseline[1]`` (inclusive): ``mean``, ``std`` (ddof=1), ``median``, ``min``,
    ``max`` (x's units) and ``count`` (valid values), each ``(period, y, x)``; NaN values are
    skipped. A period with no value in the baseline has NaN statistics and count 0.

    >>> stats = baseline_stats(ndvi, (2001, 2020))  # doctest: +SKIP
    >>> stats["mean"].sel(period=7)                  # mean July NDVI, 2001-2020  # doctest: +SKIP
    """
    first, last = int(baseline[0]), int(baseline[1])
    if first > last:
        raise InputError("baseline", f"starts after it ends ({first} > {last})", "give (first, last)")
    if "time" not in x.dims:
        raise InputError(str(x.name or "series"), "has no time dimension", "give a (time, y, x) stack")
    years = x["time"].dt.year
    base = x.isel(time=np.flatnonzero(((years >= first) & (years <= last)).values))
    if base.sizes["time"] == 0:
        raise InputError(
            "baseline",
            f"{first}-{last} holds none of the series' years ({int(years.min())}-{int(years.max())})",
            "choose baseline years the data cover",
        )
    per = calendar_period(base["time"], period).values
    full = np.arange(1, PERIODS[period] + 1)
    # one period at a time: plain reductions over its years (numpy or dask), no group-by machinery
    parts = [_period_stats(base.isel(time=np.flatnonzero(per == p))) for p in full]
    stats = xr.concat(parts, dim=pd.Index(full, name="period"))
    stats["count"] = stats["count"].fillna(0).astype(np.int16)
    stats.attrs.update(
        baseline_years=f"{first}-{last}",
        baseline_first_year=first,
        baseline_last_year=last,
        period=period,
        units=x.attrs.get("units", ""),
        long_name=f"baseline statistics per {period}",
    )
    return stats


def _nanmedian_last_axis(values: np.ndarray) -> np.ndarray:
    """Median over the LAST axis skipping NaN (apply_ufunc moves the core dim last), by one sort:
    15x faster than ``np.nanmedian`` on 20 values per pixel, same numbers."""
    ordered = np.sort(values, axis=-1)  # NaN sort last
    n = np.isfinite(values).sum(axis=-1)
    last = values.shape[-1] - 1
    lo = np.take_along_axis(ordered, np.clip((n - 1) // 2, 0, last)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(ordered, np.clip(n // 2, 0, last)[..., None], axis=-1)[..., 0]
    return np.where(n > 0, (lo + hi) / 2, np.nan).astype(
        ordered.dtype if ordered.dtype.kind == "f" else np.float64
    )


def _period_stats(sub: xr.DataArray) -> xr.Dataset:
    if sub.sizes["time"] == 0:  # a period the baseline does not have: NaN statistics, count 0
        nan = xr.full_like(sub.sum("time"), np.nan, dtype=np.float32)
        return xr.Dataset({k: nan for k in ("mean", "std", "median", "min", "max")} | {"count": nan})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels give NaN, on purpose
        return xr.Dataset(
            {
                "mean": sub.mean("time", skipna=True),
                "std": sub.std("time", ddof=1, skipna=True),
                "median": xr.apply_ufunc(
                    _nanmedian_last_axis,
                    sub,
                    input_core_dims=[["time"]],
                    dask="parallelized",
                    output_dtypes=[sub.dtype if sub.dtype.kind == "f" else np.float64],
                ),
                "min": sub.min("time", skipna=True),
                "max": sub.max("time", skipna=True),
                "count": sub.count("time"),
            }
        )


def anomaly(
    x: xr.DataArray,
    stats: xr.Dataset,
    kind: Literal["zscore", "vci", "tci", "percent_of_median"],
    *,
    clip: bool = True,
) -> xr.DataArray:
    """Anomaly of each time step of ``x`` against its calendar period's ``stats``.

    ``zscore`` = (x - mean) / std (1); ``vci`` = 100 (x - min) / (max - min) and ``tci`` =
    100 (max - x) / (max - min) (percent; clipped to 0..100 when ``clip``, since a new value can
    lie outside the baseline's range); ``percent_of_median`` = 100 x / median. A zero spread or
    median gives NaN. Works on one new time step (incremental updates). float32.

    >>> vci = anomaly(ndvi_latest, stats, "vci")  # doctest: +SKIP
    """
    if kind not in ANOMALY_KINDS:
        raise InputError("anomaly kind", f"is {kind!r}", f"use one of {', '.join(ANOMALY_KINDS)}")
    period = calendar_period(x["time"], stats.attrs.get("period", "month"))
    s = stats.sel(period=period).drop_vars("period")
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "zscore":
            std = s["std"].where(s["std"] > 0)
            out, units, name = (x - s["mean"]) / std, "1", "z-score"
        elif kind in ("vci", "tci"):
            spread = (s["max"] - s["min"]).where(s["max"] > s["min"])
            top = (x - s["min"]) if kind == "vci" else (s["max"] - x)
            out = 100.0 * top / spread
            out = out.clip(0.0, 100.0) if clip else out
            units = "%"
            name = "Vegetation Condition Index" if kind == "vci" else "Temperature Condition Index"
        else:
            med = s["median"].where(s["median"] != 0)
            out, units, name = 100.0 * x / med, "%", "percent of median"
    out = out.astype(np.float32).transpose(*x.dims)
    out.attrs.update(
        units=units,
        long_name=name,
        anomaly=kind,
        baseline_years=stats.attrs.get("baseline_years", ""),
        period=stats.attrs.get("period", "month"),
    )
    return out.rename(kind)


def vegetation_health(vci: xr.DataArray, tci: xr.DataArray, weight: float = 0.5) -> xr.DataArray:
    """Kogan's Vegetation Health Index: ``weight VCI + (1 - weight) TCI`` (percent, 0..100;
    VHI < 40 is drought). float32.

    >>> vhi = vegetation_health(vci, tci)  # doctest: +SKIP
    """
    if not 0.0 <= weight <= 1.0:
        raise InputError("vhi weight", f"is {weight}", "give a weight between 0 and 1")
    out = (weight * vci + (1.0 - weight) * tci).astype(np.float32).rename("vhi")
    out.attrs.update(
        units="%",
        long_name="Vegetation Health Index",
        vci_weight=weight,
        baseline_years=vci.attrs.get("baseline_years", ""),
    )
    return out


def agricultural_stress_index(
    vhi: xr.DataArray,
    mask: xr.DataArray,
    threshold: float = 35.0,
    zones: xr.DataArray | None = None,
    *,
    weights: xr.DataArray | None = None,
) -> pd.DataFrame:
    """FAO's Agricultural Stress Index: the share (%) of cropland or grassland (``mask`` true,
    ``(y, x)``) whose VHI is below ``threshold``, per zone (int labels ``(y, x)``, NaN / negative
    = outside) and time step. Pixels without VHI are left out of both counts; ``weights``
    (e.g. km² per pixel) weight the shares by area.

    Columns: ``zone``, ``time`` (if ``vhi`` has one), ``area`` (masked pixels or their weights
    with a VHI), ``stressed_area``, ``asi_percent``.

    >>> agricultural_stress_index(vhi, cropland, zones=districts)  # doctest: +SKIP
    """
    v = vhi if "time" in vhi.dims else vhi.expand_dims(time=[None])
    m = np.asarray(mask.values, dtype=bool)
    z = np.zeros(m.shape, dtype=np.int64) if zones is None else np.asarray(zones.values)
    zf = np.where(np.isfinite(z.astype(float)), z, -1).astype(np.int64)
    w = np.ones(m.shape) if weights is None else np.asarray(weights.values, dtype=float)
    inside = m & (zf >= 0)
    labels = np.unique(zf[inside])
    rows = []
    v = v.transpose("time", "y", "x")
    for i, t in enumerate(v["time"].values):
        step = np.asarray(v[i].values)  # one step in memory at a time
        valid = inside & np.isfinite(step)
        n = np.bincount(zf[valid], weights=w[valid], minlength=labels.max(initial=0) + 1)
        stressed = valid & (step < threshold)
        s = np.bincount(zf[stressed], weights=w[stressed], minlength=n.size)
        for label in labels:
            share = 100.0 * s[label] / n[label] if n[label] > 0 else np.nan
            rows.append(
                {
                    "zone": int(label),
                    "time": t,
                    "area": n[label],
                    "stressed_area": s[label],
                    "asi_percent": share,
                }
            )
    df = pd.DataFrame(rows, columns=["zone", "time", "area", "stressed_area", "asi_percent"])
    if "time" not in vhi.dims:
        df = df.drop(columns="time")
    df.attrs.update(
        title="Agricultural Stress Index",
        baseline_years=vhi.attrs.get("baseline_years", ""),
        threshold=threshold,
        units={"asi_percent": "%", "area": "pixels" if weights is None else "weights"},
    )
    return df
