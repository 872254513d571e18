"""report.html in a real browser: Debian's headless Chromium driven by Playwright (sync API).

The report of a small demo run (the session's ``small_inputs``, drought included) must load with
no console or page error, every <img> must decode, and every image section must hold images. A
full-page screenshot is saved under the test's tmp_path (look at it when changing the report).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import yaml
from browser import ARGS, CHROMIUM, need_chromium

#: Sections of the report that must hold at least one image.
IMAGE_SECTIONS = ("headline", "maps", "charts")


@pytest.fixture(scope="module")
def report_path(small_inputs, tmp_path_factory) -> Path:
    """A pipeline run of the small demo inputs (with drought) and its report."""
    from ldnkit.report import write_report
    from ldnkit.run import run

    base = tmp_path_factory.mktemp("report_browser")
    inputs = base / "inputs"
    shutil.copytree(small_inputs, inputs)
    cfg = yaml.safe_load((inputs / "config.yaml").read_text())
    cfg["output"] = str(base / "run")
    (inputs / "config.yaml").write_text(yaml.safe_dump(cfg))
    result = run(inputs / "config.yaml", quiet=True)
    out = Path(result.output)
    if not (out / "boundaries.gpkg").exists():  # until the pipeline writes it: the same outlines
        gpd.read_file(inputs / "area_of_interest.gpkg").to_file(
            out / "boundaries.gpkg", layer="area_of_interest"
        )
        gpd.read_file(inputs / "regions.gpkg").to_file(out / "boundaries.gpkg", layer="regions")
    return write_report(out)


@pytest.mark.slow
def test_report_opens_in_chromium(report_path, tmp_path):
    need_chromium()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 900},
            offline=True,  # the report must need no network
        )
        try:
            page = context.new_page()
            page.on(
                "console",
                lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(report_path.as_uri(), wait_until="load")
            images = page.evaluate(
                """() => Array.from(document.images).map(i => ({
                    ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth,
                    section: (i.closest('section') || {}).id || null, alt: i.alt}))"""
            )
            external = page.evaluate(
                """() => Array.from(document.querySelectorAll('[src],[href],link,script'))
                    .map(e => e.getAttribute('src') || e.getAttribute('href') || e.tagName)
                    .filter(u => !u.startsWith('data:') && !u.startsWith('#'))"""
            )
            # numeric columns are right-aligned by one CSS rule per table (no class on each cell):
            # every cell holding a plain number must compute to right, every text cell to left
            align = page.evaluate(
                """() => Array.from(document.querySelectorAll('details table tbody td')).map(td => ({
                    text: td.textContent.trim(), align: getComputedStyle(td).textAlign}))"""
            )
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            context.close()
    assert not errors, errors
    assert not external, f"the report refers to something outside itself: {external}"
    assert images, "the report has no image"
    broken = [i for i in images if not i["ok"]]
    assert not broken, broken
    for section in IMAGE_SECTIONS:
        assert any(i["section"] == section for i in images), f"no image in section {section!r}"
    # one map per land-cover year, per period layer and per drought period at least
    assert sum(i["section"] == "maps" for i in images) >= 10
    assert shot.stat().st_size > 50_000
    numbers = [a for a in align if re.fullmatch(r"-?[\d,]+(\.\d+)?", a["text"])]
    words = [a for a in align if re.fullmatch(r"[A-Za-z][A-Za-z ]+", a["text"])]
    assert numbers and words
    # a column mixing numbers and words (a class column of "No data" rows) may align either way;
    # nearly every number must be right-aligned and nearly every word left-aligned
    assert sum(a["align"] == "right" for a in numbers) > 0.95 * len(numbers)
    assert sum(a["align"] in ("left", "start") for a in words) > 0.8 * len(words)
