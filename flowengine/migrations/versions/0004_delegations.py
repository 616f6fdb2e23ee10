"""delegations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 18:55:42.707275
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("from_person", sa.String(length=100), nullable=False),
        sa.Column("to_person", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("directorate", sa.String(length=100), server_default="", nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_person"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_person"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.create_index("ix_delegations_to", ["to_person", "ends_on"], unique=False)

    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acting_for", sa.String(length=100), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.drop_column("acting_for")

    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.drop_index("ix_delegations_to")

    op.drop_table("delegations")
