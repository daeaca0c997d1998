"""Chunked training: the same compiled chunk of updates, called repeatedly.

:func:`purejaxppo.make_train` fuses the whole run into one program, which is the
fastest way to train but gives no control until it returns. :func:`train_in_chunks`
runs the identical updates as ``ceil(num_updates / chunk_updates)`` calls of one
compiled ``lax.scan`` of ``chunk_updates`` updates (plus one shorter tail program when
the chunk does not divide the run). Between calls it can update a progress bar, hand
metrics to a callback and write checkpoints, and a run can resume from a checkpoint.

The learning rate anneals by ``state.update_step`` (``train.learning_rate_at``), which
lives in the train state, so the chunked run computes the same updates as the fused
one.

Runs that go wrong stop loudly. After every chunk the non-finite guard
(:mod:`purejaxppo.guard`) is read: at the first chunk in which any run's loss,
gradients or parameters went non-finite, training stops, the state just before the
first bad update is recomputed and checkpointed, and :class:`TrainingDiverged` is
raised. SIGINT and SIGTERM (Ctrl-C, ``kill``, a scheduler's pre-emption) let the chunk
in flight finish, write a checkpoint and raise :class:`TrainingInterrupted`; a second
signal stops at once.
"""

from __future__ import annotations

import dataclasses
import functools
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from purejaxppo import guard
from purejaxppo.config import HParams, PPOConfig
from purejaxppo.train import TrainOutput, TrainState, make_trainer, run_updates


@dataclasses.dataclass(frozen=True)
class ChunkInfo:
    """What a chunk callback receives after each chunk.

    Attributes:
      update_step: updates done so far.
      num_updates: updates of the whole run.
      env_steps: env steps done so far (per seed).
      metrics: this chunk's metrics, ``[(num_seeds,) chunk]`` numpy arrays.
      state: the train state after the chunk.
    """

    update_step: int
    num_updates: int
    env_steps: int
    metrics: dict[str, np.ndarray]
    state: TrainState


class TrainingDiverged(RuntimeError):
    """A run went non-finite; raised by :func:`train_in_chunks` at the first bad chunk.

    Attributes:
      divergence: the :class:`purejaxppo.guard.Divergence` (run, update, env steps,
        quantity).
      output: a :class:`TrainOutput` with the last FINITE state (at update
        ``divergence.update``, before the bad update, for every run) and the metrics of
        every update run so far, the bad chunk included.
      checkpoint: the step directory of the last finite state, if a
        ``checkpoint_dir`` was given.
    """

    def __init__(
        self, divergence: guard.Divergence, output: TrainOutput, checkpoint: Path | None
    ) -> None:
        where = f"; last finite checkpoint: {checkpoint}" if checkpoint is not None else ""
        super().__init__(f"training diverged: {divergence.describe()}{where}")
        self.divergence, self.output, self.checkpoint = divergence, output, checkpoint


class TrainingInterrupted(RuntimeError):
    """SIGINT or SIGTERM arrived; raised after the chunk in flight and a checkpoint.

    Attributes:
      signum: the signal number received.
      update_step: updates done when training stopped.
      output: a :class:`TrainOutput` with the state and the metrics so far.
      checkpoint: the step directory written (``None`` without ``checkpoint_dir``).
    """

    def __init__(
        self, signum: int, update_step: int, output: TrainOutput, checkpoint: Path | None
    ) -> None:
        name = signal.Signals(signum).name
        where = f"; checkpoint: {checkpoint}" if checkpoint is not None else ""
        super().__init__(f"training interrupted by {name} after update {update_step}{where}")
        self.signum, self.update_step = signum, update_step
        self.output, self.checkpoint = output, checkpoint


class _SignalCatcher:
    """Records SIGINT/SIGTERM while active (main thread only); a second one raises."""

    def __init__(self, enabled: bool) -> None:
        self.received: int | None = None
        self._old: dict[int, Any] = {}
        self._enabled = enabled and threading.current_thread() is threading.main_thread()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopping now")
        self.received = signum

    def __enter__(self) -> _SignalCatcher:
        if self._enabled:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


