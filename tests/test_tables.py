"""Area statistics (crosstab) and the PRAIS SO1 tables.

References are independent of the code under test: pandas groupby on the full arrays, and
figures summed by hand on a 4x4 example (the sums are written out next to each figure).
"""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from dask.delayed import Delayed
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit import codes
from ldnkit.codes import AOI_SCOPE
from ldnkit.crosstab import CrosstabRequest, compute_crosstabs, crosstab
from ldnkit.errors import GridError, PeriodError
from ldnkit.tables import (
    PeriodLayers,
    TableInputs,
    compute_tables,
    tables_to_json,
    write_xlsx,
)
from ldnkit.tables.prais import reconciliation_problems

N = codes.NODATA
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _da(a: np.ndarray, chunks=None) -> xr.DataArray:
    ny, nx = a.shape
    x = xr.DataArray(a, dims=("y", "x"), coords={"y": np.arange(ny)[::-1] + 0.5, "x": np.arange(nx) + 0.5})
    return x.chunk({"y": chunks, "x": chunks}) if chunks else x


# --- crosstab ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grids():
    rng = np.random.default_rng(42)
    shape = (40, 50)
    a = rng.integers(1, 6, shape).astype(np.int16)
    a[rng.random(shape) < 0.1] = N
    b = rng.integers(-1, 2, shape).astype(np.float32)  # float codes, NaN = no data
    b[rng.random(shape) < 0.1] = np.nan
    zone = rng.integers(1, 4, shape).astype(np.int16)
    zone[:, :7] = N
    soc = rng.gamma(5, 10, shape).astype(np.float32)
    soc[rng.random(shape) < 0.2] = np.nan
    # non-uniform areas, like cells shrinking towards the poles
    area = np.cos(np.linspace(0, 1.2, shape[0]))[:, None] * rng.uniform(0.8, 1.2, shape)
    return {"a": a, "b": b, "zone": zone, "soc": soc, "area": area}


def _reference(g, zones=True) -> pd.DataFrame:
    """Plain pandas groupby over the full arrays."""
    df = pd.DataFrame(
        {
            "zone": g["zone"].ravel(),
            "a": g["a"].ravel().astype(np.int64),
            "b": np.where(np.isnan(g["b"]), N, g["b"]).ravel().astype(np.int64),
            "area": g["area"].ravel(),
            "soc": g["soc"].ravel().astype(np.float64),
        }
    )
    if zones:
        df = df[df.zone != N]
    df["soc_x"] = df.soc * df.area
    df["soc_a"] = np.where(df.soc.notna(), df.area, 0.0)
    keys = ["zone", "a", "b"] if zones else ["a", "b"]
    ref = df.groupby(keys).agg(
        pixels=("area", "size"),
        area=("area", "sum"),
        soc=("soc_x", "sum"),
        soc_area=("soc_a", "sum"),
    )
    return ref.reset_index()


def _run(g, chunks, zones=True, **kw) -> pd.DataFrame:
    return crosstab(
        {"a": _da(g["a"], chunks), "b": _da(g["b"], chunks)},
        _da(g["area"], chunks),
        zones=_da(g["zone"], chunks) if zones else None,
        sums={"soc": _da(g["soc"], chunks)},
        **kw,
    )


@pytest.mark.parametrize("chunks", [16, None])
def test_crosstab_matches_pandas_groupby(grids, chunks):
    got = _run(grids, chunks)
    ref = _reference(grids)
    assert list(got.columns) == ["zone", "a", "b", "pixels", "area", "soc", "soc_area"]
    assert len(got) == len(ref)
    for c in ["zone", "a", "b", "pixels"]:
        np.testing.assert_array_equal(got[c].to_numpy(), ref[c].to_numpy())
    for c in ["area", "soc", "soc_area"]:
        np.testing.assert_allclose(got[c].to_numpy(), ref[c].to_numpy(), rtol=1e-12)
    # NODATA keys are categories of their own; NaN in the float key counts as NODATA
    assert (got.a == N).any() and (got.b == N).any()


def test_crosstab_multi_chunk_equals_single_chunk(grids):
    one = _run(grids, 1000)
    many = _run(grids, 16)
    odd = crosstab(
        {"a": _da(grids["a"], 20), "b": _da(grids["b"], 13)},  # unaligned chunks
        _da(grids["area"], 16),
        zones=_da(grids["zone"], 16),
        sums={"soc": _da(grids["soc"], 25)},
    )
    for other in (many, odd):
        pd.testing.assert_frame_equal(one[["zone", "a", "b", "pixels"]], other[["zone", "a", "b", "pixels"]])
        np.testing.assert_allclose(
            one[["area", "soc", "soc_area"]].to_numpy(),
            other[["area", "soc", "soc_area"]].to_numpy(),
            rtol=1e-12,
        )


