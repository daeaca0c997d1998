"""compute_gae against a plain Python double loop and hand-computed values."""

import numpy as np
import pytest

from purejaxppo import compute_gae


def reference_gae(rewards, values, next_values, terminated, done, gamma, lam):
    """Double loop: for each t, sum discounted deltas until the episode ends."""
    T, N = rewards.shape
    adv = np.zeros((T, N))
    for n in range(N):
        for t in range(T):
            total, weight = 0.0, 1.0
            for k in range(t, T):
                delta = (
                    rewards[k, n]
                    + gamma * (1.0 - terminated[k, n]) * next_values[k, n]
                    - values[k, n]
                )
                total += weight * delta
                if done[k, n]:
                    break
                weight *= gamma * lam
            adv[t, n] = total
    return adv, adv + values


@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 1.0), (0.5, 0.0), (1.0, 0.8)])
def test_matches_double_loop_with_terminations_and_truncations(gamma, lam):
    rng = np.random.default_rng(0)
    T, N = 33, 5
    rewards = rng.normal(size=(T, N)).astype(np.float32)
    values = rng.normal(size=(T, N)).astype(np.float32)
    next_values = rng.normal(size=(T, N)).astype(np.float32)
    terminated = rng.random((T, N)) < 0.1
    truncated = (rng.random((T, N)) < 0.1) & ~terminated
    done = terminated | truncated
    assert terminated.any() and truncated.any()
    adv, targets = compute_gae(rewards, values, next_values, terminated, done, gamma, lam)
    ref_adv, ref_targets = reference_gae(
        rewards, values, next_values, terminated.astype(np.float32),
        done.astype(np.float32), gamma, lam,
    )
    np.testing.assert_allclose(np.asarray(adv), ref_adv, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(targets), ref_targets, rtol=1e-4, atol=1e-4)


def test_truncated_step_bootstraps_from_next_value():
    # Two steps, one env. Step 0 is truncated with V(final obs) = 10: its advantage
    # must include gamma * 10 and must not look past the episode boundary.
    rewards = np.array([[1.0], [2.0]], np.float32)
    values = np.array([[3.0], [4.0]], np.float32)
    next_values = np.array([[10.0], [5.0]], np.float32)
    terminated = np.array([[False], [False]])
    done = np.array([[True], [False]])
    gamma, lam = 0.9, 0.8
    adv, targets = compute_gae(rewards, values, next_values, terminated, done, gamma, lam)
    # t=1: delta = 2 + 0.9 * 5 - 4 = 2.5 (A_2 = 0)
    # t=0: delta = 1 + 0.9 * 10 - 3 = 7.0, and the recursion stops (done).
    np.testing.assert_allclose(np.asarray(adv)[:, 0], [7.0, 2.5], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(targets)[:, 0], [10.0, 6.5], rtol=1e-6)
    # Treating the truncation as a termination would give 1 - 3 = -2 instead.
    adv_term, _ = compute_gae(rewards, values, next_values, done, done, gamma, lam)
    assert float(adv_term[0, 0]) == pytest.approx(-2.0)


def test_hand_computed_three_steps():
    rewards = np.array([1.0, 0.0, 1.0], np.float32)
    values = np.array([0.5, 0.5, 0.5], np.float32)
    next_values = np.array([0.5, 0.5, 0.0], np.float32)
    terminated = np.array([False, False, True])
    gamma, lam = 0.5, 0.5
    adv, _ = compute_gae(rewards, values, next_values, terminated, terminated, gamma, lam)
    d2 = 1.0 - 0.5
    d1 = 0.0 + 0.25 - 0.5
    d0 = 1.0 + 0.25 - 0.5
    a2 = d2
    a1 = d1 + 0.25 * a2
    a0 = d0 + 0.25 * a1
    np.testing.assert_allclose(np.asarray(adv), [a0, a1, a2], rtol=1e-6)
