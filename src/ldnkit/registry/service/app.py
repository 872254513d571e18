"""The FastAPI app: OGC API Features Part 1 core (landing page, conformance, collections, items)
and Part 4 writes (POST, PUT, PATCH, DELETE) with bearer tokens, roles and ETag / If-Match.

Reads are public unless ``ServiceSettings.public_reads`` is False; writes need an editor token,
approval statuses an approver's. A stale ``If-Match`` gets 412 and changes nothing. Errors are JSON
``{"code", "field", "description", "fix"}`` with a 4xx status; tokens are read from the
``Authorization`` header only (never the URL, so never in access logs).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ldnkit.registry.errors import RegistryError
from ldnkit.registry.query import ActivityQuery, parse_datetime_interval
from ldnkit.registry.service.features import etag, fields_from_feature, to_feature, version_from_if_match
from ldnkit.registry.service.limits import BodySizeLimit
from ldnkit.registry.service.settings import ServiceSettings
from ldnkit.registry.service.web import add_web_routes, page_response, wants_page
from ldnkit.registry.store import Store, open_store
from ldnkit.registry.tokens import TokenHolder
from ldnkit.registry.vocabulary import APPROVER_STATUSES

GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
]
ITEM_PARAMS = {"bbox", "datetime", "limit", "offset", "status", "level", "practice", "region", "site", "f"}


class HttpError(RegistryError):
    """An error with an explicit HTTP status (401, 403, 400 ...)."""

    def __init__(self, status: int, field: str, what: str, fix: str | None = None) -> None:
        super().__init__(field, what, fix)
        self.status_code = status


def _error_response(error: RegistryError) -> JSONResponse:
    body: dict[str, Any] = {"code": str(error.status_code), "field": error.field, "description": error.what}
    if error.fix:
        body["fix"] = error.fix
    if error.repaired is not None:
        from shapely.geometry import mapping

        body["repaired"] = mapping(error.repaired)
    headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def _holder(request: Request, store: Store) -> TokenHolder | None:
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        raise HttpError(401, "Authorization", "is not a bearer token", "send 'Authorization: Bearer <token>'")
    holder = store.authenticate(token.strip())
    if holder is None:
        raise HttpError(401, "Authorization", "the token is unknown or revoked", "ask an admin for a token")
    return holder


def _require(request: Request, store: Store, role: str) -> TokenHolder:
    holder = _holder(request, store)
    if holder is None:
        raise HttpError(401, "Authorization", "a token is required", "send 'Authorization: Bearer <token>'")
    if not holder.may(role):
        raise HttpError(403, "Authorization", f"a {holder.role} token may not do this", f"it needs {role}")
    return holder


def _int(value: str | None, field: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or len(value) > 9 or not low <= int(value) <= high:
        raise HttpError(400, field, f"{value[:40]!r} is not an integer from {low} to {high}", None)
    return int(value)


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise HttpError(
            400, "bbox", f"{value[:60]!r} is not four numbers", "bbox=minlon,minlat,maxlon,maxlat"
        )
    return parts  # type: ignore[return-value]


def items_query(params: dict[str, str], settings: ServiceSettings) -> ActivityQuery:
    """The store query of an ``/items`` request (400 on an unknown or bad parameter)."""
    unknown = sorted(set(params) - ITEM_PARAMS)
    if unknown:
        raise HttpError(
            400, unknown[0][:40], "is not a query parameter of this collection", ", ".join(ITEM_PARAMS)
        )
    for key in ("status", "level", "practice", "region", "site"):
        if key in params and len(params[key]) > 200:
            raise HttpError(400, key, "is too long", "200 characters at most")
    try:
        period = parse_datetime_interval(params["datetime"]) if "datetime" in params else None
        return ActivityQuery(
            bbox=_bbox(params.get("bbox")),
            period=period,
            status=params.get("status"),
            level=params.get("level"),
            practice=params.get("practice"),
            region=params.get("region"),
            site=params.get("site"),
            limit=_int(params.get("limit"), "limit", settings.default_limit, 1, settings.max_limit),
            offset=_int(params.get("offset"), "offset", 0, 0, 10**9),
        )
    except HttpError:
        raise
    except RegistryError as error:
        raise HttpError(400, error.field, error.what, error.fix) from None


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, "body", "is not JSON", "send a GeoJSON Feature") from None


def create_app(store: Store, settings: ServiceSettings | None = None) -> FastAPI:
    """The service's FastAPI app over ``store``."""
    settings = settings or ServiceSettings()
    app = FastAPI(title="ldnkit activity registry", docs_url=None, redoc_url=None, openapi_url="/api")
    app.state.store, app.state.settings = store, settings

    @app.exception_handler(RegistryError)
    async def _registry_error(_request: Request, error: RegistryError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        return _error_response(HttpError(400, "request", "is malformed", str(error.errors()[:1])[:200]))

    _read_routes(app, store, settings)
    _write_routes(app, store)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "If-Match"],
            expose_headers=["ETag"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


def _read_routes(app: FastAPI, store: Store, settings: ServiceSettings) -> None:
    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def check_read(request: Request) -> None:
        if not settings.public_reads:
            _require(request, store, "viewer")

    @app.get("/")
    def landing(request: Request) -> Any:
        if wants_page(request):  # a browser: the web page (it reads the data through the API)
            return page_response()
        check_read(request)
        b = base(request)
        return {
            "title": "ldnkit activity registry",
            "links": [
                {"href": f"{b}/", "rel": "self", "type": "application/json"},
                {
                    "href": f"{b}/api",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                },
                {"href": f"{b}/conformance", "rel": "conformance", "type": "application/json"},
                {"href": f"{b}/collections", "rel": "data", "type": "application/json"},
                {"href": f"{b}/?f=html", "rel": "alternate", "type": "text/html"},
            ],
        }

    @app.get("/conformance")
    def conformance(request: Request) -> dict:
        check_read(request)
        return {"conformsTo": CONFORMANCE}

    add_web_routes(app, settings.run_folder, check_read)

    def collection(b: str) -> dict:
        return {
            "id": "activities",
            "title": "Restoration and sustainable land management activities",
            "itemType": "feature",
            "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
            "links": [{"href": f"{b}/collections/activities/items", "rel": "items", "type": GEOJSON}],
        }

    @app.get("/collections")
    def collections(request: Request) -> dict:
        check_read(request)
        b = base(request)
        return {"collections": [collection(b)], "links": [{"href": f"{b}/collections", "rel": "self"}]}

    @app.get("/collections/activities")
    def activities(request: Request) -> dict:
        check_read(request)
        return collection(base(request))

    @app.get("/collections/{collection_id}")
    def other_collection(collection_id: str) -> dict:
        raise HttpError(404, "collection", f"{collection_id[:40]!r} does not exist", "use 'activities'")

    @app.get("/collections/activities/items")
    def items(request: Request) -> Response:
        check_read(request)
        params = dict(request.query_params)
        query = items_query(params, settings)
        page = store.query(query)
        b = base(request)
        features = [to_feature(r, b) for r in page.items]
        links = [{"href": str(request.url), "rel": "self", "type": GEOJSON}]
        if query.offset + len(features) < page.matched:
            nxt = request.url.include_query_params(offset=query.offset + query.limit, limit=query.limit)
            links.append({"href": str(nxt), "rel": "next", "type": GEOJSON})
        body = {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": page.matched,
            "numberReturned": len(features),
            "links": links,
        }
        return JSONResponse(body, media_type=GEOJSON)

    @app.get("/collections/activities/items/{item_id}")
    def item(request: Request, item_id: str) -> Response:
        check_read(request)
        record = store.get(item_id[:64])
        return JSONResponse(
            to_feature(record, base(request)), media_type=GEOJSON, headers={"ETag": etag(record["version"])}
        )


def _write_routes(app: FastAPI, store: Store) -> None:
    def feature_response(request: Request, record: dict, status: int = 200) -> Response:
        b = str(request.base_url).rstrip("/")
        headers = {
            "ETag": etag(record["version"]),
            "Location": f"{b}/collections/activities/items/{record['id']}",
        }
        return JSONResponse(to_feature(record, b), status_code=status, media_type=GEOJSON, headers=headers)

    @app.post("/collections/activities/items")
    async def create(request: Request) -> Response:
        body = await _json_body(request)

        def work() -> dict:  # database work off the event loop
            holder = _require(request, store, "editor")
            fields = fields_from_feature(body, replace=False)
            if fields.pop("status", "draft") not in ("draft", None):
                raise HttpError(
                    400, "status", "a new activity starts as draft", "submit it afterwards with PATCH"
                )
            fields.pop("id", None)
            return store.create(fields, by=holder.label)

        return feature_response(request, await run_in_threadpool(work), status=201)

    def apply_change(request: Request, item_id: str, body: Any, replace: bool) -> dict:
        holder = _require(request, store, "editor")
        version = version_from_if_match(request.headers.get("if-match"))
        fields = fields_from_feature(body, replace=replace)
        fields.pop("id", None)
        status = fields.pop("status", None)
        if status is not None and status == store.get(item_id[:64])["status"]:
            status = None  # a PUT repeating the current status changes nothing there
        if status is None:
            return store.update(item_id[:64], fields, by=holder.label, expected_version=version)
        if replace or fields:
            raise HttpError(400, "status", "is changed alone", "send the status in its own PATCH")
        if status in APPROVER_STATUSES and not holder.may("approver"):
            raise HttpError(403, "status", f"only an approver may set {status}", "ask an approver")
        return store.set_status(item_id[:64], status, by=holder.label, expected_version=version)

    async def change(request: Request, item_id: str, replace: bool) -> Response:
        body = await _json_body(request)
        record = await run_in_threadpool(apply_change, request, item_id, body, replace)
        return feature_response(request, record)

    @app.put("/collections/activities/items/{item_id}")
    async def replace(request: Request, item_id: str) -> Response:
        return await change(request, item_id, replace=True)

    @app.patch("/collections/activities/items/{item_id}")
    async def update(request: Request, item_id: str) -> Response:
        return await change(request, item_id, replace=False)

    @app.delete("/collections/activities/items/{item_id}")
    def delete(request: Request, item_id: str) -> Response:
        holder = _require(request, store, "editor")
        version = version_from_if_match(request.headers.get("if-match"))
        store.delete(item_id[:64], by=holder.label, expected_version=version)
        return Response(status_code=204)


def serve(location: str, settings: ServiceSettings | None = None) -> None:
    """Run the service on ``location`` (file or URL) with uvicorn; blocks until stopped."""
    import uvicorn

    settings = settings or ServiceSettings()
    store = open_store(location)
    uvicorn.run(create_app(store, settings), host=settings.host, port=settings.port, log_level="info")
