"""Engines benchmark (issue 11 item 6): ldnkit's hand-written machinery against the well-kept library
that does the same job, on the same synthetic input, side by side in one run.

* Weighted cross-tabulation: ``ldnkit.tables.areastats.crosstab`` against flox
  (``flox.xarray.xarray_reduce(area, region, *layers, func="sum", expected_groups=...)``, engines
  ``numpy`` and ``numba``, method ``map-reduce``): area (km²) per region x 3 int16 layers (land
  cover 2000 and 2015, 8 classes each with NODATA, a -1/0/1 degradation layer with NODATA),
  region NODATA outside every region; dask arrays in 1024 x 1024 chunks, threaded scheduler.
* Connected-component labelling of a hotspot mask (8-connectivity, as ``find_hotspots``):
  ``scipy.ndimage.label`` on the whole numpy mask against ``dask_image.ndmeasure.label`` on the
  same mask as a dask array in 1024 x 1024 chunks.

Each case runs in a fresh child process that builds its input (seeded numpy, not timed), then times
the engine call and samples its resident memory every 20 ms: "peak RSS" is the child's largest RSS
during the call and "extra" that minus the RSS just before it (the input already in memory). The
engines are first checked to agree on the same input (areas to 1e-9 relative, same number of
components); the timed runs' results are compared again.

Usage: ``python benchmarks/engines.py [--quick] [--sizes 1e7,1e8]``; ``main(quick)`` returns the
Markdown section (benchmarks/run.py adds it with ``module_section``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

CHUNK = 1024
N_REGIONS = 20
LC_CODES = (10, 11, 20, 30, 40, 50, 60, 70)  # 8 land-cover classes
NODATA = -32768
DEGRADATION_CODES = (-1, 0, 1)
CASES = {
    "crosstab": ("ldnkit crosstab", "flox numpy", "flox numba"),
    "label": ("scipy.ndimage.label", "dask_image label"),
}


# ------------------------------------------------------------------------------------------------
# Inputs (deterministic: the same arrays in every child process)
# ------------------------------------------------------------------------------------------------


def shape_for(pixels: float) -> tuple[int, int]:
    side = int(round(np.sqrt(pixels) / CHUNK * 4)) * CHUNK // 4  # a multiple of 256
    return side, int(round(pixels / side))


def _patches(rng: np.random.Generator, shape: tuple[int, int], n: int, block: int) -> np.ndarray:
    """Blocky categorical field with values 0..n-1 (patches of ``block`` pixels), as maps have."""
    low = rng.integers(0, n, size=(-(-shape[0] // block), -(-shape[1] // block)), dtype=np.int16)
    return np.repeat(np.repeat(low, block, 0), block, 1)[: shape[0], : shape[1]]


def crosstab_inputs(pixels: float) -> dict[str, np.ndarray]:
    """Three int16 layers, int16 regions and float64 km² per pixel, all ``(y, x)`` numpy arrays."""
    rng = np.random.default_rng(42)
    shape = shape_for(pixels)
    lc = np.asarray(LC_CODES + (NODATA,), dtype=np.int16)
    lc0 = lc[np.minimum(_patches(rng, shape, 9, 16), 8)]
    change = rng.random(shape, dtype=np.float32) < 0.1
    lc1 = np.where(change, lc[rng.integers(0, 8, size=shape)], lc0).astype(np.int16)
    deg = np.asarray(DEGRADATION_CODES + (NODATA,), dtype=np.int16)[rng.integers(0, 4, size=shape)]
    regions = _patches(rng, shape, N_REGIONS + 1, 256) - 1
    regions[regions < 0] = NODATA  # outside every region
    lat = np.linspace(-30.0, 30.0, shape[0])[:, None]
    area = np.broadcast_to(0.0625 * np.cos(np.radians(lat)), shape).copy()  # km² (250 m pixels)
    return {"lc_2000": lc0, "lc_2015": lc1, "degradation": deg, "regions": regions, "area": area}


def label_mask(pixels: float) -> np.ndarray:
    """Hotspot-like mask: clumps (blocky low-resolution field) plus scattered pixels, ~20 % True."""
    rng = np.random.default_rng(7)
    shape = shape_for(pixels)
    clumps = _patches(rng, shape, 10, 8) >= 8
    return clumps | (rng.random(shape, dtype=np.float32) < 0.02)


# ------------------------------------------------------------------------------------------------
# The engines
# ------------------------------------------------------------------------------------------------


def _dask_layers(arrays: dict[str, np.ndarray]):
    import dask.array as dsa
    import xarray as xr

    return {
        k: xr.DataArray(dsa.from_array(v, chunks=CHUNK), dims=("y", "x"), name=k) for k, v in arrays.items()
    }


def crosstab_ours(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Area per (region, lc_2000, lc_2015, degradation) as a dense array, by ldnkit's engine."""
    from ldnkit.tables.areastats import crosstab

    layers = _dask_layers(arrays)
    keys = {k: layers[k] for k in ("lc_2000", "lc_2015", "degradation")}
    table = crosstab(keys, layers["area"], zones=layers["regions"], scheduler="threads")
    return _dense(table)


