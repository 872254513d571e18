"""Kernel benchmark: ldnkit's per-pixel kernels side by side with simpler ones, in one process,
on the same synthetic input.

* Trajectory (Mann–Kendall S, tie-corrected variance, z, p and the Theil–Sen slope, NaN-aware):
  ldnkit's kernel; the *plain numba kernel* (one pixel per loop iteration, S and the tie term
  computed naively in O(n²), ``np.median`` of all pairwise slopes); ``scipy.stats.theilslopes``
  + ``kendalltau`` per pixel and ``pymannkendall.original_test`` per pixel (on a subsample,
  extrapolated).
* State: ldnkit's numba kernels against the vectorised numpy implementation they replaced.
* Performance: the window mean (numba vs numpy) and the exact unit percentiles (2 passes with
  a value-range hint vs the 3-pass version), on a lazy dask array.

Harness: the numba kernels (ldnkit's and the plain one) are all called on the same list of
contiguous ``(years, 256, 512)`` blocks from one ``ThreadPoolExecutor`` of 2 threads (the
kernels release the GIL), as dask's threaded scheduler would call them; each figure is the best
of a few rounds, the kernels alternating within a round so they share the machine's noise.
The per-pixel Python references run in one thread (they hold the GIL).

Usage: ``python benchmarks/kernels.py [--quick]``; ``main(quick)`` returns the Markdown section.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import dask
import numba
import numpy as np
import xarray as xr

from ldnkit import codes
from ldnkit.indicators import productivity as prod
from ldnkit.kernels import state as state_kernels
from ldnkit.kernels import trend as trend_kernels
from ldnkit.kernels.zonal import zonal_quantiles

THREADS = 2
BLOCK = (256, 512)
N_TIME = 16
HIST, COMP = 13, 3  # state windows within the 16 years

# --- the plain reference kernel ------------------------------------------------------------------


@numba.njit(nogil=True)  # no cache: this file is also imported by path (tests), under another name
def plain_mk_ts_block(values, x, min_count, slope, s_out, z_out, p_out, n_out):
    """The plain numba kernel: one pixel per loop iteration, S and the tie-corrected variance
    computed naively in O(n²), ``np.median`` of all pairwise slopes.

    values ``(n_time, ny, nx)`` float (NaN missing); outputs ``(ny, nx)`` as ldnkit's kernel.
    """
    n_time, ny, nx = values.shape
    v = np.empty(n_time)
    t = np.empty(n_time)
    pairs = np.empty(max(n_time * (n_time - 1) // 2, 1))
    for iy in range(ny):
        for ix in range(nx):
            m = 0
            for it in range(n_time):
                val = values[it, iy, ix]
                if not np.isnan(val):
                    v[m] = val
                    t[m] = x[it]
                    m += 1
            n_out[iy, ix] = m
            if m < min_count or m < 2:
                slope[iy, ix] = np.nan
                s_out[iy, ix] = np.nan
                z_out[iy, ix] = np.nan
                p_out[iy, ix] = np.nan
                continue
            s = 0.0
            k = 0
            for i in range(m - 1):
                for j in range(i + 1, m):
                    s += np.sign(v[j] - v[i])
                    pairs[k] = (v[j] - v[i]) / (t[j] - t[i])
                    k += 1
            ties = 0.0  # sum over tie groups of t (t - 1) (2t + 5), each group counted once
            for i in range(m):
                first = True
                for j in range(i):
                    if v[j] == v[i]:
                        first = False
                if first:
                    c = 0
                    for j in range(i, m):
                        if v[j] == v[i]:
                            c += 1
                    ties += c * (c - 1.0) * (2.0 * c + 5.0)
            var = (m * (m - 1.0) * (2.0 * m + 5.0) - ties) / 18.0
            if s > 0 and var > 0:
                z = (s - 1.0) / math.sqrt(var)
            elif s < 0 and var > 0:
                z = (s + 1.0) / math.sqrt(var)
            else:
                z = 0.0
            slope[iy, ix] = np.median(pairs[:k])
            s_out[iy, ix] = s
            z_out[iy, ix] = z
            p_out[iy, ix] = math.erfc(abs(z) / math.sqrt(2.0))


def plain_mann_kendall_theil_sen(values: np.ndarray, x: np.ndarray, min_count: int = 3):
    """The plain kernel with ldnkit's call signature and output types."""
    _, ny, nx = values.shape
    outs = (
        np.empty((ny, nx), np.float32),
        np.empty((ny, nx), np.float32),
        np.empty((ny, nx)),
        np.empty((ny, nx)),
        np.empty((ny, nx), np.int16),
    )
    plain_mk_ts_block(values, np.asarray(x, dtype=np.float64), int(min_count), *outs)
    return outs


