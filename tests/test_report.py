"""The HTML report: decimated map reads, legend colours, scale bar, warnings, the file itself, the CLI.

A small run folder is made by code (a few layers written by ldnkit's own writer, a hand-made
summary.json); the pipeline end to end is covered by test_report_browser.py.
"""

from __future__ import annotations

import json
import math
import re

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin
from shapely.geometry import box
from typer.testing import CliRunner

from ldnkit import codes
from ldnkit.cli import app
from ldnkit.errors import InputError
from ldnkit.io.write import write_layer
from ldnkit.layer_meta import LayerMeta
from ldnkit.report import compute_warnings, headline, write_report
from ldnkit.report.maps import _legend_from_aux, _nice_length, km_per_unit, map_figure, read_map

AOI = "Area of interest"


def _da(values: np.ndarray, x0: float = 36.0, y0: float = -0.5, res: float = 0.0025, crs="EPSG:4326"):
    h, w = values.shape
    da = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": y0 - res * (np.arange(h) + 0.5), "x": x0 + res * (np.arange(w) + 0.5)},
    )
    return da.rio.write_crs(crs)


def _tif(path, values, transform, crs="EPSG:4326", nodata=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype=values.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


def _three(period: str, deg: float, stable: float, imp: float, nodata: float = 0.0, land: float = 100.0):
    return [
        {
            "Period": period,
            "Code": c,
            "Class": n,
            "Area (km²)": v * land / 100,
            "% of total land area": v,
            "Total land area (km²)": land,
        }
        for c, n, v in (
            (1, "Improved", imp),
            (0, "Stable", stable),
            (-1, "Degraded", deg),
            (codes.NODATA, "No data", nodata),
        )
    ]


def _table(title, records):
    return {"title": title, "columns": list(records[0]), "records": records, "attrs": {}}


def _scope_tables(base_pct: float, p1_pct: float, land: float, lc_other: float = 30.0, soc_nodata=0.0):
    lc = [
        {"Code": c, "Land cover class": codes.LAND_COVER.name_of(c), "2000": a, "2015": a}
        for c, a in ((1, 40.0), (2, 20.0), (3, 10.0), (4, 0.0), (5, 0.004), (6, lc_other - 0.004), (7, 5.0))
    ]
    lc.append({"Code": None, "Land cover class": "Total", "2000": 105.0, "2015": 105.0})
    return {
        "CP-1.T1": _table(
            "Total land area",
            [
                {
                    "Year": 2015,
                    "Total land area (km²)": land,
                    "Water bodies (km²)": 5.0,
                    "No data (km²)": 0.0,
                    "Total area (km²)": land + 5,
                }
            ],
        ),
        "SO1-1.T4": _table("Land-cover extent by class (km²)", lc),
        "SO1-1.T7": _table(
            "Land-cover degradation", _three("baseline", 5, 90, 5) + _three("2016-2019", 4, 91, 5)
        ),
        "SO1-3.T2": _table("SOC degradation", _three("baseline", 2, 73, 5, nodata=soc_nodata)),
        "SO1-4.T2": _table(
            "Proportion of degraded land, SDG indicator 15.3.1",
            [
                {
                    "Period": "baseline",
                    "Kind": "baseline",
                    "Degraded area (km²)": base_pct * land / 100,
                    "% of total land area": base_pct,
                    "Total land area (km²)": land,
                    "Confidence": "not assessed",
                },
                {
                    "Period": "2016-2019",
                    "Kind": "reporting",
                    "Degraded area (km²)": p1_pct * land / 100,
                    "% of total land area": p1_pct,
                    "Total land area (km²)": land,
                    "Confidence": "high",
                },
            ],
        ),
        "SO1-4.change": _table(
            "Change", [{"Period": "2016-2019", "Change (percentage points)": p1_pct - base_pct}]
        ),
        "ZZ-9.T1": _table("A table the report does not know", [{"Name": "a", "Value": 1234567.891}]),
    }


def _layer_entries() -> dict:
    """summary.json's layer entries of the run_dir fixture, as the stages write them."""
    metas = {
        "land_cover/land_cover_2015": LayerMeta(
            "Land cover 2015",
            "Land cover",
            "Land cover 2015",
            "class",
            codes.LAND_COVER,
            20,
            "Land cover maps",
        ),
        "baseline/sdg": LayerMeta(
            "SDG 15.3.1 (one-out-all-out)",
            "SDG 15.3.1",
            "SDG 15.3.1 one-out-all-out (-1 degraded, 0 stable, 1 improved)",
            "class",
            codes.DEGRADATION,
            0,
            "baseline",
            report_map=True,
        ),
        "baseline/soc_change": LayerMeta(
            "Soil organic carbon change",
            "Soil organic carbon",
            "Relative SOC change",
            "%",
            None,
            12,
            "baseline",
            True,
        ),
    }
    return {k: {"path": f"layers/{k}.tif", "attrs": {}} | m.entry() for k, m in metas.items()}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder: 3 layers (categorical with legend, a transition layer, continuous), boundaries
    and a summary with an area of interest and two regions."""
    run = tmp_path_factory.mktemp("report") / "run"
    rng = np.random.default_rng(0)
    lc = rng.integers(1, 8, size=(120, 160)).astype(np.int16)
    lc[:5, :5] = codes.NODATA
    write_layer(_da(lc), run / "layers" / "land_cover" / "land_cover_2015.tif", legend=codes.LAND_COVER)
    sdg = rng.choice([-1, 0, 1], size=(120, 160)).astype(np.int16)
    write_layer(
        _da(sdg),
        run / "layers" / "baseline" / "sdg.tif",
        legend=codes.DEGRADATION,
        description="SDG 15.3.1 one-out-all-out (-1 degraded, 0 stable, 1 improved)",
    )
    soc = rng.normal(0, 5, size=(120, 160)).astype(np.float32)
    write_layer(_da(soc), run / "layers" / "baseline" / "soc_change.tif", tags={"units": "%"})
    aoi = gpd.GeoDataFrame({"name": ["aoi"]}, geometry=[box(36.02, -0.78, 36.38, -0.52)], crs="EPSG:4326")
    regions = gpd.GeoDataFrame(
        {"name": ["North", "Tiny"]},
        geometry=[box(36.02, -0.65, 36.38, -0.52), box(36.02, -0.78, 36.38, -0.65)],
        crs="EPSG:4326",
    )
    aoi.to_file(run / "boundaries.gpkg", layer="area_of_interest")
    regions.to_file(run / "boundaries.gpkg", layer="regions")
    summary = {
        "title": "Report test <run>",
        "ldnkit_version": "0.1.0",
        "created": "2026-01-01T00:00:00+00:00",
        "grid": {
            "crs": "EPSG:4326",
            "width": 160,
            "height": 120,
            "transform": [0.0025, 0, 36.0, 0, -0.0025, -0.5],
            "geographic": True,
        },
        "config": {
            "title": "t",
            "methods": {"trajectory": {"alpha": 0.05}},
            "inputs": {"regions": {"path": "r.gpkg"}},
        },
        "methods": {"trajectory": {"method": "mann_kendall", "alpha": 0.05}},
        "inputs": {"productivity": "/data/ndvi.tif"},
        "periods": [
            {
                "name": "baseline",
                "kind": "baseline",
                "start": 2000,
                "end": 2015,
                "trend": [2000, 2015],
                "notes": [],
            },
            {
                "name": "2016-2019",
                "kind": "reporting",
                "start": 2016,
                "end": 2019,
                "trend": [2004, 2019],
                "notes": ["shortened trend window"],
            },
        ],
        "tables": {
            AOI: _scope_tables(10.0, 17.5, 100.0),
            "North": _scope_tables(12.0, 14.0, 60.0),
            "Tiny": _scope_tables(20.0, 21.0, 0.05, soc_nodata=12.0),
        },
        "layers": _layer_entries(),
        "warnings": ["Drought: the population grid ends in 2020; later years reuse it."],
    }
    (run / "summary.json").write_text(json.dumps(summary))
    return run


# --- maps ------------------------------------------------------------------------------------------


def test_read_map_decimates_nearest_and_average(tmp_path):
    rng = np.random.default_rng(1)
    cat = rng.choice(np.array([1, 3, 5], dtype=np.int16), size=(400, 600))
    cont = rng.random((400, 600)).astype(np.float32)
    t = from_origin(10.0, 50.0, 0.01, 0.01)
    md_c = read_map(_tif(tmp_path / "c.tif", cat, t, nodata=codes.NODATA), max_pixels=200 * 300)
    md_f = read_map(_tif(tmp_path / "f.tif", cont, t, nodata=float("nan")), max_pixels=200 * 300)
    assert md_c.values.shape == (200, 300) and md_f.values.shape == (200, 300)
    assert md_c.categorical and not md_f.categorical
    assert set(np.unique(md_c.values.compressed())) <= {1, 3, 5}  # nearest keeps the codes
    ref = cont.reshape(200, 2, 300, 2).mean(axis=(1, 3))  # average of each 2 x 2 block
    np.testing.assert_allclose(md_f.values, ref, rtol=1e-5)
    assert md_c.extent == pytest.approx((10.0, 16.0, 46.0, 50.0))


def test_small_raster_read_at_full_resolution(tmp_path):
    v = np.arange(12, dtype=np.int16).reshape(3, 4)
    md = read_map(_tif(tmp_path / "s.tif", v, from_origin(0, 3, 1, 1), crs="EPSG:32637"))
    np.testing.assert_array_equal(md.values, v)


def test_legend_from_tag_and_from_aux_xml(run_dir):
    path = run_dir / "layers" / "land_cover" / "land_cover_2015.tif"
    md = read_map(path)
    assert md.legend.codes == codes.LAND_COVER.codes
    assert md.legend.colours == codes.LAND_COVER.colours
    aux = _legend_from_aux(path)  # what a file without the tag (another tool's) still gives
    assert aux is not None
    assert aux.codes == codes.LAND_COVER.codes
    assert aux.names == codes.LAND_COVER.names
    assert [c.lower() for c in aux.colours] == [c.lower() for c in codes.LAND_COVER.colours]


def test_map_pixels_have_the_legend_colours(run_dir):
    path = run_dir / "layers" / "land_cover" / "land_cover_2015.tif"
    md = read_map(path)
    fig = map_figure(md)
    im = fig.axes[0].images[0]
    rgba = im.to_rgba(im.get_array())
    with rasterio.open(path) as src:
        raw = src.read(1)
    for code, colour in zip(codes.LAND_COVER.codes, codes.LAND_COVER.colours, strict=True):
        want = np.array(codes.hex_to_rgba(colour)) / 255.0
        got = rgba[raw == code]
        assert len(got) > 0
        np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), atol=1 / 255)
    assert np.all(rgba[raw == codes.NODATA][:, 3] == 0)  # no data is transparent


def _ellipsoid_km_per_degree(lat: float) -> float:
    """Length of one degree of longitude on the WGS84 ellipsoid (radius of the parallel)."""
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    phi = math.radians(lat)
    return math.pi / 180 * a * math.cos(phi) / math.sqrt(1 - e2 * math.sin(phi) ** 2) / 1000


@pytest.mark.parametrize("lat", [0.0, 35.0, 60.0, -45.0])
def test_scale_is_true_at_the_centre_latitude(tmp_path, lat):
    t = from_origin(20.0, lat + 0.5, 0.01, 0.01)
    md = read_map(_tif(tmp_path / "g.tif", np.ones((100, 100), np.int16), t))
    assert km_per_unit(md) == pytest.approx(_ellipsoid_km_per_degree(lat), rel=2e-4)
    fig = map_figure(md)
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_text().endswith("km")]
    width_km = _ellipsoid_km_per_degree(lat)  # the map is 1 degree wide
    assert labels == [f"{_nice_length(width_km / 4):g} km"]


def test_projected_scale_and_nice_lengths(tmp_path):
    md = read_map(
        _tif(tmp_path / "p.tif", np.ones((10, 10), np.int16), from_origin(5e5, 1e4, 30, 30), crs="EPSG:32637")
    )
    assert km_per_unit(md) == pytest.approx(0.001)
    assert [_nice_length(x) for x in (0.7, 1.0, 3.3, 7.9, 27.0, 480.0)] == [0.5, 1, 2, 5, 20, 200]


# --- content -----------------------------------------------------------------------------------------


def test_headline_figures(run_dir):
    rows = headline(json.loads((run_dir / "summary.json").read_text()))
    assert [r["scope"] for r in rows] == [AOI, "North", "Tiny"]
    aoi = rows[0]["periods"]
    assert [p["percent"] for p in aoi] == [10.0, 17.5]
    assert aoi[1]["change_pp"] == pytest.approx(7.5)
    assert rows[1]["periods"][1]["change_pp"] == pytest.approx(2.0)


def test_warnings(run_dir):
    w = compute_warnings(json.loads((run_dir / "summary.json").read_text()))
    text = [f"{x['scope']}: {x['text']}" for x in w]
    joined = "\n".join(text)
    # AOI: +7.5 pp > 5; North +2 pp and Tiny +1 pp are not flagged
    assert any(t.startswith(f"{AOI}: Degraded land changes by +7.5") for t in text), joined
    assert not any(t.startswith("North: Degraded land changes") for t in text), joined
    # Tiny: 0.05 km² of land (< 1 % of 100 km², and ~8 pixels of ~0.0077 km²)
    assert any(t.startswith("Tiny: Region Tiny is small") and "pixels" in t for t in text), joined
    assert any("Tiny: The soil organic carbon sub-indicator has no data on 12.0 %" in t for t in text), joined
    assert not any("North: The soil organic carbon" in t for t in text)
    assert any("not assessed" in t for t in text)
    assert any("Artificial surfaces covers only" in t for t in text), joined  # 0.004 km²
    assert not any("Wetland covers" in t for t in text)  # absent classes are not "small"
    assert any("shortened trend window" in t for t in text)
    assert "Area of interest: Drought: the population grid ends in 2020; later years reuse it." in text


def test_write_report_is_self_contained(run_dir):
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert not re.search(r"(src|href)=\"(?!data:|#)", html), "a reference outside the file"
    assert "http://" not in html and "https://" not in html
    imgs = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    # headline chart + land cover + sdg + soc change + land-cover chart + 3-class chart
    assert len(imgs) >= 6
    import base64

    for b in imgs:
        assert base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n"
    for tid in ("CP-1.T1", "SO1-1.T4", "SO1-4.T2", "ZZ-9.T1"):  # every table, known or not
        assert f'id="table-{tid}"' in html
    assert (
        html.index('id="table-CP-1.T1"')
        < html.index('id="table-SO1-4.T2"')
        < html.index('id="table-ZZ-9.T1"')
    )
    assert "1,234,567.9" in html  # formatted numbers
    assert "Report test &lt;run&gt;" in html  # escaped
    for scope in ("North", "Tiny"):
        assert f"<td>{scope}</td>" in html
    assert "+7.5 pp" in html and "17.5 %" in html
    assert "/data/ndvi.tif" in html and "r.gpkg" in html  # data sources
    assert "trajectory.alpha" in html  # parameters
    assert "the population grid ends in 2020" in html  # the stages' warnings


def test_map_sections_follow_the_layer_metadata(run_dir):
    from ldnkit.report.map_sections import map_sections

    summary = json.loads((run_dir / "summary.json").read_text())
    sections = map_sections(run_dir, summary, ["baseline", "2016-2019"], None, 10_000)
    titles = {s["id"]: [m["title"] for m in s["maps"]] for s in sections}
    assert titles == {
        "map-period-baseline": [
            "SDG 15.3.1 (one-out-all-out), baseline",
            "Soil organic carbon change, baseline",
        ],
        "map-land-cover": ["Land cover 2015"],
    }
    period = sections[0]["maps"]
    assert (
        period[1]["caption"] == "Relative SOC change (%)"
        and period[1]["path"] == "layers/baseline/soc_change.tif"
    )
    # a layer of a group the report does not know gets a map in "Other layers"; a long yearly
    # series of a known group is named, not drawn
    layers = dict(summary["layers"])
    layers["toy/x"] = dict(layers["baseline/soc_change"], group="Toy", title="Toy index", subgroup=None)
    for y in range(2000, 2014):
        layers[f"lc/{y}"] = dict(layers["land_cover/land_cover_2015"], subgroup="Land cover per year")
    sections = map_sections(run_dir, summary | {"layers": layers}, ["baseline"], None, 10_000)
    by_id = {s["id"]: s for s in sections}
    assert [m["title"] for m in by_id["map-other-layers"]["maps"]] == ["Toy index"]
    assert "Land cover per year (14 layers)" in by_id["map-land-cover"]["intro"]
    assert len(by_id["map-land-cover"]["maps"]) == 1


def test_report_without_boundaries_tables_or_layers(tmp_path):
    run = tmp_path / "bare"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"title": "bare"}))
    html = write_report(run).read_text()
    assert "no SDG 15.3.1 table" in html and "No layers found" in html


def test_not_a_run_folder(tmp_path):
    with pytest.raises(InputError, match="not an ldnkit run folder"):
        write_report(tmp_path)


def test_cli_report(run_dir, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(run_dir)])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().endswith("report.html")
    bad = runner.invoke(app, ["report", str(tmp_path / "nowhere")])
    assert bad.exit_code == 2
    err = bad.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "nowhere" in err


def test_long_tables_are_cut_with_a_pointer_to_the_workbook():
    from ldnkit.report.html import MAX_TABLE_ROWS, _tables_html_data

    n = MAX_TABLE_ROWS + 57
    records = [{"Id": i + 1, "Area (km²)": float(n - i)} for i in range(n)]
    summary = {
        "tables": {
            "Area of interest": {
                "SO1-4.T4": {"title": "Hotspots", "columns": ["Id", "Area (km²)"], "records": records}
            }
        }
    }
    (table,) = _tables_html_data(summary)
    (block,) = table["blocks"]
    assert len(block["rows"]) == MAX_TABLE_ROWS and block["hidden"] == 57
    assert block["rows"][0][0][0] == "1"  # largest first, as the table comes


def test_headline_chart_tick_labels_are_distinct_for_small_shares():
    """Shares under 3 % used to give repeated labels ("0 % 0 % 1 % 1 %")."""
    from ldnkit.report.html import headline_chart

    rows = [
        {
            "scope": "Area of interest",
            "periods": [{"name": "baseline", "percent": 0.4}, {"name": "p", "percent": 2.1}],
        }
    ]
    fig = headline_chart(rows)
    ax = fig.axes[0]
    labels = [ax.yaxis.get_major_formatter()(v, i) for i, v in enumerate(ax.get_yticks())]
    assert len(labels) == len(set(labels)) > 2, labels


def test_png_uri_is_a_small_palette_png_with_a_white_background():
    import base64
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    from ldnkit.report.maps import png_uri

    fig = Figure(figsize=(4, 3), dpi=100)
    ax = fig.add_subplot()
    ax.imshow(np.random.default_rng(0).random((50, 50)), cmap="viridis")
    uri = png_uri(fig)
    assert uri.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert img.mode == "P" and img.size == (400, 300)
    assert img.convert("RGB").getpixel((1, 1)) == (255, 255, 255)  # the figure's margin stays white
