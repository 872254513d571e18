"""LDN neutrality accounting: gains/losses, the balance sheet, the response hierarchy, planning.

Methodology §2 (LDN Scientific Conceptual Framework, Orr et al. 2017, Cowie et al. 2018) and the
GPG Addendum counterbalancing (Trends.Earth ``counterbalancing``):

* Each pixel (land unit) of the 7-class expanded status (:data:`ldnkit.codes.STATUS_EXPANDED`) is a
  **loss** (1 persistent, 2 recent degradation), a **gain** (6 recent, 7 persistent improvement) or
  **neutral** (3 baseline degradation, 4 stability, 5 baseline improvement).
* Per land type *i*: ΔLDN_i = area(gains_i) − area(losses_i) (km²); LDN is achieved in land type *i*
  iff ΔLDN_i ≥ 0; ``ldn_pct`` = ΔLDN_i / total_i × 100.
* Counterbalancing is like for like: losses in one land type cannot be offset by gains in another,
  so a scope (the area of interest, a region) achieves LDN only if EVERY land type of it does.

Area tables come from :func:`ldnkit.crosstab.crosstab` (one dask pass, block by block, memory
bounded by the chunk size). Areas are km² (float, not rounded).
"""

from __future__ import annotations

from collections.abc import Mapping

import dask
import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.codes import AOI_SCOPE
from ldnkit.crosstab import crosstab
from ldnkit.errors import ConfigError, InputError
from ldnkit.indicators.sdg import int16_blockwise

NODATA = codes.NODATA
ALL_LAND_TYPES = "All land types"

# Column names shared with ldnkit.tables.neutrality (targets read the balance sheet by them).
SCOPE = "Scope"
LAND_TYPE = "Land type"
LAND_TYPE_NAME = "Land type name"
GAINS = "Gains (km²)"
LOSSES = "Losses (km²)"
NEUTRAL = "Neutral (km²)"
TOTAL = "Total (km²)"
DELTA = "ΔLDN (km²)"
DELTA_PCT = "ΔLDN (% of land type)"
ACHIEVED = "LDN achieved"

STATUS7_CODES: tuple[int, ...] = codes.STATUS_EXPANDED.codes
#: 7-class status codes counted as degraded (reverse; no planned gains elsewhere).
STATUS7_DEGRADED: tuple[int, ...] = tuple(
    k for k, v in codes.STATUS_EXPANDED_TO_DEGRADATION.items() if v == codes.DEGRADED
)
STATUS7_NOT_DEGRADED: tuple[int, ...] = tuple(c for c in STATUS7_CODES if c not in STATUS7_DEGRADED)
#: Status 2, "recent degradation": the new degradation of the period (business-as-usual rate).
RECENT_DEGRADATION = 2

TITLE_BALANCE = "LDN balance sheet: gains and losses per land type (km²)"
TITLE_RESPONSE = "Response hierarchy: avoid / reduce / reverse area per land type (km²)"
TITLE_PROJECTED = "Projected LDN balance sheet per land type (km²)"


# --- gains / losses map --------------------------------------------------------------------------


def _gains_losses_lut() -> np.ndarray:
    lut = np.full(8, NODATA, dtype=np.int16)
    for c in STATUS7_CODES:
        lut[c] = codes.NO_NET_CHANGE
    for c in codes.STATUS_EXPANDED_GAINS:
        lut[c] = codes.GAIN
    for c in codes.STATUS_EXPANDED_LOSSES:
        lut[c] = codes.LOSS
    return lut


def _lookup_block(a: np.ndarray, *, lut: np.ndarray) -> np.ndarray:
    """``lut[a]`` for codes 0..len(lut)-1, NODATA for anything else (NaN, NODATA, other codes)."""
    a = np.asarray(a)
    valid = (a >= 0) & (a < lut.size)
    if a.dtype.kind == "f":
        valid &= a == np.round(a)  # False for NaN too
    idx = np.where(valid, a, 0).astype(np.intp)
    return np.where(valid, lut[idx], NODATA).astype(np.int16)


