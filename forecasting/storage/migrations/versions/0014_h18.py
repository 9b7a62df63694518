"""Each client's planning model (the published plan's model, set by an admin; NULL = auto).

Revision ID: 0014_h18
Revises: 0014_h20
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_h18"
down_revision = "0014_h20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("planning_model", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("planning_model")
