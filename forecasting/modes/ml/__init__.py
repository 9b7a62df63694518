"""Machine-learning models: Chronos-2 (``chronos2``), its weights (``weights``) and loading (``loading``).

Nothing here imports torch at import time; the model is loaded on first use.
"""
from forecasting.modes.ml.loading import download_model, reset_pipeline

__all__ = ["download_model", "reset_pipeline"]
