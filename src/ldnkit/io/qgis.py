"""A QGIS 3 project (``project.qgs``) opening every layer of a run folder, styled and grouped.

The project is plain QGIS 3 XML with RELATIVE data sources (``./layers/...``), so the run folder
can be moved or zipped. Categorical layers embed the paletted renderer of the ``.qml`` written
beside them by :func:`ldnkit.io.write.write_layer` (same classes, colours and labels; generated
from the legend stored in the GeoTIFF when the ``.qml`` is missing). Continuous layers get a
pseudocolour ramp whose limits are the 2nd-98th percentiles of the file (read from its smallest
overview, so this stays cheap on national rasters), symmetric around 0 for signed quantities
(SPI, trend slope, SOC change).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import rasterio
from rasterio.crs import CRS

from ldnkit import codes
from ldnkit.io.legend import qml_style, read_legend
from ldnkit.layer_meta import LAYER_TAG, group_rank, sorted_entries

PROJECT_NAME = "project.qgs"
QGIS_VERSION = "3.22.0-Białowieża"  # the oldest QGIS this was checked with; newer ones read it

#: Continuous layers whose colour ramp is centred on 0 (red negative, blue/green positive).
_DIVERGING = ("spi", "trend_slope", "soc_change")
_RAMP_DIVERGING = ("#d7191c", "#fdae61", "#f7f7f7", "#a6d96a", "#1a9641")
_RAMP_SEQUENTIAL = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")
_RAMP_PEOPLE = ("#fff5eb", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603")


@dataclass
class _Layer:
    name: str
    source: str  # relative to the project, "./..."
    kind: str  # "raster" | "vector"
    group: tuple[str, ...]
    crs: CRS | None
    extent: tuple[float, float, float, float]
    renderer: ET.Element
    visible: bool = False
    geometry: str = "Polygon"
    layer_id: str = field(default="")


# --- renderers ----------------------------------------------------------------------------------


def paletted_renderer(tif: Path) -> ET.Element | None:
    """The paletted ``<rasterrenderer>`` of the ``.qml`` beside ``tif`` (or built from the legend
    stored in the GeoTIFF); None for a layer without a legend."""
    qml = tif.with_suffix(".qml")
    if qml.is_file():
        r = ET.parse(qml).getroot().find(".//rasterrenderer")
        if r is not None and r.get("type") == "paletted":
            return r
    legend = read_legend(tif)
    if legend is None:
        return None
    return ET.fromstring(qml_style(legend, codes.NODATA)).find(".//rasterrenderer")


def _sample(tif: Path, max_size: int = 512) -> np.ndarray:
    """Finite values of band 1 read at <= max_size pixels a side (GDAL uses the overviews)."""
    with rasterio.open(tif) as src:
        f = max(1, int(np.ceil(max(src.width, src.height) / max_size)))
        shape = (max(1, src.height // f), max(1, src.width // f))
        a = src.read(1, out_shape=shape, masked=True).astype("float64")
    v = a.filled(np.nan).ravel()
    return v[np.isfinite(v)]


def _hex_rgb(h: str) -> str:
    r, g, b, _ = codes.hex_to_rgba(h)
    return f"{r},{g},{b},255"


def pseudocolor_renderer(tif: Path) -> ET.Element:
    """A single-band pseudocolour renderer with limits from the file's 2nd-98th percentiles."""
    v = _sample(tif)
    stem = tif.stem.lower()
    if v.size:
        lo, hi = (float(x) for x in np.percentile(v, [2, 98]))
    else:
        lo, hi = 0.0, 1.0
    if stem.startswith(_DIVERGING):
        m = max(abs(lo), abs(hi)) or 1.0
        lo, hi, ramp = -m, m, _RAMP_DIVERGING
    else:
        ramp = _RAMP_PEOPLE if re.search(r"population|exposed|people", stem) else _RAMP_SEQUENTIAL
    if hi <= lo:
        hi = lo + 1.0
    r = ET.Element(
        "rasterrenderer",
        type="singlebandpseudocolor",
        band="1",
        opacity="1",
        alphaBand="-1",
        classificationMin=repr(lo),
        classificationMax=repr(hi),
        nodataColor="",
    )
    ET.SubElement(r, "rasterTransparency")
    mmo = ET.SubElement(r, "minMaxOrigin")
    for k, val in (
        ("limits", "None"),
        ("extent", "WholeRaster"),
        ("statAccuracy", "Estimated"),
        ("cumulativeCutLower", "0.02"),
        ("cumulativeCutUpper", "0.98"),
        ("stdDevFactor", "2"),
    ):
        ET.SubElement(mmo, k).text = val
    shader = ET.SubElement(r, "rastershader")
    crs_ = ET.SubElement(
        shader,
        "colorrampshader",
        colorRampType="INTERPOLATED",
        classificationMode="1",
        clip="0",
        minimumValue=repr(lo),
        maximumValue=repr(hi),
        labelPrecision="4",
    )
    ramp_el = ET.SubElement(crs_, "colorramp", type="gradient", name="[source]")
    opt = ET.SubElement(ramp_el, "Option", type="Map")
    stops = ";".join(f"{i / (len(ramp) - 1):g};{_hex_rgb(c)}" for i, c in enumerate(ramp[1:-1], 1))
    for k, val in (
        ("color1", _hex_rgb(ramp[0])),
        ("color2", _hex_rgb(ramp[-1])),
        ("discrete", "0"),
        ("rampType", "gradient"),
        ("stops", stops),
    ):
        ET.SubElement(opt, "Option", name=k, type="QString", value=val)
    for i, c in enumerate(ramp):
        value = lo + (hi - lo) * i / (len(ramp) - 1)
        ET.SubElement(crs_, "item", alpha="255", value=repr(value), label=f"{value:.4g}", color=c)
    return r


