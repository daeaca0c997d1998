"""Running observation normalization and reward scaling, in pure JAX.

Every function here is pure and works under ``jax.jit`` and ``jax.vmap`` (e.g. over
seeds, each seed keeping its own statistics). Hyper-parameters such as ``gamma``,
``clip`` and ``eps`` may be traced values.

* :class:`RunningMeanStd` tracks the mean and (population) variance of a stream of
  batches, merged with the parallel algorithm of Chan, Golub & LeVeque (1979).
* Observations that are dicts (``{"state": ..., "privileged_state": ...}``) keep one
  :class:`RunningMeanStd` per key (:func:`obs_rms_init`, :func:`obs_rms_update`,
  :func:`obs_normalize`); for an array observation these are exactly
  :func:`rms_init`, :func:`rms_update` and :func:`rms_normalize`.
* :class:`RewardScaler` divides rewards by the running standard deviation of the
  discounted return, as in the PPO "reward scaling" trick (Engstrom et al., 2020,
  "Implementation Matters in Deep RL"). Rewards are scaled only, never shifted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class RunningMeanStd:
    """Running mean and variance of a stream of samples of shape ``shape``.

    Attributes:
      mean: ``[*shape]`` float32 mean of all samples seen.
      var: ``[*shape]`` float32 population variance (``ddof=0``) of all samples seen.
      count: float32 scalar number of samples seen (0 before the first update).
    """

    mean: jax.Array
    var: jax.Array
    count: jax.Array


def rms_init(shape: tuple[int, ...]) -> RunningMeanStd:
    """Creates empty running statistics.

    The count starts at exactly 0 (no pseudo-count), so after updates the statistics
    equal the exact mean/variance of the samples seen. Before the first update
    ``mean=0`` and ``var=1``, so :func:`rms_normalize` is then (almost) the identity.

    Args:
      shape: shape of one sample (``()`` for scalars).

    Returns:
      Statistics with ``mean`` zeros, ``var`` ones and ``count`` 0.
    """
    return RunningMeanStd(
        mean=jnp.zeros(shape, jnp.float32),
        var=jnp.ones(shape, jnp.float32),
        count=jnp.zeros((), jnp.float32),
    )


def rms_update(stats: RunningMeanStd, batch: jax.Array) -> RunningMeanStd:
    """Merges a batch of samples into the running statistics.

    Uses the numerically stable parallel merge of Chan et al.: with ``n_a, m_a, v_a``
    the running count/mean/variance and ``n_b, m_b, v_b`` those of the batch,
    ``delta = m_b - m_a``, ``n = n_a + n_b``::

      mean = m_a + delta * n_b / n
      var  = (v_a * n_a + v_b * n_b + delta**2 * n_a * n_b / n) / n

    With ``n_a = 0`` this yields exactly the batch statistics (the initial ``var=1``
    is weighted by zero).

    Args:
      stats: current statistics.
      batch: ``[B, *shape]`` samples, ``B >= 1`` (static).

    Returns:
      The updated statistics.
    """
    batch = jnp.asarray(batch, jnp.float32)
    batch_count = jnp.asarray(batch.shape[0], jnp.float32)
    batch_mean = jnp.mean(batch, axis=0)
    # Two-pass variance of the batch: more accurate than E[x^2] - E[x]^2 in float32.
    batch_var = jnp.mean(jnp.square(batch - batch_mean), axis=0)

    total = stats.count + batch_count
    safe_total = jnp.maximum(total, 1.0)
    delta = batch_mean - stats.mean
    frac_b = batch_count / safe_total
    new_mean = stats.mean + delta * frac_b
    m2 = (
        stats.var * stats.count + batch_var * batch_count + jnp.square(delta) * stats.count * frac_b
    )
    new_var = m2 / safe_total
    return RunningMeanStd(mean=new_mean, var=new_var, count=total)


def rms_normalize(
    stats: RunningMeanStd, x: jax.Array, clip: float | jax.Array, eps: float | jax.Array
) -> jax.Array:
    """Standardizes ``x`` with the running statistics and clips it.

    Args:
      stats: running statistics of samples shaped like the trailing dims of ``x``.
      x: ``[..., *shape]`` values.
      clip: output is clipped to ``[-clip, clip]`` (may be traced).
      eps: added to the variance before the square root (may be traced).

    Returns:
      ``clip((x - mean) / sqrt(var + eps), -clip, clip)`` as float32.
    """
    z = (jnp.asarray(x, jnp.float32) - stats.mean) / jnp.sqrt(stats.var + eps)
    return jnp.clip(z, -clip, clip)


def obs_rms_init(dims: int | Mapping[str, int]) -> Any:
    """Empty observation statistics: one :class:`RunningMeanStd` of ``(dims,)`` for an
    array observation, a dict ``{key: RunningMeanStd}`` for ``{key: dim}``."""
    if isinstance(dims, Mapping):
        return {k: rms_init((int(d),)) for k, d in dims.items()}
    return rms_init((int(dims),))


def obs_rms_update(stats: Any, batch: Any) -> Any:
    """:func:`rms_update` per key: ``batch`` is ``[..., dim]`` (any leading axes, merged
    into one batch axis), or a dict of such arrays holding at least ``stats``' keys."""
    if isinstance(stats, RunningMeanStd):
        return rms_update(stats, batch.reshape((-1, batch.shape[-1])))
    return {k: rms_update(s, batch[k].reshape((-1, batch[k].shape[-1]))) for k, s in stats.items()}


