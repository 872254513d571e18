"""SDG 15.3.1 indicator: One-Out-All-Out combination and status (methodology §1.2, §1.7).

Inputs and outputs are 3-class layers: -1 degraded, 0 stable, 1 improved, NODATA (-32768)
missing. Anything other than -1, 0 and 1 (including NaN) counts as missing.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ldnkit import codes

_D, _S, _I = codes.DEGRADED, codes.STABLE, codes.IMPROVED

# Status matrices, rows baseline, columns period, both ordered (degraded, stable, improved).
#: 3x3 status matrix (§1.7): baseline degraded + period stable stays degraded.
STATUS_MATRIX: tuple[tuple[int, ...], ...] = (
    (_D, _D, _I),
    (_D, _S, _I),
    (_D, _I, _I),
)
#: Expanded 7-class status matrix (GPG Addendum, codes of :data:`ldnkit.codes.STATUS_EXPANDED`).
STATUS_EXPANDED_MATRIX: tuple[tuple[int, ...], ...] = (
    (1, 3, 6),
    (2, 4, 6),
    (2, 5, 7),
)


def _three_class(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values as int, valid mask) of a 3-class block."""
    a = np.asarray(a)
    valid = (a == -1) | (a == 0) | (a == 1)  # False for NaN and NODATA
    return np.where(valid, a, 0).astype(np.int16), valid


def _finish(out: xr.DataArray, name: str, attrs: dict) -> xr.DataArray:
    out = out.rename(name)
    out.attrs = {**attrs, "_FillValue": codes.NODATA}
    return out


def int16_blockwise(func, *arrays, kwargs=None) -> xr.DataArray:
    """``func`` (numpy blocks in, int16 block out) over aligned layers, lazily, block by block."""
    return xr.apply_ufunc(
        func,
        *arrays,
        kwargs=kwargs or {},
        dask="parallelized",
        output_dtypes=[np.int16],
        keep_attrs="drop_conflicts",  # keeps the CRS attrs of spatial_ref
    )


def _oaoa_block(*layers):
    vals, valid = zip(*(_three_class(a) for a in layers), strict=True)
    any_deg = np.logical_or.reduce([v == _D for v in vals])
    any_imp = np.logical_or.reduce([v == _I for v in vals])
    out = np.where(any_deg, _D, np.where(any_imp, _I, _S)).astype(np.int16)
    out[~np.logical_and.reduce(valid)] = codes.NODATA
    return out


def one_out_all_out(productivity: xr.DataArray, land_cover: xr.DataArray, soc: xr.DataArray) -> xr.DataArray:
    """SDG 15.3.1 by One-Out-All-Out of the three sub-indicators (public API contract).

    Any sub-indicator degraded (-1) -> -1; else any improved (+1) -> +1; else 0. NODATA if any
    input is missing (Trends.Earth ``calc_deg_sdg``).

    Parameters
    ----------
    productivity, land_cover, soc : 3-class degradation layers (-1/0/1, NODATA missing).

    Returns
    -------
    int16 DataArray -1/0/1/NODATA.

    Example
    -------
    >>> sdg = one_out_all_out(prod_deg, lc_deg, soc_deg)
    """
    out = int16_blockwise(_oaoa_block, productivity, land_cover, soc)
    return _finish(
        out,
        "sdg_15_3_1",
        {"method": "one_out_all_out", "inputs": ["productivity", "land_cover", "soc"]},
    )


def _status_block(baseline, period, *, lut):
    b, bv = _three_class(baseline)
    p, pv = _three_class(period)
    out = lut[b + 1, p + 1].astype(np.int16)
    out[~(bv & pv)] = codes.NODATA
    return out


def status(baseline: xr.DataArray, period: xr.DataArray, expanded: bool = False) -> xr.DataArray:
    """Status of the land at the end of a period relative to the baseline (public API contract).

    Parameters
    ----------
    baseline : 3-class layer of the baseline (e.g. SDG 2000-2015).
    period : 3-class layer of the reporting period (e.g. SDG 2016-2023).
    expanded : False -> 3x3 status matrix (-1/0/1); True -> 7-class expanded matrix, codes
        1..7 of :data:`ldnkit.codes.STATUS_EXPANDED` (1 persistent degradation ... 7 persistent
        improvement).

    Returns
    -------
    int16 DataArray; NODATA where either input is missing. Baseline degraded and period
    stable stays degraded (3); baseline improved and period stable stays improved (5).

    Example
    -------
    >>> status(sdg_baseline, sdg_2023)              # -1 / 0 / 1
    >>> status(sdg_baseline, sdg_2023, expanded=True)  # 1..7
    """
    matrix = STATUS_EXPANDED_MATRIX if expanded else STATUS_MATRIX
    lut = np.asarray(matrix, dtype=np.int16)
    out = int16_blockwise(_status_block, baseline, period, kwargs={"lut": lut})
    attrs = {
        "method": "status_matrix_expanded" if expanded else "status_matrix",
        "matrix": [list(r) for r in matrix],
        "rows": "baseline -1/0/1",
        "columns": "period -1/0/1",
    }
    return _finish(out, "status_expanded" if expanded else "status", attrs)


def _collapse_block(a, *, lut):
    a = np.asarray(a)
    valid = (a >= 1) & (a <= 7)
    if a.dtype.kind == "f":
        valid &= a == np.round(a)
    idx = np.where(valid, a, 0).astype(np.intp)
    return np.where(valid, lut[idx], codes.NODATA).astype(np.int16)


def status_expanded_to_degradation(status7: xr.DataArray) -> xr.DataArray:
    """Collapse the 7-class status to 3 classes: 1-3 -> -1, 4 -> 0, 5-7 -> +1; else NODATA.

    Example
    -------
    >>> status_expanded_to_degradation(status(bl, period, expanded=True))
    """
    lut = np.zeros(8, dtype=np.int16)
    for code, value in codes.STATUS_EXPANDED_TO_DEGRADATION.items():
        lut[code] = value
    out = int16_blockwise(_collapse_block, status7, kwargs={"lut": lut})
    return _finish(out, "status", {"method": "status_expanded_to_degradation"})
