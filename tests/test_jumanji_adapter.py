"""jumanji adapter: episode-end contract, observation layout, masks, a short run.

jumanji is part of the test install (``make test`` installs every extra)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_env, make_train

SNAKE_GRID = 12 * 12 * 5  # grid entries come first, then step_count, then the mask
LIMIT = 12  # one compiled Snake (time limit 12) serves every Snake test


@pytest.fixture(scope="module")
def snake():
    env = make_env("jumanji/Snake-v1", time_limit=LIMIT)
    return env, jax.jit(jax.vmap(env.reset)), jax.jit(jax.vmap(env.step))


def _legal(obs: jax.Array) -> jax.Array:
    return jnp.argmax(obs[:, -4:], axis=-1).astype(jnp.int32)


def test_snake_layout_and_mask(snake):
    env, reset, _ = snake
    assert env.obs_dim == SNAKE_GRID + 1 + 4 and env.obs_shape == (12, 12, 5)
    assert env.action_spec.masked and env.action_spec.num_actions == 4
    assert [path for path, _ in env.feature_layout] == [".grid", ".step_count"]
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    obs, _ = reset(keys)
    raw = jax.jit(env.env.reset)(keys[0])[1].observation
    np.testing.assert_array_equal(np.asarray(obs[0, :SNAKE_GRID]), np.asarray(raw.grid).reshape(-1))
    np.testing.assert_array_equal(np.asarray(obs[0, -4:]), np.asarray(raw.action_mask, np.float32))


def test_snake_time_limit_is_truncation_not_termination(snake):
    # jumanji 1.1.2's Snake ends its time limit with discount 0; the adapter must say
    # truncated, keep the last observation in final_obs and start a fresh episode.
    env, reset, step = snake
    n = 4
    obs, state = reset(jax.random.split(jax.random.PRNGKey(1), n))
    starts = [np.asarray(obs)]
    for t in range(2 * LIMIT):
        res = step(jax.random.split(jax.random.PRNGKey(10 + t), n), state, _legal(obs))
        alive = ~np.asarray(res.terminated)
        if t % LIMIT == LIMIT - 1:
            assert np.all(np.asarray(res.truncated)[alive]) and alive.any()
            # final_obs is the last step (step_count / time_limit = 1), obs a new episode.
            np.testing.assert_allclose(np.asarray(res.final_obs[alive, SNAKE_GRID]), 1.0)
            np.testing.assert_allclose(np.asarray(res.obs[alive, SNAKE_GRID]), 0.0)
            starts.append(np.asarray(res.obs))
        else:
            assert not np.any(np.asarray(res.truncated))
            assert not np.any(np.asarray(res.terminated))  # legal moves only, short run
        assert not np.any(np.asarray(res.terminated & res.truncated))
        obs, state = res.obs, res.state
    # Start states are re-randomized on every reset (fresh keys).
    assert not np.array_equal(starts[1], starts[2])
    assert not np.array_equal(starts[0][0], starts[0][1])


def test_snake_death_is_termination(snake):
    # Always the same direction: the snake leaves the 12x12 grid within 12 steps; if
    # that coincides with the time limit, terminated wins (never both).
    _, reset, step = snake
    obs, state = reset(jax.random.split(jax.random.PRNGKey(2), 4))
    ended = np.zeros(4, bool)
    for t in range(LIMIT):
        res = step(jax.random.split(jax.random.PRNGKey(t), 4), state, jnp.zeros(4, jnp.int32))
        term = np.asarray(res.terminated)
        assert not np.any(np.asarray(res.truncated))
        for i in np.nonzero(term & ~ended)[0]:
            assert not np.array_equal(np.asarray(res.obs[i]), np.asarray(res.final_obs[i]))
        ended |= term
        state = res.state
    assert ended.all()


def test_refusals_and_joint_actions():
    with pytest.raises(ValueError, match="downloads"):
        PPOConfig(env_name="jumanji/Sokoban-v0")
    with pytest.raises(ValueError, match="multi-agent"):
        make_env("jumanji/Cleaner-v0")
    with pytest.raises(ValueError, match="valid names"):
        make_env("jumanji/NoSuchEnv-v0")
    mines = make_env("jumanji/Minesweeper-v0")
    assert mines.action_spec.num_actions == 100 and mines.action_spec.masked
    # joint action 23 = row 2, column 3 (row-major).
    np.testing.assert_array_equal(np.asarray(mines._env_action(jnp.int32(23))), [2, 3])


def test_masked_training_rejects_obs_normalization_and_runs():
    with pytest.raises(ValueError, match="normalize_obs"):
        make_train(PPOConfig(env_name="jumanji/Game2048-v1", normalize_obs=True))
    config = PPOConfig(env_name="jumanji/Game2048-v1", total_timesteps=8 * 16 * 2,
                       num_envs=8, num_steps=16)
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    assert np.all(np.isfinite(np.asarray(out.metrics["value_loss"])))
    assert np.all(np.isfinite(np.asarray(out.metrics["entropy"])))
