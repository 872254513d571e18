"""The registry store: one interface over the embedded GeoPackage file and PostgreSQL + PostGIS.

>>> store = open_store(tmp_path / "registry.gpkg")       # doctest: +SKIP
>>> store.upgrade()                                       # create or migrate the schema (Alembic)
>>> a = store.create({"name": "Terraces", "geometry": wkt, "level": "reverse"}, by="ana")
>>> store.update(a["id"], {"reported_area_ha": 12}, by="ana", expected_version=a["version"])

Every change writes a full snapshot to ``activity_version`` and a line to ``audit_log`` in the same
transaction. An update or status change naming a stale version raises :class:`StaleVersionError` and
changes nothing (optimistic concurrency, the ETag of the service).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from ldnkit.registry import tokens
from ldnkit.registry.engine import database_url, make_engines
from ldnkit.registry.errors import NotFoundError, RegistryError, StaleVersionError, TransitionError
from ldnkit.registry.migrate import upgrade_schema
from ldnkit.registry.models import Activity, ActivityVersion, AuditEntry, Setting, utc_now
from ldnkit.registry.query import ActivityQuery, conditions, postgis_intersects
from ldnkit.registry.validation import check_consistency, check_fields
from ldnkit.registry.vocabulary import TRANSITIONS

#: Columns of an activity record, in order (geometry apart).
RECORD_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "site",
    "region",
    "computed_area_ha",
    "reported_area_ha",
    "status",
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
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "version",
)


def record(activity: Activity) -> dict[str, Any]:
    """An activity as a plain dict: fields of :data:`RECORD_FIELDS`, practices as a list, geometry."""
    out = {name: getattr(activity, name) for name in RECORD_FIELDS}
    out["practices"] = [p for p in (activity.practices or "").split(";") if p]
    out["geometry"] = activity.geometry
    return out


def _snapshot(activity: Activity) -> dict[str, Any]:
    """JSON-ready copy of every field but the geometry (kept in its own column)."""
    out = record(activity)
    del out["geometry"]
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in out.items()}


@dataclass(frozen=True)
class Page:
    """One page of a query: the records and how many activities match in all."""

    items: list[dict[str, Any]]
    matched: int


class Store:
    """A registry database (see :func:`open_store`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        self._write_engine, self._read_engine = make_engines(url)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)
        self._reader = sessionmaker(self._read_engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Store({self._write_engine.url.render_as_string(hide_password=True)!r})"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine that writes (for inspection and tests; use the methods to change data)."""
        return self._write_engine

    def upgrade(self) -> None:
        """Create the schema or bring it to the newest version (Alembic migrations)."""
        with self._write_engine.begin() as connection:
            upgrade_schema(connection)

    def close(self) -> None:
        """Release every database connection."""
        self._write_engine.dispose()
        self._read_engine.dispose()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction: committed at the end of the block, rolled back on any error."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session."""
        with self._reader() as session:
            yield session

    # --- settings ---------------------------------------------------------------------------------
    def boundary(self) -> BaseGeometry | None:
        """The country boundary activities must lie in, or None."""
        with self.reading() as session:
            setting = session.get(Setting, "boundary_wkt")
            return shapely.from_wkt(setting.value) if setting else None

    def set_boundary(self, geometry: BaseGeometry | None) -> None:
        """Set (or clear, with None) the country boundary (EPSG:4326)."""
        with self.writing() as session:
            setting = session.get(Setting, "boundary_wkt")
            if geometry is None:
                if setting:
                    session.delete(setting)
            elif setting:
                setting.value = geometry.wkt
            else:
                session.add(Setting(key="boundary_wkt", value=geometry.wkt))

    # --- activities ---------------------------------------------------------------------------------
    def create(self, fields: Mapping[str, Any], by: str) -> dict[str, Any]:
        """Add an activity (status ``draft`` unless given); returns its record (version 1)."""
        boundary = self.boundary()
        with self.writing() as session:
            activity = self.add_activity(session, fields, by, boundary)
        return record(activity)

    def add_activity(
        self, session: Session, fields: Mapping[str, Any], by: str, boundary: BaseGeometry | None
    ) -> Activity:
        """Validate and add one activity inside the caller's transaction (bulk import uses it)."""
        for required in ("name", "geometry"):
            if fields.get(required) in (None, ""):
                raise RegistryError(required, "is missing", f"give the activity's {required}")
        values = check_fields(fields, boundary)
        values.setdefault("site", "")
        values.setdefault("status", "draft")
        check_consistency(values)
        self._check_unique_name(session, values["site"], values["name_key"], None)
        now = utc_now()
        defaults = {"practices": "", "drivers": [], "co_benefits": []}
        activity = Activity(
            id=str(fields.get("id") or uuid.uuid4()),
            created_by=by,
            updated_by=by,
            created_at=now,
            updated_at=now,
            **{**defaults, **values},
        )
        session.add(activity)
        self._flush(session)
        self._log(session, activity, "create", by, sorted(values))
        return activity

    def get(self, activity_id: str) -> dict[str, Any]:
        """The current record of an activity; NotFoundError if there is none."""
        with self.reading() as session:
            return record(self._load(session, activity_id))

    def update(
        self, activity_id: str, fields: Mapping[str, Any], by: str, expected_version: int
    ) -> dict[str, Any]:
        """Change some fields of an activity at ``expected_version``; StaleVersionError if it moved on.

        The status is changed with :meth:`set_status` (it has its workflow), never here.
        """
        if "status" in fields:
            raise RegistryError("status", "is changed through the approval workflow", "use set_status")
        boundary = self.boundary() if "geometry" in fields else None
        values = check_fields(fields, boundary)
        with self.writing() as session:
            activity = self._load(session, activity_id, expected_version)
            merged = {
                name: getattr(activity, name) for name in ("start_date", "end_date", "reported_area_ha")
            }
            merged["computed_area_ha"] = activity.computed_area_ha
            merged.update(values)
            check_consistency(merged)
            if "name_key" in values or "site" in values:
                site = values.get("site", activity.site)
                self._check_unique_name(session, site, values.get("name_key", activity.name_key), activity.id)
            changed = sorted(k for k, v in values.items() if getattr(activity, k) != v)
            for key, value in values.items():
                setattr(activity, key, value)
            activity.updated_by, activity.updated_at = by, utc_now()
            self._flush(session)
            self._log(session, activity, "update", by, changed)
        return record(activity)

    def set_status(self, activity_id: str, status: str, by: str, expected_version: int) -> dict[str, Any]:
        """Move an activity through the approval workflow (:data:`vocabulary.TRANSITIONS`)."""
        new_status = check_fields({"status": status})["status"]
        with self.writing() as session:
            activity = self._load(session, activity_id, expected_version)
            if new_status not in TRANSITIONS[activity.status]:
                raise TransitionError(
                    "status",
                    f"cannot go from {activity.status} to {new_status}",
                    f"from {activity.status} an activity may go to {', '.join(TRANSITIONS[activity.status])}",
                )
            activity.status, activity.updated_by, activity.updated_at = new_status, by, utc_now()
            self._flush(session)
            self._log(session, activity, "status", by, ["status"])
        return record(activity)

    def delete(self, activity_id: str, by: str, expected_version: int) -> None:
        """Remove an activity; its versions and audit lines stay (a final ``delete`` version is added)."""
        with self.writing() as session:
            activity = self._load(session, activity_id, expected_version)
            final = ActivityVersion(
                activity_id=activity.id,
                version=activity.version + 1,
                action="delete",
                geometry=activity.geometry,
                snapshot=_snapshot(activity),
                changed_by=by,
                changed_at=utc_now(),
            )
            session.delete(activity)
            session.add(final)
            session.add(AuditEntry(who=by, action="delete", activity_id=activity.id, version=final.version))
            self._flush(session)

    def query(self, query: ActivityQuery | None = None) -> Page:
        """Activities matching ``query``, oldest first, with the number matched in all."""
        query = query or ActivityQuery()
        statement = select(Activity).where(*conditions(query)).order_by(Activity.fid)
        with self.reading() as session:
            if query.bbox is not None and self.backend == "postgresql":
                statement = statement.where(postgis_intersects(query))
            elif query.bbox is not None:  # exact test with shapely after the bbox columns' coarse one
                window = box(*query.bbox)
                found = [a for a in session.scalars(statement) if a.geometry.intersects(window)]
                page = found[query.offset : query.offset + query.limit]
                return Page([record(a) for a in page], len(found))
            matched = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
            rows = session.scalars(statement.offset(query.offset).limit(query.limit))
            return Page([record(a) for a in rows], int(matched or 0))

    def versions(self, activity_id: str) -> list[dict[str, Any]]:
        """Every version of an activity, oldest first: snapshot fields, geometry, action, who, when."""
        with self.reading() as session:
            rows = session.scalars(
                select(ActivityVersion)
                .where(ActivityVersion.activity_id == activity_id)
                .order_by(ActivityVersion.version)
            ).all()
        if not rows:
            raise NotFoundError("id", f"no activity {activity_id!r} was ever recorded", None)
        return [
            {
                **r.snapshot,
                "version": r.version,
                "action": r.action,
                "geometry": r.geometry,
                "changed_by": r.changed_by,
                "changed_at": r.changed_at,
            }
            for r in rows
        ]

    def audit(self, activity_id: str | None = None) -> list[dict[str, Any]]:
        """The audit log (oldest first), for one activity or all."""
        statement = select(AuditEntry).order_by(AuditEntry.fid)
        if activity_id is not None:
            statement = statement.where(AuditEntry.activity_id == activity_id)
        with self.reading() as session:
            return [
                {
                    "at": e.at,
                    "who": e.who,
                    "action": e.action,
                    "activity_id": e.activity_id,
                    "version": e.version,
                    "changed_fields": list(e.changed_fields),
                }
                for e in session.scalars(statement)
            ]

    # --- tokens ---------------------------------------------------------------------------------------
    def create_token(self, role: str, label: str) -> str:
        """A new bearer token with ``role``; returned once, stored only as its SHA-256 hash."""
        with self.writing() as session:
            return tokens.create(session, role, label)

    def revoke_tokens(self, label: str) -> int:
        """Revoke every live token labelled ``label``; the number revoked."""
        with self.writing() as session:
            return tokens.revoke(session, label)

    def authenticate(self, token: str) -> tokens.TokenHolder | None:
        """Who holds ``token`` (label and role), or None if it is unknown or revoked."""
        with self.reading() as session:
            return tokens.holder(session, token)

    def list_tokens(self) -> list[dict[str, Any]]:
        """Every token's label, role, creation and revocation time (never the token)."""
        with self.reading() as session:
            return tokens.listing(session)

    # --- helpers ------------------------------------------------------------------------------------
    def _load(self, session: Session, activity_id: str, expected_version: int | None = None) -> Activity:
        activity = session.scalar(select(Activity).where(Activity.id == str(activity_id)))
        if activity is None:
            raise NotFoundError("id", f"no activity {activity_id!r}", "list the activities to find its id")
        if expected_version is not None and activity.version != int(expected_version):
            raise StaleVersionError(
                "version",
                f"version {expected_version} is stale: the activity is at version {activity.version}",
                "reload the activity, re-apply your change and send it with the current version",
            )
        return activity

    @staticmethod
    def _check_unique_name(session: Session, site: str, name_key: str, own_id: str | None) -> None:
        same = select(Activity.id).where(Activity.site == site, Activity.name_key == name_key)
        other = session.scalar(same if own_id is None else same.where(Activity.id != own_id))
        if other is not None:
            raise RegistryError(
                "name",
                f"is already used in site {site!r} by activity {other} (names are compared ignoring case)",
                "give this activity another name, or edit the existing one",
            )

    @staticmethod
    def _flush(session: Session) -> None:
        try:
            session.flush()
        except StaleDataError:
            raise StaleVersionError(
                "version", "the activity was changed by someone else meanwhile", "reload it and retry"
            ) from None
        except IntegrityError as exc:
            if "uq_activity_site_name" in str(exc) or "name_key" in str(exc):
                raise RegistryError("name", "is already used in this site", "choose another name") from None
            raise

    @staticmethod
    def _log(session: Session, activity: Activity, action: str, by: str, changed: Iterable[str]) -> None:
        session.add(
            ActivityVersion(
                activity_id=activity.id,
                version=activity.version,
                action=action,
                geometry=activity.geometry,
                snapshot=_snapshot(activity),
                changed_by=by,
                changed_at=activity.updated_at,
            )
        )
        changed = [c for c in changed if c not in ("name_key", "min_x", "min_y", "max_x", "max_y")]
        session.add(
            AuditEntry(
                who=by,
                action=action,
                activity_id=activity.id,
                version=activity.version,
                changed_fields=changed,
                at=activity.updated_at,
            )
        )


def open_store(location: str | Path, upgrade: bool = False) -> Store:
    """The registry at ``location``: a file path (embedded GeoPackage) or ``postgresql://...``.

    ``upgrade=True`` creates or migrates the schema first (as ``ldnkit registry init`` does).
    """
    store = Store(database_url(location))
    if upgrade:
        store.upgrade()
    return store