def test_crosstab_zones_drop_nodata(grids):
    got = _run(grids, 16)
    assert N not in set(got.zone)
    inside = grids["zone"] != N
    np.testing.assert_allclose(got.area.sum(), grids["area"][inside].sum(), rtol=1e-12)
    assert got.pixels.sum() == inside.sum()
    no_zone = _run(grids, 16, zones=False)
    assert "zone" not in no_zone.columns
    np.testing.assert_allclose(no_zone.area.sum(), grids["area"].sum(), rtol=1e-12)


def test_crosstab_is_lazy_and_reads_each_block_once():
    calls = []

    def make(block, block_info=None):
        calls.append(block_info[None]["chunk-location"])
        return block

    rng = np.random.default_rng(1)
    base = da.from_array(rng.integers(1, 8, (40, 50)).astype(np.int16), chunks=16)
    lc = xr.DataArray(base.map_blocks(make, meta=np.array((), np.int16)), dims=("y", "x"))
    area = xr.DataArray(da.ones((40, 50), chunks=16), dims=("y", "x"))
    lazy = crosstab({"lc": lc}, area, compute=False)
    assert isinstance(lazy, Delayed) and calls == []
    res = compute_crosstabs(
        {
            "one": CrosstabRequest({"lc": lc}, area),
            "two": CrosstabRequest({"lc": lc, "again": lc}, area, zones=lc),
            "three": CrosstabRequest({"x": lc}, area, sums={"v": lc.astype("float32")}),
        },
        scheduler="threads",
    )
    assert len(calls) == base.npartitions  # every block of the shared input read once
    counts = np.bincount(base.compute().ravel())
    assert res["one"].pixels.tolist() == counts[counts > 0].tolist()
    np.testing.assert_allclose(res["three"].v / res["three"].v_area, res["three"].x)


def test_crosstab_rejects_other_grids():
    a = _da(np.ones((4, 4), np.int16))
    with pytest.raises(GridError, match="shape"):
        crosstab({"a": a}, _da(np.ones((4, 5))))


@settings(max_examples=25, deadline=None)
@given(
    ny=st.integers(1, 12),
    nx=st.integers(1, 12),
    cy=st.integers(1, 5),
    cx=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    ncls=st.integers(1, 4),
)
def test_crosstab_property_matches_bincount(ny, nx, cy, cx, seed, ncls):
    rng = np.random.default_rng(seed)
    a = rng.choice(np.array([N, 1, 2, 7, 300], np.int16)[: ncls + 1], (ny, nx))
    area = rng.random((ny, nx))
    area[rng.random((ny, nx)) < 0.1] = np.nan  # off-grid pixels are ignored
    got = crosstab(
        {"a": xr.DataArray(a, dims=("y", "x")).chunk({"y": cy, "x": cx})},
        xr.DataArray(area, dims=("y", "x")).chunk({"y": cy, "x": cx}),
        scheduler="synchronous",
    )
    ok = np.isfinite(area)
    vals = np.unique(a[ok])
    assert got.a.tolist() == vals.tolist()
    np.testing.assert_allclose(got.area, [area[ok & (a == v)].sum() for v in vals], rtol=1e-12)


# --- the PRAIS tables on a 4x4 example summed by hand -----------------------------------------
#
# Areas (km²) of the 16 pixels; (3,3) lies outside the area of interest.
#   10 11 12 13 / 20 21 22 23 / 30 31 32 33 / 40 41 42 [43]
# Regions: West = columns 0-1, East = columns 2-3.

