r"""Recurrent memory cores for policies with memory: GRU, LSTM and a parallel-scan minGRU.

A core is a pair of pure functions over an explicit parameter dict (no Flax modules,
so nothing here depends on how a Flax version initialises carries):

* ``step(params, carry, x, reset) -> (carry, h)`` for ONE time step of a batch,
  ``x: [B, D]``, ``reset: [B]`` bool;
* ``unroll(params, carry, xs, resets) -> (carry, hs)`` for a time-major sequence,
  ``xs: [T, B, D]``, ``resets: [T, B]``; it computes exactly what ``T`` calls of
  ``step`` compute (up to float reassociation for the parallel core).

``reset_t`` is the PRE-step episode start: it is true when ``x_t`` is the first
observation of an episode, and the core then replaces the incoming carry by the
initial (zero) carry before consuming ``x_t``::

    h_in_t = 0 if reset_t else h_{t-1}
    h_t    = cell(h_in_t, x_t)

Cores (``H = memory_size``):

* ``"gru"`` (Cho et al. 2014, the cuDNN/PyTorch variant with the reset gate applied
  to the hidden projection)::

      r = sigma(x W_r + b_r + h U_r + c_r)      z = sigma(x W_z + b_z + h U_z + c_z)
      n = tanh(x W_n + b_n + r * (h U_n + c_n)) h' = (1 - z) * n + z * h

* ``"lstm"`` (Hochreiter & Schmidhuber 1997, forget-gate bias 1)::

      i, f, g, o = split(x W + h U + b)
      c' = sigma(f) * c + sigma(i) * tanh(g)    h' = sigma(o) * tanh(c')

* ``"mingru"`` (minimal GRU, Feng et al. 2024 "Were RNNs all we needed?"): the gates
  depend on the input only, so the recurrence is LINEAR in ``h``::

      z_t = sigma(x_t W_z + b_z)     hh_t = x_t W_h + b_h
      h_t = a_t * h_{t-1} + b_t,     a_t = (1 - z_t) * (1 - reset_t),  b_t = z_t * hh_t

  and a whole sequence is one ``jax.lax.associative_scan`` (O(log T) depth instead
  of T sequential steps) over pairs ``(a, b)`` with the associative operator

      (a_i, b_i) o (a_j, b_j) = (a_j * a_i,  a_j * b_i + b_j)      (i before j)

  whose prefix ``(A_t, B_t) = (a_0, b_0) o ... o (a_t, b_t)`` gives
  ``h_t = A_t * h_{-1} + B_t`` for the carry ``h_{-1}`` that enters the sequence.
  Resets are folded into ``a``: ``reset_t`` sets ``a_t = 0``, which zeroes every
  product ``A`` that spans ``t``, so nothing from before an episode start reaches
  inside it (the initial carry is zero, so ``h_t`` restarts from ``b_t`` exactly as
  the sequential step does).

Initialisation: orthogonal input and recurrent matrices (gain 1), zero biases except
the LSTM forget gate (1.0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purejaxppo.config import MEMORY_TYPES
from purejaxppo.initializers import orthogonal

__all__ = ["MEMORY_TYPES", "Core", "linear_recurrence_scan", "make_core"]


class Core(NamedTuple):
    """A memory core as pure functions (see the module docstring).

    Attributes:
      init: ``(key, in_dim) -> params``.
      initial_carry: ``batch_size -> carry`` (zeros, leading axis ``batch_size``).
      step: ``(params, carry, x[B, D], reset[B]) -> (carry, h[B, H])``.
      unroll: ``(params, carry, xs[T, B, D], resets[T, B]) -> (carry, hs[T, B, H])``.
      size: ``H``, the width of ``h``.
    """

    init: Callable[[jax.Array, int], Any]
    initial_carry: Callable[[int], Any]
    step: Callable[..., tuple[Any, jax.Array]]
    unroll: Callable[..., tuple[Any, jax.Array]]
    size: int


def _orthogonal(key: jax.Array, rows: int, cols: int) -> jax.Array:
    return orthogonal(1.0)(key, (rows, cols), jnp.float32)


def _reset(carry: Any, reset: jax.Array) -> Any:
    """``carry`` with the rows where ``reset`` is true replaced by zeros."""
    return jax.tree.map(
        lambda c: jnp.where(reset.reshape(reset.shape + (1,) * (c.ndim - reset.ndim)), 0.0, c),
        carry,
    )


def _scan_unroll(cell: Callable, input_proj: Callable) -> Callable:
    """``unroll`` of a sequential cell: input projections for all ``T`` in one matmul,
    then a ``lax.scan`` over the recurrent part only."""

    def unroll(params, carry, xs, resets):
        gx = input_proj(params, xs)

        def body(c, inputs):
            g, r = inputs
            c = cell(params, _reset(c, r), g)
            return c, _output(c)

        return jax.lax.scan(body, carry, (gx, resets))

    return unroll


def _output(carry: Any) -> jax.Array:
    return carry[1] if isinstance(carry, tuple) else carry


# ------------------------------------------------------------------------------ GRU
def _gru(size: int) -> Core:
    def init(key, in_dim):
        k_x, k_h = jax.random.split(key)
        return {
            "w_x": jnp.concatenate(
                [_orthogonal(k, in_dim, size) for k in jax.random.split(k_x, 3)], axis=1
            ),
            "w_h": jnp.concatenate(
                [_orthogonal(k, size, size) for k in jax.random.split(k_h, 3)], axis=1
            ),
            "b_x": jnp.zeros((3 * size,), jnp.float32),
            "b_h": jnp.zeros((3 * size,), jnp.float32),
        }

    def input_proj(p, x):
        return x @ p["w_x"] + p["b_x"]

    def cell(p, h, gx):
        gh = h @ p["w_h"] + p["b_h"]
        r = jax.nn.sigmoid(gx[..., :size] + gh[..., :size])
        z = jax.nn.sigmoid(gx[..., size : 2 * size] + gh[..., size : 2 * size])
        n = jnp.tanh(gx[..., 2 * size :] + r * gh[..., 2 * size :])
        return (1.0 - z) * n + z * h

    def step(p, h, x, reset):
        h = cell(p, _reset(h, reset), input_proj(p, x))
        return h, h

    return Core(
        init,
        lambda n: jnp.zeros((n, size), jnp.float32),
        step,
        _scan_unroll(cell, input_proj),
        size,
    )


# ----------------------------------------------------------------------------- LSTM
def _lstm(size: int) -> Core:
    def init(key, in_dim):
        k_x, k_h = jax.random.split(key)
        bias = jnp.zeros((4 * size,), jnp.float32).at[size : 2 * size].set(1.0)
        return {
            "w_x": jnp.concatenate(
                [_orthogonal(k, in_dim, size) for k in jax.random.split(k_x, 4)], axis=1
            ),
            "w_h": jnp.concatenate(
                [_orthogonal(k, size, size) for k in jax.random.split(k_h, 4)], axis=1
            ),
            "b": bias,
        }

    def input_proj(p, x):
        return x @ p["w_x"] + p["b"]

    def cell(p, carry, gx):
        c, h = carry
        g = gx + h @ p["w_h"]
        i, f, u, o = (g[..., k * size : (k + 1) * size] for k in range(4))
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(u)
        return c, jax.nn.sigmoid(o) * jnp.tanh(c)

    def step(p, carry, x, reset):
        carry = cell(p, _reset(carry, reset), input_proj(p, x))
        return carry, carry[1]

    def initial_carry(n):
        zeros = jnp.zeros((n, size), jnp.float32)
        return (zeros, zeros)

    return Core(init, initial_carry, step, _scan_unroll(cell, input_proj), size)


# ---------------------------------------------------------------------------- minGRU
def linear_recurrence_scan(a: jax.Array, b: jax.Array, h0: jax.Array) -> jax.Array:
    """All ``h_t = a_t * h_{t-1} + b_t`` (t = 0..T-1, ``h_{-1} = h0``) by one associative scan.

    Args:
      a: ``[T, ...]`` multiplicative coefficients (0 where the sequence restarts).
      b: ``[T, ...]`` additive terms.
      h0: ``[...]`` the state entering the sequence.

    Returns:
      ``[T, ...]`` the states ``h_t``; see the module docstring for the operator.
    """

    def combine(earlier, later):
        a_i, b_i = earlier
        a_j, b_j = later
        return a_j * a_i, a_j * b_i + b_j

    big_a, big_b = jax.lax.associative_scan(combine, (a, b), axis=0)
    return big_a * h0 + big_b


def _mingru(size: int) -> Core:
    def init(key, in_dim):
        k_z, k_h = jax.random.split(key)
        return {
            "w_z": _orthogonal(k_z, in_dim, size),
            "b_z": jnp.zeros((size,), jnp.float32),
            "w_h": _orthogonal(k_h, in_dim, size),
            "b_h": jnp.zeros((size,), jnp.float32),
        }

    def coefficients(p, x):
        z = jax.nn.sigmoid(x @ p["w_z"] + p["b_z"])
        return 1.0 - z, z * (x @ p["w_h"] + p["b_h"])

    def step(p, h, x, reset):
        a, b = coefficients(p, x)
        h = a * _reset(h, reset) + b
        return h, h

    def unroll(p, h, xs, resets):
        a, b = coefficients(p, xs)
        a = jnp.where(resets[..., None], 0.0, a)
        hs = linear_recurrence_scan(a, b, h)
        return hs[-1], hs

    return Core(init, lambda n: jnp.zeros((n, size), jnp.float32), step, unroll, size)


def make_core(kind: str, size: int) -> Core:
    """The core ``kind`` (one of :data:`MEMORY_TYPES`) with ``size`` hidden units.

    Raises:
      ValueError: on an unknown kind or a non-positive size.
    """
    if kind not in MEMORY_TYPES:
        raise ValueError(f"unknown memory {kind!r}; allowed: {list(MEMORY_TYPES)} or None")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ValueError(f"memory_size must be a positive integer, got {size!r}")
    return {"gru": _gru, "lstm": _lstm, "mingru": _mingru}[kind](size)
