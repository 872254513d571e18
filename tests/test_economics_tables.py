"""Coefficient tables of the cost-of-degradation indicators: shipped values and user-table checks."""

from __future__ import annotations

import math

import pytest

from ldnkit import codes
from ldnkit.errors import InputError
from ldnkit.indicators.economics import SHIPPED_TABLES, BiomassTable, ValueTable, load_value_table


def test_costanza_2014_values_per_class():
    table = load_value_table("costanza2014")
    assert isinstance(table, ValueTable)
    assert table.dollar_year == 2007 and table.units == "US$/ha/yr" and table.version
    assert "Costanza" in table.source and "cropland" in table.caveat
    assert table.values["mean"]["tropical forest"] == 5382
    assert table.values["mean"]["temperate/boreal forest"] == 3137
    assert table.values["mean"]["wetlands"] == 140174
    # UNCCD classes 1-7
    assert table.class_values("mean") == {1: 5382, 2: 4166, 3: 5567, 4: 25681, 5: 6661, 6: 0, 7: 12512}
    assert table.scenarios == {"central": "mean"}  # one unit value per biome, no range


def test_de_groot_2012_means_and_medians():
    table = load_value_table("degroot2012")
    assert table.dollar_year == 2007 and "Int$" in table.currency and "de Groot" in table.source
    mean, median = table.class_values("mean"), table.class_values("median")
    assert (mean[1], mean[2], mean[4], mean[7]) == (5264, 2871, 25682, 4267)
    assert (median[1], median[2], median[4], median[7]) == (2355, 2698, 16534, 3938)
    assert table.values["mean"]["woodlands"] == 1588
    for cls in (codes.CROPLAND, codes.ARTIFICIAL, codes.OTHER_LAND):  # no such biome in the source
        assert math.isnan(mean[cls])


def test_ipcc_biomass_table_covers_every_zone_and_class():
    table = load_value_table("ipcc2006_biomass")
    assert isinstance(table, BiomassTable)
    assert table.carbon_fraction == 0.47 and "IPCC" in table.source
    for zone in codes.CLIMATE_ZONE.codes:
        for cls in codes.LAND_COVER.codes:
            agb = table.agb[(zone, cls)]
            classes = table.root_shoot[(zone, cls)]
            assert classes[-1][0] == math.inf
            if cls == codes.WETLAND:
                assert math.isnan(agb)
            else:
                assert agb >= 0 and all(r >= 0 for _, r in classes)
    assert table.agb[(10, 1)] == 300 and table.root_shoot[(10, 1)] == ((math.inf, 0.37),)
    assert table.root_shoot[(12, 1)] == ((20, 0.56), (math.inf, 0.28))
    assert table.agb[(12, codes.OTHER_LAND)] == 0


@pytest.mark.parametrize("name", SHIPPED_TABLES)
def test_provenance_is_recorded(name):
    prov = load_value_table(name).provenance()
    assert prov["table"] and prov["table_version"] and prov["table_source"] and prov["caveat"]
    assert prov["table_path"] == f"ldnkit:{name}"


_GOOD = """kind: ecosystem_value
name: test
version: "2"
source: hand-made
dollar_year: 2020
units: US$/ha/yr
caveat: for tests
biomes:
  - {biome: forest, mean: 100, low: 50, high: 150}
  - {biome: grass, mean: 40}
land_cover: {1: forest, 2: grass, 3: null}
"""


def _write(tmp_path, text, name="table.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_user_table_with_ranges(tmp_path):
    table = load_value_table(_write(tmp_path, _GOOD))
    assert table.scenarios == {"central": "mean", "low": "low", "high": "high"}
    assert table.class_values("low")[1] == 50 and table.class_values("low")[2] == 40  # falls back
    assert math.isnan(table.class_values("mean")[3])
    assert table.provenance()["table_path"].endswith("table.yaml")


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ("mean: 40", "mean: lots", ["table.yaml", "biomes row 2", "'mean'", "not a number"]),
        ("mean: 40", "mean: -4", ["biomes row 2 (grass) field 'mean'", "below 0"]),
        ("source: hand-made\n", "", ["table.yaml", "'source' is missing"]),
        ("dollar_year: 2020", "dollar_year: soon", ["'dollar_year'", "not a year"]),
        ("2: grass", "2: steppe", ["land_cover row 2", "'steppe'"]),
        ("kind: ecosystem_value", "kind: prices", ["field 'kind'", "'prices'"]),
        ("  - {biome: grass, mean: 40}", "  - {biome: forest, mean: 40}", ["biomes row 2", "twice"]),
        ("biomes:", "biomes: [", ["not valid YAML"]),
    ],
)
def test_bad_user_table_is_one_line_error(tmp_path, old, new, needles):
    path = _write(tmp_path, _GOOD.replace(old, new))
    with pytest.raises(InputError) as err:
        load_value_table(path)
    text = str(err.value)
    assert len(text.splitlines()) == 1
    for needle in needles:
        assert needle in text, (needle, text)


def test_missing_table_and_missing_statistic(tmp_path):
    with pytest.raises(InputError, match="no such coefficient table"):
        load_value_table(tmp_path / "absent.yaml")
    table = load_value_table(_write(tmp_path, _GOOD))
    with pytest.raises(InputError, match="biome 'forest'.*has no 'median' value"):
        table.class_values("median")


_BIOMASS = """kind: biomass_carbon
name: test
version: "1"
source: hand-made
units: t d.m./ha
caveat: for tests
carbon_fraction: 0.5
rows:
  - {climate_zone: 12, land_cover: 1, agb: 100, root_shoot: [[20, 0.5], [null, 0.25]]}
  - {climate_zone: all, land_cover: 6, agb: 0}
"""


def test_user_biomass_table_and_its_errors(tmp_path):
    table = load_value_table(_write(tmp_path, _BIOMASS))
    assert (
        table.carbon_fraction == 0.5
        and table.agb[(3, 6)] == 0
        and table.root_shoot[(3, 6)] == ((math.inf, 0),)
    )
    cases = [
        ("[[20, 0.5], [null, 0.25]]", "[[20, 0.5], [10, 0.25]]", "bounds must increase"),
        ("climate_zone: 12", "climate_zone: 13", "rows row 1 field 'climate_zone'"),
        ("carbon_fraction: 0.5", "carbon_fraction: 5", "'carbon_fraction'"),
        ("agb: 100, ", "", "rows row 1 field 'agb'"),
        ("land_cover: 6", "land_cover: 1", "rows row 2"),  # zone 12, class 1 given twice
    ]
    for old, new, needle in cases:
        path = _write(tmp_path, _BIOMASS.replace(old, new, 1), "bad.yaml")
        with pytest.raises(InputError) as err:
            load_value_table(path)
        assert needle in str(err.value) and "bad.yaml" in str(err.value), (needle, str(err.value))
