"""Item classes for the replenishment policy: ABC (value), XYZ (variability) and lifecycle.

The demand classes of Syntetos and Boylan, which choose forecasting models,
stay in :mod:`forecasting.modes.statistical.classification` (a model concern);
this package classifies items for the *policy* (docs/inventory-policy.md, classes).
"""
