"""The Combined Drought Indicator (CDI) of the European/Global Drought Observatory.

Cammalleri et al. (2021): a precipitation deficit (SPI-1 < -2 or SPI-3 < -1) leads to WATCH,
a soil-moisture deficit to WARNING, vegetation stress (fAPAR anomaly) to ALERT; the class of
each step also depends on the previous one (recovery classes). The rules are a named, versioned
table shipped as package data (``ldnkit/data/early_warning/cdi_rules_<name>.yaml``); the
observatories revised them over the years, so every output records the rule set it used.

Classes: :data:`ldnkit.codes.CDI` (0 no drought, 1 Watch, 2 Warning, 3 Alert, 4 Recovery,
5 temporary soil-moisture recovery, 6 temporary fAPAR recovery), int8, missing
:data:`ldnkit.codes.EW_NODATA` (-128).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import xarray as xr
import yaml

from ldnkit import codes
from ldnkit.errors import InputError
from ldnkit.kernels import cdi as cdi_kernel

#: Rule sets shipped with ldnkit.
RULE_SETS: tuple[str, ...] = ("cammalleri2021", "spatindex")
#: Default number of consecutive missing steps forward-filled (Cammalleri et al. 2021).
MAX_FILL = 6
#: Bytes of one input read at a time by the CDI (rows of all its steps).
BLOCK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class CdiRules:
    """A versioned CDI rule set.

    ``rules``: ``{rule id: (from classes, {combination code: class})}``; ``thresholds``: spi1,
    spi3 (precipitation deficit below these), z_low, z_high (the three anomaly classes).
    """

    name: str
    version: str
    source: str
    thresholds: dict[str, float]
    rules: dict[str, tuple[tuple[int, ...], dict[int, int]]]

    def transition_table(self) -> np.ndarray:
        """int8 ``(7, 18)``: next class by previous class and combination index."""
        table = np.full((len(codes.CDI.codes), cdi_kernel.N_COMBINATIONS), -1, dtype=np.int8)
        for from_classes, to in self.rules.values():
            for code, cls in to.items():
                table[list(from_classes), cdi_kernel.combination_index(code)] = cls
        return table

    def rule_of(self, previous: int, combination: int) -> tuple[str, int]:
        """``(rule id, combination code)`` applied after class ``previous``: one rule cell."""
        for rule_id, (from_classes, _) in self.rules.items():
            if previous in from_classes:
                return rule_id, combination
        raise ValueError(f"rule set {self.name}: no rule from class {previous}")

    def cells(self) -> set[tuple[str, int]]:
        """Every rule cell ``(rule id, combination code)`` of the set."""
        return {(rid, code) for rid, (_, to) in self.rules.items() for code in to}

    def describe(self) -> dict[str, str]:
        """Name, version and source, for attrs and summary.json."""
        return {"cdi_rules": self.name, "cdi_rules_version": self.version, "cdi_rules_source": self.source}


def cdi_rules(name: str = "cammalleri2021") -> CdiRules:
    """The CDI rule set ``name`` (shipped as ``data/early_warning/cdi_rules_<name>.yaml``).

    >>> cdi_rules().version
    '2021.1'
    """
    if name not in RULE_SETS:
        raise InputError("cdi rules", f"unknown rule set {name!r}", f"use one of: {', '.join(RULE_SETS)}")
    res = resources.files("ldnkit").joinpath("data", "early_warning", f"cdi_rules_{name}.yaml")
    data = yaml.safe_load(res.read_text(encoding="utf-8"))
    return rules_from_dict(data, where=f"cdi_rules_{name}.yaml")


def rules_from_dict(data: dict, where: str) -> CdiRules:
    """A rule set from its YAML mapping (name, version, source, thresholds, rules); checks that
    each rule lists the 18 combinations once and that the rules' ``from`` cover classes 0..6."""
    all_codes = {cdi_kernel.combination_code(i) for i in range(cdi_kernel.N_COMBINATIONS)}
    rules: dict[str, tuple[tuple[int, ...], dict[int, int]]] = {}
    covered: list[int] = []
    for row in data["rules"]:
        to = {int(code): int(cls) for cls, code_list in row["to"].items() for code in code_list}
        listed = [int(code) for code_list in row["to"].values() for code in code_list]
        if sorted(listed) != sorted(all_codes):
            raise InputError(where, f"rule {row['id']} does not list each of the 18 codes once")
        if not set(to.values()) <= set(codes.CDI.codes):
            raise InputError(where, f"rule {row['id']} leads to a class outside {codes.CDI.codes}")
        rules[str(row["id"])] = (tuple(int(c) for c in row["from"]), to)
        covered += [int(c) for c in row["from"]]
    if sorted(covered) != list(codes.CDI.codes):
        raise InputError(where, "the rules' `from` classes must cover each class 0..6 once")
    return CdiRules(
        name=str(data["name"]),
        version=str(data["version"]),
        source=" ".join(str(data["source"]).split()),
        thresholds={k: float(v) for k, v in data["thresholds"].items()},
        rules=rules,
    )


