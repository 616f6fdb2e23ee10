"""The REST API (``/api/v1``): flows, instances, events, history, tasks, notifications.

Each route is a thin translation of one :class:`Engine` call: the engine
checks roles, validates data and owns the transaction. ``ETag`` is the
instance's row version; ``If-Match`` on an event makes it conditional on
that version (409 with the current version when someone changed it first).
``Idempotency-Key`` on start and fire makes a retried request return the
first result instead of acting twice. Lists take ``limit`` and ``offset``
and say where the next page starts.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from flowengine import privacy
from flowengine.engine import Engine, InstanceView
from flowengine.errors import PermissionDenied
from flowengine.instance import Instance, Person
from flowengine.web.problems import COMMON_RESPONSES, IF_MATCH_PATTERN, etag, parse_if_match
from flowengine.web.security import api_person, engine_of

router = APIRouter(prefix="/api/v1", tags=["api"], responses=COMMON_RESPONSES)

T = TypeVar("T")
MAX_PAGE = 200

Caller = Annotated[Person, Depends(api_person)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Repeat-safe key: the same key and request return the first result.",
    ),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


def page(items: list[T], limit: int, offset: int) -> Page[T]:
    """A page from ``items`` fetched with one extra item to tell whether more follow."""
    more = len(items) > limit
    return Page[T](
        items=items[:limit],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )


class FlowSummary(BaseModel):
    flow: str
    version: int
    title: str
    description: str | None
    starters: list[str]


class StateOut(BaseModel):
    id: str
    type: str
    title: str


class EventOut(BaseModel):
    id: str
    title: str
    to: str
    requires: list[str]
    comment: str | None


class FieldOut(BaseModel):
    name: str
    type: str
    title: str
    required: bool
    personal: bool
    values: list[str] | None


class FlowOut(FlowSummary):
    start: str
    states: list[StateOut]
    fields: list[FieldOut]
    mermaid: str = Field(description="The flow as a Mermaid flowchart.")


class InstanceSummary(BaseModel):
    id: str
    reference: str
    flow: str
    version: int
    states: list[str]
    status: str
    outcome: str | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    row_version: int


class InstanceOut(InstanceSummary):
    title: str
    data: dict[str, Any]
    masked: list[str] = Field(description="Personal fields hidden from this viewer.")
    allowed_events: list[str] = Field(description="Events this viewer may fire now.")


class HistoryOut(BaseModel):
    seq: int
    event: str
    from_state: str | None
    to_state: str | None
    actor: str
    at: datetime
    changes: dict[str, Any]
    comment: str | None
    acting_for: str | None


class TaskOut(BaseModel):
    reference: str
    flow: str
    title: str
    state: str
    role: str
    assignee: str | None
    opened_at: datetime
    due_at: datetime | None
    overdue: bool


class NotificationOut(BaseModel):
    id: int
    reference: str
    role: str
    message: str
    created_at: datetime


class PersonOut(BaseModel):
    id: str
    name: str
    roles: list[str]


class StartRequest(BaseModel):
    flow: str = Field(min_length=1, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)


class FireRequest(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict)
    comment: str | None = Field(default=None, max_length=10_000)
    state: str | None = Field(default=None, description="The state, when several have the event.")


def summary(instance: Instance) -> InstanceSummary:
    return InstanceSummary.model_validate(instance, from_attributes=True)


def instance_out(view: InstanceView) -> InstanceOut:
    return InstanceOut(
        **summary(view.instance).model_dump(),
        title=view.title,
        data=view.data,
        masked=list(view.masked),
        allowed_events=list(view.allowed_events),
    )


def visible_flows(engine: Engine, person: Person) -> list[str]:
    """Flows the person has a part in through a role held for every directorate."""
    return [
        flow
        for flow, definition in sorted(engine.current.items())
        if any(
            g.directorate is None and g.role in privacy.viewing_roles(definition)
            for g in person.roles
        )
    ]


@router.get("/me", response_model=PersonOut, summary="The person the request acts as")
def me(person: Caller) -> PersonOut:
    return PersonOut(id=person.id, name=person.name, roles=[str(g) for g in person.roles])


@router.get("/flows", response_model=Page[FlowSummary], summary="The flows deployed here")
def list_flows(
    request: Request, _: Caller, limit: Limit = 50, offset: Offset = 0
) -> Page[FlowSummary]:
    engine = engine_of(request)
    flows = [
        FlowSummary(
            flow=d.flow,
            version=d.version,
            title=d.title,
            description=d.doc.description,
            starters=list(d.starters),
        )
        for _, d in sorted(engine.current.items())
    ]
    return page(flows[offset : offset + limit + 1], limit, offset)


@router.get("/flows/{flow}", response_model=FlowOut, summary="One flow: states, fields, diagram")
def get_flow(request: Request, flow: str, _: Caller) -> FlowOut:
    from flowengine.graph import to_mermaid

    definition = engine_of(request).definition(flow)
    doc = definition.doc
    return FlowOut(
        flow=definition.flow,
        version=definition.version,
        title=definition.title,
        description=doc.description,
        starters=list(definition.starters),
        start=doc.start,
        states=[
            StateOut(id=sid, type=state.kind, title=state.title)
            for sid, state in definition.states.items()
            if not sid.startswith("_")
        ],
        fields=[
            FieldOut(
                name=name,
                type=field.type,
                title=field.title or name,
                required=field.required,
                personal=field.personal,
                values=field.values,
            )
            for name, field in doc.data.items()
        ],
        mermaid=to_mermaid(doc),
    )


@router.get("/instances", response_model=Page[InstanceSummary], summary="Instances, newest first")
def list_instances(
    request: Request,
    person: Caller,
    flow: str | None = None,
    status: str | None = Query(default=None, pattern="^(active|completed|cancelled|merged)$"),
    overdue: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[InstanceSummary]:
    """Only flows the caller holds an unscoped role in; a directorate sees its `tasks`."""
    engine = engine_of(request)
    allowed = visible_flows(engine, person)
    if flow is not None:
        engine.definition(flow)  # 404 for an unknown flow
        allowed = [f for f in allowed if f == flow]
    items: list[InstanceSummary] = []
    if allowed:
        found = engine.instances(
            status=status, overdue=overdue, limit=limit + 1, offset=offset, flows=allowed
        )
        items = [summary(i) for i in found]
    return page(items, limit, offset)


@router.post(
    "/instances",
    response_model=InstanceOut,
    status_code=201,
    summary="Start an instance of a flow",
)
def start_instance(
    request: Request,
    response: Response,
    body: StartRequest,
    person: Caller,
    idempotency_key: IdempotencyKey = None,
) -> InstanceOut:
    engine = engine_of(request)
    started = engine.start(body.flow, body.data, actor=person.id, idempotency_key=idempotency_key)
    response.headers["ETag"] = etag(started.row_version)
    response.headers["Location"] = f"/api/v1/instances/{started.reference}"
    try:
        return instance_out(engine.view(started.reference, person.id))
    except PermissionDenied:
        # a starter who may not see the case afterwards (a scoped grant) is still
        # told it was created, so that a retry does not create it twice
        fields = engine.definition(started.flow, started.version).fields
        return InstanceOut(
            **summary(started).model_dump(),
            title=engine.definition(started.flow, started.version).title,
            data={},
            masked=sorted(fields),
            allowed_events=[],
        )


@router.get(
    "/instances/{ref}", response_model=InstanceOut, summary="One instance as you may see it"
)
def get_instance(request: Request, response: Response, ref: str, person: Caller) -> InstanceOut:
    view = engine_of(request).view(ref, person.id)
    response.headers["ETag"] = etag(view.instance.row_version)
    return instance_out(view)


@router.post(
    "/instances/{ref}/events/{event}",
    response_model=InstanceOut,
    summary="Fire an event (If-Match makes it conditional on the version you saw)",
)
def fire_event(
    request: Request,
    response: Response,
    ref: str,
    event: str,
    person: Caller,
    body: FireRequest | None = None,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            pattern=IF_MATCH_PATTERN,
            description='The ETag you last saw, e.g. "7"; 409 if the instance changed since.',
        ),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> InstanceOut:
    engine = engine_of(request)
    body = body or FireRequest()
    fired = engine.fire(
        ref,
        event,
        actor=person.id,
        data=body.data,
        comment=body.comment,
        expected_version=parse_if_match(if_match),
        idempotency_key=idempotency_key,
        state=body.state,
    )
    view = engine.view(fired.reference, person.id)
    response.headers["ETag"] = etag(view.instance.row_version)
    return instance_out(view)


@router.get(
    "/instances/{ref}/history",
    response_model=Page[HistoryOut],
    summary="The timeline, personal values masked as for you",
)
def get_history(
    request: Request, ref: str, person: Caller, limit: Limit = 100, offset: Offset = 0
) -> Page[HistoryOut]:
    entries = engine_of(request).history(ref, viewer=person.id)[offset : offset + limit + 1]
    return page(
        [HistoryOut.model_validate(e, from_attributes=True) for e in entries], limit, offset
    )


@router.get("/tasks", response_model=Page[TaskOut], summary="Your open work, soonest due first")
def list_tasks(
    request: Request, person: Caller, limit: Limit = 50, offset: Offset = 0
) -> Page[TaskOut]:
    engine = engine_of(request)
    now = engine.clock()
    items = engine.tasks(person.id, limit=limit + 1, offset=offset)
    tasks = [
        TaskOut.model_validate(
            {**dataclasses.asdict(w), "overdue": w.due_at is not None and w.due_at < now}
        )
        for w in items
    ]
    return page(tasks, limit, offset)


@router.get(
    "/notifications", response_model=Page[NotificationOut], summary="Notices for your roles"
)
def list_notifications(
    request: Request, person: Caller, limit: Limit = 50, offset: Offset = 0
) -> Page[NotificationOut]:
    items = engine_of(request).notifications(person.id, limit=limit + 1, offset=offset)
    return page(
        [NotificationOut.model_validate(n, from_attributes=True) for n in items], limit, offset
    )
