"""The PRAIS workbook (tables.xlsx) and the reconciliation of every area, on the small demo run.

References are independent of the tables under test: the land area of each year is summed here
from the written land-cover layers times the ellipsoidal cell areas (ldnkit.cell_area), and the
workbook is read back with openpyxl and compared with the DataFrames cell by cell.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio
import yaml

import ldnkit
from ldnkit import codes
from ldnkit.layer_meta import sorted_entries
from ldnkit.run import run
from ldnkit.tables import AOI_SCOPE, tables_to_json, write_xlsx
from ldnkit.tables.export import FORMATS, HEADER_ROW
from ldnkit.tables.prais import LAND_FINAL, LAND_INITIAL, LAND_ROW, reconciliation_problems

LAND = "Total land area (km²)"


def _runnable(cfg: dict, folder: Path) -> dict:
    """Drop config sections whose input files the demo builder has not written (stages other
    engineers are adding); the SO1 and drought stages always run."""

    def files(v):
        if isinstance(v, dict):
            return [f for x in v.values() for f in files(x)]
        if isinstance(v, list):
            return [f for x in v for f in files(x)]
        if isinstance(v, str) and v.rsplit(".", 1)[-1] in ("tif", "gpkg", "csv", "nc", "geojson"):
            return [v]
        return []

    for key in ("corrections", "neutrality"):
        if key in cfg and not all((folder / f).exists() for f in files(cfg[key])):
            cfg.pop(key)
    return cfg


def run_small_demo(small_inputs: Path, out: Path):
    """Run the pipeline once on a copy of the session's small demo inputs into ``out``."""
    inputs = out.parent / "inputs"
    shutil.copytree(small_inputs, inputs)
    cfg = _runnable(yaml.safe_load((inputs / "config.yaml").read_text()), inputs)
    cfg["output"], cfg["overwrite"] = str(out), False
    path = inputs / "config_test.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return run(path, quiet=True)


@pytest.fixture(scope="module")
def demo(small_inputs, tmp_path_factory):
    result = run_small_demo(small_inputs, tmp_path_factory.mktemp("export") / "run")
    xlsx = write_xlsx(result.tables, result.output / "tables_test.xlsx", summary=result.summary)
    return result, xlsx


def _land_by_hand(result) -> dict[int, float]:
    """km² of land-cover classes 1-6 per year, from the written layers (masked to the AOI)."""
    out = {}
    for key, path in result.layers.items():
        if key.startswith("land_cover/land_cover_"):
            with rasterio.open(path) as src:
                lc = src.read(1)
            area = ldnkit.cell_area(result.layer(key.split("/")[1], "land_cover")).values
            out[int(key.rsplit("_", 1)[1])] = float(area[(lc >= 1) & (lc <= 6)].sum())
    return out


