"""The return metrics of benchmarks/vs_purejaxrl.py, on hand-made metrics (no
purejaxrl checkout needed)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "vs_purejaxrl.py"
_spec = importlib.util.spec_from_file_location("vs_purejaxrl_for_tests", _PATH)
vs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vs)


def test_ours_per_seed_weights_updates_by_completed_episodes():
    # 2 seeds x 20 updates; the last 10% = the last 2 updates.
    ret = np.zeros((2, 20))
    cnt = np.zeros((2, 20))
    ret[0, -2:], cnt[0, -2:] = [10.0, 40.0], [3, 1]   # (30 + 40) / 4 = 17.5
    ret[1, -2:], cnt[1, -2:] = [np.nan, 8.0], [0, 2]  # NaN update had no episode
    ret[:, :-2], cnt[:, :-2] = 1000.0, 5              # outside the tail: ignored
    per_seed = vs.returns_per_seed_ours({"episode_return": ret, "episodes_completed": cnt})
    np.testing.assert_allclose(per_seed, [17.5, 8.0])
    pooled = vs._final_return_ours({"episode_return": ret, "episodes_completed": cnt})
    assert pooled == pytest.approx((70.0 + 16.0) / 6)


def test_purejaxrl_per_seed_averages_returned_episodes():
    # 3 seeds x 10 updates x 4 steps x 2 envs; the tail is the last update.
    done = np.zeros((3, 10, 4, 2), bool)
    ret = np.full((3, 10, 4, 2), 7.0)
    done[0, -1, 1, 0] = done[0, -1, 3, 1] = True
    ret[0, -1, 1, 0], ret[0, -1, 3, 1] = 2.0, 6.0  # mean 4
    done[1, -1, 0, 1] = True
    ret[1, -1, 0, 1] = -3.0
    done[2, :-1] = True  # episodes only outside the tail: no value
    per_seed = vs.returns_per_seed_pjrl({"returned_episode": done, "returned_episode_returns": ret})
    assert per_seed[0] == pytest.approx(4.0) and per_seed[1] == pytest.approx(-3.0)
    assert math.isnan(per_seed[2])


def test_seed_summary_drops_seeds_without_episodes():
    out = vs.seed_summary(np.array([1.0, 3.0, np.nan, 5.0]))
    assert out["seeds"] == 3 and out["mean"] == pytest.approx(3.0)
    assert out["std"] == pytest.approx(2.0) and out["sem"] == pytest.approx(2.0 / math.sqrt(3))


def test_single_seed_metrics_give_one_value():
    ret, cnt = np.full(10, 5.0), np.ones(10)
    assert vs.returns_per_seed_ours({"episode_return": ret, "episodes_completed": cnt}).tolist() == [5.0]
