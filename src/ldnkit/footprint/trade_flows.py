"""Land footprints by physical trade flows (Kastner, Kastner, Nonhebel 2011), re-exports traced.

For one commodity and ``n`` countries, with production ``p`` (t), harvested area ``H`` (ha) and the
bilateral trade matrix ``T`` (t, exporter row, importer column):

- availability ``x_j = p_j + sum_i T_ij`` (production plus imports);
- ``B_jk = T_jk / x_j``, the share of what is available in ``j`` that goes on to ``k``;
- origin ``O = diag(p) (I - B)^-1``: ``O_ik`` is the product of ``i`` that passes through ``k``;
- consumption ``c_k = x_k - sum_l T_kl`` (availability minus exports), consumed share ``c_k / x_k``;
- land of producer ``i`` in the consumption of ``k`` = ``O_ik (c_k / x_k) H_i / p_i``.

Since ``(I - B)^-1 (c / x) = (I - B)^-1 (I - B) 1 = 1``, each producer's harvested area is allocated
in full: the sum over consumers equals ``H_i``. The land matrix is computed as
``diag(H) (I - B)^-1 diag(c / x)`` (``p_i`` cancels) by one sparse LU factorisation per commodity
(scipy), solved only for the countries that harvest it.

Where a country's exports exceed its availability (stock changes, reporting gaps), its exports are
scaled down to its availability, so no consumption is negative; the tidy table's ``attrs`` list them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.linalg

from ldnkit.errors import InputError
from ldnkit.footprint.degraded import degraded_share_of

__all__ = [
    "PRODUCTION_COLUMNS",
    "TRADE_COLUMNS",
    "FLOW_COLUMNS",
    "LandFlows",
    "commodity_land_flows",
    "trade_flow_footprint",
]

#: Columns of a production table: country, commodity, production (t), harvested area (ha).
PRODUCTION_COLUMNS = ("country", "commodity", "production", "harvested_area")
#: Columns of a trade table: exporter, importer, commodity, quantity (t, exporter -> importer).
TRADE_COLUMNS = ("exporter", "importer", "commodity", "quantity")
#: Columns of the tidy result (hectares and degraded hectares in ha).
FLOW_COLUMNS = ("producer", "consumer", "commodity", "land_use", "hectares", "degraded_hectares")

#: Above this many countries (sub-national systems), the solve uses a sparse LU instead of LAPACK.
SPARSE_ABOVE = 2000

# Exports may exceed availability by this relative margin (rounding in the tables) before scaling.
_EXPORT_SLACK = 1e-9


class LandFlows(NamedTuple):
    """Land flows of one commodity, by country index: ``hectares[m]`` of ``producer[m]``'s harvested
    area end in the consumption of ``consumer[m]``; ``scaled`` are the countries whose exports were
    scaled down to their availability, by ``factor``."""

    producer: np.ndarray
    consumer: np.ndarray
    hectares: np.ndarray
    scaled: np.ndarray
    factor: np.ndarray


def commodity_land_flows(
    production: np.ndarray,
    area: np.ndarray,
    exporter: np.ndarray,
    importer: np.ndarray,
    quantity: np.ndarray,
    where: str = "trade",
) -> LandFlows:
    """Kastner et al. (2011) land flows of one commodity over ``n = len(production)`` countries.

    ``production`` (t) and ``area`` (harvested ha) are per country; the trade is given as triplets
    (``exporter``, ``importer`` country indices, ``quantity`` t); repeated pairs add up and trade of a
    country with itself is ignored. Returns the non-zero flows (see :class:`LandFlows`); over all
    consumers they sum to each producer's ``area``.

    >>> f = commodity_land_flows(np.array([10.0, 0]), np.array([5.0, 0]), np.array([0]), np.array([1]),
    ...                          np.array([4.0]))
    >>> [(int(i), int(k), float(h)) for i, k, h in zip(f.producer, f.consumer, f.hectares)]
    [(0, 0, 3.0), (0, 1, 2.0)]
    """
    n = len(production)
    production = np.asarray(production, dtype=float)
    area = np.asarray(area, dtype=float)
    between = np.asarray(exporter) != np.asarray(importer)
    trade = scipy.sparse.csr_matrix(
        (
            np.asarray(quantity, dtype=float)[between],
            (np.asarray(exporter)[between], np.asarray(importer)[between]),
        ),
        shape=(n, n),
    )
    availability = production + np.asarray(trade.sum(axis=0)).ravel()
    exports = np.asarray(trade.sum(axis=1)).ravel()
    scaled = np.flatnonzero(exports > availability * (1 + _EXPORT_SLACK))
    factor = availability[scaled] / exports[scaled]
    row_scale = np.ones(n)
    row_scale[scaled] = factor
    trade.eliminate_zeros()
    exporting = np.repeat(np.arange(n), np.diff(trade.indptr))
    # B = T / x entry by entry (no 1/x that could overflow); a country exporting with nothing available
    # (x = 0) has had its exports scaled to 0
    scaled_trade, available = trade.data * row_scale[exporting], availability[exporting]
    share_data = np.divide(scaled_trade, available, out=np.zeros_like(scaled_trade), where=available > 0)
    shares = scipy.sparse.csr_matrix((share_data, trade.indices, trade.indptr), shape=(n, n))
    consumed_share = np.clip(1.0 - np.asarray(shares.sum(axis=1)).ravel(), 0.0, 1.0)  # c / x
    producers = np.flatnonzero(area > 0)
    if producers.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return LandFlows(empty, empty, np.zeros(0), scaled, factor)
    rhs = np.zeros((n, producers.size))
    rhs[producers, np.arange(producers.size)] = area[producers]
    try:
        land = _solve_transposed(scipy.sparse.identity(n, format="csr") - shares, rhs)
    except (RuntimeError, np.linalg.LinAlgError) as error:  # product circulating, never consumed
        raise InputError(
            where,
            f"re-exports form a closed loop in which nothing is consumed ({error})",
            "check the trade matrix: some countries export all they have to each other",
        ) from None
    land *= consumed_share[:, None]  # land[k, j]: of producer producers[j] in the consumption of k
    consumer, column = np.nonzero(land)
    return LandFlows(producers[column], consumer, land[consumer, column], scaled, factor)


def _one_blas_thread():
    """Keep BLAS to one thread for these small solves (threadpoolctl, from the `footprint` extra):
    a threaded OpenBLAS on a 200 x 200 matrix is ~8x slower than one thread on a busy machine."""
    try:
        import threadpoolctl
    except ImportError:
        return contextlib.nullcontext()
    return threadpoolctl.threadpool_limits(1, user_api="blas")


def _solve_transposed(matrix: scipy.sparse.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    """``matrix.T^-1 rhs``: LAPACK on the dense matrix up to :data:`SPARSE_ABOVE` countries (trade
    matrices of ~250 countries fill in under LU anyway), one sparse LU (SuperLU) above."""
    if matrix.shape[0] <= SPARSE_ABOVE:
        with _one_blas_thread():
            return np.linalg.solve(matrix.T.toarray(), rhs)
    return scipy.sparse.linalg.splu(matrix.T.tocsc()).solve(rhs)


def trade_flow_footprint(
    production: pd.DataFrame,
    trade: pd.DataFrame,
    *,
    land_use: Mapping[str, str] | None = None,
    degraded_share: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Land (and degraded land) embodied in each country's consumption, by physical trade flows.

    ``production`` has :data:`PRODUCTION_COLUMNS` (``production`` in t, ``harvested_area`` in ha, one
    row per country and commodity; repeats add up); ``trade`` has :data:`TRADE_COLUMNS` (``quantity``
    in t from ``exporter`` to ``importer``). ``land_use`` maps a commodity to the land use its area
    counts as (default ``"cropland"``); ``degraded_share`` is a table of the degraded share of each
    producer's land (see :func:`ldnkit.footprint.degraded.check_degraded_share`).

    Returns one row per non-zero flow with :data:`FLOW_COLUMNS`: ``hectares`` of ``producer``'s
    harvested area of ``commodity`` embodied in ``consumer``'s consumption, and the ``degraded_hectares``
    among them (NaN where the producer has no degraded share). Over consumers, ``hectares`` sums to
    each producer's harvested area. ``attrs["exports_scaled"]`` lists (country, commodity, factor)
    where exports exceeding availability were scaled down.

    >>> prod = pd.DataFrame({"country": ["A", "B"], "commodity": ["wheat"] * 2,
    ...                      "production": [10.0, 0.0], "harvested_area": [5.0, 0.0]})
    >>> trade = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "commodity": ["wheat"],
    ...                       "quantity": [4.0]})
    >>> trade_flow_footprint(prod, trade)[["producer", "consumer", "hectares"]].to_numpy().tolist()
    [['A', 'A', 3.0], ['A', 'B', 2.0]]
    """
    production = _checked(production, PRODUCTION_COLUMNS, ("production", "harvested_area"), "production")
    trade = _checked(trade, TRADE_COLUMNS, ("quantity",), "trade")
    countries = _names(production["country"], trade["exporter"], trade["importer"])
    commodities = _names(production["commodity"])
    n = len(countries)
    flat = _codes(production["commodity"], commodities) * n + _codes(production["country"], countries)
    size = len(commodities) * n
    tonnes = np.bincount(flat, production["production"].to_numpy(dtype=float), size).reshape(-1, n)
    hectares = np.bincount(flat, production["harvested_area"].to_numpy(dtype=float), size).reshape(-1, n)
    trade_code = _codes(trade["commodity"], commodities)
    known = trade_code >= 0  # traded but never produced: no land to follow
    order = np.argsort(trade_code[known], kind="stable")
    bounds = np.searchsorted(trade_code[known][order], np.arange(len(commodities) + 1))
    exporter = _codes(trade["exporter"], countries)[known][order]
    importer = _codes(trade["importer"], countries)[known][order]
    quantity = trade["quantity"].to_numpy(dtype=float)[known][order]
    parts, scaled = [], []
    for c, commodity in enumerate(commodities):
        span = slice(bounds[c], bounds[c + 1])
        flows = commodity_land_flows(
            tonnes[c], hectares[c], exporter[span], importer[span], quantity[span], f"trade ({commodity})"
        )
        parts.append(flows)
        scaled += [
            (countries[i], commodity, float(f)) for i, f in zip(flows.scaled, flows.factor, strict=True)
        ]
    table = _tidy(parts, countries, commodities, land_use, degraded_share)
    table.attrs = {"method": "physical trade flows (Kastner et al. 2011)", "exports_scaled": scaled}
    return table


