"""``run(config) -> Result``: load and align the inputs, build every layer lazily, write, tabulate.

The whole computation is one lazy dask graph per stage: rasters are read window by window, every
per-pixel step runs block by block, and all layers are written in a single ``dask.compute`` so shared
upstream work (reading, the trend kernel ...) is done once. Tables are then computed in one more pass
over the written (small, int16) layers. Everything goes to a temporary sibling of the output folder
that is renamed into place only when complete.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from collections.abc import Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dask
import numpy as np
import rasterio
import xarray as xr

from ldnkit.io import run_folder
from ldnkit.io.grid import check_overlap, grid_of, is_virtual
from ldnkit.io.read import open_layer
from ldnkit.io.readers import band_years, open_annual_stack
from ldnkit.io.warp import align
from ldnkit.io.write import write_layers, write_scratch

from . import __version__, codes
from .area import cell_area
from .config import RunConfig, load_config
from .errors import ConfigError, InputError
from .indicators import land_cover as lcmod
from .indicators import productivity as prod
from .indicators import sdg as sdgmod
from .indicators import soc as socmod
from .io import vector as vec_io
from .layer_meta import LAYER_TAG, LayerMeta
from .periods import PeriodPlan, plan_periods
from .progress import Feedback
from .tables import AOI_SCOPE, PeriodLayers, TableInputs, compute_tables, tables_to_json, write_xlsx


def _period_layer(title, group, description, order, legend=None, unit="class", report_map=False):
    return LayerMeta(title, group, description, unit, legend, order, report_map=report_map)


_SDG, _LC, _LP, _SOC = "SDG 15.3.1", "Land cover", "Land productivity", "Soil organic carbon"
#: Layers written for every period, in this order, with their metadata (the subgroup, set when
#: written, is the period's name).
PERIOD_LAYERS: dict[str, LayerMeta] = {
    "trend_slope": _period_layer(
        "Trend slope",
        _LP,
        "Theil-Sen slope of the vegetation index (VI units per year)",
        11,
        unit="VI units per year",
    ),
    "trajectory": _period_layer(
        "Productivity trajectory",
        _LP,
        "Productivity trajectory (-1 degrading, 0 stable, 1 improving)",
        7,
        codes.DEGRADATION,
    ),
    "state": _period_layer(
        "Productivity state",
        _LP,
        "Productivity state (-1 degrading, 0 stable, 1 improving)",
        8,
        codes.DEGRADATION,
    ),
    "performance_ratio": _period_layer(
        "Performance ratio", _LP, "Productivity performance: pixel mean / unit percentile", 10, unit="ratio"
    ),
    "performance": _period_layer(
        "Productivity performance",
        _LP,
        "Productivity performance (-1 degraded, 0 not degraded)",
        9,
        codes.DEGRADATION,
    ),
    "lpd": _period_layer(
        "Land productivity dynamics",
        _LP,
        "Land productivity dynamics (1 declining .. 5 increasing)",
        5,
        codes.LPD,
        report_map=True,
    ),
    "productivity_degradation": _period_layer(
        "Productivity sub-indicator",
        _LP,
        "Productivity sub-indicator (-1 degraded, 0 stable, 1 improved)",
        6,
        codes.DEGRADATION,
    ),
    "land_cover_transition": _period_layer(
        "Land-cover transition",
        _LC,
        "Land cover transition (initial class * 10 + final class)",
        3,
        codes.LAND_COVER_TRANSITION,
    ),
    "land_cover_degradation": _period_layer(
        "Land-cover degradation",
        _LC,
        "Land cover sub-indicator (-1 degraded, 0 stable, 1 improved)",
        4,
        codes.DEGRADATION,
        report_map=True,
    ),
    "soc_change": _period_layer(
        "Soil organic carbon change", _SOC, "SOC stock change (%)", 12, unit="%", report_map=True
    ),
    "soc_degradation": _period_layer(
        "SOC sub-indicator",
        _SOC,
        "SOC sub-indicator (-1 degraded, 0 stable, 1 improved)",
        13,
        codes.DEGRADATION,
    ),
    "sdg": _period_layer(
        "SDG 15.3.1 (one-out-all-out)",
        _SDG,
        "SDG 15.3.1 one-out-all-out (-1 degraded, 0 stable, 1 improved)",
        0,
        codes.DEGRADATION,
        report_map=True,
    ),
    "status": _period_layer(
        "Status against the baseline",
        _SDG,
        "Status against the baseline (-1 degraded, 0 stable, 1 improved)",
        1,
        codes.DEGRADATION,
        report_map=True,
    ),
    "status_expanded": _period_layer(
        "Expanded status (7 classes)",
        _SDG,
        "Expanded status against the baseline (7 classes)",
        2,
        codes.STATUS_EXPANDED,
    ),
}


def land_cover_meta(year: int) -> LayerMeta:
    return LayerMeta(
        f"Land cover {year}",
        _LC,
        f"UNCCD land cover classes, {year}",
        "class",
        codes.LAND_COVER,
        20,
        subgroup="Land cover maps",
    )


def soc_stock_meta(year: int) -> LayerMeta:
    return LayerMeta(
        f"SOC stock {year}",
        _SOC,
        f"Soil organic carbon stock 0-30 cm, {year} (t/ha)",
        "t/ha",
        None,
        20,
        subgroup="SOC stock (t/ha)",
    )


def layer_entry(path: Path, root: Path, attrs: Mapping[str, Any], meta: LayerMeta | None) -> dict[str, Any]:
    """summary.json's entry for one written layer: its path, attrs and metadata."""
    entry = {"path": str(path.relative_to(root)), "attrs": attrs}
    return entry | (meta.entry() if meta is not None else {})


