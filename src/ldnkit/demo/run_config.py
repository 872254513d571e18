"""The run config the demo writes next to its inputs (every stage: SO 1, drought, corrections and
neutrality), as the dict dumped to ``config.yaml``; file names are relative to that folder."""

from __future__ import annotations

from pathlib import Path

from ldnkit.codes import TREE
from ldnkit.demo.activities import REGISTRY_FILE
from ldnkit.demo.drought_inputs import DROUGHT_PERIOD, DVI_FILE, POP_YEARS, PRECIP_FILE, SEXES
from ldnkit.demo.footprint_inputs import footprint_config
from ldnkit.demo.grid import YEARS, pixel_centre
from ldnkit.demo.land_cover import LC_NODATA
from ldnkit.demo.neutrality_inputs import CAPABILITY_RULES, LAND_TYPES_MIN_AREA_KM2
from ldnkit.demo.processes import BASELINE, PATCHES, REPORTING_1, REPORTING_2
from ldnkit.demo.productivity import NDVI_FILE
from ldnkit.demo.soil import SOIL_NAMES


def run_config(output: Path, n: int) -> dict:
    """The demo's run config for an ``n`` x ``n`` landscape writing into ``output``."""
    return {
        "title": "ldnkit demo: synthetic landscape with planted processes",
        "output": str(output),
        "overwrite": True,
        "inputs": {
            "productivity": {"path": NDVI_FILE, "index": "ndvi"},
            "land_cover": {
                "maps": {y: f"land_cover_{y}.tif" for y in YEARS},
                "legend": "esa_cci",
                "nodata": [LC_NODATA],
            },
            "soc": {"path": "soc_2000.tif", "year": 2000},
            "climate_zones": {"path": "climate_zones.tif"},
            "area_of_interest": "area_of_interest.gpkg",
            "regions": {"path": "regions.gpkg", "name_field": "name"},
        },
        "periods": {
            "baseline": {"name": BASELINE, "start": 2000, "end": 2015},
            "reporting": [
                {"name": REPORTING_1, "start": 2016, "end": 2019},
                {"name": REPORTING_2, "start": 2016, "end": 2023},
            ],
        },
        "drought": {
            "precipitation": {"path": PRECIP_FILE, "variable": "precip", "units": "mm"},
            # the defaults, written out so the config documents them
            "method": {"index": "spi", "scale": 12, "reference": [1981, 2010]},
            "years": [2000, 2023],
            "period_length": DROUGHT_PERIOD[1],
            "period_start": DROUGHT_PERIOD[0],
            "population": {
                **{sex: {y: f"population_{sex}_{y}.tif" for y in POP_YEARS} for sex in SEXES},
                "units": "count",
            },
            "vulnerability": {"table": DVI_FILE},
        },
        "corrections": {"path": "corrections.gpkg"},
        "neutrality": neutrality_config(n),
        "activities": {"registry": REGISTRY_FILE, "statuses": ["approved"]},
        "footprint": footprint_config(),
        # Several blocks even at the default size, so the demo exercises block-wise work.
        "compute": {"chunk_size": 256},
    }


def neutrality_config(n: int) -> dict:
    """The demo's ``neutrality:`` section (see docs/neutrality.md)."""
    decline, urban = PATCHES["decline"], PATCHES["urban"]
    return {
        "period": REPORTING_2,
        "land_types": {
            "layers": {"soil": "soil_groups.tif"},
            "labels": {"soil": dict(SOIL_NAMES)},
            "rules": [
                {
                    "name": "capability",
                    "layers": {"slope": "slope.tif", "soil_depth": "soil_depth.tif"},
                    "classes": [dict(c) for c in CAPABILITY_RULES],
                }
            ],
            "climate_zones": True,
            "land_cover": True,
            "min_area_km2": LAND_TYPES_MIN_AREA_KM2,
            "observations": {"path": "field_sites.csv", "class_field": "land_capability_class"},
        },
        "planning": {
            "horizon": 2030,
            "anticipated_losses": [{"path": "mining_permits.gpkg"}],
            "interventions": {
                "path": "restoration_plan.gpkg",
                "level_field": "level",
                "effect_field": "effect",
            },
        },
        "hotspots": {"min_area_km2": 1.0, "connectivity": 8, "method": "components"},
        "drivers": [
            {
                "at": list(pixel_centre(n, decline[0], decline[1])),
                "driver": "Rangeland management",
                "sub_driver": "stocking rate",
                "confidence": "established but incomplete",
                "remediation": "rotational grazing; rehabilitation of the western half (restoration plan)",
            },
            {
                "at": list(pixel_centre(n, urban[0], urban[1])),
                "driver": "Infrastructure, industry and urbanization",
                "confidence": "well established",
            },
        ],
        "targets": [
            {
                "id": "VT1",
                "kind": "no_net_loss",
                "year": 2030,
                "description": "Achieve LDN by 2030 compared to the 2015 baseline",
            },
            {
                "id": "VT2",
                "kind": "max_degraded_percent",
                "year": 2030,
                "value": 10.0,
                "description": "No more than 10 % of the land degraded by 2030",
            },
            {
                "id": "VT3",
                "kind": "land_cover_change_percent",
                "year": 2030,
                "scope": "North",
                "land_cover": TREE,
                "base_year": 2019,
                "value": 10.0,
                "description": "Tree-covered area in the North +10 % by 2030 against 2019",
            },
        ],
    }
