"""SQLAlchemy 2 ORM models of the registry: activities, their versions, the audit log, tokens, settings.

One set of tables for both backends. The geometry column is a GeoPackage geometry blob in the embedded
file (so QGIS opens the ``activity`` table as a layer) and a PostGIS ``geometry(MULTIPOLYGON, 4326)``
(GeoAlchemy2) on PostgreSQL. Bounding-box columns (``min_x`` ...) serve bbox queries on both.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from geoalchemy2 import Geometry
from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

from ldnkit.registry.geometry import SRID, from_wkb_or_gpkg, to_gpkg_blob


def text_type(length: int) -> TypeEngine[str]:
    """VARCHAR(n), declared TEXT(n) in the GeoPackage file (the column types GDAL and QGIS accept)."""
    return String(length).with_variant(sqlite.TEXT(length), "sqlite")


class _GpkgDateTime(UserDefinedType):
    """The declared type of a GeoPackage DATETIME column (ISO 8601 text, made by UtcDateTime)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "DATETIME"


class UtcDateTime(TypeDecorator):
    """A UTC time to the millisecond; in the GeoPackage file the spec's ``YYYY-MM-DDTHH:MM:SS.SSSZ`` text."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect is not None and dialect.name == "sqlite":
            return dialect.type_descriptor(_GpkgDateTime())
        return dialect.type_descriptor(DateTime()) if dialect is not None else DateTime()

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if isinstance(value, str):
            return dt.datetime.fromisoformat(value.rstrip("Z"))
        return value


class JsonText(TypeDecorator):
    """A JSON value kept as TEXT on both backends (a GeoPackage has no JSON column type)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class _GpkgMultiPolygon(UserDefinedType):
    """The declared type of a GeoPackage geometry column (the blob is made by GeometryColumn)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "MULTIPOLYGON"


class GeometryColumn(TypeDecorator):
    """A MULTIPOLYGON in EPSG:4326 held as a shapely geometry in Python.

    SQLite (GeoPackage): a GeoPackage geometry blob. PostgreSQL: PostGIS geometry through GeoAlchemy2.
    """

    impl = LargeBinary
    cache_ok = True
    spatial_index = False  # the migration makes the GiST index; GeoAlchemy2's DDL hooks read this

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect is None:  # GeoAlchemy2's DDL listeners ask without a dialect: we manage DDL ourselves
            return LargeBinary()
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False))
        return dialect.type_descriptor(_GpkgMultiPolygon())

    def process_bind_param(self, value: BaseGeometry | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return from_shape(value, srid=SRID)
        return to_gpkg_blob(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        if value is None:
            return None
        data = getattr(value, "data", value)  # a GeoAlchemy2 WKBElement holds bytes or hex text
        return from_wkb_or_gpkg(data)


class Base(DeclarativeBase):
    """Declarative base of the registry tables."""


def utc_now() -> dt.datetime:
    """Now, in UTC (stored without time zone on SQLite, so always UTC by convention)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # milliseconds, as stored


class Activity(Base):
    """A restoration or sustainable-land-management activity (one site polygon, current version).

    Areas in hectares, costs in US dollars per hectare; ``practices`` is a ``;``-separated list of
    catalogue codes; ``drivers`` and ``co_benefits`` are JSON lists; ``version`` counts every change.
    """

    __tablename__ = "activity"
    __table_args__ = (
        UniqueConstraint("site", "name_key", name="uq_activity_site_name"),
        Index("ix_activity_bbox", "min_x", "max_x", "min_y", "max_y"),
    )

    fid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(text_type(36), unique=True, index=True)
    name: Mapped[str] = mapped_column(text_type(200))
    name_key: Mapped[str] = mapped_column(text_type(200))  # case-folded name: one name per site
    site: Mapped[str] = mapped_column(text_type(200), default="")
    region: Mapped[str | None] = mapped_column(text_type(200), index=True)
    geometry: Mapped[BaseGeometry] = mapped_column(GeometryColumn())
    min_x: Mapped[float] = mapped_column(Float)
    min_y: Mapped[float] = mapped_column(Float)
    max_x: Mapped[float] = mapped_column(Float)
    max_y: Mapped[float] = mapped_column(Float)
    computed_area_ha: Mapped[float] = mapped_column(Float)
    reported_area_ha: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(text_type(32), index=True, default="draft")
    level: Mapped[str | None] = mapped_column(text_type(16), index=True)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    practices: Mapped[str] = mapped_column(text_type(500), default="")
    land_use_before: Mapped[str | None] = mapped_column(text_type(200))
    land_use_after: Mapped[str | None] = mapped_column(text_type(200))
    drivers: Mapped[list[str]] = mapped_column(JsonText(), default=list)
    co_benefits: Mapped[list[str]] = mapped_column(JsonText(), default=list)
    implementer: Mapped[str | None] = mapped_column(text_type(200))
    funding: Mapped[str | None] = mapped_column(text_type(200))
    establishment_cost_usd_ha: Mapped[float | None] = mapped_column(Float)
    maintenance_cost_usd_ha: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(text_type(500))
    created_by: Mapped[str] = mapped_column(text_type(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_by: Mapped[str] = mapped_column(text_type(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ActivityVersion(Base):
    """A full snapshot of one version of one activity (geometry and every field), kept for ever."""

    __tablename__ = "activity_version"
    __table_args__ = (UniqueConstraint("activity_id", "version", name="uq_activity_version"),)

    fid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    activity_id: Mapped[str] = mapped_column(text_type(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(text_type(16))
    geometry: Mapped[BaseGeometry] = mapped_column(GeometryColumn())
    snapshot: Mapped[dict[str, Any]] = mapped_column(JsonText())
    changed_by: Mapped[str] = mapped_column(text_type(200))
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utc_now)


class AuditEntry(Base):
    """Who did what to which activity, when, and which fields changed."""

    __tablename__ = "audit_log"

    fid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utc_now, index=True)
    who: Mapped[str] = mapped_column(text_type(200))
    action: Mapped[str] = mapped_column(text_type(16))
    activity_id: Mapped[str | None] = mapped_column(text_type(36), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    changed_fields: Mapped[list[str]] = mapped_column(JsonText(), default=list)


class ApiToken(Base):
    """A bearer token: only its SHA-256 hash is stored, with a role and a label naming its holder."""

    __tablename__ = "api_token"

    fid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(text_type(64), unique=True)
    role: Mapped[str] = mapped_column(text_type(16))
    label: Mapped[str] = mapped_column(text_type(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utc_now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Setting(Base):
    """A registry setting, e.g. the country boundary (WKT) that activities must lie in."""

    __tablename__ = "registry_setting"

    key: Mapped[str] = mapped_column(text_type(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
