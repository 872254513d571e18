"""People living on degraded, stable and improved land (SO1 status x population grid)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.crosstab import crosstab
from ldnkit.indicators.economics.blocks import check_same_grid

#: Row name of people on pixels without a status (no data).
NO_STATUS = "No data"


def population_by_status(
    status: xr.DataArray,
    population: xr.DataArray,
    *,
    female: xr.DataArray | None = None,
    male: xr.DataArray | None = None,
    zones: xr.DataArray | None = None,
) -> pd.DataFrame:
    """Persons on degraded, stable and improved land, by sex when given, per region when given.

    Parameters
    ----------
    status : SO1 status ``(y, x)``: -1 degraded, 0 stable, 1 improved (:data:`ldnkit.codes.DEGRADATION`),
        NODATA -32768, on the population grid (resample it first: nearest neighbour).
    population : persons per pixel (float, NaN missing); ``female``/``male`` likewise.
    zones : optional int16 region ids.

    Returns
    -------
    One row per (scope,) status with ``status`` (code), ``status_name`` and per population given
    (``population``, ``female``, ``male``) the persons (float, not rounded) and ``<name>_pct``, the %
    of that scope's population, people on pixels without a status included (row ``No data``).
    The scope column holds :data:`ldnkit.codes.AOI_SCOPE` and then each zone id.

    Example
    -------
    >>> population_by_status(sdg_status, pop, zones=provinces)       # doctest: +SKIP
    """
    layers = {"population": population} | {
        k: v for k, v in (("female", female), ("male", male)) if v is not None
    }
    check_same_grid(status=status, zones=zones, **layers)
    ones = xr.ones_like(status, dtype=np.float32)  # a unit "area": the sums are then plain totals
    table = crosstab({"status": status}, ones, zones=zones, sums=layers)
    names = codes.DEGRADATION.as_dict()
    scopes = [(codes.AOI_SCOPE, table)] + (list(table.groupby("zone", sort=True)) if "zone" in table else [])
    rows = []
    for scope, part in scopes:
        by_status = part.groupby("status")[list(layers)].sum()
        totals = by_status.sum()
        for code in (*codes.DEGRADATION.codes, codes.NODATA):
            counts = by_status.loc[code] if code in by_status.index else pd.Series(0.0, index=list(layers))
            if code == codes.NODATA:  # any code outside -1/0/1 is no data as well
                other = [c for c in by_status.index if c not in codes.DEGRADATION.codes]
                counts = by_status.loc[other].sum() if other else counts
            row = {"scope": scope, "status": code, "status_name": names.get(code, NO_STATUS)}
            for k in layers:
                row[k] = float(counts[k])
                row[f"{k}_pct"] = 100.0 * float(counts[k]) / float(totals[k]) if totals[k] else np.nan
            rows.append(row)
    return pd.DataFrame(rows)
