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


def test_flat_adam_matches_the_optax_chain(monkeypatch):
    """The update's fused Adam on one flat parameter vector computes what the optax
    chain of ``make_optimizer`` (global-norm clipping + Adam) computes leaf by leaf:
    same parameters, optimizer state and loss statistics after K epochs of
    minibatches, for a discrete and a continuous policy (the latter with a ``log_std``
    leaf), with the gradient clipping active in the first case."""
    import jax.numpy as jnp

    import purejaxppo.update as update
    from purejaxppo import PPOConfig
    from purejaxppo.train import make_trainer

    for config in (PPOConfig(num_envs=4, num_steps=32, num_minibatches=4, max_grad_norm=0.05),
                   PPOConfig(env_name="Pendulum-v1", num_envs=4, num_steps=32,
                             num_minibatches=2, update_epochs=3)):
        trainer = make_trainer(config)
        hp, nets = config.hparams(), trainer.networks
        state = trainer.init(jax.random.PRNGKey(0), hp)
        n, spec = config.batch_size, nets.action_spec
        ks = jax.random.split(jax.random.PRNGKey(1), 4)
        obs = jax.random.normal(ks[0], (n, trainer.env.obs_dim))
        dist = nets.policy(state.params, obs)
        action = dist.sample(ks[1])
        batch = update.Batch(
            obs=obs, action=action, log_prob=dist.log_prob(action) + 0.05,
            value=jax.random.normal(ks[2], (n,)), advantage=jax.random.normal(ks[3], (n,)),
            target=jnp.linspace(-1.0, 1.0, n), dist=None)
        results = []
        for flat in (False, True):
            monkeypatch.setattr(update, "_FLAT_OPTIMIZER", flat)
            epochs = jax.jit(lambda p, o: update.run_epochs(
                p, o, batch, jax.random.PRNGKey(2), 1e-3, hp, jnp.float32(1.0), config, nets))
            params, opt_state, _ = epochs(state.params, state.opt_state)
            # twice, so Adam's moments and count carry over from a non-initial state
            results.append(epochs(params, opt_state))
        (tree_p, tree_o, tree_i), (flat_p, flat_o, flat_i) = results
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6),
                     (tree_p, tree_o), (flat_p, flat_o))
        assert int(flat_o[1].count) == 2 * config.update_epochs * config.num_minibatches
        for a, b in zip(tree_i, flat_i):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
