"""Load on the registry service (issue 12): concurrent writers and readers over HTTP, both backends.

For each backend (the embedded GeoPackage file; a throwaway PostGIS server started as the tests
start it, ``tests/registry/postgis.py``) a fresh registry is served by ``python -m
ldnkit.registry.service`` (one uvicorn process on 127.0.0.1), then:

- 20 concurrent writers each POST 50 activities (1,000): nothing may be lost: 1,000 rows, each with
  its version 1 in the history and its audit entry;
- 200 concurrent readers each make 5 GETs (pages of 50 features and single features).

Requests/s (all requests over the wall-clock time) and p50 / p95 latency per phase. The load
driver is ``tests/registry/load.py`` (also used, untimed, by ``test_registry_load.py``).

Usage::

    python benchmarks/registry.py            # prints the section
    python benchmarks/registry.py --write    # and puts it into benchmarks/results.md
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests" / "registry"
SECTION = "## Activity registry service (OGC API Features)"
WRITERS, PER_WRITER, READERS, PER_READER = 20, 50, 200, 5
QUEUE_NOTE = (
    "With 200 requests in flight on 2 shared cores, a read's latency is mostly its wait in the queue "
    "(up to about 200 / throughput); the writers' p95 includes waiting for the embedded file's single "
    "writer lock."
)


def _load(name: str) -> ModuleType:
    """A helper module of tests/registry by path (benchmarks/ and tests/ are not packages)."""
    spec = importlib.util.spec_from_file_location(f"registry_bench_{name}", TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _check_nothing_lost(location: str, ids: list[str]) -> str:
    from ldnkit.registry import open_store
    from ldnkit.registry.query import ActivityQuery

    store = open_store(location)
    try:
        page = store.query(ActivityQuery(limit=1000))
        rows = {r["id"] for r in page.items}
        history = sum(
            [v["action"] for v in store.versions(i)] == ["create"] for i in ids
        )  # fmt: skip
        audit = len(store.audit())
    finally:
        store.close()
    expected = WRITERS * PER_WRITER
    ok = page.matched == expected and rows == set(ids) and history == expected and audit == expected
    return f"{page.matched} rows, {history} with version 1 in history, {audit} audit entries: " + (
        "nothing lost" if ok else "**LOST SOME**"
    )


def measure_backend(location: str, folder: Path) -> dict:
    """Writers then readers against a service on ``location`` (a fresh, migrated registry)."""
    from ldnkit.registry import open_store

    helpers, load = _load("helpers"), _load("load")
    store = open_store(location, upgrade=True)
    token = store.create_token("editor", "bench editor")
    store.close()
    with helpers.running_service(location, folder / "server.log") as base:
        written = load.run_writers(base, token, WRITERS, PER_WRITER)
        log(f"  writers: {written.rate:.0f} req/s, {len(written.failures)} failures")
        read = load.run_readers(base, READERS, PER_READER, written.ids)
        log(f"  readers: {read.rate:.0f} req/s, {len(read.failures)} failures")
    return {"write": written, "read": read, "check": _check_nothing_lost(location, written.ids)}


def _row(backend: str, phase: str, result) -> str:  # noqa: ANN001 (load.LoadResult, loaded by path)
    answered = result.requests - len(result.failures)
    return (
        f"| {backend} | {phase} | {answered:,} / {result.requests:,} | {result.rate:.0f} | "
        f"{result.percentile(50) * 1000:.0f} | {result.percentile(95) * 1000:.0f} | {result.seconds:.1f} |"
    )


def _machine() -> str:
    import fastapi
    import psutil
    import sqlalchemy
    import uvicorn

    cpu = platform.processor() or "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()
    return (
        f"Machine: {cpu}, {psutil.cpu_count()} logical cores, "
        f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM, {platform.platform()}; Python "
        f"{platform.python_version()}, FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, PostgreSQL 15 + PostGIS (Debian); load average at the "
        f"start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (the machine is shared: figures are noisy)."
    )


def main(quick: bool = False) -> str:
    """Run both backends and return the markdown section (``quick`` is accepted for run.py)."""
    del quick  # the load is the issue's; it takes about a minute per backend
    postgis = _load("postgis")
    results: dict[str, dict] = {}
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="ldnkit-registry-bench-") as tmp:
        log("registry load: embedded GeoPackage file")
        results["embedded file"] = measure_backend(str(Path(tmp) / "registry.gpkg"), Path(tmp))
        reason = postgis.missing_postgis()
        if reason is None:
            log("registry load: PostGIS")
            server = postgis.start_postgis()
            try:
                results["PostGIS"] = measure_backend(server.new_database(), Path(tmp))
            finally:
                server.stop()
    lines = [
        SECTION,
        "",
        f"Written by `python benchmarks/registry.py --write` (also run by `make bench`). One "
        f"`python -m ldnkit.registry.service` process (uvicorn, one worker) on 127.0.0.1 and the load "
        f"driver (`tests/registry/load.py`, httpx + asyncio) on the same machine. {WRITERS} concurrent "
        f"writers each POST {PER_WRITER} activities (a 0.01° square each, validated, geodesic area, "
        f"version and audit rows written in one transaction); then {READERS} concurrent readers make "
        f"{PER_READER} GETs each (alternately a page of 50 features and one feature). Requests/s: "
        "all requests of the phase over its wall-clock time; latency: per request, in ms.",
        "",
        machine,
        "",
        "| backend | phase | answered | requests/s | p50 ms | p95 ms | wall s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for backend, r in results.items():
        lines += [_row(backend, "write", r["write"]), _row(backend, "read", r["read"])]
    lines += ["", QUEUE_NOTE, ""]
    for backend, r in results.items():
        lines.append(f"- {backend}: {r['check']}.")
    if "PostGIS" not in results:
        lines.append(f"- PostGIS: not measured ({postgis.missing_postgis()}).")
    return "\n".join(lines) + "\n"


def put_section(text: str, path: Path) -> None:
    """Replace (or add) this section of ``path``, before its closing "_Benchmark time" line."""
    lines = path.read_text().splitlines() if path.exists() else []
    start = next((i for i, s in enumerate(lines) if s.strip() == SECTION), None)
    if start is not None:
        stops = ("## ", "_Benchmark time")
        end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith(stops)), len(lines))
        del lines[start:end]
    foot = next((i for i, s in enumerate(lines) if s.startswith("_Benchmark time")), len(lines))
    lines[foot:foot] = text.strip().splitlines() + [""]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="put the section into benchmarks/results.md")
    args = parser.parse_args()
    section = main()
    print(section)
    if args.write:
        put_section(section, HERE / "results.md")
        log(f"wrote {HERE / 'results.md'}")
