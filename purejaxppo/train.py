"""``make_train(config) -> train(rng)``: the whole of PPO as one pure function.

``train`` initialises the networks and environments, then runs ``num_updates`` PPO
iterations in a ``lax.scan``. Each iteration collects a rollout, updates the
normalization statistics, computes GAE and runs K epochs of minibatch updates; all of
it traces into a single program, so ``jax.jit(train)`` compiles once and
``jax.vmap(train)`` trains many seeds (or hyperparameter settings) at once.

Observation normalization is frozen within an update: the rollout (and the value
estimates used for GAE) normalize with ``state.obs_rms`` as it was at the START of the
update; the rollout's raw observations are merged into the statistics afterwards, so
the statistics are exactly those of every observation the policy has been shown.
They live in :class:`TrainState` (one set per seed under ``vmap``), never in the env
state.

Observations may be dicts (``{"state": ..., "privileged_state": ...}``): the
networks read the keys ``config.policy_obs_key`` (actor) and
``config.value_obs_key`` (critic) (:class:`purejaxppo.networks.NetworkSpec`), the
rollout stores only those keys (:func:`network_obs`), and normalization keeps one
set of statistics per key. Domain randomization (``config.randomize``) wraps the
adapter (:mod:`purejaxppo.envs.randomize`): the drawn parameters live in the env
state.

Policies with memory (``config.memory``) run through the same function: the train
state carries the core's carry and the episode-start flags, the rollout threads them
through the environment steps, the values used by GAE are the ones the rollout
computed (each with the carry its observation saw; a truncated step is bootstrapped
with V(final observation) computed from the carry after that step), and the update
replays whole sequences from their stored carries (``purejaxppo.update``).
``config.reward_scale`` multiplies the rewards used for training only; reported
episode returns are always the raw ones.

Step counts: the train state counts UPDATES in int32 (``update_step``) and the env
steps are derived from it on the host, exactly, as Python / int64 numpy integers
(:func:`env_steps`, ``update_step * batch_size``): runs may take any number of env
steps up to 2^31 - 1 updates (:class:`PPOConfig` checks), without x64 in the
compiled program.

The pieces are also available separately (:func:`make_trainer`) for chunked
training, checkpointing and sharding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from purejaxppo import guard, losses, sharding
from purejaxppo.config import HParams, PPOConfig
from purejaxppo.envs import EnvAdapter, make_env, wrap_gymnax
from purejaxppo.gae import compute_gae
from purejaxppo.networks import Networks, NetworkSpec, build_networks
from purejaxppo.normalize import (
    RewardScaler,
    RunningMeanStd,
    obs_normalize,
    obs_rms_init,
    reward_scaler_init,
    rms_init,
    rms_normalize,
    rms_update,
    scale_rewards,
)
from purejaxppo.rollout import collect_rollout
from purejaxppo.update import Batch, make_optimizer, packed_argsort, run_epochs, to_sequences

METRIC_NAMES = (
    "episode_return",
    "episode_length",
    "episodes_completed",
    "update_step",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "explained_variance",
    "learning_rate",
    "kl_beta",
    "nonfinite",
)


@struct.dataclass
class TrainState:
    """Everything ``train`` carries from one update to the next.

    Attributes:
      params: network parameters.
      opt_state: optimizer state.
      env_state: batched environment state.
      obs: ``[num_envs, obs_dim]`` current raw observations (a dict of such arrays
        for a dict observation).
      ep_return: ``[num_envs]`` undiscounted return of the running episodes.
      ep_length: ``[num_envs]`` length of the running episodes.
      last_return: mean return of the most recent update with a completed episode
        (NaN until one completes).
      last_length: likewise for episode length.
      obs_rms: running observation statistics (``None`` if not normalizing; a dict
        ``{key: RunningMeanStd}`` of the keys the networks read for a dict
        observation).
      reward_scaler: running return statistics (``None`` if not scaling rewards).
      kl_beta: KL penalty coefficient: adapted every update for
        ``objective="kl_penalty"``, constant ``kl_beta_init`` otherwise.
      rng: PRNG key for the next update.
      update_step: updates done so far (int32; at most ``2^31 - 1`` per run). The env
        steps taken so far are ``update_step * batch_size``, exact on the host:
        :func:`env_steps`.
      carry: the memory core's carry, leading axis ``num_envs`` (``()`` for a
        feed-forward policy).
      start: ``[num_envs]`` bool, true where ``obs`` is the first observation of an
        episode (the carry is reset before the policy sees it); ``None`` for a
        feed-forward policy.
    """

    params: Any
    opt_state: Any
    env_state: Any
    obs: Any
    ep_return: jax.Array
    ep_length: jax.Array
    last_return: jax.Array
    last_length: jax.Array
    obs_rms: Any
    reward_scaler: RewardScaler | None
    kl_beta: jax.Array
    rng: jax.Array
    update_step: jax.Array
    carry: Any = ()
    start: jax.Array | None = None


@struct.dataclass
class TrainOutput:
    """What ``train`` returns.

    Attributes:
      state: the final :class:`TrainState` (parameters, statistics, ...).
      metrics: dict of arrays with leading axis ``num_updates`` (see
        :data:`METRIC_NAMES`); under ``vmap`` an extra leading axis per vmap.
        ``metrics["nonfinite"]`` is the :mod:`purejaxppo.guard` code of each update
        (0: loss, gradients and parameters stayed finite). ``metrics["update_step"]``
        (int32) counts the updates done after each update (1, 2, ...);
        :meth:`env_steps` turns it into exact env-step counts.
    """

    state: TrainState
    # jax arrays from ``train``; numpy arrays from ``train_in_chunks`` (host side).
    metrics: dict[str, Any]

    def env_steps(self, config: PPOConfig) -> np.ndarray:
        """Exact env steps after each update, ``metrics["update_step"] * batch_size``
        as an int64 numpy array of the metrics' shape (host side; see
        :func:`env_steps`)."""
        return env_steps(config, self.metrics["update_step"])

    @property
    def first_nonfinite_update(self) -> jax.Array:
        """Index of the first update whose loss, gradients or parameters went
        non-finite, per run (shape: the vmapped axes), or ``-1`` for a finite run."""
        return guard.first_nonfinite(self.metrics["nonfinite"])


def env_steps(config: PPOConfig, update_step: Any) -> np.ndarray:
    """Exact env steps after ``update_step`` updates: ``update_step * batch_size``.

    The compiled program counts updates in int32 (``TrainState.update_step``,
    ``metrics["update_step"]``); this multiplies on the host in int64, so the counts
    are exact at any run length (up to ``2^31 - 1`` updates; ``PPOConfig`` checks).

    Args:
      config: the run's configuration (its ``batch_size`` env steps per update).
      update_step: update counts: an int, or an integer numpy / jax array of any
        shape (e.g. ``out.state.update_step``, ``out.metrics["update_step"]``).

    Returns:
      An int64 numpy array of ``update_step``'s shape (0-d for a scalar; ``int(...)``
      gives a Python int).

    Raises:
      ValueError: ``update_step`` is traced (call this outside ``jit``), not an
        integer or negative.
    """
    if isinstance(update_step, jax.core.Tracer):
        raise ValueError(
            "env_steps works on concrete update counts on the host; inside a jitted "
            "function use the int32 update_step (env steps = update_step * batch_size)"
        )
    dtype = getattr(update_step, "dtype", None)
    integral = (
        isinstance(update_step, (int, np.integer))
        if dtype is None
        else np.issubdtype(dtype, np.integer)
    )
    if isinstance(update_step, bool) or not integral:
        raise ValueError(f"update_step must hold integers, got {update_step!r}")
    steps = np.asarray(update_step).astype(np.int64)
    if np.any(steps < 0):
        raise ValueError(f"update_step must be >= 0, got {update_step!r}")
    return steps * np.int64(config.batch_size)


def with_env_steps(config: PPOConfig, metrics: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``metrics`` as numpy arrays plus ``"env_steps"``: the exact int64 env steps after
    each update (:func:`env_steps` of ``metrics["update_step"]``), e.g. for logging,
    tables, plots and saved ``metrics.npz`` files.

    Raises:
      ValueError: ``metrics`` has no ``"update_step"``.
    """
    if "update_step" not in metrics:
        raise ValueError(
            f"metrics must include update_step to derive env_steps; got {sorted(metrics)}"
        )
    out = {k: np.asarray(v) for k, v in jax.device_get(dict(metrics)).items()}
    out["env_steps"] = env_steps(config, out["update_step"])
    return out


