"""The early-warning chain on real data: Buffalo, NY (../shared/data).

MODIS 16-day EVI (MOD13A2, 1 km, 2000-2017) averaged per month stands for fAPAR; NOAA nClimDiv
precipitation of NY climate division 09 "Great Lakes" gives SPI-1 and SPI-3 (ldnkit.spi, 1981-2010
reference); NOAA's operational PDSI of the same division, as a z-score per calendar month, stands
for the soil-moisture anomaly (PDSI is a soil-water-balance index). Baseline 2001-2016.

The 2012 North American drought reached the Great Lakes in spring and summer 2012: the chain must
raise Warning or Alert over the land pixels then. The series also has real gaps (winter snow,
water pixels), on which month-by-month updates must equal one run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from ldnkit import codes, spi
from ldnkit.indicators.early_warning import anomaly, baseline_stats, combined_drought_indicator

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BUF = SHARED / "buffalo_ny_modis"
CLIMDIV = SHARED / "ncei_climdiv_precip"

pytestmark = pytest.mark.skipif(
    not (BUF.is_dir() and CLIMDIV.is_dir()), reason="real data absent: ../shared/data not found"
)


def _monthly_evi() -> xr.DataArray:
    ds = xr.open_dataset(BUF / "MOD13A2.006_aid0001.nc")
    evi = ds["_1_km_16_days_EVI"].rename(ydim="y", xdim="x")
    monthly = evi.resample(time="MS").mean()  # composites by the month they start in
    monthly["time"] = pd.to_datetime([f"{t.year}-{t.month:02d}-01" for t in monthly.time.values])
    return monthly.sel(time=slice("2001-01-01", "2017-09-01"))


def _division_series(evi: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    table = pd.read_csv(BUF / "ncei_climdiv_NY_div09_GreatLakes_precip_1895-2022.csv")
    time = pd.to_datetime(table["month"] + "-01")
    precip = xr.DataArray(table["precip_mm"].to_numpy(np.float32), dims="time", coords={"time": time})
    precip.attrs["units"] = "mm"
    row = json.loads((CLIMDIV / "divisions.json").read_text()).index("3009")
    pdsi = np.load(CLIMDIV / "ncei_pdsi_344x1536.npy")[row]
    pdsi = xr.DataArray(pdsi[:, None, None], dims=("time", "y", "x"), coords={"time": time})
    pdsi_z = anomaly(pdsi, baseline_stats(pdsi, (2001, 2016)), "zscore").isel(y=0, x=0, drop=True)

    def on_grid(series: xr.DataArray) -> xr.DataArray:
        series = series.sel(time=evi.time.values)
        return series.expand_dims(y=evi.y, x=evi.x).transpose("time", "y", "x")

    return on_grid(spi(precip, 1)), on_grid(spi(precip, 3)), on_grid(pdsi_z)


@pytest.fixture(scope="module")
def chain():
    evi = _monthly_evi()
    spi1, spi3, sm_z = _division_series(evi)
    evi_z = anomaly(evi, baseline_stats(evi, (2001, 2016)), "zscore")
    return spi1, spi3, sm_z, evi_z


def test_2012_drought_raises_warning_then_alert(chain):
    cdi, _ = combined_drought_indicator(*chain)
    land = np.isfinite(chain[3].values).any(axis=0)  # water pixels never have EVI
    assert 0.6 < land.mean() < 0.9
    share = {
        str(t)[:7]: {k: float((cdi.sel(time=t).values[land] == k).mean()) for k in codes.CDI.codes}
        for t in cdi.time.values
    }
    drought = codes.CDI_WARNING, codes.CDI_ALERT
    for month in ("2012-04", "2012-05", "2012-06", "2012-07", "2012-08"):
        assert sum(share[month][k] for k in drought) > 0.9, (month, share[month])
    assert share["2012-07"][codes.CDI_ALERT] > 0.4  # vegetation stress follows in midsummer
    assert share["2012-03"][codes.CDI_NONE] == 1.0  # before it, no drought anywhere
    assert share["2009-07"][codes.CDI_NONE] == 1.0  # a wet summer
    assert (cdi.values[:, ~land] == codes.EW_NODATA).all()


def test_month_by_month_equals_one_run_on_real_gaps(chain):
    whole, _ = combined_drought_indicator(*chain)
    state, parts = None, []
    for t in range(chain[0].sizes["time"]):
        part, state = combined_drought_indicator(*[a.isel(time=[t]) for a in chain], state=state)
        parts.append(part.values)
    np.testing.assert_array_equal(np.concatenate(parts), whole.values)