LC2000 = [[1, 1, 2, 2], [1, 3, 3, 2], [7, 7, 6, 5], [4, N, 1, 1]]
LC2015 = [[1, 3, 2, 2], [1, 3, 5, 2], [7, 7, 6, 5], [4, N, 1, 1]]  # tree->crop, crop->artif.
LC2023 = [
    [1, 3, 2, 7],
    [2, 3, 5, 2],
    [7, 7, 1, 5],
    [4, N, 1, 1],
]  # grass->water, tree->grass, other->tree
AREA = [[10, 11, 12, 13], [20, 21, 22, 23], [30, 31, 32, 33], [40, 41, 42, 43]]
AOI = [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]]
REGIONS = [[1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, N]]
LAYERS = {
    "lcdeg_b": [[0, -1, 0, 0], [0, 0, -1, 0], [0, 0, 0, 0], [0, N, 0, 0]],
    "lcdeg_r": [[0, 0, 0, 0], [-1, 0, 0, 0], [0, 0, 1, 0], [0, N, 0, 0]],
    "lpd_b": [[5, 1, 4, 4], [4, 2, 3, 4], [N, N, 4, N], [4, N, 4, 4]],
    "lpd_r": [[4, 1, 4, N], [1, 4, 3, 5], [N, N, 5, 4], [4, N, 4, 4]],
    "prod_b": [[1, -1, 0, 0], [0, -1, 0, 0], [N, N, 0, N], [0, N, 0, 0]],
    "prod_r": [[0, -1, 0, N], [-1, 0, 0, 1], [N, N, 1, 0], [0, N, 0, 0]],
    "soc_b": [[0, -1, 0, 0], [0, 0, -1, 0], [N, N, 0, 0], [0, N, 0, 0]],
    "soc_r": [[0, 0, 0, N], [0, 0, 0, 0], [N, N, 1, 0], [0, N, 0, 0]],
    "sdg_b": [[1, -1, 0, 0], [0, -1, -1, 0], [N, N, 0, N], [0, N, 0, 0]],
    "sdg_r": [[0, -1, 0, N], [-1, 0, 0, 1], [N, N, 1, 0], [0, N, 0, 0]],
    "status": [[1, -1, 0, N], [-1, -1, -1, 1], [N, N, 1, N], [0, N, 0, 0]],
    "status_x": [[5, 1, 4, N], [2, 3, 3, 6], [N, N, 6, N], [4, N, 4, 4]],
}
SOC2000 = np.tile(np.array([50, 60, 70, 80], np.float32), (4, 1))  # t/ha by column
SOC2000[2, :2] = np.nan  # water


def _inputs(chunks=None, regions=True) -> TableInputs:
    def i16(a):
        return _da(np.array(a, np.int16), chunks)

    L = {k: i16(v) for k, v in LAYERS.items()}
    base = PeriodLayers(
        "baseline",
        "baseline",
        (2000, 2015),
        (2000, 2015),
        L["lcdeg_b"],
        L["lpd_b"],
        L["prod_b"],
        L["soc_b"],
        L["sdg_b"],
    )
    rep = PeriodLayers(
        "2016-2023",
        "reporting",
        (2015, 2023),
        (2008, 2023),
        L["lcdeg_r"],
        L["lpd_r"],
        L["prod_r"],
        L["soc_r"],
        L["sdg_r"],
        L["status"],
        L["status_x"],
    )
    matrix = [list(r) for r in codes.DEFAULT_TRANSITION_MATRIX]
    east = [r[:] for r in matrix]
    east[1][6] = -1  # grassland -> water degrades in the East
    return TableInputs(
        land_cover={2000: i16(LC2000), 2015: i16(LC2015), 2023: i16(LC2023)},
        soc={2000: _da(SOC2000, chunks)},
        periods=[base, rep],
        area=_da(np.array(AREA, float), chunks),
        aoi=i16(AOI),
        regions=i16(REGIONS) if regions else None,
        region_names={1: "West", 2: "East"},
        nesting={1: [50, 60], 7: [210]},
        legend_name="esa_cci",
        matrices={"national": matrix, "East": east},
        methods={"combination": "one-out-all-out", "lpd_table": "prais26"},
    )


@pytest.fixture(scope="module")
def tables():
    return compute_tables(_inputs(chunks=3))


def _row(df, **match):
    sel = df
    for k, v in match.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, match
    return sel.iloc[0]


def test_scopes_and_titles(tables):
    assert list(tables) == [AOI_SCOPE, "West", "East"]
    for t in tables.values():
        for tid, df in t.items():
            assert df.attrs["title"] and df.attrs["id"] == tid
    assert "SO1-1.T2" in tables[AOI_SCOPE]


