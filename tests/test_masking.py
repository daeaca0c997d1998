"""Legal-action masks: the masked Categorical and how the networks read the mask."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo.distributions import Categorical
from purejaxppo.envs.base import ActionSpec
from purejaxppo.networks import make_networks

LOGITS = jnp.array([[1.0, 2.0, 0.5, -1.0]])
MASK = jnp.array([[True, False, True, True]])


def _hand_probs() -> np.ndarray:
    # softmax over the legal entries {0, 2, 3} only; entry 1 gets exactly 0.
    e = [math.exp(1.0), 0.0, math.exp(0.5), math.exp(-1.0)]
    return np.array(e) / sum(e)


def test_masked_probabilities_match_hand_computation():
    dist = Categorical(LOGITS, MASK)
    p = _hand_probs()
    np.testing.assert_allclose(np.exp(np.asarray(dist.log_probs_all()))[0], p, rtol=1e-6)
    assert float(jnp.exp(dist.log_probs_all())[0, 1]) == 0.0
    legal = p[[0, 2, 3]]
    np.testing.assert_allclose(float(dist.entropy()[0]), -np.sum(legal * np.log(legal)), rtol=1e-6)
    np.testing.assert_allclose(float(dist.log_prob(jnp.array([2]))[0]), math.log(p[2]), rtol=1e-6)
    assert int(dist.mode()[0]) == 0  # logit 2.0 is illegal, so the mode is action 0


def test_masked_kl_is_over_the_legal_set():
    other_logits = jnp.array([[0.0, 5.0, 1.0, 0.0]])
    p = _hand_probs()
    q = np.exp([0.0, 0.0, 1.0, 0.0]) * np.array([1, 0, 1, 1])
    q = q / q.sum()
    legal = [0, 2, 3]
    expected = float(np.sum(p[legal] * (np.log(p[legal]) - np.log(q[legal]))))
    kl = Categorical(LOGITS, MASK).kl(Categorical(other_logits, MASK))
    np.testing.assert_allclose(float(kl[0]), expected, rtol=1e-5)
    # Unmasked, the huge illegal logit would dominate: the mask really changes the KL.
    assert abs(float(Categorical(LOGITS).kl(Categorical(other_logits))[0]) - expected) > 0.5


def test_masked_action_is_never_sampled_and_frequencies_match():
    n = 20_000
    dist = Categorical(jnp.broadcast_to(LOGITS, (n, 4)), jnp.broadcast_to(MASK, (n, 4)))
    actions = np.asarray(dist.sample_from_noise(Categorical.noise(jax.random.PRNGKey(0), (n, 4))))
    assert not np.any(actions == 1)
    freq = np.bincount(actions, minlength=4) / n
    np.testing.assert_allclose(freq, _hand_probs(), atol=0.015)


def test_finite_values_and_gradients_even_with_no_legal_action():
    mask = jnp.array([[False, False, False, False], [True, False, False, False]])
    logits = jnp.zeros((2, 4))
    dist = Categorical(logits, mask)
    assert np.all(np.isfinite(np.asarray(dist.entropy())))
    np.testing.assert_allclose(float(dist.log_prob(jnp.array([0, 0]))[1]), 0.0, atol=1e-6)

    def loss(lg):
        d = Categorical(lg, mask)
        return jnp.sum(d.entropy()) + jnp.sum(d.log_prob(jnp.array([2, 0])))

    grads = np.asarray(jax.grad(loss)(logits))
    assert np.all(np.isfinite(grads))
    np.testing.assert_array_equal(grads[1, 1:], 0.0)  # illegal logits get no gradient


def test_networks_read_the_mask_from_the_last_obs_entries():
    spec = ActionSpec(discrete=True, num_actions=3, masked=True)
    nets = make_networks(5, spec, (8,))
    params = nets.init(jax.random.PRNGKey(0))
    obs = jnp.array([[0.3, -1.0, 1.0, 0.0, 1.0], [0.3, -1.0, 0.0, 1.0, 0.0]])
    dist = nets.policy(params, obs)
    np.testing.assert_array_equal(np.asarray(dist.mask), [[True, False, True], [False, True, False]])
    probs = np.exp(np.asarray(dist.log_probs_all()))
    assert probs[0, 1] == 0.0 and probs[1, 0] == 0.0 and probs[1, 2] == 0.0
    np.testing.assert_allclose(probs[1, 1], 1.0, rtol=1e-6)
    # An unmasked spec of the same size ignores those entries as a mask.
    plain = make_networks(5, spec._replace(masked=False), (8,)).policy(params, obs)
    assert plain.mask is None
