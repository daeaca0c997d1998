"""The train function: determinism, vmap, metrics, step accounting, truncation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from envs_for_tests import ConstantTruncatingEnv, Params

from purejaxppo import (METRIC_NAMES, PPOConfig, env_steps, make_env, make_train, make_trainer,
                        wrap_gymnax)
from purejaxppo.rollout import collect_rollout

SMALL = PPOConfig(total_timesteps=512 * 6)


@pytest.fixture(scope="module")
def small_train():
    return jax.jit(make_train(SMALL))


def test_metrics_shapes_and_exact_step_counts(small_train):
    out = small_train(jax.random.PRNGKey(0))
    assert set(out.metrics) == set(METRIC_NAMES)
    for name, value in out.metrics.items():
        assert value.shape == (SMALL.num_updates,), name
    # The counts a run reports: the same numbers as the former int32 env-step
    # counter, now exact int64 derived from the int32 update counter.
    assert out.metrics["update_step"].dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(out.metrics["update_step"]), np.arange(1, 7))
    steps = out.env_steps(SMALL)
    assert steps.dtype == np.int64
    np.testing.assert_array_equal(steps, SMALL.batch_size * np.arange(1, 7))
    assert int(env_steps(SMALL, out.state.update_step)) == SMALL.steps_trained == 3072
    assert int(out.state.update_step) == SMALL.num_updates
    for name in ("policy_loss", "value_loss", "entropy", "approx_kl", "explained_variance"):
        assert np.all(np.isfinite(np.asarray(out.metrics[name]))), name
    lr = np.asarray(out.metrics["learning_rate"])
    np.testing.assert_allclose(lr, 2.5e-4 * (1 - np.arange(6) / 6), rtol=1e-6)


def test_same_key_gives_identical_output(small_train):
    a = small_train(jax.random.PRNGKey(3))
    b = small_train(jax.random.PRNGKey(3))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_vmap_over_seeds_gives_distinct_valid_runs():
    train = jax.jit(jax.vmap(make_train(SMALL)))
    out = train(jax.random.split(jax.random.PRNGKey(0), 3))
    ret = np.asarray(out.metrics["episode_return"])
    assert ret.shape == (3, SMALL.num_updates)
    assert np.all(np.isfinite(ret)) and np.all(ret > 0)
    losses = np.asarray(out.metrics["policy_loss"])
    assert len({tuple(row) for row in losses}) == 3
    p0 = jax.tree.leaves(jax.tree.map(lambda x: x[0], out.state.params))
    p1 = jax.tree.leaves(jax.tree.map(lambda x: x[1], out.state.params))
    assert any(not np.array_equal(a, b) for a, b in zip(p0, p1))
    # One seed of the vmapped run equals the same seed run alone.
    single = jax.jit(make_train(SMALL))(jax.random.split(jax.random.PRNGKey(0), 3)[1])
    np.testing.assert_allclose(
        np.asarray(single.metrics["episode_return"]), ret[1], rtol=1e-4
    )


def test_episode_stats_average_completed_episodes_only():
    # Reward 1 per step, truncation every 5 steps: every completed episode has
    # return 5 and length 5, whatever the update boundaries.
    config = PPOConfig(total_timesteps=4 * 12 * 4, num_envs=4, num_steps=12,
                       num_minibatches=2)
    out = jax.jit(make_train(config, env=ConstantTruncatingEnv()))(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(np.asarray(out.metrics["episode_return"]), 5.0)
    np.testing.assert_array_equal(np.asarray(out.metrics["episode_length"]), 5.0)
    # 48 steps per update, episodes end at steps 5, 10, ... of each env.
    completed = np.asarray(out.metrics["episodes_completed"])
    assert completed.sum() == 4 * (48 // 5)


def test_episode_return_is_nan_until_an_episode_completes():
    env, params = ConstantTruncatingEnv(), Params(max_steps_in_episode=30)
    config = PPOConfig(total_timesteps=2 * 8 * 6, num_envs=2, num_steps=8, num_minibatches=2)
    out = jax.jit(make_train(config, env=env, env_params=params))(jax.random.PRNGKey(0))
    ret = np.asarray(out.metrics["episode_return"])
    # 8 steps per update: the first episode ends during update 4 (step 30).
    assert np.all(np.isnan(ret[:3])) and np.all(ret[3:] == 30.0)


def test_truncation_is_bootstrapped_end_to_end():
    gamma = 0.9
    config = PPOConfig(
        total_timesteps=60_000, num_envs=8, num_steps=25, num_minibatches=2,
        learning_rate=3e-3, anneal_lr=False, gamma=gamma, max_grad_norm=10.0,
    )
    trainer = make_trainer(config, env=ConstantTruncatingEnv())
    out = jax.jit(make_train(config, env=ConstantTruncatingEnv()))(jax.random.PRNGKey(0))
    value = float(trainer.networks.value(out.state.params, jnp.ones((3,))))
    true_value = 1.0 / (1.0 - gamma)  # 10
    # Treating truncation (every 5 steps) as termination would give values of
    # 1..4.1 (mean 2.6) depending on the time step.
    assert value == pytest.approx(true_value, rel=0.05)


def test_continuous_actions_clipped_for_env_but_logprob_of_sample():
    env = wrap_gymnax(ConstantTruncatingEnv(continuous=True))
    assert not env.action_spec.discrete and env.action_spec.shape == (2,)
    _, state = env.reset(jax.random.PRNGKey(0))
    res = env.step(jax.random.PRNGKey(1), state, jnp.array([5.0, -0.3]))
    np.testing.assert_allclose(np.asarray(res.state.last_action), [1.0, -0.3])

    config = PPOConfig(total_timesteps=512, num_envs=4, num_steps=128)
    trainer = make_trainer(config, env=env)
    params = trainer.networks.init(jax.random.PRNGKey(0))
    params["log_std"] = jnp.full((2,), jnp.log(3.0))
    obs, env_state = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(2), 4))
    out = collect_rollout(env, trainer.networks, params, env_state, obs, jnp.zeros(4),
                          jnp.zeros(4, jnp.int32), jax.random.PRNGKey(3), 16,
                          lambda o: o, False)
    env_state, traj = out[0], out[4]
    actions = np.asarray(traj.action)
    assert np.abs(actions).max() > 1.0  # stored actions are the raw samples
    np.testing.assert_allclose(
        np.asarray(env_state.last_action), np.clip(actions[-1], -1, 1), rtol=1e-6
    )
    dist = trainer.networks.policy(params, traj.obs)
    np.testing.assert_allclose(
        np.asarray(dist.log_prob(traj.action)), np.asarray(traj.log_prob), rtol=1e-5
    )


def test_kl_penalty_objective_adapts_beta():
    config = PPOConfig(total_timesteps=512 * 8, objective="kl_penalty", kl_target=0.001,
                       learning_rate=1e-3)
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    beta = np.asarray(out.metrics["kl_beta"])
    assert beta[0] == 1.0
    ratios = beta[1:] / beta[:-1]
    assert set(np.round(ratios, 6)) <= {0.5, 1.0, 2.0}
    assert not np.all(ratios == 1.0)
    assert np.all(np.isfinite(np.asarray(out.metrics["policy_loss"])))


def test_kl_beta_never_dies_in_a_long_low_kl_run():
    """The reported scenario's shape, with the real trainer on a small budget: a KL far
    below d_targ / 1.5 at every update halved beta to exactly 0.0 after ~150 updates
    (and 0 * 2 = 0 for ever after). Now beta stops at its floor and stays positive."""
    from purejaxppo.losses import KL_BETA_MIN

    config = PPOConfig(total_timesteps=32 * 170, num_envs=4, num_steps=8, update_epochs=1,
                       num_minibatches=1, objective="kl_penalty", kl_target=1.0)
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    beta = np.asarray(out.metrics["kl_beta"])  # beta each update started with
    assert beta.shape == (170,) and beta[0] == 1.0
    assert np.all(beta > 0.0) and float(out.state.kl_beta) == np.float32(KL_BETA_MIN)
    np.testing.assert_array_equal(beta[:20], np.float32(0.5) ** np.arange(20))
    assert np.all(beta[20:] == np.float32(KL_BETA_MIN))
    assert np.all(np.isfinite(np.asarray(out.metrics["policy_loss"])))


def test_unclipped_value_loss_and_no_adv_norm_paths_run():
    config = PPOConfig(total_timesteps=1024, clip_vloss=False, norm_adv=False, anneal_lr=False)
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    assert np.all(np.isfinite(np.asarray(out.metrics["value_loss"])))
    assert np.all(np.asarray(out.metrics["learning_rate"]) == np.float32(2.5e-4))


def test_minatar_observations_are_flattened():
    env = make_env("Breakout-MinAtar")
    assert env.obs_dim == 10 * 10 * 4 and env.action_spec.discrete
    obs, _ = env.reset(jax.random.PRNGKey(0))
    assert obs.shape == (400,) and obs.dtype == jnp.float32


def test_bad_inputs_raise_value_error_before_compiling():
    with pytest.raises(ValueError, match="config must be a PPOConfig"):
        make_train({"env_name": "CartPole-v1"})
    with pytest.raises(ValueError, match="env_params was given without env"):
        make_train(PPOConfig(), env_params=Params())
    with pytest.raises(ValueError, match="must be a gymnax Environment"):
        make_train(PPOConfig(), env=object())
