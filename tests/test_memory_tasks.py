"""The memory tasks: MaskedCartPole-v1, RepeatPrevious-v0, MemoryChain-bsuite parameters."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import env_names, make_env
from purejaxppo.envs.memory_tasks import MaskedCartPole


def test_memory_tasks_are_registered():
    names = env_names()
    for name in ("MaskedCartPole-v1", "RepeatPrevious-v0", "MemoryChain-bsuite"):
        assert name in names


def test_masked_cartpole_is_cartpole_seen_through_position_and_angle():
    masked, full = make_env("MaskedCartPole-v1"), make_env("CartPole-v1")
    # A dict observation: the masked "state" and the privileged full state.
    assert masked.obs_dim == {"state": 2, "privileged_state": 4} and full.obs_dim == 4
    assert masked.action_spec == full.action_spec
    obs_m, s_m = masked.reset(jax.random.PRNGKey(0))
    obs_f, s_f = full.reset(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(np.asarray(obs_m["state"]), np.asarray(obs_f)[[0, 2]])
    np.testing.assert_array_equal(np.asarray(obs_m["privileged_state"]), np.asarray(obs_f))
    step_m, step_f = jax.jit(masked.step), jax.jit(full.step)
    ended = 0
    for t in range(300):  # always push right: the pole falls, episodes restart
        key = jax.random.PRNGKey(t + 1)
        rm, rf = step_m(key, s_m, jnp.int32(1)), step_f(key, s_f, jnp.int32(1))
        for field in ("obs", "final_obs"):
            mine, ref = getattr(rm, field), np.asarray(getattr(rf, field))
            np.testing.assert_array_equal(np.asarray(mine["state"]), ref[[0, 2]])
            np.testing.assert_array_equal(np.asarray(mine["privileged_state"]), ref)
        assert float(rm.reward) == float(rf.reward)
        assert bool(rm.terminated) == bool(rf.terminated)
        assert bool(rm.truncated) == bool(rf.truncated)
        ended += int(rm.terminated)
        s_m, s_f = rm.state, rf.state
    assert ended > 5


def test_masked_cartpole_truncates_at_500_steps():
    env = make_env("MaskedCartPole-v1")
    _, state = env.reset(jax.random.PRNGKey(0))
    res = env.step(jax.random.PRNGKey(1), state.replace(time=498), jnp.int32(0))
    assert not bool(res.truncated) and not bool(res.terminated)
    res = env.step(jax.random.PRNGKey(1), state.replace(time=499), jnp.int32(0))
    assert bool(res.truncated) and not bool(res.terminated)
    assert int(res.state.time) == 0  # auto-reset
    assert MaskedCartPole().name == "MaskedCartPole-v1"


def _play(env, policy, key, steps):
    _, state = env.reset(key)
    rewards, ends = [], []
    for t in range(steps):
        key, k_act, k_step = jax.random.split(key, 3)
        res = env.step(k_step, state, policy(state, k_act))
        rewards.append(float(res.reward))
        ends.append(bool(res.terminated) or bool(res.truncated))
        assert not bool(res.truncated)
        state = res.state
    return np.asarray(rewards), np.asarray(ends)


def test_repeat_previous_rewards_recall_of_the_card_delay_steps_ago():
    env = make_env("RepeatPrevious-v0", episode_length=10, delay=3, num_suits=4)
    assert env.obs_dim == 4 and env.action_spec.num_actions == 4
    obs, state = env.reset(jax.random.PRNGKey(0))
    assert np.asarray(obs).sum() == 1.0 and int(np.argmax(obs)) == int(state.cards[0])
    # The oracle answers cards[delay]: return exactly 1 per 10-step episode.
    oracle = lambda s, k: s.cards[3]  # noqa: E731
    rewards, ends = _play(env, oracle, jax.random.PRNGKey(1), 30)
    assert np.flatnonzero(ends).tolist() == [9, 19, 29]
    np.testing.assert_allclose(rewards.reshape(3, 10).sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(rewards.reshape(3, 10)[:, :3], 0.0)  # nothing to recall yet
    # Naming the CURRENT card (all a memoryless policy can see) is at chance.
    current = lambda s, k: s.cards[0]  # noqa: E731
    rewards, _ = _play(env, current, jax.random.PRNGKey(2), 400)
    per_episode = rewards.reshape(40, 10).sum(axis=1)
    assert abs(per_episode.mean() - (2 / 4 - 1)) < 0.15


def test_repeat_previous_cards_are_the_shown_observations():
    env = make_env("RepeatPrevious-v0", delay=2)
    obs, state = env.reset(jax.random.PRNGKey(3))
    shown = [int(np.argmax(obs))]
    for t in range(6):
        res = env.step(jax.random.PRNGKey(10 + t), state, jnp.int32(0))
        state = res.state
        shown.append(int(np.argmax(res.obs)))
        if t >= 1:
            assert int(state.cards[2]) == shown[-3]


def test_memory_task_keyword_arguments():
    env = make_env("RepeatPrevious-v0", episode_length=16)
    assert env.env_params.episode_length == 16 and env.env.delay == 4
    with pytest.raises(ValueError, match="delay must be an integer >= 1"):
        make_env("RepeatPrevious-v0", delay=0)
    with pytest.raises(ValueError, match="bad keyword arguments"):
        make_env("MaskedCartPole-v1", colour="red")
    chain = make_env("MemoryChain-bsuite", memory_length=7)
    assert chain.env_params.memory_length == 7
    assert gymnax.make("MemoryChain-bsuite")[1].memory_length == 5  # default untouched
