"""Privileged (asymmetric) critic and domain randomization inside the fused trainer.

Fast checks (tiny budgets): observation routing and its gradients, per-key
normalization statistics against numpy, key validation, a Playground-style dict
observation env, randomization semantics (per env, per key, ``"init"`` vs
``"reset"``), evaluation on nominal or given parameters, checkpoints, sharding and
the brax hooks. The learning thresholds are in ``tests/test_sim_to_real_learning.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from purejaxppo import PPOConfig, make_train
from purejaxppo.envs import make_env
from purejaxppo.envs.base import ActionSpec, StepResult
from purejaxppo.envs.brax import BraxAdapter
from purejaxppo.envs.randomize import RandomizedEnv, randomize_env
from purejaxppo.evaluate import evaluate, make_evaluate
from purejaxppo.networks import NetworkSpec, build_networks
from purejaxppo.train import make_trainer

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(num_envs=4, num_steps=16, num_minibatches=2, update_epochs=1, total_timesteps=4 * 16 * 3)
RANGES = (("length", 0.25, 1.0), ("masspole", 0.05, 0.2))


# ------------------------------------------------------------------------- routing
def _spec(memory=None, value_obs_key="privileged_state") -> NetworkSpec:
    return NetworkSpec(
        obs_dim={"state": 2, "privileged_state": 4},
        action_spec=ActionSpec(discrete=True, num_actions=2),
        hidden_sizes=(8,),
        memory=memory,
        memory_size=8,
        value_obs_key=value_obs_key,
    )


def _obs(n: int = 3) -> dict:
    k1, k2 = jax.random.split(jax.random.PRNGKey(1))
    return {"state": jax.random.normal(k1, (n, 2)), "privileged_state": jax.random.normal(k2, (n, 4))}


@pytest.mark.parametrize("memory", [None, "gru"])
def test_actor_never_reads_the_privileged_observation_critic_does(memory) -> None:
    nets = build_networks(_spec(memory))
    params = nets.init(jax.random.PRNGKey(0))
    obs, carry, reset = _obs(), nets.initial_carry(3), jnp.array([True, False, True])

    def out(part: str, which: str):
        def f(x):
            dist, value, _ = nets.step(params, carry, {**obs, part: x}, reset)
            return jnp.sum(dist.logits if which == "actor" else value)

        return np.asarray(jax.grad(f)(obs[part]))

    assert np.all(out("privileged_state", "actor") == 0.0)  # exactly zero
    assert np.any(out("privileged_state", "critic") != 0.0)
    assert np.any(out("state", "actor") != 0.0)
    # The asymmetric critic reads the privileged state only (with memory: not the core).
    assert np.all(out("state", "critic") == 0.0)
    # Acting needs the actor's key only (what a deployed robot has).
    dist, _ = nets.act(params, carry, {"state": obs["state"]}, reset)
    full, _, _ = nets.step(params, carry, obs, reset)
    np.testing.assert_array_equal(np.asarray(dist.logits), np.asarray(full.logits))


def test_default_keys_read_state_for_both() -> None:
    nets = build_networks(_spec(value_obs_key="state"))
    params = nets.init(jax.random.PRNGKey(0))
    obs = _obs()
    grad = jax.grad(lambda p: jnp.sum(nets.value(params, {**obs, "privileged_state": p})))
    assert np.all(np.asarray(grad(obs["privileged_state"])) == 0.0)
    assert not nets.obs_keys.asymmetric and nets.obs_keys.used == ("state",)


# ---------------------------------------------------------- dict observations: env
@struct.dataclass
class _LockState:
    base: jax.Array
    t: jax.Array


def _g(t):
    t = jnp.asarray(t, jnp.float32)
    return jnp.stack([t / 10.0, jnp.sin(t)])


class DictLockstepEnv:
    """Action-independent dict observations, never ending: ``state = base + g(t)``,
    ``privileged_state = [2 base + g(t), t]``, ``extra`` (never read)."""

    name = "dict-lockstep"
    obs_dim = {"state": 2, "privileged_state": 3, "extra": 1}
    action_spec = ActionSpec(discrete=True, num_actions=2)

    def _obs(self, base, t):
        return {
            "state": base + _g(t),
            "privileged_state": jnp.concatenate([2.0 * base + _g(t), jnp.float32(t)[None]]),
            "extra": jnp.full((1,), 1e6, jnp.float32),
        }

    def reset(self, key):
        base = jax.random.normal(key, (2,)) * jnp.array([1.0, 0.5]) + jnp.array([3.0, -1.0])
        return self._obs(base, 0), _LockState(base=base, t=jnp.int32(0))

    def step(self, key, state, action):
        nxt = _LockState(base=state.base, t=state.t + 1)
        obs = self._obs(state.base, nxt.t)
        return StepResult(obs, nxt, jnp.float32(1.0), jnp.bool_(False), jnp.bool_(False), obs)


def test_per_key_normalization_statistics_equal_numpy() -> None:
    config = PPOConfig(normalize_obs=True, value_obs_key="privileged_state", **TINY)
    out = jax.jit(make_train(config, env=DictLockstepEnv()))(jax.random.PRNGKey(7))
    rms = out.state.obs_rms
    assert set(rms) == {"state", "privileged_state"}  # "extra" is never read: no stats
    base = np.asarray(out.state.env_state.base, np.float64)  # [N, 2]
    t = np.arange(config.num_steps * config.num_updates, dtype=np.float64)
    g = np.stack([t / 10.0, np.sin(t)], -1)
    seen = {
        "state": (base[:, None] + g[None]).reshape(-1, 2),
        "privileged_state": np.concatenate(
            [2 * base[:, None] + g[None], np.broadcast_to(t[None, :, None], (len(base), len(t), 1))],
            -1,
        ).reshape(-1, 3),
    }
    for key, ref in seen.items():
        assert float(rms[key].count) == ref.shape[0]
        np.testing.assert_allclose(np.asarray(rms[key].mean), ref.mean(0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(rms[key].var), ref.var(0), rtol=1e-5, atol=1e-4)
    # The rollout stored only the keys the networks read.
    trainer = make_trainer(config, env=DictLockstepEnv())
    assert set(trainer.normalize_obs(out.state, out.state.obs)) == {"state", "privileged_state"}


def test_unknown_observation_keys_are_value_errors_listing_the_keys() -> None:
    # Checked when the train function is built (before compiling): the config alone
    # does not know whether ``env=`` will replace its env_name.
    with pytest.raises(ValueError, match=r"available keys: \['privileged_state', 'state'\]"):
        make_train(PPOConfig(env_name="MaskedCartPole-v1", value_obs_key="privileged"))
    with pytest.raises(ValueError, match="observes an array"):
        make_train(PPOConfig(env_name="CartPole-v1", value_obs_key="privileged_state"))
    with pytest.raises(ValueError, match=r"available keys: \['extra', 'privileged_state', 'state'"):
        make_train(PPOConfig(policy_obs_key="pixels", **TINY), env=DictLockstepEnv())
    with pytest.raises(ValueError, match="non-empty string"):
        PPOConfig(value_obs_key="")


# ------------------------------------------------- a Playground-style dict env trains
@struct.dataclass
class _PGState:
    pipeline_state: jax.Array
    obs: dict
    reward: jax.Array
    done: jax.Array
    metrics: dict
    info: dict


class PlaygroundStyleEnv:
    """brax ``State`` API with Playground's dict observation: steer a 1-D point to a
    target it sees (``state``: the offset); the privileged state adds the velocity
    and the target. Reward ``-|offset|``; ends (terminates) past ``|offset| > 3``."""

    action_size = 1

    def _obs(self, pos, vel, target):
        return {
            "state": jnp.stack([target - pos]),
            "privileged_state": jnp.stack([target - pos, vel, target]),
        }

    def reset(self, rng):
        target = jax.random.uniform(rng, (), minval=-1.0, maxval=1.0)
        ps = jnp.stack([0.0, 0.0, target])
        zero = jnp.zeros(())
        return _PGState(ps, self._obs(0.0, 0.0, target), zero, zero, {}, {})

    def step(self, state, action):
        pos, vel, target = state.pipeline_state
        vel = 0.5 * vel + 0.2 * action[0]
        pos = pos + vel
        ps = jnp.stack([pos, vel, target])
        done = jnp.where(jnp.abs(target - pos) > 3.0, 1.0, 0.0)
        return state.replace(
            pipeline_state=ps, obs=self._obs(pos, vel, target), reward=-jnp.abs(target - pos),
            done=done,
        )


def test_playground_style_dict_observation_trains() -> None:
    adapter = BraxAdapter("playground/fake", PlaygroundStyleEnv(), "mjx-jax", episode_length=50)
    assert adapter.obs_dim == {"state": 1, "privileged_state": 3}
    config = PPOConfig(
        env_name="Pendulum-v1", num_envs=16, num_steps=50, num_minibatches=4, update_epochs=4,
        total_timesteps=16 * 50 * 40, learning_rate=3e-3, ent_coef=0.0, normalize_obs=True,
        value_obs_key="privileged_state",
    )
    out = jax.jit(make_train(config, env=adapter))(jax.random.PRNGKey(0))
    ret = np.asarray(out.metrics["episode_return"])
    assert np.all(np.isfinite(np.asarray(out.metrics["value_loss"])))
    assert set(out.state.obs_rms) == {"state", "privileged_state"}
    # It learns to steer: the last updates' returns beat the first ones' clearly.
    assert ret[-5:].mean() > ret[:5].mean() + 5.0, (ret[:5], ret[-5:])


# ------------------------------------------------------------------- randomization
def _rand_config(mode: str = "init", **kw) -> PPOConfig:
    return PPOConfig(randomize=mode, randomize_ranges=RANGES, **{**TINY, **kw})


def test_each_env_draws_its_own_parameters_same_key_same_parameters() -> None:
    config = _rand_config()
    trainer = make_trainer(config)
    init = jax.jit(trainer.init)
    a = init(jax.random.PRNGKey(0), config.hparams())
    b = init(jax.random.PRNGKey(0), config.hparams())
    c = init(jax.random.PRNGKey(1), config.hparams())
    params = a.env_state.params
    lengths = np.asarray(params.length)
    assert len(set(lengths.tolist())) == config.num_envs  # different per env
    assert np.all((lengths >= 0.25) & (lengths <= 1.0))
    jax.tree.map(np.testing.assert_array_equal, a.env_state.params, b.env_state.params)
    assert not np.array_equal(lengths, np.asarray(c.env_state.params.length))
    # Derived CartPole fields follow the drawn ones.
    np.testing.assert_allclose(params.total_mass, params.masscart + params.masspole, rtol=1e-6)
    np.testing.assert_allclose(params.polemass_length, params.masspole * params.length, rtol=1e-6)
    # Unrandomized fields keep the nominal value.
    np.testing.assert_array_equal(np.asarray(params.force_mag), 10.0)


@pytest.mark.parametrize("mode", ["init", "reset"])
def test_reset_mode_redraws_at_episode_starts_only(mode) -> None:
    env = randomize_env(make_env("CartPole-v1"), dict(length=(0.25, 1.0)), mode)
    n, steps = 8, 120
    _, state = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), n))

    def body(state, key):
        res = jax.vmap(env.step)(jax.random.split(key, n), state, jnp.ones((n,), jnp.int32))
        done = res.terminated | res.truncated
        return res.state, (state.params.length, res.state.params.length, done)

    _, (before, after, done) = jax.lax.scan(body, state, jax.random.split(jax.random.PRNGKey(1), steps))
    before, after, done = (np.asarray(x) for x in (before, after, done))
    assert done.sum() > 10  # always pushing right: many episodes end
    np.testing.assert_array_equal(after[~done], before[~done])  # mid-episode: kept
    if mode == "init":
        np.testing.assert_array_equal(after, before)
    else:
        assert np.all(after[done] != before[done])  # a new draw at every episode start


def test_step_with_runs_the_given_parameters() -> None:
    import gymnax

    base = make_env("CartPole-v1")
    genv, nominal = gymnax.make("CartPole-v1")
    params = nominal.replace(length=0.9, polemass_length=0.09)
    obs, state = base.reset_with(jax.random.PRNGKey(0), params)
    step_with = jax.jit(base.step_with)
    ended = 0
    for t in range(40):  # gymnax's own step under the same params (both jitted)
        key = jax.random.PRNGKey(t + 5)
        mine = step_with(key, state, jnp.int32(1), params, params)
        ref = genv.step(key, state, jnp.int32(1), params)
        for a, b in ((mine.obs, ref[0]), (mine.final_obs, ref[5]["final_observation"])):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
        assert bool(mine.terminated) == bool(ref[3])
        ended += int(mine.terminated)
        state = mine.state
    assert ended >= 2
    # A longer pole falls more slowly than the nominal one under the same pushes.
    nominal_steps = _steps_to_fall(base, genv.default_params)
    assert _steps_to_fall(base, genv.default_params.replace(length=2.0, polemass_length=0.2)) > nominal_steps


def _steps_to_fall(env, params) -> int:
    _, state = env.reset_with(jax.random.PRNGKey(0), params)
    step_with = jax.jit(env.step_with)
    for t in range(200):
        res = step_with(jax.random.PRNGKey(t), state, jnp.int32(1), params, params)
        if bool(res.terminated):
            return t
        state = res.state
    return 200


def test_evaluation_on_nominal_or_given_parameters() -> None:
    config = _rand_config(total_timesteps=4 * 16 * 2)
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    key = jax.random.PRNGKey(3)
    plain = PPOConfig(**{**TINY, "total_timesteps": 4 * 16 * 2})
    nominal = evaluate(config, out, key, 6, sim_params="nominal")
    reference = evaluate(plain, out, key, 6)  # the same policy on the plain env
    np.testing.assert_array_equal(np.asarray(nominal.returns), np.asarray(reference.returns))
    nominal_params = make_env("CartPole-v1").nominal_params
    given = evaluate(config, out, key, 6, sim_params=nominal_params)
    np.testing.assert_array_equal(np.asarray(given.returns), np.asarray(nominal.returns))
    # A grid of parameters, vmapped through the eval function's own argument.
    lengths = jnp.array([0.5, 5.0])
    grid = jax.vmap(lambda x: nominal_params.replace(length=x, polemass_length=0.1 * x))(lengths)
    fn = make_evaluate(config, 6)
    res = jax.jit(jax.vmap(fn, in_axes=(None, None, None, 0)))(out.state.params, None, key, grid)
    assert res.returns.shape == (2, 6)
    np.testing.assert_array_equal(np.asarray(res.returns[0]), np.asarray(given.returns))
    assert not np.array_equal(np.asarray(res.returns[1]), np.asarray(res.returns[0]))
    with pytest.raises(ValueError, match="sim_params"):
        make_evaluate(config, 2, sim_params="nominl")


def test_checkpoint_resume_is_identical_with_randomization(tmp_path) -> None:
    from purejaxppo.loop import train_in_chunks

    config = _rand_config("reset", total_timesteps=4 * 16 * 4)
    full = train_in_chunks(config, jax.random.PRNGKey(2), num_seeds=2, chunk_updates=2,
                           checkpoint_dir=tmp_path, checkpoint_every=2)
    resumed = train_in_chunks(config, None, num_seeds=2, chunk_updates=2, resume=tmp_path / "2")
    for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(resumed.state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for name in full.metrics:
        np.testing.assert_array_equal(full.metrics[name], resumed.metrics[name])
    assert np.asarray(full.state.env_state.params.length).shape == (2, config.num_envs)


def test_sharded_randomized_run_equals_one_device() -> None:
    code = textwrap.dedent("""
        import json, jax, numpy as np
        from purejaxppo import PPOConfig, make_train
        from purejaxppo import distributed as D
        config = PPOConfig(num_envs=8, num_steps=16, num_minibatches=2, update_epochs=1,
                           total_timesteps=8 * 16 * 3, randomize="reset",
                           randomize_ranges=(("length", 0.25, 1.0),))
        key = jax.random.PRNGKey(3)
        base = jax.jit(make_train(config))(key)
        out = D.make_sharded_train(config, D.make_mesh(data=4))(key)
        p_base = np.asarray(base.state.env_state.params.length)
        p_out = np.asarray(out.state.env_state.params.length)
        diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                   for a, b in zip(jax.tree.leaves(base.state.params),
                                   jax.tree.leaves(out.state.params)))
        print(json.dumps({"devices": jax.device_count(), "diff": diff,
                          "same_env_params": bool(np.array_equal(p_base, p_out)),
                          "shards": len(out.state.env_state.params.length.addressable_shards),
                          "ret": [np.asarray(base.metrics["episode_return"]).tolist(),
                                  np.asarray(out.metrics["episode_return"]).tolist()]}))
    """)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["devices"] == 4 and res["shards"] == 4
    assert res["same_env_params"]  # the drawn parameters: bitwise the same
    assert res["diff"] < 1e-4
    np.testing.assert_allclose(res["ret"][1], res["ret"][0], rtol=1e-4, equal_nan=True)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(randomize="init"), "needs randomize_ranges"),
        (dict(randomize_ranges=RANGES), "randomize is None"),
        (dict(randomize="always", randomize_ranges=RANGES), "unknown randomize"),
        (dict(randomize="init", randomize_ranges=(("length", 1.0, 0.5),)), "low 1.0 > high"),
        (dict(randomize="init", randomize_ranges=(("length", 0.1, float("nan")),)), "finite"),
        (dict(randomize="init", randomize_ranges=(("lenght", 0.1, 1.0),)), "no parameter 'lenght'"),
        (dict(randomize="init", randomize_ranges=(("total_mass", 1.0, 2.0),)), "derived"),
        (dict(randomize="init", randomize_ranges=(("max_steps_in_episode", 1, 2),)), "not a float"),
        (dict(randomize="init", randomize_ranges=(("length", 0.1, 1.0), ("length", 0.2, 0.3))),
         "given twice"),
    ],
)
def test_bad_randomization_is_one_value_error(kw, match) -> None:
    with pytest.raises(ValueError, match=match):
        make_train(PPOConfig(**kw))


def test_randomization_function_for_gymnax_and_its_checks() -> None:
    def heavy_pole(key, params):
        return params.replace(masspole=jax.random.uniform(key, (), minval=0.1, maxval=0.5))

    env = randomize_env(make_env("CartPole-v1"), heavy_pole, "init")
    assert isinstance(env, RandomizedEnv) and not env.typed_keys  # a user's function
    drawn = jax.vmap(env.sample_params)(jax.random.split(jax.random.PRNGKey(0), 5))
    assert np.all((np.asarray(drawn.masspole) >= 0.1) & (np.asarray(drawn.masspole) <= 0.5))
    out = jax.jit(make_train(PPOConfig(**TINY), env=env))(jax.random.PRNGKey(0))
    assert np.all(np.isfinite(np.asarray(out.metrics["value_loss"])))
    with pytest.raises(ValueError, match="same structure"):
        randomize_env(make_env("CartPole-v1"), lambda k, p: (p, p))
    with pytest.raises(ValueError, match="changed the shape"):
        randomize_env(make_env("CartPole-v1"), lambda k, p: p.replace(length=jnp.ones(3)))
    with pytest.raises(ValueError, match="randomize_env|randomized already"):
        make_train(_rand_config(), env=env)
    with pytest.raises(ValueError, match="does not support domain randomization"):
        randomize_env(DictLockstepEnv(), {"x": (0.0, 1.0)})


# ------------------------------------------------------------------ brax hooks
@struct.dataclass
class _Sys:
    gain: jax.Array
    offset: jax.Array


class _SysBraxEnv(PlaygroundStyleEnv):
    """The Playground-style env with a brax-like ``sys``: the action is scaled by
    ``sys.gain``."""

    def __init__(self):
        self.sys = _Sys(gain=jnp.array([1.0, 2.0]), offset=jnp.zeros(()))

    def step(self, state, action):
        return super().step(state, action * self.sys.gain[0])


def test_brax_randomization_fn_semantics_and_no_tracer_leak() -> None:
    def randomization_fn(sys, rng):  # brax's signature: a batch of keys
        gains = jax.vmap(lambda k: sys.gain * jax.random.uniform(k, (), minval=0.5, maxval=1.5))(rng)
        in_axes = _Sys(gain=0, offset=None)
        return sys.replace(gain=gains), in_axes

    raw = _SysBraxEnv()
    adapter = BraxAdapter("brax/fake", raw, "generalized", episode_length=10)
    env = randomize_env(adapter, randomization_fn, "reset")
    config = PPOConfig(env_name="Pendulum-v1", **TINY)
    out = jax.jit(make_train(config, env=env))(jax.random.PRNGKey(0))
    (gains,) = out.state.env_state.params  # only the randomized leaf is stored per env
    assert gains.shape == (config.num_envs, 2)
    np.testing.assert_allclose(gains[:, 1] / gains[:, 0], 2.0, rtol=1e-6)
    assert len(set(np.asarray(gains[:, 0]).tolist())) == config.num_envs
    assert not isinstance(raw.sys.gain, jax.core.Tracer)  # restored after tracing
    np.testing.assert_array_equal(np.asarray(raw.sys.gain), [1.0, 2.0])
    # Scale ranges on a system field; unknown fields are refused.
    scaled = randomize_env(adapter, {"gain": (0.5, 2.0)})
    system = scaled.sample_params(jax.random.PRNGKey(1))
    np.testing.assert_allclose(system.gain[1] / system.gain[0], 2.0, rtol=1e-6)
    with pytest.raises(ValueError, match="no float field 'mass'"):
        randomize_env(adapter, {"mass": (0.5, 2.0)})
    with pytest.raises(ValueError, match="in_axes"):
        randomize_env(adapter, lambda sys, rng: (sys, _Sys(gain=1, offset=None)))


def test_brax_privileged_key_is_q_and_qd() -> None:
    env = make_env("brax/inverted_pendulum", backend="generalized", episode_length=5, privileged=True)
    assert env.obs_dim == {"state": 4, "privileged_state": 4}
    obs, state = jax.jit(env.reset)(jax.random.PRNGKey(0))
    ps = state.brax_state.pipeline_state
    np.testing.assert_array_equal(np.asarray(obs["privileged_state"]),
                                  np.concatenate([np.asarray(ps.q), np.asarray(ps.qd)]))
    np.testing.assert_array_equal(np.asarray(obs["state"]), np.asarray(state.brax_state.obs))
    res = jax.jit(env.step)(jax.random.PRNGKey(1), state, jnp.zeros(1))
    assert set(res.final_obs) == {"state", "privileged_state"}


# ------------------------------------------------------------- config and command line
def test_config_round_trip_and_cli_flags() -> None:
    from purejaxppo.cli import build_parser, config_from_args

    config = _rand_config("reset", env_name="MaskedCartPole-v1", value_obs_key="privileged_state")
    data = config.to_dict()
    assert data["randomize_ranges"] == {"length": [0.25, 1.0], "masspole": [0.05, 0.2]}
    assert PPOConfig.from_dict(json.loads(json.dumps(data))) == config
    args = build_parser().parse_args([
        "train", "--env", "MaskedCartPole-v1", "--value-obs-key", "privileged_state",
        "--randomize", "reset", "--randomize-ranges", "length=0.25:1.0,masspole=0.05:0.2",
    ])
    cli = config_from_args(args)
    assert cli.value_obs_key == "privileged_state" and cli.randomize == "reset"
    assert cli.randomize_ranges == RANGES
    from purejaxppo.cli import CLIError

    with pytest.raises(CLIError, match="FIELD=LOW:HIGH"):
        build_parser().parse_args(["train", "--randomize-ranges", "length=0.25"])