def gains_losses(status_expanded: xr.DataArray) -> xr.DataArray:
    """Gains/losses map of the neutrality balance (GPG Addendum counterbalancing).

    Parameters
    ----------
    status_expanded : int16 7-class expanded status (codes 1..7 of
        :data:`ldnkit.codes.STATUS_EXPANDED`), NODATA (or NaN) missing.

    Returns
    -------
    int16 DataArray of :data:`ldnkit.codes.GAINS_LOSSES`: 1 gain (status 6, 7), -1 loss (1, 2),
    0 no change (3, 4, 5), NODATA elsewhere (missing or any other code). Lazy on dask arrays.

    Example
    -------
    >>> gl = gains_losses(status(sdg_baseline, sdg_2023, expanded=True))   # doctest: +SKIP
    >>> float(cell_area(gl).where(gl == 1).sum())                         # gains, km²  # doctest: +SKIP
    """
    out = int16_blockwise(_lookup_block, status_expanded, kwargs={"lut": _gains_losses_lut()})
    out = out.rename("gains_losses")
    out.attrs = {
        "method": "gains_losses",
        "gains": list(codes.STATUS_EXPANDED_GAINS),
        "losses": list(codes.STATUS_EXPANDED_LOSSES),
        "no_change": [
            c for c in STATUS7_CODES if c not in (*codes.STATUS_EXPANDED_GAINS, *codes.STATUS_EXPANDED_LOSSES)
        ],
        "legend": {str(k): v for k, v in codes.GAINS_LOSSES.as_dict().items()},
        "_FillValue": NODATA,
    }
    return out


# --- shared helpers for the area tables ---------------------------------------------------------


def _area_of(template: xr.DataArray, area: xr.DataArray | None) -> xr.DataArray:
    return cell_area(template) if area is None else area


def _check_status7(ct: pd.DataFrame, where: str = "status") -> None:
    """InputError if the status cross-tabulation holds codes other than 1..7 and NODATA."""
    present = {int(v) for v in ct["status"].unique()}
    bad = sorted(present - set(STATUS7_CODES) - {NODATA})
    if bad:
        raise InputError(
            where,
            f"holds codes {bad} that are not 7-class expanded status codes (1..7)",
            "pass the expanded status (ldnkit.indicators.sdg.status(..., expanded=True)), NODATA missing",
        )


def _name_of(names: Mapping[int, str] | None, code: int, prefix: str) -> str:
    if names and code in names:
        return str(names[code])
    return f"{prefix} {code}"


def _scopes(df: pd.DataFrame, region_names: Mapping[int, str] | None) -> list[tuple[str, pd.DataFrame]]:
    """(scope name, rows) for the area of interest, then each region present (sorted by id)."""
    out = [(AOI_SCOPE, df)]
    if "region" in df.columns:
        for rid in sorted(int(r) for r in df["region"].unique() if r != NODATA):
            out.append((_name_of(region_names, rid, "Region"), df[df["region"] == rid]))
    return out


def _keys(status: xr.DataArray, land_types: xr.DataArray, regions: xr.DataArray | None) -> dict:
    keys = {"status": status, "land_type": land_types}
    if regions is not None:
        keys["region"] = regions
    return keys


def _frame(rows: list[dict], columns: list[str], title: str, **attrs) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    df.attrs = {"title": title, "area_unit": "km2", **attrs}
    return df


# --- balance sheet ---------------------------------------------------------------------------------


