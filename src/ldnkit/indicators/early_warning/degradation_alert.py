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
    series incrementally: month by month equals one call over all months.

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
    values = np.asarray(zt.values, dtype=np.float64)
    run = (
        np.zeros(values.shape[1:], dtype=np.int32)
        if previous_run is None
        else np.asarray(previous_run.values, dtype=np.int32).copy()
    )
    runs = np.empty(values.shape, dtype=np.int16)
    for t in range(values.shape[0]):  # a loop over time; every step is vectorised over pixels
        below = values[t] < threshold  # NaN compares false: a gap breaks the run
        run = np.where(below, np.minimum(run + 1, 32767), 0)
        runs[t] = run
    alert = (runs >= min_consecutive).astype(np.int8)
    declining = None
    if trend_declining is not None:
        declining = np.asarray(trend_declining.transpose(*zt.dims[1:]).values, dtype=bool)
        alert = np.where((alert == 1) & declining, codes.EW_ALERT_PERSISTENT_DECLINING, alert)
    alert = np.where(np.isnan(values), codes.EW_NODATA, alert).astype(np.int8)
    attrs = {
        "threshold": threshold,
        "min_consecutive": min_consecutive,
        "baseline_years": z.attrs.get("baseline_years", ""),
        "rule": "z < threshold for min_consecutive consecutive steps; 2 where the SO1 trend declines",
    }
    ds = xr.Dataset(
        {
            "alert": (
                zt.dims,
                alert,
                {
                    "long_name": "land-degradation alert",
                    "units": "1",
                    "legend": codes.DEGRADATION_ALERT.name,
                    "nodata": codes.EW_NODATA,
                    **attrs,
                },
            ),
            "run_length": (
                zt.dims,
                runs,
                {"long_name": "consecutive steps below threshold", "units": "steps", **attrs},
            ),
        },
        coords=zt.coords,
    )
    if declining is not None:
        ds["so1_declining"] = (zt.dims[1:], declining, {"long_name": "SO1 trend declines"})
    ds.attrs.update(attrs)
    return ds
