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


def test_random_permutations_batched_packed_and_pair_sort_paths():
    from purejaxppo.update import random_permutations

    # n = 2048: index packed in the low 11 bits; n = 4096: (key, index) pair sort.
    for n in (2048, 4096):
        perms = np.asarray(jax.jit(random_permutations, static_argnums=(1, 2))(
            jax.random.PRNGKey(2), 3, n))
        assert perms.shape == (3, n)
        for row in perms:
            assert np.array_equal(np.sort(row), np.arange(n))
        assert not np.array_equal(perms[0], perms[1])  # rows are independent draws
        # not close to the identity (ties would keep index order)
        assert np.mean(perms[0] == np.arange(n)) < 0.01

