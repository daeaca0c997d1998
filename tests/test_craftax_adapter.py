"""craftax adapter: time limit vs death, fresh worlds, a short run.

craftax is part of the test install (``make test`` installs every extra). One
module-scoped adapter with a 3-step time limit keeps compilation to one program."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_env, make_train


@pytest.fixture(scope="module")
def classic():
    env = make_env("craftax/Craftax-Classic-Symbolic-v1", max_timesteps=3)
    return env, jax.jit(jax.vmap(env.reset)), jax.jit(jax.vmap(env.step))


def test_time_limit_is_truncation_and_death_is_termination(classic):
    env, reset, step = classic
    assert env.obs_dim == 1345 and env.action_spec.num_actions == 17
    n = 3
    obs, state = reset(jax.random.split(jax.random.PRNGKey(0), n))
    # Kill env 0 before its last step: with health 0 the next step is a death.
    state = state.replace(player_health=state.player_health.at[0].set(0))
    noop = jnp.zeros(n, jnp.int32)
    results = []
    for t in range(3):
        res = step(jax.random.split(jax.random.PRNGKey(t), n), state, noop)
        results.append(res)
        state = res.state
    first, last = results[0], results[2]
    np.testing.assert_array_equal(np.asarray(first.terminated), [True, False, False])
    assert not np.asarray(first.truncated).any()
    # Craftax's own done would call the time limit terminal; here it is truncation.
    np.testing.assert_array_equal(np.asarray(last.truncated), [False, True, True])
    assert not np.asarray(last.terminated)[1:].any()
    for res, i in ((first, 0), (last, 1), (last, 2)):
        assert not np.array_equal(np.asarray(res.obs[i]), np.asarray(res.final_obs[i]))
    # Fresh worlds: the two new episodes started from different maps.
    assert not np.array_equal(np.asarray(last.obs[1]), np.asarray(last.obs[2]))


def test_unknown_name_and_bad_kwarg():
    with pytest.raises(ValueError, match="valid names"):
        PPOConfig(env_name="craftax/Craftax-Nope-v1")
    with pytest.raises(ValueError, match="max_timesteps"):
        make_env("craftax/Craftax-Classic-Symbolic-v1", max_timesteps=0)


def test_short_run():
    config = PPOConfig.preset(
        "craftax/Craftax-Classic-Symbolic-v1", total_timesteps=4 * 8 * 2, num_envs=4,
        num_steps=8, num_minibatches=2, update_epochs=1, hidden_sizes=(32,),
        env_kwargs=(("max_timesteps", 5),),
    )
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    assert out.env_steps(config).tolist() == [32, 64]
    assert np.all(np.isfinite(np.asarray(out.metrics["value_loss"])))
    # 5-step episodes: every env finished at least one episode in 8 steps.
    assert int(np.asarray(out.metrics["episodes_completed"])[0]) >= 4


def test_step_batch_equals_vmapped_step(classic):
    """The batched step (new worlds only where an episode ended, one per loop
    iteration for 5 envs) returns what the vmapped single-env step does, also under
    an outer vmap (two seeds whose envs end at different steps): integer and boolean
    leaves (maps, inventories, flags) bit for bit, floats up to one rounding (XLA fuses
    the two programs differently, e.g. Craftax's light level differs in the last bit)."""
    env, reset, step = classic
    step_batch = jax.jit(jax.vmap(env.step_batch))
    step2 = jax.jit(jax.vmap(step))
    n = 5
    obs, state = jax.jit(jax.vmap(reset))(
        jax.random.split(jax.random.PRNGKey(1), 2 * n).reshape(2, n, -1))
    # Seed 0: staggered clocks and one death (1 to 3 ends per step); seed 1: no end
    # for two steps, then all 5 at once (5 loop iterations while seed 0 needs 1).
    state = state.replace(
        timestep=jnp.asarray([[0, 1, 2, 2, 0], [0, 0, 0, 0, 0]], state.timestep.dtype),
        player_health=state.player_health.at[0, 4].set(0),
    )
    ends = []
    a_state = b_state = state
    for t in range(4):
        keys = jax.random.split(jax.random.PRNGKey(10 + t), 2 * n).reshape(2, n, -1)
        actions = jnp.full((2, n), t % 3, jnp.int32)
        a = step2(keys, a_state, actions)
        b = step_batch(keys, b_state, actions)
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
            x, y = np.asarray(x), np.asarray(y)
            if np.issubdtype(x.dtype, np.floating):
                np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
            else:
                np.testing.assert_array_equal(x, y)
        ends.append(np.asarray(a.terminated | a.truncated).sum(axis=1))
        a_state, b_state = a.state, b.state
    ends = np.asarray(ends)
    np.testing.assert_array_equal(ends, [[3, 0], [1, 0], [1, 5], [3, 0]])
