"""Tables of the land footprint (docs/footprint.md): the land, and degraded land, behind the
reporting country's consumption, from a tidy flow table of :mod:`ldnkit.footprint`.

The flow table has ``producer``, ``consumer``, the product column (``commodity`` for physical trade
flows, ``sector`` for MRIO), ``land_use``, ``hectares`` and ``degraded_hectares`` (NaN: the
producer's degraded share is not assessed). The tables keep those tidy column names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TITLES: dict[str, str] = {
    "FP-1": "Land flows of the reporting country: embodied in its consumption or grown on its land (ha)",
    "FP-2": "Land and degraded land embodied in the reporting country's consumption, by producer (ha)",
    "FP-3": "Top flows of degraded land embodied in the reporting country's consumption (ha)",
    "FP-4": "Degraded share of each producer's cropland and grazing land, and its source",
}


def titled(df: pd.DataFrame, table_id: str, **attrs) -> pd.DataFrame:
    """``df`` with its title (and any other attrs) set, index reset."""
    out = df.reset_index(drop=True)
    out.attrs = {"title": TITLES[table_id], **attrs}
    return out


def country_flows(flows: pd.DataFrame, country: str) -> pd.DataFrame:
    """FP-1: every flow into ``country``'s consumption or out of its land, largest first."""
    rows = flows[(flows["consumer"] == country) | (flows["producer"] == country)]
    return titled(rows.sort_values("hectares", ascending=False, kind="stable"), "FP-1")


def consumption_by_producer(flows: pd.DataFrame, country: str) -> pd.DataFrame:
    """FP-2: per producer and land use, the land (ha) embodied in ``country``'s consumption, its
    degraded land (ha, empty when the producer is not assessed) and the degraded share (%).

    >>> f = pd.DataFrame({"producer": ["A", "B", "A"], "consumer": ["C", "C", "D"],
    ...                   "land_use": ["cropland"] * 3, "hectares": [10.0, 5.0, 7.0],
    ...                   "degraded_hectares": [2.0, np.nan, 1.0]})
    >>> consumption_by_producer(f, "C")[["producer", "hectares", "degraded_hectares"]].values.tolist()
    [['A', 10.0, 2.0], ['B', 5.0, nan]]
    """
    rows = flows[flows["consumer"] == country]
    grouped = rows.groupby(["producer", "land_use"], sort=True)
    out = grouped[["hectares"]].sum()
    # min_count=1: a producer with no assessed flow stays NaN ("not assessed"), never 0
    out["degraded_hectares"] = grouped["degraded_hectares"].sum(min_count=1)
    out["degraded_share_pct"] = 100.0 * out["degraded_hectares"] / out["hectares"]
    return titled(out.reset_index(), "FP-2")


def top_degradation_flows(flows: pd.DataFrame, country: str, n: int) -> pd.DataFrame:
    """FP-3: the ``n`` flows into ``country``'s consumption with the most degraded land (ha);
    flows whose producer is not assessed are left out (their degraded land is unknown)."""
    rows = flows[(flows["consumer"] == country) & flows["degraded_hectares"].notna()]
    rows = rows[rows["degraded_hectares"] > 0]
    top = rows.sort_values("degraded_hectares", ascending=False, kind="stable").head(n)
    return titled(top, "FP-3")


def share_table(shares: pd.DataFrame) -> pd.DataFrame:
    """FP-4: the degraded shares used (``region``, ``land_use``, ``degraded_share`` 0..1, ``source``,
    ``area_km2`` for shares from maps)."""
    columns = [c for c in ("region", "land_use", "degraded_share", "source", "area_km2") if c in shares]
    return titled(shares[columns].sort_values(["region", "land_use"], kind="stable"), "FP-4")


def country_totals(flows: pd.DataFrame, country: str) -> dict[str, float]:
    """Land balance of ``country`` (ha): the footprint of its consumption (domestic + imported),
    the land it uses for production (domestic + exported), and the degraded land embodied in its
    consumption (assessed producers only) with the land whose degradation is not assessed.

    >>> f = pd.DataFrame({"producer": ["A", "B", "A"], "consumer": ["A", "A", "B"],
    ...                   "hectares": [10.0, 5.0, 7.0], "degraded_hectares": [2.0, np.nan, 1.0]})
    >>> t = country_totals(f, "A")
    >>> t["consumption_ha"], t["imported_ha"], t["exported_ha"], t["not_assessed_ha"]
    (15.0, 5.0, 7.0, 5.0)
    """
    into = flows[flows["consumer"] == country]
    out_of = flows[flows["producer"] == country]
    domestic = float(into.loc[into["producer"] == country, "hectares"].sum())
    degraded = into["degraded_hectares"]
    return {
        "consumption_ha": float(into["hectares"].sum()),
        "domestic_ha": domestic,
        "imported_ha": float(into["hectares"].sum()) - domestic,
        "production_ha": float(out_of["hectares"].sum()),
        "exported_ha": float(out_of["hectares"].sum()) - domestic,
        "degraded_in_consumption_ha": float(degraded.sum()) if degraded.notna().any() else np.nan,
        "not_assessed_ha": float(into.loc[degraded.isna(), "hectares"].sum()),
    }


def footprint_tables(
    flows: pd.DataFrame, shares: pd.DataFrame, country: str, top: int
) -> dict[str, pd.DataFrame]:
    """FP-1..FP-4 of the reporting ``country`` (see :data:`TITLES`)."""
    return {
        "FP-1": country_flows(flows, country),
        "FP-2": consumption_by_producer(flows, country),
        "FP-3": top_degradation_flows(flows, country, top),
        "FP-4": share_table(shares),
    }


__all__ = [
    "TITLES",
    "consumption_by_producer",
    "country_flows",
    "country_totals",
    "footprint_tables",
    "share_table",
    "top_degradation_flows",
]
