"""Non-finite guard: which update of a run first produced a NaN or infinity, and where.

Every PPO update records one small integer, ``metrics["nonfinite"]``:

* ``0`` (:data:`OK`): the loss, the gradients and the parameters stayed finite;
* ``1`` (:data:`LOSS`): the loss of some minibatch was NaN or infinite;
* ``2`` (:data:`GRADIENTS`): the loss was finite but the gradients' global norm was
  not (a gradient entry is NaN or infinite, or so large, ~1e19, that its square
  overflows float32);
* ``3`` (:data:`PARAMETERS`): loss and gradients were finite, yet the parameters at
  the end of the update were not (an overflow of the step itself).

Within an update the minibatch steps are checked in order and the first bad one
decides the code, so the code names the first quantity that went bad. The checks cost
next to nothing inside the fused program: the loss is a scalar, the gradient check
reuses the global norm that the optimizer's gradient clipping computes anyway
(``optax.tree.norm``, the same expression, merged by XLA), and the parameters are
checked once per update rather than once per minibatch.
:func:`first_nonfinite` turns the per-update codes into the first bad update index of
every run (``-1`` for a run that stayed finite).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

OK = 0
LOSS = 1
GRADIENTS = 2
PARAMETERS = 3

QUANTITIES = {OK: "nothing", LOSS: "loss", GRADIENTS: "gradients", PARAMETERS: "parameters"}


def _all_finite(tree: Any) -> jax.Array:
    # One reduction over all leaves laid end to end rather than one per leaf: a
    # per-leaf ``all(isfinite(x))`` compiles to two or three kernels per leaf (XLA:CPU
    # splits each reduction), the concatenation to a few for the whole tree, and it
    # runs once per update.
    leaves = [jnp.ravel(x) for x in jax.tree.leaves(tree)]
    if not leaves:
        return jnp.bool_(True)
    return jnp.all(jnp.isfinite(jnp.concatenate(leaves)))


def step_code(loss: jax.Array, grads: Any) -> jax.Array:
    """The code of one minibatch step: :data:`LOSS`, :data:`GRADIENTS` or :data:`OK`."""
    code = jnp.where(jnp.isfinite(optax.tree.norm(grads)), OK, GRADIENTS)
    return jnp.where(jnp.isfinite(loss), code, LOSS).astype(jnp.int32)


def update_code(step_codes: jax.Array, params: Any) -> jax.Array:
    """The code of one update from its minibatch step codes (in order) and final params.

    Args:
      step_codes: the :func:`step_code` of every minibatch step, any shape (flattened
        in row-major order, i.e. the order the steps ran in).
      params: the parameters at the end of the update.

    Returns:
      An int32 scalar: the first non-zero step code, else :data:`PARAMETERS` if
      ``params`` are not finite, else :data:`OK`.
    """
    codes = jnp.ravel(step_codes)
    bad = codes != OK
    first = codes[jnp.argmax(bad)]
    fallback = jnp.where(_all_finite(params), OK, PARAMETERS)
    return jnp.where(jnp.any(bad), first, fallback).astype(jnp.int32)


def first_nonfinite(codes: Any) -> Any:
    """Index of the first update with a non-zero code along the last axis, or ``-1``.

    Works on numpy and jax arrays of shape ``[..., num_updates]`` (e.g. the
    ``[seeds, updates]`` metrics of a vmapped run) and returns shape ``[...]``.
    """
    xp = np if isinstance(codes, np.ndarray) else jnp
    bad = xp.asarray(codes) != OK
    first = xp.argmax(bad, axis=-1)
    return xp.where(xp.any(bad, axis=-1), first, -1)


def quantity(code: int) -> str:
    """The name of the quantity a code stands for (``"loss"``, ``"gradients"`` ...)."""
    return QUANTITIES.get(int(code), f"unknown code {int(code)}")


class Divergence:
    """The first non-finite update of a batch of runs, for reporting.

    Attributes:
      run: the run (seed index) that went bad first, or ``None`` for one unbatched run.
      update: its first non-finite update index (0-based, over the whole run).
      env_steps: env steps at the end of that update (per run).
      quantity: the first quantity that went bad (``"loss"``, ``"gradients"`` or
        ``"parameters"``).
      runs: every run that went bad, in index order.
    """

    def __init__(
        self, run: int | None, update: int, env_steps: int, quantity: str, runs: list[int]
    ) -> None:
        self.run, self.update, self.env_steps = run, update, env_steps
        self.quantity, self.runs = quantity, runs

    def describe(self) -> str:
        """One line: which run, which update, how many env steps, which quantity."""
        who = "the run" if self.run is None else f"seed {self.run}"
        others = [r for r in self.runs if r != self.run]
        tail = f" (also seeds {others})" if others else ""
        return (
            f"{who} went non-finite at update {self.update} (env steps "
            f"{self.env_steps:,}): the {self.quantity} became NaN or infinite{tail}"
        )


def find_divergence(codes: Any, batch_size: int, offset: int = 0) -> Divergence | None:
    """The earliest non-finite update in ``codes`` (``[(runs,) updates]``), or ``None``.

    Args:
      codes: ``metrics["nonfinite"]`` of one unbatched run or of a batch of runs.
      batch_size: env steps per update (``config.batch_size``).
      offset: the update index of ``codes[..., 0]`` within the whole run.
    """
    codes = np.asarray(codes)
    first = first_nonfinite(codes)
    if codes.ndim == 1:
        if first < 0:
            return None
        return Divergence(
            None,
            offset + int(first),
            (offset + int(first) + 1) * batch_size,
            quantity(codes[first]),
            [],
        )
    flat_first = first.reshape(-1)
    flat_codes = codes.reshape(-1, codes.shape[-1])
    bad = [i for i in range(flat_first.size) if flat_first[i] >= 0]
    if not bad:
        return None
    run = min(bad, key=lambda i: (flat_first[i], i))
    update = int(flat_first[run])
    return Divergence(
        run,
        offset + update,
        (offset + update + 1) * batch_size,
        quantity(flat_codes[run, update]),
        bad,
    )
