"""Standardized Precipitation Index (SPI) and SPEI from monthly series (UNCCD SO 3-1 hazard,
methodology §3.3).

Every function takes and returns :mod:`xarray` objects with a monthly time axis — ``(time,)``,
``(time, station)`` or ``(time, y, x)`` — numpy- or dask-backed. Dask inputs stay lazy and are
processed block by block across space, with the time axis in one chunk (rechunked if needed).
The per-cell work runs in :mod:`ldnkit.kernels.spi`.

Method (defaults as UNCCD GPG SO3 / WMO): precipitation accumulated over ``scale`` months; per
calendar month a two-parameter gamma distribution is fitted to the non-zero accumulations of
the reference period by Thom's (1958) maximum-likelihood approximation (the estimator of McKee
et al. 1993, NCL, climate-indices and xclim ``method="APP"``), mixed with the probability of zero
``p0`` (share of zero accumulations in the reference period); ``SPI = ndtri(p0 + (1 - p0) G(x))``
clipped to ±3.09.

How the edge cases are handled (each one documented in ``docs/drought.md``):

* the first ``scale - 1`` months, and every window holding a missing (NaN) month, are NaN;
* a zero accumulation scores ``ndtri(p0)`` (the top of the zero mass, the "classic" SPI);
  a zero in a month whose reference period had no zeros scores -3.09;
* a calendar month whose reference values are all zero has no distribution: its SPI is NaN
  (climate-indices gives zeros -3.09, xclim +8.21);
* fewer than 4 non-zero reference values, or no spread among them: the non-zero values are NaN,
  zeros still score ``ndtri(p0)``;
* a calendar month with fewer than ``min_completeness`` (85 %) of its reference years present
  is NaN (WMO 2018: fill gaps first).

Differences from climate-indices 3.1 and xclim 0.62 by design (elsewhere the three agree to the
float32 rounding of ldnkit's output, tested on 344 nClimDiv divisions, scales 1-24):

* xclim clips at ±8.21, ldnkit and climate-indices at ±3.09;
* all-zero reference months: NaN here, -3.09 (climate-indices) or +8.21 (xclim) for the zeros;
* 2-3 non-zero reference values: NaN here, fitted by both;
* negative precipitation: an error here, clipped to 0 by climate-indices, kept by xclim;
* a reference period with a whole year outside the record: an error here, silently shrunk by
  climate-indices; a first or last year covered in part is accepted by all three (noted here in
  ``attrs['reference_coverage']``);
* xclim computes in float32 for float32 input (~1e-4 off); ldnkit sums and fits in float64;
* Pearson III: climate-indices fits L-moments to all values including zeros and then mixes with
  ``p0`` again, treats values below 0.0005 (data units) as trace, and uses scipy's normal
  approximation for |skew| < 1.6e-5; ldnkit fits the non-zero values only, unit-free, exactly.
"""

from __future__ import annotations

import math
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from ldnkit.errors import ConfigError, InputError, PeriodError
from ldnkit.kernels.spi import GAMMA, GAMMA_MLE, LOGLOGISTIC, MIN_NONZERO, PEARSON3, standardize_into
from ldnkit.months import format_month, month_index

#: SPI is clipped to this value (probabilities 0.001 / 0.999), as climate-indices and NCL do.
CLIP = 3.09
#: Shortest reference period and record (WMO: at least 30 years).
MIN_YEARS = 30
MAX_SCALE = 48
_DISTRIBUTIONS = {"gamma": GAMMA, "pearson3": PEARSON3}
_FITS = ("thom", "mle")

# accepted precipitation units (lower case, spaces normalised): monthly totals only
_MM_UNITS = {
    "mm",
    "millimeter",
    "millimeters",
    "millimetre",
    "millimetres",
    "kg m-2",
    "kg/m2",
    "kg m**-2",
    "kg/m^2",
}
_OTHER_LENGTH = {"in": "in", "inch": "in", "inches": "in", "cm": "cm", "m": "m", "meter": "m", "metre": "m"}
_PER_MONTH = ("/month", " month-1", " mon-1", "/mon", " per month", "/mo", " month^-1")
_RATE_HINTS = ("s-1", "/s", "day-1", "/day", "d-1", "/d", "hr", "h-1", "/h", "year", "yr", "a-1")