# --- the numpy state / mean implementations that the numba kernels replaced -----------------------

_DECILES = np.arange(10, 101, 10, dtype=np.float64) / 100.0


def _numpy_lerp(a, b, t):
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _numpy_window_stats(a):
    a = np.asarray(a, dtype=np.float64)
    ok = np.isfinite(a)
    m = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, a, 0.0).sum(axis=-1) / m
    return m, mean, ok, a


def numpy_state_percentile_class(h, c, min_difference):
    """Previous vectorised implementation; h, c have the years last (as apply_ufunc gives)."""
    m_h, mean_h, _, h = _numpy_window_stats(h)
    m_c, mean_c, _, _ = _numpy_window_stats(c)
    srt = np.sort(h, axis=-1)
    last = np.maximum(m_h - 1, 0)[..., None]
    lo = srt[..., 0]
    hi = np.take_along_axis(srt, last, axis=-1)[..., 0]
    rng = hi - lo
    ext = np.concatenate([(lo - 0.05 * rng)[..., None], srt, np.full(lo.shape + (1,), np.nan)], axis=-1)
    np.put_along_axis(ext, (m_h + 1)[..., None], (hi + 0.05 * rng)[..., None], axis=-1)
    n_ext = (m_h + 2)[..., None]
    virtual = (n_ext - 1) * _DECILES[:9]
    prev = np.floor(virtual)
    above = virtual >= n_ext - 1
    i0 = np.where(above, n_ext - 1, prev).astype(np.int64)
    i1 = np.where(above, n_ext - 1, prev + 1).astype(np.int64)
    dec = _numpy_lerp(
        np.take_along_axis(ext, i0, axis=-1), np.take_along_axis(ext, i1, axis=-1), virtual - prev
    )
    cls_h = 1 + (mean_h[..., None] > dec).sum(axis=-1)
    cls_c = 1 + (mean_c[..., None] > dec).sum(axis=-1)
    delta = cls_c - cls_h
    out = np.where(delta <= -2, -1, np.where(delta >= 2, 1, 0)).astype(np.int16)
    out[np.abs(mean_c - mean_h) <= min_difference] = 0
    out[(m_h == 0) | (m_c == 0)] = codes.NODATA
    return out


def numpy_state_z_score(h, c, z_threshold, se):
    m_h, mean_h, ok_h, h = _numpy_window_stats(h)
    m_c, mean_c, _, _ = _numpy_window_stats(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.where(ok_h, (h - mean_h[..., None]) ** 2, 0.0).sum(axis=-1) / (m_h - 1))
        denom = sd / np.sqrt(m_c) if se else sd
        z = (mean_c - mean_h) / denom
    out = np.where(z > z_threshold, 1, np.where(z < -z_threshold, -1, 0)).astype(np.int16)
    out[(m_h < 2) | (m_c == 0)] = codes.NODATA
    return out


def numpy_window_mean(a):
    _, mean, _, _ = _numpy_window_stats(a)
    return mean


# --- inputs and harness ------------------------------------------------------------------------


