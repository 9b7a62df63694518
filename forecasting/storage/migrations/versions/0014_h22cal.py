"""Each client's calendar (issue 22): promotions, events, holidays and planned prices, and its version.

``calendar_entries``: one row per entry, scoped by the client's item id or a
category as text. ``clients.calendar_version``: the content hash of the
stored calendar (NULL: none), part of the forecast cache key.

Revision ID: 0014_h22cal
Revises: 0013_purchasing
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_h22cal"
down_revision = "0013_purchasing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("calendar_version", sa.String(length=16), nullable=True))
    op.create_table(
        "calendar_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("item_id", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("category", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("discount", sa.Float(), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.CheckConstraint("type IN ('promotion', 'event', 'holiday', 'price')", name=op.f("ck_calendar_entries_type")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_calendar_entries_client_id_clients"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_entries")),
    )
    op.create_index(op.f("ix_calendar_entries_client_id"), "calendar_entries", ["client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_calendar_entries_client_id"), table_name="calendar_entries")
    op.drop_table("calendar_entries")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("calendar_version")
