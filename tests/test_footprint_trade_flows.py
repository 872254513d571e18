"""Physical trade-flow land footprints (Kastner et al. 2011): formula, conservation, re-exports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnkit.errors import InputError
from ldnkit.footprint import commodity_land_flows, trade_flow_footprint


def dense(flows, n: int) -> np.ndarray:
    land = np.zeros((n, n))
    np.add.at(land, (flows.producer, flows.consumer), flows.hectares)
    return land


def kastner_reference(p, h, t):
    """The formula as written: x = p + imports, B = T / x, O = diag(p) (I - B)^-1, O (c / x) H / p."""
    x = p + t.sum(axis=0)
    b = t / x[:, None]
    origin = np.diag(p) @ np.linalg.inv(np.eye(len(p)) - b)
    consumed = (x - t.sum(axis=1)) / x
    return origin * consumed[None, :] * (h / p)[:, None]


def test_matches_the_formula_as_written():
    rng = np.random.default_rng(3)
    n = 6
    p = rng.uniform(10, 100, n)
    h = rng.uniform(1, 50, n)
    t = rng.uniform(0, 8, (n, n)) * (rng.random((n, n)) < 0.6)
    np.fill_diagonal(t, 0)
    i, k = np.nonzero(t)
    flows = commodity_land_flows(p, h, i, k, t[i, k])
    assert flows.scaled.size == 0
    np.testing.assert_allclose(dense(flows, n), kastner_reference(p, h, t), rtol=1e-10, atol=1e-12)


def test_re_exports_are_traced_to_the_grower():
    # A grows 100 t on 50 ha and sells 60 t to B, which grows none and passes 30 t on to C
    flows = commodity_land_flows(
        np.array([100.0, 0, 0]),
        np.array([50.0, 0, 0]),
        np.array([0, 1]),
        np.array([1, 2]),
        np.array([60.0, 30.0]),
    )
    np.testing.assert_allclose(dense(flows, 3)[0], [20.0, 15.0, 15.0])


@st.composite
def trade_systems(draw):
    n = draw(st.integers(2, 9))
    amounts = st.floats(0, 1000, allow_nan=False, allow_infinity=False)
    p = np.array(draw(st.lists(amounts, min_size=n, max_size=n)))
    h = np.array(draw(st.lists(amounts, min_size=n, max_size=n)))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), amounts), max_size=3 * n))
    exporter, importer, quantity = (np.array(v) for v in zip(*pairs, strict=True)) if pairs else ([],) * 3
    return p, h, np.asarray(exporter, int), np.asarray(importer, int), np.asarray(quantity, float)


@settings(max_examples=300, deadline=None)
@given(trade_systems())
def test_conservation_on_random_trade_with_re_exports(system):
    """Each producer's harvested area is allocated in full, whatever the trade (exports beyond
    availability, countries growing none, loops of re-exports)."""
    p, h, exporter, importer, quantity = system
    try:
        flows = commodity_land_flows(p, h, exporter, importer, quantity)
    except InputError as error:  # only a closed loop in which nothing is consumed is refused
        assert "closed loop" in str(error)
        return
    land = dense(flows, len(p))
    assert (flows.hectares > -1e-9 * max(h.max(), 1)).all()
    np.testing.assert_allclose(land.sum(axis=1), h, rtol=1e-7, atol=1e-7 * max(h.max(), 1))


def test_exports_beyond_availability_are_scaled_and_reported():
    production = pd.DataFrame(
        {
            "country": ["A", "B"],
            "commodity": ["rice", "rice"],
            "production": [10.0, 5.0],
            "harvested_area": [4.0, 2.0],
        }
    )
    trade = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "commodity": ["rice"], "quantity": [20.0]})
    flows = trade_flow_footprint(production, trade)
    assert flows.attrs["exports_scaled"] == [("A", "rice", 0.5)]
    assert flows.set_index(["producer", "consumer"])["hectares"].to_dict() == {
        ("A", "B"): 4.0,
        ("B", "B"): 2.0,
    }


def test_closed_loop_without_consumption_is_an_input_error():
    with pytest.raises(InputError, match=r"trade \(x\): re-exports form a closed loop"):
        commodity_land_flows(
            np.array([0.0, 0]),
            np.array([1.0, 0]),
            np.array([0, 1]),
            np.array([1, 0]),
            np.array([5.0, 5.0]),
            where="trade (x)",
        )


def test_tidy_table_land_use_and_degraded_share():
    production = pd.DataFrame(
        {
            "country": ["A", "B", "A"],
            "commodity": ["wheat", "wheat", "hay"],
            "production": [10.0, 10.0, 4.0],
            "harvested_area": [2.0, 6.0, 8.0],
        }
    )
    trade = pd.DataFrame(
        {
            "exporter": ["A", "A"],
            "importer": ["B", "B"],
            "commodity": ["wheat", "cotton"],
            "quantity": [5.0, 3.0],
        }
    )
    share = pd.DataFrame(
        {"region": ["A", "A"], "land_use": ["cropland", "grazing"], "degraded_share": [0.5, 0.25]}
    )
    flows = trade_flow_footprint(production, trade, land_use={"hay": "grazing"}, degraded_share=share)
    assert list(flows.columns) == [
        "producer",
        "consumer",
        "commodity",
        "land_use",
        "hectares",
        "degraded_hectares",
    ]
    rows = {
        (r.producer, r.consumer, r.commodity): (r.land_use, r.hectares, r.degraded_hectares)
        for r in flows.itertuples()
    }
    assert rows[("A", "A", "hay")] == ("grazing", 8.0, 2.0)
    assert rows[("A", "A", "wheat")] == ("cropland", 1.0, 0.5)
    assert rows[("A", "B", "wheat")] == ("cropland", 1.0, 0.5)
    assert rows[("B", "B", "wheat")][:2] == ("cropland", 6.0) and np.isnan(rows[("B", "B", "wheat")][2])
    assert "cotton" not in set(flows["commodity"])  # traded but never grown: no land


def test_bad_tables_are_one_line_errors():
    production = pd.DataFrame(
        {"country": ["A"], "commodity": ["w"], "production": ["lots"], "harvested_area": [1.0]}
    )
    trade = pd.DataFrame({"exporter": [], "importer": [], "commodity": [], "quantity": []})
    with pytest.raises(
        InputError, match=r"^production: row 1, column 'production': 'lots' is not a number >= 0"
    ):
        trade_flow_footprint(production, trade)
    with pytest.raises(InputError, match=r"^trade: has no column 'quantity'"):
        trade_flow_footprint(production.assign(production=1.0), trade.drop(columns="quantity"))
    share = pd.DataFrame({"region": ["A"], "land_use": ["cropland"], "degraded_share": [25]})
    with pytest.raises(
        InputError, match=r"^degraded_share: row 1, column 'degraded_share': '25' is not a fraction"
    ):
        trade_flow_footprint(production.assign(production=1.0), trade, degraded_share=share)


def test_sparse_lu_gives_the_dense_result(monkeypatch):
    """Above SPARSE_ABOVE countries the solve is a sparse LU; both paths agree."""
    from ldnkit.footprint import trade_flows

    rng = np.random.default_rng(11)
    n = 30
    p, h = rng.uniform(0, 100, n), rng.uniform(0, 40, n)
    exporter, importer = rng.integers(0, n, 120), rng.integers(0, n, 120)
    quantity = rng.uniform(0, 10, 120)
    dense_flows = commodity_land_flows(p, h, exporter, importer, quantity)
    monkeypatch.setattr(trade_flows, "SPARSE_ABOVE", 0)
    sparse_flows = commodity_land_flows(p, h, exporter, importer, quantity)
    np.testing.assert_allclose(dense(sparse_flows, n), dense(dense_flows, n), rtol=1e-10, atol=1e-10)
