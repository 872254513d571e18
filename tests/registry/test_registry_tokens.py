"""Tokens: hashed at rest (the raw token is nowhere in the database), roles, revocation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from ldnkit.registry import RegistryError
from ldnkit.registry.models import Base
from ldnkit.registry.tokens import TokenHolder, token_hash


def _database_text(store) -> str:
    """Every row of every table as text (what a stolen database would reveal)."""
    parts = []
    with store.engine.connect() as connection:
        for table in [*Base.metadata.tables, "alembic_version"]:
            if store.backend == "postgresql":
                rows = connection.execute(text(f"SELECT t::text FROM {table} t"))
            else:
                rows = connection.execute(text(f"SELECT * FROM {table}"))
            parts.extend(str(tuple(r)) for r in rows)
    return "\n".join(parts)


def test_tokens_are_stored_hashed_only(store):
    token = store.create_token("editor", "Ana, land agency")
    assert len(token) > 40 and store.authenticate(token) == TokenHolder("Ana, land agency", "editor")
    dump = _database_text(store)
    assert token_hash(token) in dump and token not in dump and token[7:] not in dump
    if store.backend == "sqlite":  # the file itself, its WAL included
        path = Path(store.url.removeprefix("sqlite:///"))
        for part in path.parent.glob(path.name + "*"):
            assert token.encode() not in part.read_bytes(), part


def test_roles_and_revocation(store):
    viewer = store.create_token("viewer", "public")
    approver = store.create_token("approver", "pat")
    assert not store.authenticate(viewer).may("editor") and store.authenticate(viewer).may("viewer")
    assert store.authenticate(approver).may("editor") and not store.authenticate(approver).may("admin")
    assert store.authenticate("ldnreg_not-a-token") is None
    assert store.revoke_tokens("pat") == 1
    assert store.authenticate(approver) is None and store.authenticate(viewer) is not None
    listing = store.list_tokens()
    assert [(t["label"], t["role"], t["revoked_at"] is not None) for t in listing] == [
        ("public", "viewer", False),
        ("pat", "approver", True),
    ]
    with pytest.raises(RegistryError, match="^role: 'root' is not a role"):
        store.create_token("root", "x")
    with pytest.raises(RegistryError, match="^label: no live token"):
        store.revoke_tokens("pat")
