"""Ecosystem-service value change: hand calculations, two tables, LPD decline, dask = numpy."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from ldnkit import codes
from ldnkit.indicators.economics import (
    ValueChange,
    annuity_factor,
    ecosystem_value_change,
    load_value_table,
    present_value,
)

NODATA = codes.NODATA


def _grid(values, dtype=np.int16) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=dtype), dims=("y", "x"))


def _km2(like: xr.DataArray, km2: float = 1.0) -> xr.DataArray:
    return xr.full_like(like, km2, dtype=np.float64)


def _forest_to_grassland():
    """1,000 ha (10 pixels of 1 km²) of tropical forest turned to grassland, 10 pixels unchanged."""
    before = _grid(np.full((4, 5), codes.TREE))
    after = before.copy(data=np.where(np.arange(20).reshape(4, 5) < 10, codes.GRASSLAND, codes.TREE))
    return before, after.astype(np.int16)


def test_forest_to_grassland_at_costanza_values():
    before, after = _forest_to_grassland()
    result = ecosystem_value_change(before, after, load_value_table("costanza2014"), _km2(before))
    assert isinstance(result, ValueChange)
    # (4,166 - 5,382) US$/ha/yr x 1,000 ha
    assert float(result.maps["value_change_central"].sum()) == pytest.approx(-1_216_000)
    row = result.by_transition.set_index(["before", "after"]).loc[(codes.TREE, codes.GRASSLAND)]
    assert row["area_ha"] == pytest.approx(1000)
    assert row["value_before_central"] == pytest.approx(5_382_000)
    assert row["value_after_central"] == pytest.approx(4_166_000)
    total = result.totals().set_index("scope").loc[codes.AOI_SCOPE]
    assert total["net"] == pytest.approx(-1_216_000) and total["loss"] == pytest.approx(-1_216_000)
    assert total["gain"] == 0 and total["area_valued_ha"] == pytest.approx(2000)
    # 30 years at 10 %: annuity factor 9.4269, PV -11.463 M US$
    assert annuity_factor(0.10, 30) == pytest.approx(9.4269, abs=5e-5)
    assert present_value(total["net"], 0.10, 30) / 1e6 == pytest.approx(-11.463, abs=5e-4)
    assert result.attrs["dollar_year"] == 2007 and "Costanza" in result.attrs["table_source"]
    assert result.maps.attrs["table"] == "costanza2014"
    assert result.maps["value_change_central"].attrs["units"] == "US$/yr per pixel"


def test_two_tables_give_two_answers_with_their_sources():
    before, after = _forest_to_grassland()
    costanza = ecosystem_value_change(before, after, load_value_table("costanza2014"), _km2(before))
    degroot = ecosystem_value_change(before, after, load_value_table("degroot2012"), _km2(before))
    net_c = costanza.totals()["net"].iloc[0]
    net_d = degroot.totals()["net"].iloc[0]
    assert net_c == pytest.approx((4166 - 5382) * 1000)
    assert net_d == pytest.approx((2871 - 5264) * 1000)  # de Groot means
    assert costanza.attrs["table"] == "costanza2014" and degroot.attrs["table"] == "degroot2012"
    assert "Costanza" in costanza.attrs["table_source"] and "de Groot" in degroot.attrs["table_source"]
    median = ecosystem_value_change(
        before, after, load_value_table("degroot2012"), _km2(before), statistic="median"
    )
    assert median.totals()["net"].iloc[0] == pytest.approx((2698 - 2355) * 1000)
    assert median.attrs["scenarios"] == {"central": "median"}


def test_classes_without_value_are_counted_not_valued():
    before = _grid([[codes.TREE, codes.GRASSLAND, NODATA]])
    after = _grid([[codes.CROPLAND, codes.GRASSLAND, codes.TREE]])
    result = ecosystem_value_change(before, after, load_value_table("degroot2012"), _km2(before))
    values = result.maps["value_change_central"].values
    assert np.isnan(values[0, 0]) and values[0, 1] == 0 and np.isnan(values[0, 2])
    total = result.totals().iloc[0]
    assert total["area_valued_ha"] == 100 and total["area_not_valued_ha"] == 200 and total["net"] == 0


def test_lpd_decline_on_unchanged_land_is_a_share_of_the_class_value():
    before = _grid([[codes.CROPLAND, codes.CROPLAND, codes.CROPLAND, codes.TREE]])
    after = _grid([[codes.CROPLAND, codes.CROPLAND, codes.CROPLAND, codes.GRASSLAND]])
    lpd = _grid([[codes.DECLINING, codes.MODERATE_DECLINE, codes.INCREASING, codes.DECLINING]])
    table = load_value_table("costanza2014")
    result = ecosystem_value_change(before, after, table, _km2(before), lpd=lpd)
    # 100 ha each: -10 % and -5 % of 5,567; none for increasing; a changed pixel keeps its transition value
    expected = [-0.10 * 5567 * 100, -0.05 * 5567 * 100, 0.0, (4166 - 5382) * 100]
    np.testing.assert_allclose(result.maps["value_change_central"].values[0], expected)
    assert result.totals()["net"].iloc[0] == pytest.approx(sum(expected))
    row = result.by_transition.set_index(["before", "after", "lpd"]).loc[(3, 3, 1)]
    assert row["value_after_central"] == pytest.approx(0.9 * 5567 * 100)
    assert result.attrs["lpd_loss_share"] == {1: 0.10, 2: 0.05}
    custom = ecosystem_value_change(before, after, table, _km2(before), lpd=lpd, lpd_loss_share={1: 0.5})
    assert custom.maps["value_change_central"].values[0, 0] == pytest.approx(-0.5 * 5567 * 100)
    assert custom.maps["value_change_central"].values[0, 1] == 0


def test_low_central_high_from_a_table_with_ranges(tmp_path):
    path = tmp_path / "ranges.yaml"
    path.write_text(
        """kind: ecosystem_value
