"""When the stock on order of a position arrives (optional; empty means after the lead time).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inventory_positions") as batch:
        batch.add_column(sa.Column("on_order_due", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inventory_positions") as batch:
        batch.drop_column("on_order_due")
