"""Cost of the run stages added in issues 5 and 6: corrections, LDN accounting, report.html, project.qgs.

Three configurations of the synthetic national run of ``benchmarks/e2e.py`` (same inputs, same
child-process harness: wall time, peak RSS of the process tree, CPU time), side by side:

1. **SO1 only**: the plain run with ``report: {html: false, qgis_project: false}``;
2. **+ report**: the same plus ``report.html`` and ``project.qgs``;
3. **+ accounting**: the same plus ``corrections:`` (a false-positive and a false-negative polygon)
   and ``neutrality:`` (land types = IPCC climate zones x baseline land cover x a terrain class
   ruled from a synthetic slope raster; hotspots; planning to 2030 with one anticipated-loss
   polygon and one reverse intervention; one ``no_net_loss`` target).

Each case runs twice (the machine is shared), interleaved 1, 2, 3, 1, 2, 3, on 10 M and 1 M pixels.
The child also times the steps the run does not record in ``summary.json["timings_s"]``: the
workbook (``write_xlsx``), the QGIS project and the HTML report. Finally ``ldnkit report RUN_DIR``
is timed alone (a fresh process, imports included) on the 10 M-pixel folder of case 3.

The derived inputs (``slope.tif``, percent, on the fine grid; ``bench_corrections.gpkg``,
``bench_anticipated_losses.gpkg``, ``bench_interventions.gpkg``) are written once into the cached
input folder of ``e2e.national_inputs``.

Usage::

    python benchmarks/accounting.py                 # 10 M and 1 M, prints the section
    python benchmarks/accounting.py --write         # ... and puts it into benchmarks/results.md
    python benchmarks/accounting.py --quick         # 1 M and 0.26 M, one run each
    python benchmarks/accounting.py --render --write  # no runs: the section from the last saved runs
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import e2e  # noqa: E402  (benchmarks/ is not a package)

SECTION = "## LDN accounting and reports"
#: Bump when the derived inputs change, so they are rewritten.
DERIVED_VERSION = 1
CASES = {
    "so1": "1. SO1 only (no report, no QGIS project)",
    "report": "2. + report.html + project.qgs",
    "accounting": "3. + corrections + neutrality",
}
#: Terrain classes ruled from the slope (percent); first match wins.
SLOPE_CLASSES = [
    {"code": 1, "label": "flat", "when": {"slope": [None, 5.0]}},
    {"code": 2, "label": "gentle", "when": {"slope": [5.0, 15.0]}},
    {"code": 3, "label": "steep", "when": {"slope": [15.0, None]}},
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------------
# derived inputs
# --------------------------------------------------------------------------------------------------
def _elevation(fields: e2e._Fields, rough: e2e._Field, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Metres: the generator's smooth elevation field plus a rough one (wavelengths 1-3 km)."""
    return 900.0 + 600.0 * fields.elev(lon, lat) + 40.0 * rough(lon, lat)


def _write_slope(folder: Path, width: int, height: int, seed: int) -> None:
    """``slope.tif``: float32 slope in percent on the fine grid, window by window (1-pixel halo)."""
    import rasterio

    fields = e2e._Fields.make(seed)
    rough = e2e._Field(seed + 11, (0.03, 0.012))
    prof = e2e._profile(width, height, 1, "float32", float("nan"), e2e.PIXEL, 3)
    with rasterio.open(folder / "slope.tif", "w", **prof) as dst:
        for w in e2e._windows(width, height, e2e.TILE):
            lon = e2e._centres(w.col_off - 1, w.width + 2, e2e.LEFT, e2e.PIXEL)
            lat = e2e._centres(w.row_off - 1, w.height + 2, e2e.TOP, -e2e.PIXEL)
            z = _elevation(fields, rough, lon, lat)
            dy_m = e2e.PIXEL * 111_320.0
            dx_m = dy_m * np.cos(np.deg2rad(lat))[:, None]
            gy, gx = np.gradient(z)
            slope = 100.0 * np.hypot(gx / dx_m, gy / dy_m)
            dst.write(slope[1:-1, 1:-1].astype(np.float32), 1, window=w)


def _box(width: int, height: int, x0: float, y0: float, x1: float, y1: float):
    """A lon/lat box from fractions of the grid (0,0 = upper left)."""
    from shapely.geometry import box

    def lon(f):
        return e2e.LEFT + e2e.PIXEL * width * f

    def lat(f):
        return e2e.TOP - e2e.PIXEL * height * f

    return box(lon(x0), lat(y1), lon(x1), lat(y0))


