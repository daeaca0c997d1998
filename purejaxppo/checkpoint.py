"""Save and load the complete training state with orbax-checkpoint.

A checkpoint directory holds one sub-directory per saved update step (``<dir>/<step>``),
managed by :class:`orbax.checkpoint.CheckpointManager`. Each step stores two items:

* ``state``: the :class:`~purejaxppo.train.TrainState` pytree (parameters, optimizer
  state, environment state, normalization statistics, KL beta, PRNG key, the int32
  update counter) and the metrics of the updates done so far;
* ``meta``: JSON with the format version, the full config, the number of seeds (or
  ``null`` for a single run), the update step, the env steps (``update_step *
  batch_size``, an exact integer at any count) and a SHA-256 checksum of every array.

Format 2 (this version) has no env-step counter in the train state: the steps are
derived from the update count (``purejaxppo.env_steps``). Checkpoints of format 1
(an int32 env-step counter, runs below 2^31 steps) are refused with a clear error.

Writes are atomic: orbax writes into a temporary directory and renames it only once
everything is on disk, so a crash mid-write leaves no step directory that
:func:`load_checkpoint` would pick up. Loading verifies the checksum, so a truncated or
corrupted file raises a ``ValueError`` instead of returning garbage, and a checkpoint
written with a different config is refused with the fields that differ.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import jax
import numpy as np

from purejaxppo.config import PPOConfig
from purejaxppo.train import TrainState, make_trainer

FORMAT_VERSION = 2
_STATE_ITEM = "state"
_META_ITEM = "meta"


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
      config: the configuration the state was trained with.
      state: the :class:`TrainState` (with a leading seed axis if ``num_seeds``).
      metrics: metrics of the updates done so far, ``[(num_seeds,) update_step]`` each.
      num_seeds: number of vmapped seeds, or ``None`` for a single unbatched run.
      step: the update step the checkpoint was taken at.
      path: the step directory it was read from.
    """

    config: PPOConfig
    state: TrainState
    metrics: dict[str, np.ndarray]
    num_seeds: int | None
    step: int
    path: Path

    @property
    def env_steps(self) -> int:
        """Env steps done per run at this checkpoint (``step * batch_size``, exact)."""
        return self.step * self.config.batch_size


def _json_config(config: PPOConfig) -> dict[str, Any]:
    return json.loads(json.dumps(config.to_dict()))


def _checksum(tree: Any) -> str:
    digest = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        array = np.asarray(jax.device_get(leaf))
        if jax.dtypes.issubdtype(array.dtype, jax.dtypes.prng_key):
            array = np.asarray(jax.random.key_data(leaf))
        digest.update(jax.tree_util.keystr(path).encode())
        digest.update(str(array.dtype).encode())
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _quiet_absl():
    """orbax logs routine notes through absl; silence them while we call it."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _manager(directory: Path, max_to_keep: int | None = None, read_only: bool = False):
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep,
        create=not read_only,
        read_only=read_only,
        enable_async_checkpointing=False,
    )
    return ocp.CheckpointManager(
        directory.absolute(), options=options, item_names=(_STATE_ITEM, _META_ITEM)
    )


def _num_seeds(state: TrainState) -> int | None:
    ndim = np.ndim(state.update_step)
    if ndim == 0:
        return None
    if ndim == 1:
        return int(np.shape(state.update_step)[0])
    raise ValueError(
        "state must be one run or a batch of runs with one leading seed axis; got "
        f"update_step of shape {np.shape(state.update_step)}"
    )


def save_checkpoint(
    directory: str | Path,
    config: PPOConfig,
    state: TrainState,
    metrics: dict[str, Any] | None = None,
    *,
    max_to_keep: int | None = 3,
) -> Path:
    """Saves ``state`` (and the metrics so far) as step ``state.update_step``.

    Args:
      directory: the checkpoint root; created if missing.
      config: the config ``state`` was trained with.
      state: a :class:`TrainState`, unbatched or with one leading seed axis (all seeds
        must be at the same update step).
      metrics: metrics of the updates done so far (``[(seeds,) update_step]`` each);
        ``None`` stores none.
      max_to_keep: keep this many most recent steps (``None``: all).

    Returns:
      The step directory written.

    Raises:
      ValueError: on a bad argument (before anything is written).
    """
    if not isinstance(config, PPOConfig):
        raise ValueError(f"config must be a PPOConfig, got {type(config).__name__}")
    if not isinstance(state, TrainState):
        raise ValueError(f"state must be a TrainState, got {type(state).__name__}")
    if max_to_keep is not None and (not isinstance(max_to_keep, int) or max_to_keep < 1):
        raise ValueError(f"max_to_keep must be a positive integer or None, got {max_to_keep!r}")
    num_seeds = _num_seeds(state)
    steps = np.unique(np.asarray(state.update_step))
    if steps.size != 1:
        raise ValueError(f"all seeds must be at the same update step, got {steps.tolist()}")
    step = int(steps[0])
    metrics = {} if metrics is None else {k: np.asarray(v) for k, v in metrics.items()}
    for name, value in metrics.items():
        if value.shape[-1:] != (step,):
            raise ValueError(
                f"metrics[{name!r}] must have {step} updates on its last axis (the "
                f"state's update_step), got shape {value.shape}"
            )
    if step == 0:  # no updates yet: nothing to store (orbax refuses zero-size arrays)
        metrics = {}
    tree = {"state": jax.device_get(state), "metrics": metrics}
    meta = {
        "format": FORMAT_VERSION,
        "config": _json_config(config),
        "num_seeds": num_seeds,
        "update_step": step,
        "env_steps": step * config.batch_size,
        "metric_shapes": {k: [list(v.shape), str(v.dtype)] for k, v in metrics.items()},
        "checksum": _checksum(tree),
    }
    import orbax.checkpoint as ocp

    directory = Path(directory)
    with _quiet_absl(), _manager(directory, max_to_keep) as manager:
        manager.save(
            step,
            args=ocp.args.Composite(
                **{_STATE_ITEM: ocp.args.StandardSave(tree), _META_ITEM: ocp.args.JsonSave(meta)}
            ),
            force=True,
        )
        manager.wait_until_finished()
    return directory / str(step)


def latest_step(directory: str | Path) -> int | None:
    """The newest complete step in ``directory`` (``None`` if there is none)."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    with _quiet_absl(), _manager(directory, read_only=True) as manager:
        return manager.latest_step()


