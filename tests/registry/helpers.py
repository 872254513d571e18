"""Small builders shared by the registry tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shapely.geometry import box


def square(x: float = 10.0, y: float = 10.0, size: float = 0.01):
    """A lon/lat square polygon (0.01 degree at 10°N is about 121 ha)."""
    return box(x, y, x + size, y + size)


def activity(name: str = "Terraces A", **fields: Any) -> dict[str, Any]:
    """Fields of a valid activity, overridden by ``fields``."""
    base: dict[str, Any] = {
        "name": name,
        "site": "Upper basin",
        "region": "North",
        "geometry": square(),
        "reported_area_ha": 120.0,
        "level": "reverse",
        "start_date": "2020-03-01",
        "end_date": "2023-12-31",
        "practices": ["S1", "V1"],
        "drivers": ["Rangeland management"],
        "co_benefits": ["biodiversity"],
        "implementer": "Ministry of Environment",
        "funding": "GEF",
        "establishment_cost_usd_ha": 450.0,
        "maintenance_cost_usd_ha": 35.0,
        "land_use_before": "grazing land",
        "land_use_after": "mixed land",
        "source": "field survey 2023",
    }
    base.update(fields)
    return base


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_service(location: str, log: Path, *args: str) -> Iterator[str]:
    """Run ``python -m ldnkit.registry.service location *args`` on a free loopback port; yield its
    base URL once it answers, stop it afterwards (its output goes to ``log``)."""
    import httpx

    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ldnkit.registry.service", location, "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                httpx.get(f"{base}/conformance", timeout=10)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log.read_text()) from None
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def write_run_layers(run: Path) -> None:
    """A minimal run folder: ``layers/baseline/lpd.tif`` and ``layers/reporting_1/status.tif`` on a
    UTM grid (zone 32N) around 10.05°E 10.05°N, written as the pipeline writes layers."""
    import numpy as np
    import xarray as xr

    from ldnkit import codes
    from ldnkit.io.write import write_layer

    x0, y0, size, cell = 615_000.0, 1_105_000.0, 40, 250.0  # about 10.05°E 10.0°N in EPSG:32632
    xs = x0 + cell * (np.arange(size) + 0.5)
    ys = y0 + size * cell - cell * (np.arange(size) + 0.5)
    lpd = (np.arange(size * size).reshape(size, size) % 5 + 1).astype("int16")
    status = (np.arange(size * size).reshape(size, size) // size % 3 - 1).astype("int16")
    for folder, name, values, legend in (
        ("baseline", "lpd", lpd, codes.LPD),
        ("reporting_1", "status", status, codes.DEGRADATION),
    ):
        da = xr.DataArray(values, dims=("y", "x"), coords={"y": ys, "x": xs}, name=name)
        da = da.rio.write_crs("EPSG:32632")
        (run / "layers" / folder).mkdir(parents=True, exist_ok=True)
        write_layer(da, run / "layers" / folder / f"{name}.tif", legend=legend)
