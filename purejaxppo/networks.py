"""Actor and critic networks: torso -> (optional memory core) -> heads.

The rest of the package sees only :class:`Networks`, a bundle of pure functions over
an opaque parameter pytree, so nothing outside this module depends on Flax Linen.

Feed-forward architecture (``memory=None``, the PPO defaults): separate actor and
critic MLPs with the same hidden sizes, orthogonal initialization with gain sqrt(2)
for hidden layers, 0.01 for the policy head and 1.0 for the value head, zero biases.
The critic may have its own hidden sizes (``critic_hidden_sizes``).
The orthogonal initializer is :func:`purejaxppo.initializers.orthogonal` (its LAPACK
QR is never batched over seeds: see there); MLP actors and critics draw the normal
entries of all their kernels at once (:func:`init_mlps`, for compile time).

Memory architecture (``memory`` in :data:`purejaxppo.memory.MEMORY_TYPES`): a shared
torso ``Dense(memory_size) + activation`` embeds the observation, a recurrent core
(:mod:`purejaxppo.memory`) turns the embedding and its carry into a feature, and the
actor and critic heads are the same MLPs as above applied to that feature. Every
network is a policy with a carry: :attr:`Networks.step` is
``(params, carry, obs, reset) -> (dist, value, carry)``; the feed-forward carry is the
empty tuple ``()`` and its ``step`` is ``policy_and_value``.

What the networks read (:class:`NetworkSpec`, built from the config by
:meth:`NetworkSpec.from_config`): every function takes the WHOLE observation, an
array or a dict, and the spec's :class:`~purejaxppo.envs.base.ObsKeys` picks the
actor's input (``policy_obs_key``) and the critic's (``value_obs_key``) in one
place. With a dict observation and different keys the critic is asymmetric: with
memory it is an MLP on its own input (the privileged observation), beside the
recurrent actor; without memory it is the usual critic MLP on that input.

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

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, cast

import flax.linen as nn
import jax
import jax.numpy as jnp

from purejaxppo.distributions import (
    Categorical,
    DiagGaussian,
    TanhGaussian,
    softplus_log_std,
)
from purejaxppo.envs.base import (
    DEFAULT_OBS_KEY,
    ActionSpec,
    ObsKeys,
    obs_keys_for,
    obs_shape_of,
)
from purejaxppo.initializers import orthogonal, orthogonal_many

_ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "relu": nn.relu,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "silu": nn.silu,
}


# Dense layers whose weight gradient is computed from an explicitly transposed input
# (see dense_dot); a switch for A/B measurements.
_TRANSPOSED_WEIGHT_GRAD = True

# dense_dot's limits: outputs narrower than this, or more rows than _MAX_ROWS, keep
# XLA's own weight-gradient dot (see dense_dot for the measurements behind them).
_MIN_OUT = 2
_MAX_ROWS = 512

# Orthogonal-init gain of every hidden layer (MLP, CNN, memory torso); the heads have
# their own (0.01 policy, 1.0 value).
HIDDEN_GAIN = math.sqrt(2.0)

# MLP actor and critic initialized from ONE normal draw (init_mlps) instead of
# Flax's per-layer draws; a switch for compile-time A/B measurements.
_ONE_DRAW_INIT = True


@jax.custom_vjp
def _matmul(x: jax.Array, w: jax.Array) -> jax.Array:
    return x @ w


def _matmul_fwd(x: jax.Array, w: jax.Array):
    return x @ w, (x, w)


def _matmul_bwd(res, g: jax.Array):
    x, w = res
    # dL/dx = g w^T: contracts g's last axis with w's output axis.
    dx = jax.lax.dot_general(g, w, (((g.ndim - 1,), (1,)), ((), ())))
    # dL/dw = x^T g over all rows. The transpose of x is materialized (the barrier
    # keeps XLA from folding it back into the dot's dimension numbers), so the dot
    # contracts the lhs' last axis like a forward matmul.
    x2 = x.reshape(-1, x.shape[-1])
    g2 = g.reshape(-1, g.shape[-1])
    return dx, jax.lax.optimization_barrier(x2.T) @ g2


_matmul.defvjp(_matmul_fwd, _matmul_bwd)


def dense_dot(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """``jax.lax.dot_general`` for ``nn.Dense`` with a faster weight gradient on CPU.

    The forward pass and the input gradient are the ordinary dots. The weight
    gradient ``x^T g`` contracts the batch axis, the FIRST axis of both operands;
    XLA:CPU (jax 0.10) sends such a dot to Eigen, while a dot that contracts the
    lhs' last axis goes to YNNPACK, as the forward dots do. Computing it as
    ``transpose(x) @ g`` with the transpose materialized (a copy of ``x``) is, per
    weight gradient (``benchmarks/dense_grad.py``), faster for up to 512 rows
    and outputs of 2 or more, and slower for a single output (a matrix-vector
    product) or many rows (Eigen then splits the batch axis over both cores), so
    those keep XLA's dot, as does every backend but CPU (the measurements are
    XLA:CPU's; GPU and TPU libraries take transposed operands natively). Same values
    up to the order of the batch summation.
    """
    contract, batch = dimension_numbers
    rows = math.prod(lhs.shape[:-1])
    plain = (
        precision is None
        and preferred_element_type is None
        and batch == ((), ())
        and tuple(contract[0]) == (lhs.ndim - 1,)
        and tuple(contract[1]) == (0,)
        and rhs.ndim == 2
    )
    if (
        not plain
        or not _TRANSPOSED_WEIGHT_GRAD
        or rhs.shape[1] < _MIN_OUT
        or rows > _MAX_ROWS
        or jax.default_backend() != "cpu"
    ):
        return jax.lax.dot_general(
            lhs,
            rhs,
            dimension_numbers,
            precision=precision,
            preferred_element_type=preferred_element_type,
        )
    return _matmul(lhs, rhs)


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
                kernel_init=orthogonal(HIDDEN_GAIN),
                bias_init=nn.initializers.zeros,
                dot_general=dense_dot,
            )(x)
            x = act(x)
        return nn.Dense(
            self.out_size,
            kernel_init=orthogonal(self.head_scale),
            bias_init=nn.initializers.zeros,
            dot_general=dense_dot,
        )(x)


def init_mlps(
    key: jax.Array, mlps: list[tuple[int, tuple[int, ...], int, float]]
) -> list[dict[str, Any]]:
    """Parameters of several :class:`MLP` s, all weights from one normal draw.

    Each result has the structure and the distribution of
    ``MLP(hidden_sizes, out_size, head_scale, activation).init(k, x)["params"]``
    (``Dense_i`` with an orthogonal ``kernel``, gain sqrt(2) for hidden layers and
    ``head_scale`` for the last, and a zero ``bias``), but the kernels of ALL the
    MLPs come from :func:`purejaxppo.initializers.orthogonal_many`: one Threefry
    draw instead of one per layer (plus Flax's per-module key derivations). Compile
    time of the whole train program, one draw vs per-layer draws (medians of 5
    interleaved rounds, ``benchmarks/compile_ab.py --experiment init_draws``, 2-core
    CPU): CartPole 4.38 vs 5.90 s, CartPole x8 vmapped 6.97 vs 8.88 s, Breakout 5.62
    vs 6.51 s, Pendulum 4.45 vs 5.67 s. Run time is unaffected (init runs once).

    Args:
      key: PRNG key.
      mlps: one ``(in_dim, hidden_sizes, out_size, head_scale)`` per MLP.

    Returns:
      One parameter dict per MLP, in order.
    """
    shapes: list[tuple[int, int]] = []
    scales: list[float] = []
    for in_dim, sizes, out_size, head_scale in mlps:
        dims = (in_dim,) + tuple(sizes) + (out_size,)
        shapes += list(itertools.pairwise(dims))
        scales += [HIDDEN_GAIN] * len(sizes) + [head_scale]
    kernels = iter(orthogonal_many(key, shapes, scales))
    result = []
    for _, sizes, out_size, _ in mlps:
        result.append(
            {
                f"Dense_{i}": {"kernel": next(kernels), "bias": jnp.zeros((width,), jnp.float32)}
                for i, width in enumerate(tuple(sizes) + (out_size,))
            }
        )
    return result


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
        for width, kernel in zip(self.channels, self.kernels, strict=True):
            image = nn.Conv(
                width,
                (kernel, kernel),
                padding="SAME",
                kernel_init=orthogonal(HIDDEN_GAIN),
                bias_init=nn.initializers.zeros,
            )(image)
            image = act(image)
        features = jnp.reshape(image, lead + (-1,))
        features = jnp.concatenate([features, x[..., size:]], axis=-1)
        return MLP(self.hidden_sizes, self.out_size, self.head_scale, self.activation)(features)


class Networks(NamedTuple):
    """Pure functions over the parameter pytree.

    Attributes:
      init: ``(key, log_std_init=None) -> params`` (``None``: the value given to
        :func:`make_networks`; a traced scalar is allowed, e.g. from ``HParams``).
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
      act: ``(params, carry, obs[B, ...], reset[B]) -> (dist, carry)``: ``step``
        without the critic, so it reads the actor's input only (evaluation).
      obs_keys: which part of the observation the actor and the critic read.
    """

    init: Callable[..., Any]
    policy: Callable[[Any, jax.Array], Any]
    value: Callable[[Any, jax.Array], jax.Array]
    policy_and_value: Callable[[Any, jax.Array], tuple[Any, jax.Array]]
    action_spec: ActionSpec
    has_memory: bool
    initial_carry: Callable[[int], Any]
    step: Callable[..., tuple[Any, jax.Array, Any]]
    unroll: Callable[..., tuple[Any, jax.Array, Any]]
    act: Callable[..., tuple[Any, Any]]
    obs_keys: ObsKeys = ObsKeys()


def _memory_only(name: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(
            f"Networks.{name} takes no carry and is defined for feed-forward networks "
            "only; a network with memory is applied with step(params, carry, obs, "
            "reset) or unroll(...)"
        )

    return fail


def _inverse_softplus(y: jax.Array) -> jax.Array:
    return y + jnp.log(-jnp.expm1(-y))


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """Everything :func:`build_networks` needs, in one place.

    Build it from a config with :meth:`from_config`: every field that is also a
    :class:`~purejaxppo.config.PPOConfig` field is copied from the config, so a new
    network option is one new field here (and its config field).

    Attributes:
      obs_dim: length of the flat observation, or ``{key: length}`` for a dict
        observation.
      action_spec: the action space.
      hidden_sizes: actor hidden widths (and the critic's unless given separately);
        with memory these are the heads on top of the core.
      activation: hidden activation name.
      memory: ``None`` (feed-forward) or a core of
        :data:`purejaxppo.memory.MEMORY_TYPES`.
      memory_size: width of the torso embedding and of the core's state.
      critic_hidden_sizes: critic hidden widths; ``()`` means ``hidden_sizes``.
      policy_head: continuous head (see the module docstring); a discrete action
        space accepts only the default ``"gaussian"`` (which it ignores).
      log_std_init: initial log-std of the (pre-squash) Gaussian.
      min_std: std floor of the state-dependent heads.
      torso: ``"mlp"`` or ``"cnn"`` (a :class:`CNN` over an image input).
      obs_shape: the unflattened observation shape (``{key: shape}`` for a dict);
        ``None``: flat vectors.
      cnn_channels: output channels of each convolution.
      cnn_kernels: kernel size of each convolution.
      policy_obs_key: the key of a dict observation the actor reads.
      value_obs_key: the key of a dict observation the critic reads.
    """

    obs_dim: Any
    action_spec: ActionSpec
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    memory: str | None = None
    memory_size: int = 128
    critic_hidden_sizes: tuple[int, ...] = ()
    policy_head: str = "gaussian"
    log_std_init: float = 0.0
    min_std: float = 1e-3
    torso: str = "mlp"
    obs_shape: Any = None
    cnn_channels: tuple[int, ...] = (16, 32)
    cnn_kernels: tuple[int, ...] = (3, 3)
    policy_obs_key: str = DEFAULT_OBS_KEY
    value_obs_key: str = DEFAULT_OBS_KEY

    def __post_init__(self) -> None:
        self.obs_keys  # noqa: B018 - validates the keys now, before anything is traced

    @classmethod
    def from_config(cls, config: Any, env: Any) -> NetworkSpec:
        """The spec of ``config``'s networks for the adapter ``env``.

        Args:
          config: a :class:`~purejaxppo.config.PPOConfig`.
          env: the environment adapter (its ``obs_dim``, ``obs_shape`` and
            ``action_spec``).

        Raises:
          ValueError: an observation key the environment does not have (the
            message lists its keys).
        """
        own = ("obs_dim", "action_spec", "obs_shape")
        copied = {
            f.name: getattr(config, f.name)
            for f in dataclasses.fields(cls)
            if f.name not in own and hasattr(config, f.name)
        }
        obs_keys_for(env, copied["policy_obs_key"], copied["value_obs_key"])  # env's name
        if isinstance(env.obs_dim, Mapping):
            shape: Any = {k: obs_shape_of(env, k) for k in env.obs_dim}
        else:
            shape = obs_shape_of(env)
        return cls(obs_dim=env.obs_dim, action_spec=env.action_spec, obs_shape=shape, **copied)

    @property
    def obs_keys(self) -> ObsKeys:
        """Which part of the observation the actor and the critic read."""
        return obs_keys_for(self, self.policy_obs_key, self.value_obs_key)

    def _dim(self, key: str | None) -> int:
        return int(self.obs_dim if key is None else self.obs_dim[key])

    def _shape(self, key: str | None) -> tuple[int, ...]:
        shape = self.obs_shape
        if isinstance(shape, Mapping):
            shape = shape.get(key) if key is not None else None
        return (self._dim(key),) if shape is None else tuple(int(d) for d in shape)

    @property
    def policy_dim(self) -> int:
        """Length of the actor's input."""
        return self._dim(self.obs_keys.policy)

    @property
    def value_dim(self) -> int:
        """Length of the critic's input."""
        return self._dim(self.obs_keys.value)

    @property
    def policy_shape(self) -> tuple[int, ...]:
        """Unflattened shape of the actor's input."""
        return self._shape(self.obs_keys.policy)

    @property
    def value_shape(self) -> tuple[int, ...]:
        """Unflattened shape of the critic's input."""
        return self._shape(self.obs_keys.value)


def make_networks(
    obs_dim: Any,
    action_spec: ActionSpec,
    hidden_sizes: tuple[int, ...] = (64, 64),
    activation: str = "tanh",
    memory: str | None = None,
    memory_size: int = 128,
    **options: Any,
) -> Networks:
    """Builds the actor-critic functions: :func:`build_networks` of a
    :class:`NetworkSpec` with these fields.

    Args:
      obs_dim: length of the (flat) observation, or ``{key: length}``.
      action_spec: the action space.
      hidden_sizes: actor hidden widths (see :class:`NetworkSpec`).
      activation: hidden activation name.
      memory: ``None`` (feed-forward) or a recurrent core.
      memory_size: width of the torso embedding and of the core's state.
      **options: further :class:`NetworkSpec` fields (``critic_hidden_sizes``,
        ``policy_head``, ``torso``, ``policy_obs_key`` ...).

    Raises:
      ValueError: an unknown option, or a spec :func:`build_networks` refuses.
    """
    names = {f.name for f in dataclasses.fields(NetworkSpec)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise ValueError(f"unknown network option(s) {unknown}; valid: {sorted(names)}")
    spec = NetworkSpec(
        obs_dim=obs_dim,
        action_spec=action_spec,
        hidden_sizes=tuple(hidden_sizes),
        activation=activation,
        memory=memory,
        memory_size=memory_size,
        **options,
    )
    return build_networks(spec)


def build_networks(spec: NetworkSpec) -> Networks:
    """Builds the actor-critic functions for a :class:`NetworkSpec`.

    ``torso="cnn"`` puts a :class:`CNN` over the actor's image input (``obs_shape``
    ``(H, W, C)``) in front of the ``hidden_sizes`` MLP, and over the critic's if its
    input is an image too (feed-forward only). When ``action_spec.masked``, the last
    ``num_actions`` entries of the actor's input are the legal-action mask and the
    policy is a masked :class:`Categorical`.

    Raises:
      ValueError: a continuous-only head for a discrete action space, or a CNN torso
        without an image input (or with memory or another head).
    """
    action_spec, policy_head, activation = spec.action_spec, spec.policy_head, spec.activation
    hidden_sizes, memory, memory_size = tuple(spec.hidden_sizes), spec.memory, spec.memory_size
    log_std_init, min_std, torso = spec.log_std_init, spec.min_std, spec.torso
    keys = spec.obs_keys
    discrete = action_spec.discrete
    if discrete and policy_head != "gaussian":
        raise ValueError(
            f"policy_head {policy_head!r} needs continuous actions; this environment's "
            "actions are discrete (leave policy_head at its default)"
        )
    state_std = not discrete and policy_head in ("gaussian_state_std", "tanh_gaussian")
    act_dim = action_spec.action_dim
    policy_dim, value_dim = spec.policy_dim, spec.value_dim
    # With memory, an asymmetric critic reads its own input instead of the core's
    # feature (see the module docstring).
    own_critic = memory is not None and keys.asymmetric
    if torso not in TORSOS:
        raise ValueError(f"unknown torso {torso!r}; allowed: {list(TORSOS)}")
    if torso == "cnn":
        obs_shape = spec.policy_shape
        if len(obs_shape) != 3 or math.prod(obs_shape) > policy_dim:
            raise ValueError(
                f"torso='cnn' needs an image observation (obs_shape (H, W, C) within "
                f"obs_dim {policy_dim}); this environment's obs_shape is {obs_shape}"
            )
        if len(spec.cnn_channels) != len(spec.cnn_kernels) or not spec.cnn_channels:
            raise ValueError("cnn_channels and cnn_kernels must be non-empty and equally long")
        if memory is not None or state_std:
            raise ValueError(
                "torso='cnn' is implemented for feed-forward policies with the default "
                "policy_head; use memory=None and policy_head='gaussian' (or torso='mlp')"
            )

    def build(
        shape: tuple[int, ...], sizes: tuple[int, ...], out_size: int, scale: float
    ) -> nn.Module:
        if torso == "cnn" and len(shape) == 3:
            return CNN(
                shape,
                tuple(spec.cnn_channels),
                tuple(spec.cnn_kernels),
                tuple(sizes),
                out_size,
                scale,
                activation,
            )
        return MLP(tuple(sizes), out_size, scale, activation)

    actor_out = act_dim * (2 if state_std else 1)
    critic_sizes = tuple(spec.critic_hidden_sizes or hidden_sizes)
    actor = build(spec.policy_shape, hidden_sizes, actor_out, 0.01)
    critic = build(spec.value_shape, critic_sizes, 1, 1.0)
    last_layer = f"Dense_{len(hidden_sizes)}"
    masked = bool(getattr(action_spec, "masked", False)) and discrete
    num_actions = action_spec.num_actions

    def head_params(
        params: dict[str, Any], key: jax.Array, actor_in: int, critic_in: int, log_std0: Any
    ) -> dict[str, Any]:
        log_std0 = log_std_init if log_std0 is None else log_std0
        # With memory the heads take Flax's per-layer init: that is what they have
        # always had (the name ``torso`` used to be rebound to the memory torso's
        # Dense layer by the time this ran, so the comparison with "mlp" was False).
        if torso == "mlp" and memory is None and _ONE_DRAW_INIT:
            params["actor"], params["critic"] = init_mlps(
                key,
                [
                    (actor_in, tuple(hidden_sizes), actor_out, 0.01),
                    (critic_in, critic_sizes, 1, 1.0),
                ],
            )
        else:
            k_actor, k_critic = jax.random.split(key)
            dummy = jnp.zeros((1, actor_in), jnp.float32)
            critic_dummy = dummy if critic_in == actor_in else jnp.zeros((1, critic_in))
            params["actor"] = actor.init(k_actor, dummy)["params"]
            params["critic"] = critic.init(k_critic, critic_dummy)["params"]
        if state_std:
            bias0 = _inverse_softplus(jnp.exp(jnp.asarray(log_std0, jnp.float32)) - min_std)
            head = dict(params["actor"][last_layer])
            head["bias"] = head["bias"].at[act_dim:].set(bias0)
            params["actor"] = {**params["actor"], last_layer: head}
        elif not discrete:
            params["log_std"] = jnp.full((act_dim,), log_std0, jnp.float32)
        return params

    def policy_fn(params: dict[str, Any], features: jax.Array, obs: jax.Array):
        out = cast(jax.Array, actor.apply({"params": params["actor"]}, features))
        if masked:
            return Categorical(out, obs[..., -num_actions:] > 0.5)
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

    def value_fn(params: dict[str, Any], features: jax.Array) -> jax.Array:
        return cast(jax.Array, critic.apply({"params": params["critic"]}, features))[..., 0]

    if memory is None:
        # Feed-forward: the heads see their inputs themselves (empty torso, no core).
        def init(key: jax.Array, log_std0: Any = None) -> dict[str, Any]:
            return head_params({}, key, policy_dim, value_dim, log_std0)

        def policy(params: dict[str, Any], obs: Any):
            x = keys.policy_input(obs)
            return policy_fn(params, x, x)

        def value(params: dict[str, Any], obs: Any) -> jax.Array:
            return value_fn(params, keys.value_input(obs))

        def policy_and_value(params: dict[str, Any], obs: Any):
            return policy(params, obs), value(params, obs)

        def step(params, carry, obs, reset):
            dist, value = policy_and_value(params, obs)
            return dist, value, carry

        def act(params, carry, obs, reset):
            return policy(params, obs), carry

        return Networks(
            init,
            policy,
            value,
            policy_and_value,
            action_spec,
            has_memory=False,
            initial_carry=lambda n: (),
            step=step,
            unroll=step,
            act=act,
            obs_keys=keys,
        )

    from purejaxppo.memory import make_core

    core = make_core(memory, memory_size)
    torso_layer = nn.Dense(
        memory_size,
        kernel_init=orthogonal(HIDDEN_GAIN),
        bias_init=nn.initializers.zeros,
    )
    act_fn = _ACTIVATIONS[activation]

    def init_memory(key: jax.Array, log_std0: Any = None) -> dict[str, Any]:
        k_torso, k_core, k_heads = jax.random.split(key, 3)
        params = {
            "torso": torso_layer.init(k_torso, jnp.zeros((1, policy_dim), jnp.float32))["params"],
            "core": core.init(k_core, memory_size),
        }
        critic_in = value_dim if own_critic else core.size
        return head_params(params, k_heads, core.size, critic_in, log_std0)

    def embed(params: dict[str, Any], obs: Any) -> jax.Array:
        x = keys.policy_input(obs)
        return act_fn(cast(jax.Array, torso_layer.apply({"params": params["torso"]}, x)))

    def critic_value(params: dict[str, Any], h: jax.Array, obs: Any) -> jax.Array:
        return value_fn(params, keys.value_input(obs) if own_critic else h)

    def memory_step(params, carry, obs, reset):
        carry, h = core.step(params["core"], carry, embed(params, obs), reset)
        return policy_fn(params, h, keys.policy_input(obs)), critic_value(params, h, obs), carry

    def memory_unroll(params, carry, obs, reset):
        carry, hs = core.unroll(params["core"], carry, embed(params, obs), reset)
        return policy_fn(params, hs, keys.policy_input(obs)), critic_value(params, hs, obs), carry

    def memory_act(params, carry, obs, reset):
        carry, h = core.step(params["core"], carry, embed(params, obs), reset)
        return policy_fn(params, h, keys.policy_input(obs)), carry

    return Networks(
        init_memory,
        _memory_only("policy"),
        _memory_only("value"),
        _memory_only("policy_and_value"),
        action_spec,
        has_memory=True,
        initial_carry=core.initial_carry,
        step=memory_step,
        unroll=memory_unroll,
        act=memory_act,
        obs_keys=keys,
    )
