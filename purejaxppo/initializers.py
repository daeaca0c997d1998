"""Orthogonal weight initialization whose LAPACK calls are never batched.

Why not ``flax.linen.initializers.orthogonal``: it calls ``jnp.linalg.qr``, which
on CPU lowers to the LAPACK custom calls ``lapack_sgeqrf_ffi`` / ``lapack_sorgqr_ffi``.
Under ``jax.vmap`` over many seeds those kernels are batched, and jaxlib runs the
batch with ``ParallelBatchMap``: the kernel, itself executing ON a worker of XLA's
intra-op thread pool, schedules sub-tasks onto that same pool and blocks on a
counter until they finish. When every worker of the pool is inside such a kernel
(two concurrent QR calls on a 2-core host: the actor's and the critic's), nobody is
left to run the sub-tasks and the process parks forever in ``futex_wait``. This was
reproduced with jax/jaxlib 0.10.2 for ``jit(vmap(train))`` of 256 seeds
(``benchmarks/stall_repro.py``), with and without the XLA flags once set at import.

:func:`orthogonal` computes the same matrix as Flax's (same key, same LAPACK
QR) but through :func:`qr_q`, whose ``vmap`` rule on CPU calls the UNBATCHED kernel
once per seed in a ``lax.map``: no ``ParallelBatchMap``, no stall (16 to 512 seeds
finish, ``benchmarks/stall_repro.py``; ``tests/test_stall.py`` checks that every
LAPACK call in the lowered vmapped program takes a single matrix and stress-tests
16/64/256 seeds). An earlier version did the QR with Householder reflections in two
``fori_loop`` s of plain XLA operations per matrix (no custom call at all); those
12 loops cost up to ~1 s of compile time per train program, more than the init is
worth.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp


def qr_q(a: jax.Array) -> jax.Array:
    """The Q factor of ``a = Q R`` (``[m, n]``, ``m >= n``) with a positive diagonal of ``R``.

    For a full-rank ``a`` this ``Q`` (orthonormal columns) is unique: LAPACK's
    Householder QR (``geqrf`` / ``orgqr``), then each column ``k`` times
    ``sign(R_kk)``. Under ``jax.vmap`` the batch is NOT handed to LAPACK as one
    batched call: on CPU the batching rule runs the unbatched kernel once per element
    in a ``lax.map``, because jaxlib's batched LAPACK kernels can deadlock XLA's
    intra-op pool (module docstring). Other backends keep the batched call.

    Args:
      a: ``[m, n]`` float matrix with ``m >= n``.

    Returns:
      ``[m, n]`` matrix with orthonormal columns.
    """
    if a.ndim != 2 or a.shape[0] < a.shape[1]:
        raise ValueError(f"qr_q needs an [m, n] matrix with m >= n, got shape {a.shape}")
    return _qr_q(a)


def _qr_q_plain(a: jax.Array) -> jax.Array:
    q, r = jnp.linalg.qr(a)
    # diag(R) as a masked column sum (exact: the off-diagonal terms add zeros), one
    # fused kernel; ``jnp.diagonal`` lowers to a gather inside a conditional, two
    # kernels per matrix that each cost compile time.
    n = r.shape[-1]
    sign = jnp.sign(jnp.sum(r * jnp.eye(n, dtype=r.dtype), axis=-2))
    return q * jnp.where(sign == 0, 1.0, sign).astype(a.dtype)[..., None, :]


@jax.custom_batching.custom_vmap
def _qr_q(a: jax.Array) -> jax.Array:
    return _qr_q_plain(a)


@_qr_q.def_vmap
def _qr_q_batched(axis_size: int, in_batched: Any, a: jax.Array) -> tuple[jax.Array, bool]:
    del axis_size
    if not in_batched[0]:
        return _qr_q(a), False
    if jax.default_backend() == "cpu":
        # One unbatched LAPACK call per matrix (nested vmaps nest the maps).
        return jax.lax.map(_qr_q, a), True
    return _qr_q_plain(a), True


def _to_kernel(
    q: jax.Array, shape: tuple[int, ...], column_axis: int, wide: bool, scale: float, dtype: Any
) -> jax.Array:
    n_cols = shape[column_axis]
    if wide:
        q = q.T
    q = jnp.moveaxis(
        q.reshape(
            tuple(s for i, s in enumerate(shape) if i != column_axis % len(shape)) + (n_cols,)
        ),
        -1,
        column_axis,
    )
    return (scale * q).astype(dtype)


def _matrix_shape(shape: tuple[int, ...], column_axis: int) -> tuple[tuple[int, int], bool]:
    if len(shape) < 2:
        raise ValueError(f"orthogonal init needs at least 2 dimensions, got {shape}")
    n_cols = shape[column_axis]
    n_rows = math.prod(shape) // n_cols
    wide = n_rows < n_cols
    return ((n_cols, n_rows) if wide else (n_rows, n_cols)), wide


def orthogonal_many(
    key: jax.Array,
    shapes: Sequence[tuple[int, ...]],
    scales: Sequence[float],
    dtype: Any = jnp.float32,
) -> list[jax.Array]:
    """Several scaled orthogonal matrices from ONE normal draw.

    Each result has the distribution of ``orthogonal(scale)(k, shape)`` (output
    features on the last axis): the standard normal entries of all matrices come
    from a single ``jax.random.normal(key, (total,))``, cut in order, then each is
    orthonormalized by :func:`qr_q`. One draw instead of one per matrix matters for
    compile time, not for run time: every ``jax.random`` call adds a Threefry loop
    and its kernels to the program, and a network's initialization is compiled into
    every train program (see :func:`purejaxppo.networks.init_mlps` for the measured
    compile times).

    Args:
      key: PRNG key.
      shapes: the kernel shapes, each with at least 2 dimensions.
      scales: one gain per shape.
      dtype: result dtype.

    Returns:
      The matrices, in the order of ``shapes``.
    """
    if len(shapes) != len(scales):
        raise ValueError(
            f"orthogonal_many needs one scale per shape, got {len(shapes)} "
            f"shapes and {len(scales)} scales"
        )
    mats = [_matrix_shape(tuple(shape), -1) for shape in shapes]
    sizes = [m * n for (m, n), _ in mats]
    z = jax.random.normal(key, (sum(sizes),), jnp.float32)
    blocks, start = [], 0
    for ((m, n), _), size in zip(mats, sizes, strict=True):
        blocks.append(z[start : start + size].reshape(m, n))
        start += size
    return [
        _to_kernel(qr_q(a), tuple(shape), -1, wide, scale, dtype)
        for a, shape, scale, (_, wide) in zip(blocks, shapes, scales, mats, strict=True)
    ]


def orthogonal(scale: float = 1.0, column_axis: int = -1) -> Callable[..., jax.Array]:
    """An initializer ``(key, shape, dtype) -> array`` drawing scaled orthogonal matrices.

    The same distribution as ``flax.linen.initializers.orthogonal(scale)``: a
    standard normal matrix of shape ``(fan_in, fan_out)`` (transposed if it is
    wide), orthonormalized by QR with a positive diagonal of ``R`` (so the result is
    Haar-distributed), times ``scale``. Unlike Flax's, a ``vmap`` over seeds never
    batches the LAPACK call on CPU (see the module docstring).

    Args:
      scale: multiplier (the "gain", e.g. ``sqrt(2)`` for ReLU/tanh hidden layers).
      column_axis: the axis holding the output features.

    Returns:
      The initializer function.
    """

    def init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
        mat_shape, wide = _matrix_shape(tuple(shape), column_axis)
        q = qr_q(jax.random.normal(key, mat_shape, jnp.float32))
        return _to_kernel(q, tuple(shape), column_axis, wide, scale, dtype)

    return init
