"""Land-degradation alert: persistent below-normal productivity (ldnkit's documented rule).

A pixel is in alert at step t when its productivity anomaly ``z`` (e.g. the NDVI z-score of each
month or season against its calendar period's baseline) has been below ``threshold`` for at least
``min_consecutive`` consecutive steps up to t. A missing value breaks the run. Where the SO1
productivity trend already declines (``trend_declining`` true), the alert is raised a level:

    0 no alert, 1 persistent below-normal productivity,
    2 persistent below-normal productivity where the SO1 trend declines

(:data:`ldnkit.codes.DEGRADATION_ALERT`, int8, :data:`ldnkit.codes.EW_NODATA` where z is missing).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ldnkit import codes
from ldnkit.errors import InputError


def _run_lengths(values: np.ndarray, start: np.ndarray, threshold: float) -> np.ndarray:
    """Consecutive steps below ``threshold`` along the last axis, continuing from ``start``."""
    run = np.asarray(start, dtype=np.int32).copy()
    out = np.empty(values.shape, dtype=np.int16)
    for t in range(values.shape[-1]):  # a loop over time; each step is vectorised over pixels
        below = values[..., t] < threshold  # NaN compares false: a gap breaks the run
        run = np.where(below, np.minimum(run + 1, 32767), 0)
        out[..., t] = run
    return out


def degradation_alert(
    z: xr.DataArray,
    trend_declining: xr.DataArray | None = None,
    *,
    threshold: float = -1.0,
    min_consecutive: int = 3,
    previous_run: xr.DataArray | None = None,
) -> xr.Dataset:
    """Alert codes, run lengths and the SO1-decline flag of each step of ``z`` ``(time, y, x)``.

    ``previous_run`` (int16 ``(y, x)``, the last ``run_length`` of an earlier call) continues a
    series incrementally: month by month equals one call over all months. Dask inputs stay lazy
    (give the time axis in one chunk).

    Returns a Dataset: ``alert`` int8 ``(time, y, x)`` (codes above), ``run_length`` int16
    (consecutive steps below ``threshold`` up to each step), and ``so1_declining`` bool ``(y, x)``
    when ``trend_declining`` is given.

    >>> ds = degradation_alert(ndvi_z, so1_trend < 0, min_consecutive=3)  # doctest: +SKIP
    """
    if min_consecutive < 1:
        raise InputError("min_consecutive", f"is {min_consecutive}", "give 1 or more periods")
    if "time" not in z.dims:
        raise InputError(str(z.name or "z"), "has no time dimension", "give a (time, y, x) stack")
    zt = z.transpose("time", ...)
    start = (
        xr.zeros_like(zt.isel(time=0, drop=True), dtype=np.int16) if previous_run is None else previous_run
    )
    # lazy for dask inputs: the time axis is scanned per spatial block (time in one chunk)
    runs = xr.apply_ufunc(
        _run_lengths,
        zt,
        start,
        kwargs={"threshold": threshold},
        input_core_dims=[["time"], []],
        output_core_dims=[["time"]],
        dask="parallelized",
        output_dtypes=[np.int16],
    ).transpose(*zt.dims)
    alert = (runs >= min_consecutive).astype(np.int8)
    declining = None
    if trend_declining is not None:
        declining = trend_declining.astype(bool)
        alert = xr.where((alert == 1) & declining, codes.EW_ALERT_PERSISTENT_DECLINING, alert)
    alert = xr.where(zt.isnull(), codes.EW_NODATA, alert).astype(np.int8).transpose(*zt.dims)
    attrs = {
        "threshold": threshold,
        "min_consecutive": min_consecutive,
        "baseline_years": z.attrs.get("baseline_years", ""),
        "rule": "z < threshold for min_consecutive consecutive steps; 2 where the SO1 trend declines",
    }
    ds = xr.Dataset(
        {
            "alert": alert.assign_attrs(
                {
                    "long_name": "land-degradation alert",
                    "units": "1",
                    "legend": codes.DEGRADATION_ALERT.name,
                    "nodata": codes.EW_NODATA,
                    **attrs,
                }
            ),
            "run_length": runs.assign_attrs(
                {"long_name": "consecutive steps below threshold", "units": "steps", **attrs}
            ),
        }
    )
    if declining is not None:
        ds["so1_declining"] = declining.assign_attrs(long_name="SO1 trend declines")
    ds.attrs.update(attrs)
    return ds
