"""Actor and critic networks.

The rest of the package sees only :class:`Networks`, a bundle of pure functions over
an opaque parameter pytree, so nothing outside this module depends on Flax Linen.

Architecture (the PPO defaults): separate actor and critic MLPs with the same hidden
sizes, orthogonal initialization with gain sqrt(2) for hidden layers, 0.01 for the
policy head and 1.0 for the value head, zero biases. Continuous policies have a
state-independent ``log_std`` parameter initialised to 0. The orthogonal
initializer is :func:`purejaxppo.initializers.orthogonal` (no LAPACK call: see there).
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
      policy: ``(params, obs[..., obs_dim]) -> distribution``.
      value: ``(params, obs) -> value[...]``.
      policy_and_value: ``(params, obs) -> (distribution, value)``.
      action_spec: the action space the policy acts in.
    """

    init: Callable[[jax.Array], Any]
    policy: Callable[[Any, jax.Array], Any]
    value: Callable[[Any, jax.Array], jax.Array]
    policy_and_value: Callable[[Any, jax.Array], tuple[Any, jax.Array]]
    action_spec: ActionSpec


def make_networks(
    obs_dim: int,
    action_spec: ActionSpec,
    hidden_sizes: tuple[int, ...] = (64, 64),
    activation: str = "tanh",
) -> Networks:
    """Builds the actor-critic functions for an observation size and action space."""
    actor = MLP(tuple(hidden_sizes), action_spec.action_dim, 0.01, activation)
    critic = MLP(tuple(hidden_sizes), 1, 1.0, activation)
    discrete = action_spec.discrete

    def init(key: jax.Array) -> dict[str, Any]:
        k_actor, k_critic = jax.random.split(key)
        dummy = jnp.zeros((1, obs_dim), jnp.float32)
        params = {
            "actor": actor.init(k_actor, dummy)["params"],
            "critic": critic.init(k_critic, dummy)["params"],
        }
        if not discrete:
            params["log_std"] = jnp.zeros((action_spec.action_dim,), jnp.float32)
        return params

    def policy(params: dict[str, Any], obs: jax.Array):
        out = actor.apply({"params": params["actor"]}, obs)
        if discrete:
            return Categorical(out)
        return DiagGaussian(out, params["log_std"])

    def value(params: dict[str, Any], obs: jax.Array) -> jax.Array:
        return critic.apply({"params": params["critic"]}, obs)[..., 0]

    def policy_and_value(params: dict[str, Any], obs: jax.Array):
        return policy(params, obs), value(params, obs)

    return Networks(init, policy, value, policy_and_value, action_spec)
