"""Land types from land potential (methodology §2.1, §2.4, §4.3): the units within which losses
are counterbalanced by gains "like for like".

* :func:`classify_by_rules` (home: :mod:`ldnkit.indicators.land_rules`, re-exported here) classes
  continuous layers (slope, soil depth ...) by user rules into a categorical layer;
* :func:`land_types` intersects categorical layers (soil group, climate zone, land cover, rule
  classes ...) into land types, merging types smaller than a minimum area into their neighbour;
* :func:`check_observations` compares the maps with field observations (LandPKS-like points).

Every raster function is lazy on dask-backed inputs and works block by block: one reduction pass
for the combinations present, one (only when small types must be merged) for the borders between
types, and a look-up for the final layer. Categorical outputs are ``int16`` with
:data:`ldnkit.codes.NODATA` as missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.delayed import delayed

from ldnkit import codes
from ldnkit.crosstab import crosstab
from ldnkit.errors import ConfigError, GridError, InputError
from ldnkit.indicators.land_rules import (
    RuleClass,
    aligned_layers,
    as_classes,
    as_float,
    classify_by_rules,
    classify_values,
    mask_declared_nodata,
    roman_range_map,
    rule_spec,
)
from ldnkit.labels import parse_class

# RuleClass, classify_by_rules and roman_range_map live in land_rules; re-exported for existing callers.
__all__ = [
    "RuleClass",
    "classify_by_rules",
    "LandTypes",
    "land_types",
    "land_type_legend",
    "check_observations",
    "roman_range_map",
]

#: Block size used for numpy-backed inputs in the border pass (bounds the temporaries).
_CHUNK = 1024
#: Partial tables merged per step of the tree reduction.
_FAN_IN = 8
#: Default names of components whose key says what they are (used when no labels are given).
_DEFAULT_LEGENDS: dict[str, codes.Legend] = {
    "climate": codes.CLIMATE_ZONE,
    "climate_zone": codes.CLIMATE_ZONE,
    "climate_zones": codes.CLIMATE_ZONE,
    "land_cover": codes.LAND_COVER,
    "landcover": codes.LAND_COVER,
}


# --- land types --------------------------------------------------------------------------------


@dataclass
class LandTypes:
    """Result of :func:`land_types`.

    layer : int16 land type id 1..N (NODATA where any component is missing).
    legend : one row per combination of component codes: "Land type" (id), "Name", one column per
        component (its code), "Area (km²)" (area in the final layer; 0 for merged types),
        "Area before merging (km²)", "Pixels" (before merging), "Merged into" (final id or None).
        Types merged away get ids N+1.. (never in the layer). With ``area=None`` the area columns
        are "(pixels)".
    merges : one row per merge step ("From", "Into", area, shared border in pixels) and one row
        per small type kept because it has no neighbour ("Into" None, see "Note").
    """

    layer: xr.DataArray
    legend: pd.DataFrame
    merges: pd.DataFrame


def _codes_block(block: Any) -> np.ndarray:
    """Categorical block as int64; NaN / infinite floats become NODATA."""
    a = np.asarray(block)
    if a.dtype.kind == "f":  # same conversion as the area tables (ldnkit.crosstab)
        return np.where(np.isfinite(a), a, codes.NODATA).astype(np.int64)
    return a.astype(np.int64)


def _lookup_block(*blocks: np.ndarray, uniq, comb_sorted, values, missing) -> np.ndarray:
    """Map each pixel's combination of component codes to ``values`` (``missing`` elsewhere)."""
    shape = np.shape(blocks[0])
    comb = np.zeros(shape, np.int64)
    ok = np.ones(shape, bool)
    for b, u in zip(blocks, uniq, strict=True):
        v = _codes_block(b)
        idx = np.clip(np.searchsorted(u, v), 0, max(u.size - 1, 0))
        ok &= (v != codes.NODATA) & (u[idx] == v) if u.size else np.zeros(shape, bool)
        comb *= max(u.size, 1)
        comb += idx
    pos = np.clip(np.searchsorted(comb_sorted, comb), 0, max(comb_sorted.size - 1, 0))
    if comb_sorted.size:
        ok &= comb_sorted[pos] == comb
        out = np.where(ok, values[pos], missing)
    else:
        out = np.full(shape, missing)
    return out.astype(values.dtype)


