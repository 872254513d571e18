"""ldnkit.plot: every figure shows the numbers of its table (read back from the drawn artists)."""

from __future__ import annotations

import json

import dask.array as dsa
import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

from ldnkit import codes, plot

AOI = "Area of interest"


def _t(records):
    return {"title": "t", "columns": list(records[0]), "records": records}


LC = {1: (40.0, 38.0), 2: (20.0, 25.0), 3: (10.0, 7.0), 7: (5.0, 5.0)}
LPD_ROWS = {1: [1.0, 2.0, 0.0, 30.0, 5.0], 3: [3.0, 1.0, 0.5, 4.0, 0.0]}
DROUGHT = {2001: [50.0, 30.0, 10.0, 6.0, 4.0], 2002: [80.0, 10.0, 5.0, 5.0, 0.0]}


def _tables():
    lc = [
        {"Code": c, "Land cover class": codes.LAND_COVER.name_of(c), "2000": a, "2015": b}
        for c, (a, b) in LC.items()
    ]
    lc.append({"Code": None, "Land cover class": "Total", "2000": 75.0, "2015": 75.0})
    names = list(codes.LAND_COVER.names)
    matrix = []
    for i, c in enumerate(codes.LAND_COVER.codes):
        row = {"Period": "baseline", "Code": c, "Initial class": names[i]}
        row |= {n: (float(10 * i + j) if (i + j) % 3 == 0 else 0.0) for j, n in enumerate(names)}
        matrix.append(row)
    lpd = [
        {"Period": "baseline", "Code": c, "Land cover class": codes.LAND_COVER.name_of(c)}
        | dict(zip(codes.LPD.names, v, strict=True))
        | {"No data": 0.0}
        for c, v in LPD_ROWS.items()
    ]
    three = []
    for period, sub in (("baseline", (5.0, 90.0, 5.0)), ("2016-2019", (7.0, 80.0, 13.0))):
        for code, v in zip((-1, 0, 1), sub, strict=True):
            three.append(
                {
                    "Period": period,
                    "Code": code,
                    "Class": codes.DEGRADATION.name_of(code),
                    "% of total land area": v,
                }
            )
    drought = [
        {"Year": y, "Code": c, "Class": codes.DROUGHT.name_of(c), "% of total land area": v}
        for y, vals in DROUGHT.items()
        for c, v in zip(codes.DROUGHT.codes, vals, strict=True)
    ]
    pop = [
        {
            "Period": p,
            "Population": sex,
            "Code": c,
            "Class": codes.DROUGHT.name_of(c),
            "Population (persons)": (1000.0 * (c + 1) * (k + 1)) * (2 if sex == "female" else 1),
        }
        for k, p in enumerate(("2000-2003", "2004-2007"))
        for sex in ("total", "female")
        for c in codes.DROUGHT.codes
    ]
    return {
        "SO1-1.T4": _t(lc),
        "SO1-1.T5": _t(matrix),
        "SO1-2.T1": _t(lpd),
        "SO1-1.T7": _t(three),
        "SO3-1.T1": _t(drought),
        "SO3-2.periods": _t(pop),
    }


@pytest.fixture
def summary():
    return {"tables": {AOI: _tables(), "North": _tables()}}


def _bar_heights(fig: Figure) -> list[tuple[str, float, float, float]]:
    ax = fig.axes[0]
    out = []
    for container in ax.containers:
        for r in container:
            out.append((container.get_label(), r.get_x(), r.get_height(), r.get_y()))
    return out


def test_land_cover_areas_stack_the_table(summary):
    fig = plot.land_cover_areas(summary)
    ax = fig.axes[0]
    by_label = {c.get_label(): [r.get_height() for r in c] for c in ax.containers}
    for code, vals in LC.items():
        assert by_label[codes.LAND_COVER.name_of(code)] == pytest.approx(list(vals))
    tops = [
        max(r.get_y() + r.get_height() for c in ax.containers for r in c if abs(r.get_x() - x) < 1e-9)
        for x in {r.get_x() for c in ax.containers for r in c}
    ]
    assert sorted(tops) == pytest.approx([75.0, 75.0])  # the total of the table
    colours = {c.get_label(): c[0].get_facecolor() for c in ax.containers}
    assert np.allclose(colours["Cropland"], np.array(codes.hex_to_rgba(codes.LAND_COVER.colour_of(3))) / 255)


