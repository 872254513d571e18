"""A drought planted in a synthetic monthly stack (40 x 40 pixels, 20 years) is found by the
anomalies + CDI chain: Watch, then Warning, then Alert in the planted months and region, nowhere
else, and recovery after.

Soil moisture and NDVI (standing for fAPAR) are seasonal cycles with noise; their anomalies go
through baseline_stats / anomaly. SPI-1 and SPI-3 are given directly as bounded noise
(|SPI| < 0.9, never a deficit) because real SPI would flag a deficit in ~16 % of months anywhere.
The drought's anomalies are planted in units of the baseline's own standard deviation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.indicators.early_warning import anomaly, baseline_stats, combined_drought_indicator

NY = NX = 40
YEARS = range(2001, 2021)
REGION = (slice(10, 20), slice(5, 25))  # rows, columns
DROUGHT_YEAR = 2018
# month -> (SPI-1, SPI-3, soil-moisture z, NDVI z) planted in the region
PLANTED = {
    4: (-2.5, -0.5, 0.5, 0.5),  # rain fails: SPI-1 < -2 (Watch)
    5: (-1.0, -1.6, -2.0, 0.5),  # soil dries (Warning)
    6: (-0.8, -1.8, -2.5, -2.0),  # vegetation stressed (Alert)
    7: (-0.5, -1.5, -2.5, -2.5),
    8: (-0.3, -1.2, -2.0, -2.0),
    9: (0.5, 0.2, -0.5, -0.5),  # rain back, soil and vegetation below normal (Recovery)
}
EXPECTED = {4: codes.CDI_WATCH, 5: codes.CDI_WARNING, 6: codes.CDI_ALERT, 7: codes.CDI_ALERT,
            8: codes.CDI_ALERT, 9: codes.CDI_RECOVERY, 10: codes.CDI_NONE}  # fmt: skip


def _stack(rng, amplitude, mean, noise):
    time = pd.date_range(f"{YEARS[0]}-01-01", periods=12 * len(YEARS), freq="MS")
    season = amplitude * np.sin(2 * np.pi * (time.month.to_numpy() - 4) / 12)
    v = mean + season[:, None, None] + rng.normal(0, noise, size=(time.size, NY, NX))
    coords = {"time": time, "y": np.arange(NY)[::-1] + 0.5, "x": np.arange(NX) + 0.5}
    return xr.DataArray(v.astype(np.float32), dims=("time", "y", "x"), coords=coords)


def _plant(x: xr.DataArray, stats: xr.Dataset, k: int) -> xr.DataArray:
    """Set the region's drought months to mean + z * std of the baseline (z from PLANTED)."""
    x = x.copy()
    for month, values in PLANTED.items():
        t = np.flatnonzero((x.time.dt.year == DROUGHT_YEAR) & (x.time.dt.month == month))[0]
        s = stats.sel(period=month)
        target = s["mean"] + values[k] * s["std"]
        x[t, REGION[0], REGION[1]] = target.values[REGION]
    return x


def test_planted_drought_raises_watch_warning_alert_then_recovery():
    rng = np.random.default_rng(42)
    soil = _stack(rng, 0.08, 0.25, 0.02)
    ndvi = _stack(rng, 0.2, 0.45, 0.03)
    spi1 = xr.full_like(soil, 0.0) + rng.uniform(-0.9, 0.9, size=soil.shape).astype(np.float32)
    spi3 = xr.full_like(soil, 0.0) + rng.uniform(-0.9, 0.9, size=soil.shape).astype(np.float32)
    baseline = (2001, 2015)
    soil = _plant(soil, baseline_stats(soil, baseline), 2)
    ndvi = _plant(ndvi, baseline_stats(ndvi, baseline), 3)
    for month, values in PLANTED.items():
        t = np.flatnonzero((soil.time.dt.year == DROUGHT_YEAR) & (soil.time.dt.month == month))[0]
        spi1[t, REGION[0], REGION[1]] = values[0]
        spi3[t, REGION[0], REGION[1]] = values[1]

    sm_z = anomaly(soil, baseline_stats(soil, baseline), "zscore")
    ndvi_z = anomaly(ndvi, baseline_stats(ndvi, baseline), "zscore")
    cdi, _ = combined_drought_indicator(spi1, spi3, sm_z, ndvi_z)

    values = cdi.values
    in_region = np.zeros((NY, NX), dtype=bool)
    in_region[REGION] = True
    years, months = cdi.time.dt.year.values, cdi.time.dt.month.values
    for t in range(values.shape[0]):
        assert (values[t][~in_region] == codes.CDI_NONE).all(), f"class outside the region at {t}"
        expected = EXPECTED.get(months[t], codes.CDI_NONE) if years[t] == DROUGHT_YEAR else codes.CDI_NONE
        assert (values[t][in_region] == expected).all(), (
            years[t],
            months[t],
            np.unique(values[t][in_region]),
        )
    assert cdi.attrs["baseline_years"] == "2001-2015" and cdi.attrs["cdi_rules"] == "cammalleri2021"
    assert cdi.attrs["cdi_rules_version"] == "2021.1" and cdi.attrs["long_name"]