def neutrality(
    status: xr.DataArray,
    land_types: xr.DataArray,
    *,
    area: xr.DataArray | None = None,
    regions: xr.DataArray | None = None,
    region_names: Mapping[int, str] | None = None,
    land_type_names: Mapping[int, str] | None = None,
    scheduler=None,
) -> pd.DataFrame:
    """The LDN balance sheet: gains, losses and ΔLDN per land type and scope (SCF; GPG Addendum).

    Parameters
    ----------
    status : int16 7-class expanded status (1..7, NODATA missing). Any other code (e.g. a 3-class
        status -1/0/1) raises :class:`~ldnkit.errors.InputError`.
    land_types : int16 land-type id per pixel (NODATA outside every land type), same grid.
    area : km² per pixel (default :func:`ldnkit.area.cell_area` of ``status``).
    regions : optional int16 region id per pixel (NODATA outside every region).
    region_names, land_type_names : id -> name (default "Region <id>", "Land type <id>").
    scheduler : passed to ``dask.compute``.

    Returns
    -------
    DataFrame, one row per (scope, land type) present, scopes "Area of interest" then each region
    (by id): "Scope", "Land type" (id), "Land type name", "Gains (km²)" (status 6, 7), "Losses (km²)"
    (status 1, 2), "Neutral (km²)" (3, 4, 5), "Total (km²)", "ΔLDN (km²)" = gains − losses,
    "ΔLDN (% of land type)" = ΔLDN / total × 100, "LDN achieved" = ΔLDN ≥ 0. After the land types
    of each scope, a row "Land type" = "All land types" with the sums, whose "LDN achieved" is True
    only if EVERY land type of the scope achieved it (no offsetting across land types), even when
    the summed ΔLDN is positive. Pixels whose status or land type is NODATA are left out;
    ``attrs["excluded_km2"]`` is their area in the area of interest, not counting pixels where
    both are NODATA (outside the area of interest); ``attrs["excluded_km2_by_scope"]`` per scope;
    ``attrs["verdict"]`` = {scope: LDN achieved}. One dask pass over the inputs.

    Example
    -------
    >>> st7 = status(sdg_baseline, sdg_2023, expanded=True)            # doctest: +SKIP
    >>> bs = neutrality(st7, land_types(layers).layer, area=cell_area(st7))  # doctest: +SKIP
    >>> bs[bs["Land type"] == "All land types"][["Scope", "ΔLDN (km²)", "LDN achieved"]]  # doctest: +SKIP
    """
    ct = crosstab(_keys(status, land_types, regions), _area_of(status, area), scheduler=scheduler)
    _check_status7(ct)
    s_nd, lt_nd = ct["status"] == NODATA, ct["land_type"] == NODATA
    valid = ct[~s_nd & ~lt_nd]
    partial = ct[s_nd ^ lt_nd]  # inside the area of interest, one layer missing
    gain = valid["status"].isin(codes.STATUS_EXPANDED_GAINS)
    loss = valid["status"].isin(codes.STATUS_EXPANDED_LOSSES)
    valid = valid.assign(
        gain=np.where(gain, valid["area"], 0.0),
        loss=np.where(loss, valid["area"], 0.0),
        neutral=np.where(~gain & ~loss, valid["area"], 0.0),
    )
    rows: list[dict] = []
    verdict: dict[str, bool] = {}
    for scope, sub in _scopes(valid, region_names):
        by = sub.groupby("land_type")[["gain", "loss", "neutral", "area"]].sum().sort_index()
        scope_rows = []
        for lt, r in by.iterrows():
            scope_rows.append(
                _balance_row(
                    scope,
                    int(lt),
                    _name_of(land_type_names, int(lt), "Land type"),
                    r["gain"],
                    r["loss"],
                    r["neutral"],
                    r["area"],
                )
            )
        tot = by.sum()
        all_row = _balance_row(
            scope, ALL_LAND_TYPES, ALL_LAND_TYPES, tot["gain"], tot["loss"], tot["neutral"], tot["area"]
        )
        # No offsetting across land types: the scope achieves LDN only if each land type does.
        all_row[ACHIEVED] = bool(scope_rows) and all(r[ACHIEVED] for r in scope_rows)
        verdict[scope] = all_row[ACHIEVED]
        rows += [*scope_rows, all_row]
    excluded = dict.fromkeys(verdict, 0.0)
    for scope, sub in _scopes(partial, region_names):
        excluded[scope] = float(sub["area"].sum())
    cols = [SCOPE, LAND_TYPE, LAND_TYPE_NAME, GAINS, LOSSES, NEUTRAL, TOTAL, DELTA, DELTA_PCT, ACHIEVED]
    return _frame(
        rows,
        cols,
        TITLE_BALANCE,
        method="neutrality_counterbalancing",
        gains=list(codes.STATUS_EXPANDED_GAINS),
        losses=list(codes.STATUS_EXPANDED_LOSSES),
        rule="delta_ldn = gains - losses >= 0 in every land type",
        excluded_km2=excluded[AOI_SCOPE],
        excluded_km2_by_scope=excluded,
        verdict=verdict,
    )