def _tidy(
    parts: list[LandFlows],
    countries: pd.Index,
    commodities: pd.Index,
    land_use: Mapping[str, str] | None,
    degraded_share: pd.DataFrame | None,
) -> pd.DataFrame:
    """One DataFrame of every commodity's flows (names taken by code: no per-row string hashing)."""
    uses_of = np.array([(land_use or {}).get(name, "cropland") for name in commodities], dtype=object)
    uses = pd.Index(sorted(set(uses_of)))
    use_code = uses.get_indexer(uses_of)
    commodity = np.repeat(np.arange(len(parts)), [len(f.hectares) for f in parts]).astype(np.int32)
    producer = np.concatenate([f.producer for f in parts] or [np.zeros(0, int)]).astype(np.int32)
    consumer = np.concatenate([f.consumer for f in parts] or [np.zeros(0, int)]).astype(np.int32)
    hectares = np.concatenate([f.hectares for f in parts] or [np.zeros(0)])
    regions, land_uses = np.meshgrid(countries.to_numpy(dtype=object), uses.to_numpy(dtype=object))
    share = degraded_share_of(degraded_share, regions.ravel(), land_uses.ravel()).reshape(len(uses), -1)
    return pd.DataFrame(
        {
            "producer": countries.take(producer).array,
            "consumer": countries.take(consumer).array,
            "commodity": commodities.take(commodity).array,
            "land_use": uses.take(use_code[commodity]).array,
            "hectares": hectares,
            "degraded_hectares": hectares * share[use_code[commodity], producer],
        }
    )


