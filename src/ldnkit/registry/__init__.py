"""The activity registry: restoration and sustainable-land-management activities, stored in an
embedded GeoPackage file (default) or PostgreSQL + PostGIS, validated, versioned and audited.

See docs/registry.md. ``open_store(path_or_url, upgrade=True)`` is the entry point.
"""

from __future__ import annotations

from ldnkit.registry.catalogue import Catalogue, Practice, catalogue
from ldnkit.registry.errors import NotFoundError, RegistryError, StaleVersionError, TransitionError
from ldnkit.registry.query import ActivityQuery, parse_datetime_interval
from ldnkit.registry.store import Page, Store, open_store

__all__ = [
    "ActivityQuery",
    "Catalogue",
    "NotFoundError",
    "Page",
    "Practice",
    "RegistryError",
    "StaleVersionError",
    "Store",
    "TransitionError",
    "catalogue",
    "open_store",
    "parse_datetime_interval",
]
