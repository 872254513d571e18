"""The file-format contract of a layer's metadata: what :mod:`ldnkit.io.write` stores beside the
pixels and what the report, the QGIS project and the workbook read back.

- GeoTIFF metadata item :data:`LEGEND_TAG`: the legend of a categorical layer (JSON: name, codes,
  names, colours);
- GeoTIFF metadata item :data:`ATTRS_TAG`: every attribute / tag of the layer (JSON, exact round
  trip), plus each tag as a plain GDAL metadata item;
- ``<layer>.tif.aux.xml``: a GDAL Raster Attribute Table per band (value, name, RGBA);
- ``<layer>.qml``: a QGIS paletted style.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import rasterio

from ldnkit import codes

#: GeoTIFF metadata item holding the legend of a categorical layer (JSON).
LEGEND_TAG = "LDNKIT_LEGEND"


#: GeoTIFF metadata item holding every attribute / tag of a layer (JSON, exact round trip).
ATTRS_TAG = "LDNKIT_ATTRS"


def gdal_tags(tags: Mapping[str, Any], legend: codes.Legend | None) -> dict[str, str]:
    """GeoTIFF metadata items of a layer: each tag (name made GDAL-safe; non-strings as JSON), all
    of them as JSON in :data:`ATTRS_TAG`, and the legend as JSON in :data:`LEGEND_TAG`."""
    out: dict[str, str] = {}
    for k, v in tags.items():
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", k)
        out[safe] = v if isinstance(v, str) else json.dumps(v)
    out[ATTRS_TAG] = json.dumps(tags)
    if legend is not None:
        out[LEGEND_TAG] = json.dumps(_legend_dict(legend))
    return out


def _legend_dict(legend: codes.Legend) -> dict[str, Any]:
    return {
        "name": legend.name,
        "codes": list(legend.codes),
        "names": list(legend.names),
        "colours": list(legend.colours),
    }


def rat_xml(legend: codes.Legend, bands: int) -> str:
    """GDAL PAM sidecar with a thematic Raster Attribute Table per band.

    Field types: 0 integer, 2 string; usages: 5 MinMax (class value), 2 Name, 6-9 Red, Green,
    Blue, Alpha (GDALRATFieldType / GDALRATFieldUsage)."""
    fields = [
        ("Value", 0, 5),
        ("Class name", 2, 2),
        ("Red", 0, 6),
        ("Green", 0, 7),
        ("Blue", 0, 8),
        ("Alpha", 0, 9),
    ]
    lines = ["<PAMDataset>"]
    for b in range(1, bands + 1):
        lines.append(f'  <PAMRasterBand band="{b}">')
        lines.append('    <GDALRasterAttributeTable tableType="thematic">')
        for i, (name, ftype, usage) in enumerate(fields):
            lines.append(
                f'      <FieldDefn index="{i}"><Name>{escape(name)}</Name><Type>{ftype}</Type>'
                f"<Usage>{usage}</Usage></FieldDefn>"
            )
        for i, (code, name, colour) in enumerate(
            zip(legend.codes, legend.names, legend.colours, strict=True)
        ):
            r, g, bl, a = codes.hex_to_rgba(colour)
            cells = "".join(f"<F>{escape(str(v))}</F>" for v in (code, name, r, g, bl, a))
            lines.append(f'      <Row index="{i}">{cells}</Row>')
        lines.append("    </GDALRasterAttributeTable>")
        lines.append("  </PAMRasterBand>")
    lines.append("</PAMDataset>")
    return "\n".join(lines) + "\n"


def qml_style(legend: codes.Legend, nodata: float | None) -> str:
    """QGIS layer style: paletted renderer with one entry (value, colour, label) per code."""
    entries = "\n".join(
        f"        <paletteEntry value={quoteattr(str(c))} color={quoteattr(col.lower())} "
        f'alpha="255" label={quoteattr(f"{c} {n}")}/>'
        for c, n, col in zip(legend.codes, legend.names, legend.colours, strict=True)
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="AllStyleCategories">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" '
        'nodataColor="">\n'
        "      <rasterTransparency/>\n"
        "      <colorPalette>\n"
        f"{entries}\n"
        "      </colorPalette>\n"
        "    </rasterrenderer>\n"
        '    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>\n'
        '    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>\n'
        '    <rasterresampler maxOversampling="2"/>\n'
        "  </pipe>\n"
        "  <blendMode>0</blendMode>\n"
        "</qgis>\n"
    )


def read_legend(path: str | os.PathLike) -> codes.Legend | None:
    """The legend stored by :func:`ldnkit.io.write.write_layer` in ``path`` (``None`` if it has none)."""
    with rasterio.open(path) as src:
        text = src.tags().get(LEGEND_TAG)
    if not text:
        return None
    d = json.loads(text)
    return codes.Legend(d["name"], tuple(d["codes"]), tuple(d["names"]), tuple(d["colours"]))


def read_tags(path: str | os.PathLike) -> dict[str, Any]:
    """Attributes/tags written by :func:`ldnkit.io.write.write_layer` (exact JSON round trip); for
    other files, the plain GeoTIFF metadata."""
    with rasterio.open(path) as src:
        tags = src.tags()
    if ATTRS_TAG in tags:
        return json.loads(tags[ATTRS_TAG])
    return dict(tags)
