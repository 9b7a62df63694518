"""The model registry: every model's name, label and builder, in one place.

The CLI's help and ``models`` command, the app's model selects, the API's
schema and the tests all read this registry; a new model is one
:meth:`ModelFactory.register` call. Heavy models register a builder that
imports them on first use (torch takes seconds to import).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from forecasting.core.errors import UnknownModelError
from forecasting.core.models.base import BaseForecastModel
from forecasting.modes.auto import ENSEMBLE, NO_DEMAND, AutoModel
from forecasting.modes.statistical.baselines import MovingAverage7, SeasonalNaive
from forecasting.modes.statistical.exponential import DampedHolt, SimpleExponentialSmoothing, WeeklyExponentialSmoothing
from forecasting.modes.statistical.intermittent import ADIDA, IMAPA, TSB, CrostonSBA


#: the label of auto's median ensemble (not a registered model: a choice auto makes per item)
ENSEMBLE_LABEL = "Median ensemble"
#: the label of auto's choice for a dead item (zero demand, zero-width bands)
NO_DEMAND_LABEL = "No demand (dead item)"


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its name, its label in the app and reports, and how to build it."""

    name: str
    label: str
    build: Callable[[], BaseForecastModel]


class ModelFactory:
    """Creates models by name; instances are cached so heavy models load once per process."""

    _specs: dict[str, ModelSpec] = {}
    _instances: dict[str, BaseForecastModel] = {}

    @classmethod
    def register(
        cls,
        model: type[BaseForecastModel] | Callable[[], BaseForecastModel],
        name: str | None = None,
        label: str | None = None,
    ) -> ModelSpec:
        """Add a model: a class (its ``name`` and ``label``) or a builder with ``name`` and ``label`` given.

        Registering a name again replaces the model (and forgets its instance).
        """
        name = (name or getattr(model, "name", "")).strip().lower()
        if not name:
            raise ValueError("a model needs a name")
        spec = ModelSpec(name, label or getattr(model, "label", name), model)
        cls._specs[name] = spec
        cls._instances.pop(name, None)
        return spec

    @classmethod
    def unregister(cls, name: str) -> None:
        """Remove a model (tests that register their own models clean up with this)."""
        cls._specs.pop(name, None)
        cls._instances.pop(name, None)

    @classmethod
    def names(cls) -> list[str]:
        return list(cls._specs)

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Name -> label of every registered model, in registration order."""
        return {name: spec.label for name, spec in cls._specs.items()}

    @classmethod
    def label(cls, name: str) -> str:
        """What the app and reports call a model: its label, a variant's with its parameters, the ensemble's.

        ``ses(alpha=0.1)`` (an auto pool member) is ``SES (alpha=0.1)``; a
        list ``ma7,ses`` (a scored run's models) labels each; a name the
        registry does not know (an old run's) is itself.
        """
        key = str(name).strip().lower()
        if "," in key:
            return ", ".join(cls.label(part) for part in key.split(","))
        if key == ENSEMBLE:
            return ENSEMBLE_LABEL
        if key == NO_DEMAND:
            return NO_DEMAND_LABEL
        base, bracket, parameters = key.partition("(")
        spec = cls._specs.get(base)
        if spec is None:
            return str(name)
        return f"{spec.label} ({parameters}" if bracket else spec.label

    @classmethod
    def create(cls, name: str) -> BaseForecastModel:
        """The model called ``name``; an unknown name lists the available ones."""
        key = cls._known(name)
        if key not in cls._instances:
            cls._instances[key] = cls._specs[key].build()
        return cls._instances[key]

    @classmethod
    def parse_names(cls, names: str) -> list[str]:
        """'ma7,seasonal-naive' -> validated list (each name checked)."""
        out = [n.strip().lower() for n in names.split(",") if n.strip()]
        if not out:
            raise UnknownModelError(f"no model given; available: {', '.join(cls.names())}")
        return [cls._known(n) for n in out]

    @classmethod
    def _known(cls, name: str) -> str:
        key = str(name).strip().lower()
        if key not in cls._specs:
            raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(cls.names())}")
        return key


def _chronos2() -> BaseForecastModel:
    # imported lazily: torch and transformers take seconds to import
    from forecasting.modes.ml.chronos2 import Chronos2Model

    return Chronos2Model()


for _model in (
    MovingAverage7, SeasonalNaive, SimpleExponentialSmoothing, DampedHolt, WeeklyExponentialSmoothing, CrostonSBA, TSB,
    ADIDA, IMAPA,
):
    ModelFactory.register(_model)
ModelFactory.register(_chronos2, name="chronos-2", label="Chronos-2")


def _lgbm() -> BaseForecastModel:
    # imported lazily: lightgbm and mlforecast take a second to import
    from forecasting.modes.ml.lightgbm import LightGBMGlobal

    return LightGBMGlobal()


ModelFactory.register(_lgbm, name="lgbm", label="LightGBM (global)")
ModelFactory.register(AutoModel)
