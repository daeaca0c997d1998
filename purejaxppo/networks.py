"""Actor and critic networks.

The rest of the package sees only :class:`Networks`, a bundle of pure functions over
an opaque parameter pytree, so nothing outside this module depends on Flax Linen.

Architecture (the PPO defaults): separate actor and critic MLPs with the same hidden
sizes, orthogonal initialization with gain sqrt(2) for hidden layers, 0.01 for the
policy head and 1.0 for the value head, zero biases. Continuous policies have a
state-independent ``log_std`` parameter initialised to 0.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from purejaxppo.distributions import Categorical, DiagGaussian
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


TORSOS = ("mlp", "cnn")
"""Observation torsos ``make_networks`` accepts."""


class CNN(nn.Module):
    """Convolutional torso for image observations, followed by an MLP head.

    The input is the FLAT observation ``[..., obs_dim]`` (any leading axes). Its first
    ``H * W * C`` entries are the image ``obs_shape = (H, W, C)`` in row-major order;
    any remaining entries (scalar features, an action mask) are concatenated to the
    flattened convolution features. Each convolution has stride 1 and ``SAME``
    padding, so 10x10 MinAtar frames keep their resolution; weights are orthogonal
    with gain sqrt(2) like the MLP's hidden layers.
    """

    obs_shape: tuple[int, ...]
    channels: tuple[int, ...]
    kernels: tuple[int, ...]
    hidden_sizes: tuple[int, ...]
    out_size: int
    head_scale: float
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = _ACTIVATIONS[self.activation]
        lead = x.shape[:-1]
        size = math.prod(self.obs_shape)
        image = jnp.reshape(x[..., :size], (-1,) + tuple(self.obs_shape))
        for width, kernel in zip(self.channels, self.kernels):
            image = nn.Conv(
                width,
                (kernel, kernel),
                padding="SAME",
                kernel_init=nn.initializers.orthogonal(math.sqrt(2.0)),
                bias_init=nn.initializers.zeros,
            )(image)
            image = act(image)
        features = jnp.reshape(image, lead + (-1,))
        features = jnp.concatenate([features, x[..., size:]], axis=-1)
        return MLP(self.hidden_sizes, self.out_size, self.head_scale, self.activation)(features)


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
    torso: str = "mlp",
    obs_shape: tuple[int, ...] | None = None,
    cnn_channels: tuple[int, ...] = (16, 32),
    cnn_kernels: tuple[int, ...] = (3, 3),
) -> Networks:
    """Builds the actor-critic functions for an observation size and action space.

    ``torso="cnn"`` puts a :class:`CNN` over the image ``obs_shape = (H, W, C)`` in
    front of the ``hidden_sizes`` MLP (separate for actor and critic). When
    ``action_spec.masked``, the last ``num_actions`` observation entries are the
    legal-action mask and the policy is a masked :class:`Categorical`.
    """
    if torso not in TORSOS:
        raise ValueError(f"unknown torso {torso!r}; allowed: {list(TORSOS)}")
    if torso == "cnn":
        obs_shape = tuple(obs_shape) if obs_shape is not None else (obs_dim,)
        if len(obs_shape) != 3 or math.prod(obs_shape) > obs_dim:
            raise ValueError(
                f"torso='cnn' needs an image observation (obs_shape (H, W, C) within "
                f"obs_dim {obs_dim}); this environment's obs_shape is {obs_shape}"
            )
        if len(cnn_channels) != len(cnn_kernels) or not cnn_channels:
            raise ValueError("cnn_channels and cnn_kernels must be non-empty and equally long")

        def build(out_size: int, scale: float) -> nn.Module:
            return CNN(obs_shape, tuple(cnn_channels), tuple(cnn_kernels),
                       tuple(hidden_sizes), out_size, scale, activation)
    else:

        def build(out_size: int, scale: float) -> nn.Module:
            return MLP(tuple(hidden_sizes), out_size, scale, activation)

    actor = build(action_spec.action_dim, 0.01)
    critic = build(1, 1.0)
    discrete = action_spec.discrete
    masked = bool(getattr(action_spec, "masked", False)) and discrete
    num_actions = action_spec.num_actions

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
        if masked:
            return Categorical(out, obs[..., -num_actions:] > 0.5)
        if discrete:
            return Categorical(out)
        return DiagGaussian(out, params["log_std"])

    def value(params: dict[str, Any], obs: jax.Array) -> jax.Array:
        return critic.apply({"params": params["critic"]}, obs)[..., 0]

    def policy_and_value(params: dict[str, Any], obs: jax.Array):
        return policy(params, obs), value(params, obs)

    return Networks(init, policy, value, policy_and_value, action_spec)
