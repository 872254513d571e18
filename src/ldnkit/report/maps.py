"""Maps of run layers: decimated reads, the GeoTIFF legend colours, scale bar, ticks, outlines.

A map is read at most ``max_pixels`` pixels (rasterio ``out_shape``: nearest for categorical layers,
average for continuous ones; GDAL uses the file's overviews when it has them), so a 100 M-pixel
layer draws as fast as a small one. Colours come from the layer's own legend (the ``LDNKIT_LEGEND``
tag, else the ``.aux.xml`` raster attribute table, else the GeoTIFF colour table), so a map shows
exactly the colours of the file in QGIS.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: the report runs on servers

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap, TwoSlopeNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402
from PIL import Image  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402

from ldnkit import codes  # noqa: E402

__all__ = ["MapData", "Boundaries", "read_map", "read_boundaries", "draw_map", "map_figure", "png_uri"]

from ldnkit.io.legend import LEGEND_TAG  # noqa: E402

#: Continuous layers whose values are a change around 0 (diverging colours centred on 0).
_DIVERGING_HINTS = ("change", "slope", "spi", "trend", "z_score")


@dataclass
class MapData:
    """A (decimated) layer ready to draw: values, extent and how to colour them."""

    values: np.ndarray  # 2-D; categorical: int codes (nodata -> masked); continuous: float (NaN missing)
    extent: tuple[float, float, float, float]  # left, right, bottom, top in CRS units
    crs: Any  # rasterio CRS or None
    legend: codes.Legend | None
    categorical: bool
    name: str = ""
    units: str = ""
    shape_full: tuple[int, int] = (0, 0)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def geographic(self) -> bool:
        return bool(self.crs is not None and self.crs.is_geographic)


@dataclass
class Boundaries:
    """Outlines drawn on every map: the area of interest and the sub-national regions (GeoDataFrames)."""

    aoi: Any = None
    regions: Any = None
    name_field: str = "name"


# ------------------------------------------------------------------------------------------------
# legends
# ------------------------------------------------------------------------------------------------


def _legend_from_aux(path: Path) -> codes.Legend | None:
    """Legend from the raster attribute table GDAL keeps in ``<file>.aux.xml`` (Value, name, RGB)."""
    aux = Path(str(path) + ".aux.xml")
    if not aux.exists():
        return None
    try:
        root = ET.parse(aux).getroot()
    except ET.ParseError:
        return None
    rat = root.find(".//GDALRasterAttributeTable")
    if rat is None:
        return None
    usage: dict[int, int] = {}
    for fd in rat.findall("FieldDefn"):
        usage[int(fd.get("index", "0"))] = int(fd.findtext("Usage", "0"))
    col = {u: i for i, u in usage.items()}  # GFU_MinMax=5 value, 2 name, 6/7/8 RGB
    out_codes, names, colours = [], [], []
    for row in rat.findall("Row"):
        f = [x.text or "" for x in row.findall("F")]
        try:
            code = int(float(f[col.get(5, 0)]))
            rgb = [int(float(f[col[u]])) for u in (6, 7, 8)]
        except (KeyError, ValueError, IndexError):
            return None
        out_codes.append(code)
        names.append(f[col[2]] if 2 in col else str(code))
        colours.append("#{:02x}{:02x}{:02x}".format(*rgb))
    if not out_codes:
        return None
    return codes.Legend(aux.stem, tuple(out_codes), tuple(names), tuple(colours))


def _legend_of(src: rasterio.io.DatasetReader, path: Path) -> codes.Legend | None:
    text = src.tags().get(LEGEND_TAG)
    if text:
        d = json.loads(text)
        return codes.Legend(d["name"], tuple(d["codes"]), tuple(d["names"]), tuple(d["colours"]))
    legend = _legend_from_aux(path)
    if legend is not None:
        return legend
    try:  # a plain GeoTIFF colour table: codes with a non-transparent colour
        cmap = src.colormap(1)
    except ValueError:
        return None
    items = [(k, v) for k, v in sorted(cmap.items()) if v[3] > 0 and k != src.nodata]
    if not items or len(items) > 256:
        return None
    return codes.Legend(
        path.stem,
        tuple(k for k, _ in items),
        tuple(str(k) for k, _ in items),
        tuple("#{:02x}{:02x}{:02x}".format(*v[:3]) for _, v in items),
    )


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------


def _out_shape(height: int, width: int, max_pixels: int) -> tuple[int, int]:
    if height * width <= max_pixels:
        return height, width
    f = math.sqrt(height * width / max_pixels)
    return max(1, int(height / f)), max(1, int(width / f))


def read_map(path: str | os.PathLike, max_pixels: int = 600_000, band: int = 1) -> MapData:
    """Read band ``band`` of a GeoTIFF decimated to at most ``max_pixels`` pixels.

    Categorical layers (integer dtype, or any layer with a legend) are resampled by nearest neighbour
    and keep their codes; continuous layers by average (NaN / nodata ignored).

    Example
    -------
    >>> md = read_map("run/layers/baseline/sdg.tif")          # doctest: +SKIP
    >>> md.legend.names                                          # doctest: +SKIP
    ('Degraded', 'Stable', 'Improved')
    """
    path = Path(path)
    with rasterio.open(path) as src:
        legend = _legend_of(src, path)
        categorical = legend is not None or np.issubdtype(np.dtype(src.dtypes[band - 1]), np.integer)
        h, w = _out_shape(src.height, src.width, max_pixels)
        resampling = Resampling.nearest if categorical else Resampling.average
        arr = src.read(band, out_shape=(h, w), resampling=resampling, masked=True)
        b = src.bounds
        tags = src.tags()
        attrs: dict[str, Any] = {}
        if "LDNKIT_ATTRS" in tags:
            try:
                attrs = json.loads(tags["LDNKIT_ATTRS"])
            except ValueError:
                attrs = {}
        units = str(attrs.get("units", tags.get("units", "")) or "")
        crs, full = src.crs, (src.height, src.width)
    if categorical:
        values = np.ma.masked_array(arr.data.astype(np.int64), mask=np.ma.getmaskarray(arr))
        if np.issubdtype(arr.dtype, np.floating):
            values.mask |= ~np.isfinite(arr.data)
    else:
        values = arr.astype(np.float64).filled(np.nan)
    return MapData(
        values=values,
        extent=(b.left, b.right, b.bottom, b.top),
        crs=crs,
        legend=legend,
        categorical=categorical,
        name=path.stem,
        units=units,
        shape_full=full,
        attrs=attrs,
    )


def from_dataarray(da: Any, max_pixels: int = 600_000, legend: codes.Legend | None = None) -> MapData:
    """A :class:`MapData` from a 2-D ``(y, x)`` DataArray (numpy- or dask-backed), strided to at most
    ``max_pixels`` pixels (only the strided pixels are computed)."""
    if da.ndim != 2:
        raise ValueError(f"map_layer needs a 2-D (y, x) layer, got dims {da.dims}")
    h, w = da.shape
    step = max(1, math.ceil(math.sqrt(h * w / max_pixels)))
    sub = da[::step, ::step]
    values = np.asarray(sub.values)
    xs, ys = np.asarray(da["x"].values), np.asarray(da["y"].values)
    dx = float(xs[1] - xs[0]) if len(xs) > 1 else 1.0
    dy = float(ys[1] - ys[0]) if len(ys) > 1 else -1.0
    left, right = float(xs[0] - dx / 2), float(xs[-1] + dx / 2)
    top, bottom = float(ys[0] - dy / 2), float(ys[-1] + dy / 2)
    if bottom > top:
        top, bottom = bottom, top
        values = values[::-1]
    try:
        crs = da.rio.crs
    except Exception:  # no rioxarray accessor / CRS: plain coordinates
        crs = None
    if legend is None and "legend" in da.attrs and isinstance(da.attrs["legend"], str):
        legend = next(
            (v for v in vars(codes).values() if isinstance(v, codes.Legend) and v.name == da.attrs["legend"]),
            None,
        )
    if legend is None and isinstance(da.attrs.get("codes"), dict):
        cs = sorted(int(k) for k in da.attrs["codes"])
        known = {c: codes.DEGRADATION.colour_of(c) for c in codes.DEGRADATION.codes}
        legend = codes.Legend(
            str(da.name or "layer"),
            tuple(cs),
            tuple(str(da.attrs["codes"][str(c)] if str(c) in da.attrs["codes"] else c) for c in cs),
            tuple(known.get(c, codes.QUALITATIVE_COLOURS[i % 20]) for i, c in enumerate(cs)),
        )
    categorical = legend is not None or np.issubdtype(values.dtype, np.integer)
    if categorical:
        mask = (values == codes.NODATA) if np.issubdtype(values.dtype, np.integer) else ~np.isfinite(values)
        fv = da.attrs.get("_FillValue")
        if fv is not None and np.issubdtype(values.dtype, np.integer):
            mask |= values == fv
        vals = np.ma.masked_array(np.where(mask, 0, values).astype(np.int64), mask=mask)
        if legend is None:
            present = sorted(int(c) for c in np.unique(vals.compressed()))[:20]
            legend = codes.Legend(
                str(da.name or "layer"),
                tuple(present),
                tuple(str(c) for c in present),
                tuple(codes.QUALITATIVE_COLOURS[: len(present)]),
            )
    else:
        vals = values.astype(np.float64)
    return MapData(
        values=vals,
        extent=(left, right, bottom, top),
        crs=crs,
        legend=legend,
        categorical=categorical,
        name=str(da.name or ""),
        units=str(da.attrs.get("units", "")),
        shape_full=(h, w),
        attrs=dict(da.attrs),
    )


def read_boundaries(run_dir: str | os.PathLike) -> Boundaries | None:
    """The outlines of ``run_dir/boundaries.gpkg`` (layers ``area_of_interest`` and ``regions``, field
    ``name``); ``None`` when the run has no such file or it cannot be read."""
    p = Path(run_dir) / "boundaries.gpkg"
    if not p.exists():
        return None
    import geopandas as gpd
    import pyogrio

    try:
        layers = {str(name) for name, _ in pyogrio.list_layers(p)}
    except Exception:  # an unreadable file only costs the outlines, not the report
        return None
    out = Boundaries()
    for layer in ("area_of_interest", "regions"):
        if layer in layers:
            try:
                gdf = gpd.read_file(p, layer=layer, engine="pyogrio")
            except Exception:
                continue
            gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
            setattr(out, "aoi" if layer == "area_of_interest" else "regions", gdf if len(gdf) else None)
    return out if (out.aoi is not None or out.regions is not None) else None


# ------------------------------------------------------------------------------------------------
# drawing
# ------------------------------------------------------------------------------------------------


def km_per_unit(md: MapData) -> float | None:
    """Kilometres per x-axis unit at the map's centre latitude (geographic: per degree of longitude
    on the CRS's ellipsoid); ``None`` when the CRS is unknown."""
    if md.crs is None:
        return None
    if md.geographic:
        import pyproj

        lat = (md.extent[2] + md.extent[3]) / 2.0
        lon = (md.extent[0] + md.extent[1]) / 2.0
        try:
            geod = pyproj.CRS.from_user_input(md.crs.to_wkt()).get_geod()
        except Exception:
            geod = None
        geod = geod or pyproj.Geod(ellps="WGS84")
        _, _, dist = geod.inv(lon - 0.5, lat, lon + 0.5, lat)
        return dist / 1000.0
    try:
        factor = float(md.crs.linear_units_factor[1])
    except Exception:
        factor = 1.0
    return factor / 1000.0


