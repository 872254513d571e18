"""The practice catalogue shipped with ldnkit: WOCAT measures and SLM groups, UNCCD D-SLM groups.

The catalogue is package data (``catalogue/practices.json``) with its sources and version; each practice
has a code, a name, a family (``wocat_measure``, ``wocat_slm_group``, ``unccd_dslm``), a group, the
response levels it serves (avoid / reduce / reverse), whether it is drought-relevant, and ``tags_by``
saying whether those tags are the source's or ldnkit's.

>>> catalogue().practice("V1").name
'Tree and shrub cover'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ldnkit.registry.errors import RegistryError


@dataclass(frozen=True)
class Practice:
    """One practice of the catalogue (see the module docstring for the fields)."""

    code: str
    name: str
    family: str
    group: str
    levels: tuple[str, ...]
    drought_relevant: bool
    tags_by: str


@dataclass(frozen=True)
class Catalogue:
    """The practice catalogue: its name, version, sources and practices by code."""

    name: str
    version: str
    sources: dict[str, str]
    practices: dict[str, Practice]

    def practice(self, code: str) -> Practice:
        """The practice with ``code`` (case-insensitive); RegistryError naming ``practices`` if unknown."""
        found = self.practices.get(str(code).strip().upper())
        if found is None:
            raise RegistryError(
                "practices",
                f"{code!r} is not a practice code of the catalogue {self.name} {self.version}",
                "use a code such as A1, V1, S4, M2, SLM03 or DSLM01 (ldnkit.registry.catalogue() lists them)",
            )
        return found


@cache
def catalogue() -> Catalogue:
    """The shipped practice catalogue (read once)."""
    text = resources.files("ldnkit.registry").joinpath("catalogue/practices.json").read_text("utf-8")
    doc = json.loads(text)
    practices = {
        p["code"]: Practice(
            p["code"],
            p["name"],
            p["family"],
            p["group"],
            tuple(p["levels"]),
            p["drought_relevant"],
            p["tags_by"],
        )
        for p in doc["practices"]
    }
    return Catalogue(doc["name"], doc["version"], doc["sources"], practices)