def _groups() -> tuple[np.ndarray, ...]:
    lc = np.sort(LC_CODES + (NODATA,))
    return np.arange(N_REGIONS), lc, lc, np.sort(DEGRADATION_CODES + (NODATA,))


def _dense(table) -> np.ndarray:
    out = np.zeros([len(g) for g in _groups()])
    index = [
        np.searchsorted(g, table[c].to_numpy())
        for g, c in zip(_groups(), ("zone", "lc_2000", "lc_2015", "degradation"), strict=True)
    ]
    np.add.at(out, tuple(index), table["area"].to_numpy())
    return out


def crosstab_flox(arrays: dict[str, np.ndarray], engine: str) -> np.ndarray:
    """The same table by flox (groups outside ``expected_groups``, i.e. region NODATA, are dropped)."""
    import dask
    from flox.xarray import xarray_reduce

    layers = _dask_layers(arrays)
    by = [layers[k] for k in ("regions", "lc_2000", "lc_2015", "degradation")]
    result = xarray_reduce(
        layers["area"], *by, func="sum", expected_groups=_groups(), engine=engine, fill_value=0.0
    )
    with dask.config.set(scheduler="threads"):
        return np.asarray(result.compute().data)


def label_scipy(mask: np.ndarray) -> tuple[int, np.ndarray]:
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=ndimage.generate_binary_structure(2, 2))
    return int(n), np.bincount(labels.ravel())[1:]


def label_dask_image(mask: np.ndarray) -> tuple[int, np.ndarray]:
    import dask
    import dask.array as dsa
    from dask_image import ndmeasure
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(2, 2)
    labels, n = ndmeasure.label(dsa.from_array(mask, chunks=CHUNK), structure=structure)
    # The component sizes, so both engines are compared on the same output (labels are numbered
    # differently) and dask-image's labels are actually computed, not only their count.
    sizes = dsa.bincount(labels.ravel())
    with dask.config.set(scheduler="threads"):
        n, sizes = dask.compute(n, sizes)
    return int(n), np.asarray(sizes)[1:]


# ------------------------------------------------------------------------------------------------
# One case in a child process: wall time and memory
# ------------------------------------------------------------------------------------------------


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _timed(fn, *args):
    peak, done = [_rss()], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak.append(_rss())

    sampler = threading.Thread(target=sample, daemon=True)
    before = peak[0]
    sampler.start()
    t, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    done.set()
    sampler.join()
    peak.append(_rss())
    return result, wall, cpu, max(peak), before


def run_case(kind: str, engine: str, pixels: float, out: Path) -> dict:
    """Time one engine on one size in THIS process; save its result to ``out`` (.npy)."""
    if kind == "crosstab":
        arrays = crosstab_inputs(pixels)
        fn = {
            "ldnkit crosstab": crosstab_ours,
            "flox numpy": lambda a: crosstab_flox(a, "numpy"),
            "flox numba": lambda a: crosstab_flox(a, "numba"),
        }[engine]
        fn({k: v[:CHUNK, :CHUNK] for k, v in arrays.items()})  # warm-up (numba, imports); not timed
        result, wall, cpu, peak, before = _timed(fn, arrays)
        np.save(out, result)
        shape = arrays["area"].shape
    else:
        mask = label_mask(pixels)
        fn = {"scipy.ndimage.label": label_scipy, "dask_image label": label_dask_image}[engine]
        (n, sizes), wall, cpu, peak, before = _timed(fn, mask)
        np.save(out, np.sort(sizes))
        shape = mask.shape
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_mb": peak / 2**20,
        "extra_mb": (peak - before) / 2**20,
        "shape": shape,
    }