def learning_rate_at(config: PPOConfig, learning_rate: Any, update_step: jax.Array) -> Any:
    """The learning rate of the update that starts after ``update_step`` updates.

    With ``anneal_lr`` it falls linearly, ``lr * (num_updates - update_step) /
    num_updates``: ``lr`` at the first update and ``lr / num_updates`` at the last
    (as cleanrl's ``1 - (iteration - 1) / num_iterations``; it reaches 0 only after
    the run). The remaining update count is an exact int32 subtraction and the
    fraction one float32 division of two (rounded) integers, so it is correct to a
    few float32 ulps at any run length, including the last updates of runs longer
    than 2^24 updates, where ``1 - update_step / num_updates`` in float32 would round
    to 0 or worse.
    """
    if not config.anneal_lr:
        return learning_rate
    remaining = (jnp.int32(config.num_updates) - update_step).astype(jnp.float32)
    return learning_rate * (remaining / jnp.float32(config.num_updates))


class Trainer(NamedTuple):
    """The pure building blocks behind ``train``.

    Attributes:
      config: the configuration.
      env: the environment adapter.
      networks: the actor-critic functions.
      init: ``(rng, hparams) -> TrainState``.
      update: ``(state, hparams) -> (state, metrics)``, one PPO iteration.
      normalize_obs: ``(state, raw_obs) -> obs`` as the networks see it (frozen stats;
        for a dict observation, the keys they read).
    """

    config: PPOConfig
    env: EnvAdapter
    networks: Networks
    init: Callable[[jax.Array, HParams], TrainState]
    update: Callable[[TrainState, HParams], tuple[TrainState, dict[str, jax.Array]]]
    normalize_obs: Callable[[TrainState, Any], Any]


