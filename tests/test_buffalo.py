"""The real-data worked example (examples/buffalo.yaml, docs/example-buffalo.md): Buffalo, NY.

MODIS annual-mean EVI (1 km), MODIS IGBP land cover (463 m, nested 2x2 in the EVI grid) and the
WHRC SOC stock (10 km), from ../shared/data/buffalo_ny_modis. The whole pipeline runs into
tmp_path and its figures are checked against references computed here from the raw files:
IGBP -> UNCCD nesting written out by hand, pixel counts x pixel size, scipy / pymannkendall on
the EVI read straight from the GeoTIFF, the Tier 1 SOC formula, and the NetCDF 16-day source.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from ldnkit.config import load_config
from ldnkit.io.readers import open_annual_stack
from ldnkit.run import run

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "buffalo.yaml"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BUF = SHARED / "buffalo_ny_modis"
EVI_TIF = BUF / "evi_annual_mean_2001-2016_derived.tif"
EVI_NC = BUF / "MOD13A2.006_aid0001.nc"
LC_TIF = BUF / "mcd12q1_lc_type1_2001-2013_derived.tif"
SOC_TIF = BUF / "whrc_SOCS_0_30cm_1990AD_clip_buffalo.tif"

pytestmark = [
    pytest.mark.skipif(
        not BUF.is_dir(),
        reason="real data absent: ../shared/data/buffalo_ny_modis (beside the repository) not found",
    ),
    pytest.mark.slow,  # two full pipeline runs (~3 s each) plus the reference computations
]

ND = -32768
AOI = "Area of interest"
BASE, REP = "baseline", "2013-2016"
# MCD12Q1 collection 5.1 IGBP classes -> UNCCD classes, written out independently of codes.py
# (shared-data README): water 0 -> 7; forests 1-5 -> 1; shrublands, savannas, grassland 6-10 -> 2;
# wetland 11 -> 4; cropland 12 and cropland/natural mosaic 14 -> 3; urban 13 -> 5; snow 15 and
# barren 16 -> 6. 255 is the file's nodata.
IGBP_TO_UNCCD = {
    0: 7,
    1: 1,
    2: 1,
    3: 1,
    4: 1,
    5: 1,
    6: 2,
    7: 2,
    8: 2,
    9: 2,
    10: 2,
    11: 4,
    12: 3,
    13: 5,
    14: 3,
    15: 6,
    16: 6,
}
LUT = np.full(256, ND, dtype=np.int32)
for _igbp, _unccd in IGBP_TO_UNCCD.items():
    LUT[_igbp] = _unccd
F_MOIST = 0.69  # IPCC long-term-cultivated F_LU, temperate moist (config climate zone)


# --- helpers -------------------------------------------------------------------------------------


def read(path: Path, band: int | None = None) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(band) if band else src.read()


def evi_pixel_km2() -> float:
    with rasterio.open(EVI_TIF) as src:
        t = src.transform
        return abs(t.a * t.e) / 1e6  # projected (equal-area Albers) grid: pixel size


def raw_lc() -> np.ndarray:
    """(13, 93, 84) uint8 IGBP 2001..2013 at 463 m."""
    return read(LC_TIF)


def lc_on_evi_grid(raw: np.ndarray) -> np.ndarray:
    """The 463 m map on the 926 m EVI grid by nearest neighbour, then nested by hand.

    The grids nest exactly (same upper-left corner, 2x2 LC pixels per EVI pixel), so each EVI
    pixel centre lies on the shared corner of its four LC pixels: a tie that GDAL's nearest
    resampling resolves to the lower-right one (source index floor(2i + 1)). The LC map has 93
    rows, so the EVI grid's last row (47th) falls outside it: no data.
    """
    padded = np.full(raw.shape[:-2] + (94, 84), 255, dtype=raw.dtype)
    padded[..., :93, :] = raw
    return LUT[padded[..., 1::2, 1::2]]


def table(result, tid: str) -> pd.DataFrame:
    return result.tables[tid]


def layer(result, key: str) -> np.ndarray:
    return read(result.layers[key], 1)


def write_config(folder: Path, out: str, productivity: dict | None = None) -> Path:
    """A copy of examples/buffalo.yaml with absolute input paths and the output in ``folder``."""
    cfg = yaml.safe_load(EXAMPLE.read_text())
    for key in ("productivity", "land_cover", "soc"):
        cfg["inputs"][key]["path"] = str((EXAMPLE.parent / cfg["inputs"][key]["path"]).resolve())
    if productivity is not None:
        cfg["inputs"]["productivity"] = productivity
    cfg["output"] = str(folder / out)
    cfg["overwrite"] = False
    path = folder / f"{out}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@dataclass
class Outputs:
    """A finished run folder as a user sees it: summary.json, its tables and the layer files."""

    output: Path
    summary: dict
    layers: dict[str, Path]
    tables: dict[str, pd.DataFrame]

    @classmethod
    def load(cls, out: Path) -> Outputs:
        s = json.loads((out / "summary.json").read_text())
        tables = {
            tid: pd.DataFrame(t["records"], columns=t["columns"]) for tid, t in s["tables"][AOI].items()
        }
        return cls(out, s, {k: out / v["path"] for k, v in s["layers"].items()}, tables)


@contextmanager
def _locked(path: Path):
    if fcntl is None:  # not POSIX: each worker uses its own folder, no lock needed
        yield
        return
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_once(tmp_path_factory, name: str, productivity: dict | None = None) -> Outputs:
    """Run the example once per test session, also under pytest-xdist (the workers share the
    session's temporary root and take turns through a lock; the output folder appears only
    when complete, since runs write to a temporary sibling and rename it)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER") and fcntl is not None:
        root = root.parent  # the session's root, shared by its xdist workers
    root = root / "buffalo_example"
    root.mkdir(exist_ok=True)
    out = root / name
    with _locked(root / f"{name}.lock"):
        if not (out / "summary.json").exists():
            run(write_config(root, name, productivity), quiet=True)
    return Outputs.load(out)


