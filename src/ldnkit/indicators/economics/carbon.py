"""Biomass carbon stock change from land-cover change (IPCC 2006 Vol. 4, Tier 1).

Per pixel (docs/economics.md): ``BGB = AGB x R`` (root-to-shoot ratio ``R`` of the climate zone, class
and AGB class), ``C = (AGB + BGB) x CF`` (t C/ha, CF = 0.47), change = ``(C_after - C_before) x ha``
(t C), ``CO2e = change x 44/12`` (t CO2; negative = emission). AGB comes from the coefficient table
or, where given and finite, from the user's biomass maps (t d.m./ha).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.crosstab import crosstab
from ldnkit.indicators.economics.blocks import (
    HA_PER_KM2,
    check_same_grid,
    elementwise,
    int_codes,
    pixel_area,
)
from ldnkit.indicators.economics.coefficients import BiomassTable

#: t CO2 per t C (molar masses 44/12).
CO2_PER_C: float = 44.0 / 12.0


@dataclass
class CarbonChange:
    """Result of :func:`biomass_carbon_change`.

    ``maps``: ``carbon_stock_before``/``carbon_stock_after`` (t C/ha), ``carbon_change`` (t C per
    pixel) and ``co2e_change`` (t CO2 per pixel; negative = emission), lazy for dask inputs.
    ``by_transition``: per (zone,) before, after: ``area`` (km²), ``area_ha``, ``carbon_before``,
    ``carbon_after``, ``carbon_change`` (t C) and ``co2e_change`` (t CO2), ``area_not_estimated_ha``.
    """

    maps: xr.Dataset
    by_transition: pd.DataFrame
    attrs: dict[str, Any] = field(default_factory=dict)

    def totals(self) -> pd.DataFrame:
        """Per scope (:data:`codes.AOI_SCOPE` first, then each zone): t C and t CO2e."""
        table = self.by_transition
        scopes = [(codes.AOI_SCOPE, table)] + (list(table.groupby("zone")) if "zone" in table else [])
        cols = ["carbon_before", "carbon_after", "carbon_change", "co2e_change", "area_not_estimated_ha"]
        return pd.DataFrame([{"scope": s, **part[cols].sum().to_dict()} for s, part in scopes])


@dataclass(frozen=True)
class _Luts:
    """Dense look-ups ``[zone, class]`` (AGB) and ``[zone, class, k]`` (AGB-class bounds, ratios)."""

    agb: np.ndarray
    bounds: np.ndarray
    ratios: np.ndarray
    carbon_fraction: float


def _luts(table: BiomassTable) -> _Luts:
    n_zone = max(z for z, _ in table.agb) + 1
    n_class = max(c for _, c in table.agb) + 1
    depth = max(len(v) for v in table.root_shoot.values())
    agb = np.full((n_zone, n_class), np.nan)
    bounds = np.full((n_zone, n_class, depth), np.inf)
    ratios = np.full((n_zone, n_class, depth), np.nan)
    for (z, c), value in table.agb.items():
        agb[z, c] = value
        classes = table.root_shoot[(z, c)]
        for k in range(depth):
            bound, ratio = classes[min(k, len(classes) - 1)]
            bounds[z, c, k], ratios[z, c, k] = bound, ratio
    return _Luts(agb, bounds, ratios, table.carbon_fraction)


def _stock_block(land_cover, zone, *agb_map, luts: _Luts):
    """t C/ha of each pixel: (AGB + AGB x R) x CF; NaN where not estimated."""
    lc, cz = int_codes(land_cover), int_codes(zone)
    ok = (lc >= 0) & (lc < luts.agb.shape[1]) & (cz >= 0) & (cz < luts.agb.shape[0])
    lc, cz = np.where(ok, lc, 0), np.where(ok, cz, 0)
    agb = np.where(ok, luts.agb[cz, lc], np.nan)
    if agb_map:
        user = np.asarray(agb_map[0], dtype=np.float64)
        agb = np.where(np.isfinite(user) & ok, user, agb)
    ratio = luts.ratios[cz, lc, -1]
    for k in range(luts.bounds.shape[2] - 1, -1, -1):  # the first class whose bound holds AGB wins
        ratio = np.where(agb <= luts.bounds[cz, lc, k], luts.ratios[cz, lc, k], ratio)
    return agb * (1.0 + ratio) * luts.carbon_fraction


def _change_block(stock_before, stock_after, area_km2):
    return (stock_after - stock_before) * np.asarray(area_km2, dtype=np.float64) * HA_PER_KM2


def biomass_carbon_change(
    lc_before: xr.DataArray,
    lc_after: xr.DataArray,
    climate_zone: xr.DataArray | int,
    table: BiomassTable,
    area: xr.DataArray | None = None,
    *,
    agb_before: xr.DataArray | None = None,
    agb_after: xr.DataArray | None = None,
    zones: xr.DataArray | None = None,
) -> CarbonChange:
    """Biomass carbon stock change (t C, t CO2e) from land-cover change, IPCC Tier 1.

    Parameters
    ----------
    lc_before, lc_after : UNCCD land-cover codes 1-7 ``(y, x)`` (int16, NODATA -32768).
    climate_zone : IPCC climate-zone codes 1-12 (:data:`ldnkit.codes.CLIMATE_ZONE`), a map or one code.
    table : a :class:`BiomassTable` (``load_value_table("ipcc2006_biomass")`` or a user table).
    area : km² per pixel (default :func:`ldnkit.cell_area` of ``lc_before``).
    agb_before, agb_after : optional above-ground biomass maps (t d.m./ha); finite pixels replace the
        table's default, and their root-to-shoot ratio follows their AGB class.
    zones : optional int16 region ids for ``by_transition`` and ``totals()``.

    Returns
    -------
    :class:`CarbonChange` (maps lazy for dask inputs, tables computed in one pass).

    Example
    -------
    Tropical rain forest (AGB 300 t d.m./ha, R 0.37) cleared to bare land:
    300 x 1.37 x 0.47 = 193.17 t C/ha lost, x 44/12 = 708.29 t CO2/ha.
    """
    if np.ndim(climate_zone) == 0 and not isinstance(climate_zone, xr.DataArray):
        climate_zone = xr.full_like(lc_before, int(climate_zone), dtype=np.int16)
    check_same_grid(
        lc_before=lc_before,
        lc_after=lc_after,
        climate_zone=climate_zone,
        agb_before=agb_before,
        agb_after=agb_after,
        zones=zones,
        area=area,
    )
    area = pixel_area(lc_before, area)
    luts = _luts(table)
    stock = {}
    for when, lc, agb in (("before", lc_before, agb_before), ("after", lc_after, agb_after)):
        extra = (agb,) if agb is not None else ()
        stock[when] = elementwise(_stock_block, lc, climate_zone, *extra, luts=luts).assign_attrs(
            units="t C/ha"
        )
    change = elementwise(_change_block, stock["before"], stock["after"], area).assign_attrs(
        units="t C per pixel"
    )
    maps = xr.Dataset(
        {
            "carbon_stock_before": stock["before"],
            "carbon_stock_after": stock["after"],
            "carbon_change": change,
            "co2e_change": (change * CO2_PER_C).assign_attrs(units="t CO2 per pixel"),
        }
    )
    known = stock["before"].notnull() & stock["after"].notnull()  # the sums cover the same pixels
    sums = {"stock_before": stock["before"].where(known), "stock_after": stock["after"].where(known)}
    table_ct = crosstab({"before": lc_before, "after": lc_after}, area, zones=zones, sums=sums)
    attrs = table.provenance() | {
        "method": "IPCC 2006 Tier 1: (AGB + AGB x R) x CF, change x 44/12",
        "user_biomass_maps": [k for k, v in (("before", agb_before), ("after", agb_after)) if v is not None],
    }
    maps.attrs = {k: v for k, v in attrs.items() if isinstance(v, str | int | float)}
    return CarbonChange(maps, _carbon_table(table_ct), attrs)


def _carbon_table(ct: pd.DataFrame) -> pd.DataFrame:
    """t C from the area-weighted sums (t C/ha x km² x 100 ha/km²) over the pixels whose stock is
    known in both years; the other pixels count as not estimated."""
    out = ct.copy()
    out["area_ha"] = out["area"] * HA_PER_KM2
    estimated = out["stock_before_area"] > 0
    out["carbon_before"] = np.where(estimated, out["stock_before"] * HA_PER_KM2, np.nan)
    out["carbon_after"] = np.where(estimated, out["stock_after"] * HA_PER_KM2, np.nan)
    out["carbon_change"] = out["carbon_after"] - out["carbon_before"]
    out["co2e_change"] = out["carbon_change"] * CO2_PER_C
    out["area_not_estimated_ha"] = (out["area"] - out["stock_before_area"]) * HA_PER_KM2
    return out.drop(columns=["stock_before", "stock_before_area", "stock_after", "stock_after_area"])
