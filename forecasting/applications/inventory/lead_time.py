"""Lead-time variability (docs/inventory-policy.md): one sampled lead time per item and sample path.

With ``lead_time_std_days`` s > 0 the lead time of path p is
round(L + s x z_p), z_p standard normal, clipped to [0, L + ceil(3 s)]: a normal
discretised to whole days, never negative, never beyond three standard
deviations (the forecast has to reach it). Demand over the lead time is then
the total of each path's own first L_p days, so a late delivery and a demand
surge count together, path by path. s = 0 gives L on every path, exactly the
fixed-lead-time numbers.
"""
from __future__ import annotations

import numpy as np

#: the lead times are drawn from their own stream, so the demand paths stay those of a fixed lead time
LEAD_TIME_SEED = 1


def max_lead_days(lead_time_days: np.ndarray, lead_time_std_days: np.ndarray) -> np.ndarray:
    """The longest lead time a path may draw: L + ceil(3 s) (L when s = 0)."""
    return np.asarray(lead_time_days, dtype=np.int64) + np.ceil(3 * np.asarray(lead_time_std_days)).astype(np.int64)


def sampled_lead_times(
    lead_time_days: np.ndarray, lead_time_std_days: np.ndarray, n_paths: int, seed: int = LEAD_TIME_SEED
) -> np.ndarray:
    """Lead time in whole days per item and path [items, n_paths] (see the module doc)."""
    lead = np.asarray(lead_time_days, dtype=np.int64)
    std = np.asarray(lead_time_std_days, dtype=np.float64)
    z = np.random.default_rng(seed).standard_normal((len(lead), n_paths))
    days = np.rint(lead[:, None] + std[:, None] * z)
    days = np.where(std[:, None] > 0, days, lead[:, None])
    return np.clip(days, 0, max_lead_days(lead, std)[:, None]).astype(np.int64)
