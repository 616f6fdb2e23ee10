"""The database schema as SQLAlchemy Core tables (Alembic migrations create it).

Only ``storage`` imports this. Times are stored as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)  # noqa: S101 - the column type guarantees it
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

flow_versions = Table(
    "flow_versions",
    metadata,
    Column("flow", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("deployed_at", UTCDateTime(), nullable=False),
)

reference_counters = Table(
    "reference_counters",
    metadata,
    Column("flow", String(100), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

instances = Table(
    "instances",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(100), nullable=False, unique=True),
    Column("flow", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("states", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("outcome", String(100)),
    Column("data", JSON, nullable=False),
    Column("row_version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("due_at", UTCDateTime()),
    Column("parent_id", String(36), ForeignKey("instances.id")),
    Column("parent_state", String(300)),
    Column("audit_salt", String(32)),  # keys personal digests; dropped on erasure
    Column("history_head", String(64)),  # hash of the newest history row
    Column("signals", JSON),  # pending persistent signals, oldest first
    Column("locks", JSON),  # mutex name -> the state holding it
    Column("clock", JSON),  # the statutory clock (clocks.py)
    Column("merged_into", String(36)),  # the request this duplicate waits on
)
Index("ix_instances_flow_status", instances.c.flow, instances.c.status)
# partial on both backends: the query must say status = 'active' as a literal
Index(
    "ix_instances_due",
    instances.c.due_at,
    postgresql_where=text("status = 'active'"),
    sqlite_where=text("status = 'active'"),
)
Index("ix_instances_parent", instances.c.parent_id)
Index("ix_instances_merged_into", instances.c.merged_into)

history = Table(
    "history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", String(36), ForeignKey("instances.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event", String(100), nullable=False),
    Column("from_state", String(300)),
    Column("to_state", String(300)),
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("changes", JSON, nullable=False),
    Column("comment", Text),
    Column("acting_for", String(100)),  # a delegate's principal (vekalet)
    Column("digests", JSON),  # audit.py: the changes' digests, kept through erasure
    Column("prev_hash", String(64)),
    Column("hash", String(64)),
    UniqueConstraint("instance_id", "seq", name="uq_history_instance_seq"),
)

work_items = Table(
    "work_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", String(36), ForeignKey("instances.id"), nullable=False),
    Column("state", String(300), nullable=False),
    Column("role", String(100), nullable=False),
    Column("assignee", String(100)),
    Column("title", String(300), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime()),
    Column("closed_at", UTCDateTime()),
    Column("closed_by", String(100)),
)
Index("ix_work_items_open_role", work_items.c.role, work_items.c.closed_at, work_items.c.due_at)
Index("ix_work_items_instance", work_items.c.instance_id, work_items.c.closed_at)
# work reassigned to a person by name (the inbox ORs it with the role conditions)
Index("ix_work_items_open_assignee", work_items.c.assignee, work_items.c.closed_at)

people = Table(
    "people",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

person_roles = Table(
    "person_roles",
    metadata,
    Column("person_id", String(100), ForeignKey("people.id"), primary_key=True),
    Column("role", String(100), primary_key=True),
    # '' rather than NULL so the primary key holds: unscoped grants
    Column("directorate", String(100), primary_key=True, server_default=""),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", String(36), ForeignKey("instances.id"), nullable=False),
    Column("state", String(300), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # pending, failed, delivered, dead
    Column("created_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime()),
    Column("lease_until", UTCDateTime()),
    Column("claimed_by", String(100)),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime()),
)
Index("ix_outbox_status", outbox.c.status, outbox.c.id)
Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at)

timers = Table(
    "timers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", String(36), ForeignKey("instances.id"), nullable=False),
    Column("state", String(300), nullable=False),
    Column("timer_index", Integer, nullable=False),
    Column("after", String(50), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("status", String(20), nullable=False),  # pending, fired, cancelled
    Column("created_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("fired_by", String(100)),
)
Index("ix_timers_due", timers.c.status, timers.c.due_at)
Index("ix_timers_instance", timers.c.instance_id, timers.c.status)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False),
    Column("instance_id", String(36), ForeignKey("instances.id"), nullable=False),
    Column("role", String(100), nullable=False),
    Column("directorate", String(100)),
    Column("message", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("outbox_id", "role", name="uq_notifications_outbox_role"),
)
Index("ix_notifications_role", notifications.c.role, notifications.c.id)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("instance_id", String(36), ForeignKey("instances.id"), nullable=False),
    Column("row_version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

refusals = Table(
    "refusals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", String(36)),
    Column("flow", String(100)),
    Column("actor", String(100), nullable=False),
    Column("action", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

delegations = Table(
    "delegations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("from_person", String(100), ForeignKey("people.id"), nullable=False),
    Column("to_person", String(100), ForeignKey("people.id"), nullable=False),
    Column("role", String(100), nullable=False),
    Column("directorate", String(100), nullable=False, server_default=""),
    Column("starts_on", Date, nullable=False),  # local dates, both days included
    Column("ends_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
Index("ix_delegations_to", delegations.c.to_person, delegations.c.ends_on)

# -- accounts of the web layer (migration 0011) -----------------------------------

passwords = Table(
    "passwords",
    metadata,
    Column("person_id", String(100), ForeignKey("people.id"), primary_key=True),
    Column("hash", Text, nullable=False),  # argon2id, with its parameters
    Column("updated_at", UTCDateTime(), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),  # the token's public part
    Column("person_id", String(100), ForeignKey("people.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 of the secret part
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),  # e.g. "login:person", "durum:ip"
    Column("at", UTCDateTime(), nullable=False),
)
Index("ix_attempts_key_at", attempts.c.key, attempts.c.at)

secrets = Table(
    "secrets",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)
