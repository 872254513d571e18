"""The degraded-land extension: hectares of a land flow that lie on degraded land.

The run stage computes, per producing country (or region polygon), the share of its cropland and
grazing land that the SO1 status marks degraded; this module checks that table and applies it to the
tidy flow tables of either footprint method. The degraded hectares of a flow are its hectares times
the degraded share of its producer's land use: the share is a property of where the land is, so it
travels with the land through trade and input-output linkages unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit.codes import CROPLAND, DEGRADED, GRASSLAND
from ldnkit.crosstab import crosstab
from ldnkit.errors import InputError

__all__ = [
    "LAND_USES",
    "SHARE_COLUMNS",
    "check_degraded_share",
    "degraded_share_of",
    "add_degraded_hectares",
    "LAND_USE_OF_COVER",
    "degraded_share_from_areas",
    "degraded_share_by_zone",
]

#: UNCCD land-cover class -> the land use footprints count it as (grassland stands for grazing land).
LAND_USE_OF_COVER = {CROPLAND: "cropland", GRASSLAND: "grazing"}

#: Land uses the degraded share is given for (UNCCD cropland and grazing land; others allowed).
LAND_USES = ("cropland", "grazing")

#: Columns of a degraded-share table: producing region, land use, degraded share (fraction 0..1).
SHARE_COLUMNS = ("region", "land_use", "degraded_share")


def check_degraded_share(shares: pd.DataFrame, where: str = "degraded_share") -> pd.Series:
    """Check a degraded-share table and return it as a Series indexed by (region, land_use).

    ``shares`` has one row per producing region and land use: ``region`` (str), ``land_use``
    (e.g. ``"cropland"``, ``"grazing"``) and ``degraded_share`` (fraction of that land that is
    degraded, 0..1). Raises :class:`InputError` (one line, naming the row and column) on a missing
    column, a share outside 0..1 or not a number, or a region and land use given twice.

    >>> s = pd.DataFrame({"region": ["A"], "land_use": ["cropland"], "degraded_share": [0.25]})
    >>> float(check_degraded_share(s)[("A", "cropland")])
    0.25
    """
    missing = [c for c in SHARE_COLUMNS if c not in shares.columns]
    if missing:
        raise InputError(where, f"has no column {missing[0]!r}", f"give columns {', '.join(SHARE_COLUMNS)}")
    values = pd.to_numeric(shares["degraded_share"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~((values >= 0) & (values <= 1)))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            where,
            f"row {row + 1}, column 'degraded_share': '{shares['degraded_share'].iloc[row]}' is not a "
            "fraction between 0 and 1",
            "give the degraded share of the land as a fraction (0.25 for 25 %)",
        )
    index = pd.MultiIndex.from_arrays(
        [shares["region"].astype(str), shares["land_use"].astype(str)], names=["region", "land_use"]
    )
    duplicated = np.flatnonzero(index.duplicated())
    if duplicated.size:
        row = int(duplicated[0])
        raise InputError(
            where,
            f"row {row + 1}: region {index[row][0]!r} and land use {index[row][1]!r} are given twice",
            "give one share per region and land use",
        )
    return pd.Series(values, index=index, name="degraded_share")


def add_degraded_hectares(flows: pd.DataFrame, shares: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``degraded_hectares`` (ha) = ``hectares`` x the producer's degraded share of that land use.

    ``flows`` has columns ``producer``, ``land_use`` and ``hectares``. A producer and land use without
    a share (land outside the mapped area) gets NaN: unknown, not zero. With ``shares`` None the
    column is all NaN, so tables keep one shape.
    """
    out = flows.copy()
    share = degraded_share_of(shares, out["producer"], out["land_use"])
    out["degraded_hectares"] = out["hectares"].to_numpy() * share
    return out


def degraded_share_of(shares: pd.DataFrame | None, regions, land_uses) -> np.ndarray:
    """Degraded share (0..1) for each pair of ``regions`` and ``land_uses``; NaN where not given."""
    if shares is None:
        return np.full(len(regions), np.nan)
    share = check_degraded_share(shares)
    keys = pd.MultiIndex.from_arrays([pd.Index(regions).astype(str), pd.Index(land_uses).astype(str)])
    return share.reindex(keys).to_numpy()