def _write_polygons(folder: Path, width: int, height: int) -> None:
    import geopandas as gpd

    def write(fname: str, geoms: list, **cols) -> None:
        gpd.GeoDataFrame(cols, geometry=geoms, crs=e2e.CRS).to_file(folder / fname, driver="GPKG")

    write(
        "bench_corrections.gpkg",
        [_box(width, height, 0.30, 0.25, 0.42, 0.40), _box(width, height, 0.60, 0.55, 0.72, 0.70)],
        id=[1, 2],
        type=["false positive", "false negative"],
        periods=["all", "all"],
        place_name=["North-west block", "South-east block"],
        process=["Woody encroachment raising NDVI", "Clearing of invasive shrubs"],
        basis=["Field visits", "Very-high-resolution imagery"],
        start=["2010", "2017"],
    )
    write(
        "bench_anticipated_losses.gpkg",
        [_box(width, height, 0.45, 0.15, 0.55, 0.25)],
        name=["Mining concession"],
    )
    write(
        "bench_interventions.gpkg",
        [_box(width, height, 0.20, 0.55, 0.40, 0.75)],
        name=["Rangeland rehabilitation"],
        level=["reverse"],
        effect=[0.7],
    )


def accounting_inputs(width: int, height: int, *, seed: int = 0) -> Path:
    """The e2e national inputs of the grid, plus the derived inputs of the accounting case (once)."""
    folder = e2e.national_inputs(width, height, seed=seed)
    stamp = {"version": DERIVED_VERSION, "e2e": json.loads((folder / "READY.json").read_text())}
    ready = folder / "ACCOUNTING_READY.json"
    if ready.exists() and json.loads(ready.read_text()) == stamp:
        return folder
    _write_slope(folder, width, height, seed)
    _write_polygons(folder, width, height)
    ready.write_text(json.dumps(stamp))
    return folder


def case_config(folder: Path, case: str) -> Path:
    """Write the run config of ``case`` next to the inputs (relative paths resolve from there)."""
    import yaml

    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg["output"] = str(folder / f"run_accounting_{case}")
    cfg["report"] = {"html": case != "so1", "qgis_project": case != "so1"}
    if case == "accounting":
        cfg["corrections"] = {"path": "bench_corrections.gpkg"}
        cfg["neutrality"] = {
            "land_types": {
                "rules": [{"name": "terrain", "layers": {"slope": "slope.tif"}, "classes": SLOPE_CLASSES}],
                "climate_zones": True,
                "land_cover": True,
            },
            "planning": {
                "horizon": 2030,
                "anticipated_losses": [{"path": "bench_anticipated_losses.gpkg"}],
                "interventions": {"path": "bench_interventions.gpkg", "level_field": "level"},
            },
            "hotspots": {"min_area_km2": 1.0, "connectivity": 8, "method": "components"},
            "targets": [{"id": "VT1", "kind": "no_net_loss", "year": 2030, "description": "LDN by 2030"}],
        }
    path = folder / f"bench_accounting_{case}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


# --------------------------------------------------------------------------------------------------
# running and measuring
# --------------------------------------------------------------------------------------------------
@dataclass
class Proc:
    process_s: float  # the whole child process, imports included
    peak_rss_mb: float  # peak of the summed RSS of the process tree (and at least ru_maxrss)
    cpu_s: float


@dataclass
class CaseRun:
    case: str
    repeat: int
    pixels: int
    width: int
    height: int
    wall_s: float  # ldnkit.run.run's own wall time
    proc: Proc
    timings: dict  # summary["timings_s"]
    neutrality: dict  # summary["neutrality"]["timings_s"]
    extra: dict  # the child's own timings of write_xlsx / write_qgis_project / write_report
    info: dict = field(default_factory=dict)
    load: float = 0.0  # 1-minute load average just before the run


def run_measured(cmd: list[str], *, interval: float = 0.05) -> Proc:
    """Run ``cmd``; wall time, peak RSS of the process tree (polled) and CPU time (wait4)."""
    import psutil

    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        proc = psutil.Process(child.pid)
        peak = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, e2e._tree_rss(proc))
            time.sleep(interval)
        process_s = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.read()[-4000:]}")
    maxrss = usage.ru_maxrss / 1024
    return Proc(process_s, max(peak / 2**20, maxrss), usage.ru_utime + usage.ru_stime)


