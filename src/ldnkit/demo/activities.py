"""The demo's activity registry (``activities.gpkg``, an embedded registry written through the
registry store API): planted restoration and land-management activities for the activities stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ldnkit.demo.grid import relative_box

REGISTRY_FILE = "activities.gpkg"

#: The planted activities: (name, relative box u0 v0 u1 v1, status, level, practices, start date).
#: Over the planted restoration patch, overlapping it a second site (overlaps count once), on the
#: productivity decline, on stable land (forest protection) and a draft that a run does not count.
ACTIVITIES: tuple[tuple[str, tuple[float, float, float, float], str, str, list[str], str], ...] = (
    ("Riverside reforestation", (0.78, 0.76, 0.85, 0.83), "approved", "reverse", ["V1", "M1"], "2010-03-01"),
    ("Riverside enrichment planting", (0.82, 0.80, 0.88, 0.86), "approved", "reverse", ["V1"], "2018-01-15"),
    ("Rotational grazing", (0.56, 0.78, 0.64, 0.86), "approved", "reduce", ["M2", "V2"], "2019-06-01"),
    ("Forest protection", (0.15, 0.42, 0.25, 0.52), "approved", "avoid", ["M3"], "2015-01-01"),
    ("Terraces (draft)", (0.40, 0.20, 0.46, 0.26), "draft", "reduce", ["S1"], "2022-01-01"),
)


def activity_fields(n: int) -> list[dict[str, Any]]:
    """The planted activities as registry fields for an ``n`` x ``n`` landscape."""
    return [
        {
            "name": name,
            "site": "Demo landscape",
            "geometry": relative_box(n, *where),
            "status": status,
            "level": level,
            "practices": practices,
            "start_date": start,
            "implementer": "Demo ministry",
            "source": "ldnkit demo (planted)",
        }
        for name, where, status, level, practices, start in ACTIVITIES
    ]


def write_activities(folder: Path, n: int, files: dict[str, Path]) -> None:
    """Create the embedded registry ``activities.gpkg`` with the planted activities."""
    from ldnkit.registry import open_store  # the registry is an optional extra

    path = folder / REGISTRY_FILE
    path.unlink(missing_ok=True)
    store = open_store(path, upgrade=True)
    try:
        for i, fields in enumerate(activity_fields(n), start=1):
            store.create(fields | {"id": f"demo-{i}"}, by="ldnkit demo")
    finally:
        store.close()
    files["activities"] = path
