"""Nothing a user sees changes with a refactoring: every layer's pixels and every table value of the
demo (all stages) and of the Buffalo real-data example equal the fingerprints stored from the commit
before the stage-architecture redesign (tests/golden/fingerprint.py says how they were made)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden.fingerprint import SHARED, buffalo_run, demo_run, fingerprint

GOLDEN = Path(__file__).parent / "golden"
pytestmark = pytest.mark.slow


def _compare(run_dir: Path, stored: Path) -> None:
    got, want = fingerprint(run_dir), json.loads(stored.read_text())
    for part in ("layers", "tables"):
        missing = sorted(set(want[part]) - set(got[part]))
        changed = sorted(k for k in want[part] if k in got[part] and got[part][k] != want[part][k])
        assert not missing, f"{part} no longer written: {missing}"
        assert not changed, f"{part} whose values changed: {changed}"
        # new outputs are allowed (a new stage); the old ones must be untouched
    assert got["layers"], "no layer written"


def test_demo_outputs_unchanged(tmp_path):
    _compare(demo_run(tmp_path), GOLDEN / "demo.json")


@pytest.mark.skipif(not (SHARED / "buffalo_ny_modis").is_dir(), reason="../shared/data absent")
def test_buffalo_outputs_unchanged(tmp_path):
    _compare(buffalo_run(tmp_path), GOLDEN / "buffalo.json")
