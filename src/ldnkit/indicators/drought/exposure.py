"""Drought exposure (SO 3-2): the hazard on the population grid and persons per pixel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ldnkit.codes import NODATA
from ldnkit.errors import ConfigError, InputError
from ldnkit.indicators.drought.population import (
    match_years,
    persons_per_pixel,
    population_at_year,
    population_layers,
    population_units,
)
from ldnkit.indicators.drought.population_grid import block_size, on_population_grid, spatial_coords


def exposure(
    hazard: xr.DataArray,
    population: xr.DataArray | Mapping[str, xr.DataArray],
    *,
    units: str = "auto",
    area: xr.DataArray | None = None,
    match: str = "nearest",
    hazard_year: xr.DataArray | None = None,
    chunks: int = 1024,
) -> xr.Dataset:
    """Drought hazard on the population grid and persons per pixel (SO 3-2).

    Parameters
    ----------
    hazard : drought classes ``(year, y, x)`` (:func:`drought_class`), or ``(period, y, x)``
        classes of :func:`drought_period_max` (with its ``period_end`` coordinate).
    population : persons ``(year, y, x)`` or ``(y, x)``; or a dict with ``"total"``, ``"female"``
        and/or ``"male"`` layers on one grid (``"total"`` = female + male if not given).
    units : ``"count"`` (persons per pixel), ``"density"`` (persons per km²; converted with
        :func:`ldnkit.cell_area` of the population grid or ``area``) or ``"auto"``: read each
        layer's ``attrs["units"]`` ("persons", "people", "count" ... or "persons/km2",
        "people per km²" ...); missing or other units raise an InputError.
    area : km² per population pixel, for densities on a grid without CRS.
    match : population year used for each hazard year: ``"nearest"`` (default; ties take the
        earlier year, so WorldPop 2020 serves 2021-2023) or ``"exact"`` (PeriodError if absent).
        For periods: the year given by ``hazard_year`` per pixel, else the period's last year.
    hazard_year : ``(period, y, x)`` year of each pixel's minimum SPI
        (``drought_period_max(..., return_year=True)["year"]``): the period exposure then counts
        the population of the year the period's highest intensity occurred (as Trends.Earth).
    chunks : block size of the outputs when the population is numpy-backed.

    The hazard is resampled to the (finer) population grid by nearest neighbour, never the
    population to the hazard grid, so no person is created or lost: each population pixel takes
    the class of the hazard pixel that holds its centre (a lazy index mapping, exact for nested
    grids). Population pixels off the hazard grid get NODATA. Hazard and population must share
    a CRS (or both have none): warp a hazard in another CRS onto the population grid first with
    ``ldnkit.io.warp.align(hazard, grid_of(population), "nearest")`` and record how in its
    ``attrs["resampling"]``; a hazard already on the population grid is used as it is.

    Returns
    -------
    Dataset on the population grid with ``drought_class`` (int16, hazard dims) and
    ``population_total`` / ``_female`` / ``_male`` (float32 persons per pixel, NaN = no data;
    negative values are treated as fill values). Attrs record units, years and resampling.

    Raises
    ------
    GridError if a population raster does not overlap the hazard grid, is in another CRS, or the
    population layers are not on one grid; InputError for ambiguous units.

    Example
    -------
    >>> ex = exposure(drought_class(annual), {"female": f, "male": m}, units="density")
    >>> float(ex.population_total.where(ex.drought_class >= 1).sel(year=2019).sum())
    """
    if not isinstance(hazard, xr.DataArray) or hazard.ndim != 3 or hazard.dims[1:] != ("y", "x"):
        raise InputError("drought hazard", "expected a (year, y, x) or (period, y, x) DataArray of classes")
    lead = hazard.dims[0]
    layers = population_layers(population)
    ref_name, ref = next(iter(layers.items()))
    ref2d = ref.isel(year=0, drop=True) if ref.ndim == 3 else ref
    ch = block_size(ref2d, chunks)
    where = f"population.{ref_name}"
    targets = _target_years(hazard)
    hz = hazard if hazard.dtype == np.int16 else hazard.fillna(NODATA).astype(np.int16)
    cls = on_population_grid(hz, ref2d, NODATA, ch, where)
    cls.name = "drought_class"
    cls.attrs = {**hazard.attrs, "resampling": cls.attrs.get("resampling"), "_FillValue": NODATA}
    counts, kinds = _persons(layers, units, area)
    hy = None
    if hazard_year is not None:
        if hazard_year.dims != hazard.dims or hazard_year.shape != hazard.shape:
            raise InputError("hazard_year", f"has dims {hazard_year.dims}, the hazard {hazard.dims}")
        hy = on_population_grid(hazard_year.astype(np.int16), ref2d, NODATA, ch, where)
        hy = hy.drop_vars([n for n in hy.coords if n not in hy.dims])
    coords = {**{n: c for n, c in cls.coords.items() if lead in c.dims}, **spatial_coords(ref2d)}
    out_vars = {"drought_class": cls}
    year_used: dict[str, dict[str, Any]] = {}
    for k, c in counts.items():
        c3, used = _population_by_hazard_step(c, hazard, targets, hy, match, f"population.{k}")
        c3 = c3.transpose(lead, "y", "x")
        c3 = c3.drop_vars([n for n in c3.coords if n not in ("y", "x")]).assign_coords(coords)
        c3.name = f"population_{k}"
        c3.attrs = {
            "units": "persons per pixel",
            "source_units": kinds[k],
            "population_year": used,
            "year_matching": match if hy is None else "year of the period minimum SPI",
        }
        out_vars[f"population_{k}"] = c3
        year_used[k] = used
    attrs = {
        "method": "drought_exposure",
        "resampling": cls.attrs.get("resampling"),
        "hazard": str(hazard.attrs.get("method", hazard.name)),
        "boundaries": hazard.attrs.get("boundaries"),
        "population_layers": list(counts),
        "population_year": year_used,
    }
    ds = xr.Dataset(out_vars, attrs=attrs)
    if ref.rio.crs is not None:
        ds = ds.rio.write_crs(ref.rio.crs)
    return ds


def _target_years(hazard: xr.DataArray) -> list[int]:
    """The year each hazard step stands for: its year, or a period's last year."""
    lead = hazard.dims[0]
    if lead == "year":
        return [int(y) for y in hazard["year"].values]
    if "period_end" in hazard.coords:
        return [int(y) for y in hazard["period_end"].values]
    raise InputError(
        "drought hazard",
        f"leading dim {lead!r} is neither 'year' nor a period with a 'period_end' coordinate",
        "use drought_class(annual_spi) or drought_class(drought_period_max(...))",
    )


