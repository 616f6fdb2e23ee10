"""The in-memory database: tables of rows with the constraints of ``storage/tables.py``.

A committed :class:`Tables` is never changed in place. A writing
:class:`Transaction` copies a table (its dict of rows, not the rows) the first
time it writes to it and replaces a row by a new dict on every update, so a
reader holding the committed tables keeps a consistent snapshot and a rolled
back transaction is simply dropped. Primary keys, unique keys and foreign keys
are checked before a row is written, as the databases check them. Rows of one
instance (history, work, outbox, timers, notices) are also kept by instance, as
the SQL indexes keep them, so a command does not scan every instance's rows.

JSON columns hold JSON text (as SQLite does): what is read back is a fresh
copy, and a value JSON cannot hold fails here as it fails there. Times must be
aware and are kept in UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flowengine.errors import DuplicateKey, StorageError

Row = dict[str, Any]


@dataclass(frozen=True)
class Spec:
    """One table: its columns, key and constraints."""

    columns: tuple[str, ...]
    key: tuple[str, ...] = ("id",)
    serial: bool = False  # the key is an integer the table hands out
    unique: tuple[tuple[str, ...], ...] = ()
    foreign: tuple[tuple[str, str], ...] = ()  # (column, referenced table)
    json: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # rows are also kept by this column (an instance's history, work…), so a
    # command reads its instance's rows without scanning every instance's
    grouped_by: str | None = None


def columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


_INSTANCE = ("instance_id", "instances")
SPECS: dict[str, Spec] = {
    "flow_versions": Spec(
        ("flow", "version", "content_hash", "source", "deployed_at"), key=("flow", "version")
    ),
    "reference_counters": Spec(("flow", "year", "last_seq"), key=("flow", "year")),
    "instances": Spec(
        columns(
            "id reference flow version states status outcome data row_version created_at "
            "updated_at updated_by due_at parent_id parent_state audit_salt history_head "
            "signals locks clock merged_into"
        ),
        unique=(("reference",),),
        foreign=(("parent_id", "instances"),),
        json=frozenset({"states", "data", "signals", "locks", "clock"}),
    ),
    "history": Spec(
        columns(
            "id instance_id seq event from_state to_state actor at changes comment "
            "acting_for digests prev_hash hash"
        ),
        serial=True,
        grouped_by="instance_id",
        unique=(("instance_id", "seq"),),
        foreign=(_INSTANCE,),
        json=frozenset({"changes", "digests"}),
    ),
    "work_items": Spec(
        columns("id instance_id state role assignee title opened_at due_at closed_at closed_by"),
        serial=True,
        foreign=(_INSTANCE,),
        grouped_by="instance_id",
    ),
    "people": Spec(("id", "name", "created_at")),
    "person_roles": Spec(
        ("person_id", "role", "directorate"),
        key=("person_id", "role", "directorate"),
        foreign=(("person_id", "people"),),
        defaults={"directorate": ""},
    ),
    "outbox": Spec(
        columns(
            "id instance_id state kind payload status created_at attempts next_attempt_at "
            "lease_until claimed_by last_error delivered_at"
        ),
        serial=True,
        grouped_by="instance_id",
        foreign=(_INSTANCE,),
        json=frozenset({"payload"}),
        defaults={"attempts": 0},
    ),
    "timers": Spec(
        columns(
            "id instance_id state timer_index after due_at status created_at closed_at fired_by"
        ),
        serial=True,
        grouped_by="instance_id",
        foreign=(_INSTANCE,),
    ),
    "notifications": Spec(
        ("id", "outbox_id", "instance_id", "role", "directorate", "message", "created_at"),
        serial=True,
        unique=(("outbox_id", "role"),),
        foreign=(("outbox_id", "outbox"), _INSTANCE),
        grouped_by="instance_id",
    ),
    "idempotency_keys": Spec(
        ("key", "request_hash", "instance_id", "row_version", "created_at"),
        key=("key",),
        foreign=(_INSTANCE,),
    ),
    "refusals": Spec(("id", "instance_id", "flow", "actor", "action", "reason", "at"), serial=True),
    "delegations": Spec(
        columns("id from_person to_person role directorate starts_on ends_on reason created_at"),
        serial=True,
        foreign=(("from_person", "people"), ("to_person", "people")),
        defaults={"directorate": ""},
    ),
    "passwords": Spec(
        ("person_id", "hash", "updated_at"), key=("person_id",), foreign=(("person_id", "people"),)
    ),
    "api_tokens": Spec(
        ("id", "person_id", "name", "secret_hash", "created_at", "revoked_at"),
        foreign=(("person_id", "people"),),
    ),
    "attempts": Spec(("id", "key", "at"), serial=True),
    "secrets": Spec(("name", "value"), key=("name",)),
}


def _index_name(table: str, columns: tuple[str, ...]) -> str:
    return f"{table}/{'+'.join(columns)}"


def _group_name(table: str, column: str) -> str:
    return f"{table}/by/{column}"


def _key(row: Mapping[str, Any], columns: tuple[str, ...]) -> Any:
    return row[columns[0]] if len(columns) == 1 else tuple(row[c] for c in columns)


def _stored(name: str, value: Any, spec: Spec) -> Any:
    if value is None:
        return None
    if name in spec.json:
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"the value of '{name}' cannot be stored as JSON: {exc}") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        return value.astimezone(UTC)
    return value


def loads(text: str | None) -> Any:
    """A JSON column's value, freshly built (None stays None)."""
    return None if text is None else json.loads(text)


