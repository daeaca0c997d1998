"""Small helpers shared by the benchmark scripts (not part of the package).

IQM with a percentile-bootstrap confidence interval, machine information, peak
memory, and a Markdown table writer.
"""

from __future__ import annotations

import datetime
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50% of the finite values.

    Args:
      values: one score per run (NaN values are dropped).

    Returns:
      The IQM, or NaN when no value is finite.
    """
    x = np.sort(np.asarray(values, np.float64)[np.isfinite(values)])
    n = len(x)
    if n == 0:
        return float("nan")
    # Trim floor(n/4) from each end; for n < 4 this is the plain mean.
    k = n // 4
    return float(x[k : n - k].mean())


def bootstrap_ci(
    values: Sequence[float],
    stat=iqm,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``stat`` over runs.

    Args:
      values: one score per run (NaN values are dropped).
      stat: statistic of a 1-D array, default :func:`iqm`.
      confidence: coverage of the interval, e.g. 0.95.
      resamples: bootstrap resamples (runs drawn with replacement).
      seed: NumPy seed, so the interval is reproducible.

    Returns:
      ``(low, high)``; ``(nan, nan)`` when no value is finite.
    """
    x = np.asarray(values, np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(resamples, len(x)))
    stats = np.array([stat(x[i]) for i in idx])
    alpha = (1.0 - confidence) / 2.0
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1.0 - alpha))


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux: ru_maxrss in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024.0 if sys.platform != "darwin" else kib / 2**20


def device_peak_mib() -> float | None:
    """Peak memory of the first JAX device in MiB, where the backend reports it."""
    import jax

    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # noqa: BLE001 - CPU backends may raise or return None
        return None
    if not stats or "peak_bytes_in_use" not in stats:
        return None
    return stats["peak_bytes_in_use"] / 2**20


def purejaxppo_commit() -> str | None:
    """The git commit of the imported purejaxppo, ``+dirty`` when its folder has
    uncommitted edits; None for an installed wheel (no checkout to ask)."""
    import purejaxppo

    folder = Path(purejaxppo.__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder,
                              capture_output=True, text=True, timeout=30, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=folder,
                               capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DD HH:MM UTC``."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def measured_stamp() -> dict[str, Any]:
    """When and on which code a result was measured: ``date`` and ``purejaxppo_commit``."""
    return {"date": utc_now(), "purejaxppo_commit": purejaxppo_commit()}


def machine_info() -> dict[str, Any]:
    """Platform, Python, JAX version, backend, devices, the time and the purejaxppo
    commit, for result files."""
    import os

    import jax

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        **measured_stamp(),
    }


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table with ``headers`` and stringified ``rows``."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def fmt_steps(n: float) -> str:
    """``1500000 -> '1.5M'``, ``500000 -> '500k'``."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:.0f}{suffix}" if v == int(v) else f"{v:.3g}{suffix}"
    return str(int(n))
