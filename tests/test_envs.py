"""Every registered gymnax environment builds, resets and steps through the adapter."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, env_names, make_env, make_train

# MNISTBandit-bsuite downloads MNIST when it is constructed; CI has no network.
NEEDS_NETWORK = {"MNISTBandit-bsuite"}
GYMNAX = [name for name in gymnax.registered_envs if name not in NEEDS_NETWORK]


def test_registry_lists_gymnax_and_brax_names():
    names = env_names()
    assert set(gymnax.registered_envs) <= set(names)
    assert "brax/ant" in names and "brax/hopper" in names
    with pytest.raises(ValueError, match="valid names"):
        make_env("NotAnEnv-v0")


@pytest.mark.parametrize("name", GYMNAX)
def test_adapter_steps_under_jit_and_vmap(name):
    env = make_env(name)
    spec = env.action_spec
    n = 3
    obs, state = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), n))
    assert obs.shape == (n, env.obs_dim) and obs.dtype == jnp.float32
    if spec.discrete:
        action = jnp.arange(n, dtype=jnp.int32) % spec.num_actions
    else:
        action = jnp.full((n, spec.action_dim), 2.0 * max(abs(x) for x in spec.high))
    res = jax.jit(jax.vmap(env.step))(jax.random.split(jax.random.PRNGKey(1), n), state, action)
    assert res.obs.shape == res.final_obs.shape == (n, env.obs_dim)
    assert res.reward.shape == res.terminated.shape == res.truncated.shape == (n,)
    assert res.terminated.dtype == res.truncated.dtype == jnp.bool_
    assert not np.any(np.asarray(res.terminated & res.truncated))


@pytest.mark.parametrize("name", ["Catch-bsuite", "FourRooms-misc", "PointRobot-misc"])
def test_one_env_per_family_trains(name):
    config = PPOConfig(env_name=name, total_timesteps=8 * 16 * 2, num_envs=8, num_steps=16)
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    assert np.all(np.isfinite(np.asarray(out.metrics["value_loss"])))
    assert int(out.state.update_step) * config.batch_size == 256
