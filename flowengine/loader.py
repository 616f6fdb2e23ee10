"""Read one YAML file safely and strictly into plain Python values with positions.

Owns everything flowengine knows about YAML syntax. It walks PyYAML's event
stream itself instead of composing nodes, because the composer recurses (2,000
nested levels raise ``RecursionError``), expands aliases (billion laughs) and
resolves scalars with YAML 1.1 rules (``on`` → ``True``). Here:

* scalars follow the YAML 1.2 core schema (only ``true``/``false`` are booleans);
* explicit tags, aliases, merge keys (``<<``) and multiple documents are refused;
* duplicate keys are refused, naming both lines;
* nesting depth and file size are bounded;
* text must be UTF-8 (a UTF-8 byte-order mark is tolerated with a warning) and
  every string is normalised to NFC so that Turkish letters compare equal
  however an editor composed them.

Imports only ``errors`` from flowengine.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowengine.errors import DefinitionError, Issue

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64

try:  # the C parser is ~10x faster; the pure one behaves the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml missing
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

PathKey = tuple[str | int, ...]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


# Every non-text plain scalar starts with one of these; anything else is text, and
# most scalars of a flow (ids, titles) skip the eight patterns below.
_NOT_TEXT_STARTS = frozenset("~nNtTfF0123456789+-.")


def resolve_plain_scalar(text: str) -> Any:
    """Resolve an unquoted scalar by the YAML 1.2 core schema."""
    if text and text[0] not in _NOT_TEXT_STARTS:
        return unicodedata.normalize("NFC", text)
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT10.match(text):
        return int(text)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class LoadedDocument:
    """The plain value of a YAML file and where each of its nodes stands.

    Positions are kept as 0-based ``(line, column)`` pairs and turned into a
    :class:`Position` only when an issue asks: a file has thousands of nodes
    and usually no issue. (Pairs of ints, not the parser's marks, which would
    keep thousands of objects alive for the garbage collector to walk.)
    """

    path: str
    data: Any
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    warnings: list[Issue] = field(default_factory=list)

    def position(self, loc: PathKey, *, key: bool = False) -> Position:
        """Best position for ``loc``: the node itself, else its nearest ancestor."""
        table = self.key_positions if key else self.positions
        probe = tuple(loc)
        while probe:
            found = table.get(probe) or self.positions.get(probe)
            if found:
                return Position(found[0] + 1, found[1] + 1)
            probe = probe[:-1]
        line, column = self.positions.get((), (0, 0))
        return Position(line + 1, column + 1)

    def issue(self, loc: PathKey, message: str, *, key: bool = False, code: str = "") -> Issue:
        pos = self.position(loc, key=key)
        return Issue(self.path, pos.line, pos.column, "error", message, code)

    def warning(self, loc: PathKey, message: str, *, key: bool = False, code: str = "") -> Issue:
        pos = self.position(loc, key=key)
        return Issue(self.path, pos.line, pos.column, "warning", message, code)


class YamlLoadError(DefinitionError):
    """The file cannot be read as flowengine YAML; ``issue`` says where and why.

    A :class:`DefinitionError` whose ``issues`` is that one issue, so a caller
    that reports definition errors reports this one too.
    """

    def __init__(self, issue: Issue) -> None:
        self.issue = issue
        super().__init__([issue])


def _pos(mark: Any) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


def decode(raw: bytes, path: str) -> tuple[str, list[Issue]]:
    """Decode bytes as UTF-8, refusing other encodings with a one-line reason."""
    warnings: list[Issue] = []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlLoadError(
            Issue(path, 1, 1, "error", "file is UTF-16 encoded; save it as UTF-8", "encoding")
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        warnings.append(
            Issue(
                path, 1, 1, "warning", "file starts with a UTF-8 byte-order mark; remove it", "bom"
            )
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise YamlLoadError(
            Issue(
                path,
                line,
                column,
                "error",
                f"invalid UTF-8 byte 0x{raw[exc.start]:02x}; save the file as UTF-8",
                "encoding",
            )
        ) from None
    return text, warnings


def load_text(
    text: str, path: str, *, max_depth: int = MAX_DEPTH, warnings: list[Issue] | None = None
) -> LoadedDocument:
    """Parse YAML text into a :class:`LoadedDocument` or raise :class:`YamlLoadError`."""
    doc = LoadedDocument(path=path, data=None, warnings=list(warnings or []))
    parser = _Loader(text)
    try:
        _walk_events(parser, doc, max_depth)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise _fail(path, mark, f"YAML syntax error: {problem}", "syntax") from None
    except yaml.reader.ReaderError as exc:  # control characters and the like
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        message = f"character U+{exc.character:04X} is not allowed in YAML; remove it"
        raise YamlLoadError(Issue(path, line, column, "error", message, "syntax")) from None
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise YamlLoadError(
            Issue(path, 1, 1, "error", f"YAML error: {first_line}", "syntax")
        ) from None
    finally:
        parser.dispose()
    return doc


def _fail(path: str, mark: Any, message: str, code: str) -> YamlLoadError:
    p = _pos(mark)
    return YamlLoadError(Issue(path, p.line, p.column, "error", message, code))


def _walk_events(parser: Any, doc: LoadedDocument, max_depth: int) -> None:
    """Build ``doc.data`` from the parser's events (one loop, dispatched on type).

    This is the hot path of ``flowengine validate``: events are compared by
    type identity, marks are stored as they come, and a frame is a plain list.
    """
    path = doc.path
    positions, key_positions = doc.positions, doc.key_positions
    # a frame: [container, loc, pending key or None, {key: line}]
    stack: list[list[Any]] = []
    documents = 0
    get_event = parser.get_event
    while True:
        event = get_event()
        kind = type(event)
        if (
            kind is yaml.ScalarEvent
            or kind is yaml.MappingStartEvent
            or kind is yaml.SequenceStartEvent
        ):
            mark = event.start_mark
            top = stack[-1] if stack else None
            if top is not None and top[2] is None and type(top[0]) is dict:
                _take_key(path, event, kind, top, key_positions)
                continue
            tag = event.tag
            if tag is not None and tag != "!":
                raise _fail(path, mark, f"YAML tags ({tag}) are not allowed", "tag")
            value: Any
            if kind is yaml.ScalarEvent:
                raw = event.value
                value = (
                    unicodedata.normalize("NFC", raw)
                    if event.style
                    else (resolve_plain_scalar(raw))
                )
            else:
                if len(stack) >= max_depth:
                    raise _fail(
                        path,
                        mark,
                        f"nesting deeper than {max_depth} levels; flatten the document",
                        "depth",
                    )
                value = {} if kind is yaml.MappingStartEvent else []
            if top is None:
                doc.data = value
                loc: PathKey = ()
            elif type(top[0]) is list:
                loc = (*top[1], len(top[0]))
                top[0].append(value)
            else:
                loc = (*top[1], top[2])
                top[0][top[2]] = value
                top[2] = None
            positions[loc] = (mark.line, mark.column)
            if kind is not yaml.ScalarEvent:
                stack.append([value, loc, None, {}])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
        elif kind is yaml.StreamEndEvent:
            return
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _fail(
                    path,
                    event.start_mark,
                    "only one YAML document per file; remove the '---' separator",
                    "multi-doc",
                )
        elif kind is yaml.AliasEvent:
            raise _fail(
                path,
                event.start_mark,
                f"YAML aliases (*{event.anchor}) are not allowed; write the value out",
                "alias",
            )
        # StreamStart and DocumentEnd carry nothing


def _take_key(path: str, event: Any, kind: type, top: list[Any], key_positions: Any) -> None:
    """Consume ``event`` as the key the mapping frame ``top`` awaits."""
    mark = event.start_mark
    if kind is not yaml.ScalarEvent:
        raise _fail(path, mark, "mapping keys must be plain text", "key-type")
    key: Any = event.value if event.style else resolve_plain_scalar(event.value)
    if event.tag is not None and event.tag != "!":
        raise _fail(path, mark, f"YAML tags ({event.tag}) are not allowed", "tag")
    if key == "<<" and not event.style:
        raise _fail(
            path, mark, "YAML merge keys (<<) are not allowed; write the keys out", "merge-key"
        )
    if not isinstance(key, str):
        raise _fail(path, mark, f"mapping key {event.value!r} must be text; quote it", "key-type")
    key = unicodedata.normalize("NFC", key)
    lines = top[3]
    if key in lines:
        raise _fail(
            path,
            mark,
            f"duplicate key '{key}' (first defined on line {lines[key]})",
            "duplicate-key",
        )
    lines[key] = mark.line + 1
    top[2] = key
    key_positions[(*top[1], key)] = (mark.line, mark.column)


def load_file(
    path: Path, *, display: str | None = None, max_bytes: int = MAX_FILE_BYTES
) -> LoadedDocument:
    """Read and parse ``path``; every failure is a :class:`YamlLoadError` with a position."""
    shown = display or str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise YamlLoadError(
                Issue(
                    shown,
                    1,
                    1,
                    "error",
                    f"file is {size:,} bytes, over the limit of {max_bytes:,}; split it",
                    "size",
                )
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlLoadError(
            Issue(shown, 1, 1, "error", f"cannot read file: {exc.strerror}", "io")
        ) from None
    text, warnings = decode(raw, shown)
    return load_text(text, shown, warnings=warnings)
