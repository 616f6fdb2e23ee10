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

from flowengine.errors import Issue

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


def resolve_plain_scalar(text: str) -> Any:
    """Resolve an unquoted scalar by the YAML 1.2 core schema."""
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
    """The plain value of a YAML file and where each of its nodes stands."""

    path: str
    data: Any
    positions: dict[PathKey, Position] = field(default_factory=dict)
    key_positions: dict[PathKey, Position] = field(default_factory=dict)
    warnings: list[Issue] = field(default_factory=list)

    def position(self, loc: PathKey, *, key: bool = False) -> Position:
        """Best position for ``loc``: the node itself, else its nearest ancestor."""
        table = self.key_positions if key else self.positions
        probe = tuple(loc)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), Position(1, 1))

    def issue(self, loc: PathKey, message: str, *, key: bool = False, code: str = "") -> Issue:
        pos = self.position(loc, key=key)
        return Issue(self.path, pos.line, pos.column, "error", message, code)

    def warning(self, loc: PathKey, message: str, *, key: bool = False, code: str = "") -> Issue:
        pos = self.position(loc, key=key)
        return Issue(self.path, pos.line, pos.column, "warning", message, code)


class YamlLoadError(Exception):
    """The file cannot be read as flowengine YAML; ``issue`` says where and why."""

    def __init__(self, issue: Issue) -> None:
        self.issue = issue
        super().__init__(issue.format())


def _pos(mark: Any) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    loc: PathKey
    pending_key: str | None = None
    key_lines: dict[str, int] = field(default_factory=dict)


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

    def fail(mark: Any, message: str, code: str) -> YamlLoadError:
        p = _pos(mark) if mark is not None else Position(1, 1)
        return YamlLoadError(Issue(path, p.line, p.column, "error", message, code))

    stack: list[_Frame] = []
    documents = 0
    root_set = False

    def attach(value: Any, start: Any, loc_for_child: PathKey | None = None) -> PathKey:
        """Place a finished value into its parent; return the value's path."""
        nonlocal root_set
        if not stack:
            doc.data = value
            root_set = True
            doc.positions[()] = _pos(start)
            return ()
        top = stack[-1]
        if isinstance(top.container, list):
            loc = (*top.loc, len(top.container))
            top.container.append(value)
        else:
            key = top.pending_key if top.pending_key is not None else ""
            loc = (*top.loc, key)
            top.container[key] = value
            top.pending_key = None
        doc.positions[loc] = _pos(start)
        return loc

    def take_key(event: Any) -> bool:
        """If the top frame is a mapping awaiting a key, consume ``event`` as the key."""
        if not stack:
            return False
        top = stack[-1]
        if not isinstance(top.container, dict) or top.pending_key is not None:
            return False
        if not isinstance(event, yaml.ScalarEvent):
            raise fail(event.start_mark, "mapping keys must be plain text", "key-type")
        key: Any = event.value if event.style else resolve_plain_scalar(event.value)
        if event.tag is not None and event.tag != "!":
            raise fail(event.start_mark, f"YAML tags ({event.tag}) are not allowed", "tag")
        if key == "<<" and not event.style:
            raise fail(
                event.start_mark,
                "YAML merge keys (<<) are not allowed; write the keys out",
                "merge-key",
            )
        if not isinstance(key, str):
            raise fail(
                event.start_mark,
                f"mapping key {event.value!r} must be text; quote it",
                "key-type",
            )
        key = unicodedata.normalize("NFC", key)
        line = _pos(event.start_mark).line
        if key in top.key_lines:
            raise fail(
                event.start_mark,
                f"duplicate key '{key}' (first defined on line {top.key_lines[key]})",
                "duplicate-key",
            )
        top.key_lines[key] = line
        top.pending_key = key
        doc.key_positions[(*top.loc, key)] = _pos(event.start_mark)
        return True

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise fail(
                        event.start_mark,
                        "only one YAML document per file; remove the '---' separator",
                        "multi-doc",
                    )
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent)):
                continue
            if isinstance(event, yaml.DocumentEndEvent):
                continue
            if isinstance(event, yaml.AliasEvent):
                raise fail(
                    event.start_mark,
                    f"YAML aliases (*{event.anchor}) are not allowed; write the value out",
                    "alias",
                )
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
                continue
            if take_key(event):
                continue
            tag = getattr(event, "tag", None)
            if tag is not None and tag != "!":
                raise fail(event.start_mark, f"YAML tags ({tag}) are not allowed", "tag")
            if isinstance(event, yaml.ScalarEvent):
                value = event.value if event.style else resolve_plain_scalar(event.value)
                if isinstance(value, str):
                    value = unicodedata.normalize("NFC", value)
                attach(value, event.start_mark)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= max_depth:
                    raise fail(
                        event.start_mark,
                        f"nesting deeper than {max_depth} levels; flatten the document",
                        "depth",
                    )
                container: dict[str, Any] | list[Any] = (
                    {} if isinstance(event, yaml.MappingStartEvent) else []
                )
                loc = attach(container, event.start_mark)
                stack.append(_Frame(container, loc))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise fail(mark, f"YAML syntax error: {problem}", "syntax") from None
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
    if not root_set:
        doc.data = None
    return doc


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
