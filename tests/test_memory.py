"""Policies with memory: cores, carry resets, replay, sequence minibatches, bootstrapping.

Learning thresholds are in ``tests/test_memory_learning.py``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_trainer
from purejaxppo.memory import MEMORY_TYPES, linear_recurrence_scan, make_core
from purejaxppo.rollout import collect_rollout
from purejaxppo.train import _memory_batch, _memory_values
from purejaxppo.update import Batch, random_permutation, sequence_minibatches, to_sequences


# --------------------------------------------------------------------------- cores
def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_cell(kind, p, carry, x):
    """Numpy reference of one step of each core (the equations of purejaxppo.memory)."""
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    if kind == "gru":
        h = carry
        size = h.shape[-1]
        gx, gh = x @ p["w_x"] + p["b_x"], h @ p["w_h"] + p["b_h"]
        r = _np_sigmoid(gx[:, :size] + gh[:, :size])
        z = _np_sigmoid(gx[:, size:2 * size] + gh[:, size:2 * size])
        n = np.tanh(gx[:, 2 * size:] + r * gh[:, 2 * size:])
        h = (1 - z) * n + z * h
        return h, h
    if kind == "lstm":
        c, h = carry
        size = h.shape[-1]
        g = x @ p["w_x"] + h @ p["w_h"] + p["b"]
        i, f, u, o = (g[:, k * size:(k + 1) * size] for k in range(4))
        c = _np_sigmoid(f) * c + _np_sigmoid(i) * np.tanh(u)
        h = _np_sigmoid(o) * np.tanh(c)
        return (c, h), h
    z = _np_sigmoid(x @ p["w_z"] + p["b_z"])
    h = (1 - z) * carry + z * (x @ p["w_h"] + p["b_h"])
    return h, h


@pytest.mark.parametrize("kind", MEMORY_TYPES)
def test_core_matches_numpy_reference_and_resets_by_hand(kind):
    T, B, D, H = 7, 3, 5, 6
    core = make_core(kind, H)
    k_p, k_x, k_c = jax.random.split(jax.random.PRNGKey(0), 3)
    params = core.init(k_p, D)
    if kind == "mingru":  # make the gates non-trivial
        params = dict(params, b_z=jnp.linspace(-1.0, 1.0, H))
    xs = np.asarray(jax.random.normal(k_x, (T, B, D)))
    # A non-zero incoming carry, so that a reset at t = 0 is visible.
    carry0 = jax.tree.map(
        lambda c: c + jax.random.normal(k_c, c.shape), core.initial_carry(B)
    )
    resets = np.zeros((T, B), bool)
    resets[3, 0] = True  # an episode boundary inside the sequence (env 0)
    resets[0, 1] = True  # and at its first step (env 1); env 2 never resets
    carry, hs = jax.jit(core.unroll)(params, carry0, jnp.asarray(xs), jnp.asarray(resets))

    # Hand-built reference: the reset replaces the carry by zeros, then one cell step.
    ref = jax.tree.map(lambda c: np.asarray(c, np.float64), carry0)
    ref_hs = []
    for t in range(T):
        keep = (~resets[t])[:, None].astype(np.float64)
        ref = jax.tree.map(lambda c: c * keep, ref)
        ref, h = _np_cell(kind, params, ref, xs[t].astype(np.float64))
        ref_hs.append(h)
    np.testing.assert_allclose(np.asarray(hs), np.stack(ref_hs), atol=1e-5)
    for a, b in zip(jax.tree.leaves(carry), jax.tree.leaves(ref)):
        np.testing.assert_allclose(np.asarray(a), b, atol=1e-5)

    # After the reset at t = 3, env 0 computes what a fresh zero carry computes.
    _, fresh = core.unroll(params, core.initial_carry(1), jnp.asarray(xs[3:, :1]),
                           jnp.zeros((T - 3, 1), bool))
    np.testing.assert_allclose(np.asarray(hs[3:, :1]), np.asarray(fresh), atol=1e-6)
    # Before it, the carry mattered (so the reset was not a no-op).
    assert not np.allclose(np.asarray(hs[2, 0]), np.asarray(fresh[0, 0]), atol=1e-3)

    # Step by step equals the unroll.
    c = carry0
    for t in range(T):
        c, h = core.step(params, c, jnp.asarray(xs[t]), jnp.asarray(resets[t]))
        np.testing.assert_allclose(np.asarray(h), np.asarray(hs[t]), atol=1e-6)


def test_linear_recurrence_scan_with_resets_matches_loop():
    rng = np.random.default_rng(0)
    T, B = 33, 4
    a = rng.uniform(0.0, 1.0, (T, B)).astype(np.float32)
    a[[0, 5, 6, 20], [0, 1, 1, 3]] = 0.0  # resets
    b = rng.normal(size=(T, B)).astype(np.float32)
    h0 = rng.normal(size=(B,)).astype(np.float32)
    out = np.asarray(linear_recurrence_scan(jnp.asarray(a), jnp.asarray(b), jnp.asarray(h0)))
    h, ref = h0.astype(np.float64), []
    for t in range(T):
        h = a[t] * h + b[t]
        ref.append(h)
    np.testing.assert_allclose(out, np.stack(ref), atol=1e-5)


# --------------------------------------------------------- sequences & minibatches
def test_to_sequences_and_minibatches_match_numpy_reference():
    T, N, L, M, H = 6, 4, 3, 4, 2
    K = T // L
    # value = 1000 * step + env, so every entry says where it came from
    ids = (1000 * np.arange(T)[:, None] + np.arange(N)[None, :]).astype(np.float32)
    carries = np.arange(K * N * H, dtype=np.float32).reshape(K, N, H)
    f = jnp.asarray(ids)
    batch = Batch(obs=f[..., None], action=f, log_prob=f, value=f, advantage=f, target=f,
                  dist=None, carry=jnp.asarray(carries), start=f > 2000)
    seqs = to_sequences(batch, L)
    S = K * N
    assert seqs.obs.shape == (L, S, 1) and seqs.carry.shape == (S, H)
    for k in range(K):
        for n in range(N):
            j = k * N + n
            np.testing.assert_array_equal(np.asarray(seqs.action[:, j]), ids[k * L:(k + 1) * L, n])
            np.testing.assert_array_equal(np.asarray(seqs.carry[j]), carries[k, n])
    # A naive reshape [T, N] -> [L, K N] would interleave times and envs.
    assert not np.array_equal(np.asarray(seqs.action), ids.reshape(L, K * N))

    key = jax.random.PRNGKey(7)
    mbs = sequence_minibatches(seqs, key, M)
    perm = np.asarray(random_permutation(key, S)).reshape(M, S // M)
    assert mbs.action.shape == (M, L, S // M) and mbs.carry.shape == (M, S // M, H)
    seen = []
    for i in range(M):
        for col, j in enumerate(perm[i]):
            k, n = divmod(int(j), N)
            np.testing.assert_array_equal(np.asarray(mbs.action[i, :, col]), ids[k * L:(k + 1) * L, n])
            np.testing.assert_array_equal(np.asarray(mbs.obs[i, :, col, 0]), ids[k * L:(k + 1) * L, n])
            np.testing.assert_array_equal(np.asarray(mbs.start[i, :, col]), ids[k * L:(k + 1) * L, n] > 2000)
            np.testing.assert_array_equal(np.asarray(mbs.carry[i, col]), carries[k, n])
            seen.append(int(j))
    assert sorted(seen) == list(range(S))  # every sequence exactly once per epoch


# ------------------------------------------------------------ replay of a rollout
# RepeatPrevious with 4-step episodes and 6-step rollouts: the first rollout starts
# an episode, the second starts mid-episode, the third starts an episode with a
# non-zero stored carry; boundaries fall inside every rollout.
REPLAY = dict(env_name="RepeatPrevious-v0", env_kwargs=(("episode_length", 4), ("delay", 1)),
              num_envs=4, num_steps=6, num_minibatches=2, total_timesteps=4 * 6 * 3,
              memory_size=16)


def _replay_errors(config: PPOConfig):
    trainer = make_trainer(config)
    nets, hp = trainer.networks, config.hparams()

    def check(state):
        normalize = lambda o: trainer.normalize_obs(state, o)  # noqa: E731
        k_roll = jax.random.split(state.rng, 3)[1]
        *_, traj, _, _ = collect_rollout(
            trainer.env, nets, state.params, state.env_state, state.obs, state.ep_return,
            state.ep_length, k_roll, config.num_steps, normalize, False,
            memory=(state.carry, state.start),
        )
        zeros = jnp.zeros_like(traj.value)
        seqs = _memory_batch(config, state, traj, traj.value, zeros, zeros)
        mbs = sequence_minibatches(seqs, jax.random.PRNGKey(1), config.num_minibatches)

        def replay(mb):
            dist, value, _ = nets.unroll(state.params, mb.carry, mb.obs, mb.start)
            return (jnp.max(jnp.abs(dist.log_prob(mb.action) - mb.log_prob)),
                    jnp.max(jnp.abs(value - mb.value)))

        lp_err, v_err = jax.vmap(replay)(mbs)
        return jnp.max(lp_err), jnp.max(v_err), traj.start

    def run(key):
        state = trainer.init(key, hp)
        out = []
        for _ in range(3):
            out.append(check(state))
            state, _ = trainer.update(state, hp)
        return out

    return jax.jit(run)(jax.random.PRNGKey(0))


@pytest.mark.parametrize("kind,chunk", [("gru", None), ("lstm", None), ("mingru", None),
                                        ("gru", 3), ("mingru", 2)])
def test_epoch0_replay_reproduces_rollout_log_probs_and_values(kind, chunk):
    results = _replay_errors(PPOConfig(memory=kind, memory_chunk=chunk, **REPLAY))
    starts = [np.asarray(r[2]) for r in results]
    assert starts[0][0].all()  # rollout 1 begins with fresh episodes
    assert not starts[1][0].any()  # rollout 2 begins mid-episode
    assert starts[2][0].all()  # rollout 3 begins an episode, stored carry non-zero
    assert all(s[1:].any() for s in starts)  # boundaries inside every rollout
    for lp_err, v_err, _ in results:
        assert float(lp_err) < 1e-5 and float(v_err) < 1e-5, (float(lp_err), float(v_err))


# ---------------------------------------------------------- truncation bootstrap
def test_truncated_steps_bootstrap_from_final_obs_with_the_carry_it_would_see():
    # MaskedCartPole with a 5-step time limit: truncations at steps 4 and 9.
    config = PPOConfig(env_name="MaskedCartPole-v1", env_kwargs=(("max_steps_in_episode", 5),),
                       memory="gru", memory_size=8, num_envs=2, num_steps=12,
                       num_minibatches=2, total_timesteps=24)
    trainer = make_trainer(config)
    nets, hp = trainer.networks, config.hparams()
    state = trainer.init(jax.random.PRNGKey(0), hp)
    ident = lambda o: o  # noqa: E731
    out = collect_rollout(trainer.env, nets, state.params, state.env_state, state.obs,
                          state.ep_return, state.ep_length, jax.random.PRNGKey(1),
                          config.num_steps, ident, False, memory=(state.carry, state.start))
    traj = out[4]
    next_values = np.asarray(_memory_values(config, nets, state.params, traj, ident))
    truncated = np.asarray(traj.truncated)
    assert truncated[[4, 9]].all() and truncated.sum() == 4
    assert not np.asarray(traj.terminated).any()

    # Reference by hand: walk the core step by step over the observations.
    step = jax.jit(nets.step)
    params, carry = state.params, nets.initial_carry(2)
    # (MaskedCartPole observes a dict: index every key's array.)
    at = lambda tree, t: jax.tree.map(lambda x: jnp.asarray(x[t]), tree)  # noqa: E731
    obs, start, final_obs = traj.obs, np.asarray(traj.start), traj.final_obs
    for t in range(config.num_steps):
        _, value, carry = step(params, carry, at(obs, t), jnp.asarray(start[t]))
        np.testing.assert_allclose(np.asarray(traj.value[t]), np.asarray(value), atol=1e-6)
        # The final observation sees the carry after step t, WITHOUT a reset.
        _, v_final, _ = step(params, carry, at(final_obs, t), jnp.zeros(2, bool))
        np.testing.assert_allclose(next_values[t], np.asarray(v_final), atol=1e-5)
        if t in (4, 9):
            # It is not V of the final obs from a reset carry, nor V of the next
            # episode's first observation.
            _, v_reset, _ = step(params, carry, at(final_obs, t), jnp.ones(2, bool))
            assert np.all(np.abs(np.asarray(v_final) - np.asarray(v_reset)) > 1e-6)
            assert np.all(np.abs(next_values[t] - np.asarray(traj.value[t + 1])) > 1e-6)
        elif t + 1 < config.num_steps:
            # Mid-episode the true next observation is the next step's observation.
            np.testing.assert_allclose(next_values[t], np.asarray(traj.value[t + 1]), atol=1e-5)
    # The next rollout's start flags are the post-step done flags.
    np.testing.assert_array_equal(np.asarray(start[5]), True)
    np.testing.assert_array_equal(np.asarray(start[10]), True)
    np.testing.assert_array_equal(np.asarray(out[6][1]), truncated[-1])


# ------------------------------------------------------------------------ config
@pytest.mark.parametrize("changes,match", [
    (dict(memory="rnn"), "unknown memory"),
    (dict(memory="gru", memory_size=0), "memory_size must be a positive integer"),
    (dict(memory="gru", num_envs=6, num_minibatches=4), "num_minibatches = 4 must divide num_envs = 6"),
    (dict(memory_chunk=16), "memory_chunk needs a memory"),
    (dict(memory="gru", memory_chunk=48), "does not divide num_steps"),
    (dict(memory="gru", memory_chunk=0), "memory_chunk must be None or a positive integer"),
    (dict(memory="gru", num_envs=3, num_minibatches=8, memory_chunk=32),
     "must divide the 12 sequences"),
])
def test_bad_memory_config_raises_value_error(changes, match):
    with pytest.raises(ValueError, match=match):
        PPOConfig(**changes)


def test_memory_chunks_allow_more_minibatches_than_envs():
    config = PPOConfig(memory="lstm", num_envs=2, num_steps=128, num_minibatches=8,
                       memory_chunk=32)
    assert config.num_envs * config.num_steps // config.memory_chunk == 8


def test_feed_forward_networks_have_an_empty_carry():
    trainer = make_trainer(PPOConfig())
    nets = trainer.networks
    assert not nets.has_memory and nets.initial_carry(4) == ()
    state = trainer.init(jax.random.PRNGKey(0), PPOConfig().hparams())
    assert state.carry == () and state.start is None
    params = nets.init(jax.random.PRNGKey(0))
    obs = jnp.ones((3, 4))
    dist, value, carry = nets.step(params, (), obs, jnp.ones(3, bool))
    np.testing.assert_array_equal(np.asarray(value), np.asarray(nets.value(params, obs)))
    assert carry == ()
    mem = make_trainer(PPOConfig(memory="gru")).networks
    with pytest.raises(ValueError, match="feed-forward networks only"):
        mem.policy(params, obs)