def _pairs_block(ext: np.ndarray, n: int) -> np.ndarray:
    """Border pixel pairs of one block extended by one pixel on every side (0 = no type).

    Each 4-neighbour pair is counted once over the whole raster: the pairs whose left / upper
    pixel lies in this block's core (the right / lower one may be in the next block's overlap).
    Returns a 1x1 object array holding (keys lo*(n+1)+hi, counts).
    """
    c = ext[1:-1, 1:-1]
    keys_all, counts_all = [], []
    for nb in (ext[1:-1, 2:], ext[2:, 1:-1]):
        m = (c > 0) & (nb > 0) & (c != nb)
        a, b = c[m].astype(np.int64), nb[m].astype(np.int64)
        key = np.minimum(a, b) * (n + 1) + np.maximum(a, b)
        k, cnt = np.unique(key, return_counts=True)
        keys_all.append(k)
        counts_all.append(cnt)
    res = np.empty((1, 1), object)
    res[0, 0] = _merge_pairs(keys_all, counts_all)
    return res


def _merge_pairs(keys: Sequence[np.ndarray], counts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    k = np.concatenate(keys) if keys else np.empty(0, np.int64)
    c = np.concatenate(counts) if counts else np.empty(0, np.int64)
    if k.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    u, inv = np.unique(k, return_inverse=True)
    return u, np.bincount(inv.ravel(), weights=c, minlength=u.size).astype(np.int64)


def _combine_pairs(parts: list) -> tuple[np.ndarray, np.ndarray]:
    items = [p[0, 0] if isinstance(p, np.ndarray) else p for p in parts]
    return _merge_pairs([i[0] for i in items], [i[1] for i in items])


def _border_counts(ids: xr.DataArray, n: int) -> dict[tuple[int, int], int]:
    """Shared border (pixel edges, 4-connectivity) between every pair of ids 1..n (0 = none)."""
    data = ids.data
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data), chunks=_CHUNK)
    # depth-1 overlap with 0 (no type) beyond the raster: pairs straddling block edges are seen.
    ext = da.overlap.overlap(data, depth={0: 1, 1: 1}, boundary={0: 0, 1: 0})
    parts = ext.map_blocks(
        _pairs_block, n=n, dtype=object, chunks=((1,) * ext.numblocks[0], (1,) * ext.numblocks[1])
    )
    level = parts.to_delayed().ravel().tolist()
    while len(level) > 1:
        level = [delayed(_combine_pairs)(level[i : i + _FAN_IN]) for i in range(0, len(level), _FAN_IN)]
    (res,) = dask.compute(delayed(_combine_pairs)(level))
    keys, counts = res
    return {(int(k // (n + 1)), int(k % (n + 1))): int(c) for k, c in zip(keys, counts, strict=True)}


def _component_name(key: str, code: int, labels: Mapping[str, Mapping[int, str]] | None) -> str:
    lab = (labels or {}).get(key)
    if lab is not None:
        text = lab.get(code, lab.get(str(code)))  # YAML may give string keys
        if text is not None:
            return f"{key}: {text}"
    elif key in _DEFAULT_LEGENDS and code in _DEFAULT_LEGENDS[key].codes:
        return f"{key}: {_DEFAULT_LEGENDS[key].name_of(code)}"
    return f"{key} {code}"


def _merge_small(
    area: dict[int, float], borders: dict[tuple[int, int], int], min_area: float
) -> tuple[dict[int, int], list[dict[str, Any]], dict[int, float]]:
    """Merge types smaller than ``min_area`` into the neighbour sharing the longest border.

    Smallest first (ties: lower id); after each merge the absorbed type's borders and area
    pass to the absorber, so chains of merges follow. Ties between neighbours: longest border,
    then larger area, then lower id. Returns (id -> final id, steps, final areas).
    """
    area = dict(area)
    adj: dict[int, dict[int, int]] = {t: {} for t in area}
    for (a, b), c in borders.items():
        adj[a][b] = adj[a].get(b, 0) + c
        adj[b][a] = adj[b].get(a, 0) + c
    parent = {t: t for t in area}
    steps: list[dict[str, Any]] = []
    isolated: set[int] = set()
    while True:
        small = [t for t in adj if area[t] < min_area and t not in isolated]
        if not small or len(adj) == 1:
            break
        t = min(small, key=lambda s: (area[s], s))
        if not adj[t]:
            isolated.add(t)
            steps.append({"from": t, "into": None, "area": area[t], "border": 0})
            continue
        into = max(adj[t], key=lambda s: (adj[t][s], area[s], -s))
        steps.append({"from": t, "into": into, "area": area[t], "border": adj[t][into]})
        for nb, c in adj.pop(t).items():
            del adj[nb][t]
            if nb != into:
                adj[into][nb] = adj[into].get(nb, 0) + c
                adj[nb][into] = adj[nb].get(into, 0) + c
        area[into] += area[t]
        parent[t] = into
    for t in [t for t in adj if area[t] < min_area and t not in isolated]:  # only when one type is left
        isolated.add(t)
        steps.append({"from": t, "into": None, "area": area[t], "border": 0})

    def root(t: int) -> int:
        while parent[t] != t:
            t = parent[t]
        return t

    return {t: root(t) for t in parent}, steps, {t: area[t] for t in adj}


def land_types(
    layers: Mapping[str, xr.DataArray],
    *,
    area: xr.DataArray | None = None,
    labels: Mapping[str, Mapping[int, str]] | None = None,
    min_area_km2: float = 0.0,
    key: str = "neutrality.land_types",
) -> LandTypes:
    """Land types: the intersection of categorical layers, small types merged into neighbours.

    Parameters
    ----------
    layers : component name -> categorical layer (int codes, NODATA or NaN missing) on one
        ``(y, x)`` grid, e.g. ``{"soil": soil, "climate": climate_zones, "land_cover": lc}``.
    area : km² per pixel (:func:`ldnkit.area.cell_area`). If None, areas are pixel counts (the
        area columns say "(pixels)", ``min_area_km2`` is then a number of pixels).
    labels : component -> code -> name, for the type names; without, names read "soil 3" (the
        components called climate/climate_zone(s) and land_cover use the codes' legends).
    min_area_km2 : types smaller than this are merged into the neighbouring type sharing the longest
        border (4-connectivity, counted in pixel edges), smallest first, repeatedly, until none is
        small; a small type with no neighbour is kept and listed in ``merges``.
    key : config key named in error messages.

    Returns
    -------
    :class:`LandTypes` — ``layer`` int16 ids 1..N by decreasing area (ties: component codes),
    NODATA where any component is missing; ``legend`` (attrs ``title`` "LDN-1 Land types");
    ``merges``. Names read "soil: Vertisols · climate: Tropical moist". Lazy: a reduction pass for
    the combinations present (and their areas), a pass for the borders when types must be merged,
    and ``layer`` is a lazy look-up. attrs record the components, ``min_area_km2``, ``n_types``.

    Example
    -------
    >>> lt = land_types({"soil": soil, "climate": cz}, area=cell_area(soil), min_area_km2=5)  # doctest: +SKIP
    >>> lt.legend[["Land type", "Name", "Area (km²)"]]                                        # doctest: +SKIP
    """
    if not layers:
        raise ConfigError(f"{key}.layers", "no layers given", "give at least one categorical layer")
    names = [str(k) for k in layers]
    arrs = aligned_layers(layers, f"{key}.layers")
    for n, a in zip(names, arrs, strict=True):
        if a.ndim != 2 or set(a.dims) != {"y", "x"}:
            raise GridError(f"{key}.layers.{n}", f"has dims {a.dims}; land types need (y, x) layers")
    arrs = [mask_declared_nodata(a.transpose("y", "x"), codes.NODATA) for a in arrs]
    use_area = area is not None
    if use_area:
        weights = area.transpose("y", "x") if set(area.dims) == {"y", "x"} else area
        unit = "km²"
    else:
        weights = xr.ones_like(arrs[0], dtype=np.float64)
        unit = "pixels"
    inner = {f"k{i}": a for i, a in enumerate(arrs)}  # names that cannot clash with crosstab's columns
    kcols = list(inner)

    ct, missing_area = _combinations(inner, weights, use_area, key)
    m = len(ct)
    lookup = _CombinationLookup(ct, kcols, arrs)
    size = dict(zip(ct["pid"].tolist(), ct["size"].tolist(), strict=True))
    min_area = float(min_area_km2)
    if min_area > 0 and m > 1 and min(size.values()) < min_area:
        # pass 2: borders between provisional types, then the merges (a small graph in memory)
        borders = _border_counts(lookup(ct["pid"].to_numpy(np.int32), 0), m)
        final_of, steps, final_size = _merge_small(size, borders, min_area)
    else:
        final_of, steps, final_size = {t: t for t in size}, [], dict(size)

    codes_of = {
        int(p): tuple(int(c) for c in row)
        for p, row in zip(ct["pid"], ct[kcols].itertuples(index=False, name=None), strict=True)
    }
    survivors, merged = _final_order(size, final_of, final_size, codes_of, key)
    n_types = len(survivors)
    new_id = {t: i + 1 for i, t in enumerate(survivors + merged)}
    final_id = np.array([new_id[final_of[t]] for t in ct["pid"]], dtype=np.int16)

    layer = lookup(final_id, codes.NODATA).rename("land_types")
    layer.attrs = {
        "method": "intersection",
        "components": names,
        "min_area_km2": min_area,
        "area_unit": unit,
        "n_types": n_types,
        "n_combinations": m,
        "n_merged": len(merged),
        "ids": "1..N by decreasing area (ties by component codes); NODATA where a component is missing",
        "_FillValue": codes.NODATA,
    }
    if not use_area:
        layer.attrs["area_note"] = "no area given: areas and min_area_km2 are pixel counts"

    name_of = {
        t: " · ".join(_component_name(n, c, labels) for n, c in zip(names, codes_of[t], strict=True))
        for t in size
    }
    pixels_of = dict(zip(ct["pid"].tolist(), ct["pixels"].tolist(), strict=True))
    legend = _legend_table(
        survivors + merged, names, codes_of, name_of, new_id, final_of, size, final_size, pixels_of, unit
    )
    legend.attrs = {
        "title": "LDN-1 Land types",
        "components": names,
        "min_area_km2": min_area,
        "area_unit": unit,
        "n_types": n_types,
        f"missing_area_{'km2' if use_area else 'pixels'}": missing_area,
    }
    merges = _merges_table(steps, new_id, name_of, unit)
    merges.attrs = {"title": "Land types merged by the minimum-area rule", "min_area_km2": min_area}
    return LandTypes(layer=layer, legend=legend, merges=merges)


def _final_order(
    size: Mapping[int, float],
    final_of: Mapping[int, int],
    final_size: Mapping[int, float],
    codes_of: Mapping[int, tuple[int, ...]],
    key: str,
) -> tuple[list[int], list[int]]:
    """Provisional types in final id order: survivors by decreasing final area (ties by codes),
    then the merged types by decreasing area; InputError if the survivors overflow int16."""
    survivors = sorted(final_size, key=lambda t: (-final_size[t], codes_of[t]))
    merged = sorted((t for t in size if final_of[t] != t), key=lambda t: (-size[t], codes_of[t]))
    if len(survivors) > 32767:
        raise InputError(
            key,
            f"{len(survivors)} land types do not fit int16 codes",
            "use fewer or coarser component layers, or a larger min_area_km2",
        )
    return survivors, merged


def _combinations(
    inner: Mapping[str, xr.DataArray], weights: xr.DataArray, use_area: bool, key: str
) -> tuple[pd.DataFrame, float]:
    """Pass 1: the combinations present (every component valid) with provisional ids and sizes.

    Returns the table (component columns, pixels, area, ``size`` (km² or pixels) and ``pid``
    1..M by decreasing size, ties by the component codes) and the area left out as missing.
    """
    ct = crosstab(inner, weights)
    kcols = list(inner)
    missing = (ct[kcols] == codes.NODATA).any(axis=1)
    missing_area = float(ct.loc[missing, "area" if use_area else "pixels"].sum())
    ct = ct[~missing].reset_index(drop=True)
    if len(ct) == 0:
        raise InputError(
            key,
            "the layers have no pixel where every component has a value",
            "check that the component layers overlap the area of interest",
        )
    ct["size"] = ct["area"] if use_area else ct["pixels"].astype(np.float64)
    ct = ct.sort_values(["size", *kcols], ascending=[False] + [True] * len(kcols), ignore_index=True)
    ct["pid"] = np.arange(1, len(ct) + 1)
    return ct, missing_area


class _CombinationLookup:
    """Lazy layer giving each pixel a value per combination of component codes (rows of ``ct``)."""

    def __init__(self, ct: pd.DataFrame, kcols: Sequence[str], arrs: Sequence[xr.DataArray]) -> None:
        self.arrs = list(arrs)
        self.uniq = [np.unique(ct[k].to_numpy(np.int64)) for k in kcols]
        comb = np.zeros(len(ct), np.int64)
        for k, u in zip(kcols, self.uniq, strict=True):
            comb = comb * max(u.size, 1) + np.searchsorted(u, ct[k].to_numpy(np.int64))
        self.order = np.argsort(comb)
        self.comb_sorted = comb[self.order]

    def __call__(self, values: np.ndarray, missing_value: int) -> xr.DataArray:
        """``values[i]`` (one per row of the table) on the pixels of row i, ``missing_value`` elsewhere."""
        return xr.apply_ufunc(
            _lookup_block,
            *self.arrs,
            kwargs={
                "uniq": self.uniq,
                "comb_sorted": self.comb_sorted,
                "values": values[self.order],
                "missing": missing_value,
            },
            dask="parallelized",
            output_dtypes=[values.dtype],
            keep_attrs="drop_conflicts",
        )


def _legend_table(
    types: Sequence[int],
    names: Sequence[str],
    codes_of: Mapping[int, tuple[int, ...]],
    name_of: Mapping[int, str],
    new_id: Mapping[int, int],
    final_of: Mapping[int, int],
    size: Mapping[int, float],
    final_size: Mapping[int, float],
    pixels_of: Mapping[int, int],
    unit: str,
) -> pd.DataFrame:
    """One row per provisional type, in final id order (see :class:`LandTypes`)."""
    rows = []
    for t in types:
        row: dict[str, Any] = {"Land type": new_id[t], "Name": name_of[t]}
        row.update({n: c for n, c in zip(names, codes_of[t], strict=True)})
        row[f"Area ({unit})"] = float(final_size[t]) if t in final_size else 0.0
        row[f"Area before merging ({unit})"] = float(size[t])
        row["Pixels"] = int(pixels_of[t])
        row["Merged into"] = None if final_of[t] == t else new_id[final_of[t]]
        rows.append(row)
    legend = pd.DataFrame(rows)
    # ids or None (object): a float column would show 1.0 / NaN
    legend["Merged into"] = pd.Series([r["Merged into"] for r in rows], dtype=object)
    return legend


def _merges_table(
    steps: Sequence[Mapping[str, Any]], new_id: Mapping[int, int], name_of: Mapping[int, str], unit: str
) -> pd.DataFrame:
    """One row per merge step of :func:`_merge_small`, in final ids and names."""
    merges = pd.DataFrame(
        [
            {
                "From": new_id[s["from"]],
                "From name": name_of[s["from"]],
                "Into": None if s["into"] is None else new_id[s["into"]],
                "Into name": None if s["into"] is None else name_of[s["into"]],
                f"Area ({unit})": float(s["area"]),
                "Shared border (pixels)": int(s["border"]),
                "Note": "kept: no neighbouring land type" if s["into"] is None else "merged",
            }
            for s in steps
        ],
        columns=[
            "From",
            "From name",
            "Into",
            "Into name",
            f"Area ({unit})",
            "Shared border (pixels)",
            "Note",
        ],
    )
    merges["Into"] = pd.Series(
        [None if s["into"] is None else new_id[s["into"]] for s in steps], dtype=object
    )
    merges["Into name"] = pd.Series(
        [None if s["into"] is None else name_of[s["into"]] for s in steps], dtype=object
    )
    return merges


def land_type_legend(lt: LandTypes) -> codes.Legend:
    """Legend of the land-type layer: ids 1..N, their names, :data:`codes.QUALITATIVE_COLOURS` cycled.

    >>> land_type_legend(lt).as_dict()  # doctest: +SKIP
    {1: 'soil: Vertisols · climate: Tropical moist', ...}
    """
    kept = lt.legend[lt.legend["Merged into"].isna()].sort_values("Land type")
    ids = tuple(int(i) for i in kept["Land type"])
    cols = codes.QUALITATIVE_COLOURS
    return codes.Legend(
        "land_types",
        ids,
        tuple(str(n) for n in kept["Name"]),
        tuple(cols[(i - 1) % len(cols)] for i in ids),
    )


# --- field observations ------------------------------------------------------------------------


def _pixel_index(coord: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest pixel index of ``values`` along a regular axis of centres ``coord``; inside mask."""
    n = coord.size
    if n == 1:
        step = 1.0  # degenerate axis: accept anything within half a unit
    else:
        step = float(coord[-1] - coord[0]) / (n - 1)
    pos = (values - float(coord[0])) / step
    idx = np.rint(pos)
    inside = np.isfinite(pos) & (pos >= -0.5) & (pos < n - 0.5)
    return np.where(inside, idx, 0).astype(np.int64), inside


def _sample(layer: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if rows.size == 0:
        return np.empty(0)
    pts = layer.transpose("y", "x").isel(y=xr.DataArray(rows, dims="p"), x=xr.DataArray(cols, dims="p"))
    return np.asarray(pts.compute().values)


def _field_column(points: pd.DataFrame, var: str, field_names: Mapping[str, str] | None) -> str | None:
    if field_names and var in field_names:
        return field_names[var] if field_names[var] in points.columns else None
    for c in (var, f"{var}_cm", f"{var}_percent", f"{var}_pct"):
        if c in points.columns:
            return c
    return None


def check_observations(
    points,
    land_type_layer: xr.DataArray,
    *,
    rule_layers: Mapping[str, xr.DataArray] | None = None,
    classes: Sequence[RuleClass] | None = None,
    otherwise: int | None = None,
    observed_class_field: str | None = None,
    observed_map: Mapping[Any, int] | None = None,
    field_names: Mapping[str, str] | None = None,
    land_type_names: Mapping[int, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare the maps with field observations at points (where map and field disagree).

    Parameters
    ----------
    points : GeoDataFrame of points (:func:`ldnkit.io.observations.read_observations`), reprojected
        to the layer's CRS; an ``id`` column names them (else 1, 2, ...).
    land_type_layer : the land-type layer (its value at each point is reported).
    rule_layers, classes, otherwise : the rules of a rule-based component (as in
        :func:`classify_by_rules`); the mapped values are sampled at the points.
    observed_class_field : column holding the class the field team recorded (e.g.
        ``land_capability_class``); ``observed_map`` translates its values to rule class codes
        (e.g. :func:`roman_range_map`), identity if None.
    field_names : rule variable -> column of the field value (default: the variable name, or with
        ``_cm`` / ``_percent`` appended, e.g. ``soil_depth`` -> ``soil_depth_cm``).

    Sampling takes the nearest pixel; points beyond the grid are "outside" and not compared.
    The field class is the recorded class when ``observed_class_field`` is given, else the class
    the rules give from the field values (a variable the point lacks takes the mapped value; a
    point with none of the variables is not compared). "Agrees" = field class == the mapped rule
    class (the rules applied to the mapped values). Without rules, the recorded class is compared
    with the land type id.

    Returns
    -------
    (per point table, summary). The summary has rows "Points", "Outside the grid", "Compared",
    "Agreeing", "Agreement (%)" then one row per (mapped, field) class pair with its count;
    ``attrs["confusion"]`` holds the confusion counts as {mapped: {field: n}}.
    """
    where = "observations"
    at = _sample_points(points, land_type_layer)
    n_pts = len(at.points)
    rules = None
    if classes is not None and rule_layers is not None:
        classes = as_classes(classes)
        rules = _compare_rules(at, rule_layers, classes, otherwise, field_names)
        mapped_cls = rules.mapped_class
        label_of = {int(c.code): str(c.label) for c in classes}
    else:
        mapped_cls = at.land_type.astype(np.int16)
        label_of = {int(k): str(v) for k, v in land_type_names.items()} if land_type_names else {}
    observed: list[int | None] = [None] * n_pts
    if observed_class_field is not None:
        observed = _recorded_classes(at.points, observed_class_field, observed_map, where)

    def name(code) -> Any:
        if code is None or int(code) == codes.NODATA:
            return "no data"
        return label_of.get(int(code), int(code))

    rows = []
    for i in range(n_pts):
        row: dict[str, Any] = {"Id": at.ids[i], "x": float(at.px[i]), "y": float(at.py[i])}
        if not at.inside[i]:
            row["Land type"] = "outside"
        elif at.land_type[i] == codes.NODATA:
            row["Land type"] = "no data"
        else:
            row["Land type"] = int(at.land_type[i])
            if land_type_names:
                row["Land type name"] = land_type_names.get(int(at.land_type[i]))
        field_cls: int | None = None
        if rules is not None:
            for v in rules.variables:
                row[f"Mapped {v}"] = float(rules.mapped[v][i]) if np.isfinite(rules.mapped[v][i]) else None
                row[f"Field {v}"] = float(rules.field[v][i]) if np.isfinite(rules.field[v][i]) else None
            rf = int(rules.field_class[i])
            row["Rule class from field values"] = name(rf) if rules.has_field[i] else None
            if observed_class_field is None and rules.has_field[i] and rf != codes.NODATA:
                field_cls = rf
        if observed_class_field is not None:
            row["Recorded class"] = name(observed[i]) if observed[i] is not None else None
            field_cls = observed[i]
        mc = int(mapped_cls[i]) if at.inside[i] else codes.NODATA
        row["Mapped class"] = name(mc) if at.inside[i] else "outside"
        compared = at.inside[i] and field_cls is not None and mc != codes.NODATA
        row["Agrees"] = bool(field_cls == mc) if compared else None
        row["_mapped"], row["_field"] = (mc, field_cls) if compared else (None, None)
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs = {
        "title": "LDN-5 Field observations",
        "compared": "recorded class"
        if observed_class_field
        else ("rules on field values" if rules is not None else "nothing"),
        "sampling": "nearest pixel",
    }
    summary = _agreement_summary(table, n_pts, int((~at.inside).sum()), name)
    table = table.drop(columns=["_mapped", "_field"])
    return table, summary


@dataclass
class _PointSample:
    """Field points located on the land-type grid (nearest pixel)."""

    points: Any  # the points, in the layer's CRS
    px: np.ndarray
    py: np.ndarray
    ids: list
    rows: np.ndarray
    cols: np.ndarray
    inside: np.ndarray  # False for points beyond the grid
    land_type: np.ndarray  # int64 land type at each point, NODATA outside


def _sample_points(points, land_type_layer: xr.DataArray) -> _PointSample:
    """Reproject the points to the layer's CRS, find their pixels and sample the land types."""
    crs = getattr(getattr(land_type_layer, "rio", None), "crs", None)
    pts = points
    if crs is not None and getattr(points, "crs", None) is not None and points.crs != crs:
        pts = points.to_crs(crs)
    px = np.asarray(pts.geometry.x, dtype=np.float64)
    py = np.asarray(pts.geometry.y, dtype=np.float64)
    ids = list(pts["id"]) if "id" in pts.columns else list(range(1, len(pts) + 1))
    layer = land_type_layer.transpose("y", "x")
    ci, in_x = _pixel_index(np.asarray(layer["x"].values, np.float64), px)
    ri, in_y = _pixel_index(np.asarray(layer["y"].values, np.float64), py)
    inside = in_x & in_y
    lt_vals = np.full(len(pts), codes.NODATA, np.int64)
    lt_vals[inside] = _sample(layer, ri[inside], ci[inside]).astype(np.int64)
    return _PointSample(pts, px, py, ids, ri, ci, inside, lt_vals)


@dataclass
class _RuleComparison:
    """A rule-based component at the points: mapped and field values, and the classes they give."""

    variables: list[str]
    mapped: dict[str, np.ndarray]
    field: dict[str, np.ndarray]
    mapped_class: np.ndarray
    field_class: np.ndarray  # the rules on the field values (mapped values where the field lacks one)
    has_field: np.ndarray  # the point has at least one field value


def _compare_rules(
    at: _PointSample,
    rule_layers: Mapping[str, xr.DataArray],
    classes: list[RuleClass],
    otherwise: int | None,
    field_names: Mapping[str, str] | None,
) -> _RuleComparison:
    """Sample the rule layers at the points and classify both the mapped and the field values."""
    n_pts = len(at.points)
    variables = list(rule_layers)
    spec = rule_spec(classes, variables, otherwise, "rules")
    mapped: dict[str, np.ndarray] = {}
    field_vals: dict[str, np.ndarray] = {}
    inside = at.inside
    for v in variables:
        vals = np.full(n_pts, np.nan)
        vals[inside] = as_float(
            _sample(mask_declared_nodata(rule_layers[v], np.nan), at.rows[inside], at.cols[inside])
        )
        mapped[v] = vals
        col = _field_column(at.points, v, field_names)
        field_vals[v] = (
            np.full(n_pts, np.nan)
            if col is None
            else pd.to_numeric(at.points[col], errors="coerce").to_numpy(np.float64)
        )
    mapped_cls = classify_values([mapped[v] for v in variables], spec, otherwise)
    has_field = np.zeros(n_pts, bool)
    combined = []
    for v in variables:
        f = field_vals[v]
        has_field |= np.isfinite(f)
        combined.append(np.where(np.isfinite(f), f, mapped[v]))
    field_cls = classify_values(combined, spec, otherwise)
    return _RuleComparison(variables, mapped, field_vals, mapped_cls, field_cls, has_field)


def _recorded_classes(
    pts, observed_class_field: str, observed_map: Mapping[Any, int] | None, where: str
) -> list[int | None]:
    """The class each point's team recorded, translated by ``observed_map`` (None if empty)."""
    if observed_class_field not in pts.columns:
        raise InputError(
            where,
            f"has no column {observed_class_field!r}",
            f"the points have: {', '.join(map(str, pts.columns))}",
        )
    observed: list[int | None] = [None] * len(pts)
    for i, v in enumerate(pts[observed_class_field]):
        if observed_map is not None and v in observed_map:
            observed[i] = int(observed_map[v])
            continue
        c = parse_class(v, where, observed_class_field)  # int, "3" or roman "III"
        if c is not None and observed_map is not None:
            c = observed_map.get(c)  # e.g. capability class 3 -> rule class 2
        observed[i] = None if c is None else int(c)
    return observed


def _agreement_summary(table: pd.DataFrame, n_pts: int, n_out: int, name: Any) -> pd.DataFrame:
    """Counts of points compared and agreeing, and the confusion of mapped / field classes."""
    comp = table.dropna(subset=["_mapped"]) if len(table) else table
    n_comp = len(comp)
    n_agree = int(comp["Agrees"].sum()) if n_comp else 0
    confusion: dict[str, dict[str, int]] = {}
    for mc, fc in zip(comp.get("_mapped", []), comp.get("_field", []), strict=True):
        mk, fk = str(name(mc)), str(name(fc))
        confusion.setdefault(mk, {}).setdefault(fk, 0)
        confusion[mk][fk] += 1
    srows = [
        ("Points", n_pts),
        ("Outside the grid", n_out),
        ("Compared", n_comp),
        ("Agreeing", n_agree),
        ("Agreement (%)", 100.0 * n_agree / n_comp if n_comp else None),
    ]
    for mk in sorted(confusion):
        for fk in sorted(confusion[mk]):
            srows.append((f"Mapped {mk} / field {fk}", confusion[mk][fk]))
    summary = pd.DataFrame(srows, columns=["Measure", "Value"])
    summary.attrs = {
        "title": "Field observations: agreement",
        "n_points": n_pts,
        "n_outside": n_out,
        "n_compared": n_comp,
        "agreement_pct": 100.0 * n_agree / n_comp if n_comp else None,
        "confusion": confusion,
    }
    return summary
