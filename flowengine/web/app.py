"""The FastAPI application over one :class:`Engine`: routes, sessions, error shapes."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from flowengine.accounts import Accounts
from flowengine.engine import Engine
from flowengine.errors import FlowEngineError
from flowengine.web import api, open311, pages, problems
from flowengine.web.security import SESSION_SECONDS

log = logging.getLogger("flowengine.web")

STATIC = Path(__file__).parent / "static"


def create_app(
    engine: Engine,
    *,
    open311_flow: str = "bizim_masa",
    secure_cookies: bool = False,
) -> FastAPI:
    """The web application serving ``engine``.

    ``secure_cookies``: send the session cookie over HTTPS only (set it behind a
    TLS-terminating proxy, the way a municipality deploys it). The cookies'
    signing key is ``FLOWENGINE_SESSION_KEY`` when set (kept out of the
    database and its backups), else one made once and kept in the database.
    """
    app = FastAPI(
        title="flowengine",
        version="1",
        description=(
            "Workflow engine of Ayvalık Belediyesi's charts. Authenticate with "
            "`Authorization: Bearer <token>` (`flowengine tokens create`) or a session "
            "cookie from `/login`. Errors have one shape: `{error: {type, message, "
            "fields?, current_version?}}`."
        ),
    )
    app.state.engine = engine
    app.state.accounts = Accounts(engine)
    app.state.open311_flow = open311_flow
    app.add_middleware(
        SessionMiddleware,
        secret_key=os.environ.get("FLOWENGINE_SESSION_KEY") or app.state.accounts.signing_key(),
        session_cookie="flowengine_session",
        max_age=SESSION_SECONDS,
        same_site="lax",
        https_only=secure_cookies,
    )
    app.middleware("http")(_protective_headers)
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(FlowEngineError, _engine_error)
    app.add_exception_handler(pages.LoginRequired, pages.error_page)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(api.router)
    app.include_router(open311.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _engine_error(request: Request, exc: Exception) -> Response:
    """JSON of the documented shape for the API; an HTML page for a browser's page."""
    if request.url.path.startswith(("/api/", "/open311/")):
        return await problems.engine_error(request, exc)
    return pages.error_page(request, exc)


async def _request_invalid(request: Request, exc: Exception) -> Response:
    """Open311 clients get GeoReport's error array; everyone else the API's shape."""
    if request.url.path.startswith("/open311/"):
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        return open311.invalid_request(problems.validation_fields(exc))
    return await problems.request_invalid(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """The framework's own errors (unknown path, wrong method) in each face's shape."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    if request.url.path.startswith("/open311/"):
        answer = open311.http_error(exc.status_code, str(exc.detail))
        answer.headers.update(problems.http_headers(request, exc))
        return answer
    if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
        return await problems.http_error(request, exc)
    return pages.http_error_page(request, exc.status_code, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A bug: logged with its traceback (no request data), answered in the documented shape."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "internal error; it was logged, please report it"
    if request.url.path.startswith("/open311/"):
        return open311.http_error(500, message)
    body = {"error": {"type": "server_error", "message": message}}
    return JSONResponse(body, status_code=500)


async def _protective_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Pages and answers carry personal data: never cached, never framed by another site."""
    response = await call_next(request)
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
