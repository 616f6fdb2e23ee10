"""Semantic validation of flows: everything the schema alone cannot see.

Owns the rules of "What validation rejects" in the flow-language contract:
references between states, reachability, declared roles/fields/directorates/
flows, expressions, templates, durations, reference patterns and subflow
cycles. Every rule adds an :class:`Issue` and goes on, so one pass reports all
errors of a file. Imports ``schema``, ``loader``, ``expressions``,
``durations``, ``errors``; never storage or runtime.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from flowengine import schema
from flowengine.durations import DurationSyntaxError, parse_duration
from flowengine.errors import Issue, did_you_mean
from flowengine.expressions import (
    BUILTIN_NAMES,
    FOREACH_NAMES,
    IN_STATE,
    IN_STATE_CALL,
    IN_STATE_LITERAL,
    ExpressionError,
    compile_expression,
)
from flowengine.loader import LoadedDocument, PathKey
from flowengine.values import value_problem

ID = re.compile(r"^[a-z][a-z0-9_]*$")
REFERENCE_FIELDS = {"year", "seq", "flow"}
WAITING_STATES = ("task", "approval")


@dataclass(frozen=True)
class ParsedFlow:
    """A flow file that passed the schema, with the positions of its nodes."""

    doc: schema.FlowDoc
    loaded: LoadedDocument


@dataclass(frozen=True)
class Scope:
    """A set of states that refer to each other: the flow, or one parallel branch."""

    states: Mapping[str, schema.StateDoc]
    start: str
    path: PathKey  # path of the mapping holding `start` and `states`
    label: str


def iter_scopes(doc: schema.FlowDoc) -> Iterator[Scope]:
    """Yield the top-level scope and every branch scope, depth first."""
    pending = [Scope(doc.states, doc.start, (), "flow")]
    while pending:
        scope = pending.pop(0)
        yield scope
        for sid, state in scope.states.items():
            if isinstance(state, schema.ParallelState):
                for bid, branch in state.branches.items():
                    path = (*scope.path, "states", sid, "branches", bid)
                    pending.append(Scope(branch.states, branch.start, path, f"branch '{bid}'"))


def successors(state: schema.StateDoc) -> list[tuple[str, PathKey]]:
    """States a state can move to within its scope, with the path of each reference."""
    out: list[tuple[str, PathKey]] = []
    if isinstance(state, schema.TaskState):
        out += [(e.to, ("on", eid, "to")) for eid, e in state.on.items()]
    if isinstance(state, schema.ApprovalState):
        out += [(state.approve.to, ("approve", "to")), (state.reject.to, ("reject", "to"))]
    if isinstance(state, (schema.ParallelState, schema.SubflowState)):
        out += [(e.to, ("on", eid, "to")) for eid, e in state.on.items()]
    if isinstance(state, (schema.TaskState, schema.ApprovalState, schema.ParallelState)):
        out += [(t.to, ("timers", i, "to")) for i, t in enumerate(state.timers) if t.to]
    if isinstance(state, schema.DecisionState):
        out += [(c.to, ("choices", i, "to")) for i, c in enumerate(state.choices)]
        out.append((state.otherwise, ("otherwise",)))
    if isinstance(state, (schema.ParallelState, schema.SubflowState, schema.ActionState)):
        out.append((state.next, ("next",)))
    return out


def reply_edges(state: schema.StateDoc) -> list[tuple[str, bool]]:
    """(target, whether the move answers the citizen finally) of each way out."""
    out = [(e.to, e.reply == "final") for e in events_of(state).values()]
    event_refs: set[PathKey] = {("on", eid, "to") for eid in events_of(state)}
    event_refs |= {("approve", "to"), ("reject", "to")}
    for target, ref in successors(state):
        if ref in event_refs:
            continue  # counted above, with its reply mark
        through_join = ref == ("next",)
        out.append(
            (
                target,
                isinstance(state, schema.ParallelState)
                and through_join
                and parallel_replies(state),
            )
        )
    return out


def parallel_replies(state: schema.ParallelState) -> bool:
    """A branch that always runs, always to the join, answers on every path."""
    if state.join is not None and state.join.count < len(state.branches):
        return False
    return any(
        branch.when is None and not unreplied_ends(branch.states, branch.start)
        for branch in state.branches.values()
    )


def unreplied_ends(states: Mapping[str, schema.StateDoc], start: str) -> dict[str, list[str]]:
    """Ends of a scope reachable from ``start`` without a final reply, each with a path."""
    parents: dict[tuple[str, bool], tuple[str, bool] | None] = {(start, False): None}
    frontier = [(start, False)]
    found: dict[str, list[str]] = {}
    while frontier:
        node = frontier.pop(0)
        sid, replied = node
        state = states.get(sid)
        if state is None:
            continue
        if isinstance(state, schema.EndState) and not replied and sid not in found:
            found[sid] = _path_to(parents, node)
        if isinstance(state, schema.ParallelState) and not replied:
            # a terminating end inside ends the whole instance from here
            here = _path_to(parents, node)
            for bid, branch in state.branches.items():
                for end, inner in unreplied_ends(branch.states, branch.start).items():
                    local = branch.states.get(end)
                    nested = local is None  # reported by a parallel inside the branch
                    if nested or (isinstance(local, schema.EndState) and local.terminate):
                        name = f"{sid}.{bid}.{end}"
                        found.setdefault(name, [*here, *(f"{sid}.{bid}.{s}" for s in inner)])
        for target, final in reply_edges(state):
            child = (target, replied or final)
            if target in states and child not in parents:
                parents[child] = node
                frontier.append(child)
    return found


def _path_to(
    parents: Mapping[tuple[str, bool], tuple[str, bool] | None], node: tuple[str, bool]
) -> list[str]:
    path: list[str] = []
    step: tuple[str, bool] | None = node
    while step is not None:
        path.append(step[0])
        step = parents[step]
    return path[::-1]


def events_of(state: schema.StateDoc) -> dict[str, schema.EventDoc]:
    if isinstance(state, (schema.TaskState, schema.ParallelState, schema.SubflowState)):
        return dict(state.on)
    if isinstance(state, schema.ApprovalState):
        return {"approve": state.approve, "reject": state.reject}
    return {}


def template_names(template: str) -> list[str]:
    """Placeholder names of a ``{field}`` template; raises ValueError on a bad one."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not ID.match(name) or spec or conversion:
            raise ValueError(f"placeholder '{{{name}}}' must be a plain field name")
        names.append(name)
    return names