def _nice_length(km: float) -> float:
    """The largest 1, 2 or 5 x 10^n km not above ``km``."""
    if km <= 0:
        return 0.0
    e = 10 ** math.floor(math.log10(km))
    for m in (5, 2, 1):
        if m * e <= km:
            return m * e
    return e


def _scale_bar(ax: Axes, md: MapData) -> None:
    kpu = km_per_unit(md)
    if not kpu:
        return
    left, right, bottom, top = md.extent
    width_km = (right - left) * kpu
    length_km = _nice_length(width_km / 4.0)
    if length_km <= 0:
        return
    length = length_km / kpu
    x0 = left + (right - left) * 0.04
    y0 = bottom + (top - bottom) * 0.05
    hbar = (top - bottom) * 0.012
    pad_x, pad_y = (right - left) * 0.015, (top - bottom) * 0.015
    ax.add_patch(
        Rectangle(
            (x0 - pad_x, y0 - pad_y),
            length + 2 * pad_x,
            hbar + 6.5 * pad_y,
            facecolor="white",
            edgecolor="none",
            alpha=0.8,
            zorder=5,
        )
    )
    for i in range(4):  # alternate black and white quarters, like a printed map
        ax.add_patch(
            Rectangle(
                (x0 + i * length / 4, y0),
                length / 4,
                hbar,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=6,
            )
        )
    label = f"{length_km:g} km" if length_km >= 1 else f"{length_km * 1000:g} m"
    ax.text(x0 + length / 2, y0 + hbar + pad_y, label, ha="center", va="bottom", fontsize=8, zorder=7)


