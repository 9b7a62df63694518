"""Request and response bodies of the REST API (pydantic), as the OpenAPI docs at /docs show them.

Requests refuse unknown fields (a misspelt ``horizon`` is an error, not
ignored). Limits that the database needs (32-bit ids, no NUL characters or
lone surrogates in text) are checked here, so that bad input is a 422 and
never reaches SQL.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from forecasting.core.calendar import horizon_help
from forecasting.core.cells import CONTROL_CHARACTERS
from forecasting.core.models.base import DEFAULT_QUANTILES, MAX_HORIZON, quantile_column
from forecasting.modes.factory import ModelFactory
from forecasting.services.limits import RequestLimits

#: model names the factory knows (one source of truth for the schema's enum)
ModelName = Literal[tuple(ModelFactory.names())]  # type: ignore[valid-type]
MAX_ITEMS = 10_000
MAX_ID_LENGTH = 200
MAX_WINDOWS = 100
#: ids are 32-bit integers in the database
MAX_DB_ID = 2**31 - 1


def _storable(text: str) -> str:
    """Text that both databases can store and compare: no NUL, valid UTF-8 (no lone surrogates)."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return text


def _distinct_columns(levels: list[float]) -> list[float]:
    """Distinct levels whose output names differ too ("0.1" and "0.1000000001" would both be "0.1")."""
    names = [quantile_column(level) for level in levels]
    if len(set(names)) != len(names):
        raise ValueError("quantile levels must be distinct in their first 6 significant digits")
    return levels


StorableText = Annotated[str, AfterValidator(_storable)]
def _no_control_characters(text: str) -> str:
    """An item id as the import rules allow it (forecasting.core.cells): no tab, line break or control character."""
    if re.search(CONTROL_CHARACTERS, text):
        raise ValueError("must not contain control characters (tab, line break, NUL...)")
    return text


ItemId = Annotated[
    StorableText, Field(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_no_control_characters)
]
#: [] asks for the point forecast alone; absent means the default levels
QuantileLevels = Annotated[
    list[Annotated[float, Field(gt=0.0, lt=1.0)]],
    Field(max_length=99, description=f"levels strictly between 0 and 1, [] for none; default "
          f"{', '.join(f'{q:g}' for q in DEFAULT_QUANTILES)}; at most {RequestLimits.max_quantile_levels} "
          "unless the server's FORECAST_LIMIT_MAX_QUANTILE_LEVELS says otherwise (docs/security.md)"),
    AfterValidator(_distinct_columns),
]
#: JSON integers only (no true/false, no 7.0, no "7")
WholeNumber = Annotated[int, Field(strict=True)]
ClientId = Annotated[
    WholeNumber | None,
    Field(description="optional: must be the caller's own client (403 otherwise); default the caller's"),
]
Days = Annotated[WholeNumber, Field(ge=0, le=MAX_HORIZON)]
#: the bucket a request works in: the client's own (null), or W / M for a client with daily sales
Bucket = Annotated[
    Literal["D", "W", "M"] | None,
    Field(description="null: the client's own bucket; W or M (daily data only): the models are fitted on weekly "
          "or monthly totals and forecast them, prediction_length counts that bucket; a finer bucket than the "
          "client's is a 422"),
]
#: the bucket of the answer's dates and quantities
BUCKET_OUT = ("the bucket of the dates and quantities as pandas spells it: D, W-FRI (weeks dated on Fridays), MS "
              "(months on the 1st) or ME (month ends)")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- authentication -------------------------------------------------------------------------


class TokenRequest(_Request):
    username: Annotated[StorableText, Field(min_length=1, max_length=254)]
    password: Annotated[StorableText, Field(min_length=1, max_length=1024)]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")
    expires_at: datetime
    client_id: int


# --- forecasts ------------------------------------------------------------------------------


