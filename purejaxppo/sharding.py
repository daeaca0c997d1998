"""Device meshes and sharding annotations for data-parallel training (the layer below
:mod:`purejaxppo.train`).

:func:`purejaxppo.make_train` with ``mesh=`` uses these functions to split a run's
environments over the devices of a mesh axis; they only annotate arrays and never
import the trainer. The jitted multi-device entry points, the host-side helpers and
the command line live in :mod:`purejaxppo.distributed`, which is layered on top of
the trainer and re-exports everything here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"
SEED_AXIS = "seeds"

# TrainState fields whose leaves have the environments on their leading axis.
_ENV_FIELDS = ("env_state", "obs", "ep_return", "ep_length", "carry", "start")


# ---------------------------------------------------------------------------- meshes
def make_mesh(
    data: int | None = None, seeds: int = 1, devices: Sequence[Any] | None = None
) -> Mesh:
    """A ``(seeds, data)`` device mesh for :func:`purejaxppo.make_train` and friends.

    Args:
      data: devices per run (environments are split over them). Default: all the
        devices not used by ``seeds``.
      seeds: groups of devices that train different seeds (default 1).
      devices: the devices to use (default ``jax.devices()``, i.e. all devices of all
        processes); the first ``data * seeds`` are taken.

    Returns:
      A mesh with axes ``("seeds", "data")`` of type ``AxisType.Auto``.

    Raises:
      ValueError: on non-positive sizes, or more devices asked than available, or
        ``data=None`` with a device count that ``seeds`` does not divide.
    """
    devices = list(jax.devices() if devices is None else devices)
    if not _is_pos_int(seeds):
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    if data is None:
        if len(devices) % seeds:
            raise ValueError(
                f"seeds = {seeds} does not divide the {len(devices)} devices; pass data= "
                "explicitly or choose seeds among the divisors of the device count"
            )
        data = len(devices) // seeds
    if not _is_pos_int(data):
        raise ValueError(f"data must be a positive integer, got {data!r}")
    if data * seeds > len(devices):
        raise ValueError(
            f"mesh of seeds x data = {seeds} x {data} = {seeds * data} devices asked, "
            f"but only {len(devices)} are available"
        )
    return jax.make_mesh(
        (seeds, data),
        (SEED_AXIS, DATA_AXIS),
        axis_types=(AxisType.Auto, AxisType.Auto),
        devices=devices[: data * seeds],
    )


def check_mesh(config: Any, mesh: Any, data_axis: str = DATA_AXIS) -> Mesh:
    """Validates ``mesh`` for data-parallel training of ``config``.

    Args:
      config: the :class:`purejaxppo.PPOConfig`.
      mesh: a ``jax.sharding.Mesh`` with an axis named ``data_axis``.
      data_axis: the mesh axis the environments are split over.

    Returns:
      The mesh, with every axis of type ``AxisType.Auto`` (a mesh from
      ``jax.make_mesh``, whose axes default to ``Explicit``, is converted).

    Raises:
      ValueError: if ``mesh`` is not a Mesh, lacks ``data_axis``, or ``num_envs`` is
        not divisible by the number of devices along ``data_axis``.
    """
    if not isinstance(mesh, Mesh):
        raise ValueError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
    if data_axis not in mesh.axis_names:
        raise ValueError(
            f"mesh has axes {tuple(mesh.axis_names)} but no axis {data_axis!r} to split "
            "the environments over; build it with purejaxppo.distributed.make_mesh or "
            "pass data_axis="
        )
    size = mesh.shape[data_axis]
    if config.num_envs % size:
        raise ValueError(
            f"num_envs = {config.num_envs} is not divisible by the {size} devices of mesh "
            f"axis {data_axis!r}; choose num_envs as a multiple of {size}"
        )
    if any(t != AxisType.Auto for t in mesh.axis_types):
        mesh = Mesh(mesh.devices, mesh.axis_names, axis_types=(AxisType.Auto,) * mesh.devices.ndim)
    return mesh


# ------------------------------------------------------------ sharding annotations
def state_shardings(state: Any, mesh: Mesh, data_axis: str = DATA_AXIS) -> Any:
    """A pytree of shardings for a ``TrainState``: env arrays split, the rest replicated."""
    replicated = NamedSharding(mesh, P())
    split = NamedSharding(mesh, P(data_axis))
    size = mesh.shape[data_axis]

    def env_leaf(x: Any) -> NamedSharding:
        ok = np.ndim(x) >= 1 and np.shape(x)[0] % size == 0
        return split if ok else replicated

    out = jax.tree.map(lambda _: replicated, state)
    changes = {name: jax.tree.map(env_leaf, getattr(state, name)) for name in _ENV_FIELDS}
    if state.reward_scaler is not None:
        changes["reward_scaler"] = out.reward_scaler.replace(
            discounted_return=env_leaf(state.reward_scaler.discounted_return)
        )
    return out.replace(**changes)


def constrain_state(state: Any, mesh: Mesh, data_axis: str = DATA_AXIS) -> Any:
    """``state`` with its env arrays split over ``data_axis`` and the rest replicated."""
    return jax.lax.with_sharding_constraint(state, state_shardings(state, mesh, data_axis))


def _constrain_batch(obs: Any, mesh: Mesh, data_axis: str) -> Any:
    """Splits the batch axis next to the feature axis (``[..., B, obs_dim]``) of the
    observation (of each of its arrays, for a dict)."""
    return jax.tree.map(lambda x: _constrain_array(x, mesh, data_axis), obs)


def _constrain_array(x: jax.Array, mesh: Mesh, data_axis: str) -> jax.Array:
    x = jax.numpy.asarray(x)
    if x.ndim < 2 or x.shape[-2] % mesh.shape[data_axis]:
        return x
    spec = P(*([None] * (x.ndim - 2) + [data_axis, None]))
    return jax.lax.with_sharding_constraint(x, NamedSharding(mesh, spec))


def shard_networks(nets: Any, mesh: Mesh, data_axis: str = DATA_AXIS) -> Any:
    """The same networks, with their observation batch split over ``data_axis``.

    This is what makes the update data-parallel: each minibatch (drawn from the global
    permutation) is split over the devices, each device differentiates the loss of
    its slice and the partitioner all-reduces the gradients. A batch axis that the
    device count does not divide is left to the partitioner (still correct).
    """

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def sharded(params: Any, obs: jax.Array) -> Any:
            return fn(params, _constrain_batch(obs, mesh, data_axis))

        return sharded

    def wrap_memory(fn: Callable[..., Any]) -> Callable[..., Any]:
        def sharded(params: Any, carry: Any, obs: jax.Array, reset: jax.Array) -> Any:
            return fn(params, carry, _constrain_batch(obs, mesh, data_axis), reset)

        return sharded

    changes = {
        name: wrap(getattr(nets, name))
        for name in ("policy", "value", "policy_and_value")
        if callable(getattr(nets, name, None))
    }
    changes.update(
        {
            name: wrap_memory(getattr(nets, name))
            for name in ("step", "unroll", "act")
            if callable(getattr(nets, name, None))
        }
    )
    return nets._replace(**changes)


def shard_trainer(trainer: Any, mesh: Mesh, data_axis: str = DATA_AXIS) -> Any:
    """Wraps a ``Trainer``'s ``init``/``update`` with the state's sharding constraints."""
    init, update = trainer.init, trainer.update

    def sharded_init(rng: jax.Array, hp: Any) -> Any:
        return constrain_state(init(rng, hp), mesh, data_axis)

    def sharded_update(state: Any, hp: Any) -> tuple[Any, dict[str, jax.Array]]:
        state, metrics = update(constrain_state(state, mesh, data_axis), hp)
        return constrain_state(state, mesh, data_axis), metrics

    return trainer._replace(init=sharded_init, update=sharded_update)


def _is_pos_int(x: Any) -> bool | np.bool_:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x > 0
