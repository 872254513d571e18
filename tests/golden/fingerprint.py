"""Fingerprint of a run folder: what a user sees, independent of how the code is laid out.

Every GeoTIFF under ``layers/``: the SHA-256 of its decoded pixels (all bands) with dtype, shape,
nodata, transform and CRS. Every table in summary.json: the SHA-256 of its canonical JSON. The
stored fingerprints in this folder were made by the commit before the stage-architecture redesign
(c0aa681) with ``python tests/golden/fingerprint.py demo|buffalo OUT.json``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import rasterio

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
DEMO_SIZE = 160


def layer_digest(path: Path) -> str:
    with rasterio.open(path) as src:
        data = src.read()
        head = json.dumps(
            [str(data.dtype), list(data.shape), src.nodata, list(src.transform)[:6], src.crs.to_wkt()]
        )
    h = hashlib.sha256(head.encode())
    h.update(np.ascontiguousarray(data).tobytes())
    return h.hexdigest()


def fingerprint(run_dir: Path) -> dict[str, dict[str, str]]:
    run_dir = Path(run_dir)
    layers = {
        str(p.relative_to(run_dir / "layers")): layer_digest(p)
        for p in sorted((run_dir / "layers").rglob("*.tif"))
    }
    summary = json.loads((run_dir / "summary.json").read_text())
    tables = {
        f"{scope}::{tid}": hashlib.sha256(json.dumps(t, sort_keys=True).encode()).hexdigest()
        for scope, per in summary.get("tables", {}).items()
        for tid, t in per.items()
    }
    return {"layers": layers, "tables": tables}


def demo_run(folder: Path, size: int = DEMO_SIZE) -> Path:
    """The demo landscape (every stage: SO1, corrections, neutrality, drought) at ``size`` pixels."""
    from ldnkit.config import load_config
    from ldnkit.demo import build_demo_inputs
    from ldnkit.run import run

    case = build_demo_inputs(folder / "inputs", size=size, output=folder / "run")
    cfg = load_config(case.config_path)
    cfg.report.html = False
    cfg.report.qgis_project = False
    return run(cfg, quiet=True).output


def buffalo_run(folder: Path) -> Path:
    """examples/buffalo.yaml on the real MODIS data in ../shared/data."""
    from ldnkit.config import load_config
    from ldnkit.run import run

    cfg = load_config(ROOT / "examples" / "buffalo.yaml")
    cfg.output = folder / "run"
    cfg.report.html = False
    cfg.report.qgis_project = False
    return run(cfg, quiet=True).output


if __name__ == "__main__":
    import tempfile

    which, out = sys.argv[1], Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as d:
        run_dir = (demo_run if which == "demo" else buffalo_run)(Path(d))
        out.write_text(json.dumps(fingerprint(run_dir), indent=1, sort_keys=True) + "\n")
