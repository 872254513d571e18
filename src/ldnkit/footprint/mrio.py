"""Land footprints on a multi-regional input-output system, through pymrio.

pymrio does the algebra (``A = Z diag(x)^-1``, ``L = (I - A)^-1``, ``S = F diag(x)^-1``, the
consumption-based account ``D_cba = S L diag(Y)``); this module only builds the satellite accounts:

- ``land`` (ha, one row per land use) and ``degraded_land`` (ha of it on degraded land) extensions
  added to an :class:`pymrio.IOSystem`, so every pymrio account (D_cba, D_pba, D_imp, D_exp) exists for
  them;
- an origin-resolved land account (one row per land use and producing region, or region and sector,
  holding only that producer's land), whose ``D_cba`` is the land of each producer embodied in each
  region's final demand of each product: the bilateral table.

With land ``e`` per unit output, the footprint of final demand is ``diag(e) L Y`` (Leontief; Miller and
Blair 2009, ch. 2; Bruckner et al. 2019 for FABIO's land extensions).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ldnkit.errors import InputError
from ldnkit.footprint.degraded import add_degraded_hectares, degraded_share_of

if TYPE_CHECKING:  # pymrio is the optional extra `footprint`: imported when first used
    import pymrio

__all__ = [
    "LAND_COLUMNS",
    "MRIO_FLOW_COLUMNS",
    "land_accounts",
    "add_land_extensions",
    "mrio_land_footprint",
    "pymrio_module",
]

#: Columns of a land table: region and sector of the MRIO system, land use, hectares (ha).
LAND_COLUMNS = ("region", "sector", "land_use", "hectares")
#: Columns of the tidy result: ``sector`` is the final product consumed; hectares in ha.
MRIO_FLOW_COLUMNS = ("producer", "consumer", "sector", "land_use", "hectares", "degraded_hectares")


def land_accounts(io: pymrio.IOSystem, land: pd.DataFrame, where: str = "land") -> pd.DataFrame:
    """The land satellite matrix F (ha): one row per land use, one column per (region, sector) of ``io``.

    ``land`` has :data:`LAND_COLUMNS`, one row per region, sector and land use (repeats add up);
    regions and sectors must be those of ``io`` (an :class:`InputError` names the first that is not).
    """
    land = _checked_land(io, land, where)
    columns = _core_index(io)
    table = land.pivot_table(index="land_use", columns=["region", "sector"], values="hectares", aggfunc="sum")
    return table.reindex(columns=columns).fillna(0.0).rename_axis("land_use")


def add_land_extensions(
    io: pymrio.IOSystem, land: pd.DataFrame, degraded_share: pd.DataFrame | None = None
) -> pymrio.IOSystem:
    """Add the extensions ``land`` and ``degraded_land`` (ha, rows = land use) to ``io`` and return it.

    ``degraded_land`` is ``land`` times each producing region's degraded share of that land use (see
    :func:`ldnkit.footprint.degraded.check_degraded_share`); land in a region without a share counts
    as not degraded there, and ``io.degraded_land.unmapped`` lists those (region, land use) pairs.
    Run ``io.calc_all()`` afterwards for pymrio's accounts (``io.land.D_cba_reg`` ...).
    """
    accounts = land_accounts(io, land)
    io.land = pymrio_module().Extension(name="land", F=accounts, unit=_unit(accounts.index))
    if degraded_share is not None:
        rows, cols = np.meshgrid(accounts.index, accounts.columns.get_level_values("region"), indexing="ij")
        share = degraded_share_of(degraded_share, cols.ravel(), rows.ravel()).reshape(accounts.shape)
        unmapped_cell = (accounts.to_numpy() > 0) & np.isnan(share)
        unmapped = sorted(set(zip(cols[unmapped_cell], rows[unmapped_cell], strict=True)))
        degraded = accounts * np.nan_to_num(share)
        io.degraded_land = pymrio_module().Extension(
            name="degraded_land", F=degraded, unit=_unit(degraded.index)
        )
        io.degraded_land.unmapped = unmapped
    return io


def mrio_land_footprint(
    io: pymrio.IOSystem,
    land: pd.DataFrame,
    *,
    degraded_share: pd.DataFrame | None = None,
    by_producing_sector: bool = False,
) -> pd.DataFrame:
    """Land (and degraded land) of each producer embodied in each region's final demand, via pymrio.

    ``io`` is any pymrio system (EXIOBASE, FABIO, Eora, ``pymrio.load_test()`` ...); its missing core
    parts (x, A, L) are computed by pymrio. ``land`` has :data:`LAND_COLUMNS`. Returns one row per
    non-zero flow with :data:`MRIO_FLOW_COLUMNS`: ``hectares`` of ``producer``'s ``land_use`` embodied
    in ``consumer``'s final demand (all categories) for ``sector``, and the ``degraded_hectares``
    among them (NaN where the producer has no degraded share). With ``by_producing_sector`` a
    ``producing_sector`` column says which sector uses the land (more rows).

    Summed over producers, the table equals pymrio's ``D_cba`` of the same land extension; summed over
    everything, the land used by industries.
    """
    land = _checked_land(io, land, "land")
    io.calc_system()
    keys = ["land_use", "region", "sector"] if by_producing_sector else ["land_use", "region"]
    land = land[land["hectares"] > 0]
    origin = pd.MultiIndex.from_frame(land[keys]).unique().sort_values()
    columns = _core_index(io)
    by_producer = np.zeros((len(origin), len(columns)))
    np.add.at(
        by_producer,
        (
            origin.get_indexer(pd.MultiIndex.from_frame(land[keys])),
            columns.get_indexer(pd.MultiIndex.from_frame(land[["region", "sector"]])),
        ),
        land["hectares"].to_numpy(),
    )
    names = {"region": "producer", "sector": "producing_sector"}
    index = origin.rename([names.get(k, k) for k in keys])
    extension = pymrio_module().Extension(
        name="land_by_origin", F=pd.DataFrame(by_producer, index=index, columns=columns), unit=_unit(index)
    )
    extension.calc_system(x=io.x, Y=io.Y, L=io.L)
    flows = extension.D_cba.stack(level=list(range(extension.D_cba.columns.nlevels)), future_stack=True)
    flows = flows[flows != 0].rename("hectares").reset_index()
    flows = flows.rename(columns={"region": "consumer"})
    order = [
        "producer",
        *(["producing_sector"] if by_producing_sector else []),
        "consumer",
        "sector",
        "land_use",
    ]
    flows = add_degraded_hectares(flows[[*order, "hectares"]], degraded_share)
    flows.attrs = {"method": "environmentally extended MRIO (Leontief, pymrio D_cba)"}
    return flows


def pymrio_module():
    """The pymrio module, or an error saying how to install it."""
    try:
        return importlib.import_module("pymrio")
    except ImportError:
        raise ImportError("MRIO footprints need pymrio: pip install 'ldnkit[footprint]'") from None


def _core_index(io: pymrio.IOSystem) -> pd.MultiIndex:
    """The (region, sector) index of the system's industries."""
    index = io.Z.index if io.Z is not None else io.A.index
    return index


def _unit(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({"unit": "ha"}, index=index)


def _checked_land(io: pymrio.IOSystem, land: pd.DataFrame, where: str) -> pd.DataFrame:
    """``land`` with :data:`LAND_COLUMNS` after checking names against ``io`` and hectares >= 0."""
    missing = [c for c in LAND_COLUMNS if c not in land.columns]
    if missing:
        raise InputError(where, f"has no column {missing[0]!r}", f"give columns {', '.join(LAND_COLUMNS)}")
    out = land[list(LAND_COLUMNS)].copy()
    hectares = pd.to_numeric(out["hectares"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~(np.isfinite(hectares) & (hectares >= 0)))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            where, f"row {row + 1}, column 'hectares': '{land['hectares'].iloc[row]}' is not a number >= 0"
        )
    out["hectares"] = hectares
    core = _core_index(io)
    for column, known in (("region", core.get_level_values(0)), ("sector", core.get_level_values(1))):
        unknown = np.flatnonzero(~out[column].isin(set(known)).to_numpy())
        if unknown.size:
            row = int(unknown[0])
            raise InputError(
                where,
                f"row {row + 1}, column {column!r}: '{out[column].iloc[row]}' is not a {column} "
                "of the MRIO system",
            )
    return out
