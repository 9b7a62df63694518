"""Lead-time variability in the supplier terms; policy simulations recorded as runs.

``lead_time_std_days`` on suppliers and item-supplier links, both nullable:
NULL = the file gave none (a link's NULL falls back to its supplier's; with
neither, the item keeps its own ``lead_time_std_days``). Runs get the kind
``simulation`` (the policy simulator, recorded like a reorder run).

Revision ID: 0014_h20
Revises: 0014_h22cal
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_h20"
down_revision = "0014_h22cal"
branch_labels = None
depends_on = None


KINDS_BEFORE = "kind IN ('forecast', 'backtest', 'reorder', 'exceptions')"
KINDS_AFTER = "kind IN ('forecast', 'backtest', 'reorder', 'exceptions', 'simulation')"


def upgrade() -> None:
    for table in ("suppliers", "item_suppliers"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("lead_time_std_days", sa.Float(), nullable=True))
    with op.batch_alter_table("forecast_runs") as batch:
        batch.drop_constraint(op.f("ck_forecast_runs_kind"), type_="check")
        batch.create_check_constraint("kind", KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM forecast_runs WHERE kind = 'simulation'")
    with op.batch_alter_table("forecast_runs") as batch:
        batch.drop_constraint(op.f("ck_forecast_runs_kind"), type_="check")
        batch.create_check_constraint("kind", KINDS_BEFORE)
    for table in ("item_suppliers", "suppliers"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lead_time_std_days")