def _balance_row(scope, lt, name, gain, loss, neutral, total) -> dict:
    delta = float(gain) - float(loss)
    return {
        SCOPE: scope,
        LAND_TYPE: lt,
        LAND_TYPE_NAME: name,
        GAINS: float(gain),
        LOSSES: float(loss),
        NEUTRAL: float(neutral),
        TOTAL: float(total),
        DELTA: delta,
        DELTA_PCT: delta / float(total) * 100.0 if total > 0 else float("nan"),
        ACHIEVED: bool(delta >= 0),
    }


# --- response hierarchy --------------------------------------------------------------------------


def _infer_status_classes(status: xr.DataArray) -> int:
    """3 or 7: from the attrs/name written by ldnkit.indicators.sdg.status, else from the codes."""
    method = status.attrs.get("method", "")
    if method == "status_matrix_expanded" or status.name == "status_expanded":
        return 7
    if method in ("status_matrix", "status_expanded_to_degradation"):
        return 3
    low = ((status == codes.DEGRADED) | (status == codes.STABLE)).any().data
    high = ((status >= 2) & (status <= 7)).any().data
    low, high = (bool(v) for v in dask.compute(low, high))  # one pass over the status
    if low and not high:
        return 3
    if high and not low:
        return 7
    what = "mixes 3-class (-1, 0) and 7-class (2..7) codes" if low else "holds only code 1 (ambiguous)"
    raise InputError(
        str(status.name or "status"),
        f"{what}; cannot tell a 3-class from a 7-class status",
        "pass status_classes=3 or status_classes=7",
    )


def _response_block(status, lpd, *risk, degraded, not_degraded, threshold):
    s = np.asarray(status)
    sv = np.where(np.isfinite(s), s, NODATA) if s.dtype.kind == "f" else s
    deg = np.isin(sv, degraded)
    ok = np.isin(sv, not_degraded)
    at_risk = np.asarray(lpd) == codes.STABLE_STRESSED  # NaN/NODATA LPD: no stress signal
    if risk:
        r = np.asarray(risk[0], dtype=np.float64)
        if np.asarray(risk[0]).dtype.kind in "iu":
            r = np.where(np.asarray(risk[0]) == NODATA, np.nan, r)
        with np.errstate(invalid="ignore"):
            at_risk = at_risk | (r > threshold)  # NaN compares False
    out = np.full(s.shape, NODATA, dtype=np.int16)
    out[ok] = codes.AVOID
    out[ok & at_risk] = codes.REDUCE
    out[deg] = codes.REVERSE
    return out


