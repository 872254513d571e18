"""Land-cover sub-indicator: nesting, annual stack, transitions, transition-matrix degradation."""

from __future__ import annotations

import itertools
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from ldnkit import codes
from ldnkit.errors import ConfigError, PeriodError
from ldnkit.indicators.land_cover import (
    UNMAPPED,
    annual_land_cover,
    land_cover_degradation,
    land_cover_transition,
    nest_land_cover,
    unmapped_codes,
)

ND = -32768

# Methodology §1.4 default matrix written out by hand (rows initial, columns final):
# Tree, Grass, Crop, Wetland, Artificial, Other, Water.
D, S, I = -1, 0, 1  # noqa: E741  (degraded, stable, improved: keeps the tables readable)
METHODOLOGY_MATRIX = {
    1: (S, D, D, D, D, D, S),  # tree: veg loss, deforestation, inundation, deforestation, veg loss
    2: (I, S, I, D, D, D, S),  # grass: afforestation, agric expansion (+), inundation, urban, loss
    3: (I, D, S, D, D, D, S),  # crop: afforestation, withdrawal of agric (-), inundation, urban
    4: (D, D, D, S, D, D, S),  # wetland: woody encroachment, drainage x4
    5: (I, I, I, I, S, I, S),  # artificial: all improvements except to water
    6: (I, I, I, I, D, S, S),  # other land: improvements except urban expansion
    7: (S, S, S, S, S, S, S),  # water: all stable
}

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def grid(values, chunks=None, crs="EPSG:4326") -> xr.DataArray:
    values = np.asarray(values)
    ny, nx = values.shape[-2:]
    coords = {"y": 10.0 - np.arange(ny) * 0.1, "x": 20.0 + np.arange(nx) * 0.1}
    dims = ("y", "x")
    if values.ndim == 3:
        dims = ("year", "y", "x")
        coords["year"] = np.arange(2000, 2000 + values.shape[0])
    arr = xr.DataArray(values, dims=dims, coords=coords).rio.write_crs(crs)
    return arr.chunk(chunks) if chunks else arr


def all_pairs():
    pairs = list(itertools.product(range(1, 8), range(1, 8)))
    initial = np.array([p[0] for p in pairs], dtype=np.int16).reshape(7, 7)
    final = np.array([p[1] for p in pairs], dtype=np.int16).reshape(7, 7)
    return initial, final


# --- transition matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize("chunks", [None, {"y": 3, "x": 4}])
def test_default_matrix_all_49_cells(chunks):
    initial, final = all_pairs()
    out = land_cover_degradation(grid(initial, chunks), grid(final, chunks))
    assert out.dtype == np.int16
    got = out.values
    for i in range(1, 8):
        for f in range(1, 8):
            assert got[i - 1, f - 1] == METHODOLOGY_MATRIX[i][f - 1], (i, f)
    assert out.attrs["matrix"] == [list(METHODOLOGY_MATRIX[i]) for i in range(1, 8)]
    assert out.attrs["matrix_is_default"] is True
    assert out.rio.crs.to_epsg() == 4326


def test_nodata_and_out_of_range_classes():
    initial = np.array([[1, ND, 0, 3, UNMAPPED, 8]], dtype=np.int16)
    final = np.array([[3, 3, 3, ND, 1, 1]], dtype=np.int16)
    out = land_cover_degradation(grid(initial), grid(final)).values
    np.testing.assert_array_equal(out, [[-1, ND, ND, ND, ND, ND]])


def test_float_input_with_nan_is_missing():
    initial = np.array([[1.0, np.nan]], dtype=np.float32)
    final = np.array([[2.0, 2.0]], dtype=np.float32)
    out = land_cover_degradation(grid(initial), grid(final)).values
    np.testing.assert_array_equal(out, [[-1, ND]])


def test_custom_matrix_used():
    initial, final = all_pairs()
    custom = np.zeros((7, 7), dtype=int)
    custom[0, 2] = 1  # tree -> cropland deemed improvement
    out = land_cover_degradation(grid(initial), grid(final), matrix=custom).values
    assert out[0, 2] == 1
    assert (out != 0).sum() == 1


@pytest.mark.parametrize(
    "bad",
    [np.zeros((6, 7)), np.full((7, 7), 2), [[0] * 7] * 6 + [[0] * 6 + ["x"]]],
)
def test_bad_matrix_is_config_error(bad):
    initial, final = all_pairs()
    with pytest.raises(ConfigError, match="methods.land_cover.matrix"):
        land_cover_degradation(grid(initial), grid(final), matrix=bad)


