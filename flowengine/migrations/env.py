"""Alembic environment: always given a live connection by flowengine.storage.migrate."""

from __future__ import annotations

from alembic import context

from flowengine.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by calling alembic by hand
    raise RuntimeError("run migrations with 'flowengine db upgrade', not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
