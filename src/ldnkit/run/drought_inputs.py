"""The drought stage's inputs: the annual SPI/SPEI, population by sex and vulnerability factors,
each on its own (climate or population) grid, which need not be the run grid."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.errors import GridError, PeriodError
from ldnkit.indicators import drought
from ldnkit.indicators.spi import annual_spi, spei, spi
from ldnkit.io import climate
from ldnkit.io.grid import check_overlap, grid_of
from ldnkit.io.read import open_layer
from ldnkit.io.readers import format_of, open_annual_stack
from ldnkit.io.warp import align
from ldnkit.run.inputs import InputLoader


def monthly_index(inputs: InputLoader) -> xr.DataArray:
    """Monthly SPI or SPEI from the precipitation (and PET) series of ``drought:``."""
    settings = inputs.config.drought
    method = settings.method
    source = settings.precipitation
    precipitation = climate.open_monthly(
        inputs.resolve(source.path, "drought.precipitation.path"),
        variable=source.variable,
        key="drought.precipitation",
        units=source.units,
    )
    reference = tuple(method.reference)
    if method.index == "spei":
        source = settings.pet
        pet = climate.open_monthly(
            inputs.resolve(source.path, "drought.pet.path"),
            variable=source.variable,
            key="drought.pet",
            units=source.units,
        )
        return spei(precipitation, pet, scale=method.scale, reference=reference)
    return spi(
        precipitation,
        scale=method.scale,
        reference=reference,
        distribution=method.distribution,
        fit=method.fit,
    )


def annual_index(inputs: InputLoader) -> xr.DataArray:
    """Annual SPI/SPEI ``(year, y, x)`` or ``(year, station)`` from the drought config: given
    (``drought.spi``, a stack of maps or monthly series) or computed from precipitation."""
    d = inputs.config.drought
    if d.spi is not None:
        path = inputs.resolve(d.spi, "drought.spi")
        if format_of(path) in ("geotiff", "vrt", "folder"):  # a raster stack of annual SPI
            annual = open_annual_stack(path, chunks=inputs.chunks, key="drought.spi")
        else:
            annual = annual_spi(climate.open_monthly(path, key="drought.spi"), month=d.method.month)
        annual.attrs.update(index="precomputed", source=str(path))
    else:
        annual = annual_spi(monthly_index(inputs), month=d.method.month)
    if d.years is not None:
        have = [int(y) for y in annual["year"].values]
        y0, y1 = d.years
        if y0 < min(have) or y1 > max(have):
            raise PeriodError(
                "drought.years",
                f"asks for {y0}-{y1} but the index covers {min(have)}-{max(have)}",
                "choose years inside the data",
            )
        annual = annual.sel(year=slice(y0, y1))
    return annual


def same_grid_stack(
    inputs: InputLoader, maps: list[tuple[int | None, Path, str]], fix: str
) -> list[xr.DataArray]:
    """Rasters that must share one grid (the first one's), stacked by year when years are given;
    a GridError (with ``fix``) names the first that does not."""
    first = None
    layers = []
    for year, path, key in maps:
        layer = open_layer(inputs.resolve(path, key), chunks=inputs.chunks, masked=True, key=key).squeeze(
            drop=True
        )
        if first is None:
            first = (key, grid_of(layer), layer)
        elif not grid_of(layer).same_as(first[1]):
            raise GridError(key, f"is not on the grid of {first[0]}", fix)
        else:
            layer = layer.assign_coords(x=first[2].x, y=first[2].y)
        layers.append(layer.expand_dims(year=[int(year)]) if year is not None else layer)
    return layers


def population(inputs: InputLoader) -> dict[str, xr.DataArray]:
    """Population ``(year, y, x)`` by sex (total, female, male), all on the first map's grid."""
    pop = inputs.config.drought.population
    keyed = [
        (sex, year, path, f"drought.population.{sex}.{year}")
        for sex in ("total", "female", "male")
        for year, path in sorted((getattr(pop, sex) or {}).items())
    ]
    fix = "give every population layer on one grid (same extent and resolution)"
    layers = same_grid_stack(inputs, [(year, path, key) for _, year, path, key in keyed], fix)
    out = {}
    for sex in ("total", "female", "male"):
        mine = [layer for (s, *_), layer in zip(keyed, layers, strict=True) if s == sex]
        if not mine:
            continue
        stack = xr.concat(mine, dim="year", join="exact")
        stack.attrs["units"] = "persons" if pop.units == "count" else "persons/km2"
        out[sex] = stack
    return out


def dvi_grid(inputs: InputLoader) -> xr.Dataset:
    """The gridded drought vulnerability index (Tier 3) from the factor rasters of the config."""
    v = inputs.config.drought.vulnerability
    keyed = []
    for name, g in v.grids.items():
        key = f"drought.vulnerability.grids.{name}"
        for year, path in sorted(g.maps.items()) if g.maps else [(None, g.path)]:
            keyed.append((name, year, path, f"{key}.{year}" if year is not None else f"{key}.path"))
    fix = "give every vulnerability factor on one grid"
    layers = same_grid_stack(inputs, [(year, path, key) for _, year, path, key in keyed], fix)
    factors, components, directions = {}, {}, {}
    for name, g in v.grids.items():
        mine = [layer for (n, *_), layer in zip(keyed, layers, strict=True) if n == name]
        factors[name] = xr.concat(mine, dim="year", join="exact") if g.maps else mine[0]
        components[name], directions[name] = g.component, g.direction
    return drought.dvi_grid(factors, components, directions, weights=v.weights)


def dvi_table(inputs: InputLoader) -> pd.DataFrame:
    """The drought vulnerability index (Tier 1/2) from the indicator table of the config."""
    v = inputs.config.drought.vulnerability
    return drought.dvi_from_table(inputs.resolve(v.table, "drought.vulnerability.table"), weights=v.weights)


__all__ = ["annual_index", "dvi_grid", "dvi_table", "monthly_index", "population", "same_grid_stack"]


def hazard_onto_population_crs(
    layer: xr.DataArray, population: dict[str, xr.DataArray], chunk: int
) -> xr.DataArray:
    """A hazard layer ``(lead, y, x)`` warped (GDAL nearest) onto the population grid when the two
    CRSs differ, its lead coords and attrs kept and the warp recorded in ``attrs["resampling"]``;
    else ``layer`` itself (exposure, an indicator, maps within one CRS only)."""
    sex, pop = next(iter(population.items()))
    hcrs, pcrs = layer.rio.crs, pop.rio.crs
    if hcrs is None or pcrs is None or hcrs == pcrs:
        return layer
    pgrid = grid_of(pop)
    check_overlap(grid_of(layer), pgrid, f"population.{sex}")
    chunks = {"y": chunk, "x": chunk}
    if pop.chunks is not None:
        sizes = dict(zip(pop.dims, pop.chunks, strict=True))
        chunks = {"y": max(sizes["y"]), "x": max(sizes["x"])}
        if layer.chunks is None:
            layer = layer.chunk()  # so a large population grid is filled block by block
    out = align(layer, pgrid, "nearest", chunks=chunks, nodata=codes.NODATA)
    lead = layer.dims[0]
    # plain values: coordinate objects would bring the old CRS's spatial_ref back
    out = out.assign_coords({n: (lead, c.values) for n, c in layer.coords.items() if c.dims == (lead,)})
    out.attrs = {**layer.attrs, "resampling": f"nearest (GDAL warp from {hcrs.to_string()})"}
    return out
