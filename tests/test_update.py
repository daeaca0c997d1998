"""Minibatch shuffling used by the K-epoch update."""

import jax
import numpy as np

from purejaxppo.update import random_permutation


def test_random_permutation_is_valid_and_uniform():
    perm = np.asarray(jax.jit(random_permutation, static_argnums=1)(jax.random.PRNGKey(0), 512))
    assert sorted(perm.tolist()) == list(range(512))
    perms = jax.vmap(lambda k: random_permutation(k, 6))(
        jax.random.split(jax.random.PRNGKey(1), 30000)
    )
    perms = np.asarray(perms)
    # every element lands in every position with probability 1/6
    for element in range(6):
        freq = np.bincount(np.argmax(perms == element, axis=1), minlength=6) / 30000
        np.testing.assert_allclose(freq, 1 / 6, atol=0.015)
    # fresh keys give fresh permutations
    assert len({tuple(p) for p in perms[:100]}) > 90
