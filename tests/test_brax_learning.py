"""Brax presets learn on CPU: inverted_pendulum at its full budget, hopper at a reduced one.

* ``brax/inverted_pendulum`` pays 1 per step while the pole is up (max = the episode
  length, 1000); a random policy survives ~5 steps. Its preset (cleanrl layout,
  32 envs x 64 steps, 10 epochs x 32 minibatches, 501,760 steps) is trained at its
  FULL budget with 2 seeds vmapped. Measured on the shared 2-core CPU: 1000 and 1000
  (``benchmarks/learning.py --continuous``: run 87 s + compile 56 s while other jobs
  used the CPU).
* ``brax/hopper`` preset (cleanrl layout; its budget is 1M steps) at a REDUCED budget
  of 65,536 steps (32 updates), 2 seeds. A uniform-random policy scores 17.0 +/- 10.8
  (32 episodes, mean length 22.7); the initial Gaussian policy's first-update returns
  were 14.1 and 12.6. Measured final returns at 65,536 steps: 421.8 and 491.2
  (``benchmarks/learning.py --quick``, same keys, code of 2026-12-04; 333.8 and 355.8
  on the code of 2026-11-21); at 131,072 steps (2026-11-21): 847 and 627.
  The test asks for a mean >= 200 (~12x random) and >= 5x the first update.

MountainCarContinuous-v0 and Pendulum-v1 learning live in ``benchmarks/learning.py``
and ``tests/test_learning.py``.
"""

import jax
import numpy as np
import pytest

from purejaxppo import PPOConfig, evaluate, make_train

RANDOM_POLICY_RETURN = 5.0
HOPPER_STEPS = 65_536
HOPPER_RANDOM_RETURN = 17.0  # uniform actions in [-1, 1], 32 episodes (measured)


def _train(config: PPOConfig, seeds: int):
    train = jax.jit(jax.vmap(make_train(config)))
    out = train(jax.random.split(jax.random.PRNGKey(0), seeds))
    assert np.all(out.env_steps(config)[:, -1] == config.steps_trained)
    return out


@pytest.mark.slow
def test_inverted_pendulum_preset_at_full_budget() -> None:
    config = PPOConfig.preset("brax/inverted_pendulum")
    assert config.steps_trained == 501_760  # the preset's own budget, not reduced
    out = _train(config, 2)
    returns = np.asarray(out.metrics["episode_return"])
    first, final = returns[:, 0], returns[:, -1]
    assert np.all(first < 4 * RANDOM_POLICY_RETURN), first
    assert final.mean() >= 950.0, final
    assert np.all(final <= 1000.0), final  # raw (unscaled) rewards
    assert out.state.obs_rms.mean.shape[0] == 2  # one set of statistics per seed
    # The deterministic policy (mean action, frozen normalization) balances too.
    ev = evaluate(config, out, jax.random.PRNGKey(7), 4)
    assert ev.returns.shape == (2, 4)
    assert float(np.mean(ev.returns)) >= 950.0, ev.returns


@pytest.mark.slow
def test_hopper_preset_rises_well_above_random() -> None:
    config = PPOConfig.preset("brax/hopper", total_timesteps=HOPPER_STEPS)
    out = _train(config, 2)
    returns = np.asarray(out.metrics["episode_return"])
    first, final = returns[:, 0], returns[:, -1]
    assert config.num_updates == 32
    assert np.all(first < 3 * HOPPER_RANDOM_RETURN), first
    assert final.mean() >= 200.0, (first, final)
    assert np.all(final >= 5.0 * first), (first, final)
