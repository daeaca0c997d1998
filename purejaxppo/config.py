"""Frozen, validated PPO configuration.

:class:`PPOConfig` holds every hyperparameter. Its fields fall in two groups:

* **static** fields fix shapes or the program's structure (``num_envs``,
  ``num_steps``, ``num_minibatches``, ``hidden_sizes``, ``objective``, flags ...).
  Changing one means compiling a new program.
* **traced** fields (:data:`TRACED_FIELDS`) are plain numbers that enter the compiled
  program as values. :meth:`PPOConfig.hparams` packs them into an :class:`HParams`
  pytree, so one compiled ``train`` function can be ``vmap``-ed over many settings
  (see ``purejaxppo.sweep``).

Validation happens in ``__post_init__``: a bad value raises one ``ValueError`` that
says what was wrong and what is allowed, before anything is traced or compiled.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax.numpy as jnp
from flax import struct

ACTIVATIONS = ("tanh", "relu", "elu", "gelu", "silu")
TORSOS = ("mlp", "cnn")
OBJECTIVES = ("clip", "kl_penalty")

# Hyperparameters that enter the compiled program as traced values.
TRACED_FIELDS = (
    "learning_rate",
    "gamma",
    "gae_lambda",
    "clip_eps",
    "vf_clip_eps",
    "vf_coef",
    "ent_coef",
    "max_grad_norm",
    "adam_eps",
    "kl_target",
    "kl_beta_init",
)

# int32 step counters inside the compiled program must not overflow.
_MAX_TIMESTEPS = 2**31 - 1


@struct.dataclass
class HParams:
    """The traced hyperparameters, as float32 scalars (or arrays under ``vmap``)."""

    learning_rate: Any
    gamma: Any
    gae_lambda: Any
    clip_eps: Any
    vf_clip_eps: Any
    vf_coef: Any
    ent_coef: Any
    max_grad_norm: Any
    adam_eps: Any
    kl_target: Any
    kl_beta_init: Any


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters; defaults are the well-known CartPole settings.

    Attributes:
      env_name: a registered environment name (see ``purejaxppo.envs.env_names()``).
      total_timesteps: environment steps to train, summed over all envs. Training
        runs ``num_updates = ceil(total_timesteps / batch_size)`` updates, so the
        steps actually trained (``steps_trained``) are the smallest multiple of
        ``batch_size`` that is >= ``total_timesteps``; never fewer than asked.
      num_envs: parallel environments (static).
      num_steps: steps per environment per update (rollout length, static).
      update_epochs: K, passes over each batch (static).
      num_minibatches: minibatches per epoch; must divide ``num_envs * num_steps``.
      learning_rate: Adam step size (traced).
      anneal_lr: linearly anneal the learning rate to 0 over the updates.
      gamma: discount factor in [0, 1] (traced).
      gae_lambda: GAE lambda in [0, 1] (traced).
      clip_eps: PPO ratio clip epsilon (traced).
      clip_vloss: clip the value loss around the old value predictions (on by
        default, as in cleanrl's and purejaxrl's PPO).
      vf_clip_eps: epsilon of the value clipping (traced; used if ``clip_vloss``).
      vf_coef: value loss coefficient (traced).
      ent_coef: entropy bonus coefficient (traced).
      max_grad_norm: global gradient-norm clip (traced).
      adam_eps: Adam epsilon (traced).
      norm_adv: normalize advantages per minibatch.
      objective: ``"clip"`` (clipped surrogate) or ``"kl_penalty"`` (adaptive KL).
      kl_target: d_targ of the adaptive-KL objective (traced).
      kl_beta_init: initial KL penalty coefficient beta (traced).
      activation: hidden activation, one of :data:`ACTIVATIONS`.
      hidden_sizes: hidden layer widths of both actor and critic (static).
      torso: ``"mlp"`` (the observation goes straight into the MLP) or ``"cnn"``
        (convolutions over the environment's image ``obs_shape`` first; see
        ``purejaxppo.networks.CNN``). Static.
      cnn_channels: output channels of each convolution (``torso="cnn"``; static).
      cnn_kernels: square kernel size of each convolution, as long as
        ``cnn_channels`` (static).
      normalize_obs: keep running observation statistics in the train state.
      normalize_reward: scale rewards by the running std of the discounted return.
      obs_clip: clip normalized observations to [-obs_clip, obs_clip].
      reward_clip: clip scaled rewards to [-reward_clip, reward_clip].
      norm_eps: epsilon added to variances before dividing.
      reward_scale: positive constant multiplying the rewards used for training (GAE
        targets, before ``normalize_reward``); reported episode returns stay
        unscaled. Static: it is folded into the compiled program (brax-style
        "reward scaling"; ``1.0`` leaves the program unchanged).
      env_kwargs: extra keyword arguments for the environment factory, as a tuple of
        ``(name, value)`` pairs (kept hashable), e.g. ``(("backend", "spring"),)``.
    """

    env_name: str = "CartPole-v1"
    total_timesteps: int = 500_000
    num_envs: int = 4
    num_steps: int = 128
    update_epochs: int = 4
    num_minibatches: int = 4
    learning_rate: float = 2.5e-4
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    clip_vloss: bool = True
    vf_clip_eps: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    max_grad_norm: float = 0.5
    adam_eps: float = 1e-5
    norm_adv: bool = True
    objective: str = "clip"
    kl_target: float = 0.01
    kl_beta_init: float = 1.0
    activation: str = "tanh"
    hidden_sizes: tuple[int, ...] = (64, 64)
    torso: str = "mlp"
    cnn_channels: tuple[int, ...] = (16, 32)
    cnn_kernels: tuple[int, ...] = (3, 3)
    normalize_obs: bool = False
    normalize_reward: bool = False
    obs_clip: float = 10.0
    reward_clip: float = 10.0
    norm_eps: float = 1e-8
    reward_scale: float = 1.0
    env_kwargs: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        _validate(self)

    # ----------------------------------------------------------------- derived sizes
    @property
    def batch_size(self) -> int:
        """Transitions collected per update: ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        """Transitions per gradient step."""
        return self.batch_size // self.num_minibatches

    @property
    def num_updates(self) -> int:
        """PPO iterations: ``ceil(total_timesteps / batch_size)``."""
        return math.ceil(self.total_timesteps / self.batch_size)

    @property
    def steps_trained(self) -> int:
        """Exact number of env steps ``train`` will take (>= ``total_timesteps``)."""
        return self.num_updates * self.batch_size

    # --------------------------------------------------------------------- helpers
    def hparams(self) -> HParams:
        """The traced hyperparameters as float32 scalars."""
        return HParams(
            **{name: jnp.asarray(getattr(self, name), jnp.float32) for name in TRACED_FIELDS}
        )

    def replace(self, **changes: Any) -> PPOConfig:
        """A copy with ``changes`` applied (validated again)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(
                f"unknown PPOConfig field(s) {unknown}; valid fields: {field_names()}"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of all fields."""
        out = dataclasses.asdict(self)
        out["hidden_sizes"] = list(self.hidden_sizes)
        out["cnn_channels"] = list(self.cnn_channels)
        out["cnn_kernels"] = list(self.cnn_kernels)
        out["env_kwargs"] = {k: v for k, v in self.env_kwargs}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PPOConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        data = dict(data)
        unknown = sorted(set(data) - set(field_names()))
        if unknown:
            raise ValueError(
                f"unknown PPOConfig field(s) {unknown}; valid fields: {field_names()}"
            )
        for name in ("hidden_sizes", "cnn_channels", "cnn_kernels"):
            if name in data:
                data[name] = tuple(data[name])
        if "env_kwargs" in data and isinstance(data["env_kwargs"], dict):
            data["env_kwargs"] = tuple(sorted(data["env_kwargs"].items()))
        elif "env_kwargs" in data:
            data["env_kwargs"] = tuple(tuple(pair) for pair in data["env_kwargs"])
        return cls(**data)

    @classmethod
    def preset(cls, env_name: str, /, **overrides: Any) -> PPOConfig:
        """Tuned hyperparameters for ``env_name`` (see ``purejaxppo.presets``)."""
        from purejaxppo.presets import preset_config

        return preset_config(env_name, **overrides)


def field_names() -> list[str]:
    """All PPOConfig field names, in declaration order."""
    return [f.name for f in dataclasses.fields(PPOConfig)]


# ------------------------------------------------------------------------ validation
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _validate(c: PPOConfig) -> None:
    for name in ("total_timesteps", "num_envs", "num_steps", "update_epochs", "num_minibatches"):
        value = getattr(c, name)
        if not _is_int(value) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name in ("learning_rate", "clip_eps", "vf_clip_eps", "max_grad_norm", "adam_eps",
                 "kl_target", "obs_clip", "reward_clip", "norm_eps", "reward_scale"):
        value = getattr(c, name)
        if not _is_number(value) or not value > 0 or not math.isfinite(value):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    for name in ("vf_coef", "ent_coef", "kl_beta_init"):
        value = getattr(c, name)
        if not _is_number(value) or not value >= 0 or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    for name in ("gamma", "gae_lambda"):
        value = getattr(c, name)
        if not _is_number(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    for name in ("anneal_lr", "clip_vloss", "norm_adv", "normalize_obs", "normalize_reward"):
        if not isinstance(getattr(c, name), bool):
            raise ValueError(f"{name} must be True or False, got {getattr(c, name)!r}")
    if c.batch_size % c.num_minibatches != 0:
        raise ValueError(
            f"num_envs * num_steps = {c.num_envs} * {c.num_steps} = {c.batch_size} is not "
            f"divisible by num_minibatches = {c.num_minibatches}; choose num_minibatches "
            f"among the divisors of {c.batch_size}"
        )
    if c.total_timesteps < c.batch_size:
        raise ValueError(
            f"total_timesteps = {c.total_timesteps} is smaller than one batch "
            f"(num_envs * num_steps = {c.batch_size}); raise total_timesteps or shrink "
            "the batch"
        )
    if c.steps_trained > _MAX_TIMESTEPS:
        raise ValueError(
            f"total_timesteps = {c.total_timesteps} is too large: at most {_MAX_TIMESTEPS} "
            "steps per run are supported (int32 step counters)"
        )
    if c.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {c.activation!r}; allowed: {list(ACTIVATIONS)}")
    if c.objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {c.objective!r}; allowed: {list(OBJECTIVES)}")
    if (
        not isinstance(c.hidden_sizes, tuple)
        or not c.hidden_sizes
        or not all(_is_int(h) and h > 0 for h in c.hidden_sizes)
    ):
        raise ValueError(
            "hidden_sizes must be a non-empty tuple of positive integers, got "
            f"{c.hidden_sizes!r}"
        )
    if c.torso not in TORSOS:
        raise ValueError(f"unknown torso {c.torso!r}; allowed: {list(TORSOS)}")
    for name in ("cnn_channels", "cnn_kernels"):
        value = getattr(c, name)
        if not isinstance(value, tuple) or not value or not all(_is_int(v) and v > 0 for v in value):
            raise ValueError(f"{name} must be a non-empty tuple of positive integers, got {value!r}")
    if len(c.cnn_channels) != len(c.cnn_kernels):
        raise ValueError(
            f"cnn_channels {c.cnn_channels} and cnn_kernels {c.cnn_kernels} must have the "
            "same length (one kernel size per convolution)"
        )
    if not isinstance(c.env_kwargs, tuple) or not all(
        isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in c.env_kwargs
    ):
        raise ValueError(
            "env_kwargs must be a tuple of (name, value) pairs, got " f"{c.env_kwargs!r}"
        )
    if not isinstance(c.env_name, str):
        raise ValueError(f"env_name must be a string, got {c.env_name!r}")
    from purejaxppo.envs import check_env_name, env_names

    check_env_name(c.env_name)
    valid = env_names()
    if c.env_name not in valid:
        raise ValueError(f"unknown env_name {c.env_name!r}; valid names: {valid}")