name: ranges
version: "1"
source: hand-made
dollar_year: 2020
units: US$/ha/yr
caveat: test
biomes:
  - {biome: forest, mean: 100, low: 60, high: 200}
  - {biome: grass, mean: 40, low: 30, high: 45}
land_cover: {1: forest, 2: grass}
"""
    )
    before, after = _forest_to_grassland()
    result = ecosystem_value_change(before, after, load_value_table(path), _km2(before))
    assert set(result.maps.data_vars) == {"value_change_central", "value_change_low", "value_change_high"}
    totals = result.totals().set_index("scenario")["net"]
    assert totals["central"] == pytest.approx(-60 * 1000)
    assert totals["low"] == pytest.approx(-30 * 1000) and totals["high"] == pytest.approx(-155 * 1000)


def test_plain_mapping_and_zones():
    before, after = _forest_to_grassland()
    zones = before.copy(data=np.repeat([[1], [1], [2], [2]], 5, axis=1)).astype(np.int16)
    result = ecosystem_value_change(before, after, {1: 10.0, 2: 4.0}, _km2(before, 0.5), zones=zones)
    totals = result.totals().set_index("scope")["net"]
    assert totals[1] == pytest.approx(-6 * 500)  # zone 1: 10 pixels of 50 ha, all changed
    assert totals[2] == 0 and totals[codes.AOI_SCOPE] == pytest.approx(totals[1] + totals[2])
    assert result.attrs["table"] == "user mapping"


def test_dask_blocks_equal_whole_numpy_array():
    rng = np.random.default_rng(7)
    shape = (90, 70)
    before = _grid(rng.integers(1, 8, shape))
    after = _grid(np.where(rng.random(shape) < 0.3, rng.integers(1, 8, shape), before.values))
    after.values[rng.random(shape) < 0.05] = NODATA
    lpd = _grid(rng.integers(1, 6, shape))
    zones = _grid(rng.integers(1, 4, shape))
    area = xr.DataArray(rng.uniform(0.5, 1.5, shape), dims=("y", "x"))
    table = load_value_table("costanza2014")
    whole = ecosystem_value_change(before, after, table, area, lpd=lpd, zones=zones)
    chunked = {"y": 25, "x": 30}
    blocks = ecosystem_value_change(
        before.chunk(chunked),
        after.chunk(chunked),
        table,
        area.chunk(chunked),
        lpd=lpd.chunk(chunked),
        zones=zones.chunk(chunked),
    )
    lazy = blocks.maps["value_change_central"]
    assert lazy.chunks is not None and len(lazy.chunks[0]) == 4  # still lazy, several chunks
    np.testing.assert_allclose(lazy.values, whole.maps["value_change_central"].values)
    np.testing.assert_allclose(blocks.totals()["net"], whole.totals()["net"])
    # the table and the maps agree
    assert whole.totals()["net"].iloc[0] == pytest.approx(float(whole.maps["value_change_central"].sum()))
