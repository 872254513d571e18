"""The ``activities`` section: restoration and land-management activities from the registry."""

from __future__ import annotations

from pydantic import Field

from ldnkit.config.model import Strict


class ActivitiesConfig(Strict):
    """Restoration and land-management activities compiled per region (docs/registry.md): the
    registry (an embedded GeoPackage path or ``postgresql://...``) and the statuses counted."""

    registry: str
    statuses: list[str] = Field(default_factory=lambda: ["approved"], min_length=1)
