"""A deterministic synthetic landscape with planted degradation processes and their known truth.

``ldnkit demo`` builds, in code, a 1° x 1° landscape near the equator (EPSG:4326, 0.0025° pixels,
upper-left corner at 36.0 E, 0.5 S): patchy land cover in the ESA CCI legend for every year
2000-2023, annual NDVI, a reference SOC stock, IPCC climate zones (tropical moist lowlands and a
tropical montane mountain), three sub-national regions and an area of interest a little inside the
raster. Into it are planted processes whose outcome the indicator must recover (deforestation front,
urban expansion, cropland abandonment, productivity decline, restoration, drained wetland) plus an
undisturbed reference patch that shows the false-alarm rate. For drought (UNCCD SO 3) it adds
monthly precipitation 1981-2023 on a coarser grid with two planted droughts (2009 everywhere, 2016
in the south), population counts by sex for 2000, 2010 and 2020 and a table of vulnerability
factors. The inputs are written as ordinary files with a run config, the full pipeline is run on
them, and :func:`evaluate_demo` reports, per process, period and layer, the share of the process's
pixels classed as expected.

Everything is drawn from one ``numpy.random.Generator`` with a fixed seed, so the same call writes
the same files byte for byte.

The package, by process: ``grid`` (the grid, relative coordinates, shapes), ``fields`` (the smooth
random fields), ``geography`` (area of interest, regions, mountain, town, lake, river),
``processes`` (the planted patches and their truth), ``land_cover``, ``productivity`` (NDVI),
``soil``, ``landscape`` (all of it in memory, in the fixed order of draws), ``drought_inputs``,
``neutrality_inputs``, ``writers`` (GeoTIFF, NetCDF, GeoPackage), ``run_config``, ``inputs``
(:func:`build_demo_inputs`), ``evaluate`` (the planted-truth check) and ``console`` (what
``ldnkit demo`` prints).

Example
-------
>>> from ldnkit.demo import build_demo_inputs
>>> case = build_demo_inputs(Path("demo/inputs"), size=200)      # doctest: +SKIP
>>> [p.name for p in case.processes]                              # doctest: +SKIP
['Deforestation front', 'Urban expansion', ...]
"""

from ldnkit.demo.console import PRINTED_LAND_TYPES, print_demo_report, print_neutrality_report
from ldnkit.demo.evaluate import OUTPUT_LAYERS, evaluate_demo, run_demo
from ldnkit.demo.grid import CRS, DEFAULT_SEED, ORIGIN, PIXEL_SIZE, YEARS
from ldnkit.demo.inputs import DemoCase, build_demo_inputs
from ldnkit.demo.neutrality_inputs import CAPABILITY_RULES, N_SITES, N_SITES_DISAGREE
from ldnkit.demo.processes import (
    BASELINE,
    REPORTING_1,
    REPORTING_2,
    Expectation,
    PlantedDrought,
    PlantedProcess,
)

__all__ = [
    "BASELINE",
    "CAPABILITY_RULES",
    "CRS",
    "DEFAULT_SEED",
    "N_SITES",
    "N_SITES_DISAGREE",
    "ORIGIN",
    "OUTPUT_LAYERS",
    "PIXEL_SIZE",
    "PRINTED_LAND_TYPES",
    "REPORTING_1",
    "REPORTING_2",
    "YEARS",
    "DemoCase",
    "Expectation",
    "PlantedDrought",
    "PlantedProcess",
    "build_demo_inputs",
    "evaluate_demo",
    "print_demo_report",
    "print_neutrality_report",
    "run_demo",
]