# --- reconciliation ------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_area_of_the_demo_reconciles(demo):
    result, _ = demo
    tables = result.tables
    assert reconciliation_problems(tables) == []
    # independently: the land of each year from the layers, and the same total in every table
    land = _land_by_hand(result)
    assert len(land) >= 3
    t = tables[AOI_SCOPE]
    cp = t["CP-1.T1"].set_index("Year")[LAND]
    for y, km2 in land.items():
        assert cp[y] == pytest.approx(km2, rel=1e-9)
        t4 = t["SO1-1.T4"].set_index("Land cover class")
        assert t4.loc[LAND_ROW, str(y)] == pytest.approx(km2, rel=1e-9)
    periods = result.summary["periods"]
    for p in periods:
        y0, y1 = p["land_cover"]
        for tid in ("SO1-1.T7", "SO1-2.T3", "SO1-3.T2"):
            rows = t[tid][t[tid]["Period"] == p["name"]]
            assert rows["Area (km²)"].sum() == pytest.approx(land[y1], rel=1e-9), (tid, p["name"])
            assert set(rows["Land-cover year"]) == {y1}
        t2 = t["SO1-4.T2"].set_index("Period")
        assert t2.loc[p["name"], LAND] == pytest.approx(land[y1], rel=1e-9)
        mid = "SO1-1.T5" if p["kind"] == "baseline" else "SO1-1.T6"
        m = t[mid][t[mid]["Period"] == p["name"]].set_index("Initial class")
        assert m.loc[LAND_INITIAL, "Total"] == pytest.approx(land[y0], rel=1e-9)
        assert m.loc["Total", LAND_FINAL] == pytest.approx(land[y1], rel=1e-9)
        # water is a row and a column of its own, outside both land totals
        assert m.loc[LAND_INITIAL, "Water bodies"] == 0
        lid = "SO1-2.T1" if p["kind"] == "baseline" else "SO1-2.T2"
        lpd = t[lid][t[lid]["Period"] == p["name"]].set_index("Land cover class")
        lpd_classes = [
            "Declining",
            "Moderate decline",
            "Stable but stressed",
            "Stable",
            "Increasing",
            "No data",
        ]
        assert lpd.loc[LAND_ROW, lpd_classes].sum() == pytest.approx(land[y1], rel=1e-9)
        t1 = t["SO1-1.T1"]
        assert t1[f"{p['name']} (km²)"].iloc[-1] == pytest.approx(land[y1], rel=1e-9)
        assert str(y1) in t1["Process"].iloc[-1]
    for p in periods[1:]:
        st = t["SO1-4.T1"]
        for kind, g in st[st["Period"] == p["name"]].groupby("Status"):
            assert g["Area (km²)"].sum() == pytest.approx(land[p["land_cover"][1]], rel=1e-9), kind
    # the regions' land adds up to the area of interest's
    regions = [s for s in tables if s != AOI_SCOPE]
    assert regions
    for y in land:
        by_region = sum(tables[s]["CP-1.T1"].set_index("Year").loc[y, LAND] for s in regions)
        assert by_region == pytest.approx(land[y], rel=1e-9)


@pytest.mark.slow
def test_reconciliation_catches_a_broken_table(demo):
    result, _ = demo
    tables = copy.deepcopy(result.tables)
    t = tables["North"]
    t["SO1-2.T2"].loc[0, "Stable"] += 1.0  # one class cell no longer adds up
    t["SO1-1.T7"].loc[0, LAND] += 0.5  # a total that differs from CP-1.T1
    problems = reconciliation_problems(tables)
    assert any(p.startswith("North / SO1-2.T2") for p in problems), problems
    assert any(p.startswith("North / SO1-1.T7") and "CP-1.T1" in p for p in problems), problems
    assert not any(p.startswith(AOI_SCOPE) for p in problems)
    del t["SO1-1.T4"]["Land cover class"]
    assert any("cannot check" in p for p in reconciliation_problems(tables))


# --- the workbook --------------------------------------------------------------------------------


def _sheet_rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


@pytest.mark.slow
def test_layers_sheet_lists_every_layer_with_its_metadata(demo):
    result, xlsx = demo
    rows = _sheet_rows(openpyxl.load_workbook(xlsx)["Layers"])
    head = rows[3]
    assert head == (
        "Key",
        "File",
        "Group",
        "Subgroup",
        "Title",
        "Description",
        "Unit",
        "Kind",
        "Legend",
        "Classes",
    )
    body = [dict(zip(head, r, strict=True)) for r in rows[4:]]
    entries = result.summary["layers"]
    assert [r["Key"] for r in body] == [k for k, _ in sorted_entries(entries)]  # display order
    for r in body:
        e = entries[r["Key"]]
        assert (r["File"], r["Group"], r["Title"], r["Kind"]) == (
            e["path"],
            e["group"],
            e["title"],
            e["kind"],
        )
        assert bool(r["Classes"]) == (e["kind"] == "categorical"), r["Key"]
    lc = next(r for r in body if r["Key"].startswith("land_cover/"))
    assert lc["Legend"] == "land_cover" and lc["Classes"].startswith("1 Tree-covered areas; 2 Grassland")
    sdg = next(r for r in body if r["Key"] == "baseline/sdg")
    assert sdg["Classes"] == "; ".join(
        f"{c} {n}" for c, n in zip(codes.DEGRADATION.codes, codes.DEGRADATION.names, strict=True)
    )


