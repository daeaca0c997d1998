"""xminigrid adapter: episode-end contract, one-hot layout, refusals, a short run.

xminigrid is part of the test install (``make test`` installs every extra)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_env, make_train

FORWARD = 0  # xminigrid action ids: 0 forward, 1 right, 2 left, ...


@pytest.fixture(scope="module")
def empty():
    env = make_env("xminigrid/MiniGrid-EmptyRandom-5x5", max_steps=4)
    return env, jax.jit(jax.vmap(env.reset)), jax.jit(jax.vmap(env.step))


def test_one_hot_layout(empty):
    env, reset, _ = empty
    assert env.obs_shape == (7, 7, 25) and env.obs_dim == 7 * 7 * 25
    obs, state = reset(jax.random.split(jax.random.PRNGKey(0), 2))
    img = np.asarray(obs[0]).reshape(7, 7, 25)
    raw = np.asarray(state.observation[0])
    # tile one-hot in channels 0..12, colour one-hot in 13..24, per cell
    np.testing.assert_array_equal(img[..., :13].argmax(-1), raw[..., 0])
    np.testing.assert_array_equal(img[..., 13:].argmax(-1), raw[..., 1])
    np.testing.assert_array_equal(img.sum(-1), 2.0)


def test_time_limit_truncates_and_goal_terminates(empty):
    env, reset, step = empty
    n = 16
    obs, state = reset(jax.random.split(jax.random.PRNGKey(1), n))
    starts = np.asarray(obs)
    saw_term = saw_trunc = False
    for t in range(12):
        keys = jax.random.split(jax.random.PRNGKey(100 + t), n)
        # random turns/forward moves: some agents reach the goal inside 4 steps
        action = jax.random.randint(jax.random.PRNGKey(200 + t), (n,), 0, 3)
        res = step(keys, state, action)
        term, trunc = np.asarray(res.terminated), np.asarray(res.truncated)
        reward = np.asarray(res.reward)
        assert not np.any(term & trunc)
        np.testing.assert_array_equal(reward > 0, term)  # the goal is the only reward
        saw_term |= term.any()
        saw_trunc |= trunc.any()
        done = term | trunc
        # after an end, the step counter restarts: the next episode is a fresh reset
        assert np.all(np.asarray(res.state.state.step_num)[done] == 0)
        obs, state = res.obs, res.state
    assert saw_term and saw_trunc
    assert len({starts[i].tobytes() for i in range(n)}) > 1  # random start states


def test_refusals():
    with pytest.raises(ValueError, match="downloads"):
        PPOConfig(env_name="xminigrid/XLand-MiniGrid-R1-9x9")
    with pytest.raises(ValueError, match="valid names"):
        make_env("xminigrid/MiniGrid-Nope")


def test_short_run_with_cnn_torso():
    config = PPOConfig(env_name="xminigrid/MiniGrid-Empty-5x5", total_timesteps=8 * 16 * 2,
                       num_envs=8, num_steps=16, torso="cnn", cnn_channels=(8,),
                       cnn_kernels=(3,), hidden_sizes=(32,))
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    assert np.all(np.isfinite(np.asarray(out.metrics["value_loss"])))
