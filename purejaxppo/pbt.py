"""Population-based training (Jaderberg et al. 2017) inside ONE compiled program.

A population of ``P`` members trains with the same static config; each member has
its own traced hyperparameters (:class:`~purejaxppo.config.HParams`). Training runs
in segments of ``interval`` PPO updates: the members' updates are the library's
one ``update`` function, ``vmap``-ed over the population (and over ``seeds`` runs per
member). Between segments, on device:

* **fitness** of each member: the mean undiscounted return of the episodes its runs
  completed during the segment (``fitness="episodes"``; if none completed, the most
  recent completed-episode mean), or the mean return of ``eval_episodes`` fresh
  episodes with the deterministic policy (``fitness="eval"``). A member whose loss,
  gradients or parameters went non-finite during the segment (the
  :mod:`purejaxppo.guard` code) gets fitness ``-inf``;
* **exploit**: the ``floor(exploit_fraction * P)`` lowest members, and every diverged
  member, copy the parameters, optimizer state, normalization statistics and KL
  coefficient of a member drawn uniformly from the ``floor(exploit_fraction * P)``
  highest ones (their environments, episode statistics, PRNG keys and counters stay
  their own);
* **explore**: each copied member's hyperparameters in ``space`` are resampled from
  their prior with probability ``resample_probability``, otherwise multiplied by a
  factor drawn uniformly from ``perturb`` (default x0.8 / x1.25; for a
  ``"loguniform"`` field this is a step in log space), then clipped into the field's
  bounds; a ``"choice"`` field moves to the neighbouring allowed value (down for a
  factor < 1, up otherwise). A field at 0 stays 0 under perturbation: only a
  resample moves it.

Learning-rate annealing applies to each member's CURRENT rate (the update anneals
``hparams.learning_rate`` by its update step). With ``exploit_fraction=0`` the program
is plain random search over ``space`` (the same sampled starting points, no exploit).

The schedule: ``E = ceil(num_updates / interval) - 1`` exploit points, after updates
``interval, 2 * interval, ..., E * interval``; the last segment runs the remaining
``num_updates - E * interval`` updates (1 to ``interval``) and is not followed by one.
So ``lineage`` is ``[E, P]`` and the hyperparameters ``[E + 1, P]``: row ``i`` is what
segment ``i`` trained with.

:func:`pbt` runs everything in one ``jit``; :func:`make_pbt` gives the pieces
(``init``, one ``segment``) for chunked runs with checkpoints (:func:`pbt_in_chunks`)
and for sharding the population over devices (``mesh``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from purejaxppo.config import TRACED_FIELDS, HParams, PPOConfig
from purejaxppo.evaluate import make_evaluate
from purejaxppo.train import TrainState, env_steps, make_trainer, run_updates

PRIORS = ("loguniform", "uniform", "choice")
FITNESS = ("episodes", "eval")

# Fields copied from the parent in an exploit step (the member's "learner"); the
# rest of the TrainState (environments, episode bookkeeping, keys, counters, the
# memory core's carry of its running episodes) stays the member's own.
_EXPLOITED = ("params", "opt_state", "obs_rms", "reward_scaler", "kl_beta")


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter.

    Attributes:
      name: a traced field of :class:`~purejaxppo.config.PPOConfig`.
      prior: ``"loguniform"``, ``"uniform"`` or ``"choice"``.
      low: lower bound (the smallest choice for ``"choice"``).
      high: upper bound (the largest choice for ``"choice"``).
      choices: the allowed values of a ``"choice"`` field, ascending; ``()`` otherwise.
    """

    name: str
    prior: str
    low: float
    high: float
    choices: tuple[float, ...] = ()


