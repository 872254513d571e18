"""The UNCCD PRAIS 4 SO3 (drought) tables as pandas DataFrames (methodology §3.3).

Areas and population counts come from the one-pass cross-tabulation machinery of
:mod:`ldnkit.crosstab`: every year's hazard, population and DVI layers are reduced block
by block, and the requests of all grids (hazard, population, gridded DVI) are evaluated in ONE
``dask.compute``, so an SPI computed lazily upstream is computed once.

Conventions (the same in every table)
-------------------------------------
* Areas are km² on an equal-area basis: :func:`ldnkit.cell_area` gives, for a geographic grid,
  the exact ellipsoidal area of each cell (what an equal-area projection such as Mollweide
  preserves) and, for a projected grid, the grid cell area (exact only in an equal-area
  projection; the tables' ``attrs["area_basis"]`` says which).
* "Land" = pixels where the ``land`` mask is 1 / True (all pixels if none is given). The % of
  land of SO3-1 divides by the total land area including land pixels without SPI ("No data"
  row), so a year's rows add up to 100 %. With equal-area cells this is the GPG's
  ``P = cells in class / total cells × 100``.
* Population tables count persons (float, not rounded); % of population divides by the year's
  total population including people on pixels without hazard data ("No data" row), so the
  class rows add up to 100 %; "Exposed to drought" = classes 1-4 (mild to extreme).
* Tables are returned as ``{table id: DataFrame}`` with ``attrs["id"]``, ``attrs["title"]`` and
  ``attrs["scope"]`` like the SO1 tables, so they can be merged into the same
  ``{scope: {id: DataFrame}}`` given to :func:`ldnkit.tables.write_xlsx` and
  :func:`ldnkit.tables.tables_to_json`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.crosstab import CrosstabRequest, crosstab_graph  # one graph per grid, one compute
from ldnkit.errors import ConfigError, InputError
from ldnkit.tables.prais import AOI_SCOPE, KM2, LAND, NO_DATA, PCT

__all__ = ["SO3_TABLE_TITLES", "DEFAULT_DVI_TOLERANCE", "compute_so3_tables", "area_basis"]

NODATA = codes.NODATA
DROUGHT_CODES = codes.DROUGHT.codes
DROUGHT_CLASSES = tuple(c for c in DROUGHT_CODES if c >= 1)  # mild .. extreme
POP = "Population (persons)"
POP_PCT = "% of population"
POP_TOTAL = "Total population"
EXPOSED = "Exposed to drought (classes 1-4)"
#: Change of DVI (on its 0-1 scale) between the first and last year below which it is "stable".
DEFAULT_DVI_TOLERANCE = 0.01

#: Table id -> short title (sheet order after the SO1 tables: sorted ids).
SO3_TABLE_TITLES: dict[str, str] = {
    "SO3-1.T1": "Land area under each drought intensity class, per year (km², % of land)",
    "SO3-1.T2": "Proportion of land under drought (SPI classes mild to extreme), per year",
    "SO3-1.periods": "Land area by highest drought intensity of each period (km², % of land)",
    "SO3-2.T1": "Total population exposed to each drought intensity class, per year",
    "SO3-2.T2": "Female population exposed to each drought intensity class, per year",
    "SO3-2.T3": "Male population exposed to each drought intensity class, per year",
    "SO3-2.periods": "Population exposed to the highest drought intensity of each period",
    "SO3-3.T1": "Drought Vulnerability Index (DVI) and its components, per year",
    "SO3-3.T2": "Direction of change of the DVI and its components",
}
_SEX_TABLE = {"total": "SO3-2.T1", "female": "SO3-2.T2", "male": "SO3-2.T3"}
_COMPONENTS = ("social", "economic", "infrastructural")

_EQUAL_AREA = (
    "equal area",
    "equal-area",
    "mollweide",
    "sinusoidal",
    "eckert iv",
    "eckert vi",
    "goode",
    "equal earth",
)


def area_basis(layer: xr.DataArray) -> str:
    """How :func:`ldnkit.cell_area` measures ``layer``'s pixels, for the tables' attrs."""
    crs = layer.rio.crs
    if crs is None:
        return "given areas"
    if crs.is_geographic:
        return "ellipsoidal cell areas (exact, equivalent to an equal-area projection)"
    import pyproj

    method = ""
    try:
        op = pyproj.CRS.from_user_input(crs.to_wkt()).coordinate_operation
        method = (op.method_name if op is not None else "").lower()
    except Exception:  # pragma: no cover - exotic WKT
        method = ""
    if any(k in method for k in _EQUAL_AREA):
        return f"equal-area projection ({method})"
    return f"projected grid areas ({method or 'unknown projection'}; not an equal-area projection)"


def _titled(df: pd.DataFrame, tid: str, **attrs: Any) -> pd.DataFrame:
    df.attrs = {"id": tid, "title": SO3_TABLE_TITLES[tid], "scope": AOI_SCOPE, **attrs}
    return df


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    if "Code" in df.columns:  # ints, None on summary rows (not 1.0 / NaN)
        df["Code"] = pd.Series([r.get("Code") for r in rows], index=df.index, dtype=object)
    return df


def _pct(a: float, total: float) -> float:
    return a / total * 100.0 if total > 0 else float("nan")


def _class_name(c: int) -> str:
    return codes.DROUGHT.name_of(c) if c in DROUGHT_CODES else NO_DATA


def _by_class(df: pd.DataFrame, col: str) -> dict[int, float]:
    """``col`` summed per drought class; codes outside 0..4 count as no data."""
    if df.empty:
        return {}
    cls = df["cls"].where(df["cls"].isin(DROUGHT_CODES), NODATA)
    return {int(k): float(v) for k, v in df[col].groupby(cls).sum().items()}


def _mask_zones(mask: xr.DataArray | None, where: str) -> xr.DataArray | None:
    """1 / True -> zone 1, anything else (0, False, NaN, NODATA) -> NODATA (dropped)."""
    if mask is None:
        return None
    if not isinstance(mask, xr.DataArray) or mask.dims != ("y", "x"):
        raise InputError(where, "expected a (y, x) DataArray mask (1 = counted)")
    return xr.where(mask == 1, np.int16(1), np.int16(NODATA)).astype(codes.CATEGORICAL_DTYPE)


def _lead(layer: xr.DataArray, dim: str, where: str) -> None:
    if not isinstance(layer, xr.DataArray) or layer.ndim != 3 or layer.dims != (dim, "y", "x"):
        got = layer.dims if isinstance(layer, xr.DataArray) else type(layer).__name__
        raise InputError(where, f"expected dims ({dim}, y, x), got {got}")


def _ones(like: xr.DataArray) -> xr.DataArray:
    """Weight 1 per pixel on ``like``'s grid (lazy if ``like`` is), so sums are plain sums."""
    return xr.ones_like(like, dtype=np.float32)


