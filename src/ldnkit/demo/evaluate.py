"""The planted-truth check: run the pipeline on the demo inputs and measure, per planted process,
period and layer, the share of its pixels a run classed as expected."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import rasterio
import rasterio.windows
from affine import Affine

from ldnkit import codes
from ldnkit.demo.inputs import DemoCase, build_demo_inputs
from ldnkit.errors import InputError
from ldnkit.run.corrections import CORRECTED_LAYERS
from ldnkit.run.so1 import PERIOD_LAYERS

if TYPE_CHECKING:  # the pipeline is imported lazily in run_demo
    from ldnkit.run import Result

#: Categorical per-period layers the planted processes' expectations may name: taken from the SO1
#: stage's own metadata (its categorical layers, and the corrected ones' uncorrected copies).
OUTPUT_LAYERS = tuple(name for name, meta in PERIOD_LAYERS.items() if meta.kind == "categorical") + tuple(
    f"{name}_uncorrected" for name in CORRECTED_LAYERS
)
COLUMNS = ["process", "period", "layer", "expected", "pixels", "recovered", "condition"]


def read_layer(path: Path, t: Affine, shape: tuple[int, int]) -> np.ndarray:
    """A written int16 layer, read on the grid ``t``, ``shape`` (pixels it does not cover are NODATA)."""
    with rasterio.open(path) as src:
        if not (
            math.isclose(src.transform.a, t.a, rel_tol=1e-9)
            and math.isclose(src.transform.e, t.e, rel_tol=1e-9)
        ):
            raise InputError(
                str(path),
                "is not on the demo grid (pixel size differs)",
                "write the demo's layers on the grid of its inputs",
            )
        if src.transform.almost_equals(t) and src.shape == shape:
            return src.read(1).astype(np.int32)
        # Same pixels, other extent (e.g. cropped to the area of interest): read our window.
        col = round((t.c - src.transform.c) / t.a)  # our origin in the file's pixels
        row = round((t.f - src.transform.f) / t.e)
        out = np.full(shape, codes.NODATA, np.int32)
        r0, r1 = max(row, 0), min(row + shape[0], src.height)
        c0, c1 = max(col, 0), min(col + shape[1], src.width)
        if r0 < r1 and c0 < c1:
            win = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
            out[r0 - row : r1 - row, c0 - col : c1 - col] = src.read(1, window=win)
        return out


def _process_rows(run_dir: Path, case: DemoCase) -> list[dict]:
    """One row per (planted process, expectation), read from ``run_dir/layers/<period>/``."""
    shape = case.processes[0].mask.shape
    aoi = case.aoi if case.aoi is not None else np.ones(shape, bool)
    cache: dict[tuple[str, str], np.ndarray | None] = {}

    summary = run_dir / "summary.json"
    written = json.loads(summary.read_text()).get("layers", {}) if summary.is_file() else {}

    def layer(period: str, name: str) -> np.ndarray | None:
        # the run folder says where each layer is and whether it is categorical
        entry = written.get(f"{period}/{name}")
        if (period, name) not in cache:
            ok = (
                entry is not None
                and entry.get("kind") == "categorical"
                and (run_dir / entry["path"]).exists()
            )
            cache[(period, name)] = read_layer(run_dir / entry["path"], case.transform, shape) if ok else None
        return cache[(period, name)]

    rows = []
    for proc in case.processes:
        for exp in proc.expected:
            sel = proc.mask.copy()
            note = ""
            if exp.only_where is not None:
                w_period, w_layer, w_codes = exp.only_where
                cond = layer(w_period, w_layer)
                sel &= np.isin(cond, w_codes) if cond is not None else False
                note = f"where {w_period} {w_layer} in {{{', '.join(map(str, w_codes))}}}"
            values = layer(exp.period, exp.layer)
            pixels = int(sel.sum())
            if values is None or pixels == 0:
                share = float("nan")
            else:
                ok = sel & aoi & np.isin(values, exp.codes) & (values != codes.NODATA)
                share = 100.0 * int(ok.sum()) / pixels
            expected = ", ".join(str(c) for c in exp.codes)
            rows.append(
                dict(
                    zip(
                        COLUMNS,
                        (proc.name, exp.period, exp.layer, expected, pixels, share, note),
                        strict=True,
                    )
                )
            )
    return rows


def _drought_rows(run_dir: Path, case: DemoCase) -> list[dict]:
    """One row per planted drought, read from ``run_dir/layers/drought/drought_class_<label>.tif``."""
    folder = run_dir / "layers" / "drought"
    rows = []
    for d in case.droughts:
        path = folder / f"drought_class_{d.label}.tif"
        pixels = int(d.mask.sum())
        if not path.exists() or pixels == 0 or case.drought_transform is None:
            share = float("nan")
        else:
            values = read_layer(path, case.drought_transform, d.mask.shape)
            share = 100.0 * int((d.mask & np.isin(values, d.expected)).sum()) / pixels
        expected = ", ".join(str(c) for c in d.expected)
        rows.append(
            dict(zip(COLUMNS, (d.name, d.label, "drought_class", expected, pixels, share, ""), strict=True))
        )
    return rows


def evaluate_demo(run_dir: Path, case: DemoCase) -> pd.DataFrame:
    """Share of each planted process's pixels that a run classed as expected.

    Reads ``run_dir/layers/<period>/<layer>.tif`` (int16, -32768 no data) and returns one row per
    (process, period, layer): ``process``, ``period``, ``layer``, ``expected`` (the accepted codes,
    e.g. "-1" or "1, 2"), ``pixels`` (pixels checked) and ``recovered`` (% of them with an accepted
    code; NaN if the layer file is missing). Pixels outside the area of interest or with no data
    count as not recovered. Then one row per planted drought (layer ``drought_class``, period the
    year or multi-year period), read from ``run_dir/layers/drought/drought_class_<label>.tif`` on
    the precipitation grid; its pixels are precipitation cells.
    """
    run_dir = Path(run_dir)
    rows = _process_rows(run_dir, case) + _drought_rows(run_dir, case)
    return pd.DataFrame(rows, columns=COLUMNS)


def run_demo(out: Path | None = None, quiet: bool = False) -> tuple[Result, pd.DataFrame]:
    """Build the demo inputs in ``out/inputs``, run the pipeline into ``out/run`` and evaluate it.

    ``out`` defaults to ``./ldnkit-demo``. Returns the pipeline's Result and the table of
    :func:`evaluate_demo`.
    """
    from ldnkit.config import load_config
    from ldnkit.run import run  # lazily: the demo builds its inputs without the run package

    out = Path(out) if out is not None else Path("ldnkit-demo")
    case = build_demo_inputs(out / "inputs", output=out / "run")
    cfg = load_config(case.config_path)
    result = run(cfg, quiet=quiet)
    return result, evaluate_demo(cfg.resolve(cfg.output), case)
