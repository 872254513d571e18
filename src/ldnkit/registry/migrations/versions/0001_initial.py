"""The registry's first schema: activities, versions, audit log, tokens, settings (+ GeoPackage tables).

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ldnkit.registry.gpkg import create_gpkg_tables, register_feature_table
from ldnkit.registry.models import GeometryColumn, JsonText, UtcDateTime, text_type

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _activity_columns() -> list[sa.Column]:
    text = text_type
    return [
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", text(36), nullable=False),
        sa.Column("name", text(200), nullable=False),
        sa.Column("name_key", text(200), nullable=False),
        sa.Column("site", text(200), nullable=False),
        sa.Column("region", text(200)),
        sa.Column("geometry", GeometryColumn(), nullable=False),
        *(sa.Column(c, sa.Float, nullable=False) for c in ("min_x", "min_y", "max_x", "max_y")),
        sa.Column("computed_area_ha", sa.Float, nullable=False),
        sa.Column("reported_area_ha", sa.Float),
        sa.Column("status", text(32), nullable=False),
        sa.Column("level", text(16)),
        sa.Column("start_date", sa.Date),
        sa.Column("end_date", sa.Date),
        sa.Column("practices", text(500), nullable=False),
        sa.Column("land_use_before", text(200)),
        sa.Column("land_use_after", text(200)),
        sa.Column("drivers", JsonText(), nullable=False),
        sa.Column("co_benefits", JsonText(), nullable=False),
        sa.Column("implementer", text(200)),
        sa.Column("funding", text(200)),
        sa.Column("establishment_cost_usd_ha", sa.Float),
        sa.Column("maintenance_cost_usd_ha", sa.Float),
        sa.Column("source", text(500)),
        sa.Column("created_by", text(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", text(200), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "activity",
        *_activity_columns(),
        sa.UniqueConstraint("site", "name_key", name="uq_activity_site_name"),
    )
    op.create_index("ix_activity_id", "activity", ["id"], unique=True)
    op.create_index("ix_activity_region", "activity", ["region"])
    op.create_index("ix_activity_status", "activity", ["status"])
    op.create_index("ix_activity_level", "activity", ["level"])
    op.create_index("ix_activity_bbox", "activity", ["min_x", "max_x", "min_y", "max_y"])
    op.create_table(
        "activity_version",
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("activity_id", text_type(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", text_type(16), nullable=False),
        sa.Column("geometry", GeometryColumn(), nullable=False),
        sa.Column("snapshot", JsonText(), nullable=False),
        sa.Column("changed_by", text_type(200), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("activity_id", "version", name="uq_activity_version"),
    )
    op.create_index("ix_activity_version_activity_id", "activity_version", ["activity_id"])
    op.create_table(
        "audit_log",
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("who", text_type(200), nullable=False),
        sa.Column("action", text_type(16), nullable=False),
        sa.Column("activity_id", text_type(36)),
        sa.Column("version", sa.Integer),
        sa.Column("changed_fields", JsonText(), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_activity_id", "audit_log", ["activity_id"])
    op.create_table(
        "api_token",
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", text_type(64), nullable=False, unique=True),
        sa.Column("role", text_type(16), nullable=False),
        sa.Column("label", text_type(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime()),
    )
    op.create_table(
        "registry_setting",
        sa.Column("key", text_type(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    if dialect == "postgresql":
        op.execute("CREATE INDEX ix_activity_geometry ON activity USING GIST (geometry)")
        op.execute("CREATE INDEX ix_activity_version_geometry ON activity_version USING GIST (geometry)")
    elif dialect == "sqlite":
        create_gpkg_tables(op.get_bind())
        register_feature_table(op.get_bind(), "activity", "Restoration and SLM activities (current)")
        register_feature_table(op.get_bind(), "activity_version", "Every version of every activity")


def downgrade() -> None:
    for table in ("registry_setting", "api_token", "audit_log", "activity_version", "activity"):
        op.drop_table(table)