def _outline_renderer(colour: str, width_mm: float) -> ET.Element:
    r = ET.Element("renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0", forceraster="0")
    symbols = ET.SubElement(r, "symbols")
    sym = ET.SubElement(
        symbols, "symbol", type="fill", name="0", alpha="1", clip_to_extent="1", force_rhr="0"
    )
    lay = ET.SubElement(sym, "layer", {"class": "SimpleFill", "enabled": "1", "pass": "0", "locked": "0"})
    opt = ET.SubElement(lay, "Option", type="Map")
    for k, val in (
        ("color", "255,255,255,0"),
        ("style", "no"),
        ("outline_color", _hex_rgb(colour)),
        ("outline_style", "solid"),
        ("outline_width", f"{width_mm:g}"),
        ("outline_width_unit", "MM"),
        ("joinstyle", "bevel"),
    ):
        ET.SubElement(opt, "Option", name=k, type="QString", value=val)
    ET.SubElement(r, "rotation")
    ET.SubElement(r, "sizescale")
    return r


# --- discovering the layers ---------------------------------------------------------------------


def _entry_of_file(tif: Path, layers_dir: Path) -> dict[str, Any]:
    """The metadata a layer file carries (its LAYER_TAG); a file without it goes to "Other"."""
    with rasterio.open(tif) as src:
        text = src.tags().get(LAYER_TAG)
    if text:
        return dict(json.loads(text))
    return {"title": tif.relative_to(layers_dir).with_suffix("").as_posix(), "group": "Other"}


def layer_entries(run_dir: Path, summary: Mapping | None) -> dict[Path, Mapping[str, Any]]:
    """Every GeoTIFF under ``run_dir/layers`` with its metadata entry: summary.json's ``layers``
    first, else the file's own LAYER_TAG, else a bare entry in group "Other"."""
    layers_dir = run_dir / "layers"
    listed = {
        run_dir / str(e["path"]): e
        for e in ((summary or {}).get("layers") or {}).values()
        if isinstance(e, Mapping) and e.get("path")
    }
    files = sorted(layers_dir.rglob("*.tif")) if layers_dir.is_dir() else []
    files = [t for t in files if not any(p.startswith(".") for p in t.relative_to(layers_dir).parts)]
    return {t: listed.get(t) or _entry_of_file(t, layers_dir) for t in files}


