"""The registry's OGC API Features service (Part 1 core, Part 4 create/replace/update/delete).

``create_app(store, settings)`` builds the FastAPI app; ``serve(location, settings)`` runs it with
uvicorn (bound to 127.0.0.1 unless told otherwise).
"""

from __future__ import annotations

from ldnkit.registry.service.app import create_app, serve
from ldnkit.registry.service.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app", "serve"]
