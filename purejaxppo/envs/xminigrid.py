"""Adapter from `XLand-MiniGrid <https://github.com/dunnolab/xland-minigrid>`_ to
:class:`~purejaxppo.envs.base.EnvAdapter`, registered as ``"xminigrid/<Env>"``.

xminigrid is an optional extra (``pip install "purejaxppo[xminigrid]"``), imported
lazily. The single-task MiniGrid environments work offline; the ``XLand-MiniGrid-R*``
meta-RL environments need a benchmark ruleset that xminigrid downloads, so they are
refused with a ``ValueError``.

Episode ends follow xminigrid's dm_env-style ``TimeStep``: at ``StepType.LAST`` a
discount of 0 is a true terminal state (goal reached: ``terminated``), a discount of
1 is the time limit ``params.max_steps`` (``truncated``). The raw environment never
auto-resets; this adapter resets with a fresh key when an episode ends, so
``final_obs`` is the observation of the last step and start states (agent position
and direction, key and door positions...) are re-randomized.

Observations: the agent's egocentric ``view_size x view_size x 2`` grid of (tile id,
colour id). By default (``one_hot=True``) each id is one-hot encoded, giving an image
of shape ``(V, V, NUM_TILES + NUM_COLORS) = (7, 7, 25)`` (tile channels first, then
colour channels), flattened row-major; ``obs_shape`` keeps that shape for
``torso="cnn"``. With ``one_hot=False`` the raw ids are passed as floats, shape
``(V, V, 2)``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from purejaxppo.envs._suite import import_suite, reset_key, select_tree
from purejaxppo.envs.base import ActionSpec, StepResult

PREFIX = "xminigrid/"
XMINIGRID_ENVS: tuple[str, ...] = (
    "MiniGrid-BlockedUnlockPickUp",
    "MiniGrid-DoorKey-5x5",
    "MiniGrid-DoorKey-6x6",
    "MiniGrid-DoorKey-8x8",
    "MiniGrid-DoorKey-16x16",
    "MiniGrid-Empty-5x5",
    "MiniGrid-Empty-6x6",
    "MiniGrid-Empty-8x8",
    "MiniGrid-Empty-16x16",
    "MiniGrid-EmptyRandom-5x5",
    "MiniGrid-EmptyRandom-6x6",
    "MiniGrid-EmptyRandom-8x8",
    "MiniGrid-EmptyRandom-16x16",
    "MiniGrid-FourRooms",
    "MiniGrid-LockedRoom",
    "MiniGrid-MemoryS8",
    "MiniGrid-MemoryS16",
    "MiniGrid-MemoryS32",
    "MiniGrid-MemoryS64",
    "MiniGrid-MemoryS128",
    "MiniGrid-Playground",
    "MiniGrid-Unlock",
    "MiniGrid-UnlockPickUp",
)
ENV_NAMES: tuple[str, ...] = tuple(PREFIX + env for env in XMINIGRID_ENVS)


def check_name(name: str) -> str:
    env = name[len(PREFIX) :]
    if env.startswith("XLand-MiniGrid"):
        raise ValueError(
            f"{name} is not supported: XLand-MiniGrid meta-RL environments need a "
            "benchmark ruleset that xminigrid downloads (not available offline)"
        )
    if env not in XMINIGRID_ENVS:
        raise ValueError(f"unknown xminigrid environment {name!r}; valid names: {list(ENV_NAMES)}")
    return env


class XMiniGridAdapter:
    """One xminigrid environment (params bound) behind the ``EnvAdapter`` API."""

    def __init__(self, name: str, env: Any, params: Any, one_hot: bool = True) -> None:
        from xminigrid.core.constants import NUM_COLORS, NUM_TILES

        self.name = name
        self.env = env
        self.params = params
        self.one_hot = one_hot
        self._depths = (NUM_TILES, NUM_COLORS)
        view = tuple(int(d) for d in env.observation_shape(params))
        channels = NUM_TILES + NUM_COLORS if one_hot else view[-1]
        self.obs_shape = view[:-1] + (channels,)
        self.obs_dim = int(math.prod(self.obs_shape))
        self.time_limit = int(params.max_steps)
        self.action_spec = ActionSpec(discrete=True, num_actions=int(env.num_actions(params)))

    def _flat(self, obs: jax.Array) -> jax.Array:
        if self.one_hot:
            tiles = jax.nn.one_hot(obs[..., 0], self._depths[0], dtype=jnp.float32)
            colors = jax.nn.one_hot(obs[..., 1], self._depths[1], dtype=jnp.float32)
            obs = jnp.concatenate([tiles, colors], axis=-1)
        return jnp.reshape(obs, (-1,)).astype(jnp.float32)

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        timestep = self.env.reset(self.params, key)
        return self._flat(timestep.observation), timestep

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> StepResult:
        from xminigrid.types import StepType

        timestep = self.env.step(self.params, state, jnp.asarray(action, jnp.int32))
        last = timestep.step_type == StepType.LAST
        terminated = last & (timestep.discount == 0.0)
        truncated = last & ~terminated
        fresh = self.env.reset(self.params, reset_key(key))
        final_obs = self._flat(timestep.observation)
        return StepResult(
            obs=jnp.where(last, self._flat(fresh.observation), final_obs),
            state=select_tree(last, fresh, timestep),
            reward=jnp.asarray(timestep.reward, jnp.float32).reshape(()),
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
        )


def make(name: str, one_hot: bool = True, max_steps: int | None = None) -> XMiniGridAdapter:
    """Builds the adapter for ``"xminigrid/<Env>"``.

    Args:
      name: one of :data:`ENV_NAMES`.
      one_hot: one-hot encode tile and colour ids (default) or pass raw ids.
      max_steps: time limit in steps (default: the environment's own).
    """
    env_id = check_name(name)
    if not isinstance(one_hot, bool):
        raise ValueError(f"one_hot must be True or False, got {one_hot!r}")
    if max_steps is not None and (
        isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0
    ):
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
    xminigrid = import_suite("xminigrid", "xminigrid")
    env, params = xminigrid.make(env_id)
    if max_steps is not None:
        params = params.replace(max_steps=max_steps)
    return XMiniGridAdapter(name, env, params, one_hot)
