"""Biomass carbon change (IPCC worked example by hand) and people by SO1 status."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from ldnkit import codes
from ldnkit.errors import GridError
from ldnkit.indicators.economics import (
    CO2_PER_C,
    biomass_carbon_change,
    load_value_table,
    population_by_status,
)

NODATA = codes.NODATA
TROPICAL_WET, TROPICAL_DRY = 10, 12


def _grid(values, dtype=np.int16) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=dtype), dims=("y", "x"))


def _km2(like: xr.DataArray, km2: float = 1.0) -> xr.DataArray:
    return xr.full_like(like, km2, dtype=np.float64)


def test_ipcc_worked_example_by_hand():
    # 100 ha (1 km²) of tropical rain forest cleared to bare land, and 100 ha to grassland
    before = _grid([[codes.TREE, codes.TREE]])
    after = _grid([[codes.OTHER_LAND, codes.GRASSLAND]])
    result = biomass_carbon_change(
        before, after, TROPICAL_WET, load_value_table("ipcc2006_biomass"), _km2(before)
    )
    forest = 300 * (1 + 0.37) * 0.47  # AGB x (1 + R/S) x CF = 193.17 t C/ha
    grass = 6.2 * (1 + 1.6) * 0.47  # 7.5764 t C/ha
    np.testing.assert_allclose(result.maps["carbon_stock_before"].values[0], [forest, forest])
    np.testing.assert_allclose(result.maps["carbon_stock_after"].values[0], [0.0, grass])
    np.testing.assert_allclose(
        result.maps["carbon_change"].values[0], [-forest * 100, (grass - forest) * 100]
    )
    total = result.totals().iloc[0]
    assert total["carbon_change"] == pytest.approx(-19317 + (grass - forest) * 100)
    assert total["co2e_change"] == pytest.approx(total["carbon_change"] * 44 / 12)
    assert -19317 * CO2_PER_C == pytest.approx(-70829, abs=0.5)
    assert result.attrs["carbon_fraction"] == 0.47 and "IPCC" in result.attrs["table_source"]


def test_user_biomass_maps_and_root_shoot_by_biomass_class():
    before = _grid([[codes.TREE, codes.TREE, codes.TREE]])
    after = _grid([[codes.CROPLAND, codes.CROPLAND, codes.CROPLAND]])
    agb = _grid([[100.0, 10.0, np.nan]], np.float32)
    table = load_value_table("ipcc2006_biomass")
    result = biomass_carbon_change(before, after, TROPICAL_DRY, table, _km2(before), agb_before=agb)
    stock = result.maps["carbon_stock_before"].values[0]
    # AGB 100 > 20 t/ha: R 0.28; AGB 10 <= 20: R 0.56; missing: table default 120 (R 0.28)
    np.testing.assert_allclose(stock, [100 * 1.28 * 0.47, 10 * 1.56 * 0.47, 120 * 1.28 * 0.47])
    np.testing.assert_allclose(result.maps["carbon_stock_after"].values[0], 10 * 0.47)  # cropland, no roots
    assert result.attrs["user_biomass_maps"] == ["before"]


def test_wetlands_and_no_data_are_not_estimated():
    before = _grid([[codes.WETLAND, codes.GRASSLAND, NODATA]])
    after = _grid([[codes.GRASSLAND, codes.GRASSLAND, codes.GRASSLAND]])
    zone = _grid([[TROPICAL_WET, 0, TROPICAL_WET]])  # zone 0 = no data
    result = biomass_carbon_change(before, after, zone, load_value_table("ipcc2006_biomass"), _km2(before))
    assert np.isnan(result.maps["carbon_change"].values).all()
    assert result.totals().iloc[0]["area_not_estimated_ha"] == pytest.approx(300)


def test_carbon_dask_blocks_equal_numpy_and_zones():
    rng = np.random.default_rng(3)
    shape = (60, 50)
    before = _grid(rng.integers(1, 8, shape))
    after = _grid(np.where(rng.random(shape) < 0.4, rng.integers(1, 8, shape), before.values))
    zone = _grid(rng.integers(1, 13, shape))
    agb = xr.DataArray(np.where(rng.random(shape) < 0.5, rng.uniform(0, 300, shape), np.nan), dims=("y", "x"))
    regions = _grid(rng.integers(1, 3, shape))
    area = xr.DataArray(rng.uniform(0.5, 1.5, shape), dims=("y", "x"))
    table = load_value_table("ipcc2006_biomass")
    whole = biomass_carbon_change(before, after, zone, table, area, agb_after=agb, zones=regions)
    c = {"y": 16, "x": 20}
    blocks = biomass_carbon_change(
        before.chunk(c),
        after.chunk(c),
        zone.chunk(c),
        table,
        area.chunk(c),
        agb_after=agb.chunk(c),
        zones=regions.chunk(c),
    )
    assert blocks.maps["carbon_change"].chunks is not None
    np.testing.assert_allclose(blocks.maps["carbon_change"].values, whole.maps["carbon_change"].values)
    totals = whole.totals().set_index("scope")
    pd_blocks = blocks.totals().set_index("scope")
    np.testing.assert_allclose(pd_blocks["carbon_change"], totals["carbon_change"])
    assert totals.loc[codes.AOI_SCOPE, "carbon_change"] == pytest.approx(
        float(np.nansum(whole.maps["carbon_change"].values))
    )
    assert totals.loc[codes.AOI_SCOPE, "co2e_change"] == pytest.approx(
        totals.loc[[1, 2], "co2e_change"].sum()
    )


def test_grid_mismatch_is_a_grid_error():
    with pytest.raises(GridError, match="climate_zone"):
        biomass_carbon_change(
            _grid([[1, 1]]),
            _grid([[2, 2]]),
            _grid([[10]]),
            load_value_table("ipcc2006_biomass"),
            _km2(_grid([[1, 1]])),
        )


def test_population_by_status_sex_and_region():
    status = _grid([[-1, -1, 0, 1], [0, 1, NODATA, -1]])
    population = _grid([[10, 20, 30, 40], [50, 60, 70, np.nan]], np.float64)
    female = population * 0.4
    male = population * 0.6
    zones = _grid([[1, 1, 1, 1], [2, 2, 2, 2]])
    table = population_by_status(status, population, female=female, male=male, zones=zones)
    aoi = table[table["scope"] == codes.AOI_SCOPE].set_index("status_name")
    assert list(aoi.index) == ["Degraded", "Stable", "Improved", "No data"]
    assert list(aoi["population"]) == [30, 80, 100, 70]
    assert aoi.loc["Degraded", "population_pct"] == pytest.approx(100 * 30 / 280)
    assert aoi.loc["Improved", "female"] == pytest.approx(40) and aoi.loc[
        "Improved", "male"
    ] == pytest.approx(60)
    zone2 = table[table["scope"] == 2].set_index("status_name")
    assert list(zone2["population"]) == [0, 50, 60, 70]  # the NaN pixel counts nobody
    assert zone2["population_pct"].sum() == pytest.approx(100)


def test_population_without_sex_layers():
    table = population_by_status(_grid([[-1, 1]]), _grid([[5.0, 15.0]], np.float64))
    assert set(table.columns) == {"scope", "status", "status_name", "population", "population_pct"}
    assert table["population"].sum() == 20
