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
    return _save(fig, plt, path)


def _save(fig, plt, path: str | Path) -> Path:
    """Lays out, writes the PNG (creating its folder) and closes the figure."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over the last axis (``window`` updates, NaN-aware).

    Entry ``t`` is the mean of the finite values among ``t - window + 1 .. t``; NaN if
    there are none. ``window=1`` returns the values unchanged.

    Raises:
      ValueError: ``window`` is not a positive integer.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"smoothing window must be a positive integer, got {window!r}")
    values = np.asarray(values, np.float64)
    if window == 1:
        return values
    finite = np.isfinite(values)
    zeros = np.zeros(values.shape[:-1] + (1,))
    total = np.concatenate([zeros, np.cumsum(np.where(finite, values, 0.0), axis=-1)], -1)
    count = np.concatenate([zeros, np.cumsum(finite, axis=-1)], -1)
    n = values.shape[-1]
    hi = np.arange(1, n + 1)
    lo = np.maximum(hi - window, 0)
    sums = total[..., hi] - total[..., lo]
    counts = count[..., hi] - count[..., lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def plot_curves_ci(
    env_steps: np.ndarray,
    curves: dict[str, np.ndarray],
    path: str | Path,
    title: str = "",
    confidence: float = 0.95,
    *,
    smoothing: int = 1,
    note: str | None = None,
    marks: dict[str, float] | None = None,
) -> Path:
    """Saves a PNG of IQM learning curves with bootstrap CI bands over seeds.

    Args:
      env_steps: ``[num_updates]`` cumulative env steps (x axis).
      curves: ``{label: [num_seeds, num_updates]}`` episode returns, one line each;
        with a single label the per-seed mean is drawn too.
      path: output PNG path.
      title: plot title.
      confidence: CI coverage of the band.
      smoothing: trailing moving-average window in updates (see :func:`smooth`),
        applied to every seed before the statistics; 1: none.
      note: text written across the plot (e.g. that the run diverged); a plot with
        no finite value at all says so even without a note.
      marks: ``{label: env_steps}`` vertical lines (e.g. where a run went
        non-finite).
    """
    from purejaxppo.stats import curve_iqm_ci

    plt = _pyplot()
    x = np.asarray(env_steps)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if smoothing > 1:
        title = f"{title} (moving average over {smoothing} updates)".strip()
    anything = False
    for label, step in (marks or {}).items():
        ax.axvline(step, color="tab:red", linestyle=":", linewidth=1.5, label=label)
    for i, (label, returns) in enumerate(curves.items()):
        returns = smooth(np.atleast_2d(np.asarray(returns, np.float64)), smoothing)
        anything = anything or bool(np.any(np.isfinite(returns)))
        center, low, high = curve_iqm_ci(returns, confidence)
        color = colors[i % len(colors)]
        ax.fill_between(x, low, high, color=color, alpha=0.2)
        ax.plot(
            x,
            center,
            color=color,
            linewidth=2,
            label=f"{label} IQM, {confidence:.0%} CI ({len(returns)} seeds)",
        )
        if len(curves) == 1:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ax.plot(
                    x,
                    np.nanmean(returns, axis=0),
                    color=color,
                    linestyle="--",
                    linewidth=1,
                    label="mean",
                )
    if note is None and not anything:
        note = "no finite episode return to draw"
    if note:
        ax.text(
            0.5,
            0.5,
            note,
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="tab:red",
            fontsize="large",
            wrap=True,
            bbox={"facecolor": "white", "edgecolor": "tab:red", "alpha": 0.9},
        )
    if x.size > 1:
        ax.set_xlim(float(x[0]), float(x[-1]))
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")
    return _save(fig, plt, path)


def plot_sweep_final(summary: dict, path: str | Path, title: str = "") -> Path:
    """Saves a PNG of the final return (IQM with CI, mean as a dot) per grid point.

    Args:
      summary: :meth:`purejaxppo.sweep.SweepResult.summary` output.
      path: output PNG path.
      title: plot title.
    """
    plt = _pyplot()
    rows = summary["points"]
    labels = [", ".join(f"{k}={v:g}" for k, v in r["params"].items()) for r in rows]
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(rows) + 2), 4.5), dpi=100)
    for i, row in enumerate(rows):
        s = row["final_return"]
        if row.get("diverged"):
            ax.annotate(
                "diverged",
                (i, 0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 8),
                textcoords="offset points",
                ha="center",
                color="tab:red",
                rotation=90,
                va="bottom",
            )
        if s["iqm"] is None:
            continue
        best = summary["best"] is not None and summary["best"]["point"] == row["point"]
        ax.errorbar(
            i,
            s["iqm"],
            yerr=[[s["iqm"] - s["iqm_ci"][0]], [s["iqm_ci"][1] - s["iqm"]]],
            fmt="s",
            color="tab:red" if best else "tab:blue",
            capsize=4,
        )
        ax.plot(i, s["mean"], "o", color="black", markersize=3)
    ax.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize="small")
    ax.set_ylabel("final episode return (IQM, 95% CI; dot: mean)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, plt, path)


def plot_pbt(
    env_steps: np.ndarray,
    returns: np.ndarray,
    segment_steps: np.ndarray,
    hparams: dict[str, np.ndarray],
    path: str | Path,
    title: str = "",
    *,
    log_fields: tuple[str, ...] = (),
    best: int | None = None,
    smoothing: int = 1,
) -> Path:
    """Saves a PNG of a PBT population: every member's return curve, then the
    schedule of each searched hyperparameter (one step line per member slot).

    Args:
      env_steps: ``[num_updates]`` env steps per member (x axis of the returns).
      returns: ``[population, num_updates]`` episode returns per member slot.
      segment_steps: ``[E + 2]`` env steps at the start of each segment and at the end.
      hparams: ``{field: [E + 1, population]}`` value of each searched field per segment.
      path: output PNG path.
      title: title of the figure.
      log_fields: fields drawn on a log axis (the log-uniform ones).
      best: member slot drawn thick (the best at the end).
      smoothing: moving average over this many updates for the return curves.
    """
    plt = _pyplot()
    rows = 1 + len(hparams)
    fig, axes = plt.subplots(rows, 1, figsize=(7, 2.6 * rows), dpi=100, sharex=True, squeeze=False)
    axes = axes[:, 0]
    x = np.asarray(env_steps)
    returns = smooth(np.atleast_2d(np.asarray(returns, np.float64)), smoothing)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for p, row in enumerate(returns):
        thick = p == best
        axes[0].plot(
            x,
            row,
            color=colors[p % len(colors)],
            linewidth=2.2 if thick else 0.9,
            alpha=1.0 if thick else 0.6,
            label=f"member {p} (best)" if thick else None,
        )
    axes[0].set_ylabel("episode return")
    axes[0].set_title(title)
    axes[0].grid(alpha=0.3)
    if best is not None:
        axes[0].legend(loc="best", fontsize="small")
    edges = np.asarray(segment_steps)
    for ax, (name, values) in zip(axes[1:], hparams.items(), strict=True):
        values = np.asarray(values, np.float64)
        for p in range(values.shape[1]):
            ax.stairs(
                values[:, p],
                edges,
                color=colors[p % len(colors)],
                linewidth=2.2 if p == best else 0.9,
                alpha=1.0 if p == best else 0.6,
                baseline=None,
            )
        if name in log_fields:
            ax.set_yscale("log")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("environment steps")
    if x.size > 1:
        axes[-1].set_xlim(float(min(x[0], edges[0])), float(x[-1]))
    return _save(fig, plt, path)
