"""inbox index on assignee

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 19:30:01.578480
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_work_items_open_assignee", ["assignee", "closed_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_open_assignee")
