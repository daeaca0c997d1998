"""Loss terms: values and gradients by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import losses

EPS = 0.2


def surrogate(log_ratio, adv):
    return losses.clipped_surrogate_loss(jnp.asarray(log_ratio), jnp.asarray(adv), EPS)


@pytest.mark.parametrize(
    "ratio,adv,expected_loss,expected_grad_wrt_ratio",
    [
        # A > 0: inside the clip the gradient is -A; above 1+eps the objective is flat.
        (1.1, 2.0, -2.2, -2.0),
        (1.5, 2.0, -(1.2 * 2.0), 0.0),
        # A > 0 below 1-eps: min picks the unclipped term, gradient still flows.
        (0.5, 2.0, -1.0, -2.0),
        # A < 0: inside the clip gradient is -A; below 1-eps the objective is flat.
        (0.9, -1.0, 0.9, 1.0),
        (0.5, -1.0, 0.8, 0.0),
        # A < 0 above 1+eps: the unclipped (more pessimistic) term is kept.
        (1.5, -1.0, 1.5, 1.0),
        # A = 0: zero loss, zero gradient.
        (1.5, 0.0, 0.0, 0.0),
        (0.7, 0.0, 0.0, 0.0),
    ],
)
def test_clipped_surrogate_cases(ratio, adv, expected_loss, expected_grad_wrt_ratio):
    log_ratio = np.log(np.array([ratio], np.float32))
    loss = surrogate(log_ratio, [adv])
    assert float(loss) == pytest.approx(expected_loss, rel=1e-5, abs=1e-6)
    # d loss / d log_ratio = d loss / d ratio * ratio
    grad = jax.grad(lambda lr: surrogate(lr, jnp.array([adv])))(jnp.asarray(log_ratio))
    assert float(grad[0]) == pytest.approx(expected_grad_wrt_ratio * ratio, rel=1e-5, abs=1e-6)


def test_surrogate_is_batch_mean():
    log_ratio = jnp.log(jnp.array([1.1, 1.5, 0.5]))
    adv = jnp.array([2.0, 2.0, -1.0])
    expected = -np.mean([1.1 * 2.0, 1.2 * 2.0, 0.8 * -1.0])
    assert float(surrogate(log_ratio, adv)) == pytest.approx(expected, rel=1e-5)


def test_kl_beta_adaptation_rule():
    target = 0.01
    beta = jnp.float32(1.0)
    assert float(losses.adapt_kl_beta(beta, jnp.float32(0.001), target)) == 0.5
    assert float(losses.adapt_kl_beta(beta, jnp.float32(target / 1.5 - 1e-6), target)) == 0.5
    assert float(losses.adapt_kl_beta(beta, jnp.float32(0.01), target)) == 1.0
    assert float(losses.adapt_kl_beta(beta, jnp.float32(target / 1.5 + 1e-6), target)) == 1.0
    assert float(losses.adapt_kl_beta(beta, jnp.float32(target * 1.5 - 1e-6), target)) == 1.0
    assert float(losses.adapt_kl_beta(beta, jnp.float32(target * 1.5 + 1e-6), target)) == 2.0
    assert float(losses.adapt_kl_beta(beta, jnp.float32(1.0), target)) == 2.0


def test_kl_beta_is_kept_in_its_range_and_recovers_after_a_long_low_kl_stretch():
    """300 updates with a tiny KL (the default CartPole KL is ~1e-4 against d_targ
    0.01) halve beta down to its floor, never to 0; a KL above 1.5 d_targ then
    doubles it again, and a long high-KL stretch stops at the ceiling."""
    target = 0.01

    def run(beta, kls):
        return jax.lax.scan(
            lambda b, kl: (losses.adapt_kl_beta(b, kl, target),) * 2, beta, kls
        )[1]

    low = np.asarray(jax.jit(run)(jnp.float32(1.0), jnp.full((300,), 1e-4, jnp.float32)))
    assert np.all(low > 0.0)
    floor = np.float32(losses.KL_BETA_MIN)
    assert low.min() == floor == np.float32(1e-6)
    # 2^-20 < 1e-6 < 2^-19: the floor is reached at the 20th halving and kept.
    np.testing.assert_array_equal(low[:19], np.float32(0.5) ** np.arange(1, 20))
    assert np.all(low[19:] == floor)
    up = np.asarray(jax.jit(run)(jnp.float32(low[-1]), jnp.full((3,), 0.1, jnp.float32)))
    np.testing.assert_array_equal(up, floor * np.float32([2.0, 4.0, 8.0]))
    high = np.asarray(jax.jit(run)(jnp.float32(1.0), jnp.full((300,), 10.0, jnp.float32)))
    assert np.all(np.isfinite(high)) and high.max() == np.float32(losses.KL_BETA_MAX)
    down = float(losses.adapt_kl_beta(jnp.float32(high[-1]), jnp.float32(0.0), target))
    assert down == np.float32(1e6) / 2


def test_kl_penalty_loss_value_and_gradient():
    log_ratio = jnp.log(jnp.array([1.2, 0.8]))
    adv = jnp.array([1.0, -2.0])
    kl = jnp.array([0.1, 0.3])
    beta = 2.0
    expected = -np.mean([1.2 * 1.0 - 2.0 * 0.1, 0.8 * -2.0 - 2.0 * 0.3])
    assert float(losses.kl_penalty_loss(log_ratio, adv, kl, beta)) == pytest.approx(expected)
    grad_kl = jax.grad(lambda k: losses.kl_penalty_loss(log_ratio, adv, k, beta))(kl)
    np.testing.assert_allclose(np.asarray(grad_kl), [beta / 2, beta / 2], rtol=1e-6)


def test_value_loss_plain_and_clipped():
    values = jnp.array([1.0, 3.0])
    old = jnp.array([0.0, 0.0])
    targets = jnp.array([2.0, 0.0])
    plain = losses.value_loss(values, old, targets, False, 0.5)
    assert float(plain) == pytest.approx(0.5 * np.mean([1.0, 9.0]))
    # clipped predictions: [0.5, 0.5] -> squared errors [2.25, 0.25]; max with [1, 9]
    clipped = losses.value_loss(values, old, targets, True, 0.5)
    assert float(clipped) == pytest.approx(0.5 * np.mean([2.25, 9.0]))


def test_approx_kl_and_clip_fraction():
    log_ratio = jnp.log(jnp.array([1.0, 1.3, 0.7, 1.1]))
    assert float(losses.clip_fraction(log_ratio, 0.2)) == pytest.approx(0.5)
    r = np.array([1.0, 1.3, 0.7, 1.1])
    assert float(losses.approx_kl(log_ratio)) == pytest.approx(np.mean((r - 1) - np.log(r)), rel=1e-5)


def test_explained_variance():
    t = jnp.array([1.0, 2.0, 3.0, 4.0])
    assert float(losses.explained_variance(t, t)) == pytest.approx(1.0)
    assert float(losses.explained_variance(jnp.zeros(4) + t.mean(), t)) == pytest.approx(0.0)
    assert float(losses.explained_variance(t, jnp.ones(4))) == 0.0


def test_bare_surrogate_value_and_gradient():
    # -r A with r = exp(log_ratio); d/d(log_ratio) = -r A (no clipping anywhere)
    log_ratio = jnp.log(jnp.array([0.5, 1.0, 2.0, 3.0]))
    adv = jnp.array([1.0, -2.0, 0.5, 4.0])
    np.testing.assert_allclose(losses.surrogate(log_ratio, adv), [-0.5, 2.0, -1.0, -12.0],
                               rtol=1e-6)
    grad = jax.grad(lambda x: jnp.sum(losses.surrogate(x, adv)))(log_ratio)
    np.testing.assert_allclose(grad, [-0.5, 2.0, -1.0, -12.0], rtol=1e-6)


@pytest.mark.parametrize("objective", ["kl_fixed", "none"])
def test_table1_objectives_train(objective):
    # The PPO paper's Table 1 rows beside clip / adaptive KL: a constant beta that the
    # trainer never adapts, and the bare surrogate; both train end to end.
    from purejaxppo import PPOConfig, make_train

    config = PPOConfig(total_timesteps=4 * 16 * 5, num_steps=16, num_minibatches=2,
                       update_epochs=2, hidden_sizes=(16,), objective=objective,
                       kl_beta_init=3.0)
    out = jax.jit(make_train(config))(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(out.metrics["kl_beta"], np.float32(3.0))
    assert np.all(np.isfinite(out.metrics["policy_loss"]))
    assert np.all(np.asarray(out.metrics["nonfinite"]) == 0)
    # the fixed-KL loss differs from the bare surrogate only through its penalty term
    bare = jax.jit(make_train(config.replace(objective="none")))(jax.random.PRNGKey(0))
    first = (np.asarray(out.metrics["policy_loss"])[0], np.asarray(bare.metrics["policy_loss"])[0])
    if objective == "none":
        assert first[0] == first[1]
    else:
        assert first[0] != first[1]