@pytest.fixture(scope="session")
def tif_run(tmp_path_factory) -> Outputs:
    return run_once(tmp_path_factory, "run_tif")


@pytest.fixture(scope="session")
def nc_run(tmp_path_factory) -> Outputs:
    prod = {"path": str(EVI_NC), "variable": "_1_km_16_days_EVI", "index": "evi"}
    return run_once(tmp_path_factory, "run_nc", prod)


# --- the example config --------------------------------------------------------------------------


def test_example_config_points_at_the_shared_data():
    cfg = load_config(EXAMPLE)  # relative paths resolve from examples/ to ../../shared/data
    assert cfg.resolve(cfg.inputs.productivity.path).resolve() == EVI_TIF.resolve()
    assert cfg.resolve(cfg.inputs.land_cover.path).resolve() == LC_TIF.resolve()
    assert cfg.resolve(cfg.inputs.soc.path).resolve() == SOC_TIF.resolve()
    assert cfg.inputs.land_cover.legend == "modis_igbp"
    assert cfg.inputs.soc.year == 2001  # the WHRC 1990 stock stands in for 2001 (see the doc)
    assert cfg.inputs.climate_zones.zone == "temperate_moist"
    assert (cfg.periods.baseline.start, cfg.periods.baseline.end) == (2001, 2012)
    assert [(p.start, p.end) for p in cfg.periods.reporting] == [(2013, 2016)]


# --- land cover ----------------------------------------------------------------------------------


def test_readme_class_counts_of_the_raw_map():
    raw = raw_lc()
    # dataset README: cropland (12) 596 -> 188 pixels, urban (13) 1937 both years, water (0) 447
    assert [(raw[i] == 12).sum() for i in (0, 12)] == [596, 188]
    assert [(raw[i] == 13).sum() for i in (0, 12)] == [1937, 1937]
    assert (raw[0] == 0).sum() == 447


