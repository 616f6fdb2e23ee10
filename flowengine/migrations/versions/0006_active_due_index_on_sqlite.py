"""the overdue index is partial (active instances only) on SQLite too

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 20:35:00

`instances --overdue` asks for active instances past their deadline. On SQLite
the index held every instance, completed ones included, so the query walked a
year of closed cases to find a handful of open ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index("ix_instances_due", postgresql_where=ACTIVE)
        batch_op.create_index(
            "ix_instances_due",
            ["due_at"],
            unique=False,
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index("ix_instances_due", postgresql_where=ACTIVE, sqlite_where=ACTIVE)
        batch_op.create_index("ix_instances_due", ["due_at"], unique=False, postgresql_where=ACTIVE)