def _persons(
    layers: Mapping[str, xr.DataArray], units: str, area: xr.DataArray | None
) -> tuple[dict[str, xr.DataArray], dict[str, str]]:
    """Persons per pixel of every population layer, with ``"total"`` = female + male if absent,
    and the units each was read in."""
    kinds = {k: population_units(v, units, f"population.{k}") for k, v in layers.items()}
    counts = {k: persons_per_pixel(v, kinds[k], area, f"population.{k}") for k, v in layers.items()}
    if "total" not in counts:
        if not {"female", "male"} <= set(counts):
            raise ConfigError("drought.population", "give 'total' or both 'female' and 'male'")
        counts = {"total": counts["female"] + counts["male"], **counts}
        kinds["total"] = "female + male"
    return counts, kinds


def _population_by_hazard_step(
    counts: xr.DataArray,
    hazard: xr.DataArray,
    targets: list[int],
    hazard_year: xr.DataArray | None,
    match: str,
    key: str,
) -> tuple[xr.DataArray, dict[str, Any]]:
    """Persons per pixel for each hazard step (lead dim of ``hazard``) and, per target year, the
    population year used."""
    lead = hazard.dims[0]
    if "year" not in counts.dims:  # one population map for every year
        used: dict[str, Any] = {str(t): "static" for t in targets}
        return counts.expand_dims({lead: hazard.sizes[lead]}), used
    if hazard_year is None:
        m = match_years(targets, [int(y) for y in counts["year"].values], match, key)
        c3 = counts.sel(year=[m[t] for t in targets]).drop_vars("year")
        if lead != "year":
            c3 = c3.rename(year=lead)
        return c3, {str(t): m[t] for t in targets}
    c3 = population_at_year(counts, hazard_year, hazard, targets, match, key)
    return c3, {str(t): "year of the period minimum SPI" for t in targets}
