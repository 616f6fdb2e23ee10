"""Server-rendered pages: the staff inbox and case pages, and the citizen's /durum.

Plain HTML forms that work without JavaScript; htmx (vendored) swaps the
page body instead of reloading it, and mermaid draws the flow diagram. Every
page acts as the logged-in person through the same :class:`Engine` calls as
the API, so the same role checks and masking apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from flowengine import policy, schema
from flowengine.definition import FlowDefinition
from flowengine.desk import citizen
from flowengine.engine import Engine
from flowengine.errors import (
    ConcurrentUpdate,
    FlowEngineError,
    InvalidData,
    PermissionDenied,
    TooManyAttempts,
    TransitionNotAllowed,
)
from flowengine.graph import to_mermaid
from flowengine.instance import Person
from flowengine.web import i18n
from flowengine.web.forms import form_values
from flowengine.web.problems import status_of
from flowengine.web.security import (
    CsrfRefused,
    accounts_of,
    check_csrf,
    client_of,
    csrf_token,
    engine_of,
    log_in,
    session_person,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["local_time"] = i18n.local_time
templates.env.filters["local_day"] = i18n.local_day


class LoginRequired(Exception):
    """Raised by a page that needs a person; answered with a redirect to /login."""


def language(request: Request) -> str:
    chosen = request.session.get("lang")
    return chosen if chosen in i18n.LANGUAGES else i18n.DEFAULT


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "t": lambda key: i18n.word(key, lang),
            "csrf": csrf_token(request),
            "flash": request.session.pop("flash", None),
            "person": context.pop("person", None),
            **context,
        },
        status_code=status_code,
    )


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session["flash"] = {"kind": kind, "text": message}


def back_to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def staff(request: Request) -> Person:
    person = session_person(request)
    if person is None:
        raise LoginRequired
    return person


async def form_of(request: Request) -> dict[str, str]:
    """The posted form as text values, after its CSRF token is checked."""
    values = await form_values(request)
    check_csrf(request, values.pop("csrf", None))
    return values


# -- login ------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> RedirectResponse:
    return back_to("/inbox" if session_person(request) else "/login")


@router.get("/login")
def login_page(request: Request, next: str = "/inbox") -> HTMLResponse:
    return render(request, "login.html", next=_local_path(next))


@router.post("/login")
async def login(request: Request) -> Response:
    # argon2 takes a quarter second: never on the event loop
    return await run_in_threadpool(_login, request, await form_of(request))


def _login(request: Request, values: dict[str, str]) -> Response:
    target = _local_path(values.get("next", "/inbox"))
    try:
        person = accounts_of(request).login(
            values.get("person", "").strip(), values.get("password", ""), client_of(request)
        )
    except FlowEngineError as exc:
        # one message for an unknown person and a wrong password
        return refusal(request, exc, "login.html", "wrong_login", next=target)
    log_in(request, person)
    return back_to(target)


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    await form_of(request)
    request.session.clear()
    return back_to("/login")


@router.get("/lang/{code}")
def set_language(request: Request, code: str, next: str = "/") -> RedirectResponse:
    if code in i18n.LANGUAGES:
        request.session["lang"] = code
    return back_to(_local_path(next))


def _local_path(target: str) -> str:
    """Only redirect within this site (no open redirect through ?next=)."""
    return target if target.startswith("/") and not target.startswith("//") else "/inbox"


# -- inbox and cases ----------------------------------------------------------------


@router.get("/inbox")
def inbox(request: Request) -> HTMLResponse:
    person = staff(request)
    engine = engine_of(request)
    now = engine.clock()
    tasks = engine.tasks(person.id)
    startable = [d for _, d in sorted(engine.current.items()) if policy.may_start(d, person)]
    return render(
        request,
        "inbox.html",
        person=person,
        tasks=tasks,
        now=now,
        startable=startable,
        notifications=engine.notifications(person.id, limit=10),
        state_title=lambda flow, state: _state_title(engine, flow, state),
        flow_title=lambda flow: engine.current[flow].title if flow in engine.current else flow,
    )


@router.get("/flows/{flow}/new")
def new_case_page(request: Request, flow: str) -> HTMLResponse:
    person = staff(request)
    definition = engine_of(request).definition(flow)
    fields = policy.start_rule(definition, person).fields  # PermissionDenied: a 403 page
    return render(
        request,
        "new_case.html",
        person=person,
        definition=definition,
        inputs=[_input(engine_of(request), definition, n) for n in fields],
        values={},
    )


@router.post("/flows/{flow}/new")
async def new_case(request: Request, flow: str) -> Response:
    return await run_in_threadpool(_new_case, request, flow, await form_of(request))


def _new_case(request: Request, flow: str, values: dict[str, str]) -> Response:
    person = staff(request)
    engine = engine_of(request)
    definition = engine.definition(flow)
    texts = {k: v for k, v in values.items() if k in definition.fields and v.strip()}
    try:
        started = engine.start(flow, {}, actor=person.id, text_data=texts)
    except FlowEngineError as exc:
        status, _ = status_of(exc)
        return render(
            request,
            "new_case.html",
            status_code=status,
            person=person,
            definition=definition,
            inputs=[_input(engine, definition, n) for n in _start_fields(definition, person)],
            values=values,
            error=page_message(
                request, exc, {n: f.title or n for n, f in definition.fields.items()}
            ),
        )
    flash(request, f"{i18n.word('started', language(request))}: {started.reference}")
    try:
        engine.view(started.reference, person.id)
    except PermissionDenied:
        return back_to("/inbox")  # started, but not theirs to follow
    return back_to(f"/cases/{quote(started.reference)}")


@router.get("/cases/{ref}")
def case_page(request: Request, ref: str) -> HTMLResponse:
    person = staff(request)
    engine = engine_of(request)
    view = engine.view(ref, person.id)
    instance = view.instance
    definition = engine.definition(instance.flow, instance.version)
    history = engine.history(ref, viewer=person.id)
    return render(
        request,
        "case.html",
        person=person,
        view=view,
        instance=instance,
        definition=definition,
        labels={n: (f.title or n) for n, f in definition.fields.items()},
        history=history,
        actions=_actions(engine, definition, view.instance.states, view.allowed_events),
        diagram=highlighted_mermaid(definition, instance.states),
        current=[definition.states[s].title for s in instance.states if s in definition.states],
        state_title=lambda state: _state_title(engine, instance.flow, state, instance.version),
        event_title=lambda state, event: _event_title(definition, state, event),
        status_code_text=citizen.status_code(instance) if view.personal_visible else None,
    )


@router.post("/cases/{ref}/events/{event}")
async def fire(request: Request, ref: str, event: str) -> Response:
    return await run_in_threadpool(_fire, request, ref, event, await form_of(request))


def _fire(request: Request, ref: str, event: str, values: dict[str, str]) -> Response:
    person = staff(request)
    engine = engine_of(request)
    version = values.get("row_version", "")
    comment = values.get("comment", "").strip() or None
    state = values.get("state") or None
    try:
        instance = engine.get(ref)
        definition = engine.definition(instance.flow, instance.version)
        # every field the form sent: the runtime refuses one the event does not ask
        # for (policy.event_inputs), so a forged form writes nothing
        texts = {k: v for k, v in values.items() if k in definition.fields and v.strip()}
        engine.fire(
            ref,
            event,
            actor=person.id,
            comment=comment,
            state=state,
            text_data=texts,
            expected_version=int(version) if re.fullmatch("[0-9]{1,18}", version) else None,
        )
    except FlowEngineError as exc:
        flash(
            request,
            page_message(request, exc, definition_labels(engine, ref, language(request))),
            "error",
        )
    else:
        title = _event_title(definition, state, event)
        flash(request, f"{i18n.word('done', language(request))}: {title}")
    return back_to(f"/cases/{quote(ref)}")


# -- the citizen's status page --------------------------------------------------------


@router.get("/durum")
def status_page(request: Request) -> HTMLResponse:
    return render(request, "durum.html", found=None)


@router.post("/durum")
async def status_lookup(request: Request) -> Response:
    return await run_in_threadpool(_status_lookup, request, await form_of(request))


def _status_lookup(request: Request, values: dict[str, str]) -> Response:
    reference = values.get("reference", "")[:60]
    try:
        found = citizen.lookup(
            engine_of(request), reference, values.get("code", "")[:40], client_of(request)
        )
    except FlowEngineError as exc:
        # an unknown reference and a wrong code must look alike
        return refusal(request, exc, "durum.html", "no_match", found=None, reference=reference)
    return render(request, "durum.html", found=found, reference=found.reference)


def error_page(request: Request, exc: Exception) -> Response:
    """A page's error: to the login page when nobody is logged in, else an error page."""
    if isinstance(exc, LoginRequired):
        return back_to(f"/login?next={quote(request.url.path)}")
    assert isinstance(exc, FlowEngineError)  # noqa: S101 - registered for these two
    status, _ = status_of(exc)
    return render(
        request,
        "error.html",
        status_code=status,
        person=session_person(request),
        status=status,
        message=page_message(request, exc),
    )


