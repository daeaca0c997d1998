"""Tests for purejaxppo.normalize (running statistics and reward scaling) and for
observation normalization inside the trainer (end of the file)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from purejaxppo import PPOConfig, make_train
from purejaxppo.envs.base import ActionSpec, StepResult
from purejaxppo.normalize import (
    RewardScaler,
    RunningMeanStd,
    reward_scaler_init,
    rms_init,
    rms_normalize,
    rms_update,
    scale_rewards,
)
from purejaxppo.rollout import collect_rollout
from purejaxppo.train import make_trainer

OBS_SHAPE = (3,)
BATCH_SIZES = (7, 1, 32, 13)
NUM_SEEDS = 3


def _make_batches(seed: int) -> list[np.ndarray]:
    """Batches of differing sizes with a per-dimension offset and scale."""
    rng = np.random.default_rng(seed)
    offset = np.array([5.0, -3.0, 0.5]) * (seed + 1)
    scale = np.array([2.0, 0.1, 7.0])
    return [(offset + scale * rng.standard_normal((n, *OBS_SHAPE))).astype(np.float32) for n in BATCH_SIZES]


def _assert_matches_numpy(stats: RunningMeanStd, batches: list[np.ndarray]) -> None:
    data = np.concatenate(batches, axis=0).astype(np.float64)
    np.testing.assert_allclose(np.asarray(stats.mean), data.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(stats.var), data.var(axis=0), rtol=1e-5, atol=1e-5)
    assert float(stats.count) == data.shape[0]


def test_rms_init() -> None:
    stats = rms_init(OBS_SHAPE)
    assert stats.mean.shape == OBS_SHAPE and stats.var.shape == OBS_SHAPE
    assert stats.mean.dtype == jnp.float32 and stats.var.dtype == jnp.float32
    np.testing.assert_array_equal(stats.mean, 0.0)
    np.testing.assert_array_equal(stats.var, 1.0)
    assert stats.count.shape == ()
    # Before any update normalization is (almost) the identity.
    x = jnp.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(rms_normalize(stats, x, 10.0, 1e-8), x, rtol=1e-6)


def test_rms_update_matches_numpy_under_jit() -> None:
    batches = _make_batches(0)
    update = jax.jit(rms_update)
    stats = rms_init(OBS_SHAPE)
    for batch in batches:
        stats = update(stats, jnp.asarray(batch))
    _assert_matches_numpy(stats, batches)


def test_rms_update_matches_numpy_under_vmap_over_seeds() -> None:
    per_seed = [_make_batches(seed) for seed in range(NUM_SEEDS)]
    update = jax.jit(jax.vmap(rms_update))
    stats = jax.vmap(lambda _: rms_init(OBS_SHAPE))(jnp.arange(NUM_SEEDS))
    for i in range(len(BATCH_SIZES)):
        stacked = jnp.stack([jnp.asarray(per_seed[s][i]) for s in range(NUM_SEEDS)])
        stats = update(stats, stacked)
    for seed in range(NUM_SEEDS):
        _assert_matches_numpy(jax.tree.map(lambda leaf, s=seed: leaf[s], stats), per_seed[seed])


def test_rms_update_scalar_shape() -> None:
    rng = np.random.default_rng(3)
    batches = [rng.normal(100.0, 20.0, size=n).astype(np.float32) for n in (50, 3, 200)]
    stats = rms_init(())
    for batch in batches:
        stats = rms_update(stats, jnp.asarray(batch))
    data = np.concatenate(batches).astype(np.float64)
    np.testing.assert_allclose(float(stats.mean), data.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(stats.var), data.var(), rtol=1e-5)


def test_rms_normalize_standardizes_and_clips() -> None:
    stats = RunningMeanStd(mean=jnp.array([1.0, -2.0]), var=jnp.array([4.0, 0.25]), count=jnp.array(10.0))
    x = jnp.array([[3.0, -2.5], [1000.0, -1000.0]])
    out = jax.jit(rms_normalize)(stats, x, 5.0, 0.0)
    np.testing.assert_allclose(out[0], [1.0, -1.0], rtol=1e-6)
    np.testing.assert_allclose(out[1], [5.0, -5.0])
    assert float(jnp.max(jnp.abs(out))) <= 5.0
    # eps and clip may be traced.
    out_traced = jax.jit(lambda c, e: rms_normalize(stats, x, c, e))(jnp.float32(2.0), jnp.float32(1e-8))
    np.testing.assert_allclose(out_traced[1], [2.0, -2.0])


def _reward_stream(num_steps: int, num_envs: int, episode_len: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random rewards with a large offset and scale; env ``i`` ends episodes every
    ``episode_len`` steps, staggered by ``i`` steps."""
    rng = np.random.default_rng(seed)
    rewards = (50.0 + 20.0 * rng.standard_normal((num_steps, num_envs))).astype(np.float32)
    t = np.arange(num_steps)[:, None] + np.arange(num_envs)[None, :]
    dones = (t + 1) % episode_len == 0
    return rewards, dones