@pytest.mark.slow
def test_workbook_layout_and_values(demo):
    result, xlsx = demo
    tables = result.tables
    wb = openpyxl.load_workbook(xlsx)
    ids = list(tables[AOI_SCOPE])
    assert wb.sheetnames[0] == "README"
    assert wb.sheetnames[1:4] == ["Layers", "CP-1.T1", "SO1-1.T1"]
    assert set(ids) <= set(wb.sheetnames)
    scopes = list(tables)
    for tid in ids:
        ws = wb[tid]
        rows = _sheet_rows(ws)
        df0 = tables[AOI_SCOPE][tid]
        assert rows[0][0] == f"{tid} — {df0.attrs['title']}"
        assert rows[1][0].startswith("Units:")
        header = rows[HEADER_ROW - 1]
        cols = ["Scope", *[c for c in df0.columns if c != "Scope"]]
        assert list(header[: len(cols)]) == cols
        assert ws.freeze_panes == f"B{HEADER_ROW + 1}"
        assert ws.auto_filter.ref.startswith(f"A{HEADER_ROW}:")
        body = rows[HEADER_ROW:]
        # one long table: every scope's rows in order, the scope in the first column (a table
        # with its own "Scope" column, e.g. the neutrality balance sheet, keeps it)
        want = [s for s in scopes if tid in tables[s]]
        parts = [
            tables[s][tid] if "Scope" in tables[s][tid] else tables[s][tid].assign(Scope=s) for s in want
        ]
        expected = pd.concat(parts, ignore_index=True)[cols]
        if "Scope" not in df0.columns:
            assert list(dict.fromkeys(r[0] for r in body)) == want
        assert len(body) == len(expected)
        for r, (_, e) in zip(body, expected.iterrows(), strict=True):
            for c, v in zip(cols, r, strict=False):
                ev = e[c]
                if ev is None or ev is pd.NA or ev == "" or (isinstance(ev, float) and np.isnan(ev)):
                    assert v is None, (tid, c)  # empty cell
                elif isinstance(ev, float | np.floating):
                    assert v == pytest.approx(float(ev), rel=1e-12), (tid, c)  # stored unrounded
                else:
                    assert v == (ev.item() if isinstance(ev, np.generic) else ev), (tid, c)


@pytest.mark.slow
def test_workbook_number_formats(demo):
    _, xlsx = demo
    wb = openpyxl.load_workbook(xlsx)

    def fmt(sheet, column, row_match=None):
        ws = wb[sheet]
        header = [c.value for c in ws[HEADER_ROW]]
        j = header.index(column) + 1
        for r in range(HEADER_ROW + 1, ws.max_row + 1):
            if row_match is None or all(
                ws.cell(r, header.index(k) + 1).value == v for k, v in row_match.items()
            ):
                return ws.cell(r, j).number_format
        raise AssertionError((sheet, column, row_match))

    assert fmt("CP-1.T1", LAND) == FORMATS["km2"] == "#,##0.00"
    assert fmt("SO1-1.T7", "% of total land area") == "0.00"
    assert fmt("SO1-1.T5", "Grassland") == "#,##0.00"  # class columns of an area matrix
    assert fmt("SO1-1.T4", "2000") == "#,##0.00"
    assert fmt("SO1-3.T1", "2000", {"Unit": "t/ha"}) == "0.0"
    assert fmt("SO1-3.T1", "2000", {"Unit": "t"}) == "#,##0"
    assert fmt("SO1-4.change", "Change (percentage points)") == "0.00"
    if "SO3-2.T1" in wb.sheetnames:
        assert fmt("SO3-2.T1", "Population (persons)") == "#,##0"
        assert fmt("SO3-2.T1", "Total population") == "#,##0"
    assert wb["SO1-4.T2"].cell(HEADER_ROW + 1, 2).number_format == "General"  # a period name
    units = wb["SO1-3.T1"].cell(2, 1).value
    assert "t/ha" in units and "t (tonnes)" in units


