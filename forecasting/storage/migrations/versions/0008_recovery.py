"""Runs record the process computing them and its heartbeat, so that a run whose process died is found.

Revision ID: 0008_recovery
Revises: 0008_authruns
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_recovery"
down_revision = "0008_authruns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forecast_runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forecast_runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
