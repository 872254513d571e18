"""Registry fixtures: the same tests run on the embedded GeoPackage file and on a throwaway PostGIS.

The PostGIS server is started once per test session (per xdist worker) with Debian's PostgreSQL 15
binaries (``.ci/ensure-postgis`` installs them) in a temporary folder, listening on a unix socket
there only; each test gets a fresh database made from a template that has the postgis extension.
Without PostgreSQL/PostGIS the PostGIS tests skip, or fail when CI is set.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ldnkit.registry import Store, open_store

PG_BIN = Path(os.environ.get("LDNKIT_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
BACKENDS = ("sqlite", "postgis")


@dataclass
class PostgisServer:
    """A running throwaway server: its socket folder and a way to make fresh databases."""

    socket_dir: Path
    run_as: list[str]
    counter: itertools.count

    def psql(self, sql: str, database: str = "postgres") -> None:
        cmd = [
            *self.run_as,
            str(PG_BIN / "psql"),
            "-h",
            str(self.socket_dir),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.socket_dir)

    def new_database(self) -> str:
        name = f"registry_{os.getpid()}_{next(self.counter)}"
        self.psql(f"CREATE DATABASE {name} TEMPLATE registry_template")
        return f"postgresql://postgres@/{name}?host={self.socket_dir}"


def _missing_postgis(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the PostGIS registry tests (see .ci/ensure-postgis)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[PostgisServer]:
    """Start PostgreSQL + PostGIS in a temporary folder (as user postgres when we are root)."""
    if not (PG_BIN / "initdb").exists() or not POSTGIS_CONTROL.exists():
        _missing_postgis(f"PostgreSQL 15 with PostGIS is not installed ({PG_BIN}, {POSTGIS_CONTROL})")
    folder = Path(tempfile.mkdtemp(prefix="ldnkit-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run(
        [*run_as, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    options = f"-k {folder} -c listen_addresses='' -c max_connections=200 -c fsync=off"
    subprocess.run(
        [
            *run_as,
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            options,
            "start",
        ],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    server = PostgisServer(folder, run_as, itertools.count())
    try:
        server.psql("CREATE DATABASE registry_template")
        server.psql("CREATE EXTENSION postgis", database="registry_template")
        yield server
    finally:
        subprocess.run(
            [*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            cwd=folder,
        )
        shutil.rmtree(folder, ignore_errors=True)


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
