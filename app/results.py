"""Results kept in the session between reruns: what to chart, what to download, where they came from."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from forecasting.core.calendar import Frequency
from forecasting.core.covariates import with_covariates
from forecasting.core.models.base import quantile_column
from forecasting.modes.factory import ModelFactory
from forecasting.services.forecast_service import BacktestOutcome, ForecastOutcome

FORECAST_COLUMNS = ["item_id", "date", "model", "forecast"]
CHOICE_COLUMNS = ("chosen_model", "choice")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Forecast:
    """A forecast of the service (from its database cache or computed)."""

    response: ForecastOutcome

    @property
    def item_ids(self) -> list[str]:
        return [str(i) for i in pd.unique(self.response.forecast["item_id"])]

    @property
    def model(self) -> str:
        return self.response.model

    @property
    def freq(self) -> Frequency:
        """The bucket of the dates and quantities (the client's, or the view's)."""
        return self.response.freq

    @property
    def label(self) -> str:
        """The model as the app names it everywhere."""
        return ModelFactory.label(self.response.model)

    def provenance(self) -> str:
        r = self.response
        what = f"{self.label}, {len(self.item_ids)} item(s), {r.horizon} {r.freq.units}"
        if r.cached:
            return (f"From the cache: run #{r.run_id} reused the results of run #{r.source_run_id} "
                    f"({what}); same data and settings, so nothing was recomputed.")
        return f"Computed now: run #{r.run_id} ({what}) at {_when(r.created_at)}."

    def chart_frames(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        return self.response.forecast, None

    def export_frame(self, names: dict[str, str]) -> pd.DataFrame:
        """The download: the forecast CSV's columns (docs/data-formats.md) with the item's name after its id."""
        columns = FORECAST_COLUMNS + [quantile_column(q) for q in self.response.quantiles]
        columns += [c for c in CHOICE_COLUMNS if c in self.response.forecast.columns]
        frame = with_covariates(self.response.forecast[columns], ModelFactory.create(self.response.model),
                                self.response.covariates)
        return _with_names(frame, names)


@dataclass(frozen=True)
class Backtest:
    """Forecasts of each item's last H days made without seeing them, with the actuals and metrics."""

    response: BacktestOutcome
    #: the central bands asked for, in percent (the widest one judges coverage)
    bands: list[int]

    @property
    def item_ids(self) -> list[str]:
        return [str(i) for i in pd.unique(self.response.forecasts["item_id"])]

    @property
    def model(self) -> str:
        return "-".join(self.response.models)

    @property
    def freq(self) -> Frequency:
        """The bucket of the dates and quantities (the client's, or the view's)."""
        return self.response.freq

    @property
    def label(self) -> str:
        """The models as the app names them everywhere."""
        return ", ".join(map(ModelFactory.label, self.response.models))

    @property
    def band_width(self) -> float | None:
        """The outermost band's width as a share (0.8), which coverage is judged on; None without bands."""
        return max(self.bands) / 100 if self.bands else None

    def provenance(self) -> str:
        r = self.response
        return (f"Scored run #{r.run_id} ({self.label}, {len(self.item_ids)} item(s)): each item's last "
                f"{r.horizon} {r.freq.units} were hidden from the model and are drawn as actuals. Computed now at "
                f"{_when(r.created_at)} (scoring runs are not cached).")

    def chart_frames(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        frame = self.response.forecasts
        return frame, frame[["item_id", "date", "actual"]]

    def item_forecasts(self, item_id: str) -> pd.DataFrame:
        frame = self.response.forecasts
        return frame[frame["item_id"] == item_id]

    def export_frame(self, names: dict[str, str]) -> pd.DataFrame:
        """The download: each scored bucket with its actual, the forecast and the bands (one block per model)."""
        columns = ["item_id", "model", "window", "cutoff", "date", "actual", "forecast"]
        columns += [quantile_column(q) for q in self.response.quantiles]
        columns += [c for c in ("chosen_model",) if c in self.response.forecasts.columns]
        return _with_names(self.response.forecasts[columns], names)


def _with_names(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    out = frame.copy()
    out.insert(1, "name", out["item_id"].map(names).fillna(""))
    return out
