"""The registry's web page in Debian's headless Chromium (Playwright, sync API) through a real server.

An editor adds one activity by uploading a GeoJSON polygon and one by drawing on the map, edits
one, submits the other; an approver approves it from the queue; the API then returns them as the
page made them. The page must work offline: no console or page error, no failed request, no
request leaving 127.0.0.1; a hostile name is shown as text. Skips without /usr/bin/chromium,
fails when CI is set.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from browser import ARGS, CHROMIUM, need_chromium
from shapely.geometry import shape

from ldnkit.registry import open_store

from .helpers import activity, running_service, square, write_run_layers

HOSTILE = '<img src="x" onerror="document.title=1">'
ITEMS = "/collections/activities/items"


@pytest.fixture
def web(tmp_path):
    """(base URL, tokens by role) of a service on a fresh embedded registry with a run's layers."""
    need_chromium()
    location = str(tmp_path / "registry.gpkg")
    store = open_store(location, upgrade=True)
    tokens = {role: store.create_token(role, f"{role} person") for role in ("editor", "approver")}
    store.create(activity(HOSTILE, geometry=square(10.02, 10.02)), by="seed")
    store.close()
    write_run_layers(tmp_path / "run")
    with running_service(location, tmp_path / "server.log", "--run", str(tmp_path / "run")) as base:
        yield base, tokens


def _watch(page, problems: list[str], requests: list[str]) -> None:
    def console(message) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("request", lambda r: requests.append(r.url))


def _use_token(page, token: str) -> None:
    page.fill("#token", token)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#message:text('Token kept')")


def _add_by_upload(page, tmp_path: Path) -> None:
    upload = tmp_path / "site.geojson"
    feature = {"type": "Feature", "properties": {}, "geometry": square(10.05, 10.05).__geo_interface__}
    upload.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    page.fill("#f-name", "Uploaded terraces")
    page.fill("#f-site", "Web hills")
    page.select_option("#f-level", "reverse")
    page.fill("#f-practices", "S1; V1")
    page.fill("#f-start", "2024-01-15")
    page.fill("#f-area", "121")
    page.set_input_files("#f-file", str(upload))
    page.wait_for_selector("#geometry-note:text('site.geojson')")
    page.click("#save")
    page.wait_for_selector("#message:text('Saved Uploaded terraces')")


def _add_by_drawing(page) -> None:
    page.fill("#f-name", "Drawn grazing plan")
    page.fill("#f-site", "Web hills")
    page.select_option("#f-level", "avoid")
    page.click("#draw")
    box = page.locator("#map").bounding_box()
    for dx, dy in ((0.40, 0.40), (0.60, 0.40), (0.60, 0.60), (0.40, 0.60)):
        page.mouse.click(box["x"] + dx * box["width"], box["y"] + dy * box["height"])
    page.click("#draw-finish")
    page.wait_for_selector("#geometry-note:text('4 corners')")
    page.click("#save")
    page.wait_for_selector("#message:text('Saved Drawn grazing plan')")


def _edit(page, name: str, new_name: str) -> None:
    page.locator("#activities tr", has_text=name).get_by_role("button", name="Edit").click()
    assert page.input_value("#f-name") == name
    page.fill("#f-name", new_name)
    page.fill("#f-region", "East")
    page.click("#save")
    page.wait_for_selector(f"#message:text('Saved {new_name} (version 2')")


def _approve_from_queue(page, name: str, approver: str) -> None:
    page.locator("#activities tr", has_text=name).get_by_role("button", name="Submit").click()
    page.wait_for_selector("#message:text('pending approval')")
    _use_token(page, approver)
    page.locator("#queue tr", has_text=name).get_by_role("button", name="Approve").click()
    page.wait_for_selector("#message:text('approved')")


def _api_features(base: str) -> dict[str, dict]:
    return {f["properties"]["name"]: f for f in httpx.get(f"{base}{ITEMS}").json()["features"]}


