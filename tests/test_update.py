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


def test_random_permutations_one_round_multi_round_and_pair_sort_paths():
    from purejaxppo.update import packed_sort_rounds, random_permutations

    # n = 2048: one packed sort (11 index bits); 4096 and 8192: two rounds; 2^17:
    # three; 2^21: (key, index) pair sort.
    assert [packed_sort_rounds(b) for b in (11, 12, 13, 16, 17, 20, 21)] == [1, 2, 2, 2, 3, 4, 0]
    for n in (2048, 4096, 8192, 2**17, 2**21):
        perms = np.asarray(jax.jit(random_permutations, static_argnums=(1, 2))(
            jax.random.PRNGKey(2), 2, n))
        assert perms.shape == (2, n)
        for row in perms:
            assert np.array_equal(np.sort(row), np.arange(n))
        assert not np.array_equal(perms[0], perms[1])  # rows are independent draws
        # not close to the identity (ties would keep index order)
        assert np.mean(perms[0] == np.arange(n)) < 0.01


def test_tied_pairs_bound_of_the_packed_rounds():
    from purejaxppo.update import packed_sort_rounds

    for nbits in range(1, 21):
        rounds = packed_sort_rounds(nbits)
        # expected pairs tied in every round: n^2 / 2 * 2^(-rounds * (32 - nbits))
        assert 2.0 ** (2 * nbits - 1 - rounds * (32 - nbits)) <= 1.0
        if rounds > 1:  # one round fewer would not meet the bound
            assert 2.0 ** (2 * nbits - 1 - (rounds - 1) * (32 - nbits)) > 1.0


def test_multi_round_permutation_is_uniform():
    from purejaxppo.update import random_permutations

    n, draws = 4096, 4000  # two packed rounds
    perms = np.asarray(jax.jit(random_permutations, static_argnums=(1, 2))(
        jax.random.PRNGKey(3), draws, n))
    # where elements 0 and n - 1 land: uniform over 8 bins of positions
    for element in (0, n - 1):
        pos = np.argmax(perms == element, axis=1)
        freq = np.bincount(pos * 8 // n, minlength=8) / draws
        np.testing.assert_allclose(freq, 1 / 8, atol=0.025)
    # the relative order of two neighbouring indices is a fair coin
    first = np.argmax(perms == 1, axis=1) < np.argmax(perms == 2, axis=1)
    assert abs(first.mean() - 0.5) < 0.03

