"""CLI end to end: train -> files and PNG -> evaluate the checkpoint -> plot; sweep;
bad input exits non-zero with one line on stderr and writes nothing."""

import json
import subprocess
import sys

import numpy as np
import pytest


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "purejaxppo", *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    res = run_cli("train", "--total-timesteps", "2048", "--seeds", "2", "--out", str(out),
                  "--checkpoint-every", "2", "--eval-episodes", "2")
    assert res.returncode == 0, res.stderr
    assert "final return" in res.stdout and "eval return" in res.stdout
    return out


def test_train_writes_everything_and_png_opens(train_dir):
    import matplotlib.image

    for name in ("config.json", "metrics.npz", "summary.json", "learning_curve.png"):
        assert (train_dir / name).is_file(), name
    assert sorted(p.name for p in (train_dir / "checkpoints").iterdir()) == ["2", "4"]
    image = matplotlib.image.imread(train_dir / "learning_curve.png")
    assert image.ndim == 3 and image.shape[0] > 100
    summary = json.loads((train_dir / "summary.json").read_text())
    assert summary["num_seeds"] == 2 and summary["env_steps"] == 2048
    assert set(summary["final_return"]) >= {"mean", "std", "iqm", "iqm_ci"}
    assert np.load(train_dir / "metrics.npz")["episode_return"].shape == (2, 4)


def test_evaluate_and_plot_the_run(train_dir):
    res = run_cli("evaluate", str(train_dir), "--episodes", "2")
    assert res.returncode == 0, res.stderr
    assert "checkpoint at update 4" in res.stdout and "all" in res.stdout
    (train_dir / "learning_curve.png").unlink()
    res = run_cli("plot", str(train_dir))
    assert res.returncode == 0, res.stderr
    assert (train_dir / "learning_curve.png").stat().st_size > 1000


def test_resume_continues_a_checkpoint(train_dir, tmp_path):
    res = run_cli("train", "--resume", str(train_dir / "checkpoints" / "2"), "--out",
                  str(tmp_path / "resumed"), "--eval-episodes", "0")
    assert res.returncode == 0, res.stderr
    assert "resuming from update 2" in res.stdout
    a = np.load(train_dir / "metrics.npz")
    b = np.load(tmp_path / "resumed" / "metrics.npz")
    np.testing.assert_array_equal(a["episode_return"], b["episode_return"])


def test_sweep_from_yaml_writes_summary_and_plots(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("learning_rate: [0.0001, 0.001]\n")
    out = tmp_path / "sweep"
    res = run_cli("sweep", "--total-timesteps", "1024", "--seeds", "2", "--grid-file",
                  str(grid), "--grid", "ent_coef=0.0,0.01", "--out", str(out))
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["points"]) == 4 and summary["best"] is not None
    assert np.load(out / "metrics.npz")["episode_return"].shape == (4, 2, 2)
    for name in ("learning_curves.png", "final_return.png", "grid.json", "config.json"):
        assert (out / name).is_file(), name


@pytest.mark.parametrize("args,fragment", [
    (["sweep", "--grid", "num_envs=4,8"], "cannot sweep ['num_envs']"),
    (["sweep", "--grid", "learning_rate"], "--grid expects FIELD=V1,V2"),
    (["sweep", "--grid-file", "/no/such/grid.yaml"], "cannot read grid file"),
    (["sweep"], "sweep needs --grid"),
    (["evaluate", "/no/such/checkpoint"], "does not exist"),
    (["plot", "/no/such/run"], "is not a directory"),
    (["train", "--checkpoint-every", "2"], "--checkpoint-every needs --out"),
    (["train", "--no-such-field", "3"], "unrecognized arguments"),
])
def test_bad_input_one_line_nothing_written(args, fragment, tmp_path):
    res = run_cli(*args, *(["--out", str(tmp_path / "o")] if args[0] == "sweep" else []))
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert fragment in lines[0]
    assert not (tmp_path / "o").exists()


def test_resume_with_a_different_config_is_refused(train_dir, tmp_path):
    res = run_cli("train", "--resume", str(train_dir), "--total-timesteps", "2048",
                  "--num-envs", "8", "--out", str(tmp_path / "o"))
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "different config" in lines[0], res.stderr
    assert not (tmp_path / "o").exists()


def test_corrupt_checkpoint_is_one_line(train_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(train_dir / "checkpoints", bad)
    for step in ("4", "2"):
        for path in (bad / step / "state").rglob("*"):
            if path.is_file() and path.parent.name == "d":
                path.write_bytes(path.read_bytes()[:100])
    # Every step corrupt: one line. (One corrupt step falls back to the previous one:
    # tests/test_interrupt.py.)
    res = run_cli("evaluate", str(bad))
    assert res.returncode == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unreadable or corrupt" in lines[0], res.stderr