def test_land_cover_layers_are_the_raw_map_nested_by_hand(tif_run):
    raw = raw_lc()
    expected = lc_on_evi_grid(raw)
    # 2016 has no map: the 2013 map is carried forward
    for year, band in ((2001, 0), (2012, 11), (2016, 12)):
        got = layer(tif_run, f"land_cover/land_cover_{year}")
        np.testing.assert_array_equal(got, expected[band], err_msg=str(year))
        # resampling-independent: every 1 km class is the nested class of one of its 4 LC pixels
        padded = np.full((94, 84), ND, dtype=np.int32)
        padded[:93] = LUT[raw[band]]
        blocks = padded.reshape(47, 2, 42, 2)
        assert (blocks == got[:, None, :, None]).any(axis=(1, 3)).all()


def test_land_cover_areas_2001_equal_pixel_counts(tif_run):
    px = evi_pixel_km2()
    assert px == pytest.approx(0.926625433**2, rel=1e-8)
    lc = lc_on_evi_grid(raw_lc())
    t4 = table(tif_run, "SO1-1.T4").set_index("Code")
    for year, band in ((2001, 0), (2012, 11), (2016, 12)):
        for code in (1, 2, 3, 4, 5, 6, 7, ND):
            want = (lc[band] == code).sum() * px
            assert t4.loc[code, str(year)] == pytest.approx(want, rel=1e-9, abs=1e-9), (year, code)
    # at 463 m (full resolution) the classes have nearly the same areas: 463.3127 m pixels
    full = np.bincount(LUT[raw_lc()[0]][raw_lc()[0] != 255], minlength=8) * 0.4633127**2
    for code in (3, 5, 7):  # cropland, artificial, water: large classes, within 2 % (sampling)
        assert t4.loc[code, "2001"] == pytest.approx(full[code], rel=0.02), code


def test_cropland_loss_and_constant_urban(tif_run):
    lc = lc_on_evi_grid(raw_lc())
    px = evi_pixel_km2()
    crop, urban = "Cropland", "Artificial surfaces"
    # change matrices: rows initial class (by code), columns final class; "Total" row/column
    t5 = table(tif_run, "SO1-1.T5").set_index("Initial class")
    t6 = table(tif_run, "SO1-1.T6").set_index("Initial class")
    # baseline 2001 -> 2012: the margins are the hand counts of the two maps
    assert t5.loc[crop, "Total"] == pytest.approx((lc[0] == 3).sum() * px)
    assert t5.loc["Total", crop] == pytest.approx((lc[11] == 3).sum() * px)
    # net cropland loss over the baseline (IGBP 12 fell 596 -> 188 pixels; part of it became
    # the cropland/natural mosaic 14, also UNCCD cropland, so the UNCCD loss is smaller)
    assert t5.loc[crop, "Total"] - t5.loc["Total", crop] > 40.0  # km²
    # ... and over 2001 -> 2016 (the 2013 map): the reporting change 2012 -> 2016 keeps it
    assert t5.loc[crop, "Total"] - t6.loc["Total", crop] > 40.0
    # the cropland that left went mostly to tree cover and grassland, none to urban
    left = t5.loc[crop, "Total"] - t5.loc[crop, crop]
    assert t5.loc[crop, "Tree-covered areas"] + t5.loc[crop, "Grassland"] > 0.8 * left
    # urban is identical in every map: no transition into or out of class 5
    for t in (t5, t6):
        assert t.loc[urban, urban] == pytest.approx(t.loc[urban, "Total"])
        assert t.loc["Total", urban] == pytest.approx(t.loc[urban, "Total"])
        assert t.loc[urban, urban] == pytest.approx((lc[0] == 5).sum() * px)


# --- areas, water and the indicator --------------------------------------------------------------


def test_total_area_is_pixel_count_times_pixel_size(tif_run):
    px = evi_pixel_km2()
    cp = table(tif_run, "CP-1.T1")
    assert list(cp["Year"]) == [2001, 2012, 2016]
    assert np.allclose(cp["Total area (km²)"], 47 * 42 * px, rtol=1e-12)
    parts = cp["Total land area (km²)"] + cp["Water bodies (km²)"] + cp["No data (km²)"]
    assert np.allclose(parts, cp["Total area (km²)"], rtol=1e-12)
    assert tif_run.summary["grid"]["area_method"] == "pixel size"


