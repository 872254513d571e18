"""Database engines for the two backends: an embedded GeoPackage/SQLite file and PostgreSQL + PostGIS.

SQLite runs in WAL mode with a busy timeout so several writers (threads or processes) wait for each
other instead of failing; write transactions start with ``BEGIN IMMEDIATE`` so two writers never
deadlock upgrading a read lock. PostgreSQL is reached with psycopg 3 (``postgresql+psycopg://``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

#: Seconds a SQLite writer waits for another one before giving up.
SQLITE_BUSY_TIMEOUT_S = 60


def database_url(location: str | Path) -> str:
    """The SQLAlchemy URL of a registry: a file path (embedded) or a ``postgresql://`` URL.

    >>> database_url("postgresql://u@localhost/reg")
    'postgresql+psycopg://u@localhost/reg'
    """
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(write engine, read engine) for ``url``; the same engine twice except on SQLite."""
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        return engine, engine
    return _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False)


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}, pool_size=10
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: committed data survive a crash of ours
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