def obs_normalize(stats: Any, obs: Any, clip: float | jax.Array, eps: float | jax.Array) -> Any:
    """:func:`rms_normalize` per key. For a dict, the keys of ``stats`` are normalized
    and returned (other keys of ``obs`` are dropped)."""
    if isinstance(stats, RunningMeanStd):
        return rms_normalize(stats, obs, clip, eps)
    return {k: rms_normalize(s, obs[k], clip, eps) for k, s in stats.items()}


@struct.dataclass
class RewardScaler:
    """State of reward scaling by the running std of the discounted return.

    Attributes:
      return_rms: running statistics (scalar shape ``()``) of the discounted returns.
      discounted_return: ``[num_envs]`` float32 discounted return carried into the next
        step, i.e. ``G_t * (1 - done_t)`` of the last step seen: already zero for an
        environment whose episode ended on that step.
    """

    return_rms: RunningMeanStd
    discounted_return: jax.Array


def reward_scaler_init(num_envs: int) -> RewardScaler:
    """Creates a reward scaler for ``num_envs`` parallel environments.

    Args:
      num_envs: number of environments (static).

    Returns:
      Empty return statistics and zero discounted returns.
    """
    return RewardScaler(
        return_rms=rms_init(()), discounted_return=jnp.zeros((num_envs,), jnp.float32)
    )


def scale_rewards(
    scaler: RewardScaler,
    rewards: jax.Array,
    dones: jax.Array,
    gamma: float | jax.Array,
    clip: float | jax.Array,
    eps: float | jax.Array,
) -> tuple[RewardScaler, jax.Array]:
    """Scales a time-major chunk of rewards by the running std of the discounted return.

    Runs ``G_t = r_t + gamma * (1 - done_{t-1}) * G_{t-1}`` over the chunk with
    ``lax.scan`` (continuing from the previous chunk; ``G`` restarts after a step with
    ``done`` set, where ``done`` = terminated or truncated of that step), updates the
    return statistics with all ``T * num_envs`` returns in one :func:`rms_update`, then
    divides the rewards by ``sqrt(var + eps)`` of the updated statistics. Rewards are
    never shifted (their sign is kept).

    Args:
      scaler: current scaler state.
      rewards: ``[T, num_envs]`` raw rewards.
      dones: ``[T, num_envs]`` episode-end flags (bool or 0/1) of each step.
      gamma: discount (may be traced).
      clip: scaled rewards are clipped to ``[-clip, clip]`` (may be traced).
      eps: added to the variance before the square root (may be traced).

    Returns:
      ``(new_scaler, scaled_rewards)`` with ``scaled_rewards`` float32 ``[T, num_envs]``.
    """
    rewards = jnp.asarray(rewards, jnp.float32)
    not_done = 1.0 - jnp.asarray(dones, jnp.float32)

    def step(carry: jax.Array, inputs: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        reward, keep = inputs
        ret = reward + gamma * carry
        return ret * keep, ret

    carry, returns = jax.lax.scan(step, scaler.discounted_return, (rewards, not_done))
    return_rms = rms_update(scaler.return_rms, returns.reshape(-1))
    scaled = jnp.clip(rewards / jnp.sqrt(return_rms.var + eps), -clip, clip)
    return RewardScaler(return_rms=return_rms, discounted_return=carry), scaled