def measure_case(folder: Path, case: str, repeat: int, *, keep: bool = False) -> CaseRun:
    cfg = case_config(folder, case)
    with tempfile.TemporaryDirectory(prefix="ldnkit-bench-") as tmp:
        result = Path(tmp) / "result.json"
        load = os.getloadavg()[0]
        proc = run_measured([sys.executable, str(Path(__file__).resolve()), "_child", str(cfg), str(result)])
        res = json.loads(result.read_text())
    if not keep:
        shutil.rmtree(res["output"], ignore_errors=True)
    w, h = res["width"], res["height"]
    return CaseRun(
        case, repeat, w * h, w, h, res["wall_s"], proc, res["timings"], res["neutrality"], res["extra"],
        res["info"], load,
    )  # fmt: skip


def _child(config: str, result_path: str) -> None:
    """Body of the measured child: the run, with the unrecorded output steps timed."""
    import ldnkit.io.qgis
    import ldnkit.report
    from ldnkit.config import load_config
    from ldnkit.run import runner

    extra: dict[str, float] = {}

    def timed(mod, name: str, key: str) -> None:
        fn = getattr(mod, name)

        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                extra[key] = extra.get(key, 0.0) + time.perf_counter() - t

        setattr(mod, name, wrapper)

    # run() imports write_qgis_project and write_report from these modules when it needs them.
    timed(runner, "write_xlsx", "xlsx")
    timed(ldnkit.io.qgis, "write_qgis_project", "qgis")
    timed(ldnkit.report, "write_report", "html")
    result = runner.run(load_config(config), quiet=True)
    s = result.summary
    out = Path(result.output)
    info = {
        name: (out / name).stat().st_size
        for name in ("report.html", "project.qgs", "tables.xlsx")
        if (out / name).exists()
    }
    ldn = s.get("neutrality") or {}
    if ldn:
        lt = ldn.get("land_types") or {}
        info["land_types"] = lt.get("n_types")
        info["hotspots"] = (ldn.get("hotspots") or {}).get("n")
        info["brightspots"] = (ldn.get("brightspots") or {}).get("n")
        info["ldn_achieved"] = (ldn.get("verdict") or {}).get("ldn_achieved")
    if s.get("corrections"):
        info["corrected_periods"] = s["corrections"].get("periods_recoded")
    Path(result_path).write_text(
        json.dumps(
            {
                "output": str(out),
                "wall_s": result.wall_time,
                "timings": s.get("timings_s", {}),
                "neutrality": ldn.get("timings_s", {}),
                "extra": extra,
                "width": s["grid"]["width"],
                "height": s["grid"]["height"],
                "info": info,
            },
            default=str,
        )
    )


def measure_report_cli(run_dir: Path) -> Proc:
    """``ldnkit report RUN_DIR`` in a fresh process (imports included)."""
    exe = Path(sys.executable).with_name("ldnkit")
    cmd = [str(exe), "report", str(run_dir)] if exe.exists() else [sys.executable, "-m", "ldnkit.cli"]
    if not exe.exists():
        cmd += ["report", str(run_dir)]
    return run_measured(cmd)


# --------------------------------------------------------------------------------------------------
# the section
# --------------------------------------------------------------------------------------------------
def _mpx(pixels: float) -> str:
    return f"{round(pixels / 1e6, 1):g} M"


def _fmt(d: dict, names: list[tuple[str, str]]) -> str:
    return ", ".join(f"{label} {d[k]:.1f}" for k, label in names if k in d) or "-"


SO1_STAGES = [
    ("prepare", "prepare"),
    ("performance_means", "means"),
    ("unit_percentiles", "percentiles"),
    ("layers", "layers"),
    ("corrections", "corrections"),
    ("tables", "tables"),
    ("neutrality", "neutrality"),
]
LDN_STAGES = [
    ("land_types", "land types"),
    ("layers", "layers"),
    ("balance", "balance"),
    ("hotspots", "hotspots"),
]
EXTRA = [("xlsx", "xlsx"), ("qgis", "qgs"), ("html", "html")]


def _own_stages(r: CaseRun, xlsx_so1: float) -> float:
    """Seconds of the stages a case adds to case 1 (and the extra time of its workbook)."""
    if r.case == "so1":
        return 0.0
    own = sum(r.timings.get(k, 0.0) for k in ("corrections", "neutrality"))
    own += r.extra.get("qgis", 0.0) + r.extra.get("html", 0.0)
    return own + r.extra.get("xlsx", 0.0) - xlsx_so1


def _machine() -> list[str]:
    import platform

    import psutil

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import ldnkit

    return [
        f"- Machine: {cpu}, {psutil.cpu_count(logical=True)} logical cores, "
        f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM, {platform.platform()}, Python "
        f"{platform.python_version()}, ldnkit {ldnkit.__version__} (see Machine above for the libraries).",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}. The machine was shared with "
        "other work: the 1-minute load average just before each run is in the table (2 cores; above 1 "
        "means another job competed for the cores).",
    ]


