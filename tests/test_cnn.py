"""The CNN torso: image reshaping, extra features, config validation, a short run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_train
from purejaxppo.envs.base import ActionSpec, StepResult
from purejaxppo.networks import CNN, make_networks


class _PixelEnv:
    """One lit pixel in a 4x4x1 image plus one extra feature; reward 1 if the action
    names the half (left 0 / right 1) it is in; every step ends the episode."""

    name = "pixel"
    obs_dim = 17
    obs_shape = (4, 4, 1)
    action_spec = ActionSpec(discrete=True, num_actions=2)

    def _obs(self, key):
        idx = jax.random.randint(key, (), 0, 16)
        return jnp.concatenate([jax.nn.one_hot(idx, 16), jnp.ones((1,))]), idx

    def reset(self, key):
        obs, idx = self._obs(key)
        return obs, idx

    def step(self, key, state, action):
        reward = jnp.where((state % 4 >= 2).astype(jnp.int32) == action, 1.0, 0.0)
        obs, idx = self._obs(key)
        return StepResult(obs, idx, reward, jnp.bool_(True), jnp.bool_(False), obs)


def test_cnn_reshapes_row_major_and_appends_extra_features():
    net = CNN((4, 4, 1), (3,), (3,), (8,), 2, 1.0, "relu")
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 2, 17))
    params = net.init(jax.random.PRNGKey(1), x)
    out = net.apply(params, x)
    assert out.shape == (5, 2, 2)
    conv = params["params"]["Conv_0"]["kernel"]
    assert conv.shape == (3, 3, 1, 3)
    # The extra feature (entry 16) reaches the head: changing it changes the output.
    changed = net.apply(params, x.at[..., 16].add(1.0))
    assert not np.allclose(np.asarray(out), np.asarray(changed))
    # Rows of the batch are independent (no mixing across leading axes).
    single = net.apply(params, x[3, 1])
    np.testing.assert_allclose(np.asarray(single), np.asarray(out[3, 1]), rtol=1e-5, atol=1e-6)


def test_cnn_config_validation():
    with pytest.raises(ValueError, match="torso"):
        PPOConfig(torso="transformer")
    with pytest.raises(ValueError, match="same length"):
        PPOConfig(torso="cnn", cnn_channels=(16, 32), cnn_kernels=(3,))
    with pytest.raises(ValueError, match="cnn_channels"):
        PPOConfig(torso="cnn", cnn_channels=(0,), cnn_kernels=(3,))
    # CartPole has no image observation: refused before compiling.
    with pytest.raises(ValueError, match="image observation"):
        make_train(PPOConfig(torso="cnn"))
    with pytest.raises(ValueError, match="image observation"):
        make_networks(4, ActionSpec(discrete=True, num_actions=2), torso="cnn")


def test_minatar_adapter_exposes_its_image_shape():
    from purejaxppo import make_env

    env = make_env("Breakout-MinAtar")
    assert env.obs_shape == (10, 10, 4) and env.obs_dim == 400
    assert make_env("CartPole-v1").obs_shape == (4,)


def test_cnn_trains_vmapped_over_seeds():
    # env_name is only a label when make_train gets env=; torso="cnn" is validated
    # against the named env's observation, so name an image env.
    config = PPOConfig(
        env_name="Breakout-MinAtar", total_timesteps=8 * 16 * 20, num_envs=8, num_steps=16,
        num_minibatches=2, learning_rate=3e-3, torso="cnn", cnn_channels=(4,),
        cnn_kernels=(3,), hidden_sizes=(16,), activation="relu", ent_coef=0.0,
    )
    train = jax.jit(jax.vmap(make_train(config, env=_PixelEnv())))
    out = train(jax.random.split(jax.random.PRNGKey(0), 2))
    ret = np.asarray(out.metrics["episode_return"])
    assert ret.shape == (2, 20) and np.all(np.isfinite(ret))
    # The pixel task is learnable only by looking at the image: well above chance (0.5).
    assert np.all(ret[:, -3:].mean(axis=1) > 0.8), ret
