"""pending signals of an instance

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 21:00:00

A persistent signal (`flowengine signal REF NAME`) that no active task waits
for is kept on the instance until a task consumes it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signals", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("signals")
