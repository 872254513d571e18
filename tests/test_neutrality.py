"""LDN neutrality accounting, response hierarchy, planning and voluntary targets.

Every expected figure is summed by hand from the small rasters below (the sums are written out
next to each figure), never taken from our own output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from ldnkit import codes
from ldnkit.codes import AOI_SCOPE
from ldnkit.errors import ConfigError, InputError
from ldnkit.indicators.neutrality import (
    ALL_LAND_TYPES,
    gains_losses,
    neutrality,
    projected_balance,
    response_areas,
    response_hierarchy,
)
from ldnkit.tables.neutrality import Target, evaluate_targets

N = codes.NODATA


def _da(a, chunks=None, dtype=None, name=None) -> xr.DataArray:
    a = np.asarray(a, dtype=dtype)
    ny, nx = a.shape
    x = xr.DataArray(
        a, dims=("y", "x"), coords={"y": np.arange(ny)[::-1] + 0.5, "x": np.arange(nx) + 0.5}, name=name
    )
    return x.chunk({"y": chunks, "x": chunks}) if chunks else x


# --- the hand-made balance sheet ----------------------------------------------------------------
# Pixel area of row r is r + 1 km² (non-uniform). Columns 0-2 are land type 1, 3-5 land type 2.
STATUS7 = [
    [6, 1, 4, 7, 7, 2],  # area 1
    [2, 4, 4, 6, 3, 1],  # area 2
    [4, 7, N, 4, 5, 6],  # area 3   (2,2): status missing, land type 1 -> excluded (3 km²)
    [1, 1, 3, 6, 4, 4],  # area 4
    [5, 4, 6, 2, 2, N],  # area 5   (4,5): both missing -> outside the area of interest
    [4, 4, 4, 4, 7, 4],  # area 6   (5,0): land type missing -> excluded (6 km²)
]
LTYPES = [[1, 1, 1, 2, 2, 2]] * 4 + [[1, 1, 1, 2, 2, N], [N, 1, 1, 2, 2, 2]]
REGIONS = [[1] * 6] * 3 + [[2] * 6] * 2 + [[N] * 6]  # rows 0-2 North, 3-4 South, row 5 no region
AREA = np.repeat(np.arange(1.0, 7.0)[:, None], 6, axis=1)


def _inputs(chunks=None):
    return (
        _da(STATUS7, chunks, np.int16, "status_expanded"),
        _da(LTYPES, chunks, np.int16),
        _da(AREA, chunks),
        _da(REGIONS, chunks, np.int16),
    )


def _row(df, scope, lt):
    sub = df[(df["Scope"] == scope) & (df["Land type"] == lt)]
    assert len(sub) == 1, (scope, lt)
    return sub.iloc[0]


def _check(r, gains, losses, neutral, achieved):
    total = gains + losses + neutral
    assert r["Gains (km²)"] == pytest.approx(gains)
    assert r["Losses (km²)"] == pytest.approx(losses)
    assert r["Neutral (km²)"] == pytest.approx(neutral)
    assert r["Total (km²)"] == pytest.approx(total)
    assert r["ΔLDN (km²)"] == pytest.approx(gains - losses)
    assert r["ΔLDN (% of land type)"] == pytest.approx((gains - losses) / total * 100)
    assert bool(r["LDN achieved"]) is achieved


def test_balance_sheet_by_hand():
    st, lt, area, _ = _inputs()
    bs = neutrality(st, lt, area=area, land_type_names={1: "Plains"})
    assert bs.attrs["title"]
    assert list(bs["Scope"].unique()) == [AOI_SCOPE]
    # type 1 gains: (0,0) 1 + (2,1) 3 + (4,2) 5; losses: (0,1) 1 + (1,0) 2 + (3,0) 4 + (3,1) 4;
    # neutral: 1 + 2 + 2 + 3 + 4 + 5 + 5 + 6 + 6
    _check(_row(bs, AOI_SCOPE, 1), 1 + 3 + 5, 1 + 2 + 4 + 4, 1 + 2 + 2 + 3 + 4 + 5 + 5 + 6 + 6, False)
    # type 2 gains: (0,3) 1 + (0,4) 1 + (1,3) 2 + (2,5) 3 + (3,3) 4 + (5,4) 6;
    # losses: (0,5) 1 + (1,5) 2 + (4,3) 5 + (4,4) 5; neutral: 2 + 3 + 3 + 4 + 4 + 6 + 6
    _check(_row(bs, AOI_SCOPE, 2), 1 + 1 + 2 + 3 + 4 + 6, 1 + 2 + 5 + 5, 2 + 3 + 3 + 4 + 4 + 6 + 6, True)
    tot = _row(bs, AOI_SCOPE, ALL_LAND_TYPES)
    # all land types: gains 9 + 17 = 26 > losses 11 + 13 = 24, yet type 1 loses: not achieved
    assert tot["ΔLDN (km²)"] == pytest.approx(26 - 24)
    assert tot["ΔLDN (km²)"] > 0
    assert not bool(tot["LDN achieved"])
    assert tot["Total (km²)"] == pytest.approx(54 + 58)
    assert bs.attrs["verdict"] == {AOI_SCOPE: False}
    # NODATA excluded: (2,2) 3 km² + (5,0) 6 km²; (4,5) is outside the area of interest
    assert bs.attrs["excluded_km2"] == pytest.approx(9.0)
    assert _row(bs, AOI_SCOPE, 1)["Land type name"] == "Plains"
    assert _row(bs, AOI_SCOPE, 2)["Land type name"] == "Land type 2"


def test_balance_sheet_regions():
    st, lt, area, reg = _inputs()
    bs = neutrality(st, lt, area=area, regions=reg, region_names={1: "North"})
    assert list(dict.fromkeys(bs["Scope"])) == [AOI_SCOPE, "North", "Region 2"]
    # North (rows 0-2): type 1 gains 1 + 3, losses 1 + 2, neutral 1 + 2 + 2 + 3
    _check(_row(bs, "North", 1), 1 + 3, 1 + 2, 1 + 2 + 2 + 3, True)
    # type 2 gains 1 + 1 + 2 + 3, losses 1 + 2, neutral 2 + 3 + 3
    _check(_row(bs, "North", 2), 1 + 1 + 2 + 3, 1 + 2, 2 + 3 + 3, True)
    assert bool(_row(bs, "North", ALL_LAND_TYPES)["LDN achieved"])
    # South (rows 3-4): type 1 gains 5, losses 4 + 4, neutral 4 + 5 + 5; type 2 gains 4, losses 5 + 5
    _check(_row(bs, "Region 2", 1), 5, 4 + 4, 4 + 5 + 5, False)
    _check(_row(bs, "Region 2", 2), 4, 5 + 5, 4 + 4, False)
    assert bs.attrs["verdict"] == {AOI_SCOPE: False, "North": True, "Region 2": False}
    assert bs.attrs["excluded_km2_by_scope"] == pytest.approx({AOI_SCOPE: 9.0, "North": 3.0, "Region 2": 0.0})
    # the area of interest keeps row 5 (no region): same figures as without regions
    pd.testing.assert_frame_equal(
        bs[bs["Scope"] == AOI_SCOPE].reset_index(drop=True), neutrality(st, lt, area=area), check_like=True
    )


@pytest.mark.parametrize("chunks", [1, 2, 4])
def test_balance_sheet_chunks(chunks):
    ref = neutrality(*_inputs()[:2], area=_inputs()[2], regions=_inputs()[3])
    st, lt, area, reg = _inputs(chunks)
    out = neutrality(st, lt, area=area, regions=reg)
    pd.testing.assert_frame_equal(out, ref)


def test_balance_sheet_rejects_other_codes():
    st, lt, area, _ = _inputs()
    with pytest.raises(InputError, match="7-class"):
        neutrality(xr.where(st == 4, -1, st).astype(np.int16), lt, area=area)


def test_gains_losses_map():
    ref = {1: -1, 2: -1, 3: 0, 4: 0, 5: 0, 6: 1, 7: 1, N: N}
    st = _da(STATUS7, 3, np.int16)
    gl = gains_losses(st)
    assert gl.dtype == np.int16 and gl.chunks is not None
    expected = np.vectorize(ref.get)(np.asarray(STATUS7))
    np.testing.assert_array_equal(gl.values, expected)
    assert gl.attrs["gains"] == [6, 7] and gl.attrs["losses"] == [1, 2]
    # float input: NaN and codes outside 1..7 are missing
    f = gains_losses(_da([[np.nan, 7.0, 0.0, 8.0, 2.0]], dtype=np.float32))
    np.testing.assert_array_equal(f.values, [[N, 1, N, N, -1]])


# --- response hierarchy ---------------------------------------------------------------------------


def test_response_hierarchy_7_class():
    st = _da([[1, 2, 3, 4], [5, 6, 7, N]], 1, np.int16)
    lpd = _da([[3, 3, 3, 3], [1, 3, 5, 3]], 1, np.int16)
    arr = response_hierarchy(st, lpd, status_classes=7)
    # 1, 2, 3 degraded -> reverse whatever the LPD; 4 and 6 stressed -> reduce; 5, 7 -> avoid
    np.testing.assert_array_equal(arr.values, [[3, 3, 3, 2], [1, 2, 1, N]])
    assert arr.attrs["status_classes"] == 7 and arr.attrs["degraded_codes"] == [1, 2, 3]
    # inferred from the attrs that ldnkit.indicators.sdg.status writes
    st.attrs["method"] = "status_matrix_expanded"
    np.testing.assert_array_equal(response_hierarchy(st, lpd).values, arr.values)


def test_response_hierarchy_3_class_and_risk():
    st = _da([[-1, -1, 0, 0, 1, 1, 0, N]], dtype=np.int16)
    lpd = _da([[3, 4, 3, 4, 4, 4, N, 3]], dtype=np.int16)
    arr = response_hierarchy(st, lpd)  # inferred 3-class from the codes -1 and 0
    assert arr.attrs["status_classes"] == 3
    np.testing.assert_array_equal(arr.values, [[3, 3, 2, 1, 1, 1, 1, N]])
    # a risk layer: risk > threshold -> reduce (strictly greater; NaN = no information)
    risk = _da([[9.0, 0.0, 0.0, 0.6, 0.5, np.nan, 0.7, 9.0]], dtype=np.float32)
    arr = response_hierarchy(st, lpd, risk=risk, risk_threshold=0.5)
    np.testing.assert_array_equal(arr.values, [[3, 3, 2, 2, 1, 1, 2, N]])
    assert arr.attrs["risk_layer"] is True and arr.attrs["risk_threshold"] == 0.5
    # an integer risk layer with NODATA
    irisk = _da([[1, 1, 0, 1, 0, N, 0, 1]], dtype=np.int16)
    np.testing.assert_array_equal(response_hierarchy(st, lpd, risk=irisk).values, [[3, 3, 2, 2, 1, 1, 1, N]])


def test_response_hierarchy_ambiguous_and_float():
    ones = _da([[1, 1], [1, N]], dtype=np.int16)
    lpd = _da([[4, 4], [4, 4]], dtype=np.int16)
    with pytest.raises(InputError, match="status_classes"):
        response_hierarchy(ones, lpd)
    np.testing.assert_array_equal(response_hierarchy(ones, lpd, status_classes=7).values, [[3, 3], [3, N]])
    np.testing.assert_array_equal(response_hierarchy(ones, lpd, status_classes=3).values, [[1, 1], [1, N]])
    # float status with NaN missing, lazily on dask
    fst = _da([[np.nan, 2.0], [4.0, 7.0]], 1, np.float32)
    arr = response_hierarchy(fst, _da([[3, 3], [3, 4]], 1, np.int16))
    assert arr.chunks is not None
    np.testing.assert_array_equal(arr.values, [[N, 3], [2, 1]])


def test_response_areas_by_hand():
    arr = _da([[1, 2, 3], [3, 3, N], [1, 1, 2]], dtype=np.int16)
    lt = _da([[1, 1, 1], [2, 2, 2], [1, 2, N]], dtype=np.int16)
    area = _da(np.array([[1.0, 2.0, 3.0]] * 3))  # column areas 1, 2, 3 km²
    ref = None
    for chunks in (None, 1, 2):
        df = response_areas(
            _da(arr.values, chunks),
            _da(lt.values, chunks),
            _da(area.values, chunks),
            land_type_names={2: "B"},
        )
        ref = df if ref is None else ref
        pd.testing.assert_frame_equal(df, ref)
    r1, r2, tot = _row(df, AOI_SCOPE, 1), _row(df, AOI_SCOPE, 2), _row(df, AOI_SCOPE, ALL_LAND_TYPES)
    # type 1: avoid (0,0) 1 + (2,0) 1; reduce (0,1) 2; reverse (0,2) 3
    assert (r1["Avoid (km²)"], r1["Reduce (km²)"], r1["Reverse (km²)"]) == pytest.approx((2, 2, 3))
    # type 2: reverse (1,0) 1 + (1,1) 2; avoid (2,1) 2; (1,2) NODATA response left out
    assert (r2["Avoid (km²)"], r2["Reduce (km²)"], r2["Reverse (km²)"]) == pytest.approx((2, 0, 3))
    assert r2["Land type name"] == "B" and r2["Total (km²)"] == pytest.approx(5)
    assert (tot["Avoid (km²)"], tot["Reduce (km²)"], tot["Reverse (km²)"]) == pytest.approx((4, 2, 6))


# --- projected balance -------------------------------------------------------------------------

# Row 0 land type 1, row 1 land type 2; column areas 1, 2, 3, 4, 10 km².
P_STATUS = [[2, 2, 1, 4, 6], [2, 2, 2, 2, 5]]
P_AREA = np.array([[1.0, 2.0, 3.0, 4.0, 10.0]] * 2)
P_ANTIC = [[1, 0, 0, 1, 0], [1, 0, 0, 1, 0]]
P_PLAN = [[3, 2, 3, 3, 1], [3, N, N, N, 2]]


def _projected(chunks=None, effect=0.5, **kw):
    return projected_balance(
        _da(P_STATUS, chunks, np.int16),
        _da([[1] * 5, [2] * 5], chunks, np.int16),
        _da(P_AREA, chunks),
        period_years=3,
        horizon_years=7,
        anticipated_loss=_da(P_ANTIC, chunks, np.int16),
        interventions=_da(P_PLAN, chunks, np.int16),
        effect=effect,
        **kw,
    )


def test_projected_balance_by_hand():
    df = _projected()
    r1 = _row(df, AOI_SCOPE, 1)
    # type 1: gains 10 (status 6), losses 1 + 2 + 3, degraded 1 + 2 + 3, not degraded 4 + 10,
    # recent degradation (status 2) 1 + 2 -> rate 3 / 3 = 1 km²/yr -> BAU 1 * 7 = 7 (< 14, no cap)
    assert r1["ΔLDN (km²)"] == pytest.approx(10 - 6)
    assert r1["Not degraded (km²)"] == pytest.approx(14)
    assert r1["BAU loss rate (km²/yr)"] == pytest.approx(1.0)
    assert r1["BAU losses (km²)"] == pytest.approx(7.0)
    # anticipated: cols 0 (degraded, not counted) and 3 (status 4, 4 km²)
    assert r1["Anticipated losses (km²)"] == pytest.approx(4.0)
    # planned gains: reverse on degraded cols 0 (1 km²) and 2 (3 km²) x 0.5; col 3 is not degraded
    assert r1["Planned gains (km²)"] == pytest.approx((1 + 3) * 0.5)
    # avoided: avoid on col 4 (10 km² not degraded) x 0.5 / 14 of BAU 7; reduce on col 1 is degraded
    assert r1["Losses avoided (km²)"] == pytest.approx(7 * 10 * 0.5 / 14)
    proj1 = 4 + 2 - 4 - (7 - 2.5)
    assert r1["Projected ΔLDN (km²)"] == pytest.approx(proj1)
    assert r1["Counterbalancing needed (km²)"] == pytest.approx(2.5)
    assert not bool(r1["Projected LDN achieved"])
    r2 = _row(df, AOI_SCOPE, 2)
    # type 2: recent degradation 1 + 2 + 3 + 4 = 10 -> 10 / 3 * 7 = 23.3 capped at not degraded 10
    assert r2["BAU losses (km²)"] == pytest.approx(10.0)
    assert r2["Anticipated losses (km²)"] == 0.0  # both anticipated pixels already degraded
    assert r2["Planned gains (km²)"] == pytest.approx(1 * 0.5)
    assert r2["Losses avoided (km²)"] == pytest.approx(10 * (10 * 0.5 / 10))
    proj2 = -10 + 0.5 - 0 - (10 - 5)
    assert r2["Projected ΔLDN (km²)"] == pytest.approx(proj2)
    tot = _row(df, AOI_SCOPE, ALL_LAND_TYPES)
    assert tot["Projected ΔLDN (km²)"] == pytest.approx(proj1 + proj2)
    assert tot["Counterbalancing needed (km²)"] == pytest.approx(2.5 + 14.5)
    assert not bool(tot["Projected LDN achieved"])
    assert df.attrs["period_years"] == 3 and df.attrs["effect"] == 0.5


def test_projected_balance_effect_raster_and_chunks():
    eff = np.array([[1.0, np.nan, 0.25, 0.5, 0.2], [np.nan] * 5])
    df = _projected(effect=_da(eff))
    r1, r2 = _row(df, AOI_SCOPE, 1), _row(df, AOI_SCOPE, 2)
    assert r1["Planned gains (km²)"] == pytest.approx(1 * 1.0 + 3 * 0.25)
    assert r1["Losses avoided (km²)"] == pytest.approx(7 * (10 * 0.2) / 14)
    assert r2["Planned gains (km²)"] == pytest.approx(1.0)  # NaN effect = full effect
    assert r2["Losses avoided (km²)"] == pytest.approx(10.0)
    for chunks in (1, 2):
        pd.testing.assert_frame_equal(_projected(chunks, effect=_da(eff, chunks)), df)


def test_projected_balance_bau_only():
    df = projected_balance(
        _da(P_STATUS, dtype=np.int16),
        _da([[1] * 5, [2] * 5], dtype=np.int16),
        _da(P_AREA),
        period_years=3,
        horizon_years=0,
    )
    r1 = _row(df, AOI_SCOPE, 1)
    assert r1["BAU losses (km²)"] == 0.0
    assert r1["Projected ΔLDN (km²)"] == pytest.approx(4.0)
    assert bool(r1["Projected LDN achieved"])
    with pytest.raises(ConfigError):
        projected_balance(
            _da(P_STATUS, dtype=np.int16), _da(P_STATUS), _da(P_AREA), period_years=0, horizon_years=1
        )


# --- voluntary targets ----------------------------------------------------------------------------


def _t2(rows):
    return pd.DataFrame(
        [
            {
                "Period": p,
                "Kind": k,
                "Land cover years": y,
                "Degraded area (km²)": pct * 10,
                "% of total land area": pct,
            }
            for p, k, y, pct in rows
        ]
    )


@pytest.fixture(scope="module")
def prais():
    t4 = pd.DataFrame(
        [
            {
                "Code": 1,
                "Land cover class": "Tree-covered areas",
                "2000": 100.0,
                "2015": 110.0,
                "2019": 120.0,
                "2023": 126.0,
            },
            {
                "Code": 3,
                "Land cover class": "Cropland",
                "2000": 60.0,
                "2015": 50.0,
                "2019": 48.0,
                "2023": 45.0,
            },
            {"Code": 4, "Land cover class": "Wetland", "2000": 0.0, "2015": 0.0, "2019": 0.0, "2023": 0.0},
            {"Code": None, "Land cover class": "Total", "2000": 1.0, "2015": 1.0, "2019": 1.0, "2023": 1.0},
        ]
    )
    t4["Code"] = t4["Code"].astype(object)  # as prais writes it: ints and None on the total row
    aoi_t2 = _t2(
        [
            ("baseline", "baseline", "2000-2015", 15.0),
            ("2016-2019", "reporting", "2015-2019", 14.0),
            ("2016-2023", "reporting", "2015-2023", 13.5),
        ]
    )
    north_t2 = _t2(
        [("baseline", "baseline", "2000-2015", 20.0), ("2016-2023", "reporting", "2015-2023", 11.0)]
    )
    tables = {
        AOI_SCOPE: {"SO1-1.T4": t4, "SO1-4.T2": aoi_t2},
        "North": {"SO1-1.T4": t4, "SO1-4.T2": north_t2},
    }
    st, lt, area, reg = _inputs()
    balance = neutrality(st, lt, area=area, regions=reg, region_names={1: "North"})
    return tables, balance


def _eval(prais, *targets, period="2016-2023"):
    tables, balance = prais
    out = evaluate_targets(list(targets), balance=balance, tables=tables, period=period)
    return out.set_index("Target")


def test_target_no_net_loss(prais):
    out = _eval(
        prais,
        Target("A", "no_net_loss", "LDN by 2030", 2030),
        Target("N", "no_net_loss", "LDN in North", 2030, scope="North"),
        Target("X", "no_net_loss", "unknown region", 2030, scope="Atlantis"),
    )
    assert out.attrs["title"]
    # AOI: land type 1 loses 2 km² (9 - 11) although the sum is +2 -> not on track
    assert out.loc["A", "Status"] == "not on track"
    assert out.loc["A", "Current value"] == pytest.approx(-2.0)
    assert out.loc["A", "Progress (%)"] == pytest.approx(58 / (54 + 58) * 100)  # area of type 2 / total
    assert (out.loc["A", "Base year"], out.loc["A", "Latest year"]) == (2015, 2023)
    # North: ΔLDN +1 (type 1) and +4 (type 2)
    assert out.loc["N", "Status"] == "achieved"
    assert out.loc["N", "Current value"] == pytest.approx(1.0)
    assert out.loc["X", "Status"].startswith("not assessable:") and "Atlantis" in out.loc["X", "Status"]


def test_target_max_degraded_percent(prais):
    out = _eval(
        prais,
        Target("a", "max_degraded_percent", "", 2030, value=12),  # 15 -> 13.5: 50 % < 8/15 elapsed
        Target("b", "max_degraded_percent", "", 2030, value=14),  # 13.5 <= 14
        Target("c", "max_degraded_percent", "", 2039, value=12),  # 50 % >= 8/24 elapsed
        Target("d", "max_degraded_percent", "", 2027, base_year=2019, value=13),  # 14 -> 13.5: 50 % >= 4/8
        Target("e", "max_degraded_percent", "", 2030, base_year=2010, value=12),
        Target("f", "max_degraded_percent", "", 2030, scope="North", value=10),  # 20 -> 11: 90 % >= 53 %
        Target("g", "max_degraded_percent", "", 2030, value=16),  # baseline already below, current too
    )
    assert out.loc["a", "Status"] == "not on track"
    assert out.loc["a", "Progress (%)"] == pytest.approx((15 - 13.5) / (15 - 12) * 100)
    assert (out.loc["a", "Baseline value"], out.loc["a", "Current value"]) == (15.0, 13.5)
    assert out.loc["b", "Status"] == "achieved"
    assert out.loc["c", "Status"] == "on track"
    assert out.loc["d", "Status"] == "on track"
    assert out.loc["d", "Base year"] == 2019 and out.loc["d", "Baseline value"] == 14.0
    assert out.loc["e", "Status"].startswith("not assessable:") and "2010" in out.loc["e", "Status"]
    assert out.loc["f", "Status"] == "on track"
    assert out.loc["f", "Progress (%)"] == pytest.approx((20 - 11) / (20 - 10) * 100)
    assert out.loc["g", "Status"] == "achieved"
    other = _eval(prais, Target("p", "max_degraded_percent", "", 2030, value=12), period="2030-2035")
    assert other.loc["p", "Status"].startswith("not assessable:")


def test_target_land_cover_change(prais):
    out = _eval(
        prais,
        Target("t", "land_cover_change_percent", "+10 % trees", 2030, land_cover=1, base_year=2019, value=10),
        Target("u", "land_cover_change_percent", "+10 % trees", 2030, land_cover=1, base_year=2015, value=10),
        Target(
            "c", "land_cover_change_percent", "-20 % crops", 2025, land_cover=3, base_year=2015, value=-20
        ),
        Target("y", "land_cover_change_percent", "", 2030, land_cover=1, base_year=2017, value=10),
        Target("w", "land_cover_change_percent", "", 2030, land_cover=4, base_year=2019, value=10),
        Target(
            "r",
            "land_cover_change_percent",
            "",
            2030,
            scope="Atlantis",
            land_cover=1,
            base_year=2019,
            value=1,
        ),
    )
    # trees 120 (2019) -> 126 (2023): +5 % = 50 % of +10 %, elapsed 4/11 = 36 % -> on track
    assert out.loc["t", "Current value"] == pytest.approx((126 - 120) / 120 * 100)
    assert out.loc["t", "Progress (%)"] == pytest.approx(50.0)
    assert out.loc["t", "Status"] == "on track"
    assert (out.loc["t", "Base year"], out.loc["t", "Latest year"]) == (2019, 2023)
    # 110 (2015) -> 126: +14.5 % >= 10 %
    assert out.loc["u", "Status"] == "achieved"
    # crops 50 -> 45: -10 % = 50 % of -20 %, elapsed 8/10 = 80 % -> not on track
    assert out.loc["c", "Current value"] == pytest.approx(-10.0)
    assert out.loc["c", "Progress (%)"] == pytest.approx(50.0)
    assert out.loc["c", "Status"] == "not on track"
    assert out.loc["y", "Status"].startswith("not assessable:") and "2017" in out.loc["y", "Status"]
    assert out.loc["w", "Status"].startswith("not assessable:") and "no area" in out.loc["w", "Status"]
    assert out.loc["r", "Status"].startswith("not assessable:")


def test_target_restore_km2(prais):
    out = _eval(
        prais,
        Target("a", "restore_km2", "", 2030, value=40),  # gains 26 km²: 65 % >= 8/15 elapsed
        Target("b", "restore_km2", "", 2030, value=20),
        Target("c", "restore_km2", "", 2030, value=100),  # 26 %
        Target("n", "restore_km2", "", 2030, scope="North", value=20),  # North gains 4 + 7 = 11
    )
    assert out.loc["a", "Current value"] == pytest.approx(26.0)  # 9 + 17
    assert out.loc["a", "Progress (%)"] == pytest.approx(65.0)
    assert out.loc["a", "Status"] == "on track"
    assert out.loc["b", "Status"] == "achieved"
    assert out.loc["c", "Status"] == "not on track"
    assert out.loc["n", "Current value"] == pytest.approx(11.0)
    assert out.loc["n", "Status"] == "on track"  # 11 / 20 = 55 % >= (2023 - 2015) / (2030 - 2015) = 53.3 %
    # without SO1-4.T2 the base year is unknown unless the target gives it
    _, balance = prais
    res = evaluate_targets(
        [
            Target("x", "restore_km2", "", 2030, value=40),
            Target("z", "restore_km2", "", 2031, base_year=2015, value=40),
        ],
        balance=balance,
        tables={},
        period="2016-2023",
    ).set_index("Target")
    assert res.loc["x", "Status"].startswith("not assessable:")
    assert res.loc["z", "Status"] == "on track"  # 65 % >= (2023 - 2015) / (2031 - 2015) = 50 %


def test_target_malformed_is_config_error(prais):
    tables, balance = prais
    with pytest.raises(ConfigError, match="VT9"):
        evaluate_targets(
            [Target("VT9", "zero_loss", "", 2030)], balance=balance, tables=tables, period="2016-2023"
        )
    with pytest.raises(ConfigError, match="VT8"):
        evaluate_targets(
            [Target("VT8", "restore_km2", "", 2030)], balance=balance, tables=tables, period="2016-2023"
        )
    with pytest.raises(ConfigError, match="VT7"):
        evaluate_targets(
            [Target("VT7", "land_cover_change_percent", "", 2030, land_cover=1, value=5)],
            balance=balance,
            tables=tables,
            period="2016-2023",
        )
