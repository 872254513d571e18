"""Activity geometries: multipolygons in EPSG:4326, their geodesic area and the GeoPackage blob.

A GeoPackage geometry blob is a small header (``GP``, version 0, flags, SRS id, envelope) followed by
standard WKB (OGC GeoPackage 1.3, §2.1.3); QGIS and GDAL read it directly.
"""

from __future__ import annotations

import struct

import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

SRID = 4326
_GEOD = Geod(ellps="WGS84")
_HEADER = struct.Struct("<2sBBi4d")  # magic, version, flags, srs_id, minx, maxx, miny, maxy
_FLAGS_LE_XY_ENVELOPE = 0b0000_0011  # little-endian, envelope [minx, maxx, miny, maxy]


def geodesic_area_ha(geometry: BaseGeometry) -> float:
    """Area of a lon/lat (EPSG:4326) geometry on the WGS84 ellipsoid, in hectares."""
    area_m2, _ = _GEOD.geometry_area_perimeter(geometry)
    return abs(area_m2) / 10_000.0


def as_multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    """``geometry`` as a MultiPolygon: polygons kept, a geometry collection reduced to its polygons."""
    if isinstance(geometry, MultiPolygon):
        return geometry
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    polygons: list[Polygon] = []
    for part in getattr(geometry, "geoms", []):
        if isinstance(part, Polygon | MultiPolygon):
            polygons.extend(as_multipolygon(part).geoms)
    return MultiPolygon(polygons)


def to_gpkg_blob(geometry: BaseGeometry, srid: int = SRID) -> bytes:
    """The GeoPackage geometry blob of ``geometry`` (little-endian header with an XY envelope)."""
    minx, miny, maxx, maxy = geometry.bounds
    header = _HEADER.pack(b"GP", 0, _FLAGS_LE_XY_ENVELOPE, srid, minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geometry, byte_order=1, flavor="iso")


def from_gpkg_blob(blob: bytes) -> BaseGeometry:
    """The geometry held in a GeoPackage geometry blob (any byte order and envelope kind)."""
    blob = bytes(blob)
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob (no 'GP' magic)")
    flags = blob[3]
    envelope_doubles = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}[(flags >> 1) & 0b111]
    return shapely.from_wkb(blob[8 + 8 * envelope_doubles :])


def from_wkb_or_gpkg(value: bytes | str | memoryview) -> BaseGeometry:
    """A geometry from a database value: a GeoPackage blob, WKB bytes or hex (E)WKB text (PostGIS)."""
    if isinstance(value, str):
        return shapely.from_wkb(bytes.fromhex(value))
    data = bytes(value)
    return from_gpkg_blob(data) if data[:2] == b"GP" else shapely.from_wkb(data)
