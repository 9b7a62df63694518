"""Initial schema: clients, users, items, sales, covariates, inventory, forecast runs and results.

The bulk tables (sales, sales_covariates, forecast_results) carry item ids
without a declared foreign key: see forecasting.storage.models.Sale.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    default = None if nullable else sa.func.now()
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False, server_default="0"),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("name", name=op.f("uq_clients_name")),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("category", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("unit_cost", sa.Float(), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("review_period_days", sa.Integer(), nullable=False, server_default="7"),
        sa.Column("service_level", sa.Float(), nullable=False, server_default="0.95"),
        sa.Column("moq", sa.Float(), nullable=False, server_default="0"),
        sa.Column("pack_size", sa.Float(), nullable=False, server_default="1"),
        sa.Column("sales_version", sa.Integer(), nullable=False, server_default="0"),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_items_client_id_clients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("client_id", "external_id", name=op.f("uq_items_client_id_external_id")),
    )
    op.create_index(op.f("ix_items_client_id_category"), "items", ["client_id", "category"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("email", sa.String(length=254), nullable=False, server_default=""),
        sa.Column("password_hash", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        _timestamp("locked_until", nullable=True),
        _timestamp("sessions_valid_after"),
        _timestamp("created_at"),
        _timestamp("last_login_at", nullable=True),
        sa.CheckConstraint("role IN ('planner', 'admin')", name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_users_client_id_clients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_client_id"), "users", ["client_id"])
    op.create_table(
        "forecast_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _timestamp("created_at"),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("quantiles", sa.Text(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("item_ids", sa.Text(), nullable=False),
        sa.Column("n_items", sa.Integer(), nullable=False),
        sa.Column("data_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("source_run_id", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('forecast', 'backtest', 'reorder')", name=op.f("ck_forecast_runs_kind")),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name=op.f("ck_forecast_runs_status")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_forecast_runs_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_run_id"],
            ["forecast_runs.id"],
            name=op.f("fk_forecast_runs_source_run_id_forecast_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_forecast_runs_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_runs")),
    )
    op.create_index(op.f("ix_forecast_runs_client_id_cache_key"), "forecast_runs", ["client_id", "cache_key"])
    op.create_index(op.f("ix_forecast_runs_client_id_created_at"), "forecast_runs", ["client_id", "created_at"])
    op.create_table(
        "inventory_positions",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("on_hand", sa.Float(), nullable=False),
        sa.Column("on_order", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_inventory_positions_item_id_items"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "as_of", name=op.f("pk_inventory_positions")),
    )
    op.create_table(
        "sales",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "date", name=op.f("pk_sales")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "sales_covariates",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "date", "name", name=op.f("pk_sales_covariates")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "forecast_results",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("forecast", sa.Float(), nullable=False),
        sa.Column("quantiles", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["forecast_runs.id"], name=op.f("fk_forecast_results_run_id_forecast_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "item_id", "date", name=op.f("pk_forecast_results")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("forecast_results")
    op.drop_table("sales_covariates")
    op.drop_table("sales")
    op.drop_table("inventory_positions")
    op.drop_index(op.f("ix_forecast_runs_client_id_created_at"), table_name="forecast_runs")
    op.drop_index(op.f("ix_forecast_runs_client_id_cache_key"), table_name="forecast_runs")
    op.drop_table("forecast_runs")
    op.drop_index(op.f("ix_users_client_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_items_client_id_category"), table_name="items")
    op.drop_table("items")
    op.drop_table("clients")
