"""benchmarks/ppo_table1.py: the PPO paper's Table 1 protocol, end to end at a toy budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import ppo_table1  # noqa: E402


def test_last_episodes_score_pools_whole_updates_from_the_end() -> None:
    returns = np.array([1.0, 2.0, 10.0, 20.0])
    counts = np.array([50, 0, 60, 50])
    # from the end: 50 episodes at 20, then 60 at 10 -> 110 >= 100 episodes
    assert ppo_table1.last_episodes_score(returns, counts) == pytest.approx(
        (50 * 20 + 60 * 10) / 110)
    assert ppo_table1.last_episodes_score(returns, counts, episodes=10) == 20.0
    assert np.isnan(ppo_table1.last_episodes_score(returns, np.zeros(4, int)))


def test_paper_config_matches_the_paper() -> None:
    c = ppo_table1.paper_config("hopper", 1_000_000)
    assert c.batch_size == 2048 and c.minibatch_size == 64 and c.update_epochs == 10
    assert (c.learning_rate, c.gamma, c.gae_lambda, c.hidden_sizes) == (3e-4, 0.99, 0.95, (64, 64))
    assert not c.anneal_lr and c.ent_coef == 0.0
    rows = [(label, v) for label, _, _, values in ppo_table1.SETTINGS for v in values]
    assert len(rows) == 11  # 1 + 3 + 3 + 4 settings, as in the paper


@pytest.mark.slow
def test_table1_script_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "t1.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "XLA_FLAGS": "--xla_backend_optimization_level=0 "
                        "--xla_llvm_disable_expensive_passes=true"}
    res = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ppo_table1.py"), "--tasks",
         "inverted_pendulum", "--steps", "4096", "--seeds", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=900, env=env, cwd=str(ROOT))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    record = json.loads(out.read_text())
    assert [r["setting"] for r in record["table"]] == [
        "-", "0.1", "0.2", "0.3", "0.003", "0.01", "0.03", "0.3", "1", "3", "10"]
    task = record["tasks"][0]
    assert task["steps_per_run"] == 4096 and np.isfinite(task["random_score"])
    normalized = [r["normalized"] for r in task["rows"]]
    assert max(normalized) == pytest.approx(1.0)
    for r in record["table"]:
        assert r["paper"] is not None and np.isfinite(r["normalized_mean"])