def test_cp1_total_land_area(tables):
    df = tables[AOI_SCOPE]["CP-1.T1"]
    r = _row(df, Year=2000)
    # land = 46 (row 0) + 86 (row 1) + 32 + 33 + 40 + 42; water = 30 + 31; no data = 41
    assert r["Total land area (km²)"] == 279
    assert r["Water bodies (km²)"] == 61 and r["No data (km²)"] == 41
    assert r["Total area (km²)"] == 381  # 424 - 43 (outside the AOI)
    r = _row(df, Year=2023)  # grassland (0,3) became water
    assert r["Total land area (km²)"] == 266 and r["Water bodies (km²)"] == 74
    west = _row(tables["West"]["CP-1.T1"], Year=2023)
    assert west["Total land area (km²)"] == 10 + 11 + 20 + 21 + 40
    east = _row(tables["East"]["CP-1.T1"], Year=2023)
    assert east["Total land area (km²)"] == 12 + 22 + 23 + 32 + 33 + 42


def test_so1_1_lc_tables(tables):
    t = tables[AOI_SCOPE]
    t1 = t["SO1-1.T1"]
    assert list(t1["Process"])[:3] == ["Vegetation loss", "Deforestation", "Urban expansion"]
    # summary rows: degraded + not degraded = land of the final LC year (2015: 279, 2023: 266)
    deg, notdeg, land = (t1.iloc[k] for k in (-3, -2, -1))
    assert "2015" in land["Process"] and "2023" in land["Process"]
    assert (deg["baseline (km²)"], notdeg["baseline (km²)"], land["baseline (km²)"]) == (33, 246, 279)
    assert (deg["2016-2023 (km²)"], notdeg["2016-2023 (km²)"], land["2016-2023 (km²)"]) == (20, 246, 266)
    assert _row(t1, Process="Deforestation")["baseline (km²)"] == 11
    assert _row(t1, Process="Urban expansion")["baseline (km²)"] == 22
    assert _row(t1, Process="Vegetation loss")["2016-2023 (km²)"] == 20
    assert _row(t1, Process="Vegetation loss")["baseline (km²)"] == 0
    t2 = t["SO1-1.T2"]
    assert t2["National code"].tolist() == [50, 60, 210]
    assert t2["UNCCD code"].tolist() == [1, 1, 7]
    t3 = t["SO1-1.T3"]
    assert set(t3["Matrix"]) == {"national", "East"}
    assert _row(t3, Matrix="national", **{"Initial class": "Tree-covered areas"})["Cropland"] == "-"
    east3 = tables["East"]["SO1-1.T3"]
    assert set(east3["Matrix"]) == {"East"}
    assert _row(east3, **{"Initial class": "Grassland"})["Water bodies"] == "-"
    assert set(tables["West"]["SO1-1.T3"]["Matrix"]) == {"national"}
    t4 = t["SO1-1.T4"]
    tree = _row(t4, **{"Land cover class": "Tree-covered areas"})
    assert (tree["2000"], tree["2015"], tree["2023"]) == (
        10 + 11 + 20 + 42,
        10 + 20 + 42,
        10 + 32 + 42,
    )
    assert _row(t4, Code=N)["2015"] == 41
    assert _row(t4, **{"Land cover class": "Total"})["2023"] == 381
    t5 = t["SO1-1.T5"]
    crop = _row(t5, **{"Initial class": "Cropland"})
    assert (crop["Cropland"], crop["Artificial surfaces"], crop["Total"]) == (21, 22, 43)
    assert _row(t5, **{"Initial class": "Tree-covered areas"})["Cropland"] == 11
    t6 = t["SO1-1.T6"]
    assert _row(t6, **{"Initial class": "Other land"})["Tree-covered areas"] == 32
    assert _row(t6, **{"Initial class": "Grassland"})["Water bodies"] == 13
    assert _row(t6, **{"Initial class": "Total"})["Total"] == 381


def test_so1_1_t7_percent_of_land(tables):
    t7 = tables[AOI_SCOPE]["SO1-1.T7"]
    b = _row(t7, Period="baseline", Class="Degraded")
    assert b["Area (km²)"] == 33  # 11 + 22
    assert b["% of total land area"] == pytest.approx(33 / 279 * 100)
    r = _row(t7, Period="2016-2023", Class="Improved")
    assert r["Area (km²)"] == 32
    assert r["% of total land area"] == pytest.approx(32 / 266 * 100)  # water of 2023 excluded
    # rows add up to the total land area of the period's final LC year
    for p, land in (("baseline", 279), ("2016-2023", 266)):
        sub = t7[t7.Period == p]
        assert sub["Area (km²)"].sum() == pytest.approx(land)
        assert sub["% of total land area"].sum() == pytest.approx(100)
    west = _row(tables["West"]["SO1-1.T7"], Period="2016-2023", Class="Degraded")
    assert west["% of total land area"] == pytest.approx(20 / 102 * 100)


