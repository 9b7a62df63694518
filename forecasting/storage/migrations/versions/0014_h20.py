"""Lead-time variability in the supplier terms: ``lead_time_std_days`` on suppliers and item-supplier links.

Both nullable: NULL = the file gave none (a link's NULL falls back to its
supplier's; with neither, the item keeps its own ``lead_time_std_days``).

Revision ID: 0014_h20
Revises: 0013_purchasing
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_h20"
down_revision = "0013_purchasing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("suppliers", "item_suppliers"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("lead_time_std_days", sa.Float(), nullable=True))


def downgrade() -> None:
    for table in ("item_suppliers", "suppliers"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lead_time_std_days")