def _degrees(v: float, pos: str, neg: str) -> str:
    hemi = pos if v > 0 else neg if v < 0 else ""
    return f"{abs(v):.6g}°{hemi}"


def _ticks(ax: Axes, md: MapData) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    if md.geographic:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _degrees(round(v, 6), "E", "W")))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _degrees(round(v, 6), "N", "S")))
    elif md.crs is not None:
        kpu = km_per_unit(md) or 0.001
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * kpu:,.0f}"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * kpu:,.0f}"))
        ax.set_xlabel("x (km)", fontsize=8)
        ax.set_ylabel("y (km)", fontsize=8)
    ax.tick_params(labelsize=7.5, direction="out", length=3)
    ax.yaxis.set_tick_params(rotation=90)
    for lab in ax.get_yticklabels():
        lab.set_verticalalignment("center")


def _outlines(ax: Axes, md: MapData, boundaries: Boundaries | None) -> None:
    if boundaries is None:
        return
    for gdf, kw in (
        (boundaries.regions, {"edgecolor": "#333333", "linewidth": 0.8, "linestyle": (0, (4, 2))}),
        (boundaries.aoi, {"edgecolor": "black", "linewidth": 1.4}),
    ):
        if gdf is None:
            continue
        g = gdf
        if md.crs is not None and gdf.crs is not None:
            try:
                g = gdf.to_crs(md.crs.to_wkt())
            except Exception:
                continue
        g.boundary.plot(
            ax=ax, color=kw["edgecolor"], linewidth=kw["linewidth"], linestyle=kw.get("linestyle", "solid")
        )
    regions = boundaries.regions
    if regions is not None and boundaries.name_field in regions.columns and len(regions) <= 30:
        g = regions.to_crs(md.crs.to_wkt()) if (md.crs is not None and regions.crs is not None) else regions
        for name, geom in zip(g[boundaries.name_field], g.geometry, strict=True):
            pt = geom.representative_point()
            ax.text(
                pt.x,
                pt.y,
                str(name),
                ha="center",
                va="center",
                fontsize=8,
                zorder=8,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.7, "edgecolor": "none"},
            )


