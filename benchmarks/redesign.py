"""Before and after the stage-architecture redesign (issue 11), side by side in one run.

The same synthetic national inputs (benchmarks/e2e.py) run through the code of commit c0aa681 (the
last one before the redesign, extracted with ``git archive``) and through this tree, each run in a
fresh child process (e2e.measure's timing and memory sampling), the two interleaved, so machine load
weighs on both alike. Numba caches are warmed by one unrecorded run per tree first.

Usage: ``python benchmarks/redesign.py [--sizes 1e6,10e6] [--repeat 2]``; prints a markdown section.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import e2e

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEFORE = "c0aa681"


def extract(commit: str, dest: Path) -> Path:
    """``src/`` of ``commit`` in ``dest`` (git archive: no checkout of the working tree)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def measure_with(src: Path, folder: Path) -> e2e.Measurement:
    """e2e.measure with the child importing ldnkit from ``src``."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(src)
    try:
        return e2e.measure(folder)
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = old


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6,10e6")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="ldnkit-before-") as tmp:
        trees = {f"before ({BEFORE})": extract(BEFORE, Path(tmp)), "after": ROOT / "src"}
        folders = {size: e2e.national_inputs(*e2e.shape_for(size)) for size in sizes}
        for src in trees.values():  # compile and cache numba kernels in each tree
            measure_with(src, folders[min(sizes)])
        rows: dict[tuple[float, str], list[e2e.Measurement]] = {}
        for size in sizes:
            for _ in range(args.repeat):
                for name, src in trees.items():
                    rows.setdefault((size, name), []).append(measure_with(src, folders[size]))
    lines = [
        "| pixels | code | wall s (runs) | best wall s | peak RSS MiB | after / before (best wall) |",
        "|---|---|---|---|---|---|",
    ]
    for size in sizes:
        best = {n: min(m.wall_s for m in rows[(size, n)]) for n in trees}
        for name in trees:
            ms = rows[(size, name)]
            ratio = best[name] / best[f"before ({BEFORE})"]
            lines.append(
                f"| {ms[0].pixels / 1e6:.1f} M | {name} | {', '.join(f'{m.wall_s:.1f}' for m in ms)} | "
                f"{best[name]:.1f} | {max(m.peak_rss_mb for m in ms):.0f} | {ratio:.2f} |"
            )
    table = "\n".join(lines)
    print(table)
    return table


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
