"""Early-warning benchmark: the CDI state machine, anomalies and baseline statistics.

Synthetic float32 inputs generated in memory (not timed):

* CDI over a whole series: 240 months (20 years) x ``N_SERIES`` pixels, random anomalies with
  5 % gaps; throughput in pixel-steps per second, extrapolated to a 10 M-pixel stack.
* CDI for one new month on 10 M pixels (3162 x 3162) from a saved state: the incremental update.
* Anomaly (z-score) of one new month on 10 M pixels against stored per-month statistics.
* Baseline statistics (mean, std, median, min, max, count per calendar month) over 20 years of
  ``N_SERIES`` pixels.

Single process, numpy-backed inputs; the CDI kernel runs on one thread. Best of ``ROUNDS``.

Usage: ``python benchmarks/early_warning.py [--quick] [--write]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import xarray as xr

from ldnkit.indicators.early_warning import (
    CdiState,
    anomaly,
    baseline_stats,
    cdi_rules,
    combined_drought_indicator,
)

ROUNDS = 3
SECTION = "## Early warning: CDI state machine, anomalies, baseline statistics"
RESULTS = Path(__file__).resolve().parent / "results.md"


def put_section(text: str, path: Path = RESULTS) -> None:
    """Replace this benchmark's section of results.md (up to the next ``## ``), or append it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    if start is None:
        lines += ["", *text.strip().splitlines()]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = [*text.strip().splitlines(), *([""] if end < len(lines) else [])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cube(rng, n_time: int, ny: int, nx: int, start: str = "2001-01-01") -> xr.DataArray:
    v = rng.normal(0, 1.2, size=(n_time, ny, nx)).astype(np.float32)
    v[rng.random(v.shape, dtype=np.float32) < 0.05] = np.nan
    t = pd.date_range(start, periods=n_time, freq="MS")
    coords = {"time": t, "y": np.arange(ny) + 0.5, "x": np.arange(nx) + 0.5}
    return xr.DataArray(v, dims=("time", "y", "x"), coords=coords)


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _best(fn, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(quick: bool = False) -> str:
    load = _load()
    rng = np.random.default_rng(0)
    series_side = (100, 250) if quick else (200, 500)
    big_side = (1000, 1000) if quick else (3162, 3162)
    n_series = series_side[0] * series_side[1]
    n_big = big_side[0] * big_side[1]
    months = 240

    series = [_cube(rng, months, *series_side) for _ in range(4)]
    combined_drought_indicator(*[a.isel(time=slice(0, 2), y=slice(0, 2)) for a in series])  # compile
    t_series = _best(lambda: combined_drought_indicator(*series))
    rate = n_series * months / t_series

    new = [_cube(rng, 1, *big_side, start="2021-01-01") for _ in range(4)]
    state = CdiState.initial(big_side, cdi_rules())
    state.last_time = np.datetime64("2020-12-01", "ns")
    t_one = _best(lambda: combined_drought_indicator(*new, state=state))

    stats = baseline_stats(series[0], (2001, 2020))
    t_stats = _best(lambda: baseline_stats(series[0], (2001, 2020)), rounds=1)
    big_stats = xr.Dataset(
        {k: (("period", "y", "x"), np.ones((12, *big_side), np.float32)) for k in ("mean", "std")}
    )
    big_stats = big_stats.assign_coords(period=np.arange(1, 13), y=new[0].y, x=new[0].x)
    big_stats.attrs.update(stats.attrs)
    t_anom = _best(lambda: anomaly(new[0], big_stats, "zscore").values)

    full_est = n_big * months / rate
    lines = [
        SECTION,
        "",
        "Written by `python benchmarks/early_warning.py --write`. Synthetic float32 anomalies (5 % gaps), "
        "numpy-backed, one process; the CDI kernel (numba, one thread) is run on row blocks. Best of "
        f"{ROUNDS} rounds (baseline statistics: one).",
        "",
        f"Machine: {_cpu()}, 2 logical cores (shared: load average {load} at the start); "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"xarray {xr.__version__}.",
        "",
        "| what | size | time s | rate |",
        "|---|---|---:|---:|",
        f"| CDI, whole series | {n_series:,} px x {months} months | {t_series:.2f} | "
        f"{rate / 1e6:.1f} M pixel-steps/s |",
        f"| CDI, one new month from a saved state | {n_big:,} px | {t_one:.2f} | "
        f"{n_big / t_one / 1e6:.1f} M px/s |",
        f"| CDI, whole series (extrapolated from the rate) | {n_big:,} px x {months} months | "
        f"{full_est:.0f} | |",
        f"| z-score anomaly of one new month | {n_big:,} px | {t_anom:.2f} | "
        f"{n_big / t_anom / 1e6:.1f} M px/s |",
        f"| baseline statistics (6 per month) | {n_series:,} px x {months} months | {t_stats:.2f} | |",
        "",
        f"One new month costs {t_one / full_est:.2%} of recomputing the 20-year CDI over the same pixels "
        "(both through `combined_drought_indicator`; the recomputation extrapolated from the "
        "whole-series rate, since 10 M x 240 x 4 float32 inputs are 38 GB).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="put the section into benchmarks/results.md")
    args = parser.parse_args()
    text = main(args.quick)
    print(text)
    if args.write:
        put_section(text)
