"""Engine errors as HTTP responses: one status per error class, one JSON shape.

Every error the API returns is::

    {"error": {"type": "not_found", "message": "…one line…",
               "fields": {"data.konu": "…"},      # 422 only: field path → problem
               "current_version": 7}}              # 409 on a concurrent update only

The message is the engine's own one-line message, the same the CLI prints.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from flowengine.errors import (
    AuthenticationFailed,
    ConcurrentUpdate,
    FlowEngineError,
    GuardRefused,
    IdempotencyConflict,
    InvalidData,
    NotFound,
    PermissionDenied,
    StateWaiting,
    StorageError,
    TooManyAttempts,
    TransitionNotAllowed,
)

# most specific first: the first matching class decides
STATUS: tuple[tuple[type[FlowEngineError], int, str], ...] = (
    (AuthenticationFailed, 401, "unauthenticated"),
    (PermissionDenied, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (ConcurrentUpdate, 409, "concurrent_update"),
    (TransitionNotAllowed, 409, "transition_not_allowed"),
    (GuardRefused, 409, "guard_refused"),
    (StateWaiting, 409, "state_waiting"),
    (IdempotencyConflict, 409, "idempotency_conflict"),
    (InvalidData, 422, "invalid_data"),
    (TooManyAttempts, 429, "too_many_attempts"),
    (StorageError, 503, "storage_unavailable"),
)


class ErrorDetail(BaseModel):
    type: str
    message: str
    fields: dict[str, str] | None = None
    current_version: int | None = None


class ErrorBody(BaseModel):
    """The shape of every error response of the API."""

    error: ErrorDetail


def status_of(exc: FlowEngineError) -> tuple[int, str]:
    for cls, status, kind in STATUS:
        if isinstance(exc, cls):
            return status, kind
    return 500, "server_error"


def body_of(exc: FlowEngineError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, extra headers) for an engine error."""
    status, kind = status_of(exc)
    detail: dict[str, Any] = {"type": kind, "message": str(exc)}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidData):
        detail["fields"] = {_data_path(k): v for k, v in exc.problems.items()}
    if isinstance(exc, ConcurrentUpdate):
        detail["current_version"] = exc.current_version
        headers["ETag"] = etag(exc.current_version)
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="flowengine"'
    return status, {"error": detail}, headers


def _data_path(key: str) -> str:
    # the engine names fields by their flow name; the API's body nests them under data
    return key if key.startswith(("data.", "body.", "query.", "header.")) else f"data.{key}"


def etag(row_version: int) -> str:
    return f'"{row_version}"'


IF_MATCH_PATTERN = r'^\s*(\*|"[0-9]{1,18}")\s*$'  # strong ETags only (RFC 9110)


def parse_if_match(value: str | None) -> int | None:
    """The row version an ``If-Match`` header names (its form is checked by the route)."""
    if value is None or value.strip() == "*":
        return None
    return int(value.strip().strip('"'))


async def engine_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FlowEngineError)  # noqa: S101 - registered for that class
    status, body, headers = body_of(exc)
    return JSONResponse(body, status_code=status, headers=headers)


def validation_fields(exc: RequestValidationError) -> dict[str, str]:
    """FastAPI's validation errors as dotted field path → problem."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(part) for part in error.get("loc", ()))
        fields[path or "body"] = str(error.get("msg", "invalid"))
    return fields


async def request_invalid(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation errors in the same shape, with dotted field paths."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    fields = validation_fields(exc)
    message = "invalid request: " + "; ".join(f"{k}: {v}" for k, v in sorted(fields.items()))
    body = {"error": {"type": "invalid_data", "message": message, "fields": fields}}
    return JSONResponse(body, status_code=422)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
HTTP_KINDS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


def http_headers(request: Request, exc: StarletteHTTPException) -> dict[str, str]:
    """The error's headers; a 405's ``Allow`` names every method of the path."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        methods = [
            method
            for method in METHODS
            if any(
                route.matches({**request.scope, "method": method})[0] == Match.FULL
                for route in request.app.routes
            )
        ]
        headers["Allow"] = ", ".join(methods)
    return headers


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """The framework's own errors (unknown path, wrong method, unparsable body) in our shape.

    A 405 lists every method of the path in ``Allow``: routing stops at the first
    route whose path matches, which would name only that route's methods.
    """
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    headers = http_headers(request, exc)
    kind = HTTP_KINDS.get(exc.status_code, "http_error")
    body = {"error": {"type": kind, "message": str(exc.detail)}}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


# the responses every API route may give besides its own, for the OpenAPI document
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body could not be parsed"},
    401: {"model": ErrorBody, "description": "No valid session or bearer token"},
    403: {"model": ErrorBody, "description": "The person's roles do not allow it"},
    404: {"model": ErrorBody, "description": "Unknown flow, instance or person"},
    409: {"model": ErrorBody, "description": "Conflict: changed meanwhile, or not possible now"},
    422: {"model": ErrorBody, "description": "Invalid data; `fields` maps paths to problems"},
    429: {"model": ErrorBody, "description": "Too many failed attempts; see Retry-After"},
    500: {"model": ErrorBody, "description": "A bug: logged on the server, please report it"},
    503: {"model": ErrorBody, "description": "The database is unavailable; retry later"},
}
