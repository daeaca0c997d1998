"""Tests for the brax environment adapter (purejaxppo.envs.brax).

Adapter logic (clipping, truncation vs termination, fresh-key auto-reset) is checked
on a tiny pure-JAX fake brax env, which needs no brax and compiles instantly. The real
brax tests use ``brax/inverted_pendulum`` (pinned to the ``generalized`` backend, which
builds and compiles fastest) with ``episode_length=5`` and share compiled
functions through a module-scoped fixture. brax is part of the test install
(``make test`` installs the ``brax`` extra), so they always run.
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from purejaxppo.envs.base import ActionSpec, StepResult
from purejaxppo.envs.brax import (
    BRAX_BACKENDS,
    BRAX_ENV_NAMES,
    DEFAULT_BACKENDS,
    BraxAdapter,
    make_brax_env,
)

NUM_ENVS = 4
EPISODE_LENGTH = 5


# --------------------------------------------------------------------------------------
# Fake brax env: obs = [action_0, action_1, t], reward = sum(action), done when
# action_1 > 0.5. It does not clip actions, so any clipping seen is the adapter's.
# --------------------------------------------------------------------------------------


@struct.dataclass
class _FakeState:
    pipeline_state: jax.Array
    obs: jax.Array
    reward: jax.Array
    done: jax.Array
    metrics: dict
    info: dict


class _FakeBraxEnv:
    observation_size = 3
    action_size = 2

    def reset(self, rng: jax.Array) -> _FakeState:
        start = jax.random.uniform(rng, (2,), minval=-1.0, maxval=1.0)
        obs = jnp.concatenate([start, jnp.zeros(1)])
        zero = jnp.zeros(())
        return _FakeState(obs[2], obs, zero, zero, {"m": zero}, {"i": zero})

    def step(self, state: _FakeState, action: jax.Array) -> _FakeState:
        t = state.pipeline_state + 1.0
        obs = jnp.concatenate([action, t[None]])
        done = jnp.where(action[1] > 0.5, 1.0, 0.0)
        return state.replace(pipeline_state=t, obs=obs, reward=jnp.sum(action), done=done, metrics={"m": t})


@pytest.fixture(scope="module")
def fake():
    adapter = BraxAdapter(name="brax/fake", env=_FakeBraxEnv(), backend="generalized", episode_length=3)
    return adapter, jax.jit(jax.vmap(adapter.reset)), jax.jit(jax.vmap(adapter.step))


def _keys(seed: int, n: int = NUM_ENVS) -> jax.Array:
    return jax.random.split(jax.random.PRNGKey(seed), n)


def test_fake_adapter_clips_actions(fake) -> None:
    _, reset, step = fake
    _, state = reset(_keys(0))
    raw = jnp.tile(jnp.array([[5.0, -7.0]]), (NUM_ENVS, 1))
    res = step(_keys(1), state, raw)
    np.testing.assert_allclose(res.final_obs[:, :2], np.tile([1.0, -1.0], (NUM_ENVS, 1)))
    np.testing.assert_allclose(res.reward, 0.0)  # sum of the CLIPPED action
    clipped = step(_keys(1), state, jnp.clip(raw, -1.0, 1.0))
    jax.tree.map(np.testing.assert_array_equal, res, clipped)


def test_fake_adapter_truncation_termination_and_reset(fake) -> None:
    _, reset, step = fake
    obs0, state = reset(_keys(0))
    act = jnp.zeros((NUM_ENVS, 2))
    for t in range(1, 3):
        res = step(_keys(t), state, act)
        assert not res.truncated.any() and not res.terminated.any()
        np.testing.assert_array_equal(res.obs, res.final_obs)
        np.testing.assert_array_equal(res.state.step_count, t)
        state = res.state
    res = step(_keys(3), state, act)  # time limit (3) reached
    assert res.truncated.all() and not res.terminated.any()
    np.testing.assert_allclose(res.final_obs[:, 2], 3.0)  # pre-reset observation
    np.testing.assert_allclose(res.obs[:, 2], 0.0)  # first observation of a new episode
    np.testing.assert_array_equal(res.state.step_count, 0)
    assert len({tuple(np.asarray(o).round(6)) for o in res.obs}) == NUM_ENVS  # random starts
    assert not np.allclose(res.obs, obs0)

    # Termination on the last allowed step: terminated wins, truncated stays False.
    state = res.state
    for t in range(2):
        state = step(_keys(10 + t), state, act).state
    res = step(_keys(20), state, jnp.tile(jnp.array([[0.0, 1.0]]), (NUM_ENVS, 1)))
    assert res.terminated.all() and not res.truncated.any()
    np.testing.assert_array_equal(res.state.step_count, 0)
    # Mixed batch: only env 0 terminates, the others continue.
    res2 = step(_keys(21), res.state, jnp.array([[0.0, 1.0]] + [[0.0, 0.0]] * (NUM_ENVS - 1)))
    np.testing.assert_array_equal(res2.terminated, [True] + [False] * (NUM_ENVS - 1))
    np.testing.assert_array_equal(res2.state.step_count, [0] + [1] * (NUM_ENVS - 1))
    assert res2.reward.dtype == jnp.float32
    assert res2.terminated.dtype == jnp.bool_ and res2.truncated.dtype == jnp.bool_


# --------------------------------------------------------------------------------------
# Argument validation and the optional extra (no brax needed).
# --------------------------------------------------------------------------------------


class _EagerResetIsAnError(_FakeBraxEnv):
    """A fake whose observation comes from a 2-D array and whose ``reset`` records
    what it was called with; brax's ``observation_size`` (an eager reset) is absent."""

    observation_size = property(lambda self: pytest.fail("observation_size was read"))

    def __init__(self) -> None:
        self.calls = []

    def reset(self, rng: jax.Array) -> _FakeState:
        self.calls.append(isinstance(rng, jax.core.Tracer))
        state = super().reset(rng)
        return state.replace(obs=jnp.zeros((2, 3)))


