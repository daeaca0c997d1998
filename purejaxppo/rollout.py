"""Collect one batch of experience with ``lax.scan``.

All randomness of a rollout (env-step keys and action-sampling noise) is drawn in
two batched calls before the scan, rather than split step by step.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purejaxppo.distributions import Categorical, DiagGaussian, sample_for_rollout
from purejaxppo.envs.base import EnvAdapter, batch_step
from purejaxppo.networks import Networks


class Transition(NamedTuple):
    """A time-major batch ``[T, num_envs, ...]``.

    ``obs`` are the observations the policy saw (normalized when observation
    normalization is on); ``raw_obs`` / ``final_obs`` are unnormalized. ``action`` is
    the sample the update needs (``purejaxppo.distributions.sample_for_rollout``): the
    action sent to the env, except for the tanh-Gaussian head, where it is the
    pre-squash sample ``u`` (the env received ``c + r tanh(u)``) and ``log_prob`` is
    exact at ``u``. ``dist`` holds the behaviour policy's distribution (only kept for
    the KL-penalty objective).

    Policies with memory also keep (``None`` for feed-forward): ``value``, V(obs_t)
    computed with the carry obs_t saw; ``start``, the PRE-step episode start flags
    (``obs_t`` begins an episode, so the carry was reset before it); ``carry``, the
    core's carry AFTER step t (what the next observation of the same episode, or the
    final observation ``final_obs_t``, sees).
    """

    obs: Any
    raw_obs: Any
    action: jax.Array
    log_prob: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: Any
    dist: Any
    value: Any = None
    start: Any = None
    carry: Any = None


class EpisodeStats(NamedTuple):
    """Per-update sums over episodes that completed during the rollout."""

    return_sum: jax.Array
    length_sum: jax.Array
    # A field named ``count`` shadows ``tuple.count``; mypy is right that it does, and
    # the field is meant: renaming it would change this NamedTuple's public fields.
    count: jax.Array  # type: ignore[assignment]


ENV_KEY_IMPL = "philox4x32"


def env_key_impl() -> str | None:
    """The key implementation :func:`env_step_keys` uses in this process.

    ``ENV_KEY_IMPL`` (Philox-4x32) on a single-device CPU backend, ``None``
    (JAX's default Threefry keys) otherwise: the speed-up is specific to XLA:CPU, where
    Threefry compiles to a rolled loop (on GPU/TPU it is unrolled already), and with
    several devices XLA's partitioner cannot lower Philox's ``mulhi`` (jax 0.10.2:
    "failed to legalize operation 'mhlo.unknown'"), so multi-device programs, e.g.
    ``purejaxppo.distributed`` or forced host devices, keep Threefry. Decided when the
    train function is traced.
    """
    if ENV_KEY_IMPL is None or jax.default_backend() != "cpu" or jax.device_count() != 1:
        return None
    return ENV_KEY_IMPL


def env_step_keys(key: jax.Array, shape: tuple[int, ...], impl: str | None = "auto") -> jax.Array:
    """One PRNG key per env step; Philox-4x32 keys where :func:`env_key_impl` says so.

    Environments draw their own randomness from the key of every step (gymnax's
    auto-reset alone splits it and samples a start state). With JAX's default
    Threefry keys each of those draws compiles, on CPU, to a rolled 5-iteration loop
    of ~20 tiny kernels (``jax/_src/random/threefry2x32.py``: ``use_rolled_loops``
    on CPU), executed inside every step of the rollout loop. Philox-4x32-10 is an
    equally standard counter-based generator whose lowering is straight-line code
    that fuses into one kernel (measured: 1.105x training throughput on the default
    CartPole config, ``benchmarks/results/ab_env_keys.json``). The key words are drawn
    from ``key`` (Threefry) in ONE batched call outside the loop, so results stay a
    pure function of ``key`` and are identical under ``vmap``.

    Args:
      key: a PRNG key (raw ``uint32[2]`` or typed).
      shape: leading shape of the keys, e.g. ``(num_steps, num_envs)``.
      impl: ``"auto"`` (:func:`env_key_impl`), ``None`` (split ``key`` itself) or a
        key implementation name such as ``"philox4x32"``.

    Returns:
      Key array of ``shape`` (typed Philox keys, or raw/typed split keys of ``key``'s
      own implementation when :func:`env_key_impl` is ``None``).
    """
    if impl == "auto":
        impl = env_key_impl()
    n = 1
    for dim in shape:
        n *= dim
    keys = jax.random.split(key, n)
    if impl is None:
        return keys.reshape(shape + keys.shape[1:])
    if jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key):
        if str(jax.random.key_impl(keys)) == impl:
            return keys.reshape(shape)
        keys = jax.random.key_data(keys)[..., :2]
    data = keys.reshape(shape + (2,))
    return jax.random.wrap_key_data(data, impl=impl)


def collect_rollout(
    env: EnvAdapter,
    nets: Networks,
    params: Any,
    env_state: Any,
    obs: jax.Array,
    ep_return: jax.Array,
    ep_length: jax.Array,
    key: jax.Array,
    num_steps: int,
    normalize: Any,
    keep_dist: bool,
    unroll: int = 1,
    memory: tuple[Any, jax.Array] | None = None,
    key_impl: str | None = "auto",
):
    """Steps ``num_envs`` environments ``num_steps`` times with the current policy.

    Args:
      env: adapter for ONE env (vmapped here over the leading axis of ``obs``).
      nets: the actor-critic functions.
      params: network parameters.
      env_state: batched env state.
      obs: ``[num_envs, obs_dim]`` raw current observations (or a dict of them).
      ep_return: ``[num_envs]`` running undiscounted return of the current episodes.
      ep_length: ``[num_envs]`` running length of the current episodes.
      key: PRNG key for this rollout.
      num_steps: T.
      normalize: ``obs -> obs`` applied before the policy sees an observation (it
        also keeps only the keys the networks read of a dict observation).
      keep_dist: store the behaviour distribution in the transitions.
      unroll: env steps per iteration of the compiled loop (``lax.scan``'s
        ``unroll``; results do not depend on it).
      key_impl: the env-step key implementation (see :func:`env_step_keys`);
        ``"auto"`` gives typed Philox keys only to adapters marked ``typed_keys``
        (gymnax's registered envs and the memory tasks), raw Threefry keys otherwise.
      memory: ``None`` for a feed-forward policy, else ``(carry, start)``: the core's
        carry and the ``[num_envs]`` flags marking observations that begin an
        episode (``nets.step`` resets the carry before them).

    Returns:
      ``(env_state, obs, ep_return, ep_length, transitions, episode_stats)``, and with
      ``memory`` given a seventh element: the ``(carry, start)`` after the rollout.
    """
    num_envs = jax.tree.leaves(obs)[0].shape[0]
    k_env, k_act = jax.random.split(key)
    if key_impl == "auto" and not getattr(env, "typed_keys", False):
        key_impl = None  # this env may treat its key as a raw uint32 array
    env_keys = env_step_keys(k_env, (num_steps, num_envs), key_impl)
    spec = nets.action_spec
    dist_cls = Categorical if spec.discrete else DiagGaussian
    noise = dist_cls.noise(k_act, (num_steps, num_envs, spec.action_dim))
    step_env = batch_step(env)

    def one_step(carry, xs):
        env_state, obs, ep_ret, ep_len, stats, mem = carry
        keys, eps = xs
        norm_obs = normalize(obs)
        if mem is None:
            dist, value, core_carry, start = nets.policy(params, norm_obs), None, None, None
        else:
            start = mem[1]
            dist, value, core_carry = nets.step(params, mem[0], norm_obs, start)
        stored, action, log_prob = sample_for_rollout(dist, eps)
        res = step_env(keys, env_state, action)
        done = jnp.logical_or(res.terminated, res.truncated)
        ep_ret = ep_ret + res.reward
        ep_len = ep_len + 1
        stats = EpisodeStats(
            stats.return_sum + jnp.sum(jnp.where(done, ep_ret, 0.0)),
            stats.length_sum + jnp.sum(jnp.where(done, ep_len, 0)),
            stats.count + jnp.sum(done.astype(jnp.int32)),
        )
        ep_ret = jnp.where(done, 0.0, ep_ret)
        ep_len = jnp.where(done, 0, ep_len)
        transition = Transition(
            obs=norm_obs,
            raw_obs=obs,
            action=stored,
            log_prob=log_prob,
            reward=res.reward,
            terminated=res.terminated,
            truncated=res.truncated,
            final_obs=res.final_obs,
            dist=dist if keep_dist else None,
            value=value,
            start=start,
            carry=core_carry,
        )
        # The post-step done flags are the next observation's episode-start flags.
        mem = None if mem is None else (core_carry, done)
        return (res.state, res.obs, ep_ret, ep_len, stats, mem), transition

    zero_stats = EpisodeStats(jnp.float32(0.0), jnp.int32(0), jnp.int32(0))
    (env_state, obs, ep_return, ep_length, stats, memory), transitions = jax.lax.scan(
        one_step,
        (env_state, obs, ep_return, ep_length, zero_stats, memory),
        (env_keys, noise),
        unroll=unroll,
    )
    if memory is None:
        return env_state, obs, ep_return, ep_length, transitions, stats
    return env_state, obs, ep_return, ep_length, transitions, stats, memory
