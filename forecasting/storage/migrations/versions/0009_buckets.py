"""The bucket of each client's sales: daily, weekly or monthly (issue 17, docs/data-formats.md).

Stored as pandas spells it (``D``, ``W-FRI``, ``MS``, ``ME``); every client
before this revision is daily.

Revision ID: 0009_buckets
Revises: 0008_recovery
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_buckets"
down_revision = "0008_recovery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("sales_freq", sa.String(8), nullable=False, server_default="D"))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("sales_freq")