@dataclass(frozen=True)
class Tables:
    """A committed state of the database: never changed in place."""

    rows: dict[str, dict[Any, Any]]  # tables: key -> Row; indexes: value -> key(s)
    serials: dict[str, int]

    @classmethod
    def empty(cls) -> Tables:
        rows: dict[str, dict[Any, Any]] = {name: {} for name in SPECS}
        for name, spec in SPECS.items():
            for columns in spec.unique:
                rows[_index_name(name, columns)] = {}
            if spec.grouped_by:
                rows[_group_name(name, spec.grouped_by)] = {}
        return cls(rows, dict.fromkeys(SPECS, 0))


class Transaction:
    """A unit's view of the tables: the committed ones, copied on first write."""

    def __init__(self, base: Tables, *, writes: bool) -> None:
        self.writes = writes
        self.open = True
        self._rows = dict(base.rows) if writes else base.rows
        self._serials = dict(base.serials) if writes else base.serials
        self._copied: set[str] = set()

    def rows(self, table: str) -> dict[Any, Row]:
        """The rows of ``table`` by key, in insertion order; never change them."""
        return self._rows[table]

    def values(self, table: str) -> Iterable[Row]:
        return self._rows[table].values()

    def get(self, table: str, key: Any) -> Row | None:
        return self._rows[table].get(key)

    def grouped(self, table: str, value: Any) -> list[Row]:
        """The rows of ``table`` whose ``grouped_by`` column holds ``value``, oldest first."""
        spec = SPECS[table]
        assert spec.grouped_by is not None  # noqa: S101 - a programming error otherwise
        rows = self._rows[table]
        return [rows[k] for k in self._rows[_group_name(table, spec.grouped_by)].get(value, ())]

    def _writable(self, table: str) -> dict[Any, Any]:
        if not self.open:
            raise StorageError("this unit of work has ended; open a new one")
        if not self.writes:
            raise StorageError("a unit opened with writes=False cannot write; open store.unit()")
        if table not in self._copied:
            self._rows[table] = dict(self._rows[table])
            self._copied.add(table)
        return self._rows[table]

    def _check_foreign(self, table: str, spec: Spec, row: Row) -> None:
        for column, parent in spec.foreign:
            value = row[column]
            if value is not None and value not in self._rows[parent]:
                raise StorageError(
                    f"the database refused a row: {table}.{column} '{value}' names no {parent} row"
                )

    def insert(self, table: str, values: Mapping[str, Any]) -> Row:
        """Add a row; :class:`DuplicateKey` when its key or a unique key is taken."""
        spec = SPECS[table]
        unknown = set(values) - set(spec.columns)
        if unknown:
            raise StorageError(f"table {table} has no columns {', '.join(sorted(unknown))}")
        row = {c: _stored(c, values.get(c, spec.defaults.get(c)), spec) for c in spec.columns}
        if spec.serial and row["id"] is None:
            row["id"] = self._serials[table] + 1
        key = _key(row, spec.key)
        if key in self._rows[table]:
            raise DuplicateKey(f"the database refused a duplicate row: {table} key {key!r}")
        for columns in spec.unique:
            if _key(row, columns) in self._rows[_index_name(table, columns)]:
                raise DuplicateKey(
                    f"the database refused a duplicate row: {table} ({', '.join(columns)}) "
                    f"{_key(row, columns)!r}"
                )
        self._check_foreign(table, spec, row)
        self._writable(table)[key] = row
        if spec.serial:
            self._serials[table] = max(self._serials[table], int(row["id"]))
        for columns in spec.unique:
            self._writable(_index_name(table, columns))[_key(row, columns)] = key
        if spec.grouped_by:
            groups = self._writable(_group_name(table, spec.grouped_by))
            groups[row[spec.grouped_by]] = (*groups.get(row[spec.grouped_by], ()), key)
        return row

    def update(self, table: str, key: Any, changes: Mapping[str, Any]) -> Row:
        """Replace the row ``key`` by a copy with ``changes`` (keys stay as they are)."""
        spec = SPECS[table]
        fixed = {*spec.key, *(c for u in spec.unique for c in u), spec.grouped_by}
        if any(c in fixed for c in changes):
            raise StorageError(f"the in-memory store does not change keys of {table}")
        row = {**self._rows[table][key], **{c: _stored(c, v, spec) for c, v in changes.items()}}
        self._check_foreign(table, spec, row)
        self._writable(table)[key] = row
        return row

    def delete(self, table: str, key: Any) -> None:
        spec = SPECS[table]
        row = self._writable(table).pop(key)
        for columns in spec.unique:
            self._writable(_index_name(table, columns)).pop(_key(row, columns), None)
        if spec.grouped_by:
            groups = self._writable(_group_name(table, spec.grouped_by))
            groups[row[spec.grouped_by]] = tuple(
                k for k in groups.get(row[spec.grouped_by], ()) if k != key
            )

    def find_unique(self, table: str, columns: tuple[str, ...], value: Any) -> Row | None:
        """The row whose unique ``columns`` hold ``value``."""
        key = self._rows[_index_name(table, columns)].get(value)
        return None if key is None else self._rows[table][key]

    def commit(self) -> Tables:
        self.open = False
        return Tables(self._rows, self._serials)