# --- SO3-1 ----------------------------------------------------------------------------------


def _so3_1(ct: Mapping[str, pd.DataFrame], years: list[int], basis: str) -> tuple[pd.DataFrame, ...]:
    rows, rows2 = [], []
    for y in years:
        by = _by_class(ct[f"hazard_{y}"], "area")
        land = float(sum(by.values()))
        for c in [*DROUGHT_CODES, NODATA]:
            a = by.get(c, 0.0)
            rows.append(
                {"Year": y, "Code": c, "Class": _class_name(c), KM2: a, PCT: _pct(a, land), LAND: land}
            )
        dry = sum(by.get(c, 0.0) for c in DROUGHT_CLASSES)
        rows2.append(
            {
                "Year": y,
                "Area under drought (km²)": dry,
                "% of land under drought": _pct(dry, land),
                LAND: land,
                "No data (km²)": by.get(NODATA, 0.0),
            }
        )
    t1 = _titled(
        _frame(rows, ["Year", "Code", "Class", KM2, PCT, LAND]),
        "SO3-1.T1",
        area_unit="km2",
        area_basis=basis,
        note="land pixels; % of the total land area, the no-data row included",
    )
    cols2 = ["Year", "Area under drought (km²)", "% of land under drought", LAND, "No data (km²)"]
    t2 = _titled(
        _frame(rows2, cols2),
        "SO3-1.T2",
        area_unit="km2",
        area_basis=basis,
        note="drought = mild, moderate, severe or extreme (classes 1-4); % of the total land area",
    )
    return t1, t2


