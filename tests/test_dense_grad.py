"""``networks.dense_dot``: the Dense layers' dot with a transposed-input weight gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import networks
from purejaxppo.envs.base import ActionSpec
from purejaxppo.networks import dense_dot, make_networks

def _plain(x, w):
    return jax.lax.dot_general(x, w, (((x.ndim - 1,), (0,)), ((), ())))


def _dense(x, w):
    return dense_dot(x, w, (((x.ndim - 1,), (0,)), ((), ())))


def _loss(dot):
    # A nonlinear function of the output, so that the gradient g is not constant.
    return lambda x, w: jnp.sum(jnp.tanh(dot(x, w)) * jnp.arange(w.shape[1], dtype=x.dtype))


@pytest.mark.parametrize("shape", [
    (128, 4, 64),      # transposed weight gradient
    (128, 64, 2),      # transposed (a 2-action head)
    (128, 64, 1),      # one output: XLA's dot
    (600, 16, 8),      # more rows than _MAX_ROWS: XLA's dot
    (8, 16, 5, 7),     # [T, B, in] input (memory heads): 128 rows, transposed
])
def test_values_and_gradients_equal_the_plain_dot(shape):
    *lead, d_in, d_out = shape
    kx, kw = jax.random.split(jax.random.PRNGKey(sum(shape)))
    x = jax.random.normal(kx, tuple(lead) + (d_in,))
    w = jax.random.normal(kw, (d_in, d_out)) / np.sqrt(d_in)
    np.testing.assert_allclose(jax.jit(_dense)(x, w), _plain(x, w), rtol=1e-5, atol=1e-5)
    got = jax.jit(jax.grad(_loss(_dense), argnums=(0, 1)))(x, w)
    want = jax.jit(jax.grad(_loss(_plain), argnums=(0, 1)))(x, w)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_gradients_under_vmap_equal_the_plain_dot():
    # vmapped seeds (sweeps): the custom rule is batched like any other.
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 128, 4))
    w = jax.random.normal(jax.random.PRNGKey(1), (3, 4, 64))
    got = jax.jit(jax.vmap(jax.grad(_loss(_dense), argnums=(0, 1))))(x, w)
    want = jax.jit(jax.vmap(jax.grad(_loss(_plain), argnums=(0, 1))))(x, w)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_only_eligible_shapes_take_the_custom_rule():
    def uses_custom_rule(x, w):
        return "custom_vjp_call" in str(jax.make_jaxpr(_dense)(x, w))

    assert uses_custom_rule(jnp.ones((128, 64)), jnp.ones((64, 64)))
    assert uses_custom_rule(jnp.ones((512, 64)), jnp.ones((64, 2)))
    assert not uses_custom_rule(jnp.ones((513, 64)), jnp.ones((64, 64)))
    assert not uses_custom_rule(jnp.ones((128, 64)), jnp.ones((64, 1)))
    # Anything but the Dense layout is XLA's dot_general, untouched.
    other = jax.make_jaxpr(lambda x, w: dense_dot(x, w, (((0,), (0,)), ((), ()))))(
        jnp.ones((64, 128)), jnp.ones((64, 32)))
    assert "custom_vjp_call" not in str(other)


def _weight_grad_dots_contracting_rows(monkeypatch, enabled: bool) -> int:
    """Dots in the compiled CartPole-sized policy gradient that contract the rows axis
    of their lhs, i.e. weight gradients left in the ``x^T g`` form."""
    monkeypatch.setattr(networks, "_TRANSPOSED_WEIGHT_GRAD", enabled)
    nets = make_networks(4, ActionSpec(discrete=True, num_actions=2), (64, 64))
    params = nets.init(jax.random.PRNGKey(0))
    obs = jnp.ones((128, 4))

    def loss(p):
        dist = nets.policy(p, obs)
        return jnp.mean(dist.log_prob(jnp.zeros(128, jnp.int32)))

    hlo = jax.jit(jax.grad(loss)).lower(params).compile().as_text()
    return sum(1 for line in hlo.splitlines()
               if " dot(" in line and "lhs_contracting_dims={0}" in line)


def test_compiled_policy_gradient_has_no_rows_contracting_weight_dot(monkeypatch):
    # With the switch off, XLA keeps its Eigen-bound x^T g dots (one per layer), so
    # this check can fail; with it on, every layer's weight gradient is a
    # forward-style dot.
    assert _weight_grad_dots_contracting_rows(monkeypatch, False) >= 3
    assert _weight_grad_dots_contracting_rows(monkeypatch, True) == 0