def test_water_is_excluded_and_the_sdg_percent_is_degraded_over_land(tif_run):
    px = evi_pixel_km2()
    lc = lc_on_evi_grid(raw_lc())
    t2 = table(tif_run, "SO1-4.T2").set_index("Period")
    cp = table(tif_run, "CP-1.T1").set_index("Year")
    for period, band, year, deg_layer in ((BASE, 11, 2012, "sdg"), (REP, 12, 2016, "status")):
        land = (lc[band] >= 1) & (lc[band] <= 6)
        water = lc[band] == 7
        assert water.sum() > 100  # Lake Erie and the Niagara River: ~90 km²
        assert cp.loc[year, "Water bodies (km²)"] == pytest.approx(water.sum() * px)
        assert t2.loc[period, "Total land area (km²)"] == pytest.approx(land.sum() * px)
        assert t2.loc[period, "Total land area (km²)"] < 47 * 42 * px - water.sum() * px
        deg = layer(tif_run, f"{period}/{deg_layer}") == -1
        assert t2.loc[period, "Degraded area (km²)"] == pytest.approx((deg & land).sum() * px)
        pct = t2.loc[period, "% of total land area"]
        assert 0.0 < pct < 100.0
        assert pct == pytest.approx(100.0 * (deg & land).sum() / land.sum())


def test_sdg_layer_is_one_out_all_out_of_the_sub_indicators(tif_run):
    for period in (BASE, REP):
        subs = np.stack(
            [
                layer(tif_run, f"{period}/{n}")
                for n in ("productivity_degradation", "land_cover_degradation", "soc_degradation")
            ]
        )
        missing = (subs == ND).any(axis=0)
        want = np.where((subs == -1).any(axis=0), -1, np.where((subs == 1).any(axis=0), 1, 0))
        want = np.where(missing, ND, want)
        np.testing.assert_array_equal(layer(tif_run, f"{period}/sdg"), want, err_msg=period)
    # status vs the baseline (3x3 status matrix): degraded in the period -> degraded; stable in
    # the period keeps the baseline class; improved in the period -> improved
    b, p = layer(tif_run, f"{BASE}/sdg"), layer(tif_run, f"{REP}/sdg")
    st = layer(tif_run, f"{REP}/status")
    ok = (b != ND) & (p != ND)
    want = np.where(p == -1, -1, np.where(p == 1, 1, b))
    np.testing.assert_array_equal(st[ok], want[ok])


# --- productivity --------------------------------------------------------------------------------


@pytest.mark.parametrize("period, years", [(BASE, (2001, 2012)), (REP, (2001, 2016))])
def test_trend_matches_scipy_and_pymannkendall(tif_run, period, years):
    mk = pytest.importorskip("pymannkendall")
    from scipy.stats import theilslopes

    evi = read(EVI_TIF).astype(np.float64)  # band i = year 2001 + i (band descriptions)
    yrs = np.arange(2001, 2017)
    sel = (yrs >= years[0]) & (yrs <= years[1])
    slope = layer(tif_run, f"{period}/trend_slope")
    traj = layer(tif_run, f"{period}/trajectory")
    # every third pixel of every row: ~470 series incl. lake pixels with missing years
    counts = {-1: 0, 0: 0, 1: 0}
    checked = 0
    for r in range(47):
        for c in range(r % 3, 42, 3):
            v, x = evi[sel, r, c], yrs[sel]
            ok = np.isfinite(v)
            if ok.sum() < 3:  # fewer than min_count years: no trend
                assert traj[r, c] == ND and np.isnan(slope[r, c])
                continue
            res = mk.original_test(v[ok], alpha=0.05)
            want = int(np.sign(res.s)) if res.p <= 0.05 else 0
            assert traj[r, c] == want, (r, c, res.p, res.s)
            assert slope[r, c] == pytest.approx(theilslopes(v[ok], x[ok]).slope, abs=1e-7)
            counts[want] += 1
            checked += 1
    assert checked > 400
    assert counts[1] > 10  # the sample holds significant trends, not only "no trend"


