"""Memory through everything else: vmap/sweeps, chunks + checkpoints, evaluate, CLI, sharding."""

import json
import subprocess
import sys

import jax
import numpy as np
import pytest

from purejaxppo import PPOConfig, evaluate, make_train, make_trainer, sweep
from purejaxppo.checkpoint import load_checkpoint
from purejaxppo.loop import train_in_chunks

TINY = PPOConfig(env_name="RepeatPrevious-v0", env_kwargs=(("episode_length", 8),),
                 memory="gru", memory_size=16, num_envs=4, num_steps=16,
                 num_minibatches=2, total_timesteps=4 * 16 * 3)


def _assert_trees_equal(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_sweep_over_seeds_and_hyperparameters_matches_single_runs():
    res = sweep(TINY, seeds=2, grid={"learning_rate": [1e-3, 3e-3]})
    assert res.metrics["policy_loss"].shape == (2, 2, TINY.num_updates)
    single = jax.jit(make_train(TINY.replace(learning_rate=3e-3)))(
        jax.random.split(jax.random.PRNGKey(0), 2)[1]
    )
    np.testing.assert_allclose(res.metrics["policy_loss"][1, 1],
                               np.asarray(single.metrics["policy_loss"]), rtol=1e-4, atol=1e-6)
    # the carry is part of the returned state, one per env
    assert single.state.carry.shape == (TINY.num_envs, TINY.memory_size)
    assert single.state.start.shape == (TINY.num_envs,)


def test_chunked_training_checkpoints_and_resumes_with_the_carry(tmp_path):
    config = TINY.replace(memory="lstm", memory_chunk=8)
    key = jax.random.PRNGKey(2)
    full = train_in_chunks(config, key, num_seeds=2, chunk_updates=1,
                           checkpoint_dir=tmp_path, checkpoint_every=1)
    ckpt = load_checkpoint(tmp_path / "1", config)
    c, h = ckpt.state.carry
    assert c.shape == h.shape == (2, config.num_envs, config.memory_size)
    assert np.any(np.asarray(h) != 0)
    resumed = train_in_chunks(config, None, num_seeds=2, chunk_updates=1, resume=ckpt)
    _assert_trees_equal(resumed.state, full.state)
    _assert_trees_equal(resumed.metrics, full.metrics)
    fused = jax.jit(jax.vmap(make_train(config)))(jax.random.split(key, 2))
    np.testing.assert_allclose(full.metrics["value_loss"], np.asarray(fused.metrics["value_loss"]),
                               rtol=1e-4, atol=1e-6)


def test_evaluate_runs_the_carry_through_the_episode():
    config = TINY.replace(memory="mingru")
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    res = evaluate(config, out, jax.random.PRNGKey(1), 6)
    assert res.returns.shape == (6,) and bool(np.all(np.asarray(res.finished)))
    np.testing.assert_array_equal(np.asarray(res.lengths), 8)
    # Reference: the same deterministic policy, stepped by hand with its carry.
    trainer = make_trainer(config)
    nets, env = trainer.networks, trainer.env
    rng, k_reset = jax.random.split(jax.random.PRNGKey(1))
    obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, 6))
    carry, start, total = nets.initial_carry(6), np.ones(6, bool), np.zeros(6)
    policy_step, env_step = jax.jit(nets.step), jax.jit(jax.vmap(env.step))
    for _ in range(8):
        rng, _, k_step = jax.random.split(rng, 3)
        dist, _, carry = policy_step(out.state.params, carry, obs, start)
        step = env_step(jax.random.split(k_step, 6), state, dist.mode())
        obs, state, start = step.obs, step.state, np.asarray(step.terminated)
        total += np.asarray(step.reward)
    np.testing.assert_allclose(np.asarray(res.returns), total, atol=1e-5)


def test_cli_trains_a_memory_policy_and_rejects_a_bad_core(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "purejaxppo", "train", *args],
                              capture_output=True, text=True, timeout=600)

    res = run("--env", "MaskedCartPole-v1", "--memory", "gru", "--memory-size", "8",
              "--num-envs", "4", "--num-steps", "16", "--total-timesteps", "128",
              "--num-minibatches", "2", "--seeds", "2", "--out", str(tmp_path / "run"))
    assert res.returncode == 0, res.stderr
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["memory"] == "gru" and saved["memory_size"] == 8
    bad = run("--memory", "rnn")
    assert bad.returncode != 0 and "unknown memory 'rnn'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_data_parallel_memory_training_equals_one_device():
    code = """
import json, jax, numpy as np
from purejaxppo import PPOConfig, make_train
from purejaxppo import distributed as D
config = PPOConfig(env_name="MaskedCartPole-v1", memory="gru", memory_size=8, num_envs=8,
                   num_steps=16, num_minibatches=2, total_timesteps=8 * 16 * 2)
key = jax.random.PRNGKey(3)
base = jax.jit(make_train(config))(key)
out = D.make_sharded_train(config, D.make_mesh(data=4))(key)
diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
           for a, b in zip(jax.tree.leaves(base.state.params), jax.tree.leaves(out.state.params)))
print(json.dumps({"diff": diff, "devices": jax.device_count(),
                  "carry_shards": len(out.state.carry.addressable_shards)}))
"""
    import os

    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["devices"] == 4 and result["carry_shards"] == 4
    assert result["diff"] < 1e-4, result
