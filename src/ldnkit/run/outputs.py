"""What a stage of a run hands back: :class:`StageOutputs`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ldnkit.layer_meta import LayerMeta


@dataclass
class StageOutputs:
    """What one stage produced.

    ``layers``: written files by key (``"<folder>/<name>"``, e.g. ``"baseline/sdg"``), with their
    metadata (``meta``) and JSON-ready attrs (``attrs``) for summary.json; ``tables``:
    ``{scope: {table id: DataFrame}}``; ``summary``: top-level summary.json entries;
    ``timings``: seconds by step; ``warnings``: one-line messages for summary.json and the report.
    """

    layers: dict[str, Path] = field(default_factory=dict)
    meta: dict[str, LayerMeta] = field(default_factory=dict)
    attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


__all__ = ["StageOutputs"]
