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


def parse_if_match(value: str | None) -> int | None:
    """The row version an ``If-Match`` header names; a malformed one is invalid data."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InvalidData({"header.If-Match": f"{value!r} is not an ETag this API gave out"})
    return int(text)


async def engine_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FlowEngineError)  # noqa: S101 - registered for that class
    status, body, headers = body_of(exc)
    return JSONResponse(body, status_code=status, headers=headers)


async def request_invalid(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation errors in the same shape, with dotted field paths."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    fields: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(part) for part in error.get("loc", ()))
        fields[path or "body"] = str(error.get("msg", "invalid"))
    message = "invalid request: " + "; ".join(f"{k}: {v}" for k, v in sorted(fields.items()))
    body = {"error": {"type": "invalid_data", "message": message, "fields": fields}}
    return JSONResponse(body, status_code=422)


# the responses every API route may give besides its own, for the OpenAPI document
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid session or bearer token"},
    403: {"model": ErrorBody, "description": "The person's roles do not allow it"},
    404: {"model": ErrorBody, "description": "Unknown flow, instance or person"},
    409: {"model": ErrorBody, "description": "Conflict: changed meanwhile, or not possible now"},
    422: {"model": ErrorBody, "description": "Invalid data; `fields` maps paths to problems"},
    429: {"model": ErrorBody, "description": "Too many failed attempts; see Retry-After"},
}
