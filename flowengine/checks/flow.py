"""The rules of one flow: references between states, reachability, roles,
fields, directorates, expressions, reference patterns and subflows.
"""

from __future__ import annotations

import re
import string

from flowengine import schema
from flowengine.checks.base import REFERENCE_FIELDS
from flowengine.checks.extensions import ExtensionChecks
from flowengine.checks.walk import Scope, events_of, iter_scopes, successors
from flowengine.errors import Issue, did_you_mean
from flowengine.expressions import (
    FOREACH_NAMES,
)
from flowengine.loader import PathKey


class FlowChecker(ExtensionChecks):
    """Collects every semantic issue of one flow against its flow set."""

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