def _number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def check_space(config: PPOConfig, space: Mapping[str, Any]) -> dict[str, Dimension]:
    """Validates a search space; returns ``{field: Dimension}`` in the given order.

    Each entry is ``field: (prior, low, high)`` for ``"loguniform"`` / ``"uniform"``
    or ``field: ("choice", v1, v2, ...)``. Every bound (every choice) must be a value
    the config accepts for that field.

    Raises:
      ValueError: an empty space, a static or unknown field, an unknown prior, bounds
        that are not ordered numbers, a non-positive log-uniform bound, or a value
        the config rejects.
    """
    if not isinstance(space, Mapping) or not space:
        raise ValueError(
            "space must be a non-empty mapping of field -> (prior, ...); searchable "
            f"(traced) fields: {list(TRACED_FIELDS)}"
        )
    bad = [name for name in space if name not in TRACED_FIELDS]
    if bad:
        raise ValueError(
            f"cannot search {bad}: only traced hyperparameters can change inside one "
            f"compiled program; traced fields: {list(TRACED_FIELDS)}"
        )
    dims = {}
    for name, spec in space.items():
        if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence) or len(spec) < 2:
            raise ValueError(
                f"space[{name!r}] must be (prior, low, high) or ('choice', v1, v2, ...), "
                f"got {spec!r}"
            )
        prior, values = spec[0], list(spec[1:])
        if prior not in PRIORS:
            raise ValueError(f"space[{name!r}]: unknown prior {prior!r}; allowed: {list(PRIORS)}")
        if not all(_number(v) and math.isfinite(float(v)) for v in values):
            raise ValueError(f"space[{name!r}]: bounds must be finite numbers, got {values!r}")
        values = [float(v) for v in values]
        if prior == "choice":
            if len(set(values)) != len(values):
                raise ValueError(f"space[{name!r}]: repeated choices in {values!r}")
            choices = tuple(sorted(values))
            dim = Dimension(name, prior, choices[0], choices[-1], choices)
        else:
            if len(values) != 2 or not values[0] < values[1]:
                raise ValueError(
                    f"space[{name!r}]: {prior} needs exactly (low, high) with low < high, "
                    f"got {values!r}"
                )
            if prior == "loguniform" and values[0] <= 0:
                raise ValueError(f"space[{name!r}]: loguniform bounds must be > 0, got {values!r}")
            dim = Dimension(name, prior, values[0], values[1])
        for v in dim.choices or (dim.low, dim.high):
            try:
                config.replace(**{name: v})
            except ValueError as err:
                raise ValueError(f"space[{name!r}]: {v!r} is not a valid {name}: {err}") from None
        dims[name] = dim
    return dims


