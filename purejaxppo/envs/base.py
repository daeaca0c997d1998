"""The one environment interface the trainer talks to.

Every backend (gymnax, brax, a user's own gymnax ``Environment``) is wrapped into an
:class:`EnvAdapter`. The adapter acts on a SINGLE environment instance; the trainer
vmaps it over ``num_envs``. Its contract:

* ``reset(key) -> (obs, state)``: ``obs`` is a flat ``float32`` vector of length
  ``obs_dim``. An adapter may also expose ``obs_shape``, the unflattened shape of the
  observation for image torsos (see :func:`obs_shape_of`); without it the observation
  is taken to be a plain vector, ``(obs_dim,)``.
* ``step(key, state, action) -> StepResult``: the environment auto-resets when the
  episode ended (terminated or truncated); ``StepResult.obs`` is then the first
  observation of the NEW episode, while ``StepResult.final_obs`` is always the
  observation the transition actually led to (before any reset). ``terminated`` is
  set only by a true terminal state of the MDP, never by a time limit;
  ``truncated`` is set only by the time limit (an episode cut short).
  ``action`` is the raw policy sample: the adapter clips continuous actions to the
  action bounds itself before handing them to the simulator.
* optional ``step_batch(keys, states, actions) -> StepResult``: ``step`` over a
  leading batch axis, for adapters whose reset is costly (Craftax generates a whole
  world). It must return what ``jax.vmap(step)`` returns (floats up to rounding, as
  XLA may fuse the two programs differently); the point is that it computes start
  states only for the environments that ended instead of for every environment on
  every step. :func:`batch_step` picks it when present.

Environment parameters (gymnax ``EnvParams``) are bound inside the adapter, so the
trainer never needs to know about them.
"""

from __future__ import annotations

from collections.abc import Callable
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
      masked: discrete only. ``True`` when the environment has legal-action masks:
        the adapter then appends the mask as the LAST ``num_actions`` entries of the
        flat observation (1.0 legal, 0.0 illegal) and the policy samples only legal
        actions (see ``purejaxppo.networks.make_networks``).
    """

    discrete: bool
    num_actions: int = 0
    shape: tuple[int, ...] = ()
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    masked: bool = False

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


def obs_shape_of(env: Any) -> tuple[int, ...]:
    """``env.obs_shape`` if the adapter has one, else ``(env.obs_dim,)``.

    An image observation has ``obs_shape = (H, W, C)``; its ``H * W * C`` entries come
    FIRST in the flat observation (row-major), and any further entries (extra
    features, an action mask) follow them, so ``obs_dim >= H * W * C``.
    """
    shape = getattr(env, "obs_shape", None)
    return (int(env.obs_dim),) if shape is None else tuple(int(d) for d in shape)


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


def batch_step(env: Any) -> Callable[[jax.Array, Any, jax.Array], StepResult]:
    """``env.step`` over a leading batch axis of keys, states and actions.

    The adapter's own ``step_batch`` where it defines one (same results as the vmap,
    cheaper resets), else ``jax.vmap(env.step)``.
    """
    own = getattr(env, "step_batch", None)
    return own if own is not None else jax.vmap(env.step)
