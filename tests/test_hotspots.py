"""Hotspots / brightspots: components, areas, renumbering, density method, centres and drivers,
checked against hand counts, brute-force window counts, scipy on the full array and pyproj."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import scipy.ndimage as ndi
import xarray as xr

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.drivers import DriverRecord
from ldnkit.errors import ConfigError
from ldnkit.indicators.hotspots import attach_drivers, density_mask, find_hotspots, hotspot_kind_layer
from ldnkit.io.grid import Grid

N = codes.NODATA
X0, Y0 = 500_000.0, 9_900_000.0  # UTM 37S-ish false coordinates, EPSG:32737 (south)
CRS = "EPSG:32737"

# Hand raster: hotspot A = 2x2 block + a diagonal pixel at (2, 2); B = 3 pixels in row 4.
# Brightspot: an L of 3 pixels.
COND = np.array(
    [
        [-1, -1, 0, 0, 0, 0, 0, 0],
        [-1, -1, 0, 0, 0, 0, 0, 0],
        [0, 0, -1, 0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0, 1, 0, 0],
        [0, -1, -1, -1, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, N],
    ],
    dtype=np.int16,
)


def _grid(shape, res=1000.0):
    ny, nx = shape
    return Grid.from_bounds((X0, Y0, X0 + nx * res, Y0 + ny * res), res, CRS)


def _wrap(arr, chunks=None, res=1000.0):
    da = _grid(arr.shape, res).wrap(arr)
    return da.chunk({"y": chunks[0], "x": chunks[1]}) if chunks else da


def _row_area(shape):
    """km² per pixel growing by row: row r has area r + 1 (so areas differ from pixel counts)."""
    a = np.broadcast_to((np.arange(shape[0], dtype=float) + 1)[:, None], shape).copy()
    return a


@pytest.mark.parametrize("chunks", [None, (2, 3)])
def test_components_areas_and_connectivity(chunks):
    cond = _wrap(COND, chunks)
    area = cell_area(cond)  # 1 km² pixels
    assert float(area.max()) == pytest.approx(1.0)
    lab8, t8 = find_hotspots(cond, area=area, min_area_km2=0, connectivity=8)
    lab4, t4 = find_hotspots(cond, area=area, min_area_km2=0, connectivity=4)
    # 8-connectivity joins the diagonal pixel (2, 2) to the 2x2 block: 5 and 3 pixels
    assert list(t8["Pixels"]) == [5, 3]
    assert list(t8["Area (km²)"]) == pytest.approx([5.0, 3.0])
    # 4-connectivity keeps it apart: 4, 3, 1
    assert list(t4["Pixels"]) == [4, 3, 1]
    l8, l4 = np.asarray(lab8), np.asarray(lab4)
    assert lab8.dtype == np.int32 and l8[2, 2] == 1 and l8[0, 0] == 1 and l8[4, 2] == 2
    assert l4[2, 2] == 3 and l4[0, 0] == 1 and l4[4, 1] == 2
    assert (l8[COND != -1] == 0).all() and (l4[COND != -1] == 0).all()
    assert lab8.rio.crs == cond.rio.crs and np.array_equal(lab8.x, cond.x)
    assert lab8.attrs["connectivity"] == 8 and lab8.attrs["n_components"] == 2
    assert list(t8["Kind"]) == ["Hotspot", "Hotspot"] and t8.attrs["id"] == "SO1-4.T4"
    # brightspot: the L of 3 pixels
    labb, tb = find_hotspots(cond, kind="brightspot", area=area, min_area_km2=0)
    assert list(tb["Pixels"]) == [3] and tb.attrs["id"] == "SO1-4.T5"
    assert set(zip(*np.nonzero(np.asarray(labb)), strict=True)) == {(2, 5), (2, 6), (3, 5)}


def test_min_area_filter():
    cond = _wrap(COND)
    area = cell_area(cond)
    _, t = find_hotspots(cond, area=area, min_area_km2=4, connectivity=8)
    assert list(t["Pixels"]) == [5]
    lab, t = find_hotspots(cond, area=area, min_area_km2=4, connectivity=4)
    assert list(t["Pixels"]) == [4]  # 4 >= 4 is kept; 3 and 1 are dropped
    assert set(np.unique(np.asarray(lab))) == {0, 1}
    _, t = find_hotspots(cond, area=area, min_area_km2=5, connectivity=4)
    assert len(t) == 0 and list(t.columns)[:4] == ["Id", "Kind", "Area (km²)", "Pixels"]


@pytest.mark.parametrize("chunks", [None, (4, 5)])
def test_areas_from_area_layer_renumbering_and_centres(chunks):
    cond = _wrap(COND, chunks)
    area = cond.copy(data=_row_area(COND.shape)).astype(float)
    if chunks:
        area = area.chunk({"y": chunks[0], "x": chunks[1]})
    lab, t = find_hotspots(cond, area=area, min_area_km2=0, connectivity=8)
    # A: rows 0,0,1,1,2 -> 1+1+2+2+3 = 9 km²; B: three pixels of row 4 -> 15 km²: B is now id 1
    assert list(t["Area (km²)"]) == pytest.approx([15.0, 9.0])
    assert list(t["Pixels"]) == [3, 5]
    assert np.asarray(lab)[4, 1] == 1 and np.asarray(lab)[0, 0] == 2
    # area-weighted centroid of A, by hand from the pixel centres
    xs, ys = cond.x.values, cond.y.values
    pix = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2)]
    w = np.array([1, 1, 2, 2, 3], dtype=float)
    cx = sum(wi * xs[c] for wi, (_, c) in zip(w, pix, strict=True)) / w.sum()
    cy = sum(wi * ys[r] for wi, (r, _) in zip(w, pix, strict=True)) / w.sum()
    row = t[t["Id"] == 2].iloc[0]
    assert row["Centre x"] == pytest.approx(cx) and row["Centre y"] == pytest.approx(cy)
    # lon/lat of a projected grid, against pyproj directly
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(cx, cy)
    assert row["Longitude"] == pytest.approx(lon, abs=1e-9) and row["Latitude"] == pytest.approx(
        lat, abs=1e-9
    )
    assert -2 < lat < 0 and 38 < lon < 40


def test_ties_broken_by_first_pixel():
    a = np.zeros((4, 8), dtype=np.int16)
    a[1:3, 0] = -1  # 2 pixels, first pixel (1, 0)
    a[0, 5:7] = -1  # 2 pixels, first pixel (0, 5): comes first in row-major order
    a[3, 3:7] = -1  # 4 pixels: the largest
    cond = _wrap(a)
    lab, t = find_hotspots(cond, area=cell_area(cond), min_area_km2=0)
    lab = np.asarray(lab)
    assert list(t["Pixels"]) == [4, 2, 2]
    assert lab[3, 3] == 1 and lab[0, 5] == 2 and lab[1, 0] == 3


def test_dominant_attributes_and_names():
    cond = _wrap(COND)
    area = cond.copy(data=_row_area(COND.shape)).astype(float)
    lt = np.where(np.arange(8)[None, :] < 2, 10, 20) * np.ones((6, 1), dtype=np.int16)
    lt = lt.astype(np.int16)
    lt[4, 2] = N  # missing never wins; B: (4,1)=10 area 5, (4,2)=N area 5, (4,3)=20 area 5
    region = np.full(COND.shape, 3, dtype=np.int16)
    lab, t = find_hotspots(
        cond,
        area=area,
        min_area_km2=0,
        attributes={"Land type": _wrap(lt), "Region": _wrap(region).astype("float32")},
        attribute_names={"Land type": {10: "Ten", 20: "Twenty"}},
    )
    # id 1 = B (15 km²): 10 and 20 tie at 5 km² -> the smaller code; share 5/15
    b, a = t.iloc[0], t.iloc[1]
    assert b["Land type"] == "Ten" and b["Land type share (%)"] == pytest.approx(100 * 5 / 15)
    # id 2 = A (9 km²): code 10 covers 1+1+2+2 = 6 km², code 20 covers 3 km²
    assert a["Land type"] == "Ten" and a["Land type share (%)"] == pytest.approx(100 * 6 / 9)
    assert a["Region"] == "3" and a["Region share (%)"] == pytest.approx(100.0)


def _brute_density(c, target, window, thr):
    r = window // 2
    ny, nx = c.shape
    valid = np.isin(c, (-1, 0, 1))
    out = np.zeros(c.shape, dtype=np.uint8)
    for i in range(ny):
        for j in range(nx):
            if not valid[i, j]:
                continue
            win = (slice(max(0, i - r), i + r + 1), slice(max(0, j - r), j + r + 1))
            den = valid[win].sum()
            num = (c[win] == target).sum()
            out[i, j] = den > 0 and num >= thr * den
    return out


def test_density_hand_raster():
    # a ring of degraded pixels around a stable centre: the 3x3 window share fills the centre and keeps
    # the edge midpoints (5/9), drops the corners (3/9)
    a = np.zeros((7, 7), dtype=np.int16)
    a[2:5, 2:5] = -1
    a[3, 3] = 0
    cond = _wrap(a)
    m = np.asarray(density_mask(cond, window=3, density_threshold=0.5))
    assert set(zip(*np.nonzero(m), strict=True)) == {(2, 3), (3, 2), (3, 3), (3, 4), (4, 3)}
    lab, t = find_hotspots(cond, area=cell_area(cond), min_area_km2=0, method="density", window=3)
    assert list(t["Pixels"]) == [5] and lab.attrs["window"] == 3
    _, tc = find_hotspots(cond, area=cell_area(cond), min_area_km2=0, method="components")
    assert list(tc["Pixels"]) == [8]


def test_density_blockwise_matches_brute_force_and_scipy():
    rng = np.random.default_rng(3)
    a = rng.choice(np.array([-1, 0, 1, N], dtype=np.int16), size=(40, 50), p=[0.45, 0.35, 0.12, 0.08])
    a[:6, :] = -1  # a solid band crossing block borders
    cond = _wrap(a, chunks=(13, 17))
    ref = _brute_density(a, -1, 5, 0.6)
    m = density_mask(cond, window=5, density_threshold=0.6)
    assert m.chunks is not None  # lazy
    assert np.array_equal(np.asarray(m), ref)
    assert np.array_equal(np.asarray(density_mask(_wrap(a), window=5, density_threshold=0.6)), ref)
    lab, t = find_hotspots(
        cond, area=cell_area(cond), min_area_km2=0, method="density", window=5, density_threshold=0.6
    )
    lab = np.asarray(lab)
    ref_lab, n = ndi.label(ref, structure=np.ones((3, 3)))
    assert len(t) == n
    # same partition: every reference component maps to exactly one of ours, sizes agree
    assert sorted(np.bincount(ref_lab.ravel())[1:], reverse=True) == list(t["Pixels"])
    for k in range(1, n + 1):
        assert len(np.unique(lab[ref_lab == k])) == 1
    assert ((lab > 0) == (ref_lab > 0)).all()


def test_nan_condition_and_kind_layer():
    a = COND.astype("float32")
    a[a == N] = np.nan
    cond = _wrap(a)
    hot, _ = find_hotspots(cond, area=cell_area(cond), min_area_km2=0)
    bright, _ = find_hotspots(cond, kind="brightspot", area=cell_area(cond), min_area_km2=0)
    k = hotspot_kind_layer(hot, bright.chunk({"y": 3}))
    assert k.dtype == np.int16
    kv = np.asarray(k)
    assert (kv[COND == -1] == codes.HOTSPOT).all() and (kv[COND == 1] == codes.BRIGHTSPOT).all()
    assert (kv[(COND != -1) & (COND != 1)] == N).all()


def test_attach_drivers():
    cond = _wrap(COND)
    lab, t = find_hotspots(cond, area=cell_area(cond), min_area_km2=0)
    x_b, y_b = float(cond.x[2]), float(cond.y[4])  # inside B (id 2)
    recs = [
        DriverRecord(
            "extraction of mineral resources", "Well established", at=(x_b, y_b), remediation="Fence"
        ),
        DriverRecord("Climate change", "unresolved", sub_driver="extreme weather events", hotspot_id=1),
        DriverRecord("Land abandonment", "inconclusive", hotspot_id=1, kind="brightspot"),  # other table
        DriverRecord("Drought", "inconclusive", at=(X0 - 5000, Y0)),  # outside the grid
        DriverRecord("Wildfire", "unresolved", at=(float(cond.x[7]), float(cond.y[0]))),  # not a hotspot
    ]
    out = attach_drivers(t, lab, recs)
    assert out.loc[out["Id"] == 2, "Drivers"].item() == "Extraction of mineral resources"
    assert out.loc[out["Id"] == 2, "Confidence"].item() == "well established"
    assert out.loc[out["Id"] == 2, "Remediation actions"].item() == "Fence"
    assert out.loc[out["Id"] == 1, "Drivers"].item() == "Climate change — extreme weather events"
    assert out.attrs["unmatched_records"] == 3
    assert "Drivers" not in t.columns  # the input is not modified
    # a point given in lon/lat is reprojected to the grid CRS
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x_b, y_b)
    out2 = attach_drivers(t, lab, [DriverRecord("Drought", "unresolved", at=(lon, lat), crs="EPSG:4326")])
    assert out2.loc[out2["Id"] == 2, "Drivers"].item() == "Drought"


def test_bad_settings():
    cond = _wrap(COND)
    area = cell_area(cond)
    with pytest.raises(ConfigError, match="connectivity"):
        find_hotspots(cond, area=area, connectivity=6)
    with pytest.raises(ConfigError, match="method"):
        find_hotspots(cond, area=area, method="getis")
    with pytest.raises(ConfigError, match="brightspot"):
        find_hotspots(cond, area=area, kind="coldspot")
    with pytest.raises(ConfigError, match="window"):
        find_hotspots(cond, area=area, method="density", window=4)
    with pytest.raises(ConfigError, match="density_threshold"):
        find_hotspots(cond, area=area, method="density", density_threshold=0)
    stacked = xr.concat([cond, cond], dim="year")
    with pytest.raises(Exception, match="dims"):
        find_hotspots(stacked, area=area)
