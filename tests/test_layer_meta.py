"""Every written layer carries its metadata (layer_meta.LayerMeta) into its GeoTIFF tag and into
summary.json, and the two agree; categorical layers (with a legend) and continuous ones are told
apart the same way by the metadata and by the file."""

from __future__ import annotations

import json

import pytest
import rasterio
from golden.fingerprint import demo_run

from ldnkit.layer_meta import GROUP_ORDER, LAYER_TAG, LayerMeta, sorted_entries

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    run_dir = demo_run(tmp_path_factory.mktemp("meta"), size=100)
    return run_dir, json.loads((run_dir / "summary.json").read_text())


def test_every_layer_file_has_an_entry_matching_its_tag(demo):
    run_dir, summary = demo
    entries = summary["layers"]
    files = {p.relative_to(run_dir).as_posix() for p in (run_dir / "layers").rglob("*.tif")}
    assert files == {e["path"] for e in entries.values()}
    for key, e in entries.items():
        assert e["group"] in GROUP_ORDER, key
        assert e["title"] and e["description"], key
        with rasterio.open(run_dir / e["path"]) as src:
            tags = src.tags()
        tag = json.loads(tags[LAYER_TAG])
        fields = {k: v for k, v in e.items() if k not in ("path", "attrs")}
        assert tag == fields, key
        assert (e["kind"] == "categorical") == ("LDNKIT_LEGEND" in tags), key


def test_groups_cover_every_stage(demo):
    _, summary = demo
    groups = {e["group"] for e in summary["layers"].values()}
    assert {"SDG 15.3.1", "Land cover", "Land productivity", "Soil organic carbon"} <= groups
    assert {"Drought", "Neutrality"} <= groups
    maps = [k for k, e in summary["layers"].items() if e["report_map"]]
    assert "baseline/sdg" in maps and not any(k.endswith("_uncorrected") for k in maps)


def test_sorted_entries_follow_group_then_order():
    a = LayerMeta("a", "Drought", "a", order=0).entry()
    b = LayerMeta("b", "SDG 15.3.1", "b", order=5).entry()
    c = LayerMeta("c", "SDG 15.3.1", "c", order=1).entry()
    d = LayerMeta("d", "A new group", "d").entry()
    keys = [k for k, _ in sorted_entries({"a": a, "b": b, "c": c, "d": d})]
    assert keys == ["c", "b", "a", "d"]  # a new group sorts after the known ones, before "Other"
