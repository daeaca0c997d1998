"""The one environment interface the trainer talks to.

Every backend (gymnax, brax, a user's own gymnax ``Environment``) is wrapped into an
:class:`EnvAdapter`. The adapter acts on a SINGLE environment instance; the trainer
vmaps it over ``num_envs``. Its contract:

* ``reset(key) -> (obs, state)``: ``obs`` is a flat ``float32`` vector of length
  ``obs_dim``.
* ``step(key, state, action) -> StepResult``: the environment auto-resets when the
  episode ended (terminated or truncated); ``StepResult.obs`` is then the first
  observation of the NEW episode, while ``StepResult.final_obs`` is always the
  observation the transition actually led to (before any reset). ``terminated`` is
  set only by a true terminal state of the MDP, never by a time limit;
  ``truncated`` is set only by the time limit (an episode cut short).
  ``action`` is the raw policy sample: the adapter clips continuous actions to the
  action bounds itself before handing them to the simulator.

Environment parameters (gymnax ``EnvParams``) are bound inside the adapter, so the
trainer never needs to know about them.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import jax


class ActionSpec(NamedTuple):
    """What the policy must produce.

    Attributes:
      discrete: ``True`` for a categorical action (an integer in ``[0, num_actions)``).
      num_actions: number of discrete actions (discrete only; 0 otherwise).
      shape: shape of one continuous action (``()`` for discrete).
      low: lower bound(s) of a continuous action, as a tuple of floats.
      high: upper bound(s) of a continuous action, as a tuple of floats.
    """

    discrete: bool
    num_actions: int = 0
    shape: tuple[int, ...] = ()
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    @property
    def action_dim(self) -> int:
        """Size of the policy head's output (logits or Gaussian means)."""
        if self.discrete:
            return self.num_actions
        size = 1
        for dim in self.shape:
            size *= dim
        return size


class StepResult(NamedTuple):
    """One transition of one environment (see the module docstring)."""

    obs: jax.Array
    state: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: jax.Array


class EnvAdapter(Protocol):
    """Structural type of every environment adapter."""

    name: str
    obs_dim: int
    action_spec: ActionSpec

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        """Starts a new episode."""
        ...

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> StepResult:
        """Advances one step and auto-resets on termination or truncation."""
        ...
