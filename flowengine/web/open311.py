"""Open311 GeoReport v2 intake: civic apps submit requests into a flow's inbox.

The flow is the one ``create_app(open311_flow=…)`` names (``bizim_masa`` by
default); its ``open311:`` section (docs/flow-language.md) lists the services
and says which request parameter fills which field. The app authenticates
with an API token, as GeoReport's ``api_key`` parameter or a bearer header;
requests are started as that token's person.

Errors follow GeoReport v2: a JSON array of ``{"code": …, "description": …}``
with the HTTP status in ``code``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from flowengine import schema
from flowengine.definition import FlowDefinition
from flowengine.desk import citizen
from flowengine.errors import FlowEngineError, InvalidData, NotFound
from flowengine.instance import Person
from flowengine.web.forms import repair_raw_utf8
from flowengine.web.problems import status_of
from flowengine.web.security import accounts_of, bearer_person, engine_of

router = APIRouter(prefix="/open311/v2", tags=["open311"])


class Open311Error(BaseModel):
    code: int
    description: str


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None = None


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str  # open or closed
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    agency_responsible: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": list[Open311Error], "description": text}
    for code, text in (
        (400, "Missing or invalid parameter"),
        (401, "No valid api_key"),
        (403, "The api_key's person may not do this"),
        (404, "No such service or request"),
        (429, "Too many attempts"),
    )
}


def http_error(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def _error(exc: FlowEngineError) -> JSONResponse:
    status, _ = status_of(exc)
    return http_error(400 if status in (409, 422) else status, str(exc))


def invalid_request(fields: dict[str, str]) -> JSONResponse:
    text = "; ".join(
        f"{k.removeprefix('body.').removeprefix('query.')}: {v}" for k, v in sorted(fields.items())
    )
    return JSONResponse([{"code": 400, "description": f"invalid request: {text}"}], status_code=400)


def _flow(request: Request) -> tuple[FlowDefinition, schema.Open311Doc]:
    engine = engine_of(request)
    definition = engine.definition(request.app.state.open311_flow)
    spec = definition.doc.open311
    if spec is None:
        raise NotFound(
            f"flow '{definition.flow}' takes no Open311 requests (no 'open311:' section)"
        )
    return definition, spec


def _caller(request: Request, api_key: str | None) -> Person:
    if api_key:
        return accounts_of(request).person_for_token(api_key)
    person = bearer_person(request)
    if person is None:
        from flowengine.errors import AuthenticationFailed

        raise AuthenticationFailed("send api_key (an API token: flowengine tokens create)")
    return person


@router.get(
    "/services.json",
    response_model=list[Service],
    responses=ERRORS,
    summary="The services requests can be made for",
)
def services(request: Request) -> Any:
    try:
        definition, spec = _flow(request)
    except FlowEngineError as exc:
        return _error(exc)
    return [
        Service(
            service_code=code,
            service_name=service.name,
            description=service.description or service.name,
            metadata=False,
            type="realtime",
            keywords="",
            group=definition.title,
        )
        for code, service in spec.services.items()
    ]


def request_data(
    definition: FlowDefinition, spec: schema.Open311Doc, service_code: str, params: dict[str, str]
) -> dict[str, Any]:
    """The flow's data for one Open311 request: presets, the service's, then parameters."""
    if service_code not in spec.services:
        known = ", ".join(spec.services)
        raise InvalidData({"service_code": f"unknown service '{service_code}'; one of: {known}"})
    data: dict[str, Any] = {**spec.set_, **spec.services[service_code].set_}
    derived = dict(params)
    derived["name"] = " ".join(p for p in (params.get("first_name"), params.get("last_name")) if p)
    description = params.get("description", "").strip()
    first_line = description.splitlines()[0] if description else ""
    if "title" in spec.fields:
        limit = definition.fields[spec.fields["title"]].max_length or 200
        derived["title"] = first_line if len(first_line) <= limit else first_line[: limit - 1] + "…"
    if params.get("lat") and params.get("long"):
        derived["location"] = f"{params['lat']},{params['long']}"
    for parameter, field in spec.fields.items():
        value = derived.get(parameter, "").strip()
        if value:
            data[field] = value
    return data


@router.post(
    "/requests.json",
    response_model=list[RequestCreated],
    status_code=201,
    responses=ERRORS,
    summary="Submit a request (GeoReport v2, form-encoded)",
)
def create_request(
    request: Request,
    service_code: Annotated[str, Form(min_length=1, max_length=100)],
    api_key: Annotated[str | None, Form(max_length=200)] = None,
    description: Annotated[str | None, Form(max_length=4000)] = None,
    first_name: Annotated[str | None, Form(max_length=100)] = None,
    last_name: Annotated[str | None, Form(max_length=100)] = None,
    email: Annotated[str | None, Form(max_length=254)] = None,
    phone: Annotated[str | None, Form(max_length=20)] = None,
    address_string: Annotated[str | None, Form(max_length=300)] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    media_url: Annotated[str | None, Form(max_length=1000)] = None,
) -> Any:
    params = {
        k: repair_raw_utf8(str(v))
        for k, v in {
            "description": description,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "phone": phone,
            "address_string": address_string,
            "lat": lat,
            "long": long,
            "media_url": media_url,
        }.items()
        if v is not None
    }
    try:
        person = _caller(request, api_key)
        definition, spec = _flow(request)
        data = request_data(definition, spec, service_code, params)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 0 < len(key) <= 200:
            raise InvalidData({"Idempotency-Key": "give 1 to 200 characters"})
        started = engine_of(request).start(
            definition.flow, data, actor=person.id, idempotency_key=key
        )
    except InvalidData as exc:
        return _error(_in_open311_terms(exc, spec_or_none(request)))
    except FlowEngineError as exc:
        return _error(exc)
    code = citizen.status_code(started)
    notice = f"Başvurunuz {started.reference} numarasıyla alındı."
    if code:
        notice += f" Durum sorgulama kodu: {code} (/durum)."
    return JSONResponse(
        [RequestCreated(service_request_id=started.reference, service_notice=notice).model_dump()],
        status_code=201,
    )


def spec_or_none(request: Request) -> schema.Open311Doc | None:
    try:
        return _flow(request)[1]
    except FlowEngineError:
        return None


def _in_open311_terms(exc: InvalidData, spec: schema.Open311Doc | None) -> InvalidData:
    """Name the request parameter a client can fix, not the flow field it fills."""
    if spec is None:
        return exc
    parameters: dict[str, list[str]] = {}
    for parameter, field in spec.fields.items():
        parameters.setdefault(field, []).append(parameter)
    if "name" in parameters.get(spec.fields.get("name", ""), []):
        parameters[spec.fields["name"]] = ["first_name", "last_name"]
    problems = {
        " / ".join(parameters.get(field, [field])): problem
        for field, problem in exc.problems.items()
    }
    return InvalidData(problems, "Open311 request")


@router.get(
    "/requests/{request_id}.json",
    response_model=list[ServiceRequest],
    responses=ERRORS,
    summary="Where a request stands (no personal data)",
)
def get_request(request: Request, request_id: str, api_key: str | None = None) -> Any:
    try:
        person = _caller(request, api_key)
        engine = engine_of(request)
        definition, spec = _flow(request)
        view = engine.view(request_id, person.id)  # role-checked and audited as any view
        instance = view.instance
        if instance.flow != definition.flow:
            raise NotFound(f"no Open311 request '{request_id}'")
        status = citizen.public_status(engine, instance)
    except FlowEngineError as exc:
        return _error(exc)
    finals = [r.text for r in status.replies if r.final]
    service_code = next(
        (
            code
            for code, service in spec.services.items()
            if all(instance.data.get(k) == v for k, v in {**spec.set_, **service.set_}.items())
        ),
        None,
    )
    agency = engine.organization.municipality if engine.organization else None
    return [
        ServiceRequest(
            service_request_id=instance.reference,
            status="open" if instance.status == "active" else "closed",
            status_notes=finals[-1] if finals else status.step,
            service_name=spec.services[service_code].name if service_code else None,
            service_code=service_code,
            agency_responsible=agency or definition.title,
            requested_datetime=instance.created_at,
            updated_datetime=instance.updated_at,
            expected_datetime=status.answer_by,
        ).model_dump(mode="json")
    ]