class FlowChecker:
    """Collects every semantic issue of one flow against its flow set."""

    def __init__(
        self,
        flow: ParsedFlow,
        organization: schema.OrganizationDoc | None,
        flows: Mapping[str, ParsedFlow],
        file_stem: str | None,
    ) -> None:
        self.flow = flow
        self.doc = flow.doc
        self.loaded = flow.loaded
        self.org = organization
        self.flows = flows
        self.file_stem = file_stem
        self.issues: list[Issue] = []
        self.org_roles = set(organization.roles) if organization else set()
        self.roles = set(self.doc.roles) | self.org_roles
        self.fields = dict(self.doc.data)
        self.has_waiting_subflow = False

    # -- helpers --------------------------------------------------------------

    def error(self, path: PathKey, message: str, code: str, *, key: bool = False) -> None:
        self.issues.append(self.loaded.issue(path, message, key=key, code=code))

    def warn(self, path: PathKey, message: str, code: str, *, key: bool = False) -> None:
        self.issues.append(self.loaded.warning(path, message, key=key, code=code))

    def check_id(self, path: PathKey, value: str, what: str, *, key: bool = True) -> None:
        if not ID.match(value):
            self.error(
                path,
                f"{what} id '{value}' must be lower-case ASCII letters, digits and '_', "
                "starting with a letter (write Turkish letters as ç→c, ğ→g, ı→i, ö→o, ş→s, ü→u)",
                "id",
                key=key,
            )

    def check_role(self, path: PathKey, role: str) -> None:
        if role not in self.roles:
            hint = did_you_mean(role, self.roles)
            self.error(
                path,
                f"role '{role}' is not declared{hint}; add it under 'roles:' "
                "or to the organisation file",
                "role",
            )

    def check_field(self, path: PathKey, name: str, context: str) -> None:
        if name not in self.fields:
            hint = did_you_mean(name, self.fields)
            self.error(path, f"{context} names undeclared field '{name}'{hint}", "field")

    def check_field_key(self, path: PathKey, name: str, context: str) -> None:
        if name not in self.fields:
            hint = did_you_mean(name, self.fields)
            self.error(path, f"{context} undeclared field '{name}'{hint}", "field", key=True)

    def check_duration(self, path: PathKey, text: str) -> None:
        try:
            parse_duration(text)
        except DurationSyntaxError as exc:
            self.error(path, str(exc), "duration")

    def check_expression(
        self, path: PathKey, source: str, context: str, extra: frozenset[str] = frozenset()
    ) -> None:
        try:
            expression = compile_expression(source)
        except ExpressionError as exc:
            self.error(path, f"{context}: {exc}", "expression")
            return
        allowed = set(self.fields) | BUILTIN_NAMES | extra
        if not self.has_waiting_subflow:
            allowed.discard("child")
        for name in sorted(expression.variables - allowed):
            hint = did_you_mean(name, allowed)
            self.error(path, f"{context} `{source}` names undeclared field '{name}'{hint}", "field")
        if IN_STATE in expression.functions:
            self.check_in_state(path, source, context)
        if "size" in expression.functions:
            self.warn(
                path,
                f"{context} uses size(), which counts UTF-8 bytes of a string, not letters; "
                "use max_length on the field for text length",
                "size-bytes",
            )

    def check_in_state(self, path: PathKey, source: str, context: str) -> None:
        """``in_state`` takes a quoted state name, and the state must exist."""
        literals = IN_STATE_LITERAL.findall(source)
        if len(literals) != len(IN_STATE_CALL.findall(source)):
            self.error(
                path,
                f"{context} `{source}`: in_state takes one state name in quotes, "
                'e.g. in_state("onay")',
                "in-state",
            )
        known = self.state_names()
        for double, single in literals:
            name = double or single
            if name not in known:
                hint = did_you_mean(name, known)
                self.error(
                    path, f"{context} `{source}`: no state '{name}' in this flow{hint}", "in-state"
                )

    def mutex_uses(self) -> dict[str, int]:
        """How many states of the flow name each mutex."""
        uses: dict[str, int] = {}
        for scope in iter_scopes(self.doc):
            for state in scope.states.values():
                mutex = getattr(state, "mutex", None)
                if mutex:
                    uses[mutex] = uses.get(mutex, 0) + 1
        return uses

    def state_names(self) -> set[str]:
        """Every state's local and qualified (``parallel.branch.state``) name."""
        names: set[str] = set()
        pending: list[tuple[str, Mapping[str, schema.StateDoc]]] = [("", self.doc.states)]
        while pending:
            prefix, states = pending.pop()
            for sid, state in states.items():
                names |= {sid, prefix + sid}
                if isinstance(state, schema.ParallelState):
                    for bid, branch in state.branches.items():
                        pending.append((f"{prefix}{sid}.{bid}.", branch.states))
        return names

    def check_template(self, path: PathKey, template: str, context: str) -> None:
        try:
            names = template_names(template)
        except ValueError as exc:
            self.error(path, f"{context}: {exc}", "template")
            return
        for name in names:
            self.check_field(path, name, f"{context} placeholder")

    # -- rules ----------------------------------------------------------------

    def run(self) -> list[Issue]:
        doc = self.doc
        self.check_id(("flow",), doc.flow, "flow", key=False)
        if self.file_stem is not None and self.file_stem != doc.flow:
            self.error(
                ("flow",),
                f"flow id '{doc.flow}' does not match its file name '{self.file_stem}.yaml'; "
                f"rename the file to '{doc.flow}.yaml'",
                "file-name",
            )
        self.has_waiting_subflow = any(
            isinstance(s, schema.SubflowState) and s.wait
            for scope in iter_scopes(doc)
            for s in scope.states.values()
        )
        self.check_organization()
        self.check_roles()
        self.check_fields()
        if doc.sla:
            self.check_duration(("sla",), doc.sla)
        if doc.reference:
            self.check_reference()
        if doc.privacy:
            for i, role in enumerate(doc.privacy.personal_access or []):
                self.check_role(("privacy", "personal_access", i), role)
            if doc.privacy.retention:
                self.check_duration(("privacy", "retention"), doc.privacy.retention)
        for i, role in enumerate(doc.starters or []):
            self.check_role(("starters", i), role)
        for name, signal in doc.signals.items():
            self.check_id(("signals", name), name, "signal")
            for i, role in enumerate(signal.roles):
                self.check_role(("signals", name, "roles", i), role)
        start_state = doc.states.get(doc.start)
        if (
            doc.starters is None
            and start_state is not None
            and not isinstance(start_state, (schema.TaskState, schema.ApprovalState))
        ):
            self.error(
                ("start",),
                f"the start state '{doc.start}' has no role, so 'starters:' must say "
                "which roles may start an instance",
                "starters",
            )
        for scope in iter_scopes(doc):
            self.check_scope(scope)
        if doc.citizen_reply == "required":
            self.check_replies()
        if doc.legal_bases or doc.legal_basis:
            self.check_legal_bases()
        if doc.receipt is not None:
            self.check_field(("receipt", "email"), doc.receipt.email, "receipt email")
        for i, name in enumerate(doc.intake or []):
            self.check_field(("intake", i), name, "intake")
        if doc.duplicates is not None:
            spec = doc.duplicates
            for i, name in enumerate(spec.contact):
                self.check_field(("duplicates", "contact", i), name, "duplicates contact")
            for key in ("place", "subject"):
                value = getattr(spec, key)
                if value is not None:
                    self.check_field(("duplicates", key), value, f"duplicates {key}")
            self.check_duration(("duplicates", "within"), spec.within)
        if doc.open311 is not None:
            self.check_open311(doc.open311)
        if doc.desk is not None:
            self.check_desk(doc.desk)
        return self.issues

    def check_open311(self, spec: schema.Open311Doc) -> None:
        """Open311 parameters land in declared fields; preset values fit them; the
        civic apps' role is one that may start the flow."""
        if spec.role is not None:
            self.check_role(("open311", "role"), spec.role)
            starters = self.doc.starters
            if starters is not None and spec.role not in starters:
                self.error(
                    ("open311", "role"),
                    f"role '{spec.role}' must be one of 'starters:' to submit requests",
                    "open311-role",
                )
        for parameter, name in spec.fields.items():
            self.check_field(("open311", "fields", parameter), name, f"open311 {parameter}")
        presets = [(("open311", "set"), spec.set_)] + [
            (("open311", "services", code, "set"), service.set_)
            for code, service in spec.services.items()
        ]
        for path, values in presets:
            for name, value in values.items():
                self.check_field_key((*path, name), name, "open311 sets")
                problem = self.literal_problem(name, value)
                if problem:
                    self.error((*path, name), f"value for '{name}' {problem}", "set-value")

    # what each `desk:` key may name: the receipt and report print text, count
    # enum values, and read directorates by the organisation's ids
    DESK_TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "applicant": ("string", "text"),
        "phone": ("string",),
        "channel": ("enum",),
        "kind": ("enum",),
        "subject": ("string", "text"),
        "place": ("string", "text", "enum"),
        "directorate": ("string", "enum"),
    }

    def check_desk(self, spec: schema.DeskDoc) -> None:
        """Every field the desk reads is declared and of a type the desk can print or count."""
        for key, kinds in self.DESK_TYPES.items():
            name = getattr(spec, key)
            if name is None:
                continue
            field = self.fields.get(name)
            if field is None:
                self.check_field(("desk", key), name, f"desk {key}")
            elif field.type not in kinds:
                self.error(
                    ("desk", key),
                    f"desk {key} '{name}' is of type {field.type}; it must be "
                    + " or ".join(kinds),
                    "desk-field",
                )
            elif key == "directorate" and not field.directorate:
                self.error(
                    ("desk", key),
                    f"desk directorate '{name}' must be marked 'directorate: true' "
                    "(its values are the organisation file's directorates)",
                    "desk-field",
                )
        for name, titles in spec.titles.items():
            field = self.fields.get(name)
            if field is None:
                self.check_field_key(("desk", "titles", name), name, "desk titles of")
                continue
            if field.type != "enum":
                self.error(
                    ("desk", "titles", name),
                    f"desk titles are for enum values; '{name}' is of type {field.type}",
                    "desk-field",
                    key=True,
                )
                continue
            for value in titles:
                if value not in (field.values or []):
                    hint = did_you_mean(value, field.values or [])
                    self.error(
                        ("desk", "titles", name, value),
                        f"'{value}' is not a value of '{name}'{hint}",
                        "desk-field",
                        key=True,
                    )

    def check_legal_bases(self) -> None:
        """`legal_basis` names an enum field whose every value is a declared basis."""
        doc = self.doc
        for name, basis in doc.legal_bases.items():
            self.check_id(("legal_bases", name), name, "legal basis")
            self.check_duration(("legal_bases", name, "limit"), basis.limit)
            if basis.extended_limit:
                self.check_duration(("legal_bases", name, "extended_limit"), basis.extended_limit)
        if doc.legal_basis is None:
            self.error(
                ("legal_bases",),
                "name the enum field that says which basis applies with 'legal_basis: FIELD'",
                "legal-basis",
                key=True,
            )
            return
        spec = self.fields.get(doc.legal_basis)
        if spec is None or spec.type != "enum":
            kind = "is not declared" if spec is None else f"is a {spec.type}, not an enum"
            self.error(("legal_basis",), f"field '{doc.legal_basis}' {kind}", "legal-basis")
            return
        if not spec.required and spec.default is None:
            self.warn(
                ("legal_basis",),
                f"field '{doc.legal_basis}' may be left empty, and a request without a legal "
                "basis gets no deadline; give it a default or make it required",
                "legal-basis-empty",
            )
        clocks_used = {
            event.clock
            for scope in iter_scopes(doc)
            for state in scope.states.values()
            for event in events_of(state).values()
            if event.clock
        }
        if "pause" in clocks_used and "resume" not in clocks_used:
            self.warn(
                ("legal_basis",),
                "an event pauses the legal clock but none resumes it (clock: resume); "
                "a paused request would keep no deadline until its final reply",
                "clock-no-resume",
            )
        unknown = [v for v in spec.values or [] if v not in doc.legal_bases]
        if unknown:
            self.error(
                ("data", doc.legal_basis, "values"),
                f"value(s) {', '.join(unknown)} of '{doc.legal_basis}' name no legal basis; "
                "declare them under 'legal_bases'",
                "legal-basis",
            )

    def check_replies(self) -> None:
        """Every path from the start to an end passes a final reply (Law 3071 art. 7)."""
        for end, path in unreplied_ends(self.doc.states, self.doc.start).items():
            self.error(
                ("states", end.split(".")[0]),
                f"end '{end}' can be reached without a final reply to the citizen "
                f"(Law 3071, art. 7): {' → '.join(path)}; mark the event that answers "
                "the citizen on that path with 'reply: final'",
                "citizen-reply",
                key=True,
            )

    def check_organization(self) -> None:
        if self.org is None:
            return
        directorate = self.org.directorates.get(self.doc.directorate)
        if directorate is None:
            hint = did_you_mean(self.doc.directorate, self.org.directorates)
            self.error(
                ("directorate",),
                f"directorate '{self.doc.directorate}' is not in the organisation file{hint}",
                "directorate",
            )
        elif self.doc.unit not in directorate.units:
            hint = did_you_mean(self.doc.unit, directorate.units)
            self.error(
                ("unit",),
                f"unit '{self.doc.unit}' is not a unit of directorate "
                f"'{self.doc.directorate}'{hint}",
                "unit",
            )

    def check_roles(self) -> None:
        for role in self.doc.roles:
            self.check_id(("roles", role), role, "role")
            if role in self.org_roles:
                self.warn(
                    ("roles", role),
                    f"role '{role}' is already declared in the organisation file; remove it here",
                    "role-shadow",
                    key=True,
                )

    def check_fields(self) -> None:
        for name, spec in self.doc.data.items():
            path: PathKey = ("data", name)
            self.check_id(path, name, "field")
            self.check_field_spec(path, name, spec)

    def check_field_spec(self, path: PathKey, name: str, spec: schema.FieldDoc) -> None:
        if spec.type == "enum":
            if not spec.values:
                self.error(path, f"enum field '{name}' needs 'values'", "enum", key=True)
            for i, value in enumerate(spec.values or []):
                self.check_id((*path, "values", i), value, "enum value", key=False)
            if spec.values and len(set(spec.values)) != len(spec.values):
                self.error((*path, "values"), f"field '{name}' repeats a value", "enum")
        elif spec.values is not None:
            self.error((*path, "values"), "'values' is only for enum fields", "field-option")
        if spec.type == "list" and spec.items is None:
            self.error(path, f"list field '{name}' needs 'items'", "list", key=True)
        if spec.type != "list" and spec.items is not None:
            self.error((*path, "items"), "'items' is only for list fields", "field-option")
        if spec.items is not None:
            self.check_field_spec((*path, "items"), name, spec.items)
        text_kinds = ("string", "text")
        if spec.max_length is not None and spec.type not in text_kinds:
            self.error((*path, "max_length"), "'max_length' is only for text", "field-option")
        if spec.pattern is not None:
            if spec.type not in text_kinds:
                self.error((*path, "pattern"), "'pattern' is only for text", "field-option")
            try:
                re.compile(spec.pattern)
            except re.error as exc:
                self.error((*path, "pattern"), f"pattern does not compile: {exc}", "pattern")
        if (spec.min is not None or spec.max is not None) and spec.type not in (
            "integer",
            "number",
        ):
            self.error(path, "'min'/'max' are only for numbers", "field-option", key=True)
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            self.error((*path, "min"), "'min' is larger than 'max'", "field-option")
        if spec.directorate and spec.type not in ("string", "enum"):
            self.error(
                (*path, "directorate"), "'directorate: true' is only for text", "field-option"
            )
        if spec.directorate and self.org is not None:
            for i, value in enumerate(spec.values or []):
                if value not in self.org.directorates:
                    self.error(
                        (*path, "values", i),
                        f"'{value}' is not a directorate of the organisation file",
                        "directorate",
                    )
        if spec.default is not None:
            problem = self.literal_problem(name, spec.default)
            if problem:
                self.error((*path, "default"), f"default of '{name}' {problem}", "default")

    def literal_problem(self, name: str, value: Any) -> str | None:
        spec = self.fields.get(name)
        if spec is None:
            return None
        problem = value_problem(spec, value)
        if (
            problem is None
            and spec.directorate
            and self.org is not None
            and isinstance(value, str)
            and value not in self.org.directorates
        ):
            hint = did_you_mean(value, self.org.directorates)
            return f"'{value}' is not a directorate of the organisation file{hint}"
        return problem

    def check_reference(self) -> None:
        pattern = self.doc.reference or ""
        try:
            parsed = list(string.Formatter().parse(pattern))
        except ValueError as exc:
            self.error(("reference",), f"reference pattern is malformed: {exc}", "reference")
            return
        names = {name for _, name, _, _ in parsed if name is not None}
        for name in sorted(names - REFERENCE_FIELDS):
            self.error(
                ("reference",),
                f"reference pattern uses '{{{name}}}'; only {{year}}, {{flow}} and {{seq}} exist",
                "reference",
            )
        if "seq" not in names:
            self.error(
                ("reference",),
                "reference pattern needs {seq} (e.g. BM-{year}-{seq:06d}) to be unique",
                "reference",
            )
        if not names - REFERENCE_FIELDS and "seq" in names:
            try:
                pattern.format(year=2026, flow=self.doc.flow, seq=1)
            except (ValueError, KeyError, IndexError) as exc:
                self.error(("reference",), f"reference pattern fails: {exc}", "reference")

    def check_scope(self, scope: Scope) -> None:
        states_path = (*scope.path, "states")
        for sid, state in scope.states.items():
            self.check_id((*states_path, sid), sid, "state")
            self.check_state((*states_path, sid), sid, state, scope)
        if scope.start not in scope.states:
            hint = did_you_mean(scope.start, scope.states)
            self.error(
                (*scope.path, "start"),
                f"start state '{scope.start}' is not a state of the {scope.label}{hint}",
                "state-ref",
            )
            return
        self.check_reachability(scope, states_path)

    def check_reachability(self, scope: Scope, states_path: PathKey) -> None:
        edges = {
            sid: [target for target, _ in successors(state) if target in scope.states]
            for sid, state in scope.states.items()
        }
        seen = {scope.start}
        frontier = [scope.start]
        while frontier:
            for target in edges[frontier.pop()]:
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        for sid in scope.states:
            if sid not in seen:
                self.error(
                    (*states_path, sid),
                    f"state '{sid}' cannot be reached from the start state '{scope.start}'",
                    "unreachable",
                    key=True,
                )
        ending = {sid for sid, s in scope.states.items() if isinstance(s, schema.EndState)}
        if not ending:
            self.error(
                (*scope.path, "states"),
                f"the {scope.label} has no 'end' state",
                "no-end",
                key=True,
            )
            return
        reverse: dict[str, list[str]] = {sid: [] for sid in scope.states}
        for sid, targets in edges.items():
            for target in targets:
                reverse[target].append(sid)
        can_end = set(ending)
        frontier = list(ending)
        while frontier:
            for source in reverse[frontier.pop()]:
                if source not in can_end:
                    can_end.add(source)
                    frontier.append(source)
        for sid in scope.states:
            if sid in seen and sid not in can_end:
                self.error(
                    (*states_path, sid),
                    f"no end state can be reached from state '{sid}'; "
                    "give it a way out to an 'end'",
                    "no-way-out",
                    key=True,
                )

    def check_state(self, path: PathKey, sid: str, state: schema.StateDoc, scope: Scope) -> None:
        for target, rel in successors(state):
            if target not in scope.states:
                hint = did_you_mean(target, scope.states)
                self.error(
                    (*path, *rel),
                    f"'{target}' is not a state of the {scope.label}{hint}",
                    "state-ref",
                )
        for hook in ("on_enter", "on_exit"):
            for i, effect in enumerate(getattr(state, hook)):
                self.check_effect((*path, hook, i), effect)
        if isinstance(state, (schema.TaskState, schema.ApprovalState)):
            self.check_role((*path, "role"), state.role)
            if state.mutex is not None:
                self.check_id((*path, "mutex"), state.mutex, "mutex", key=False)
                if self.mutex_uses().get(state.mutex, 0) < 2:
                    self.warn(
                        (*path, "mutex"),
                        f"mutex '{state.mutex}' is on no other state, so it never makes "
                        f"'{sid}' wait; put it on every state that must not run alongside",
                        "mutex-alone",
                    )
            if state.assignee:
                self.check_expression((*path, "assignee"), state.assignee, "assignee")
            if state.sla:
                self.check_duration((*path, "sla"), state.sla)
            else:
                self.warn(
                    path,
                    f"{state.type} '{sid}' has no 'sla'; give it a deadline",
                    "no-sla",
                    key=True,
                )
            for i, timer in enumerate(state.timers):
                self.check_duration((*path, "timers", i, "after"), timer.after)
                for j, role in enumerate(timer.notify or []):
                    self.check_role((*path, "timers", i, "notify", j), role)
            prefix: PathKey = (*path, "on") if isinstance(state, schema.TaskState) else path
            for eid, event in events_of(state).items():
                self.check_event((*prefix, eid), eid, event)
            if isinstance(state, schema.TaskState) and not state.on:
                self.error(path, f"task '{sid}' has no events under 'on'", "no-events", key=True)
            if isinstance(state, schema.ApprovalState) and state.escalate is not None:
                for j, role in enumerate(state.escalate.notify):
                    self.check_role((*path, "escalate", "notify", j), role)
            if isinstance(state, schema.ApprovalState) and state.reject.comment == "optional":
                self.error(
                    (*path, "reject", "comment"),
                    "rejecting always requires a comment (the reason); remove 'comment: optional'",
                    "reject-comment",
                )
        elif isinstance(state, schema.DecisionState):
            for i, choice in enumerate(state.choices):
                self.check_expression((*path, "choices", i, "when"), choice.when, "condition")
        elif isinstance(state, schema.ActionState):
            if not state.effects:
                self.warn(path, f"action '{sid}' has no effects", "no-effects", key=True)
            for i, effect in enumerate(state.effects):
                self.check_effect((*path, "effects", i), effect)
        elif isinstance(state, schema.ParallelState):
            self.check_parallel(path, sid, state)
        elif isinstance(state, schema.SubflowState):
            self.check_subflow(path, state)
        elif isinstance(state, schema.EndState):
            self.check_id((*path, "outcome"), state.outcome, "outcome", key=False)
            if state.terminate and scope.label == "flow":
                self.error(
                    (*path, "terminate"),
                    f"end '{sid}' is not inside a parallel branch, where every end already "
                    "ends the instance; remove 'terminate'",
                    "terminate",
                )

    def check_parallel(self, path: PathKey, sid: str, state: schema.ParallelState) -> None:
        for bid, branch in state.branches.items():
            self.check_id((*path, "branches", bid), bid, "branch")
            if branch.when:
                self.check_expression(
                    (*path, "branches", bid, "when"), branch.when, f"branch '{bid}' condition"
                )
        if state.join and state.join.count > len(state.branches):
            self.error(
                (*path, "join", "count"),
                f"join count {state.join.count} is more than the {len(state.branches)} "
                f"branches of '{sid}'; it could never join",
                "join-count",
            )
        for eid, event in state.on.items():
            self.check_event((*path, "on", eid), eid, event)
            if not event.roles:
                self.error(
                    (*path, "on", eid),
                    f"event '{eid}' of parallel '{sid}' needs 'roles': a parallel has no "
                    "role of its own to say who may withdraw it",
                    "parallel-roles",
                    key=True,
                )
            if event.requires:
                self.error(
                    (*path, "on", eid, "requires"),
                    f"event '{eid}' of parallel '{sid}' cannot require fields",
                    "parallel-requires",
                )
        for i, timer in enumerate(state.timers):
            self.check_duration((*path, "timers", i, "after"), timer.after)
            for j, role in enumerate(timer.notify or []):
                self.check_role((*path, "timers", i, "notify", j), role)

    def check_event(self, path: PathKey, eid: str, event: schema.EventDoc) -> None:
        self.check_id(path, eid, "event")
        if event.clock is not None and not self.doc.legal_bases:
            self.error(
                (*path, "clock"),
                f"event '{eid}' moves the statutory clock, but the flow declares no 'legal_bases'",
                "clock",
            )
        if event.clock == "extend" and (event.reply != "interim" or event.comment != "required"):
            self.error(
                (*path, "clock"),
                f"event '{eid}' extends the legal deadline, which the citizen must be told, "
                "with the reason: give it 'reply: interim' and 'comment: required'",
                "clock",
            )
        if event.signal is not None and (
            event.when or event.requires or event.comment == "required"
        ):
            self.error(
                (*path, "signal"),
                f"event '{eid}' is fired by the signal '{event.signal}', with no person to "
                "give data or a comment: drop its 'when', 'requires' and 'comment: required'",
                "signal",
            )
        if event.signal is not None and event.signal not in self.doc.signals:
            hint = did_you_mean(event.signal, self.doc.signals)
            self.error(
                (*path, "signal"),
                f"signal '{event.signal}' is not declared under 'signals'{hint}",
                "signal",
            )
        for i, role in enumerate(event.roles or []):
            self.check_role((*path, "roles", i), role)
        for i, name in enumerate(event.requires):
            self.check_field((*path, "requires", i), name, f"event '{eid}' requires")
        for i, name in enumerate(event.accepts):
            self.check_field((*path, "accepts", i), name, f"event '{eid}' accepts")
        for name, value in event.set_.items():
            self.check_field_key((*path, "set", name), name, f"event '{eid}' sets")
            problem = self.literal_problem(name, value)
            if problem:
                self.error((*path, "set", name), f"value for '{name}' {problem}", "set-value")
        for name, source in event.compute.items():
            self.check_field_key((*path, "compute", name), name, f"event '{eid}' computes")
            self.check_expression((*path, "compute", name), source, f"compute of '{name}'")
        if event.when:
            self.check_expression((*path, "when"), event.when, "guard")

    def check_effect(self, path: PathKey, effect: schema.EffectDoc) -> None:
        if effect.notify:
            for i, role in enumerate(effect.notify.roles):
                self.check_role((*path, "notify", "roles", i), role)
            self.check_template((*path, "notify", "message"), effect.notify.message, "message")
        if effect.email:
            for i, address in enumerate(effect.email.to):
                self.check_template((*path, "email", "to", i), address, "address")
            self.check_template((*path, "email", "subject"), effect.email.subject, "subject")
            self.check_template((*path, "email", "body"), effect.email.body, "body")
        if effect.publish:
            for i, channel in enumerate(effect.publish.channels):
                self.check_id((*path, "publish", "channels", i), channel, "channel", key=False)
            self.check_template((*path, "publish", "text"), effect.publish.text, "text")
        if effect.webhook:
            self.check_template((*path, "webhook", "url"), effect.webhook.url, "url")
            if effect.webhook.body:
                self.check_template((*path, "webhook", "body"), effect.webhook.body, "body")

    def check_subflow(self, path: PathKey, state: schema.SubflowState) -> None:
        child = self.flows.get(state.flow)
        if child is None:
            hint = did_you_mean(state.flow, self.flows)
            self.error((*path, "flow"), f"flow '{state.flow}' is not declared{hint}", "flow-ref")
        for name, source in state.input.items():
            if child is not None and name not in child.doc.data:
                hint = did_you_mean(name, child.doc.data)
                self.error(
                    (*path, "input", name),
                    f"flow '{state.flow}' has no field '{name}'{hint}",
                    "field",
                    key=True,
                )
            extra = FOREACH_NAMES if state.foreach else frozenset()
            self.check_expression((*path, "input", name), source, f"input '{name}'", extra)
        if state.foreach is not None:
            spec = self.fields.get(state.foreach)
            if spec is None or spec.type != "list":
                kind = "is not declared" if spec is None else f"is a {spec.type}, not a list"
                self.error(
                    (*path, "foreach"),
                    f"foreach field '{state.foreach}' {kind}; name a list field",
                    "foreach",
                )
        if state.join is not None:
            if state.foreach is None:
                self.error(
                    (*path, "join"),
                    "'join' on a subflow needs 'foreach' (it counts the children that ended)",
                    "join-foreach",
                )
            elif not state.wait:
                self.error((*path, "join"), "'join' needs 'wait: true'", "join-foreach")
        for eid, event in state.on.items():
            self.check_event((*path, "on", eid), eid, event)
            if not state.wait:
                self.error(
                    (*path, "on", eid),
                    f"event '{eid}': a subflow with 'wait: false' moves on at once; "
                    "only a waiting subflow has events",
                    "subflow-events",
                    key=True,
                )
            if not event.roles:
                self.error(
                    (*path, "on", eid),
                    f"event '{eid}' of subflow '{path[-1]}' needs 'roles'",
                    "subflow-roles",
                    key=True,
                )
            if event.to == path[-1] and state.foreach is None:
                self.error(
                    (*path, "on", eid, "to"),
                    f"event '{eid}' leads back to its own subflow, which adds children for "
                    "new items of a 'foreach' list; this subflow has no 'foreach'",
                    "subflow-events",
                )