@dataclass
class Result:
    """What a run produced: the output folder, its layer files, tables and summary."""

    output: Path
    layers: dict[str, Path]
    tables: dict[str, dict[str, Any]]
    summary: dict[str, Any]
    wall_time: float = 0.0
    periods: list[PeriodPlan] = field(default_factory=list)

    def layer(self, name: str, period: str | None = None) -> xr.DataArray:
        """Open one written layer lazily, e.g. ``result.layer("sdg", "baseline")``."""
        key = f"{period}/{name}" if period else name
        if key not in self.layers:
            raise KeyError(f"no layer {key!r}; have {sorted(self.layers)}")
        return open_layer(self.layers[key]).squeeze(drop=True)


# ---------------------------------------------------------------------------------------------------
@contextmanager
def _scheduler(name: str, workers: int | None):
    """Run dask work on threads, processes, or a dask.distributed cluster at an address."""
    if "://" in name:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError(
                "compute.scheduler", "needs the 'distributed' package", "pip install 'ldnkit[distributed]'"
            ) from None
        try:
            client = Client(name, timeout="20s")
        except OSError as exc:
            raise ConfigError(
                "compute.scheduler",
                f"cannot reach the scheduler at {name} ({exc})",
                "check the address and that the cluster is running",
            ) from None
        try:
            with suppress(Exception):  # workers that cannot run it keep GDAL's default
                client.run(_gdal_cache)
            with dask.config.set(scheduler=client):
                yield True
        finally:
            client.close()
        return
    opts: dict[str, Any] = {"scheduler": name}
    if workers:
        opts["num_workers"] = workers
    if name != "processes":
        with dask.config.set(**opts):
            yield False
        return
    # One pool of worker processes for the whole run: dask would otherwise start (spawn) a new
    # pool, re-importing ldnkit in every process, for each of the run's dask computations.
    import os
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    from dask.multiprocessing import get_context, initialize_worker_process

    os.environ.setdefault("PYTHONHASHSEED", "6640")  # what dask sets: consistent hashing in workers
    init = partial(initialize_worker_process, user_initializer=_gdal_cache)
    with ProcessPoolExecutor(workers or os.cpu_count(), mp_context=get_context(), initializer=init) as pool:
        with dask.config.set(**opts, pool=pool):
            yield False


#: GDAL block cache per process (MB) unless GDAL_CACHEMAX is set: GDAL's default, 5 % of the RAM,
#: would hold up to 1.2 GB of tiles on a 24 GB machine; block-aligned windowed reads and writes
#: need little (reads of a 24-band 1024x1024 window are as fast with 32 MB).
GDAL_CACHE_MB = 256


def _gdal_cache_bytes() -> int | None:
    import os

    return None if os.environ.get("GDAL_CACHEMAX") else GDAL_CACHE_MB * 2**20


def _gdal_cache() -> None:
    """Set GDAL's block cache of this (worker) process, unless GDAL_CACHEMAX is set."""
    nbytes = _gdal_cache_bytes()
    if nbytes:
        from rasterio._env import set_gdal_config

        set_gdal_config("GDAL_CACHEMAX", nbytes)


def _need_file(cfg: RunConfig, path: Path, key: str) -> Path:
    if is_virtual(path):  # /vsis3/... on object storage: GDAL reports a missing object
        return Path(path)
    p = cfg.resolve(path)
    if not p.exists():
        raise InputError(
            key, f"file not found: {p}", "check the path (relative paths start at the config's folder)"
        )
    return p


def _mask(layer: xr.DataArray, inside: xr.DataArray) -> xr.DataArray:
    """Categorical NODATA / float NaN outside the area of interest; attrs kept."""
    if np.issubdtype(layer.dtype, np.floating):
        out = layer.where(inside)
    else:
        out = layer.where(inside, codes.NODATA).astype(codes.CATEGORICAL_DTYPE)
    out.attrs = dict(layer.attrs)
    return out


def _as_int16(a: xr.DataArray) -> xr.DataArray:
    """Categorical codes from a reader (ints, or floats with NaN) as int16 with NODATA."""
    if np.issubdtype(a.dtype, np.floating):
        return a.fillna(codes.NODATA).astype(codes.CATEGORICAL_DTYPE)
    return a.astype(codes.CATEGORICAL_DTYPE)


