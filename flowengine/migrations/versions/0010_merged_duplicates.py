"""a duplicate request merged into another

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 21:35:00

`flowengine merge` parks a request that repeats an open one and answers it
with the other's final reply; the column says which one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_instances_merged_into", ["merged_into"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index("ix_instances_merged_into")
        batch_op.drop_column("merged_into")