def _units_of(values: xr.DataArray, where: str) -> str:
    """The precipitation units of ``values`` normalised to mm / in / cm / m, or "" if unset.

    SPI does not depend on the unit of a total, so any length is accepted; rates (per second,
    per day ...) are refused because sums of rates over months of different lengths are not
    proportional to sums of totals.
    """
    raw = values.attrs.get("units")
    if raw is None or str(raw).strip() == "":
        return ""
    text = " ".join(str(raw).strip().lower().split())
    for suffix in _PER_MONTH:
        if text.endswith(suffix):
            text = text[: -len(suffix)].strip()
            break
    if text in _MM_UNITS:
        return "mm"
    if text in _OTHER_LENGTH:
        return _OTHER_LENGTH[text]
    if any(h in text for h in _RATE_HINTS):
        raise InputError(
            where,
            f"has units {raw!r}, a rate; SPI needs monthly totals",
            "convert to monthly totals in mm (e.g. a rate in kg m-2 s-1 times the seconds of "
            "each month) and set attrs['units'] = 'mm'",
        )
    raise InputError(
        where,
        f"has units {raw!r}; expected monthly precipitation totals",
        "use mm or inches (attrs['units'] = 'mm' or 'in'), or remove the units attribute",
    )


def _check_array(values: Any, time_dim: str, where: str) -> None:
    if not isinstance(values, xr.DataArray):
        raise InputError(where, f"expected an xarray.DataArray, got {type(values).__name__}")
    if time_dim not in values.dims:
        raise InputError(
            where,
            f"has no '{time_dim}' dimension (dims {values.dims})",
            f"pass time_dim= one of {values.dims}",
        )
    if values.dtype.kind not in "fiu":
        raise InputError(where, f"has non-numeric dtype {values.dtype}")


def _check_scale(scale: Any) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= scale <= MAX_SCALE:
        raise ConfigError(
            "scale", f"is {scale!r}", f"use a whole number of months from 1 to {MAX_SCALE} (default 12)"
        )
    return int(scale)


def _reference_steps(
    months: np.ndarray, reference: Any, min_completeness: float, where: str
) -> tuple[tuple[int, int], int, int, int]:
    """(y0, y1), first and stop step of the reference period, and the fewest valid values a
    calendar month needs."""
    try:
        y0, y1 = (int(v) for v in reference)
    except (TypeError, ValueError):
        raise ConfigError(
            "reference", f"is {reference!r}", "give (first_year, last_year), e.g. (1981, 2010)"
        ) from None
    if y1 - y0 + 1 < MIN_YEARS:
        raise PeriodError(
            "reference",
            f"{y0}-{y1} is {y1 - y0 + 1} years; the fit needs at least {MIN_YEARS}",
            "use a 30-year reference period, e.g. the WMO normal 1981-2010",
        )
    if not 0.0 < float(min_completeness) <= 1.0:
        raise ConfigError("min_completeness", f"is {min_completeness!r}", "use a fraction in (0, 1]")
    first, last = int(months[0]), int(months[-1])
    # a first or last reference year the data cover only in part is accepted (as climate-indices
    # and xclim do): those calendar months have one year fewer, still under min_completeness
    if first > 12 * y0 + 11 or last < 12 * y1:
        raise PeriodError(
            where,
            f"covers {format_month(first)} to {format_month(last)}, not the whole reference period {y0}-{y1}",
            "choose a reference period inside the data, or give a longer record",
        )
    start = max(0, 12 * y0 - first)
    stop = min(months.size, 12 * y1 + 12 - first)
    min_valid = max(1, math.ceil(float(min_completeness) * (y1 - y0 + 1) - 1e-9))
    return (y0, y1), start, stop, min_valid


def reference_coverage(months: np.ndarray, reference: tuple[int, int]) -> str | None:
    """A note when the data cover the first or last year of ``reference`` only in part, else None."""
    y0, y1 = reference
    first, last = int(months[0]), int(months[-1])
    if first <= 12 * y0 and last >= 12 * y1 + 11:
        return None
    return (
        f"reference period {y0}-{y1} only partly covered: the data run {format_month(first)} to "
        f"{format_month(last)}, so some calendar months are fitted on one year fewer"
    )


