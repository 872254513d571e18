"""Titles of the LDN-accounting tables and metadata of the neutrality layers, shared by the
corrections and neutrality stages."""

from __future__ import annotations

import pandas as pd

from ldnkit import codes
from ldnkit.layer_meta import LayerMeta

NEUTRALITY_GROUP = "Neutrality"
#: Legend of the planned-loss mask (a run-time layer: 1 inside a planned-loss polygon, 0 outside).
ANTICIPATED_LOSSES = codes.Legend(
    "anticipated_losses", (0, 1), ("No anticipated loss", "Anticipated loss"), ("#f5f5f5", "#7b3294")
)
#: The LDN tables of a run, in the order the workbook and summary.json list them.
TABLE_TITLES = {
    "LDN-1 Land types": "Land types (land potential): components and area (km²)",
    "LDN-2 Balance sheet": "Neutrality balance sheet: gains, losses and ΔLDN per land type (km²)",
    "LDN-3 Response hierarchy": "Response hierarchy: avoid, reduce, reverse per land type (km²)",
    "LDN-4 Projected balance": "Projected balance sheet to the planning horizon per land type (km²)",
    "LDN-5 Field observations": "Field observations compared with the land-type map and rules",
    "SO1-4.T3": "False positives and false negatives: corrections of the indicator",
    "SO1-4.T4": "Hotspots of land degradation",
    "SO1-4.T5": "Brightspots of land improvement",
    "SO1-VT.T1": "Voluntary LDN targets and progress",
}


def titled(df: pd.DataFrame, table_id: str) -> pd.DataFrame:
    """``df`` with its id and title in ``df.attrs`` (unless it has them)."""
    df.attrs.setdefault("title", TABLE_TITLES.get(table_id, table_id))
    df.attrs.setdefault("id", table_id)
    return df


def neutrality_meta(name: str, legend: codes.Legend | None, description: str, order: int) -> LayerMeta:
    """Metadata of a layer of the neutrality group (title from the description's first clause)."""
    title = description.split(" (")[0].split(", ")[0]
    unit = "class" if legend is not None else ""
    return LayerMeta(title, NEUTRALITY_GROUP, description, unit, legend, order)


__all__ = ["ANTICIPATED_LOSSES", "TABLE_TITLES", "neutrality_meta", "titled"]
