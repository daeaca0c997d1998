"""Actor and critic networks: torso -> (optional memory core) -> heads.

The rest of the package sees only :class:`Networks`, a bundle of pure functions over
an opaque parameter pytree, so nothing outside this module depends on Flax Linen.

Feed-forward architecture (``memory=None``, the PPO defaults): separate actor and
critic MLPs with the same hidden sizes, orthogonal initialization with gain sqrt(2)
for hidden layers, 0.01 for the policy head and 1.0 for the value head, zero biases.
Continuous policies have a state-independent ``log_std`` parameter initialised to 0.
The orthogonal initializer is :func:`purejaxppo.initializers.orthogonal` (no LAPACK
call: see there).

Memory architecture (``memory`` in :data:`purejaxppo.memory.MEMORY_TYPES`): a shared
torso ``Dense(memory_size) + activation`` embeds the observation, a recurrent core
(:mod:`purejaxppo.memory`) turns the embedding and its carry into a feature, and the
actor and critic heads are the same MLPs as above applied to that feature. Every
network is a policy with a carry: :attr:`Networks.step` is
``(params, carry, obs, reset) -> (dist, value, carry)``; the feed-forward carry is the
empty tuple ``()`` and its ``step`` is ``policy_and_value``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from purejaxppo.distributions import Categorical, DiagGaussian
from purejaxppo.envs.base import ActionSpec
from purejaxppo.initializers import orthogonal

_ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "relu": nn.relu,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "silu": nn.silu,
}


class MLP(nn.Module):
    """Dense layers with orthogonal init; the last layer is linear."""

    hidden_sizes: tuple[int, ...]
    out_size: int
    head_scale: float
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = _ACTIVATIONS[self.activation]
        for width in self.hidden_sizes:
            x = nn.Dense(
                width,
                kernel_init=orthogonal(math.sqrt(2.0)),
                bias_init=nn.initializers.zeros,
            )(x)
            x = act(x)
        return nn.Dense(
            self.out_size,
            kernel_init=orthogonal(self.head_scale),
            bias_init=nn.initializers.zeros,
        )(x)


class Networks(NamedTuple):
    """Pure functions over the parameter pytree.

    Attributes:
      init: ``key -> params``.
      policy: ``(params, obs[..., obs_dim]) -> distribution`` (feed-forward only).
      value: ``(params, obs) -> value[...]`` (feed-forward only).
      policy_and_value: ``(params, obs) -> (distribution, value)`` (feed-forward only).
      action_spec: the action space the policy acts in.
      has_memory: ``True`` when the policy has a recurrent core.
      initial_carry: ``batch_size -> carry`` (``()`` for feed-forward).
      step: ``(params, carry, obs[B, obs_dim], reset[B]) -> (dist, value[B], carry)``,
        one time step; ``reset`` marks observations that begin an episode (the carry
        is reset to the initial carry before them).
      unroll: ``(params, carry, obs[T, B, obs_dim], reset[T, B]) -> (dist[T, B],
        value[T, B], carry)``, a whole time-major sequence (what ``T`` calls of
        ``step`` compute).
    """

    init: Callable[[jax.Array], Any]
    policy: Callable[[Any, jax.Array], Any]
    value: Callable[[Any, jax.Array], jax.Array]
    policy_and_value: Callable[[Any, jax.Array], tuple[Any, jax.Array]]
    action_spec: ActionSpec
    has_memory: bool = False
    initial_carry: Callable[[int], Any] | None = None
    step: Callable[..., tuple[Any, jax.Array, Any]] | None = None
    unroll: Callable[..., tuple[Any, jax.Array, Any]] | None = None


def _memory_only(name: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(
            f"Networks.{name} takes no carry and is defined for feed-forward networks "
            "only; a network with memory is applied with step(params, carry, obs, "
            "reset) or unroll(...)"
        )

    return fail


def make_networks(
    obs_dim: int,
    action_spec: ActionSpec,
    hidden_sizes: tuple[int, ...] = (64, 64),
    activation: str = "tanh",
    memory: str | None = None,
    memory_size: int = 128,
) -> Networks:
    """Builds the actor-critic functions for an observation size and action space.

    Args:
      obs_dim: length of the (flat) observation.
      action_spec: the action space.
      hidden_sizes: hidden widths of the actor and critic MLPs (the heads).
      activation: hidden activation.
      memory: ``None`` (feed-forward) or a core of
        :data:`purejaxppo.memory.MEMORY_TYPES`.
      memory_size: width of the torso embedding and of the core's state.
    """
    actor = MLP(tuple(hidden_sizes), action_spec.action_dim, 0.01, activation)
    critic = MLP(tuple(hidden_sizes), 1, 1.0, activation)
    discrete = action_spec.discrete

    def head_params(params: dict[str, Any], key: jax.Array, in_dim: int) -> dict[str, Any]:
        k_actor, k_critic = jax.random.split(key)
        dummy = jnp.zeros((1, in_dim), jnp.float32)
        params["actor"] = actor.init(k_actor, dummy)["params"]
        params["critic"] = critic.init(k_critic, dummy)["params"]
        if not discrete:
            params["log_std"] = jnp.zeros((action_spec.action_dim,), jnp.float32)
        return params

    def policy_head(params: dict[str, Any], features: jax.Array):
        out = actor.apply({"params": params["actor"]}, features)
        if discrete:
            return Categorical(out)
        return DiagGaussian(out, params["log_std"])

    def value_head(params: dict[str, Any], features: jax.Array) -> jax.Array:
        return critic.apply({"params": params["critic"]}, features)[..., 0]

    if memory is None:
        # Feed-forward: the heads see the observation itself (empty torso, no core).
        def init(key: jax.Array) -> dict[str, Any]:
            return head_params({}, key, obs_dim)

        def policy_and_value(params: dict[str, Any], obs: jax.Array):
            return policy_head(params, obs), value_head(params, obs)

        def step(params, carry, obs, reset):
            dist, value = policy_and_value(params, obs)
            return dist, value, carry

        return Networks(init, policy_head, value_head, policy_and_value, action_spec,
                        has_memory=False, initial_carry=lambda n: (), step=step,
                        unroll=step)

    from purejaxppo.memory import make_core

    core = make_core(memory, memory_size)
    torso = nn.Dense(
        memory_size,
        kernel_init=orthogonal(math.sqrt(2.0)),
        bias_init=nn.initializers.zeros,
    )
    act = _ACTIVATIONS[activation]

    def init_memory(key: jax.Array) -> dict[str, Any]:
        k_torso, k_core, k_heads = jax.random.split(key, 3)
        params = {
            "torso": torso.init(k_torso, jnp.zeros((1, obs_dim), jnp.float32))["params"],
            "core": core.init(k_core, memory_size),
        }
        return head_params(params, k_heads, core.size)

    def embed(params: dict[str, Any], obs: jax.Array) -> jax.Array:
        return act(torso.apply({"params": params["torso"]}, obs))

    def memory_step(params, carry, obs, reset):
        carry, h = core.step(params["core"], carry, embed(params, obs), reset)
        return policy_head(params, h), value_head(params, h), carry

    def memory_unroll(params, carry, obs, reset):
        carry, hs = core.unroll(params["core"], carry, embed(params, obs), reset)
        return policy_head(params, hs), value_head(params, hs), carry

    return Networks(
        init_memory, _memory_only("policy"), _memory_only("value"),
        _memory_only("policy_and_value"), action_spec, has_memory=True,
        initial_carry=core.initial_carry, step=memory_step, unroll=memory_unroll,
    )
