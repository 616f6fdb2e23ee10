"""passwords, API tokens, throttling and the web layer's signing secret

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 23:50:00

The web layer (`flowengine serve`) lets people log in with a password
(argon2 hash) or an API token (SHA-256 of a random secret); failed attempts
are counted in `attempts` so every process behind one database throttles
alike; the session-cookie key lives in `secrets` for the same reason.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passwords",
        sa.Column("person_id", sa.String(100), sa.ForeignKey("people.id"), primary_key=True),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("person_id", sa.String(100), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_attempts_key_at", "attempts", ["key", "at"])
    op.create_table(
        "secrets",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("secrets")
    op.drop_index("ix_attempts_key_at", table_name="attempts")
    op.drop_table("attempts")
    op.drop_table("api_tokens")
    op.drop_table("passwords")