def subflow_cycles(flows: Mapping[str, ParsedFlow]) -> list[Issue]:
    """Report every flow that can start itself again through subflows."""
    calls: dict[str, list[tuple[str, PathKey]]] = {}
    for fid, parsed in flows.items():
        calls[fid] = []
        for scope in iter_scopes(parsed.doc):
            for sid, state in scope.states.items():
                if isinstance(state, schema.SubflowState) and state.flow in flows:
                    calls[fid].append((state.flow, (*scope.path, "states", sid, "flow")))
    issues: list[Issue] = []
    for fid in sorted(flows):
        path = _find_cycle(fid, calls)
        if path:
            cycle = " → ".join([*path, path[0]])
            first_call = next(loc for target, loc in calls[fid] if target == path[1 % len(path)])
            issues.append(
                flows[fid].loaded.issue(
                    first_call, f"subflows form a cycle: {cycle}; break it", code="cycle"
                )
            )
    return issues


def _find_cycle(origin: str, calls: Mapping[str, list[tuple[str, PathKey]]]) -> list[str]:
    """Return a path origin → … that leads back to origin, or []."""
    stack: list[tuple[str, list[str]]] = [(origin, [origin])]
    visited: set[str] = set()
    while stack:
        node, path = stack.pop()
        for target, _ in calls.get(node, []):
            if target == origin:
                return path
            if target not in visited:
                visited.add(target)
                stack.append((target, [*path, target]))
    return []
