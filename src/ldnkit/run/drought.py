"""The drought stage (UNCCD SO 3): SPI hazard, population exposure by sex, vulnerability.

Its maps (on the climate or population grid, which need not be the run grid) go under
``layers/drought/``; its tables join the workbook's area-of-interest scope. A drought-only config
(no ``inputs:``) and ``ldnkit drought CONFIG`` run this stage alone.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from ldnkit import codes
from ldnkit.area import cell_area
from ldnkit.config import RunConfig
from ldnkit.indicators import drought
from ldnkit.io import vector
from ldnkit.io.grid import grid_of
from ldnkit.io.read import open_layer
from ldnkit.io.write import write_scratch
from ldnkit.layer_meta import LayerMeta
from ldnkit.run.context import LayerToWrite, RunContext
from ldnkit.run.drought_inputs import (
    annual_index,
    dvi_grid,
    dvi_table,
    hazard_onto_population_crs,
    population,
)
from ldnkit.run.outputs import StageOutputs
from ldnkit.tables.so3 import compute_so3_tables

DROUGHT_GROUP = "Drought"


def index_summary(cfg: RunConfig, annual: xr.DataArray) -> dict[str, Any]:
    """summary.json's ``drought``: the index, method, class boundaries, years and periods."""
    d = cfg.drought
    return {
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


class DroughtLayers:
    """The drought maps of a run, in the order written, each with its metadata."""

    def __init__(self, method: dict[str, Any]) -> None:
        self.items: list[LayerToWrite] = []
        self.tags = {"method": str(method)}

    def add(
        self,
        name: str,
        layer: xr.DataArray,
        legend: codes.Legend | None,
        description: str,
        subgroup: str,
        unit: str = "",
    ) -> None:
        meta = LayerMeta(
            description,
            DROUGHT_GROUP,
            description,
            unit or ("class" if legend else ""),
            legend,
            len(self.items),
            subgroup,
        )
        self.items.append(LayerToWrite(f"drought/{name}", layer, meta, tags=dict(self.tags), attrs={}))


def hazard_layers(
    layers: DroughtLayers,
    annual: xr.DataArray,
    classes: xr.DataArray,
    period_min: xr.Dataset,
    period_classes: xr.DataArray,
    month: int,
) -> None:
    """Annual SPI and intensity class maps, and each period's highest intensity and minimum SPI."""
    for year in classes["year"].values:
        y = int(year)
        layers.add(
            f"spi_{y}",
            annual.sel(year=y, drop=True),
            None,
            f"Annual SPI {y} (month {month})",
            "SPI per year",
            "1",
        )
        layers.add(
            f"drought_class_{y}",
            classes.sel(year=y, drop=True),
            codes.DROUGHT,
            f"Drought intensity {y}",
            "SPI class per year",
        )
    for i, label in enumerate(period_classes["period"].values):
        layers.add(
            f"drought_class_{label}",
            period_classes.isel(period=i, drop=True),
            codes.DROUGHT,
            f"Highest drought intensity {label}",
            "SPI class, highest intensity per period",
        )
        layers.add(
            f"spi_min_{label}",
            period_min["spi"].isel(period=i, drop=True),
            None,
            f"Minimum annual SPI {label}",
            "SPI minimum per period",
            "1",
        )


def exposure_layers(
    layers: DroughtLayers,
    period_exposure: xr.Dataset,
    period_classes: xr.DataArray,
    population_mask: xr.DataArray | None,
) -> None:
    """People exposed per pixel (population grid) and period: the population of the year of each
    pixel's highest intensity, where that intensity is mild or worse; 0 where no drought, NaN
    outside."""
    for i, label in enumerate(period_classes["period"].values):
        one = period_exposure.isel(period=i, drop=True)
        exposed = one["population_total"].where(one["drought_class"] >= 1, 0.0)  # 1 = mild
        exposed = exposed.where(one["population_total"].notnull())
        if population_mask is not None:
            exposed = exposed.where(population_mask)
        layers.add(
            f"population_exposed_{label}",
            exposed.astype("float32"),
            None,
            f"People exposed to drought (mild or worse) {label}, persons per pixel",
            "Other drought layers",
            "persons per pixel",
        )


def vulnerability_layers(layers: DroughtLayers, dvi_map: xr.Dataset) -> None:
    """The gridded vulnerability index and its components, per year when they have years."""
    for component in ("dvi", "social", "economic", "infrastructural"):
        layer = dvi_map[component]
        for y in layer["year"].values if "year" in layer.dims else [None]:
            one = layer.sel(year=y, drop=True) if y is not None else layer
            suffix = f"_{int(y)}" if y is not None else ""
            description = f"Drought vulnerability: {component} {suffix[1:]}".strip()
            layers.add(f"{component}{suffix}", one, None, description, "Other drought layers", "index")


def aoi_mask(polygons: Any, template: xr.DataArray, chunks: int) -> xr.DataArray:
    """True inside the area of interest's polygons on the grid of ``template``."""
    mask = vector.rasterize(polygons, grid_of(template), chunks=chunks) == 1
    return mask.assign_coords(x=template.x, y=template.y)


def dvi_mask(dvi_map: xr.Dataset, polygons: Any, chunks: int) -> xr.DataArray:
    """Pixels of the DVI grid that count in the national DVI: the area of interest, or all."""
    template = dvi_map["dvi"].isel(year=0, drop=True) if "year" in dvi_map["dvi"].dims else dvi_map["dvi"]
    if polygons is None:
        return xr.ones_like(template, dtype=bool)
    return aoi_mask(polygons, template, chunks)


def spi_once(ctx: RunContext, annual: xr.DataArray) -> xr.DataArray:
    """The annual SPI computed once into a scratch GeoTIFF and reopened lazily (same values, dtype and
    coordinates): the layers and the tables are built on it in two computations, and each would
    otherwise recompute the SPI from the monthly precipitation, the stage's one heavy step."""
    path = ctx.scratch / "drought_annual_index.tif"
    pixels = annual.sizes["y"] * annual.sizes["x"]
    with ctx.feedback.stage("Drought index", pixels=pixels, distributed=ctx.distributed):
        write_scratch([(annual, path)])
    back = open_layer(path, chunks=ctx.chunks, masked=True)
    if "band" not in back.dims:  # a single year
        back = back.expand_dims("band")
    back = back.rename(band="year").assign_coords(year=annual["year"].values, y=annual.y, x=annual.x)
    back.attrs = dict(annual.attrs)
    return back.astype(annual.dtype)


class DroughtStage:
    """SO 3: drought hazard, exposure and vulnerability maps and tables."""

    name = "drought"
    needs_grid = False

    def applies(self, cfg: RunConfig) -> bool:
        return cfg.drought is not None

    def prepare(self, ctx: RunContext) -> None:
        """Nothing read early: the drought inputs are checked as the index is computed."""

    def run(self, ctx: RunContext) -> StageOutputs:
        d = ctx.config.drought
        annual = annual_index(ctx.inputs)
        out = StageOutputs(summary={"drought": index_summary(ctx.config, annual)})
        if note := annual.attrs.get("reference_coverage"):
            out.warnings.append(f"drought: {note}")
        if "station" in annual.dims or not {"y", "x"} <= set(annual.dims):
            return self._stations(ctx, annual, out)
        annual = spi_once(ctx, annual.astype("float32"))
        classes = drought.drought_class(annual, boundaries=d.boundaries)
        period_min = drought.drought_period_max(
            annual, length=d.period_length, start=d.period_start, return_year=True
        )
        period_classes = drought.drought_class(period_min["spi"], boundaries=d.boundaries)
        grid = grid_of(annual)
        polygons = ctx.aoi_polygons
        if polygons is not None:
            vector.check_aoi_inside(polygons, grid, "inputs.area_of_interest")
        land = aoi_mask(polygons, annual, ctx.chunks) if polygons is not None else None
        exposure = period_exposure = population_mask = None
        if d.population is not None:
            people = population(ctx.inputs)
            hazard, period_hazard, period_year = (
                hazard_onto_population_crs(a, people, ctx.chunks)
                for a in (classes, period_classes, period_min["year"])
            )
            exposure = drought.exposure(hazard, people, units=d.population.units)
            period_exposure = drought.exposure(
                period_hazard, people, units=d.population.units, hazard_year=period_year
            )
            if polygons is not None:
                population_mask = aoi_mask(polygons, next(iter(people.values())), ctx.chunks)
                population_mask = population_mask.assign_coords(x=exposure.x, y=exposure.y)
        vulnerability = d.vulnerability
        dvi = dvi_table(ctx.inputs) if vulnerability is not None and vulnerability.table is not None else None
        dvi_map = dvi_grid(ctx.inputs) if vulnerability is not None and vulnerability.grids else None
        layers = DroughtLayers(out.summary["drought"]["method"])
        hazard_layers(layers, annual, classes, period_min, period_classes, d.method.month)
        if period_exposure is not None:
            exposure_layers(layers, period_exposure, period_classes, population_mask)
        if dvi_map is not None:
            vulnerability_layers(layers, dvi_map)
        pixels = grid.width * grid.height
        (ctx.folder / "layers" / "drought").mkdir(parents=True, exist_ok=True)
        ctx.write_layers(layers.items, out, title="Drought layers", pixels=pixels)
        with ctx.feedback.stage("Drought tables", pixels=pixels, distributed=ctx.distributed):
            tables = compute_so3_tables(
                hazard=classes,
                land=land,
                area=cell_area(classes),
                period_hazard=period_classes,
                exposure=exposure,
                period_exposure=period_exposure,
                population_mask=population_mask,
                dvi=dvi if dvi is not None else dvi_map,
                dvi_land=dvi_mask(dvi_map, polygons, ctx.chunks) if dvi_map is not None else None,
            )
        out.tables = {codes.AOI_SCOPE: tables}
        return out

    def _stations(self, ctx: RunContext, annual: xr.DataArray, out: StageOutputs) -> StageOutputs:
        """Station or division series: per-station classes in drought_stations.csv, no maps."""
        d = ctx.config.drought
        classes = drought.drought_class(annual, boundaries=d.boundaries)
        frame = annual.to_dataframe(name="spi").reset_index()
        frame["drought_class"] = (
            classes.values.T.ravel() if classes.dims[0] != "year" else classes.values.ravel()
        )
        path = ctx.folder / "drought_stations.csv"
        frame.to_csv(path, index=False)
        out.layers["drought/stations"] = path
        out.summary["drought"]["note"] = (
            "station/division series: classes per station in drought_stations.csv"
        )
        out.tables = {codes.AOI_SCOPE: {}}  # the workbook is written, as for maps
        if d.vulnerability is not None and d.vulnerability.table is not None:
            out.tables = {codes.AOI_SCOPE: compute_so3_tables(dvi=dvi_table(ctx.inputs))}
        return out


__all__ = ["DroughtStage", "annual_index", "index_summary"]
