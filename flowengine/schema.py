"""The flow language as pydantic models: the *document* form of a flow.

Owns the grammar of ``flows/*.yaml`` and ``flows/organization.yaml`` (what keys
exist, which are required, their types). It knows nothing of YAML positions
(the loader keeps those) nor of meaning across states (``checks`` does that).
Every model forbids unknown keys and is strict: YAML ``"12"`` is not an integer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


# --- organisation file -------------------------------------------------------


class Titled(Model):
    title: str


class UnitDoc(Model):
    title: str
    purpose: str | None = None


class DirectorateDoc(Model):
    title: str
    units: dict[str, UnitDoc] = Field(default_factory=dict)


class OrganizationDoc(Model):
    """``flows/organization.yaml``: the municipality, its bodies and shared roles."""

    municipality: str | None = None
    directorates: dict[str, DirectorateDoc]
    external_bodies: dict[str, Titled] = Field(default_factory=dict)
    roles: dict[str, Titled] = Field(default_factory=dict)


# --- flow file -----------------------------------------------------------------

FieldType = Literal[
    "string", "text", "integer", "number", "boolean", "date", "datetime", "enum", "list", "file"
]


class FieldDoc(Model):
    type: FieldType
    title: str | None = None
    description: str | None = None
    required: bool = False
    default: Any = None
    max_length: int | None = Field(default=None, ge=1)
    min: int | float | None = None
    max: int | float | None = None
    pattern: str | None = None
    values: list[str] | None = None
    items: FieldDoc | None = None
    personal: bool = False
    directorate: bool = False


class Signatory(Model):
    name: str
    title: str


class GovernanceDoc(Model):
    prepared_by: Signatory | None = None
    checked_by: Signatory | None = None
    approved_by: Signatory | None = None


class PrivacyDoc(Model):
    personal_access: list[str] | None = None
    retention: str | None = None


class NotifyEffect(Model):
    roles: list[str]
    message: str


class EmailEffect(Model):
    to: list[str]
    subject: str
    body: str


class PublishEffect(Model):
    channels: list[str]
    text: str


class WebhookEffect(Model):
    url: str
    body: str | None = None


class EffectDoc(Model):
    """One outbound effect: exactly one of its four keys."""

    notify: NotifyEffect | None = None
    email: EmailEffect | None = None
    publish: PublishEffect | None = None
    webhook: WebhookEffect | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EffectDoc:
        given = [k for k in ("notify", "email", "publish", "webhook") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("an effect has exactly one of: notify, email, publish, webhook")
        return self

    @property
    def kind(self) -> str:
        for kind in ("notify", "email", "publish", "webhook"):
            if getattr(self, kind) is not None:
                return kind
        raise AssertionError("validated effect has a kind")


class EventDoc(Model):
    to: str
    title: str | None = None
    description: str | None = None
    when: str | None = None
    roles: list[str] | None = None
    requires: list[str] = Field(default_factory=list)
    # extension: fields the event's payload may also carry, not required; no
    # other field may be written by firing it (flowengine/policy.py)
    accepts: list[str] = Field(default_factory=list)
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")
    compute: dict[str, str] = Field(default_factory=dict)
    comment: Literal["required", "optional"] | None = None
    # extension: fired by itself when this signal arrives while the state is
    # active (or on entering it, if a persistent signal is waiting)
    signal: str | None = None
    # extension: this event answers the citizen, finally (Law 3071 art. 7) or
    # as an interim progress reply (safahat)
    reply: Literal["final", "interim"] | None = None
    # extension: what the event does to the statutory clock (flowengine/clocks.py)
    clock: Literal["pause", "resume", "extend"] | None = None


class ReceiptDoc(Model):
    """Extension: send the receipt (alındı belgesi) to the citizen on start."""

    email: str  # the field holding the citizen's e-mail address


class DuplicatesDoc(Model):
    """Extension: how to tell that a new request repeats an open one."""

    contact: list[str] = Field(default_factory=list)  # any equal → the same person
    place: str | None = None  # equal, and a similar `subject` → the same problem
    subject: str | None = None
    within: str = "30d"


class DeskDoc(Model):
    """Extension: the fields the citizen desk reads (flowengine/desk/, receipt_text.py).

    The receipt, the desk report and the status lookup find a request's
    applicant, channel, subject… by these names, never by a name in the code;
    a field left out is left off the receipt and the report.
    """

    applicant: str | None = None  # the citizen's name, printed on the receipt
    phone: str | None = None  # its last four digits prove a /durum lookup is theirs
    channel: str | None = None  # an enum: how the request came (receipt, report)
    kind: str | None = None  # an enum: istek, talep, öneri, şikâyet… (report)
    subject: str | None = None  # the receipt's subject; the report's open cases
    place: str | None = None  # the neighbourhood (report)
    directorate: str | None = None  # a `directorate: true` field: referred to (report)
    # how an enum field's values are printed: {kanal: {yuz_yuze: Yüz yüze}}
    titles: dict[str, dict[str, str]] = Field(default_factory=dict)

    def title(self, name: str | None, value: object) -> str:
        """``value`` of field ``name`` as printed: its title, else itself ('' for none)."""
        if value is None:
            return ""
        return self.titles.get(name or "", {}).get(str(value), str(value))


# The Open311 GeoReport v2 request parameters a flow field can take; two are
# derived: `name` (first_name and last_name) and `title` (the description's
# first line, cut to the field's max_length).
Open311Parameter = Literal[
    "description",
    "title",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address_string",
    "location",
    "media_url",
]


class Open311ServiceDoc(Model):
    name: str
    description: str | None = None
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")


class Open311Doc(Model):
    """Extension: take requests from civic apps by Open311 GeoReport v2 (web/open311.py)."""

    services: dict[str, Open311ServiceDoc] = Field(min_length=1)
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")
    fields: dict[Open311Parameter, str] = Field(default_factory=dict)
    # the civic apps' role: a start by a person holding no other starter role
    # sets only the mapped fields, and the preset ones only to their presets
    role: str | None = None


class LegalBasisDoc(Model):
    """Extension: a law a request may be made under, and its deadline."""

    title: str
    limit: str
    extended_limit: str | None = None  # once, notified before `limit` ends


class SignalDoc(Model):
    """Extension: a signal sent to an instance (`flowengine signal REF NAME`)."""

    title: str | None = None
    roles: list[str] = Field(min_length=1)  # who may send it
    # transient: lost if no active state waits for it; else kept until consumed
    transient: bool = False


class TimerDoc(Model):
    after: str
    notify: list[str] | None = None
    to: str | None = None

    @model_validator(mode="after")
    def _one_action(self) -> TimerDoc:
        if (self.notify is None) == (self.to is None):
            raise ValueError("a timer has exactly one of 'notify' (escalate) or 'to' (interrupt)")
        return self


class StateBase(Model):
    title: str | None = None
    description: str | None = None
    on_enter: list[EffectDoc] = Field(default_factory=list)
    on_exit: list[EffectDoc] = Field(default_factory=list)


class TaskState(StateBase):
    type: Literal["task"]
    role: str
    assignee: str | None = None
    sla: str | None = None
    on: dict[str, EventDoc]
    timers: list[TimerDoc] = Field(default_factory=list)
    # extension: at most one state holding this name works at a time; a state
    # entered while another holds it waits (no work item) until it is released
    mutex: str | None = None


class EscalationDoc(Model):
    """Notify the next role up when an approval is rejected this many times."""

    after_rejections: int = Field(ge=1)
    notify: list[str] = Field(min_length=1)


class ApprovalState(StateBase):
    type: Literal["approval"]
    role: str
    assignee: str | None = None
    sla: str | None = None
    approve: EventDoc
    reject: EventDoc
    timers: list[TimerDoc] = Field(default_factory=list)
    escalate: EscalationDoc | None = None
    mutex: str | None = None  # as on a task


class Choice(Model):
    when: str
    to: str


class DecisionState(StateBase):
    type: Literal["decision"]
    choices: list[Choice] = Field(min_length=1)
    otherwise: str


class BranchDoc(Model):
    start: str
    states: dict[str, StateDoc]
    # extension: a branch whose condition is false at the fork is skipped and
    # counts as ended (OR-split and its synchronizing merge)
    when: str | None = None


class JoinDoc(Model):
    """Extension: continue when ``count`` branches have ended (N-out-of-M join)."""

    count: int = Field(ge=1)
    # cancel: the branches still running are withdrawn; finish: they run on, and
    # their ends no longer move the instance
    remaining: Literal["cancel", "finish"] = "cancel"


class ParallelState(StateBase):
    type: Literal["parallel"]
    branches: dict[str, BranchDoc] = Field(min_length=1)
    next: str
    join: JoinDoc | None = None
    # extension: events that withdraw everything inside (cancel region); they
    # need `roles`, since a parallel has no role of its own
    on: dict[str, EventDoc] = Field(default_factory=dict)
    # extension: interrupting timers (`to` only) that withdraw everything inside
    timers: list[TimerDoc] = Field(default_factory=list)


class SubflowState(StateBase):
    type: Literal["subflow"]
    flow: str
    input: dict[str, str] = Field(default_factory=dict)
    wait: bool = True
    next: str
    # extension: one child per item of this list field (`item` and `index` in
    # `input`); with `wait`, move on when all (or `join.count`) have ended
    foreach: str | None = None
    join: JoinDoc | None = None
    # extension: events on a waiting subflow; they withdraw its running children
    # and move to `to`, except an event whose `to` is the state itself, which
    # starts children for items the event added to the `foreach` list
    on: dict[str, EventDoc] = Field(default_factory=dict)


class ActionState(StateBase):
    type: Literal["action"]
    effects: list[EffectDoc] = Field(default_factory=list)
    next: str


class EndState(StateBase):
    type: Literal["end"]
    outcome: str
    # extension: inside a parallel branch, end the whole instance at once,
    # withdrawing every other branch (explicit termination)
    terminate: bool = False


StateDoc = Annotated[
    TaskState
    | ApprovalState
    | DecisionState
    | ParallelState
    | SubflowState
    | ActionState
    | EndState,
    Field(discriminator="type"),
]
STATE_TYPES = ("task", "approval", "decision", "parallel", "subflow", "action", "end")

BranchDoc.model_rebuild()


class FlowDoc(Model):
    """One flow file."""

    flow: str
    version: int = Field(ge=1)
    title: str
    description: str | None = None
    directorate: str
    unit: str
    document: GovernanceDoc | None = None
    sla: str | None = None
    reference: str | None = None
    roles: dict[str, Titled]
    starters: list[str] | None = None
    privacy: PrivacyDoc | None = None
    data: dict[str, FieldDoc] = Field(default_factory=dict)
    signals: dict[str, SignalDoc] = Field(default_factory=dict)
    # extension: every path to an end must pass an event with `reply: final`
    citizen_reply: Literal["required"] | None = None
    # extension: statutory clocks; `legal_basis` names the enum field choosing one
    legal_bases: dict[str, LegalBasisDoc] = Field(default_factory=dict)
    legal_basis: str | None = None
    # extension: `flowengine similar` / `merge` (flowengine/duplicates.py)
    duplicates: DuplicatesDoc | None = None
    # extension: the receipt as the first message to the citizen (receipts.py)
    receipt: ReceiptDoc | None = None
    # extension: the fields the desk's receipt, report and status lookup read
    desk: DeskDoc | None = None
    # extension: Open311 intake (`flowengine serve`, /open311/v2/)
    open311: Open311Doc | None = None
    # extension: the fields a start may set (default: every field no event writes)
    intake: list[str] | None = None
    start: str
    states: dict[str, StateDoc] = Field(min_length=1)