def _so3_1_periods(ct, period_hazard: xr.DataArray, basis: str) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(period_hazard["period"].values):
        by = _by_class(ct[f"period_hazard_{i}"], "area")
        land = float(sum(by.values()))
        info = _period_info(period_hazard, i)
        for c in [*DROUGHT_CODES, NODATA]:
            a = by.get(c, 0.0)
            rows.append(
                {
                    "Period": str(p),
                    **info,
                    "Code": c,
                    "Class": _class_name(c),
                    KM2: a,
                    PCT: _pct(a, land),
                    LAND: land,
                }
            )
        dry = sum(by.get(c, 0.0) for c in DROUGHT_CLASSES)
        rows.append(
            {
                "Period": str(p),
                **info,
                "Code": None,
                "Class": "Drought (classes 1-4)",
                KM2: dry,
                PCT: _pct(dry, land),
                LAND: land,
            }
        )
    cols = ["Period", "First year", "Last year", "Years with SPI", "Code", "Class", KM2, PCT, LAND]
    return _titled(
        _frame(rows, cols),
        "SO3-1.periods",
        area_unit="km2",
        area_basis=basis,
        note="class of the minimum SPI of the period's years = its highest drought intensity",
    )


def _period_info(layer: xr.DataArray, i: int) -> dict[str, Any]:
    def coord(name: str) -> Any:
        return int(layer[name].values[i]) if name in layer.coords else None

    return {
        "First year": coord("period_start"),
        "Last year": coord("period_end"),
        "Years with SPI": coord("n_years"),
    }


# --- SO3-2 ----------------------------------------------------------------------------------


def _pop_rows(df: pd.DataFrame, sex: str, head: dict[str, Any]) -> list[dict]:
    col = f"pop_{sex}"
    by = _by_class(df, col) if col in df.columns else {}
    total = float(sum(by.values()))
    rows = []
    for c in [*DROUGHT_CODES, NODATA]:
        n = by.get(c, 0.0)
        rows.append(
            {**head, "Code": c, "Class": _class_name(c), POP: n, POP_PCT: _pct(n, total), POP_TOTAL: total}
        )
    n = sum(by.get(c, 0.0) for c in DROUGHT_CLASSES)
    rows.append({**head, "Code": None, "Class": EXPOSED, POP: n, POP_PCT: _pct(n, total), POP_TOTAL: total})
    return rows


def _sexes(ds: xr.Dataset) -> list[str]:
    return [s for s in ("total", "female", "male") if f"population_{s}" in ds]


def _so3_2(ct, exposure: xr.Dataset) -> dict[str, pd.DataFrame]:
    years = [int(y) for y in exposure["year"].values]
    out = {}
    for s in _sexes(exposure):
        rows = []
        for y in years:
            rows += _pop_rows(ct[f"exposure_{y}"], s, {"Year": y})
        tid = _SEX_TABLE[s]
        out[tid] = _titled(
            _frame(rows, ["Year", "Code", "Class", POP, POP_PCT, POP_TOTAL]),
            tid,
            population_unit="persons",
            population_year=exposure[f"population_{s}"].attrs.get("population_year"),
            resampling=exposure.attrs.get("resampling"),
            note="hazard resampled to the population grid by nearest neighbour; "
            "% of the year's total population, the no-data row included",
        )
    return out


def _so3_2_periods(ct, period_exposure: xr.Dataset) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(period_exposure["period"].values):
        info = _period_info(period_exposure, i)
        for s in _sexes(period_exposure):
            rows += _pop_rows(ct[f"period_exposure_{i}"], s, {"Period": str(p), **info, "Population": s})
    cols = ["Period", "First year", "Last year", "Years with SPI", "Population", "Code", "Class"]
    cols += [POP, POP_PCT, POP_TOTAL]
    matching = {
        s: period_exposure[f"population_{s}"].attrs.get("year_matching") for s in _sexes(period_exposure)
    }
    return _titled(
        _frame(rows, cols),
        "SO3-2.periods",
        population_unit="persons",
        population_year=matching,
        note="people by the highest drought intensity of the period at their pixel",
    )


# --- SO3-3 ----------------------------------------------------------------------------------


