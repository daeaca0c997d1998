"""The command line: a real run and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "purejaxppo", *args],
        capture_output=True, text=True, cwd=cwd, timeout=600,
    )


def test_train_prints_table_and_writes_outputs(tmp_path):
    res = run_cli("train", "--env", "CartPole-v1", "--total-timesteps", "2048",
                  "--seeds", "2", "--out", str(tmp_path / "run"))
    assert res.returncode == 0, res.stderr
    assert "final return" in res.stdout and "mean" in res.stdout
    lines = [line.split() for line in res.stdout.splitlines()]
    assert ["0"] == [row[0] for row in lines if row and row[0] == "0"]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["total_timesteps"] == 2048
    metrics = np.load(tmp_path / "run" / "metrics.npz")
    assert metrics["episode_return"].shape == (2, 4)
    # Exact env steps (int64, derived from the int32 update counts) next to them.
    assert metrics["env_steps"].dtype == np.int64
    np.testing.assert_array_equal(metrics["env_steps"], [[512, 1024, 1536, 2048]] * 2)
    np.testing.assert_array_equal(metrics["update_step"], [[1, 2, 3, 4]] * 2)
    assert [row[2] for row in lines if row and row[0] in ("0", "1")] == ["2,048"] * 2
    assert (tmp_path / "run" / "learning_curve.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["train", "--env", "NoSuchEnv-v0"], "unknown env_name 'NoSuchEnv-v0'"),
        (["train", "--num-envs", "0"], "num_envs must be a positive integer"),
        (["train", "--num-envs", "four"], "expected an integer"),
        (["train", "--seeds", "0"], "--seeds must be a positive integer"),
        (["train", "--no-such-flag", "1"], "unrecognized arguments"),
        (["train", "--num-minibatches", "3"], "not divisible by num_minibatches"),
        (["fly"], "invalid choice"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line(args, fragment):
    res = run_cli(*args)
    assert res.returncode != 0
    err_lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(err_lines) == 1, res.stderr
    assert fragment in err_lines[0]
    assert res.stdout == ""
