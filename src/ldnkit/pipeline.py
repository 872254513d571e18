"""Deprecated: kept for one release as a re-export of :mod:`ldnkit.run` (``run``, ``Result``).

Import from ``ldnkit.run`` instead: a run is now an ordered list of stages (see
docs/architecture.md).
"""

from __future__ import annotations

from ldnkit.run import Result, run

__all__ = ["Result", "run"]