class ForecastRequest(_Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"item_ids": ["SKU-1", "SKU-2"], "prediction_length": 28, "model": "ma7",
                          "quantile_levels": [0.1, 0.5, 0.9]}]
        },
    )

    item_ids: list[ItemId] = Field(min_length=1, max_length=MAX_ITEMS)
    prediction_length: WholeNumber = Field(ge=1, le=MAX_HORIZON,
                                           description=f"buckets of the client's data to forecast: {horizon_help()}")
    model: ModelName
    quantile_levels: QuantileLevels = Field(default_factory=lambda: list(DEFAULT_QUANTILES))
    bucket: Bucket = None
    client_id: ClientId = None


class ItemForecast(BaseModel):
    item_id: str
    dates: list[date]
    forecast: list[float]
    quantiles: dict[str, list[float]] = Field(description='one list per level, keyed like "0.1"')
    chosen_model: str | None = Field(None, description="auto: the model (or ensemble:a+b+c) this item got")
    choice: str | None = Field(None, description="auto: why (validated, or the fallback and its reason)")


class ForecastResponse(BaseModel):
    forecast_id: int
    client_id: int
    model: str
    model_version: str
    created_at: datetime
    cached: bool = Field(description="answered from a stored run of the same request on the same data")
    source_forecast_id: int = Field(description="the computed run whose numbers these are")
    prediction_length: int
    quantile_levels: list[float]
    bucket: str = Field(description=BUCKET_OUT)
    covariates: list[str] = Field(
        default_factory=list,
        description="the covariates the model used (the calendar's for lgbm and chronos-2, the items' category "
                    "for lgbm; in a weekly or monthly view too); empty: none, or a "
                    "stored run read back with GET (not recorded with the run)")
    items: list[ItemForecast]


class BacktestRequest(_Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"item_ids": ["SKU-1", "SKU-2"], "prediction_length": 7, "models": ["ma7", "seasonal-naive"],
                          "windows": 2}]
        },
    )

    item_ids: list[ItemId] = Field(min_length=1, max_length=MAX_ITEMS)
    prediction_length: WholeNumber = Field(ge=1, le=MAX_HORIZON, description=f"buckets per window: {horizon_help()}")
    models: list[ModelName] = Field(min_length=1, max_length=len(ModelFactory.names()))
    windows: WholeNumber = Field(1, ge=1, le=MAX_WINDOWS)
    quantile_levels: QuantileLevels = Field(default_factory=lambda: list(DEFAULT_QUANTILES))
    bucket: Bucket = None
    client_id: ClientId = None


class BacktestMetrics(BaseModel):
    """One row of the backtest output (docs/metrics.md); ``null`` where a metric is empty."""

    item_id: str
    model: str
    n_points: int
    n_zero_actuals: int
    mae: float | None
    rmse: float | None
    mape: float | None
    wape: float | None
    bias: float | None
    mase: float | None
    wql: float | None
    coverage: float | None


class BacktestResponse(BaseModel):
    backtest_id: int
    client_id: int
    models: list[str]
    prediction_length: int
    windows: int
    quantile_levels: list[float]
    bucket: str = Field(description=BUCKET_OUT)
    created_at: datetime
    metrics: list[BacktestMetrics]
    best: dict[str, list[str]] = Field(
        description="per metric, the model(s) with the best pooled score: lowest error, smallest |bias|, "
        "coverage nearest the outer band's width; ties list every tied model"
    )


# --- reorder --------------------------------------------------------------------------------


class ReorderRequest(_Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"item_ids": ["SKU-1"], "model": "ma7", "service_level": 0.95}]},
    )

    item_ids: list[ItemId] | None = Field(
        None, min_length=1, max_length=MAX_ITEMS, description="default: every item with a stock position"
    )
    model: ModelName | None = Field(None, description="default: the published plan with its overrides, else ma7")
    service_level: float | None = Field(None, gt=0.0, lt=1.0, description="overrides the items' own")
    service_type: Literal["cycle", "fill"] | None = Field(
        None, description="overrides the items' own: cycle (no stock-out in a cycle) or fill (share of demand served)"
    )
    review_period_days: Days | None = None
    lead_time_days: Days | None = None
    bucket: Bucket = None
    client_id: ClientId = None


