"""The published plan of a client, planners' overrides of it, its demand source and its forecast value added.

One entry point (:class:`PlanningService`) for docs/planning.md: make or reuse
the plan, import and revert overrides, give the final forecast, score FVA. The
choice between "published plan + overrides" and "a fresh model run" as the
demand of the reorder table and the attention queue is made in one place,
:func:`demand_source` (seam 2 of the design notes).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecasting.applications.planning.fva import FVA_COLUMNS, fva_table, plan_in_force
from forecasting.applications.planning.overrides import (
    KINDS,
    OVERRIDE_COLUMNS,
    REASONS,
    adjust_paths,
    final_forecast,
)
from forecasting.core.calendar import Frequency
from forecasting.core.errors import (
    ForecastingError,
    InvalidInputError,
    NotFoundError,
    ResultsRemovedError,
    RowProblem,
)
from forecasting.core.history import history_lengths
from forecasting.core.models.base import (
    DEFAULT_QUANTILES,
    BaseForecastModel,
    SamplePaths,
)
from forecasting.modes.factory import ModelFactory
from forecasting.storage import clients, items, plans
from forecasting.storage.models import utcnow
from forecasting.storage.imports import ImportResult
from forecasting.storage.plans import PlanInfo

if TYPE_CHECKING:
    from forecasting.services.data_access import DataAccess
    from forecasting.services.forecast_service import ForecastService

#: the plan's model when the client has none set
DEFAULT_PLANNING_MODEL = "auto"
#: days the plan covers by default (13 weeks): in the client's buckets, 91 days, 13 weeks or 3 months
DEFAULT_PLAN_HORIZON = 91
#: the model of the reorder table and the attention queue when the client has no plan
FALLBACK_MODEL = "ma7"
#: columns of an override file (docs/data-formats.md); ``note`` may be absent
OVERRIDE_FILE_COLUMNS = ["item_id", "start_date", "end_date", "change", "kind", "reason", "note"]
#: the plan CSV: these, then the final forecast's quantile columns
PLAN_COLUMNS = ["item_id", "date", "baseline", "final"]


@dataclass(frozen=True)
class PlanOutcome:
    """The current plan and whether it was made now or reused (unchanged data, model and horizon)."""

    plan: PlanInfo
    reused: bool


@dataclass(frozen=True)
class SalesImport:
    """A sales import and what it did to the published plan (:meth:`PlanningService.import_sales`)."""

    result: ImportResult
    #: the plan now in force after the import, made or reused; None: no plan before it, or not refreshed
    plan: PlanOutcome | None
    #: why the plan was not refreshed ("" when it was, or when the client has no plan): the earlier plan stays
    problem: str = ""

    def plan_line(self) -> str:
        """One line for the importer: the plan made, why none was, or "" before the client's first plan."""
        if self.problem:
            return (f"the plan was not refreshed: {self.problem}; the earlier plan stays in force until a new one is "
                    f"made (Re-plan on the Forecast page, or the batch command `plan`)")
        if self.plan is None:
            return ""
        return (f"plan {self.plan.plan.plan_id} ({'reused' if self.plan.reused else 'made'}), "
                f"as of {self.plan.plan.as_of}")


@dataclass(frozen=True)
class DemandSource:
    """Where the reorder table's and the attention queue's demand comes from: a plan with overrides, or a model."""

    model: BaseForecastModel
    #: the published plan used, None for a fresh model run
    plan: PlanInfo | None = None
    #: the plan's final forecast (FINAL_COLUMNS) whose overrides the paths follow
    final: pd.DataFrame | None = None

    @property
    def label(self) -> str:
        """What the reorder table's ``model`` column says: ``plan 3 (ma7, as of 2024-03-01)`` or the model."""
        if self.plan is None:
            return self.model.name
        return f"plan {self.plan.plan_id} ({self.plan.model}, as of {self.plan.as_of})"

    @property
    def key(self) -> str:
        """What decides the demand besides the data: the plan and its active overrides (a cache key part)."""
        if self.plan is None:
            return ""
        decided = [] if self.final is None else sorted(int(i) for i in self.final["override_id"].dropna().unique())
        return f"plan {self.plan.plan_id}, overrides {decided}"

    def adjust(self, paths: SamplePaths) -> SamplePaths:
        """The model's joint demand paths moved by the plan's overrides (applications.planning.overrides)."""
        return paths if self.final is None else adjust_paths(paths, self.final)


