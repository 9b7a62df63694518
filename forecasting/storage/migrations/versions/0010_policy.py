"""Policy by class in the database: each client's service-level matrix and ABC thresholds, items' own targets.

``clients.policy``: JSON text of the client's :class:`ClassPolicy` (levels and
service types per ABC x XYZ cell, ABC thresholds); NULL = the defaults of
docs/inventory-policy.md.

``items.service_level`` becomes nullable: NULL = "use the item's class cell".
Until now every stored item had a level (0.95 when its inventory row had
none), which overrode its class. Data migration: stored levels equal to the
old default 0.95 become NULL (they are indistinguishable from "not set");
any other stored level was given explicitly and is kept. Items also get
``service_type`` (cycle / fill, NULL = the class cell's), ``lead_time_std_days``
(0) and ``phase_out`` (false). Downgrade sets NULL levels back to 0.95.

Revision ID: 0010_policy
Revises: 0009_buckets
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_policy"
down_revision = "0009_buckets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("policy", sa.Text(), nullable=True))
    with op.batch_alter_table("items") as batch:
        batch.alter_column("service_level", existing_type=sa.Float(), nullable=True, server_default=None)
        batch.add_column(sa.Column("service_type", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("lead_time_std_days", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("phase_out", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE items SET service_level = NULL WHERE service_level = 0.95")


def downgrade() -> None:
    op.execute("UPDATE items SET service_level = 0.95 WHERE service_level IS NULL")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("phase_out")
        batch.drop_column("lead_time_std_days")
        batch.drop_column("service_type")
        batch.alter_column("service_level", existing_type=sa.Float(), nullable=False, server_default="0.95")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("policy")
