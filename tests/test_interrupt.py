"""Interruption and crashes, with real subprocesses: SIGINT/SIGTERM finish the chunk,
checkpoint and exit non-zero; --resume (falling back past a corrupt newest checkpoint)
ends identical to an uninterrupted run; SIGKILL in the middle of checkpoint writes
leaves the previous checkpoint loadable; a run whose every checkpoint is corrupt is
one line on stderr."""

import csv
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from purejaxppo import PPOConfig, load_checkpoint
from purejaxppo.checkpoint import latest_step, load_newest_intact, save_checkpoint
from purejaxppo.loop import train_in_chunks

# 1000 tiny updates: long enough to be interrupted between chunks of one update.
FLAGS = ["--num-envs", "2", "--num-steps", "8", "--num-minibatches", "2", "--update-epochs",
         "1", "--total-timesteps", "16000", "--seeds", "2", "--eval-episodes", "0"]
CONFIG = PPOConfig(num_envs=2, num_steps=8, num_minibatches=2, update_epochs=1,
                   total_timesteps=16000)
TIMEOUT = 300


def _cli(*args):
    cmd = [sys.executable, "-m", "purejaxppo", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))


def _csv_rows(path: Path) -> int:
    try:
        return max(0, len(path.read_text().splitlines()) - 1)
    except OSError:
        return 0


def _interrupt(proc, csv_path: Path, more_than: int, sig: int):
    """Sends `sig` once the CSV logger has rows beyond `more_than` (training is running)."""
    deadline = time.monotonic() + TIMEOUT
    while _csv_rows(csv_path) <= more_than:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "training never started"
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, out, err


def _corrupt(step_dir: Path) -> None:
    for path in (step_dir / "state").rglob("*"):
        if path.is_file() and path.parent.name == "d":
            blob = path.read_bytes()
            path.write_bytes(blob[: len(blob) // 2])


def test_sigint_sigterm_then_resume_past_a_corrupt_checkpoint_is_identical(tmp_path):
    run = tmp_path / "run"
    rc, _, err = _interrupt(_cli("train", *FLAGS, "--out", str(run), "--chunk-updates", "1"),
                            run / "metrics.csv", 0, signal.SIGINT)
    assert rc == 128 + signal.SIGINT, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted by SIGINT" in lines[0], err
    assert f"purejaxppo train --resume {run} --out {run}" in lines[0]
    first = latest_step(run / "checkpoints")
    assert 0 < first < CONFIG.num_updates and f"after update {first} " in lines[0]

    rc, out, err = _interrupt(
        _cli("train", "--resume", str(run), "--out", str(run), "--chunk-updates", "1",
             "--eval-episodes", "0"),
        run / "metrics.csv", 2 * first, signal.SIGTERM)
    assert rc == 128 + signal.SIGTERM, err
    assert f"resuming from update {first}" in out
    assert len(err.strip().splitlines()) == 1 and "interrupted by SIGTERM" in err
    second = latest_step(run / "checkpoints")
    assert first < second < CONFIG.num_updates

    _corrupt(run / "checkpoints" / str(second))
    proc = _cli("train", "--resume", str(run), "--out", str(run), "--chunk-updates", "400",
                "--eval-episodes", "0")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert "skipped 1 corrupt checkpoint" in err and f"(update {first})" in err
    assert len(err.strip().splitlines()) == 1, err
    assert f"resuming from update {first}" in out

    reference = train_in_chunks(CONFIG, jax.random.PRNGKey(0), num_seeds=2, chunk_updates=500)
    resumed = np.load(run / "metrics.npz")
    for name, value in reference.metrics.items():
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)
    final = load_checkpoint(run / "checkpoints")
    assert final.step == CONFIG.num_updates
    for a, b in zip(jax.tree.leaves(final.state.params), jax.tree.leaves(reference.state.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with open(run / "metrics.csv", newline="") as handle:
        updates = [int(row["update"]) for row in csv.DictReader(handle)]
    assert sorted(updates) == sorted(list(range(CONFIG.num_updates)) * 2)


WRITER = textwrap.dedent("""
    import sys
    import jax, jax.numpy as jnp
    from purejaxppo import PPOConfig, make_trainer
    from purejaxppo.checkpoint import latest_step, save_checkpoint
    cfg = PPOConfig(num_envs=2, num_steps=8, num_minibatches=2, update_epochs=1,
                    total_timesteps=16000)
    state = jax.jit(make_trainer(cfg).init)(jax.random.PRNGKey(0), cfg.hparams())
    step = latest_step(sys.argv[1]) or 0
    while True:
        step += 1
        state = state.replace(update_step=jnp.int32(step), kl_beta=jnp.float32(step))
        save_checkpoint(sys.argv[1], cfg, state, None, max_to_keep=2)
        print(step, flush=True)
""")


def test_sigkill_during_checkpoint_writes_leaves_the_previous_one_loadable(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    root = tmp_path / "ckpts"
    rng = random.Random(13)
    for trial in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(root)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        done = [int(proc.stdout.readline()) for _ in range(2)]  # writes are under way
        time.sleep(rng.uniform(0.0, 0.25))  # a random point of a later write
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == -signal.SIGKILL
        ckpt = load_checkpoint(root, CONFIG)
        assert ckpt.step >= done[-1], (trial, ckpt.step, done)
        assert float(ckpt.state.kl_beta) == ckpt.step


@pytest.fixture(scope="module")
def two_checkpoints(tmp_path_factory):
    from purejaxppo import make_trainer

    root = tmp_path_factory.mktemp("corrupt") / "checkpoints"
    state = jax.jit(jax.vmap(make_trainer(CONFIG).init, in_axes=(0, None)))(
        jax.random.split(jax.random.PRNGKey(0), 2), CONFIG.hparams())
    for step in (1, 2):
        save_checkpoint(root, CONFIG, state.replace(update_step=state.update_step + step))
    return root


def test_newest_intact_checkpoint_is_loaded_and_named(two_checkpoints, tmp_path):
    import shutil

    root = tmp_path / "checkpoints"
    shutil.copytree(two_checkpoints, root)
    ckpt, skipped = load_newest_intact(root)
    assert ckpt.step == 2 and skipped == []
    _corrupt(root / "2")
    ckpt, skipped = load_newest_intact(root)
    assert ckpt.step == 1 and len(skipped) == 1 and "/2'" in skipped[0]
    with pytest.raises(ValueError, match="unreadable or corrupt"):
        load_checkpoint(root)  # the plain loader still refuses the corrupt newest step


def test_evaluate_falls_back_and_all_corrupt_is_one_line(two_checkpoints, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(two_checkpoints, run / "checkpoints")
    _corrupt(run / "checkpoints" / "2")
    proc = _cli("evaluate", str(run), "--episodes", "1")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert "skipped 1 corrupt checkpoint" in err and "checkpoint at update 1" in out
    assert len(err.strip().splitlines()) == 1, err  # no late orbax tracebacks
    _corrupt(run / "checkpoints" / "1")
    proc = _cli("evaluate", str(run), "--episodes", "1")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("purejaxppo: error: all 2 checkpoint step(s)")
