"""Rule-based classes of continuous layers (methodology §4.3): slope, soil depth ... -> classes.

* :func:`classify_by_rules` classes continuous layers by user rules (:class:`RuleClass`) into a
  categorical ``int16`` layer (e.g. land capability classes), lazily, block by block;
* :func:`roman_range_map` reads land capability classes from class labels ("I-II good");
* the numpy core (:func:`classify_values`) and the layer helpers are shared with
  :mod:`ldnkit.indicators.land_types` (land types and the check against field observations).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ldnkit import codes
from ldnkit.errors import ConfigError, GridError
from ldnkit.labels import roman_to_int

__all__ = [
    "RuleClass",
    "classify_by_rules",
    "roman_range_map",
    "as_classes",
    "rule_spec",
    "as_float",
    "classify_values",
    "mask_declared_nodata",
    "aligned_layers",
]


@dataclass(frozen=True)
class RuleClass:
    """One class of a rule-based classification.

    ``when`` maps a variable name to ``(min, max)``: the class matches where ``min <= value < max``
    for every variable listed (``None`` = open bound). An empty ``when`` matches everywhere.

    >>> RuleClass(1, "I-II good", {"slope": (None, 8), "soil_depth": (50, None)})  # doctest: +SKIP
    """

    code: int
    label: str
    when: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)


def as_classes(classes: Sequence[RuleClass | Mapping[str, Any]]) -> list[RuleClass]:
    """Rule classes; config-style dicts ``{code, label, when: {var: [min, max]}}`` are accepted."""
    out = []
    for c in classes:
        if isinstance(c, Mapping):
            when = {
                str(k): tuple(v) if isinstance(v, (list, tuple)) else v
                for k, v in (c.get("when") or {}).items()
            }
            c = RuleClass(c.get("code"), str(c.get("label", c.get("code"))), when)
        out.append(c)
    return out


def _bounds(cls: RuleClass, var: str, where: str) -> tuple[float, float]:
    rng = cls.when[var]
    try:
        lo, hi = rng
    except (TypeError, ValueError):
        raise ConfigError(where, f"{var}: {rng!r} is not a [min, max] pair", "write e.g. [null, 8]") from None
    try:
        lo_f = -math.inf if lo is None else float(lo)
        hi_f = math.inf if hi is None else float(hi)
    except (TypeError, ValueError):
        raise ConfigError(where, f"{var}: bounds {rng!r} are not numbers", "use numbers or null") from None
    if math.isnan(lo_f) or math.isnan(hi_f) or lo_f >= hi_f:
        raise ConfigError(where, f"{var}: empty range [{lo}, {hi})", "give min < max (null = open)")
    return lo_f, hi_f


def rule_spec(
    classes: Sequence[RuleClass], variables: Sequence[str], otherwise: int | None, key: str
) -> tuple[tuple[int, tuple[tuple[int, float, float], ...]], ...]:
    """Validated classes as (code, ((variable index, lo, hi), ...)), in order."""
    if not classes:
        raise ConfigError(key, "no classes given", "list at least one class with a code and a range")
    if otherwise is not None and not 1 <= int(otherwise) <= 32767:
        raise ConfigError(f"{key}.otherwise", f"code {otherwise!r} is outside 1..32767")
    index = {v: i for i, v in enumerate(variables)}
    spec = []
    for n, cls in enumerate(classes):
        where = f"{key}.classes[{n}] (code {cls.code})"
        try:
            ok = not isinstance(cls.code, bool) and int(cls.code) == cls.code and 1 <= int(cls.code) <= 32767
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(where, f"code {cls.code!r} is not an integer in 1..32767")
        conds = []
        for var in cls.when:
            if var not in index:
                raise ConfigError(
                    where,
                    f"uses the variable {var!r}, which is not among the layers ({', '.join(variables)})",
                    "add the layer or fix the name",
                )
            conds.append((index[var], *_bounds(cls, var, where)))
        spec.append((int(cls.code), tuple(conds)))
    return tuple(spec)


def as_float(block: Any) -> np.ndarray:
    """Continuous values as float64; NODATA in integer layers becomes NaN."""
    a = np.asarray(block)
    if a.dtype.kind in "iub":
        return np.where(a == codes.NODATA, np.nan, a.astype(np.float64))
    return a.astype(np.float64, copy=False)


def classify_values(values: Sequence[np.ndarray], spec, otherwise: int | None) -> np.ndarray:
    """numpy core of the rules: first matching class wins; NaN never matches a range.

    Where every variable is missing the result is NODATA (nothing to classify: e.g. outside the
    area of interest), otherwise unmatched pixels get ``otherwise`` (NODATA if None).
    """
    vals = [as_float(v) for v in values]
    shape = np.broadcast_shapes(*(v.shape for v in vals)) if vals else ()
    out = np.full(shape, codes.NODATA if otherwise is None else int(otherwise), dtype=np.int16)
    done = np.zeros(shape, bool)
    for code, conds in spec:
        m = ~done
        for i, lo, hi in conds:
            v = vals[i]
            m &= (v >= lo) & (v < hi)  # NaN compares False: the class does not match
        out[m] = code
        done |= m
    if vals:
        all_missing = np.ones(shape, bool)
        for v in vals:
            all_missing &= np.isnan(v)
        out[all_missing] = codes.NODATA
    return out


def _classify_block(*blocks: np.ndarray, spec, otherwise) -> np.ndarray:
    return classify_values(blocks, spec, otherwise)


def _declared_nodata(a: xr.DataArray) -> Any:
    """The missing value a layer declares (attrs["nodata"], _FillValue or rio), if any."""
    for k in ("nodata", "_FillValue"):
        if a.attrs.get(k) is not None:
            return a.attrs[k]
    try:
        return a.rio.nodata
    except Exception:  # no rio accessor state
        return None


def mask_declared_nodata(a: xr.DataArray, missing: Any) -> xr.DataArray:
    """Replace a layer's own missing value (e.g. 0 in a uint8 file) by ``missing`` (lazy)."""
    nd = _declared_nodata(a)
    if nd is None or a.dtype.kind not in "iuf":
        return a
    try:
        nd = float(nd)
    except (TypeError, ValueError):
        return a
    if np.isnan(nd) or nd == codes.NODATA:
        return a
    base = a.astype(np.int32) if a.dtype.kind in "iu" and not np.isnan(missing) else a  # room for NODATA
    out = base.where(a != nd, missing)
    out.attrs = dict(a.attrs)
    return out


