"""Bearer tokens: made with ``secrets``, stored only as their SHA-256 hash, with a role and a label."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ldnkit.registry.errors import RegistryError
from ldnkit.registry.models import ApiToken, utc_now
from ldnkit.registry.vocabulary import ROLES

TOKEN_PREFIX = "ldnreg_"


@dataclass(frozen=True)
class TokenHolder:
    """Who a token stands for: its label and role."""

    label: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this holder has at least ``role`` (viewer < editor < approver < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


def token_hash(token: str) -> str:
    """SHA-256 of the token, hex (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(session: Session, role: str, label: str) -> str:
    """Add a token with ``role`` and ``label``; the token itself (shown once, never stored)."""
    if role not in ROLES:
        raise RegistryError("role", f"{role!r} is not a role", f"use one of {', '.join(ROLES)}")
    label = " ".join(str(label).split())
    if not label or len(label) > 200:
        raise RegistryError("label", "must be 1 to 200 characters", "name the person or system holding it")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=token_hash(token), role=role, label=label, created_at=utc_now()))
    return token


def revoke(session: Session, label: str) -> int:
    """Revoke the live tokens labelled ``label``; how many."""
    live = session.scalars(select(ApiToken).where(ApiToken.label == label, ApiToken.revoked_at.is_(None)))
    count = 0
    for row in live:
        row.revoked_at = utc_now()
        count += 1
    if not count:
        raise RegistryError(
            "label", f"no live token is labelled {label!r}", "see 'ldnkit registry token list'"
        )
    return count


def holder(session: Session, token: str) -> TokenHolder | None:
    """The holder of a live ``token``, or None."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
    )
    return TokenHolder(row.label, row.role) if row else None


def listing(session: Session) -> list[dict[str, Any]]:
    """Label, role, created and revoked time of every token."""
    rows = session.scalars(select(ApiToken).order_by(ApiToken.fid))
    return [
        {"label": r.label, "role": r.role, "created_at": r.created_at, "revoked_at": r.revoked_at}
        for r in rows
    ]
