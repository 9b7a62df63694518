"""How long a run spent training models (the global model's fits), next to its whole duration.

Revision ID: 0014_h22pool
Revises: 0014_h18
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_h22pool"
down_revision = "0014_h18"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forecast_runs") as batch:
        batch.add_column(sa.Column("training_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forecast_runs") as batch:
        batch.drop_column("training_s")
