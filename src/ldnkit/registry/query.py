"""Activity queries shared by both backends: bbox, datetime (period overlap), field filters, paging."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, literal, or_

from ldnkit.registry.errors import RegistryError
from ldnkit.registry.models import Activity
from ldnkit.registry.vocabulary import LEVELS, STATUSES

#: Largest page a query returns (the service caps ``limit`` the same way).
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class ActivityQuery:
    """What to look for. ``bbox`` is (min lon, min lat, max lon, max lat); ``period`` (start, end)
    keeps activities whose own period overlaps it (an open end is ``None``); filters match exactly."""

    bbox: tuple[float, float, float, float] | None = None
    period: tuple[dt.date | None, dt.date | None] | None = None
    status: str | None = None
    level: str | None = None
    practice: str | None = None
    region: str | None = None
    site: str | None = None
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.limit <= MAX_LIMIT:
            raise RegistryError("limit", f"{self.limit} is out of range", f"give 1 to {MAX_LIMIT}")
        if self.offset < 0:
            raise RegistryError("offset", f"{self.offset} is negative", "give 0 or more")
        if self.status is not None and self.status not in STATUSES:
            raise RegistryError("status", f"{self.status!r} is not a status", f"use one of {STATUSES}")
        if self.level is not None and self.level not in LEVELS:
            raise RegistryError("level", f"{self.level!r} is not a level", f"use one of {LEVELS}")
        if self.bbox is not None:
            minx, miny, maxx, maxy = self.bbox
            if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
                raise RegistryError("bbox", f"{self.bbox} is not min lon, min lat, max lon, max lat", None)


def parse_datetime_interval(text: str) -> tuple[dt.date | None, dt.date | None]:
    """An OGC API ``datetime`` value as (start, end) dates: ``2020-05-01``, ``2020-01-01/2021-12-31``,
    ``../2020-12-31`` or ``2020-01-01/..`` (times are cut to their date)."""

    def one(part: str) -> dt.date | None:
        part = part.strip()
        if part in ("", ".."):
            return None
        try:
            return dt.date.fromisoformat(part[:10])
        except ValueError:
            raise RegistryError(
                "datetime", f"{text!r} is not a date or interval", "e.g. 2020-01-01/.."
            ) from None

    if "/" in text:
        start, end = (one(p) for p in text.split("/", 1))
    else:
        start = end = one(text)
    if start and end and end < start:
        raise RegistryError("datetime", f"{text!r} ends before it starts", "swap the two dates")
    return start, end


def conditions(query: ActivityQuery) -> list[ColumnElement[bool]]:
    """SQL conditions of ``query`` (the bbox one is the coarse box test; exact tests come after)."""
    found: list[ColumnElement[bool]] = []
    for name in ("status", "level", "region", "site"):
        value = getattr(query, name)
        if value is not None:
            found.append(getattr(Activity, name) == value)
    if query.practice is not None:
        code = f"%;{query.practice.strip().upper()};%"
        found.append((literal(";") + Activity.practices + literal(";")).like(code))
    if query.period is not None:
        start, end = query.period
        if end is not None:
            found.append(or_(Activity.start_date.is_(None), Activity.start_date <= end))
        if start is not None:
            found.append(or_(Activity.end_date.is_(None), Activity.end_date >= start))
    if query.bbox is not None:
        minx, miny, maxx, maxy = query.bbox
        found.append(
            and_(
                Activity.max_x >= minx, Activity.min_x <= maxx, Activity.max_y >= miny, Activity.min_y <= maxy
            )
        )
    return found


def postgis_intersects(query: ActivityQuery) -> ColumnElement[bool]:
    """The exact bbox test in PostGIS (its GiST index answers it)."""
    minx, miny, maxx, maxy = query.bbox  # type: ignore[misc]
    return func.ST_Intersects(Activity.geometry, func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326))