def resolve_env(config: PPOConfig, env: Any = None, env_params: Any = None) -> EnvAdapter:
    """The adapter for ``env`` (a gymnax Environment or an adapter) or ``config.env_name``,
    wrapped for domain randomization when ``config.randomize`` is set (with
    ``config.randomize_ranges``; a given ``env`` may also be randomized already, see
    :func:`purejaxppo.envs.randomize.randomize_env`)."""
    if env is None:
        if env_params is not None:
            raise ValueError("env_params was given without env; pass both or neither")
        adapter = make_env(config.env_name, **dict(config.env_kwargs))
    elif hasattr(env, "action_spec") and hasattr(env, "obs_dim"):
        if env_params is not None:
            raise ValueError("env_params is only accepted with a gymnax Environment")
        adapter = env
    else:
        adapter = wrap_gymnax(env, env_params)
    if config.randomize is not None:
        from purejaxppo.envs.randomize import RandomizedEnv, randomize_env

        if isinstance(adapter, RandomizedEnv):
            raise ValueError(
                f"config.randomize={config.randomize!r} but the given env is randomized "
                "already; set randomize=None (the env's own randomization is used) or "
                "pass the plain env"
            )
        adapter = randomize_env(adapter, config.randomize_ranges, config.randomize)
    return adapter


def network_obs(nets: Networks, obs: Any) -> Any:
    """The part of ``obs`` the networks read: the keys ``policy_obs_key`` and
    ``value_obs_key`` of a dict observation, an array observation whole."""
    return nets.obs_keys.select(obs)


def _normalize_obs(config: PPOConfig, obs_rms: Any, obs: Any):
    if obs_rms is None:
        return obs
    if isinstance(obs_rms, RunningMeanStd):
        return rms_normalize(obs_rms, obs, config.obs_clip, config.norm_eps)
    return obs_normalize(obs_rms, obs, config.obs_clip, config.norm_eps)


