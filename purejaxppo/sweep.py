"""Hyperparameter sweeps: every seed x every grid point in ONE compiled, vmapped call.

Only traced hyperparameters (:data:`purejaxppo.TRACED_FIELDS`) can be swept: they
enter the program as values, so one compiled ``train`` serves every grid point. The
grid is the Cartesian product of the given values; every point is validated as a
full :class:`PPOConfig` before anything is compiled. Each seed uses the same key at
every grid point (common random numbers), so point ``p``, seed ``s`` is exactly the run
``make_train(config.replace(**point_p))(jax.random.split(rng, seeds)[s])``.

The program returns only per-update metrics (no final states), so memory is
O(points x seeds x updates). ``max_runs_per_call`` splits a large sweep into several
calls of the SAME compiled function (the last batch is padded).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purejaxppo import guard
from purejaxppo.config import TRACED_FIELDS, HParams, PPOConfig
from purejaxppo.stats import summarize
from purejaxppo.train import env_steps, make_train

DIMS = ("point", "seed", "update")


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """Sweep results with named axes.

    Attributes:
      config: the base config (grid values override its traced fields).
      grid: ``{field: [num_points]}`` value of each swept field at each point.
      points: the grid points as a list of ``{field: value}`` dicts.
      metrics: ``{metric: [num_points, num_seeds, num_updates]}`` numpy arrays.
      dims: the axis names of every metric array, ``("point", "seed", "update")``.
      num_calls: how many calls of the compiled function the sweep took.
    """

    config: PPOConfig
    grid: dict[str, np.ndarray]
    points: list[dict[str, float]]
    metrics: dict[str, np.ndarray]
    dims: tuple[str, ...] = DIMS
    num_calls: int = 1

    @property
    def num_points(self) -> int:
        """Grid points."""
        return len(self.points)

    @property
    def num_seeds(self) -> int:
        """Seeds per point."""
        return int(self.metrics["episode_return"].shape[1])

    def env_steps(self) -> np.ndarray:
        """``[num_points, num_seeds, num_updates]`` exact env steps after each update
        (int64, from ``metrics["update_step"]``; see :func:`purejaxppo.env_steps`)."""
        return env_steps(self.config, self.metrics["update_step"])

    def final_returns(self) -> np.ndarray:
        """``[num_points, num_seeds]`` episode return after the last update."""
        return self.metrics["episode_return"][:, :, -1]

    def point_metrics(self, point: int) -> dict[str, np.ndarray]:
        """``{metric: [num_seeds, num_updates]}`` of one grid point."""
        return {k: v[point] for k, v in self.metrics.items()}

    def first_nonfinite(self) -> np.ndarray:
        """``[num_points, num_seeds]`` first non-finite update of every run (-1: none)."""
        codes = self.metrics.get("nonfinite")
        if codes is None:
            return np.full(self.final_returns().shape, -1)
        return guard.first_nonfinite(np.asarray(codes))

    def summary(self, confidence: float = 0.95) -> dict[str, Any]:
        """Per-point final-return statistics and the best point (highest IQM).

        Runs whose loss, gradients or parameters went non-finite are left out of
        their point's statistics and listed under ``"diverged"``; a point with any
        diverged seed is never the best.

        Returns:
          ``{"points": [{"point": i, "params": {...}, "final_return": stats,
          "diverged": None or {"seeds": [...], "first_update": [...]}}, ...],
          "best": {...}, "num_diverged_points": n}`` where ``stats`` is
          :func:`purejaxppo.stats.summarize` over the point's finite runs.
        """
        final = self.final_returns()
        first = self.first_nonfinite()
        rows: list[dict[str, Any]] = []
        for i, p in enumerate(self.points):
            bad = np.flatnonzero(first[i] >= 0)
            rows.append(
                {
                    "point": i,
                    "params": dict(p),
                    "final_return": summarize(final[i][first[i] < 0], confidence),
                    "diverged": None
                    if bad.size == 0
                    else {"seeds": bad.tolist(), "first_update": first[i][bad].tolist()},
                }
            )
        ranked = [r for r in rows if r["final_return"]["iqm"] is not None and r["diverged"] is None]
        best = max(ranked, key=lambda r: r["final_return"]["iqm"]) if ranked else None
        return {
            "dims": list(self.dims),
            "num_seeds": self.num_seeds,
            "points": rows,
            "best": best,
            "num_diverged_points": sum(r["diverged"] is not None for r in rows),
        }


def check_grid(config: PPOConfig, grid: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """Validates ``grid`` and returns its points (Cartesian product, in given order).

    Raises:
      ValueError: a static or unknown field, an empty or non-numeric value list, or a
        value that the config rejects (e.g. ``gamma`` outside [0, 1]).
    """
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(
            f"grid must be a non-empty mapping of field -> list of values; sweepable "
            f"(traced) fields: {list(TRACED_FIELDS)}"
        )
    bad = [name for name in grid if name not in TRACED_FIELDS]
    if bad:
        raise ValueError(
            f"cannot sweep {bad}: only traced hyperparameters can share one compiled "
            f"program; sweepable fields: {list(TRACED_FIELDS)} (static fields such as "
            "num_envs, num_steps or hidden_sizes need a separate run each)"
        )
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of numbers, got {values!r}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"grid[{name!r}] holds {v!r}; only numbers are allowed")
    names = list(grid)
    points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]
    for point in points:
        try:
            config.replace(**point)
        except ValueError as err:
            raise ValueError(f"grid point {point} is invalid: {err}") from err
    return points


def _stack_hparams(config: PPOConfig, points: list[dict[str, float]], seeds: int) -> HParams:
    """``HParams`` with one entry per run, point-major: run = point * seeds + seed."""
    columns = {}
    for name in TRACED_FIELDS:
        per_point = [float(p.get(name, getattr(config, name))) for p in points]
        columns[name] = jnp.asarray(np.repeat(np.asarray(per_point, np.float32), seeds))
    return HParams(**columns)


def sweep(
    config: PPOConfig,
    seeds: int,
    grid: Mapping[str, Sequence[float]],
    rng: jax.Array | None = None,
    *,
    max_runs_per_call: int | None = None,
) -> SweepResult:
    """Trains every seed at every grid point with one compiled program.

    Args:
      config: the base configuration (static fields fix the program).
      seeds: seeds per grid point.
      grid: ``{traced_field: [values]}``; the sweep runs their Cartesian product.
      rng: base key (default ``PRNGKey(0)``); seed ``s`` uses
        ``jax.random.split(rng, seeds)[s]`` at every point.
      max_runs_per_call: at most this many (point, seed) runs per call; a larger sweep
        is split into calls of the same compiled function. ``None``: one call.

    Returns:
      A :class:`SweepResult`.

    Raises:
      ValueError: on a bad config, grid, seed count or chunk size, before compiling.
    """
    if not isinstance(config, PPOConfig):
        raise ValueError(f"config must be a PPOConfig, got {type(config).__name__}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds <= 0:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    if max_runs_per_call is not None and (
        isinstance(max_runs_per_call, bool)
        or not isinstance(max_runs_per_call, int)
        or max_runs_per_call <= 0
    ):
        raise ValueError(
            f"max_runs_per_call must be a positive integer or None, got {max_runs_per_call!r}"
        )
    points = check_grid(config, grid)
    rng = jax.random.PRNGKey(0) if rng is None else rng
    num_runs = len(points) * seeds
    batch = num_runs if max_runs_per_call is None else min(max_runs_per_call, num_runs)
    num_calls = math.ceil(num_runs / batch)

    seed_keys = jax.random.split(rng, seeds)
    keys = jnp.tile(seed_keys, (len(points), 1))  # run = point * seeds + seed
    hps = _stack_hparams(config, points, seeds)
    pad = num_calls * batch - num_runs
    if pad:  # repeat the last run so every call has the same shapes
        take = lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)])  # noqa: E731
        keys, hps = take(keys), jax.tree.map(take, hps)

    train = make_train(config)

    def sweep_batch(keys: jax.Array, hps: HParams) -> dict[str, jax.Array]:
        return jax.vmap(lambda k, h: train(k, h).metrics)(keys, hps)

    first = jax.tree.map(lambda x: x[:batch], (keys, hps))
    compiled = jax.jit(sweep_batch).lower(*first).compile()
    outputs = []
    for call in range(num_calls):
        # this call's rows (itemgetter, not a lambda, binds this iteration's slice)
        part = jax.tree.map(
            operator.itemgetter(slice(call * batch, (call + 1) * batch)), (keys, hps)
        )
        outputs.append(jax.device_get(compiled(*part)))
    metrics = {
        name: np.concatenate([o[name] for o in outputs])[:num_runs].reshape(
            (len(points), seeds, -1)
        )
        for name in outputs[0]
    }
    grid_arrays = {name: np.asarray([p[name] for p in points]) for name in grid}
    return SweepResult(config, grid_arrays, points, metrics, DIMS, num_calls)


def load_mapping_file(path: str, what: str = "file") -> dict[str, Any]:
    """Reads a mapping from a ``.json``, ``.yaml`` or ``.yml`` file.

    Args:
      path: the file.
      what: how error messages name the file (e.g. ``"grid file"``).

    Raises:
      ValueError: unreadable file, unknown extension, invalid syntax or not a mapping.
    """
    lower = path.lower()
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as err:
        raise ValueError(f"cannot read {what} {path!r}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} {path!r} is not UTF-8 text") from err
    try:
        if lower.endswith(".json"):
            data = json.loads(text)
        elif lower.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise ValueError(f"{what} {path!r} must end in .json, .yaml or .yml")
    except (json.JSONDecodeError, ImportError) as err:
        raise ValueError(f"{what} {path!r} is not valid: {err}") from err
    except Exception as err:  # yaml.YAMLError and friends
        if isinstance(err, ValueError):
            raise
        raise ValueError(f"{what} {path!r} is not valid YAML: {type(err).__name__}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{what} {path!r} must hold a mapping, got {type(data).__name__}")
    return data


def load_grid_file(path: str) -> dict[str, list[float]]:
    """Reads a grid ``{field: [values]}`` from a ``.json``, ``.yaml`` or ``.yml`` file.

    Raises:
      ValueError: unreadable file, unknown extension or not a mapping of lists.
    """
    try:
        data = load_mapping_file(path, "grid file")
    except ValueError as err:
        if "must hold a mapping" not in str(err):
            raise
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError(f"grid file {path!r} must hold a mapping of field -> list of values")
    return data
