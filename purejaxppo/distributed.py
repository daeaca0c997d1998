"""Scale out: data-parallel and seed-parallel PPO over a device mesh, on one or many hosts.

Two ways to spend devices, chosen per run:

* **Data parallelism** (mesh axis ``"data"``): the ``num_envs`` environments of ONE run
  are split over the devices of the axis. Every device steps its share of the envs;
  the rollout is gathered once per update (``T * num_envs`` transitions, small next
  to the compute) so that minibatches come from the same global permutation as on
  one device; each minibatch is then split over the devices again, every device
  takes the gradient of its slice and XLA all-reduces the gradients. Parameters and
  optimizer state are replicated and bit-identical on every device. The program is
  the one-device program with sharding annotations only (``jax.jit`` + ``NamedSharding``
  + ``with_sharding_constraint``; the SPMD partitioner inserts the collectives), so
  the results equal the one-device results up to float reduction order.
* **Seed parallelism** (mesh axis ``"seeds"``): a sweep over many seeds (or
  hyperparameters) is ``vmap``-ed and its seed axis sharded over the devices; every
  device trains its own seeds and no gradients cross devices.

Both axes can be combined in one 2-D mesh (``make_mesh(data=2, seeds=4)``). Data
parallelism is the choice when one run must finish sooner or its batch does not fit
one device; seed parallelism is the choice for sweeps of small runs (no
communication at all, so it scales perfectly as long as each device stays busy).

Multi-host: call ``jax.distributed.initialize(...)`` first, build the mesh over
``jax.devices()`` (all processes' devices) and call the same functions with the same
key on every process. Each process steps only the environments of its own devices;
their keys are distinct slices of the global key array, so env randomness differs
per process while the run stays equal to the one-device run. :func:`gather` brings
results to the host for logging and checkpoints (write them from process 0, see
:func:`is_main_process`).

Command line (one process per host; see the README section "Scaling out")::

    python -m purejaxppo.distributed --env CartPole-v1 --num-envs 256 --data 8
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from purejaxppo.config import PPOConfig
from purejaxppo.sharding import (  # noqa: F401  (re-exported: the public API lives here)
    DATA_AXIS,
    SEED_AXIS,
    _is_pos_int,
    check_mesh,
    constrain_state,
    make_mesh,
    shard_networks,
    shard_trainer,
    state_shardings,
)
from purejaxppo.train import env_steps, make_train


# ----------------------------------------------------------- jitted entry points
def replicate(tree: Any, mesh: Mesh) -> Any:
    """Host values (identical on every process) as fully replicated global arrays."""
    sharding = NamedSharding(mesh, P())

    def put(x: Any) -> jax.Array:
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(
                put(jax.random.key_data(x)), impl=jax.random.key_impl(x)
            )
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])

    return jax.tree.map(put, tree)


def shard_leading(tree: Any, mesh: Mesh, axis: str) -> Any:
    """Host values (identical on every process) split on their leading axis over ``axis``."""
    sharding = NamedSharding(mesh, P(axis))

    def put(x: Any) -> jax.Array:
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])

    return jax.tree.map(put, tree)


def make_sharded_train(
    config: Any,
    mesh: Mesh,
    env: Any = None,
    env_params: Any = None,
    data_axis: str = DATA_AXIS,
) -> Callable[..., Any]:
    """``jax.jit(make_train(config, mesh=mesh))`` that also accepts host inputs.

    Args:
      config: a :class:`purejaxppo.PPOConfig`.
      mesh: the device mesh (see :func:`make_mesh`); its other axes are unused.
      env: optional env, as for :func:`purejaxppo.make_train`.
      env_params: optional gymnax params of ``env``.
      data_axis: the mesh axis the environments are split over.

    Returns:
      ``train(rng, hparams=None) -> TrainOutput``; ``rng`` must be the same on every
      process. Works unchanged under ``jax.distributed``.

    Raises:
      ValueError: on a bad config or mesh, before anything is compiled.
    """

    mesh = check_mesh(config, mesh, data_axis)
    jitted = jax.jit(make_train(config, env, env_params, mesh=mesh, data_axis=data_axis))

    def train(rng: Any, hparams: Any = None) -> Any:
        hp = config.hparams() if hparams is None else hparams
        return jitted(replicate(rng, mesh), replicate(hp, mesh))

    return train


def make_seeds_train(
    config: Any,
    mesh: Mesh,
    env: Any = None,
    env_params: Any = None,
    seed_axis: str = SEED_AXIS,
    data_axis: str = DATA_AXIS,
) -> Callable[..., Any]:
    """Many seeds at once, their seeds split over ``seed_axis`` (and envs over ``data_axis``).

    Args:
      config: a :class:`purejaxppo.PPOConfig`.
      mesh: a mesh with ``seed_axis`` and ``data_axis`` (see :func:`make_mesh`).
      env: optional env, as for :func:`purejaxppo.make_train`.
      env_params: optional gymnax params of ``env``.
      seed_axis: mesh axis the seeds are split over.
      data_axis: mesh axis each run's environments are split over (size 1 for pure
        seed parallelism).

    Returns:
      ``train(keys, hparams=None) -> TrainOutput`` with ``keys`` of shape
      ``[num_seeds, ...]`` (``num_seeds`` a multiple of the ``seed_axis`` size) and
      optional ``hparams`` batched along the same leading axis; outputs gain that
      leading axis, sharded over ``seed_axis``.

    Raises:
      ValueError: on a bad config or mesh (at build time) or a seed count the seed
        axis does not divide (at call time, before compiling).
    """

    mesh = check_mesh(config, mesh, data_axis)
    if seed_axis not in mesh.axis_names:
        raise ValueError(f"mesh has axes {tuple(mesh.axis_names)} but no axis {seed_axis!r}")
    if seed_axis == data_axis:
        raise ValueError("seed_axis and data_axis must be different mesh axes")
    train_one = make_train(config, env, env_params, mesh=mesh, data_axis=data_axis)
    batched = jax.jit(jax.vmap(train_one, spmd_axis_name=seed_axis))
    size = mesh.shape[seed_axis]

    def train(keys: Any, hparams: Any = None) -> Any:
        num = np.shape(keys)[0] if np.ndim(keys) else 0
        if num == 0 or num % size:
            raise ValueError(
                f"got {num} seeds for the {size} devices of mesh axis {seed_axis!r}; the "
                f"number of seeds must be a positive multiple of {size}"
            )
        if hparams is None:
            hp = config.hparams()
            hparams = jax.tree.map(lambda x: np.broadcast_to(np.asarray(x), (num,)), hp)
        return batched(
            shard_leading(keys, mesh, seed_axis), shard_leading(hparams, mesh, seed_axis)
        )

    return train


# -------------------------------------------------------------------- host side
def is_main_process() -> bool:
    """True on the process that should log and write checkpoints (process 0)."""
    return jax.process_index() == 0


def gather(tree: Any) -> Any:
    """Global values of a pytree of (possibly multi-host) arrays, as numpy, on every process.

    A collective: every process must call it. Replicated arrays (params, metrics) are
    read locally; arrays split across processes (env state) are all-gathered.
    """

    def one(x: Any) -> np.ndarray:
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            if x.is_fully_replicated:
                return np.asarray(x.addressable_data(0))
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)

    return jax.tree.map(one, tree)


def replicas_identical(tree: Any) -> bool:
    """True if every addressable shard of every replicated leaf holds the same bytes."""
    for leaf in jax.tree.leaves(tree):
        if not isinstance(leaf, jax.Array) or not leaf.sharding.is_fully_replicated:
            continue
        shards = [np.asarray(s.data) for s in leaf.addressable_shards]
        if any(s.tobytes() != shards[0].tobytes() for s in shards[1:]):
            return False
    return True


# -------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    """Data-/seed-parallel training from the command line, on one or many hosts."""
    p = argparse.ArgumentParser(prog="python -m purejaxppo.distributed", description=main.__doc__)
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--total-timesteps", type=int, default=500_000)
    p.add_argument("--num-envs", type=int, default=None, help="default: 4 per data device")
    p.add_argument("--num-steps", type=int, default=128)
    p.add_argument("--num-minibatches", type=int, default=4)
    p.add_argument("--update-epochs", type=int, default=4)
    p.add_argument("--data", type=int, default=None, help="devices per run (default: all)")
    p.add_argument("--seeds", type=int, default=1, help="seed groups of devices")
    p.add_argument("--num-seeds", type=int, default=None, help="default: --seeds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--coordinator", default=None, help="host:port of process 0 (multi-host)")
    p.add_argument("--num-processes", type=int, default=None)
    p.add_argument("--process-id", type=int, default=None)
    p.add_argument("--out", default=None, help="directory for metrics.json and params.npz")
    args = p.parse_args(argv)

    if args.coordinator is not None:
        jax.distributed.initialize(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
        )

    mesh = make_mesh(data=args.data, seeds=args.seeds)
    num_envs = args.num_envs or 4 * mesh.shape[DATA_AXIS]
    config = PPOConfig(
        env_name=args.env,
        total_timesteps=args.total_timesteps,
        num_envs=num_envs,
        num_steps=args.num_steps,
        num_minibatches=args.num_minibatches,
        update_epochs=args.update_epochs,
    )
    key = jax.random.PRNGKey(args.seed)
    start = time.perf_counter()
    if args.seeds == 1 and args.num_seeds is None:
        out = make_sharded_train(config, mesh)(key)
    else:
        num_seeds = args.num_seeds or args.seeds
        out = make_seeds_train(config, mesh)(jax.random.split(key, num_seeds))
    metrics = gather(out.metrics)
    params = gather(out.state.params)
    seconds = time.perf_counter() - start
    identical = replicas_identical(out.state.params)

    summary = {
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "devices": jax.device_count(),
        "local_devices": jax.local_device_count(),
        "mesh": dict(mesh.shape),
        "config": config.to_dict(),
        "seconds_incl_compile": seconds,
        "steps_per_second_incl_compile": config.steps_trained / seconds,
        "replicas_identical": identical,
        "final_episode_return": np.asarray(metrics["episode_return"])[..., -1].tolist(),
        "metrics": {k: np.asarray(v).tolist() for k, v in metrics.items()},
        "env_steps": env_steps(config, np.asarray(metrics["update_step"])).tolist(),
    }
    if args.out is not None:
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        flat = {
            "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path): leaf
            for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]
        }
        # Every process saves its own copy of the (replicated) parameters and the
        # observations of its own envs, so that they can be compared; logs and
        # checkpoints proper come from process 0 only.
        local_obs = np.concatenate(
            [np.asarray(s.data) for s in out.state.obs.addressable_shards], axis=0
        )
        np.savez(
            out_dir / f"process{jax.process_index()}.npz",
            local_obs=local_obs,
            **{"params/" + k: v for k, v in flat.items()},
        )
        if is_main_process():
            (out_dir / "metrics.json").write_text(json.dumps(summary, indent=1))
    if is_main_process():
        ret = summary["final_episode_return"]
        print(
            f"{config.env_name}: {config.steps_trained} steps on mesh {dict(mesh.shape)} "
            f"({jax.process_count()} process(es)) in {seconds:.1f}s incl. compile; "
            f"final return {ret}; replicas identical: {identical}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
