"""The web page of the registry service: ``/`` for a browser, its files under ``/static``, and the
run overlays (``/overlays``, ``/overlays/{key}.png``) when the service was given a run folder.

Everything the page needs ships in the package (``ldnkit/registry/static``, Leaflet vendored), so
it works offline. The page is static: it reads and writes through the OGC API like any client,
sending the token the user typed (kept in the tab's sessionStorage) as a bearer token.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from threading import Lock

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from ldnkit.registry.errors import RegistryError
from ldnkit.registry.service.overlay import Overlay, RenderedOverlay, find_overlays, render_overlay

STATIC = Path(__file__).resolve().parent.parent / "static"
#: The page loads only its own files; data goes in as text, never as markup.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def wants_page(request: Request) -> bool:
    """Whether a request for ``/`` asks for the web page (``f=html``, or a browser's Accept)."""
    form = request.query_params.get("f")
    if form is not None:
        return form == "html"
    return "text/html" in request.headers.get("accept", "")


def page_response() -> Response:
    """The web page (index.html) with a strict content security policy."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)


class OverlayCache:
    """The overlays of one run folder, each rendered on first request and kept."""

    def __init__(self, run: str | Path | None) -> None:
        if run is not None and not (Path(run) / "layers").is_dir():
            raise RegistryError("run", f"{run} has no layers/ folder", "give the output folder of a run")
        self.overlays: dict[str, Overlay] = {o.key: o for o in find_overlays(run)} if run else {}
        self._rendered: dict[str, RenderedOverlay] = {}
        self._lock = Lock()

    def get(self, key: str) -> RenderedOverlay:
        if key not in self.overlays:
            error = RegistryError("overlay", f"{key[:40]!r} is not a layer of the run", "see /overlays")
            error.status_code = 404
            raise error
        with self._lock:
            if key not in self._rendered:
                self._rendered[key] = render_overlay(self.overlays[key])
            return self._rendered[key]


def add_web_routes(app: FastAPI, run: str | Path | None, check_read: Callable[[Request], None]) -> None:
    """Mount the page's static files and the run overlays on ``app`` (overlays read as the items)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    cache = OverlayCache(run)

    @app.get("/overlays")
    def overlays(request: Request) -> dict:
        check_read(request)
        base = str(request.base_url).rstrip("/")
        listing = []
        for key, overlay in cache.overlays.items():
            rendered = cache.get(key)
            listing.append(
                {
                    "key": key,
                    "title": overlay.title,
                    "bounds": rendered.bounds,
                    "legend": rendered.legend,
                    "href": f"{base}/overlays/{key}.png",
                }
            )
        return {"overlays": listing}

    @app.get("/overlays/{key}.png")
    def overlay_png(request: Request, key: str) -> Response:
        check_read(request)
        return Response(cache.get(key).png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})
