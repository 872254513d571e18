"""Registry fixtures: the same tests run on the embedded GeoPackage file and on a throwaway PostGIS.

The PostGIS server (``postgis.py``) is started once per test session (per xdist worker); each test
gets a fresh database made from a template that has the postgis extension.
Without PostgreSQL/PostGIS the PostGIS tests skip, or fail when CI is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ldnkit.registry import Store, open_store

from .postgis import PostgisServer, missing_postgis, start_postgis

BACKENDS = ("sqlite", "postgis")


def _missing_postgis(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the PostGIS registry tests (see .ci/ensure-postgis)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[PostgisServer]:
    """Start PostgreSQL + PostGIS in a temporary folder once per session (per xdist worker)."""
    reason = missing_postgis()
    if reason:
        _missing_postgis(reason)
    server = start_postgis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def registry_location(request, tmp_path) -> str:
    """Where a fresh registry lives: a GeoPackage file or a new PostGIS database (by backend)."""
    if request.param == "postgis":
        return request.getfixturevalue("postgis_server").new_database()
    return str(tmp_path / "registry.gpkg")


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> Iterator[Store]:
    """A fresh, migrated registry on each backend."""
    if request.param == "postgis":
        location = request.getfixturevalue("postgis_server").new_database()
    else:
        location = str(tmp_path / "registry.gpkg")
    registry = open_store(location, upgrade=True)
    yield registry
    registry.close()