def _monthly_setup(values: xr.DataArray, time_dim: str, where: str) -> np.ndarray:
    months = month_index(values[time_dim].values, where)
    # years touched, not whole years: a partly covered first or last year still counts
    if np.unique(months // 12).size < MIN_YEARS:
        raise InputError(
            where,
            f"has {months.size} months ({months.size / 12:.1f} years); SPI needs at least "
            f"{MIN_YEARS} years of monthly data",
            "give a longer record (the reference period alone needs 30 years)",
        )
    return months


def _prepare(values: xr.DataArray, time_dim: str) -> xr.DataArray:
    """The time axis as one chunk (dask), so each block holds whole series."""
    if isinstance(values.data, da.Array) and len(values.chunks[values.get_axis_num(time_dim)]) > 1:
        return values.chunk({time_dim: -1})
    return values


def _cells(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A block with time last (as apply_ufunc gives it) as a (cells, time) view without copying
    when possible, a float32 output of the same layout as (cells, time), and that output
    shaped like the block.

    Chunks stored time-major — ``(time, y, x)``, the usual case — are read in place through the
    transposed view (the kernel handles the strides); time-last data as contiguous rows.
    """
    n_time = block.shape[-1]
    if block.dtype not in (np.float32, np.float64):
        block = block.astype(np.float64)
    tm = np.moveaxis(block, -1, 0)
    if tm.flags.c_contiguous:
        out_tm = np.empty(tm.shape, dtype=np.float32)
        return tm.reshape(n_time, -1).T, out_tm.reshape(n_time, -1).T, np.moveaxis(out_tm, 0, -1)
    rows = np.ascontiguousarray(block.reshape(-1, n_time))
    out = np.empty(block.shape, dtype=np.float32)
    return rows, out.reshape(-1, n_time), out


def _negative_error(where: str, low: float) -> InputError:
    return InputError(
        where,
        f"has negative precipitation (minimum {low:g})",
        "precipitation totals cannot be negative: set such values to 0 or NaN",
    )


def _spi_block(block: np.ndarray, where: str, **kw: Any) -> np.ndarray:
    values, out, shaped = _cells(block)
    low = standardize_into(values, out=out, **kw)  # the kernel reports the minimum
    if low < 0:
        raise _negative_error(where, low)
    return shaped


def _spei_block(precip: np.ndarray, pet: np.ndarray, where: str, **kw: Any) -> np.ndarray:
    low = np.nanmin(precip, initial=np.inf) if precip.size else np.inf
    if low < 0:
        raise _negative_error(where, float(low))
    balance = precip.astype(np.float64) - np.broadcast_to(pet, precip.shape).astype(np.float64)
    values, out, shaped = _cells(balance)
    standardize_into(values, out=out, **kw)
    return shaped


def _finish(out: xr.DataArray, like: xr.DataArray, name: str, attrs: dict[str, Any]) -> xr.DataArray:
    out = out.rename(name)
    # apply_ufunc drops coordinate attrs: restore them (spatial_ref holds the CRS)
    restored = {}
    for c, coord in like.coords.items():
        if c in out.coords and coord.attrs:
            var = out.coords[c].variable.copy(deep=False)
            var.attrs = dict(coord.attrs)
            restored[c] = var
    if restored:
        out = out.assign_coords(restored)
    out.attrs = attrs
    grid_mapping = like.encoding.get("grid_mapping", like.attrs.get("grid_mapping"))
    if grid_mapping is not None:
        out.encoding["grid_mapping"] = grid_mapping
    return out


def spi(
    precip: xr.DataArray,
    scale: int = 12,
    reference: tuple[int, int] = (1981, 2010),
    distribution: str = "gamma",
    fit: str = "thom",
    time_dim: str = "time",
    *,
    min_completeness: float = 0.85,
) -> xr.DataArray:
    """Standardized Precipitation Index of a monthly precipitation series, per cell.

    Parameters
    ----------
    precip : monthly precipitation totals, dims ``(time,)``, ``(time, station)`` or
        ``(time, y, x)`` (any order); float with NaN missing (or integer); ``attrs["units"]``
        mm or inches (or any length, or unset: SPI is unit-free, mm and inches give the same SPI;
        rates such as kg m-2 s-1 are refused). The time axis must be monthly without gaps
        (missing months as NaN values, not as absent steps) and cover the reference period.
    scale : accumulation in months, 1 to 48 (default 12: SPI-12).
    reference : first and last year of the reference (calibration) period, at least 30 years
        (default WMO 1981–2010). A month's accumulation belongs to the year of its last month.
    distribution : ``"gamma"`` (default; mixed with the probability of zero) or ``"pearson3"``
        (Pearson type III by L-moments of the non-zero values, same zero handling).
    fit : gamma shape estimator, ``"thom"`` (default: Thom's approximation, as McKee et al.,
        NCL, climate-indices and xclim "APP") or ``"mle"`` (exact maximum likelihood).
    time_dim : name of the time dimension.
    min_completeness : share of reference years a calendar month needs (default 0.85).

    Returns
    -------
    SPI, float32, unit-free, same dims and coords as ``precip``; NaN where undefined (first
    ``scale - 1`` months, windows with a missing month, months without a distribution); clipped
    to ±3.09. ``attrs`` record the method and parameters.

    Example
    -------
    >>> s = spi(precip, scale=12, reference=(1981, 2010))
    >>> december = annual_spi(s)            # (year, ...) December SPI-12
    >>> s.attrs["distribution"], s.attrs["clip"]
    ('gamma', 3.09)
    """
    where = "spi(precip)"
    _check_array(precip, time_dim, where)
    scale = _check_scale(scale)
    if distribution not in _DISTRIBUTIONS:
        raise ConfigError("distribution", f"is {distribution!r}", "use 'gamma' or 'pearson3'")
    if fit not in _FITS:
        raise ConfigError("fit", f"is {fit!r}", "use 'thom' (default) or 'mle'")
    if distribution == "pearson3" and fit != "thom":
        raise ConfigError("fit", f"is {fit!r}", "Pearson III is fitted by L-moments: leave fit='thom'")
    units = _units_of(precip, where)
    months = _monthly_setup(precip, time_dim, where)
    ref, start, stop, min_valid = _reference_steps(months, reference, min_completeness, where)
    dist = _DISTRIBUTIONS[distribution]
    if distribution == "gamma" and fit == "mle":
        dist = GAMMA_MLE
    kw = dict(
        scale=scale,
        month0=int(months[0] % 12),
        ref_start=start,
        ref_stop=stop,
        dist=dist,
        min_valid=min_valid,
        clip=CLIP,
    )
    out = xr.apply_ufunc(
        _spi_block,
        _prepare(precip, time_dim),
        input_core_dims=[[time_dim]],
        output_core_dims=[[time_dim]],
        kwargs={"where": where, **kw},
        dask="parallelized",
        output_dtypes=[np.float32],
        keep_attrs=False,
    )
    out = out.transpose(*precip.dims)
    attrs = {
        "method": "spi",
        "long_name": f"Standardized Precipitation Index, {scale}-month",
        "units": "1",
        "scale": scale,
        "reference": list(ref),
        "distribution": distribution,
        "fit": "l-moments" if distribution == "pearson3" else fit,
        "zero_handling": "mixed distribution: p0 = share of zeros in the reference period; "
        "a zero scores ndtri(p0)",
        "clip": CLIP,
        "min_completeness": float(min_completeness),
        "min_nonzero": MIN_NONZERO,
        "input_units": units,
    }
    if note := reference_coverage(months, ref):
        attrs["reference_coverage"] = note
    return _finish(out, precip, "spi", attrs)


def spei(
    precip: xr.DataArray,
    pet: xr.DataArray,
    scale: int = 12,
    reference: tuple[int, int] = (1981, 2010),
    time_dim: str = "time",
    *,
    min_completeness: float = 0.85,
) -> xr.DataArray:
    """Standardized Precipitation-Evapotranspiration Index (Vicente-Serrano et al. 2010).

    The climatic water balance ``precip - pet`` is accumulated over ``scale`` months and, per
    calendar month, fitted over the reference period by the three-parameter log-logistic
    distribution in Hosking's generalized-logistic form, by L-moments (unbiased
    probability-weighted moments) — the "log-Logistic" of the R package SPEI and of
    climate-indices. No zero mass; clipped to ±3.09.

    Parameters
    ----------
    precip, pet : monthly precipitation and potential evapotranspiration totals in the same
        units (checked from ``attrs["units"]`` when both are set); same time axis; ``pet`` may
        lack the spatial dims (one PET series for all cells). Negative precipitation is refused;
        PET may be any value.
    scale, reference, time_dim, min_completeness : as for :func:`spi`.

    Returns
    -------
    SPEI, float32, same dims and coords as ``precip``; ``attrs`` record method and parameters.

    Example
    -------
    >>> w = spei(precip_mm, pet_mm, scale=12)
    >>> w.attrs["distribution"]
    'log-logistic'
    """
    where = "spei(precip)"
    _check_array(precip, time_dim, where)
    _check_array(pet, time_dim, "spei(pet)")
    scale = _check_scale(scale)
    u_p = _units_of(precip, where)
    u_e = _units_of(pet, "spei(pet)")
    if u_p and u_e and u_p != u_e:
        raise InputError(
            "spei(pet)",
            f"is in {u_e} but precipitation is in {u_p}",
            "give both in the same units (mm)",
        )
    months = _monthly_setup(precip, time_dim, where)
    if pet.sizes[time_dim] != precip.sizes[time_dim] or not np.array_equal(
        month_index(pet[time_dim].values, "spei(pet)"), months
    ):
        raise InputError(
            "spei(pet)",
            "does not have the same months as the precipitation",
            "select the same time steps for both",
        )
    extra = [d for d in pet.dims if d not in precip.dims]
    if extra:
        raise InputError("spei(pet)", f"has dims {extra} that precipitation lacks")
    ref, start, stop, min_valid = _reference_steps(months, reference, min_completeness, where)
    pet = pet.assign_coords({time_dim: precip[time_dim].values})
    kw = dict(
        scale=scale,
        month0=int(months[0] % 12),
        ref_start=start,
        ref_stop=stop,
        dist=LOGLOGISTIC,
        min_valid=min_valid,
        clip=CLIP,
    )
    p = _prepare(precip, time_dim)
    e = _prepare(pet, time_dim)
    if isinstance(p.data, da.Array) and not isinstance(e.data, da.Array):
        e = e.chunk({time_dim: -1})
    out = xr.apply_ufunc(
        _spei_block,
        p,
        e,
        input_core_dims=[[time_dim], [time_dim]],
        output_core_dims=[[time_dim]],
        kwargs={"where": where, **kw},
        dask="parallelized",
        output_dtypes=[np.float32],
        keep_attrs=False,
        join="exact",
    )
    out = out.transpose(*precip.dims)
    attrs = {
        "method": "spei",
        "long_name": f"Standardized Precipitation-Evapotranspiration Index, {scale}-month",
        "units": "1",
        "scale": scale,
        "reference": list(ref),
        "distribution": "log-logistic",
        "fit": "l-moments (generalized logistic, unbiased PWM)",
        "clip": CLIP,
        "min_completeness": float(min_completeness),
        "input_units": u_p or u_e,
    }
    if note := reference_coverage(months, ref):
        attrs["reference_coverage"] = note
    return _finish(out, precip, "spei", attrs)


def annual_spi(spi: xr.DataArray, month: int = 12, time_dim: str = "time") -> xr.DataArray:
    """One value per year: the SPI (or SPEI) of calendar month ``month`` of each year.

    With SPI-12 and ``month=12`` (default) this is the December SPI-12, the January–December
    accumulation that UNCCD SO 3-1 reports per year. Years without that month are absent.

    Returns ``(year, ...)`` (the time dimension replaced by an int ``year`` coordinate), same
    dtype, other dims and coords; ``attrs`` are those of ``spi`` plus ``annual_month``.

    Example
    -------
    >>> annual_spi(spi(precip, scale=12)).sel(year=2020)
    """
    where = "annual_spi(spi)"
    _check_array(spi, time_dim, where)
    if isinstance(month, bool) or not isinstance(month, (int, np.integer)) or not 1 <= month <= 12:
        raise ConfigError("month", f"is {month!r}", "use a calendar month 1-12 (12 = December)")
    months = month_index(spi[time_dim].values, where, require_monthly=False)
    keep = np.flatnonzero(months % 12 == int(month) - 1)
    out = spi.isel({time_dim: keep})
    years = (months[keep] // 12).astype(int)
    out = out.assign_coords(year=(time_dim, years)).swap_dims({time_dim: "year"})
    out = out.drop_vars(time_dim)
    out.attrs = {**spi.attrs, "annual_month": int(month)}
    return out
