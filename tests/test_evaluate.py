"""Evaluation of a trained CartPole policy: jitted, vmappable, frozen statistics."""

import jax
import numpy as np
import pytest

from purejaxppo import PPOConfig, evaluate, make_evaluate, make_train

# A bigger batch with a higher learning rate reaches 500 within 300k steps (~5 s).
CONFIG = PPOConfig(total_timesteps=300_000, num_envs=16, num_steps=64, learning_rate=1e-3)


@pytest.fixture(scope="module")
def trained():
    return jax.block_until_ready(jax.jit(make_train(CONFIG))(jax.random.PRNGKey(0)))


def test_deterministic_policy_solves_cartpole(trained):
    res = evaluate(CONFIG, trained, jax.random.PRNGKey(1), 10, deterministic=True)
    assert res.returns.shape == res.lengths.shape == (10,)
    assert bool(np.all(np.asarray(res.finished)))
    assert float(np.mean(res.returns)) >= 475.0
    # CartPole pays 1 per step.
    np.testing.assert_array_equal(np.asarray(res.returns), np.asarray(res.lengths))


def test_evaluate_is_pure_jittable_and_vmappable(trained):
    fn = make_evaluate(CONFIG, num_episodes=4, deterministic=False)
    state = trained.state
    a = jax.jit(fn)(state.params, state.obs_rms, jax.random.PRNGKey(5))
    b = jax.jit(fn)(state.params, state.obs_rms, jax.random.PRNGKey(5))
    np.testing.assert_array_equal(np.asarray(a.returns), np.asarray(b.returns))
    # A batch of two runs (leading seed axis) is evaluated run by run.
    stacked = jax.tree.map(lambda x: np.stack([x, x]), state)
    batch = evaluate(CONFIG, stacked, jax.random.PRNGKey(2), 3)
    assert batch.returns.shape == (2, 3)


def test_bad_inputs_raise_value_error(trained):
    with pytest.raises(ValueError, match="num_episodes must be a positive integer"):
        evaluate(CONFIG, trained, jax.random.PRNGKey(0), 0)
    with pytest.raises(ValueError, match="deterministic must be True or False"):
        evaluate(CONFIG, trained, jax.random.PRNGKey(0), 2, deterministic="yes")
    with pytest.raises(ValueError, match="do not fit the config's networks"):
        evaluate(CONFIG.replace(hidden_sizes=(32,)), trained, jax.random.PRNGKey(0), 2)
    with pytest.raises(ValueError, match="must be a TrainOutput or TrainState"):
        evaluate(CONFIG, {"params": 1}, jax.random.PRNGKey(0), 2)
