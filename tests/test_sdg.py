"""SDG 15.3.1: One-Out-All-Out and status matrices, every cell."""

from __future__ import annotations

import itertools

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from ldnkit.indicators.sdg import one_out_all_out, status, status_expanded_to_degradation

ND = -32768
D, S, I = -1, 0, 1  # noqa: E741  (degraded, stable, improved: keeps the tables readable)

# Methodology §1.7, written out: (baseline, period) -> status.
STATUS_3 = {
    (D, D): D,
    (D, S): D,
    (D, I): I,
    (S, D): D,
    (S, S): S,
    (S, I): I,
    (I, D): D,
    (I, S): I,
    (I, I): I,
}
STATUS_7 = {
    (D, D): 1,
    (D, S): 3,
    (D, I): 6,
    (S, D): 2,
    (S, S): 4,
    (S, I): 6,
    (I, D): 2,
    (I, S): 5,
    (I, I): 7,
}


def grid(values, chunks=None) -> xr.DataArray:
    values = np.asarray(values)
    ny, nx = values.shape
    arr = xr.DataArray(
        values, dims=("y", "x"), coords={"y": -np.arange(ny) * 1.0, "x": np.arange(nx) * 1.0}
    ).rio.write_crs("EPSG:4326")
    return arr.chunk(chunks) if chunks else arr


def oaoa_by_hand(p, lc, soc):
    vals = (p, lc, soc)
    if ND in vals:
        return ND
    if -1 in vals:
        return -1
    if 1 in vals:
        return 1
    return 0


@pytest.mark.parametrize("chunks", [None, {"x": 5}])
def test_one_out_all_out_all_combinations(chunks):
    combos = list(itertools.product([D, S, I, ND], repeat=3))  # 27 + every NODATA case
    p, lc, soc = (np.array([[c[k] for c in combos]], dtype=np.int16) for k in range(3))
    out = one_out_all_out(grid(p, chunks), grid(lc, chunks), grid(soc, chunks))
    if chunks:
        assert isinstance(out.data, da.Array)
    assert out.dtype == np.int16
    expected = [oaoa_by_hand(*c) for c in combos]
    np.testing.assert_array_equal(out.values[0], expected)
    assert out.attrs["method"] == "one_out_all_out"
    assert out.rio.crs.to_epsg() == 4326


def test_one_out_all_out_nan_float_input():
    p = grid(np.array([[-1.0, np.nan, 1.0]], dtype=np.float32))
    z = grid(np.zeros((1, 3), dtype=np.int16))
    np.testing.assert_array_equal(one_out_all_out(p, z, z).values, [[-1, ND, 1]])


@pytest.mark.parametrize("chunks", [None, {"x": 4}])
def test_status_3x3_every_cell(chunks):
    cells = list(STATUS_3) + [(ND, S), (S, ND), (ND, ND), (2, S)]
    b = np.array([[c[0] for c in cells]], dtype=np.int16)
    p = np.array([[c[1] for c in cells]], dtype=np.int16)
    out = status(grid(b, chunks), grid(p, chunks))
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out.values[0], list(STATUS_3.values()) + [ND] * 4)


@pytest.mark.parametrize("chunks", [None, {"x": 4}])
def test_status_expanded_every_cell_and_collapse(chunks):
    cells = list(STATUS_7) + [(ND, D), (I, ND)]
    b = np.array([[c[0] for c in cells]], dtype=np.int16)
    p = np.array([[c[1] for c in cells]], dtype=np.int16)
    out = status(grid(b, chunks), grid(p, chunks), expanded=True)
    np.testing.assert_array_equal(out.values[0], list(STATUS_7.values()) + [ND, ND])
    # collapsing the 7 classes gives the 3x3 matrix
    collapsed = status_expanded_to_degradation(out)
    np.testing.assert_array_equal(collapsed.values[0], list(STATUS_3.values()) + [ND, ND])


def test_collapse_codes():
    codes7 = grid(np.array([[1, 2, 3, 4, 5, 6, 7, 0, 8, ND]], dtype=np.int16))
    out = status_expanded_to_degradation(codes7).values[0]
    np.testing.assert_array_equal(out, [-1, -1, -1, 0, 1, 1, 1, ND, ND, ND])
