"""Headless Debian Chromium for the browser tests (report.html, the registry's web page): where it
is, the flags that keep it off the network, and the skip-or-fail rule when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_chromium() -> None:
    """Skip without Debian's chromium; fail when CI is set (make test installs it as root)."""
    if CHROMIUM.exists():
        return
    reason = (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium, or "
        ".ci/ensure-chromium, which make test runs as root)"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
