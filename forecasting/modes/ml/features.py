"""The global model's features: lags, rolling means and calendar features, per data frequency.

One :class:`FeatureSpec` per frequency says which lags of the target, which
rolling statistics of lagged targets and which date attributes the model sees;
:func:`mlforecast_arguments` turns it into mlforecast's ``lags``,
``lag_transforms`` and ``date_features`` (the library computes them, also
recursively over the horizon). Daily data is the only frequency the product
prepares today (``core/history.py`` works in days); the weekly and monthly
specs are the analogues the frequency of a prepared history will select
(:func:`spec_for`), kept here so that the switch is one lookup.

Why these: lags 1/7/14/28 with 7- and 28-day rolling means and day of week /
month / day of month are the recipe of issue 22 (the M5 family), measured on
real daily retail data and on the pasta data.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: column names the global model uses in mlforecast's frames
ID, TIME, TARGET = "unique_id", "ds", "y"


@dataclass(frozen=True)
class FeatureSpec:
    """What the global model sees of a series' past and of its dates."""

    #: pandas offset alias of the series' periods
    freq: str
    #: the season length in periods (7 days, 52 weeks, 12 months)
    season: int
    #: target lags in periods
    lags: tuple[int, ...]
    #: (lag, window): the mean of ``window`` periods ending ``lag`` periods back
    rolling_means: tuple[tuple[int, int], ...]
    #: pandas ``.dt`` attributes of the date
    date_features: tuple[str, ...]

    @property
    def key(self) -> str:
        """Identifies the features (part of the model's version and cache key)."""
        rolling = ",".join(f"{lag}x{w}" for lag, w in self.rolling_means)
        return f"{self.freq}:lags={','.join(map(str, self.lags))}:mean={rolling}:date={','.join(self.date_features)}"

    @property
    def longest_lag(self) -> int:
        """How many past periods the features of one period reach back."""
        return max([*self.lags, *(lag + w - 1 for lag, w in self.rolling_means)])


DAILY = FeatureSpec("D", 7, (1, 7, 14, 28), ((1, 7), (1, 28), (7, 7), (7, 28)), ("dayofweek", "month", "day"))
WEEKLY = FeatureSpec("W", 52, (1, 2, 4, 52), ((1, 4), (1, 13)), ("month", "week"))
MONTHLY = FeatureSpec("MS", 12, (1, 2, 3, 12), ((1, 3), (1, 12)), ("month",))
#: the one place a frequency picks its features (D/W/M as ``core.calendar``'s frequencies will name them)
SPECS = {"D": DAILY, "W": WEEKLY, "M": MONTHLY}


def spec_for(frequency: object = "D") -> FeatureSpec:
    """The features for a frequency: a code ``D``/``W``/``M`` or an object with a ``code`` attribute."""
    code = str(getattr(frequency, "code", frequency)).upper()[:1]
    try:
        return SPECS[code]
    except KeyError:
        raise ValueError(f"no global-model features for frequency {frequency!r}") from None


def mlforecast_arguments(spec: FeatureSpec) -> dict[str, object]:
    """``freq``, ``lags``, ``lag_transforms`` and ``date_features`` for ``mlforecast.MLForecast``."""
    from mlforecast.lag_transforms import RollingMean

    transforms: dict[int, list[RollingMean]] = {}
    for lag, window in spec.rolling_means:
        transforms.setdefault(lag, []).append(RollingMean(window_size=window))
    return {
        "freq": spec.freq,
        "lags": list(spec.lags),
        "lag_transforms": transforms,
        "date_features": list(spec.date_features),
    }


def feature_frame(frame: pd.DataFrame, spec: FeatureSpec = DAILY, static: list[str] | None = None) -> pd.DataFrame:
    """The training rows the global model learns from: ``unique_id, ds, y, <features>`` (mlforecast's preprocess).

    ``frame`` has columns ``unique_id, ds, y`` plus optional static or
    exogenous columns. Rows whose lags reach before the series' start are
    dropped, as in training.
    """
    from mlforecast import MLForecast

    pipeline = MLForecast(models=[], **mlforecast_arguments(spec))  # type: ignore[arg-type]
    return pipeline.preprocess(frame, id_col=ID, time_col=TIME, target_col=TARGET, static_features=static or [])
