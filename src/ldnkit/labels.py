"""Class labels as people write them: integers, "3.0", roman numerals "III", "Class III".

A base module (imports only :mod:`ldnkit.errors`): io reads field data with it and indicators parse
land-type labels with it.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ldnkit.errors import InputError

__all__ = ["is_empty", "parse_class", "roman_to_int", "to_roman"]

_EMPTY = {"", "none", "nan", "na", "n/a", "-", "null"}
_ROMAN_VALUES = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def to_roman(n: int) -> str:
    """Canonical roman numeral of a positive integer (8 -> "VIII")."""
    out = ""
    for v, s in _ROMAN_VALUES:
        while n >= v:
            out += s
            n -= v
    return out


#: Canonical roman numerals 1..39 -> value (land capability classes use I..VIII).
_ROMAN = {to_roman(n): n for n in range(1, 40)}


def roman_to_int(text: Any) -> int | None:
    """Value of a canonical roman numeral ("III" -> 3), None if ``text`` is not one.

    >>> roman_to_int("viii"), roman_to_int("IIII")
    (8, None)
    """
    return _ROMAN.get(str(text).strip().upper())


def is_empty(value: Any) -> bool:
    """True for None, NA, NaN and the blank spellings of a missing field ("", "none", "n/a", "-", ...)."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in _EMPTY


def parse_class(
    value: Any, where: str, column: str, max_class: int | None = None, row: int | None = None
) -> int | None:
    """A class number given as an integer, "3", "3.0", a roman numeral "III" or "Class III".

    Empty values give None; anything else raises :class:`InputError` naming ``where`` and ``column``.
    """
    if is_empty(value):
        return None
    at = f"column {column!r}" + (f", row {row}" if row is not None else "")
    out: int | None = None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = int(value)
    elif isinstance(value, (float, np.floating)):
        out = int(value) if float(value).is_integer() else None
    else:
        text = re.sub(r"^class\s*", "", str(value).strip(), flags=re.IGNORECASE)
        try:
            f = float(text)
            out = int(f) if f.is_integer() else None
        except ValueError:
            out = roman_to_int(text)
    limit = f"1..{max_class} (I..{to_roman(max_class)})" if max_class else "a positive integer"
    if out is None or out < 1 or (max_class is not None and out > max_class):
        raise InputError(
            where, f"{at}: {value!r} is not a class {limit}", "write an integer or a roman numeral"
        )
    return out
