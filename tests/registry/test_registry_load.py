"""Concurrent writers through the HTTP service lose nothing, on both backends (not timed: the
figures are ``benchmarks/registry.py``'s, 20 writers x 50 and 200 readers)."""

from __future__ import annotations

import pytest

from ldnkit.registry import open_store
from ldnkit.registry.query import ActivityQuery

from .conftest import BACKENDS
from .helpers import running_service
from .load import run_readers, run_writers

WRITERS, PER_WRITER, READERS = 20, 10, 40


@pytest.mark.parametrize("registry_location", BACKENDS, indirect=True)
def test_concurrent_http_writers_lose_nothing(registry_location, tmp_path):
    store = open_store(registry_location, upgrade=True)
    token = store.create_token("editor", "load editor")
    try:
        with running_service(registry_location, tmp_path / "server.log") as base:
            written = run_writers(base, token, WRITERS, PER_WRITER)
            read = run_readers(base, READERS, 2, written.ids)
        assert not written.failures, written.failures[:3]
        assert not read.failures, read.failures[:3]
        expected = {f"load {w}-{i}" for w in range(WRITERS) for i in range(PER_WRITER)}
        assert len(set(written.ids)) == len(expected)
        page = store.query(ActivityQuery(limit=1000))
        assert page.matched == len(expected)
        assert {r["id"] for r in page.items} == set(written.ids)
        assert {r["name"] for r in page.items} == expected
        assert all(r["version"] == 1 for r in page.items)
        for activity_id in written.ids:  # each version in the history, made by the token's holder
            versions = store.versions(activity_id)
            assert [(v["version"], v["action"], v["changed_by"]) for v in versions] == [
                (1, "create", "load editor")
            ]
        assert len(store.audit()) == len(expected)
    finally:
        store.close()
