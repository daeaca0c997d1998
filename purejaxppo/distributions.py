"""The two action distributions PPO needs: categorical and diagonal Gaussian.

Both are small immutable classes over arrays with a leading batch shape, usable
inside ``jit``/``vmap``. Sampling takes pre-drawn noise (Gumbel for categorical,
standard normal for Gaussian) so a whole rollout's randomness can be drawn at once.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

_LOG_2PI = math.log(2.0 * math.pi)


# Logit given to illegal actions: finite, so log-softmax, entropy and KL stay finite,
# and so negative that exp() of it (relative to any legal logit) is exactly 0 in float32.
MASKED_LOGIT = -1e9


class Categorical(NamedTuple):
    """Categorical distribution over the last axis of ``logits``.

    ``mask`` (optional, bool, same shape as ``logits``) marks the legal actions: the
    distribution is then the softmax over the legal logits only. Illegal actions get
    probability exactly 0 (their logits are replaced by :data:`MASKED_LOGIT`), so they
    are never sampled and contribute nothing to the entropy or the KL. If a row has no
    legal action at all it falls back to uniform over every action (finite values).
    """

    logits: jax.Array
    mask: jax.Array | None = None

    def masked_logits(self) -> jax.Array:
        """The logits with illegal entries replaced by :data:`MASKED_LOGIT`."""
        if self.mask is None:
            return self.logits
        return jnp.where(self.mask, self.logits, jnp.float32(MASKED_LOGIT))

    def log_probs_all(self) -> jax.Array:
        return jax.nn.log_softmax(self.masked_logits(), axis=-1)

    def sample_from_noise(self, gumbel: jax.Array) -> jax.Array:
        """Gumbel-max sampling: ``argmax(logits + g)``, ``g`` i.i.d. Gumbel(0, 1)."""
        return jnp.argmax(self.masked_logits() + gumbel, axis=-1).astype(jnp.int32)

    def sample(self, key: jax.Array) -> jax.Array:
        return self.sample_from_noise(jax.random.gumbel(key, self.logits.shape))

    @staticmethod
    def noise(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        return jax.random.gumbel(key, shape)

    def log_prob(self, action: jax.Array) -> jax.Array:
        logp = self.log_probs_all()
        return jnp.take_along_axis(logp, action[..., None].astype(jnp.int32), axis=-1)[..., 0]

    def entropy(self) -> jax.Array:
        logp = self.log_probs_all()
        return -jnp.sum(jnp.exp(logp) * logp, axis=-1)

    def mode(self) -> jax.Array:
        return jnp.argmax(self.masked_logits(), axis=-1).astype(jnp.int32)

    def kl(self, other: Categorical) -> jax.Array:
        """KL(self || other)."""
        logp, logq = self.log_probs_all(), other.log_probs_all()
        return jnp.sum(jnp.exp(logp) * (logp - logq), axis=-1)


class DiagGaussian(NamedTuple):
    """Diagonal Gaussian over the last axis; ``log_std`` broadcasts against ``mean``."""

    mean: jax.Array
    log_std: jax.Array

    def sample_from_noise(self, eps: jax.Array) -> jax.Array:
        return self.mean + jnp.exp(self.log_std) * eps

    def sample(self, key: jax.Array) -> jax.Array:
        return self.sample_from_noise(jax.random.normal(key, self.mean.shape))

    @staticmethod
    def noise(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        return jax.random.normal(key, shape)

    def log_prob(self, action: jax.Array) -> jax.Array:
        z = (action - self.mean) * jnp.exp(-self.log_std)
        per_dim = -0.5 * z * z - self.log_std - 0.5 * _LOG_2PI
        return jnp.sum(jnp.broadcast_to(per_dim, self.mean.shape), axis=-1)

    def entropy(self) -> jax.Array:
        per_dim = jnp.broadcast_to(self.log_std + 0.5 * (1.0 + _LOG_2PI), self.mean.shape)
        return jnp.sum(per_dim, axis=-1)

    def mode(self) -> jax.Array:
        return self.mean

    def kl(self, other: DiagGaussian) -> jax.Array:
        """KL(self || other)."""
        var_ratio = jnp.exp(2.0 * (self.log_std - other.log_std))
        t = (self.mean - other.mean) * jnp.exp(-other.log_std)
        per_dim = 0.5 * (var_ratio + t * t - 1.0) - (self.log_std - other.log_std)
        return jnp.sum(jnp.broadcast_to(per_dim, self.mean.shape), axis=-1)
