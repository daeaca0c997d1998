"""Metric loggers for the tools researchers watch: CSV, TensorBoard and Weights & Biases.

A logger receives the per-update metrics of a run (``{name: [(seeds,) updates]}``, as
:func:`purejaxppo.train_in_chunks` hands them to its callback after every chunk) and
writes every metric with the env steps as the x-axis: exact integers at any count,
taken from ``metrics["env_steps"]`` if present, else derived from the int32
``metrics["update_step"]`` as ``update_step * batch_size`` in int64 (loggers built by
:func:`make_logger` know the config's batch size).

* ``csv`` (default, no extra dependency): ``<dir>/metrics.csv``, one row per update
  and seed with columns ``update, env_steps, seed`` and one per metric. Resuming a run
  keeps the rows before the resumed update and drops any later ones.
* ``tensorboard`` (extra ``purejaxppo[tensorboard]``, tensorboardX): an event file in
  ``<dir>/tensorboard``; each metric is logged as its mean over seeds (NaN-aware) at
  ``global_step = env_steps``, and ``episode_return`` also per seed
  (``episode_return/seed_<i>``).
* ``wandb`` (extra ``purejaxppo[wandb]``): a run under ``<dir>/wandb`` with the config
  attached and the same scalars as TensorBoard, ``step = env_steps``. The mode comes
  from ``WANDB_MODE`` and defaults to ``offline`` (no account needed, nothing leaves
  the machine; upload later with ``wandb sync``).
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

LOGGERS = ("csv", "tensorboard", "wandb")
_EXTRA = {"tensorboard": ("tensorboardX", "tensorboard"), "wandb": ("wandb", "wandb")}


# Step counters: the x-axis (and the CSV's own columns), not logged as metrics.
_COUNTERS = ("env_steps", "update_step")


def _per_run(
    metrics: Mapping[str, Any], batch_size: int | None = None
) -> tuple[dict[str, np.ndarray], int]:
    """Metrics as ``[seeds, updates]`` arrays (with exact int64 ``env_steps``), and
    the number of updates."""
    arrays = {k: np.asarray(v) for k, v in metrics.items()}
    arrays = {
        k: v[None] if v.ndim == 1 else v.reshape((-1, v.shape[-1])) for k, v in arrays.items()
    }
    if "env_steps" not in arrays:
        if "update_step" not in arrays or batch_size is None:
            raise ValueError(
                "metrics must include env_steps, or update_step for a logger that knows "
                "the batch size (make_logger): the x-axis of every logger"
            )
        arrays["env_steps"] = arrays["update_step"].astype(np.int64) * np.int64(batch_size)
    return arrays, arrays["env_steps"].shape[-1]


def _seed_means(arrays: dict[str, np.ndarray], i: int) -> dict[str, float]:
    out = {}
    for name, value in arrays.items():
        if name in _COUNTERS:
            continue
        column = value[:, i].astype(np.float64)
        finite = column[~np.isnan(column)]
        out[name] = float(finite.mean()) if finite.size else float("nan")
    if "episode_return" in arrays and arrays["episode_return"].shape[0] > 1:
        for seed, value in enumerate(arrays["episode_return"][:, i]):
            out[f"episode_return/seed_{seed}"] = float(value)
    return out


class CSVLogger:
    """Appends one row per update and seed to ``<directory>/metrics.csv``."""

    def __init__(
        self,
        directory: Path,
        names: list[str],
        start_update: int = 0,
        batch_size: int | None = None,
    ) -> None:
        self.path = Path(directory) / "metrics.csv"
        self.names = list(names)
        self.batch_size = batch_size
        header = ["update", "env_steps", "seed", *self.names]
        kept: list[list[str]] = []
        if start_update > 0 and self.path.exists():
            with open(self.path, newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
            if rows and rows[0] == header:
                kept = [r for r in rows[1:] if r and int(r[0]) < start_update]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(header)
        self._writer.writerows(kept)
        self._handle.flush()

    def log(self, metrics: Mapping[str, Any], first_update: int) -> None:
        """Writes the updates ``first_update, first_update + 1, ...`` of ``metrics``."""
        arrays, count = _per_run(metrics, self.batch_size)
        for i in range(count):
            for seed in range(arrays["env_steps"].shape[0]):
                row: list[int | str] = [first_update + i, int(arrays["env_steps"][seed, i]), seed]
                row += [_cell(arrays[n][seed, i]) if n in arrays else "" for n in self.names]
                self._writer.writerow(row)
        self._handle.flush()

    def close(self) -> None:
        """Flushes and closes the file."""
        self._handle.close()


def _cell(value: Any) -> str:
    if np.issubdtype(np.asarray(value).dtype, np.integer):
        return str(int(value))
    return repr(float(value))


class TensorBoardLogger:
    """Scalars in a TensorBoard event file under ``<directory>/tensorboard``."""

    def __init__(self, directory: Path, batch_size: int | None = None) -> None:
        from tensorboardX import SummaryWriter

        self.batch_size = batch_size
        self.path = Path(directory) / "tensorboard"
        self._writer = SummaryWriter(logdir=str(self.path))

    def log(self, metrics: Mapping[str, Any], first_update: int) -> None:
        """Logs every metric (mean over seeds) at ``global_step = env_steps``."""
        arrays, count = _per_run(metrics, self.batch_size)
        for i in range(count):
            step = int(arrays["env_steps"][0, i])
            for name, value in _seed_means(arrays, i).items():
                self._writer.add_scalar(name, value, global_step=step)
        self._writer.flush()

    def close(self) -> None:
        """Flushes and closes the event file."""
        self._writer.close()


class WandbLogger:
    """A Weights & Biases run under ``<directory>/wandb`` (offline unless WANDB_MODE says)."""

    def __init__(
        self,
        directory: Path,
        config: Mapping[str, Any],
        name: str | None,
        batch_size: int | None = None,
    ) -> None:
        import wandb

        self.batch_size = batch_size
        self.path = Path(directory)
        self.path.mkdir(parents=True, exist_ok=True)
        mode = os.environ.get("WANDB_MODE") or "offline"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._run = wandb.init(
                project=os.environ.get("WANDB_PROJECT") or "purejaxppo",
                name=name,
                dir=str(self.path),
                # WANDB_MODE passes through as given (wandb validates it); its stubs
                # accept only the literal modes.
                mode=mode,  # type: ignore[arg-type]
                config=dict(config),
                reinit="finish_previous",
            )

    def log(self, metrics: Mapping[str, Any], first_update: int) -> None:
        """Logs every metric (mean over seeds) with ``step = env_steps``."""
        arrays, count = _per_run(metrics, self.batch_size)
        for i in range(count):
            values = _seed_means(arrays, i)
            values["update"] = first_update + i
            self._run.log(values, step=int(arrays["env_steps"][0, i]))

    def close(self) -> None:
        """Finishes the run (writes its files)."""
        self._run.finish()


def make_logger(
    kind: str,
    directory: str | Path,
    config: Any,
    *,
    start_update: int = 0,
    name: str | None = None,
) -> CSVLogger | TensorBoardLogger | WandbLogger:
    """A logger of ``kind`` (one of :data:`LOGGERS`) writing under ``directory``.

    Args:
      kind: ``"csv"``, ``"tensorboard"`` or ``"wandb"``.
      directory: the run's output directory.
      config: the :class:`~purejaxppo.PPOConfig` (recorded by wandb; its
        ``batch_size`` turns ``metrics["update_step"]`` into env steps).
      start_update: the first update that will be logged (a resumed run's step).
      name: the run name shown by wandb.

    Raises:
      ValueError: an unknown kind.
      ImportError: the kind's optional dependency is not installed (the message names
        the extra to install).
    """
    if kind not in LOGGERS:
        raise ValueError(f"unknown logger {kind!r}; allowed: {list(LOGGERS)}")
    if kind in _EXTRA:
        module, extra = _EXTRA[kind]
        import importlib.util

        if importlib.util.find_spec(module) is None:
            raise ImportError(
                f"the {kind} logger needs {module}: pip install 'purejaxppo[{extra}]'"
            )
    directory = Path(directory)
    if kind == "csv":
        from purejaxppo.train import METRIC_NAMES

        names = [n for n in METRIC_NAMES if n not in _COUNTERS]
        return CSVLogger(directory, names, start_update, config.batch_size)
    if kind == "tensorboard":
        return TensorBoardLogger(directory, config.batch_size)
    return WandbLogger(directory, config.to_dict(), name, config.batch_size)
