"""A run's SO1 status and LPD layers as PNG images for the web page's map (``serve --run DIR``).

Each layer (``layers/<period>/status.tif`` or ``lpd.tif`` of a run folder) is warped to Web Mercator
(EPSG:3857, nearest neighbour, so codes stay codes) at most ``max_size`` pixels on a side and
coloured with the legend stored in the file; nodata and codes outside the legend are transparent.
Leaflet stretches an image overlay linearly in Web Mercator between its corners, so an image warped
to EPSG:3857 lies exactly where its pixels are. Rendered once per layer and kept in memory.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from ldnkit import codes
from ldnkit.io.legend import read_legend

#: Layer file stem -> title on the page (SO1: the SDG 15.3.1 status, land productivity dynamics).
OVERLAY_LAYERS: dict[str, str] = {"status": "SO1 status", "lpd": "Land productivity dynamics"}
#: Legends used when a file carries none (a layer written by another tool).
DEFAULT_LEGENDS: dict[str, codes.Legend] = {"status": codes.DEGRADATION, "lpd": codes.LPD}


@dataclass(frozen=True)
class Overlay:
    """One layer of a run that the page can show: ``key`` as in the URL, title, file."""

    key: str
    title: str
    path: Path


@dataclass
class RenderedOverlay:
    """A coloured PNG, its lon/lat corners ``(south, west, north, east)`` and its legend."""

    png: bytes
    bounds: tuple[float, float, float, float]
    legend: list[dict[str, str | int]] = field(default_factory=list)


def find_overlays(run: str | Path) -> list[Overlay]:
    """The status and LPD layers of a run folder, by period (empty when there are none)."""
    layers = Path(run) / "layers"
    found = []
    for path in sorted(layers.glob("*/*.tif")):
        if path.stem in OVERLAY_LAYERS:
            period = path.parent.name
            found.append(Overlay(f"{period}-{path.stem}", f"{OVERLAY_LAYERS[path.stem]} ({period})", path))
    return found


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def render_overlay(overlay: Overlay, max_size: int = 1024) -> RenderedOverlay:
    """Warp ``overlay`` to EPSG:3857 and colour it by its legend (RGBA PNG, nodata transparent)."""
    legend = read_legend(overlay.path) or DEFAULT_LEGENDS[overlay.path.stem]
    with (
        rasterio.open(overlay.path) as src,
        WarpedVRT(src, crs="EPSG:3857", resampling=Resampling.nearest) as vrt,
    ):
        scale = max(vrt.width, vrt.height) / max_size
        height = max(1, round(vrt.height / max(scale, 1.0)))
        width = max(1, round(vrt.width / max(scale, 1.0)))
        values = vrt.read(1, out_shape=(height, width), resampling=Resampling.nearest, masked=True)
        left, bottom, right, top = vrt.bounds
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    valid = ~np.ma.getmaskarray(values)
    data = np.asarray(values.data)
    for code, colour in zip(legend.codes, legend.colours, strict=True):
        where = valid & (data == code)
        rgba[where] = (*_hex_rgb(colour), 255)
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", optimize=True)
    to_lonlat = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    west, south = to_lonlat.transform(left, bottom)
    east, north = to_lonlat.transform(right, top)
    entries = [
        {"code": int(c), "name": n, "colour": col}
        for c, n, col in zip(legend.codes, legend.names, legend.colours, strict=True)
    ]
    return RenderedOverlay(buffer.getvalue(), (south, west, north, east), entries)
