"""End-to-end benchmarks: a synthetic national run of the full SDG 15.3.1, timed and memory-profiled.

Inputs are generated window by window straight to disk (never a whole layer in memory), so the
generator itself runs at 100 M pixels in bounded memory:

* ``ndvi_2000-2023.tif`` — 24 annual float32 NDVI bands (band descriptions are the years), 0.0025°
  pixels in EPSG:4326, smooth land-cover-driven values with planted trends, noise and 0.3 % gaps;
* ``land_cover_{2000,2015,2023}.tif`` — uint8 ESA CCI codes (deforestation, urban growth,
  abandonment and restoration between the maps);
* ``soc_2000.tif`` — float32 t/ha on a 4x coarser grid (aligned on the fly by averaging);
* ``climate_zones.tif`` — uint8 IPCC zones on a 16x coarser grid (aligned by nearest);
* ``country.gpkg`` (area of interest, ~3,600 vertices) and ``provinces.gpkg`` (8 regions).

The run (``config.yaml``) is the full pipeline with default methods: a baseline 2000-2015 and a
reporting period 2016-2023, each with a 16-year productivity window (trend, trajectory, state,
performance, LPD), land cover and SOC change, SDG 15.3.1, status (3 and 7 classes), 36 GeoTIFFs
and the PRAIS tables for the country and each province.

Each run executes in a child process; its wall time comes from the pipeline and its peak memory
is the largest sum of the resident set sizes of the child and all its descendants (dask worker
processes included), polled every 50 ms, cross-checked against ``wait4``'s ``ru_maxrss``.

Usage: ``python benchmarks/e2e.py --pixels 10e6 [--scheduler threads|processes|cluster]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
#: Bump when the generated inputs change, so cached inputs are rebuilt.
GENERATOR_VERSION = 1
YEARS = tuple(range(2000, 2024))
LC_YEARS = (2000, 2015, 2023)
PIXEL = 0.0025  # degrees (~280 m)
LEFT, TOP = 20.0, 10.0  # upper-left corner (lon, lat)
SOC_FACTOR, ZONE_FACTOR = 4, 16  # coarser grids of the SOC and climate-zone rasters
TILE = 512
CRS = "EPSG:4326"

# ESA CCI codes used (nested to UNCCD classes by the built-in esa_cci nesting).
FOREST, GRASS, CROP, WETLAND, URBAN, BARE, WATER = 60, 130, 10, 180, 190, 200, 210
_NDVI_OF = {FOREST: 0.78, GRASS: 0.42, CROP: 0.55, WETLAND: 0.60, URBAN: 0.22, BARE: 0.10, WATER: 0.02}
_NDVI_LUT = np.zeros(256, np.float32)
for _code, _v in _NDVI_OF.items():
    _NDVI_LUT[_code] = _v


# --------------------------------------------------------------------------------------------------
# smooth random fields, evaluable on any window (separable sums of plane waves)
# --------------------------------------------------------------------------------------------------
class _Field:
    """Sum of plane waves at a few scales (degrees), mean 0 and standard deviation about 1.

    sin(kx*x + ky*y + p) = sin(kx*x + p) cos(ky*y) + cos(kx*x + p) sin(ky*y), so a window costs two
    outer products per wave, whatever its size."""

    def __init__(self, seed: int, scales: tuple[float, ...], waves: int = 3) -> None:
        rng = np.random.default_rng(seed)
        self.waves = []
        for s in scales:
            for _ in range(waves):
                theta, phase = rng.uniform(0, 2 * math.pi, 2)
                k = 2 * math.pi / s
                self.waves.append((k * math.cos(theta), k * math.sin(theta), phase))
        self.norm = math.sqrt(2.0 / len(self.waves))

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        out = np.zeros((lat.size, lon.size), np.float32)
        for kx, ky, p in self.waves:
            ax = (kx * lon + p).astype(np.float32)
            by = (ky * lat).astype(np.float32)
            out += np.outer(np.cos(by), np.sin(ax))
            out += np.outer(np.sin(by), np.cos(ax))
        return out * np.float32(self.norm)


@dataclass
class _Fields:
    elev: _Field
    moist: _Field
    pressure: _Field
    trend: _Field

    @classmethod
    def make(cls, seed: int) -> _Fields:
        return cls(
            _Field(seed + 1, (4.0, 1.3, 0.4)),
            _Field(seed + 2, (3.0, 0.9, 0.25)),
            _Field(seed + 3, (2.0, 0.5, 0.12)),
            _Field(seed + 4, (2.5, 0.6, 0.15)),
        )


def _land_cover(f: _Fields, lon, lat, rng) -> np.ndarray:
    """(3, h, w) uint8 ESA CCI codes for 2000, 2015 and 2023."""
    e, m = f.elev(lon, lat), f.moist(lon, lat)
    p = f.pressure(lon, lat) + 0.25 * rng.standard_normal(e.shape, dtype=np.float32)
    lc = np.full(e.shape, GRASS, np.uint8)
    lc[m > 0.35] = FOREST
    lc[(m > -0.4) & (m <= 0.35) & (e < 0.6)] = CROP
    lc[m < -1.3] = BARE
    lc[(e < -1.15) & (m > -0.2)] = WETLAND
    lc[e < -1.45] = WATER
    lc[p > 2.1] = URBAN
    out = np.empty((3, *e.shape), np.uint8)
    out[0] = lc
    for i, (defo, urban, aband, restore) in enumerate(((1.2, 1.9, -1.6, -9), (0.9, 1.7, -1.4, -1.9)), 1):
        lc = lc.copy()
        land = lc != WATER
        lc[(lc == FOREST) & (p > defo)] = CROP
        lc[land & (p > urban)] = URBAN
        lc[(lc == CROP) & (p < aband)] = GRASS
        lc[(lc == GRASS) & (p < restore) & (m > 0)] = FOREST
        out[i] = lc
    return out


def _ndvi(f: _Fields, lc: np.ndarray, lon, lat, rng) -> np.ndarray:
    """(24, h, w) float32 NDVI: class level, planted trends, class changes, noise and gaps."""
    e = f.elev(lon, lat)
    slope = 0.004 * f.trend(lon, lat)  # NDVI per year, some areas degrading, some greening
    level0 = _NDVI_LUT[lc[0]] + 0.04 * e
    out = rng.standard_normal((len(YEARS), *e.shape), dtype=np.float32)
    out *= np.float32(0.035)
    for t, year in enumerate(YEARS):
        level = level0 if year < LC_YEARS[1] else _NDVI_LUT[lc[1] if year < LC_YEARS[2] else lc[2]] + 0.04 * e
        common = 0.03 * math.sin(0.9 * t)  # shared inter-annual weather signal
        out[t] += level + slope * (year - YEARS[0]) + np.float32(common)
    np.clip(out, -0.2, 1.0, out=out)
    out[rng.random(out.shape, dtype=np.float32) < 0.003] = np.nan
    return out


# --------------------------------------------------------------------------------------------------
# writing the inputs window by window
# --------------------------------------------------------------------------------------------------
def _centres(off: int, n: int, origin: float, step: float) -> np.ndarray:
    return origin + step * (np.arange(off, off + n) + 0.5)


def _profile(width: int, height: int, count: int, dtype: str, nodata, res: float, predictor: int) -> dict:
    from affine import Affine

    return {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": dtype,
        "crs": CRS,
        "transform": Affine(res, 0, LEFT, 0, -res, TOP),
        "nodata": nodata,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
        "compress": "DEFLATE",
        "zlevel": 1,
        "predictor": predictor,
        "bigtiff": "IF_SAFER",
        "num_threads": "ALL_CPUS",
    }


def _windows(width: int, height: int, step: int):
    from rasterio.windows import Window

    for r in range(0, height, step):
        for c in range(0, width, step):
            yield Window(c, r, min(step, width - c), min(step, height - r))


def _write_fine(folder: Path, width: int, height: int, seed: int) -> None:
    import rasterio

    f = _Fields.make(seed)
    ndvi_p = _profile(width, height, len(YEARS), "float32", float("nan"), PIXEL, 3)
    lc_p = _profile(width, height, 1, "uint8", 0, PIXEL, 2)
    ndvi_path = folder / "ndvi_2000-2023.tif"
    with rasterio.open(ndvi_path, "w", **ndvi_p) as nd:
        for i, y in enumerate(YEARS, 1):
            nd.set_band_description(i, str(y))
        lcs = [rasterio.open(folder / f"land_cover_{y}.tif", "w", **lc_p) for y in LC_YEARS]
        try:
            for i, y in enumerate(LC_YEARS):
                lcs[i].set_band_description(1, str(y))
            for w in _windows(width, height, TILE):
                rng = np.random.default_rng([seed, w.row_off, w.col_off])
                lon = _centres(w.col_off, w.width, LEFT, PIXEL)
                lat = _centres(w.row_off, w.height, TOP, -PIXEL)
                lc = _land_cover(f, lon, lat, rng)
                for i, dst in enumerate(lcs):
                    dst.write(lc[i], 1, window=w)
                nd.write(_ndvi(f, lc, lon, lat, rng), window=w)
        finally:
            for dst in lcs:
                dst.close()


def _write_coarse(folder: Path, width: int, height: int, seed: int) -> None:
    import rasterio

    f = _Fields.make(seed)
    sw, sh = math.ceil(width / SOC_FACTOR), math.ceil(height / SOC_FACTOR)
    with rasterio.open(
        folder / "soc_2000.tif", "w", **_profile(sw, sh, 1, "float32", float("nan"), PIXEL * SOC_FACTOR, 3)
    ) as dst:
        for w in _windows(sw, sh, TILE):
            res = PIXEL * SOC_FACTOR
            lon = _centres(w.col_off, w.width, LEFT, res)
            lat = _centres(w.row_off, w.height, TOP, -res)
            e, m = f.elev(lon, lat), f.moist(lon, lat)
            soc = np.clip(55 + 25 * m + 8 * e, 8, 200).astype(np.float32)
            soc[e < -1.45] = np.nan  # water
            dst.write(soc, 1, window=w)
    zw, zh = math.ceil(width / ZONE_FACTOR), math.ceil(height / ZONE_FACTOR)
    with rasterio.open(
        folder / "climate_zones.tif", "w", **_profile(zw, zh, 1, "uint8", 0, PIXEL * ZONE_FACTOR, 2)
    ) as dst:
        for w in _windows(zw, zh, TILE):
            res = PIXEL * ZONE_FACTOR
            lon = _centres(w.col_off, w.width, LEFT, res)
            lat = _centres(w.row_off, w.height, TOP, -res)
            e, m = f.elev(lon, lat), f.moist(lon, lat)
            # IPCC codes: 12 tropical dry, 11 tropical moist, 10 tropical wet, 9 tropical montane
            z = np.where(m < -0.5, 12, np.where(m > 0.6, 10, 11)).astype(np.uint8)
            z[e > 1.6] = 9
            dst.write(z, 1, window=w)


def _write_vectors(folder: Path, width: int, height: int) -> None:
    import geopandas as gpd
    from shapely.geometry import Polygon

    cx, cy = LEFT + PIXEL * width / 2, TOP - PIXEL * height / 2
    rx, ry = 0.47 * PIXEL * width, 0.47 * PIXEL * height
    th = np.linspace(0, 2 * np.pi, 3600, endpoint=False)
    r = 1 + 0.1 * np.sin(3 * th + 1) + 0.05 * np.sin(7 * th + 2) + 0.02 * np.sin(23 * th)
    r = r / r.max()
    country = Polygon(np.c_[cx + rx * r * np.cos(th), cy + ry * r * np.sin(th)])
    gpd.GeoDataFrame({"name": ["Country"]}, geometry=[country], crs=CRS).to_file(
        folder / "country.gpkg", driver="GPKG"
    )
    names, geoms = [], []
    for k in range(8):  # wedges around the centre, clipped to the country: they tile it
        a0, a1 = 2 * np.pi * k / 8, 2 * np.pi * (k + 1) / 8
        arc = np.linspace(a0, a1, 50)
        wedge = Polygon([(cx, cy)] + [(cx + 2 * rx * np.cos(a), cy + 2 * ry * np.sin(a)) for a in arc])
        names.append(f"Province {k + 1}")
        geoms.append(wedge.intersection(country))
    gpd.GeoDataFrame({"name": names}, geometry=geoms, crs=CRS).to_file(
        folder / "provinces.gpkg", driver="GPKG"
    )


def _config(folder: Path, chunk_size: int | None) -> dict:
    cfg = {
        "title": f"ldnkit benchmark: synthetic national run ({folder.name})",
        "output": str(folder / "run"),
        "overwrite": True,
        "inputs": {
            "productivity": {"path": "ndvi_2000-2023.tif"},
            "land_cover": {
                "maps": {y: f"land_cover_{y}.tif" for y in LC_YEARS},
                "legend": "esa_cci",
                "nodata": [0],
            },
            "soc": {"path": "soc_2000.tif", "year": 2000},
            "climate_zones": {"path": "climate_zones.tif"},
            "area_of_interest": "country.gpkg",
            "regions": {"path": "provinces.gpkg", "name_field": "name"},
        },
        "periods": {
            "baseline": {"name": "baseline", "start": 2000, "end": 2015},
            "reporting": [{"name": "2016-2023", "start": 2016, "end": 2023}],
        },
    }
    if chunk_size:
        cfg["compute"] = {"chunk_size": int(chunk_size)}
    return cfg


def shape_for(pixels: float) -> tuple[int, int]:
    """(width, height) of a grid of about ``pixels`` pixels, 1.6:1 landscape (10 M -> 4000 x 2500);
    exactly square for 100 M (10,000 x 10,000)."""
    pixels = int(pixels)
    if pixels == 100_000_000:
        return 10_000, 10_000
    h = round(math.sqrt(pixels / 1.6))
    return round(pixels / h), h


def national_inputs(width: int, height: int, *, seed: int = 0, root: Path = WORK) -> Path:
    """Write (or reuse) the synthetic national inputs of a ``width`` x ``height`` grid; returns the
    folder holding them. Reused when a previous call wrote the same size, seed and generator."""
    import yaml

    folder = root / f"national_{width}x{height}_s{seed}"
    stamp = {"version": GENERATOR_VERSION, "width": width, "height": height, "seed": seed}
    ready = folder / "READY.json"
    if ready.exists() and json.loads(ready.read_text()) == stamp:
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    _write_fine(folder, width, height, seed)
    _write_coarse(folder, width, height, seed)
    _write_vectors(folder, width, height)
    (folder / "config.yaml").write_text(yaml.safe_dump(_config(folder, None), sort_keys=False))
    ready.write_text(json.dumps(stamp))
    return folder


# --------------------------------------------------------------------------------------------------
# running and measuring
# --------------------------------------------------------------------------------------------------
@dataclass
class Measurement:
    pixels: int
    width: int
    height: int
    scheduler: str
    wall_s: float  # the pipeline's own wall time (cluster start-up excluded)
    process_s: float  # whole child process, imports and cluster start-up included
    peak_rss_mb: float  # peak of the summed RSS of the process tree
    maxrss_mb: float  # wait4 ru_maxrss: the largest single process of the tree
    cpu_s: float  # user + system CPU time of the process tree (wait4)
    timings: dict
    chunk_size: int | None = None

    @property
    def mpx_per_s(self) -> float:
        return self.pixels / self.wall_s / 1e6


def _tree_rss(proc) -> int:
    import psutil

    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(
    folder: Path, scheduler: str = "threads", *, chunk_size: int | None = None, interval: float = 0.05
) -> Measurement:
    """Run the pipeline on the inputs in ``folder`` in a child process; time and memory."""
    import psutil
    import yaml

    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg["output"] = str(folder / f"run_{scheduler}")
    if chunk_size:
        cfg.setdefault("compute", {})["chunk_size"] = int(chunk_size)
    with tempfile.TemporaryDirectory(prefix="ldnkit-bench-") as tmp:
        cfg_path = folder / f"bench_{scheduler}.yaml"  # relative input paths resolve from here
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        result_path = Path(tmp) / "result.json"
        log = Path(tmp) / "log.txt"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "_child",
            str(cfg_path),
            scheduler,
            str(result_path),
        ]
        t0 = time.perf_counter()
        with open(log, "w") as fh:
            child = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        proc = psutil.Process(child.pid)
        peak = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss(proc))
            time.sleep(interval)
        child.returncode = os.waitstatus_to_exitcode(status)
        process_s = time.perf_counter() - t0
        if child.returncode != 0:
            raise RuntimeError(f"benchmark run failed ({child.returncode}):\n{log.read_text()[-4000:]}")
        res = json.loads(result_path.read_text())
    shutil.rmtree(cfg["output"], ignore_errors=True)  # outputs are large; the inputs are kept
    width, height = res["width"], res["height"]
    maxrss = usage.ru_maxrss / 1024  # KiB on Linux
    return Measurement(
        pixels=width * height,
        width=width,
        height=height,
        scheduler=scheduler,
        wall_s=res["wall_s"],
        process_s=process_s,
        peak_rss_mb=max(peak / 2**20, maxrss),
        maxrss_mb=maxrss,
        cpu_s=usage.ru_utime + usage.ru_stime,
        timings=res["timings"],
        chunk_size=chunk_size,
    )


def _child(config: str, scheduler: str, result_path: str) -> None:
    """Body of the measured child process."""
    from ldnkit.config import load_config

    try:
        from ldnkit.run import run
    except ImportError:  # a tree from before the run package (benchmarks/redesign.py compares)
        from ldnkit.pipeline import run

    cfg = load_config(config)
    cluster = None
    address = scheduler
    if scheduler == "cluster":
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        address = cluster.scheduler_address
    try:
        result = run(cfg, quiet=True, scheduler=address)
    finally:
        if cluster is not None:
            cluster.close()
    grid = result.summary["grid"]
    out = {
        "wall_s": result.wall_time,
        "timings": result.summary.get("timings_s", {}),
        "width": grid["width"],
        "height": grid["height"],
    }
    Path(result_path).write_text(json.dumps(out))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        _child(*argv[1:4])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixels", type=float, default=10e6)
    ap.add_argument("--scheduler", default="threads", help="threads, processes or cluster")
    ap.add_argument("--chunk-size", type=int, default=None)
    args = ap.parse_args(argv)
    w, h = shape_for(args.pixels)
    t = time.perf_counter()
    folder = national_inputs(w, h)
    print(f"inputs {w}x{h} ready in {time.perf_counter() - t:.1f} s: {folder}")
    m = measure(folder, args.scheduler, chunk_size=args.chunk_size)
    print(json.dumps(m.__dict__ | {"mpx_per_s": m.mpx_per_s}, indent=2))


if __name__ == "__main__":
    main()