def aligned_layers(layers: Mapping[str, xr.DataArray], key: str) -> list[xr.DataArray]:
    """The layers, checked to share dims, shape and coordinates exactly (GridError naming ``key``)."""
    arrs = list(layers.values())
    for name, a in layers.items():
        if not isinstance(a, xr.DataArray):
            raise TypeError(f"{key}: layer {name!r} is a {type(a).__name__}, not an xarray.DataArray")
    first = arrs[0]
    for name, a in layers.items():
        if a.dims != first.dims or a.shape != first.shape:
            raise GridError(
                f"{key}.{name}",
                f"has dims {a.dims} and shape {a.shape}, the first layer {first.dims} {first.shape}",
                "align every layer to the grid first",
            )
    try:
        return list(xr.align(*arrs, join="exact"))
    except ValueError:
        raise GridError(
            key, "the layers have different coordinates", "align every layer to the grid"
        ) from None


def classify_by_rules(
    layers: Mapping[str, xr.DataArray],
    classes: Sequence[RuleClass],
    otherwise: int | None = None,
    *,
    key: str = "rules",
) -> xr.DataArray:
    """Class continuous layers by rules into a categorical layer (e.g. land capability).

    Parameters
    ----------
    layers : variable name -> continuous layer on one grid (float, NaN missing; NODATA in integer
        layers is missing too), in the units the rules use (e.g. slope %, soil depth cm).
    classes : tried in order; a class matches where, for every variable in its ``when``,
        ``min <= value < max`` (``None`` = open bound). The first matching class wins. A NaN in a
        variable a class uses means that class does not match there.
    otherwise : code where no class matches (NODATA if None). Pixels where EVERY layer is missing
        are NODATA whatever ``otherwise`` says (nothing to classify, e.g. outside the area).
    key : config key named in error messages.

    Returns
    -------
    int16 DataArray of class codes (1..32767), NODATA missing, lazy on dask inputs. attrs:
    ``method="rules"``, ``rules`` (code, label, when), ``otherwise``.

    Example
    -------
    >>> cap = classify_by_rules({"slope": slope, "soil_depth": depth},
    ...     [RuleClass(1, "I-II good", {"slope": (None, 8), "soil_depth": (50, None)}),
    ...      RuleClass(2, "III-IV moderate", {"slope": (None, 15)})], otherwise=3)  # doctest: +SKIP
    """
    if not layers:
        raise ConfigError(f"{key}.layers", "no layers given", "give the continuous layers the rules use")
    names = list(layers)
    classes = as_classes(classes)
    spec = rule_spec(classes, names, otherwise, key)
    used = sorted({i for _, conds in spec for i, _, _ in conds})
    if not used:  # classes without conditions: keep one layer for the shape and missing mask
        used = [0]
    arrs = aligned_layers(layers, f"{key}.layers")
    sel = [mask_declared_nodata(arrs[i], np.nan) for i in used]
    remap = {old: new for new, old in enumerate(used)}
    spec_used = tuple((c, tuple((remap[i], lo, hi) for i, lo, hi in conds)) for c, conds in spec)
    out = xr.apply_ufunc(
        _classify_block,
        *sel,
        kwargs={"spec": spec_used, "otherwise": otherwise},
        dask="parallelized",
        output_dtypes=[np.int16],
        keep_attrs="drop_conflicts",
    )
    out = out.rename("rule_class")
    out.attrs = {
        "method": "rules",
        "rules": [
            {
                "code": int(c.code),
                "label": str(c.label),
                "when": {
                    v: [None if lo is None else float(lo), None if hi is None else float(hi)]
                    for v, (lo, hi) in c.when.items()
                },
            }
            for c in classes
        ],
        "otherwise": None if otherwise is None else int(otherwise),
        "matching": "first class whose every range min <= value < max holds; NaN does not match",
        "_FillValue": codes.NODATA,
    }
    return out


def roman_range_map(classes: Sequence[RuleClass]) -> dict[int, int]:
    """Land capability classes (1..8) -> rule class code, read from labels starting with roman
    numerals, e.g. "I-II good" -> {1: code, 2: code}, "V" -> {5: code}. Classes whose label does not
    start with roman numerals are skipped. Use it as ``observed_map`` in :func:`check_observations`.

    >>> roman_range_map([RuleClass(1, "I-II good"), RuleClass(2, "III–IV moderate")])
    {1: 1, 2: 1, 3: 2, 4: 2}
    """
    out: dict[int, int] = {}
    for c in as_classes(classes):
        head = str(c.label).strip().split()[0] if str(c.label).strip() else ""
        parts = head.replace("–", "-").split("-")
        nums = [roman_to_int(p) for p in parts]
        if not parts or any(n is None for n in nums):
            continue
        lo, hi = min(nums), max(nums)
        for n in range(lo, hi + 1):
            out.setdefault(n, int(c.code))
    return out
