"""Adapter from a gymnax 1.x ``Environment`` to :class:`~purejaxppo.envs.base.EnvAdapter`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces
from gymnax.environments.classic_control.cartpole import CartPole

from purejaxppo.envs.base import ActionSpec, StepResult
from purejaxppo.envs.randomize import Randomizer, check_params_fn, check_ranges


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
    as MinAtar's become ``[H*W*C]``); an environment that observes a dict of arrays
    (e.g. ``MaskedCartPole-v1``'s ``{"state", "privileged_state"}``) gets a dict of
    flat vectors, with ``obs_dim`` and ``obs_shape`` dicts of the same keys.
    Continuous actions are clipped to the Box bounds before the environment sees
    them. A step that is both terminated and truncated counts as terminated (it is
    not bootstrapped).

    Domain randomization (:mod:`purejaxppo.envs.randomize`): ``reset_with`` and
    ``step_with`` take the ``EnvParams`` explicitly, and :meth:`randomizer` samples
    them from a function ``(key, default_params) -> params`` or from uniform ranges
    per field.
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
        if isinstance(obs, Mapping):
            bad = {k: type(v).__name__ for k, v in obs.items() if not hasattr(v, "shape")}
            if bad:
                raise ValueError(
                    f"{self.name}: a dict observation must map keys to arrays; got {bad}"
                )
            self.obs_dim: Any = {k: int(math.prod(v.shape)) for k, v in obs.items()}
            self.obs_shape: Any = {k: _torso_shape(v.shape) for k, v in obs.items()}
        else:
            self.obs_dim = int(math.prod(obs.shape))
            # Image observations (MinAtar's H x W x C) keep their shape for CNN torsos.
            self.obs_shape = _torso_shape(obs.shape)

    def _raw_reset(self, key: jax.Array):
        return self.env.reset(key, self.env_params)

    def _flat(self, obs: Any) -> Any:
        if isinstance(obs, Mapping):
            return {k: jnp.reshape(v, (-1,)).astype(jnp.float32) for k, v in obs.items()}
        return jnp.reshape(obs, (-1,)).astype(jnp.float32)

    def _action(self, action: jax.Array) -> jax.Array:
        spec = self.action_spec
        if not spec.discrete:
            low = jnp.asarray(spec.low, jnp.float32)
            high = jnp.asarray(spec.high, jnp.float32)
            action = jnp.clip(action, low, high).reshape(spec.shape)
        return action

    def _result(
        self, obs: Any, state: Any, reward: Any, terminated: Any, truncated: Any, final: Any
    ) -> StepResult:
        terminated = jnp.asarray(terminated, bool)
        truncated = jnp.logical_and(jnp.asarray(truncated, bool), jnp.logical_not(terminated))
        return StepResult(
            obs=self._flat(obs),
            state=state,
            reward=jnp.asarray(reward, jnp.float32).reshape(()),
            terminated=terminated,
            truncated=truncated,
            final_obs=self._flat(final),
        )

    def reset(self, key: jax.Array) -> tuple[Any, Any]:
        obs, state = self.env.reset(key, self.env_params)
        return self._flat(obs), state

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> StepResult:
        obs, state, reward, terminated, truncated, info = self.env.step(
            key, state, self._action(action), self.env_params
        )
        return self._result(obs, state, reward, terminated, truncated, info["final_observation"])

    # ------------------------------------------------------------ domain randomization
    @property
    def nominal_params(self) -> Any:
        """The bound ``EnvParams`` (what :meth:`reset` and :meth:`step` use)."""
        return self.env_params

    def reset_with(self, key: jax.Array, params: Any) -> tuple[Any, Any]:
        """:meth:`reset` with the ``EnvParams`` ``params`` instead of the bound ones."""
        obs, state = self.env.reset_env(key, params)
        return self._flat(obs), state

    def step_with(
        self, key: jax.Array, state: Any, action: jax.Array, params: Any, reset_params: Any
    ) -> StepResult:
        """:meth:`step` under ``params``; an auto-reset starts the next episode under
        ``reset_params``. The keys are used as gymnax's own ``step`` uses them."""
        key_step, key_reset = jax.random.split(key)
        obs_st, state_st, reward, terminated, _ = self.env.step_env(
            key_step, state, self._action(action), params
        )
        truncated = self.env.is_truncated(state_st, params)
        done = jnp.logical_or(terminated, truncated)
        obs_re, state_re = self.env.reset_env(key_reset, reset_params)
        pick = lambda a, b: jax.lax.select(done, a, b)  # noqa: E731
        state = jax.tree.map(pick, state_re, state_st)
        obs = jax.tree.map(pick, obs_re, obs_st)
        return self._result(obs, state, reward, terminated, truncated, obs_st)

    def randomizer(self, randomization: Any) -> Randomizer:
        """How :class:`~purejaxppo.envs.randomize.RandomizedEnv` samples ``EnvParams``.

        Args:
          randomization: a function ``(key, default_params) -> params`` (same
            structure, shapes and dtypes as the default params), or ranges
            ``{field: (low, high)}`` drawn uniformly and independently per
            environment (float fields only; derived fields such as CartPole's
            ``total_mass`` and ``polemass_length`` are recomputed).

        Raises:
          ValueError: an unknown or non-float field, a bad range, or a function whose
            output does not match the default params.
        """
        return gymnax_randomizer(self.env, self.env_params, randomization, self.name)


