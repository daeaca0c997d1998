"""Continuous policy heads: tanh-squashed Gaussian maths, state-dependent std, config.

The squashed Gaussian is checked against hand-computed log-probabilities (float64
NumPy), its entropy estimate against a fine 1-D numerical integration of the exact
change-of-variables density, and its samples against the bounds.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_train
from purejaxppo.distributions import (
    DiagGaussian,
    TanhGaussian,
    inverse_softplus,
    log_prob_of_stored,
    tanh_log_det_jacobian,
)
from purejaxppo.envs.base import ActionSpec
from purejaxppo.networks import make_networks



def _normal_logpdf(u, m, s):
    return -0.5 * ((u - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2.0 * np.pi)


def _squashed_logpdf(a, m, s, low, high):
    """Exact density of a = c + r tanh(u), u ~ N(m, s), in action space (float64)."""
    c, r = 0.5 * (high + low), 0.5 * (high - low)
    y = (a - c) / r
    u = np.arctanh(y)
    return _normal_logpdf(u, m, s) - np.log(r) - np.log1p(-y * y)


def test_log_det_jacobian_stable_form():
    u = np.linspace(-6.0, 6.0, 101)
    np.testing.assert_allclose(
        np.asarray(tanh_log_det_jacobian(jnp.asarray(u))), np.log(1 - np.tanh(u) ** 2),
        rtol=2e-5, atol=2e-5,
    )
    # Far out, 1 - tanh^2 underflows in float32; the stable form stays ~ 2 log 2 - 2|u|.
    big = np.asarray(tanh_log_det_jacobian(jnp.array([30.0, -30.0])))
    np.testing.assert_allclose(big, 2 * math.log(2) - 60.0, rtol=1e-6)


def test_tanh_gaussian_log_prob_matches_hand_computation():
    mean = np.array([[0.3, -1.2], [2.0, 0.0]])
    std = np.array([[0.5, 1.5], [0.2, 3.0]])
    low, high = (-2.0, 0.0), (2.0, 1.0)
    d = TanhGaussian(jnp.asarray(mean, jnp.float32), jnp.asarray(np.log(std), jnp.float32),
                     low, high)
    u = np.array([[0.1, -0.7], [2.5, 1.9]])
    c = (np.array(high) + np.array(low)) / 2
    r = (np.array(high) - np.array(low)) / 2
    a = c + r * np.tanh(u)
    expected = np.sum(
        _normal_logpdf(u, mean, std) - np.log(r) - np.log(1.0 - np.tanh(u) ** 2), axis=-1
    )
    got = np.asarray(d.log_prob(jnp.asarray(a, jnp.float32)))
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4)
    # The same via the action-space density.
    np.testing.assert_allclose(
        got, np.sum(_squashed_logpdf(a, mean, std, np.array(low), np.array(high)), -1),
        rtol=2e-4, atol=2e-4,
    )


@pytest.mark.parametrize(
    "m,s,low,high,tol",
    [(0.0, 0.5, -1.0, 1.0, 2e-3), (1.5, 1.0, -2.0, 2.0, 2e-3), (-0.3, 3.0, 0.0, 1.0, 2e-3),
     (2.0, 0.05, -1.0, 1.0, 2e-3), (0.0, 0.001, -1.0, 1.0, 2e-3),
     (0.0, 8.0, -1.0, 3.0, 0.05)],  # documented: coarser for very wide Gaussians
)
def test_tanh_gaussian_entropy_against_numerical_integration(m, s, low, high, tol):
    # H = -int p(a) log p(a) da, integrated in u (a = c + r tanh(u), p(a) da = q(u) du)
    # on a fine trapezoid grid, with log p(a) from the exact action-space density.
    u = np.linspace(m - 12 * s, m + 12 * s, 200_001)
    c, r = 0.5 * (high + low), 0.5 * (high - low)
    q = np.exp(_normal_logpdf(u, m, s))
    log_pa = _normal_logpdf(u, m, s) - np.log(r) - (
        2 * (np.log(2) - u - np.logaddexp(0.0, -2 * u))
    )
    integrand = -q * log_pa
    h_numeric = float(np.sum((integrand[1:] + integrand[:-1]) * np.diff(u)) / 2)
    d = TanhGaussian(jnp.array([m], jnp.float32), jnp.array([math.log(s)], jnp.float32),
                     (low,), (high,))
    assert float(d.entropy()) == pytest.approx(h_numeric, abs=tol)


def test_tanh_gaussian_entropy_sums_over_dims_and_matches_monte_carlo():
    mean = jnp.array([0.5, -1.0, 0.0])
    log_std = jnp.log(jnp.array([0.3, 1.0, 2.0]))
    low, high = (-1.0, -2.0, 0.0), (1.0, 2.0, 5.0)
    d = TanhGaussian(mean, log_std, low, high)
    parts = [TanhGaussian(mean[i:i + 1], log_std[i:i + 1], low[i:i + 1], high[i:i + 1])
             for i in range(3)]
    assert float(d.entropy()) == pytest.approx(sum(float(p.entropy()) for p in parts),
                                               abs=1e-5)
    samples = jax.vmap(d.sample)(jax.random.split(jax.random.PRNGKey(0), 40_000))
    mc = -float(jnp.mean(d.log_prob(samples)))
    assert float(d.entropy()) == pytest.approx(mc, abs=0.03)


def test_sampled_actions_lie_strictly_inside_the_bounds():
    low, high = (-2.0, 0.0, -1.0), (2.0, 1e-3, 1.0)
    mean = jnp.array([[50.0, -50.0, 9.5], [-50.0, 50.0, -9.5], [0.0, 0.0, 0.0]])
    d = TanhGaussian(mean, jnp.full((3, 3), 2.0), low, high)
    a = np.asarray(jax.vmap(d.sample)(jax.random.split(jax.random.PRNGKey(1), 2000)))
    assert np.all(a > np.array(low)) and np.all(a < np.array(high))
    m = np.asarray(d.mode())
    assert np.all(m > np.array(low)) and np.all(m < np.array(high))
    # The log-probability of every sampled action (even at the edges) is finite.
    assert np.all(np.isfinite(np.asarray(jax.vmap(d.log_prob)(a))))


def test_mode_is_squashed_mean_and_kl_is_pre_squash_gaussian_kl():
    mean = jnp.array([[0.4, -0.8]])
    d = TanhGaussian(mean, jnp.log(jnp.array([[0.5, 2.0]])), (-2.0, -1.0), (2.0, 1.0))
    np.testing.assert_allclose(np.asarray(d.mode()),
                               [[2 * math.tanh(0.4), math.tanh(-0.8)]], rtol=1e-6)
    e = TanhGaussian(jnp.zeros((1, 2)), jnp.zeros((1, 2)), (-2.0, -1.0), (2.0, 1.0))
    gauss_kl = DiagGaussian(d.mean, d.log_std).kl(DiagGaussian(e.mean, e.log_std))
    np.testing.assert_allclose(np.asarray(d.kl(e)), np.asarray(gauss_kl), rtol=1e-6)
    assert float(d.kl(d)[0]) == pytest.approx(0.0, abs=1e-6)


def test_tanh_gaussian_is_a_pytree_with_static_bounds_and_vmaps():
    d = TanhGaussian(jnp.zeros((4, 2)), jnp.zeros((4, 2)), (-1.0, -1.0), (1.0, 1.0))
    leaves = jax.tree.leaves(d)
    assert len(leaves) == 2  # the bounds are static, not leaves
    flat = jax.tree.map(lambda x: x.reshape(2, 2, 2), d)
    assert flat.low == (-1.0, -1.0)
    ent = jax.vmap(lambda m, s: TanhGaussian(m, s, (-1.0, -1.0), (1.0, 1.0)).entropy())(
        d.mean, d.log_std
    )
    assert ent.shape == (4,)
    g = jax.grad(lambda s: jnp.sum(TanhGaussian(d.mean, s, d.low, d.high).entropy()))(
        d.log_std
    )
    assert np.all(np.isfinite(np.asarray(g)))


SPEC = ActionSpec(discrete=False, shape=(2,), low=(-2.0, 0.0), high=(2.0, 1.0))


@pytest.mark.parametrize("head", ["gaussian", "gaussian_state_std", "tanh_gaussian"])
def test_every_head_starts_at_log_std_init(head):
    nets = make_networks(3, SPEC, (16,), policy_head=head, log_std_init=-0.7, min_std=1e-3)
    params = nets.init(jax.random.PRNGKey(0))
    obs = jax.random.normal(jax.random.PRNGKey(1), (5, 3))
    dist = nets.policy(params, obs)
    assert dist.log_std.shape == (5, 2)
    np.testing.assert_allclose(np.asarray(dist.log_std), -0.7, atol=0.02)
    # A traced log_std_init (what HParams passes) overrides the default.
    params2 = jax.jit(nets.init)(jax.random.PRNGKey(0), jnp.float32(-2.0))
    np.testing.assert_allclose(np.asarray(nets.policy(params2, obs).log_std), -2.0, atol=0.05)
    expected_type = TanhGaussian if head == "tanh_gaussian" else DiagGaussian
    assert isinstance(dist, expected_type)
    if head == "gaussian":
        assert "log_std" in params  # state-independent parameter
    else:
        assert "log_std" not in params
        assert inverse_softplus(0.5) == pytest.approx(math.log(math.expm1(0.5)))


def test_state_std_head_depends_on_the_state():
    nets = make_networks(3, SPEC, (16,), policy_head="gaussian_state_std")
    params = nets.init(jax.random.PRNGKey(0))
    # Push the std layer's weights away from ~0 and check the std varies with obs.
    params["actor"]["Dense_1"]["kernel"] = params["actor"]["Dense_1"]["kernel"] * 300.0
    ls = np.asarray(nets.policy(params, jax.random.normal(jax.random.PRNGKey(2), (8, 3))).log_std)
    assert np.std(ls[:, 0]) > 1e-3
    assert np.all(np.exp(ls) >= 1e-3 - 1e-9)  # min_std floor


def test_bad_head_settings_raise_value_error():
    with pytest.raises(ValueError, match="policy_head"):
        PPOConfig(env_name="Pendulum-v1", policy_head="beta")
    with pytest.raises(ValueError, match="min_std"):
        PPOConfig(env_name="Pendulum-v1", min_std=0.0)
    with pytest.raises(ValueError, match="log_std_init"):
        PPOConfig(env_name="Pendulum-v1", log_std_init=float("nan"))
    with pytest.raises(ValueError, match="exp\\(log_std_init\\) > min_std"):
        PPOConfig(env_name="Pendulum-v1", policy_head="tanh_gaussian", log_std_init=-8.0,
                  min_std=0.01)
    with pytest.raises(ValueError, match="critic_hidden_sizes"):
        PPOConfig(critic_hidden_sizes=(64, 0))
    with pytest.raises(ValueError, match="discrete"):
        make_train(PPOConfig(env_name="CartPole-v1", policy_head="tanh_gaussian"))


def test_heads_train_and_log_std_init_is_sweepable():
    """One compile per head; log_std_init is traced (two values in one vmapped call),
    and the KL-penalty objective works for every head (``kl`` on every distribution)."""
    for head in ("gaussian", "tanh_gaussian"):
        config = PPOConfig(env_name="Pendulum-v1", num_envs=4, num_steps=16,
                           total_timesteps=4 * 16 * 2, policy_head=head,
                           objective="kl_penalty", critic_hidden_sizes=(32, 32, 32))
        hp = config.hparams()
        hps = jax.tree.map(lambda x: jnp.stack([x, x]), hp)
        hps = hps.replace(log_std_init=jnp.array([0.0, -1.0]))
        out = jax.jit(jax.vmap(make_train(config)))(
            jax.random.split(jax.random.PRNGKey(0), 2), hps
        )
        ent = np.asarray(out.metrics["entropy"])[:, 0]
        # Entropy falls with the initial std (d H / d log_std = action_dim for a
        # Gaussian; less for the squashed one).
        assert ent[0] - ent[1] > (0.5 if head == "gaussian" else 0.2), (head, ent)
        for name in ("policy_loss", "value_loss", "entropy", "approx_kl"):
            assert np.all(np.isfinite(np.asarray(out.metrics[name]))), (head, name)
        assert out.state.params["critic"]["Dense_3"]["kernel"].shape == (2, 32, 1)


def test_rollout_stores_the_log_prob_of_the_action_taken():
    from purejaxppo.rollout import collect_rollout
    from purejaxppo.train import make_trainer

    config = PPOConfig(env_name="Pendulum-v1", num_envs=3, num_steps=8,
                       total_timesteps=24, policy_head="tanh_gaussian", log_std_init=1.5)
    trainer = make_trainer(config)
    state = trainer.init(jax.random.PRNGKey(0), config.hparams())
    out = collect_rollout(trainer.env, trainer.networks, state.params, state.env_state,
                          state.obs, state.ep_return, state.ep_length,
                          jax.random.PRNGKey(1), 8, lambda o: o, False)
    traj = out[4]
    dist = trainer.networks.policy(state.params, traj.obs)
    # The rollout stores the pre-squash sample u; the env received c + r tanh(u).
    action = np.asarray(dist.squash(traj.action))
    assert np.all(action > -2.0) and np.all(action < 2.0)  # Pendulum bounds, no clipping
    again = log_prob_of_stored(dist, traj.action)
    np.testing.assert_allclose(np.asarray(traj.log_prob), np.asarray(again), rtol=1e-5,
                               atol=1e-5)
    # Away from saturation the stored u is the atanh of the action, and log_prob(a)
    # gives the same value.
    inside = np.abs(np.asarray(traj.action)) < 3.0
    assert inside.all(axis=-1).any()
    np.testing.assert_allclose(np.asarray(dist.log_prob(jnp.asarray(action)))[inside[..., 0]],
                               np.asarray(traj.log_prob)[inside[..., 0]], rtol=1e-4, atol=1e-4)


def _squashed_logpdf_at_u(u, m, s, low, high):
    """Exact float64 log-density of a = c + r tanh(u) at the pre-squash u, with
    log(1 - tanh^2 u) = -2 log cosh u (no cancellation at large |u| in float64)."""
    r = 0.5 * (np.asarray(high) - np.asarray(low))
    return np.sum(_normal_logpdf(u, m, s) - np.log(r) + 2.0 * np.log(np.cosh(u)), axis=-1)


def test_saturated_samples_get_the_exact_log_prob_of_the_sampled_u():
    """|u| > 8, where float32 tanh rounds to +-1 and the action is edge-clipped: the
    stored sample is u itself, its log-prob matches a float64 reference at u (the
    former atanh inversion gave the density at u = atanh(1 - 1e-6) ~ 7.25), and its
    gradient is the Gaussian score at u."""
    from purejaxppo.distributions import sample_for_rollout

    mean = np.array([[9.0, -10.0], [8.5, 0.2], [-12.0, 11.0]], np.float32)
    log_std = np.log(np.array([[0.3, 0.5], [0.4, 1.0], [1.0, 0.25]])).astype(np.float32)
    eps = np.array([[0.5, -1.0], [0.3, 0.7], [-0.2, 1.5]], np.float32)
    low, high = (-2.0, 0.0), (2.0, 1.0)
    d = TanhGaussian(jnp.asarray(mean), jnp.asarray(log_std), low, high)
    stored, env_action, logp = jax.jit(sample_for_rollout)(d, jnp.asarray(eps))
    u = np.asarray(stored).astype(np.float64)
    np.testing.assert_array_equal(np.asarray(stored), np.asarray(d.sample_pre_squash(eps)))
    assert (np.abs(u) > 8.0).sum() == 5
    # The env gets the squashed, rescaled action, strictly inside the bounds.
    np.testing.assert_array_equal(np.asarray(env_action), np.asarray(d.squash(stored)))
    assert np.all(np.asarray(env_action) > low) and np.all(np.asarray(env_action) < high)
    m64, s64 = mean.astype(np.float64), np.exp(log_std.astype(np.float64))
    expected = _squashed_logpdf_at_u(u, m64, s64, low, high)
    np.testing.assert_allclose(np.asarray(logp), expected, rtol=1e-6, atol=1e-5)
    # The update recomputes exactly the stored value.
    np.testing.assert_array_equal(np.asarray(log_prob_of_stored(d, stored)), np.asarray(logp))
    # Inverting the edge-clipped action instead is far off at these u.
    inverted = np.asarray(d.log_prob(env_action))
    assert np.all(np.abs(inverted - expected) > 1.0)
    # d/dmean log pi = (u - mean) / sigma^2 at the sampled u.
    grad = jax.grad(lambda m: jnp.sum(TanhGaussian(m, d.log_std, low, high)
                                      .log_prob_pre_squash(stored)))(d.mean)
    np.testing.assert_allclose(np.asarray(grad), (u - m64) / s64**2, rtol=1e-4, atol=1e-4)


def test_rollout_sends_squashed_actions_and_stores_exact_pre_squash_log_probs():
    """A wide tanh-Gaussian policy (std ~12) on an env whose reward is the first action
    component as received: the env got c + r tanh(u) of every stored u, and every
    stored log-prob, saturated or not, matches the float64 density at u."""
    from purejaxppo.rollout import collect_rollout
    from purejaxppo.train import make_trainer

    env = _ActionIsReward()
    config = PPOConfig(env_name="Pendulum-v1", num_envs=4, num_steps=16, total_timesteps=64,
                       policy_head="tanh_gaussian", log_std_init=2.5)
    trainer = make_trainer(config, env=env)
    state = trainer.init(jax.random.PRNGKey(0), config.hparams())
    out = collect_rollout(env, trainer.networks, state.params, state.env_state, state.obs,
                          state.ep_return, state.ep_length, jax.random.PRNGKey(1), 16,
                          lambda o: o, False)
    traj = out[4]
    u = np.asarray(traj.action).astype(np.float64)
    assert (np.abs(u) > 8.0).sum() >= 20
    dist = trainer.networks.policy(state.params, traj.obs)
    np.testing.assert_array_equal(np.asarray(traj.reward),
                                  np.asarray(dist.squash(traj.action))[..., 0])
    m64 = np.asarray(dist.mean).astype(np.float64)
    s64 = np.exp(np.asarray(dist.log_std).astype(np.float64))
    expected = _squashed_logpdf_at_u(u, m64, s64, env.action_spec.low, env.action_spec.high)
    np.testing.assert_allclose(np.asarray(traj.log_prob), expected, rtol=1e-5, atol=1e-4)


class _ActionIsReward:
    """One-step episodes whose reward is the first action component, as received.

    Evaluating on it returns exactly the action the evaluator sends to the env.
    """

    name = "action-is-reward"
    obs_dim = 3
    action_spec = ActionSpec(discrete=False, shape=(2,), low=(0.0, -1.0), high=(4.0, 1.0))

    def reset(self, key):
        return jnp.array([1.0, 2.0, -1.0]), jnp.zeros(())

    def step(self, key, state, action):
        from purejaxppo.envs.base import StepResult

        obs, _ = self.reset(key)
        return StepResult(obs=obs, state=state, reward=action[0],
                          terminated=jnp.bool_(False), truncated=jnp.bool_(True),
                          final_obs=obs)


@pytest.mark.parametrize("head", ["gaussian", "tanh_gaussian"])
def test_evaluation_acts_with_the_squashed_mean_and_frozen_statistics(head):
    from purejaxppo.evaluate import describe_policy, evaluate
    from purejaxppo.normalize import rms_normalize
    from purejaxppo.train import make_trainer

    env = _ActionIsReward()
    config = PPOConfig(env_name="Pendulum-v1", num_envs=2, num_steps=4,
                       total_timesteps=8, policy_head=head, normalize_obs=True)
    trainer = make_trainer(config, env=env)
    state = trainer.init(jax.random.PRNGKey(0), config.hparams())
    # Large head weights so that the mean is far from 0; non-trivial frozen stats.
    actor = state.params["actor"]
    actor["Dense_2"]["kernel"] = actor["Dense_2"]["kernel"] * 200.0
    rms = state.obs_rms.replace(mean=jnp.array([0.5, -1.0, 2.0]), var=jnp.array([4.0, 1.0, 0.25]))
    state = state.replace(obs_rms=rms)
    res = evaluate(config, state, jax.random.PRNGKey(3), 2, env=env)
    obs = rms_normalize(rms, env.reset(None)[0], config.obs_clip, config.norm_eps)
    mean = float(trainer.networks.policy(state.params, obs).mean[0])
    if head == "tanh_gaussian":
        expected = 0.0 + 4.0 * (math.tanh(mean) + 1.0) / 2.0
        assert "tanh(mean)" in describe_policy(config, True, discrete=False)
    else:
        expected = mean  # the raw mean; a clipping adapter would clip it
        assert "mean action" in describe_policy(config, True, discrete=False)
    assert "frozen" in describe_policy(config, True, discrete=False)
    np.testing.assert_allclose(np.asarray(res.returns), [expected, expected], rtol=1e-5,
                               atol=1e-5)


def test_head_fields_round_trip_and_cli_flags():
    from purejaxppo.cli import build_parser, config_from_args

    config = PPOConfig.preset("brax/ant")
    assert config.policy_head == "tanh_gaussian"
    assert config.critic_hidden_sizes == (256,) * 5
    assert PPOConfig.from_dict(config.to_dict()) == config
    args = build_parser().parse_args([
        "train", "--env", "Pendulum-v1", "--policy-head", "gaussian_state_std",
        "--log-std-init", "-0.5", "--min-std", "0.01", "--critic-hidden-sizes", "32,32",
    ])
    c = config_from_args(args)
    assert (c.policy_head, c.log_std_init, c.min_std, c.critic_hidden_sizes) == (
        "gaussian_state_std", -0.5, 0.01, (32, 32))
