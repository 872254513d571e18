"""Population layers for drought exposure: units (counts or densities), persons per pixel, and the
population year matched to each hazard year or period."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from ldnkit.area import cell_area
from ldnkit.codes import NODATA
from ldnkit.errors import ConfigError, GridError, InputError, PeriodError

#: The population layers exposure accepts.
SEXES = ("total", "female", "male")
_COUNT_UNITS = {
    "persons",
    "person",
    "people",
    "count",
    "counts",
    "population",
    "inhabitants",
    "number of people",
    "persons per pixel",
    "people per pixel",
    "persons/pixel",
    "people/pixel",
    "persons/cell",
    "persons per cell",
    "1",
}
_DENSITY_RE = re.compile(r"(km\s*(2|²|\^2|\*\*2|-2)|sq\.?\s*km|square\s+kilomet)")


def population_units(pop: xr.DataArray, units: str, where: str) -> str:
    """``"count"`` or ``"density"`` (persons/km²) for a population layer."""
    if units in ("count", "density"):
        return units
    if units != "auto":
        raise ConfigError(
            "drought.population.units", f"unknown units {units!r}", "use 'count', 'density' or 'auto'"
        )
    raw = pop.attrs.get("units")
    text = " ".join(str(raw).strip().lower().split()) if raw is not None else ""
    if text and _DENSITY_RE.search(text) and not re.search(r"\bha\b|hectare|/m2|m-2\b", text):
        return "density"
    if text in _COUNT_UNITS:
        return "count"
    got = f"units {raw!r}" if raw is not None else "no 'units' attribute"
    raise InputError(
        where,
        f"population units are ambiguous ({got}): counts per pixel or persons per km²?",
        "pass units='count' or units='density' (persons/km², e.g. WorldPop/GPW density)",
    )


def population_layers(population: xr.DataArray | Mapping[str, xr.DataArray]) -> dict[str, xr.DataArray]:
    """The population layers by sex (:data:`SEXES`), each ``(y, x)`` or ``(year, y, x)``, checked
    to be on one grid; a single DataArray is the total."""
    if isinstance(population, xr.DataArray):
        layers = {"total": population}
    elif isinstance(population, Mapping):
        layers = dict(population)
    else:
        raise TypeError(
            f"population: expected a DataArray or a dict of them, got {type(population).__name__}"
        )
    bad = set(layers) - set(SEXES)
    if bad or not layers:
        raise ConfigError(
            "drought.population",
            f"unknown population layer(s) {sorted(bad) or 'none'}",
            "give 'total' and/or 'female' and 'male'",
        )
    ref_name, ref = next(iter(layers.items()))
    for k, v in layers.items():
        where = f"population.{k}"
        if not isinstance(v, xr.DataArray):
            raise TypeError(f"{where}: expected an xarray.DataArray")
        if v.dims[-2:] != ("y", "x") or v.ndim not in (2, 3) or (v.ndim == 3 and v.dims[0] != "year"):
            raise InputError(where, f"has dims {v.dims}", "give (y, x) or (year, y, x)")
        same = v.sizes["y"] == ref.sizes["y"] and v.sizes["x"] == ref.sizes["x"]
        if same:
            for d in ("y", "x"):
                a, b = np.asarray(v[d].values, float), np.asarray(ref[d].values, float)
                tol = 1e-6 * max(abs(a[1] - a[0]) if a.size > 1 else 1.0, 1e-12)
                same = same and bool(np.all(np.abs(a - b) <= tol))
        if not same:
            raise GridError(
                where,
                f"is not on the grid of population.{ref_name}",
                "give every population layer on one grid (same extent and resolution)",
            )
    return layers


def match_years(targets: Sequence[int], available: Sequence[int], match: str, where: str) -> dict[int, int]:
    """Population year for each target year: ``"exact"`` (PeriodError if absent) or ``"nearest"``
    (ties take the earlier year)."""
    if match not in ("exact", "nearest"):
        raise ConfigError(
            "drought.population.match", f"unknown year matching {match!r}", "use exact or nearest"
        )
    avail = sorted(int(a) for a in available)
    out = {}
    for t in targets:
        t = int(t)
        if t in avail:
            out[t] = t
        elif match == "exact":
            raise PeriodError(
                where,
                f"has no population for {t} (population years {avail})",
                "add that year or use match='nearest' (e.g. WorldPop 2020 for 2021-2023)",
            )
        else:
            out[t] = min(avail, key=lambda a: (abs(a - t), a))  # ties: the earlier year
    return out


def persons_per_pixel(pop: xr.DataArray, units: str, area: xr.DataArray | None, where: str) -> xr.DataArray:
    """Persons per pixel, float32, NaN missing (negative values are fill values -> NaN)."""
    kind = population_units(pop, units, where)
    p = pop if pop.dtype.kind == "f" else pop.astype(np.float64).where(pop != NODATA)
    p = p.where(p >= 0)
    if kind == "density":
        if area is None:
            if pop.rio.crs is None:
                raise InputError(
                    where,
                    "population densities need pixel areas but the layer has no CRS",
                    "assign its CRS, give area= (km² per pixel) or give counts",
                )
            area = cell_area(pop)
        p = p * area
    return p.astype(np.float32)


def _pick_block(yr, pop, lut, ymin, fallback):
    """Population of the year in ``yr`` (lead, y, x) from ``pop`` (1, y, x, pop_year)."""
    yr = np.asarray(yr).astype(np.int64)
    ok = (yr != NODATA) & (yr >= ymin) & (yr < ymin + lut.size)
    idx = np.where(ok, lut[np.clip(yr - ymin, 0, lut.size - 1)], fallback.reshape(-1, 1, 1))
    shape = (*yr.shape, pop.shape[-1])
    return np.take_along_axis(np.broadcast_to(pop, shape), idx[..., None], axis=-1)[..., 0]


def population_at_year(
    c: xr.DataArray,
    hy: xr.DataArray,
    hazard: xr.DataArray,
    targets: Sequence[int],
    match: str,
    where: str,
) -> xr.DataArray:
    """Per pixel, the population of the year in ``hy`` (period, y, x), matched to the population
    years; pixels without a year (no SPI) take the population matched to the period's end."""
    avail = [int(y) for y in c["year"].values]
    starts = hazard.coords["period_start"].values if "period_start" in hazard.coords else targets
    span = list(range(int(min(starts)), int(max(targets)) + 1))
    m = match_years(span, avail, match, where)
    lut = np.array([avail.index(m[y]) for y in span], dtype=np.int64)
    end = match_years(targets, avail, match, where)
    fallback = np.array([avail.index(end[t]) for t in targets], dtype=np.int64)
    stack = c.rename(year="pop_year")
    stack = stack.drop_vars([n for n in stack.coords if n not in stack.dims])
    if stack.chunks is not None:
        stack = stack.chunk({"pop_year": -1})
    return xr.apply_ufunc(
        _pick_block,
        hy,
        stack,
        input_core_dims=[[], ["pop_year"]],
        kwargs={"lut": lut, "ymin": span[0], "fallback": fallback},
        dask="parallelized",
        output_dtypes=[np.float32],
    )
