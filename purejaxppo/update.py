"""K epochs of shuffled minibatch updates, all inside ``lax.scan``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from purejaxppo import guard, losses
from purejaxppo.config import HParams, PPOConfig
from purejaxppo.networks import Networks


class Batch(NamedTuple):
    """Flat ``[B, ...]`` training batch."""

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    advantage: jax.Array
    target: jax.Array
    dist: Any  # behaviour distribution (KL-penalty objective) or None


class LossInfo(NamedTuple):
    total_loss: jax.Array
    policy_loss: jax.Array
    value_loss: jax.Array
    entropy: jax.Array
    approx_kl: jax.Array
    clip_fraction: jax.Array
    # purejaxppo.guard code: 0 while loss, gradients and parameters stay finite.
    nonfinite: jax.Array = 0


def random_permutation(key: jax.Array, n: int) -> jax.Array:
    """A uniformly random permutation of ``range(n)`` from ONE unstable sort.

    Sorts ``iota`` by i.i.d. uint32 keys. ``jax.random.permutation`` costs ~35% more
    on CPU (measured for n=512); ties among the 32-bit keys (probability ~n^2/2^33)
    only reorder the tied entries, and the result is always a valid permutation.
    """
    keys = jax.random.bits(key, (n,), jnp.uint32)
    return jax.lax.sort((keys, jnp.arange(n, dtype=jnp.int32)), num_keys=1, is_stable=False)[1]


def make_optimizer(hp: HParams) -> optax.GradientTransformation:
    """Global-norm clipping then Adam's scaling; the (annealed) step size is applied
    by the caller, so ``learning_rate`` can change every update without recompiling."""
    return optax.chain(
        optax.clip_by_global_norm(hp.max_grad_norm),
        optax.scale_by_adam(eps=hp.adam_eps),
    )


def ppo_loss(
    params: Any,
    mb: Batch,
    hp: HParams,
    kl_beta: jax.Array,
    config: PPOConfig,
    nets: Networks,
) -> tuple[jax.Array, LossInfo]:
    """Total PPO loss of one minibatch and its parts."""
    dist, value = nets.policy_and_value(params, mb.obs)
    log_ratio = dist.log_prob(mb.action) - mb.log_prob
    adv = mb.advantage
    if config.norm_adv:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    if config.objective == "clip":
        pg_loss = losses.clipped_surrogate_loss(log_ratio, adv, hp.clip_eps)
    else:
        kl = mb.dist.kl(dist)
        pg_loss = losses.kl_penalty_loss(log_ratio, adv, kl, kl_beta)
    v_loss = losses.value_loss(value, mb.value, mb.target, config.clip_vloss, hp.vf_clip_eps)
    entropy = jnp.mean(dist.entropy())
    total = pg_loss + hp.vf_coef * v_loss - hp.ent_coef * entropy
    log_ratio = jax.lax.stop_gradient(log_ratio)
    info = LossInfo(
        total,
        pg_loss,
        v_loss,
        entropy,
        losses.approx_kl(log_ratio),
        losses.clip_fraction(log_ratio, hp.clip_eps),
    )
    return total, info


def run_epochs(
    params: Any,
    opt_state: Any,
    batch: Batch,
    key: jax.Array,
    learning_rate: jax.Array,
    hp: HParams,
    kl_beta: jax.Array,
    config: PPOConfig,
    nets: Networks,
) -> tuple[Any, Any, LossInfo]:
    """``update_epochs`` passes, each a fresh permutation split into minibatches.

    Returns the new params and optimizer state, and the loss parts averaged over
    every gradient step (``nonfinite``: the :func:`purejaxppo.guard.update_code` of
    the whole update instead of an average).
    """
    tx = make_optimizer(hp)
    num_mb, mb_size = config.num_minibatches, config.minibatch_size
    grad_fn = jax.grad(ppo_loss, has_aux=True)

    def minibatch_step(carry, mb: Batch):
        params, opt_state = carry
        grads, info = grad_fn(params, mb, hp, kl_beta, config, nets)
        info = info._replace(nonfinite=guard.step_code(info.total_loss, grads))
        updates, opt_state = tx.update(grads, opt_state, params)
        params = jax.tree.map(lambda p, u: p - learning_rate * u, params, updates)
        return (params, opt_state), info

    def epoch(carry, epoch_key):
        perm = random_permutation(epoch_key, config.batch_size)
        shuffled = jax.tree.map(
            lambda x: jnp.take(x, perm, axis=0).reshape((num_mb, mb_size) + x.shape[1:]),
            batch,
        )
        return jax.lax.scan(minibatch_step, carry, shuffled)

    keys = jax.random.split(key, config.update_epochs)
    (params, opt_state), infos = jax.lax.scan(epoch, (params, opt_state), keys)
    info = jax.tree.map(jnp.mean, infos._replace(nonfinite=0))
    return params, opt_state, info._replace(
        nonfinite=guard.update_code(infos.nonfinite, params)
    )
