"""Many writers lose nothing; a writer killed mid-transaction leaves no half-written activity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from ldnkit.registry import StaleVersionError, open_store
from registry.helpers import activity, square

THREADS, INSERTS = 8, 25


def test_concurrent_writers_lose_nothing(store):
    def writer(thread: int) -> list[str]:
        return [
            store.create(
                activity(f"t{thread}-{i}", geometry=square(i * 0.02, thread * 0.02)), by=f"w{thread}"
            )["id"]
            for i in range(INSERTS)
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        ids = [i for batch in pool.map(writer, range(THREADS)) for i in batch]
    assert len(set(ids)) == THREADS * INSERTS
    assert store.query().matched == THREADS * INSERTS
    assert {r["id"] for r in store.query(_all()).items} == set(ids)
    assert len(store.audit()) == THREADS * INSERTS
    assert all(len(store.versions(i)) == 1 for i in ids[:: INSERTS // 5])


def _all():
    from ldnkit.registry import ActivityQuery

    return ActivityQuery(limit=1000)


def test_racing_updates_one_wins_the_rest_are_refused(store):
    a = store.create(activity(), by="ana")

    def update(n: int) -> str:
        try:
            store.update(a["id"], {"funding": f"writer {n}"}, by=f"w{n}", expected_version=1)
            return "ok"
        except StaleVersionError:
            return "stale"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(update, range(THREADS)))
    assert outcomes.count("ok") == 1 and outcomes.count("stale") == THREADS - 1
    got = store.get(a["id"])
    assert got["version"] == 2 and got["funding"] == f"writer {outcomes.index('ok')}"
    assert len(store.versions(a["id"])) == 2


_WRITER = textwrap.dedent(
    """
    import sys, time
    from shapely.geometry import box
    from ldnkit.registry import open_store

    store = open_store(sys.argv[1])
    for i in range(5):
        a = store.create({"name": f"committed {i}", "geometry": box(i, 0, i + 0.01, 0.01)}, by="writer")
        print("COMMITTED", a["id"], flush=True)
    with store.writing() as session:
        for i in range(50):
            fields = {"name": f"doomed {i}", "geometry": box(i, 1, i + 0.01, 1.01)}
            store.add_activity(session, fields, "killed", None)
        session.flush()
        print("IN_TRANSACTION", flush=True)
        time.sleep(120)
    """
)


@pytest.mark.parametrize("registry_location", ["sqlite", "postgis"], indirect=True)
def test_writer_killed_mid_transaction_leaves_no_half_written_activity(registry_location):
    open_store(registry_location, upgrade=True).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, registry_location],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    committed, deadline = [], time.monotonic() + 120
    try:
        for line in proc.stdout:
            if line.startswith("COMMITTED"):
                committed.append(line.split()[1])
            if line.startswith("IN_TRANSACTION") or time.monotonic() > deadline:
                break
        assert len(committed) == 5, "the writer never reached its open transaction"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    store = open_store(registry_location)
    try:
        page = store.query(_all())
        assert sorted(r["id"] for r in page.items) == sorted(committed) and page.matched == 5
        assert all(store.get(i)["name"].startswith("committed") for i in committed)
        assert {e["who"] for e in store.audit()} == {"writer"} and len(store.audit()) == 5
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM activity_version")).scalar() == 5
            if store.backend == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        store.create({"name": "after the crash", "geometry": square()}, by="ana")  # still writable
    finally:
        store.close()
