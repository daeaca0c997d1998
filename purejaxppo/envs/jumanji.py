"""Adapter from `jumanji <https://github.com/instadeepai/jumanji>`_ environments to
:class:`~purejaxppo.envs.base.EnvAdapter`, registered as ``"jumanji/<Env>"``.

jumanji is an optional extra (``pip install "purejaxppo[jumanji]"``), imported lazily.

Episode ends. jumanji marks the last step of an episode with ``StepType.LAST``;
its discount is meant to be 0 for a true terminal state and 1 for a time limit, but
not every environment follows that (jumanji 1.1.2's Snake ends on its time limit with
``termination``, discount 0). So this adapter does not trust the environment with
time limits: environments that take a ``time_limit`` are built with an unreachable
one, and the adapter counts steps itself. ``terminated`` is the environment's own
``LAST`` (which can then only be a true terminal state); ``truncated`` is the
adapter's time limit. The environment is stepped without jumanji's
``AutoResetWrapper``; when an episode ends, the adapter resets it itself with a
fresh key, so start states are re-randomized and ``final_obs`` is the observation
of the last step.

Observations (NamedTuples, possibly nested) become one flat float32 vector:

1. every leaf of the observation EXCEPT ``action_mask``, in JAX's pytree order (the
   NamedTuple field order, depth first), each flattened row-major; a ``step_count``
   leaf is divided by the episode's time limit (so it lies in [0, 1]);
2. then, if the environment has an ``action_mask``, the mask (1.0 legal, 0.0
   illegal) as the LAST ``num_actions`` entries; the action spec is then
   ``masked=True`` and the policy samples legal actions only.

Actions. A ``DiscreteArray`` is one categorical. A ``MultiDiscreteArray`` whose mask
covers the joint action (``action_mask.shape == num_values``, e.g. Minesweeper's
row x column) or that has no mask is one categorical over the joint action, indexed
row-major (``numpy.unravel_index``). Multi-agent environments (one mask row per
agent), continuous actions, and environments that download data are refused with a
``ValueError``.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from purejaxppo.envs._suite import import_suite, reset_key, select_tree
from purejaxppo.envs.base import ActionSpec, StepResult

PREFIX = "jumanji/"

# Single-agent environments with discrete (or joint-discrete) actions that build,
# reset and step offline with jumanji 1.1.2 / jax 0.10.2 (checked here).
JUMANJI_ENVS: tuple[str, ...] = (
    "BinPack-v2",
    "CVRP-v1",
    "FlatPack-v0",
    "Game2048-v1",
    "GraphColoring-v1",
    "Knapsack-v1",
    "Maze-v0",
    "Minesweeper-v0",
    "PacMan-v1",
    "RubiksCube-partly-scrambled-v0",
    "RubiksCube-v0",
    "SlidingTilePuzzle-v0",
    "Snake-v1",
    "Sudoku-v0",
    "Sudoku-very-easy-v0",
    "TSP-v1",
    "Tetris-v0",
)
JUMANJI_ENV_NAMES: tuple[str, ...] = tuple(PREFIX + env for env in JUMANJI_ENVS)
ENV_NAMES = JUMANJI_ENV_NAMES

REFUSED: dict[str, str] = {
    "Sokoban-v0": "it downloads its level dataset from the Hugging Face hub when built "
    "(not available offline)",
    **{
        env: "it is a multi-agent environment (one action per agent); purejaxppo trains "
        "a single agent"
        for env in (
            "Cleaner-v0",
            "Connector-v3",
            "LevelBasedForaging-v0",
            "MMST-v0",
            "MultiCVRP-v0",
            "RobotWarehouse-v0",
            "SearchAndRescue-v0",
        )
    },
    "JobShop-v0": "its action is one choice per machine (21^10 joint actions) with a "
    "per-machine mask, which a single categorical policy cannot represent",
}

_NO_LIMIT = 2**30


def check_name(name: str) -> str:
    """``"jumanji/<Env>"`` -> ``<Env>``, or a ``ValueError`` saying why not."""
    env = name[len(PREFIX) :]
    if env in REFUSED:
        raise ValueError(f"{name} is not supported: {REFUSED[env]}")
    if env not in JUMANJI_ENVS:
        raise ValueError(
            f"unknown jumanji environment {name!r}; valid names: {list(JUMANJI_ENV_NAMES)}"
        )
    return env


@struct.dataclass
class JumanjiState:
    """The jumanji state of one environment and the adapter's step counter."""

    env_state: Any
    step_count: jax.Array