def synthetic_stack(n_pixels: int, n_time: int = N_TIME, seed: int = 0) -> np.ndarray:
    """(n_time, ny, nx) float32 NDVI-like series: trend + noise, rounded to 1e-3 (ties), 5 % NaN."""
    rng = np.random.default_rng(seed)
    nx = BLOCK[1] * 2
    ny = max(int(round(n_pixels / nx / BLOCK[0])), 1) * BLOCK[0]
    out = np.empty((n_time, ny, nx), dtype=np.float32)
    for y0 in range(0, ny, BLOCK[0]):  # in strips, to keep the float64 temporaries small
        sl = slice(y0, y0 + BLOCK[0])
        base = rng.uniform(0.2, 0.8, size=(BLOCK[0], nx))
        slope = rng.normal(0.0, 0.004, size=(BLOCK[0], nx))
        t = np.arange(n_time)[:, None, None]
        v = base + slope * t + rng.normal(0.0, 0.03, size=(n_time, BLOCK[0], nx))
        v = np.round(v, 3)
        v[rng.random(v.shape) < 0.05] = np.nan
        out[:, sl] = v
    return out


def blocks_of(stack: np.ndarray) -> list[np.ndarray]:
    """Contiguous (n_time, 256, 512) blocks, as dask hands chunks to a kernel."""
    _, ny, nx = stack.shape
    by, bx = BLOCK
    return [
        np.ascontiguousarray(stack[:, y : y + by, x : x + bx])
        for y in range(0, ny, by)
        for x in range(0, nx, bx)
    ]