def test_so1_2_productivity(tables):
    t = tables[AOI_SCOPE]
    t1 = t["SO1-2.T1"]  # LPD by LC of 2015
    crop = _row(t1, **{"Land cover class": "Cropland"})
    assert (crop["Declining"], crop["Moderate decline"], crop["Total"]) == (11, 21, 32)
    tree = _row(t1, **{"Land cover class": "Tree-covered areas"})
    assert (tree["Increasing"], tree["Stable"]) == (10, 20 + 42)
    assert _row(t1, **{"Land cover class": "Water bodies"})["No data"] == 61
    assert _row(t1, **{"Land cover class": "Total"})["Total"] == 381
    t2 = t["SO1-2.T2"]  # LPD by LC of 2023
    grass = _row(t2, **{"Land cover class": "Grassland"})
    assert (grass["Declining"], grass["Stable"], grass["Increasing"]) == (20, 12, 23)
    t3 = t["SO1-2.T3"]
    deg = _row(t3, Period="baseline", Class="Degraded")
    assert deg["Area (km²)"] == 32 and deg["% of total land area"] == pytest.approx(32 / 279 * 100)
    nd = _row(t3, Period="baseline", Class="No data")  # artificial (2,3) without LPD
    assert nd["Area (km²)"] == 33 and nd["% of total land area"] == pytest.approx(33 / 279 * 100)
    assert _row(t3, Period="2016-2023", Class="Improved")["Area (km²)"] == 23 + 32


def test_so1_3_soc(tables):
    t1 = tables[AOI_SCOPE]["SO1-3.T1"]
    # tree-covered 2000: (10*50 + 11*60 + 20*50 + 42*70) / (10 + 11 + 20 + 42)
    tree = _row(t1, **{"Land cover class": "Tree-covered areas"})["2000"]
    assert tree == pytest.approx(5100 / 83)
    assert np.isnan(_row(t1, **{"Land cover class": "Water bodies"})["2000"])
    assert _row(t1, Code=N)["2000"] == pytest.approx(60)  # LC no data, SOC known
    total = _row(t1, **{"Land cover class": "Total SOC stock, all cover types"})
    assert total["Unit"] == "t" and total["2000"] == pytest.approx(20960 * 100)
    assert _row(t1, **{"Land cover class": "All cover types"})["2000"] == pytest.approx(20960 / 320)
    assert "Tier 1" in t1.attrs["title"]
    t2 = tables[AOI_SCOPE]["SO1-3.T2"]
    assert _row(t2, Period="baseline", Class="Degraded")["Area (km²)"] == 33
    assert _row(t2, Period="2016-2023", Class="Improved")["Area (km²)"] == 32


def test_so1_4_status_and_sdg(tables):
    t1 = tables[AOI_SCOPE]["SO1-4.T1"]
    three = t1[t1.Status == "Status (3 classes)"].set_index("Class")["Area (km²)"]
    assert three.to_dict() == {
        "Improved": 10 + 23 + 32,
        "Stable": 12 + 40 + 42,
        "Degraded": 11 + 20 + 21 + 22,
        "No data": 33,
    }
    seven = t1[t1.Status == "Expanded status (7 classes)"].set_index("Code")["Area (km²)"]
    assert seven[1] == 11 and seven[2] == 20 and seven[3] == 43 and seven[6] == 55
    assert seven[7] == 0 and seven.sum() == 266
    t2 = tables[AOI_SCOPE]["SO1-4.T2"]
    b = _row(t2, Period="baseline")
    assert b["Degraded area (km²)"] == 11 + 21 + 22
    assert b["% of total land area"] == pytest.approx(54 / 279 * 100)
    r = _row(t2, Period="2016-2023")
    assert r["Degraded area (km²)"] == 74
    assert r["% of total land area"] == pytest.approx(74 / 266 * 100)
    assert r["Confidence"] == "not assessed" and "one-out-all-out" in r["Method"]
    east = _row(tables["East"]["SO1-4.T2"], Period="2016-2023")
    assert east["% of total land area"] == pytest.approx(22 / 164 * 100)


