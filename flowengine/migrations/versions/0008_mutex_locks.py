"""mutex locks held by an instance's states

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 21:10:00

`mutex: NAME` on a task or approval lets one section of an instance at a
time work under NAME; the instance records which state holds each name.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locks", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("locks")
