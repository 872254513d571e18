"""Validation of activity fields: each rule raises one :class:`RegistryError` naming the field.

Rules: the geometry is a valid (multi)polygon in lon/lat (an invalid one is refused and the repaired
one offered, ``shapely.make_valid``); it lies inside the registry's boundary when one is set; the
reported area is within :data:`AREA_TOLERANCE` of the geodesic area; the end date is not before the
start date; practices are catalogue codes and drivers are names of :mod:`ldnkit.drivers`; status and
level are known words; costs and areas are not negative. Duplicate names in one site are refused by
the store (it needs the database).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from ldnkit import drivers
from ldnkit.errors import ConfigError
from ldnkit.registry.catalogue import catalogue
from ldnkit.registry.errors import RegistryError
from ldnkit.registry.geometry import as_multipolygon, geodesic_area_ha
from ldnkit.registry.vocabulary import LEVELS, STATUSES

#: Reported area may differ from the computed (geodesic) area by this share of the computed area ...
AREA_TOLERANCE = 0.20
#: ... or by this many hectares, whichever is larger (small sites: digitising noise).
AREA_TOLERANCE_FLOOR_HA = 1.0

#: Fields a user may set (status has its own workflow once an activity exists).
EDITABLE_FIELDS: tuple[str, ...] = (
    "name",
    "site",
    "region",
    "geometry",
    "reported_area_ha",
    "level",
    "start_date",
    "end_date",
    "practices",
    "land_use_before",
    "land_use_after",
    "drivers",
    "co_benefits",
    "implementer",
    "funding",
    "establishment_cost_usd_ha",
    "maintenance_cost_usd_ha",
    "source",
)
_TEXT_FIELDS = ("region", "land_use_before", "land_use_after", "implementer", "funding", "source")
_NUMBER_FIELDS = ("reported_area_ha", "establishment_cost_usd_ha", "maintenance_cost_usd_ha")


def parse_geometry(value: Any, field: str = "geometry") -> BaseGeometry:
    """A shapely geometry from shapely, WKT, WKB, a GeoJSON geometry (dict or text)."""
    if isinstance(value, BaseGeometry):
        return value
    try:
        if isinstance(value, Mapping):
            return shape(value)
        if isinstance(value, bytes | bytearray | memoryview):
            return shapely.from_wkb(bytes(value))
        text = str(value).strip()
        if text.startswith("{"):
            return shape(json.loads(text))
        return shapely.from_wkt(text)
    except Exception as exc:  # shapely and json raise several kinds; all mean "not a geometry"
        raise RegistryError(
            field, f"is not a readable geometry ({exc})", "give WKT, WKB or a GeoJSON geometry"
        ) from exc


def check_geometry(value: Any, boundary: BaseGeometry | None = None, field: str = "geometry") -> BaseGeometry:
    """The activity's geometry as a valid MULTIPOLYGON in EPSG:4326, or a RegistryError."""
    geometry = parse_geometry(value, field)
    if geometry.is_empty:
        raise RegistryError(field, "is empty", "draw the site's polygon")
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise RegistryError(field, f"is a {geometry.geom_type}, not a polygon", "give the site's outline")
    minx, miny, maxx, maxy = geometry.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise RegistryError(
            field,
            f"has coordinates outside longitude/latitude ({geometry.bounds})",
            "give coordinates in EPSG:4326 (longitude, latitude in degrees)",
        )
    if not geometry.is_valid:
        repaired = as_multipolygon(shapely.make_valid(geometry))
        raise RegistryError(
            field,
            f"is not a valid polygon ({shapely.is_valid_reason(geometry)})",
            "fix the outline, or accept the repaired geometry offered (error.repaired)",
            repaired=repaired,
        )
    multipolygon = as_multipolygon(geometry)
    if boundary is not None and not boundary.buffer(1e-7).covers(multipolygon):
        raise RegistryError(
            field,
            "lies (partly) outside the registry's country boundary",
            "check the coordinates (longitude first) or clip the site to the boundary",
        )
    return multipolygon


def check_codes(values: Any, field: str) -> list[str]:
    """Practice codes (``field == "practices"``) or driver names (``"drivers"``), canonical spelling."""
    items = _as_list(values)
    if field == "practices":
        return [catalogue().practice(code).code for code in items]
    canonical = []
    for i, name in enumerate(items):
        try:
            canonical.append(drivers.validate_driver(name, f"drivers[{i}]"))
        except ConfigError as exc:  # same message, the registry's error type (HTTP 4xx later)
            raise RegistryError(field, exc.what, exc.fix) from None
    return canonical


