"""Suppliers, item-supplier links and purchase orders with their lines (issue 19).

Revision ID: 0013_purchasing
Revises: 0012_plans
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_purchasing"
down_revision = "0012_plans"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("order_days", sa.String(length=40), nullable=False, server_default=""),
        sa.Column("review_period_days", sa.Integer(), nullable=True),
        sa.Column("min_order_value", sa.Float(), nullable=False, server_default="0"),
        sa.Column("min_order_qty", sa.Float(), nullable=False, server_default="0"),
        sa.Column("capacity_units", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False, server_default=""),
        _fk("suppliers", "client_id", "clients", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("client_id", "name", name=op.f("uq_suppliers_client_id_name")),
    )
    op.create_table(
        "item_suppliers",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("pack_size", sa.Float(), nullable=False, server_default="1"),
        sa.Column("moq", sa.Float(), nullable=False, server_default="0"),
        sa.Column("unit_cost", sa.Float(), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("supplier_item_code", sa.String(length=200), nullable=False, server_default=""),
        _fk("item_suppliers", "item_id", "items", "CASCADE"),
        _fk("item_suppliers", "supplier_id", "suppliers", "CASCADE"),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_suppliers")),
    )
    op.create_index(op.f("ix_item_suppliers_supplier_id"), "item_suppliers", ["supplier_id"])
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _fk("purchase_orders", "client_id", "clients", "CASCADE"),
        _fk("purchase_orders", "supplier_id", "suppliers", "SET NULL"),
        _fk("purchase_orders", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
    )
    op.create_index(op.f("ix_purchase_orders_client_id"), "purchase_orders", ["client_id"])
    op.create_table(
        "purchase_order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False, server_default="draft"),
        sa.Column("reason", sa.String(length=40), nullable=False, server_default=""),
        sa.Column("qty_needed", sa.Float(), nullable=False),
        sa.Column("qty_rounded", sa.Float(), nullable=False),
        sa.Column("order_qty", sa.Float(), nullable=False),
        sa.Column("unit_cost", sa.Float(), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("edit_reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("edited_by", sa.Integer(), nullable=True),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.CheckConstraint("state IN ('draft', 'approved', 'removed')", name=op.f("ck_purchase_order_lines_state")),
        _fk("purchase_order_lines", "order_id", "purchase_orders", "CASCADE"),
        _fk("purchase_order_lines", "item_id", "items", "CASCADE"),
        _fk("purchase_order_lines", "edited_by", "users", "SET NULL"),
        _fk("purchase_order_lines", "approved_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_order_lines")),
    )
    op.create_index(op.f("ix_purchase_order_lines_order_id"), "purchase_order_lines", ["order_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_purchase_order_lines_order_id"), table_name="purchase_order_lines")
    op.drop_table("purchase_order_lines")
    op.drop_index(op.f("ix_purchase_orders_client_id"), table_name="purchase_orders")
    op.drop_table("purchase_orders")
    op.drop_index(op.f("ix_item_suppliers_supplier_id"), table_name="item_suppliers")
    op.drop_table("item_suppliers")
    op.drop_table("suppliers")
