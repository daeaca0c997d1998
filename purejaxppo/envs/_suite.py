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


def reset_key(key: jax.Array) -> jax.Array:
    """The key an auto-reset draws the next start state with (never a cached state)."""
    return jax.random.fold_in(key, 1)
