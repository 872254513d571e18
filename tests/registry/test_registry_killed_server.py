"""A registry server killed with SIGKILL while clients are writing loses no activity it acknowledged
(201) and leaves no half-written one (every activity has its first version and its audit entry), on
both backends."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlalchemy import text

from ldnkit.registry import open_store

from .conftest import BACKENDS
from .helpers import free_port, square

WRITERS = 4


def _feature(name: str) -> dict:
    props = {"name": name, "site": f"site {name}", "level": "reverse", "practices": ["S1"]}
    return {"type": "Feature", "geometry": square().__geo_interface__, "properties": props}


def _wait_until_up(base: str, proc: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"{base}/conformance", timeout=5)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("registry_location", BACKENDS, indirect=True)
def test_sigkill_mid_write_keeps_every_acknowledged_activity(registry_location, tmp_path):
    store = open_store(registry_location, upgrade=True)
    token = store.create_token("editor", "writer")
    store.close()
    port = free_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "ldnkit.registry.service", registry_location, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(k: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=10) as client:
            for i in range(10_000):
                if stop.is_set():
                    return
                try:
                    res = client.post(
                        "/collections/activities/items", json=_feature(f"w{k}-{i}"), headers=headers
                    )
                except httpx.TransportError:
                    return  # the server is gone
                if res.status_code == 201:
                    with lock:
                        acknowledged.append(res.json()["id"])

    try:
        _wait_until_up(base, server, log_path)
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)  # mid-write: the writers are still posting
        server.wait(30)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
            server.wait(30)
        for t in threads:
            t.join(30)
    assert server.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 40, log_path.read_text()[-2000:]
    store = open_store(registry_location)
    try:
        for activity_id in acknowledged:
            assert store.get(activity_id)["name"].startswith("w")
        with store.engine.connect() as connection:
            n_activities = connection.execute(text("SELECT count(*) FROM activity")).scalar()
            n_versions = connection.execute(
                text("SELECT count(DISTINCT activity_id) FROM activity_version")
            ).scalar()
            assert n_activities == n_versions >= len(acknowledged)  # none without its version
            if store.backend == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        store.create({"name": "after the kill", "geometry": square(20, 20)}, by="ana")  # still writable
    finally:
        store.close()