def _categorical(ax: Axes, md: MapData, max_legend: int) -> list[Patch]:
    legend = md.legend
    vals = md.values
    data = np.ma.getdata(vals)
    mask = np.ma.getmaskarray(vals)
    if legend is None:  # integer layer without a legend: qualitative colours for the codes present
        present = sorted(int(c) for c in np.unique(data[~mask]))[:20]
        legend = codes.Legend(
            md.name,
            tuple(present),
            tuple(str(c) for c in present),
            tuple(codes.QUALITATIVE_COLOURS[: len(present)]),
        )
    lcodes = np.asarray(legend.codes, dtype=np.int64)
    order = np.argsort(lcodes)
    sorted_codes = lcodes[order]
    # code -> index into the legend's colours; codes outside the legend are left blank (masked)
    pos = np.clip(np.searchsorted(sorted_codes, data), 0, len(sorted_codes) - 1)
    known = (sorted_codes[pos] == data) & ~mask
    idx = np.ma.masked_array(order[pos], mask=~known)
    cmap = ListedColormap(list(legend.colours)).with_extremes(bad=(0, 0, 0, 0))
    norm = BoundaryNorm(np.arange(len(legend.codes) + 1) - 0.5, len(legend.codes))
    ax.imshow(idx, cmap=cmap, norm=norm, extent=md.extent, interpolation="nearest", origin="upper")
    shown = np.unique(idx.compressed())
    # small legends: every class (so maps of different periods match); large ones: the classes present
    chosen = range(len(legend.codes)) if len(legend.codes) <= max_legend else sorted(int(i) for i in shown)
    handles: list[Patch] = []
    same = False
    for i in chosen:
        name = legend.names[i]
        if legend.name == "land_cover_transition" and " -> " in name:
            a, b = name.split(" -> ", 1)
            if a == b:  # the 7 "no change" transitions share one grey: one legend entry
                if not same:
                    handles.insert(
                        0, Patch(facecolor=legend.colours[i], edgecolor="#555555", lw=0.5, label="No change")
                    )
                same = True
                continue
            name = f"{a} → {b}"
        if len(name) > 30:  # long run-time class names would squeeze the map out of the figure
            name = name[:29] + "…"
        handles.append(Patch(facecolor=legend.colours[i], edgecolor="#555555", linewidth=0.5, label=name))
    if len(handles) > 20:
        extra = len(handles) - 19
        handles = handles[:19] + [Patch(facecolor="none", edgecolor="none", label=f"… {extra} more classes")]
    return handles


