"""Speed of the footprint stage's map part (issue 15): the degraded share of each producer polygon's
cropland and grazing land from the SO1 status and land cover (``ldnkit.footprint.degraded_share_by_zone``,
one weighted cross-tabulation pass, ``ldnkit.crosstab``), on synthetic lazy (dask) layers of
4096 x 4096 and 8192 x 8192 pixels in 1024-pixel blocks, 200 producer zones; the ellipsoidal pixel
areas of a geographic grid (``ldnkit.area.cell_area``). The flow computation itself is measured by
benchmarks/footprint.py.

Usage::

    python benchmarks/footprint_stage.py           # prints the section
    python benchmarks/footprint_stage.py --write   # ... and appends it to benchmarks/results.md
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

from ldnkit.area import cell_area
from ldnkit.footprint import degraded_share_by_zone

RESULTS = Path(__file__).with_name("results.md")
CHUNK = 1024


def layers(size: int, zones: int = 200, seed: int = 0) -> tuple[xr.DataArray, ...]:
    """Lazy status (-1/0/1, 5 % no data), land cover (UNCCD 1..7) and zone ids on a 0.0025° grid."""
    rs = da.random.RandomState(seed)
    y = -0.0025 * (np.arange(size) + 0.5)
    x = 36.0 + 0.0025 * (np.arange(size) + 0.5)

    def wrap(arr: da.Array) -> xr.DataArray:
        layer = xr.DataArray(arr.astype("int16"), dims=("y", "x"), coords={"y": y, "x": x})
        return layer.rio.write_crs("EPSG:4326")

    status = rs.choice(
        np.array([-1, 0, 1, -32768]), size=(size, size), p=[0.2, 0.6, 0.15, 0.05], chunks=CHUNK
    )
    land_cover = rs.randint(1, 8, size=(size, size), chunks=CHUNK)
    zone = rs.randint(1, zones + 1, size=(size, size), chunks=CHUNK)
    return wrap(status), wrap(land_cover), wrap(zone)


def bench(size: int) -> dict:
    import rioxarray  # noqa: F401  (the .rio accessor)

    status, land_cover, zones = layers(size)
    names = {i: f"P{i:03d}" for i in range(1, 201)}
    t = time.perf_counter()
    shares = degraded_share_by_zone(status, land_cover, cell_area(status), zones, names)
    seconds = time.perf_counter() - t
    # the random status is degraded with probability 0.2 / 0.95 wherever it has one
    gap = float(np.abs(shares["degraded_share"] - 0.2 / 0.95).max())
    return {"size": size, "seconds": seconds, "rows": len(shares), "gap": gap}


def section(results: list[dict]) -> str:
    load = os.getloadavg()[0]
    lines = [
        "## Footprint stage: degraded shares from the maps",
        "",
        "`degraded_share_by_zone` (SO1 status x land cover x 200 producer zones, ellipsoidal pixel areas, "
        f"one cross-tabulation pass over lazy 1024-pixel blocks, the random layers generated inside the "
        f"timing; 2 shared cores, load average {load:.1f}):",
        "",
        "| pixels | seconds | Mpixel/s | share rows | max gap to the planted share |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        n = r["size"] ** 2
        rate = n / 1e6 / r["seconds"]
        lines.append(
            f"| {r['size']} x {r['size']} ({n / 1e6:.0f} M) | {r['seconds']:.1f} | {rate:.1f} "
            f"| {r['rows']} | {r['gap']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="append the section to benchmarks/results.md")
    args = parser.parse_args()
    text = section([bench(4096), bench(8192)])
    print(text)
    if args.write:
        RESULTS.write_text(RESULTS.read_text().rstrip("\n") + "\n\n" + text)


if __name__ == "__main__":
    main()
