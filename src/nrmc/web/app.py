"""The app factory: one FastAPI app serving pages and the JSON API on one store.

`create_app(settings)` wires the engine, signed-cookie sessions, token signer, body limit,
the read cache (web/read_cache.py), templates, static files (vendored htmx/ECharts and map
boundaries) and every slice's routers.
Domain errors map to HTTP here and nowhere else: NotFound → 404, Forbidden → 403, Conflict → 409.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from .. import __version__
from ..config import Settings, load_settings
from ..core.errors import Conflict, Forbidden, NotFound, NrmcError, Unprocessable
from ..core.inputs import explain
from ..db import make_engine, sessionmaker_for
from ..domains.users.service import Refused
from . import routes
from .deps import LoginRequired, PasswordChangeRequired
from .evaluation import EvaluationDesk
from .guards import AdmissionLimit, BodyLimit, RefuseNulBytes, SecurityHeaders, admission_slots
from .outflow import OutflowCache
from .read_cache import ReadCache, cached_routes
from .security import TokenSigner
from .strict_json import strict_json
from .templating import make_templates

STATIC = Path(__file__).with_name("static")
SESSION_MAX_AGE = 12 * 3600
STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, Unprocessable: 422}


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or load_settings()
    engine = engine or make_engine(settings.db_url)
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.env != "test":
            threading.Thread(target=_warm_outflow, args=(_app,), daemon=True).start()
            _app.state.evaluations.start()  # computes missing evaluations, one per deployment
        yield
        _app.state.evaluations.stop()

    app = FastAPI(
        lifespan=lifespan, title="nrmc API", version=__version__,
        description="National regional medical centres: registry, programme and operations. "
                    "Authenticate with POST /api/v1/auth/token (OAuth2 password form), then send "
                    "`Authorization: Bearer <access_token>`. Every list paginates (limit/offset) "
                    "and downloads as CSV or XLSX with ?format=csv|xlsx.",
        openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
        dependencies=[Depends(strict_json)],  # standard JSON only (web/strict_json.py)
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker_for(engine)
    app.state.tokens = TokenSigner(settings.secret_key)
    app.state.templates = make_templates(min_cell=settings.min_cell_size)
    app.state.outflow = OutflowCache(settings.flows_dir, engine=settings.engine,
                                     min_cell=settings.min_cell_size)
    app.state.evaluations = EvaluationDesk(settings, app.state.sessionmaker)  # web/evaluation.py
    # Outermost last. The read cache answers from memory inside the session (it needs the
    # decoded cookie) but outside the admission limit (a hit takes no pooled connection).
    app.add_middleware(AdmissionLimit, slots=admission_slots(engine, settings.web_concurrency))
    app.add_middleware(ReadCache, engine=engine, tokens=app.state.tokens,
                       flows_dir=settings.flows_dir, routes=cached_routes(routes.routers()),
                       max_entries=settings.read_cache_entries, ttl=settings.read_cache_seconds,
                       shared_file=settings.read_cache_file)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key,
                       session_cookie="nrmc_session", max_age=SESSION_MAX_AGE, same_site="lax",
                       https_only=settings.env == "production")
    app.add_middleware(RefuseNulBytes)
    # A body over the limit is refused before the session is decoded or anyone authenticated.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       upload_limit=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in routes.routers():
        app.include_router(router)
    _error_handlers(app)

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs() -> Response:
        """Swagger UI from the vendored swagger-ui-dist (FastAPI's default loads a CDN and
        starts it with an inline script, which the Content-Security-Policy forbids)."""
        return HTMLResponse(API_DOCS)

    return app


def _warm_outflow(app: FastAPI) -> None:
    """Compute the outflow reports once at start, off the request path, so the first visitor
    of the overview does not wait for the dataset scan (one call prepares every level)."""
    try:
        with app.state.sessionmaker() as session:
            app.state.outflow.sliced(session, level="province")
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first request computes
        return


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, message: str) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message, "user": None},
        status_code=status)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        """422 naming each refused field with a Chinese and English message; the input itself
        is never echoed (it may hold what JSON cannot encode, or what the caller should not see)."""
        errors = [_without_location_kind(e) for e in exc.errors()]
        return JSONResponse({"detail": [f.as_dict() for f in explain(errors)]}, status_code=422)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        """An account rule broken (username, password): 422 naming each field, as for input."""
        return JSONResponse({"detail": [p.as_dict() for p in exc.problems]}, status_code=422)

    @app.exception_handler(PasswordChangeRequired)
    async def _must_change(request: Request, exc: PasswordChangeRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=403, headers={"HX-Redirect": "/account/password"})
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(NrmcError)
    async def _domain(request: Request, exc: NrmcError) -> Response:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        if _wants_html(request):
            return _error_page(request, status, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if _wants_html(request) and exc.status_code in (403, 404):
            return _error_page(request, exc.status_code, str(exc.detail))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))


_LOCATION_KINDS = {"body", "query", "path", "header", "cookie"}


def _without_location_kind(error: dict) -> dict:
    """FastAPI prefixes each error's path with where the value came from; the field is the rest."""
    loc = tuple(error.get("loc", ()))
    if loc and loc[0] in _LOCATION_KINDS and len(loc) > 1:
        loc = loc[1:]
    return {**error, "loc": loc}


# The API reference page: the vendored Swagger UI, started by a static file (no inline script).
API_DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nrmc API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
<link rel="icon" href="/static/vendor/swagger-ui/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script></body></html>
"""