def test_adapter_reads_the_observation_shape_without_running_reset() -> None:
    # brax's own observation_size runs reset eagerly: on MJX ~1,000 ops dispatched and
    # compiled one by one (brax/ant: 40 s here, 65 s on an H200). The adapter traces
    # reset abstractly instead: no concrete call, nothing compiled.
    env = _EagerResetIsAnError()
    adapter = BraxAdapter(name="brax/fake", env=env, backend="generalized", episode_length=3)
    assert env.calls == [True]
    assert adapter.obs_dim == 6


def test_env_names_and_defaults() -> None:
    for env in ("ant", "halfcheetah", "hopper", "humanoid", "inverted_pendulum", "reacher", "walker2d"):
        assert f"brax/{env}" in BRAX_ENV_NAMES
    assert set(DEFAULT_BACKENDS.values()) <= set(BRAX_BACKENDS)
    assert len(BRAX_ENV_NAMES) == len(DEFAULT_BACKENDS)


@pytest.mark.parametrize("name", ["brax/nope", "hopper", "gymnax/hopper", "brax/"])
def test_unknown_env_raises(name: str) -> None:
    with pytest.raises(ValueError, match="brax/hopper") as info:
        make_brax_env(name)
    assert "brax/inverted_pendulum" in str(info.value)


def test_unknown_backend_raises() -> None:
    with pytest.raises(ValueError, match="generalized") as info:
        make_brax_env("brax/hopper", backend="physx")
    for backend in BRAX_BACKENDS:
        assert backend in str(info.value)
    with pytest.raises(ValueError, match="generalized"):
        make_brax_env("brax/swimmer", backend="positional")  # swimmer: generalized only


@pytest.mark.parametrize("episode_length", [0, -3, 2.5, True, "10"])
def test_bad_episode_length_raises(episode_length) -> None:
    with pytest.raises(ValueError, match="episode_length"):
        make_brax_env("brax/inverted_pendulum", episode_length=episode_length)


def test_missing_brax_raises_import_error_naming_extra(monkeypatch) -> None:
    for mod in [m for m in sys.modules if m == "brax" or m.startswith("brax.")]:
        monkeypatch.setitem(sys.modules, mod, None)
    monkeypatch.setitem(sys.modules, "brax", None)
    with pytest.raises(ImportError, match=r"purejaxppo\[brax\]"):
        make_brax_env("brax/inverted_pendulum")


# --------------------------------------------------------------------------------------
# Real brax: inverted_pendulum (generalized backend), episode_length=5.
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pendulum():
    adapter = make_brax_env("brax/inverted_pendulum", backend="generalized", episode_length=EPISODE_LENGTH)
    raw = adapter.brax_env
    return {
        "adapter": adapter,
        "reset": jax.jit(jax.vmap(adapter.reset)),
        "step": jax.jit(jax.vmap(adapter.step)),
        "raw_step": jax.jit(jax.vmap(raw.step)),
    }


def test_pendulum_spec(pendulum) -> None:
    adapter = pendulum["adapter"]
    assert adapter.name == "brax/inverted_pendulum"
    assert adapter.backend == "generalized"
    assert adapter.obs_dim == 4
    assert adapter.action_spec == ActionSpec(discrete=False, shape=(1,), low=(-1.0,), high=(1.0,))
    obs, _ = pendulum["reset"](_keys(0))
    assert obs.shape == (NUM_ENVS, 4) and obs.dtype == jnp.float32
    assert len({tuple(np.asarray(o)) for o in obs}) == NUM_ENVS  # random start states