@pytest.mark.slow
def test_page_adds_activities_that_the_api_returns(web, tmp_path):
    from playwright.sync_api import sync_playwright

    base, tokens = web
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = context.new_page()
            _watch(page, problems, requests)
            page.goto(f"{base}/", wait_until="load")
            page.wait_for_selector("body[data-ready=yes]")
            assert page.locator("#legend label").count() == 2  # the run's LPD and SO1 status
            page.locator("#legend input").first.check()
            hostile_cell = page.locator("#activities tbody tr td").first
            assert hostile_cell.text_content() == HOSTILE  # shown as text, not markup
            assert page.locator("#activities img").count() == 0
            _use_token(page, tokens["editor"])
            _add_by_upload(page, tmp_path)
            _add_by_drawing(page)
            drawn_geometry = _api_features(base)["Drawn grazing plan"]["geometry"]
            _edit(page, "Drawn grazing plan", "Drawn grazing plan, east")
            _approve_from_queue(page, "Uploaded terraces", tokens["approver"])
            page.screenshot(path=str(tmp_path / "registry.png"), full_page=True)
            page.wait_for_timeout(300)  # let any late request show up
        finally:
            context.close()

    assert not problems, problems
    local = ("data:", "blob:")
    outside = [u for u in requests if urlsplit(u).hostname != "127.0.0.1" and not u.startswith(local)]
    assert not outside, outside

    found = _api_features(base)
    uploaded = found["Uploaded terraces"]
    assert uploaded["properties"]["status"] == "approved"
    assert uploaded["properties"]["created_by"] == "editor person"
    assert uploaded["properties"]["practices"] == ["S1", "V1"]
    assert uploaded["properties"]["start_date"] == "2024-01-15"
    assert shape(uploaded["geometry"]).equals(square(10.05, 10.05))
    drawn = found["Drawn grazing plan, east"]  # edited: a new version, its drawn polygon kept
    assert drawn["properties"]["status"] == "draft" and drawn["properties"]["level"] == "avoid"
    assert drawn["properties"]["region"] == "East" and drawn["properties"]["version"] == 2
    assert drawn["geometry"] == drawn_geometry
    assert len(shape(drawn["geometry"]).geoms[0].exterior.coords) == 5
    assert found[HOSTILE]["properties"]["version"] == 1  # the page changed nothing else
    versions = httpx.get(f"{base}{ITEMS}/{uploaded['id']}").headers["etag"]
    assert versions == '"3"'  # created, submitted, approved


def test_page_and_overlays_are_served(web):
    base, _ = web
    page = httpx.get(f"{base}/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{base}/").json()["title"]  # API clients still get the JSON landing page
    assert "<html" in httpx.get(f"{base}/?f=html").text
    leaflet = "vendor/leaflet-1.9.4"
    for asset in ("registry.js", "registry.css", f"{leaflet}/leaflet.js", f"{leaflet}/LICENSE"):
        assert httpx.get(f"{base}/static/{asset}").status_code == 200, asset
    overlays = httpx.get(f"{base}/overlays").json()["overlays"]
    assert {o["key"] for o in overlays} == {"baseline-lpd", "reporting_1-status"}
    south, west, north, east = overlays[0]["bounds"]
    assert 9.9 < west < 10.1 < east < 10.2 and 9.9 < south < 10.05 < north < 10.2  # UTM 32N, 10 km
    png = httpx.get(overlays[0]["href"])
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert httpx.get(f"{base}/overlays/nope.png").status_code == 404
    assert httpx.get(f"{base}/static/../app.py").status_code == 404


def test_serve_refuses_a_folder_that_is_not_a_run(tmp_path):
    from typer.testing import CliRunner

    from ldnkit.registry.cli import app

    location = str(tmp_path / "registry.gpkg")
    open_store(location, upgrade=True).close()
    result = CliRunner().invoke(app, ["serve", "--registry", location, "--run", str(tmp_path)])
    assert result.exit_code == 2
    assert "run" in result.output and "layers/" in result.output