class JumanjiAdapter:
    """One jumanji environment behind the ``EnvAdapter`` API (see the module doc).

    Attributes:
      name: ``"jumanji/<Env>"``.
      time_limit: steps before ``truncated`` (``None``: the environment has none).
      obs_dim, obs_shape, action_spec: as in :class:`~purejaxppo.envs.base.EnvAdapter`.
      feature_layout: ``(path, shape)`` of each observation leaf, in flat order (the
        action mask, if any, follows them).
    """

    def __init__(self, name: str, env: Any, time_limit: int | None) -> None:
        from jumanji import specs

        self.name = name
        self.env = env
        self.time_limit = time_limit
        aspec = env.action_spec
        if isinstance(aspec, specs.DiscreteArray):
            self._action_dims: tuple[int, ...] = ()
            num_actions = int(aspec.num_values)
        elif isinstance(aspec, specs.MultiDiscreteArray):
            self._action_dims = tuple(int(v) for v in jnp.asarray(aspec.num_values).reshape(-1))
            num_actions = math.prod(self._action_dims)
        else:
            raise ValueError(
                f"{name}: unsupported action spec {type(aspec).__name__} (discrete only)"
            )
        _, timestep = jax.eval_shape(env.reset, jax.random.PRNGKey(0))
        obs = timestep.observation
        mask = getattr(obs, "action_mask", None)
        self._masked = mask is not None
        if mask is not None:
            want = self._action_dims or (num_actions,)
            if tuple(mask.shape) != tuple(want):
                raise ValueError(
                    f"{name}: action mask of shape {tuple(mask.shape)} does not cover the "
                    f"joint action {want} (multi-agent or factored masks are not supported)"
                )
        leaves = self._feature_leaves(obs)
        self.feature_layout = tuple((path, tuple(leaf.shape)) for path, leaf in leaves)
        self.obs_dim = sum(math.prod(s) for _, s in self.feature_layout) + (
            num_actions if self._masked else 0
        )
        first = self.feature_layout[0][1]
        if len(first) == 3:
            self.obs_shape: tuple[int, ...] = first
        elif len(first) == 2 and min(first) >= 3:
            self.obs_shape = first + (1,)
        else:
            self.obs_shape = (self.obs_dim,)
        self.action_spec = ActionSpec(discrete=True, num_actions=num_actions, masked=self._masked)

    @staticmethod
    def _feature_leaves(obs: Any) -> list[tuple[str, Any]]:
        out = []
        for path, leaf in jax.tree_util.tree_flatten_with_path(obs)[0]:
            keys = jax.tree_util.keystr(path)
            if keys.startswith(".action_mask"):
                continue
            out.append((keys, leaf))
        return out

    def _flat(self, obs: Any) -> jax.Array:
        parts = []
        for path, leaf in self._feature_leaves(obs):
            x = jnp.reshape(leaf, (-1,)).astype(jnp.float32)
            if path.endswith("step_count") and self.time_limit:
                x = x / jnp.float32(self.time_limit)
            parts.append(x)
        if self._masked:
            parts.append(jnp.reshape(obs.action_mask, (-1,)).astype(jnp.float32))
        return jnp.concatenate(parts)

    def _env_action(self, action: jax.Array) -> jax.Array:
        action = jnp.asarray(action, jnp.int32)
        if not self._action_dims:
            return action
        return jnp.stack(jnp.unravel_index(action, self._action_dims)).astype(jnp.int32)

    def reset(self, key: jax.Array) -> tuple[jax.Array, JumanjiState]:
        env_state, timestep = self.env.reset(key)
        return self._flat(timestep.observation), JumanjiState(env_state, jnp.zeros((), jnp.int32))

    def step(self, key: jax.Array, state: JumanjiState, action: jax.Array) -> StepResult:
        from jumanji.types import StepType

        env_state, timestep = self.env.step(state.env_state, self._env_action(action))
        final_obs = self._flat(timestep.observation)
        terminated = jnp.asarray(timestep.step_type == StepType.LAST)
        count = state.step_count + 1
        if self.time_limit:
            truncated = (count >= self.time_limit) & ~terminated
        else:
            truncated = jnp.bool_(False)
        done = terminated | truncated
        fresh_state, fresh_ts = self.env.reset(reset_key(key))
        next_state = JumanjiState(
            select_tree(done, fresh_state, env_state),
            jnp.where(done, 0, count).astype(jnp.int32),
        )
        obs = jnp.where(done, self._flat(fresh_ts.observation), final_obs)
        return StepResult(
            obs=obs,
            state=next_state,
            reward=jnp.asarray(timestep.reward, jnp.float32).reshape(()),
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
        )


def make_jumanji_env(name: str, time_limit: int | None = None, **kwargs: Any) -> JumanjiAdapter:
    """Builds the adapter for ``"jumanji/<Env>"``.

    Args:
      name: one of :data:`JUMANJI_ENV_NAMES`.
      time_limit: episode time limit in steps (default: the environment's own; only
        for environments that have one).
      **kwargs: passed to ``jumanji.make``.
    """
    env_id = check_name(name)
    jumanji = import_suite("jumanji", "jumanji")
    env = jumanji.make(env_id, **kwargs)
    has_limit = "time_limit" in inspect.signature(type(env).__init__).parameters
    if time_limit is not None:
        if not has_limit:
            raise ValueError(f"{name} has no time limit to set")
        if isinstance(time_limit, bool) or not isinstance(time_limit, int) or time_limit <= 0:
            raise ValueError(f"time_limit must be a positive int, got {time_limit!r}")
    if has_limit:
        limit = int(time_limit if time_limit is not None else env.time_limit)
        env = jumanji.make(env_id, **{**kwargs, "time_limit": _NO_LIMIT})
    else:
        limit = None
    return JumanjiAdapter(name, env, limit)


make = make_jumanji_env