def response_hierarchy(
    status: xr.DataArray,
    lpd: xr.DataArray,
    *,
    risk: xr.DataArray | None = None,
    risk_threshold: float = 0.0,
    status_classes: int | None = None,
) -> xr.DataArray:
    """Avoid / reduce / reverse map (SCF response hierarchy; TE LDN planning tool, Addendum §2.2).

    Parameters
    ----------
    status : status of the land, either 3-class (-1 degraded, 0 stable, 1 improved) or 7-class
        expanded (1..7); NODATA/NaN missing.
    lpd : LPD classes 1..5 (:data:`ldnkit.codes.LPD`) of the period; 3 = "stable but stressed".
    risk : optional continuous (or integer) user risk layer; NaN/NODATA = no risk information.
    risk_threshold : a pixel is at risk where ``risk > risk_threshold``.
    status_classes : 3 or 7. Default: from ``status.attrs["method"]``/name as written by
        :func:`ldnkit.indicators.sdg.status`, else from the codes present (a compute of two
        booleans; code 1 alone is ambiguous and raises InputError).

    Returns
    -------
    int16 :data:`ldnkit.codes.RESPONSE_HIERARCHY`:
    3 **reverse** where degraded (3-class -1, or 7-class 1, 2, 3);
    2 **reduce** where not degraded but at risk (LPD 3 "stable but stressed", or risk > threshold);
    1 **avoid** elsewhere on valid (not degraded) land;
    NODATA where the status is NODATA or not a code of its legend. ``attrs`` record
    ``status_classes``, the degraded codes and the risk rule.

    Example
    -------
    >>> arr = response_hierarchy(status7, lpd_2023, risk=fire_risk, risk_threshold=0.5)  # doctest: +SKIP
    """
    classes = status_classes or _infer_status_classes(status)
    if classes == 3:
        degraded, not_degraded = (codes.DEGRADED,), (codes.STABLE, codes.IMPROVED)
    elif classes == 7:
        degraded, not_degraded = STATUS7_DEGRADED, STATUS7_NOT_DEGRADED
    else:
        raise ConfigError("status_classes", f"is {classes!r}", "use 3 or 7")
    arrays = [status, lpd] + ([risk] if risk is not None else [])
    out = int16_blockwise(
        _response_block,
        *arrays,
        kwargs={
            "degraded": np.asarray(degraded),
            "not_degraded": np.asarray(not_degraded),
            "threshold": float(risk_threshold),
        },
    )
    out = out.rename("response_hierarchy")
    rule = "lpd == 3 (stable but stressed)" + (
        f" or risk > {float(risk_threshold)}" if risk is not None else ""
    )
    out.attrs = {
        "method": "response_hierarchy",
        "status_classes": int(classes),
        "degraded_codes": [int(c) for c in degraded],
        "not_degraded_codes": [int(c) for c in not_degraded],
        "reverse": "degraded",
        "reduce": "not degraded and " + rule,
        "avoid": "other not degraded land",
        "risk_layer": risk is not None,
        "risk_threshold": float(risk_threshold),
        "legend": {str(k): v for k, v in codes.RESPONSE_HIERARCHY.as_dict().items()},
        "_FillValue": NODATA,
    }
    return out


def response_areas(
    arr: xr.DataArray,
    land_types: xr.DataArray,
    area: xr.DataArray | None = None,
    *,
    regions: xr.DataArray | None = None,
    region_names: Mapping[int, str] | None = None,
    land_type_names: Mapping[int, str] | None = None,
    scheduler=None,
) -> pd.DataFrame:
    """Area (km²) of avoid / reduce / reverse per land type and scope, in one dask pass.

    Parameters
    ----------
    arr : the :func:`response_hierarchy` map (1 avoid, 2 reduce, 3 reverse, NODATA).
    land_types : int16 land-type ids (NODATA outside). area : km² per pixel (default cell_area).
    regions, region_names, land_type_names : as in :func:`neutrality`.

    Returns
    -------
    DataFrame: "Scope", "Land type", "Land type name", "Avoid (km²)", "Reduce (km²)",
    "Reverse (km²)", "Total (km²)"; per scope one row per land type present then an
    "All land types" row with the sums. Pixels with NODATA response or land type are left out.

    Example
    -------
    >>> response_areas(response_hierarchy(st7, lpd), lt, cell_area(lt))   # doctest: +SKIP
    """
    keys = {"response": arr, "land_type": land_types}
    if regions is not None:
        keys["region"] = regions
    ct = crosstab(keys, _area_of(arr, area), scheduler=scheduler)
    ct = ct[ct["response"].isin(codes.RESPONSE_HIERARCHY.codes) & (ct["land_type"] != NODATA)]
    cols_by_code = {c: f"{codes.RESPONSE_HIERARCHY.name_of(c)} (km²)" for c in codes.RESPONSE_HIERARCHY.codes}
    rows = []
    for scope, sub in _scopes(ct, region_names):
        piv = sub.pivot_table(
            index="land_type", columns="response", values="area", aggfunc="sum", fill_value=0.0
        )
        piv = piv.reindex(columns=list(cols_by_code), fill_value=0.0).sort_index()
        for lt, r in piv.iterrows():
            row = {
                SCOPE: scope,
                LAND_TYPE: int(lt),
                LAND_TYPE_NAME: _name_of(land_type_names, int(lt), "Land type"),
            }
            row.update({cols_by_code[c]: float(r[c]) for c in cols_by_code})
            row[TOTAL] = float(r.sum())
            rows.append(row)
        tot = piv.sum()
        row = {SCOPE: scope, LAND_TYPE: ALL_LAND_TYPES, LAND_TYPE_NAME: ALL_LAND_TYPES}
        row.update({cols_by_code[c]: float(tot.get(c, 0.0)) for c in cols_by_code})
        row[TOTAL] = float(tot.sum())
        rows.append(row)
    cols = [SCOPE, LAND_TYPE, LAND_TYPE_NAME, *cols_by_code.values(), TOTAL]
    return _frame(rows, cols, TITLE_RESPONSE, method="response_areas")