class ReorderRow(BaseModel):
    """One row of the reorder table (docs/inventory-policy.md), the same columns as the CSV."""

    item_id: str
    name: str
    category: str
    model: str
    service_level: float
    lead_time_days: int
    review_period_days: int
    on_hand: float
    on_order: float
    inventory_position: float
    lead_time_demand: float
    reorder_point: float
    safety_stock: float
    order_up_to: float
    order_qty: float | None = Field(description="empty on lines marked ok: only items proposed today carry a quantity")
    unit_cost: float | None
    order_value: float | None
    days_of_cover: float | None
    stockout_date: date | None
    action: str
    on_order_due: date = Field(description="when the stock on order arrives (given, else after the lead time)")
    abc: str = Field(description="A, B or C by value sold over 52 weeks (empty: not classified)")
    xyz: str = Field(description="X, Y or Z by the CV of weekly demand (empty: not classified)")
    lifecycle: str = Field(description="new, active or dead")
    service_type: str = Field(description="cycle or fill: what service_level means")
    lead_time_std_days: float
    excess_qty: float = Field(description="inventory position above the order-up-to level (a dead item's whole position)")


class ReorderResponse(BaseModel):
    reorder_id: int
    client_id: int
    model: str = Field(description="the demand: a model, or 'plan N (model, as of date)'")
    plan_id: int | None = Field(None, description="the published plan used (with its overrides); null: a model run")
    skipped: list[str] = Field(description="items left out for too little sales history")
    bucket: str = Field(description=BUCKET_OUT)
    items: list[ReorderRow]


# --- exceptions -----------------------------------------------------------------------------


class ExceptionRowModel(BaseModel):
    """One item of the attention queue (docs/inventory-policy.md, exceptions)."""

    rank: int
    item_id: str
    name: str
    category: str
    reason: str
    detail: str
    units: float = Field(description="units at stake (short, excess, mis-forecast or on hand)")
    unit_cost: float | None
    value_at_risk: float | None = Field(description="units x unit cost; null where the cost is not known")
    other_reasons: str


class ExceptionsResponse(BaseModel):
    exceptions_id: int
    client_id: int
    cached: bool
    data_as_of: date
    model: str = Field(description="the demand of the reorder rules: a model, or 'plan N (model, as of date)'")
    plan_id: int | None = Field(None, description="the published plan used (with its overrides); null: a model run")
    items: list[ExceptionRowModel]


# --- catalogue ------------------------------------------------------------------------------


class ModelInfo(BaseModel):
    name: str
    available: bool
    reason: str = Field(description="why the model cannot run here ('' when it can)")
    description: str


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class ItemInfo(BaseModel):
    item_id: str
    name: str
    category: str
    unit_cost: float | None
    lead_time_days: int | None
    review_period_days: int
    service_level: float | None = Field(description="the item's own level; null = its class cell's")
    moq: float
    pack_size: float
    service_type: str = Field(description="cycle, fill, or empty = its class cell's")
    lead_time_std_days: float
    phase_out: bool
    on_hand: float | None
    on_order: float | None
    on_order_due: date | None
    inventory_as_of: date | None
    first_date: date | None
    last_date: date | None
    total_quantity: float | None
    recent_quantity: float


class ItemsResponse(BaseModel):
    client_id: int
    items: list[ItemInfo]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


class ErrorResponse(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    detail: str
    errors: list[FieldError] = Field(default_factory=list, description="for an invalid body: where and what")


class PolicyBody(BaseModel):
    """Changes to the client's policy by class; cells not named keep their value."""

    model_config = ConfigDict(extra="forbid")
    levels: dict[str, float] = Field(default_factory=dict, description="service level (0.5 to 0.999) per cell, e.g. AX")
    types: dict[str, Literal["cycle", "fill"]] = Field(default_factory=dict, description="service type per cell")
    abc_thresholds: tuple[float, float] | None = Field(None, description="cumulative value shares of A and B")


class PolicyResponse(BaseModel):
    client_id: int
    levels: dict[str, float]
    types: dict[str, str]
    abc_thresholds: tuple[float, float]
