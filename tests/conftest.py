"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ldnkit.demo import build_demo_inputs


@pytest.fixture(scope="session")
def small_inputs(tmp_path_factory) -> Path:
    """Valid demo inputs at 100 x 100 pixels, built once; tests that change files work on a copy."""
    folder = tmp_path_factory.mktemp("small") / "inputs"
    build_demo_inputs(folder, size=100)
    return folder


def _assert_user_error(res, cfg: dict, *needles: str) -> None:
    """Exit 2, one line on stderr naming ``needles``, no traceback, and nothing left behind."""
    out = Path(cfg["output"])
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, (n, err)
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}*")), "a partial output folder was left behind"


@pytest.fixture
def assert_user_error():
    """The check every bad-input test makes (see :func:`_assert_user_error`)."""
    return _assert_user_error
