"""Helpers shared by the optional JAX suite adapters (jumanji, craftax, xminigrid,
playground): install hints, name parsing and the auto-reset with a fresh key."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import jax
import jax.numpy as jnp


def install_hint(suite: str) -> str:
    return f'pip install "purejaxppo[{suite}]"'


def is_installed(package: str) -> bool:
    """Whether ``package`` can be imported (checked without importing it)."""
    return importlib.util.find_spec(package) is not None


def import_suite(package: str, suite: str) -> Any:
    """Imports ``package`` or raises ``ImportError`` naming the extra to install."""
    try:
        return importlib.import_module(package)
    except ImportError as err:
        raise ImportError(
            f"{suite} environments need the optional {suite} extra: {install_hint(suite)} ({err})"
        ) from err


def select_tree(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    """Leaf-wise ``where(pred, on_true, on_false)`` keeping ``on_false``'s dtypes."""

    def pick(a: Any, b: Any) -> Any:
        a, b = jnp.asarray(a), jnp.asarray(b)
        if jax.dtypes.issubdtype(b.dtype, jax.dtypes.prng_key):
            data = jnp.where(pred, jax.random.key_data(a), jax.random.key_data(b))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(b))
        return jnp.where(pred, a, b).astype(b.dtype)

    return jax.tree.map(pick, on_true, on_false)


def _scatter_rows(target: Any, rows: jax.Array, update: Any) -> Any:
    """``target.at[rows].set(update)`` leaf-wise; rows out of range are dropped."""

    def put(t: Any, u: Any) -> Any:
        t, u = jnp.asarray(t), jnp.asarray(u)
        if jax.dtypes.issubdtype(t.dtype, jax.dtypes.prng_key):
            data = jax.random.key_data(t).at[rows].set(jax.random.key_data(u), mode="drop")
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(t))
        return t.at[rows].set(u.astype(t.dtype), mode="drop")

    return jax.tree.map(put, target, update)


def reset_ended(
    ended: jax.Array,
    keys: jax.Array,
    reset_fn: Any,
    obs: jax.Array,
    state: Any,
    block: int,
) -> tuple[jax.Array, Any]:
    """Replaces ``(obs[i], state[i])`` by ``reset_fn(keys[i])`` wherever ``ended[i]``.

    The same result as ``select(ended, vmap(reset_fn)(keys), (obs, state))``, but
    start states are computed only for the environments that ended, ``block`` at a
    time in a ``while_loop`` (no iteration at all on a step where none ended). Each
    environment's start state depends only on its own key, so the result does not
    depend on ``block``.

    Args:
      ended: ``[N]`` bool, which environments to reset.
      keys: ``[N]`` per-environment reset keys.
      reset_fn: ``key -> (obs, state)`` for ONE environment.
      obs: ``[N, ...]`` current observations.
      state: pytree of ``[N, ...]`` current states.
      block: how many start states one loop iteration computes (>= 1).
    """
    n = ended.shape[0]
    block = max(1, min(int(block), n))

    def pending(carry: tuple) -> jax.Array:
        return jnp.any(carry[0])

    def reset_block(carry: tuple) -> tuple:
        left, obs, state = carry
        # The first ``block`` environments still to reset; index n pads (dropped).
        rows = jnp.nonzero(left, size=block, fill_value=n)[0]
        new_obs, new_state = jax.vmap(reset_fn)(keys[jnp.minimum(rows, n - 1)])
        left = left.at[rows].set(False, mode="drop")
        return left, _scatter_rows(obs, rows, new_obs), _scatter_rows(state, rows, new_state)

    _, obs, state = jax.lax.while_loop(pending, reset_block, (ended, obs, state))
    return obs, state


def reset_key(key: jax.Array) -> jax.Array:
    """The key an auto-reset draws the next start state with (never a cached state)."""
    return jax.random.fold_in(key, 1)