def test_pendulum_time_limit_truncates_and_resets_randomly(pendulum) -> None:
    step = pendulum["step"]
    obs0, state = pendulum["reset"](_keys(0))
    zero = jnp.zeros((NUM_ENVS, 1))
    starts = []
    for episode in range(2):
        for t in range(1, EPISODE_LENGTH + 1):
            res = step(_keys(100 * episode + t), state, zero)
            assert isinstance(res, StepResult)
            assert res.reward.shape == (NUM_ENVS,) and res.reward.dtype == jnp.float32
            assert res.terminated.dtype == jnp.bool_ and res.truncated.dtype == jnp.bool_
            # The pendulum does not fall within 5 steps: the time limit never terminates.
            assert not res.terminated.any()
            if t < EPISODE_LENGTH:
                assert not res.truncated.any()
                np.testing.assert_array_equal(res.obs, res.final_obs)
            else:
                assert res.truncated.all()
                np.testing.assert_array_equal(res.state.step_count, 0)
                assert not np.allclose(res.obs, res.final_obs)
                starts.append(np.asarray(res.obs))
            state = res.state
    # Auto-reset start states are random: distinct between envs, between the two
    # resets, and from the initial reset.
    for start in starts:
        assert len({tuple(o) for o in start}) == NUM_ENVS
        assert not np.allclose(start, obs0)
    assert not np.allclose(starts[0], starts[1])


def test_pendulum_final_obs_and_clipping_match_raw_brax(pendulum) -> None:
    step, raw_step = pendulum["step"], pendulum["raw_step"]
    _, state = pendulum["reset"](_keys(1))
    zero = jnp.zeros((NUM_ENVS, 1))
    for t in range(EPISODE_LENGTH - 2):
        state = step(_keys(50 + t), state, zero).state
    action = jnp.array([[3.0], [-3.0], [0.5], [-0.2]])
    clipped = jnp.clip(action, -1.0, 1.0)
    for _ in range(2):  # an ordinary step, then the truncating step (auto-reset)
        res = step(_keys(60), state, action)
        raw = raw_step(state.brax_state, clipped)
        np.testing.assert_allclose(res.final_obs, raw.obs, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(res.reward, raw.reward, rtol=1e-6)
        np.testing.assert_array_equal(res.terminated, raw.done > 0.5)
        # Out-of-range actions behave exactly like the clipped ones.
        res_clipped = step(_keys(60), state, clipped)
        jax.tree.map(np.testing.assert_array_equal, res, res_clipped)
        state = res.state
    assert res.truncated.all() or res.terminated.any()


def test_pendulum_falls_and_terminates(pendulum) -> None:
    step = pendulum["step"]
    _, state = pendulum["reset"](_keys(2))
    push = jnp.ones((NUM_ENVS, 1))
    terminated_at = np.full(NUM_ENVS, -1)
    for t in range(1, EPISODE_LENGTH + 1):
        res = step(_keys(70 + t), state, push)
        assert not (res.terminated & res.truncated).any()
        new = np.asarray(res.terminated) & (terminated_at < 0)
        terminated_at[new] = t
        state = res.state
        if (terminated_at > 0).all():
            break
    # Full force topples the pendulum (|angle| > 0.2) before the time limit.
    assert (terminated_at > 0).all() and (terminated_at < EPISODE_LENGTH).all()


def test_swimmer_steps_on_this_jax() -> None:
    """brax 0.14.2's fluid model (swimmer only) calls ``jnp.clip(a_min=...)``, a
    keyword jax 0.10 removed; the adapter maps it for ``brax.fluid`` alone, so swimmer
    steps and every other ``jax.numpy`` name there is the real one."""
    env = make_brax_env("brax/swimmer", episode_length=10)
    obs, state = env.reset(jax.random.PRNGKey(0))
    step = jax.jit(env.step)
    action = jnp.full(env.action_spec.shape, 0.8)
    for i in range(5):
        res = step(jax.random.PRNGKey(i), state, action)
        state = res.state
    assert obs.shape == (env.obs_dim,)
    assert np.isfinite(np.asarray(res.obs)).all() and np.isfinite(float(res.reward))
    assert not bool(res.terminated) and not bool(res.truncated)
    import jax.numpy as real_jnp
    from brax import fluid

    assert fluid.jp.clip(real_jnp.asarray([-1.0, 2.0]), a_min=0.0).tolist() == [0.0, 2.0]
    assert fluid.jp.sqrt is real_jnp.sqrt