def _raster_groups(
    run_dir: Path, summary: Mapping | None, periods: list[str]
) -> list[tuple[tuple[str, ...], Path, str]]:
    """(group path, file, layer name) of every layer, in display order: group (GROUP_ORDER), then
    subgroup (periods in run order, then the others by their first layer's order), then order."""
    by_file = layer_entries(run_dir, summary)
    keyed = {t.relative_to(run_dir).as_posix(): t for t in by_file}
    ordered = sorted_entries({k: by_file[t] for k, t in keyed.items()})
    first_order: dict[tuple[str, str], float] = {}
    for _, e in ordered:
        sub = (str(e.get("group") or "Other"), str(e.get("subgroup") or ""))
        first_order.setdefault(sub, e.get("order", 100))

    def subgroup_rank(item: tuple[str, Mapping[str, Any]]) -> tuple:
        e = item[1]
        group, sub = str(e.get("group") or "Other"), str(e.get("subgroup") or "")
        if sub in periods:
            return (group_rank(group), 0, periods.index(sub), "")
        return (group_rank(group), 1, first_order[(group, sub)], sub)

    out = []
    for k, e in sorted(ordered, key=subgroup_rank):  # stable: keeps the order within a subgroup
        group, sub = str(e.get("group") or "Other"), e.get("subgroup")
        title = str(e.get("title") or keyed[k].stem)
        if sub in periods and str(sub) not in title:  # the same layer exists in every period
            title = f"{title} ({sub})"
        out.append(((group, str(sub)) if sub else (group,), keyed[k], title))
    return out


def _raster_layer(run_dir: Path, group: tuple[str, ...], tif: Path, name: str) -> _Layer:
    with rasterio.open(tif) as src:
        crs, b = src.crs, src.bounds
    renderer = paletted_renderer(tif)
    if renderer is None:
        renderer = pseudocolor_renderer(tif)
    return _Layer(
        name=name,
        source="./" + tif.relative_to(run_dir).as_posix(),
        kind="raster",
        group=group,
        crs=crs,
        extent=(b.left, b.bottom, b.right, b.top),
        renderer=renderer,
    )


def _vector_layers(run_dir: Path) -> list[_Layer]:
    gpkg = run_dir / "boundaries.gpkg"
    if not gpkg.is_file():
        return []
    import pyogrio

    out = []
    names = [str(n) for n, _ in pyogrio.list_layers(gpkg)]
    names.sort(key=lambda n: (n != "area_of_interest", n))
    for n in names:
        info = pyogrio.read_info(gpkg, layer=n)
        b = info.get("total_bounds")
        if b is None or not np.all(np.isfinite(b)):
            b = (0.0, 0.0, 0.0, 0.0)
        crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
        aoi = n == "area_of_interest"
        geom = str(info.get("geometry_type") or "Polygon")
        out.append(
            _Layer(
                name=n,
                source=f"./boundaries.gpkg|layername={n}",
                kind="vector",
                group=("Boundaries",),
                crs=crs,
                extent=tuple(float(x) for x in b),
                renderer=_outline_renderer("#000000" if aoi else "#555555", 0.7 if aoi else 0.35),
                visible=True,
                geometry=geom,
            )
        )
    return out


# --- XML ----------------------------------------------------------------------------------------


def _srs(parent: ET.Element, crs: CRS | None) -> None:
    s = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    if crs is None:
        return
    import pyproj

    p = pyproj.CRS.from_user_input(crs.to_wkt())
    ET.SubElement(s, "wkt").text = p.to_wkt()
    with warnings.catch_warnings():  # PROJ strings are lossy; QGIS reads the WKT first anyway
        warnings.simplefilter("ignore", UserWarning)
        ET.SubElement(s, "proj4").text = p.to_proj4() or ""
    epsg = p.to_epsg()
    ET.SubElement(s, "srsid").text = "0"
    ET.SubElement(s, "srid").text = str(epsg or 0)
    ET.SubElement(s, "authid").text = f"EPSG:{epsg}" if epsg else ""
    ET.SubElement(s, "description").text = p.name
    ET.SubElement(s, "projectionacronym").text = ""
    ET.SubElement(s, "ellipsoidacronym").text = ""
    ET.SubElement(s, "geographicflag").text = "true" if p.is_geographic else "false"