def demand_source(data: DataAccess, client_id: int, model: str | None) -> DemandSource:
    """The one choice of demand: ``model`` named -> a fresh run of it; else the published plan with its
    overrides when the client has one; else a fresh run of FALLBACK_MODEL."""
    if model is None:
        with data.database.read(snapshot=True) as conn:
            plan = plans.current(conn, client_id)
            if plan is not None:
                overrides = _active(plans.read_overrides(conn, client_id))
        if plan is not None:
            _, baseline = data.run_forecast(client_id, plan.run_id)
            final = final_forecast(baseline, overrides)
            return DemandSource(ModelFactory.create(plan.model), plan, final)
    return DemandSource(ModelFactory.create(model or FALLBACK_MODEL))


class PlanningService:
    """The published plan and its overrides for one client at a time; see the module docstring."""

    def __init__(self, data: DataAccess, forecasts: ForecastService):
        self.data = data
        self.forecasts = forecasts

    # --- the plan ------------------------------------------------------------------------

    def current_plan(self, client_id: int) -> PlanInfo | None:
        with self.data.database.read() as conn:
            clients.get(conn, client_id)
            return plans.current(conn, client_id)

    def days_covered(self, client_id: int, plan: PlanInfo) -> tuple[date, date, str]:
        """The first and last day the plan's buckets cover (the range overrides must fall in) and their unit
        (``days``, ``weeks``, ``months``): what the app's forms and grid need of the client's bucket."""
        freq = self.data.get_client(client_id).freq
        first, last = horizon_days(plan.as_of, plan.horizon, freq)
        return first, last, freq.units

    def version(self, client_id: int) -> str:
        """Changes whenever the plan or its overrides change (a new plan, an override, a revert): with the
        client's data version, a cache key for what the app derives from the plan (the attention queue)."""
        with self.data.database.read(snapshot=True) as conn:
            plan = plans.current(conn, client_id)
            overrides = plans.read_overrides(conn, client_id)
        if plan is None:
            return ""
        return f"plan {plan.plan_id}, {len(overrides)} overrides, {int(overrides['reverted'].sum())} reverted"

    def make_plan(
        self,
        client_id: int,
        model: str | None = None,
        horizon: int | None = None,
        user_id: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> PlanOutcome:
        """Publish the plan: ``model`` (default: the client's planning model, :meth:`planning_model`) over every
        item with enough history, ``horizon`` buckets of the client's data (default :func:`default_horizon`); the
        current plan is reused when the client's data, the model and the horizon are unchanged. With request limits
        (app, API) a plan beyond them is refused before any work starts."""
        instance = ModelFactory.create(model or self.planning_model(client_id))
        client = self.data.get_client(client_id)
        if client.as_of is None:
            raise ForecastingError("the client has no sales yet: import a sales file first")
        horizon = default_horizon(client.freq) if horizon is None else horizon
        current = self.current_plan(client_id)
        if (current is not None and current.data_version == client.data_version and current.model == instance.name
                and current.horizon == horizon):
            return PlanOutcome(current, reused=True)
        listing = self.data.list_items(client_id)
        span = history_lengths(listing["first_date"], client.as_of, client.freq)
        ids = listing.loc[span >= instance.min_history_days, "item_id"].tolist()
        if not ids:
            raise ForecastingError(
                f"no item has {instance.min_history_days} or more {client.freq.units} of sales history")
        outcome = self.forecasts.forecast(client_id, ids, instance.name, horizon, DEFAULT_QUANTILES,
                                          user_id=user_id, progress=progress)
        with self.data.database.write() as conn:
            plan = plans.publish(conn, client_id, outcome.source_run_id, instance.name, client.as_of, horizon,
                                 client.data_version)
        return PlanOutcome(plan, reused=False)

    def refresh_after_import(self, client_id: int) -> PlanOutcome | None:
        """After a sales import: a new plan with the client's planning model and the current plan's horizon (none
        before the first plan, which is made on demand)."""
        current = self.current_plan(client_id)
        if current is None:
            return None
        return self.make_plan(client_id, None, current.horizon)

    def import_sales(
        self, client_id: int, source: str | Path | pd.DataFrame, move_as_of: bool = False, freq: str | None = None
    ) -> SalesImport:
        """The one sales import of every caller (CLI, app; docs/planning.md): the import
        (:meth:`DataAccess.import_sales_file` for a path, :meth:`DataAccess.import_sales` for a validated frame),
        then :meth:`refresh_after_import`. A plan that cannot be made now (beyond the request limits, no free
        computation slot, a model error) leaves the import standing and the earlier plan in force, and says so."""
        if isinstance(source, pd.DataFrame):
            result = self.data.import_sales(client_id, source, move_as_of=move_as_of, freq=freq)
        else:
            result = self.data.import_sales_file(client_id, source, move_as_of=move_as_of, freq=freq)
        try:
            return SalesImport(result, self.refresh_after_import(client_id))
        except ForecastingError as exc:
            return SalesImport(result, None, str(exc))

    # --- the planning model (an admin's setting) -------------------------------------------

    def planning_model(self, client_id: int) -> str:
        """The model the client's plan is made with: the admin's setting, else :data:`DEFAULT_PLANNING_MODEL`."""
        with self.data.database.read() as conn:
            return clients.planning_model(conn, client_id) or DEFAULT_PLANNING_MODEL

    def set_planning_model(self, client_id: int, model: str) -> str:
        """Set the client's planning model (callers let only the client's admins do it): a known model that can run
        here, stored by its canonical name; the next plan (on demand or after an import) uses it."""
        if not isinstance(model, str):
            raise InvalidInputError(f"model must be a name such as 'auto', got {model!r}")
        instance = ModelFactory.create(model)
        status = instance.availability()
        if not status.available:
            raise InvalidInputError(f"model {instance.name} cannot run here: {status.reason}")
        with self.data.database.write() as conn:
            clients.get(conn, client_id)
            clients.set_planning_model(conn, client_id, instance.name)
        return instance.name

    def final(self, client_id: int, item_ids: list[str] | None = None) -> tuple[PlanInfo, pd.DataFrame]:
        """The current plan and its final forecast: ``item_id, date, baseline, final``, the final's quantiles,
        and the deciding ``override_id`` and ``kind``."""
        plan = self.require_plan(client_id)
        _, baseline = self.data.run_forecast(client_id, plan.run_id)
        if item_ids is not None:
            baseline = baseline[baseline["item_id"].isin(item_ids)]
        levels = [c for c in baseline.columns if c.startswith("q")]
        with self.data.database.read() as conn:
            overrides = _active(plans.read_overrides(conn, client_id, item_ids))
        return plan, final_forecast(baseline, overrides, levels)

    def plan_table(self, client_id: int) -> tuple[PlanInfo, pd.DataFrame]:
        """The plan CSV: PLAN_COLUMNS then the final forecast's quantile columns."""
        plan, final = self.final(client_id)
        levels = [c for c in final.columns if c.startswith("q")]
        table = final[PLAN_COLUMNS + levels].copy()
        table["date"] = table["date"].dt.date
        return plan, table

    # --- overrides -----------------------------------------------------------------------

    def overrides(self, client_id: int, item_ids: list[str] | None = None) -> pd.DataFrame:
        """Every override of the client, reverted ones included (the audit trail), oldest first."""
        with self.data.database.read() as conn:
            clients.get(conn, client_id)
            return plans.read_overrides(conn, client_id, item_ids)

    def add_overrides(self, client_id: int, rows: pd.DataFrame, created_by: str, source: str = "overrides") -> list[int]:
        """Validate ``rows`` (OVERRIDE_FILE_COLUMNS; a ``category`` instead of an ``item_id`` means every item
        of it) in full, then store them in one transaction: every problem in one InvalidInputError, nothing
        stored. Each stores the range's final total before and after it."""
        plan = self.require_plan(client_id)
        checked = self._validated(client_id, plan, rows, source)
        _, baseline = self.data.run_forecast(client_id, plan.run_id)
        with self.data.database.write() as conn:
            keys = items.resolve(conn, client_id, sorted(set(checked["item_id"])))
            pk_of = dict(zip(keys["external_id"], keys["pk"]))
            known = _active(plans.read_overrides(conn, client_id, sorted(pk_of)))
            ids = []
            for row in checked.to_dict("records"):
                scope = baseline[baseline["item_id"] == row["item_id"]]
                # the new override is the latest: it decides its days over every earlier one
                latest = int(known["override_id"].max()) + 1 if len(known) else 1
                newest = pd.DataFrame([{**row, "override_id": latest}])[list(OVERRIDE_COLUMNS)]
                with_it = pd.concat([known[list(OVERRIDE_COLUMNS)], newest], ignore_index=True) if len(known) else newest
                record = {**row, "pk": pk_of[row["item_id"]], "created_by": created_by,
                          "old_value": _range_total(final_forecast(scope, known), row),
                          "new_value": _range_total(final_forecast(scope, with_it), row)}
                ids += plans.add_overrides(conn, client_id, pd.DataFrame([record]))
                known = _active(plans.read_overrides(conn, client_id, sorted(pk_of)))
        return ids

    def import_overrides_file(self, client_id: int, path: str | Path, created_by: str) -> list[int]:
        """``import-overrides``: an override CSV (docs/data-formats.md), all or nothing."""
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ForecastingError(f"cannot read override file {Path(path).name}: {exc}") from None
        missing = [c for c in OVERRIDE_FILE_COLUMNS if c != "note" and c not in frame.columns]
        if missing:
            raise InvalidInputError(f"override file {Path(path).name} rejected, nothing imported: "
                                    f"missing column(s) {', '.join(missing)}")
        return self.add_overrides(client_id, frame, created_by, source=f"override file {Path(path).name}")

    def revert(self, client_id: int, override_id: int, who: str) -> None:
        """Revert one override: the plan applies again where it decided (its record stays)."""
        with self.data.database.write() as conn:
            plans.revert(conn, client_id, override_id, who, utcnow())

    # --- forecast value added --------------------------------------------------------------

    def fva(self, client_id: int) -> pd.DataFrame:
        """Forecast value added (FVA_COLUMNS) over every bucket of every plan that now has an actual, each scored
        against the plan in force for it; the naive forecast is the seasonal naive made at that plan's as-of date."""
        with self.data.database.read(snapshot=True) as conn:
            clients.get(conn, client_id)
            every = plans.all_plans(conn, client_id)
            overrides = _active(plans.read_overrides(conn, client_id))
        client = self.data.get_client(client_id)
        if not every or client.as_of is None:
            return pd.DataFrame(columns=FVA_COLUMNS)
        listing = self.data.list_items(client_id).set_index("item_id")
        naive_model = ModelFactory.create("seasonal-naive")
        as_of_of = pd.Series({p.plan_id: pd.Timestamp(p.as_of) for p in every})
        in_force = set(plan_in_force(as_of_of, pd.Series(pd.to_datetime(sorted({p.as_of for p in every}))
                                                     + pd.Timedelta(days=1))).dropna().astype(int))
        scored = []
        for plan in every:
            if plan.as_of >= client.as_of or plan.plan_id not in in_force:
                continue  # no actuals after it yet, or a later plan of the same as-of date is in force instead
            try:
                _, baseline = self.data.run_forecast(client_id, plan.run_id)
            except ResultsRemovedError:  # kept 400 days (storage.plans.protected_runs), then the quota's rules
                continue
            final = final_forecast(baseline, overrides)
            final = final[final["date"] <= pd.Timestamp(client.as_of)]
            final = final[plan_in_force(as_of_of, final["date"]).to_numpy() == plan.plan_id]
            if final.empty:
                continue
            ids = sorted(final["item_id"].unique())
            history = self.data.history(client_id, ids)
            history["date"] = pd.to_datetime(history["date"])
            before = history[history["date"] <= pd.Timestamp(plan.as_of)]
            naive = naive_model.forecast(before, plan.horizon)[["item_id", "date", "forecast"]]
            naive["date"] = pd.to_datetime(naive["date"])
            frame = final.merge(naive.rename(columns={"forecast": "naive"}), on=["item_id", "date"], how="left")
            frame = frame.merge(history[["item_id", "date", "quantity"]].rename(columns={"quantity": "actual"}),
                                on=["item_id", "date"])
            scored.append(frame)
        if not scored:
            return pd.DataFrame(columns=FVA_COLUMNS)
        frame = pd.concat(scored, ignore_index=True).rename(columns={"baseline": "plan"})
        frame["category"] = listing["category"].reindex(frame["item_id"]).fillna("").to_numpy()
        by_id = overrides.set_index("override_id") if len(overrides) else None
        decided = frame["override_id"]
        frame["reason"] = "" if by_id is None else by_id["reason"].reindex(decided).fillna("").to_numpy()
        frame["user"] = "" if by_id is None else by_id["created_by"].reindex(decided).fillna("").to_numpy()
        return fva_table(frame)

    # --- helpers -------------------------------------------------------------------------

    def require_plan(self, client_id: int) -> PlanInfo:
        """The current plan; NotFoundError before the first."""
        plan = self.current_plan(client_id)
        if plan is None:
            raise NotFoundError("the client has no published plan yet: make one first (plan)")
        return plan

    def _validated(self, client_id: int, plan: PlanInfo, rows: pd.DataFrame, source: str) -> pd.DataFrame:
        """The override rows, checked: unknown item or category, bad or reversed dates, a date outside the plan's
        horizon, a change that is not a number, a percentage below -100 %, a negative total, a bad kind or reason.

        On weekly or monthly data a range covers every bucket holding one of its days, and is stored as the
        dates of its first and last bucket (:func:`to_buckets`); the horizon is the days its buckets cover."""
        freq = self.data.get_client(client_id).freq
        first, last = horizon_days(plan.as_of, plan.horizon, freq)
        listing = self.data.list_items(client_id)
        known = set(listing["item_id"])
        by_category = listing.groupby("category")["item_id"].apply(list).to_dict()
        problems: list[RowProblem] = []
        out = []
        for n, raw in enumerate(rows.fillna("").astype(str).to_dict("records"), start=2):
            def bad(text: str, row: int = n) -> None:
                problems.append(RowProblem(row, text))
            item = raw.get("item_id", "").strip()
            category = raw.get("category", "").strip()
            targets = [item] if item else by_category.get(category, []) if category else []
            if item and item not in known:
                bad("unknown item")
            elif not targets:
                bad("unknown category" if category else "missing item_id")
            start, end = _day(raw.get("start_date", "")), _day(raw.get("end_date", ""))
            if start is None or end is None:
                bad("start_date and end_date must be dates (YYYY-MM-DD)")
            elif end < start:
                bad("end_date before start_date")
            elif start < first or end > last:
                bad(f"dates outside the plan's horizon ({first} to {last})")
            kind = raw.get("kind", "").strip().lower()
            if kind not in KINDS:
                bad(f"kind must be one of {', '.join(KINDS)}")
            change = _number(raw.get("change", ""))
            if change is None:
                bad("change must be a number")
            elif kind == "percent" and change < -100:
                bad("percentage below -100")
            elif kind == "total" and change < 0:
                bad("negative total")
            reason = " ".join(raw.get("reason", "").strip().lower().split())
            if reason not in REASONS:
                bad(f"reason must be one of {', '.join(REASONS)}")
            note = raw.get("note", "").strip()
            if freq.code != "D" and start is not None and end is not None:
                start, end = to_buckets(start, end, freq)
            for target in targets if item in known or not item else []:
                out.append({"item_id": target, "start_date": start, "end_date": end, "change": change, "kind": kind,
                            "reason": reason, "note": note})
        if problems:
            raise InvalidInputError(f"{source} rejected, nothing imported", problems, len(problems))
        if not out:
            raise InvalidInputError(f"{source} rejected, nothing imported: no override rows")
        return pd.DataFrame(out)


def default_horizon(freq: Frequency) -> int:
    """The plan's default horizon in ``freq``'s buckets: :data:`DEFAULT_PLAN_HORIZON` days, rounded up."""
    return freq.whole_periods(DEFAULT_PLAN_HORIZON)


def horizon_days(as_of: date, horizon: int, freq: Frequency) -> tuple[date, date]:
    """The first and last day the plan's ``horizon`` buckets after the as-of bucket cover (daily: as-of + 1..H)."""
    as_of_bucket = freq.periods(np.array([_day_number(as_of)]))[0]
    first = freq.first_days(np.array([as_of_bucket + 1]))[0]
    last = freq.last_days(np.array([as_of_bucket + horizon]))[0]
    return _date(first), _date(last)


def to_buckets(start: date, end: date, freq: Frequency) -> tuple[date, date]:
    """An override's date range as the dates of the first and last bucket holding its days (weeks, months)."""
    labels = freq.days_of(freq.periods(np.array([_day_number(start), _day_number(end)])))
    return _date(labels[0]), _date(labels[1])


def _day_number(day: date) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


def _date(day_number: int) -> date:
    return pd.Timestamp(np.datetime64(int(day_number), "D")).date()


def _active(overrides: pd.DataFrame) -> pd.DataFrame:
    return overrides[~overrides["reverted"].astype(bool)] if len(overrides) else overrides


def _range_total(final: pd.DataFrame, row: dict) -> float:
    days = (final["date"] >= pd.Timestamp(row["start_date"])) & (final["date"] <= pd.Timestamp(row["end_date"]))
    return float(final.loc[days, "final"].sum())


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
