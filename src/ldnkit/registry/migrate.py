"""Schema migrations with Alembic; the scripts ship inside the package (``migrations/``)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migration scripts (and ``connection``)."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("ldnkit.registry") / "migrations"))
    config.attributes["connection"] = connection
    return config


def upgrade_schema(connection: Connection) -> None:
    """Bring the schema to the newest revision, inside the caller's transaction."""
    command.upgrade(alembic_config(connection), "head")


def schema_revision(connection: Connection) -> str | None:
    """The schema's current revision (None before the first upgrade)."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