def _discounted_returns(rewards: np.ndarray, dones: np.ndarray, gamma: float) -> np.ndarray:
    """Reference G_t = r_t + gamma * (1 - done_{t-1}) * G_{t-1}, in float64 numpy."""
    out = np.zeros(rewards.shape, np.float64)
    carry = np.zeros(rewards.shape[1], np.float64)
    for t in range(rewards.shape[0]):
        carry = rewards[t] + gamma * carry
        out[t] = carry
        carry = carry * (1.0 - dones[t])
    return out


@pytest.fixture(scope="module")
def scale_fn():
    return jax.jit(scale_rewards)


def test_scale_rewards_discounted_returns_have_unit_std(scale_fn) -> None:
    gamma, num_envs, chunk, num_chunks, episode_len = 0.99, 4, 64, 24, 100
    rewards, dones = _reward_stream(chunk * num_chunks, num_envs, episode_len)
    scaler = reward_scaler_init(num_envs)
    scaled_chunks = []
    for i in range(num_chunks):
        sl = slice(i * chunk, (i + 1) * chunk)
        scaler, scaled = scale_fn(scaler, jnp.asarray(rewards[sl]), jnp.asarray(dones[sl]), gamma, 10.0, 1e-8)
        scaled_chunks.append(np.asarray(scaled))
    scaled_all = np.concatenate(scaled_chunks)

    # The running statistics are those of the true discounted returns of the stream.
    raw_returns = _discounted_returns(rewards, dones, gamma)
    np.testing.assert_allclose(float(scaler.return_rms.var), raw_returns.var(), rtol=1e-3)
    assert float(scaler.return_rms.count) == rewards.size
    # The carried return matches the reference (zeroed where the episode just ended).
    np.testing.assert_allclose(scaler.discounted_return, raw_returns[-1] * (1.0 - dones[-1]), rtol=1e-4)

    warmup = 4 * chunk
    scaled_returns = _discounted_returns(scaled_all, dones, gamma)[warmup:]
    std = scaled_returns.std()
    assert 0.8 < std < 1.25, std
    # Scale only, never shift: the sign is kept and each chunk has one common factor.
    assert np.all(np.sign(scaled_all) == np.sign(rewards))
    ratio = rewards[-chunk:] / scaled_all[-chunk:]
    np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-5)


def test_scale_rewards_clips(scale_fn) -> None:
    scaler = reward_scaler_init(2)
    rewards = jnp.array([[1.0, -1.0], [1000.0, -1000.0]])
    dones = jnp.zeros((2, 2), bool)
    new_scaler, scaled = scale_fn(scaler, rewards, dones, 0.9, 0.5, 1e-8)
    # Returns are [1, -1] then [1000.9, -1000.9]: std ~707.7, so the big rewards
    # scale to ~1.41 and get clipped, the small ones (~0.0014) do not.
    std = float(jnp.sqrt(new_scaler.return_rms.var))
    np.testing.assert_allclose(std, np.std([1.0, -1.0, 1000.9, -1000.9]), rtol=1e-5)
    assert float(jnp.max(jnp.abs(scaled))) <= 0.5
    np.testing.assert_allclose(scaled[1], [0.5, -0.5])
    np.testing.assert_allclose(scaled[0], [1.0 / std, -1.0 / std], rtol=1e-5)


