"""The monthly calendar shared by the climate readers and the drought indices: month indices
(months since year 0, ``12 * year + month - 1``), their labels and first days, and the check that a
time axis is monthly and complete. A base module: it imports nothing of ldnkit above errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ldnkit.errors import InputError


def format_month(m: int) -> str:
    """``YYYY-MM`` of a month index (months since year 0, 0 = January of year 0)."""
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def _year_month(times: Any, where: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    values = np.asarray(times)
    if values.dtype.kind == "M":
        idx = pd.DatetimeIndex(values)
        return idx.year.to_numpy(), idx.month.to_numpy(), [str(t)[:10] for t in values]
    if (
        values.dtype == object
        and values.size
        and all(hasattr(t, "year") and hasattr(t, "month") for t in values)
    ):
        years = np.array([t.year for t in values])
        months = np.array([t.month for t in values])
        return years, months, [str(t)[:10] for t in values]
    raise InputError(
        where,
        f"has a time coordinate of dtype {values.dtype}, not dates",
        "give the time axis as dates (datetime64 or cftime), one per month",
    )


def month_index(times: Any, where: str, *, require_monthly: bool = True) -> np.ndarray:
    """Months since year 0 (``12 * year + month - 1``) of each time step, as int64.

    With ``require_monthly`` the steps must be consecutive months: an :class:`InputError`
    names the first problem — disordered steps, duplicates, several steps in one month (daily
    or dekadal data), a step of several months, or missing months.
    """
    years, months, labels = _year_month(times, where)
    m = years.astype(np.int64) * 12 + months.astype(np.int64) - 1
    if not require_monthly or m.size < 2:
        return m
    d = np.diff(m)
    if np.all(d == 1):
        return m
    if np.any(d < 0):
        i = int(np.flatnonzero(d < 0)[0])
        raise InputError(
            where,
            f"time steps are not in order ({labels[i]} is followed by {labels[i + 1]})",
            "sort the series by time first, e.g. da.sortby('time')",
        )
    if np.any(d == 0):
        i = int(np.flatnonzero(d == 0)[0])
        if labels[i] == labels[i + 1]:
            raise InputError(
                where,
                f"has duplicate time steps ({labels[i]} twice)",
                "keep one value per month",
            )
        n = int(np.count_nonzero(m == m[i]))
        raise InputError(
            where,
            f"is not monthly: {n} time steps fall in {format_month(int(m[i]))} (daily or dekadal data?)",
            "aggregate to monthly totals first, e.g. da.resample(time='MS').sum()",
        )
    if np.all(d == d[0]):
        raise InputError(
            where,
            f"is not monthly: its time steps are {int(d[0])} months apart",
            "give one value per month",
        )
    gaps = [int(v) for i in np.flatnonzero(d > 1) for v in range(m[i] + 1, m[i + 1])]
    shown = ", ".join(format_month(g) for g in gaps[:5])
    more = f" ({len(gaps)} in all)" if len(gaps) > 5 else ""
    raise InputError(
        where,
        f"has missing months: {shown}{more}",
        "add them as NaN values (e.g. da.resample(time='MS').asfreq()) or fill the gaps",
    )


def month_starts(m: np.ndarray) -> np.ndarray:
    """``datetime64[ns]`` of the first day of each month index (months since year 0)."""
    y, mo = m // 12, m % 12 + 1
    return (
        pd.to_datetime({"year": y, "month": mo, "day": np.ones_like(y)}).to_numpy().astype("datetime64[ns]")
    )
