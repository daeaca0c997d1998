"""Adapter from a gymnax 1.x ``Environment`` to :class:`~purejaxppo.envs.base.EnvAdapter`."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from purejaxppo.envs.base import ActionSpec, StepResult


def _action_spec(space: Any) -> ActionSpec:
    if isinstance(space, spaces.Discrete):
        return ActionSpec(discrete=True, num_actions=int(space.n))
    if isinstance(space, spaces.Box):
        shape = tuple(int(d) for d in space.shape)
        size = math.prod(shape)
        low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), (size,))
        high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), (size,))
        return ActionSpec(
            discrete=False,
            shape=shape,
            low=tuple(float(x) for x in low),
            high=tuple(float(x) for x in high),
        )
    raise ValueError(
        f"unsupported gymnax action space {type(space).__name__}; purejaxppo supports "
        "Discrete (categorical policy) and Box (diagonal Gaussian policy)"
    )


class GymnaxAdapter:
    """Wraps one gymnax environment with its params bound.

    Observations are flattened to float32 vectors (image / tensor observations such
    as MinAtar's become ``[H*W*C]``). Continuous actions are clipped to the Box bounds
    before the environment sees them. A step that is both terminated and truncated
    counts as terminated (it is not bootstrapped).
    """

    def __init__(self, env: Any, env_params: Any = None, name: str | None = None):
        if not all(hasattr(env, attr) for attr in ("step", "reset", "action_space")):
            raise ValueError(
                f"env must be a gymnax Environment (with step/reset/action_space), got "
                f"{type(env).__name__}"
            )
        self.env = env
        self.env_params = env.default_params if env_params is None else env_params
        self.name: str = name if name else getattr(env, "name", type(env).__name__)
        self.action_spec = _action_spec(env.action_space(self.env_params))
        obs, _ = jax.eval_shape(self._raw_reset, jax.random.key(0))
        self.obs_dim = int(math.prod(obs.shape))
        # Image observations (MinAtar's H x W x C) keep their shape for CNN torsos.
        self.obs_shape = tuple(int(d) for d in obs.shape) if obs.ndim == 3 else (self.obs_dim,)

    def _raw_reset(self, key: jax.Array):
        return self.env.reset(key, self.env_params)

    def _flat(self, obs: jax.Array) -> jax.Array:
        return jnp.reshape(obs, (-1,)).astype(jnp.float32)

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        obs, state = self.env.reset(key, self.env_params)
        return self._flat(obs), state

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> StepResult:
        spec = self.action_spec
        if not spec.discrete:
            low = jnp.asarray(spec.low, jnp.float32)
            high = jnp.asarray(spec.high, jnp.float32)
            action = jnp.clip(action, low, high).reshape(spec.shape)
        obs, state, reward, terminated, truncated, info = self.env.step(
            key, state, action, self.env_params
        )
        terminated = jnp.asarray(terminated, bool)
        truncated = jnp.logical_and(jnp.asarray(truncated, bool), jnp.logical_not(terminated))
        return StepResult(
            obs=self._flat(obs),
            state=state,
            reward=jnp.asarray(reward, jnp.float32).reshape(()),
            terminated=terminated,
            truncated=truncated,
            final_obs=self._flat(info["final_observation"]),
        )
