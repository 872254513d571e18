"""Tables of the activity compilation (docs/registry.md): restoration and land-management
activities against the SO1 status, per region and for the whole area of interest.

Inputs are cross-tabulations (:func:`ldnkit.crosstab.crosstab`) of an activity mask (1 inside the
activities counted, 0 outside, :data:`codes.NODATA` outside the area of interest) by the status
(-1 degraded, 0 stable, 1 improved), optionally per region (column ``zone``); areas in km².
Overlapping activities never count twice: a mask is the UNION of the activities it stands for.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ldnkit import codes

AREA = "Area under restoration (km²)"
ON_DEGRADED = "Of which on degraded land (km²)"
DEGRADED = "Degraded land (km²)"
SHARE = "Share of degraded land addressed (%)"

TITLES: dict[str, str] = {
    "ACT-1": "Area under restoration and share of degraded land addressed, per region",
    "ACT-2": "Area under restoration by status, response level, practice and start year",
    "ACT-3": "Activities overlapping degraded land vs not",
    "ACT-4": "Activities: area on the run grid and on degraded land (each activity on its own)",
}


def scope_areas(ct: pd.DataFrame, names: Mapping[int, str] | None = None) -> dict[str, dict[str, float]]:
    """Per scope (region name, or :data:`codes.AOI_SCOPE` when ``ct`` has no ``zone`` column):
    the mask's area, its area on degraded land and the scope's degraded land (km²)."""
    ct = ct[ct["activity"] != codes.NODATA]
    zone = ct["zone"].map(lambda z: (names or {}).get(int(z), str(z))) if "zone" in ct else codes.AOI_SCOPE
    ct = ct.assign(scope=zone)
    out: dict[str, dict[str, float]] = {}
    for scope, rows in ct.groupby("scope", sort=False):
        inside = rows["activity"] == 1
        degraded = rows["status"] == codes.DEGRADED
        out[str(scope)] = {
            AREA: float(rows.loc[inside, "area"].sum()),
            ON_DEGRADED: float(rows.loc[inside & degraded, "area"].sum()),
            DEGRADED: float(rows.loc[degraded, "area"].sum()),
        }
    return out


def share(addressed: float, degraded: float) -> float:
    """Percent of ``degraded`` that is ``addressed`` (NaN when there is no degraded land)."""
    return 100.0 * addressed / degraded if degraded > 0 else float("nan")


def region_table(union: Mapping[str, Mapping[str, float]], counts: Mapping[str, int]) -> pd.DataFrame:
    """ACT-1: per scope, the activities present, the area under restoration (union of the
    activities), the degraded land, how much of it lies under an activity and that share (%)."""
    rows = [
        {
            "Scope": scope,
            "Activities": int(counts.get(scope, 0)),
            AREA: v[AREA],
            DEGRADED: v[DEGRADED],
            "Degraded land addressed (km²)": v[ON_DEGRADED],
            SHARE: share(v[ON_DEGRADED], v[DEGRADED]),
        }
        for scope, v in union.items()
    ]
    return titled(pd.DataFrame(rows), "ACT-1")


def breakdown_table(groups: Mapping[tuple[str, str], Mapping[str, Mapping[str, float]]]) -> pd.DataFrame:
    """ACT-2: for each (breakdown, class), e.g. ("Level", "reverse"), and scope, the area under the
    union of that class's activities and its part on degraded land. An activity with two practices
    counts under each, so classes of one breakdown may add up to more than the total."""
    rows = [
        {"Scope": scope, "Breakdown": kind, "Class": value, AREA: v[AREA], ON_DEGRADED: v[ON_DEGRADED]}
        for (kind, value), scopes in groups.items()
        for scope, v in scopes.items()
    ]
    return titled(pd.DataFrame(rows, columns=["Scope", "Breakdown", "Class", AREA, ON_DEGRADED]), "ACT-2")


def overlap_table(
    groups: Mapping[bool, Mapping[str, Mapping[str, float]]], counts: Mapping[bool, Mapping[str, int]]
) -> pd.DataFrame:
    """ACT-3: activities overlapping degraded land (at least one degraded pixel) vs not, per scope:
    how many and the area under their union (km²)."""
    rows = [
        {
            "Scope": scope,
            "Overlaps degraded land": "Yes" if overlaps else "No",
            "Activities": int(counts[overlaps].get(scope, 0)),
            AREA: v[AREA],
        }
        for overlaps, scopes in groups.items()
        for scope, v in scopes.items()
    ]
    columns = ["Scope", "Overlaps degraded land", "Activities", AREA]
    return titled(pd.DataFrame(rows, columns=columns), "ACT-3")


def activity_table(activities: pd.DataFrame, areas: list[Mapping[str, float]]) -> pd.DataFrame:
    """ACT-4: one row per activity with its own area on the grid (overlaps counted for each
    activity) and on degraded land, next to its reported area (ha)."""
    rows = [
        {
            "ID": a["id"],
            "Name": a["name"],
            "Status": a["status"],
            "Level": a["level"],
            "Practices": a["practices"],
            "Start year": a["start_year"],
            "Reported area (ha)": a["reported_area_ha"],
            "Area on the grid (km²)": v[AREA],
            "Area on degraded land (km²)": v[ON_DEGRADED],
        }
        for (_, a), v in zip(activities.iterrows(), areas, strict=True)
    ]
    return titled(pd.DataFrame(rows), "ACT-4")


def titled(df: pd.DataFrame, table_id: str) -> pd.DataFrame:
    """``df`` with its title in ``attrs``."""
    df.attrs["title"] = TITLES[table_id]
    return df
