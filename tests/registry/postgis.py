"""A throwaway PostgreSQL + PostGIS server in a temporary folder (the tests' and the benchmark's).

Debian's PostgreSQL 15 binaries (``.ci/ensure-postgis`` installs them) run as user postgres when
we are root, listening on a unix socket in the folder only; each caller gets fresh databases made
from a template that has the postgis extension. Plain functions (no pytest), so
``benchmarks/registry.py`` can load this file too.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("LDNKIT_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")


@dataclass
class PostgisServer:
    """A running throwaway server: its folder (socket and data) and a way to make fresh databases."""

    socket_dir: Path
    run_as: list[str]
    counter: itertools.count

    def psql(self, sql: str, database: str = "postgres") -> None:
        cmd = [*self.run_as, str(PG_BIN / "psql"), "-h", str(self.socket_dir), "-U", "postgres"]
        cmd += ["-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.socket_dir)

    def new_database(self) -> str:
        name = f"registry_{os.getpid()}_{next(self.counter)}"
        self.psql(f"CREATE DATABASE {name} TEMPLATE registry_template")
        return f"postgresql://postgres@/{name}?host={self.socket_dir}"

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its folder."""
        subprocess.run(
            [*self.run_as, str(PG_BIN / "pg_ctl"), "-D", str(self.socket_dir / "data"), "-m", "immediate"]
            + ["-w", "stop"],
            capture_output=True,
            cwd=self.socket_dir,
        )
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def missing_postgis() -> str | None:
    """Why no server can be started here, or None when PostgreSQL 15 + PostGIS are installed."""
    if not (PG_BIN / "initdb").exists() or not POSTGIS_CONTROL.exists():
        return f"PostgreSQL 15 with PostGIS is not installed ({PG_BIN}, {POSTGIS_CONTROL})"
    return None


def start_postgis() -> PostgisServer:
    """Start PostgreSQL + PostGIS in a new temporary folder (as user postgres when we are root)."""
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
        [*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o", options]
        + ["start"],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    server = PostgisServer(folder, run_as, itertools.count())
    try:
        server.psql("CREATE DATABASE registry_template")
        server.psql("CREATE EXTENSION postgis", database="registry_template")
    except BaseException:
        server.stop()
        raise
    return server