def init_train_state(
    config: PPOConfig, env: EnvAdapter, nets: Networks, rng: jax.Array, hp: HParams
) -> TrainState:
    """Fresh parameters, optimizer state and environments for one run."""
    rng, k_params, k_env = jax.random.split(rng, 3)
    params = nets.init(k_params, hp.log_std_init)
    opt_state = make_optimizer(hp).init(params)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(k_env, config.num_envs))
    n = config.num_envs
    state = TrainState(
        params=params,
        opt_state=opt_state,
        env_state=env_state,
        obs=obs,
        ep_return=jnp.zeros((n,), jnp.float32),
        ep_length=jnp.zeros((n,), jnp.int32),
        last_return=jnp.float32(jnp.nan),
        last_length=jnp.float32(jnp.nan),
        obs_rms=_obs_rms_init(config, env, nets),
        reward_scaler=reward_scaler_init(n) if config.normalize_reward else None,
        kl_beta=jnp.asarray(hp.kl_beta_init, jnp.float32),
        rng=rng,
        update_step=jnp.int32(0),
        carry=nets.initial_carry(n) if nets.has_memory else (),
        start=jnp.ones((n,), bool) if nets.has_memory else None,
    )
    # Updates return strongly typed arrays; a weakly typed leaf here (Craftax's reset
    # builds ``player_direction`` from a Python int) would make a jitted chunk of
    # updates compile twice: once for the initial state, once for its own output.
    return jax.tree.map(_strong_type, state)


def _obs_rms_init(config: PPOConfig, env: EnvAdapter, nets: Networks) -> Any:
    if not config.normalize_obs:
        return None
    if nets.obs_keys.policy is None:
        return rms_init((env.obs_dim,))
    return obs_rms_init({k: env.obs_dim[k] for k in nets.obs_keys.used})


def _strong_type(x: Any) -> Any:
    if getattr(x, "weak_type", False):
        return jax.lax.convert_element_type(x, x.dtype)
    return x


def _memory_values(config: PPOConfig, nets: Networks, params: Any, traj: Any, normalize: Any):
    """V(s'_t) of the true next observations for a policy with memory, ``[T, N]``.

    The next observation of step t sees the carry AFTER step t with no reset (even
    when the env has already reset: the final observation still belongs to the
    episode that ended), so one batched ``nets.step`` over all ``T * N`` final
    observations from the stored post-step carries gives every bootstrap value,
    including V(final observation) of truncated steps.
    """
    T, N = config.num_steps, config.num_envs
    flat = lambda x: x.reshape((T * N,) + x.shape[2:])  # noqa: E731
    carry = jax.tree.map(flat, traj.carry)
    no_reset = jnp.zeros((T * N,), bool)
    final = jax.tree.map(flat, normalize(traj.final_obs))
    _, next_values, _ = nets.step(params, carry, final, no_reset)
    return next_values.reshape((T, N))


# Feed-forward bootstrap values: True evaluates V(final observation) only for the
# truncated steps (see _feedforward_values); False is the former single pass over all
# T * N final observations, kept as a switch for A/B measurements.
_TRUNCATED_ONLY_FINAL_VALUES = True


