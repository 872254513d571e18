"""Soil organic carbon sub-indicator (SO 1-3), Tier 1 (methodology §1.6).

Annual SOC stocks follow the land-cover history of each pixel with the IPCC default land-use
conversion coefficients (:func:`soc_conversion_matrix`), and the change between two years is
classified with a relative-change threshold (default 10 %).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from ldnkit import codes
from ldnkit.errors import ConfigError, InputError, PeriodError
from ldnkit.kernels.soc import soc_bookkeeping_layers, soc_conversion_matrix

__all__ = [
    "soc_conversion_matrix",
    "soc_stock",
    "soc_change_percent",
    "soc_degradation",
]

_N_CLASSES = len(codes.LAND_COVER_CODES)

# Climate-zone code (0..12) -> f; code 0 and anything outside 1..12 is missing.
_F_BY_ZONE = np.array([codes.FLU_BY_CLASS[c] for c in codes.CLIMATE_ZONE_TO_FLU_CLASS], dtype=np.float64)
_F_BY_ZONE[0] = np.nan


def _factor_matrix(value: Any, where: str) -> tuple[np.ndarray, float | list]:
    """Scalar or 7x7 factor -> (7x7 float64 matrix, JSON-able record)."""
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(where, f"the factor is not numeric ({exc})") from exc
    if m.ndim == 0:
        record: float | list = float(m)
        m = np.full((_N_CLASSES, _N_CLASSES), float(m))
    elif m.shape == (_N_CLASSES, _N_CLASSES):
        record = m.tolist()
    else:
        raise ConfigError(
            where,
            f"the factor has shape {m.shape}",
            "give one number or a 7x7 matrix (rows initial class, columns final class)",
        )
    if not np.all(np.isfinite(m) & (m > 0)):
        raise ConfigError(where, "factors must be positive numbers")
    return m, record


def _flu_class_f(flu_class: int | str) -> tuple[int, float]:
    where = "methods.soc.climate"
    if isinstance(flu_class, str):
        if flu_class not in codes.FLU_CLASS_NAMES:
            raise ConfigError(
                where,
                f"unknown climate {flu_class!r}",
                f"use one of {', '.join(codes.FLU_CLASS_NAMES)} or a climate-zone raster",
            )
        cls = codes.FLU_CLASS_NAMES[flu_class]
    else:
        cls = int(flu_class)
        if float(flu_class) != cls or not 1 <= cls < len(codes.FLU_BY_CLASS):
            raise ConfigError(
                where,
                f"F_LU class {flu_class!r} is not 1..5",
                "use 1 temperate dry, 2 temperate moist, 3 tropical dry, 4 tropical moist, "
                "5 tropical montane",
            )
    return cls, float(codes.FLU_BY_CLASS[cls])


def _classes16(a: np.ndarray) -> np.ndarray:
    """Classes as int16 for the kernel; in other dtypes anything not in 1..7 -> NODATA."""
    a = np.asarray(a)
    if a.dtype == np.int16:
        return a  # the kernel itself treats codes outside 1..7 as missing
    ok = (a >= 1) & (a <= _N_CLASSES)
    if a.dtype.kind == "f":
        ok &= a == np.round(a)
    return np.where(ok, a, codes.NODATA).astype(np.int16)


def _stock_block(layers, ref, zone=None, *, f_scalar, fmg, fi, years, layer_of_year, out_slot, n_out):
    """Blocks in natural (layer, y, x) / (y, x) order -> (n_out, y, x) stocks."""
    lc = np.ascontiguousarray(_classes16(layers))
    shape = lc.shape[1:]
    ref64 = np.ascontiguousarray(np.broadcast_to(np.asarray(ref, dtype=np.float64), shape))
    if zone is None:
        f = np.full(shape, f_scalar, dtype=np.float64)
    else:
        z = np.asarray(zone)
        ok = np.isfinite(z) & (z >= 1) & (z <= 12) & (z == np.round(z))
        f = np.where(ok, _F_BY_ZONE[np.where(ok, z, 0).astype(np.intp)], np.nan)
        f = np.ascontiguousarray(np.broadcast_to(f, shape))
    return soc_bookkeeping_layers(lc, layer_of_year, out_slot, n_out, ref64, f, fmg, fi, years)


def _land_cover_layers(
    land_cover: xr.DataArray | Mapping[int, xr.DataArray], reference_year: int | None, years
) -> tuple[xr.DataArray, list[int], np.ndarray, int]:
    """(layers (layer, y, x), annual years, layer of each year, reference year): a stack gives
    one layer per year; a {year: map} mapping each map once, carried forward to later years."""
    if isinstance(land_cover, Mapping):
        if not land_cover:
            raise InputError("inputs.land_cover", "no land-cover map given", "give at least one map")
        maps = {int(y): _drop_year(m) for y, m in land_cover.items()}
        map_years = sorted(maps)
        ref_year = map_years[0] if reference_year is None else int(reference_year)
        if ref_year < map_years[0]:
            raise PeriodError(
                "inputs.soc",
                f"the land cover has no map for the SOC reference year {ref_year} or earlier",
                f"add land cover for {ref_year} (first map {map_years[0]})",
            )
        last = max(int(y) for y in years) if years else map_years[-1]
        annual = list(range(ref_year, last + 1))
        source = [max(m for m in map_years if m <= y) for y in annual]
        used = sorted(set(source))
        stack = xr.concat([maps[m] for m in used], dim="_layer", join="exact", coords="minimal")
        layer_of_year = np.asarray([used.index(m) for m in source], dtype=np.int64)
        return stack, annual, layer_of_year, ref_year
    if "year" not in land_cover.dims:
        raise InputError("inputs.land_cover", "the land cover has no year dimension", "use annual_land_cover")
    lc_years = [int(y) for y in land_cover["year"].values]
    if reference_year is None:
        reference_year = lc_years[0]
    elif int(reference_year) not in lc_years:
        raise PeriodError(
            "inputs.soc",
            f"the land cover has no map for the SOC reference year {reference_year}",
            f"add land cover for {reference_year} (years available {lc_years[0]}-{lc_years[-1]})",
        )
    annual = [y for y in lc_years if y >= int(reference_year)]
    stack = land_cover.sel(year=annual).rename(year="_layer").drop_vars("_layer", errors="ignore")
    return stack, annual, np.arange(len(annual), dtype=np.int64), int(reference_year)


def _drop_year(m: xr.DataArray) -> xr.DataArray:
    m = m.drop_vars([c for c in ("year", "band") if c in m.coords])
    return m.squeeze("band", drop=True) if "band" in m.dims else m


def soc_stock(
    reference: xr.DataArray,
    land_cover: xr.DataArray | Mapping[int, xr.DataArray],
    climate_zone: xr.DataArray | None = None,
    flu_class: int | str | None = None,
    reference_year: int | None = None,
    management_factor: Any = 1.0,
    input_factor: Any = 1.0,
    years_to_equilibrium: int = 20,
    years: Sequence[int] | None = None,
) -> xr.DataArray:
    """Annual SOC stocks (t/ha) by Tier 1 bookkeeping on the land-cover history.

    Parameters
    ----------
    reference : (y, x) SOC stock in t/ha (e.g. SoilGrids 0-30 cm) in the first year of
        ``land_cover`` (or in ``reference_year``); NaN or negative = missing.
    land_cover : (year, y, x) annual UNCCD classes 1..7 (see ``annual_land_cover``), or a
        mapping ``{year: (y, x) map}`` whose maps are carried forward to the years after them
        (the same history as ``annual_land_cover(maps, ...)``, cheaper: each map is read once).
    climate_zone : (y, x) IPCC climate-zone raster, codes 1..12 (0 / NODATA = missing), mapped
        per pixel to the cropland factor f (0.80 / 0.69 / 0.58 / 0.48 / 0.64).
    flu_class : instead of ``climate_zone``, one F_LU class for every pixel: 1..5 or a name of
        :data:`ldnkit.codes.FLU_CLASS_NAMES` (e.g. ``"tropical_moist"`` = 0.48).
    reference_year : year of ``reference``; earlier land-cover years are dropped. Default: the
        first year of ``land_cover``.
    management_factor, input_factor : F_MG and F_I, one number or a 7x7 matrix (rows initial,
        columns final class), multiplied into F_LU at each transition. Default 1.
    years_to_equilibrium : years over which a transition's change is spread (IPCC D = 20).
    years : the years to return (default: every year from the reference year to the last
        land-cover year); the bookkeeping still runs year by year.

    Returns
    -------
    float32 DataArray (year, y, x) in t/ha, NaN where the reference, climate or a land-cover
    class is missing (from that year on). The rule (Trends.Earth ``soc()``): in a year whose
    class differs from the previous year, the annual change becomes
    ``d = (S - S·F_LU·F_MG·F_I) / 20`` with S the stock of the previous year; d is removed in
    that year and the next 19, then the stock stays constant; a new transition restarts it.

    Example
    -------
    >>> soc = soc_stock(soilgrids, lc, climate_zone=ipcc_zones)
    >>> soc_degradation(soc.sel(year=2015), soc.sel(year=2023))
    >>> soc_stock(soilgrids, {2000: lc2000, 2015: lc2015}, flu_class=4, years=[2000, 2015, 2023])
    """
    steps = _equilibrium_steps(years_to_equilibrium)
    if (climate_zone is None) == (flu_class is None):
        raise ConfigError(
            "methods.soc.climate",
            "give either a climate-zone raster or one F_LU climate class, not "
            + ("both" if climate_zone is not None else "neither"),
        )
    fmg, fmg_rec = _factor_matrix(management_factor, "methods.soc.management_factor")
    fi, fi_rec = _factor_matrix(input_factor, "methods.soc.input_factor")
    stack, annual, layer_of_year, reference_year = _land_cover_layers(land_cover, reference_year, years)
    out_years, out_slot = _output_years(annual, years)

    attrs: dict[str, Any] = {
        "method": "ipcc_tier1_bookkeeping",
        "units": "t/ha",
        "reference_year": reference_year,
        "years_to_equilibrium": steps,
        "management_factor": fmg_rec,
        "input_factor": fi_rec,
        "conversion_matrix": "methodology 1.6 (Trends.Earth soc_change_factor_for_land_use)",
        "rule": "trends_earth_soc: d=(S-S*F_LU*F_MG*F_I)/D at each transition, "
        "applied D years from the transition year, reset by a new transition",
    }
    kwargs: dict[str, Any] = {
        "fmg": fmg,
        "fi": fi,
        "years": steps,
        "f_scalar": np.nan,
        "layer_of_year": layer_of_year,
        "out_slot": out_slot,
        "n_out": len(out_years),
    }
    spatial = [d for d in stack.dims if d != "_layer"]
    template = stack.isel(_layer=0, drop=True)
    inputs = [reference]
    if climate_zone is not None:
        inputs.append(climate_zone)
        attrs["climate_source"] = "per_pixel_climate_zones"
    else:
        cls, f = _flu_class_f(flu_class)  # type: ignore[arg-type]
        kwargs["f_scalar"] = f
        attrs.update(climate_source="flu_class", flu_class=cls, f=f)
    # the 2-D inputs on the land cover's grid (coordinates must match exactly), in its dim order
    aligned = xr.align(template, *inputs, join="exact")[1:]
    planes = [a.broadcast_like(template).transpose(*spatial) for a in aligned]
    data = _stock_data(stack.transpose("_layer", *spatial), planes, len(out_years), kwargs)
    coords = {k: v for k, v in template.coords.items() if set(v.dims) <= set(spatial)}
    out = xr.DataArray(data, dims=("year", *spatial), coords={"year": out_years, **coords}, name="soc")
    out.attrs = attrs
    return out


def _equilibrium_steps(years_to_equilibrium: Any) -> int:
    """IPCC D, a positive whole number of years (ConfigError otherwise)."""
    steps = int(years_to_equilibrium)
    if steps != years_to_equilibrium or steps < 1:
        raise ConfigError(
            "methods.soc.years_to_equilibrium",
            f"{years_to_equilibrium!r} is not a positive whole number of years",
        )
    return steps


def _output_years(annual: list[int], years: Sequence[int] | None) -> tuple[list[int], np.ndarray]:
    """(years returned, slot of each annual year in the output or -1); all of them by default."""
    out_years = annual if years is None else sorted({int(y) for y in years})
    missing = sorted(set(out_years) - set(annual))
    if missing:
        raise PeriodError(
            "soc_stock(years)",
            f"asks for year(s) {missing} outside the land-cover years {annual[0]}-{annual[-1]}",
            "ask for years from the reference year to the last land-cover year",
        )
    out_slot = np.full(len(annual), -1, dtype=np.int64)
    for k, y in enumerate(out_years):
        out_slot[annual.index(y)] = k
    return out_years, out_slot


def _stock_data(stack: xr.DataArray, planes: list[xr.DataArray], n_out: int, kwargs: dict[str, Any]) -> Any:
    """The bookkeeping kernel over (layer, *spatial) ``stack`` and the 2-D ``planes``: lazy if any is dask."""
    spatial = stack.dims[1:]
    if any(isinstance(a.data, da.Array) for a in [stack, *planes]):
        # blockwise on (layer, y, x) as stored: no transposes, the layer axis joined per block
        idx = "".join("abcdefgh"[: len(spatial)])
        args: list[Any] = [stack.data, "l" + idx]
        for a in planes:
            args += [a.data, idx]
        return da.blockwise(
            _stock_block,
            "t" + idx,
            *args,
            new_axes={"t": n_out},
            concatenate=True,
            dtype=np.float32,
            meta=np.empty((0,) * (len(spatial) + 1), np.float32),
            **kwargs,
        )
    return _stock_block(stack.values, *(a.values for a in planes), **kwargs)


def _percent(initial, final) -> np.ndarray:
    i = np.asarray(initial, dtype=np.float64)
    f = np.asarray(final, dtype=np.float64)
    ok = np.isfinite(i) & np.isfinite(f) & (i > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # multiply before dividing: (90 - 100) * 100 / 100 is exactly -10
        return np.where(ok, (f - i) * 100.0 / i, np.nan)


def soc_change_percent(initial: xr.DataArray, final: xr.DataArray) -> xr.DataArray:
    """Relative SOC change ``(final - initial) / initial * 100`` in percent.

    float32; NaN where either stock is missing or the initial stock is not positive.

    Example
    -------
    >>> soc_change_percent(soc.sel(year=2000), soc.sel(year=2015))
    """
    out = xr.apply_ufunc(
        lambda i, f: _percent(i, f).astype(np.float32),
        initial,
        final,
        dask="parallelized",
        output_dtypes=[np.float32],
        keep_attrs="drop_conflicts",  # keeps the CRS attrs of spatial_ref
    )
    out = out.rename("soc_change_percent")
    out.attrs = {"method": "relative_change", "units": "%"}
    return out


def _degradation_block(initial, final, water=None, *, threshold, inclusive):
    pct = _percent(initial, final)
    if inclusive:
        down, up = pct <= -threshold, pct >= threshold
    else:
        down, up = pct < -threshold, pct > threshold
    out = np.where(down, -1, np.where(up, 1, 0)).astype(np.int16)
    out[np.isnan(pct)] = codes.NODATA
    if water is not None:
        w = np.asarray(water)
        if w.dtype.kind == "f":
            w = np.isfinite(w) & (w != 0)
        out[np.broadcast_to(w.astype(bool), out.shape)] = codes.NODATA
    return out


def soc_degradation(
    initial: xr.DataArray,
    final: xr.DataArray,
    threshold: float = 10.0,
    water: xr.DataArray | None = None,
    inclusive: bool = True,
) -> xr.DataArray:
    """SOC degradation from the relative stock change (public API contract).

    Parameters
    ----------
    initial, final : SOC stocks (t/ha) at the start and end of the period.
    threshold : percent change that counts (default 10).
    water : boolean DataArray, True = water (e.g. initial land cover == 7); masked to NODATA.
    inclusive : True (Trends.Earth): change <= -threshold -> -1, >= threshold -> +1.
        False (SEPAL, manual wording "more than"): strict < and >.

    Returns
    -------
    int16 DataArray: -1 degraded, 0 stable, 1 improved, NODATA where a stock is missing,
    the initial stock is not positive, or the pixel is water.

    Example
    -------
    >>> soc_degradation(soc.sel(year=2015), soc.sel(year=2023), water=lc.sel(year=2015) == 7)
    """
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold <= 0:
        raise ConfigError("methods.soc.threshold", f"{threshold} is not a positive percentage")
    inputs = [initial, final] + ([water] if water is not None else [])
    out = xr.apply_ufunc(
        _degradation_block,
        *inputs,
        kwargs={"threshold": threshold, "inclusive": bool(inclusive)},
        dask="parallelized",
        output_dtypes=[np.int16],
        keep_attrs="drop_conflicts",  # keeps the CRS attrs of spatial_ref
    )
    out = out.rename("soc_degradation")
    out.attrs = {
        "method": "relative_change_threshold",
        "threshold_percent": threshold,
        "inclusive": bool(inclusive),
        "water_masked": water is not None,
        "_FillValue": codes.NODATA,
    }
    return out