class ChunkFns:
    """Jitted ``init`` and ``chunk`` functions for one (config, seeds, chunk) triple."""

    def __init__(
        self, config: PPOConfig, num_seeds: int | None, env: Any = None, env_params: Any = None
    ) -> None:
        self.config = config
        self.num_seeds = num_seeds
        self.trainer = make_trainer(config, env, env_params)
        trainer = self.trainer
        if num_seeds is None:
            self.init = jax.jit(trainer.init)
        else:
            self.init = jax.jit(jax.vmap(trainer.init, in_axes=(0, None)))
        self._chunks: dict[int, Callable] = {}

    def chunk(self, length: int) -> Callable[[TrainState, HParams], tuple[TrainState, Any]]:
        """The jitted ``(state, hp) -> (state, metrics)`` running ``length`` updates."""
        if length not in self._chunks:
            trainer = self.trainer

            def run(state: TrainState, hp: HParams):
                return run_updates(trainer, state, hp, length)

            if self.num_seeds is not None:
                run = jax.vmap(run, in_axes=(0, None))
            self._chunks[length] = jax.jit(run)
        return self._chunks[length]


@functools.lru_cache(maxsize=8)
def _cached_fns(config: PPOConfig, num_seeds: int | None) -> ChunkFns:
    return ChunkFns(config, num_seeds)


def _check_positive(name: str, value: Any, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}"
        )