class _Loader:
    """Opens and aligns every input of a config on one target grid, lazily."""

    def __init__(self, cfg: RunConfig, tmp: Path) -> None:
        self.cfg, self.tmp = cfg, tmp
        self.chunks = cfg.compute.chunk_size
        self.inputs_used: dict[str, str] = {}

    # -- productivity and grid --
    def vegetation_index(self) -> xr.DataArray | None:
        pi = self.cfg.inputs.productivity
        if pi is None:
            return None
        path = _need_file(self.cfg, pi.path, "inputs.productivity.path")
        self.inputs_used["productivity"] = str(path)
        return open_annual_stack(
            path,
            years=pi.years,
            variable=pi.variable,
            aggregate=pi.aggregate,
            scale=pi.scale,
            offset=pi.offset,
            nodata=pi.nodata,
            chunks=self.chunks,
            key="inputs.productivity",
        )

    def categorical(self, path: Path, key: str, grid) -> xr.DataArray:
        p = _need_file(self.cfg, path, key)
        self.inputs_used[key] = str(p)
        a = open_layer(p, grid=grid, resampling="nearest", chunks=self.chunks, key=key)
        return a

    def continuous(self, path: Path, key: str, grid) -> xr.DataArray:
        p = _need_file(self.cfg, path, key)
        self.inputs_used[key] = str(p)
        return open_layer(p, grid=grid, resampling="average", chunks=self.chunks, key=key, masked=True)


def _nesting(cfg: RunConfig) -> dict[int, list[int]]:
    lc = cfg.inputs.land_cover
    if isinstance(lc.nesting, dict):
        return {int(k): [int(c) for c in v] for k, v in lc.nesting.items()}
    if isinstance(lc.nesting, Path):
        p = _need_file(cfg, lc.nesting, "inputs.land_cover.nesting")
        import yaml

        try:
            data = yaml.safe_load(p.read_text())
            return {int(k): [int(c) for c in v] for k, v in data.items()}
        except Exception:
            raise InputError(
                str(p),
                "is not a nesting table",
                "write a YAML/JSON mapping of UNCCD class (1-7) to a list of your codes",
            ) from None
    return {k: list(v) for k, v in codes.BUILTIN_NESTINGS[lc.legend].items()}


