"""Land productivity of each period: trend, trajectory, state, performance and LPD, with the
performance windows' means and ecological units computed in one pass over the vegetation index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

from ldnkit import codes
from ldnkit.config import Methods
from ldnkit.indicators import productivity
from ldnkit.io.grid import Grid
from ldnkit.io.read import open_layer
from ldnkit.io.write import write_scratch
from ldnkit.periods import PeriodPlan
from ldnkit.progress import Feedback


def nanmean_block(a: np.ndarray) -> np.ndarray:
    """float64 mean over the first (year) axis of the finite values (NaN if none), summed year by
    year: the same order, hence the same bits, as performance's own mean."""
    total = np.zeros(a.shape[1:], np.float64)
    count = np.zeros(a.shape[1:], np.uint16)
    for i in range(a.shape[0]):
        v = a[i]
        ok = np.isfinite(v)
        np.add(total, v, out=total, where=ok)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def performance_inputs(
    vegetation_index: xr.DataArray,
    plans: list[PeriodPlan],
    units_of: Callable[[PeriodPlan], xr.DataArray],
    grid: Grid,
    scratch: Path,
    chunks: int,
) -> dict[str, tuple[xr.DataArray, xr.DataArray]]:
    """Per period: the mean vegetation index of its performance window and its ecological units,
    computed in ONE pass over the annual stack into scratch GeoTIFFs (means float64, so exact) and
    reopened lazily.

    Performance needs per-unit percentiles of the means over the whole extent before any pixel
    can be classed: several histogram passes per period. Reading two small 2-D files in those
    passes, and in the final one, instead of re-reading and re-averaging the stack (and re-warping
    the climate zones) each time keeps the vegetation index to two reads per run."""
    todo = [p for p in plans if not p.external_lpd]
    items: dict[str, tuple[xr.DataArray, Path]] = {}
    keys: dict[str, tuple[str, str]] = {}
    for p in todo:
        w = p.performance
        key = f"mean_{w[0]}-{w[1]}"
        if key not in items:
            # map_blocks on the (year, y, x) blocks as read: apply_ufunc would first copy each
            # block into (y, x, year) order
            window = vegetation_index.sel(year=slice(*w)).transpose("year", "y", "x").data.rechunk({0: -1})
            mean = window.map_blocks(nanmean_block, drop_axis=0, dtype=np.float64)
            items[key] = (grid.wrap(mean), scratch / f"{key}.tif")
        units = units_of(p)
        ukey = f"units_{units.data.name}"  # periods whose units are the same layer share them
        if ukey not in items:
            items[ukey] = (grid.wrap(units.data), scratch / f"units_{len(items)}.tif")
        keys[p.name] = (key, ukey)
    paths = dict(zip(items, write_scratch(list(items.values())), strict=True))
    out = {}
    for p in todo:
        mkey, ukey = keys[p.name]
        mean = open_layer(paths[mkey], chunks=chunks).expand_dims(year=[p.performance[1]])
        out[p.name] = (mean, open_layer(paths[ukey], chunks=chunks))
    return out


def productivity_layers(
    window: xr.DataArray,
    vegetation_index: xr.DataArray,
    plan: PeriodPlan,
    methods: Methods,
    grid: Grid,
    perf_inputs: dict[str, tuple[xr.DataArray, xr.DataArray]],
    feedback: Feedback,
) -> dict[str, xr.DataArray]:
    """Trend slope, trajectory, state, performance (ratio and class) and LPD of one period."""
    out: dict[str, xr.DataArray] = {}
    trajectory = methods.trajectory
    trend_ds = productivity.trend(window)
    out["trend_slope"] = trend_ds["slope"].astype("float32")
    out["trend_slope"].attrs = dict(trend_ds.attrs)
    out["trajectory"] = productivity.trajectory(
        window,
        method=trajectory.method,
        alpha=trajectory.alpha,
        z_threshold=trajectory.z_threshold,
        level=trajectory.level,
    )
    state = methods.state
    out["state"] = productivity.state(
        vegetation_index,
        historical=plan.state_historical,
        comparison=plan.state_comparison,
        method=state.method,
        min_difference=state.min_difference,
        z_threshold=state.z_threshold,
        z_denominator=state.z_denominator,
    )
    performance = methods.performance
    # The window's mean as a one-year stack: performance's NaN-aware mean of one value is that
    # value, so the ratio is as from the whole window, whose years the attrs then record.
    mean, units = perf_inputs[plan.name]
    with feedback.stage(f"Unit percentiles, {plan.name}", pixels=grid.width * grid.height):  # eager
        perf = productivity.performance(
            mean, units, threshold=performance.threshold, percentile=performance.percentile
        )
    for name, key in (("performance_ratio", "ratio"), ("performance", "class")):
        out[name] = perf[key]
        out[name].attrs["years"] = [int(y) for y in plan.performance]
    out["lpd"] = productivity.lpd(
        out["trajectory"], out["state"], out["performance"], table=methods.lpd.table
    )
    return out


def land_cover_units(
    year: int, maps: dict[int, xr.DataArray], zones: xr.DataArray | None, kind: str
) -> xr.DataArray:
    """Ecological units from land cover (the latest map at or before ``year``), times the climate
    zone unless ``kind`` is ``land_cover`` or there are no zones."""
    before = [y for y in maps if y <= year]
    land_cover = maps[max(before) if before else min(maps)]
    valid = (land_cover >= 1) & (land_cover <= 7)
    if kind == "land_cover" or zones is None:
        return land_cover.where(valid, codes.NODATA).astype(codes.CATEGORICAL_DTYPE)
    z = zones.astype("int32")
    units = (land_cover.astype("int32") * 100 + z).where(valid & (z >= 0), codes.NODATA)
    return units.astype("int32")


__all__ = ["land_cover_units", "nanmean_block", "performance_inputs", "productivity_layers"]