def _feedforward_values(
    nets: Networks, params: Any, traj: Any, last_obs: jax.Array, normalize: Any
) -> tuple[jax.Array, jax.Array]:
    """V(s_t) and V(s'_t) of a rollout for a feed-forward policy, ``[T, N]`` each.

    Both with the parameters and the frozen observation statistics that collected the
    data. ``s'_t`` is the TRUE next observation of step t. When step t did not end an
    episode it is the next step's observation ``s_{t+1}`` (after the last step: the
    observation the rollout ended on, ``last_obs``), so ``V(s'_t)`` comes from the same
    pass as ``V(s_t)``. When it ended, ``s_{t+1}`` starts a new episode: a terminated
    step does not bootstrap (:func:`compute_gae` multiplies ``V(s'_t)`` by
    ``1 - terminated``), so only a TRUNCATED step needs V of its final observation.
    Those are evaluated in groups of ``N`` rows inside a ``while_loop`` that runs
    ``ceil(#truncated / N)`` times (usually once or not at all: a time limit of at
    least ``T`` steps truncates each environment at most once per rollout), instead of
    a second network pass over all ``T * N`` final observations.
    """
    T, N = traj.truncated.shape
    if not _TRUNCATED_ONLY_FINAL_VALUES:
        both = nets.value(
            params,
            jax.tree.map(
                lambda a, b: jnp.concatenate([a, b], 0), traj.obs, normalize(traj.final_obs)
            ),
        )
        return both[:T], both[T:]
    values = nets.value(params, traj.obs)
    last_value = nets.value(params, normalize(last_obs))
    next_values = jnp.concatenate([values[1:], last_value[None]], axis=0)
    rows = T * N
    flat_final = jax.tree.map(lambda x: x.reshape((rows,) + x.shape[2:]), traj.final_obs)
    truncated = traj.truncated.reshape(rows)
    count = jnp.sum(truncated, dtype=jnp.int32)
    # rank[r]: how many truncated steps precede row r; rows of group g have rank in
    # [g N, (g + 1) N). ``order`` lists the truncated rows first, in row order, by one
    # packed sort on "not truncated" (no scatter, which XLA:CPU would expand into a
    # loop of its own).
    rank = jnp.cumsum(truncated, dtype=jnp.int32) - truncated
    not_truncated = jnp.uint32(1) - truncated.astype(jnp.uint32)
    order = packed_argsort(not_truncated, max(1, (rows - 1).bit_length()))
    order = jnp.concatenate([order, jnp.zeros((N,), jnp.int32)])  # room for the last group

    def more(carry: tuple[jax.Array, jax.Array]) -> jax.Array:
        return carry[0] * N < count

    def group(carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        g, nv = carry
        idx = jax.lax.dynamic_slice(order, (g * N,), (N,))
        rows_final = jax.tree.map(lambda x: jnp.take(x, idx, axis=0), flat_final)
        v = nets.value(params, normalize(rows_final))
        mine = truncated & (rank // N == g)
        return g + 1, jnp.where(mine, jnp.take(v, jnp.clip(rank - g * N, 0, N - 1)), nv)

    _, flat_next = jax.lax.while_loop(more, group, (jnp.int32(0), next_values.reshape(rows)))
    return values, flat_next.reshape((T, N))


def _memory_batch(
    config: PPOConfig, state: TrainState, traj: Any, values, advantages, targets
) -> Batch:
    """The rollout as sequences of ``memory_chunk`` (or ``num_steps``) steps, each with
    the carry stored when the rollout reached its first step."""
    T = config.num_steps
    chunk = config.memory_chunk or T
    # carry before step k*chunk: the initial carry for k = 0, else the carry after
    # step k*chunk - 1.
    starts = jax.tree.map(
        lambda c0, cs: jnp.concatenate([c0[None], cs[chunk - 1 : T - 1 : chunk]], axis=0),
        state.carry,
        traj.carry,
    )
    batch = Batch(
        obs=traj.obs,
        action=traj.action,
        log_prob=traj.log_prob,
        value=values,
        advantage=advantages,
        target=targets,
        dist=traj.dist,
        carry=starts,
        start=traj.start,
    )
    return to_sequences(batch, chunk)


def ppo_update(
    config: PPOConfig,
    env: EnvAdapter,
    nets: Networks,
    state: TrainState,
    hp: HParams,
    sharded: bool = False,
) -> tuple[TrainState, dict[str, jax.Array]]:
    """One PPO iteration: rollout, statistics, GAE, K epochs, KL adaptation, metrics.

    ``sharded`` (a trainer built with a mesh) keeps JAX's default Threefry keys for
    the env steps whatever the device count, so that a sharded run and its one-device
    reference draw the same randomness (see ``purejaxppo.rollout.env_key_impl``).
    """
    key_impl = None if sharded else "auto"
    rng, k_roll, k_upd = jax.random.split(state.rng, 3)
    # What the networks see: the keys they read of a dict observation, normalized.
    normalize = lambda o: _normalize_obs(config, state.obs_rms, network_obs(nets, o))  # noqa: E731
    keep_dist = config.objective in ("kl_penalty", "kl_fixed")
    # A policy with memory threads its carry and episode-start flags through the rollout.
    memory = None
    if nets.has_memory:
        assert state.start is not None  # a policy with memory carries its start flags
        memory = (state.carry, state.start)
    rollout = collect_rollout(
        env,
        nets,
        state.params,
        state.env_state,
        state.obs,
        state.ep_return,
        state.ep_length,
        k_roll,
        config.num_steps,
        normalize,
        keep_dist,
        memory=memory,
        key_impl=key_impl,
    )
    env_state, obs, ep_return, ep_length, traj, ep_stats = rollout[:6]
    carry, start = rollout[6] if memory is not None else (state.carry, state.start)
    T, N = config.num_steps, config.num_envs
    done = jnp.logical_or(traj.terminated, traj.truncated)

    if nets.has_memory:
        values = traj.value
        next_values = _memory_values(config, nets, state.params, traj, normalize)
    else:
        values, next_values = _feedforward_values(nets, state.params, traj, obs, normalize)

    obs_rms = state.obs_rms
    if isinstance(obs_rms, RunningMeanStd):
        obs_rms = rms_update(obs_rms, traj.raw_obs.reshape((T * N, -1)))
    elif obs_rms is not None:
        obs_rms = {
            k: rms_update(s, traj.raw_obs[k].reshape((T * N, -1))) for k, s in obs_rms.items()
        }
    # Training rewards only: episode statistics above use the raw traj.reward.
    reward_scaler, rewards = state.reward_scaler, traj.reward
    if config.reward_scale != 1.0:
        rewards = rewards * jnp.float32(config.reward_scale)
    if reward_scaler is not None:
        reward_scaler, rewards = scale_rewards(
            reward_scaler, rewards, done, hp.gamma, config.reward_clip, config.norm_eps
        )

    advantages, targets = compute_gae(
        rewards, values, next_values, traj.terminated, done, hp.gamma, hp.gae_lambda
    )

    if nets.has_memory:
        batch = _memory_batch(config, state, traj, values, advantages, targets)
    else:
        flat = lambda x: x.reshape((T * N,) + x.shape[2:])  # noqa: E731
        batch = Batch(
            obs=jax.tree.map(flat, traj.obs),
            action=flat(traj.action),
            log_prob=flat(traj.log_prob),
            value=flat(values),
            advantage=flat(advantages),
            target=flat(targets),
            dist=jax.tree.map(flat, traj.dist),
        )
    learning_rate = learning_rate_at(config, hp.learning_rate, state.update_step)
    params, opt_state, info = run_epochs(
        state.params,
        state.opt_state,
        batch,
        k_upd,
        learning_rate,
        hp,
        state.kl_beta,
        config,
        nets,
    )

    kl_beta = state.kl_beta
    if config.objective == "kl_penalty":
        if nets.has_memory:
            new_dist = nets.unroll(params, batch.carry, batch.obs, batch.start)[0]
        else:
            new_dist = nets.policy(params, batch.obs)
        kl = jnp.mean(batch.dist.kl(new_dist))
        kl_beta = losses.adapt_kl_beta(kl_beta, kl, hp.kl_target)

    count = ep_stats.count
    safe = jnp.maximum(count, 1).astype(jnp.float32)
    last_return = jnp.where(count > 0, ep_stats.return_sum / safe, state.last_return)
    last_length = jnp.where(
        count > 0, ep_stats.length_sum.astype(jnp.float32) / safe, state.last_length
    )
    update_step = state.update_step + 1
    metrics = {
        "episode_return": last_return,
        "episode_length": last_length,
        "episodes_completed": count,
        "update_step": update_step,
        "policy_loss": info.policy_loss,
        "value_loss": info.value_loss,
        "entropy": info.entropy,
        "approx_kl": info.approx_kl,
        "clip_fraction": info.clip_fraction,
        "explained_variance": losses.explained_variance(values, targets),
        "learning_rate": jnp.asarray(learning_rate, jnp.float32),
        "kl_beta": state.kl_beta,
        "nonfinite": info.nonfinite,
    }
    new_state = TrainState(
        params=params,
        opt_state=opt_state,
        env_state=env_state,
        obs=obs,
        ep_return=ep_return,
        ep_length=ep_length,
        last_return=last_return,
        last_length=last_length,
        obs_rms=obs_rms,
        reward_scaler=reward_scaler,
        kl_beta=kl_beta,
        rng=rng,
        update_step=update_step,
        carry=carry,
        start=start,
    )
    return new_state, metrics


def make_trainer(
    config: PPOConfig,
    env: Any = None,
    env_params: Any = None,
    *,
    mesh: Any = None,
    data_axis: str = "data",
) -> Trainer:
    """The :class:`Trainer` building blocks for ``config`` (see :func:`make_train`)."""
    if not isinstance(config, PPOConfig):
        raise ValueError(f"config must be a PPOConfig, got {type(config).__name__}")
    if mesh is not None:
        mesh = sharding.check_mesh(config, mesh, data_axis)
    adapter = resolve_env(config, env, env_params)
    if getattr(adapter.action_spec, "masked", False) and config.normalize_obs:
        raise ValueError(
            f"normalize_obs=True is not supported with {adapter.name!r}: its action space "
            "is masked and the legal-action mask is part of the observation, which "
            "normalization would distort; set normalize_obs=False"
        )
    nets = build_networks(NetworkSpec.from_config(config, adapter))
    if mesh is not None:
        nets = sharding.shard_networks(nets, mesh, data_axis)

    def init(rng: jax.Array, hp: HParams) -> TrainState:
        return init_train_state(config, adapter, nets, rng, hp)

    def update(state: TrainState, hp: HParams):
        return ppo_update(config, adapter, nets, state, hp, sharded=mesh is not None)

    def normalize_obs(state: TrainState, obs: Any) -> Any:
        return _normalize_obs(config, state.obs_rms, network_obs(nets, obs))

    trainer = Trainer(config, adapter, nets, init, update, normalize_obs)
    if mesh is not None:
        trainer = sharding.shard_trainer(trainer, mesh, data_axis)
    return trainer


def run_updates(
    trainer: Trainer, state: TrainState, hp: HParams, num_updates: int
) -> tuple[TrainState, dict[str, jax.Array]]:
    """``num_updates`` PPO iterations in one ``lax.scan``; metrics stacked per update."""
    return jax.lax.scan(lambda s, _: trainer.update(s, hp), state, None, length=num_updates)


def make_train(
    config: PPOConfig,
    env: Any = None,
    env_params: Any = None,
    *,
    mesh: Any = None,
    data_axis: str = "data",
) -> Callable[..., TrainOutput]:
    """Builds the pure, jittable, vmappable PPO train function.

    Args:
      config: a :class:`PPOConfig`.
      env: optional gymnax ``Environment`` (or a purejaxppo env adapter) to train on
        instead of ``config.env_name``; ``config.env_name`` is then only a label.
      env_params: gymnax params for ``env`` (default: ``env.default_params``).
      mesh: optional ``jax.sharding.Mesh`` (see ``purejaxppo.distributed.make_mesh``)
        to split the ``num_envs`` environments of this run over the devices of its
        ``data_axis``: data-parallel training with replicated parameters, the same
        results as ``mesh=None`` up to float reduction order. ``None`` (default):
        no sharding annotations at all.
      data_axis: the mesh axis the environments are split over.

    Returns:
      ``train(rng, hparams=None) -> TrainOutput``. ``hparams`` (an :class:`HParams`,
      default ``config.hparams()``) carries the traced hyperparameters, so
      ``jax.vmap(train)(keys, hparams_batch)`` sweeps them in one compile. Training
      takes exactly ``config.steps_trained`` env steps (``total_timesteps`` rounded up
      to whole batches); ``metrics["update_step"]`` counts the updates done after each
      update, and ``out.env_steps(config)`` gives the exact env steps (int64).

    Raises:
      ValueError: on a bad config, environment or mesh (e.g. ``num_envs`` not
        divisible by the devices of ``data_axis``), before anything is compiled.
    """
    trainer = make_trainer(config, env, env_params, mesh=mesh, data_axis=data_axis)

    def train(rng: jax.Array, hparams: HParams | None = None) -> TrainOutput:
        hp = config.hparams() if hparams is None else hparams
        state = trainer.init(rng, hp)
        state, metrics = run_updates(trainer, state, hp, config.num_updates)
        return TrainOutput(state=state, metrics=metrics)

    return train
