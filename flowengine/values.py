"""Values of data fields: whether a value fits a field, and reading one from text.

Owns the meaning of each field type of the flow language (``string`` … ``list``)
for validation (defaults, ``set`` literals) and for running instances (payloads).
Imports ``schema``, ``loader`` and ``errors``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from flowengine import schema
from flowengine.errors import InvalidData
from flowengine.loader import YamlLoadError, load_text

TEXT_TYPES = ("string", "text", "file", "enum", "date", "datetime")
# A value longer than this needs an explicit max_length: nobody types a novel in a form.
MAX_TEXT_LENGTH = 100_000
# Tab, newline and carriage return are text; other C0 controls and DEL are not.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRUE = {"true", "evet", "yes"}
_FALSE = {"false", "hayır", "hayir", "no"}


def value_problem(spec: schema.FieldDoc, value: Any) -> str | None:
    """Why ``value`` does not fit ``spec``, or None. Shared by validation and runtime."""
    kind = spec.type
    if value is None:
        return None
    if isinstance(value, str):
        problem = _text_problem(value, spec.max_length or MAX_TEXT_LENGTH)
        if problem:
            return problem
    if kind in ("string", "text", "file"):
        if not isinstance(value, str):
            return f"must be text, got {type(value).__name__}"
        if spec.pattern is not None and not _matches(spec.pattern, value):
            return f"does not match the pattern {spec.pattern}"
        return None
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number, got {value!r}"
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, got {value!r}"
    elif kind == "boolean":
        if not isinstance(value, bool):
            return f"must be true or false, got {value!r}"
        return None
    elif kind == "enum":
        if value not in (spec.values or []):
            choices = ", ".join(spec.values or [])
            return f"'{value}' is not one of: {choices}"
        return None
    elif kind == "date":
        if not isinstance(value, str) or not _is_iso(value, date.fromisoformat):
            return f"must be a date like 2026-01-31, got {value!r}"
        return None
    elif kind == "datetime":
        if not isinstance(value, str) or not _is_iso(value, datetime.fromisoformat):
            return f"must be a date and time like 2026-01-31T14:30:00+03:00, got {value!r}"
        return None
    elif kind == "list":
        if not isinstance(value, list):
            return f"must be a list, got {type(value).__name__}"
        if spec.items is not None:
            for index, item in enumerate(value):
                problem = value_problem(spec.items, item)
                if problem:
                    return f"item {index + 1} {problem}"
        return None
    if spec.min is not None and value < spec.min:
        return f"must be at least {spec.min}"
    if spec.max is not None and value > spec.max:
        return f"must be at most {spec.max}"
    return None


def _text_problem(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"is {len(value):,} characters, over the limit of {limit:,}"
    bad = _CONTROL.search(value)
    if bad:
        return f"contains the control character U+{ord(bad.group()):04X}; remove it"
    return None


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return True  # the pattern itself is reported by the field check


def _is_iso(text: str, parse: Any) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def from_text(spec: schema.FieldDoc | None, text: str) -> Any:
    """Read ``text`` (a command-line or form value) as ``spec``'s type.

    Text fields keep the text as it is, so ``--set tc_kimlik_no=12345678950`` stays
    text; numbers, booleans and lists are parsed. Raises ValueError with the reason.
    """
    if spec is None or spec.type in TEXT_TYPES:
        return text
    if spec.type == "integer":
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"must be a whole number, got '{text}'") from None
    if spec.type == "number":
        cleaned = text.strip().replace(",", ".")  # Turkish writes 12,5
        if re.fullmatch(r"[-+]?[0-9]+", cleaned):
            return int(cleaned)
        try:
            return float(cleaned)
        except ValueError:
            raise ValueError(f"must be a number, got '{text}'") from None
    if spec.type == "boolean":
        lowered = text.strip().casefold()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"must be true or false, got '{text}'")
    return _list_from_text(spec, text)


def _list_from_text(spec: schema.FieldDoc, text: str) -> list[Any]:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = load_text(f"v: {stripped}\n", "value").data["v"]
        except YamlLoadError as exc:
            raise ValueError(f"is not a list: {exc.issue.message}") from None
        if not isinstance(items, list):
            raise ValueError(f"is not a list, got '{text}'")
        raw = ["" if item is None else str(item) for item in items]
    else:
        raw = [part.strip() for part in stripped.split(",") if part.strip()]
    return [from_text(spec.items, item) for item in raw]


def values_from_text(
    fields: Mapping[str, schema.FieldDoc], texts: Mapping[str, str]
) -> dict[str, Any]:
    """Read every ``texts`` value by its field's type; InvalidData names each bad one."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, text in texts.items():
        try:
            values[name] = from_text(fields.get(name), text)
        except ValueError as exc:
            problems[name] = str(exc)
    if problems:
        raise InvalidData(problems)
    return values