def _torso_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape a torso sees: an image (``H, W, C``) keeps it, the rest is flat."""
    return tuple(int(d) for d in shape) if len(shape) == 3 else (int(math.prod(shape)),)


# Parameters derived from others, recomputed after sampling ranges: (env class,
# derived fields, function). CartPole keeps ``total_mass = masscart + masspole`` and
# ``polemass_length = masspole * length`` as fields of its params.
def _cartpole_derived(p: Any) -> Any:
    return p.replace(total_mass=p.masscart + p.masspole, polemass_length=p.masspole * p.length)


_DERIVED: tuple[tuple[type, tuple[str, ...], Callable[[Any], Any]], ...] = (
    (CartPole, ("total_mass", "polemass_length"), _cartpole_derived),
)


def gymnax_randomizer(env: Any, nominal: Any, randomization: Any, name: str) -> Randomizer:
    """The :class:`~purejaxppo.envs.randomize.Randomizer` of a gymnax environment
    (see :meth:`GymnaxAdapter.randomizer`)."""
    if callable(randomization):
        fn = randomization
        check_params_fn(lambda k: fn(k, nominal), nominal, name)
        return Randomizer(sample=lambda key: fn(key, nominal), expand=lambda p: p)
    ranges = check_ranges(randomization)
    fields = {f.name: getattr(nominal, f.name) for f in dataclasses.fields(nominal)}
    derived = [(names, fix) for cls, names, fix in _DERIVED if isinstance(env, cls)]
    for field in ranges:
        if field not in fields:
            raise ValueError(
                f"{name} has no parameter {field!r} to randomize; its parameters: {sorted(fields)}"
            )
        value = fields[field]
        is_float = isinstance(value, float) or (
            hasattr(value, "dtype")
            and np.ndim(value) == 0
            and jnp.issubdtype(value.dtype, jnp.floating)
        )
        if not is_float:
            raise ValueError(
                f"{name}'s parameter {field!r} is {value!r}, not a float scalar; only float "
                "parameters can be drawn from a range"
            )
        for names, _ in derived:
            if field in names:
                raise ValueError(
                    f"{name}'s parameter {field!r} is derived from others ({list(names)} "
                    "are recomputed after sampling); randomize the parameters it is "
                    "computed from instead"
                )

    def sample(key: jax.Array) -> Any:
        keys = jax.random.split(key, len(ranges))
        values = {
            field: jax.random.uniform(k, (), jnp.float32, low, high)
            for k, (field, (low, high)) in zip(keys, ranges.items(), strict=True)
        }
        params = nominal.replace(**values)
        for _, fix in derived:
            params = fix(params)
        return params

    return Randomizer(sample=sample, expand=lambda p: p)
