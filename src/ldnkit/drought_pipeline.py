"""The drought part of a run (UNCCD SO 3): SPI hazard, population exposure by sex, vulnerability.

Called by :func:`ldnkit.pipeline.run` when the config has a ``drought:`` section (and by
``ldnkit drought CONFIG``). It writes its maps under ``layers/drought/`` of the run folder being
built and returns its tables for the same workbook and summary as the SO1 tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from ldnkit.io.grid import check_overlap, grid_of
from ldnkit.io.read import open_layer
from ldnkit.io.readers import open_annual_stack
from ldnkit.io.warp import align
from ldnkit.io.write import write_layers

from . import codes
from .area import cell_area
from .config import RunConfig
from .errors import GridError, PeriodError
from .indicators import drought as dr
from .indicators.spi import annual_spi, spei, spi
from .io import climate
from .io import vector as vec_io
from .layer_meta import LAYER_TAG, LayerMeta
from .progress import Feedback
from .tables.so3 import compute_so3_tables


@dataclass
class DroughtOutputs:
    layers: dict[str, Path] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, LayerMeta] = field(default_factory=dict)
    stations: pd.DataFrame | None = None


def _need(cfg: RunConfig, path: Path, key: str) -> Path:
    from .pipeline import _need_file  # one rule for local and /vsi... object-storage paths

    return _need_file(cfg, path, key)


def annual_index(cfg: RunConfig) -> xr.DataArray:
    """Annual SPI/SPEI ``(year, y, x)`` or ``(year, station)`` from the drought config."""
    d = cfg.drought
    m = d.method
    if d.spi is not None:
        path = _need(cfg, d.spi, "drought.spi")
        if path.suffix.lower() in (".tif", ".tiff") or path.is_dir():
            annual = open_annual_stack(path, chunks=cfg.compute.chunk_size, key="drought.spi")
        else:
            annual = annual_spi(climate.open_monthly(path, key="drought.spi"), month=m.month)
        annual.attrs.update(index="precomputed", source=str(path))
    else:
        p = d.precipitation
        precip = climate.open_monthly(
            _need(cfg, p.path, "drought.precipitation.path"),
            variable=p.variable,
            key="drought.precipitation",
            units=p.units,
        )
        if m.index == "spei":
            q = d.pet
            pet = climate.open_monthly(
                _need(cfg, q.path, "drought.pet.path"),
                variable=q.variable,
                key="drought.pet",
                units=q.units,
            )
            monthly = spei(precip, pet, scale=m.scale, reference=tuple(m.reference))
        else:
            monthly = spi(
                precip, scale=m.scale, reference=tuple(m.reference), distribution=m.distribution, fit=m.fit
            )
        annual = annual_spi(monthly, month=m.month)
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


def _population(cfg: RunConfig) -> dict[str, xr.DataArray]:
    pop = cfg.drought.population
    out = {}
    first = None
    for sex in ("total", "female", "male"):
        maps = getattr(pop, sex)
        if not maps:
            continue
        layers = []
        for year, path in sorted(maps.items()):
            key = f"drought.population.{sex}.{year}"
            a = open_layer(
                _need(cfg, path, key), chunks=cfg.compute.chunk_size, masked=True, key=key
            ).squeeze(drop=True)
            if first is None:
                first = (key, grid_of(a), a)
            elif not grid_of(a).same_as(first[1]):
                raise GridError(
                    key,
                    f"is not on the grid of {first[0]}",
                    "give every population layer on one grid (same extent and resolution)",
                )
            else:
                a = a.assign_coords(x=first[2].x, y=first[2].y)
            layers.append(a.expand_dims(year=[int(year)]))
        stack = xr.concat(layers, dim="year", join="exact")
        stack.attrs["units"] = "persons" if pop.units == "count" else "persons/km2"
        out[sex] = stack
    return out


def _hazard_onto_population_crs(
    layer: xr.DataArray, population: dict[str, xr.DataArray], chunk: int
) -> xr.DataArray:
    """A hazard layer ``(lead, y, x)`` warped (GDAL nearest) onto the population grid when the two
    CRSs differ, its lead coords and attrs kept and the warp recorded in ``attrs["resampling"]``;
    else ``layer`` itself (exposure maps it by the pixel holding each population pixel centre)."""
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
    out = out.assign_coords({n: (lead, c.values) for n, c in layer.coords.items() if c.dims == (lead,)})
    out.attrs = {**layer.attrs, "resampling": f"nearest (GDAL warp from {hcrs.to_string()})"}
    return out


def run_drought(cfg: RunConfig, tmp: Path, fb: Feedback, distributed: bool = False) -> DroughtOutputs:
    """Compute the SO 3 layers and tables into the run folder ``tmp``."""
    d = cfg.drought
    out = DroughtOutputs()
    annual = annual_index(cfg)
    out.summary = {
        "index": d.method.index if d.spi is None else "precomputed",
        "method": d.method.model_dump(mode="json"),
        "boundaries": d.boundaries,
        "years": [int(annual["year"].min()), int(annual["year"].max())],
        "periods": {"length": d.period_length, "start": d.period_start},
        "index_attrs": {
            k: (v if isinstance(v, str | int | float | bool | list) else str(v))
            for k, v in annual.attrs.items()
        },
    }
    if "station" in annual.dims or not {"y", "x"} <= set(annual.dims):
        # station or division series: per-station classes, no maps or area tables
        cls = dr.drought_class(annual, boundaries=d.boundaries)
        frame = annual.to_dataframe(name="spi").reset_index()
        frame["drought_class"] = cls.values.T.ravel() if cls.dims[0] != "year" else cls.values.ravel()
        path = tmp / "drought_stations.csv"
        frame.to_csv(path, index=False)
        out.layers["drought/stations"] = path
        out.stations = frame
        out.summary["note"] = "station/division series: classes per station in drought_stations.csv"
        if d.vulnerability is not None:
            if d.vulnerability.table is not None:
                out.tables.update(compute_so3_tables(dvi=_dvi(cfg)))
        return out

    annual = annual.astype("float32")
    cls = dr.drought_class(annual, boundaries=d.boundaries)
    pmax = dr.drought_period_max(annual, length=d.period_length, start=d.period_start, return_year=True)
    pcls = dr.drought_class(pmax["spi"], boundaries=d.boundaries)
    grid = grid_of(annual)

    land = None
    aoi_path = cfg.inputs.area_of_interest if cfg.inputs is not None else None
    if aoi_path is not None:
        key = "inputs.area_of_interest"
        gdf = vec_io.read_vector(_need(cfg, aoi_path, key), key=key)
        vec_io.check_aoi_inside(gdf, grid, key)
        land = (
            vec_io.rasterize(gdf, grid, chunks=cfg.compute.chunk_size).assign_coords(x=annual.x, y=annual.y)
            == 1
        )

    exp = pexp = pop_mask = None
    if d.population is not None:
        pop = _population(cfg)
        # exposure maps the hazard within one CRS: warp it first where the population's differs
        hazard, period_hazard, period_year = (
            _hazard_onto_population_crs(a, pop, cfg.compute.chunk_size) for a in (cls, pcls, pmax["year"])
        )
        exp = dr.exposure(hazard, pop, units=d.population.units)
        pexp = dr.exposure(period_hazard, pop, units=d.population.units, hazard_year=period_year)
        if aoi_path is not None:
            pgrid = grid_of(next(iter(pop.values())))
            pop_mask = vec_io.rasterize(gdf, pgrid, chunks=cfg.compute.chunk_size) == 1
            pop_mask = pop_mask.assign_coords(x=exp.x, y=exp.y)
    dvi = _dvi(cfg) if d.vulnerability is not None and d.vulnerability.table is not None else None
    dvi_map = _dvi_grid(cfg) if d.vulnerability is not None and d.vulnerability.grids else None

    items = []
    folder = tmp / "layers" / "drought"
    folder.mkdir(parents=True, exist_ok=True)

    def add(key: str, layer: xr.DataArray, legend, desc: str, subgroup: str, unit: str = "") -> None:
        path = folder / f"{key}.tif"
        meta = LayerMeta(
            desc, "Drought", desc, unit or ("class" if legend else ""), legend, len(items), subgroup
        )
        tags = {"method": str(out.summary["method"]), LAYER_TAG: meta.tag()}
        items.append((layer, path, {"legend": legend, "description": desc, "tags": tags}))
        out.layers[f"drought/{key}"] = path
        out.meta[f"drought/{key}"] = meta

    for year in cls["year"].values:
        y = int(year)
        add(
            f"spi_{y}",
            annual.sel(year=y, drop=True),
            None,
            f"Annual SPI {y} (month {d.method.month})",
            "SPI per year",
            "1",
        )
        add(
            f"drought_class_{y}",
            cls.sel(year=y, drop=True),
            codes.DROUGHT,
            f"Drought intensity {y}",
            "SPI class per year",
        )
    for i, label in enumerate(pcls["period"].values):
        add(
            f"drought_class_{label}",
            pcls.isel(period=i, drop=True),
            codes.DROUGHT,
            f"Highest drought intensity {label}",
            "SPI class, highest intensity per period",
        )
        add(
            f"spi_min_{label}",
            pmax["spi"].isel(period=i, drop=True),
            None,
            f"Minimum annual SPI {label}",
            "SPI minimum per period",
            "1",
        )
    if pexp is not None:
        # People exposed per pixel (population grid): the population of the year of each pixel's
        # highest intensity, where that intensity is mild or worse; 0 where no drought, NaN outside.
        for i, label in enumerate(pcls["period"].values):
            one = pexp.isel(period=i, drop=True)
            exposed = one["population_total"].where(one["drought_class"] >= 1, 0.0)  # 1 = mild
            exposed = exposed.where(one["population_total"].notnull())
            if pop_mask is not None:
                exposed = exposed.where(pop_mask)
            add(
                f"population_exposed_{label}",
                exposed.astype("float32"),
                None,
                f"People exposed to drought (mild or worse) {label}, persons per pixel",
                "Other drought layers",
                "persons per pixel",
            )
    if dvi_map is not None:
        for comp in ("dvi", "social", "economic", "infrastructural"):
            layer = dvi_map[comp]
            for y in layer["year"].values if "year" in layer.dims else [None]:
                one = layer.sel(year=y, drop=True) if y is not None else layer
                suffix = f"_{int(y)}" if y is not None else ""
                desc = f"Drought vulnerability: {comp} {suffix[1:]}".strip()
                add(f"{comp}{suffix}", one, None, desc, "Other drought layers", "index")
    with fb.stage("Drought layers", pixels=grid.width * grid.height, distributed=distributed):
        write_layers(items)
    with fb.stage("Drought tables", pixels=grid.width * grid.height, distributed=distributed):
        out.tables = compute_so3_tables(
            hazard=cls,
            land=land,
            area=cell_area(cls),
            period_hazard=pcls,
            exposure=exp,
            period_exposure=pexp,
            population_mask=pop_mask,
            dvi=dvi if dvi is not None else dvi_map,
            dvi_land=_dvi_mask(dvi_map, gdf if aoi_path is not None else None, cfg)
            if dvi_map is not None
            else None,
        )
    return out


def _dvi_mask(dvi_map: xr.Dataset, aoi, cfg: RunConfig) -> xr.DataArray:
    """Pixels of the DVI grid that count in the national DVI: the area of interest, or all."""
    template = dvi_map["dvi"].isel(year=0, drop=True) if "year" in dvi_map["dvi"].dims else dvi_map["dvi"]
    if aoi is None:
        return xr.ones_like(template, dtype=bool)
    grid = grid_of(template)
    mask = vec_io.rasterize(aoi, grid, chunks=cfg.compute.chunk_size) == 1
    return mask.assign_coords(x=template.x, y=template.y)


def _dvi_grid(cfg: RunConfig) -> xr.Dataset:
    """The gridded DVI (Tier 3) from the factor rasters of the config."""
    v = cfg.drought.vulnerability
    factors, components, directions = {}, {}, {}
    first = None
    for name, g in v.grids.items():
        key = f"drought.vulnerability.grids.{name}"
        items = sorted(g.maps.items()) if g.maps else [(None, g.path)]
        layers = []
        for year, path in items:
            k = f"{key}.{year}" if year is not None else f"{key}.path"
            a = open_layer(_need(cfg, path, k), chunks=cfg.compute.chunk_size, masked=True, key=k).squeeze(
                drop=True
            )
            if first is None:
                first = (k, grid_of(a), a)
            elif not grid_of(a).same_as(first[1]):
                raise GridError(
                    k, f"is not on the grid of {first[0]}", "give every vulnerability factor on one grid"
                )
            else:
                a = a.assign_coords(x=first[2].x, y=first[2].y)
            layers.append(a.expand_dims(year=[int(year)]) if year is not None else a)
        factors[name] = xr.concat(layers, dim="year", join="exact") if g.maps else layers[0]
        components[name], directions[name] = g.component, g.direction
    return dr.dvi_grid(factors, components, directions, weights=v.weights)


def _dvi(cfg: RunConfig) -> pd.DataFrame:
    v = cfg.drought.vulnerability
    path = _need(cfg, v.table, "drought.vulnerability.table")
    return dr.dvi_from_table(path, weights=v.weights)


__all__ = ["DroughtOutputs", "annual_index", "run_drought"]