@dataclass
class CdiState:
    """What the CDI needs from the past to continue: per pixel ``(y, x)``.

    ``previous_class`` int8 (class after the last step, 0 before any), ``gap_count`` int16
    ``(4, y, x)`` (consecutive missing steps of SPI-1, SPI-3, soil-moisture z, fAPAR z),
    ``last_valid`` float32 ``(4, y, x)`` (last valid value of each input, NaN = none yet),
    ``last_time`` (time of the last step), the rule set and ``max_fill`` it was made with.
    Save it with :meth:`to_dataset` and restore with :meth:`from_dataset`.
    """

    previous_class: np.ndarray
    gap_count: np.ndarray
    last_valid: np.ndarray
    rules: str = "cammalleri2021"
    rules_version: str = ""
    max_fill: int = MAX_FILL
    last_time: np.datetime64 | None = None
    coords: dict = field(default_factory=dict)

    @classmethod
    def initial(cls, shape: tuple[int, int], rules: CdiRules, max_fill: int = MAX_FILL) -> CdiState:
        """The state before any step: no drought, no gaps, no valid value yet."""
        return cls(
            previous_class=np.zeros(shape, dtype=np.int8),
            gap_count=np.zeros((4, *shape), dtype=np.int16),
            last_valid=np.full((4, *shape), np.nan, dtype=np.float32),
            rules=rules.name,
            rules_version=rules.version,
            max_fill=max_fill,
        )

    def to_dataset(self) -> xr.Dataset:
        """The state as a Dataset (dims ``input``, ``y``, ``x``; the inputs' order in the attribute
        ``inputs``) for a Zarr or NetCDF store."""
        dims = ("y", "x")
        ds = xr.Dataset(
            {
                "previous_class": (dims, self.previous_class),
                "gap_count": (("input", *dims), self.gap_count),
                "last_valid": (("input", *dims), self.last_valid),
            },
            coords=dict(self.coords),
        )
        # inputs named in an attribute: a string coordinate has no Zarr v3 data type
        ds.attrs.update(
            cdi_rules=self.rules,
            cdi_rules_version=self.rules_version,
            max_fill=self.max_fill,
            inputs=",".join(cdi_kernel.INPUTS),
        )
        if self.last_time is not None:
            ds.attrs["last_time"] = str(np.datetime64(self.last_time, "ns"))
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> CdiState:
        """Inverse of :meth:`to_dataset`."""
        last = ds.attrs.get("last_time")
        return cls(
            previous_class=np.asarray(ds["previous_class"].values, dtype=np.int8),
            gap_count=np.asarray(ds["gap_count"].values, dtype=np.int16),
            last_valid=np.asarray(ds["last_valid"].values, dtype=np.float32),
            rules=str(ds.attrs["cdi_rules"]),
            rules_version=str(ds.attrs["cdi_rules_version"]),
            max_fill=int(ds.attrs["max_fill"]),
            last_time=None if last is None else np.datetime64(last, "ns"),
            coords={k: ds.coords[k] for k in ("y", "x") if k in ds.coords},
        )


def _baseline_of(*arrays: xr.DataArray) -> str:
    """The inputs' baseline years as recorded by ``anomaly`` (joined if they differ)."""
    years = {str(a.attrs["baseline_years"]) for a in arrays if a.attrs.get("baseline_years")}
    return ", ".join(sorted(years))


def _check_inputs(arrays: dict[str, xr.DataArray]) -> xr.DataArray:
    first = next(iter(arrays.values()))
    for name, a in arrays.items():
        if a.dims != ("time", "y", "x"):
            raise InputError(name, f"has dims {a.dims}, not (time, y, x)", "transpose or expand it")
        if a.shape != first.shape or not np.array_equal(a["time"].values, first["time"].values):
            raise InputError(name, "differs in shape or time steps from spi1", "align the four inputs first")
    return first