def section(runs: list[CaseRun], report: tuple[Path, Proc] | None, minutes: float) -> str:
    lines = [
        SECTION,
        "",
        "Cost of the stages added by issues 5 and 6, on the synthetic national inputs of the end-to-end "
        "run above (`benchmarks/accounting.py`). Three configurations: "
        "(1) the SO1 run with `report: {html: false, qgis_project: false}`; (2) the same with report.html "
        "and project.qgs; (3) the same plus `corrections:` (a false-positive and a false-negative "
        "polygon, periods all) and `neutrality:` — land types = IPCC climate zones x baseline (2000) "
        "land cover x a terrain class ruled from a synthetic slope raster (flat < 5 %, gentle < 15 %, "
        "steep), hotspots/brightspots (components, 8-connectivity, >= 1 km²), planning to 2030 with one "
        "anticipated-loss polygon and one *reverse* intervention polygon, one `no_net_loss` target. Each "
        "case ran twice, interleaved (1, 2, 3, 1, 2, 3). Wall = `ldnkit.run.run`'s own time; "
        "stages from `summary.json` `timings_s`; LDN stages from `summary['neutrality']['timings_s']`; "
        "xlsx / qgs / html = the child's own timing of `write_xlsx`, `write_qgis_project` and "
        "`write_report` (not in `timings_s`).",
        "",
        *_machine(),
        "",
        "| pixels | case | run | load | wall (s) | peak RSS (GiB) | CPU (s) | SO1 stages (s) "
        "| LDN stages (s) | xlsx / qgs / html (s) |",
        "|---:|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {_mpx(r.pixels)} | {CASES[r.case]} | {r.repeat} | {r.load:.2f} | {r.wall_s:.1f} | "
            f"{r.proc.peak_rss_mb / 1024:.2f} | {r.proc.cpu_s:.0f} | {_fmt(r.timings, SO1_STAGES)} | "
            f"{_fmt(r.neutrality, LDN_STAGES)} | {_fmt(r.extra, EXTRA)} |"
        )
    lines += [
        "",
        "Extra cost over case 1, means of the two runs. *Measured*: the difference of the wall times, "
        "which on a shared machine is as noisy as the load (with another job on the cores the SO1 "
        "`layers` stage of identical runs can differ 2x). *Own stages*: the sum of the timed stages "
        "each case adds — corrections, neutrality, project.qgs, report.html and the extra time of "
        "the (larger) workbook — which the load disturbs much less; its ratio is "
        "(case-1 wall + own stages) / case-1 wall.",
        "",
        "| pixels | case | wall (s) | measured extra | ratio | own stages (s) | ratio (own stages) "
        "| peak RSS (GiB) | RSS ratio | CPU (s) | CPU ratio |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for pixels in sorted({r.pixels for r in runs}, reverse=True):
        by = {c: [r for r in runs if r.pixels == pixels and r.case == c] for c in CASES}
        if not by["so1"]:
            continue
        w0 = statistics.mean(r.wall_s for r in by["so1"])
        m0 = statistics.mean(r.proc.peak_rss_mb for r in by["so1"]) / 1024
        c0 = statistics.mean(r.proc.cpu_s for r in by["so1"])
        x0 = statistics.mean(r.extra.get("xlsx", 0.0) for r in by["so1"])
        for c, rs in by.items():
            if not rs:
                continue
            w = statistics.mean(r.wall_s for r in rs)
            m = statistics.mean(r.proc.peak_rss_mb for r in rs) / 1024
            cpu = statistics.mean(r.proc.cpu_s for r in rs)
            own = statistics.mean(_own_stages(r, x0) for r in rs)
            lines.append(
                f"| {_mpx(pixels)} | {CASES[c]} | {w:.1f} | {w - w0:+.1f} s | {w / w0:.2f}x | {own:.1f} | "
                f"{(w0 + own) / w0:.2f}x | {m:.2f} | {m / m0:.2f}x | {cpu:.0f} | {cpu / c0:.2f}x |"
            )
    acc = [r for r in runs if r.case == "accounting"]
    if acc:
        i = acc[0].info
        sizes = ", ".join(
            f"{k} {v / 2**20:.1f} MB" for k, v in i.items() if k.endswith((".html", ".qgs", ".xlsx"))
        )
        lines += [
            "",
            f"Case 3 at {_mpx(acc[0].pixels)}: {i.get('land_types', '?')} land types, "
            f"{i.get('hotspots', '?')} hotspots and {i.get('brightspots', '?')} brightspots, LDN achieved: "
            f"{i.get('ldn_achieved')}; periods recoded by the corrections: "
            f"{', '.join(i.get('corrected_periods') or [])}; outputs {sizes}.",
        ]
    if report is not None:
        run_dir, p = report
        lines += [
            "",
            f"`ldnkit report RUN_DIR` alone on the {_mpx(runs[0].pixels)}-pixel run folder of case 3 "
            f"(fresh process, imports included): **{p.process_s:.1f} s**, peak RSS "
            f"{p.peak_rss_mb / 1024:.2f} GiB, CPU {p.cpu_s:.0f} s.",
        ]
    lines += ["", f"_Section time: {minutes:.1f} min._"]
    return "\n".join(lines)


def main(quick: bool = False, sizes: tuple[float, ...] | None = None, repeat: int | None = None) -> str:
    """Run the benchmark; returns the markdown section (called by ``benchmarks/run.py``)."""
    t0 = time.perf_counter()
    sizes = sizes or ((1e6, 0.26e6) if quick else (10e6, 1e6))
    repeat = repeat or (1 if quick else 2)
    log("accounting: warm-up (compiles the numba kernels of the accounting stages)")
    measure_case(accounting_inputs(512, 512), "accounting", 0)
    runs: list[CaseRun] = []
    report = None
    for k, pixels in enumerate(sizes):
        w, h = e2e.shape_for(pixels)
        t = time.perf_counter()
        folder = accounting_inputs(w, h)
        log(f"accounting: inputs {w} x {h} ready ({time.perf_counter() - t:.0f} s)")
        for i in range(1, repeat + 1):
            for case in CASES:
                keep = k == 0 and i == repeat and case == "accounting"
                runs.append(measure_case(folder, case, i, keep=keep))
                r = runs[-1]
                log(
                    f"{_mpx(r.pixels)} {case} #{i}: {r.wall_s:.1f} s, {r.proc.peak_rss_mb / 1024:.2f} GiB "
                    f"(load {r.load:.2f}) {r.timings} {r.neutrality} {r.extra}"
                )
                if keep:
                    run_dir = folder / "run_accounting_accounting"
                    p = measure_report_cli(run_dir)
                    log(f"ldnkit report: {p.process_s:.1f} s, {p.peak_rss_mb / 1024:.2f} GiB")
                    report = (run_dir, p)
                    shutil.rmtree(run_dir, ignore_errors=True)
    minutes = (time.perf_counter() - t0) / 60
    save_runs(runs, report, minutes)
    return section(runs, report, minutes)


RUNS_JSON = e2e.WORK / "accounting_runs.json"


def save_runs(runs: list[CaseRun], report: tuple[Path, Proc] | None, minutes: float) -> None:
    """Keep the raw measurements (``--render`` rewrites the section from them)."""
    data = {
        "runs": [asdict(r) for r in runs],
        "report": [str(report[0]), asdict(report[1])] if report else None,
        "minutes": minutes,
    }
    RUNS_JSON.write_text(json.dumps(data, indent=1))


def load_runs() -> tuple[list[CaseRun], tuple[Path, Proc] | None, float]:
    data = json.loads(RUNS_JSON.read_text())
    runs = [CaseRun(**(r | {"proc": Proc(**r["proc"])})) for r in data["runs"]]
    rep = data["report"]
    return runs, (Path(rep[0]), Proc(**rep[1])) if rep else None, data["minutes"]


def put_section(text: str, path: Path) -> None:
    """Replace (or add) this section of ``path``, before its closing "_Benchmark time" line."""
    old = path.read_text() if path.exists() else ""
    lines = old.splitlines()
    start = next((i for i, s in enumerate(lines) if s.strip() == SECTION), None)
    if start is not None:
        stops = ("## ", "_Benchmark time")
        end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith(stops)), len(lines))
        del lines[start:end]
    foot = next((i for i, s in enumerate(lines) if s.startswith("_Benchmark time")), len(lines))
    new = text.strip().splitlines() + [""]
    lines[foot:foot] = new
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _child(*sys.argv[2:4])
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", help="comma-separated pixel counts (default 10e6,1e6)")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--write", action="store_true", help="put the section into benchmarks/results.md")
    ap.add_argument("--render", action="store_true", help=f"no runs: the section from {RUNS_JSON.name}")
    args = ap.parse_args()
    sz = tuple(float(s) for s in args.sizes.split(",")) if args.sizes else None
    text = section(*load_runs()) if args.render else main(args.quick, sz, args.repeat)
    print(text)
    if args.write:
        put_section(text, HERE / "results.md")
        log(f"wrote {HERE / 'results.md'}")
