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

from purejaxppo.losses import KL_BETA_MAX, KL_BETA_MIN

ACTIVATIONS = ("tanh", "relu", "elu", "gelu", "silu")
TORSOS = ("mlp", "cnn")
OBJECTIVES = ("clip", "kl_penalty", "kl_fixed", "none")
MEMORY_TYPES = ("gru", "lstm", "mingru")
POLICY_HEADS = ("gaussian", "gaussian_state_std", "tanh_gaussian")
RANDOMIZE_MODES = ("init", "reset")
"""When domain randomization draws an environment's parameters (``randomize``)."""
"""Continuous-action policy heads (see ``purejaxppo.distributions``):

* ``"gaussian"``: diagonal Gaussian, state-independent learned ``log_std``; the env
  adapter clips the action to the bounds (the default).
* ``"gaussian_state_std"``: diagonal Gaussian whose std is a function of the state,
  ``std = softplus(s(obs)) + min_std``; clipped by the adapter like ``"gaussian"``.
* ``"tanh_gaussian"``: that state-dependent Gaussian squashed by ``tanh`` and rescaled
  to the action bounds (brax's default), with the exact log-det-Jacobian correction.
"""

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
    "log_std_init",
)

# The compiled program counts UPDATES in int32 (and lax.scan's trip count is int32);
# env steps are derived from that count on the host as int64 (``train.env_steps``).
_MAX_UPDATES = 2**31 - 1
_MAX_ENV_STEPS = 2**63 - 1


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
    log_std_init: Any


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters; defaults are the well-known CartPole settings.

    Attributes:
      env_name: a registered environment name (see ``purejaxppo.envs.env_names()``).
      total_timesteps: environment steps to train, summed over all envs. Training
        runs ``num_updates = ceil(total_timesteps / batch_size)`` updates, so the
        steps actually trained (``steps_trained``) are the smallest multiple of
        ``batch_size`` that is >= ``total_timesteps``; never fewer than asked. Any
        count up to ``2^31 - 1`` updates per run (e.g. 1e12 steps with batches of
        466 transitions or more); step counts are exact at any size.
      num_envs: parallel environments (static).
      num_steps: steps per environment per update (rollout length, static).
      update_epochs: K, passes over each batch (static).
      num_minibatches: minibatches per epoch; must divide ``num_envs * num_steps``.
      learning_rate: Adam step size (traced).
      anneal_lr: anneal the learning rate linearly over the updates: update ``i``
        (from 0) uses ``lr * (num_updates - i) / num_updates``, so the last one uses
        ``lr / num_updates`` (as cleanrl).
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
      objective: ``"clip"`` (clipped surrogate), ``"kl_penalty"`` (KL penalty with
        the adaptive coefficient), ``"kl_fixed"`` (KL penalty with the constant
        coefficient ``kl_beta_init``) or ``"none"`` (the bare surrogate ``r * A``:
        no clipping, no penalty; the PPO paper's Table 1 baseline).
      kl_target: d_targ of the adaptive-KL objective (traced).
      kl_beta_init: initial KL penalty coefficient beta (traced; the constant beta
        of ``objective="kl_fixed"``). With
        ``objective="kl_penalty"`` it must lie in [1e-6, 1e6], the range the adapted
        beta is kept in (``purejaxppo.losses.adapt_kl_beta``).
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
      memory: ``None`` (feed-forward policy, the default) or a recurrent core of
        :data:`MEMORY_TYPES`: ``"gru"``, ``"lstm"`` or ``"mingru"`` (a minimal gated
        RNN whose sequences are computed by a parallel associative scan). With
        memory, minibatches are whole environment sequences (static).
      memory_size: width of the memory torso and of the core's state (static).
      memory_chunk: ``None`` (replay each environment's whole rollout as one
        sequence) or a length ``L`` dividing ``num_steps``: the rollout is cut into
        chunks of ``L`` steps, each replayed from the carry stored when the rollout
        reached it (static).
      critic_hidden_sizes: hidden layer widths of the critic (static); ``()`` (the
        default) means the same as ``hidden_sizes``.
      policy_head: continuous-action head, one of :data:`POLICY_HEADS` (static;
        ignored for discrete actions only when left at ``"gaussian"``).
      log_std_init: initial log standard deviation of the (pre-squash) Gaussian,
        ``std_0 = exp(log_std_init)`` (traced: it only sets initial parameters, so
        it can be swept). For the state-dependent heads the std layer's bias starts
        at ``softplus^{-1}(std_0 - min_std)`` with near-zero weights, so swept values
        must keep ``exp(log_std_init) > min_std`` too (checked here for the config's
        own value only).
      min_std: lower bound added to the softplus std of the state-dependent heads,
        ``std = softplus(.) + min_std`` (static: it is a constant of the compiled
        policy function; brax uses 0.001). Unused by ``"gaussian"``.
      policy_obs_key: the key of a dict observation the actor reads (brax's and
        Playground's ``"state"`` by default; an array observation is read whole and
        accepts only the default). Static.
      value_obs_key: the key of a dict observation the critic reads, e.g.
        ``"privileged_state"`` for an asymmetric actor-critic whose critic sees
        state the actor will not have (training only). Static.
      randomize: domain randomization: ``None`` (off), ``"init"`` (each environment
        draws its parameters once) or ``"reset"`` (drawn again at every episode
        start). The drawn parameters live in the env state. Static.
      randomize_ranges: what ``randomize`` draws, as ``(field, low, high)`` triples,
        uniform and independent per environment: gymnax ``EnvParams`` fields take
        the values themselves (e.g. ``(("length", 0.25, 1.0),)``), brax and
        playground system fields a factor on the nominal value (e.g.
        ``(("geom_friction", 0.5, 1.5),)``). On the command line:
        ``length=0.25:1.0,masspole=0.05:0.2``. A function is passed as an env
        instead (``purejaxppo.envs.randomize.randomize_env``).
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
    memory: str | None = None
    memory_size: int = 128
    memory_chunk: int | None = None
    critic_hidden_sizes: tuple[int, ...] = ()
    policy_head: str = "gaussian"
    log_std_init: float = 0.0
    min_std: float = 1e-3
    policy_obs_key: str = "state"
    value_obs_key: str = "state"
    randomize: str | None = None
    randomize_ranges: tuple[tuple[str, float, float], ...] = ()

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
        """PPO iterations: ``ceil(total_timesteps / batch_size)`` (integer arithmetic,
        exact at any size)."""
        return -(-self.total_timesteps // self.batch_size)

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
            raise ValueError(f"unknown PPOConfig field(s) {unknown}; valid fields: {field_names()}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of all fields."""
        out = dataclasses.asdict(self)
        out["hidden_sizes"] = list(self.hidden_sizes)
        out["critic_hidden_sizes"] = list(self.critic_hidden_sizes)
        out["cnn_channels"] = list(self.cnn_channels)
        out["cnn_kernels"] = list(self.cnn_kernels)
        out["env_kwargs"] = {k: v for k, v in self.env_kwargs}
        out["randomize_ranges"] = {k: [low, high] for k, low, high in self.randomize_ranges}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PPOConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        data = dict(data)
        unknown = sorted(set(data) - set(field_names()))
        if unknown:
            raise ValueError(f"unknown PPOConfig field(s) {unknown}; valid fields: {field_names()}")
        for name in ("hidden_sizes", "critic_hidden_sizes", "cnn_channels", "cnn_kernels"):
            if name in data:
                data[name] = tuple(data[name])
        if "env_kwargs" in data and isinstance(data["env_kwargs"], dict):
            data["env_kwargs"] = tuple(sorted(data["env_kwargs"].items()))
        elif "env_kwargs" in data:
            data["env_kwargs"] = tuple(tuple(pair) for pair in data["env_kwargs"])
        if "randomize_ranges" in data:
            data["randomize_ranges"] = ranges_tuple(data["randomize_ranges"])
        return cls(**data)

    @classmethod
    def preset(cls, env_name: str, /, **overrides: Any) -> PPOConfig:
        """Tuned hyperparameters for ``env_name`` (see ``purejaxppo.presets``)."""
        if _PRESET_SOURCE is None:  # pragma: no cover - ``import purejaxppo`` registers it
            raise ValueError("no presets are registered; import purejaxppo.presets first")
        return _PRESET_SOURCE(env_name, **overrides)


# Presets are layered on top of this module: ``purejaxppo.presets`` registers its
# ``preset_config`` here when it is imported (``import purejaxppo`` imports it), so
# this module never imports the presets.
_PRESET_SOURCE: Any = None


def register_presets(source: Any) -> None:
    """Makes :meth:`PPOConfig.preset` call ``source(env_name, **overrides)``."""
    global _PRESET_SOURCE
    _PRESET_SOURCE = source


def ranges_tuple(ranges: Any) -> Any:
    """``randomize_ranges`` as the config keeps them, ``((field, low, high), ...)``,
    from a mapping ``{field: (low, high)}`` or a list of triples (JSON, YAML);
    anything else is returned as is (and refused by validation)."""
    if isinstance(ranges, dict):
        return tuple((k, *v) if isinstance(v, (list, tuple)) else (k, v) for k, v in ranges.items())
    if isinstance(ranges, list):
        return tuple(tuple(r) if isinstance(r, (list, tuple)) else r for r in ranges)
    return ranges


def field_names() -> list[str]:
    """All PPOConfig field names, in declaration order."""
    return [f.name for f in dataclasses.fields(PPOConfig)]


def field_docs() -> dict[str, str]:
    """``{field: description}`` read from the ``Attributes:`` section of
    :class:`PPOConfig`'s docstring, the single source of every field's meaning (the
    command line's ``--help`` shows it). Descriptions are joined onto one line."""
    docs: dict[str, str] = {}
    current = None
    lines = (PPOConfig.__doc__ or "").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "Attributes:")
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped:
            break
        indent = len(line) - len(line.lstrip())
        name, sep, text = stripped.partition(":")
        if sep and name.isidentifier() and indent <= 6:
            current = name
            docs[name] = text.strip()
        elif current is not None:
            docs[current] += " " + stripped
    return docs


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
    for name in (
        "learning_rate",
        "clip_eps",
        "vf_clip_eps",
        "max_grad_norm",
        "adam_eps",
        "kl_target",
        "obs_clip",
        "reward_clip",
        "norm_eps",
        "reward_scale",
    ):
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
    if c.num_updates > _MAX_UPDATES:
        raise ValueError(
            f"total_timesteps = {c.total_timesteps} needs {c.num_updates} updates of "
            f"num_envs * num_steps = {c.batch_size} steps; at most {_MAX_UPDATES} updates "
            "per run are supported (int32 update counter): raise num_envs or num_steps "
            f"to make batches of at least {-(-c.total_timesteps // _MAX_UPDATES)} steps"
        )
    if c.steps_trained > _MAX_ENV_STEPS:
        raise ValueError(
            f"total_timesteps = {c.total_timesteps} is too large: at most {_MAX_ENV_STEPS} "
            "env steps per run (int64 step counts)"
        )
    if c.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {c.activation!r}; allowed: {list(ACTIVATIONS)}")
    if c.objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {c.objective!r}; allowed: {list(OBJECTIVES)}")
    if c.objective == "kl_penalty" and not KL_BETA_MIN <= c.kl_beta_init <= KL_BETA_MAX:
        raise ValueError(
            f"objective='kl_penalty' needs kl_beta_init in [{KL_BETA_MIN:g}, "
            f"{KL_BETA_MAX:g}] (the range the adaptive beta is kept in; at 0 the KL "
            f"penalty is off for good), got {c.kl_beta_init!r}"
        )
    if (
        not isinstance(c.hidden_sizes, tuple)
        or not c.hidden_sizes
        or not all(_is_int(h) and h > 0 for h in c.hidden_sizes)
    ):
        raise ValueError(
            f"hidden_sizes must be a non-empty tuple of positive integers, got {c.hidden_sizes!r}"
        )
    if not isinstance(c.critic_hidden_sizes, tuple) or not all(
        _is_int(h) and h > 0 for h in c.critic_hidden_sizes
    ):
        raise ValueError(
            "critic_hidden_sizes must be a tuple of positive integers (empty = same as "
            f"hidden_sizes), got {c.critic_hidden_sizes!r}"
        )
    if c.policy_head not in POLICY_HEADS:
        raise ValueError(f"unknown policy_head {c.policy_head!r}; allowed: {list(POLICY_HEADS)}")
    if not _is_number(c.log_std_init) or not -20.0 <= c.log_std_init <= 5.0:
        raise ValueError(f"log_std_init must be a number in [-20, 5], got {c.log_std_init!r}")
    if not _is_number(c.min_std) or not 0.0 < c.min_std < 1.0:
        raise ValueError(f"min_std must be a number in (0, 1), got {c.min_std!r}")
    if c.policy_head != "gaussian" and not math.exp(c.log_std_init) > c.min_std:
        raise ValueError(
            f"policy_head {c.policy_head!r} needs exp(log_std_init) > min_std (the std "
            f"is softplus(.) + min_std), got log_std_init={c.log_std_init!r} "
            f"(std {math.exp(c.log_std_init):.3g}) and min_std={c.min_std!r}"
        )
    if c.torso not in TORSOS:
        raise ValueError(f"unknown torso {c.torso!r}; allowed: {list(TORSOS)}")
    for name in ("cnn_channels", "cnn_kernels"):
        value = getattr(c, name)
        if (
            not isinstance(value, tuple)
            or not value
            or not all(_is_int(v) and v > 0 for v in value)
        ):
            raise ValueError(
                f"{name} must be a non-empty tuple of positive integers, got {value!r}"
            )
    if len(c.cnn_channels) != len(c.cnn_kernels):
        raise ValueError(
            f"cnn_channels {c.cnn_channels} and cnn_kernels {c.cnn_kernels} must have the "
            "same length (one kernel size per convolution)"
        )
    if not isinstance(c.env_kwargs, tuple) or not all(
        isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in c.env_kwargs
    ):
        raise ValueError(f"env_kwargs must be a tuple of (name, value) pairs, got {c.env_kwargs!r}")
    _validate_memory(c)
    _validate_obs_and_randomize(c)
    if not isinstance(c.env_name, str):
        raise ValueError(f"env_name must be a string, got {c.env_name!r}")
    from purejaxppo.envs import check_env_name, env_names

    check_env_name(c.env_name)
    valid = env_names()
    if c.env_name not in valid:
        raise ValueError(f"unknown env_name {c.env_name!r}; valid names: {valid}")
    if c.env_kwargs and not c.env_name.startswith("brax/"):
        # gymnax envs are cheap to build: refuse keyword arguments the env does not take
        # now rather than when the train function is built. (brax envs are checked
        # when they are built: constructing one here would cost seconds.)
        from purejaxppo.envs import make_env

        try:
            make_env(c.env_name, **dict(c.env_kwargs))
        except TypeError as err:
            raise ValueError(
                f"env_kwargs {dict(c.env_kwargs)!r} are not accepted by {c.env_name}: {err}"
            ) from None
    _validate_torso(c)


def _validate_obs_and_randomize(c: PPOConfig) -> None:
    for name in ("policy_obs_key", "value_obs_key"):
        value = getattr(c, name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if c.randomize is not None and c.randomize not in RANDOMIZE_MODES:
        raise ValueError(
            f"unknown randomize {c.randomize!r}; allowed: None (off) or one of "
            f"{list(RANDOMIZE_MODES)}"
        )
    if not isinstance(c.randomize_ranges, tuple) or not all(
        isinstance(r, tuple) for r in c.randomize_ranges
    ):
        raise ValueError(
            "randomize_ranges must be a tuple of (field, low, high) triples, got "
            f"{c.randomize_ranges!r}"
        )
    if c.randomize_ranges:
        from purejaxppo.envs.randomize import check_ranges

        check_ranges(c.randomize_ranges)
    if c.randomize is not None and not c.randomize_ranges:
        raise ValueError(
            f"randomize={c.randomize!r} needs randomize_ranges, e.g. "
            "(('length', 0.25, 1.0),); to randomize with a function, pass "
            "env=purejaxppo.envs.randomize.randomize_env(env, fn, mode) instead"
        )
    if c.randomize is None and c.randomize_ranges:
        raise ValueError(
            "randomize_ranges are given but randomize is None; set randomize='init' "
            "(drawn once per environment) or 'reset' (drawn at every episode start)"
        )
    # The keys and the range fields are checked against the environment when the
    # train function is built (``make_trainer``), before anything is compiled: the
    # config alone does not know whether ``env=`` will replace ``env_name``.


def _validate_memory(c: PPOConfig) -> None:
    if c.memory is not None and c.memory not in MEMORY_TYPES:
        raise ValueError(
            f"unknown memory {c.memory!r}; allowed: None (feed-forward) or one of "
            f"{list(MEMORY_TYPES)}"
        )
    if not _is_int(c.memory_size) or c.memory_size <= 0:
        raise ValueError(f"memory_size must be a positive integer, got {c.memory_size!r}")
    if c.memory_chunk is not None:
        if not _is_int(c.memory_chunk) or c.memory_chunk <= 0:
            raise ValueError(
                f"memory_chunk must be None or a positive integer, got {c.memory_chunk!r}"
            )
        if c.memory is None:
            raise ValueError("memory_chunk needs a memory (memory='gru', 'lstm' or 'mingru')")
        if c.num_steps % c.memory_chunk:
            raise ValueError(
                f"memory_chunk = {c.memory_chunk} does not divide num_steps = "
                f"{c.num_steps}; choose a divisor of {c.num_steps}"
            )
    if c.memory is not None:
        sequences = c.num_envs * (c.num_steps // (c.memory_chunk or c.num_steps))
        if sequences % c.num_minibatches:
            what = (
                f"num_envs = {c.num_envs}"
                if c.memory_chunk is None
                else f"the {sequences} sequences (num_envs * num_steps / memory_chunk)"
            )
            raise ValueError(
                f"with memory, minibatches are whole sequences: num_minibatches = "
                f"{c.num_minibatches} must divide {what}"
            )


def _validate_torso(c: PPOConfig) -> None:
    """``torso='cnn'`` needs an image observation: checked on the built environment
    (gymnax and suite envs build in milliseconds; brax envs have no images)."""
    if c.torso != "cnn":
        return
    if c.memory is not None or c.policy_head != "gaussian":
        raise ValueError(
            "torso='cnn' is implemented for feed-forward policies with the default "
            f"policy_head; got memory={c.memory!r}, policy_head={c.policy_head!r}"
        )
    if c.env_name.startswith("brax/"):
        raise ValueError(f"torso='cnn' needs image observations; {c.env_name} has none")
    from purejaxppo.envs import make_env
    from purejaxppo.envs.base import obs_shape_of

    shape = obs_shape_of(make_env(c.env_name, **dict(c.env_kwargs)))
    if len(shape) != 3:
        raise ValueError(
            f"torso='cnn' needs an image observation (H, W, C); {c.env_name} observations "
            f"have shape {shape}: use torso='mlp'"
        )
