"""history hash chain

Rows written before this revision stay unsealed (hash NULL); `flowengine audit
verify` reports them as unprotected rather than as tampered.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 18:25:11.405782
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digests", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_salt", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("history_head", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("history_head")
        batch_op.drop_column("audit_salt")

    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("digests")
