"""The demo's input files and run config, written into one folder: :func:`build_demo_inputs`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from affine import Affine

from ldnkit.demo.activities import write_activities
from ldnkit.demo.drought_inputs import write_drought_inputs
from ldnkit.demo.footprint_inputs import write_footprint_inputs
from ldnkit.demo.geography import ZONE_NODATA
from ldnkit.demo.grid import CRS, DEFAULT_SEED, YEARS
from ldnkit.demo.land_cover import LC_NODATA
from ldnkit.demo.landscape import Landscape, build_landscape
from ldnkit.demo.neutrality_inputs import write_neutrality_inputs
from ldnkit.demo.processes import PlantedDrought, PlantedProcess
from ldnkit.demo.productivity import NDVI_FILE
from ldnkit.demo.run_config import run_config
from ldnkit.demo.writers import write_gpkg, write_tif


@dataclass(eq=False)
class DemoCase:
    """The demo inputs written by :func:`build_demo_inputs`.

    ``aoi`` is the area of interest rasterised on the grid (pixel centre inside); ``transform`` and
    ``crs`` describe the grid every SO 1 input is on. ``droughts`` are the planted droughts, on
    the coarser precipitation grid of ``drought_transform``.
    """

    config_path: Path
    folder: Path
    processes: list[PlantedProcess]
    aoi: np.ndarray | None = None
    transform: Affine | None = None
    crs: str = CRS
    files: dict[str, Path] = field(default_factory=dict)
    droughts: list[PlantedDrought] = field(default_factory=list)
    drought_transform: Affine | None = None


def write_so1_inputs(folder: Path, land: Landscape, files: dict[str, Path]) -> None:
    """NDVI, land cover by year, SOC, climate zones, the area of interest and the regions."""
    files["ndvi"] = folder / NDVI_FILE
    write_tif(files["ndvi"], land.ndvi, land.transform, float("nan"), [str(y) for y in YEARS])
    for i, y in enumerate(YEARS):
        files[f"land_cover_{y}"] = folder / f"land_cover_{y}.tif"
        write_tif(files[f"land_cover_{y}"], land.esa[i], land.transform, LC_NODATA, [str(y)])
    files["soc"] = folder / "soc_2000.tif"
    write_tif(files["soc"], land.soc, land.transform, float("nan"), ["2000"])
    files["climate_zones"] = folder / "climate_zones.tif"
    write_tif(files["climate_zones"], land.zones, land.transform, ZONE_NODATA)
    files["area_of_interest"] = folder / "area_of_interest.gpkg"
    write_gpkg(files["area_of_interest"], ["Demo area"], [land.aoi], "area_of_interest")
    files["regions"] = folder / "regions.gpkg"
    write_gpkg(files["regions"], [n for n, _ in land.regions], [g for _, g in land.regions], "regions")


def build_demo_inputs(
    folder: Path, *, size: int = 400, seed: int = DEFAULT_SEED, output: Path | None = None
) -> DemoCase:
    """Write the demo landscape's input files and run config into ``folder``.

    Files: ``ndvi_2000-2023.tif`` (float32 NDVI 0..1, a band per year, descriptions "2000"...,
    NaN no data), ``land_cover_<year>.tif`` 2000..2023 (uint8 ESA CCI codes, 0 no data),
    ``soc_2000.tif`` (float32 t/ha 0-30 cm, NaN on water), ``climate_zones.tif`` (uint8 IPCC codes:
    11 tropical moist, 9 tropical montane), ``regions.gpkg`` (field ``name``: North, Centre,
    South; they tile the area of interest), ``area_of_interest.gpkg`` and ``config.yaml`` (baseline
    2000-2015, reporting 2016-2019 and 2016-2023, default methods, ``output`` = ``output`` or
    ``folder/run``). Grid: EPSG:4326, ``size`` x ``size`` pixels of 0.0025°, upper-left 36.0 E 0.5 S.

    For drought (the config's ``drought:`` section: SPI-12 with reference 1981-2010, years
    2000-2023): ``precipitation_monthly.nc`` (variable ``precip``, float32 mm, monthly 1981-01 to
    2023-12, on 0.01° cells = 4 x 4 pixels, CF grid mapping EPSG:4326, latitude ascending; planted
    droughts: all of 2009 at 35 % of normal rainfall everywhere, 2016 at 45 % in the southern
    half), ``population_{total,female,male}_{2000,2010,2020}.tif`` (float32 persons per pixel on
    0.00125° pixels, female + male = total exactly) and ``dvi_factors.csv`` (6 vulnerability
    factors 2000-2023, literacy also by sex).

    For LDN neutrality accounting (the config's ``corrections:`` and ``neutrality:`` sections, see
    docs/neutrality.md): ``soil_groups.tif`` (uint8 1 Vertisols, 2 Ferralsols, 3 Andosols, 0 no
    data), ``slope.tif`` (float32 %) and ``soil_depth.tif`` (float32 cm) classed by
    :data:`CAPABILITY_RULES` into land capability classes, ``field_sites.csv`` (:data:`N_SITES`
    LandPKS-like sites, :data:`N_SITES_DISAGREE` of them recording a capability class the map
    disagrees with), ``mining_permits.gpkg`` (a planned loss), ``restoration_plan.gpkg`` (reverse
    with effect 0.8 over the western part of the productivity decline; avoid over the reference
    forest) and ``corrections.gpkg`` (a false positive over the planted woody encroachment,
    periods "all"). The config adds driver records for two hotspots and three targets.

    For the activities stage (the config's ``activities:`` section, docs/registry.md):
    ``activities.gpkg``, an embedded registry with the planted activities of
    :data:`ldnkit.demo.activities.ACTIVITIES` (four approved, one draft).

    Deterministic: the same ``size`` and ``seed`` give the same files byte for byte (the registry:
    the same records; its rows carry the time they were written).

    Example
    -------
    >>> case = build_demo_inputs(tmp_path / "inputs", size=200)   # doctest: +SKIP
    >>> load_config(case.config_path).periods.reporting[1].name   # doctest: +SKIP
    '2016-2023'
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    size, seed = int(size), int(seed)
    land = build_landscape(size, seed)
    files: dict[str, Path] = {}
    write_so1_inputs(folder, land, files)
    # Drought (SO 3): precipitation on a coarser grid, population on a finer one, a factor table.
    drought_transform, droughts = write_drought_inputs(folder, land.aoi, land.unccd, size, seed, files)
    write_neutrality_inputs(folder, land, size, seed, files)
    write_activities(folder, size, files)
    write_footprint_inputs(folder, files)

    out = Path(output) if output is not None else folder / "run"
    config_path = folder / "config.yaml"
    text = "# ldnkit demo run: written by ldnkit.demo.build_demo_inputs\n"
    text += yaml.safe_dump(run_config(out.resolve(), size), sort_keys=False, allow_unicode=True)
    config_path.write_text(text)
    files["config"] = config_path
    return DemoCase(
        config_path,
        folder,
        land.processes,
        aoi=land.aoi_mask,
        transform=land.transform,
        crs=CRS,
        files=files,
        droughts=droughts,
        drought_transform=drought_transform,
    )