@pytest.mark.slow
def test_workbook_readme(demo):
    result, xlsx = demo
    s = result.summary
    wb = openpyxl.load_workbook(xlsx)
    text = "\n".join(" | ".join(str(v) for v in r if v is not None) for r in _sheet_rows(wb["README"]))
    assert s["grid"]["area_method"] in text
    assert f"ldnkit {s['ldnkit_version']}" in text and s["created"] in text
    assert "water bodies (7)" in text and "Total land area" in text
    for p in s["periods"]:
        assert f"{p['name']} | {p['kind']} {p['start']}-{p['end']}" in text
        assert f"land cover {p['land_cover'][0]}-{p['land_cover'][1]}" in text
    assert f"trajectory.alpha | {s['methods']['trajectory']['alpha']}" in text
    assert "Reconciliation | every area" in text
    for tid, df in result.tables[AOI_SCOPE].items():
        assert f"{tid} | {df.attrs['title']}" in text


def test_generic_tables_and_own_scope_column(tmp_path):
    """Tables added by other stages are written like the rest, with their attrs title."""
    cp = pd.DataFrame(
        {
            "Year": [2015],
            LAND: [10.0],
            "Water bodies (km²)": [1.0],
            "No data (km²)": [0.0],
            "Total area (km²)": [11.0],
        }
    )
    cp.attrs = {"id": "CP-1.T1", "title": "Total land area"}
    bal = pd.DataFrame(
        {
            "Scope": [AOI_SCOPE, "=West"],
            "Land type": [1, 1],
            "Gains (km²)": [1.23456, 0.5],
            "ΔLDN (% of land type)": [12.3456, 1.0],
            "LDN achieved": [True, False],
        }
    )
    bal.attrs = {"title": "Neutrality balance sheet", "note": "gains minus losses"}
    tables = {
        AOI_SCOPE: {"CP-1.T1": cp, "LDN-2 Balance sheet": bal, "a/b:c*d?e[f]g-very-long-table-identifier": cp}
    }
    wb = openpyxl.load_workbook(write_xlsx(tables, tmp_path / "t.xlsx"))
    assert "LDN-2 Balance sheet" in wb.sheetnames
    assert "a_b_c_d_e_f_g-very-long-table-i" in wb.sheetnames  # Excel: 31 characters, no []:*?/\
    rows = _sheet_rows(wb["LDN-2 Balance sheet"])
    assert rows[0][0] == "LDN-2 Balance sheet — Neutrality balance sheet"
    assert rows[2][0] == "Note: gains minus losses"
    assert rows[HEADER_ROW - 1][:2] == ("Scope", "Land type")  # its own Scope column, not twice
    assert [r[0] for r in rows[HEADER_ROW:]] == [AOI_SCOPE, "=West"]  # text, never a formula
    assert wb["LDN-2 Balance sheet"].cell(HEADER_ROW + 2, 1).data_type == "s"
    ws = wb["LDN-2 Balance sheet"]
    assert ws.cell(HEADER_ROW + 1, 3).number_format == "#,##0.00"
    assert ws.cell(HEADER_ROW + 1, 4).number_format == "0.00"
    assert ws.cell(HEADER_ROW + 1, 3).value == 1.23456
    # without a summary, the README still explains the land area and lists the sheets
    readme = "\n".join(str(r) for r in _sheet_rows(wb["README"]))
    assert "Total land area" in readme and "LDN-2 Balance sheet" in readme


def test_tables_to_json_format_is_unchanged():
    df = pd.DataFrame({"Code": pd.Series([1, None], dtype=object), "Area (km²)": [1.5, float("nan")]})
    df.attrs = {"id": "X", "title": "T", "years": (2000, 2015)}
    j = tables_to_json({AOI_SCOPE: {"X": df}})
    assert j == {
        AOI_SCOPE: {
            "X": {
                "title": "T",
                "columns": ["Code", "Area (km²)"],
                "records": [{"Code": 1, "Area (km²)": 1.5}, {"Code": None, "Area (km²)": None}],
                "attrs": {"id": "X", "years": [2000, 2015]},
            }
        }
    }
    json.dumps(j, allow_nan=False)
