"""Tests of ldnkit.io.run_folder: the run folder is complete or absent.

Fixtures are tiny rasters written with rasterio in tmp_path; references are numpy / rasterio
computations on the whole array, or hand calculations.
"""

from __future__ import annotations

import pytest

from ldnkit.errors import ConfigError
from ldnkit.io.run_folder import atomic_output_dir


def test_atomic_output_dir(tmp_path):
    out = tmp_path / "run"
    with atomic_output_dir(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".run.partial-")
        (tmp / "a.txt").write_text("1")
    assert (out / "a.txt").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    # exists, no overwrite: refused before anything is written
    with pytest.raises(ConfigError, match="already exists"), atomic_output_dir(out):
        pass
    # overwrite but the run fails: old folder intact, nothing else left behind
    with pytest.raises(ValueError), atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
        raise ValueError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    # overwrite and success: replaced
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "c.txt").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_atomic_output_dir_failure_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_output_dir(tmp_path / "new") as tmp:
        (tmp / "x").write_text("x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