def test_scale_rewards_vmap_over_seeds_with_traced_hyperparameters() -> None:
    num_envs, chunk = 4, 16
    streams = [_reward_stream(3 * chunk, num_envs, 10, seed=s) for s in range(NUM_SEEDS)]
    rewards = jnp.stack([jnp.asarray(r) for r, _ in streams])
    dones = jnp.stack([jnp.asarray(d) for _, d in streams])
    gammas = jnp.array([0.9, 0.95, 0.99], jnp.float32)

    @jax.jit
    def run(rewards, dones, gammas):
        def one_seed(rew, don, gamma):
            scaler = reward_scaler_init(num_envs)
            outs = []
            for i in range(3):
                sl = slice(i * chunk, (i + 1) * chunk)
                scaler, scaled = scale_rewards(scaler, rew[sl], don[sl], gamma, 10.0, 1e-8)
                outs.append(scaled)
            return scaler, jnp.concatenate(outs)

        return jax.vmap(one_seed)(rewards, dones, gammas)

    scalers, scaled = run(rewards, dones, gammas)
    assert isinstance(scalers, RewardScaler)
    assert scaled.shape == (NUM_SEEDS, 3 * chunk, num_envs)
    for s in range(NUM_SEEDS):
        ref = _discounted_returns(np.asarray(streams[s][0]), np.asarray(streams[s][1]), float(gammas[s]))
        np.testing.assert_allclose(float(scalers.return_rms.mean[s]), ref.mean(), rtol=1e-4)
        np.testing.assert_allclose(float(scalers.return_rms.var[s]), ref.var(), rtol=1e-3)
        expected = np.asarray(streams[s][0])[-chunk:] / np.sqrt(ref.var() + 1e-8)
        np.testing.assert_allclose(scaled[s, -chunk:], expected, rtol=1e-3)


# =========================================================================== trainer
# Observation normalization inside the trainer.
#
# * The final ``TrainState.obs_rms`` equals the numpy mean / population variance of
#   every raw observation the policy was shown during the rollouts, under ``jit`` and
#   under ``vmap`` over seeds (each seed keeps its own statistics).
# * The statistics live in the train state, not in the environment state.
# * Within an update the rollout is normalized with the statistics from the START of
#   the update (frozen); the rollout's raw observations are merged in afterwards.
#
# The statistics test uses a "lockstep" environment whose observations do not depend
# on the actions: ``obs_t = base + g(t)`` with ``base`` drawn once per environment at
# reset, and no episode ever ends. So the observations the policy saw are known
# exactly from ``base`` (read back from the final env state) and the step count.

NUM_ENVS, NUM_STEPS, NUM_UPDATES, SEEDS = 4, 16, 3, 3


@struct.dataclass
class LockstepState:
    base: jax.Array
    t: jax.Array


def _g(t: jax.Array) -> jax.Array:
    t = jnp.asarray(t, jnp.float32)
    return jnp.stack([t / 10.0, jnp.sin(t), jnp.zeros_like(t)])


def _g_np(t: np.ndarray) -> np.ndarray:
    t = t.astype(np.float64)
    return np.stack([t / 10.0, np.sin(t), np.zeros_like(t)], axis=-1)


class LockstepEnv:
    """Action-independent observations ``base + g(t)``; never terminates or truncates."""

    name = "lockstep"
    obs_dim = 3
    action_spec = ActionSpec(discrete=True, num_actions=2)

    def reset(self, key: jax.Array):
        base = jax.random.normal(key, (3,)) * jnp.array([1.0, 0.5, 2.0]) + jnp.array(
            [3.0, -1.0, 0.5]
        )
        state = LockstepState(base=base, t=jnp.int32(0))
        return base + _g(0), state

    def step(self, key: jax.Array, state: LockstepState, action: jax.Array) -> StepResult:
        nxt = LockstepState(base=state.base, t=state.t + 1)
        obs = state.base + _g(nxt.t)
        return StepResult(
            obs=obs, state=nxt, reward=jnp.float32(1.0), terminated=jnp.bool_(False),
            truncated=jnp.bool_(False), final_obs=obs,
        )


def _config(**kw) -> PPOConfig:
    return PPOConfig(
        env_name="CartPole-v1", num_envs=NUM_ENVS, num_steps=NUM_STEPS,
        num_minibatches=2, update_epochs=1,
        total_timesteps=NUM_ENVS * NUM_STEPS * NUM_UPDATES, normalize_obs=True, **kw,
    )


