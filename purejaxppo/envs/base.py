"""The one environment interface the trainer talks to.

Every backend (gymnax, brax, a user's own gymnax ``Environment``) is wrapped into an
:class:`EnvAdapter`. The adapter acts on a SINGLE environment instance; the trainer
vmaps it over ``num_envs``. Its contract:

* ``reset(key) -> (obs, state)``: ``obs`` is a flat ``float32`` vector of length
  ``obs_dim``. An adapter may also expose ``obs_shape``, the unflattened shape of the
  observation for image torsos (see :func:`obs_shape_of`); without it the observation
  is taken to be a plain vector, ``(obs_dim,)``. An adapter may instead observe a
  DICT of such vectors, e.g. ``{"state": ..., "privileged_state": ...}`` (brax's
  and MuJoCo Playground's convention); ``obs_dim`` (and ``obs_shape``) are then dicts
  with the same keys. The config's ``policy_obs_key`` and ``value_obs_key`` pick what
  the actor and the critic read (:class:`ObsKeys`, :func:`obs_keys_for`).
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
trainer never needs to know about them. Adapters that support domain randomization
(:mod:`purejaxppo.envs.randomize`) also take them explicitly: ``nominal_params``,
``reset_with(key, params)``, ``step_with(key, state, action, params, reset_params)``
(``reset_params``: the parameters an auto-reset starts the next episode with) and
``randomizer(randomization)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
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


def obs_shape_of(env: Any, key: str | None = None) -> tuple[int, ...]:
    """``env.obs_shape`` if the adapter has one, else ``(env.obs_dim,)``.

    An image observation has ``obs_shape = (H, W, C)``; its ``H * W * C`` entries come
    FIRST in the flat observation (row-major), and any further entries (extra
    features, an action mask) follow them, so ``obs_dim >= H * W * C``.

    Args:
      env: an adapter.
      key: for a dict observation, the key whose shape to return (``None``: the
        observation is an array).
    """
    dim = env.obs_dim if key is None else env.obs_dim[key]
    shape = getattr(env, "obs_shape", None)
    if isinstance(shape, Mapping):
        shape = shape.get(key) if key is not None else None
    elif key is not None:
        shape = None
    return (int(dim),) if shape is None else tuple(int(d) for d in shape)


def obs_key_names(env: Any) -> tuple[str, ...] | None:
    """The keys of ``env``'s dict observation, sorted; ``None`` for an array."""
    dims = env.obs_dim
    return tuple(sorted(dims)) if isinstance(dims, Mapping) else None


DEFAULT_OBS_KEY = "state"
"""What the actor and the critic read from a dict observation by default (brax's and
MuJoCo Playground's ``"state"``); an array observation is read whole."""


@dataclasses.dataclass(frozen=True)
class ObsKeys:
    """Which part of an observation the actor and the critic read: the ONE place
    where their inputs are chosen.

    Attributes:
      policy: the dict key the actor reads, or ``None`` for an array observation
        (read whole).
      value: the dict key the critic reads (``None``: an array observation).
    """

    policy: str | None = None
    value: str | None = None

    @property
    def used(self) -> tuple[str, ...]:
        """The dict keys the networks read (the actor's first), ``()`` for arrays."""
        keys = [k for k in (self.policy, self.value) if k is not None]
        return tuple(dict.fromkeys(keys))

    @property
    def asymmetric(self) -> bool:
        """``True`` when the critic reads another part of the observation than the actor."""
        return self.policy != self.value

    def policy_input(self, obs: Any) -> Any:
        """The actor's input: ``obs[policy]``, or ``obs`` itself for an array."""
        return obs if self.policy is None else obs[self.policy]

    def value_input(self, obs: Any) -> Any:
        """The critic's input: ``obs[value]``, or ``obs`` itself for an array."""
        return obs if self.value is None else obs[self.value]

    def select(self, obs: Any, keys: tuple[str, ...] | None = None) -> Any:
        """The part of ``obs`` the networks read: the dict restricted to ``keys``
        (default :attr:`used`), or the array itself."""
        if self.policy is None:
            return obs
        return {k: obs[k] for k in (self.used if keys is None else keys)}


def obs_keys_for(
    env: Any, policy_obs_key: str = DEFAULT_OBS_KEY, value_obs_key: str = DEFAULT_OBS_KEY
) -> ObsKeys:
    """The :class:`ObsKeys` for ``env`` and the config's keys, validated.

    For an array observation only the default key (``"state"``, meaning the whole
    array) is accepted; for a dict observation both keys must be among its keys.

    Raises:
      ValueError: a key the observation does not have (the message lists the keys).
    """
    keys = obs_key_names(env)
    name = getattr(env, "name", type(env).__name__)
    if keys is None:
        for field, value in (("policy_obs_key", policy_obs_key), ("value_obs_key", value_obs_key)):
            if value != DEFAULT_OBS_KEY:
                raise ValueError(
                    f"{field}={value!r}, but {name} observes an array (no keys): its "
                    f"observation is read whole; leave {field} at {DEFAULT_OBS_KEY!r}"
                )
        return ObsKeys()
    for field, value in (("policy_obs_key", policy_obs_key), ("value_obs_key", value_obs_key)):
        if value not in keys:
            raise ValueError(
                f"{field}={value!r} is not a key of {name}'s observation; available "
                f"keys: {list(keys)}"
            )
    return ObsKeys(policy=policy_obs_key, value=value_obs_key)


class EnvAdapter(Protocol):
    """Structural type of every environment adapter."""

    name: str
    obs_dim: Any  # int, or {key: int} for a dict observation
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
