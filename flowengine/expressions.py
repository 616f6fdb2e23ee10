"""CEL expressions: compile once, list the names they use, evaluate on data.

The implementation is the ``common-expression-language`` package (bindings to
the Rust ``cel-interpreter``), chosen over the pure-Python ``cel-python``
because it compiles about 10x and evaluates about 50x faster and reports the
variables an expression reads. Its one known deviation from the CEL
specification matters here: ``size()`` of a string counts UTF-8 bytes, not
characters, so ``size("çğış")`` is 8; the validator warns where a flow uses
``size`` (docs/flow-language.md).

Expressions never reach Python ``eval``. Imports only ``errors``.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The package's __init__ also imports its own command-line tool (rich, pygments,
# prompt-toolkit): 90–240 ms on every flowengine command for nothing we use. An
# empty stand-in for that one submodule keeps the evaluator and drops the cost.
sys.modules.setdefault("cel.cli", types.ModuleType("cel.cli"))
import cel  # noqa: E402 - must follow the stand-in above

from flowengine.errors import FlowEngineError  # noqa: E402

MAX_EXPRESSION_LENGTH = 2000
MAX_NESTING = 32

# Names that every expression may read besides the flow's data fields.
BUILTIN_NAMES = frozenset({"instance", "actor", "now", "child"})
# ... and, in the `input` of a `foreach` subflow, the item and its position
FOREACH_NAMES = frozenset({"item", "index"})
# in_state("name"): whether a state is active (a milestone), given a local or
# qualified name; read from `instance.states` of the variables.
IN_STATE = "in_state"
IN_STATE_CALL = re.compile(r"\bin_state\s*\(")
IN_STATE_LITERAL = re.compile(r"\bin_state\s*\(\s*(?:\"([^\"\\]*)\"|'([^'\\]*)')\s*\)")


def _in_state(states: list[str]) -> Callable[[str], bool]:
    def in_state(name: str) -> bool:
        # a state, or a parallel while anything inside it runs; local or qualified
        dotted = [f".{s}." for s in states]
        return any(f".{name}." in d for d in dotted)

    return in_state


_MACRO_VARIABLE = re.compile(
    r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,"
)
_STRING_LITERAL = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")
_LOCATION = re.compile(r"<input>:(\d+):(\d+): (.*)")


class ExpressionError(FlowEngineError):
    """An expression failed to compile or to evaluate."""


def _nesting(source: str) -> int:
    depth = deepest = 0
    for char in _STRING_LITERAL.sub('""', source):
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


@dataclass(frozen=True)
class Expression:
    """A compiled CEL expression and the names it reads."""

    source: str
    program: Any = field(repr=False, compare=False)
    variables: frozenset[str]
    functions: frozenset[str]

    def evaluate(
        self,
        variables: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> Any:
        if IN_STATE in self.functions and not (functions and IN_STATE in functions):
            instance = variables.get("instance") or {}
            states = list(instance.get("states", ())) if isinstance(instance, Mapping) else []
            functions = {**(functions or {}), IN_STATE: _in_state(states)}
        try:
            if functions:
                context = cel.Context(variables=dict(variables), functions=dict(functions))
                return self.program.execute(context)
            return self.program.execute(dict(variables))
        except Exception as exc:  # the binding raises bare TypeError/ValueError/RuntimeError
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ExpressionError(f"expression `{self.source}` failed: {reason}") from exc


def compile_expression(source: str) -> Expression:
    """Compile ``source`` or raise :class:`ExpressionError` with a one-line reason."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("expression is empty")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(source)} characters, over the limit of "
            f"{MAX_EXPRESSION_LENGTH}; split the logic into fields or states"
        )
    if _nesting(source) > MAX_NESTING:
        raise ExpressionError(
            f"expression nests brackets deeper than {MAX_NESTING} levels; simplify it"
        )
    try:
        program = cel.compile(source)
    except Exception as exc:  # the binding raises ValueError with a multi-line report
        raise ExpressionError(_compile_message(str(exc))) from None
    bound = set(_MACRO_VARIABLE.findall(source))
    variables = frozenset(v for v in program.variables() if v not in bound)
    functions = frozenset(f for f in program.functions() if f[:1].isalpha())
    return Expression(source, program, variables, functions)


def _compile_message(report: str) -> str:
    match = _LOCATION.search(report)
    if not match:
        return f"expression does not compile: {report.splitlines()[0] if report else ''}"
    column, reason = match.group(2), match.group(3)
    if len(reason) > 120:
        reason = reason[:117] + "…"
    return f"expression does not compile at column {column}: {reason}"
