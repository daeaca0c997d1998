"""Partially observed tasks that need memory, as gymnax ``Environment`` subclasses.

* ``MaskedCartPole-v1``: CartPole-v1 (gymnax's dynamics, termination at
  |x| > 2.4 or |theta| > 12 degrees, truncation at 500 steps, reward 1 per step) but
  the agent observes only the cart position and the pole angle, ``[x, theta]``. The
  velocities must be inferred from consecutive observations, so a feed-forward policy
  cannot balance the pole for long. The observation is a dict:
  ``{"state": [x, theta], "privileged_state": [x, x_dot, theta, theta_dot]}``. The
  default keys (``"state"`` for actor and critic) give the masked task;
  ``value_obs_key="privileged_state"`` gives an asymmetric actor-critic whose critic
  sees the full state (in training only: the actor never reads it).
* ``RepeatPrevious-v0``: a recall task in the style of POPGym's RepeatPrevious. Every
  step shows one card, a uniformly random suit out of ``num_suits`` (one-hot); the
  action must name the suit shown ``delay`` steps earlier. From step ``delay`` on, a
  correct answer earns ``+1 / (L - delay)`` and a wrong one ``-1 / (L - delay)``, so
  returns lie in ``[-1, 1]``; the episode ends (terminates) after ``L =
  episode_length`` steps. A policy without memory cannot beat chance,
  ``(2 / num_suits - 1)`` in expectation (-0.5 with 4 suits); a policy with memory
  can reach 1.

Both follow the gymnax 1.0 API: ``step`` returns ``(obs, state, reward, terminated,
truncated, info)`` and auto-resets, with ``info["final_observation"]`` the observation
the step led to. ``make_memory_task(name, **kwargs)`` builds one: keyword arguments
that are fields of the env's ``EnvParams`` (e.g. ``episode_length``,
``max_steps_in_episode``) set those; the others go to the constructor (``delay``,
``num_suits``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces
from gymnax.environments.classic_control.cartpole import CartPole

MEMORY_TASKS = ("MaskedCartPole-v1", "RepeatPrevious-v0")


class MaskedCartPole(CartPole):
    """CartPole-v1 observed through ``[x, theta]`` only (velocities masked), next to
    the privileged full state (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.obs_shape = (2,)

    def get_obs(self, state: Any, params: Any = None, key: Any = None) -> dict[str, jax.Array]:
        """``{"state": [x, theta], "privileged_state": [x, x_dot, theta, theta_dot]}``."""
        return {
            "state": jnp.array([state.x, state.theta], jnp.float32),
            "privileged_state": jnp.array(
                [state.x, state.x_dot, state.theta, state.theta_dot], jnp.float32
            ),
        }

    @property
    def name(self) -> str:
        return "MaskedCartPole-v1"

    def observation_space(self, params: Any) -> spaces.Dict:
        high = jnp.array([params.x_threshold * 2, params.theta_threshold_radians * 2])
        return spaces.Dict(
            {
                "state": spaces.Box(-high, high, (2,), dtype=jnp.float32),
                "privileged_state": super().observation_space(params),
            }
        )


@struct.dataclass
class RepeatPreviousState(environment.EnvState):
    """``cards[j]`` is the suit shown ``j`` steps ago (``cards[0]``: the current one)."""

    cards: jax.Array
    score: jax.Array
    time: int


@struct.dataclass
class RepeatPreviousParams(environment.EnvParams):
    """``episode_length`` L: steps per episode; the time limit is never reached first."""

    episode_length: int = 64
    max_steps_in_episode: int = 1_000_000


class RepeatPrevious(environment.Environment[RepeatPreviousState, RepeatPreviousParams]):
    """Name the suit shown ``delay`` steps ago (see the module docstring).

    Args:
      num_suits: number of suits (actions and observation size), at least 2.
      delay: how many steps back the answer lies, at least 1.
    """

    def __init__(self, num_suits: int = 4, delay: int = 4) -> None:
        super().__init__()
        for label, value, low in (("num_suits", num_suits, 2), ("delay", delay, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{label} must be an integer >= {low}, got {value!r}")
        self.num_suits = num_suits
        self.delay = delay

    @property
    def default_params(self) -> RepeatPreviousParams:
        return RepeatPreviousParams()

    def _draw(self, key: jax.Array) -> jax.Array:
        return jax.random.randint(key, (), 0, self.num_suits, jnp.int32)

    def step_env(self, key, state, action, params):
        scored = state.time >= self.delay
        correct = jnp.asarray(action, jnp.int32) == state.cards[self.delay]
        unit = 1.0 / jnp.maximum(params.episode_length - self.delay, 1)
        reward = jnp.where(scored, jnp.where(correct, unit, -unit), 0.0).astype(jnp.float32)
        cards = jnp.concatenate([self._draw(key)[None], state.cards[:-1]])
        state = RepeatPreviousState(cards=cards, score=state.score + reward, time=state.time + 1)
        terminated = self.is_terminated(state, params)
        return (
            jax.lax.stop_gradient(self.get_obs(state)),
            jax.lax.stop_gradient(state),
            reward,
            terminated,
            {"discount": self.discount(state, params)},
        )

    def reset_env(self, key, params):
        cards = jnp.zeros((self.delay + 1,), jnp.int32).at[0].set(self._draw(key))
        state = RepeatPreviousState(cards=cards, score=jnp.float32(0.0), time=0)
        return self.get_obs(state), state

    def get_obs(self, state, params=None, key=None) -> jax.Array:
        """One-hot of the current card."""
        return jax.nn.one_hot(state.cards[0], self.num_suits, dtype=jnp.float32)

    def is_terminated(self, state, params) -> jax.Array:
        return state.time >= params.episode_length

    @property
    def name(self) -> str:
        return "RepeatPrevious-v0"

    @property
    def num_actions(self) -> int:
        return self.num_suits

    def action_space(self, params=None) -> spaces.Discrete:
        return spaces.Discrete(self.num_suits)

    def observation_space(self, params) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (self.num_suits,), jnp.float32)

    def state_space(self, params) -> spaces.Dict:
        return spaces.Dict(
            {
                "cards": spaces.Box(0, self.num_suits - 1, (self.delay + 1,), jnp.int32),
                "score": spaces.Box(-1.0, 1.0, (), jnp.float32),
                "time": spaces.Discrete(params.episode_length + 1),
            }
        )


def split_params_kwargs(default_params: Any, kwargs: dict[str, Any]):
    """``(params with the EnvParams-field kwargs applied, the remaining kwargs)``."""
    fields = {f.name for f in dataclasses.fields(default_params)}
    for_params = {k: v for k, v in kwargs.items() if k in fields}
    rest = {k: v for k, v in kwargs.items() if k not in fields}
    return default_params.replace(**for_params), rest


def make_memory_task(name: str, **kwargs: Any) -> tuple[Any, Any]:
    """``(env, params)`` for a name of :data:`MEMORY_TASKS`.

    Raises:
      ValueError: on an unknown name or keyword argument.
    """
    if name == "MaskedCartPole-v1":
        cls, defaults = MaskedCartPole, CartPole().default_params
    elif name == "RepeatPrevious-v0":
        cls, defaults = RepeatPrevious, RepeatPreviousParams()
    else:
        raise ValueError(f"unknown memory task {name!r}; valid names: {list(MEMORY_TASKS)}")
    params, rest = split_params_kwargs(defaults, kwargs)
    try:
        env = cls(**rest)
    except TypeError as err:
        raise ValueError(f"bad keyword arguments for {name}: {err}") from None
    return env, params
