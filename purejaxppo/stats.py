"""Statistics people report for RL runs: mean, std, IQM and bootstrap CIs (rliable-style).

All functions are plain numpy over a ``seeds`` axis. NaN entries (runs in which no
episode completed) are dropped and counted, never silently turned into numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50 % of ``values`` along ``axis``.

    Like ``scipy.stats.trim_mean(values, 0.25)`` (the rliable definition):
    ``floor(n / 4)`` values are cut from each end after sorting.
    """
    values = np.sort(np.asarray(values, np.float64), axis=axis)
    n = values.shape[axis]
    if n == 0:
        raise ValueError("iqm of an empty set of values is undefined")
    cut = n // 4
    kept = np.take(values, np.arange(cut, n - cut), axis=axis)
    return kept.mean(axis=axis)


def bootstrap_ci(
    values: np.ndarray,
    statistic: str = "iqm",
    confidence: float = 0.95,
    num_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``statistic`` over 1-D ``values``.

    Args:
      values: one value per seed (NaN-free).
      statistic: ``"iqm"`` or ``"mean"``.
      confidence: coverage of the interval, in (0, 1).
      num_resamples: bootstrap resamples (with replacement, same size as ``values``).
      seed: numpy seed, so the interval is reproducible.

    Returns:
      ``(low, high)``.
    """
    if statistic not in ("iqm", "mean"):
        raise ValueError(f"statistic must be 'iqm' or 'mean', got {statistic!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    values = np.asarray(values, np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("bootstrap_ci needs a non-empty set of finite values")
    rng = np.random.default_rng(seed)
    samples = values[rng.integers(0, values.size, size=(num_resamples, values.size))]
    stats = iqm(samples, axis=1) if statistic == "iqm" else samples.mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(low), float(high)


def summarize(values: np.ndarray, confidence: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Mean, std, IQM and bootstrap CIs of the IQM and the mean over seeds.

    Args:
      values: ``[seeds]`` final returns; NaNs are dropped and counted.
      confidence: CI coverage.
      seed: bootstrap seed.

    Returns:
      A JSON-friendly dict: ``n`` (finite values), ``n_nan``, ``mean``, ``std``
      (sample std, ddof=1; 0 for one value), ``iqm``, ``iqm_ci`` and ``mean_ci``
      (``[low, high]``); statistics are ``None`` when no value is finite.
    """
    values = np.asarray(values, np.float64).ravel()
    finite = values[np.isfinite(values)]
    out: dict[str, Any] = {"n": int(finite.size), "n_nan": int(values.size - finite.size)}
    if finite.size == 0:
        out.update(mean=None, std=None, iqm=None, iqm_ci=None, mean_ci=None)
        return out
    out["mean"] = float(finite.mean())
    out["std"] = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    out["iqm"] = float(iqm(finite))
    out["iqm_ci"] = list(bootstrap_ci(finite, "iqm", confidence, seed=seed))
    out["mean_ci"] = list(bootstrap_ci(finite, "mean", confidence, seed=seed))
    return out


def curve_iqm_ci(
    returns: np.ndarray, confidence: float = 0.95, num_resamples: int = 500, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM and bootstrap CI per update of ``[seeds, updates]`` returns (for plots).

    Updates where any seed is NaN give NaN (the curve starts once all seeds report).
    """
    returns = np.atleast_2d(np.asarray(returns, np.float64))
    seeds = returns.shape[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, seeds, size=(num_resamples, seeds))
    center = iqm(returns, axis=0)
    boot = iqm(returns[idx], axis=1)  # [resamples, updates]
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    bad = ~np.all(np.isfinite(returns), axis=0)
    center, low, high = (np.where(bad, math.nan, a) for a in (center, low, high))
    return center, low, high
