"""Consumption-land linkages (mission M7): the land, and degraded land, behind what a country consumes.

Two methods, both returning tidy tables (producer, consumer, commodity or sector, land use, hectares,
degraded hectares):

- :func:`mrio_land_footprint` on any pymrio system (environmentally extended MRIO, Leontief);
- :func:`trade_flow_footprint` from FAOSTAT-shaped production, harvested area and trade tables
  (physical trade flows, Kastner et al. 2011, re-exports traced).

The degraded share of each producer's cropland and grazing land (from the SO1 maps) is the
degraded-land extension of either (:mod:`ldnkit.footprint.degraded`). See docs/footprint.md.
"""

from ldnkit.footprint.degraded import (
    add_degraded_hectares,
    check_degraded_share,
    degraded_share_by_zone,
    degraded_share_from_areas,
)
from ldnkit.footprint.mrio import add_land_extensions, land_accounts, mrio_land_footprint
from ldnkit.footprint.trade_flows import commodity_land_flows, trade_flow_footprint

__all__ = [
    "add_degraded_hectares",
    "add_land_extensions",
    "check_degraded_share",
    "commodity_land_flows",
    "degraded_share_by_zone",
    "degraded_share_from_areas",
    "land_accounts",
    "mrio_land_footprint",
    "trade_flow_footprint",
]
