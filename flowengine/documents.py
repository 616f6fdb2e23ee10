"""Turn a loaded YAML document into schema models, or into positioned issues.

Owns the translation of pydantic's validation errors into ``path:line:col``
messages a flow author can act on. Imports ``loader``, ``schema``, ``errors``.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

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


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> set[str]:
    """The keys allowed in the mapping at ``loc`` (pydantic's loc, tags included)."""
    node: Any = model
    for segment in loc:
        node = _unwrap(node, segment)
        if node is None:
            return set(VOCABULARY)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return {info.alias or name for name, info in node.model_fields.items()}
    return set(VOCABULARY)


def _unwrap(node: Any, segment: Any) -> Any:
    """Step from a type into the type of ``segment`` below it (None if unknown)."""
    while True:
        origin = get_origin(node)
        if origin is Annotated:
            node = get_args(node)[0]
        elif origin in (Union, UnionType):
            options = [a for a in get_args(node) if a is not type(None)]
            tagged = [
                a
                for a in options
                if isinstance(a, type)
                and issubclass(a, BaseModel)
                and a.model_fields.get("type") is not None
                and segment in get_args(a.model_fields["type"].annotation)
            ]
            if tagged:
                return tagged[0]
            if len(options) != 1:
                return None
            node = options[0]
        else:
            break
    if isinstance(node, type) and issubclass(node, BaseModel):
        for name, info in node.model_fields.items():
            if segment in (name, info.alias):
                return info.annotation
        return None
    if get_origin(node) in (dict, list):
        return get_args(node)[-1]
    return None


def _describe(error: Any, path: PathKey, model: type[BaseModel]) -> tuple[str, bool]:
    """Return (message, points_at_key) for one pydantic error."""
    kind = error["type"]
    last = str(path[-1]) if path else "document"
    where = _owner(path)
    if kind == "extra_forbidden":
        allowed = _keys_at(model, tuple(error["loc"])[:-1]) - {last}
        # a key valid elsewhere (e.g. `next` on a task) is misplaced, not misspelled
        hint = "" if last in VOCABULARY else did_you_mean(last, allowed)
        return f"unknown key '{last}'{where}{hint}", True
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
            message, at_key = _describe(error, path, model)
            if error["type"] == "union_tag_invalid":
                path = (*path, "type")  # point at the bad type, not the state
            issues.append(loaded.issue(path, message, key=at_key, code=error["type"]))
        return None, issues