def all_steps(directory: str | Path) -> list[int]:
    """Every complete step in ``directory``, oldest first (``[]`` if none)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    with _quiet_absl(), _manager(directory, read_only=True) as manager:
        return sorted(manager.all_steps())


def load_newest_intact(
    path: str | Path,
    config: PPOConfig | None = None,
    *,
    env: Any = None,
    env_params: Any = None,
) -> tuple[Checkpoint, list[str]]:
    """The newest step of a checkpoint root that loads, skipping corrupt ones.

    A step directory (``<root>/<step>``) is loaded as :func:`load_checkpoint` does,
    with no fallback.

    Args:
      path: a checkpoint root or a step directory.
      config: as for :func:`load_checkpoint`; a config mismatch is never skipped.
      env: as for :func:`load_checkpoint`.
      env_params: as for :func:`load_checkpoint`.

    Returns:
      ``(checkpoint, skipped)``: ``skipped`` holds one line per newer step that was
      unreadable or corrupt (newest first), empty when the newest step loaded.

    Raises:
      ValueError: the path holds no checkpoint, or every step is corrupt (the message
        names the newest step's problem and how many steps were tried).
    """
    root = Path(path)
    if root.name.isdigit() and (root / _META_ITEM).exists():
        return load_checkpoint(root, config, env=env, env_params=env_params), []
    steps = all_steps(root)
    if not steps:
        return load_checkpoint(root, config, env=env, env_params=env_params), []
    skipped: list[str] = []
    for step in reversed(steps):
        try:
            return load_checkpoint(root, config, step=step, env=env, env_params=env_params), skipped
        except ValueError as err:
            if "corrupt" not in str(err) and "unknown format" not in str(err):
                raise
            skipped.append(str(err))
    raise ValueError(
        f"all {len(steps)} checkpoint step(s) in {str(root)!r} are unreadable "
        f"or corrupt; the newest: {skipped[0]}"
    )


def _resolve(path: Path, step: int | None) -> tuple[Path, int]:
    """(root, step) for a checkpoint root or a step directory."""
    if not path.exists():
        raise ValueError(f"checkpoint {str(path)!r} does not exist")
    if not path.is_dir():
        raise ValueError(f"checkpoint {str(path)!r} is not a directory")
    if path.name.isdigit() and (path / _META_ITEM).exists():
        if step is not None and step != int(path.name):
            raise ValueError(f"step={step} given for the step directory {str(path)!r}")
        return path.parent, int(path.name)
    found = latest_step(path)
    if found is None:
        raise ValueError(f"no complete checkpoint found in {str(path)!r}")
    return path, found if step is None else step


def _abstract_state(config: PPOConfig, num_seeds: int | None, env: Any, env_params: Any):
    trainer = make_trainer(config, env, env_params)
    hp = config.hparams()
    if num_seeds is None:
        return jax.eval_shape(trainer.init, jax.random.PRNGKey(0), hp)
    keys = jax.ShapeDtypeStruct((num_seeds, 2), np.uint32)
    return jax.eval_shape(jax.vmap(trainer.init, in_axes=(0, None)), keys, hp)


def _config_diff(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    names = sorted(set(expected) | set(found))
    return [
        f"{n}: checkpoint {found.get(n)!r} != given {expected.get(n)!r}"
        for n in names
        if expected.get(n) != found.get(n)
    ]


def load_checkpoint(
    path: str | Path,
    config: PPOConfig | None = None,
    *,
    step: int | None = None,
    env: Any = None,
    env_params: Any = None,
) -> Checkpoint:
    """Loads a checkpoint written by :func:`save_checkpoint`.

    Args:
      path: a checkpoint root (the newest complete step is loaded) or a step directory.
      config: if given, the checkpoint must have been written with exactly this config.
      step: load this step instead of the newest (only with a root directory).
      env: the custom environment the run was trained on, if any (see
        :func:`purejaxppo.make_train`).
      env_params: the gymnax params of that environment, if any.

    Returns:
      The :class:`Checkpoint`.

    Raises:
      ValueError: the path holds no checkpoint, the checkpoint is truncated or corrupt,
        or it was written with a config other than ``config``.
    """
    import orbax.checkpoint as ocp

    root, step = _resolve(Path(path), step)
    where = str(root / str(step))
    with _quiet_absl(), _manager(root, read_only=True) as manager:
        if step not in manager.all_steps():
            raise ValueError(f"no checkpoint for step {step} in {str(root)!r}")
        try:
            meta = manager.restore(
                step, args=ocp.args.Composite(**{_META_ITEM: ocp.args.JsonRestore()})
            )[_META_ITEM]
        except Exception as err:  # orbax raises many kinds; report one clear error
            raise ValueError(
                f"checkpoint {where!r} is unreadable or corrupt (metadata: {type(err).__name__})"
            ) from err
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
            found = meta.get("format") if isinstance(meta, dict) else None
            older = (
                " (format 1: written before step counts were derived from the "
                "update count; resume it with the purejaxppo version that wrote it, "
                "or retrain)"
                if found == 1
                else ""
            )
            raise ValueError(
                f"checkpoint {where!r} has an unknown format{older}; expected purejaxppo "
                f"checkpoint format {FORMAT_VERSION}"
            )
        try:
            saved_config = PPOConfig.from_dict(meta["config"])
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(f"checkpoint {where!r} holds an invalid config: {err}") from err
        if config is not None:
            diff = _config_diff(_json_config(config), _json_config(saved_config))
            if diff:
                raise ValueError(
                    f"checkpoint {where!r} was written with a different config; "
                    f"differences: {'; '.join(diff)}"
                )
        num_seeds = meta["num_seeds"]
        abstract_state = _abstract_state(saved_config, num_seeds, env, env_params)
        abstract_metrics = {
            name: jax.ShapeDtypeStruct(tuple(shape), np.dtype(dtype))
            for name, (shape, dtype) in meta["metric_shapes"].items()
        }
        target = {"state": abstract_state, "metrics": abstract_metrics}
        try:
            tree = manager.restore(
                step, args=ocp.args.Composite(**{_STATE_ITEM: ocp.args.StandardRestore(target)})
            )[_STATE_ITEM]
        except Exception as err:
            raise ValueError(
                f"checkpoint {where!r} is unreadable or corrupt ({type(err).__name__}); "
                "load an earlier step or retrain"
            ) from err
    tree = jax.device_get(tree)
    if _checksum(tree) != meta["checksum"]:
        raise ValueError(
            f"checkpoint {where!r} is corrupt: its arrays do not match the saved "
            "checksum; load an earlier step or retrain"
        )
    state = jax.tree.map(jax.numpy.asarray, tree["state"])
    return Checkpoint(
        config=saved_config,
        state=state,
        metrics={k: np.asarray(v) for k, v in tree["metrics"].items()},
        num_seeds=num_seeds,
        step=step,
        path=root / str(step),
    )
