"""The tamper-evident history: a hash chain per instance that survives KVKK erasure.

Each history row is sealed with ``hash = SHA-256(prev_hash ‖ canonical row)``.
The row's data changes enter the hash as *digests*, not as values: a personal
field's value is digested with HMAC-SHA-256 keyed by the instance's random
salt, any other value with plain SHA-256. The digests are stored beside the
values. Erasing personal data replaces the values with :data:`ERASED` and drops
the salt: the chain still verifies through the stored digests, and nobody can
test a guessed phone number against a digest any more.

:func:`verify` reports the first row that was edited, deleted, reordered or
forged; the head of each chain is also kept on the instance row, and
``flowengine audit checkpoint`` prints the heads to keep outside the database,
which catches a truncated tail or a rewritten chain.

Pure functions; imports nothing from storage.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowengine.instance import HistoryEntry

# A dict is never a field value (fields are scalars or lists), so it cannot collide.
ERASED: dict[str, bool] = {"$erased": True}
GENESIS = "0" * 64
ERASURE_EVENT = "personal_data_erased"


def new_salt() -> str:
    return secrets.token_hex(16)


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode("utf-8")


def digest(value: Any, key: str | None) -> str:
    """Digest of one value: keyed (HMAC) for personal fields, plain otherwise."""
    if key:
        return hmac.new(bytes.fromhex(key), canonical(value), hashlib.sha256).hexdigest()
    return hashlib.sha256(canonical(value)).hexdigest()


def change_digests(
    changes: Mapping[str, Any], personal: frozenset[str], salt: str | None
) -> dict[str, list[str]]:
    """``{field: [digest(old), digest(new)]}`` for one row's changes."""
    out: dict[str, list[str]] = {}
    for name, pair in changes.items():
        key = salt if name in personal else None
        values = pair if isinstance(pair, list) and len(pair) == 2 else [None, pair]
        out[name] = [digest(v, key) for v in values]
    return out


def row_hash(prev_hash: str, entry: HistoryEntry, digests: Mapping[str, list[str]]) -> str:
    body = {
        "instance": entry.instance_id,
        "seq": entry.seq,
        "event": entry.event,
        "from": entry.from_state,
        "to": entry.to_state,
        "actor": entry.actor,
        "at": entry.at.isoformat(),
        "comment": entry.comment,
        "changes": digests,
    }
    if entry.acting_for is not None:  # added later: rows without it hash as before
        body["acting_for"] = entry.acting_for
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(body)).hexdigest()


@dataclass(frozen=True)
class SealedEntry:
    entry: HistoryEntry
    digests: dict[str, list[str]]
    prev_hash: str
    hash: str


def seal(
    entries: Sequence[HistoryEntry], head: str | None, salt: str | None, personal: frozenset[str]
) -> list[SealedEntry]:
    """Chain ``entries`` onto ``head`` (None for a new instance)."""
    sealed = []
    previous = head or GENESIS
    for entry in entries:
        digests = change_digests(entry.changes, personal, salt)
        current = row_hash(previous, entry, digests)
        sealed.append(SealedEntry(entry, digests, previous, current))
        previous = current
    return sealed


@dataclass(frozen=True)
class StoredRow:
    """A history row as stored: the entry, its digests and hashes."""

    entry: HistoryEntry
    digests: dict[str, list[str]]
    prev_hash: str
    hash: str


def _is_erased(value: Any) -> bool:
    return isinstance(value, dict) and value == ERASED


def verify(
    rows: Sequence[StoredRow],
    head: str | None,
    salt: str | None,
    personal: frozenset[str],
) -> str | None:
    """None when the chain is intact, else a sentence naming the first broken row."""
    erasure_seqs = [r.entry.seq for r in rows if r.entry.event == ERASURE_EVENT]
    previous = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        entry = row.entry
        if entry.seq != expected_seq:
            what = "missing" if entry.seq > expected_seq else "out of order"
            return f"row {expected_seq} is {what} (found seq {entry.seq} in its place)"
        if row.prev_hash != previous:
            return (
                f"row {entry.seq} does not follow row {entry.seq - 1} (rows deleted or reordered)"
            )
        for name, pair in entry.changes.items():
            stored = row.digests.get(name)
            values = pair if isinstance(pair, list) and len(pair) == 2 else [None, pair]
            if stored is None or len(stored) != 2:
                return f"row {entry.seq}: the change of '{name}' has no digest (forged row)"
            for value, kept in zip(values, stored, strict=True):
                if _is_erased(value):
                    if name not in personal or not erasure_seqs:
                        return f"row {entry.seq}: '{name}' was blanked without an erasure record"
                    continue
                key = salt if name in personal else None
                if name in personal and salt is None:
                    if value is None:
                        continue  # nothing was there to erase
                    return f"row {entry.seq}: '{name}' holds a value after its erasure"
                if digest(value, key) != kept:
                    return f"row {entry.seq}: the value of '{name}' was changed"
        if row_hash(previous, entry, row.digests) != row.hash:
            return f"row {entry.seq} was changed (its hash does not match its content)"
        previous = row.hash
    if (head or GENESIS) != previous:
        return "the last row does not match the recorded head (rows added or cut at the end)"
    return None


def erase_values(changes: Mapping[str, Any], personal: Iterable[str]) -> dict[str, Any]:
    """``changes`` with every personal value replaced by :data:`ERASED`."""
    names = set(personal)
    out: dict[str, Any] = {}
    for name, pair in changes.items():
        if name in names:
            values = pair if isinstance(pair, list) and len(pair) == 2 else [None, pair]
            out[name] = [v if v is None else ERASED for v in values]
        else:
            out[name] = pair
    return out


@dataclass(frozen=True)
class Replayed:
    """An instance's states and data rebuilt from its history alone."""

    states: tuple[str, ...]
    data: dict[str, Any]


def replay(entries: Sequence[HistoryEntry]) -> Replayed:
    """Rebuild the active states and the data by applying each row in order.

    A row moves ``from`` → ``to``; a ``join`` also closes every state inside the
    parallel it joins; a row with the same ``from`` and ``to`` (an escalation
    timer) changes nothing; changes set each field to its new value.
    """
    states: list[str] = []
    data: dict[str, Any] = {}
    for entry in entries:
        if entry.event == "join" and entry.from_state:
            prefix = entry.from_state + "."
            states = [s for s in states if not s.startswith(prefix)]
        if entry.from_state != entry.to_state:
            if entry.from_state in states:
                states.remove(entry.from_state)
            if entry.to_state is not None:
                states.append(entry.to_state)
        for name, pair in entry.changes.items():
            if name == "child":
                continue  # the child's outcome is context, not a field
            data[name] = pair[1] if isinstance(pair, list) and len(pair) == 2 else pair
    return Replayed(tuple(states), data)