def _expected_stats(base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numpy mean/var of all rollout observations for envs with bases ``[N, 3]``."""
    t = np.arange(NUM_STEPS * NUM_UPDATES)  # the policy sees obs_0 ... obs_{UT-1}
    seen = base[:, None, :].astype(np.float64) + _g_np(t)[None]
    seen = seen.reshape(-1, 3)
    return seen.mean(0), seen.var(0)


@pytest.fixture(scope="module")
def vmapped_output():  # noqa: D103
    train = jax.jit(jax.vmap(make_train(_config(), env=LockstepEnv())))
    return train(jax.random.split(jax.random.PRNGKey(0), SEEDS))


def test_obs_rms_equals_numpy_stats_of_rollout_observations_under_jit() -> None:
    out = jax.jit(make_train(_config(), env=LockstepEnv()))(jax.random.PRNGKey(7))
    rms = out.state.obs_rms
    mean, var = _expected_stats(np.asarray(out.state.env_state.base))
    assert float(rms.count) == NUM_ENVS * NUM_STEPS * NUM_UPDATES
    np.testing.assert_allclose(np.asarray(rms.mean), mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(rms.var), var, rtol=1e-5, atol=1e-5)


def test_each_seed_has_its_own_statistics_under_vmap(vmapped_output) -> None:
    rms = vmapped_output.state.obs_rms
    bases = np.asarray(vmapped_output.state.env_state.base)  # [seeds, envs, 3]
    assert rms.mean.shape == (SEEDS, 3)
    for s in range(SEEDS):
        mean, var = _expected_stats(bases[s])
        np.testing.assert_allclose(np.asarray(rms.mean[s]), mean, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(rms.var[s]), var, rtol=1e-5, atol=1e-5)
    # Different seeds drew different start states, hence different statistics.
    assert not np.allclose(np.asarray(rms.mean[0]), np.asarray(rms.mean[1]))


def test_statistics_are_in_the_train_state_not_the_env_state(vmapped_output) -> None:
    state = vmapped_output.state
    assert state.obs_rms is not None
    env_leaves = jax.tree.leaves(state.env_state)
    assert all(leaf is not state.obs_rms.mean for leaf in env_leaves)
    assert isinstance(state.env_state, LockstepState)  # nothing added by the trainer
    off = jax.jit(make_train(_config().replace(normalize_obs=False), env=LockstepEnv()))(
        jax.random.PRNGKey(0)
    )
    assert off.state.obs_rms is None


def test_rollout_uses_stats_frozen_at_the_start_of_the_update() -> None:
    """Replays one update's rollout by hand and checks the trainer did the same.

    Pendulum's dynamics depend on the actions, so if the trainer had normalized the
    rollout with statistics updated during the rollout, the sampled actions and thus
    the environment state after the update would differ from this replay.
    """
    config = PPOConfig(
        env_name="Pendulum-v1", num_envs=4, num_steps=32, num_minibatches=2,
        update_epochs=1, total_timesteps=4 * 32 * 3, normalize_obs=True,
    )
    trainer = make_trainer(config)
    hp = config.hparams()
    update = jax.jit(lambda s: trainer.update(s, hp)[0])
    state = jax.jit(lambda k: trainer.init(k, hp))(jax.random.PRNGKey(1))
    state = update(update(state))  # non-trivial statistics
    after = update(state)

    def replay(stats):
        k_roll = jax.random.split(state.rng, 3)[1]
        normalize = lambda o: trainer.normalize_obs(state.replace(obs_rms=stats), o)  # noqa: E731
        return collect_rollout(
            trainer.env, trainer.networks, state.params, state.env_state, state.obs,
            state.ep_return, state.ep_length, k_roll, config.num_steps, normalize, False,
        )

    frozen = jax.jit(replay)(state.obs_rms)
    _, next_obs, _, _, traj, _ = frozen
    np.testing.assert_allclose(np.asarray(after.obs), np.asarray(next_obs), rtol=1e-6)
    # Statistics are updated with the rollout's RAW observations afterwards.
    expected = rms_update(state.obs_rms, traj.raw_obs.reshape((-1, trainer.env.obs_dim)))
    np.testing.assert_allclose(np.asarray(after.obs_rms.mean), np.asarray(expected.mean), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(after.obs_rms.var), np.asarray(expected.var), rtol=1e-6)
    # Sanity: with other statistics the policy would have acted differently.
    other = jax.jit(replay)(expected)
    assert not np.allclose(np.asarray(other[1]), np.asarray(after.obs))
