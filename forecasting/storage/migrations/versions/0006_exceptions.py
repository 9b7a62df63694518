"""Exception queues as runs of their own ("exceptions"), with their rows, so they are cached like forecasts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('forecast', 'backtest', 'reorder')"
KINDS_AFTER = "kind IN ('forecast', 'backtest', 'reorder', 'exceptions')"


def upgrade() -> None:
    with op.batch_alter_table("forecast_runs") as batch:
        batch.drop_constraint(op.f("ck_forecast_runs_kind"), type_="check")
        batch.create_check_constraint("kind", KINDS_AFTER)
    op.create_table(
        "exception_rows",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("other_reasons", sa.Text(), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(
            ["run_id"], ["forecast_runs.id"], name=op.f("fk_exception_rows_run_id_forecast_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "rank", name=op.f("pk_exception_rows")),
    )


def downgrade() -> None:
    op.drop_table("exception_rows")
    op.execute("DELETE FROM forecast_runs WHERE kind = 'exceptions'")
    with op.batch_alter_table("forecast_runs") as batch:
        batch.drop_constraint(op.f("ck_forecast_runs_kind"), type_="check")
        batch.create_check_constraint("kind", KINDS_BEFORE)