@pytest.mark.parametrize("chunks", [None, {"y": 2, "x": 3}])
def test_regional_matrices_by_region_id(chunks):
    # 4x4: every pixel tree -> cropland (default -1). Regions 10 (left half) and 20 (top right)
    # have their own matrices; region 30 and nodata use the national matrix.
    initial = np.full((4, 4), 1, dtype=np.int16)
    final = np.full((4, 4), 3, dtype=np.int16)
    regions = np.array(
        [[10, 10, 20, 20], [10, 10, 20, 20], [10, 10, 30, 30], [10, 10, ND, ND]], dtype=np.int16
    )
    m10 = np.zeros((7, 7), dtype=int)
    m10[0, 2] = 1
    m20 = np.zeros((7, 7), dtype=int)  # tree -> crop stable
    out = land_cover_degradation(
        grid(initial, chunks),
        grid(final, chunks),
        regions=grid(regions, chunks),
        regional_matrices={10: m10, 20: m20},
    )
    expected = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, -1, -1], [1, 1, -1, -1]])
    np.testing.assert_array_equal(out.values, expected)
    assert set(out.attrs["regional_matrices"]) == {"10", "20"}


def test_regional_matrix_limits():
    initial, final = all_pairs()
    regions = grid(np.ones((7, 7), dtype=np.int16))
    six = {k: np.zeros((7, 7)) for k in range(6)}
    with pytest.raises(ConfigError, match="at most 5"):
        land_cover_degradation(grid(initial), grid(final), regions=regions, regional_matrices=six)
    with pytest.raises(ConfigError, match="regional_matrices.3"):
        land_cover_degradation(
            grid(initial), grid(final), regions=regions, regional_matrices={3: np.ones((7, 6))}
        )
    with pytest.raises(ConfigError, match="regions"):
        land_cover_degradation(grid(initial), grid(final), regional_matrices={1: np.zeros((7, 7))})


# --- transitions ---------------------------------------------------------------------------------


def test_transition_codes():
    initial, final = all_pairs()
    out = land_cover_transition(grid(initial), grid(final))
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out.values, initial * 10 + final)
    bad = land_cover_transition(
        grid(np.array([[ND, 2, 0, 2]], dtype=np.int16)),
        grid(np.array([[1, ND, 1, -1]], dtype=np.int16)),
    ).values
    np.testing.assert_array_equal(bad, [[ND, ND, ND, ND]])


# --- nesting -------------------------------------------------------------------------------------

