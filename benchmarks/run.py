"""``make bench``: kernel benchmarks and end-to-end national runs, written to benchmarks/results.md.

Sections: the machine; the kernels (``benchmarks/kernels.py``, if present); the end-to-end national
run (10 M pixels, repeated); scaling over grid sizes; threads versus a 2-process LocalCluster and
the ``processes`` scheduler; ldnkit's cross-tabulation and labelling against flox and dask-image
(``benchmarks/engines.py``); the cost of the corrections, LDN accounting, report.html and
project.qgs stages (``benchmarks/accounting.py``); the registry service under load
(``benchmarks/registry.py``). Inputs are generated once into
``benchmarks/_work/`` (gitignored) and reused. Not part of ``make test``.

Usage::

    python benchmarks/run.py                      # everything (about 10-20 minutes)
    python benchmarks/run.py --quick              # smoke run: small sizes, no 100 M run
    python benchmarks/run.py --sizes 1e6,4e6,16e6 # choose the scaling sizes
    python benchmarks/run.py --no-accounting      # skip the accounting/report benchmark
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import e2e  # noqa: E402  (benchmarks/ is not a package)

FULL_SIZES = (1e6, 4e6, 16e6, 100e6)
QUICK_SIZES = (1e6, 4e6)
NATIONAL = 10e6


# --------------------------------------------------------------------------------------------------
def machine() -> str:
    import psutil

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mods = ["ldnkit", "numpy", "numba", "dask", "distributed", "xarray", "rioxarray", "rasterio"]
    mods += ["pandas", "scipy", "pyproj", "shapely"]
    versions = []
    for m in mods:
        try:
            versions.append(f"{m} {importlib.import_module(m).__version__}")
        except Exception:  # absent or without __version__
            versions.append(f"{m} -")
    import rasterio

    versions.append(f"GDAL {rasterio.__gdal_version__}")
    load = os.getloadavg()
    return "\n".join(
        [
            "## Machine",
            "",
            f"- CPU: {cpu}, {psutil.cpu_count(logical=True)} logical cores "
            f"({psutil.cpu_count(logical=False)} physical)",
            f"- RAM: {psutil.virtual_memory().total / 2**30:.1f} GiB",
            f"- OS: {platform.platform()}",
            f"- Python {platform.python_version()}; {', '.join(versions)}",
            f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- Load average when the benchmark started: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
            "(1 / 5 / 15 min; the machine is shared, so timings are noisy)",
        ]
    )


# --------------------------------------------------------------------------------------------------
def _fmt_stage(t: dict) -> str:
    names = [
        ("prepare", "prepare"),
        ("performance_means", "means"),
        ("unit_percentiles", "percentiles"),
        ("layers", "layers + COGs"),
        ("tables", "tables"),
    ]
    return ", ".join(f"{label} {t[k]:.1f}" for k, label in names if k in t)


def _mpx(pixels: float) -> str:
    """Pixels in millions as a label: 3,999,930 -> '4 M'."""
    return f"{round(pixels / 1e6, 1):g} M"


def _row(m: e2e.Measurement) -> str:
    return (
        f"| {_mpx(m.pixels)} | {m.width:,} x {m.height:,} | {m.wall_s:.1f} | "
        f"{m.wall_s / (m.pixels / 1e6):.2f} | {m.mpx_per_s:.2f} | {m.peak_rss_mb / 1024:.2f} | "
        f"{m.cpu_s:.0f} | {_fmt_stage(m.timings)} |"
    )


HEADER = (
    "| pixels | grid | wall (s) | s per M px | M px/s | peak RSS (GiB) | CPU (s) | stages (s) |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---|"
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def module_section(module: str, title: str, **kwargs) -> str:
    """The markdown section written by ``benchmarks/<module>.py``'s ``main(**kwargs)``; if that script is
    missing or fails, a section saying so (one benchmark's failure does not lose the others)."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        return f"## {title}\n\n_benchmarks/{module}.py is not available ({exc})._"
    try:
        return mod.main(**kwargs).strip()
    except Exception:
        return f"## {title}\n\n_benchmarks/{module}.py failed:_\n\n```\n" + traceback.format_exc() + "```"


def national_section(runs: list[e2e.Measurement]) -> str:
    walls = [m.wall_s for m in runs]
    rss = [m.peak_rss_mb / 1024 for m in runs]
    m = runs[0]
    lines = [
        "## End-to-end national run",
        "",
        f"Synthetic country on a {m.width:,} x {m.height:,} grid ({_mpx(m.pixels)} pixels, "
        "EPSG:4326, 0.0025°): 24 annual float32 NDVI layers (2000-2023, DEFLATE GeoTIFF), three "
        "ESA CCI land-cover maps (2000, 2015, 2023), SOC on a 4x coarser grid and IPCC climate zones "
        "on a 16x coarser grid (both aligned on the fly), a country outline of 3,600 vertices and 8 "
        "provinces. The run (`ldnkit run`, default methods, threaded scheduler, 1024-pixel blocks) "
        "computes a baseline 2000-2015 and a reporting period 2016-2023, each with a 16-year "
        "productivity window: Mann-Kendall/Theil-Sen trajectory, state, performance (exact unit "
        "percentiles over land cover x climate zone), LPD, land-cover and SOC (Tier 1) change, SDG "
        "15.3.1 and the status (3 and 7 classes); it writes 36 COGs with overviews, the PRAIS tables "
        "(country and 8 provinces, xlsx) and summary.json.",
        "",
        f"- Wall time: **{statistics.median(walls):.1f} s** median of {len(runs)} runs "
        f"(best {min(walls):.1f} s, worst {max(walls):.1f} s); target < 20 s.",
        f"- Peak memory (RSS of the process tree): **{statistics.median(rss):.2f} GiB** median "
        f"(max {max(rss):.2f} GiB); target < 2.5 GiB.",
        f"- CPU time {statistics.median([r.cpu_s for r in runs]):.0f} s "
        f"(of {2 * statistics.median(walls):.0f} core-seconds available on 2 cores).",
        "",
        HEADER,
        *(_row(r) for r in runs),
    ]
    return "\n".join(lines)


def scaling_section(rows: list[e2e.Measurement], base: e2e.Measurement) -> str:
    rows = sorted(rows, key=lambda m: m.pixels)
    lines = [
        "## Scaling",
        "",
        "The same run on grids of 1 to 100 M pixels (the 100 M grid is 10,000 x 10,000 x 24 annual "
        "layers, 9.6 GB of NDVI). Time should grow about linearly with the pixels and peak memory "
        "stay flat: it depends on the block size and the number of threads, not on the raster size.",
        "",
        HEADER,
        *(_row(r) for r in rows),
        "",
        f"Relative to the {_mpx(base.pixels)} run: "
        + "; ".join(
            f"{_mpx(m.pixels)}: {m.pixels / base.pixels:.2g}x the pixels, "
            f"{m.wall_s / base.wall_s:.2g}x the time, {m.peak_rss_mb / base.peak_rss_mb:.2f}x the memory"
            for m in rows
            if m is not base
        )
        + ". Small runs carry a fixed cost of a few seconds (imports of the run, opening and "
        "checking the inputs, writing the workbook).",
    ]
    return "\n".join(lines)


def schedulers_section(rows: list[e2e.Measurement]) -> str:
    names = {
        "threads": "threads (default): 1 process, 2 threads",
        "cluster": "dask.distributed LocalCluster: 2 worker processes x 1 thread",
        "processes": "`--scheduler processes`: 2 worker processes",
    }
    lines = [
        "## Threads versus processes",
        "",
        f"The {_mpx(rows[0].pixels)}-pixel run on each scheduler. Memory is the sum over the "
        "process tree (workers included); the cluster's wall time excludes its start-up "
        "(process time includes it).",
        "",
        "| scheduler | wall (s) | process (s) | peak RSS (GiB) | largest process (GiB) | CPU (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in rows:
        lines.append(
            f"| {names.get(m.scheduler, m.scheduler)} | {m.wall_s:.1f} | {m.process_s:.1f} | "
            f"{m.peak_rss_mb / 1024:.2f} | {m.maxrss_mb / 1024:.2f} | {m.cpu_s:.0f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description="ldnkit benchmarks -> benchmarks/results.md")
    ap.add_argument("--quick", action="store_true", help="small sizes only, a few minutes")
    ap.add_argument("--sizes", help="comma-separated pixel counts for the scaling table, e.g. 1e6,4e6")
    ap.add_argument("--national", type=float, default=None, help="pixels of the national run (10e6)")
    ap.add_argument("--repeat", type=int, default=None, help="runs of the national run (3; quick: 1)")
    ap.add_argument("--no-kernels", action="store_true", help="skip the kernel benchmarks")
    ap.add_argument("--no-drought", action="store_true", help="skip the SPI (drought) benchmark")
    ap.add_argument(
        "--no-engines", action="store_true", help="skip the cross-tabulation/labelling engines benchmark"
    )
    ap.add_argument("--no-schedulers", action="store_true", help="skip the scheduler comparison")
    ap.add_argument(
        "--no-accounting", action="store_true", help="skip the corrections/neutrality/report benchmark"
    )
    ap.add_argument("--no-registry", action="store_true", help="skip the registry service load benchmark")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    args = ap.parse_args(argv)

    quick = args.quick
    sizes = QUICK_SIZES if quick else FULL_SIZES
    if args.sizes:
        sizes = tuple(float(s) for s in args.sizes.split(","))
    national = args.national or (2e6 if quick else NATIONAL)
    repeat = args.repeat or (1 if quick else 3)
    t0 = time.perf_counter()
    sections = [
        "# ldnkit benchmarks",
        "",
        f"Written by `python benchmarks/run.py{' --quick' if quick else ''}` (`make bench`). "
        "Times are wall-clock seconds of `ldnkit.run.run` in a fresh child process (numba "
        "kernels already compiled and cached); peak RSS is the largest sum of the resident memory "
        "of that process and all its descendants, sampled every 50 ms, and at least the kernel's "
        "`ru_maxrss`.",
        "",
        machine(),
    ]
    if not args.no_kernels:
        log("kernel benchmarks")
        sections += ["", module_section("kernels", "Kernels", quick=quick)]
    if not args.no_drought:
        log("SPI (drought) benchmark")
        sections += ["", module_section("drought", "Drought (SPI)", quick=quick)]
    if not args.no_engines:
        log("cross-tabulation and labelling engines benchmark")
        sections += ["", module_section("engines", "Cross-tabulation and labelling engines", quick=quick)]

    log("warm-up run (compiles and caches the numba kernels)")
    e2e.measure(e2e.national_inputs(512, 512))

    def inputs(pixels: float) -> Path:
        w, h = e2e.shape_for(pixels)
        t = time.perf_counter()
        folder = e2e.national_inputs(w, h)
        log(f"inputs {w} x {h} ready ({time.perf_counter() - t:.0f} s)")
        return folder

    folder = inputs(national)
    runs = []
    for i in range(repeat):
        runs.append(e2e.measure(folder))
        log(f"national run {i + 1}/{repeat}: {runs[-1].wall_s:.1f} s, {runs[-1].peak_rss_mb / 1024:.2f} GiB")
    sections += ["", national_section(runs)]

    scaling = []
    for pixels in sizes:
        if pixels == national:
            scaling.append(min(runs, key=lambda m: m.wall_s))
            continue
        f = inputs(pixels)
        scaling.append(e2e.measure(f))
        log(f"{_mpx(pixels)}: {scaling[-1].wall_s:.1f} s, {scaling[-1].peak_rss_mb / 1024:.2f} GiB")
    if not any(m.pixels == runs[0].pixels for m in scaling):
        scaling.append(min(runs, key=lambda m: m.wall_s))
    sections += ["", scaling_section(scaling, min(runs, key=lambda m: m.wall_s))]

    if not args.no_schedulers:
        rows = [min(runs, key=lambda m: m.wall_s)]
        for scheduler in ("cluster", "processes"):
            rows.append(e2e.measure(folder, scheduler))
            log(f"{scheduler}: {rows[-1].wall_s:.1f} s, {rows[-1].peak_rss_mb / 1024:.2f} GiB")
        sections += ["", schedulers_section(rows)]

    if not args.no_accounting:
        log("LDN accounting and reports benchmark")
        acc_sizes = (national, 1e6) if national != 1e6 else (national,)
        sections += [
            "",
            module_section("accounting", "LDN accounting and reports", quick=quick, sizes=acc_sizes),
        ]

    if not args.no_registry:
        log("registry service load benchmark")
        sections += ["", module_section("registry", "Activity registry service", quick=quick)]

    sections += ["", f"_Benchmark time: {(time.perf_counter() - t0) / 60:.1f} min._", ""]
    args.out.write_text("\n".join(sections))
    log(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()
