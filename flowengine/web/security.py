"""Who a request acts as: a bearer token, or the person of a signed session cookie.

Browser sessions are cookies signed by Starlette's ``SessionMiddleware``
(itsdangerous); the key is kept in the database so that every process
behind it accepts the same cookies. A request authenticated by its cookie
must also carry the session's CSRF token (form field ``csrf`` or header
``X-CSRF-Token``) on anything that changes state; a bearer token is not
sent by a browser on its own, so it needs none.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from flowengine.accounts import Accounts
from flowengine.engine import Engine
from flowengine.errors import AuthenticationFailed, PermissionDenied, UnknownPerson
from flowengine.instance import Person

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_SECONDS = 10 * 3600  # one working day; then log in again
CSRF_HEADER = "X-CSRF-Token"


class CsrfRefused(PermissionDenied):
    """A cookie-authenticated change without the session's CSRF token."""


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    expected = request.session.get("csrf")
    if (
        not isinstance(expected, str)
        or not sent
        or not hmac.compare_digest(expected.encode(), sent.encode())
    ):
        raise CsrfRefused(
            "the form's security token is missing or stale; reload the page and send it again"
        )


def bearer_person(request: Request) -> Person | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("use 'Authorization: Bearer <token>' (flowengine tokens create)")
    return accounts_of(request).person_for_token(token.strip())


def session_person(request: Request) -> Person | None:
    person_id = request.session.get("person")
    if not isinstance(person_id, str):
        return None
    # an absolute limit: re-signing the cookie on every write must not keep a
    # copied session alive for ever
    logged_in = request.session.get("since")
    if not isinstance(logged_in, float) or time.time() - logged_in > SESSION_SECONDS:
        request.session.clear()
        return None
    # a new password ends every session begun before it (a stolen cookie too)
    changed = accounts_of(request).password_set_at(person_id)
    if changed is not None and changed.timestamp() > logged_in:
        request.session.clear()
        return None
    try:
        return engine_of(request).person(person_id)
    except UnknownPerson:
        request.session.clear()  # the person was removed since they logged in
        return None


# Declared for the OpenAPI document (its security schemes); the checks are ours,
# so both are optional here and a request without either gets our 401.
BEARER = HTTPBearer(
    auto_error=False, description="An API token: `flowengine tokens create --as … --name …`."
)
SESSION_COOKIE = APIKeyCookie(
    name="flowengine_session",
    auto_error=False,
    description="The session from /login; state-changing calls also need `X-CSRF-Token`.",
)


def api_person(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    _cookie: Annotated[str | None, Depends(SESSION_COOKIE)],
) -> Person:
    """FastAPI dependency of every API route: the person the request acts as.

    A plain function, so FastAPI runs it (a database read) in its thread pool.
    """
    person = bearer_person(request)
    if person is not None:
        return person
    person = session_person(request)
    if person is None:
        raise AuthenticationFailed(
            "log in at /login or send 'Authorization: Bearer <token>' (flowengine tokens create)"
        )
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return person


def log_in(request: Request, person: Person) -> None:
    """Start a fresh session (a new CSRF token too: no fixation across logins)."""
    language = request.session.get("lang")
    request.session.clear()
    request.session["person"] = person.id
    request.session["since"] = time.time()
    if language:
        request.session["lang"] = language
    csrf_token(request)