def test_change_matrix_image_is_the_table(summary, tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    fig = plot.land_cover_change_matrix(tmp_path, "baseline")  # from a run folder
    arr = np.ma.filled(fig.axes[0].images[0].get_array().astype(float), np.nan)
    n = len(codes.LAND_COVER.codes)
    ref = np.array([[10 * i + j if (i + j) % 3 == 0 else np.nan for j in range(n)] for i in range(n)], float)
    ref[0, 0] = np.nan  # 0 km² is not drawn
    np.testing.assert_array_equal(np.isnan(arr), np.isnan(ref))
    np.testing.assert_allclose(arr[~np.isnan(arr)], ref[~np.isnan(ref)])


def test_lpd_by_land_cover(summary):
    fig = plot.lpd_by_land_cover(summary, "baseline", scope="North")
    ax = fig.axes[0]
    widths = {c.get_label(): [r.get_width() for r in c] for c in ax.containers}
    for k, name in enumerate(codes.LPD.names):  # rows drawn bottom-up: Cropland, Tree-covered
        assert widths[name] == pytest.approx([LPD_ROWS[3][k], LPD_ROWS[1][k]])


def test_degradation_by_subindicator(summary):
    fig = plot.degradation_by_subindicator(summary["tables"][AOI])  # one scope's tables
    widths = {c.get_label(): [r.get_width() for r in c] for c in fig.axes[0].containers}
    assert widths["Degraded"] == pytest.approx([5.0, 7.0])
    assert widths["Improved"] == pytest.approx([5.0, 13.0])


def test_drought_and_population(summary):
    fig = plot.drought_classes(summary)
    heights = {c.get_label(): [r.get_height() for r in c] for c in fig.axes[0].containers}
    assert "Non-drought" not in heights
    for code in (1, 2, 3, 4):
        assert heights[codes.DROUGHT.name_of(code)] == pytest.approx(
            [DROUGHT[2001][code], DROUGHT[2002][code]]
        )
    fig = plot.population_exposed(summary, population="female")
    heights = {c.get_label(): [r.get_height() for r in c] for c in fig.axes[0].containers}
    assert heights["Extreme drought"] == pytest.approx([10000.0, 20000.0])


def test_balance_sheet_and_missing_tables(summary):
    with pytest.raises(ValueError, match="LDN-2"):
        plot.balance_sheet(summary)
    with pytest.raises(ValueError, match="no tables for scope"):
        plot.land_cover_areas(summary, scope="Atlantis")
    summary["tables"][AOI]["LDN-2"] = _t(
        [
            {"Land type": "A", "Gains (km²)": 3.0, "Losses (km²)": 2.0, "Net (km²)": 1.0},
            {"Land type": "B", "Gains (km²)": 0.5, "Losses (km²)": 4.0, "Net (km²)": -3.5},
        ]
    )
    fig = plot.balance_sheet(summary)
    widths = {c.get_label(): [r.get_width() for r in c] for c in fig.axes[0].containers}
    assert widths["Net (km²)"] == pytest.approx([-3.5, 1.0])


def _grid(values, res=0.01):
    h, w = values.shape
    da = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": 1.0 - res * (np.arange(h) + 0.5), "x": 30.0 + res * (np.arange(w) + 0.5)},
    )
    return da.rio.write_crs("EPSG:4326")


def test_map_layer_from_dataarray_numpy_and_dask():
    rng = np.random.default_rng(3)
    v = rng.integers(1, 6, size=(300, 200)).astype(np.int16)
    v[0, 0] = codes.NODATA
    for data in (v, dsa.from_array(v, chunks=(100, 100))):
        fig = plot.map_layer(_grid(data), legend=codes.LPD, max_pixels=20_000, title="lpd")
        im = fig.axes[0].images[0]
        arr = im.get_array()
        assert arr.size <= 20_000
        step = 2  # ceil(sqrt(60000 / 20000))
        rgba = im.to_rgba(arr)
        sub = v[::step, ::step]
        for code in codes.LPD.codes:
            want = np.array(codes.hex_to_rgba(codes.LPD.colour_of(code))) / 255
            np.testing.assert_allclose(
                rgba[sub == code], np.broadcast_to(want, rgba[sub == code].shape), atol=1 / 255
            )
        assert rgba[0, 0, 3] == 0  # no data transparent
        assert im.get_extent() == pytest.approx([30.0, 32.0, -2.0, 1.0])


def test_map_layer_continuous_colour_bar():
    v = np.linspace(-5, 10, 100 * 80, dtype=np.float32).reshape(100, 80)
    v[:3] = np.nan
    fig = plot.map_layer(_grid(v).rename("soc_change"))
    im = fig.axes[0].images[0]
    assert im.norm.vcenter == 0  # a change: diverging around 0
    assert len(fig.axes) == 2  # the map and its colour bar
