"""Model names to model instances: the one place that knows every model."""
from __future__ import annotations

from collections.abc import Callable

from forecasting.core.errors import UnknownModelError
from forecasting.core.models.base import BaseForecastModel
from forecasting.modes.statistical.baselines import MovingAverage7, SeasonalNaive


def _chronos2() -> BaseForecastModel:
    # imported lazily: torch and transformers take seconds to import
    from forecasting.modes.ml.chronos2 import Chronos2Model

    return Chronos2Model()


class ModelFactory:
    """Creates models by name; instances are cached so heavy models load once per process."""

    _builders: dict[str, Callable[[], BaseForecastModel]] = {
        MovingAverage7.name: MovingAverage7,
        SeasonalNaive.name: SeasonalNaive,
        "chronos-2": _chronos2,
    }
    _instances: dict[str, BaseForecastModel] = {}

    @classmethod
    def names(cls) -> list[str]:
        return list(cls._builders)

    @classmethod
    def create(cls, name: str) -> BaseForecastModel:
        """The model called ``name``; an unknown name lists the available ones."""
        key = name.strip().lower()
        if key not in cls._builders:
            raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(cls.names())}")
        if key not in cls._instances:
            cls._instances[key] = cls._builders[key]()
        return cls._instances[key]

    @classmethod
    def parse_names(cls, names: str) -> list[str]:
        """'ma7,seasonal-naive' -> validated list (each name checked)."""
        out = [n.strip().lower() for n in names.split(",") if n.strip()]
        if not out:
            raise UnknownModelError(f"no model given; available: {', '.join(cls.names())}")
        for n in out:
            if n not in cls._builders:
                raise UnknownModelError(f"unknown model {n!r}; available: {', '.join(cls.names())}")
        return out
