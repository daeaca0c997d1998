"""Learning thresholds of the cheap JAX-suite environments (issue 12), fixed keys.

Measured here with exactly these calls (2 seeds vmapped, seeds from PRNGKey(0)); the
thresholds sit below what was measured and far above a random policy. Each suite's
contract is tested in its own ``test_<suite>_adapter.py``.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_train


def _train(env_name: str, steps: int) -> np.ndarray:
    config = PPOConfig.preset(env_name, total_timesteps=steps)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    out = jax.jit(jax.vmap(make_train(config)))(keys)
    return np.asarray(out.metrics["episode_return"])  # [seeds, updates]


@pytest.mark.slow
def test_xminigrid_empty_8x8_reaches_the_goal_fast():
    # Reward 1 - 0.9 * steps / max_steps at the goal, 0 otherwise; the shortest path
    # scores ~0.96. Measured at 65,536 steps (32 updates): mean
    # return of the first 5 updates 0.30, of the last 5 updates 0.961 for both seeds.
    ret = _train("xminigrid/MiniGrid-Empty-8x8", 65_536)
    assert np.nanmean(ret[:, :5]) < 0.6
    assert np.all(np.nanmean(ret[:, -5:], axis=1) >= 0.9)


@pytest.mark.slow
def test_xminigrid_doorkey_5x5_opens_the_door():
    # The agent must pick up the key, open the door and reach the goal behind it.
    # Measured at 98,304 steps (48 updates): first 5 updates 0.27, last 5 updates
    # 0.951 and 0.950.
    ret = _train("xminigrid/MiniGrid-DoorKey-5x5", 98_304)
    assert np.nanmean(ret[:, :5]) < 0.5
    assert np.all(np.nanmean(ret[:, -5:], axis=1) >= 0.85)
