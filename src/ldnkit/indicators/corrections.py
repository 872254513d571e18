"""False positive / false negative corrections of the SDG 15.3.1 indicator (methodology §1.9; PRAIS SO1-4.T3).

A **false positive** is land the indicator says is not degraded although it is (e.g. woody-weed invasion
raising productivity): inside its polygon, stable (0) and improved (1) pixels become degraded (-1). A
**false negative** is land the indicator says is degraded although it is not (e.g. removal of invasive
woody plants): inside its polygon, degraded (-1) pixels become ``recode_to`` (0 stable by default, or 1
improved). Degraded pixels under a false positive, stable/improved pixels under a false negative and
missing pixels (NODATA) are left unchanged. A correction applies to the periods it names, or to every
period when its periods are ``("all",)``.

Corrections come as polygons (:func:`ldnkit.io.records.read_corrections`, records of type
:class:`ldnkit.records.Correction`) rasterized to an int16 raster of correction ids
(:func:`ldnkit.io.records.rasterize_corrections`, NODATA = no correction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.crosstab import CrosstabRequest, compute_crosstabs
from ldnkit.records import Correction

__all__ = ["recode", "correction_table", "applies"]

_NO_ACTION = 2  # look-up value meaning "this id is not a false negative applying to the period"


def applies(c: Correction, period: str) -> bool:
    """True when correction ``c`` applies to ``period`` (named, or periods ``"all"``)."""
    return "all" in c.periods or period in c.periods


def _recode_block(sdg: np.ndarray, ids: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    s = np.asarray(sdg)
    valid = (s == -1) | (s == 0) | (s == 1)
    out = np.where(valid, s, codes.NODATA).astype(np.int16)
    ids = np.asarray(ids)
    if np.issubdtype(ids.dtype, np.floating):
        ids = np.where(np.isfinite(ids), ids, codes.NODATA)
    # NODATA -> index 0, which is never a correction (ids are 1..32767)
    idx = np.clip(ids.astype(np.int64) + 32768, 0, 65535)
    is_fp = fp[idx]
    to = fn[idx]
    out = np.where(is_fp & ((out == 0) | (out == 1)), np.int16(codes.DEGRADED), out)
    out = np.where((to != _NO_ACTION) & (out == -1) & ~is_fp, to, out)
    return out.astype(np.int16)


def recode(
    sdg: xr.DataArray,
    corrections_raster: xr.DataArray,
    corrections: Sequence[Correction],
    period: str,
) -> xr.DataArray:
    """Apply false positive / negative corrections to a 3-class layer for one period (public API).

    Parameters
    ----------
    sdg : 3-class layer (-1/0/1; NODATA or NaN missing; any other value is treated as missing).
    corrections_raster : int16 correction id per pixel (NODATA: no correction), same grid.
    corrections : the correction records; ids in the raster without a record are ignored.
    period : the period of ``sdg``; only corrections whose periods include it (or "all") apply.

    Returns
    -------
    int16 layer: false positive pixels 0/1 -> -1; false negative pixels -1 -> recode_to (0 default, or
    1); everything else unchanged (NODATA stays NODATA). attrs record the period and the ids applied.

    Example
    -------
    >>> fixed = recode(sdg, ids, corrections, "2016-2023")                # doctest: +SKIP
    >>> fixed.attrs["false_positive_ids"]                                 # doctest: +SKIP
    [1]
    """
    fp = np.zeros(65536, dtype=bool)
    fn = np.full(65536, _NO_ACTION, dtype=np.int16)
    used_fp, used_fn = [], []
    for c in corrections:
        if not applies(c, period):
            continue
        i = int(c.id) + 32768
        if c.type == codes.FALSE_POSITIVE:
            fp[i] = True
            used_fp.append(int(c.id))
        else:
            fn[i] = c.target
            used_fn.append(int(c.id))
    out = xr.apply_ufunc(
        _recode_block,
        sdg,
        corrections_raster,
        kwargs={"fp": fp, "fn": fn},
        dask="parallelized",
        output_dtypes=[np.int16],
        keep_attrs="drop_conflicts",
    )
    out = out.rename(sdg.name if sdg.name is not None else "sdg")
    out.attrs = {
        **{k: v for k, v in sdg.attrs.items() if k != "_FillValue"},
        "corrected": True,
        "correction_method": "false_positive_negative_recode",
        "correction_period": str(period),
        "false_positive_ids": sorted(used_fp),
        "false_negative_ids": sorted(used_fn),
        "correction_rule": "false positive: 0/1 -> -1; false negative: -1 -> recode_to (default 0)",
        "_FillValue": codes.NODATA,
    }
    return out


def _changed(before: xr.DataArray, after: xr.DataArray) -> xr.DataArray:
    b = before.fillna(codes.NODATA) if np.issubdtype(before.dtype, np.floating) else before
    a = after.fillna(codes.NODATA) if np.issubdtype(after.dtype, np.floating) else after
    return xr.where(b != a, np.int16(1), np.int16(0)).astype(np.int16)


def correction_table(
    corrections: Sequence[Correction],
    corrections_raster: xr.DataArray | Mapping[str, xr.DataArray],
    sdg_before: Mapping[str, xr.DataArray],
    sdg_after: Mapping[str, xr.DataArray],
    area: xr.DataArray,
) -> pd.DataFrame:
    """PRAIS SO1-4.T3-like table of the corrections, with the area each one recoded (one dask pass).

    Columns: "Id", "Location", "Type", "Process", "Basis for judgement", "Period(s)", "Start",
    "Polygon area (km²)" (area of the pixels carrying the id on the grid), then per period of
    ``sdg_before`` "Recoded <period> (km²)" (area of the id's pixels whose value changed).
    ``corrections_raster`` is one raster for every period, or period -> raster (when rasterized per
    period, see :func:`ldnkit.io.records.rasterize_corrections`); the polygon area then comes from the
    raster of the first period the correction applies to. Areas are km², not rounded.

    Example
    -------
    >>> t3 = correction_table(corrs, ids, {"baseline": sdg0}, {"baseline": sdg0_fixed}, area)
    ...                                                                  # doctest: +SKIP
    """
    periods = list(sdg_before)
    if isinstance(corrections_raster, xr.DataArray):
        rasters = {p: corrections_raster for p in periods}
        base = {None: corrections_raster}
    else:
        rasters = {p: corrections_raster[p] for p in periods}
        base = {p: corrections_raster[p] for p in periods}
    requests = {}
    for key, r in base.items():
        requests[f"poly|{key}"] = CrosstabRequest({"id": r}, area)
    for p in periods:
        requests[f"rec|{p}"] = CrosstabRequest(
            {"id": rasters[p], "changed": _changed(sdg_before[p], sdg_after[p])}, area
        )
    ct = compute_crosstabs(requests)

    def area_by_id(df: pd.DataFrame) -> dict[int, float]:
        return df.groupby("id")["area"].sum().to_dict() if len(df) else {}

    rows = []
    for c in corrections:
        if None in base:
            poly = area_by_id(ct["poly|None"]).get(int(c.id), 0.0)
        else:
            first = next((p for p in periods if applies(c, p)), periods[0] if periods else None)
            poly = area_by_id(ct[f"poly|{first}"]).get(int(c.id), 0.0) if first is not None else 0.0
        row = {
            "Id": int(c.id),
            "Location": c.place_name,
            "Type": c.type.capitalize(),
            "Process": c.process,
            "Basis for judgement": c.basis,
            "Period(s)": ", ".join(c.periods),
            "Start": c.start,
            "Polygon area (km²)": float(poly),
        }
        for p in periods:
            df = ct[f"rec|{p}"]
            row[f"Recoded {p} (km²)"] = float(df.loc[(df["id"] == c.id) & (df["changed"] == 1), "area"].sum())
        rows.append(row)
    cols = [
        "Id",
        "Location",
        "Type",
        "Process",
        "Basis for judgement",
        "Period(s)",
        "Start",
        "Polygon area (km²)",
    ]
    cols += [f"Recoded {p} (km²)" for p in periods]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs["title"] = "False positives and false negatives (recoded areas)"
    out.attrs["id"] = "SO1-4.T3"
    return out