def _names(*columns: pd.Series) -> pd.Index:
    """The sorted distinct names in ``columns``."""
    return pd.Index(np.unique(np.concatenate([column.unique().astype(object) for column in columns])))


def _codes(values: pd.Series, names: pd.Index) -> np.ndarray:
    """Position of each value in ``names`` (-1 if absent), hashing each distinct value once."""
    codes, uniques = pd.factorize(values)
    return names.get_indexer(uniques)[codes] if len(codes) else np.zeros(0, dtype=np.int64)


def _checked(
    table: pd.DataFrame, columns: tuple[str, ...], amounts: tuple[str, ...], where: str
) -> pd.DataFrame:
    """``table`` with names as str, after checking its columns and that amounts are finite and >= 0."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(where, f"has no column {missing[0]!r}", f"give columns {', '.join(columns)}")
    out = table[list(columns)].copy()
    for column in columns:
        if column not in amounts:
            out[column] = out[column].astype(str)
    for column in amounts:
        values = pd.to_numeric(out[column], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(np.isfinite(values) & (values >= 0)))
        if bad.size:
            row = int(bad[0])
            raise InputError(
                where,
                f"row {row + 1}, column {column!r}: '{table[column].iloc[row]}' is not a number >= 0",
                "give amounts as non-negative numbers (t or ha)",
            )
        out[column] = values
    return out