# ---------------------------------------------------------------------------------------------------
def run(
    config: RunConfig | str | Path, *, quiet: bool = False, scheduler: str | None = None, console=None
) -> Result:
    """Compute SDG 15.3.1 and its sub-indicators for every period of ``config`` and write the outputs.

    Parameters
    ----------
    config : a :class:`~ldnkit.config.RunConfig` or the path of a YAML run config.
    quiet : no progress output.
    scheduler : overrides ``compute.scheduler`` (``threads``, ``processes``, or ``tcp://host:port``).

    Returns
    -------
    Result with the output folder, paths of the written layers, the PRAIS tables and the summary.

    Example
    -------
    >>> result = ldnkit.run("kenya.yaml")          # doctest: +SKIP
    >>> result.tables["Area of interest"]["SO1-4.T2"]  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    if scheduler:
        cfg.compute.scheduler = scheduler
    fb = Feedback(quiet=quiet, console=console)
    out = cfg.resolve(cfg.output)
    run_folder.check_output_folder(out, cfg.overwrite, protected=cfg.input_paths())
    cache = _gdal_cache_bytes()
    gdal_env = rasterio.Env(GDAL_CACHEMAX=cache) if cache else rasterio.Env()
    with gdal_env, _scheduler(cfg.compute.scheduler, cfg.compute.workers) as distributed:
        fb.distributed = distributed
        with run_folder.atomic_output_dir(out, cfg.overwrite, protected=cfg.input_paths()) as tmp:
            if cfg.inputs is not None:
                result = _run_into(cfg, tmp, fb, distributed)
            else:
                result = Result(output=tmp, layers={}, tables={}, summary=_summary_head(cfg))
            if cfg.drought is not None:
                from .drought_pipeline import run_drought

                t_d = time.perf_counter()
                drought = run_drought(cfg, tmp, fb, distributed)
                result.layers.update(drought.layers)
                result.summary.setdefault("layers", {}).update(
                    {k: layer_entry(p, tmp, {}, drought.meta.get(k)) for k, p in drought.layers.items()}
                )
                result.tables.setdefault(AOI_SCOPE, {}).update(drought.tables)
                result.summary["drought"] = drought.summary
                result.summary.setdefault("timings_s", {})["drought"] = time.perf_counter() - t_d
            result.summary["tables"] = tables_to_json(result.tables)
            if result.tables:
                write_xlsx(result.tables, tmp / "tables.xlsx", summary=result.summary)
            (tmp / "summary.json").write_text(json.dumps(result.summary, indent=2, default=str))
            # Read back from the folder they describe, so `ldnkit report` on a copied run folder
            # gives the same files.
            if cfg.report.qgis_project:
                from .io.qgis import write_qgis_project

                write_qgis_project(tmp, result.summary)
            if cfg.report.html:
                from .report import write_report

                t_r = time.perf_counter()
                write_report(tmp, result.summary)
                fb.say(f"HTML report written in {time.perf_counter() - t_r:.1f} s")
    result.output = out
    result.layers = {k: out / v.relative_to(tmp) for k, v in result.layers.items()}
    result.wall_time = time.perf_counter() - t0
    fb.say(f"Done in {result.wall_time:.1f} s. Outputs: {out}")
    return result


def _run_into(cfg: RunConfig, tmp: Path, fb: Feedback, distributed: bool) -> Result:
    timings: dict[str, float] = {}
    t = time.perf_counter()
    scratch = tmp / ".scratch"
    scratch.mkdir()
    loader = _Loader(cfg, scratch)
    chunks = cfg.compute.chunk_size

    # ---- grid and the vegetation index -------------------------------------------------------
    vi = loader.vegetation_index()
    target = cfg.grid.target
    if target == "productivity":
        if vi is None:
            raise ConfigError(
                "grid.target",
                "is 'productivity' but there is no productivity input",
                "set grid.target to land_cover, soc or a raster path",
            )
        grid = grid_of(vi)
    elif target == "land_cover":
        lc_in = cfg.inputs.land_cover
        first = lc_in.path if lc_in.path is not None else next(iter(lc_in.maps.values()))
        grid = grid_of(_need_file(cfg, first, "inputs.land_cover"))
    elif target == "soc":
        grid = grid_of(_need_file(cfg, cfg.inputs.soc.path, "inputs.soc.path"))
    else:
        grid = grid_of(_need_file(cfg, Path(target), "grid.target"))
    if vi is not None and grid_of(vi) != grid:
        check_overlap(grid, grid_of(vi), "inputs.productivity")
        vi = align(vi, grid, "average", chunks=chunks, workdir=scratch)
    fb.say(f"Grid: {grid.width} x {grid.height} pixels, {_crs_label(grid.crs)}")

    # ---- land cover ---------------------------------------------------------------------------
    lc_in = cfg.inputs.land_cover
    nesting = _nesting(cfg)
    raw_maps: dict[int, xr.DataArray] = {}
    if lc_in.maps is not None:
        for year, path in sorted(lc_in.maps.items()):
            key = f"inputs.land_cover.maps.{year}"
            p = _need_file(cfg, path, key)
            check_overlap(grid, grid_of(p), key)
            raw_maps[int(year)] = loader.categorical(path, key, grid).squeeze(drop=True)
    else:
        key = "inputs.land_cover.path"
        p = _need_file(cfg, lc_in.path, key)
        check_overlap(grid, grid_of(p), key)
        stack = loader.categorical(lc_in.path, key, grid)
        years = band_years(p, lc_in.years, key=key)
        for i, year in enumerate(years):
            raw_maps[year] = stack.isel(band=i, drop=True)
    lc_nodata = list(lc_in.nodata)
    for raw in raw_maps.values():
        nd = raw.rio.nodata if raw.rio.nodata is not None else raw.attrs.get("_FillValue")
        if nd is not None and nd not in lc_nodata:
            lc_nodata.append(nd)
    # block by block, every map in one computation
    lazy = {y: lcmod.unmapped_codes(r, nesting, lc_nodata, compute=False) for y, r in raw_maps.items()}
    unmapped = dask.compute(lazy)[0]
    for year, bad in unmapped.items():
        if len(bad):
            shown = ", ".join(str(int(c)) for c in list(bad)[:10])
            raise InputError(
                f"inputs.land_cover ({year} map)",
                f"land cover code(s) {shown} are not in the '{lc_in.legend}' nesting",
                "add them to inputs.land_cover.nesting (legend: custom) "
                "or declare them in inputs.land_cover.nodata",
            )
    maps = {y: lcmod.nest_land_cover(r, nesting, lc_nodata) for y, r in raw_maps.items()}

    # ---- periods ------------------------------------------------------------------------------
    ext = cfg.inputs.external_lpd
    all_names = [cfg.periods.baseline.name] + [p.name for p in cfg.periods.reporting]
    ext_periods = (ext.periods or all_names) if ext is not None else []
    vi_years = [int(y) for y in vi["year"].values] if vi is not None else None
    plans = plan_periods(cfg, vi_years, sorted(maps), ext_periods)

    # ---- SOC ------------------------------------------------------------------------------------
    soc_in = cfg.inputs.soc
    soc_path = _need_file(cfg, soc_in.path, "inputs.soc.path")
    check_overlap(grid, grid_of(soc_path), "inputs.soc.path")
    soc_ref = loader.continuous(soc_in.path, "inputs.soc.path", grid).squeeze(drop=True)
    if soc_in.nodata is not None:
        soc_ref = soc_ref.where(soc_ref != soc_in.nodata)
    soc_ref = (soc_ref.astype("float32") * np.float32(soc_in.scale)).where(soc_ref >= 0)
    soc_year = soc_in.year if soc_in.year is not None else min(p.land_cover[0] for p in plans)
    first_needed = min(p.land_cover[0] for p in plans)
    if soc_year > first_needed:
        raise ConfigError(
            "inputs.soc.year",
            f"is {soc_year}, after the first land-cover year {first_needed}",
            "give the SOC reference stock for that year or earlier",
        )
    last_needed = max(p.land_cover[1] for p in plans)
    lc_years = list(range(soc_year, last_needed + 1))
    if soc_year < min(maps):
        raise ConfigError(
            "inputs.soc.year",
            f"is {soc_year} but the first land-cover map is for {min(maps)}",
            "add a land-cover map for the SOC reference year",
        )
    lc_annual = lcmod.annual_land_cover(maps, lc_years)
    # SOC: the maps themselves (carried forward in the kernel, never stacked per year), and only
    # the years the periods and tables use
    soc_maps = {y: m for y, m in maps.items() if y <= last_needed}
    soc_years = sorted({y for p in plans for y in p.land_cover})

    cz = cfg.inputs.climate_zones
    zones = None
    if cz.path is not None:
        czk = "inputs.climate_zones.path"
        check_overlap(grid, grid_of(_need_file(cfg, cz.path, czk)), czk)
        zones = _as_int16(loader.categorical(cz.path, czk, grid).squeeze(drop=True))
    soc_annual = socmod.soc_stock(
        soc_ref,
        soc_maps,
        climate_zone=zones,
        flu_class=None if zones is not None else codes.FLU_CLASS_NAMES[cz.zone],
        reference_year=soc_year,
        management_factor=cfg.methods.soc.management_factor,
        input_factor=cfg.methods.soc.input_factor,
        years_to_equilibrium=cfg.methods.soc.years_to_equilibrium,
        years=soc_years,
    )

    # ---- area of interest and regions -----------------------------------------------------------
    template = maps[min(maps)]
    if cfg.inputs.area_of_interest is not None:
        key = "inputs.area_of_interest"
        gdf = vec_io.read_vector(_need_file(cfg, cfg.inputs.area_of_interest, key), key=key)
        vec_io.check_aoi_inside(gdf, grid, key)
        inside = vec_io.rasterize(gdf, grid, chunks=chunks) == 1
    else:
        gdf = None
        inside = xr.ones_like(template, dtype=bool)
    inside = inside.assign_coords(x=template.x, y=template.y)
    rgdf = None
    regions = None
    region_names: dict[int, str] = {}
    if cfg.inputs.regions is not None:
        key = "inputs.regions.path"
        rgdf = vec_io.read_vector(_need_file(cfg, cfg.inputs.regions.path, key), key=key)
        field_name = cfg.inputs.regions.name_field
        if field_name not in rgdf.columns:
            raise ConfigError(
                "inputs.regions.name_field",
                f"'{field_name}' is not a field of the regions layer",
                f"use one of {[c for c in rgdf.columns if c != 'geometry']}",
            )
        vec_io.check_aoi_inside(rgdf, grid, key)
        names = [str(n) for n in rgdf[field_name]]
        region_names = {i + 1: n for i, n in enumerate(names)}
        regions = vec_io.rasterize(
            rgdf, grid, values=list(region_names), fill=codes.NODATA, chunks=chunks
        ).assign_coords(x=template.x, y=template.y)
        regions = regions.where(inside, codes.NODATA).astype(codes.CATEGORICAL_DTYPE)
    regional = {}
    for i, rm in enumerate(cfg.methods.land_cover.regional_matrices):
        ids = [k for k, n in region_names.items() if n == rm.region]
        if not ids:
            raise ConfigError(
                f"methods.land_cover.regional_matrices[{i}].region",
                f"no region named {rm.region!r}",
                f"use one of {sorted(set(region_names.values()))}",
            )
        for k in ids:
            regional[k] = rm.matrix
    _write_boundaries(cfg, tmp, gdf, rgdf, grid)
    ldn_prep = None
    if cfg.corrections is not None or cfg.neutrality is not None:
        from . import neutrality_pipeline as ldn

        # polygons, records and target scopes are checked now, before the heavy work
        ldn_prep = ldn.prepare(cfg, grid, template, inside, plans, region_names)
    timings["prepare"] = time.perf_counter() - t

    # ---- performance: mean of each window and units, in one pass over the vegetation index ---------
    t = time.perf_counter()
    perf_inputs = {}
    if vi is not None and any(not p.external_lpd for p in plans):

        def units_of(plan: PeriodPlan) -> xr.DataArray:
            pf = cfg.methods.performance
            return _units(pf.units, plan.performance[1], maps, zones, cfg, loader, grid)

        with fb.stage("Mean productivity", pixels=grid.width * grid.height, distributed=distributed):
            perf_inputs = _performance_inputs(vi, plans, units_of, grid, scratch, chunks)
    timings["performance_means"] = time.perf_counter() - t

    # ---- the layers of every period (lazy, except the performance unit percentiles) -------------------
    t = time.perf_counter()
    layers: dict[str, xr.DataArray] = {}
    baseline_sdg = None
    mth = cfg.methods
    for plan in plans:
        pl: dict[str, xr.DataArray] = {}
        if plan.external_lpd:
            key = "inputs.external_lpd.path"
            p = _need_file(cfg, ext.path, key)
            check_overlap(grid, grid_of(p), key)
            ext_layer = _as_int16(loader.categorical(ext.path, key, grid).squeeze(drop=True))
            pl["lpd"] = prod.external_lpd(ext_layer, legend=ext.legend)
        else:
            window = vi.sel(year=slice(*plan.trend))
            pl.update(_productivity_layers(window, vi, plan, mth, grid, perf_inputs, fb))
        pl["productivity_degradation"] = prod.lpd_degradation(pl["lpd"])
        lc_i, lc_f = lc_annual.sel(year=plan.land_cover[0]), lc_annual.sel(year=plan.land_cover[1])
        pl["land_cover_transition"] = lcmod.land_cover_transition(lc_i, lc_f)
        pl["land_cover_degradation"] = lcmod.land_cover_degradation(
            lc_i,
            lc_f,
            matrix=mth.land_cover.matrix,
            regions=regions if regional else None,
            regional_matrices=regional or None,
        )
        soc_i, soc_f = soc_annual.sel(year=plan.land_cover[0]), soc_annual.sel(year=plan.land_cover[1])
        pl["soc_change"] = socmod.soc_change_percent(soc_i, soc_f)
        pl["soc_degradation"] = socmod.soc_degradation(
            soc_i,
            soc_f,
            threshold=mth.soc.threshold,
            water=(lc_i == codes.WATER),
            inclusive=mth.soc.inclusive,
        )
        pl["sdg"] = sdgmod.one_out_all_out(
            pl["productivity_degradation"], pl["land_cover_degradation"], pl["soc_degradation"]
        )
        if plan.kind == "baseline":
            baseline_sdg = pl["sdg"]
        else:
            pl["status"] = sdgmod.status(baseline_sdg, pl["sdg"])
            pl["status_expanded"] = sdgmod.status(baseline_sdg, pl["sdg"], expanded=True)
        for name in PERIOD_LAYERS:
            if name in pl:
                layers[f"{plan.name}/{name}"] = _mask(pl[name], inside)

    timings["unit_percentiles"] = time.perf_counter() - t
    table_years = sorted({y for p in plans for y in p.land_cover})
    for y in table_years:
        layers[f"land_cover/land_cover_{y}"] = _mask(lc_annual.sel(year=y, drop=True), inside)
        layers[f"soc/soc_{y}"] = _mask(soc_annual.sel(year=y, drop=True).astype("float32"), inside)

    # ---- write everything in one pass ----------------------------------------------------------------
    t = time.perf_counter()
    items = []
    paths: dict[str, Path] = {}
    metas: dict[str, LayerMeta] = {}
    for key, layer in layers.items():
        folder, name = key.split("/")
        path = tmp / "layers" / folder / f"{name}.tif"
        path.parent.mkdir(parents=True, exist_ok=True)
        if folder == "land_cover":
            meta = land_cover_meta(int(name.rsplit("_", 1)[1]))
        elif folder == "soc":
            meta = soc_stock_meta(int(name.rsplit("_", 1)[1]))
        else:
            meta = PERIOD_LAYERS[name].replace(subgroup=folder)
        metas[key] = meta
        tags = {k: _tag(v) for k, v in layer.attrs.items()} | {LAYER_TAG: meta.tag()}
        opts = {"legend": meta.legend, "description": meta.description, "tags": tags}
        items.append((layer.squeeze(drop=True), path, opts))
        paths[key] = path
    with fb.stage("Computing and writing layers", pixels=grid.width * grid.height, distributed=distributed):
        write_layers(items)
    timings["layers"] = time.perf_counter() - t
    layer_attrs = {k: _jsonable(layers[k].attrs) for k in paths}

    def reopen(key: str) -> xr.DataArray:
        a = open_layer(paths[key], chunks=chunks).squeeze(drop=True)
        return a.assign_coords(x=template.x, y=template.y)

    # ---- false positives / negatives: recode, keep the uncorrected layers, before the tables ----------
    area = cell_area(template)
    ldn_ctx = None
    corrections = None
    if ldn_prep is not None:
        ldn_ctx = ldn.NeutralityContext(
            cfg=cfg,
            tmp=tmp,
            grid=grid,
            template=template,
            inside=inside,
            area=area,
            plans=plans,
            paths=paths,
            reopen=reopen,
            loader=loader,
            fb=fb,
            distributed=distributed,
            regions=regions,
            region_names=region_names,
            zones=zones.assign_coords(x=template.x, y=template.y) if zones is not None else None,
        )
    if cfg.corrections is not None:
        t = time.perf_counter()
        corrections = ldn.apply_corrections(ldn_ctx, ldn_prep)
        paths.update(corrections.layers)
        metas.update(corrections.meta)
        for k in corrections.layers:
            layer_attrs[k] = layer_attrs.get(k.replace("_uncorrected", ""), {})
        layer_attrs.update({k: _jsonable(v) for k, v in corrections.attrs.items()})
        timings["corrections"] = time.perf_counter() - t

    # ---- tables from the written layers ---------------------------------------------------------------
    t = time.perf_counter()

    period_layers = []
    for plan in plans:

        def g(n, plan=plan):
            k = f"{plan.name}/{n}"
            return reopen(k) if k in paths else None

        period_layers.append(
            PeriodLayers(
                name=plan.name,
                kind=plan.kind,
                land_cover_years=plan.land_cover,
                productivity_years=plan.trend,
                land_cover_degradation=g("land_cover_degradation"),
                lpd=g("lpd"),
                productivity_degradation=g("productivity_degradation"),
                soc_degradation=g("soc_degradation"),
                sdg=g("sdg"),
                status=g("status"),
                status_expanded=g("status_expanded"),
                confidence=_period_config(cfg, plan.name).confidence,
            )
        )
    inside_i16 = inside.astype(codes.CATEGORICAL_DTYPE)
    matrices = {"national": [list(r) for r in (mth.land_cover.matrix or codes.DEFAULT_TRANSITION_MATRIX)]}
    for rm in mth.land_cover.regional_matrices:
        matrices[rm.region] = rm.matrix
    tin = TableInputs(
        land_cover={y: reopen(f"land_cover/land_cover_{y}") for y in table_years},
        soc={y: reopen(f"soc/soc_{y}").astype("float32") for y in table_years},
        periods=period_layers,
        area=area,
        aoi=inside_i16,
        regions=regions,
        region_names=region_names,
        nesting=nesting if lc_in.legend != "unccd" else None,
        legend_name=lc_in.legend,
        matrices=matrices,
        soc_tier="Tier 1",
        methods=_method_text(cfg),
    )
    with fb.stage("Area tables", pixels=grid.width * grid.height, distributed=distributed):
        tables = compute_tables(tin)
    timings["tables"] = time.perf_counter() - t
    if corrections is not None:
        tables[AOI_SCOPE]["SO1-4.T3"] = corrections.table
    neutrality = None
    if cfg.neutrality is not None:
        t = time.perf_counter()
        neutrality = ldn.run_neutrality(ldn_ctx, ldn_prep, tables)
        tables[AOI_SCOPE].update(neutrality.tables)
        paths.update(neutrality.layers)
        layer_attrs.update(neutrality.attrs)
        metas.update(neutrality.meta)
        timings["neutrality"] = time.perf_counter() - t

    # ---- summary ---------------------------------------------------------------------------------------
    summary = _summary_head(cfg) | {
        "grid": {
            "crs": grid.crs.to_string(),
            "width": grid.width,
            "height": grid.height,
            "transform": list(grid.transform)[:6],
            "geographic": bool(grid.crs.is_geographic),
            "area_method": "WGS84 ellipsoid row strips" if grid.crs.is_geographic else "pixel size",
        },
        "inputs": loader.inputs_used,
        "periods": [p.as_dict() for p in plans],
        "methods": _method_text(cfg),
        "layers": {k: layer_entry(p, tmp, layer_attrs.get(k, {}), metas.get(k)) for k, p in paths.items()},
        "timings_s": timings,
    }
    if corrections is not None:
        summary["corrections"] = corrections.summary
    if neutrality is not None:
        summary["neutrality"] = neutrality.summary
    shutil.rmtree(scratch, ignore_errors=True)
    return Result(output=tmp, layers=paths, tables=tables, summary=summary, periods=plans)


def _write_boundaries(cfg: RunConfig, tmp: Path, aoi, regions, grid) -> None:
    """``boundaries.gpkg`` in the run folder (layers ``area_of_interest`` and ``regions``, each with
    a ``name`` field, in the grid CRS) for the HTML report and the QGIS project."""
    if aoi is None and regions is None:
        return
    import geopandas as gpd

    path = tmp / "boundaries.gpkg"
    if aoi is not None:
        names = [str(n) for n in aoi["name"]] if "name" in aoi.columns else [cfg.title] * len(aoi)
        frame = gpd.GeoDataFrame({"name": names}, geometry=list(aoi.geometry.values), crs=aoi.crs)
        frame.to_crs(grid.crs).to_file(path, layer="area_of_interest", driver="GPKG", engine="pyogrio")
    if regions is not None:
        names = [str(n) for n in regions[cfg.inputs.regions.name_field]]
        frame = gpd.GeoDataFrame({"name": names}, geometry=list(regions.geometry.values), crs=regions.crs)
        frame.to_crs(grid.crs).to_file(path, layer="regions", driver="GPKG", engine="pyogrio")


def _summary_head(cfg: RunConfig) -> dict[str, Any]:
    """The part of summary.json every run has: versions, time, the whole config with defaults."""
    return {
        "ldnkit_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "title": cfg.title,
        "python": platform.python_version(),
        "config": cfg.recorded(),
    }


def _crs_label(crs) -> str:
    """A short name for a CRS: its EPSG code, else its name, else its projection."""
    epsg = crs.to_epsg()
    if epsg:
        return f"EPSG:{epsg}"
    import pyproj

    name = pyproj.CRS.from_user_input(crs.to_wkt()).name
    if name and name.lower() != "unknown":
        return name
    return f"{crs.to_dict().get('proj', 'custom')} projection"


def _period_config(cfg: RunConfig, name: str):
    return next(p for p in [cfg.periods.baseline, *cfg.periods.reporting] if p.name == name)


def _nanmean_block(a: np.ndarray) -> np.ndarray:
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


def _performance_inputs(
    vi: xr.DataArray, plans: list[PeriodPlan], units_of, grid, scratch: Path, chunks: int
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
            window = vi.sel(year=slice(*w)).transpose("year", "y", "x").data.rechunk({0: -1})
            mean = window.map_blocks(_nanmean_block, drop_axis=0, dtype=np.float64)
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


def _productivity_layers(window, vi, plan, mth, grid, perf_inputs, fb):
    """Trajectory, state, performance and LPD of one period."""
    out: dict[str, xr.DataArray] = {}
    tr = mth.trajectory
    trend_ds = prod.trend(window)
    out["trend_slope"] = trend_ds["slope"].astype("float32")
    out["trend_slope"].attrs = dict(trend_ds.attrs)
    out["trajectory"] = prod.trajectory(
        window, method=tr.method, alpha=tr.alpha, z_threshold=tr.z_threshold, level=tr.level
    )
    st = mth.state
    out["state"] = prod.state(
        vi,
        historical=plan.state_historical,
        comparison=plan.state_comparison,
        method=st.method,
        min_difference=st.min_difference,
        z_threshold=st.z_threshold,
        z_denominator=st.z_denominator,
    )
    pf = mth.performance
    # The window's mean as a one-year stack: performance's NaN-aware mean of one value is that
    # value, so the ratio is as from the whole window, whose years the attrs then record.
    mean, units = perf_inputs[plan.name]
    with fb.stage(f"Unit percentiles, {plan.name}", pixels=grid.width * grid.height):  # eager
        perf = prod.performance(mean, units, threshold=pf.threshold, percentile=pf.percentile)
    for name, key in (("performance_ratio", "ratio"), ("performance", "class")):
        out[name] = perf[key]
        out[name].attrs["years"] = [int(y) for y in plan.performance]
    out["lpd"] = prod.lpd(out["trajectory"], out["state"], out["performance"], table=mth.lpd.table)
    return out


def _units(kind: str, year: int, maps, zones, cfg, loader, grid) -> xr.DataArray:
    """Ecological units for performance: land cover (the latest map at or before ``year``) x zone."""
    if kind == "ecological_units":
        if cfg.inputs.ecological_units is None:
            raise ConfigError(
                "methods.performance.units",
                "is 'ecological_units' but inputs.ecological_units is not set",
                "add inputs.ecological_units or use land_cover_x_climate",
            )
        key = "inputs.ecological_units"
        return _as_int16(loader.categorical(cfg.inputs.ecological_units, key, grid).squeeze(drop=True))
    before = [y for y in maps if y <= year]
    lc = maps[max(before) if before else min(maps)]
    valid = (lc >= 1) & (lc <= 7)
    if kind == "land_cover" or zones is None:
        return lc.where(valid, codes.NODATA).astype(codes.CATEGORICAL_DTYPE)
    z = zones.astype("int32")
    u = (lc.astype("int32") * 100 + z).where(valid & (z >= 0), codes.NODATA)
    return u.astype("int32")


def _method_text(cfg: RunConfig) -> dict[str, Any]:
    m = cfg.methods
    return {
        "trajectory": m.trajectory.model_dump(),
        "state": m.state.model_dump(),
        "performance": m.performance.model_dump(),
        "lpd_table": m.lpd.table,
        "productivity_window": m.productivity_window,
        "land_cover_matrix": "custom" if m.land_cover.matrix else "UNCCD default",
        "regional_matrices": [r.region for r in m.land_cover.regional_matrices],
        "soc": m.soc.model_dump(),
        "climate_zones": "per pixel raster"
        if cfg.inputs.climate_zones.path
        else cfg.inputs.climate_zones.zone,
        "combination": "one-out-all-out",
        "external_lpd": cfg.inputs.external_lpd.model_dump(mode="json") if cfg.inputs.external_lpd else None,
    }


def _tag(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(_jsonable(v))


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


__all__ = ["Result", "run"]
