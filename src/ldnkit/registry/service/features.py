"""Activities as GeoJSON features and back; ETags from versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shapely.geometry import mapping

from ldnkit.registry.errors import RegistryError
from ldnkit.registry.validation import EDITABLE_FIELDS


def etag(version: int) -> str:
    """The ETag of an activity version (a strong validator)."""
    return f'"{int(version)}"'


def version_from_if_match(header: str | None) -> int:
    """The version an ``If-Match`` header names; 428 (as RegistryError) when it is missing."""
    if not header:
        error = RegistryError("If-Match", "header is missing", 'send the ETag you read, e.g. If-Match: "3"')
        error.status_code = 428
        raise error
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 12:
        raise RegistryError(
            "If-Match", f"{header[:40]!r} is not an ETag of this service", "send the ETag you read"
        )
    return int(text)


def _property_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def to_feature(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A GeoJSON Feature of an activity record, with its self link."""
    properties = {k: _property_value(v) for k, v in record.items() if k not in ("geometry", "id")}
    return {
        "type": "Feature",
        "id": record["id"],
        "geometry": mapping(record["geometry"]),
        "properties": properties,
        "links": [
            {
                "href": f"{base_url}/collections/activities/items/{record['id']}",
                "rel": "self",
                "type": "application/geo+json",
            },
        ],
    }


def fields_from_feature(body: Any, replace: bool) -> dict[str, Any]:
    """Activity fields from a GeoJSON Feature body (all editable fields when ``replace``)."""
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise RegistryError(
            "body", "is not a GeoJSON Feature", 'send {"type": "Feature", "geometry": ..., ...}'
        )
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise RegistryError("properties", "is not an object", "send the fields as a JSON object")
    read_only = {"computed_area_ha", "created_by", "created_at", "updated_by", "updated_at", "version"}
    fields = {k: v for k, v in properties.items() if k not in read_only}
    if body.get("geometry") is not None:
        fields["geometry"] = body["geometry"]
    if replace:
        fields = {key: fields.get(key) for key in EDITABLE_FIELDS} | (
            {"status": fields["status"]} if "status" in fields else {}
        )
        fields["site"] = fields.get("site") or ""
    return fields
