"""The database schema (SQLAlchemy 2 declarative models).

Alembic migrations in ``forecasting/storage/migrations`` create exactly this
schema; a test compares the two. Every row of tenant data hangs off a client:
items carry ``client_id`` and sales, inventory positions and forecast results
hang off items or runs, so every query can (and does) filter on the client.

Dates of sales and forecasts are calendar days (``DATE``); timestamps are UTC
and come back timezone-aware on every database (:class:`UTCDateTime`).
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from forecasting.core.cells import COVARIATE_NAME_LENGTH, ID_LENGTH, TEXT_LENGTH

ROLES = ("planner", "admin")
RUN_KINDS = ("forecast", "backtest", "reorder", "exceptions", "simulation")
RUN_STATUSES = ("running", "succeeded", "failed")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A UTC timestamp: aware datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware (UTC)")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Client(Base):
    """A tenant: a company whose planners see only its own data."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(TEXT_LENGTH), unique=True)
    #: bumped by every write of the client's data (imports, item edits): a cache key for the app
    data_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the data's "as of" date: the last sales date over all the client's items (None before any sales)
    sales_as_of: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: JSON of the client's policy by class (storage/policy.py); None = the defaults
    policy: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: the bucket of the client's sales (``D``, ``W-FRI``, ``MS``...): set by the first import, kept by later ones
    sales_freq: Mapped[str] = mapped_column(String(8), default="D", server_default="D")
    #: the version (content hash) of the client's calendar; None = no calendar (part of the forecast cache key)
    calendar_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: the published plan's model, set by an admin (docs/planning.md); None = auto
    planning_model: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class User(Base):
    """A person who logs in; belongs to exactly one client."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('planner', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: login cookies issued before this instant are void (bumped on logout and password change)
    sessions_valid_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginAddress(Base):
    """Failed logins from one client address (IP) in the current window: the throttle beside each account's lock."""

    __tablename__ = "login_addresses"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Item(Base):
    """A stock-keeping unit of one client, with its replenishment parameters."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("client_id", "external_id"),
        Index(None, "client_id", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    #: the item id of the client's files (``item_id`` in every CSV)
    external_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    name: Mapped[str] = mapped_column(String(TEXT_LENGTH), default="", server_default="")
    category: Mapped[str] = mapped_column(String(TEXT_LENGTH), default="", server_default="")
    unit_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    lead_time_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    review_period_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    #: the item's own target level; None = its class cell of the client's policy
    service_level: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: cycle or fill; None = its class cell's
    service_type: Mapped[str | None] = mapped_column(String(8), nullable=True)
    lead_time_std_days: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    #: a planner's phase-out flag: the item is dead (no safety stock, no proposal)
    phase_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    moq: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    pack_size: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    #: the client's data_version when this item's sales last changed (part of the forecast cache key)
    sales_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class Sale(Base):
    """Units sold of an item on a day (days without a row count as zero).

    ``item_id`` is an ``items.id`` but not a declared foreign key, here and in
    the other bulk tables (covariates, forecast results): PostgreSQL checks a
    foreign key row by row, which made a 1M-row COPY three times slower. Rows
    are only written by code that resolved the item ids for the client in the
    same transaction, and every read joins ``items`` on the client.
    """

    __tablename__ = "sales"
    #: SQLite: rows clustered by (item, date), so one item's history is one range read
    __table_args__ = {"sqlite_with_rowid": False}

    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    quantity: Mapped[float] = mapped_column(Float)


class SaleCovariate(Base):
    """An extra numeric column of the sales file (``promo``, ``price``...) for an item and day."""

    __tablename__ = "sales_covariates"
    __table_args__ = {"sqlite_with_rowid": False}

    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(COVARIATE_NAME_LENGTH), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class InventoryPosition(Base):
    """Stock on hand and on order of an item as of a day (the latest one is current)."""

    __tablename__ = "inventory_positions"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    on_hand: Mapped[float] = mapped_column(Float)
    on_order: Mapped[float] = mapped_column(Float)
    #: when the stock on order arrives; None: after the item's lead time
    on_order_due: Mapped[date | None] = mapped_column(Date, nullable=True)


class ForecastRun(Base):
    """One request to the forecast service: computed, answered from cache, or failed."""

    __tablename__ = "forecast_runs"
    __table_args__ = (
        CheckConstraint("kind IN ('forecast', 'backtest', 'reorder', 'exceptions', 'simulation')", name="kind"),
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
        Index(None, "client_id", "created_at"),
        Index(None, "client_id", "cache_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    model: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(200))
    horizon: Mapped[int] = mapped_column(Integer)
    #: JSON list of quantile levels, ascending
    quantiles: Mapped[str] = mapped_column(Text)
    #: JSON object of the other request parameters (windows, overrides...)
    parameters: Mapped[str] = mapped_column(Text)
    #: JSON list of the requested item ids (external), sorted; empty for a cached row (its source's)
    item_ids: Mapped[str] = mapped_column(Text)
    n_items: Mapped[int] = mapped_column(Integer)
    data_fingerprint: Mapped[str] = mapped_column(String(64))
    cache_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    cached: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: for a cached request: the computed run whose results answered it
    source_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("forecast_runs.id", ondelete="SET NULL"), nullable=True
    )
    #: a cached row: how many answers it stands for (a user's repeats of one computed run share one row,
    #: ``created_at`` being the latest); 1 for a computed run
    times_served: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: of ``duration_s``, the seconds spent training models (a global model's fits); NULL: nothing trained
    training_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: when the run's stored results were removed (the client's storage quota or ``prune-runs``); the run
    #: stays in the history, but it no longer answers requests from the cache
    results_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: while ``running``: the process computing it (``host:pid:start``, forecasting.core.process), and when that
    #: process last said it is alive; a run whose process ended is marked failed (services/run_recovery.py)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ForecastResult(Base):
    """One forecast day of one item in a computed run."""

    __tablename__ = "forecast_results"
    __table_args__ = {"sqlite_with_rowid": False}

    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    forecast: Mapped[float] = mapped_column(Float)
    #: the quantile values in the run's level order, as little-endian float64 bytes (exact, and
    #: decoded for a whole run with one ``np.frombuffer``: text made cached reads 3x slower)
    quantiles: Mapped[bytes] = mapped_column(LargeBinary)



class ForecastChoice(Base):
    """The model one item of a run got (auto's per-item choice), and why."""

    __tablename__ = "forecast_choices"
    __table_args__ = {"sqlite_with_rowid": False}

    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")



class ExceptionRow(Base):
    """One item of an exception queue (a run of kind ``exceptions``): why it needs attention and what is at stake.

    The value at risk is not stored: it is the units times the item's unit cost when read.
    """

    __tablename__ = "exception_rows"

    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    units: Mapped[float] = mapped_column(Float)
    other_reasons: Mapped[str] = mapped_column(Text, default="", server_default="")


#: longest label of an API key
API_KEY_LABEL_LENGTH = 100


class ApiKey(Base):
    """A service key of a client for the REST API, stored as a SHA-256 digest (never in clear)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(API_KEY_LABEL_LENGTH), default="", server_default="")
    #: the key's first characters, so that an admin can tell keys apart
    prefix: Mapped[str] = mapped_column(String(16))
    #: hex SHA-256 of the whole key
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PublishedPlan(Base):
    """A forecast run marked as a client's published plan (the latest one is current), with its as-of date."""

    __tablename__ = "published_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    #: the client's sales as-of date the plan was made at: its first bucket is the day after
    as_of: Mapped[date] = mapped_column(Date)
    horizon: Mapped[int] = mapped_column(Integer)
    #: the client's data_version the plan was made from (an unchanged one reuses the plan)
    data_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class PlanOverride(Base):
    """A planner's change of one item's plan over a date range: append-only, never deleted (the audit trail).

    Only ``reverted_at``/``reverted_by`` are ever written after insert; ``old_value``/``new_value`` are the
    range's final total just before and just after the override was made.
    """

    __tablename__ = "plan_overrides"
    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'total')", name="kind"),
        Index(None, "client_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    change: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: who made it: a user's username, ``api key <prefix>`` or ``cli`` (kept even if the user is removed)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    old_value: Mapped[float] = mapped_column(Float)
    new_value: Mapped[float] = mapped_column(Float)
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reverted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


#: states of a purchase-order line: proposed and editable, or approved (stock on order), or taken off the order
PO_LINE_STATES = ("draft", "approved", "removed")
#: longest supplier name, currency code and supplier item code
SUPPLIER_NAME_LENGTH = 200
CURRENCY_LENGTH = 3


class Supplier(Base):
    """A supplier of a client and its terms (docs/data-formats.md, supplier file)."""

    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("client_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(SUPPLIER_NAME_LENGTH))
    lead_time_days: Mapped[int] = mapped_column(Integer)
    #: standard deviation of the lead time in days (NULL: not given)
    lead_time_std_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: weekdays orders are placed, "mon,thu" (empty: by review period)
    order_days: Mapped[str] = mapped_column(String(40), default="", server_default="")
    review_period_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_order_value: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    min_order_qty: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    capacity_units: Mapped[float | None] = mapped_column(Float, nullable=True)
    currency: Mapped[str] = mapped_column(String(CURRENCY_LENGTH), default="", server_default="")


class ItemSupplier(Base):
    """The supplier an item is bought from, with that supplier's pack, MOQ, cost and code for it."""

    __tablename__ = "item_suppliers"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    pack_size: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    moq: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    unit_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: overrides the supplier's lead time for this item
    lead_time_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: overrides the supplier's lead-time standard deviation for this item
    lead_time_std_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    supplier_item_code: Mapped[str] = mapped_column(String(ID_LENGTH), default="", server_default="")


class PurchaseOrder(Base):
    """A draft or approved purchase order of a client to one supplier (none: items without a supplier)."""

    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class PurchaseOrderLine(Base):
    """One item on a purchase order: proposed, edited (with a reason), approved (by whom, when, due when)."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (CheckConstraint("state IN ('draft', 'approved', 'removed')", name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10), default="draft", server_default="draft")
    reason: Mapped[str] = mapped_column(String(40), default="", server_default="")
    qty_needed: Mapped[float] = mapped_column(Float)
    qty_rounded: Mapped[float] = mapped_column(Float)
    order_qty: Mapped[float] = mapped_column(Float)
    unit_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    lead_time_days: Mapped[int] = mapped_column(Integer)
    edit_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    edited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)


class CalendarEntry(Base):
    """One entry of a client's calendar: a promotion, event, holiday or planned price (docs/data-formats.md).

    The scope is the client's item id or a category as text (checked at import;
    both empty: every item, for events and holidays). An import replaces all of
    the client's entries.
    """

    __tablename__ = "calendar_entries"
    __table_args__ = (CheckConstraint("type IN ('promotion', 'event', 'holiday', 'price')", name="type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(10))
    item_id: Mapped[str] = mapped_column(String(ID_LENGTH), default="", server_default="")
    category: Mapped[str] = mapped_column(String(TEXT_LENGTH), default="", server_default="")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(TEXT_LENGTH), default="", server_default="")
    discount: Mapped[float | None] = mapped_column(Float, nullable=True)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
