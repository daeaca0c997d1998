"""Orthogonal weight initialization from plain XLA operations (no LAPACK call).

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

:func:`orthogonal` computes the same matrix with a Householder QR written in
``jnp``/``lax`` operations, so the compiled train program contains no custom call
at all (``tests/test_stall.py`` checks the lowered program).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp


def householder_q(a: jax.Array) -> jax.Array:
    """The Q factor of ``a = Q R`` (``m >= n``) with a positive diagonal of ``R``.

    For a full-rank ``a`` (``[m, n]``) this ``Q`` (``[m, n]``, orthonormal columns)
    is unique. Householder reflections ``H_k = I - 2 v_k v_k^T`` zero the entries
    below the diagonal of column ``k``:
    ``x = R_k[k:, k]``, ``alpha_k = -sign(x_0) ||x||``, ``v_k ∝ x - alpha_k e_k``,
    so ``R = H_{n-1} ... H_0 a`` has diagonal ``alpha``; then
    ``Q = H_0 ... H_{n-1} [I_n; 0] * sign(alpha)`` (columns rescaled so that the
    diagonal of ``R`` is positive). Cost ``O(m n^2)``, two ``fori_loop`` s of
    rank-one updates; it traces to ordinary XLA operations and is vmappable.

    Args:
      a: ``[m, n]`` float matrix with ``m >= n``.

    Returns:
      ``[m, n]`` matrix with orthonormal columns.
    """
    m, n = a.shape
    if m < n:
        raise ValueError(f"householder_q needs rows >= columns, got shape {a.shape}")
    rows = jnp.arange(m)

    def reflect(k, carry):
        r, vs, signs = carry
        col = jax.lax.dynamic_index_in_dim(r, k, axis=1, keepdims=False)
        x = jnp.where(rows >= k, col, 0.0)
        x_k = jax.lax.dynamic_index_in_dim(x, k, keepdims=False)
        sign = jnp.where(x_k >= 0, 1.0, -1.0).astype(a.dtype)
        alpha = -sign * jnp.linalg.norm(x)
        v = x - alpha * (rows == k).astype(a.dtype)
        v = v / jnp.maximum(jnp.linalg.norm(v), jnp.finfo(a.dtype).tiny)
        r = r - 2.0 * jnp.outer(v, v @ r)
        vs = jax.lax.dynamic_update_index_in_dim(vs, v, k, axis=0)
        signs = jax.lax.dynamic_update_index_in_dim(signs, -sign, k, axis=0)
        return r, vs, signs

    init = (a, jnp.zeros((n, m), a.dtype), jnp.zeros((n,), a.dtype))
    _, vs, signs = jax.lax.fori_loop(0, n, reflect, init)

    def apply_back(i, q):
        v = jax.lax.dynamic_index_in_dim(vs, n - 1 - i, keepdims=False)
        return q - 2.0 * jnp.outer(v, v @ q)

    q = jax.lax.fori_loop(0, n, apply_back, jnp.eye(m, n, dtype=a.dtype))
    # sign(alpha_k) = -sign(x_k); scaling column k by it makes diag(R) positive.
    return q * signs[None, :]


def orthogonal(scale: float = 1.0, column_axis: int = -1) -> Callable[..., jax.Array]:
    """An initializer ``(key, shape, dtype) -> array`` drawing scaled orthogonal matrices.

    The same distribution as ``flax.linen.initializers.orthogonal(scale)``: a
    standard normal matrix of shape ``(fan_in, fan_out)`` (transposed if it is
    wide), orthonormalized by QR with a positive diagonal of ``R`` (so the result is
    Haar-distributed), times ``scale``. Unlike Flax's, no LAPACK custom call is
    emitted (see the module docstring).

    Args:
      scale: multiplier (the "gain", e.g. ``sqrt(2)`` for ReLU/tanh hidden layers).
      column_axis: the axis holding the output features.

    Returns:
      The initializer function.
    """

    def init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
        if len(shape) < 2:
            raise ValueError(f"orthogonal init needs at least 2 dimensions, got {shape}")
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        wide = n_rows < n_cols
        mat_shape = (n_cols, n_rows) if wide else (n_rows, n_cols)
        a = jax.random.normal(key, mat_shape, jnp.float32)
        q = householder_q(a)
        if wide:
            q = q.T
        q = jnp.moveaxis(q.reshape(tuple(s for i, s in enumerate(shape)
                                         if i != column_axis % len(shape)) + (n_cols,)),
                         -1, column_axis)
        return (scale * q).astype(dtype)

    return init
