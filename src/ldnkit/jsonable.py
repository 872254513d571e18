"""JSON-ready values: numpy scalars and arrays, tuples and mappings made plain for summary.json and
GeoTIFF tags. A base module: imports nothing of ldnkit."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def jsonable(value: Any, *, nan_as_none: bool = False) -> Any:
    """``value`` with numpy scalars/arrays as Python numbers/lists, tuples as lists, keys as str;
    with ``nan_as_none``, NaN and infinite floats as None (strict JSON, as the tables' JSON)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(x, nan_as_none=nan_as_none) for k, x in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(x, nan_as_none=nan_as_none) for x in value]
    if isinstance(value, np.generic):
        value = value.item()
    if nan_as_none and isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def tag_text(value: Any) -> str:
    """A GeoTIFF tag's text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(jsonable(value))


__all__ = ["jsonable", "tag_text"]
