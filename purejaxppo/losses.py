"""PPO loss terms: clipped surrogate, KL penalty, value loss, entropy bonus.

All functions are pure and take per-sample arrays (any batch shape). The ``*_loss``
functions and the diagnostics return scalars averaged over the batch; each is the
mean of a per-sample term (``clipped_surrogate``, ``kl_penalty_surrogate``,
``value_error``, ``approx_kl_terms``, ``clipped``), which the trainer averages in one
stacked reduction instead (``purejaxppo.update.ppo_loss``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def clipped_surrogate_loss(
    log_ratio: jax.Array, advantages: jax.Array, clip_eps: float | jax.Array
) -> jax.Array:
    r"""Negated clipped surrogate objective (to be minimised).

    ``L = -mean(min(r * A, clip(r, 1 - eps, 1 + eps) * A))`` with
    ``r = exp(log_ratio) = pi(a|s) / pi_old(a|s)``. For ``A > 0`` the objective stops
    rewarding ``r`` above ``1 + eps``; for ``A < 0`` it stops rewarding ``r`` below
    ``1 - eps``; for ``A = 0`` it is zero with zero gradient.
    """
    return jnp.mean(clipped_surrogate(log_ratio, advantages, clip_eps))


def clipped_surrogate(
    log_ratio: jax.Array, advantages: jax.Array, clip_eps: float | jax.Array
) -> jax.Array:
    """Per-sample term of :func:`clipped_surrogate_loss`:
    ``-min(r * A, clip(r, 1 - eps, 1 + eps) * A)``."""
    ratio = jnp.exp(log_ratio)
    unclipped = ratio * advantages
    clipped_ = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    return -jnp.minimum(unclipped, clipped_)


def surrogate(log_ratio: jax.Array, advantages: jax.Array) -> jax.Array:
    """Per-sample negated surrogate without clipping or penalty: ``-r * A``.

    The "no clipping or penalty" objective of the PPO paper's Table 1, ``L = E[r A]``
    with ``r = exp(log_ratio)``: nothing keeps ``r`` near 1 over the K epochs.
    """
    return -jnp.exp(log_ratio) * advantages


def kl_penalty_loss(
    log_ratio: jax.Array, advantages: jax.Array, kl: jax.Array, beta: float | jax.Array
) -> jax.Array:
    """Negated KL-penalised surrogate: ``-mean(r * A - beta * KL(pi_old || pi))``."""
    return jnp.mean(kl_penalty_surrogate(log_ratio, advantages, kl, beta))


def kl_penalty_surrogate(
    log_ratio: jax.Array, advantages: jax.Array, kl: jax.Array, beta: float | jax.Array
) -> jax.Array:
    """Per-sample term of :func:`kl_penalty_loss`: ``-(r * A - beta * KL)``."""
    return -(jnp.exp(log_ratio) * advantages - beta * kl)


# The adaptive-KL coefficient is kept in [KL_BETA_MIN, KL_BETA_MAX]. Halving without a
# floor underflows to exactly 0.0 after ~150 updates with KL below target (e.g. the
# default CartPole config: KL ~1e-4 against d_targ 0.01), and 0 * 2 = 0 never recovers;
# the ceiling keeps a run whose KL stays high from overflowing to inf.
KL_BETA_MIN = 1e-6
KL_BETA_MAX = 1e6


def adapt_kl_beta(beta: jax.Array, kl: jax.Array, kl_target: float | jax.Array) -> jax.Array:
    """Adaptive-KL rule of the PPO paper, with beta kept in a fixed range.

    ``beta / 2`` if ``kl < kl_target / 1.5``; ``beta * 2`` if ``kl > 1.5 * kl_target``;
    unchanged otherwise; the result is then clamped to
    ``[KL_BETA_MIN, KL_BETA_MAX] = [1e-6, 1e6]``. The floor keeps beta from
    underflowing to 0 (from which doubling could never bring it back), so after any
    number of updates with a small KL, beta doubles again as soon as the KL exceeds
    ``1.5 * kl_target``; the ceiling keeps it finite.

    Args:
      beta: the current coefficient (float32 scalar).
      kl: the mean KL(pi_old || pi_new) of the update just done.
      kl_target: the target KL ``d_targ``.

    Returns:
      The coefficient for the next update, in ``[1e-6, 1e6]``.
    """
    beta = jnp.where(kl < kl_target / 1.5, beta * 0.5, beta)
    beta = jnp.where(kl > kl_target * 1.5, beta * 2.0, beta)
    return jnp.clip(beta, KL_BETA_MIN, KL_BETA_MAX)


def value_loss(
    values: jax.Array,
    old_values: jax.Array,
    targets: jax.Array,
    clip: bool,
    clip_eps: float | jax.Array,
) -> jax.Array:
    """``0.5 * mean((V - target)^2)``, or the clipped variant when ``clip``.

    The clipped variant takes ``max((V - t)^2, (V_old + clip(V - V_old, -e, e) - t)^2)``.
    """
    return 0.5 * jnp.mean(value_error(values, old_values, targets, clip, clip_eps))


def value_error(
    values: jax.Array,
    old_values: jax.Array,
    targets: jax.Array,
    clip: bool,
    clip_eps: float | jax.Array,
) -> jax.Array:
    """Per-sample squared error of :func:`value_loss` (without its factor 0.5)."""
    squared = jnp.square(values - targets)
    if clip:
        clipped_values = old_values + jnp.clip(values - old_values, -clip_eps, clip_eps)
        squared = jnp.maximum(squared, jnp.square(clipped_values - targets))
    return squared


def approx_kl(log_ratio: jax.Array) -> jax.Array:
    """Low-variance estimator of KL(pi_old || pi): ``mean((r - 1) - log r)``."""
    return jnp.mean(approx_kl_terms(log_ratio))


def approx_kl_terms(log_ratio: jax.Array) -> jax.Array:
    """Per-sample term of :func:`approx_kl`: ``(r - 1) - log r``."""
    return jnp.expm1(log_ratio) - log_ratio


def clip_fraction(log_ratio: jax.Array, clip_eps: float | jax.Array) -> jax.Array:
    """Fraction of samples whose ratio lies outside ``[1 - eps, 1 + eps]``."""
    return jnp.mean(clipped(log_ratio, clip_eps))


def clipped(log_ratio: jax.Array, clip_eps: float | jax.Array) -> jax.Array:
    """Per-sample 1.0 where the ratio lies outside ``[1 - eps, 1 + eps]``, else 0.0."""
    return (jnp.abs(jnp.exp(log_ratio) - 1.0) > clip_eps).astype(jnp.float32)


def explained_variance(predictions: jax.Array, targets: jax.Array) -> jax.Array:
    """``1 - Var(targets - predictions) / Var(targets)`` (NaN-free: 0 if Var = 0)."""
    var_t = jnp.var(targets)
    ev = 1.0 - jnp.var(targets - predictions) / jnp.where(var_t > 0, var_t, 1.0)
    return jnp.where(var_t > 0, ev, 0.0)
