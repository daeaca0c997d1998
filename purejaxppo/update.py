"""K epochs of shuffled minibatch updates, all inside ``lax.scan``.

Feed-forward policies shuffle single transitions. Policies with memory shuffle whole
SEQUENCES (:func:`to_sequences`, :func:`sequence_minibatches`): the environments (or
chunks of ``memory_chunk`` steps of them) are permuted, time stays whole and in
order, and every sequence is replayed from the carry stored when the rollout reached
its first step.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from purejaxppo import guard, losses
from purejaxppo.config import HParams, PPOConfig
from purejaxppo.distributions import log_prob_of_stored
from purejaxppo.networks import Networks


class Batch(NamedTuple):
    """Flat ``[B, ...]`` training batch (feed-forward), or sequences (memory).

    With memory the fields are time-major ``[L, S, ...]`` (``S`` sequences of ``L``
    steps), ``carry`` holds each sequence's initial carry ``[S, ...]`` (before the
    reset of its first step) and ``start`` its ``[L, S]`` episode-start flags.
    """

    obs: Any  # an array, or a dict of arrays (the keys the networks read)
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    advantage: jax.Array
    target: jax.Array
    dist: Any  # behaviour distribution (KL-penalty objective) or None
    carry: Any = None
    start: Any = None


class LossInfo(NamedTuple):
    total_loss: jax.Array
    policy_loss: jax.Array
    value_loss: jax.Array
    entropy: jax.Array
    approx_kl: jax.Array
    clip_fraction: jax.Array
    # purejaxppo.guard code: 0 while loss, gradients and parameters stay finite.
    nonfinite: jax.Array | int = 0


# Largest batch for which the index is packed into the low bits of the sort key in
# ONE sort, and the largest for which several packed sorts are used (larger batches
# sort (key, index) pairs).
_PACKED_SORT_MAX_BITS = 11
_MULTI_ROUND_MAX_BITS = 20


def packed_sort_rounds(nbits: int) -> int:
    """Packed sorts :func:`random_permutations` uses for indices of ``nbits`` bits.

    Each round leaves ``32 - nbits`` random bits per key, so a pair ties in one round
    with probability ``2^-(32 - nbits)``; a permutation is off uniform only where a
    pair ties in EVERY round. The rounds are the fewest that keep the expected number
    of such pairs, ``n^2 / 2 * 2^(-rounds (32 - nbits))`` with ``n = 2^nbits``, at or
    below 1 (the bound one round meets up to 11 bits). 0 means: sort (key, index)
    pairs instead.
    """
    if nbits <= _PACKED_SORT_MAX_BITS:
        return 1
    if nbits > _MULTI_ROUND_MAX_BITS:
        return 0
    rounds = 1
    while 2 * nbits - 1 - rounds * (32 - nbits) > 0:
        rounds += 1
    return rounds


def packed_argsort(high: jax.Array, nbits: int) -> jax.Array:
    """Indices that sort ``high`` ascending along its last axis, ties in index order.

    ``high`` is ``uint32`` with values below ``2^(32 - nbits)``, and the last axis has
    at most ``2^nbits`` entries. Each entry's index goes into the ``nbits`` low bits of
    ``high << nbits`` and ONE single-operand ``uint32`` sort orders the packed words
    (on XLA:CPU several times faster than sorting (key, index) pairs, and no
    scatter); the low bits of the sorted words are the indices, ``int32``.
    """
    index = jnp.arange(high.shape[-1], dtype=jnp.uint32)
    packed = jnp.sort((high << nbits) | index, axis=-1)
    return (packed & jnp.uint32((1 << nbits) - 1)).astype(jnp.int32)


def random_permutations(key: jax.Array, num: int, n: int) -> jax.Array:
    """``num`` independent uniformly random permutations of ``range(n)``: ``[num, n]``.

    Each row sorts i.i.d. random 32-bit keys. The position is packed into the
    ``b = ceil(log2 n)`` low bits of its key and a single-operand ``uint32`` sort
    per row does the work (on XLA:CPU ~4x faster than sorting (key, index) pairs:
    96 vs 369 us for 4 x 512 here). Entries whose ``32 - b`` random bits tie keep
    their relative order, so for ``n > 2048`` (where ties become likely) the sort is
    repeated with fresh keys on the positions of the previous round
    (:func:`packed_sort_rounds`: 2 rounds up to ``n = 2^16``, 3 up to ``2^19``, 4
    for ``2^20``; a pair keeps a fixed order only if it ties in every round; expected
    such pairs ``<= 1`` per permutation, ``1/64`` for ``n = 512``, ``1e-4`` for
    ``n = 8192``); 4 x 8192 take 2.3 ms in 2 rounds against 5.8 ms for the pair sort
    (``jax.random.permutation``: 11.8 ms; ``benchmarks/permutations.py``). Beyond
    ``2^20`` it sorts (key, index) pairs (ties: 32 random bits). The result is always
    a permutation. All rows come from batched draws and batched sorts
    (:func:`packed_argsort`); the first round's draw is
    ``jax.random.bits(key, (num, n))``.
    """
    nbits = max(1, (n - 1).bit_length())
    rounds = packed_sort_rounds(nbits)
    if rounds == 0:
        bits = jax.random.bits(key, (num, n), jnp.uint32)
        index = jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (num, n))
        return jax.lax.sort((bits, index), dimension=1, num_keys=1, is_stable=False)[1]
    perm = None
    for r in range(rounds):
        bits = jax.random.bits(key if r == 0 else jax.random.fold_in(key, r), (num, n), jnp.uint32)
        order = packed_argsort(bits >> nbits, nbits)
        # Round r > 0 permutes the POSITIONS of the previous round's result, so its
        # ties keep that (random) order rather than the index order.
        perm = order if perm is None else jnp.take_along_axis(perm, order, axis=-1)
    assert perm is not None  # rounds >= 1 here, so the loop ran
    return perm


def random_permutation(key: jax.Array, n: int) -> jax.Array:
    """One uniformly random permutation of ``range(n)`` (see :func:`random_permutations`)."""
    return random_permutations(key, 1, n)[0]


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
    """Total PPO loss of one minibatch and its parts.

    Every part is the mean of a per-sample term (:mod:`purejaxppo.losses`), so the
    total is ONE mean of ``pg + vf_coef * 0.5 * (V - target)^2 - ent_coef * H`` and
    the reported parts (gradient-free) are one mean over a stacked ``[5, batch]``
    array: fewer reductions per gradient step than five separate means (XLA:CPU
    splits each reduction into two kernels). Same values up to float summation order.
    """
    if nets.has_memory:
        dist, value, _ = nets.unroll(params, mb.carry, mb.obs, mb.start)
    else:
        dist, value = nets.policy_and_value(params, mb.obs)
    log_ratio = log_prob_of_stored(dist, mb.action) - mb.log_prob
    adv = mb.advantage
    if config.norm_adv:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    if config.objective == "clip":
        pg = losses.clipped_surrogate(log_ratio, adv, hp.clip_eps)
    elif config.objective == "none":
        pg = losses.surrogate(log_ratio, adv)
    else:  # kl_penalty (adaptive beta) or kl_fixed (constant beta = kl_beta_init)
        pg = losses.kl_penalty_surrogate(log_ratio, adv, mb.dist.kl(dist), kl_beta)
    v_err = 0.5 * losses.value_error(value, mb.value, mb.target, config.clip_vloss, hp.vf_clip_eps)
    ent = dist.entropy()
    total = jnp.mean(pg + hp.vf_coef * v_err - hp.ent_coef * ent)
    log_ratio = jax.lax.stop_gradient(log_ratio)
    parts = jnp.mean(
        jax.lax.stop_gradient(
            jnp.stack(
                [
                    pg,
                    v_err,
                    ent,
                    losses.approx_kl_terms(log_ratio),
                    losses.clipped(log_ratio, hp.clip_eps),
                ]
            )
        ),
        axis=tuple(range(1, pg.ndim + 1)),
    )
    return total, LossInfo(total, *(parts[i] for i in range(5)))


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

    ``batch`` is flat (feed-forward) or sequences from :func:`to_sequences` (memory).

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

    def sequence_epoch(carry, epoch_key):
        return jax.lax.scan(minibatch_step, carry, sequence_minibatches(batch, epoch_key, num_mb))

    def epoch(carry, perm):
        shuffled = jax.tree.map(
            lambda x: jnp.take(x, perm, axis=0).reshape((num_mb, mb_size) + x.shape[1:]),
            batch,
        )
        return jax.lax.scan(minibatch_step, carry, shuffled)

    if nets.has_memory:
        keys = jax.random.split(key, config.update_epochs)
        (params, opt_state), infos = jax.lax.scan(sequence_epoch, (params, opt_state), keys)
    else:
        perms = random_permutations(key, config.update_epochs, config.batch_size)
        (params, opt_state), infos = jax.lax.scan(epoch, (params, opt_state), perms)
    info = jax.tree.map(jnp.mean, infos._replace(nonfinite=0))
    return params, opt_state, info._replace(nonfinite=guard.update_code(infos.nonfinite, params))


def to_sequences(batch: Batch, chunk: int) -> Batch:
    """Cuts a time-major rollout batch into sequences of ``chunk`` steps.

    Args:
      batch: fields ``[T, N, ...]`` (``start`` ``[T, N]``), and ``carry`` the carries
        at the chunk starts, ``[K, N, ...]`` with ``K = T / chunk``: ``carry[k]`` is
        the carry before step ``k * chunk`` (before its reset).
      chunk: ``L``, a divisor of ``T`` (``L = T``: one sequence per environment).

    Returns:
      The same data as ``S = K * N`` sequences: fields ``[L, S, ...]`` and ``carry``
      ``[S, ...]``; sequence ``k * N + n`` is steps ``k L .. k L + L - 1`` of env
      ``n``. (The time axis is split first and moved next to the env axis: a direct
      reshape of ``[T, N]`` to ``[L, K N]`` would interleave envs and times.)
    """
    num_steps, num_envs = batch.start.shape
    k = num_steps // chunk

    def cut(x: jax.Array) -> jax.Array:
        x = x.reshape((k, chunk) + x.shape[1:])
        return jnp.swapaxes(x, 0, 1).reshape((chunk, k * num_envs) + x.shape[3:])

    data = jax.tree.map(cut, batch._replace(carry=None))
    carry = jax.tree.map(lambda c: c.reshape((k * num_envs,) + c.shape[2:]), batch.carry)
    return data._replace(carry=carry)


def sequence_minibatches(seqs: Batch, key: jax.Array, num_minibatches: int) -> Batch:
    """A random split of the sequences of :func:`to_sequences` into minibatches.

    Args:
      seqs: sequences, fields ``[L, S, ...]``, ``carry`` ``[S, ...]``.
      key: PRNG key of the permutation.
      num_minibatches: ``M``, a divisor of ``S``.

    Returns:
      ``M`` minibatches stacked on a new leading axis: fields ``[M, L, S / M, ...]``
      and ``carry`` ``[M, S / M, ...]``; minibatch ``i`` holds the sequences
      ``perm[i S/M : (i + 1) S/M]`` of one permutation ``perm`` of ``range(S)``, each
      with its own initial carry; time is never shuffled.
    """
    num_seq = seqs.start.shape[1]
    perm = random_permutation(key, num_seq).reshape((num_minibatches, -1))
    data = jax.tree.map(
        lambda x: jnp.moveaxis(jnp.take(x, perm, axis=1), 1, 0), seqs._replace(carry=None)
    )
    carry = jax.tree.map(lambda c: jnp.take(c, perm, axis=0), seqs.carry)
    return data._replace(carry=carry)
