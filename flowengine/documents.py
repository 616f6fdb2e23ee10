"""Turn a loaded YAML document into schema models, or into positioned issues.

Owns the translation of pydantic's validation errors into ``path:line:col``
messages a flow author can act on. Imports ``loader``, ``schema``, ``errors``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from flowengine import schema
from flowengine.errors import Issue, did_you_mean
from flowengine.loader import LoadedDocument, PathKey

M = TypeVar("M", bound=BaseModel)


def _vocabulary() -> frozenset[str]:
    """Every key the language knows, for "did you mean" on an unknown key."""
    words: set[str] = set()
    for obj in vars(schema).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            for name, info in obj.model_fields.items():
                words.add(info.alias or name)
    return frozenset(words)


VOCABULARY = _vocabulary()


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """Map pydantic's ``loc`` onto the document, dropping union-tag segments."""
    path: list[str | int] = []
    node = data
    for segment in loc:
        if (isinstance(node, dict) and segment in node) or (
            isinstance(node, list) and isinstance(segment, int) and segment < len(node)
        ):
            path.append(segment)
            node = node[segment]
        elif isinstance(node, dict) and segment in schema.STATE_TYPES:
            continue  # the discriminator pydantic inserts for a tagged union
        elif isinstance(segment, str) and segment.startswith(("function-", "tagged-union")):
            continue
        else:
            path.append(segment)
            node = None
    return tuple(path)


def _describe(error: Any, path: PathKey, data: Any) -> tuple[str, bool]:
    """Return (message, points_at_key) for one pydantic error."""
    kind = error["type"]
    last = str(path[-1]) if path else "document"
    where = _owner(path)
    if kind == "extra_forbidden":
        return f"unknown key '{last}'{where}{did_you_mean(last, VOCABULARY)}", True
    if kind == "missing":
        return f"missing required key '{last}'{where}", False
    if kind == "union_tag_not_found":
        types = ", ".join(schema.STATE_TYPES)
        return f"state '{last}' has no 'type'; give one of: {types}", True
    if kind == "union_tag_invalid":
        got = error.get("input", {}).get("type") if isinstance(error.get("input"), dict) else None
        types = ", ".join(schema.STATE_TYPES)
        return f"unknown state type '{got}'; give one of: {types}", False
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message[len("Value error, ") :] + where, False
    got = error.get("input")
    shown = f", got {got!r}" if isinstance(got, (str, int, float, bool)) or got is None else ""
    text = message[0].lower() + message[1:] if message else kind
    return f"'{last}' {text}{shown}", False


def _owner(path: PathKey) -> str:
    """Say which state or field a path lies in, for messages."""
    for index in range(len(path) - 1, 0, -1):
        if path[index - 1] == "states" and isinstance(path[index], str) and index < len(path):
            return f" in state '{path[index]}'" if index != len(path) - 1 else ""
        if path[index - 1] == "data" and index != len(path) - 1:
            return f" in field '{path[index]}'"
    return ""


def parse_document(model: type[M], loaded: LoadedDocument) -> tuple[M | None, list[Issue]]:
    """Validate ``loaded.data`` as ``model``; return the model or every issue found."""
    if not isinstance(loaded.data, dict):
        return None, [
            loaded.issue((), "the file must be a YAML mapping of keys to values", code="shape")
        ]
    try:
        return model.model_validate(loaded.data), []
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            path = _data_path(loaded.data, tuple(error["loc"]))
            message, at_key = _describe(error, path, loaded.data)
            issues.append(loaded.issue(path, message, key=at_key, code=error["type"]))
        return None, issues
