"""The data's "as of" date of each client: its last sales date over all items (docs/data-formats.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("sales_as_of", sa.Date(), nullable=True))
    op.execute(
        "UPDATE clients SET sales_as_of = (SELECT MAX(s.date) FROM sales s JOIN items i ON i.id = s.item_id "
        "WHERE i.client_id = clients.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("sales_as_of")
