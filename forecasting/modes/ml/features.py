"""The global model's features: lags, rolling means and calendar features, per bucket of the data.

One :class:`FeatureSpec` per bucket says which lags of the target, which
rolling statistics of lagged targets and which date attributes the model sees;
:func:`spec_for` derives it from the bucket's
:class:`~forecasting.core.calendar.Frequency` (its pandas alias, season, lags,
rolling means and date attributes: the bucket's facts have one home), and
:func:`mlforecast_arguments` turns it into mlforecast's ``freq``, ``lags``,
``lag_transforms`` and ``date_features`` (the library computes them, also
recursively over the horizon).

Why these: lags 1/7/14/28 with 7- and 28-day rolling means and day of week /
month / day of month are the recipe of issue 22 (the M5 family), measured on
real daily retail data and on the pasta data; weeks and months take the
recent buckets (1, 2, 4 weeks; 1, 2, 3 months), one season back (52 weeks, 12
months) and the position in the year.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from forecasting.core.calendar import DAILY as DAILY_BUCKET
from forecasting.core.calendar import Frequency

#: column names the global model uses in mlforecast's frames
ID, TIME, TARGET = "unique_id", "ds", "y"


@dataclass(frozen=True)
class FeatureSpec:
    """What the global model sees of a series' past and of its dates."""

    #: pandas offset alias of the series' buckets (``D``, ``W-FRI``, ``MS``, ``ME``)
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


def spec_for(frequency: Frequency | str = "D") -> FeatureSpec:
    """The features of a bucket: a :class:`Frequency`, its alias (``W-FRI``, ``MS``) or a code ``D``/``W``/``M``."""
    freq = Frequency.parse(frequency)
    return FeatureSpec(freq.alias, freq.season, freq.lags, freq.rolling_means, freq.date_features)


#: the daily features (the default of :func:`feature_frame`)
DAILY = spec_for(DAILY_BUCKET)


def features_version() -> str:
    """A short digest of every bucket's features: part of the global model's version (changes with any of them)."""
    keys = "|".join(spec_for(code).key for code in ("D", "W", "M"))
    return hashlib.sha256(keys.encode()).hexdigest()[:12]


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