def _as_list(values: Any) -> list[str]:
    if values is None or (isinstance(values, float) and values != values):
        return []
    if isinstance(values, str):
        text = values.strip()
        if text.startswith("["):
            return [str(v).strip() for v in json.loads(text)]
        return [v.strip() for v in text.split(";") if v.strip()]
    if isinstance(values, Iterable):
        return [str(v).strip() for v in values if str(v).strip()]
    return [str(values).strip()]


def _date(value: Any, field: str) -> dt.date | None:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise RegistryError(field, f"{value!r} is not a date", "write it as YYYY-MM-DD") from None


def _number(value: Any, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RegistryError(
            field, f"{value!r} is not a number", "give a number (hectares or USD/ha)"
        ) from None
    if number != number:
        return None
    if number < 0 or number == float("inf"):
        raise RegistryError(field, f"{number} is negative or infinite", "give a finite value >= 0")
    return number


def _choice(value: Any, field: str, valid: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    word = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if word not in valid:
        raise RegistryError(field, f"{value!r} is not one of {', '.join(valid)}", f"use one of {valid}")
    return word


def _text(value: Any, field: str, limit: int = 200) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = " ".join(str(value).split())
    if len(text) > limit:
        raise RegistryError(field, f"is {len(text)} characters long", f"shorten it to {limit} characters")
    return text or None


def check_fields(fields: Mapping[str, Any], boundary: BaseGeometry | None = None) -> dict[str, Any]:
    """Validated, normalised column values for the fields given (a partial update gives only some).

    Adds ``computed_area_ha`` and the bbox columns when ``geometry`` is given. Unknown fields are
    refused, so a typo never vanishes silently.
    """
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS) - {"status", "id"})
    if unknown:
        raise RegistryError(
            unknown[0], "is not a field of an activity", f"use one of {', '.join(EDITABLE_FIELDS)}"
        )
    out: dict[str, Any] = {}
    if "name" in fields:
        out["name"] = _text(fields["name"], "name")
        if not out["name"]:
            raise RegistryError("name", "is empty", "give the activity a name")
        out["name_key"] = out["name"].casefold()
    if "site" in fields:
        out["site"] = _text(fields["site"], "site") or ""
    for key in _TEXT_FIELDS:
        if key in fields:
            out[key] = _text(fields[key], key, 500 if key == "source" else 200)
    for key in _NUMBER_FIELDS:
        if key in fields:
            out[key] = _number(fields[key], key)
    for key in ("start_date", "end_date"):
        if key in fields:
            out[key] = _date(fields[key], key)
    if "level" in fields:
        out["level"] = _choice(fields["level"], "level", LEVELS)
    if "status" in fields:
        out["status"] = _choice(fields["status"], "status", STATUSES) or "draft"
    if "practices" in fields:
        out["practices"] = ";".join(check_codes(fields["practices"], "practices"))
    if "drivers" in fields:
        out["drivers"] = check_codes(fields["drivers"], "drivers")
    if "co_benefits" in fields:
        out["co_benefits"] = [_text(v, "co_benefits") for v in _as_list(fields["co_benefits"])]
    if "geometry" in fields:
        geometry = check_geometry(fields["geometry"], boundary)
        out["geometry"] = geometry
        out["computed_area_ha"] = geodesic_area_ha(geometry)
        out["min_x"], out["min_y"], out["max_x"], out["max_y"] = geometry.bounds
    return out


def check_consistency(row: Mapping[str, Any]) -> None:
    """Rules across fields of the complete activity: dates in order, reported area near computed."""
    start, end = row.get("start_date"), row.get("end_date")
    if start and end and end < start:
        raise RegistryError("end_date", f"{end} is before start_date {start}", "swap or correct the dates")
    reported, computed = row.get("reported_area_ha"), row.get("computed_area_ha")
    if reported is not None and computed is not None:
        allowed = max(AREA_TOLERANCE * computed, AREA_TOLERANCE_FLOOR_HA)
        if abs(reported - computed) > allowed:
            raise RegistryError(
                "reported_area_ha",
                f"{reported:.2f} ha is far from the area of the geometry ({computed:.2f} ha, geodesic)",
                f"check the polygon or the figure (tolerance: {AREA_TOLERANCE:.0%} or "
                f"{AREA_TOLERANCE_FLOOR_HA:g} ha, whichever is larger)",
            )
