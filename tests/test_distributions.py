"""Categorical and diagonal Gaussian against explicit formulas."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo.distributions import Categorical, DiagGaussian


def test_categorical_log_prob_entropy_kl_mode():
    logits = jnp.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    d = Categorical(logits)
    p = np.exp(np.asarray(logits)) / np.exp(np.asarray(logits)).sum(-1, keepdims=True)
    a = jnp.array([2, 0])
    np.testing.assert_allclose(np.asarray(d.log_prob(a)), np.log([p[0, 2], p[1, 0]]), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(d.entropy()), -(p * np.log(p)).sum(-1), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(d.mode()), [2, 0])
    q = Categorical(jnp.zeros_like(logits))
    np.testing.assert_allclose(
        np.asarray(d.kl(q)), (p * (np.log(p) - np.log(1 / 3))).sum(-1), rtol=1e-5, atol=1e-7
    )


def test_categorical_sampling_frequencies():
    d = Categorical(jnp.log(jnp.array([0.2, 0.3, 0.5])))
    samples = jax.vmap(d.sample)(jax.random.split(jax.random.PRNGKey(0), 20000))
    freq = np.bincount(np.asarray(samples), minlength=3) / 20000
    np.testing.assert_allclose(freq, [0.2, 0.3, 0.5], atol=0.015)


def test_gaussian_log_prob_entropy_kl():
    mean = jnp.array([[0.0, 1.0]])
    log_std = jnp.array([0.0, math.log(2.0)])
    d = DiagGaussian(mean, log_std)
    x = jnp.array([[0.5, -1.0]])
    std = np.array([1.0, 2.0])
    expected = np.sum(
        -0.5 * ((np.array([0.5, -1.0]) - np.array([0.0, 1.0])) / std) ** 2
        - np.log(std) - 0.5 * np.log(2 * np.pi)
    )
    assert float(d.log_prob(x)[0]) == pytest.approx(expected, rel=1e-6)
    assert float(d.entropy()[0]) == pytest.approx(np.sum(0.5 * np.log(2 * np.pi * np.e * std**2)), rel=1e-6)
    other = DiagGaussian(jnp.zeros((1, 2)), jnp.zeros(2))
    kl = np.sum(np.log(1 / std) + (std**2 + np.array([0.0, 1.0]) ** 2) / 2 - 0.5)
    assert float(d.kl(other)[0]) == pytest.approx(kl, rel=1e-5)
    assert float(d.kl(d)[0]) == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_array_equal(np.asarray(d.mode()), np.asarray(mean))


def test_gaussian_sampling_moments():
    d = DiagGaussian(jnp.array([1.0, -2.0]), jnp.log(jnp.array([0.5, 3.0])))
    s = np.asarray(jax.vmap(d.sample)(jax.random.split(jax.random.PRNGKey(1), 20000)))
    np.testing.assert_allclose(s.mean(0), [1.0, -2.0], atol=0.06)
    np.testing.assert_allclose(s.std(0), [0.5, 3.0], rtol=0.03)