def _child(kind: str, engine: str, pixels: float, workdir: Path) -> tuple[dict, np.ndarray]:
    out = workdir / f"{kind}-{engine.replace(' ', '_')}-{pixels:.0e}.npy"
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[4]); import engines; "
        "print(json.dumps(engines.run_case(sys.argv[1], sys.argv[2], float(sys.argv[3]), "
        "engines.Path(sys.argv[5]))))"
    )
    here = str(Path(__file__).resolve().parent)
    proc = subprocess.run(
        [sys.executable, "-c", code, kind, engine, str(pixels), here, str(out)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return json.loads(proc.stdout.strip().splitlines()[-1]), np.load(out)


# ------------------------------------------------------------------------------------------------
# Agreement, then the timed table
# ------------------------------------------------------------------------------------------------


def check_agreement(pixels: float = 1e6) -> list[str]:
    """The engines give the same areas (1e-9 relative) and the same components, on one input."""
    arrays = crosstab_inputs(pixels)
    ours = crosstab_ours(arrays)
    notes = []
    for engine in ("numpy", "numba"):
        theirs = crosstab_flox(arrays, engine)
        assert theirs.shape == ours.shape, (theirs.shape, ours.shape)
        np.testing.assert_allclose(theirs, ours, rtol=1e-9, atol=0)
        notes.append(
            f"flox {engine}: {np.count_nonzero(ours):,} cells, max relative difference "
            f"{np.max(np.abs(theirs - ours) / np.maximum(np.abs(ours), 1e-300)):.1e}"
        )
    mask = label_mask(pixels)
    (n1, s1), (n2, s2) = label_scipy(mask), label_dask_image(mask)
    assert n1 == n2 and np.array_equal(np.sort(s1), np.sort(s2)), (n1, n2)
    notes.append(f"labelling: {n1:,} components, identical component sizes")
    return notes


def _compare(kind: str, results: list[np.ndarray]) -> str:
    ref = results[0]
    for other in results[1:]:
        if kind == "crosstab":
            np.testing.assert_allclose(other, ref, rtol=1e-9, atol=0)
        else:
            assert np.array_equal(other, ref)
    return "areas agree to 1e-9" if kind == "crosstab" else f"{len(ref):,} components in each"


def measure(sizes: tuple[float, ...]) -> list[tuple[str, float, str, dict, str]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="ldnkit-engines-") as tmp:
        for kind, engines in CASES.items():
            for pixels in sizes:
                got = [(e, *_child(kind, e, pixels, Path(tmp))) for e in engines]
                check = _compare(kind, [r for _, _, r in got])
                rows += [(kind, pixels, e, m, check) for e, m, _ in got]
                print(
                    f"{kind} {pixels:.0e}: " + ", ".join(f"{e} {m['wall_s']:.2f} s" for e, m, _ in got),
                    file=sys.stderr,
                    flush=True,
                )
    return rows


def section(rows, notes: list[str]) -> str:
    lines = [
        "## Cross-tabulation and labelling engines",
        "",
        "`python benchmarks/engines.py`: each case in a fresh child process, input built first (not "
        "timed; the cross-tabs warmed up on one chunk first), 2 dask threads; peak RSS sampled every "
        '20 ms, "extra" = peak minus the RSS with the input already in memory; CPU = the child\'s '
        "user + system time during the call, all threads (less sensitive than wall time to a busy "
        "machine). Ratio = time / first row of its group. Agreement checked first on 1 M pixels: "
        + "; ".join(notes)
        + ".",
        "",
        "| case | pixels | engine | wall (s) | ratio | CPU (s) | ratio | peak RSS (MiB) | extra (MiB) "
        "| check |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    base: dict[tuple[str, float], dict] = {}
    for kind, pixels, engine, m, check in rows:
        ref = base.setdefault((kind, pixels), m)
        h, w = m["shape"]
        lines.append(
            f"| {kind} | {h:,} x {w:,} ({pixels / 1e6:.0f} M) | {engine} | {m['wall_s']:.2f} | "
            f"{m['wall_s'] / ref['wall_s']:.2f} | {m['cpu_s']:.2f} | {m['cpu_s'] / ref['cpu_s']:.2f} | "
            f"{m['peak_mb']:,.0f} | {m['extra_mb']:,.0f} | {check} |"
        )
    return "\n".join(lines)


def main(quick: bool = False, sizes: tuple[float, ...] | None = None) -> str:
    """Run the engines benchmark; return the Markdown section."""
    sizes = sizes or ((1e6,) if quick else (1e7, 1e8))
    try:  # bench tools, not package dependencies
        import dask_image  # noqa: F401
        import flox  # noqa: F401
    except ImportError as exc:
        return f"## Cross-tabulation and labelling engines\n\n_Not run: {exc} (pip install flox dask-image)._"
    notes = check_agreement(1e6 if not quick else 2.5e5)
    return section(measure(sizes), notes)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 M pixels only")
    ap.add_argument("--sizes", help="comma-separated pixel counts, e.g. 1e7,1e8")
    args = ap.parse_args()
    chosen = tuple(float(s) for s in args.sizes.split(",")) if args.sizes else None
    print(main(quick=args.quick, sizes=chosen))