# ESA CCI samples from the methodology §1.4 table (150 -> grassland as in Trends.Earth).
ESA_SAMPLES = {
    10: 3,
    11: 3,
    12: 3,
    20: 3,
    30: 3,
    40: 3,
    50: 1,
    62: 1,
    72: 1,
    82: 1,
    90: 1,
    100: 1,
    110: 2,
    120: 2,
    122: 2,
    130: 2,
    140: 2,
    150: 2,
    153: 2,
    160: 4,
    170: 4,
    180: 4,
    190: 5,
    200: 6,
    201: 6,
    202: 6,
    220: 6,
    210: 7,
}
# MODIS IGBP collection 5.1 (water = 0), per the shared-data README nesting.
MODIS_SAMPLES = {
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


@pytest.mark.parametrize("chunks", [None, {"y": 1, "x": 5}])
def test_esa_cci_nesting(chunks):
    raw = np.array([list(ESA_SAMPLES) + [0, 255, 230]], dtype=np.uint16)
    out = nest_land_cover(grid(raw, chunks), codes.ESA_CCI_NESTING, nodata_values=[0])
    assert out.dtype == np.int16
    expected = list(ESA_SAMPLES.values()) + [ND, UNMAPPED, UNMAPPED]
    np.testing.assert_array_equal(out.values[0], expected)
    assert unmapped_codes(grid(raw, chunks), codes.ESA_CCI_NESTING, nodata_values=[0]) == [
        230,
        255,
    ]


def test_modis_nesting_and_float_nan():
    raw = np.array([list(MODIS_SAMPLES) + [np.nan, 255.0, 12.5]], dtype=np.float32)
    out = nest_land_cover(grid(raw), codes.MODIS_IGBP_NESTING, nodata_values=[255])
    expected = list(MODIS_SAMPLES.values()) + [ND, ND, UNMAPPED]
    np.testing.assert_array_equal(out.values[0], expected)
    assert unmapped_codes(grid(raw), codes.MODIS_IGBP_NESTING, nodata_values=[255]) == [12.5]


def test_nesting_negative_and_large_codes_and_encoded_nodata():
    raw = np.array([[-5, 65535, 7, 9, 3]], dtype=np.int32)
    nesting = {1: [-5], 2: [65535], 7: [7]}
    arr = grid(raw).rio.write_nodata(9)
    out = nest_land_cover(arr, nesting).values
    np.testing.assert_array_equal(out, [[1, 2, 7, ND, UNMAPPED]])
    assert unmapped_codes(arr, nesting) == [3]


def test_bad_nesting():
    raw = grid(np.ones((2, 2), dtype=np.int16))
    with pytest.raises(ConfigError, match="more than one class"):
        nest_land_cover(raw, {1: [5], 2: [5]})
    with pytest.raises(ConfigError, match="not a UNCCD"):
        nest_land_cover(raw, {8: [5]})


def test_nesting_lazy_equals_numpy():
    rng = np.random.default_rng(1)
    raw = rng.choice([0, 10, 50, 110, 160, 190, 200, 210, 255], size=(40, 30)).astype(np.uint8)
    lazy = nest_land_cover(grid(raw, {"y": 16, "x": 7}), codes.ESA_CCI_NESTING, [0])
    assert isinstance(lazy.data, da.Array)
    eager = nest_land_cover(grid(raw), codes.ESA_CCI_NESTING, [0])
    np.testing.assert_array_equal(lazy.values, eager.values)
    assert lazy.rio.crs.to_epsg() == 4326 and eager.rio.crs.to_epsg() == 4326


@pytest.mark.skipif(not (SHARED / "buffalo_ny_modis").exists(), reason="../shared/data absent")
def test_real_modis_buffalo_nesting():
    path = SHARED / "buffalo_ny_modis" / "mcd12q1_lc_type1_2001-2013_derived.tif"
    raw = rioxarray.open_rasterio(path, chunks={"x": 40, "y": 40}).isel(band=0, drop=True)
    assert unmapped_codes(raw, codes.MODIS_IGBP_NESTING) == []  # 255 is the encoded nodata
    lc = nest_land_cover(raw, codes.MODIS_IGBP_NESTING).values
    # class counts from the dataset README (2001): urban 13 = 1937, water 0 = 447, crop 12+14
    assert (lc == 5).sum() == 1937
    assert (lc == 7).sum() == 447
    assert (lc == 3).sum() == 596 + 2265
    assert (lc == ND).sum() == (raw.values == 255).sum()


# --- annual stack --------------------------------------------------------------------------------


def test_annual_carry_forward_lazy():
    m2000 = grid(np.full((3, 4), 1, dtype=np.int16), {"y": 2, "x": 2})
    m2005 = grid(np.full((3, 4), 3, dtype=np.int16), {"y": 2, "x": 2})
    out = annual_land_cover({2005: m2005, 2000: m2000}, range(2000, 2008))
    assert out.dims == ("year", "y", "x")
    assert isinstance(out.data, da.Array)
    assert out["year"].values.tolist() == list(range(2000, 2008))
    assert out.attrs["source_year"] == [2000] * 5 + [2005] * 3
    np.testing.assert_array_equal(out.values[:, 0, 0], [1] * 5 + [3] * 3)
    assert out.rio.crs.to_epsg() == 4326


def test_annual_year_before_first_map():
    m2001 = grid(np.ones((2, 2), dtype=np.int16))
    with pytest.raises(PeriodError, match="2000"):
        annual_land_cover({2001: m2001}, [2000, 2001])


def test_annual_maps_on_different_grids():
    from ldnkit.errors import GridError

    a = grid(np.ones((3, 4), dtype=np.int16))
    b = a.assign_coords(x=a.x + 0.05)
    with pytest.raises(GridError, match="same grid"):
        annual_land_cover({2000: a, 2001: b}, [2000, 2001])


def test_regional_matrices_from_rasterized_polygons():
    from rasterio.features import rasterize
    from shapely.geometry import box

    # 6x6 grid of 0.1° pixels; region 1 = west half polygon, region 2 = north-east quarter
    lc0 = grid(np.full((6, 6), 2, dtype=np.int16))  # grassland -> cropland: default +1
    lc1 = grid(np.full((6, 6), 3, dtype=np.int16))
    west = box(19.95, 9.45, 20.25, 10.05)
    north_east = box(20.25, 9.75, 20.55, 10.05)
    regions = rasterize(
        [(west, 1), (north_east, 2)],
        out_shape=(6, 6),
        transform=lc0.rio.transform(),
        fill=ND,
        dtype="int16",
    )
    m1 = np.asarray(codes.DEFAULT_TRANSITION_MATRIX).copy()
    m1[1, 2] = -1  # region 1 counts agricultural expansion as degradation
    m2 = np.asarray(codes.DEFAULT_TRANSITION_MATRIX).copy()
    m2[1, 2] = 0
    out = land_cover_degradation(
        lc0, lc1, regions=grid(regions, {"y": 4, "x": 4}), regional_matrices={1: m1, 2: m2}
    ).values
    expected = np.ones((6, 6), dtype=int)
    expected[:, :3] = -1
    expected[:3, 3:] = 0
    np.testing.assert_array_equal(out, expected)
