"""What a written layer says about itself: title, group, unit, description, legend, report use.

Part of the run folder's file-format contract (docs/outputs.md). The stage that computes a layer
gives its :class:`LayerMeta`; when the layer is written the metadata goes into the GeoTIFF (tag
:data:`LAYER_TAG`, JSON; the legend itself in ``LDNKIT_LEGEND``) and into summary.json (``"layers":
{key: entry}``). The report, the QGIS project and the workbook read it from the folder, so adding
a layer touches the module that computes it, not lists of layer names kept elsewhere.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ldnkit.codes import Legend

#: GeoTIFF tag holding a layer's metadata entry as JSON.
LAYER_TAG = "LDNKIT_LAYER"
#: Top-level groups, in the order the report and the QGIS project show them.
GROUP_ORDER = (
    "SDG 15.3.1",
    "Land cover",
    "Land productivity",
    "Soil organic carbon",
    "Drought",
    "Activities",
    "Neutrality",
    "Other",
)


@dataclass(frozen=True)
class LayerMeta:
    """Metadata of one output layer.

    ``group`` is one of :data:`GROUP_ORDER` (a new one sorts before "Other"); ``subgroup`` refines
    it (a period name, "SPI per year" ...); ``order`` places the layer within its group;
    ``report_map`` puts it among the maps the report draws for each period; ``legend`` is set for
    categorical layers (its codes, names and colours), None for continuous ones.
    """

    title: str
    group: str
    description: str
    unit: str = ""
    legend: Legend | None = None
    order: int = 100
    subgroup: str | None = None
    report_map: bool = False

    @property
    def kind(self) -> str:
        return "categorical" if self.legend is not None else "continuous"

    def replace(self, **changes: Any) -> LayerMeta:
        return dataclasses.replace(self, **changes)

    def classes(self) -> list[list[Any]] | None:
        """The legend's classes as ``[[code, name], ...]`` (None for continuous layers); stored in
        the entry so that readers of summary.json (the workbook) need not open the GeoTIFF."""
        if self.legend is None:
            return None
        return [[int(c), str(n)] for c, n in zip(self.legend.codes, self.legend.names, strict=True)]

    def entry(self) -> dict[str, Any]:
        """The JSON entry written to the GeoTIFF tag and summary.json."""
        return {
            "title": self.title,
            "group": self.group,
            "subgroup": self.subgroup,
            "description": self.description,
            "unit": self.unit,
            "kind": self.kind,
            "legend": self.legend.name if self.legend is not None else None,
            "classes": self.classes(),
            "order": self.order,
            "report_map": self.report_map,
        }

    def tag(self) -> str:
        return json.dumps(self.entry())


def group_rank(group: str) -> float:
    """Position of a group in :data:`GROUP_ORDER`; unknown groups just before "Other"."""
    return GROUP_ORDER.index(group) if group in GROUP_ORDER else GROUP_ORDER.index("Other") - 0.5


def sorted_entries(layers: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """summary.json's ``layers`` as (key, entry) pairs in display order: group, order, key."""

    def rank(item: tuple[str, Mapping[str, Any]]) -> tuple:
        key, e = item
        return (group_rank(str(e.get("group", "Other"))), e.get("order", 100), key)

    return sorted(layers.items(), key=rank)


def entries_with(layers: Mapping[str, Mapping[str, Any]], **match: Any) -> Iterable[str]:
    """Keys of the entries whose fields equal ``match`` (e.g. ``report_map=True``)."""
    for key, e in sorted_entries(layers):
        if all(e.get(k) == v for k, v in match.items()):
            yield key