def _extent(parent: ET.Element, tag: str, ext: tuple[float, float, float, float]) -> None:
    e = ET.SubElement(parent, tag)
    for k, v in zip(("xmin", "ymin", "xmax", "ymax"), ext, strict=True):
        ET.SubElement(e, k).text = repr(float(v))


def _layer_id(layer: _Layer) -> str:
    h = hashlib.sha1(layer.source.encode()).hexdigest()[:12]
    return re.sub(r"[^A-Za-z0-9_]", "_", layer.name)[:40] + "_" + h


def _maplayer(parent: ET.Element, layer: _Layer) -> None:
    attrs = {"type": layer.kind, "refreshOnNotifyEnabled": "0", "autoRefreshEnabled": "0"}
    if layer.kind == "vector":
        attrs.update(geometry="Polygon", wkbType=layer.geometry)
    m = ET.SubElement(parent, "maplayer", attrs)
    _extent(m, "extent", layer.extent)
    ET.SubElement(m, "id").text = layer.layer_id
    ET.SubElement(m, "datasource").text = layer.source
    ET.SubElement(m, "layername").text = layer.name
    _srs(ET.SubElement(m, "srs"), layer.crs)
    if layer.kind == "raster":
        ET.SubElement(m, "provider").text = "gdal"
        pipe = ET.SubElement(m, "pipe")
        pipe.append(layer.renderer)
        ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
        ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", colorizeOn="0")
        ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    else:
        ET.SubElement(m, "provider", encoding="UTF-8").text = "ogr"
        m.append(layer.renderer)
    ET.SubElement(m, "blendMode").text = "0"


def _tree(root: ET.Element, layers: list[_Layer]) -> None:
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    groups: dict[tuple[str, ...], ET.Element] = {(): tree}

    def group_of(path: tuple[str, ...]) -> ET.Element:
        if path not in groups:
            parent = group_of(path[:-1])
            expanded = "1" if len(path) == 1 else "0"
            g = ET.SubElement(
                parent, "layer-tree-group", name=path[-1], checked="Qt::Checked", expanded=expanded
            )
            ET.SubElement(g, "customproperties")
            groups[path] = g
        return groups[path]

    for lay in layers:
        ET.SubElement(
            group_of(lay.group),
            "layer-tree-layer",
            id=lay.layer_id,
            name=lay.name,
            source=lay.source,
            providerKey="gdal" if lay.kind == "raster" else "ogr",
            checked="Qt::Checked" if lay.visible else "Qt::Unchecked",
            expanded="0",
        )


def _grid_extent(summary: Mapping | None) -> tuple[float, float, float, float] | None:
    g = (summary or {}).get("grid") or {}
    t, w, h = g.get("transform"), g.get("width"), g.get("height")
    if not t or not w or not h:
        return None
    a, b, c, d, e, f = t[:6]
    xs = [c, c + a * w, c + b * h, c + a * w + b * h]
    ys = [f, f + d * w, f + e * h, f + d * w + e * h]
    return (min(xs), min(ys), max(xs), max(ys))