class _Progress:
    """A rich progress bar over updates (no-op when disabled)."""

    def __init__(self, enabled: bool, total: int, done: int, label: str) -> None:
        self._bar = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
            )
            self._bar.start()
            self._task = self._bar.add_task(label, total=total, completed=done, info="")

    def advance(self, done: int, info: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, info=info)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def train_in_chunks(
    config: PPOConfig,
    rng: jax.Array | None = None,
    *,
    num_seeds: int | None = None,
    chunk_updates: int | None = None,
    hparams: HParams | None = None,
    resume: str | Path | Any = None,
    callback: Callable[[ChunkInfo], None] | None = None,
    progress: bool = False,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    env: Any = None,
    env_params: Any = None,
    stop_on_nonfinite: bool = True,
    handle_signals: bool = True,
) -> TrainOutput:
    """Trains like ``make_train(config)(rng)`` but in chunks of updates.

    Args:
      config: the configuration.
      rng: PRNG key of the run; with ``num_seeds`` it is split into one key per seed
        (``jax.random.split(rng, num_seeds)``, as the CLI does). Ignored when resuming.
      num_seeds: train this many seeds vmapped (``None``: one unbatched run).
      chunk_updates: updates per compiled call (default: ``num_updates / 10`` rounded
        up, or ``checkpoint_every`` when that is given).
      hparams: traced hyperparameters (default ``config.hparams()``).
      resume: a checkpoint path (or a loaded :class:`~purejaxppo.checkpoint.Checkpoint`)
        to continue from; its config must equal ``config`` and its seed count
        ``num_seeds``.
      callback: called with a :class:`ChunkInfo` after every chunk.
      progress: show a progress bar (rich) over updates.
      checkpoint_dir: where to save checkpoints; the final state is always saved there.
      checkpoint_every: also save whenever this many more updates are done.
      env: a custom environment (see :func:`purejaxppo.make_train`).
      env_params: the gymnax params of ``env``.
      stop_on_nonfinite: stop at the first chunk in which a run went non-finite and
        raise :class:`TrainingDiverged` (after checkpointing the last finite state
        when ``checkpoint_dir`` is given). ``False``: train on regardless.
      handle_signals: while training (main thread only), turn SIGINT/SIGTERM into
        "finish this chunk, checkpoint, raise :class:`TrainingInterrupted`"; the
        previous handlers are restored afterwards.

    Returns:
      A :class:`TrainOutput` whose metrics cover the WHOLE run (including the updates
      before a resume), ``[(num_seeds,) num_updates]`` each.

    Raises:
      ValueError: on bad arguments or an incompatible checkpoint, before compiling.
      TrainingDiverged: a run went non-finite (``stop_on_nonfinite``).
      TrainingInterrupted: SIGINT or SIGTERM arrived (``handle_signals``).
    """
    from purejaxppo.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

    if not isinstance(config, PPOConfig):
        raise ValueError(f"config must be a PPOConfig, got {type(config).__name__}")
    _check_positive("num_seeds", num_seeds)
    _check_positive("chunk_updates", chunk_updates)
    _check_positive("checkpoint_every", checkpoint_every)
    if checkpoint_every is not None and checkpoint_dir is None:
        raise ValueError("checkpoint_every needs checkpoint_dir")
    if rng is None and resume is None:
        raise ValueError("rng is required unless resuming from a checkpoint")
    if chunk_updates is None:
        chunk_updates = checkpoint_every or -(-config.num_updates // 10)
    chunk_updates = min(chunk_updates, config.num_updates)
    hp = config.hparams() if hparams is None else hparams

    if env is None and env_params is None:
        fns = _cached_fns(config, num_seeds)
    else:
        fns = ChunkFns(config, num_seeds, env, env_params)

    history: list[dict[str, np.ndarray]] = []
    if resume is not None:
        ckpt = (
            resume
            if isinstance(resume, Checkpoint)
            else load_checkpoint(resume, config, env=env, env_params=env_params)
        )
        if ckpt.config != config:
            raise ValueError("the checkpoint was written with a different config")
        if ckpt.num_seeds != num_seeds:
            raise ValueError(
                f"the checkpoint holds num_seeds={ckpt.num_seeds}, but num_seeds="
                f"{num_seeds} was asked for"
            )
        if ckpt.step > config.num_updates:
            raise ValueError(
                f"the checkpoint is at update {ckpt.step}, beyond the run's "
                f"{config.num_updates} updates"
            )
        state = ckpt.state
        if ckpt.metrics:
            history.append(ckpt.metrics)
        done = ckpt.step
    else:
        assert rng is not None  # checked above: rng is required unless resuming
        keys = rng if num_seeds is None else jax.random.split(rng, num_seeds)
        state = fns.init(keys, hp)
        done = 0

    total = config.num_updates
    bar = _Progress(progress, total, done, f"PPO {config.env_name}")
    last_saved = done
    saved_any = False

    def joined(extra: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        parts = history + ([extra] if extra is not None else [])
        return {k: np.concatenate([h[k] for h in parts], axis=-1) for k in parts[0]}

    def save(directory: str | Path, state: TrainState, metrics: dict[str, np.ndarray]) -> Path:
        return save_checkpoint(directory, config, state, metrics)

    with _SignalCatcher(handle_signals) as signals:
        try:
            while done < total:
                length = min(chunk_updates, total - done)
                before = state
                state, metrics = fns.chunk(length)(state, hp)
                metrics = jax.device_get(metrics)
                if callback is not None:
                    callback(
                        ChunkInfo(
                            done + length,
                            total,
                            (done + length) * config.batch_size,
                            metrics,
                            state,
                        )
                    )
                bad = guard.find_divergence(metrics["nonfinite"], config.batch_size, done)
                if bad is not None and stop_on_nonfinite:
                    good = bad.update - done
                    if good > 0:
                        before, _ = fns.chunk(good)(before, hp)
                    finite = {k: v[..., :good] for k, v in metrics.items()}
                    path = None
                    if checkpoint_dir is not None:
                        path = (
                            Path(checkpoint_dir) / str(bad.update)
                            if saved_any and last_saved == bad.update
                            else save(checkpoint_dir, before, joined(finite))
                        )
                    history.append(metrics)
                    raise TrainingDiverged(bad, TrainOutput(state=before, metrics=joined()), path)
                history.append(metrics)
                done += length
                ret = np.asarray(metrics["episode_return"])[..., -1]
                info = f"return {np.nanmean(ret):.1f}" if np.any(np.isfinite(ret)) else ""
                bar.advance(done, info)
                due = (
                    checkpoint_every is not None
                    and done // checkpoint_every > last_saved // checkpoint_every
                )
                if checkpoint_dir is not None and (due or done == total or signals.received):
                    save(checkpoint_dir, state, joined())
                    last_saved, saved_any = done, True
                if signals.received is not None and done < total:
                    path = Path(checkpoint_dir) / str(done) if checkpoint_dir is not None else None
                    raise TrainingInterrupted(
                        signals.received, done, TrainOutput(state=state, metrics=joined()), path
                    )
        finally:
            bar.close()
    if not history:
        raise ValueError("the checkpoint already holds the whole run; nothing to train")
    return TrainOutput(state=state, metrics=joined())


def replay(
    config: PPOConfig,
    rng: jax.Array,
    num_updates: int,
    *,
    num_seeds: int | None = None,
    hparams: HParams | None = None,
) -> TrainState:
    """The train state after the first ``num_updates`` updates of the run ``rng``.

    The same computation as the first ``num_updates`` updates of
    ``make_train(config)`` (vmapped over ``jax.random.split(rng, num_seeds)`` with
    ``num_seeds``), e.g. to recover the last finite state of a fused run that diverged.
    """
    _check_positive("num_seeds", num_seeds)
    if (
        isinstance(num_updates, bool)
        or not isinstance(num_updates, int)
        or not (0 <= num_updates <= config.num_updates)
    ):
        raise ValueError(
            f"num_updates must be an integer in [0, {config.num_updates}], got {num_updates!r}"
        )
    hp = config.hparams() if hparams is None else hparams
    fns = _cached_fns(config, num_seeds)
    keys = rng if num_seeds is None else jax.random.split(rng, num_seeds)
    state = fns.init(keys, hp)
    if num_updates:
        state, _ = fns.chunk(num_updates)(state, hp)
    return state