def _check_args(
    population,
    seeds,
    interval,
    exploit_fraction,
    perturb,
    resample_probability,
    fitness,
    eval_episodes,
    num_updates,
) -> None:
    for name, value in (("population", population), ("seeds", seeds), ("interval", interval)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if interval >= num_updates:
        raise ValueError(
            f"interval = {interval} updates is not shorter than the run ({num_updates} "
            "updates): there would be no exploit step; use an interval < num_updates"
        )
    if not _number(exploit_fraction) or not 0.0 <= exploit_fraction <= 0.5:
        raise ValueError(f"exploit_fraction must be a number in [0, 0.5], got {exploit_fraction!r}")
    if (
        isinstance(perturb, (str, bytes))
        or not isinstance(perturb, Sequence)
        or not perturb
        or not all(_number(f) and 0 < f < math.inf for f in perturb)
    ):
        raise ValueError(f"perturb must be a non-empty list of positive factors, got {perturb!r}")
    if not _number(resample_probability) or not 0.0 <= resample_probability <= 1.0:
        raise ValueError(f"resample_probability must be in [0, 1], got {resample_probability!r}")
    if fitness not in FITNESS:
        raise ValueError(f"unknown fitness {fitness!r}; allowed: {list(FITNESS)}")
    if fitness == "eval" and (
        isinstance(eval_episodes, bool) or not isinstance(eval_episodes, int) or eval_episodes <= 0
    ):
        raise ValueError(
            f"fitness='eval' needs eval_episodes, a positive integer; got {eval_episodes!r}"
        )


# ---------------------------------------------------------------- the program state
@struct.dataclass
class PBTState:
    """Everything the population carries from one segment to the next.

    Attributes:
      train: the members' :class:`~purejaxppo.train.TrainState`, leading axes
        ``[population, seeds]``.
      hparams: the members' current :class:`~purejaxppo.config.HParams`, ``[population]``.
      rng: PRNG key of the exploit / explore draws.
      segment: segments completed so far (int32).
    """

    train: TrainState
    hparams: HParams
    rng: jax.Array
    segment: jax.Array


class SegmentOut(NamedTuple):
    """What one segment reports (each array has a leading population axis)."""

    metrics: dict[str, jax.Array]  # [P, seeds, updates of the segment]
    fitness: jax.Array  # [P]
    diverged: jax.Array  # [P] bool
    parents: jax.Array  # [P] int32 (identity when no exploit follows)
    replaced: jax.Array  # [P] bool
    hparams: HParams  # [P], after explore (what the next segment uses)


class PBT(NamedTuple):
    """The pure pieces of a PBT run (see :func:`make_pbt`).

    Attributes:
      config: the static configuration.
      dims: the validated search space.
      population, seeds, interval: sizes.
      num_exploits: ``E``, exploit points of the whole run.
      last_segment: updates of the final segment (1 to ``interval``).
      init: ``rng -> PBTState``: members' keys and starting hyperparameters drawn
        from ``rng`` (see :func:`member_keys`), states initialized.
      segment: ``(PBTState, num_updates, exploit) -> (PBTState, SegmentOut)`` with
        static ``num_updates`` and ``exploit``.
      sample: ``(rng, n) -> HParams``: ``n`` draws of the starting hyperparameters.
      explore: ``(rng, HParams) -> HParams`` (every member perturbed or resampled).
    """

    config: PPOConfig
    dims: dict[str, Dimension]
    population: int
    seeds: int
    interval: int
    num_exploits: int
    last_segment: int
    init: Callable[[jax.Array], PBTState]
    segment: Callable[..., tuple[PBTState, SegmentOut]]
    sample: Callable[[jax.Array, int], HParams]
    explore: Callable[[jax.Array, HParams], HParams]


def member_keys(rng: jax.Array, population: int, seeds: int) -> jax.Array:
    """The train keys of every member's runs, ``[population, seeds]``: run ``(p, s)``
    is ``make_train(config)(keys[p, s], hparams_p)`` until its first exploit."""
    k_members = jax.random.fold_in(rng, 0)
    return jax.random.split(k_members, population * seeds).reshape(
        (population, seeds) + jax.random.split(k_members, 1).shape[1:]
    )


def make_pbt(
    config: PPOConfig,
    population: int,
    space: Mapping[str, Any],
    interval: int,
    *,
    seeds: int = 1,
    exploit_fraction: float = 0.25,
    perturb: Sequence[float] = (0.8, 1.25),
    resample_probability: float = 0.25,
    fitness: str = "episodes",
    eval_episodes: int | None = None,
    env: Any = None,
    env_params: Any = None,
) -> PBT:
    """Builds the pure pieces of population-based training (arguments: :func:`pbt`).

    Raises:
      ValueError: on any bad argument, before anything is traced.
    """
    if not isinstance(config, PPOConfig):
        raise ValueError(f"config must be a PPOConfig, got {type(config).__name__}")
    _check_args(
        population,
        seeds,
        interval,
        exploit_fraction,
        perturb,
        resample_probability,
        fitness,
        eval_episodes,
        config.num_updates,
    )
    dims = check_space(config, space)
    trainer = make_trainer(config, env, env_params)
    evaluate = None
    if fitness == "eval":
        assert eval_episodes is not None  # _check_args: fitness="eval" needs eval_episodes
        evaluate = make_evaluate(config, eval_episodes, True, env=env, env_params=env_params)
    num_exploits = math.ceil(config.num_updates / interval) - 1
    last_segment = config.num_updates - num_exploits * interval
    n_swap = math.floor(exploit_fraction * population)
    factors = jnp.asarray(perturb, jnp.float32)
    base = config.hparams()

    def sample(rng: jax.Array, n: int) -> HParams:
        values = {name: jnp.full((n,), getattr(base, name), jnp.float32) for name in TRACED_FIELDS}
        for i, dim in enumerate(dims.values()):
            values[dim.name] = _draw(jax.random.fold_in(rng, i), dim, n)
        return HParams(**values)

    def explore(rng: jax.Array, hp: HParams) -> HParams:
        values = {name: getattr(hp, name) for name in TRACED_FIELDS}
        n = values[TRACED_FIELDS[0]].shape[0]
        for i, dim in enumerate(dims.values()):
            k_coin, k_factor, k_new = jax.random.split(jax.random.fold_in(rng, i), 3)
            x = values[dim.name]
            factor = factors[jax.random.randint(k_factor, (n,), 0, factors.shape[0])]
            if dim.prior == "choice":
                grid = jnp.asarray(dim.choices, jnp.float32)
                idx = jnp.argmin(jnp.abs(x[:, None] - grid[None, :]), axis=1)
                step = jnp.where(factor < 1.0, -1, 1)
                moved = grid[jnp.clip(idx + step, 0, len(dim.choices) - 1)]
            else:
                moved = jnp.clip(x * factor, dim.low, dim.high)
            resample = jax.random.uniform(k_coin, (n,)) < resample_probability
            values[dim.name] = jnp.where(resample, _draw(k_new, dim, n), moved)
        return HParams(**values)

    def init(rng: jax.Array) -> PBTState:
        keys = member_keys(rng, population, seeds)
        hp = sample(jax.random.fold_in(rng, 1), population)
        states = jax.vmap(lambda k, h: jax.vmap(lambda kk: trainer.init(kk, h))(k))(keys, hp)
        return PBTState(
            train=states,
            hparams=hp,
            rng=jax.random.fold_in(rng, 2),
            segment=jnp.zeros((), jnp.int32),
        )

    def run_member(state: TrainState, hp: HParams, n: int):
        return jax.vmap(lambda s: run_updates(trainer, s, hp, n))(state)

    def member_fitness(state: TrainState, metrics: dict[str, jax.Array], rng: jax.Array):
        if evaluate is None:
            return segment_fitness(metrics, state.last_return)
        res = jax.vmap(evaluate)(state.params, state.obs_rms, jax.random.split(rng, seeds))
        return segment_fitness(metrics, state.last_return, jnp.mean(res.returns))

    def segment(pstate: PBTState, num_updates: int, exploit: bool):
        states, metrics = jax.vmap(lambda s, h: run_member(s, h, num_updates))(
            pstate.train, pstate.hparams
        )
        k_fit, k_parent, k_explore, rng = jax.random.split(pstate.rng, 4)
        fit, diverged = jax.vmap(member_fitness)(
            states, metrics, jax.random.split(k_fit, population)
        )
        if not exploit or n_swap == 0:
            ident = jnp.arange(population, dtype=jnp.int32)
            return (
                dataclasses.replace(pstate, train=states, rng=rng, segment=pstate.segment + 1),
                SegmentOut(
                    metrics, fit, diverged, ident, jnp.zeros((population,), bool), pstate.hparams
                ),
            )
        parents, replaced = choose_parents(k_parent, fit, diverged, n_swap)
        copied = jax.tree.map(lambda x: x[parents], {f: getattr(states, f) for f in _EXPLOITED})
        states = states.replace(**copied)
        new_hp = explore(k_explore, jax.tree.map(lambda x: x[parents], pstate.hparams))
        hp = jax.tree.map(lambda new, old: jnp.where(replaced, new, old), new_hp, pstate.hparams)
        return (
            PBTState(train=states, hparams=hp, rng=rng, segment=pstate.segment + 1),
            SegmentOut(metrics, fit, diverged, parents, replaced, hp),
        )

    return PBT(
        config,
        dims,
        population,
        seeds,
        interval,
        num_exploits,
        last_segment,
        init,
        segment,
        sample,
        explore,
    )


def segment_fitness(
    metrics: dict[str, jax.Array], last_return: jax.Array, eval_return: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """Fitness of one member from its segment's metrics; ``(fitness, diverged)``.

    Args:
      metrics: the member's per-update metrics of the segment, ``[seeds, updates]``.
      last_return: ``[seeds]`` most recent completed-episode mean of each run (the
        fallback when no episode ended during the segment).
      eval_return: a deterministic-evaluation score to use instead of the episodes.

    Returns:
      The episode-weighted mean return over the segment's completed episodes (all
      seeds pooled), or ``eval_return``; ``-inf`` when any update's guard code is
      non-zero (``diverged``) or the score is not finite.
    """
    count = metrics["episodes_completed"].astype(jnp.float32)
    total = jnp.sum(jnp.where(count > 0, metrics["episode_return"] * count, 0.0))
    seen = jnp.sum(count)
    score = jnp.where(seen > 0, total / jnp.maximum(seen, 1.0), jnp.nanmean(last_return))
    if eval_return is not None:
        score = eval_return
    diverged = jnp.any(metrics["nonfinite"] != 0)
    return jnp.where(diverged | ~jnp.isfinite(score), -jnp.inf, score), diverged


def choose_parents(
    key: jax.Array, fitness: jax.Array, diverged: jax.Array, n_swap: int
) -> tuple[jax.Array, jax.Array]:
    """The exploit step: which member each slot continues from.

    The ``n_swap`` lowest-ranked members (ties: lower index ranks lower) and every
    diverged member are replaced by a member drawn uniformly from the ``n_swap``
    highest-ranked ones.

    Returns:
      ``(parents, replaced)``: ``[P]`` int32 (``parents[p] == p`` where not replaced)
      and ``[P]`` bool.
    """
    population = fitness.shape[0]
    ident = jnp.arange(population, dtype=jnp.int32)
    order = jnp.argsort(fitness, stable=True)  # ascending; -inf (diverged) first
    rank = jnp.zeros((population,), jnp.int32).at[order].set(ident)
    replaced = (rank < n_swap) | diverged
    top = order[population - n_swap :]
    pick = top[jax.random.randint(key, (population,), 0, n_swap)]
    return jnp.where(replaced, pick, ident).astype(jnp.int32), replaced


def _draw(key: jax.Array, dim: Dimension, n: int) -> jax.Array:
    if dim.prior == "loguniform":
        u = jax.random.uniform(key, (n,), minval=math.log(dim.low), maxval=math.log(dim.high))
        return jnp.clip(jnp.exp(u), dim.low, dim.high)
    if dim.prior == "uniform":
        return jax.random.uniform(key, (n,), minval=dim.low, maxval=dim.high)
    grid = jnp.asarray(dim.choices, jnp.float32)
    return grid[jax.random.randint(key, (n,), 0, len(dim.choices))]


# ---------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True)
class PBTResult:
    """A finished population-based training run (numpy arrays).

    Attributes:
      config: the static configuration.
      space: the validated search space ``{field: Dimension}``.
      interval: updates per segment.
      metrics: ``{metric: [population, num_updates]}`` (``[population, seeds,
        num_updates]`` when ``seeds > 1``), per member slot: the run in slot ``p``
        after an exploit continues from its parent's learner.
      lineage: ``[E, population]`` int: ``lineage[i, p]`` is the member whose learner
        slot ``p`` took after segment ``i`` (``p`` itself if it was not replaced).
      replaced: ``[E, population]`` bool.
      hparams: ``{field: [E + 1, population]}`` for every traced field: row ``i`` is
        what segment ``i`` trained with.
      fitness: ``[E + 1, population]`` fitness at the end of each segment.
      diverged: ``[E + 1, population]`` bool: the member went non-finite in that
        segment (ranked last and, at an exploit point, replaced).
      best: index of the member with the highest final fitness.
      best_state: that member's final :class:`~purejaxppo.train.TrainState` (with a
        leading ``seeds`` axis when ``seeds > 1``).
      keys: ``[population, seeds]`` train keys of the members (:func:`member_keys`).
    """

    config: PPOConfig
    space: dict[str, Dimension]
    interval: int
    metrics: dict[str, np.ndarray]
    lineage: np.ndarray
    replaced: np.ndarray
    hparams: dict[str, np.ndarray]
    fitness: np.ndarray
    diverged: np.ndarray
    best: int
    best_state: TrainState
    keys: np.ndarray

    @property
    def population(self) -> int:
        """Members of the population."""
        return int(self.fitness.shape[1])

    def env_steps(self) -> np.ndarray:
        """Exact env steps of each member after each update, int64, the shape of
        ``metrics["update_step"]`` (see :func:`purejaxppo.env_steps`)."""
        return env_steps(self.config, self.metrics["update_step"])

    def best_hparams(self) -> dict[str, float]:
        """The best member's final values of the searched fields."""
        return {name: float(self.hparams[name][-1, self.best]) for name in self.space}

    def ancestry(self, member: int | None = None) -> list[int]:
        """The slots whose learner ``member`` (default: the best) descends from, one
        per segment, oldest first (its own slot where it was never replaced)."""
        m = self.best if member is None else int(member)
        chain = [m]
        for parents in self.lineage[::-1]:
            m = int(parents[m])
            chain.append(m)
        return chain[::-1]

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: best member, its hyperparameters, final fitness, diverged
        members per segment."""
        final = self.fitness[-1]
        return {
            "population": self.population,
            "interval": self.interval,
            "num_exploits": int(self.lineage.shape[0]),
            "best": self.best,
            "best_fitness": float(final[self.best]),
            "best_hparams": self.best_hparams(),
            "final_fitness": [None if not np.isfinite(v) else float(v) for v in final],
            "replaced_per_exploit": self.replaced.sum(axis=1).tolist(),
            "diverged": [np.flatnonzero(d).tolist() for d in self.diverged],
        }


def _collect(
    pbt_fns: PBT, first: HParams, outs: list[SegmentOut], final: PBTState, keys: Any
) -> PBTResult:
    """Stitches segment outputs (numpy) into a :class:`PBTResult`."""
    seeds = pbt_fns.seeds
    metrics = {
        name: np.concatenate([np.asarray(o.metrics[name]) for o in outs], axis=-1)
        for name in outs[0].metrics
    }
    if seeds == 1:
        metrics = {k: v[:, 0] for k, v in metrics.items()}
    exploit_outs = outs[:-1]
    p = pbt_fns.population
    lineage = (
        np.stack([np.asarray(o.parents) for o in exploit_outs])
        if exploit_outs
        else np.zeros((0, p), np.int32)
    )
    replaced = (
        np.stack([np.asarray(o.replaced) for o in exploit_outs])
        if exploit_outs
        else np.zeros((0, p), bool)
    )
    rows = [first] + [o.hparams for o in exploit_outs]
    hparams = {
        name: np.stack([np.asarray(getattr(h, name)) for h in rows]) for name in TRACED_FIELDS
    }
    fitness = np.stack([np.asarray(o.fitness) for o in outs])
    diverged = np.stack([np.asarray(o.diverged) for o in outs])
    final_fit = np.where(np.isfinite(fitness[-1]), fitness[-1], -np.inf)
    best = int(np.argmax(final_fit))
    best_state = jax.tree.map(lambda x: np.asarray(x[best]), final.train)
    if seeds == 1:
        best_state = jax.tree.map(lambda x: x[0], best_state)
    return PBTResult(
        pbt_fns.config,
        pbt_fns.dims,
        pbt_fns.interval,
        metrics,
        lineage,
        replaced,
        hparams,
        fitness,
        diverged,
        best,
        best_state,
        np.asarray(keys),
    )


def _fused_program(fns: PBT, constrain: Callable[[Any], Any] = lambda t: t) -> Callable:
    """``rng -> (first hparams, exploit segments' outputs, last segment's, final state)``.

    ``constrain`` is applied to the population state before every segment (sharding
    annotations; identity by default)."""

    def pin(s: PBTState) -> PBTState:
        return dataclasses.replace(s, train=constrain(s.train), hparams=constrain(s.hparams))

    def run(rng: jax.Array):
        state = pin(fns.init(rng))
        first = state.hparams

        def body(s, _):
            return fns.segment(pin(s), fns.interval, True)

        state, outs = jax.lax.scan(body, state, None, length=fns.num_exploits)
        state, last = fns.segment(pin(state), fns.last_segment, False)
        return first, outs, last, pin(state)

    return run


def _population_constraint(fns: PBT, mesh: Any) -> Callable[[Any], Any]:
    """Splits every population-leading array over the mesh's first axis."""
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    if not isinstance(mesh, Mesh):
        raise ValueError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
    axis = mesh.axis_names[0]
    size = mesh.shape[axis]
    if fns.population % size != 0:
        raise ValueError(
            f"population = {fns.population} is not divisible by the {size} devices of "
            f"mesh axis {axis!r}; choose a population that is a multiple of {size}"
        )
    spec = NamedSharding(mesh, PartitionSpec(axis))

    def constrain(tree: Any) -> Any:
        return jax.tree.map(
            lambda x: (
                jax.lax.with_sharding_constraint(x, spec)
                if getattr(x, "ndim", 0) >= 1 and x.shape[0] == fns.population
                else x
            ),
            tree,
        )

    return constrain


def pbt(
    config: PPOConfig,
    population: int,
    space: Mapping[str, Any],
    interval: int,
    rng: jax.Array | None = None,
    *,
    seeds: int = 1,
    exploit_fraction: float = 0.25,
    perturb: Sequence[float] = (0.8, 1.25),
    resample_probability: float = 0.25,
    fitness: str = "episodes",
    eval_episodes: int | None = None,
    mesh: Any = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    env: Any = None,
    env_params: Any = None,
) -> PBTResult:
    """Population-based training of ``config``: the whole schedule in ONE ``jit``.

    Args:
      config: the static configuration (its traced fields are the defaults of the
        fields not in ``space``; ``config.num_updates`` updates per member).
      population: members ``P``.
      space: ``{traced_field: ("loguniform" | "uniform", low, high)}`` or
        ``{traced_field: ("choice", v1, v2, ...)}``; starting values are drawn from
        these priors and explore stays inside them.
      interval: PPO updates between exploit steps.
      rng: key of everything (default ``PRNGKey(0)``): members' train keys
        (:func:`member_keys`), starting hyperparameters, exploit and explore draws.
      seeds: independent runs per member (same hyperparameters; fitness averages
        their episodes; exploit copies all of them).
      exploit_fraction: bottom and top fraction (``floor(fraction * P)`` members
        each), in ``[0, 0.5]``; ``0`` is random search.
      perturb: the explore factors, drawn uniformly.
      resample_probability: chance that explore resamples a field from its prior.
      fitness: ``"episodes"`` (completed training episodes of the segment) or
        ``"eval"`` (``eval_episodes`` deterministic episodes, run in-jit).
      eval_episodes: episodes per run for ``fitness="eval"``.
      mesh: optional ``jax.sharding.Mesh`` whose FIRST axis splits the population
        over devices (``population`` divisible by its size); the exploit gather
        crosses devices. ``None``: no sharding annotations.
      checkpoint_dir: run segment by segment (one compiled segment program, called
        ``E + 1`` times) and write the whole population state and the results so far
        to this directory every ``checkpoint_every`` segments (atomically; the two
        newest kept). ``None``: the fused single program.
      checkpoint_every: segments between checkpoints.
      resume: continue from the newest checkpoint in ``checkpoint_dir`` (written with
        the same config, space and options, else ``ValueError``); the resumed run is
        bit-identical to an uninterrupted segment-by-segment run.
      env: a custom environment (see :func:`purejaxppo.make_train`).
      env_params: the gymnax params of ``env``.

    Returns:
      A :class:`PBTResult`.

    Raises:
      ValueError: on a bad argument, space or mesh, before anything is compiled.
    """
    fns = make_pbt(
        config,
        population,
        space,
        interval,
        seeds=seeds,
        exploit_fraction=exploit_fraction,
        perturb=perturb,
        resample_probability=resample_probability,
        fitness=fitness,
        eval_episodes=eval_episodes,
        env=env,
        env_params=env_params,
    )
    rng = jax.random.PRNGKey(0) if rng is None else rng
    constrain = (lambda t: t) if mesh is None else _population_constraint(fns, mesh)
    if (
        isinstance(checkpoint_every, bool)
        or not isinstance(checkpoint_every, int)
        or checkpoint_every <= 0
    ):
        raise ValueError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir")
    if checkpoint_dir is not None:
        options = dict(
            population=population,
            space={n: [d.prior, d.low, d.high, *d.choices] for n, d in fns.dims.items()},
            interval=interval,
            seeds=seeds,
            exploit_fraction=exploit_fraction,
            perturb=[float(f) for f in perturb],
            resample_probability=resample_probability,
            fitness=fitness,
            eval_episodes=eval_episodes,
        )
        return _run_segments(
            fns, rng, constrain, Path(checkpoint_dir), checkpoint_every, resume, options
        )
    program = _fused_program(fns, constrain)
    first, outs, last, state = jax.jit(program)(rng)
    outs = jax.device_get(outs)
    segs = [jax.tree.map(lambda x, i=i: x[i], outs) for i in range(fns.num_exploits)]
    segs.append(jax.device_get(last))
    return _collect(fns, jax.device_get(first), segs, state, member_keys(rng, population, seeds))


# ---------------------------------------------------------------- segment by segment
CHECKPOINT_FORMAT = 1


def _to_numpy(tree: Any) -> list[np.ndarray]:
    """Leaves as numpy arrays (typed PRNG keys as their raw key data)."""
    out = []
    for leaf in jax.tree.leaves(tree):
        if jax.dtypes.issubdtype(getattr(leaf, "dtype", np.float32), jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out.append(np.asarray(jax.device_get(leaf)))
    return out


def _from_numpy(abstract: Any, leaves: list[np.ndarray]) -> Any:
    """Inverse of :func:`_to_numpy` for the structure of ``abstract``."""
    ref, treedef = jax.tree.flatten(abstract)
    if len(ref) != len(leaves):
        raise ValueError(f"checkpoint holds {len(leaves)} arrays, the run needs {len(ref)}")
    out = []
    for r, x in zip(ref, leaves, strict=True):
        if jax.dtypes.issubdtype(r.dtype, jax.dtypes.prng_key):
            out.append(jax.random.wrap_key_data(jnp.asarray(x), impl=jax.random.key_impl(r)))
            continue
        if tuple(x.shape) != tuple(r.shape) or x.dtype != r.dtype:
            raise ValueError(
                f"checkpoint array {x.shape} {x.dtype} does not fit the run's "
                f"{tuple(r.shape)} {r.dtype}"
            )
        out.append(jnp.asarray(x))
    return jax.tree.unflatten(treedef, out)


def _digest(leaves: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for x in leaves:
        h.update(str((x.shape, x.dtype.str)).encode())
        h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()


def _save(
    directory: Path,
    done: int,
    state: PBTState,
    first: HParams,
    outs: list[SegmentOut],
    meta: dict[str, Any],
) -> Path:
    """Writes ``segment_<done>`` atomically (a temporary dir renamed when complete)."""
    directory.mkdir(parents=True, exist_ok=True)
    exploits = outs[: meta["num_exploits"]]
    groups = {"state": _to_numpy(state), "first": _to_numpy(first)}
    if exploits:
        groups["outs"] = _to_numpy(jax.tree.map(lambda *xs: np.stack(xs), *exploits))
    if len(outs) > meta["num_exploits"]:
        groups["last"] = _to_numpy(outs[-1])
    arrays = {f"{g}_{i}": x for g, leaves in groups.items() for i, x in enumerate(leaves)}
    record = {
        **meta,
        "format": CHECKPOINT_FORMAT,
        "segments_done": done,
        "counts": {g: len(v) for g, v in groups.items()},
        "checksum": _digest([arrays[k] for k in sorted(arrays)]),
    }
    final = directory / f"segment_{done}"
    tmp = directory / f".tmp_segment_{done}_{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    # mypy checks a ``**`` of arrays against savez's ``allow_pickle: bool``; the keys
    # here are array names, never ``allow_pickle``.
    np.savez(tmp / "arrays.npz", **arrays)  # type: ignore[arg-type]
    (tmp / "meta.json").write_text(json.dumps(record, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in _checkpoints(directory)[:-2]:
        shutil.rmtree(directory / f"segment_{old}", ignore_errors=True)
    return final


def _checkpoints(directory: Path) -> list[int]:
    found = []
    for path in directory.glob("segment_*"):
        tail = path.name.split("_", 1)[1]
        if tail.isdigit() and (path / "meta.json").exists() and (path / "arrays.npz").exists():
            found.append(int(tail))
    return sorted(found)


def _load(directory: Path, meta: dict[str, Any], fns: PBT, rng: jax.Array):
    steps = _checkpoints(directory)
    if not steps:
        raise ValueError(f"no PBT checkpoint in {str(directory)!r} to resume from")
    path = directory / f"segment_{steps[-1]}"
    record = json.loads((path / "meta.json").read_text())
    diff = sorted(k for k in meta if record.get(k) != meta[k])
    if diff:
        raise ValueError(
            f"{str(path)!r} was written by a different PBT run; differing: "
            + "; ".join(f"{k}: {record.get(k)!r} != {meta[k]!r}" for k in diff)
        )
    with np.load(path / "arrays.npz") as data:
        arrays = {k: data[k] for k in data.files}
    if _digest([arrays[k] for k in sorted(arrays)]) != record["checksum"]:
        raise ValueError(f"{str(path)!r} is corrupt (checksum mismatch)")
    groups = {g: [arrays[f"{g}_{i}"] for i in range(n)] for g, n in record["counts"].items()}
    abstract_state = jax.eval_shape(fns.init, rng)
    state = _from_numpy(abstract_state, groups["state"])
    first = _from_numpy(abstract_state.hparams, groups["first"])
    done = record["segments_done"]
    outs = []
    if "outs" in groups:
        n = min(done, fns.num_exploits)
        seg = jax.eval_shape(lambda s: fns.segment(s, fns.interval, True)[1], abstract_state)
        stacked = _from_numpy(
            jax.tree.map(lambda x: jax.ShapeDtypeStruct((n,) + x.shape, x.dtype), seg),
            groups["outs"],
        )
        outs = [jax.tree.map(lambda x, i=i: np.asarray(x[i]), stacked) for i in range(n)]
    if "last" in groups:
        seg = jax.eval_shape(lambda s: fns.segment(s, fns.last_segment, False)[1], abstract_state)
        outs.append(jax.tree.map(np.asarray, _from_numpy(seg, groups["last"])))
    return done, state, first, outs


def _run_segments(
    fns: PBT,
    rng: jax.Array,
    constrain: Callable,
    directory: Path,
    every: int,
    resume: bool,
    options: dict[str, Any],
) -> PBTResult:
    """The schedule as ``E + 1`` calls of compiled segment programs, with checkpoints."""
    meta = {
        "config": fns.config.to_dict(),
        "options": options,
        "num_exploits": fns.num_exploits,
        "rng": np.asarray(
            jax.random.key_data(rng)
            if jax.dtypes.issubdtype(rng.dtype, jax.dtypes.prng_key)
            else rng
        ).tolist(),
    }
    meta = json.loads(json.dumps(meta))  # the form it has after a round trip

    def pin(s: PBTState) -> PBTState:
        return dataclasses.replace(s, train=constrain(s.train), hparams=constrain(s.hparams))

    exploit_seg = jax.jit(lambda s: fns.segment(pin(s), fns.interval, True))
    last_seg = jax.jit(lambda s: fns.segment(pin(s), fns.last_segment, False))
    if resume:
        done, state, first, outs = _load(directory, meta, fns, rng)
    else:
        if _checkpoints(directory):
            raise ValueError(
                f"{str(directory)!r} already holds PBT checkpoints; pass resume=True to "
                "continue that run or choose an empty directory"
            )
        state = jax.jit(lambda r: pin(fns.init(r)))(rng)
        first, outs, done = state.hparams, [], 0
    total = fns.num_exploits + 1
    while done < total:
        step = exploit_seg if done < fns.num_exploits else last_seg
        state, out = step(state)
        outs.append(jax.device_get(out))
        done += 1
        if done % every == 0 or done == total:
            _save(directory, done, state, first, outs, meta)
    return _collect(
        fns, jax.device_get(first), outs, state, member_keys(rng, fns.population, fns.seeds)
    )


__all__ = [
    "FITNESS",
    "PBT",
    "PRIORS",
    "Dimension",
    "PBTResult",
    "PBTState",
    "check_space",
    "choose_parents",
    "make_pbt",
    "member_keys",
    "pbt",
    "segment_fitness",
]