# --- SOC -----------------------------------------------------------------------------------------


def test_soc_reference_and_tier1_bookkeeping(tif_run):
    soc01 = layer(tif_run, "soc/soc_2001")
    soc12 = layer(tif_run, "soc/soc_2012")
    clip = read(SOC_TIF, 1)
    valid = clip[clip != -32767]
    # averaging the 10 km stock onto 1 km must not mix in the -32767 nodata
    inside = np.isfinite(soc01)
    assert inside.sum() > 1000
    assert valid.min() - 1e-3 <= soc01[inside].min() and soc01[inside].max() <= valid.max() + 1e-3
    # pixels with exactly one land-cover change 2001 -> 2012, at year t (first year in the new
    # class): the stock moves by (F_LU - 1)/20 of the 2001 stock per year from t to 2012
    lc = lc_on_evi_grid(raw_lc())[:12]  # 2001..2012
    flu = {
        (1, 3): F_MOIST,
        (2, 3): F_MOIST,
        (3, 1): 1 / F_MOIST,
        (3, 2): 1 / F_MOIST,
        (1, 2): 1.0,
        (2, 1): 1.0,
    }
    checked = {k: 0 for k in flu}
    for r, c in zip(*np.nonzero(inside & (lc[0] != ND)), strict=True):
        s = lc[:, r, c]
        changes = np.nonzero(s[1:] != s[:-1])[0]
        if len(changes) != 1 or (ND in s):
            continue
        t = changes[0] + 1  # index of the first year in the new class
        pair = (int(s[0]), int(s[-1]))
        if pair not in flu:
            continue
        years_changing = 12 - t  # t .. 2012 inclusive
        want = soc01[r, c] * (1 + (flu[pair] - 1) * years_changing / 20)
        assert soc12[r, c] == pytest.approx(want, rel=1e-5), (r, c, pair, t)
        checked[pair] += 1
    assert checked[(3, 1)] > 10 and checked[(1, 3)] > 5


# --- summary -------------------------------------------------------------------------------------


def test_summary_records_methods_and_notes(tif_run):
    s = tif_run.summary
    m = s["methods"]
    assert m["trajectory"]["method"] == "mann_kendall" and m["trajectory"]["alpha"] == 0.05
    assert m["state"]["method"] == "percentile_class"
    assert m["performance"]["units"] == "land_cover_x_climate"
    assert m["lpd_table"] == "prais2026"
    assert m["land_cover_matrix"] == "UNCCD default"
    assert m["climate_zones"] == "temperate_moist"
    assert m["soc"]["threshold"] == 10.0
    assert s["config"]["inputs"]["soc"]["year"] == 2001
    assert s["config"]["inputs"]["productivity"]["index"] == "evi"
    per = {p["name"]: p for p in s["periods"]}
    assert per[BASE]["trend"] == [2001, 2012]  # 16-year window 1997-2012 clamped to the data
    assert any("clamped to start at 2001" in n for n in per[BASE]["notes"])
    assert per[REP]["trend"] == [2001, 2016] and per[REP]["land_cover"] == [2012, 2016]
    assert any("2016 is carried forward from the 2013 map" in n for n in per[REP]["notes"])
    assert s["layers"][f"{BASE}/trajectory"]["attrs"]["method"] == "mann_kendall"
    # the example's own judgement reaches the report table
    assert list(table(tif_run, "SO1-4.T2")["Confidence"]) == ["low", "low"]


# --- the same run from the raw 16-day NetCDF -----------------------------------------------------


