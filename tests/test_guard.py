"""Non-finite guard: per-update codes, first bad update per run, chunked stop with the
last finite checkpoint, sweep summaries that leave diverged runs out."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, guard, load_checkpoint, make_train
from purejaxppo.loop import TrainingDiverged, train_in_chunks
from purejaxppo.sweep import SweepResult

# Pendulum with an absurd step size and ONE gradient step per update: update 0 starts
# from the (finite) initial parameters, so it stays finite, and the huge parameters it
# leaves make a later update's loss non-finite.
DIVERGING = PPOConfig(env_name="Pendulum-v1", learning_rate=1e4, num_envs=2, num_steps=16,
                      num_minibatches=1, update_epochs=1, total_timesteps=32 * 8)


def test_step_and_update_codes_name_the_first_bad_quantity():
    ok = {"w": jnp.ones(3)}
    assert int(guard.step_code(jnp.float32(1.0), ok)) == guard.OK
    assert int(guard.step_code(jnp.float32(jnp.nan), ok)) == guard.LOSS
    assert int(guard.step_code(jnp.float32(1.0), {"w": jnp.array([1.0, jnp.inf])})) == guard.GRADIENTS
    codes = jnp.array([[0, 0], [2, 1]])
    assert int(guard.update_code(codes, ok)) == guard.GRADIENTS  # row-major: 2 ran first
    assert int(guard.update_code(jnp.zeros((2, 2), int), {"w": jnp.array([jnp.nan])})) == \
        guard.PARAMETERS
    assert int(guard.update_code(jnp.zeros((2, 2), int), ok)) == guard.OK
    # One reduction over every leaf laid end to end: a bad entry in any leaf of any
    # shape (scalar, matrix) is found; finite trees and the empty tree pass.
    tree = {"a": jnp.ones((2, 3)), "b": {"c": jnp.float32(2.0), "d": jnp.zeros(4)}}
    assert int(guard.update_code(jnp.zeros(3, int), tree)) == guard.OK
    assert int(guard.update_code(jnp.zeros(3, int), {})) == guard.OK
    for path, bad in (("a", jnp.ones((2, 3)).at[1, 2].set(-jnp.inf)),
                      ("c", jnp.float32(jnp.nan)), ("d", jnp.zeros(4).at[0].set(jnp.inf))):
        broken = {"a": tree["a"], "b": dict(tree["b"])}
        if path == "a":
            broken["a"] = bad
        else:
            broken["b"][path] = bad
        assert int(jax.jit(guard.update_code)(jnp.zeros(3, int), broken)) == guard.PARAMETERS


def test_first_nonfinite_and_find_divergence():
    codes = np.array([[0, 0, 0, 0], [0, 0, 2, 1], [0, 1, 1, 1]])
    np.testing.assert_array_equal(guard.first_nonfinite(codes), [-1, 2, 1])
    np.testing.assert_array_equal(np.asarray(guard.first_nonfinite(jnp.asarray(codes))),
                                  [-1, 2, 1])
    bad = guard.find_divergence(codes, batch_size=100, offset=10)
    assert (bad.run, bad.update, bad.env_steps, bad.quantity, bad.runs) == (2, 11, 1200, "loss",
                                                                            [1, 2])
    assert "seed 2" in bad.describe() and "update 11" in bad.describe()
    assert guard.find_divergence(codes[:1], 100) is None
    single = guard.find_divergence(np.array([0, 3]), 10)
    assert single.run is None and single.quantity == "parameters"


@pytest.fixture(scope="module")
def fused():
    return jax.jit(jax.vmap(make_train(DIVERGING)))(jax.random.split(jax.random.PRNGKey(0), 2))


def test_fused_run_reports_first_bad_update_per_seed(fused):
    first = np.asarray(fused.first_nonfinite_update)
    assert first.shape == (2,) and first.min() >= 1
    codes = np.asarray(fused.metrics["nonfinite"])
    for seed in range(2):
        if first[seed] < 0:
            assert np.all(codes[seed] == 0)
            continue
        assert np.all(codes[seed, : first[seed]] == 0) and codes[seed, first[seed]] > 0
        # the quantities reported before the first bad update are finite
        assert np.all(np.isfinite(np.asarray(fused.metrics["policy_loss"])[seed, : first[seed]]))


def test_chunked_run_stops_and_keeps_the_last_finite_checkpoint(fused, tmp_path):
    with pytest.raises(TrainingDiverged) as info:
        train_in_chunks(DIVERGING, jax.random.PRNGKey(0), num_seeds=2, chunk_updates=3,
                        checkpoint_dir=tmp_path)
    err = info.value
    first = err.divergence.update
    per_seed = np.asarray(err.output.first_nonfinite_update)
    assert first >= 1 and first == per_seed[per_seed >= 0].min()
    assert first == np.asarray(fused.first_nonfinite_update).min()  # same as the fused run
    assert err.divergence.run == int(np.argmax(per_seed == first))
    assert f"update {first}" in str(err)
    assert err.checkpoint == tmp_path / str(first)
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.step == first
    for leaf in jax.tree.leaves(ckpt.state.params):
        assert np.all(np.isfinite(np.asarray(leaf)))
    # the checkpoint holds the state after `first` updates and their (finite) metrics
    assert np.all(np.asarray(ckpt.state.update_step) == first)
    np.testing.assert_array_equal(ckpt.metrics["nonfinite"], 0)
    for name, value in ckpt.metrics.items():
        np.testing.assert_array_equal(value, err.output.metrics[name][:, :first], err_msg=name)
    np.testing.assert_array_equal(np.asarray(err.output.state.update_step), first)


def test_sweep_summary_marks_diverged_points_instead_of_averaging_nan():
    updates = 3
    ret = np.array([[[1.0, 2.0, 3.0], [1.0, 2.0, 5.0]],
                    [[1.0, np.nan, np.nan], [1.0, 2.0, 4.0]]])
    codes = np.zeros((2, 2, updates), np.int32)
    codes[1, 0, 1:] = 1
    result = SweepResult(DIVERGING, {"learning_rate": np.array([1e-3, 1e4])},
                         [{"learning_rate": 1e-3}, {"learning_rate": 1e4}],
                         {"episode_return": ret, "nonfinite": codes})
    summary = result.summary()
    good, bad = summary["points"]
    assert good["diverged"] is None and good["final_return"]["n"] == 2
    assert bad["diverged"] == {"seeds": [0], "first_update": [1]}
    assert bad["final_return"]["n"] == 1 and bad["final_return"]["mean"] == 4.0
    assert summary["best"]["point"] == 0 and summary["num_diverged_points"] == 1
