"""Orthogonal initialization from one normal draw (orthogonal_many, init_mlps)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig
from purejaxppo.initializers import orthogonal_many, qr_q
from purejaxppo.networks import MLP, init_mlps
from purejaxppo.train import make_trainer


def _numpy_orthogonal(a: np.ndarray) -> np.ndarray:
    q, r = np.linalg.qr(a)
    return q * np.sign(np.diag(r))[None, :]


def test_orthogonal_many_is_qr_of_consecutive_slices_of_one_draw():
    shapes, scales = [(4, 64), (64, 64), (64, 2), (7, 3)], [1.0, math.sqrt(2.0), 0.01, 3.0]
    key = jax.random.PRNGKey(11)
    out = orthogonal_many(key, shapes, scales)
    z = np.asarray(jax.random.normal(key, (4 * 64 + 64 * 64 + 64 * 2 + 7 * 3,)))
    start = 0
    for w, shape, scale in zip(out, shapes, scales):
        assert w.shape == shape and w.dtype == jnp.float32
        rows, cols = (shape[1], shape[0]) if shape[0] < shape[1] else shape
        q = _numpy_orthogonal(z[start:start + rows * cols].reshape(rows, cols))
        start += rows * cols
        expected = scale * (q.T if shape[0] < shape[1] else q)
        np.testing.assert_allclose(np.asarray(w), expected, atol=2e-5 * max(scale, 1.0))


def test_orthogonal_many_under_vmap_equals_one_call_per_key():
    shapes, scales = [(3, 16), (16, 16), (16, 1)], [1.0, 1.0, 1.0]
    keys = jax.random.split(jax.random.PRNGKey(2), 3)
    batched = jax.jit(jax.vmap(lambda k: orthogonal_many(k, shapes, scales)))(keys)
    for i in range(3):
        single = orthogonal_many(keys[i], shapes, scales)
        for b, s in zip(batched, single):
            np.testing.assert_array_equal(np.asarray(b[i]), np.asarray(s))


def test_orthogonal_many_rejects_bad_arguments():
    with pytest.raises(ValueError, match="one scale per shape"):
        orthogonal_many(jax.random.PRNGKey(0), [(2, 2), (3, 3)], [1.0])
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        orthogonal_many(jax.random.PRNGKey(0), [(4,)], [1.0])


def test_qr_q_gives_positive_diagonal_of_r():
    a = jax.random.normal(jax.random.PRNGKey(8), (12, 5))
    q = np.asarray(qr_q(a))
    r = q.T @ np.asarray(a)  # = R for the Q of a = Q R
    assert np.all(np.diag(r) > 0)
    np.testing.assert_allclose(np.triu(r), r, atol=1e-5)


def test_init_mlps_matches_flax_structure_and_is_orthogonal():
    specs = [(4, (64, 32), 2, 0.01), (4, (16,), 1, 1.0)]
    params = init_mlps(jax.random.PRNGKey(0), specs)
    for p, (in_dim, sizes, out, head) in zip(params, specs):
        flax_params = MLP(sizes, out, head, "tanh").init(jax.random.PRNGKey(0),
                                                          jnp.zeros((1, in_dim)))["params"]
        assert jax.tree.structure(p) == jax.tree.structure(flax_params)
        assert (jax.tree.map(lambda x: (x.shape, x.dtype), p)
                == jax.tree.map(lambda x: (x.shape, x.dtype), flax_params))
        gains = [math.sqrt(2.0)] * len(sizes) + [head]
        for i, gain in enumerate(gains):
            w = np.asarray(p[f"Dense_{i}"]["kernel"], np.float64)
            gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
            np.testing.assert_allclose(gram, gain**2 * np.eye(gram.shape[0]),
                                       atol=1e-5 * max(gain**2, 1.0))
            assert not np.any(np.asarray(p[f"Dense_{i}"]["bias"]))


def test_feedforward_networks_init_uses_one_draw_for_actor_and_critic():
    nets = make_trainer(PPOConfig()).networks  # CartPole: obs 4, 2 actions, 64x64
    key = jax.random.PRNGKey(5)
    params = nets.init(key)
    shapes = [(4, 64), (64, 64), (64, 2), (4, 64), (64, 64), (64, 1)]
    expected = orthogonal_many(key, shapes, [math.sqrt(2.0)] * 2 + [0.01]
                               + [math.sqrt(2.0)] * 2 + [1.0])
    got = [params[net][f"Dense_{i}"]["kernel"] for net in ("actor", "critic")
           for i in range(3)]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(e))
