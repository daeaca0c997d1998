"""Generalized Advantage Estimation, time-major and truncation-correct."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def compute_gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    done: jax.Array,
    gamma: float | jax.Array,
    gae_lambda: float | jax.Array,
    unroll: int = 1,
) -> tuple[jax.Array, jax.Array]:
    r"""GAE(gamma, lambda) advantages and value targets by a reverse ``lax.scan``.

    All inputs are time-major ``[T, ...]`` (any trailing batch shape)::

        delta_t = r_t + gamma * (1 - terminated_t) * next_values_t - values_t
        A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},   A_T = 0
        targets = A + values

    ``next_values_t`` is V of the TRUE next observation of step t: the observation
    the transition led to, i.e. the final observation when the episode ended at t.
    ``terminated_t`` marks a terminal MDP state (no bootstrap); ``done_t`` is
    ``terminated_t or truncated_t`` and stops the advantage recursion at episode
    boundaries. A truncated step (time limit) therefore still bootstraps from
    ``gamma * next_values_t``.

    Args:
      rewards: ``[T, ...]`` rewards.
      values: ``[T, ...]`` V(s_t) under the policy that collected the data.
      next_values: ``[T, ...]`` V(s'_t) of the true next observations.
      terminated: ``[T, ...]`` bool/0-1, true terminal transitions.
      done: ``[T, ...]`` bool/0-1, episode ended (terminated or truncated).
      gamma: discount factor.
      gae_lambda: GAE lambda.
      unroll: time steps per iteration of the compiled loop (``lax.scan``'s
        ``unroll``); the result does not depend on it.

    Returns:
      ``(advantages, targets)``, both ``[T, ...]`` like ``values``.
    """
    dtype = values.dtype
    not_terminated = 1.0 - jnp.asarray(terminated, dtype)
    not_done = 1.0 - jnp.asarray(done, dtype)
    deltas = rewards.astype(dtype) + gamma * not_terminated * next_values - values
    decay = gamma * gae_lambda * not_done

    def backward(next_adv: jax.Array, xs: tuple[jax.Array, jax.Array]):
        delta, dec = xs
        adv = delta + dec * next_adv
        return adv, adv

    _, advantages = jax.lax.scan(
        backward, jnp.zeros_like(values[0]), (deltas, decay), reverse=True, unroll=unroll
    )
    return advantages, advantages + values
