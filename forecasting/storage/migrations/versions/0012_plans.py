"""The published plan per client and planners' overrides of it (append-only audit trail).

Revision ID: 0012_plans
Revises: 0010_policy
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_plans"
down_revision = "0010_policy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_published_plans_client_id_clients"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["forecast_runs.id"],
                                name=op.f("fk_published_plans_run_id_forecast_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_plans")),
    )
    op.create_index(op.f("ix_published_plans_client_id"), "published_plans", ["client_id"])
    op.create_table(
        "plan_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("change", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("old_value", sa.Float(), nullable=False),
        sa.Column("new_value", sa.Float(), nullable=False),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint("kind IN ('percent', 'total')", name=op.f("ck_plan_overrides_kind")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_plan_overrides_client_id_clients"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_plan_overrides_item_id_items"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_overrides")),
    )
    op.create_index(op.f("ix_plan_overrides_client_id_item_id"), "plan_overrides", ["client_id", "item_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_overrides_client_id_item_id"), table_name="plan_overrides")
    op.drop_table("plan_overrides")
    op.drop_index(op.f("ix_published_plans_client_id"), table_name="published_plans")
    op.drop_table("published_plans")
