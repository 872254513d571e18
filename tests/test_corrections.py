"""False positive / negative corrections: every recode rule, the SO1-4.T3 table by hand, and reading
(good file, bad type / period / recode_to / field, conflicting and agreeing overlaps, rasterization)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ldnkit import codes
from ldnkit.errors import InputError
from ldnkit.indicators.corrections import correction_table, recode
from ldnkit.io.grid import Grid
from ldnkit.io.records import rasterize_corrections, read_corrections
from ldnkit.records import Correction

N = codes.NODATA
FP, FN = codes.FALSE_POSITIVE, codes.FALSE_NEGATIVE
CRS = "EPSG:32633"
GRID = Grid.from_bounds((0, 0, 6000, 4000), 1000, CRS)  # 6 x 4 pixels of 1 km²
PERIODS = ["baseline", "2016-2019", "2016-2023"]

# every sdg value in every correction situation: columns -1, 0, 1, NODATA
SDG = np.array([[-1, 0, 1, N], [-1, 0, 1, N], [-1, 0, 1, N], [-1, 0, 1, N]], dtype=np.int16)
IDS = np.array([[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3], [N, N, N, N]], dtype=np.int16)


def _wrap(a, chunks=None):
    g = Grid.from_bounds((0, 0, a.shape[1] * 1000, a.shape[0] * 1000), 1000, CRS)
    da = g.wrap(a)
    return da.chunk({"y": chunks[0], "x": chunks[1]}) if chunks else da


def _c(i, t, periods=("all",), recode_to=None):
    return Correction(i, t, tuple(periods), f"place {i}", "invasion", "field visit", "2017", recode_to)


@pytest.mark.parametrize("chunks", [None, (2, 3)])
def test_recode_rules(chunks):
    corrs = [_c(1, FP), _c(2, FN), _c(3, FN, recode_to=1)]
    out = recode(_wrap(SDG, chunks), _wrap(IDS, chunks), corrs, "2016-2023")
    assert out.dtype == np.int16
    v = np.asarray(out)
    assert list(v[0]) == [-1, -1, -1, N]  # false positive: 0 and 1 -> -1; -1 and NODATA unchanged
    assert list(v[1]) == [0, 0, 1, N]  # false negative: -1 -> stable (default); others unchanged
    assert list(v[2]) == [1, 0, 1, N]  # false negative with recode_to improved
    assert list(v[3]) == [-1, 0, 1, N]  # no correction
    assert out.attrs["false_positive_ids"] == [1] and out.attrs["false_negative_ids"] == [2, 3]
    assert out.attrs["correction_period"] == "2016-2023"
    assert out.rio.crs is not None


def test_recode_period_filter_and_all():
    corrs = [_c(1, FP, ["baseline"]), _c(2, FN, ["2016-2019", "2016-2023"]), _c(3, FN, ["all"])]
    base = np.asarray(recode(_wrap(SDG), _wrap(IDS), corrs, "baseline"))
    assert list(base[0]) == [-1, -1, -1, N]  # applies
    assert list(base[1]) == [-1, 0, 1, N]  # not this period
    assert list(base[2]) == [0, 0, 1, N]  # "all"
    rep = np.asarray(recode(_wrap(SDG), _wrap(IDS), corrs, "2016-2019"))
    assert list(rep[0]) == [-1, 0, 1, N] and list(rep[1]) == [0, 0, 1, N] and list(rep[2]) == [0, 0, 1, N]


def test_recode_float_sdg_and_unknown_id():
    s = SDG.astype("float32")
    s[s == N] = np.nan
    ids = IDS.copy()
    ids[0, :] = 9  # an id without a record: ignored
    out = np.asarray(recode(_wrap(s), _wrap(ids), [_c(2, FN)], "baseline"))
    assert list(out[0]) == [-1, 0, 1, N] and list(out[1]) == [0, 0, 1, N]


def test_correction_validation():
    with pytest.raises(ValueError):
        Correction(1, "false", ("all",), "", "", "")
    with pytest.raises(ValueError):
        Correction(1, FP, ("all",), "", "", "", recode_to=0)
    with pytest.raises(ValueError):
        Correction(40000, FN, ("all",), "", "", "")


def test_correction_table_by_hand():
    area = np.broadcast_to(np.array([1.0, 2.0, 3.0, 4.0])[:, None], SDG.shape).copy()  # km² by row
    corrs = [_c(1, FP, ["baseline"]), _c(2, FN), _c(3, FN, recode_to=1), _c(4, FP)]  # 4 is outside the grid
    ids, sdg = _wrap(IDS, (2, 2)), _wrap(SDG, (2, 2))
    before = {"baseline": sdg, "2016-2023": sdg}
    after = {p: recode(sdg, ids, corrs, p) for p in before}
    t = correction_table(corrs, ids, before, after, _wrap(area))
    assert t.attrs["id"] == "SO1-4.T3" and t.attrs["title"]
    assert list(t.columns[:8]) == [
        "Id", "Location", "Type", "Process", "Basis for judgement", "Period(s)", "Start",
        "Polygon area (km²)",
    ]  # fmt: skip
    # polygon areas: 4 pixels of row 0 (1 km²), row 1 (2 km²), row 2 (3 km²); id 4 has none
    assert list(t["Polygon area (km²)"]) == pytest.approx([4.0, 8.0, 12.0, 0.0])
    # recoded: FP id 1 (baseline only) turns 0 and 1 -> 2 pixels x 1 km²; FN turns -1 -> 1 pixel
    assert list(t["Recoded baseline (km²)"]) == pytest.approx([2.0, 2.0, 3.0, 0.0])
    assert list(t["Recoded 2016-2023 (km²)"]) == pytest.approx([0.0, 2.0, 3.0, 0.0])
    assert t["Type"][0] == "False positive" and t["Period(s)"][1] == "all" and t["Start"][0] == "2017"


# --- reading ----------------------------------------------------------------------------------------
def _box(col0, row0, col1, row1):
    """Polygon over pixels [col0, col1) x [row0, row1) of GRID (row 0 at the top)."""
    return shapely.box(col0 * 1000, (4 - row1) * 1000, col1 * 1000, (4 - row0) * 1000)


def _write(tmp_path, rows, name="corr.gpkg", crs=CRS):
    gdf = gpd.GeoDataFrame(pd.DataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in rows]),
                           geometry=[r["geometry"] for r in rows], crs=crs)  # fmt: skip
    p = tmp_path / name
    gdf.to_file(p, driver="GPKG")
    return p


def _row(i, t, periods, geom, **kw):
    return {"id": i, "type": t, "periods": periods, "place_name": f"P{i}", "process": "woody invasion",
            "basis": "field survey", "geometry": geom, **kw}  # fmt: skip


def test_read_good_file_and_rasterize(tmp_path):
    rows = [
        _row(1, "FP", "baseline, 2016-2023", _box(0, 0, 2, 2), start=2012),
        _row(7, "false_negative", "all", _box(3, 1, 5, 3), recode_to="improved"),
    ]
    # given in lon/lat: read_corrections reprojects to the grid CRS
    p = _write(tmp_path, rows)
    ll = gpd.read_file(p).to_crs("EPSG:4326")
    ll.to_file(tmp_path / "ll.gpkg", driver="GPKG")
    corrs, gdf = read_corrections(tmp_path / "ll.gpkg", GRID, valid_periods=PERIODS)
    assert [c.type for c in corrs] == [FP, FN]
    assert corrs[0].periods == ("baseline", "2016-2023") and corrs[1].periods == ("all",)
    assert corrs[0].start == "2012" and corrs[0].recode_to is None and corrs[1].recode_to == 1
    assert gdf.crs == GRID.crs and list(gdf["id"]) == [1, 7]
    ids = np.asarray(rasterize_corrections(gdf, GRID, chunks=3))
    expected = np.full((4, 6), N)
    expected[0:2, 0:2] = 1
    expected[1:3, 3:5] = 7
    assert np.array_equal(ids, expected)
    only = np.asarray(rasterize_corrections(gdf, GRID, period="2016-2019"))  # id 1 does not apply
    assert set(np.unique(only)) == {N, 7}


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ({"type": "maybe"}, ["feature id=2", "'type'", "'maybe'", "false positive"]),
        ({"periods": "2016-2030"}, ["feature id=2", "'periods'", "2016-2030", "baseline, 2016-2019"]),
        ({"periods": "all, baseline"}, ["'periods'", "all alone"]),
        ({"recode_to": "degraded"}, ["'recode_to'", "stable (0) or improved (1)"]),
        ({"type": "FP", "recode_to": "stable"}, ["'recode_to'", "false positive"]),
        ({"id": 2.5}, ["'id'", "1..32767"]),
    ],
)
def test_read_bad_values(tmp_path, change, needles):
    rows = [
        _row(1, "FP", "baseline", _box(0, 0, 1, 1)),
        {**_row(2, "FN", "2016-2023", _box(2, 2, 3, 3)), **change},
    ]
    p = _write(tmp_path, rows)
    with pytest.raises(InputError) as e:
        read_corrections(p, GRID, valid_periods=PERIODS)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg
    for n in needles:
        assert n in msg, (n, msg)


def test_read_missing_field_and_duplicate_id(tmp_path):
    rows = [_row(1, "FP", "all", _box(0, 0, 1, 1))]
    del rows[0]["basis"]
    with pytest.raises(InputError, match="'basis'"):
        read_corrections(_write(tmp_path, rows), GRID)
    rows = [_row(1, "FP", "all", _box(0, 0, 1, 1)), _row(1, "FP", "all", _box(3, 0, 4, 1))]
    with pytest.raises(InputError, match="id 1 is used"):
        read_corrections(_write(tmp_path, rows, "dup.gpkg"), GRID)


def test_conflicting_overlap_names_both(tmp_path):
    rows = [_row(3, "FP", "all", _box(0, 0, 3, 3)), _row(8, "FN", "2016-2023", _box(2, 2, 5, 4))]
    p = _write(tmp_path, rows)
    with pytest.raises(InputError) as e:
        read_corrections(p, GRID, valid_periods=PERIODS)
    msg = str(e.value)
    assert "correction 3 (false positive)" in msg and "correction 8 (false negative)" in msg
    assert str(p) in msg and "\n" not in msg
    # false negatives recoding the same place to different classes also conflict
    rows = [_row(3, "FN", "all", _box(0, 0, 3, 3)), _row(8, "FN", "all", _box(2, 2, 5, 4), recode_to=1)]
    with pytest.raises(InputError, match="3 .*8"):
        read_corrections(_write(tmp_path, rows, "fn.gpkg"), GRID)
    # touching edges only is no overlap
    rows = [_row(3, "FP", "all", _box(0, 0, 2, 2)), _row(8, "FN", "all", _box(2, 0, 4, 2))]
    corrs, gdf = read_corrections(_write(tmp_path, rows, "touch.gpkg"), GRID)
    assert gdf.attrs["overlaps"] == []


def test_same_type_overlap_allowed_and_both_apply(tmp_path):
    rows = [_row(1, "FP", "baseline", _box(0, 0, 3, 3)), _row(2, "FP", "2016-2023", _box(2, 2, 5, 4))]
    corrs, gdf = read_corrections(_write(tmp_path, rows), GRID, valid_periods=PERIODS)
    assert gdf.attrs["overlaps"] == [[1, 2]]
    # one raster cannot hold both ids where they apply to different periods: rasterize per period
    with pytest.raises(ValueError, match="per period"):
        rasterize_corrections(gdf, GRID)
    sdg = _wrap(np.zeros((4, 6), dtype=np.int16))
    for period, box in (("baseline", (0, 0, 3, 3)), ("2016-2023", (2, 2, 5, 4))):
        ids = rasterize_corrections(gdf, GRID, period=period)
        out = np.asarray(recode(sdg, ids, corrs, period))
        expected = np.zeros((4, 6), dtype=np.int16)
        c0, r0, c1, r1 = box
        expected[r0:r1, c0:c1] = -1  # the whole polygon, overlap included
        assert np.array_equal(out, expected), period
    # opposite types with disjoint periods do not conflict either
    rows = [_row(1, "FP", "baseline", _box(0, 0, 3, 3)), _row(2, "FN", "2016-2023", _box(2, 2, 5, 4))]
    _, gdf = read_corrections(_write(tmp_path, rows, "disjoint.gpkg"), GRID, valid_periods=PERIODS)
    assert gdf.attrs["overlaps"] == [[1, 2]]


def test_read_not_polygons(tmp_path):
    rows = [_row(1, "FP", "all", shapely.Point(500, 500))]
    with pytest.raises(InputError, match="Point"):
        read_corrections(_write(tmp_path, rows), GRID)
