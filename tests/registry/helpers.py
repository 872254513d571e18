"""Small builders shared by the registry tests."""

from __future__ import annotations

from typing import Any

from shapely.geometry import box


def square(x: float = 10.0, y: float = 10.0, size: float = 0.01):
    """A lon/lat square polygon (0.01 degree at 10°N is about 121 ha)."""
    return box(x, y, x + size, y + size)


def activity(name: str = "Terraces A", **fields: Any) -> dict[str, Any]:
    """Fields of a valid activity, overridden by ``fields``."""
    base: dict[str, Any] = {
        "name": name,
        "site": "Upper basin",
        "region": "North",
        "geometry": square(),
        "reported_area_ha": 120.0,
        "level": "reverse",
        "start_date": "2020-03-01",
        "end_date": "2023-12-31",
        "practices": ["S1", "V1"],
        "drivers": ["Rangeland management"],
        "co_benefits": ["biodiversity"],
        "implementer": "Ministry of Environment",
        "funding": "GEF",
        "establishment_cost_usd_ha": 450.0,
        "maintenance_cost_usd_ha": 35.0,
        "land_use_before": "grazing land",
        "land_use_after": "mixed land",
        "source": "field survey 2023",
    }
    base.update(fields)
    return base
