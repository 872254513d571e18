"""Hotspots (contiguous degradation) and brightspots (contiguous improvement), PRAIS SO1-4.T4 / T5.

A hotspot is a connected area of degraded land (-1 in a 3-class status or SDG layer), a brightspot a
connected area of improved land (+1), larger than a minimum area. Two ways to find them:

* ``method="components"``: connected components (:func:`scipy.ndimage.label`, 4- or 8-connectivity) of
  the pixels with the condition;
* ``method="density"``: connected components of the valid pixels whose moving ``window x window`` share
  of the condition among the valid land pixels of the window is >= ``density_threshold`` (a local
  statistic that bridges small gaps of stable land inside a degraded area and drops scattered pixels).
  The window sums use :func:`scipy.ndimage.uniform_filter` block by block (``dask.array.map_overlap``),
  so the statistic is lazy and its memory bounded by the chunk size.

Labelling needs the whole mask in memory (1 byte per pixel) and the int32 labels (4 bytes per pixel,
renumbered in place): about 5 bytes per pixel, 8 GB for 40 000 x 40 000.
Everything else (areas, centres, dominant attributes) is computed block by block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pyproj
import xarray as xr
from scipy import ndimage

from ldnkit import codes
from ldnkit.errors import ConfigError, InputError

if TYPE_CHECKING:
    from ldnkit.drivers import DriverRecord

__all__ = ["find_hotspots", "hotspot_kind_layer", "attach_drivers", "density_mask"]

_KINDS = {"hotspot": codes.HOTSPOT, "brightspot": codes.BRIGHTSPOT}
_KIND_NAMES = {"hotspot": "Hotspot", "brightspot": "Brightspot"}
_TABLE_IDS = {"hotspot": "SO1-4.T4", "brightspot": "SO1-4.T5"}
#: Tile size used for the per-component sums when the inputs are numpy-backed.
_TILE = 2048
#: Offset making int16 codes non-negative, and the stride of (label, code) keys.
_CODE_OFFSET, _CODE_SPAN = 32768, 65536


# --- masks ----------------------------------------------------------------------------------------
def _density_block(c: np.ndarray, target: int, threshold: float, window: int) -> np.ndarray:
    """1 where the pixel is valid land and the window share of ``target`` among valid pixels of the
    window >= threshold. Outside the array counts as no data (constant 0 counts)."""
    valid = (c == -1) | (c == 0) | (c == 1)  # NaN and NODATA are not land
    num = (c == target).astype(np.float64)
    den = valid.astype(np.float64)
    n = window * window
    # uniform_filter gives window means; times n and rounded they are exact integer counts
    sn = np.rint(ndimage.uniform_filter(num, size=window, mode="constant", cval=0.0) * n)
    sd = np.rint(ndimage.uniform_filter(den, size=window, mode="constant", cval=0.0) * n)
    return (valid & (sd > 0) & (sn >= threshold * sd - 1e-9)).astype(np.uint8)


def density_mask(
    condition: xr.DataArray, *, kind: str = "hotspot", window: int = 5, density_threshold: float = 0.5
) -> xr.DataArray:
    """uint8 mask (1/0) of the pixels used by ``method="density"`` of :func:`find_hotspots`.

    A pixel is in the mask when it is valid land (-1, 0 or 1) and, among the valid pixels of the
    ``window x window`` window centred on it, the share with the condition (-1 for hotspots, +1 for
    brightspots) is >= ``density_threshold``. Pixels beyond the raster edge count as no data. Lazy on
    dask-backed input (``map_overlap`` with a halo of ``window // 2`` pixels).

    Example
    -------
    >>> m = density_mask(sdg, kind="hotspot", window=5, density_threshold=0.6)   # doctest: +SKIP
    """
    target = _target(kind)
    if not isinstance(window, (int, np.integer)) or window < 1 or window % 2 == 0:
        raise ConfigError(
            "hotspots.window", f"{window!r} is not an odd positive number of pixels", "use 3, 5, 7 ..."
        )
    if not 0.0 < float(density_threshold) <= 1.0:
        raise ConfigError(
            "hotspots.density_threshold", f"{density_threshold!r} is not a share in (0, 1]", "use e.g. 0.5"
        )
    kw = {"target": target, "threshold": float(density_threshold), "window": int(window)}
    data = condition.data
    if isinstance(data, da.Array):
        pad = np.nan if np.issubdtype(data.dtype, np.floating) else codes.NODATA  # padding is not land
        r = int(window) // 2
        out = da.map_overlap(_density_block, data, depth=r, boundary=pad, dtype=np.uint8, trim=True, **kw)
    else:
        out = _density_block(np.asarray(data), **kw)
    res = condition.copy(data=out).rename(f"{kind}_density")
    res.attrs = {
        "method": "window_share",
        "kind": kind,
        "window": int(window),
        "density_threshold": float(density_threshold),
    }
    return res


#: Pixels renumbered at once (bounds the index temporaries to ~100 MB).
_RENUMBER_PIXELS = 8 * 2**20


def _release_free_memory() -> None:
    """Give the memory freed by earlier stages back to the operating system (glibc keeps it in its
    arenas otherwise, and the whole-raster arrays of labelling come on top); a no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _target(kind: str) -> int:
    k = str(kind).strip().lower()
    if k not in _KINDS:
        raise ConfigError("hotspots.kind", f"{kind!r} is not a kind", "use 'hotspot' or 'brightspot'")
    return _KINDS[k]


# --- per-component statistics, block by block ----------------------------------------------------
def _tile_stats(lab: np.ndarray, area: np.ndarray, xc: np.ndarray, yc: np.ndarray, *attrs: np.ndarray):
    """Sparse per-label sums of one tile: (labels, pixels, area, Σ area·x, Σ area·y, Σ x, Σ y) and,
    per attribute, ((label, code) keys, area)."""
    sel = lab > 0
    lab_s = lab[sel].astype(np.int64)
    a = np.asarray(area, dtype=np.float64)[sel]
    a = np.where(np.isfinite(a), a, 0.0)
    ids, inv = np.unique(lab_s, return_inverse=True)
    xs = np.broadcast_to(xc[None, :], lab.shape)[sel]
    ys = np.broadcast_to(yc[:, None], lab.shape)[sel]
    m = len(ids)
    base = (
        ids,
        np.bincount(inv, minlength=m).astype(np.float64),
        np.bincount(inv, a, minlength=m),
        np.bincount(inv, a * xs, minlength=m),
        np.bincount(inv, a * ys, minlength=m),
        np.bincount(inv, xs, minlength=m),
        np.bincount(inv, ys, minlength=m),
    )
    per_attr = []
    for arr in attrs:
        v = np.asarray(arr)[sel]
        if np.issubdtype(v.dtype, np.floating):
            v = np.where(np.isfinite(v), v, codes.NODATA)
        v = np.clip(v.astype(np.int64), -_CODE_OFFSET, _CODE_OFFSET - 1)
        key = lab_s * _CODE_SPAN + (v + _CODE_OFFSET)
        uk, ui = np.unique(key, return_inverse=True)
        per_attr.append((uk, np.bincount(ui, a, minlength=len(uk))))
    return base, per_attr


def _tiles(shape: tuple[int, int], like: Sequence[xr.DataArray]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Row and column chunk sizes: those of the first dask-backed layer, else square tiles."""
    for a in like:
        if isinstance(a.data, da.Array):
            return a.data.chunks[0], a.data.chunks[1]
    ny, nx = shape
    return da.core.normalize_chunks(_TILE, (ny,))[0], da.core.normalize_chunks(_TILE, (nx,))[0]


def _component_stats(labels: np.ndarray, n: int, area: xr.DataArray, attrs: Mapping[str, xr.DataArray]):
    xc = np.asarray(area["x"].values, dtype=np.float64)
    yc = np.asarray(area["y"].values, dtype=np.float64)
    layers = [area, *attrs.values()]
    rows, cols = _tiles(labels.shape, layers)
    tasks = []
    y0 = 0
    for h in rows:
        x0 = 0
        for w in cols:
            ys, xs = slice(y0, y0 + h), slice(x0, x0 + w)
            lab = labels[ys, xs]
            if lab.any():  # tiles without components cost nothing
                blocks = [a.data[ys, xs] for a in layers]
                tasks.append(
                    dask.delayed(_tile_stats, pure=False)(lab, *blocks[:1], xc[xs], yc[ys], *blocks[1:])
                )
            x0 += w
        y0 += h
    results = dask.compute(*tasks) if tasks else []
    sums = np.zeros((6, n + 1))
    attr_parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in attrs]
    for base, per_attr in results:
        ids = base[0]
        for k in range(6):
            np.add.at(sums[k], ids, base[k + 1])
        for j, part in enumerate(per_attr):
            attr_parts[j].append(part)
    dominant = {}
    for name, parts in zip(attrs, attr_parts, strict=True):
        dominant[name] = _dominant(parts, n)
    return sums, dominant


def _dominant(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per label 0..n: the code covering the largest area (ties: smallest code; NODATA never wins)
    and that area; (NODATA, 0) where the label has no valid code."""
    code = np.full(n + 1, codes.NODATA, dtype=np.int64)
    best = np.zeros(n + 1)
    if not parts:
        return code, best
    keys = np.concatenate([p[0] for p in parts])
    w = np.concatenate([p[1] for p in parts])
    uk, ui = np.unique(keys, return_inverse=True)
    wa = np.bincount(ui, w, minlength=len(uk))
    lab, c = uk // _CODE_SPAN, uk % _CODE_SPAN - _CODE_OFFSET
    ok = c != codes.NODATA
    lab, c, wa = lab[ok], c[ok], wa[ok]
    order = np.lexsort((c, -wa, lab))  # by label, then largest area, then smallest code
    lab, c, wa = lab[order], c[order], wa[order]
    first = np.r_[True, lab[1:] != lab[:-1]]
    code[lab[first]] = c[first]
    best[lab[first]] = wa[first]
    return code, best


def _lonlat(crs, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if crs is None or len(x) == 0:
        return np.full(len(x), np.nan), np.full(len(x), np.nan)
    src = pyproj.CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    wgs84 = pyproj.CRS.from_epsg(4326)
    if src.equals(wgs84, ignore_axis_order=True):
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    t = pyproj.Transformer.from_crs(src, wgs84, always_xy=True)
    lon, lat = t.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def _check_layer(arr: xr.DataArray, ref: xr.DataArray, name: str) -> None:
    if arr.dims != ("y", "x"):
        raise InputError(name, f"has dims {arr.dims}, expected ('y', 'x')", "select one year or period first")
    if arr.shape != ref.shape:
        raise InputError(
            name, f"shape {arr.shape} differs from the condition's {ref.shape}", "align it first"
        )


# --- public API -----------------------------------------------------------------------------------
def find_hotspots(
    condition: xr.DataArray,
    *,
    kind: str = "hotspot",
    area: xr.DataArray,
    min_area_km2: float = 1.0,
    connectivity: int = 8,
    method: str = "components",
    window: int = 5,
    density_threshold: float = 0.5,
    attributes: Mapping[str, xr.DataArray] | None = None,
    attribute_names: Mapping[str, Mapping[int, str]] | None = None,
) -> tuple[xr.DataArray, pd.DataFrame]:
    """Find hotspots (contiguous -1) or brightspots (contiguous +1) of a 3-class layer (public API).

    Parameters
    ----------
    condition : 3-class layer ``(y, x)`` (SDG 15.3.1 or status: -1 degraded, 0 stable, 1 improved;
        NODATA / NaN missing).
    kind : ``"hotspot"`` (-1) or ``"brightspot"`` (+1).
    area : km² per pixel on the same grid (:func:`ldnkit.area.cell_area`).
    min_area_km2 : components smaller than this are dropped (area >= min_area_km2 kept).
    connectivity : 4 (edge neighbours) or 8 (edge and corner neighbours).
    method : ``"components"`` (components of the condition pixels) or ``"density"`` (components of the
        valid pixels whose ``window x window`` share of the condition among valid pixels is >=
        ``density_threshold``, see :func:`density_mask`).
    attributes : column name -> categorical layer (e.g. ``{"Region": regions, "Land type": lt,
        "Land-cover transition": trans, "LPD class": lpd}``); the table gives, per component, the code
        covering most of its area (NODATA never wins; ties: smallest code) and its share.
    attribute_names : column name -> {code: name} used for the dominant values (else the code).

    Returns
    -------
    ``(labels, table)``: ``labels`` int32 ``(y, x)``, 0 outside every kept component, 1..N by
    decreasing area (ties: the component whose first pixel in row-major order comes first); dask-backed
    (chunked like ``condition``) when ``condition`` is. ``table`` (``attrs["title"]``, ``attrs["id"]``
    SO1-4.T4 or T5): "Id", "Kind", "Area (km²)", "Pixels", "Centre x", "Centre y" (area-weighted
    centroid of the pixel centres, grid CRS), "Longitude", "Latitude" (WGS84, via pyproj), then per
    attribute ``<name>`` and ``<name> share (%)``.

    Memory: labelling holds the whole mask (1 byte/pixel) and the labels (4 bytes/pixel, renumbered in
    place) in memory; the statistics are computed block by block.

    Example
    -------
    >>> labels, table = find_hotspots(sdg, kind="hotspot", area=cell_area(sdg), min_area_km2=1)
    ...                                                                  # doctest: +SKIP
    >>> table[["Id", "Area (km²)", "Longitude", "Latitude"]]                # doctest: +SKIP
    """
    kind = str(kind).strip().lower()
    target = _target(kind)
    attributes = dict(attributes or {})
    attribute_names = dict(attribute_names or {})
    _check_layer(condition, condition, "hotspots condition")
    _check_layer(area, condition, "hotspots area")
    for name, arr in attributes.items():
        _check_layer(arr, condition, f"hotspots attribute {name!r}")
    if connectivity not in (4, 8):
        raise ConfigError("hotspots.connectivity", f"{connectivity!r} is not 4 or 8", "use 4 or 8")
    if not np.isfinite(min_area_km2) or min_area_km2 < 0:
        raise ConfigError("hotspots.min_area_km2", f"{min_area_km2!r} is not >= 0", "use e.g. 1")
    mask = _condition_mask(condition, kind, target, method, window, density_threshold)
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    raw, n = ndimage.label(mask, structure=structure)
    del mask
    sums, dominant = _component_stats(raw, n, area, attributes)
    keep = _keep_and_renumber(raw, sums[1], min_area_km2)
    labels = raw
    table = _hotspot_table(kind, keep, sums, dominant, attribute_names, condition.rio.crs)

    data = (
        da.from_array(labels, chunks=condition.data.chunks)
        if isinstance(condition.data, da.Array)
        else labels
    )
    coords = {k: v for k, v in condition.coords.items() if set(v.dims) <= {"y", "x"}}
    out = xr.DataArray(data, dims=("y", "x"), coords=coords, name=f"{kind}s")
    out.attrs = {
        "method": f"connected_components_{method}",
        "kind": kind,
        "condition_value": int(target),
        "connectivity": int(connectivity),
        "min_area_km2": float(min_area_km2),
        "n_components": int(len(keep)),
        "n_components_before_min_area": int(n),
        "labels": "0 none; 1..N by decreasing area",
    }
    if method == "density":
        out.attrs.update(window=int(window), density_threshold=float(density_threshold))
    table.attrs["settings"] = dict(out.attrs)
    return out, table


def _condition_mask(
    condition: xr.DataArray, kind: str, target: int, method: str, window: int, density_threshold: float
) -> np.ndarray:
    """The pixels to label as a whole uint8 numpy array: the one step that needs the whole raster."""
    if method == "components":
        mask_da = condition == target
    elif method == "density":
        mask_da = density_mask(condition, kind=kind, window=window, density_threshold=density_threshold)
    else:
        raise ConfigError("hotspots.method", f"{method!r} is not a method", "use 'components' or 'density'")
    mask_data = mask_da.data
    if isinstance(mask_data, da.Array):
        _release_free_memory()  # what earlier stages freed, before holding whole rasters
        # compute(), not dask.array.store into a numpy array: on a cluster or with the processes
        # scheduler the blocks would be stored into the workers' copies of that array
        return mask_data.astype(np.uint8).compute()
    return np.asarray(mask_data, dtype=np.uint8)


def _keep_and_renumber(raw: np.ndarray, km2: np.ndarray, min_area_km2: float) -> np.ndarray:
    """Drop components under ``min_area_km2`` and renumber ``raw`` IN PLACE 1..N by decreasing area.

    Ties go by scan order of the first pixel (scipy numbers components in that order). Returns
    the old labels kept, in their new order.
    """
    n = km2.size - 1  # km2[0] is the background
    old = np.arange(1, n + 1)
    keep = old[km2[1:] >= min_area_km2]
    keep = keep[np.lexsort((keep, -km2[keep]))]
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[keep] = np.arange(1, len(keep) + 1, dtype=np.int32)
    # In place and a band of rows at a time: `lut[raw]` would make a second int32 raster and an int64
    # index copy (12 bytes/pixel; np.take(..., out=) buffers the same way).
    step = max(1, _RENUMBER_PIXELS // max(raw.shape[1], 1))
    for r0 in range(0, raw.shape[0], step):
        band = raw[r0 : r0 + step]
        band[...] = lut[band]
    return keep


def _hotspot_table(
    kind: str,
    keep: np.ndarray,
    sums: np.ndarray,
    dominant: Mapping[str, tuple[np.ndarray, np.ndarray]],
    attribute_names: Mapping[str, Mapping[int, str]],
    crs,
) -> pd.DataFrame:
    """One row per kept component: area, pixels, centroid, lon/lat and the dominant attributes."""
    pixels, km2, sax, say, sx, sy = sums
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.where(km2[keep] > 0, sax[keep] / km2[keep], sx[keep] / pixels[keep])
        cy = np.where(km2[keep] > 0, say[keep] / km2[keep], sy[keep] / pixels[keep])
    lon, lat = _lonlat(crs, cx, cy)
    table = pd.DataFrame(
        {
            "Id": np.arange(1, len(keep) + 1, dtype=np.int64),
            "Kind": [_KIND_NAMES[kind]] * len(keep),
            "Area (km²)": km2[keep],
            "Pixels": pixels[keep].astype(np.int64),
            "Centre x": cx,
            "Centre y": cy,
            "Longitude": lon,
            "Latitude": lat,
        }
    )
    for name, (code, best) in dominant.items():
        names = attribute_names.get(name, {})
        table[name] = [None if c == codes.NODATA else str(names.get(int(c), int(c))) for c in code[keep]]
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"{name} share (%)"] = np.where(km2[keep] > 0, best[keep] / km2[keep] * 100.0, np.nan)
    table.attrs["title"] = (
        "Hotspots: contiguous degraded land" if kind == "hotspot" else "Brightspots: contiguous improved land"
    )
    table.attrs["id"] = _TABLE_IDS[kind]
    table.attrs["kind"] = kind
    return table


def hotspot_kind_layer(labels_hot: xr.DataArray, labels_bright: xr.DataArray) -> xr.DataArray:
    """int16 :data:`ldnkit.codes.HOTSPOTS` layer: -1 inside a hotspot, 1 inside a brightspot, NODATA
    elsewhere. Where both overlap (possible with ``method="density"`` and a threshold below 0.5) the
    hotspot wins. Lazy when the inputs are dask-backed.

    >>> kinds = hotspot_kind_layer(hot, bright)                            # doctest: +SKIP
    """
    hot = labels_hot > 0
    bright = labels_bright > 0
    out = xr.where(
        hot, np.int16(codes.HOTSPOT), xr.where(bright, np.int16(codes.BRIGHTSPOT), np.int16(codes.NODATA))
    ).astype(codes.CATEGORICAL_DTYPE)
    out = out.rename("hotspot_kind")
    out.attrs = {
        "method": "hotspot_kind",
        "legend": "hotspots",
        "overlap": "hotspot wins",
        "_FillValue": codes.NODATA,
    }
    return out


def _label_at(labels: xr.DataArray, x: float, y: float) -> int:
    """Label of the pixel containing (x, y) (grid CRS), 0 outside the grid."""
    xs, ys = labels["x"].values, labels["y"].values
    if len(xs) == 0 or len(ys) == 0:
        return 0
    dx = abs(float(xs[1] - xs[0])) if len(xs) > 1 else abs(labels.rio.resolution()[0])
    dy = abs(float(ys[1] - ys[0])) if len(ys) > 1 else abs(labels.rio.resolution()[1])
    ix = int(np.argmin(np.abs(xs - x)))
    iy = int(np.argmin(np.abs(ys - y)))
    if abs(xs[ix] - x) > dx / 2 * (1 + 1e-9) or abs(ys[iy] - y) > dy / 2 * (1 + 1e-9):
        return 0
    return int(labels.isel(x=ix, y=iy).values)


def attach_drivers(
    table: pd.DataFrame, labels: xr.DataArray, records: Sequence[DriverRecord]
) -> pd.DataFrame:
    """Add "Drivers", "Confidence" and "Remediation actions" columns to a hotspot/brightspot table.

    A record applies to the row whose component contains its point ``at`` (x, y in the grid CRS, or in
    ``record.crs``), or whose "Id" equals its ``hotspot_id`` (when the record's ``kind`` is None or the
    table's kind). Several records on one row are joined with "; " in record order: "Drivers" as
    "driver — sub-driver", "Confidence" as the matching IPBES terms in the same order, "Remediation
    actions" without repeats. ``attrs["unmatched_records"]`` counts records matching no row of this
    table (normal: a record is about a hotspot OR a brightspot).

    Example
    -------
    >>> from ldnkit.drivers import DriverRecord
    >>> rec = DriverRecord("Extraction of mineral resources", "well established", at=(36.5, -0.7))
    >>> attach_drivers(table, labels, [rec])["Drivers"]                   # doctest: +SKIP
    """
    out = table.copy()
    out.attrs = dict(table.attrs)
    kind = table.attrs.get("kind") or (str(table["Kind"].iloc[0]).lower() if len(table) else None)
    ids = set(int(i) for i in table["Id"]) if len(table) else set()
    drivers: dict[int, list[str]] = {i: [] for i in ids}
    conf: dict[int, list[str]] = {i: [] for i in ids}
    remed: dict[int, list[str]] = {i: [] for i in ids}
    grid_crs = labels.rio.crs
    unmatched = 0
    for r in records:
        hit = 0
        if r.hotspot_id is not None and (r.kind is None or r.kind == kind) and r.hotspot_id in ids:
            hit = r.hotspot_id
        elif r.at is not None:
            x, y = r.at
            if r.crs is not None and grid_crs is not None:
                t = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(r.crs), grid_crs, always_xy=True)
                x, y = t.transform(x, y)
            lab = _label_at(labels, x, y)
            hit = lab if lab in ids else 0
        if not hit:
            unmatched += 1
            continue
        drivers[hit].append(r.label)
        conf[hit].append(r.confidence)
        if r.remediation and r.remediation not in remed[hit]:
            remed[hit].append(str(r.remediation))
    out["Drivers"] = ["; ".join(drivers[int(i)]) for i in out["Id"]]
    out["Confidence"] = ["; ".join(conf[int(i)]) for i in out["Id"]]
    out["Remediation actions"] = ["; ".join(remed[int(i)]) for i in out["Id"]]
    out.attrs["unmatched_records"] = unmatched
    return out