def _dvi_frame(dvi: Any, ct: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Annual DVI rows (year, sex, components, dvi) from a table result or gridded datasets."""
    if isinstance(dvi, pd.DataFrame):
        need = {"year", "sex", *_COMPONENTS, "dvi"}
        if not need <= set(dvi.columns):
            raise InputError(
                "dvi",
                f"the DVI table lacks columns {sorted(need - set(dvi.columns))}",
                "give the result of dvi_from_table",
            )
        return dvi, {
            k: v for k, v in dvi.attrs.items() if k in ("method", "normalisation", "weights", "source")
        }
    rows = []
    grids = _dvi_grids(dvi)
    for s, ds in grids.items():
        years = [int(y) for y in ds["year"].values] if "year" in ds.dims else [None]
        for j, y in enumerate(years):
            df = ct[f"dvi_{s}_{j}"]
            rec: dict[str, Any] = {"year": y, "sex": s}
            for k in (*_COMPONENTS, "dvi"):
                a = float(df[f"{k}_area"].sum())
                rec[k] = float(df[k].sum()) / a if a > 0 else float("nan")
            rows.append(rec)
    first = next(iter(grids.values()))
    info = {k: v for k, v in first.attrs.items() if k in ("method", "normalisation", "weights", "source")}
    info["aggregation"] = "area-weighted mean over the land pixels with a value"
    return pd.DataFrame(rows, columns=["year", "sex", *_COMPONENTS, "dvi"]), info


def _dvi_grids(dvi: Any) -> dict[str, xr.Dataset]:
    if isinstance(dvi, xr.Dataset):
        return {"total": dvi}
    if isinstance(dvi, Mapping) and all(isinstance(v, xr.Dataset) for v in dvi.values()):
        bad = set(dvi) - {"total", "female", "male"}
        if bad or not dvi:
            raise ConfigError("dvi", f"unknown DVI map key(s) {sorted(bad)}", "use total, female, male")
        return {s: dvi[s] for s in ("total", "female", "male") if s in dvi}
    raise TypeError("dvi: expected the DataFrame of dvi_from_table, a Dataset of dvi_grid or a dict of them")


_SERIES = {
    "dvi": "DVI",
    "social": "Social component",
    "economic": "Economic component",
    "infrastructural": "Infrastructural component",
}


def _so3_3(frame: pd.DataFrame, info: dict[str, Any], tolerance: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = {"total": 0, "female": 1, "male": 2}
    f = frame.sort_values(["year", "sex"], key=lambda c: c.map(order) if c.name == "sex" else c)
    rows = [
        {
            "Year": r.year,
            "Sex": r.sex,
            "Social": r.social,
            "Economic": r.economic,
            "Infrastructural": r.infrastructural,
            "DVI": r.dvi,
        }
        for r in f.itertuples(index=False)
    ]
    t1 = _titled(
        _frame(rows, ["Year", "Sex", "Social", "Economic", "Infrastructural", "DVI"]),
        "SO3-3.T1",
        **info,
        note="0 = least, 1 = most vulnerable within the country's own series (min-max normalised); "
        "not comparable across countries",
    )
    rows2 = []
    for sex in sorted(set(frame["sex"]), key=lambda s: order.get(s, 9)):
        sub = frame[frame["sex"] == sex].sort_values("year")
        for key, label in _SERIES.items():
            ok = sub[np.isfinite(sub[key].astype(float))]
            if len(ok) < 2:
                rec = {
                    "Series": label,
                    "Sex": sex,
                    "First year": None,
                    "Last year": None,
                    "First value": None,
                    "Last value": None,
                    "Change": None,
                    "Direction": "not assessed (fewer than 2 years)",
                }
            else:
                a, b = ok.iloc[0], ok.iloc[-1]
                change = float(b[key]) - float(a[key])
                direction = (
                    "increase" if change > tolerance else "decrease" if change < -tolerance else "stable"
                )
                rec = {
                    "Series": label,
                    "Sex": sex,
                    "First year": int(a["year"]),
                    "Last year": int(b["year"]),
                    "First value": float(a[key]),
                    "Last value": float(b[key]),
                    "Change": change,
                    "Direction": direction,
                }
            rows2.append(rec)
    cols = ["Series", "Sex", "First year", "Last year", "First value", "Last value", "Change", "Direction"]
    t2 = _titled(
        _frame(rows2, cols),
        "SO3-3.T2",
        tolerance=float(tolerance),
        note=f"last minus first year with a value; |change| <= {tolerance:g} (on the 0-1 scale) is "
        "'stable'; an increase means more vulnerable",
    )
    return t1, t2


# --- entry point ------------------------------------------------------------------------------


def compute_so3_tables(
    *,
    hazard: xr.DataArray | None = None,
    land: xr.DataArray | None = None,
    area: xr.DataArray | None = None,
    period_hazard: xr.DataArray | None = None,
    exposure: xr.Dataset | None = None,
    period_exposure: xr.Dataset | None = None,
    population_mask: xr.DataArray | None = None,
    dvi: pd.DataFrame | xr.Dataset | Mapping[str, xr.Dataset] | None = None,
    dvi_land: xr.DataArray | None = None,
    tolerance: float = DEFAULT_DVI_TOLERANCE,
    scheduler: Any = None,
) -> dict[str, pd.DataFrame]:
    """The PRAIS 4 SO3 drought tables, every layer reduced in one dask computation.

    Parameters (all optional: give what you have; tables whose inputs are absent are skipped)
    ----------
    hazard : drought classes ``(year, y, x)`` (:func:`ldnkit.indicators.drought.drought_class`).
        -> SO3-1.T1 (km² and % of land per class per year), SO3-1.T2 (% of land under drought).
    land : ``(y, x)`` mask on the hazard grid, 1 / True = land (e.g. land cover not water,
        inside the area of interest); None = every pixel.
    area : km² per hazard pixel; default :func:`ldnkit.cell_area` (equal-area basis).
    period_hazard : classes ``(period, y, x)`` of the period minimum SPI -> SO3-1.periods.
    exposure : Dataset of :func:`ldnkit.indicators.drought.exposure` over years ->
        SO3-2.T1 (total), T2 (female), T3 (male), persons and % per class, exposed overall.
    period_exposure : the same over periods -> SO3-2.periods.
    population_mask : ``(y, x)`` on the population grid, 1 = counted (e.g. the area of
        interest); None = every population pixel.
    dvi : the DataFrame of :func:`dvi_from_table`, or a Dataset of :func:`dvi_grid` (or
        ``{"total"|"female"|"male": Dataset}``, national values = area-weighted means over
        ``dvi_land``) -> SO3-3.T1 (annual DVI and components) and SO3-3.T2 (direction of change).
    dvi_land : mask for gridded DVI (default ``land``; must then be on the DVI grid).
    tolerance : |last - first| DVI change at or below which SO3-3.T2 says "stable" (0-1 scale).
    scheduler : passed to ``dask.compute``.

    Returns
    -------
    ``{table id: DataFrame}``; ids in :data:`SO3_TABLE_TITLES`. Each frame has ``attrs`` id,
    title, scope (``"Area of interest"``) and the method details. Merge with the SO1 tables as
    ``tables["Area of interest"].update(so3)`` before :func:`write_xlsx` / :func:`tables_to_json`.

    Example
    -------
    >>> so3 = compute_so3_tables(hazard=cls, land=lc != 7, exposure=exposure(cls, pop),
    ...                          dvi=dvi_from_table("dvi.csv"))                # doctest: +SKIP
    >>> so3["SO3-1.T2"][["Year", "% of land under drought"]]                  # doctest: +SKIP
    """
    if not (isinstance(tolerance, int | float) and math.isfinite(tolerance) and tolerance >= 0):
        raise ConfigError("drought.vulnerability.tolerance", f"must be a number >= 0, got {tolerance!r}")
    groups: dict[str, dict[str, CrosstabRequest]] = {}
    basis = None
    hazard_years: list[int] = []
    if hazard is not None or period_hazard is not None:
        groups["hazard"], basis = _hazard_requests(hazard, period_hazard, land, area)
        hazard_years = [int(y) for y in hazard["year"].values] if hazard is not None else []
    pzones = _mask_zones(population_mask, "population_mask")
    if exposure is not None or period_exposure is not None:
        groups["population"] = _population_requests(exposure, period_exposure, pzones)
    if dvi is not None and not isinstance(dvi, pd.DataFrame):
        groups["dvi"] = _dvi_requests(dvi, dvi_land if dvi_land is not None else land)

    delayed = {g: crosstab_graph(r) for g, r in groups.items()}
    kwargs = {} if scheduler is None else {"scheduler": scheduler}
    ct: dict[str, pd.DataFrame] = {}
    if delayed:
        for res in dask.compute(*delayed.values(), **kwargs):
            ct.update(res)

    out: dict[str, pd.DataFrame] = {}
    if hazard is not None:
        out["SO3-1.T1"], out["SO3-1.T2"] = _so3_1(ct, hazard_years, basis)
        for t in ("SO3-1.T1", "SO3-1.T2"):
            out[t].attrs["boundaries"] = hazard.attrs.get("boundaries")
    if period_hazard is not None:
        out["SO3-1.periods"] = _so3_1_periods(ct, period_hazard, basis)
        out["SO3-1.periods"].attrs["boundaries"] = period_hazard.attrs.get("boundaries")
    if exposure is not None:
        out.update(_so3_2(ct, exposure))
    if period_exposure is not None:
        out["SO3-2.periods"] = _so3_2_periods(ct, period_exposure)
    if dvi is not None:
        frame, info = _dvi_frame(dvi, ct)
        out["SO3-3.T1"], out["SO3-3.T2"] = _so3_3(frame, info, tolerance)
    return out


def _hazard_requests(
    hazard: xr.DataArray | None,
    period_hazard: xr.DataArray | None,
    land: xr.DataArray | None,
    area: xr.DataArray | None,
) -> tuple[dict[str, CrosstabRequest], str]:
    """Area per class of each hazard year and period, on land; and the area basis."""
    ref = hazard if hazard is not None else period_hazard
    zones = _mask_zones(land, "land")
    if area is None:
        area = cell_area(ref)
    computed = area.attrs.get("method") in ("ellipsoidal_strip", "projected_pixel")
    basis = area_basis(ref) if computed else "given areas"
    req: dict[str, CrosstabRequest] = {}
    if hazard is not None:
        _lead(hazard, "year", "hazard")
        for i, y in enumerate(int(y) for y in hazard["year"].values):
            req[f"hazard_{y}"] = CrosstabRequest({"cls": hazard.isel(year=i, drop=True)}, area, zones)
    if period_hazard is not None:
        _lead(period_hazard, "period", "period_hazard")
        for i in range(period_hazard.sizes["period"]):
            req[f"period_hazard_{i}"] = CrosstabRequest(
                {"cls": period_hazard.isel(period=i, drop=True)}, area, zones
            )
    return req, basis


def _population_requests(
    exposure: xr.Dataset | None, period_exposure: xr.Dataset | None, pzones: xr.DataArray | None
) -> dict[str, CrosstabRequest]:
    """Persons per class and sex of each exposure year and period, in the zones ``pzones``."""
    req: dict[str, CrosstabRequest] = {}
    for name, ds, dim in (("exposure", exposure, "year"), ("period_exposure", period_exposure, "period")):
        if ds is None:
            continue
        if not isinstance(ds, xr.Dataset) or "drought_class" not in ds or not _sexes(ds):
            raise InputError(name, "expected the Dataset returned by exposure()")
        _lead(ds["drought_class"], dim, name)
        one = _ones(ds["drought_class"].isel({dim: 0}, drop=True))
        for i in range(ds.sizes[dim]):
            key = f"{name}_{int(ds[dim].values[i])}" if dim == "year" else f"{name}_{i}"
            sel = {dim: i}
            req[key] = CrosstabRequest(
                {"cls": ds["drought_class"].isel(sel, drop=True)},
                one,
                pzones,
                {f"pop_{s}": ds[f"population_{s}"].isel(sel, drop=True) for s in _sexes(ds)},
            )
    return req


def _dvi_requests(dvi: Any, dvi_land: xr.DataArray | None) -> dict[str, CrosstabRequest]:
    """Area-weighted sums of the DVI and its components per sex and year, inside ``dvi_land``."""
    dzones = _mask_zones(dvi_land, "dvi_land")
    req: dict[str, CrosstabRequest] = {}
    for s, ds in _dvi_grids(dvi).items():
        for k in (*_COMPONENTS, "dvi"):
            if k not in ds:
                raise InputError(
                    f"dvi.{s}", f"the DVI map has no {k!r} variable", "give the result of dvi_grid"
                )
        plane = ds["dvi"].isel(year=0, drop=True) if "year" in ds["dvi"].dims else ds["dvi"]
        d_area = cell_area(plane) if ds.rio.crs is not None else _ones(plane)
        for j in range(ds.sizes.get("year", 1)):
            sel = {"year": j} if "year" in ds.dims else {}
            layers = {k: ds[k].isel(sel, drop=True) for k in (*_COMPONENTS, "dvi")}
            req[f"dvi_{s}_{j}"] = CrosstabRequest({}, d_area, dzones, layers)
    return req