def best_times(funcs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Best wall time of each function over a few rounds, alternating within each round."""
    best = dict.fromkeys(funcs, math.inf)
    for f in funcs.values():  # warm-up (compilation, caches)
        f()
    for _ in range(rounds):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            f()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def on_blocks(kernel: Callable, blocks: list) -> Callable[[], list]:
    def run() -> list:
        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(kernel, blocks))

    return run


def fmt_rate(pixels_per_s: float) -> str:
    if pixels_per_s >= 1e5:
        return f"{pixels_per_s / 1e6:.2f} M"
    return f"{pixels_per_s / 1e3:.1f} k"


def table(rows: list[tuple[str, float, str]], ref: float) -> list[str]:
    out = ["| kernel | pixels/s | vs plain | note |", "|---|---:|---:|---|"]
    for name, rate, note in rows:
        out.append(f"| {name} | {fmt_rate(rate)} | {rate / ref:.2f}x | {note} |")
    return out


# --- sections ----------------------------------------------------------------------------------


def bench_trajectory(n_pixels: int, n_sub: int, rounds: int) -> list[str]:
    import pymannkendall as pmk
    from scipy import stats

    stack = synthetic_stack(n_pixels)
    blocks = blocks_of(stack)
    blocks16 = [np.where(np.isnan(b), codes.NODATA, np.round(b * 10000)).astype(np.int16) for b in blocks]
    npx = stack.shape[1] * stack.shape[2]
    x = np.arange(2001, 2001 + N_TIME, dtype=np.float64)
    mk = trend_kernels.mann_kendall_theil_sen
    funcs = {
        "ldnkit": on_blocks(lambda b: mk(b, x, 3), blocks),
        "ldnkit, int16 input": on_blocks(lambda b: mk(b, x, 3), blocks16),
        "ldnkit, one pixel at a time": on_blocks(lambda b: mk(b, x, 3, lanes=False), blocks),
        "plain numba": on_blocks(lambda b: plain_mann_kendall_theil_sen(b, x, 3), blocks),
    }
    best = best_times(funcs, rounds)
    rate = {k: npx / t for k, t in best.items()}

    # Same numbers: ldnkit vs the plain kernel on every pixel.
    got = funcs["ldnkit"]()
    ref = funcs["plain numba"]()
    same_s = all(np.array_equal(g[1], r[1], equal_nan=True) for g, r in zip(got, ref, strict=True))
    same_z = all(np.array_equal(g[2], r[2], equal_nan=True) for g, r in zip(got, ref, strict=True))
    slope_diff = max(
        float(np.nanmax(np.abs(g[0] - r[0]), initial=0.0)) for g, r in zip(got, ref, strict=True)
    )

    # Per-pixel references on a subsample (one thread: they hold the GIL).
    rng = np.random.default_rng(1)
    flat = stack.reshape(N_TIME, -1)
    cols = rng.choice(flat.shape[1], n_sub, replace=False)
    series = [flat[:, c].astype(np.float64) for c in cols]

    def scipy_refs():
        out = []
        for y in series:
            ok = np.isfinite(y)
            out.append((stats.theilslopes(y[ok], x[ok]).slope, stats.kendalltau(x[ok], y[ok]).pvalue))
        return out

    def pmk_refs():
        return [pmk.original_test(y[np.isfinite(y)]) for y in series]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_best = best_times({"scipy": scipy_refs, "pmk": pmk_refs}, 1)
        sp, pm = scipy_refs(), pmk_refs()
    rate["scipy"] = n_sub / ref_best["scipy"]
    rate["pmk"] = n_sub / ref_best["pmk"]
    sub = mk(flat[:, cols][:, None, :], x, 3)
    s_equal = all(float(sub[1][0, i]) == r.s for i, r in enumerate(pm))
    p_rel = max(abs(sub[3][0, i] - r.p) / max(r.p, 1e-300) for i, r in enumerate(pm))
    ts_diff = max(abs(float(sub[0][0, i]) - s) for i, (s, _) in enumerate(sp))

    plain = rate["plain numba"]
    rows = [
        (
            "ldnkit `mann_kendall_theil_sen`",
            rate["ldnkit"],
            "64 pixels in lockstep, median by sorting network",
        ),
        ("ldnkit, int16 input (NDVI x 10⁴)", rate["ldnkit, int16 input"], "same kernel, half the bytes"),
        (
            "ldnkit, one pixel at a time",
            rate["ldnkit, one pixel at a time"],
            "quickselect median (used above 40 years)",
        ),
        ("plain numba kernel", plain, "per-pixel loop, O(n²) S/ties, `np.median`"),
        (
            "scipy `theilslopes` + `kendalltau` per pixel",
            rate["scipy"],
            f"1 thread, {n_sub:,} px subsample, extrapolated",
        ),
        (
            "pymannkendall `original_test` per pixel",
            rate["pmk"],
            f"1 thread, {n_sub:,} px subsample, extrapolated",
        ),
    ]
    lines = [
        f"### Trajectory: Mann–Kendall + Theil–Sen, {N_TIME} years, {npx / 1e6:.2f} M pixels",
        "",
        f"float32 input, values rounded to 1e-3 (ties) with 5 % NaN gaps; {len(blocks)} blocks of "
        f"{N_TIME}x{BLOCK[0]}x{BLOCK[1]} from a ThreadPoolExecutor of {THREADS} threads "
        f"(numba kernels, GIL released); best of {rounds} rounds.",
        "",
        *table(rows, plain),
        "",
        f"- ldnkit vs plain: **{rate['ldnkit'] / plain:.1f}x**; at "
        f"{npx / rate['ldnkit']:.2f} s for these {npx / 1e6:.1f} M pixels, i.e. "
        f"{rate['ldnkit'] / 1e6:.2f} M px/s on {THREADS} threads.",
        f"- Same numbers: S {'identical' if same_s else 'DIFFERENT'} and z "
        f"{'identical' if same_z else 'DIFFERENT'} to the plain kernel on every pixel; max |Δslope| "
        f"{slope_diff:.1e} (float32 output). On the subsample: S {'equal' if s_equal else 'DIFFERENT'} "
        f"to pymannkendall, max relative Δp {p_rel:.1e}, max |Δslope| vs scipy {ts_diff:.1e}.",
    ]
    return lines


def bench_crossover(n_pixels: int, rounds: int) -> list[str]:
    """Lockstep (sorting network) vs one-pixel (quickselect) kernel by series length."""
    lines = [
        "| years | lockstep px/s | one-pixel px/s | ratio |",
        "|---:|---:|---:|---:|",
    ]
    mk = trend_kernels.mann_kendall_theil_sen
    for n_time in (10, 16, 24, 32, 40, 48):
        blocks = blocks_of(synthetic_stack(n_pixels, n_time, seed=n_time))
        npx = sum(b.shape[1] * b.shape[2] for b in blocks)
        x = np.arange(n_time, dtype=np.float64)
        best = best_times(
            {
                "lanes": on_blocks(lambda b, x=x: mk(b, x, 3, lanes=True), blocks),
                "pixels": on_blocks(lambda b, x=x: mk(b, x, 3, lanes=False), blocks),
            },
            rounds,
        )
        a, b = npx / best["lanes"], npx / best["pixels"]
        lines.append(f"| {n_time} | {fmt_rate(a)} | {fmt_rate(b)} | {a / b:.2f}x |")
    return lines


def bench_state(n_pixels: int, rounds: int) -> list[str]:
    lines = [
        f"### State and window mean, {HIST} + {COMP} years",
        "",
        "Same harness; numpy = the vectorised implementation the numba kernels replaced (given the "
        "years last, as `apply_ufunc` passes them). Inputs: the trajectory's (5 % random gaps: "
        "every 64-pixel tile has some) and the same without gaps (real annual series are mostly "
        "complete; a tile without gaps skips the compaction step).",
        "",
        "| step | input | numba px/s | numpy px/s | speed-up | same classes |",
        "|---|---|---:|---:|---:|---|",
    ]
    for label, gaps in (("5 % gaps", True), ("no gaps", False)):
        stack = synthetic_stack(n_pixels, seed=3)
        if not gaps:
            stack = np.where(np.isnan(stack), np.roll(stack, 1, axis=0), stack)
            stack = np.where(np.isnan(stack), 0.5, stack).astype(np.float32)
        stack[HIST:] += 0.05  # some change in the comparison years
        blocks = blocks_of(stack)
        npx = stack.shape[1] * stack.shape[2]
        last = [(np.moveaxis(b[:HIST], 0, -1), np.moveaxis(b[HIST:], 0, -1)) for b in blocks]
        first = [(b[:HIST], b[HIST:]) for b in blocks]
        funcs = {
            "pc ldnkit": on_blocks(lambda hc: state_kernels.percentile_class(*hc, 0.01), first),
            "pc numpy": on_blocks(lambda hc: numpy_state_percentile_class(*hc, 0.01), last),
            "z ldnkit": on_blocks(lambda hc: state_kernels.z_score(*hc, 1.96, False), first),
            "z numpy": on_blocks(lambda hc: numpy_state_z_score(*hc, 1.96, False), last),
            "mean ldnkit": on_blocks(state_kernels.window_mean, blocks),
            "mean numpy": on_blocks(lambda b: numpy_window_mean(np.moveaxis(b, 0, -1)), blocks),
        }
        best = best_times(funcs, rounds)
        rate = {k: npx / t for k, t in best.items()}
        same = {}
        for k in ("pc", "z"):
            pairs = zip(funcs[f"{k} ldnkit"](), funcs[f"{k} numpy"](), strict=True)
            same[k] = all(np.array_equal(a, b) for a, b in pairs)
        steps = (("pc", "state `percentile_class`"), ("z", "state `z_score`"), ("mean", "window mean"))
        for key, name in steps:
            a, b = rate[f"{key} ldnkit"], rate[f"{key} numpy"]
            note = ("yes" if same[key] else "NO") if key in same else "n/a"
            lines.append(f"| {name} | {label} | {fmt_rate(a)} | {fmt_rate(b)} | {a / b:.1f}x | {note} |")
    lines.append(f"\n({npx / 1e6:.2f} M pixels per input.)")
    return lines


def bench_performance(n_pixels: int, rounds: int) -> list[str]:
    stack = synthetic_stack(n_pixels, seed=4)
    _, ny, nx = stack.shape
    npx = ny * nx
    rng = np.random.default_rng(5)
    # 42 units (7 land-cover classes x 6 zones) in patches of 64 x 64 pixels.
    coarse = rng.integers(1, 8, size=(ny // 64 + 1, nx // 64 + 1)) * 100 + rng.integers(
        1, 7, size=(ny // 64 + 1, nx // 64 + 1)
    )
    units = np.kron(coarse, np.ones((64, 64), dtype=np.int64))[:ny, :nx].astype(np.int32)
    chunks = {"year": -1, "y": 512, "x": 512}
    coords = {"year": np.arange(2001, 2001 + N_TIME), "y": np.arange(ny) * -1.0, "x": np.arange(nx) * 1.0}
    values = xr.DataArray(stack, dims=("year", "y", "x"), coords=coords).chunk(chunks)
    unit_arr = xr.DataArray(units, dims=("y", "x"), coords={"y": coords["y"], "x": coords["x"]}).chunk(
        {"y": 512, "x": 512}
    )
    mean = xr.apply_ufunc(
        prod._mean_block, values, input_core_dims=[["year"]], dask="parallelized", output_dtypes=[np.float64]
    )
    probe = prod._value_range(values, mean)

    def fused():
        return zonal_quantiles(mean.data, unit_arr.data, 90.0, value_range=probe)

    def three_pass():
        return zonal_quantiles(mean.data, unit_arr.data, 90.0)

    def whole():
        out = prod.performance(values, unit_arr)
        return dask.compute(out["ratio"].data, out["class"].data)

    with dask.config.set(scheduler="threads", num_workers=THREADS):
        best = best_times({"fused": fused, "three": three_pass, "whole": whole}, rounds)
        a, b = fused(), three_pass()
    same = np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    # exactness against np.percentile on every unit
    m = state_kernels.window_mean(stack)
    ok = np.isfinite(m)
    exact = all(np.percentile(m[ok & (units == c)], 90.0) == p for c, p in zip(a[0], a[1], strict=True))
    return [
        f"### Performance: 90th percentile of the {N_TIME}-year mean per unit, {npx / 1e6:.2f} M pixels",
        "",
        f"dask threaded scheduler ({THREADS} workers), chunks 512 x 512, 42 units; the window mean is "
        "lazy, so every pass over the data recomputes it from the stack.",
        "",
        "| step | seconds | pixels/s |",
        "|---|---:|---:|",
        f"| unit percentiles, 2 passes (value-range hint from the first block) | {best['fused']:.2f} | "
        f"{fmt_rate(npx / best['fused'])} |",
        f"| unit percentiles, 3 passes (codes + range, histogram, collect) | {best['three']:.2f} | "
        f"{fmt_rate(npx / best['three'])} |",
        f"| `performance()` whole: percentiles + ratio and class computed | {best['whole']:.2f} | "
        f"{fmt_rate(npx / best['whole'])} |",
        "",
        f"- 2-pass vs 3-pass: {best['three'] / best['fused']:.2f}x; same percentiles: "
        f"{'yes' if same else 'NO'}; equal to `np.percentile` per unit: {'yes' if exact else 'NO'}.",
    ]


def main(quick: bool = False) -> str:
    """Run the kernel benchmarks; return a Markdown section (no machine description: run.py adds it)."""
    n_traj = 262_144 if quick else 2_097_152
    n_sub = 300 if quick else 2_000
    rounds = 2 if quick else 3
    parts = ["## Kernels", ""]
    parts += bench_trajectory(n_traj, n_sub, rounds)
    if not quick:
        parts += [
            "",
            "Lockstep vs one-pixel-at-a-time kernel by series length (0.26 M pixels each; the lockstep "
            f"kernel is used up to {trend_kernels.NETWORK_MAX_TIME} years):",
            "",
            *bench_crossover(262_144, rounds),
        ]
    parts += ["", *bench_state(n_traj // 2 if not quick else n_traj, rounds)]
    parts += ["", *bench_performance(n_traj, rounds)]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller input, fewer rounds")
    print(main(quick=ap.parse_args().quick))
