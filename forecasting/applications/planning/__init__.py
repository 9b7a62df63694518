"""The published plan: planners' overrides applied to it, and the forecast value added (FVA) of each step.

Pure logic (no storage): ``overrides`` turns a baseline forecast and a list of
overrides into the final forecast, its bands and its sample paths; ``fva``
scores naive, plan and final forecasts against actuals. Formulas in docs/planning.md.
"""
