"""The demo's land-footprint inputs (docs/footprint.md): the bundled SYNTHETIC trade example copied
next to the other inputs, and the ``footprint:`` section of the demo config.

Mapping (the demo landscape is not a country, so its three regions stand in for three of the
example's producing countries): North = Arland, Centre = Borduria, South = Caldera. Their degraded
shares come from the demo run's SO1 status and land cover; Dorvia and Estmark, outside the maps, take
theirs from the example's table. The reporting country is Estmark, which imports from all four.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ldnkit.io.trade import bundled_example

#: Demo region -> producing country of the bundled example it stands for.
REGION_PRODUCERS = {"North": "Arland", "Centre": "Borduria", "South": "Caldera"}
REPORTING_COUNTRY = "Estmark"
FOOTPRINT_FILES = {name: f"footprint_{name}.csv" for name in ("production", "trade_matrix", "degraded_share")}


def write_footprint_inputs(folder: Path, files: dict[str, Path]) -> None:
    """Copy the bundled example's production, trade matrix and degraded-share table into ``folder``."""
    example = bundled_example()
    for name, file_name in FOOTPRINT_FILES.items():
        files[f"footprint_{name}"] = folder / file_name
        shutil.copyfile(example[name], folder / file_name)


def footprint_config() -> dict:
    """The demo's ``footprint:`` section: physical trade flows, 2020, the regions as producers."""
    return {
        "method": "trade_flow",
        "year": 2020,
        "reporting_country": REPORTING_COUNTRY,
        "trade_flow": {
            "production": FOOTPRINT_FILES["production"],
            "trade_matrix": FOOTPRINT_FILES["trade_matrix"],
        },
        "names": dict(REGION_PRODUCERS),
        "degraded_shares": {"from_run": True, "table": FOOTPRINT_FILES["degraded_share"]},
    }
