"""The land-cover maps of a run: read on the grid, checked against the nesting, nested to UNCCD
classes. They fix the run's template and the years the periods can use, so the context reads them."""

from __future__ import annotations

from pathlib import Path

import dask
import xarray as xr

from ldnkit import codes
from ldnkit.config import RunConfig
from ldnkit.errors import InputError
from ldnkit.indicators import land_cover
from ldnkit.io.readers import band_years
from ldnkit.run.inputs import InputLoader


def read_nesting(cfg: RunConfig, inputs: InputLoader) -> dict[int, list[int]]:
    """UNCCD class (1-7) -> the input legend's codes: from the config, a YAML/JSON file, or the
    built-in nesting of a known legend."""
    land_cover_input = cfg.inputs.land_cover
    nesting = land_cover_input.nesting
    if isinstance(nesting, dict):
        return {int(k): [int(c) for c in v] for k, v in nesting.items()}
    if isinstance(nesting, Path):
        path = inputs.resolve(nesting, "inputs.land_cover.nesting")
        import yaml

        try:
            data = yaml.safe_load(path.read_text())
            return {int(k): [int(c) for c in v] for k, v in data.items()}
        except Exception:
            raise InputError(
                str(path),
                "is not a nesting table",
                "write a YAML/JSON mapping of UNCCD class (1-7) to a list of your codes",
            ) from None
    return {k: list(v) for k, v in codes.BUILTIN_NESTINGS[land_cover_input.legend].items()}


def read_raw_maps(cfg: RunConfig, inputs: InputLoader) -> dict[int, xr.DataArray]:
    """The land-cover maps in the input legend by year, on the grid (one file per year, or one
    multi-band file whose bands are years)."""
    land_cover_input = cfg.inputs.land_cover
    raw_maps: dict[int, xr.DataArray] = {}
    if land_cover_input.maps is not None:
        for year, path in sorted(land_cover_input.maps.items()):
            key = f"inputs.land_cover.maps.{year}"
            raw_maps[int(year)] = inputs.open(path, key, "categorical").squeeze(drop=True)
        return raw_maps
    key = "inputs.land_cover.path"
    stack = inputs.open(land_cover_input.path, key, "categorical")
    years = band_years(inputs.resolve(land_cover_input.path, key), land_cover_input.years, key=key)
    for i, year in enumerate(years):
        raw_maps[year] = stack.isel(band=i, drop=True)
    return raw_maps


def read_land_cover_maps(
    cfg: RunConfig, inputs: InputLoader, nesting: dict[int, list[int]]
) -> dict[int, xr.DataArray]:
    """The land-cover maps as UNCCD classes by year. Codes missing from the nesting are found in
    one cheap pass over every map (block by block, one computation) before anything else is
    computed, so that error comes early and names the codes."""
    land_cover_input = cfg.inputs.land_cover
    raw_maps = read_raw_maps(cfg, inputs)
    nodata = list(land_cover_input.nodata)
    for raw in raw_maps.values():
        fill = raw.rio.nodata if raw.rio.nodata is not None else raw.attrs.get("_FillValue")
        if fill is not None and fill not in nodata:
            nodata.append(fill)
    lazy = {y: land_cover.unmapped_codes(r, nesting, nodata, compute=False) for y, r in raw_maps.items()}
    unmapped = dask.compute(lazy)[0]
    for year, bad in unmapped.items():
        if len(bad):
            shown = ", ".join(str(int(c)) for c in list(bad)[:10])
            raise InputError(
                f"inputs.land_cover ({year} map)",
                f"land cover code(s) {shown} are not in the '{land_cover_input.legend}' nesting",
                "add them to inputs.land_cover.nesting (legend: custom) "
                "or declare them in inputs.land_cover.nodata",
            )
    return {y: land_cover.nest_land_cover(r, nesting, nodata) for y, r in raw_maps.items()}


__all__ = ["read_land_cover_maps", "read_nesting", "read_raw_maps"]
