"""Cached answers of one computed run and user share one run row, counted in ``times_served``.

Revision ID: 0008_authruns
Revises: 0007
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_authruns"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forecast_runs") as batch:
        batch.add_column(sa.Column("times_served", sa.Integer(), nullable=False, server_default="1"))
    # cached rows stored a copy of their source's item list (megabytes for a large catalogue): drop it
    op.execute("UPDATE forecast_runs SET item_ids = '[]' WHERE cached AND source_run_id IS NOT NULL")


def downgrade() -> None:
    op.execute(
        "UPDATE forecast_runs SET item_ids = (SELECT s.item_ids FROM forecast_runs s "
        "WHERE s.id = forecast_runs.source_run_id) WHERE cached AND source_run_id IS NOT NULL"
    )
    with op.batch_alter_table("forecast_runs") as batch:
        batch.drop_column("times_served")