# --- planning: projected balance -----------------------------------------------------------------

OBS_DEGRADED = "Degraded (km²)"
OBS_NOT_DEGRADED = "Not degraded (km²)"
RECENT = "Recent degradation (km²)"
BAU_RATE = "BAU loss rate (km²/yr)"
BAU_LOSSES = "BAU losses (km²)"
ANTICIPATED = "Anticipated losses (km²)"
PLANNED_GAINS = "Planned gains (km²)"
AVOIDED = "Losses avoided (km²)"
PROJECTED = "Projected ΔLDN (km²)"
NEEDED = "Counterbalancing needed (km²)"
PROJ_ACHIEVED = "Projected LDN achieved"
#: Columns of the projected balance summed in the "All land types" row.
_PROJECTED_SUMS = (
    GAINS,
    LOSSES,
    DELTA,
    OBS_DEGRADED,
    OBS_NOT_DEGRADED,
    RECENT,
    BAU_RATE,
    BAU_LOSSES,
    ANTICIPATED,
    PLANNED_GAINS,
    AVOIDED,
    PROJECTED,
    NEEDED,
)


def projected_balance(
    status_expanded: xr.DataArray,
    land_types: xr.DataArray,
    area: xr.DataArray | None,
    *,
    period_years: float,
    horizon_years: float,
    anticipated_loss: xr.DataArray | None = None,
    interventions: xr.DataArray | None = None,
    effect: xr.DataArray | float = 1.0,
    land_type_names: Mapping[int, str] | None = None,
    regions: xr.DataArray | None = None,
    region_names: Mapping[int, str] | None = None,
    scheduler=None,
) -> pd.DataFrame:
    """Projected LDN balance sheet per land type: business as usual, planned losses and gains.

    Parameters
    ----------
    status_expanded : 7-class expanded status of the period (1..7, NODATA missing).
    land_types : int16 land-type ids (NODATA outside). area : km² per pixel (None = cell_area).
    period_years : length of the observed period in years (e.g. 2023 − 2015 = 8), > 0.
    horizon_years : years from the end of the period to the planning horizon (e.g. 2030 − 2023), ≥ 0.
    anticipated_loss : mask of planned losses (mining permits, urban expansion ...): a pixel is
        inside where the value is > 0 (bool True or 1); NaN/NODATA/0 outside.
    interventions : int16 planned response level per pixel, 1 avoid, 2 reduce, 3 reverse
        (:data:`ldnkit.codes.RESPONSE_LEVELS`); other codes/NODATA = no intervention.
    effect : expected share of an intervention that succeeds, 0..1 (clipped): a number, or a
        float layer (NaN = 1, full effect, where no effect is given).
    regions, region_names : optional scopes as in :func:`neutrality`.

    Formulas (per scope and land type *i*; areas in km², D = status 1, 2, 3 degraded,
    N = status 4..7 not degraded)
    ----------------------------------------------------------------------------------------
    * observed gains G = area(status 6, 7), losses L = area(status 1, 2), ΔLDN_obs = G − L;
    * BAU loss rate r = area(status 2 "recent degradation") / period_years   (km²/yr);
    * BAU losses B = min(r × horizon_years, area(N))  — new degradation only on land not
      already degraded, capped at that area;
    * anticipated losses A = area(N ∩ anticipated_loss);
    * planned gains P = Σ area × effect over D ∩ (interventions == reverse);
    * losses avoided V = B × S, S = Σ area × effect over N ∩ (interventions ∈ {avoid, reduce}) /
      area(N)  (the share of the type's not-degraded land protected, times the effect);
    * projected ΔLDN = ΔLDN_obs + P − A − (B − V);
    * counterbalancing needed = max(0, −projected ΔLDN); projected LDN achieved = projected ΔLDN ≥ 0.
    The "All land types" row of a scope sums the columns; its counterbalancing need is the sum of
    the land types' needs and it is achieved only if every land type is (no offsetting across
    land types). Overlaps (a pixel both anticipated lost and protected) are not netted out.

    Returns
    -------
    DataFrame: "Scope", "Land type", "Land type name", "Gains (km²)", "Losses (km²)",
    "ΔLDN (km²)", "Degraded (km²)", "Not degraded (km²)", "Recent degradation (km²)",
    "BAU loss rate (km²/yr)", "BAU losses (km²)", "Anticipated losses (km²)",
    "Planned gains (km²)", "Losses avoided (km²)", "Projected ΔLDN (km²)",
    "Counterbalancing needed (km²)", "Projected LDN achieved". One dask pass.

    Example
    -------
    A land type with 10 km² of status 2 over an 8-year period, 100 km² not degraded, a 2030
    horizon 7 years after the period: B = min(10 / 8 × 7, 100) = 8.75 km²; protecting 40 km² of
    its not-degraded land with effect 0.5 avoids V = 8.75 × 40 × 0.5 / 100 = 1.75 km².

    >>> projected_balance(st7, lt, area, period_years=8, horizon_years=7,
    ...                   anticipated_loss=permits, interventions=plan, effect=0.8)  # doctest: +SKIP
    """
    _check_planning_years(period_years, horizon_years)
    keys = _keys(status_expanded, land_types, regions)
    if anticipated_loss is not None:
        keys["anticipated"] = (anticipated_loss > 0).astype(np.int8)
    if interventions is not None:
        keys["intervention"] = interventions
    sums = None
    if isinstance(effect, xr.DataArray):
        sums = {"effect": effect.astype(np.float64).fillna(1.0).clip(0.0, 1.0)}
        scalar_effect = None
    else:
        scalar_effect = min(max(float(effect), 0.0), 1.0)
    ct = crosstab(keys, _area_of(status_expanded, area), sums=sums, scheduler=scheduler)
    _check_status7(ct, "status_expanded")
    ct = _projected_parts(ct[(ct["status"] != NODATA) & (ct["land_type"] != NODATA)], scalar_effect)
    rows = []
    for scope, sub in _scopes(ct, region_names):
        by = sub.groupby("land_type")[list(_PROJECTED_PARTS)].sum().sort_index()
        scope_rows = [
            _projected_row(
                scope,
                int(lt),
                _name_of(land_type_names, int(lt), "Land type"),
                v,
                period_years,
                horizon_years,
            )
            for lt, v in by.iterrows()
        ]
        all_row = {SCOPE: scope, LAND_TYPE: ALL_LAND_TYPES, LAND_TYPE_NAME: ALL_LAND_TYPES}
        for c in _PROJECTED_SUMS:
            all_row[c] = float(sum(r[c] for r in scope_rows))
        all_row[PROJ_ACHIEVED] = bool(scope_rows) and all(r[PROJ_ACHIEVED] for r in scope_rows)
        rows += [*scope_rows, all_row]
    return _frame(
        rows,
        [SCOPE, LAND_TYPE, LAND_TYPE_NAME, *_PROJECTED_SUMS, PROJ_ACHIEVED],
        TITLE_PROJECTED,
        method="projected_balance",
        period_years=float(period_years),
        horizon_years=float(horizon_years),
        effect="raster" if scalar_effect is None else scalar_effect,
        anticipated_loss=anticipated_loss is not None,
        interventions=interventions is not None,
        formula="projected = (gains - losses) + planned gains - anticipated losses - (BAU losses - avoided)",
    )


