"""Learning-curve plots (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_learning_curves(
    env_steps: np.ndarray,
    returns: np.ndarray,
    path: str | Path,
    title: str = "",
) -> Path:
    """Saves a PNG of per-seed returns with their mean and a min-max band.

    Args:
      env_steps: ``[num_updates]`` cumulative env steps of one seed.
      returns: ``[num_seeds, num_updates]`` episode returns (NaN where none yet).
      path: output PNG path.
      title: plot title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    returns = np.atleast_2d(np.asarray(returns, np.float64))
    x = np.asarray(env_steps)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for row in returns:
        ax.plot(x, row, color="tab:blue", alpha=0.25, linewidth=0.8)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(returns, axis=0)
            lo, hi = np.nanmin(returns, axis=0), np.nanmax(returns, axis=0)
    ax.fill_between(x, lo, hi, color="tab:blue", alpha=0.15)
    ax.plot(x, mean, color="tab:blue", linewidth=2, label=f"mean of {len(returns)} seeds")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