def degraded_share_from_areas(areas: pd.DataFrame) -> pd.DataFrame:
    """Degraded share of each region's cropland and grazing land from an area cross-tabulation.

    ``areas`` has columns ``region``, ``land_cover`` (UNCCD class code, ``ldnkit.codes``), ``status``
    (SO1 status: -1 degraded, 0 stable, 1 improved; other values, e.g. no data, are left out) and
    ``area`` (any one unit): the table a run gets by cross-tabulating the status with the land cover
    of the status period's final year inside each country or region polygon. Returns a table with
    ``region``, ``land_use`` (:data:`LAND_USE_OF_COVER`) and ``degraded_share`` (0..1), for the
    regions and land uses with some area.

    >>> a = pd.DataFrame({"region": ["A"] * 3, "land_cover": [3, 3, 2], "status": [-1, 0, 0],
    ...                   "area": [1.0, 3.0, 5.0]})
    >>> degraded_share_from_areas(a).to_dict("records")
    [{'region': 'A', 'land_use': 'cropland', 'degraded_share': 0.25}, \
{'region': 'A', 'land_use': 'grazing', 'degraded_share': 0.0}]
    """
    kept = areas[areas["land_cover"].isin(list(LAND_USE_OF_COVER)) & areas["status"].isin([-1, 0, 1])]
    kept = kept.assign(
        land_use=kept["land_cover"].map(LAND_USE_OF_COVER),
        degraded=np.where(kept["status"] == DEGRADED, kept["area"], 0.0),
    )
    totals = kept.groupby(["region", "land_use"], sort=True)[["degraded", "area"]].sum()
    totals = totals[totals["area"] > 0]
    share = (totals["degraded"] / totals["area"]).rename("degraded_share")
    return share.reset_index()


def degraded_share_by_zone(
    status: xr.DataArray,
    land_cover: xr.DataArray,
    area: xr.DataArray,
    zones: xr.DataArray,
    names: Mapping[int, str],
) -> pd.DataFrame:
    """Degraded share of each zone's cropland and grazing land from the SO1 maps, in one pass.

    ``status`` (SO1 status: -1 degraded, 0 stable, 1 improved, NODATA), ``land_cover`` (UNCCD
    classes of the status period's final year), ``area`` (km² per pixel, :func:`ldnkit.area.cell_area`)
    and ``zones`` (int16 ids, NODATA outside every zone) are on one grid; ``names`` maps zone id to
    the producer name. The weighted cross-tabulation (:func:`ldnkit.crosstab.crosstab`) feeds
    :func:`degraded_share_from_areas`; the result has ``region``, ``land_use``, ``degraded_share``
    (0..1) and ``area_km2`` (the land use's area with a status in the zone).

    >>> import numpy as np, xarray as xr
    >>> grid = lambda a: xr.DataArray(np.array(a, dtype="int16"), dims=("y", "x"))
    >>> degraded_share_by_zone(grid([[-1, 0]]), grid([[3, 3]]), xr.ones_like(grid([[0, 0]]), float),
    ...                        grid([[1, 1]]), {1: "A"})[["region", "degraded_share"]].values.tolist()
    [['A', 0.5]]
    """
    areas = crosstab({"status": status, "land_cover": land_cover}, area, zones=zones)
    areas = areas.assign(region=areas["zone"].map(lambda z: names.get(int(z), str(z))))
    shares = degraded_share_from_areas(areas)
    kept = areas[areas["land_cover"].isin(list(LAND_USE_OF_COVER)) & areas["status"].isin([-1, 0, 1])]
    totals = kept.assign(land_use=kept["land_cover"].map(LAND_USE_OF_COVER)).groupby(["region", "land_use"])
    area_km2 = totals["area"].sum().rename("area_km2").reset_index()
    return shares.merge(area_km2, on=["region", "land_use"], how="left")
