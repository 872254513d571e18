"""The Combined Drought Indicator state machine against hand-written transition tables.

The expected classes are typed here from Cammalleri et al. (2021)'s transition table (previous
class x the 18 input combinations), in the paper's column order, independently of the rule file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from ldnkit import codes
from ldnkit.errors import InputError
from ldnkit.indicators.early_warning import CdiState, cdi_rules, combined_drought_indicator
from ldnkit.indicators.early_warning.cdi import rules_from_dict

NA = codes.EW_NODATA
COLUMNS = (233, 232, 231, 223, 222, 221, 213, 212, 211, 133, 132, 131, 123, 122, 121, 113, 112, 111)
# fmt: off
HAND_TABLE = {  # previous classes -> next class under each column
    (0, 4): (0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3, 1, 1, 3, 2, 2, 3),
    (1,):   (4, 4, 3, 4, 4, 3, 2, 2, 3, 1, 1, 3, 1, 1, 3, 2, 2, 3),
    (2, 5): (5, 4, 3, 5, 4, 3, 2, 2, 3, 5, 1, 3, 5, 1, 3, 2, 2, 3),
    (3, 6): (6, 4, 3, 6, 4, 3, 6, 2, 3, 6, 1, 3, 6, 1, 3, 6, 2, 3),
}
# fmt: on
#: Combinations leading from "no drought" to each previous class, with the classes they give.
PREFIX = {
    0: ((233, 233), (0, 0)),
    1: ((233, 133), (0, 1)),
    2: ((233, 113), (0, 2)),
    3: ((233, 131), (0, 3)),
    4: ((133, 233), (1, 4)),
    5: ((113, 233), (2, 5)),
    6: ((131, 233), (3, 6)),
}
#: Input values giving each digit: precipitation (SPI-1, SPI-3), then z classes 1, 2, 3.
PRECIP = {1: (-2.5, 0.3), 2: (0.0, 0.0)}
Z = {1: -1.5, 2: -0.5, 3: 0.5}


def inputs_of(sequences: list[list[int]], nan_mask: np.ndarray | None = None):
    """(spi1, spi3, sm_z, fapar_z) DataArrays (time, 1, n) from combination codes per pixel."""
    n_time, n_pix = len(sequences[0]), len(sequences)
    arr = np.empty((4, n_time, 1, n_pix), dtype=np.float32)
    for i, seq in enumerate(sequences):
        for t, code in enumerate(seq):
            p, s, f = code // 100, (code // 10) % 10, code % 10
            arr[:, t, 0, i] = (*PRECIP[p], Z[s], Z[f])
    if nan_mask is not None:
        arr[nan_mask] = np.nan
    time = pd.date_range("2001-01-01", periods=n_time, freq="MS")
    coords = {"time": time, "y": [0.5], "x": np.arange(n_pix) + 0.5}
    return [xr.DataArray(a, dims=("time", "y", "x"), coords=coords) for a in arr]


#: The SpatIndex rule set differs in one cell: 111 after no drought or recovery is a Warning.
CHANGED = {"cammalleri2021": {}, "spatindex": {((0, 4), 111): 2}}


@pytest.mark.parametrize("name", ["cammalleri2021", "spatindex"])
def test_every_rule_of_the_table_by_hand(name):
    rules = cdi_rules(name)
    cases, expected, visited = [], [], set()
    for from_classes, row in HAND_TABLE.items():
        for prev in from_classes:
            prefix, prefix_classes = PREFIX[prev]
            for code, cls in zip(COLUMNS, row, strict=True):
                cases.append([*prefix, code])
                expected.append([*prefix_classes, CHANGED[name].get((from_classes, code), cls)])
                visited.add(rules.rule_of(prev, code))
    cdi, _ = combined_drought_indicator(*inputs_of(cases), rules=name)
    assert cdi.attrs["cdi_rules"] == name
    got = cdi.values[:, 0, :].T
    bad = [(c, e, g.tolist()) for c, e, g in zip(cases, expected, got, strict=True) if list(g) != e]
    assert not bad, bad[:5]
    assert visited == rules.cells() and len(visited) == 72  # every rule hit at least once


def test_hand_written_drought_story():
    # no drought, watch, warning, alert (kept while rain returns), temporary fAPAR recovery,
    # recovery, back to none
    seq = [233, 133, 113, 111, 211, 231, 233, 222, 233, 233]
    exp = [0, 1, 2, 3, 3, 3, 6, 4, 0, 0]
    cdi, state = combined_drought_indicator(*inputs_of([seq]))
    assert cdi.values[:, 0, 0].tolist() == exp
    assert state.previous_class[0, 0] == 0
    # a warning whose soil moisture recovers for a while, then the drought deepens again
    seq2 = [133, 113, 233, 223, 112, 232, 233]
    exp2 = [1, 2, 5, 5, 2, 4, 0]
    cdi2, _ = combined_drought_indicator(*inputs_of([seq2]))
    assert cdi2.values[:, 0, 0].tolist() == exp2


def test_thresholds_are_strict():
    n = 1
    coords = {"time": pd.date_range("2001-01-01", periods=n, freq="MS"), "y": [0.5], "x": [0.5, 1.5, 2.5]}

    def da(v):
        return xr.DataArray(
            np.array(v, dtype=np.float32).reshape(1, 1, 3), dims=("time", "y", "x"), coords=coords
        )

    # SPI-1 = -2 and SPI-3 = -1 exactly: no deficit; a third pixel just below SPI-3's threshold
    spi1, spi3 = da([-2.0, 0.0, 0.0]), da([0.0, -1.0, -1.001])
    sm = da([0.5, 0.5, -1.0])  # z = -1 is class 2 (not an anomaly)
    fapar = da([0.5, 0.5, 0.0])  # z = 0 is class 3
    cdi, _ = combined_drought_indicator(spi1, spi3, sm, fapar)
    assert cdi.values[0, 0].tolist() == [0, 0, 1]  # 223 / 233 -> none; 123 -> watch


def test_gaps_filled_up_to_max_fill_not_beyond():
    seq = [133, 113] + [113] * 8 + [111]
    n = len(seq)
    mask = np.zeros((4, n, 1, 3), dtype=bool)
    mask[3, 2:8, 0, 0] = True  # fAPAR missing 6 steps: all filled
    mask[3, 2:9, 0, 1] = True  # 7 steps: the 7th is no data
    mask[:, 0, 0, 2] = True  # missing at the start: nothing to fill with
    cdi, state = combined_drought_indicator(*inputs_of([seq] * 3, mask))
    full = [1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]
    assert cdi.values[:, 0, 0].tolist() == full
    assert cdi.values[:, 0, 1].tolist() == [1, 2, 2, 2, 2, 2, 2, 2, NA, 2, 3]
    # the first step is no data and leaves "no drought" as previous class: 113 -> warning
    assert cdi.values[:, 0, 2].tolist() == [NA, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]
    assert state.gap_count[:, 0, 0].tolist() == [0, 0, 0, 0]
    # a smaller max_fill: 2 steps filled, the rest no data
    cdi2, _ = combined_drought_indicator(*inputs_of([seq] * 3, mask), max_fill=2)
    assert cdi2.values[:, 0, 0].tolist() == [1, 2, 2, 2, NA, NA, NA, NA, 2, 2, 3]
    assert cdi2.attrs["max_fill"] == 2 and cdi2.attrs["cdi_rules"] == "cammalleri2021"


def test_filled_value_is_the_last_valid_one():
    # fAPAR goes from class 1 (alert) to missing: the filled steps keep the alert
    seq = [131, 111, 233, 233, 233]
    mask = np.zeros((4, 5, 1, 1), dtype=bool)
    mask[3, 2:4, 0, 0] = True  # the given 233s become 231s (fAPAR class 1 carried)
    cdi, _ = combined_drought_indicator(*inputs_of([seq], mask))
    assert cdi.values[:, 0, 0].tolist() == [3, 3, 3, 3, 6]
    cdi_given, _ = combined_drought_indicator(*inputs_of([seq]))
    assert cdi_given.values[:, 0, 0].tolist() == [3, 3, 6, 6, 6]


def _random_inputs(seed: int, n_time=60, ny=5, nx=6):
    rng = np.random.default_rng(seed)
    arr = rng.normal(0, 1.3, size=(4, n_time, ny, nx)).astype(np.float32)
    arr[rng.random(arr.shape) < 0.15] = np.nan
    arr[2, 10:19, 1, 1] = np.nan  # a long gap
    time = pd.date_range("2001-01-01", periods=n_time, freq="MS")
    coords = {"time": time, "y": np.arange(ny) + 0.5, "x": np.arange(nx) + 0.5}
    return [xr.DataArray(a, dims=("time", "y", "x"), coords=coords) for a in arr]


@pytest.mark.parametrize("step", [1, 7])
def test_month_by_month_from_saved_state_equals_one_run(step):
    inputs = _random_inputs(3)
    whole, whole_state = combined_drought_indicator(*inputs)
    assert (whole.values == NA).any() and (whole.values == codes.CDI_ALERT).any()
    state, parts = None, []
    for t0 in range(0, 60, step):
        part, state = combined_drought_indicator(
            *[a.isel(time=slice(t0, t0 + step)) for a in inputs], state=state
        )
        state = CdiState.from_dataset(state.to_dataset())  # as saved in a store and read back
        parts.append(part.values)
    np.testing.assert_array_equal(np.concatenate(parts), whole.values)
    np.testing.assert_array_equal(state.previous_class, whole_state.previous_class)
    np.testing.assert_array_equal(state.gap_count, whole_state.gap_count)
    np.testing.assert_array_equal(state.last_valid, whole_state.last_valid)


def test_dask_and_row_blocks_give_the_same_classes():
    inputs = _random_inputs(5)
    ref, _ = combined_drought_indicator(*inputs)
    lazy, _ = combined_drought_indicator(*[a.chunk({"y": 2}) for a in inputs], block_rows=2)
    np.testing.assert_array_equal(lazy.values, ref.values)


def test_bad_rules_and_states_are_refused():
    with pytest.raises(InputError, match="cammalleri2021, spatindex"):
        cdi_rules("edo_v9")
    inputs = _random_inputs(1, n_time=4)
    _, state = combined_drought_indicator(*inputs)
    with pytest.raises(InputError, match="already holds steps"):
        combined_drought_indicator(*inputs, state=state)
    with pytest.raises(InputError, match="spatindex"):
        combined_drought_indicator(*[a.isel(time=[0]) for a in inputs], rules="spatindex", state=state)
    with pytest.raises(InputError, match="max_fill"):
        combined_drought_indicator(*[a.isel(time=[0]) for a in inputs], max_fill=3, state=state)
    with pytest.raises(InputError, match="differs"):
        combined_drought_indicator(inputs[0], inputs[1].isel(time=[0, 1]), inputs[2], inputs[3])
    data = {
        "name": "x",
        "version": "1",
        "source": "s",
        "thresholds": {"spi1": -2, "spi3": -1, "z_low": -1, "z_high": 0},
        "rules": [{"id": "r", "from": list(range(7)), "to": {0: [111]}}],
    }
    with pytest.raises(InputError, match="18 codes"):
        rules_from_dict(data, "x.yaml")


def test_rule_set_records_source_and_version():
    rules = cdi_rules()
    assert rules.version == "2021.1" and "10.5194/nhess-21-481-2021" in rules.source
    table = rules.transition_table()
    assert table.shape == (7, 18) and (table >= 0).all()


def _reference_cdi(series: np.ndarray, max_fill: int) -> list[int]:
    """Plain-Python CDI of one pixel: ``series`` (n_time, 4); HAND_TABLE; forward fill per input."""
    table = {
        prev: dict(zip(COLUMNS, row, strict=True)) for group, row in HAND_TABLE.items() for prev in group
    }
    prev, last, gaps, out = 0, [np.nan] * 4, [0] * 4, []
    for step in series:
        values = []
        for k, v in enumerate(step):
            if np.isnan(v):
                gaps[k] += 1
                v = last[k] if gaps[k] <= max_fill else np.nan
            else:
                gaps[k], last[k] = 0, v
            values.append(v)
        if any(np.isnan(v) for v in values):
            out.append(NA)
            continue
        p = 1 if (values[0] < -2 or values[1] < -1) else 2
        s, f = (1 if z < -1 else 2 if z < 0 else 3 for z in values[2:])
        prev = table[prev][100 * p + 10 * s + f]
        out.append(prev)
    return out


@pytest.mark.parametrize("max_fill", [0, 2, 6])
def test_random_series_equal_a_plain_python_reference(max_fill):
    inputs = _random_inputs(11, n_time=80, ny=4, nx=5)
    cdi, _ = combined_drought_indicator(*inputs, max_fill=max_fill)
    stacked = np.stack([a.values for a in inputs], axis=-1)  # (time, y, x, 4)
    for i in range(4):
        for j in range(5):
            assert cdi.values[:, i, j].tolist() == _reference_cdi(stacked[:, i, j], max_fill), (i, j)


@pytest.mark.parametrize("fmt", ["zarr", "netcdf"])
def test_state_round_trips_through_a_store_without_warnings(tmp_path, fmt):
    import warnings

    _, state = combined_drought_indicator(*_random_inputs(2))
    path = tmp_path / f"state.{fmt}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if fmt == "zarr":
            state.to_dataset().to_zarr(path, consolidated=False)
            ds = xr.open_zarr(path, consolidated=False).load()
        else:
            state.to_dataset().to_netcdf(path)
            ds = xr.open_dataset(path).load()
    back = CdiState.from_dataset(ds)
    np.testing.assert_array_equal(back.previous_class, state.previous_class)
    np.testing.assert_array_equal(back.gap_count, state.gap_count)
    np.testing.assert_array_equal(back.last_valid, state.last_valid)
    assert back.last_time == state.last_time and back.rules_version == "2021.1" and back.max_fill == 6
    assert ds.attrs["inputs"] == "spi1,spi3,soil_moisture_z,fapar_z"