def test_netcdf_16day_source_gives_the_same_annual_means_and_trajectory(tif_run, nc_run):
    annual = open_annual_stack(EVI_NC, variable="_1_km_16_days_EVI")
    assert annual["year"].values.tolist() == list(range(2001, 2017))  # partial 2000, 2017 dropped
    assert annual.attrs["years_dropped"] == [2000, 2017]
    got = annual.values
    tif = read(EVI_TIF)
    full = np.isfinite(tif)  # the derived file is NaN if any composite of the year is fill
    assert np.isfinite(got[full]).all()
    # same int16 x 1e-4 values averaged in float: agreement to ~float32 rounding (1e-6 EVI is
    # 10^4 times below the state's 0.01 minimum difference)
    np.testing.assert_allclose(got[full], tif[full], atol=1e-6, rtol=0)
    no_gap = full.all(axis=0)
    lc = lc_on_evi_grid(raw_lc())
    wet = (lc[0] == 7) | (lc[12] == 7) | (lc[12] == ND)  # water in 2001 or 2013/2016, or no data
    for period in (BASE, REP):
        a = layer(tif_run, f"{period}/trajectory")
        b = layer(nc_run, f"{period}/trajectory")
        # identical wherever the GeoTIFF has every year
        np.testing.assert_array_equal(a[no_gap], b[no_gap], err_msg=period)
        both = (a != ND) & (b != ND)
        assert (a == b)[both].mean() >= 0.95, period
        # pixels only the NetCDF run has (mean of the valid composites) are on Lake Erie
        extra = (a == ND) & (b != ND)
        assert extra.sum() > 50 and wet[extra].all(), period
        assert not ((a != ND) & (b == ND)).any(), period


def test_every_area_reconciles(tif_run):
    """The SO1 / CP-1 tables of every scope reconcile, and their land totals are the hand counts."""
    from ldnkit.tables.prais import LAND_FINAL, LAND_INITIAL, LAND_ROW, reconciliation_problems

    tables = {
        scope: {
            tid: pd.DataFrame(t["records"], columns=t["columns"]).pipe(lambda d, t=t: _with_attrs(d, t))
            for tid, t in ts.items()
        }
        for scope, ts in tif_run.summary["tables"].items()
    }
    assert reconciliation_problems(tables) == []
    px = evi_pixel_km2()
    lc = lc_on_evi_grid(raw_lc())
    land = {
        y: float(((lc[b] >= 1) & (lc[b] <= 6)).sum() * px) for y, b in ((2001, 0), (2012, 11), (2016, 12))
    }
    t = tables[AOI]
    t4 = t["SO1-1.T4"].set_index("Land cover class")
    for y, km2 in land.items():
        assert t4.loc[LAND_ROW, str(y)] == pytest.approx(km2, rel=1e-9)
    for period, (y0, y1), mid, lid in (
        (BASE, (2001, 2012), "SO1-1.T5", "SO1-2.T1"),
        (REP, (2012, 2016), "SO1-1.T6", "SO1-2.T2"),
    ):
        m = t[mid][t[mid]["Period"] == period].set_index("Initial class")
        assert m.loc[LAND_INITIAL, "Total"] == pytest.approx(land[y0], rel=1e-9)
        assert m.loc["Total", LAND_FINAL] == pytest.approx(land[y1], rel=1e-9)
        lpd = t[lid][t[lid]["Period"] == period].set_index("Land cover class")
        assert lpd.loc[LAND_ROW, "Total"] == pytest.approx(land[y1], rel=1e-9)
        for tid in ("SO1-1.T7", "SO1-2.T3", "SO1-3.T2"):
            rows = t[tid][t[tid]["Period"] == period]
            assert rows["Area (km²)"].sum() == pytest.approx(land[y1], rel=1e-9), (tid, period)
            assert set(rows["Land-cover year"]) == {y1}
        assert t["SO1-1.T1"][f"{period} (km²)"].iloc[-1] == pytest.approx(land[y1], rel=1e-9)


def _with_attrs(df: pd.DataFrame, t: dict) -> pd.DataFrame:
    df.attrs = {**t.get("attrs", {}), "title": t["title"]}
    return df