def page_message(
    request: Request, exc: FlowEngineError, labels: dict[str, str] | None = None
) -> str:
    """The error in the page's language where the interface has its words, else the
    engine's own message (which names what to do, in English)."""
    lang = language(request)
    labels = labels or {}
    if isinstance(exc, TooManyAttempts):
        return i18n.word("too_many", lang).format(minutes=max(1, exc.retry_after // 60))
    if isinstance(exc, CsrfRefused):
        return i18n.word("csrf", lang)
    if isinstance(exc, ConcurrentUpdate):
        return i18n.word("stale", lang).format(who=exc.changed_by, at=exc.changed_at)
    if isinstance(exc, InvalidData):
        fields = "; ".join(f"{labels.get(k, k)}: {v}" for k, v in sorted(exc.problems.items()))
        return i18n.word("invalid", lang).format(fields=fields)
    if isinstance(exc, TransitionNotAllowed):
        return i18n.word("not_possible", lang)
    if isinstance(exc, PermissionDenied):
        return i18n.word("forbidden", lang)
    return str(exc)


def definition_labels(engine: Engine, ref: str, lang: str) -> dict[str, str]:
    """Field name → title, for messages about a case's fields."""
    try:
        instance = engine.get(ref)
    except FlowEngineError:
        return {}
    fields = engine.definition(instance.flow, instance.version).fields
    return {name: field.title or name for name, field in fields.items()} | {
        "comment": i18n.word("comment", lang)
    }


def refusal(
    request: Request, exc: FlowEngineError, template: str, message: str, **context: Any
) -> Response:
    """A failed login or status lookup: one fixed ``message`` whatever failed (telling
    which would help a guesser), unless the guesser is throttled (with Retry-After)."""
    status, _ = status_of(exc)
    throttled = isinstance(exc, TooManyAttempts)
    text = page_message(request, exc) if throttled else i18n.word(message, language(request))
    response = render(request, template, status_code=status, error=text, **context)
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def http_error_page(request: Request, status: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        status_code=status,
        person=session_person(request),
        status=status,
        message=message,
    )


# -- helpers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One form control for a field of the flow."""

    name: str
    title: str
    kind: str  # text, textarea, select, number, date, checkbox
    required: bool
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Action:
    state: str
    event: str
    title: str
    inputs: tuple[Input, ...]
    comment: str | None  # "required", "optional" or None
    danger: bool


def _input(
    engine: Engine, definition: FlowDefinition, name: str, required: bool | None = None
) -> Input:
    spec = definition.fields[name]
    title = spec.title or name
    needed = spec.required if required is None else required
    if spec.directorate and engine.organization is not None:
        options = tuple((d, doc.title) for d, doc in engine.organization.directorates.items())
        return Input(name, title, "select", needed, options)
    if spec.type == "enum":
        return Input(name, title, "select", needed, tuple((v, v) for v in spec.values or ()))
    kinds = {"text": "textarea", "integer": "number", "number": "number", "date": "date",
             "boolean": "checkbox"}  # fmt: skip
    return Input(name, title, kinds.get(spec.type, "text"), needed)


def _start_fields(definition: FlowDefinition, person: Person) -> tuple[str, ...]:
    try:
        return policy.start_rule(definition, person).fields
    except PermissionDenied:
        return ()


def _events(definition: FlowDefinition, state: str) -> dict[str, schema.EventDoc]:
    return definition.events(state) if state in definition.states else {}


def _actions(
    engine: Engine, definition: FlowDefinition, states: tuple[str, ...], allowed: tuple[str, ...]
) -> list[Action]:
    actions = []
    for state in states:
        for eid, event in _events(definition, state).items():
            if eid not in allowed:
                continue
            is_reject = eid == "reject" and definition.states[state].kind == "approval"
            comment = "required" if is_reject else event.comment
            actions.append(
                Action(
                    state=state,
                    event=eid,
                    title=_event_title(definition, state, eid),
                    inputs=tuple(
                        _input(engine, definition, n, n in event.requires)
                        for n in policy.event_inputs(definition, state, eid)
                    ),
                    comment=comment,
                    danger=is_reject,
                )
            )
    return actions


def _event_title(definition: FlowDefinition, state: str | None, event: str) -> str:
    states = [state] if state else list(definition.states)
    for sid in states:
        doc = _events(definition, sid).get(event)
        if doc is not None:
            if doc.title:
                return doc.title
            if event in ("approve", "reject"):
                return {"approve": "Onayla", "reject": "Reddet"}[event]
            return definition.states[doc.to].title if doc.to in definition.states else event
    return event


def _state_title(engine: Engine, flow: str, state: str | None, version: int | None = None) -> str:
    if state is None:
        return "—"
    if version is None and flow not in engine.current:
        return state  # open work of a flow no longer served
    definition = engine.definition(flow, version)
    return definition.states[state].title if state in definition.states else state


def highlighted_mermaid(definition: FlowDefinition, states: tuple[str, ...]) -> str:
    """The flow's Mermaid chart with the active states marked ``current``."""
    text = to_mermaid(definition.doc)
    nodes: list[str] = []
    for state in states:
        pattern = rf"^\s*({re.escape(definition.flow)}(?:__\w+)*__{re.escape(state)})[\[\{{\(/]"
        nodes += re.findall(pattern, text, flags=re.MULTILINE)
    if not nodes:
        return text
    lines = ["  classDef current fill:#ffe082,stroke:#d84315,stroke-width:4px"]
    lines += [f"  class {node} current" for node in dict.fromkeys(nodes)]
    return text + "\n".join(lines) + "\n"
