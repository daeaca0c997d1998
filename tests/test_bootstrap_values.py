"""Feed-forward bootstrap values: V(s'_t) from the next step's observation, and V of
the final observation for truncated steps only (``train._feedforward_values``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import train as train_mod
from purejaxppo.envs.base import ActionSpec
from purejaxppo.networks import make_networks
from purejaxppo.rollout import Transition

T, N, D = 6, 3, 4


def _scale(obs):  # stands in for the frozen observation normalization
    return 0.5 * obs


def _traj(key, truncated, terminated, normalize=_scale):
    """A rollout whose ``obs`` are normalized and ``final_obs`` / last obs are raw."""
    k_obs, k_final, k_last = jax.random.split(key, 3)
    obs = jax.random.normal(k_obs, (T, N, D))
    last = jax.random.normal(k_last, (N, D))
    # Where the episode did not end, the final observation IS the next observation;
    # where it ended, it differs from the next (reset) observation.
    nxt = jnp.concatenate([obs[1:], last[None]], axis=0)
    ended = (truncated | terminated)[..., None]
    final = jnp.where(ended, jax.random.normal(k_final, (T, N, D)), nxt)
    traj = Transition(obs=normalize(obs), raw_obs=obs, action=None, log_prob=None, reward=None,
                      terminated=terminated, truncated=truncated, final_obs=final, dist=None)
    return traj, last


def _case(name, rng):
    if name == "none":
        trunc = np.zeros((T, N), bool)
    elif name == "one_per_env":  # one group, the usual case
        trunc = np.zeros((T, N), bool)
        trunc[rng.integers(0, T, N), np.arange(N)] = True
    elif name == "many":  # several groups, one partly filled
        trunc = rng.random((T, N)) < 0.6
        assert trunc.sum() > 2 * N
    else:  # every step truncated: T groups
        trunc = np.ones((T, N), bool)
    term = ~trunc & (rng.random((T, N)) < 0.3)
    return jnp.asarray(trunc), jnp.asarray(term)


@pytest.mark.parametrize("case", ["none", "one_per_env", "many", "all"])
def test_next_values_use_final_obs_exactly_where_truncated(case):
    nets = make_networks(D, ActionSpec(discrete=True, num_actions=2), (8, 8))
    params = nets.init(jax.random.PRNGKey(1))
    scale = _scale
    trunc, term = _case(case, np.random.default_rng(len(case)))
    traj, last = _traj(jax.random.PRNGKey(2), trunc, term)
    values, next_values = jax.jit(
        lambda p, tr, lo: train_mod._feedforward_values(nets, p, tr, lo, scale)
    )(params, traj, last)

    v = lambda o: np.asarray(nets.value(params, scale(o)))  # noqa: E731
    np.testing.assert_allclose(values, v(traj.raw_obs), rtol=1e-5, atol=1e-6)
    true_next = v(traj.final_obs)  # V of the observation each step led to
    bootstrapped = ~np.asarray(term)  # terminated steps are multiplied by 0 in GAE
    np.testing.assert_allclose(np.asarray(next_values)[bootstrapped],
                               true_next[bootstrapped], rtol=1e-5, atol=1e-6)
    # Truncated steps really took the final observation, not the reset one.
    if np.asarray(trunc).any():
        reset_next = v(jnp.concatenate([traj.raw_obs[1:], last[None]], axis=0))
        assert not np.allclose(np.asarray(next_values)[np.asarray(trunc)],
                               reset_next[np.asarray(trunc)])


def test_next_values_under_vmap_with_different_truncation_counts():
    # Seeds of one vmap need different numbers of loop iterations (0, 1 and T groups).
    nets = make_networks(D, ActionSpec(discrete=True, num_actions=2), (8,))
    params = nets.init(jax.random.PRNGKey(1))
    rng = np.random.default_rng(0)
    cases = [_case(c, rng) for c in ("none", "one_per_env", "all")]
    trunc = jnp.stack([c[0] for c in cases])
    term = jnp.stack([c[1] for c in cases])
    trajs, lasts = jax.vmap(_traj)(jax.random.split(jax.random.PRNGKey(3), 3), trunc, term)
    fn = lambda tr, lo: train_mod._feedforward_values(nets, params, tr, lo, _scale)  # noqa: E731
    batched = jax.jit(jax.vmap(fn))(trajs, lasts)
    for i in range(3):
        one = jax.tree.map(lambda x: x[i], (trajs, lasts))
        single = jax.jit(fn)(*one)
        for b, s in zip(batched, single):
            np.testing.assert_allclose(b[i], s, rtol=1e-5, atol=1e-6)


def test_truncated_only_pass_matches_full_pass(monkeypatch):
    nets = make_networks(D, ActionSpec(discrete=True, num_actions=2), (8, 8))
    params = nets.init(jax.random.PRNGKey(4))
    trunc, term = _case("many", np.random.default_rng(5))
    traj, last = _traj(jax.random.PRNGKey(6), trunc, term)
    fast = train_mod._feedforward_values(nets, params, traj, last, _scale)
    monkeypatch.setattr(train_mod, "_TRUNCATED_ONLY_FINAL_VALUES", False)
    full = train_mod._feedforward_values(nets, params, traj, last, _scale)
    np.testing.assert_allclose(fast[0], full[0], rtol=1e-5, atol=1e-6)
    keep = ~np.asarray(term)  # the full pass has V(final obs) at terminated steps too
    np.testing.assert_allclose(np.asarray(fast[1])[keep], np.asarray(full[1])[keep],
                               rtol=1e-5, atol=1e-6)
