"""Tiny gymnax environments with known answers, for tests."""

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces


@struct.dataclass
class State(environment.EnvState):
    time: int
    last_action: jax.Array


@struct.dataclass
class Params(environment.EnvParams):
    max_steps_in_episode: int = 5


class ConstantTruncatingEnv(environment.Environment):
    """Constant observation, reward 1, never terminates, truncates every T steps.

    With discount gamma its true value is 1 / (1 - gamma) everywhere. If truncation
    were treated as termination the critic would learn far less.
    Continuous variant: ``Box(-1, 1, (2,))`` actions, recorded in the state.
    """

    def __init__(self, continuous: bool = False):
        super().__init__()
        self.continuous = continuous

    @property
    def default_params(self) -> Params:
        return Params()

    def step_env(self, key, state, action, params):
        last = jnp.asarray(action, jnp.float32).reshape(-1)[:2]
        last = jnp.pad(last, (0, 2 - last.shape[0]))
        state = State(time=state.time + 1, last_action=last)
        return self.get_obs(state), state, jnp.float32(1.0), jnp.bool_(False), {}

    def reset_env(self, key, params):
        state = State(time=0, last_action=jnp.zeros(2))
        return self.get_obs(state), state

    def get_obs(self, state, params=None, key=None) -> Any:
        return jnp.ones((3,), jnp.float32)

    def is_terminated(self, state, params):
        return jnp.bool_(False)

    def action_space(self, params=None):
        if self.continuous:
            return spaces.Box(-1.0, 1.0, (2,), jnp.float32)
        return spaces.Discrete(2)

    def observation_space(self, params):
        return spaces.Box(0.0, 1.0, (3,), jnp.float32)
