"""Actor and critic networks.

The rest of the package sees only :class:`Networks`, a bundle of pure functions over
an opaque parameter pytree, so nothing outside this module depends on Flax Linen.

Architecture (the PPO defaults): separate actor and critic MLPs with the same hidden
sizes, orthogonal initialization with gain sqrt(2) for hidden layers, 0.01 for the
policy head and 1.0 for the value head, zero biases. The critic may have its own
hidden sizes (``critic_hidden_sizes``).

Continuous policy heads (``policy_head``, see ``purejaxppo.config.POLICY_HEADS``):

* ``"gaussian"``: the actor outputs the mean; a state-independent ``log_std``
  parameter starts at ``log_std_init``.
* ``"gaussian_state_std"`` / ``"tanh_gaussian"``: the actor outputs ``2 * action_dim``
  numbers, the mean and ``s``; ``std = softplus(s) + min_std``. The bias of ``s``
  starts at ``softplus^{-1}(exp(log_std_init) - min_std)`` (its weights are near 0),
  so every head starts with std ``exp(log_std_init)``. ``"tanh_gaussian"`` squashes
  the Gaussian into the action bounds (:class:`~purejaxppo.distributions.TanhGaussian`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from purejaxppo.distributions import (
    Categorical,
    DiagGaussian,
    TanhGaussian,
    softplus_log_std,
)
from purejaxppo.envs.base import ActionSpec

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
                kernel_init=nn.initializers.orthogonal(math.sqrt(2.0)),
                bias_init=nn.initializers.zeros,
            )(x)
            x = act(x)
        return nn.Dense(
            self.out_size,
            kernel_init=nn.initializers.orthogonal(self.head_scale),
            bias_init=nn.initializers.zeros,
        )(x)


class Networks(NamedTuple):
    """Pure functions over the parameter pytree.

    Attributes:
      init: ``(key, log_std_init=None) -> params`` (``None``: the value given to
        :func:`make_networks`; a traced scalar is allowed, e.g. from ``HParams``).
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


def _inverse_softplus(y: jax.Array) -> jax.Array:
    return y + jnp.log(-jnp.expm1(-y))


def make_networks(
    obs_dim: int,
    action_spec: ActionSpec,
    hidden_sizes: tuple[int, ...] = (64, 64),
    activation: str = "tanh",
    *,
    critic_hidden_sizes: tuple[int, ...] = (),
    policy_head: str = "gaussian",
    log_std_init: float = 0.0,
    min_std: float = 1e-3,
) -> Networks:
    """Builds the actor-critic functions for an observation size and action space.

    Args:
      obs_dim: flat observation size.
      action_spec: the action space.
      hidden_sizes: actor hidden widths (and the critic's unless given separately).
      activation: hidden activation name.
      critic_hidden_sizes: critic hidden widths; ``()`` means ``hidden_sizes``.
      policy_head: continuous head (see the module docstring); a discrete action
        space accepts only the default ``"gaussian"`` (which it ignores).
      log_std_init: initial log-std of the (pre-squash) Gaussian.
      min_std: std floor of the state-dependent heads.

    Raises:
      ValueError: a continuous-only head for a discrete action space.
    """
    discrete = action_spec.discrete
    if discrete and policy_head != "gaussian":
        raise ValueError(
            f"policy_head {policy_head!r} needs continuous actions; this environment's "
            "actions are discrete (leave policy_head at its default)"
        )
    state_std = not discrete and policy_head in ("gaussian_state_std", "tanh_gaussian")
    act_dim = action_spec.action_dim
    actor = MLP(tuple(hidden_sizes), act_dim * (2 if state_std else 1), 0.01, activation)
    critic = MLP(tuple(critic_hidden_sizes or hidden_sizes), 1, 1.0, activation)
    last_layer = f"Dense_{len(hidden_sizes)}"

    def init(key: jax.Array, log_std0: Any = None) -> dict[str, Any]:
        log_std0 = log_std_init if log_std0 is None else log_std0
        k_actor, k_critic = jax.random.split(key)
        dummy = jnp.zeros((1, obs_dim), jnp.float32)
        params = {
            "actor": actor.init(k_actor, dummy)["params"],
            "critic": critic.init(k_critic, dummy)["params"],
        }
        if state_std:
            bias0 = _inverse_softplus(jnp.exp(jnp.asarray(log_std0, jnp.float32)) - min_std)
            head = dict(params["actor"][last_layer])
            head["bias"] = head["bias"].at[act_dim:].set(bias0)
            params["actor"] = {**params["actor"], last_layer: head}
        elif not discrete:
            params["log_std"] = jnp.full((act_dim,), log_std0, jnp.float32)
        return params

    def policy(params: dict[str, Any], obs: jax.Array):
        out = actor.apply({"params": params["actor"]}, obs)
        if discrete:
            return Categorical(out)
        if not state_std:
            # Broadcast so that every leaf has the batch shape (the KL-penalty
            # objective stores and reshapes the behaviour distribution per sample).
            return DiagGaussian(out, jnp.broadcast_to(params["log_std"], out.shape))
        mean, log_std = out[..., :act_dim], softplus_log_std(out[..., act_dim:], min_std)
        if policy_head == "tanh_gaussian":
            return TanhGaussian(mean, log_std, action_spec.low, action_spec.high)
        return DiagGaussian(mean, log_std)

    def value(params: dict[str, Any], obs: jax.Array) -> jax.Array:
        return critic.apply({"params": params["critic"]}, obs)[..., 0]

    def policy_and_value(params: dict[str, Any], obs: jax.Array):
        return policy(params, obs), value(params, obs)

    return Networks(init, policy, value, policy_and_value, action_spec)
