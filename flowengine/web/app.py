"""The FastAPI application over one :class:`Engine`: routes, sessions, error shapes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from flowengine.accounts import Accounts
from flowengine.engine import Engine
from flowengine.errors import FlowEngineError
from flowengine.web import api, open311, pages, problems

SESSION_AGE = timedelta(hours=10)  # one working day; then log in again
STATIC = Path(__file__).parent / "static"


def create_app(
    engine: Engine,
    *,
    open311_flow: str = "bizim_masa",
    secure_cookies: bool = False,
) -> FastAPI:
    """The web application serving ``engine``.

    ``secure_cookies``: send the session cookie over HTTPS only (set it behind a
    TLS-terminating proxy, the way a municipality deploys it).
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
        secret_key=app.state.accounts.signing_key(),
        session_cookie="flowengine_session",
        max_age=int(SESSION_AGE.total_seconds()),
        same_site="lax",
        https_only=secure_cookies,
    )
    app.add_exception_handler(FlowEngineError, _engine_error)
    app.add_exception_handler(pages.LoginRequired, pages.error_page)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, problems.http_error)
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