def _check_state(state: CdiState, rules: CdiRules, max_fill: int, shape: tuple, times) -> None:
    where = "cdi state"
    if (state.rules, state.rules_version) != (rules.name, rules.version):
        raise InputError(
            where,
            f"was made with rules {state.rules} {state.rules_version}, not {rules.name} {rules.version}",
            "recompute the series from its start with the new rule set",
        )
    if state.max_fill != max_fill:
        raise InputError(where, f"was made with max_fill={state.max_fill}, not {max_fill}")
    if state.previous_class.shape != shape:
        raise InputError(where, f"has shape {state.previous_class.shape}, the inputs {shape}")
    if state.last_time is not None and len(times) and times[0] <= state.last_time:
        raise InputError(
            where,
            f"already holds steps up to {state.last_time}; the inputs start at {times[0]}",
            "give only the steps after the state's last one",
        )


def combined_drought_indicator(
    spi1: xr.DataArray,
    spi3: xr.DataArray,
    soil_moisture_z: xr.DataArray,
    fapar_z: xr.DataArray,
    *,
    rules: str = "cammalleri2021",
    max_fill: int = MAX_FILL,
    state: CdiState | None = None,
    block_rows: int | None = None,
) -> tuple[xr.DataArray, CdiState]:
    """CDI classes of every step, and the state after the last step.

    Inputs ``(time, y, x)`` on one grid and time axis: SPI-1, SPI-3, soil-moisture anomaly z and
    fAPAR anomaly z (NaN missing; numpy- or dask-backed, read ``block_rows`` rows at a time, by
    default as many as fit in about 64 MB per input).
    Missing inputs are forward-filled up to ``max_fill`` steps. Give the ``state`` returned by
    the previous call to continue a series: month by month from a saved state equals one run. A
    state made with another rule set, version or ``max_fill``, of another shape, or already holding
    the first given step is refused (``InputError``): skip periods already processed.

    Returns int8 ``(time, y, x)`` codes :data:`ldnkit.codes.CDI` (missing
    :data:`ldnkit.codes.EW_NODATA`) with the rule set's name, version and source in attrs.

    >>> cdi, state = combined_drought_indicator(spi1, spi3, smz, faparz)  # doctest: +SKIP
    >>> cdi2, state = combined_drought_indicator(spi1_next, spi3_next, smz_next, faparz_next,
    ...                                          state=state)  # doctest: +SKIP
    """
    rule_set = cdi_rules(rules)
    arrays = {"spi1": spi1, "spi3": spi3, "soil_moisture_z": soil_moisture_z, "fapar_z": fapar_z}
    first = _check_inputs(arrays)
    n_time, ny, nx = first.shape
    times = first["time"].values
    if max_fill < 0:
        raise InputError("max_fill", f"is {max_fill}", "give 0 or more steps")
    if state is None:
        state = CdiState.initial((ny, nx), rule_set, max_fill)
    _check_state(state, rule_set, max_fill, (ny, nx), times)
    prev = state.previous_class.copy()
    gaps = state.gap_count.copy()
    last = state.last_valid.copy()
    table = rule_set.transition_table()
    th = rule_set.thresholds
    thresholds = np.array([th["spi1"], th["spi3"], th["z_low"], th["z_high"]], dtype=np.float64)
    out = np.empty((n_time, ny, nx), dtype=np.int8)
    rows = block_rows or BLOCK_BYTES // max(1, 4 * n_time * nx)
    rows = max(1, rows)
    for r0 in range(0, ny, rows):
        r1 = min(ny, r0 + rows)
        block = np.stack(
            [np.asarray(a[:, r0:r1, :].values, dtype=np.float32) for a in arrays.values()]
        ).reshape(4, n_time, -1)
        p = prev[r0:r1].reshape(-1).copy()
        g = gaps[:, r0:r1].reshape(4, -1).copy()
        lv = last[:, r0:r1].reshape(4, -1).copy()
        res = cdi_kernel.cdi_steps(block, table, thresholds, max_fill, p, g, lv)
        out[:, r0:r1] = res.reshape(n_time, r1 - r0, nx)
        prev[r0:r1], gaps[:, r0:r1] = p.reshape(r1 - r0, nx), g.reshape(4, r1 - r0, nx)
        last[:, r0:r1] = lv.reshape(4, r1 - r0, nx)
    result = xr.DataArray(out, dims=("time", "y", "x"), coords=first.coords, name="cdi")
    result.attrs.update(
        long_name="Combined Drought Indicator class",
        units="1",
        legend=codes.CDI.name,
        nodata=codes.EW_NODATA,
        max_fill=max_fill,
        baseline_years=_baseline_of(soil_moisture_z, fapar_z),
        **rule_set.describe(),
    )
    new_state = CdiState(
        previous_class=prev,
        gap_count=gaps,
        last_valid=last,
        rules=rule_set.name,
        rules_version=rule_set.version,
        max_fill=max_fill,
        last_time=times[-1] if n_time else state.last_time,
        coords={k: first.coords[k] for k in ("y", "x") if k in first.coords},
    )
    return result, new_state
