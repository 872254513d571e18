"""Land types: rules, intersection, minimum-area merging, observation checks — against hand counts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from shapely.geometry import Point

from ldnkit import codes
from ldnkit.errors import ConfigError, GridError
from ldnkit.indicators.land_rules import RuleClass, classify_by_rules, roman_range_map
from ldnkit.indicators.land_types import (
    _border_counts,
    check_observations,
    land_type_legend,
    land_types,
)

N = codes.NODATA


def grid(a, chunks=None, dtype=None) -> xr.DataArray:
    a = np.asarray(a, dtype=dtype)
    ny, nx = a.shape
    out = xr.DataArray(a, dims=("y", "x"), coords={"y": np.arange(ny)[::-1] + 0.5, "x": np.arange(nx) + 0.5})
    out = out.rio.write_crs("EPSG:32631")
    if isinstance(chunks, int):
        chunks = (chunks, chunks)
    return out.chunk(dict(zip(("y", "x"), chunks, strict=True))) if chunks else out


# --- the 6x6 intersection example --------------------------------------------------------------
SOIL = np.array(
    [
        [1, 1, 1, 2, 2, 2],
        [1, 1, 1, 2, 2, 2],
        [1, 1, 1, 2, 2, 2],
        [1, 1, 3, 3, 2, 2],
        [1, 1, 3, 3, 2, 2],
        [N, N, N, N, N, N],
    ],
    np.int16,
)
CLIMATE = np.array([[11] * 6] * 2 + [[12] * 6] * 4, np.int16)
# km² per pixel: row r has area r + 1
AREA = np.repeat(np.arange(1.0, 7.0)[:, None], 6, axis=1)


def test_intersection_codes_and_areas_by_hand():
    lt = land_types(
        {"soil": grid(SOIL), "climate": grid(CLIMATE)},
        area=grid(AREA),
        labels={"soil": {1: "Vertisols", 2: "Ferralsols"}},
    )
    leg = lt.legend.set_index("Land type")
    # by hand: (soil, climate) -> km²: (1,12) 9+18=27, (2,12) 9+18=27, (3,12) 18, (1,11) 9, (2,11) 9;
    # ties broken by the component codes
    assert list(leg.index) == [1, 2, 3, 4, 5]
    assert list(zip(leg["soil"], leg["climate"], strict=True)) == [
        (1, 12),
        (2, 12),
        (3, 12),
        (1, 11),
        (2, 11),
    ]
    np.testing.assert_allclose(leg["Area (km²)"], [27, 27, 18, 9, 9])
    assert list(leg["Pixels"]) == [7, 7, 4, 6, 6]
    assert leg.loc[1, "Name"] == "soil: Vertisols · climate: Tropical dry"
    assert leg.loc[3, "Name"] == "soil 3 · climate: Tropical dry"
    assert leg["Merged into"].isna().all()
    assert lt.legend.attrs["missing_area_km2"] == pytest.approx(36.0)  # NODATA row, area 6 × 6
    expected = np.array(
        [
            [4, 4, 4, 5, 5, 5],
            [4, 4, 4, 5, 5, 5],
            [1, 1, 1, 2, 2, 2],
            [1, 1, 3, 3, 2, 2],
            [1, 1, 3, 3, 2, 2],
            [N] * 6,
        ]
    )
    assert lt.layer.dtype == np.int16
    np.testing.assert_array_equal(lt.layer.values, expected)
    assert lt.layer.attrs["n_types"] == 5 and lt.layer.attrs["components"] == ["soil", "climate"]
    assert lt.layer.rio.crs.to_epsg() == 32631
    leg2 = land_type_legend(lt)
    assert leg2.codes == (1, 2, 3, 4, 5)
    assert leg2.colours[0] == codes.QUALITATIVE_COLOURS[0]


def test_min_area_merges_into_longest_border():
    lt = land_types({"soil": grid(SOIL), "climate": grid(CLIMATE)}, area=grid(AREA), min_area_km2=10)
    # (1,11) [9 km²] borders (2,11) over 2 edges and (1,12) over 3 -> into (1,12);
    # then (2,11) borders (2,12) over 3 edges and the merged (1,12) over 2 -> into (2,12).
    leg = lt.legend.set_index("Land type")
    assert lt.layer.attrs["n_types"] == 3
    np.testing.assert_allclose(leg.loc[[1, 2, 3], "Area (km²)"], [36, 36, 18])
    assert list(leg.loc[[4, 5], "Merged into"]) == [1, 2]
    assert list(zip(leg.loc[[4, 5], "soil"], leg.loc[[4, 5], "climate"], strict=True)) == [(1, 11), (2, 11)]
    np.testing.assert_allclose(leg.loc[[4, 5], "Area (km²)"], [0, 0])
    np.testing.assert_allclose(leg.loc[[4, 5], "Area before merging (km²)"], [9, 9])
    assert list(lt.merges["Shared border (pixels)"]) == [3, 3]
    assert list(lt.merges["From"]) == [4, 5] and list(lt.merges["Into"]) == [1, 2]
    v = lt.layer.values
    assert (v[:2, :3] == 1).all() and (v[:2, 3:] == 2).all()


def test_chained_merges_smallest_first_and_isolated_type_kept():
    a = np.array(
        [
            [1, 1, 1, 1, N, 4],
            [1, 1, 1, 1, N, N],
            [1, 1, 2, 2, 3, N],
            [1, 1, 2, 2, 3, N],
            [1, 1, 1, 1, 1, N],
            [N] * 6,
        ],
        np.int16,
    )
    for chunks in (None, 2):
        lt = land_types({"soil": grid(a, chunks)}, min_area_km2=7)  # no area: pixel counts
        # soil 4 (1 px) has no neighbour: kept; soil 3 (2 px) borders soil 2 over 2 edges and
        # soil 1 over 1 -> into soil 2 (6 px, still < 7) which then goes into soil 1 (4+2+1 = 7 edges).
        leg = lt.legend.set_index("soil")
        assert leg.loc[1, "Land type"] == 1 and leg.loc[4, "Land type"] == 2
        assert leg.loc[1, "Area (pixels)"] == 23 and leg.loc[4, "Area (pixels)"] == 1
        assert leg.loc[2, "Merged into"] == 1 and leg.loc[3, "Merged into"] == 1
        assert leg.loc[4, "Merged into"] is None
        m = lt.merges
        assert list(m["Note"]) == ["kept: no neighbouring land type", "merged", "merged"]
        assert list(m["From"]) == [2, leg.loc[3, "Land type"], leg.loc[2, "Land type"]]
        assert list(m["Into"]) == [None, leg.loc[2, "Land type"], 1]
        assert list(m["Shared border (pixels)"]) == [0, 2, 7]
        assert list(m["Area (pixels)"]) == [1, 2, 6]
        v = lt.layer.values
        assert v[0, 5] == 2 and (v[2:4, 2:5] == 1).all()
        assert lt.layer.attrs["area_unit"] == "pixels"


def _brute_borders(ids: np.ndarray) -> dict:
    out: dict = {}
    ny, nx = ids.shape
    for i in range(ny):
        for j in range(nx):
            for di, dj in ((0, 1), (1, 0)):
                if i + di < ny and j + dj < nx:
                    a, b = int(ids[i, j]), int(ids[i + di, j + dj])
                    if a > 0 and b > 0 and a != b:
                        k = (min(a, b), max(a, b))
                        out[k] = out.get(k, 0) + 1
    return out


def test_multichunk_equals_single_chunk_and_brute_force_borders():
    rng = np.random.default_rng(3)
    # blocky random classes so types have real borders, plus scattered NODATA
    soil = np.kron(rng.integers(1, 5, (10, 12)), np.ones((5, 6), int))[:47, :65].astype(np.int16)
    clim = np.kron(rng.integers(1, 4, (6, 7)), np.ones((9, 10), int))[:47, :65].astype(np.float32)
    clim[rng.random(clim.shape) < 0.03] = np.nan
    area = rng.uniform(0.5, 1.5, soil.shape)
    ids = rng.integers(0, 6, (47, 65)).astype(np.int32)
    for ch in ((16, 23), (7, 9), (47, 65)):
        assert _border_counts(grid(ids, ch), 5) == _brute_borders(ids)
    ref = land_types({"soil": grid(soil), "clim": grid(clim)}, area=grid(area), min_area_km2=260.0)
    assert ref.layer.attrs["n_merged"] > 0
    for ch in ((16, 23), (10, 10)):
        lt = land_types(
            {"soil": grid(soil, ch), "clim": grid(clim, ch)}, area=grid(area, ch), min_area_km2=260.0
        )
        assert lt.layer.chunks is not None  # lazy
        np.testing.assert_array_equal(lt.layer.values, ref.layer.values)
        pd.testing.assert_frame_equal(lt.legend, ref.legend)
        pd.testing.assert_frame_equal(lt.merges, ref.merges)
    # every surviving type is at least the minimum area (none is isolated here)
    kept = ref.legend[ref.legend["Merged into"].isna()]
    assert (kept["Area (km²)"] >= 260.0).all()
    # the layer's areas agree with the legend (independent numpy sum)
    for t, a in zip(kept["Land type"], kept["Area (km²)"], strict=True):
        assert area[ref.layer.values == t].sum() == pytest.approx(a)


def test_declared_nodata_and_config_style_classes():
    soil = grid(np.array([[0, 1, 2], [2, 2, 0]], np.uint8))
    soil.attrs["nodata"] = 0  # a uint8 file whose missing value is 0
    lt = land_types({"soil": soil.chunk({"y": 1})})
    assert lt.layer.values.tolist() == [[N, 2, 1], [1, 1, N]]
    assert lt.legend.attrs["missing_area_pixels"] == 2
    slope = grid(np.array([[5, 255]], np.uint8))
    slope.attrs["nodata"] = 255
    out = classify_by_rules(
        {"slope": slope}, [{"code": 4, "label": "flat", "when": {"slope": [None, 10]}}], 9
    )
    assert out.values.tolist() == [[4, N]]


def test_land_types_errors():
    with pytest.raises(GridError):
        land_types({"a": grid(SOIL), "b": grid(CLIMATE[:5])})
    with pytest.raises(ConfigError):
        land_types({})


# --- rules ---------------------------------------------------------------------------------------
CLASSES = [
    RuleClass(1, "I-II good", {"slope": (None, 8), "depth": (50, None)}),
    RuleClass(2, "III-IV moderate", {"slope": (None, 15)}),
]


def test_rules_first_match_boundaries_nan_otherwise():
    slope = np.array([[0, 8, 7.99, 15, 14.9, np.nan, 3, np.nan]])
    depth = np.array([[50, 100, 49.9, 100, np.nan, 80, np.nan, np.nan]])
    out = classify_by_rules({"slope": grid(slope), "depth": grid(depth)}, CLASSES, otherwise=3)
    # both classes match pixel 0 -> the first; [min, max): 8 is not < 8; NaN depth fails class 1;
    # all inputs NaN -> NODATA
    assert out.dtype == np.int16
    assert out.values.tolist() == [[1, 2, 2, 3, 2, 3, 2, N]]
    none = classify_by_rules({"slope": grid(slope, (1, 3)), "depth": grid(depth, (1, 3))}, CLASSES)
    assert none.chunks is not None
    assert none.values.tolist() == [[1, 2, 2, N, 2, N, 2, N]]
    assert out.attrs["method"] == "rules" and out.attrs["otherwise"] == 3
    assert out.attrs["rules"][0]["when"] == {"slope": [None, 8.0], "depth": [50.0, None]}
    # integer layer: NODATA is missing
    islope = np.array([[5, N]], np.int16)
    out2 = classify_by_rules({"slope": grid(islope)}, [RuleClass(7, "flat", {"slope": (0, 10)})], otherwise=9)
    assert out2.values.tolist() == [[7, N]]


def test_rules_errors():
    s = grid(np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="soil_depth"):
        classify_by_rules({"slope": s}, [RuleClass(1, "x", {"soil_depth": (0, 1)})])
    with pytest.raises(ConfigError, match="empty range"):
        classify_by_rules({"slope": s}, [RuleClass(1, "x", {"slope": (5, 5)})])
    with pytest.raises(ConfigError, match="1..32767"):
        classify_by_rules({"slope": s}, [RuleClass(0, "x", {"slope": (0, 1)})])


def test_roman_range_map():
    assert roman_range_map(CLASSES + [RuleClass(3, "V-VIII poor"), RuleClass(4, "other")]) == {
        1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 3, 8: 3,
    }  # fmt: skip


# --- observations --------------------------------------------------------------------------------


def test_check_observations_five_points():
    slope = grid(np.array([[2.0, 2.0, 12.0, 20.0]] * 4))
    depth = grid(np.array([[80.0, 30.0, 80.0, 80.0]] * 4))
    cap = classify_by_rules({"slope": slope, "depth": depth}, CLASSES, otherwise=3)
    # mapped rule classes per column: 1, 2, 2, 3
    lt = land_types({"cap": cap})
    pts = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "land_capability_class": pd.array([2, 3, 2, None, 1], dtype="Int16"),
            "slope": [1.0, 3.0, 30.0, 20.0, 1.0],
        },
        geometry=[Point(0.5, 3.5), Point(1.4, 0.6), Point(3.2, 2.1), Point(2.5, 1.5), Point(9.0, 1.0)],
        crs="EPSG:32631",
    )
    rules = {"rule_layers": {"slope": slope, "depth": depth}, "classes": CLASSES, "otherwise": 3}
    lcc = roman_range_map(CLASSES)
    table, summary = check_observations(
        pts, lt.layer, **rules, observed_class_field="land_capability_class", observed_map=lcc
    )
    # a: column 0, mapped 1, recorded II -> 1: agrees; b: column 1, mapped 2, recorded III -> 2: agrees;
    # c: column 3, mapped 3 (otherwise), recorded II -> 1: disagrees; d: no record; e: outside.
    assert list(table["Agrees"]) == [True, True, False, None, None]
    assert table.loc[4, "Land type"] == "outside" and table.loc[4, "Mapped class"] == "outside"
    assert table.loc[0, "Mapped slope"] == 2.0 and table.loc[0, "Field slope"] == 1.0
    assert table.loc[0, "Land type"] == lt.layer.values[0, 0]
    s = dict(zip(summary["Measure"], summary["Value"], strict=True))
    assert s["Points"] == 5 and s["Outside the grid"] == 1 and s["Compared"] == 3 and s["Agreeing"] == 2
    assert s["Agreement (%)"] == pytest.approx(200 / 3)
    assert summary.attrs["confusion"] == {
        "I-II good": {"I-II good": 1},
        "III-IV moderate": {"III-IV moderate": 1},
        "3": {"I-II good": 1},
    }

    # without a recorded class: the rules on the field values (depth, not observed, from the map):
    # a: 1 vs 1; b: slope 3, depth 30 -> 2 vs 2; c: slope 30 -> 3 vs 3; d: slope 20 -> 3 vs 2 (column 2)
    table2, summary2 = check_observations(pts, lt.layer, **rules)
    assert list(table2["Agrees"]) == [True, True, True, False, None]
    assert table2.loc[3, "Rule class from field values"] == 3
    assert table2.loc[3, "Mapped class"] == "III-IV moderate"
    assert summary2.attrs["agreement_pct"] == pytest.approx(75.0)
    assert summary2.attrs["confusion"]["III-IV moderate"] == {"3": 1, "III-IV moderate": 1}


def test_check_observations_without_rules_reprojects_points():
    lt = xr.DataArray(
        np.array([[1, 2], [3, N]], np.int16),
        dims=("y", "x"),
        coords={"y": [1500.0, 500.0], "x": [500500.0, 501500.0]},  # 1 km pixels, UTM 31N at the equator
    ).rio.write_crs("EPSG:32631")
    # lon 3°E is easting 500 000 m exactly: points given in lon/lat
    lon0 = 3.0
    pts = gpd.GeoDataFrame(
        {"recorded": [1, 3, 3, 2]},
        geometry=[
            Point(lon0 + 0.004, 0.012),
            Point(lon0 + 0.013, 0.012),
            Point(lon0 + 0.004, 0.004),
            Point(lon0 + 0.013, 0.004),
        ],  # fmt: skip
        crs="EPSG:4326",
    )
    table, summary = check_observations(pts, lt, observed_class_field="recorded", land_type_names={1: "one"})
    # pixels hit: (0,0)=1 ✓, (0,1)=2 vs 3 ✗, (1,0)=3 ✓, (1,1)=NODATA -> not compared
    assert table["Land type"].tolist() == [1, 2, 3, "no data"]
    assert table["Agrees"].tolist() == [True, False, True, None]
    assert table.loc[0, "Land type name"] == "one"
    assert summary.attrs["n_compared"] == 3 and summary.attrs["agreement_pct"] == pytest.approx(200 / 3)