def _check_planning_years(period_years: float, horizon_years: float) -> None:
    if not period_years or period_years <= 0:
        raise ConfigError("period_years", f"is {period_years!r}", "give the period length in years (> 0)")
    if horizon_years is None or horizon_years < 0:
        raise ConfigError(
            "horizon_years",
            f"is {horizon_years!r}",
            "give the years from the period end to the horizon (>= 0)",
        )


#: Per-combination areas (km²) summed per land type for the projected balance: gains, losses,
#: degraded, not degraded, recent degradation, anticipated losses, planned gains, protected land.
_PROJECTED_PARTS = ("g", "l", "d", "n", "r2", "a", "p", "prot")


def _projected_parts(ct: pd.DataFrame, scalar_effect: float | None) -> pd.DataFrame:
    """The cross-tabulation with the :data:`_PROJECTED_PARTS` columns (km², effect-weighted for p, prot)."""
    eff_area = ct["area"] * scalar_effect if scalar_effect is not None else ct["effect"]
    st = ct["status"]
    deg, ok = st.isin(STATUS7_DEGRADED), st.isin(STATUS7_NOT_DEGRADED)
    zero = pd.Series(0.0, index=ct.index)
    interv = ct["intervention"] if "intervention" in ct.columns else pd.Series(NODATA, index=ct.index)
    antic = ct["anticipated"] == 1 if "anticipated" in ct.columns else pd.Series(False, index=ct.index)
    return ct.assign(
        g=ct["area"].where(st.isin(codes.STATUS_EXPANDED_GAINS), zero),
        l=ct["area"].where(st.isin(codes.STATUS_EXPANDED_LOSSES), zero),
        d=ct["area"].where(deg, zero),
        n=ct["area"].where(ok, zero),
        r2=ct["area"].where(st == RECENT_DEGRADATION, zero),
        a=ct["area"].where(ok & antic, zero),
        p=eff_area.where(deg & (interv == codes.REVERSE), zero),
        prot=eff_area.where(ok & interv.isin((codes.AVOID, codes.REDUCE)), zero),
    )


def _projected_row(scope, lt, name, v, period_years: float, horizon_years: float) -> dict:
    rate = float(v["r2"]) / float(period_years)
    bau = min(rate * float(horizon_years), float(v["n"]))
    share = float(v["prot"]) / float(v["n"]) if v["n"] > 0 else 0.0
    avoided = bau * share
    delta = float(v["g"]) - float(v["l"])
    projected = delta + float(v["p"]) - float(v["a"]) - (bau - avoided)
    return {
        SCOPE: scope,
        LAND_TYPE: lt,
        LAND_TYPE_NAME: name,
        GAINS: float(v["g"]),
        LOSSES: float(v["l"]),
        DELTA: delta,
        OBS_DEGRADED: float(v["d"]),
        OBS_NOT_DEGRADED: float(v["n"]),
        RECENT: float(v["r2"]),
        BAU_RATE: rate,
        BAU_LOSSES: bau,
        ANTICIPATED: float(v["a"]),
        PLANNED_GAINS: float(v["p"]),
        AVOIDED: avoided,
        PROJECTED: projected,
        NEEDED: max(0.0, -projected),
        PROJ_ACHIEVED: bool(projected >= 0),
    }