def test_change_assessment(tables):
    ch = _row(tables[AOI_SCOPE]["SO1-4.change"], Period="2016-2023")
    assert ch["Change (km²)"] == 74 - 54
    assert ch["Change (percentage points)"] == pytest.approx(74 / 266 * 100 - 54 / 279 * 100)
    x = tables[AOI_SCOPE]["SO1-4.change_crosstab"].set_index("Baseline")
    assert x.loc["Degraded", ["Degraded", "Stable", "Improved"]].tolist() == [11, 43, 0]
    assert x.loc["Stable", ["Degraded", "Stable", "Improved"]].tolist() == [20, 94, 55]
    assert x.loc["Improved", "Stable"] == 10 and x.loc["No data", "Stable"] == 33
    assert x.loc["Total", "Total"] == 266


def test_tables_same_for_numpy_and_dask():
    a = compute_tables(_inputs(chunks=None))
    b = compute_tables(_inputs(chunks=2))
    for scope in a:
        for tid in a[scope]:
            pd.testing.assert_frame_equal(a[scope][tid], b[scope][tid])


def test_tables_without_regions():
    t = compute_tables(_inputs(chunks=3, regions=False))
    assert list(t) == [AOI_SCOPE]
    assert _row(t[AOI_SCOPE]["CP-1.T1"], Year=2000)["Total land area (km²)"] == 279


def test_missing_land_cover_year_is_an_error():
    inp = _inputs()
    del inp.land_cover[2023]
    with pytest.raises(PeriodError, match="2023"):
        compute_tables(inp)


def test_xlsx_round_trip(tables, tmp_path):
    import openpyxl

    path = write_xlsx(tables, tmp_path / "tables.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["README", "CP-1.T1", "SO1-1.T1"]
    assert "SO1-4.T2" in wb.sheetnames and "SO1-4.change" in wb.sheetnames
    ws = wb["SO1-4.T2"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0].startswith("SO1-4.T2")
    header = rows[3]
    assert header[:3] == ("Scope", "Period", "Kind")
    # one long table, the region as the first column: baseline + 1 period per scope
    assert [r[0] for r in rows[4:]] == [AOI_SCOPE] * 2 + ["West"] * 2 + ["East"] * 2
    first = rows[4]
    assert first[1] == "baseline"
    pct = first[header.index("% of total land area")]
    assert isinstance(pct, float) and pct == pytest.approx(54 / 279 * 100)
    assert first[header.index("Land-cover year")] == 2015
    method = openpyxl.utils.get_column_letter(header.index("Method") + 1)
    assert ws.column_dimensions[method].width > 20  # "Method" is readable
    readme = [r for r in wb["README"].iter_rows(values_only=True) if r[0] == "Reconciliation"]
    assert readme and readme[0][1].startswith("every area")


def test_reconciliation_of_the_hand_example(tables):
    assert reconciliation_problems(tables) == []
    broken = {s: {k: v.copy() for k, v in t.items()} for s, t in tables.items()}
    t4 = broken["East"]["SO1-1.T4"]
    t4.loc[t4["Code"] == 1, "2023"] += 1.0  # the classes no longer add up to the totals
    problems = reconciliation_problems(broken)
    assert problems and all(p.startswith("East / SO1-1.T4 2023") for p in problems), problems


def test_json_records(tables):
    j = tables_to_json(tables)
    json.dumps(j, allow_nan=False)  # NaN became null
    rec = j[AOI_SCOPE]["CP-1.T1"]["records"][0]
    assert rec["Year"] == 2000 and rec["Total land area (km²)"] == 279
    assert j["East"]["SO1-4.T2"]["title"]
    soc = j[AOI_SCOPE]["SO1-3.T1"]["records"]
    assert next(r for r in soc if r["Code"] == 7)["2000"] is None


# --- real data ---------------------------------------------------------------------------------


@pytest.mark.skipif(not (DATA / "newguinea_esacci_lc").is_dir(), reason="../shared/data absent")
def test_real_land_cover_counts_match_readme():
    rioxarray = pytest.importorskip("rioxarray")
    d = DATA / "newguinea_esacci_lc"
    a = rioxarray.open_rasterio(d / "landcover2001.tif", chunks=1024).squeeze(drop=True)
    b = rioxarray.open_rasterio(d / "landcover2015.tif", chunks=1024).squeeze(drop=True)
    ct = crosstab({"a": a, "b": b}, xr.ones_like(a, dtype="float64"))
    # pixel counts given in the dataset README: agriculture 912075 -> 862001
    assert ct.loc[ct.a == 1, "pixels"].sum() == 912075
    assert ct.loc[ct.b == 1, "pixels"].sum() == 862001
    assert ct.pixels.sum() == a.size
