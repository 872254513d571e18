"""The OGC API Features service through a real uvicorn process, on both backends."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from ldnkit.registry import open_store
from registry.helpers import square

ITEMS = "/collections/activities/items"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgis"])
def service(request, tmp_path):
    """(client, tokens by role, store) of a service started on a fresh registry."""
    if request.param == "postgis":
        location = request.getfixturevalue("postgis_server").new_database()
    else:
        location = str(tmp_path / "registry.gpkg")
    store = open_store(location, upgrade=True)
    tokens = {role: store.create_token(role, f"{role} person") for role in ("viewer", "editor", "approver")}
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ldnkit.registry.service", location, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    deadline = time.monotonic() + 90
    while True:
        try:
            client.get("/conformance")
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text()) from None
            time.sleep(0.3)
    yield client, tokens, store, tmp_path / "server.log"
    proc.terminate()
    proc.wait(30)
    client.close()
    store.close()


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _feature(name: str = "Terraces", **props) -> dict:
    return {
        "type": "Feature",
        "geometry": square().__geo_interface__,
        "properties": {"name": name, "site": "Hills", "level": "reverse", "practices": ["S1"], **props},
    }


def test_core_endpoints(service):
    client, _, _, _ = service
    landing = client.get("/").json()
    assert {link["rel"] for link in landing["links"]} >= {"conformance", "data", "service-desc"}
    assert any("ogcapi-features-4" in c for c in client.get("/conformance").json()["conformsTo"])
    assert client.get("/collections").json()["collections"][0]["id"] == "activities"
    assert client.get("/collections/nope").status_code == 404
    assert "access-control-allow-origin" not in client.get("/", headers={"Origin": "http://evil"}).headers


def test_write_cycle_with_etags(service):
    client, tokens, store, _ = service
    editor, approver = _auth(tokens["editor"]), _auth(tokens["approver"])
    res = client.post(ITEMS, json=_feature(), headers=editor)
    assert res.status_code == 201, res.text
    item = res.headers["Location"].split("/")[-1]
    assert res.headers["ETag"] == '"1"' and res.json()["properties"]["created_by"] == "editor person"
    got = client.get(f"{ITEMS}/{item}")
    assert got.headers["ETag"] == '"1"' and got.json()["geometry"]["type"] == "MultiPolygon"
    res = client.patch(
        f"{ITEMS}/{item}",
        json={"type": "Feature", "properties": {"funding": "GEF"}},
        headers={**editor, "If-Match": '"1"'},
    )
    assert res.status_code == 200 and res.headers["ETag"] == '"2"'
    stale = client.patch(
        f"{ITEMS}/{item}",
        json={"type": "Feature", "properties": {"funding": "other"}},
        headers={**editor, "If-Match": '"1"'},
    )
    assert stale.status_code == 412 and store.get(item)["funding"] == "GEF"
    assert (
        client.patch(
            f"{ITEMS}/{item}", json={"type": "Feature", "properties": {}}, headers=editor
        ).status_code
        == 428
    )
    submit = {"type": "Feature", "properties": {"status": "pending_approval"}}
    assert (
        client.patch(f"{ITEMS}/{item}", json=submit, headers={**editor, "If-Match": '"2"'}).status_code == 200
    )
    approve = {"type": "Feature", "properties": {"status": "approved"}}
    assert (
        client.patch(f"{ITEMS}/{item}", json=approve, headers={**editor, "If-Match": '"3"'}).status_code
        == 403
    )
    res = client.patch(f"{ITEMS}/{item}", json=approve, headers={**approver, "If-Match": '"3"'})
    assert res.status_code == 200 and res.json()["properties"]["status"] == "approved"
    put = client.put(f"{ITEMS}/{item}", json=_feature("Terraces 2"), headers={**editor, "If-Match": '"4"'})
    assert put.status_code == 200 and put.json()["properties"]["funding"] is None
    assert client.delete(f"{ITEMS}/{item}", headers={**editor, "If-Match": '"4"'}).status_code == 412
    assert client.delete(f"{ITEMS}/{item}", headers={**editor, "If-Match": '"5"'}).status_code == 204
    assert client.get(f"{ITEMS}/{item}").status_code == 404
    assert [v["action"] for v in store.versions(item)] == [
        "create",
        "update",
        "status",
        "status",
        "update",
        "delete",
    ]


def test_auth(service):
    client, tokens, store, log = service
    assert client.post(ITEMS, json=_feature()).status_code == 401
    assert client.post(ITEMS, json=_feature(), headers=_auth("ldnreg_forged")).status_code == 401
    assert client.post(ITEMS, json=_feature(), headers=_auth(tokens["viewer"])).status_code == 403
    store.revoke_tokens("editor person")
    assert client.post(ITEMS, json=_feature(), headers=_auth(tokens["editor"])).status_code == 401
    assert store.query().matched == 0
    assert not any(t in log.read_text() for t in tokens.values())  # secrets never logged


def test_items_paging_and_filters(service):
    client, tokens, store, _ = service
    for i in range(5):
        store.create(
            {
                "name": f"s{i}",
                "geometry": square(10 + i, 10),
                "level": "avoid" if i % 2 else "reduce",
                "practices": ["V1"] if i < 2 else ["M2"],
                "region": "North" if i < 3 else "South",
                "start_date": f"{2015 + i}-01-01",
                "end_date": f"{2015 + i}-12-31",
            },
            by="seed",
        )
    page = client.get(ITEMS, params={"limit": 2}).json()
    assert page["numberMatched"] == 5 and page["numberReturned"] == 2
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert [f["properties"]["name"] for f in client.get(nxt).json()["features"]] == ["s2", "s3"]
    names = lambda **p: [f["properties"]["name"] for f in client.get(ITEMS, params=p).json()["features"]]  # noqa: E731
    assert names(bbox="11.5,9,13.5,11") == ["s2", "s3"]
    assert names(datetime="2016-06-01/2017-06-01") == ["s1", "s2"]
    assert names(datetime="../2015-05-01") == ["s0"]
    assert names(level="avoid") == ["s1", "s3"] and names(practice="V1") == ["s0", "s1"]
    assert names(region="South", level="reduce") == ["s4"]


def test_bad_and_hostile_inputs_get_4xx_and_change_nothing(service):
    client, tokens, store, _ = service
    editor = _auth(tokens["editor"])
    store.create({"name": "keep", "geometry": square()}, by="seed")
    hostile = "'; DROP TABLE activity; --"
    for params in (
        {"status": hostile},
        {"level": hostile},
        {"limit": hostile},
        {"bbox": hostile},
        {"datetime": hostile},
        {"offset": "-1"},
        {"limit": "100000"},
        {hostile: "1"},
        {"region": "x" * 5000},
    ):
        assert 400 <= client.get(ITEMS, params=params).status_code < 500, params
    assert client.get(ITEMS, params={"practice": hostile}).json()["numberMatched"] == 0
    assert client.get(f"{ITEMS}/{hostile}").status_code == 404
    bad = client.post(ITEMS, json=_feature(end_date="2001-01-01", start_date="2020-01-01"), headers=editor)
    assert bad.status_code == 422 and bad.json()["field"] == "end_date"
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    res = client.post(ITEMS, json={**_feature("bow"), "geometry": bowtie}, headers=editor)
    assert res.status_code == 422 and res.json()["field"] == "geometry" and res.json()["repaired"]["type"]
    assert client.post(ITEMS, content=b"{not json", headers=editor).status_code == 400
    assert client.post(ITEMS, json=_feature(hostile), headers=editor).status_code == 201  # stored as text
    huge = _feature("huge", source="x" * 3_000_000)
    assert client.post(ITEMS, json=huge, headers=editor).status_code == 413
    names = sorted(r["name"] for r in store.query().items)
    assert names == sorted(["keep", hostile])


def test_private_reads_and_configured_cors(tmp_path):
    """Settings (in-process app): reads need a viewer token when private; CORS only when configured."""
    from fastapi.testclient import TestClient

    from ldnkit.registry.service import ServiceSettings, create_app

    store = open_store(tmp_path / "r.gpkg", upgrade=True)
    viewer = store.create_token("viewer", "v")
    private = TestClient(create_app(store, ServiceSettings(public_reads=False)))
    assert private.get(ITEMS).status_code == 401
    assert private.get(ITEMS, headers=_auth(viewer)).status_code == 200
    cors = TestClient(create_app(store, ServiceSettings(cors_origins=("https://agency.example",))))
    res = cors.get("/", headers={"Origin": "https://agency.example"})
    assert res.headers["access-control-allow-origin"] == "https://agency.example"
    assert (
        "access-control-allow-origin" not in cors.get("/", headers={"Origin": "https://evil.example"}).headers
    )
    store.close()


def test_concurrent_http_writers_lose_nothing(service):
    """20 clients each POST 10 activities at once: all 200 stored, each with its first version."""
    from concurrent.futures import ThreadPoolExecutor

    client, tokens, store, _ = service
    base = str(client.base_url)

    def writer(n: int) -> list[int]:
        with httpx.Client(base_url=base, timeout=120, headers=_auth(tokens["editor"])) as own:
            return [
                own.post(
                    ITEMS,
                    json={**_feature(f"w{n}-{i}"), "geometry": square(i * 0.02, n * 0.02).__geo_interface__},
                ).status_code
                for i in range(10)
            ]

    with ThreadPoolExecutor(20) as pool:
        codes = [c for batch in pool.map(writer, range(20)) for c in batch]
    assert codes == [201] * 200
    assert store.query().matched == 200 and len(store.audit()) == 200
