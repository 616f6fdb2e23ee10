"""What every rule of flow validation builds on: the issues of one flow, and
the checks of single references that the rules share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowengine import schema
from flowengine.checks.walk import ID, ParsedFlow, iter_scopes, template_names
from flowengine.durations import DurationSyntaxError, parse_duration
from flowengine.errors import Issue, did_you_mean
from flowengine.expressions import (
    BUILTIN_NAMES,
    IN_STATE,
    IN_STATE_CALL,
    IN_STATE_LITERAL,
    ExpressionError,
    compile_expression,
)
from flowengine.loader import PathKey
from flowengine.values import value_problem

REFERENCE_FIELDS = {"year", "seq", "flow"}


class CheckerBase:
    """One flow against its flow set: the issues found so far, and the checks of
    single references (ids, roles, fields, durations, expressions, templates)."""

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
