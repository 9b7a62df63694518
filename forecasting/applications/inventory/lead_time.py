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

import zlib

import numpy as np

#: the lead times are drawn from their own streams (per item), so the demand paths stay those of a fixed lead time
LEAD_TIME_SEED = 1


def max_lead_days(lead_time_days: np.ndarray, lead_time_std_days: np.ndarray) -> np.ndarray:
    """The longest lead time a path may draw: L + ceil(3 s) (L when s = 0)."""
    return np.asarray(lead_time_days, dtype=np.int64) + np.ceil(3 * np.asarray(lead_time_std_days)).astype(np.int64)


def sampled_lead_times(
    lead_time_days: np.ndarray, lead_time_std_days: np.ndarray, item_ids: np.ndarray, n_paths: int
) -> np.ndarray:
    """Lead time in whole days per item and path [items, n_paths] (see the module doc); an item's draws
    depend only on its id, so a batch of items (chunks, the simulator's reviews) never changes them."""
    return lead_times_from(lead_time_days, lead_time_std_days,
                           _normal_draws(lead_time_std_days, item_ids, n_paths, LEAD_TIME_SEED))


def order_lead_times(
    lead_time_days: np.ndarray, lead_time_std_days: np.ndarray, item_ids: np.ndarray, day: int
) -> np.ndarray:
    """One lead time per item for orders placed on ``day`` [items] (the policy simulator's orders): each
    item's draw depends only on its id and the day, on a stream of its own (not the paths' lead times)."""
    return lead_times_from(lead_time_days, lead_time_std_days,
                           _normal_draws(lead_time_std_days, item_ids, 1, LEAD_TIME_SEED, int(day)))[:, 0]


def _normal_draws(std: np.ndarray, item_ids: np.ndarray, n: int, *seed: int) -> np.ndarray:
    """Standard normal draws [items, n] seeded by ``seed`` and each item's id (0 where std = 0: never used)."""
    std = np.asarray(std, dtype=np.float64)
    z = np.zeros((len(std), n))
    for i in np.flatnonzero(std > 0):
        key = zlib.crc32(str(item_ids[i]).encode())
        z[i] = np.random.default_rng([*seed, key]).standard_normal(n)
    return z


def lead_times_from(lead_time_days: np.ndarray, lead_time_std_days: np.ndarray, z: np.ndarray) -> np.ndarray:
    """round(L + s x z) clipped to [0, L + ceil(3 s)] for standard normal draws ``z`` [items, draws]; L where s = 0."""
    lead = np.asarray(lead_time_days, dtype=np.int64)
    std = np.asarray(lead_time_std_days, dtype=np.float64)
    days = np.rint(lead[:, None] + std[:, None] * z)
    days = np.where(std[:, None] > 0, days, lead[:, None])
    return np.clip(days, 0, max_lead_days(lead, std)[:, None]).astype(np.int64)