def _continuous(ax: Axes, fig: Figure, md: MapData) -> None:
    v = md.values
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        lo, hi = 0.0, 1.0
    else:
        lo, hi = (float(x) for x in np.percentile(finite, [2, 98]))
    # a change is coloured around 0 even when all of it has one sign (red loss, green gain)
    diverging = any(h in md.name.lower() for h in _DIVERGING_HINTS) and (lo < 0 or hi > 0)
    if diverging:
        m = max(abs(lo), abs(hi))
        norm = TwoSlopeNorm(vcenter=0.0, vmin=-m, vmax=m)
        cmap = "RdYlGn" if "spi" not in md.name.lower() else "BrBG"
    else:
        norm = matplotlib.colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
        cmap = "YlGn" if "soc" in md.name.lower() else "viridis"
    im = ax.imshow(np.ma.masked_invalid(v), cmap=cmap, norm=norm, extent=md.extent, interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, extend="both")
    cb.ax.tick_params(labelsize=7.5)
    if md.units:
        cb.set_label(md.units, fontsize=8)


def draw_map(
    ax: Axes,
    md: MapData,
    *,
    boundaries: Boundaries | None = None,
    title: str | None = None,
    legend: bool = True,
    max_legend: int = 12,
) -> None:
    """Draw ``md`` on ``ax`` with its legend (or colour bar), scale bar, ticks and outlines."""
    fig = ax.figure
    ax.set_facecolor("#f4f4f4")  # no-data and outside-the-raster show as light grey
    handles: list[Patch] = []
    if md.categorical:
        handles = _categorical(ax, md, max_legend)
    else:
        _continuous(ax, fig, md)
    _outlines(ax, md, boundaries)
    ax.set_xlabel("")  # geopandas labels the axes with the CRS's axis names; the ticks say it all
    ax.set_ylabel("")
    ax.set_xlim(md.extent[0], md.extent[1])
    ax.set_ylim(md.extent[2], md.extent[3])
    if md.geographic:  # true shape at the centre latitude
        lat = (md.extent[2] + md.extent[3]) / 2.0
        ax.set_aspect(1.0 / max(math.cos(math.radians(lat)), 0.05))
    else:
        ax.set_aspect("equal")
    _ticks(ax, md)
    _scale_bar(ax, md)
    if title:
        # wrapped to the figure: a long title (layer, period, unit) was cut at the right edge
        fig_px = ax.figure.get_figwidth() * ax.figure.dpi
        ax.set_title(
            textwrap.fill(title, max(30, int((fig_px - 150) / 9))),
            fontsize=10.5,
            loc="left",
            fontweight="bold",
        )
    if legend and handles:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize=8,
            frameon=False,
            handlelength=1.3,
            handleheight=1.1,
            ncol=1,
        )


def map_figure(
    md: MapData,
    *,
    boundaries: Boundaries | None = None,
    title: str | None = None,
    width: float = 6.4,
) -> Figure:
    """A standalone Figure of one map (legend to the right of the map)."""
    left, right, bottom, top = md.extent
    ratio = (top - bottom) / max(right - left, 1e-12)
    if md.geographic:
        ratio /= max(math.cos(math.radians((top + bottom) / 2.0)), 0.05)
    map_w = width * 0.58
    height = min(max(map_w * ratio + 0.9, 2.8), 8.0)
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    draw_map(ax, md, boundaries=boundaries, title=title)
    return fig


def png_uri(fig: Figure | None, dpi: int = 100) -> str | None:
    """``fig`` as an inline ``data:image/png;base64,...`` URI (None for no figure).

    The image is quantised to a 256-colour palette (the report's maps and charts use far fewer
    distinct colours than a full RGB PNG spends bytes on: the demo report's images shrink ~4x with no
    visible change), with near-white palette entries snapped to white so backgrounds stay white.
    """
    if fig is None:
        return None
    # drawn straight to an RGBA buffer: a PNG written by savefig would be encoded and decoded again
    fig.set_dpi(dpi)
    fig.patch.set_facecolor("white")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    paletted = rgb.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    palette = np.asarray(paletted.getpalette(), dtype=np.uint8).reshape(-1, 3)
    palette[(palette >= _NEAR_WHITE).all(axis=1)] = 255
    paletted.putpalette(palette.ravel().tolist())
    out = io.BytesIO()
    # zlib level 8: within 1 % of the smallest (optimize=True) at a quarter of its time
    paletted.save(out, format="PNG", compress_level=8)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


#: palette entries at least this bright in every channel become pure white (octree quantisation
#: turns a white background into 248-254 grey)
_NEAR_WHITE = 245