def write_qgis_project(run_dir: str | Path, summary: Mapping | None = None) -> Path:
    """Write ``run_dir/project.qgs``: every layer of the run, styled, grouped, with relative paths.

    Each layer is placed, named and ordered by its metadata entry (summary.json's ``layers``, else
    the file's ``LDNKIT_LAYER`` tag; see :mod:`ldnkit.layer_meta`): group (in
    :data:`~ldnkit.layer_meta.GROUP_ORDER`), then subgroup (the run's periods in order, then the
    others), then ``order``; named by its title (plus the period for per-period layers). A file
    without metadata goes to "Other". The layers of ``boundaries.gpkg`` (if present) form the group
    "Boundaries", drawn on top.
    Project CRS = the run's CRS, initial extent = the grid (``summary["grid"]``; read from
    ``run_dir/summary.json`` when ``summary`` is None). Only the outlines and the most recent
    indicator layer are switched on. Returns the project path.

    Example
    -------
    >>> write_qgis_project("runs/kenya")                               # doctest: +SKIP
    PosixPath('runs/kenya/project.qgs')
    """
    run_dir = Path(run_dir)
    if summary is None and (run_dir / "summary.json").is_file():
        summary = json.loads((run_dir / "summary.json").read_text())
    periods = [str(p.get("name")) for p in (summary or {}).get("periods", []) if isinstance(p, Mapping)]
    layers = [_raster_layer(run_dir, g, t, n) for g, t, n in _raster_groups(run_dir, summary, periods)]
    layers += _vector_layers(run_dir)
    # the layer tree draws its first layers on top: outlines first, then the rest
    layers.sort(key=lambda lay: lay.group[0] != "Boundaries")
    for lay in layers:
        lay.layer_id = _layer_id(lay)
    sdg = [lay for lay in layers if lay.group[0] == "SDG 15.3.1" and lay.source.endswith("/sdg.tif")]
    status = [lay for lay in layers if lay.group[0] == "SDG 15.3.1" and lay.source.endswith("/status.tif")]
    if status or sdg:
        (status or sdg)[-1].visible = True

    grid = (summary or {}).get("grid") or {}
    crs = (
        CRS.from_user_input(grid["crs"]) if grid.get("crs") else next((x.crs for x in layers if x.crs), None)
    )
    extent = _grid_extent(summary) or next((x.extent for x in layers), (0.0, 0.0, 1.0, 1.0))
    title = str((summary or {}).get("title") or f"ldnkit run {run_dir.name}")

    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    _srs(ET.SubElement(root, "projectCrs"), crs)
    _tree(root, layers)
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "degrees" if crs is not None and crs.is_geographic else "meters"
    _extent(canvas, "extent", extent)
    ET.SubElement(canvas, "rotation").text = "0"
    _srs(ET.SubElement(canvas, "destinationsrs"), crs)
    plist = ET.SubElement(root, "projectlayers")
    for lay in layers:
        _maplayer(plist, lay)
    order = ET.SubElement(root, "layerorder")
    for lay in layers:
        ET.SubElement(order, "layer", id=lay.layer_id)
    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    srs = ET.SubElement(props, "SpatialRefSys")  # QGIS reads <projectCrs> only when this is set
    ET.SubElement(srs, "ProjectionsEnabled", type="int").text = "1"
    ET.indent(root)
    path = run_dir / PROJECT_NAME
    text = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )
    path.write_text(text + "\n", encoding="utf-8")
    return path


def project_layers(project: str | Path) -> list[dict[str, Any]]:
    """The layers of a project written by :func:`write_qgis_project`: name, source (relative),
    provider, group path and renderer type (for checks and reports)."""
    root = ET.parse(project).getroot()
    groups: dict[str, tuple[str, ...]] = {}

    def walk(el: ET.Element, path: tuple[str, ...]) -> None:
        for ch in el:
            if ch.tag == "layer-tree-group":
                walk(ch, (*path, ch.get("name", "")))
            elif ch.tag == "layer-tree-layer":
                groups[ch.get("id", "")] = path

    tree = root.find("layer-tree-group")
    if tree is not None:
        walk(tree, ())
    out = []
    for m in root.iter("maplayer"):
        lid = m.findtext("id", "")
        r = m.find("pipe/rasterrenderer")
        out.append(
            {
                "id": lid,
                "name": m.findtext("layername", ""),
                "source": m.findtext("datasource", ""),
                "provider": m.findtext("provider", ""),
                "group": groups.get(lid, ()),
                "renderer": r.get("type") if r is not None else "vector",
            }
        )
    return out
