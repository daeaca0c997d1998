"""MuJoCo Playground (DM Control) adapter: time limit, fresh starts, refusals, a run.

playground is part of the test install (``make test`` installs every extra). The
adapter logic is the brax adapter's (tested on a fake env in test_brax_adapter.py);
this checks it on the real CartpoleBalance with a 3-step time limit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_env, make_train


def test_cartpole_balance_contract():
    env = make_env("playground/CartpoleBalance", episode_length=3)
    assert env.obs_dim == 5 and env.action_spec.shape == (1,)
    n = 3
    reset, step = jax.jit(jax.vmap(env.reset)), jax.jit(jax.vmap(env.step))
    obs, state = reset(jax.random.split(jax.random.PRNGKey(0), n))
    action = jnp.full((n, 1), 5.0)  # clipped to 1.0 by the adapter
    for t in range(3):
        res = step(jax.random.split(jax.random.PRNGKey(t), n), state, action)
        assert not np.asarray(res.terminated).any()  # balance never terminates early
        assert bool(np.all(np.asarray(res.truncated))) == (t == 2)
        state = res.state
    # final_obs is the third step's observation; obs starts a fresh, random episode.
    assert not np.allclose(np.asarray(res.obs), np.asarray(res.final_obs))
    assert not np.allclose(np.asarray(res.obs[0]), np.asarray(res.obs[1]))


def test_refusals():
    with pytest.raises(ValueError, match="clone robot assets"):
        PPOConfig(env_name="playground/Go1JoystickFlatTerrain")
    with pytest.raises(ValueError, match="impl"):
        make_env("playground/CartpoleBalance", impl="cuda")


def test_short_run():
    config = PPOConfig.preset("playground/CartpoleBalance", total_timesteps=8 * 16 * 2,
                              num_envs=8, num_steps=16, num_minibatches=4, update_epochs=1)
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    assert np.all(np.isfinite(np.asarray(out.metrics["value_loss"])))
