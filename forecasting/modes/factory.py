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
from forecasting.modes.auto_global import BLEND
from forecasting.modes.statistical.baselines import MovingAverage7, SeasonalNaive
from forecasting.modes.statistical.exponential import DampedHolt, SeasonalExponentialSmoothing, SimpleExponentialSmoothing
from forecasting.modes.statistical.intermittent import ADIDA, IMAPA, TSB, CrostonSBA
from forecasting.modes.statistical.theta import Theta


#: what a model costs to run, in units of about 1 ms of one CPU: (per item, per call); a call is a
#: forecast, or one window of a backtest. Measured by benchmarks/bench_costs.py (results in
#: benchmarks/results/costs.md, whose latest run was on a busy machine): the largest of three runs on
#: a shared 2-CPU machine at a lower load, rounded up.
#: The request budget (forecasting/services/limits.py) counts them. A model not listed (a test's,
#: a plug-in's) costs DEFAULT_COST_WEIGHT.
COST_WEIGHTS: dict[str, tuple[int, int]] = {
    "ma7": (1, 2), "seasonal-naive": (1, 10), "ses": (1, 450), "holt": (48, 101), "weekly-ses": (1, 963),
    "croston-sba": (1, 42), "tsb": (1, 29), "adida": (4, 561), "imapa": (7, 523),
    # theta: statsforecast's fit of its weight and level per item, its cost grows with the history: 545 ms an
    # item of 5 years of days (pasta, load 2.9), 3-5 ms of 3 years of weeks; the daily figure (an estimate, not
    # yet in bench_costs.py)
    "theta": (550, 10),
    # auto: its statistical pool (16, 3285) and its global member's three lgbm fits (about 55 ms an item of
    # 5 years each on an idle CPU: pasta's 118 items in 6-7 s; an estimate, not yet in bench_costs.py)
    "auto": (16 + 3 * 55, 3285 + 3 * 2000),
    # on CPU, benchmarks/results/chronos2.txt (256 items in 36 s, the model loaded once per process)
    "chronos-2": (141, 0),
    # lgbm trains per call: pasta's 118 items x 1,826 days in 22-52 s on one thread (load ~11), about 400 ms
    # an item of 5 years (docs/models.md; not yet in bench_costs.py)
    "lgbm": (400, 2000),
}
DEFAULT_COST_WEIGHT = (1, 0)

#: the label of auto's median ensemble (not a registered model: a choice auto makes per item)
ENSEMBLE_LABEL = "Median ensemble"
#: old names still accepted (and labelled) as the model they became
ALIASES = {"weekly-ses": "seasonal-ses"}
#: the label of auto's choice for a dead item (zero demand, zero-width bands)
NO_DEMAND_LABEL = "No demand (dead item)"
#: the label of auto's mean of an item's statistical choice and the global model
BLEND_LABEL = "Blend with LightGBM (global)"


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
        if key == BLEND:
            return BLEND_LABEL
        base, bracket, parameters = key.partition("(")
        spec = cls._specs.get(ALIASES.get(base, base))
        if spec is None:
            return str(name)
        return f"{spec.label} ({parameters}" if bracket else spec.label

    @classmethod
    def cost(cls, name: str, items: int, calls: int = 1) -> int:
        """What ``calls`` calls of the model on ``items`` items cost (COST_WEIGHTS): what request budgets count."""
        per_item, per_call = COST_WEIGHTS.get(cls._known(name), DEFAULT_COST_WEIGHT)
        return calls * (items * per_item + per_call)

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
        key = ALIASES.get(key, key) if key not in cls._specs else key
        if key not in cls._specs:
            raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(cls.names())}")
        return key


def _chronos2() -> BaseForecastModel:
    # imported lazily: torch and transformers take seconds to import
    from forecasting.modes.ml.chronos2 import Chronos2Model

    return Chronos2Model()


for _model in (
    MovingAverage7, SeasonalNaive, SimpleExponentialSmoothing, DampedHolt, SeasonalExponentialSmoothing, CrostonSBA, TSB,
    ADIDA, IMAPA, Theta,
):
    ModelFactory.register(_model)
ModelFactory.register(_chronos2, name="chronos-2", label="Chronos-2")


def _lgbm() -> BaseForecastModel:
    # imported lazily: lightgbm and mlforecast take a second to import
    from forecasting.modes.ml.lightgbm import LightGBMGlobal

    return LightGBMGlobal()


ModelFactory.register(_lgbm, name="lgbm", label="LightGBM (global)")
ModelFactory.register(AutoModel)
