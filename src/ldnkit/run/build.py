"""Building a run's context from the ``inputs:`` section: the target grid, the vegetation index
and land-cover maps on it, the periods, the area of interest, the regions and boundaries.gpkg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.config import RunConfig
from ldnkit.errors import ConfigError
from ldnkit.io import vector
from ldnkit.io.grid import Grid, check_overlap, grid_of
from ldnkit.io.warp import align
from ldnkit.periods import plan_periods
from ldnkit.progress import Feedback
from ldnkit.run.context import RunContext
from ldnkit.run.inputs import InputLoader
from ldnkit.run.land_cover import read_land_cover_maps, read_nesting


def crs_label(crs: Any) -> str:
    """A short name for a CRS: its EPSG code, else its name, else its projection."""
    epsg = crs.to_epsg()
    if epsg:
        return f"EPSG:{epsg}"
    import pyproj

    name = pyproj.CRS.from_user_input(crs.to_wkt()).name
    if name and name.lower() != "unknown":
        return name
    return f"{crs.to_dict().get('proj', 'custom')} projection"


def target_grid(cfg: RunConfig, inputs: InputLoader, vegetation_index: xr.DataArray | None) -> Grid:
    """The run grid named by ``grid.target``: the vegetation index's, the land cover's, the SOC's,
    or a raster's."""
    target = cfg.grid.target
    if target == "productivity":
        if vegetation_index is None:
            raise ConfigError(
                "grid.target",
                "is 'productivity' but there is no productivity input",
                "set grid.target to land_cover, soc or a raster path",
            )
        return grid_of(vegetation_index)
    if target == "land_cover":
        land_cover_input = cfg.inputs.land_cover
        first = (
            land_cover_input.path
            if land_cover_input.path is not None
            else next(iter(land_cover_input.maps.values()))
        )
        return inputs.grid_of(first, "inputs.land_cover")
    if target == "soc":
        return inputs.grid_of(cfg.inputs.soc.path, "inputs.soc.path")
    return inputs.grid_of(Path(target), "grid.target")


def read_area_of_interest(ctx: RunContext) -> None:
    """``ctx.inside`` (bool) and ``ctx.aoi_polygons`` from ``inputs.area_of_interest`` (all the
    grid when it is not set)."""
    cfg = ctx.config
    if cfg.inputs.area_of_interest is not None:
        key = "inputs.area_of_interest"
        polygons = vector.read_vector(ctx.inputs.resolve(cfg.inputs.area_of_interest, key), key=key)
        vector.check_aoi_inside(polygons, ctx.grid, key)
        inside = vector.rasterize(polygons, ctx.grid, chunks=ctx.chunks) == 1
    else:
        polygons = None
        inside = xr.ones_like(ctx.template, dtype=bool)
    ctx.aoi_polygons = polygons
    ctx.inside = ctx.align(inside)


def read_regions(ctx: RunContext) -> Any:
    """``ctx.regions`` (int16 ids 1..N, NODATA outside the AOI) and ``ctx.region_names`` from
    ``inputs.regions``; returns the regions' GeoDataFrame (None when not set)."""
    cfg = ctx.config
    if cfg.inputs.regions is None:
        return None
    key = "inputs.regions.path"
    polygons = vector.read_vector(ctx.inputs.resolve(cfg.inputs.regions.path, key), key=key)
    field_name = cfg.inputs.regions.name_field
    if field_name not in polygons.columns:
        raise ConfigError(
            "inputs.regions.name_field",
            f"'{field_name}' is not a field of the regions layer",
            f"use one of {[c for c in polygons.columns if c != 'geometry']}",
        )
    vector.check_aoi_inside(polygons, ctx.grid, key)
    ctx.region_names = {i + 1: str(n) for i, n in enumerate(polygons[field_name])}
    regions = vector.rasterize(
        polygons, ctx.grid, values=list(ctx.region_names), fill=codes.NODATA, chunks=ctx.chunks
    )
    ctx.regions = ctx.align(regions).where(ctx.inside, codes.NODATA).astype(codes.CATEGORICAL_DTYPE)
    return polygons


def write_boundaries(ctx: RunContext, region_polygons: Any) -> None:
    """``boundaries.gpkg`` in the run folder (layers ``area_of_interest`` and ``regions``, each with
    a ``name`` field, in the grid CRS) for the HTML report and the QGIS project."""
    aoi = ctx.aoi_polygons
    if aoi is None and region_polygons is None:
        return
    import geopandas as gpd

    cfg = ctx.config
    path = ctx.folder / "boundaries.gpkg"
    if aoi is not None:
        names = [str(n) for n in aoi["name"]] if "name" in aoi.columns else [cfg.title] * len(aoi)
        frame = gpd.GeoDataFrame({"name": names}, geometry=list(aoi.geometry.values), crs=aoi.crs)
        frame.to_crs(ctx.grid.crs).to_file(path, layer="area_of_interest", driver="GPKG", engine="pyogrio")
    if region_polygons is not None:
        names = [str(n) for n in region_polygons[cfg.inputs.regions.name_field]]
        frame = gpd.GeoDataFrame(
            {"name": names}, geometry=list(region_polygons.geometry.values), crs=region_polygons.crs
        )
        frame.to_crs(ctx.grid.crs).to_file(path, layer="regions", driver="GPKG", engine="pyogrio")


def build_context(
    cfg: RunConfig, folder: Path, feedback: Feedback, distributed: bool, needs_grid: bool = True
) -> RunContext:
    """The context of a run being built in ``folder``; with ``needs_grid`` and an ``inputs:``
    section, the grid, vegetation index, land-cover maps, periods, area of interest, regions (and
    boundaries.gpkg) too."""
    scratch = folder / ".scratch"
    scratch.mkdir()
    ctx = RunContext(
        config=cfg,
        folder=folder,
        scratch=scratch,
        feedback=feedback,
        inputs=InputLoader(cfg),
        distributed=distributed,
    )
    if cfg.inputs is None or not needs_grid:
        return ctx
    vegetation_index = ctx.inputs.vegetation_index()
    grid = target_grid(cfg, ctx.inputs, vegetation_index)
    if vegetation_index is not None and grid_of(vegetation_index) != grid:
        check_overlap(grid, grid_of(vegetation_index), "inputs.productivity")
        vegetation_index = align(vegetation_index, grid, "average", chunks=ctx.chunks, workdir=scratch)
    feedback.say(f"Grid: {grid.width} x {grid.height} pixels, {crs_label(grid.crs)}")
    ctx.grid = ctx.inputs.grid = grid
    ctx.vegetation_index = vegetation_index
    ctx.nesting = read_nesting(cfg, ctx.inputs)
    ctx.land_cover_maps = read_land_cover_maps(cfg, ctx.inputs, ctx.nesting)
    maps = ctx.land_cover_maps
    external = cfg.inputs.external_lpd
    all_names = [cfg.periods.baseline.name] + [p.name for p in cfg.periods.reporting]
    external_periods = (external.periods or all_names) if external is not None else []
    years = [int(y) for y in vegetation_index["year"].values] if vegetation_index is not None else None
    ctx.plans = plan_periods(cfg, years, sorted(maps), external_periods)
    ctx.template = maps[min(maps)]
    ctx.area = cell_area(ctx.template)
    read_boundaries(ctx)
    return ctx


def read_boundaries(ctx: RunContext) -> None:
    """Area of interest, regions and boundaries.gpkg of a context that has a grid."""
    read_area_of_interest(ctx)
    write_boundaries(ctx, read_regions(ctx))


__all__ = ["build_context", "crs_label", "read_boundaries", "target_grid"]
