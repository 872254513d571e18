"""JSON-ready values: numpy scalars and arrays, tuples and mappings made plain for summary.json and
GeoTIFF tags. A base module: imports nothing of ldnkit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python numbers/lists, tuples as lists, keys as str."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(x) for x in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def tag_text(value: Any) -> str:
    """A GeoTIFF tag's text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(jsonable(value))


__all__ = ["jsonable", "tag_text"]
