"""Sweeps compile once, match separate runs, and refuse static fields; stats."""

import importlib

import jax
import numpy as np
import pytest

# ``purejaxppo.sweep`` the attribute is the function; fetch the module itself.
sweep_mod = importlib.import_module("purejaxppo.sweep")
from purejaxppo import PPOConfig, make_train
from purejaxppo.stats import bootstrap_ci, iqm, summarize

CONFIG = PPOConfig(total_timesteps=512 * 3)
GRID = {"learning_rate": [1e-4, 2e-3]}
RNG = jax.random.PRNGKey(7)


def _counting_make_train(counter):
    original = sweep_mod.make_train

    def make(config, *args, **kwargs):
        train = original(config, *args, **kwargs)

        def counted(rng, hparams=None):
            counter.append(1)  # runs once per trace
            return train(rng, hparams)

        return counted

    return make


@pytest.fixture(scope="module")
def counted_sweep():
    traces = []
    mp = pytest.MonkeyPatch()
    mp.setattr(sweep_mod, "make_train", _counting_make_train(traces))
    compiles = []

    import logging

    class Handler(logging.Handler):
        def emit(self, record):
            text = record.getMessage()
            if "sweep_batch" in text and "Finished XLA compilation" in text:
                compiles.append(text)

    handler = Handler(level=logging.DEBUG)
    logger = logging.getLogger("jax")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with jax.log_compiles(True):
            result = sweep_mod.sweep(CONFIG, 3, GRID, RNG)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        mp.undo()
    return result, traces, compiles


def test_sweep_compiles_once_with_named_axes(counted_sweep):
    result, traces, compiles = counted_sweep
    assert len(traces) == 1, "the train function was traced more than once"
    assert len(compiles) == 1, compiles
    assert result.dims == ("point", "seed", "update")
    assert result.metrics["episode_return"].shape == (2, 3, CONFIG.num_updates)
    np.testing.assert_array_equal(result.grid["learning_rate"], [1e-4, 2e-3])
    assert result.num_calls == 1
    steps = result.env_steps()
    assert steps.dtype == np.int64 and steps.shape == (2, 3, CONFIG.num_updates)
    np.testing.assert_array_equal(steps, np.broadcast_to([512, 1024, 1536], (2, 3, 3)))


def test_sweep_matches_each_point_run_separately(counted_sweep):
    result = counted_sweep[0]
    keys = jax.random.split(RNG, 3)
    for p, point in enumerate(result.points):
        alone = jax.jit(jax.vmap(make_train(CONFIG.replace(**point))))(keys)
        for name in ("episode_return", "policy_loss", "value_loss", "learning_rate"):
            np.testing.assert_allclose(
                result.metrics[name][p], np.asarray(alone.metrics[name]), rtol=1e-4,
                atol=1e-6, err_msg=f"point {p} metric {name}",
            )
    # The two points really differ.
    assert not np.allclose(result.metrics["policy_loss"][0], result.metrics["policy_loss"][1])


def test_chunked_sweep_reuses_one_compiled_function(counted_sweep):
    traces = []
    mp = pytest.MonkeyPatch()
    mp.setattr(sweep_mod, "make_train", _counting_make_train(traces))
    try:
        chunked = sweep_mod.sweep(CONFIG, 3, GRID, RNG, max_runs_per_call=4)
    finally:
        mp.undo()
    assert len(traces) == 1 and chunked.num_calls == 2
    for name, value in counted_sweep[0].metrics.items():
        np.testing.assert_allclose(chunked.metrics[name], value, rtol=1e-4, atol=1e-6)
    summary = chunked.summary()
    assert len(summary["points"]) == 2 and summary["best"]["point"] in (0, 1)


@pytest.mark.parametrize("grid,fragment", [
    ({"num_envs": [4, 8]}, "cannot sweep ['num_envs']"),
    ({"hidden_sizes": [(64,), (32,)]}, "sweepable fields"),
    ({"learning_rate": []}, "non-empty list"),
    ({"gamma": [0.9, 1.5]}, "gamma must be in [0, 1]"),
    ({}, "non-empty mapping"),
])
def test_bad_grids_raise_before_compiling(grid, fragment):
    with pytest.raises(ValueError) as info:
        sweep_mod.sweep(CONFIG, 2, grid)
    assert fragment in str(info.value)


def test_bad_seed_count_raises():
    with pytest.raises(ValueError, match="seeds must be a positive integer"):
        sweep_mod.sweep(CONFIG, 0, GRID)


def test_iqm_and_bootstrap():
    assert iqm(np.arange(8.0)) == pytest.approx(3.5)  # mean of 2..5
    assert iqm(np.array([1.0, 2.0, 3.0])) == pytest.approx(2.0)
    low, high = bootstrap_ci(np.array([5.0, 5.0, 5.0]))
    assert low == high == 5.0
    low, high = bootstrap_ci(np.arange(20.0), "mean")
    assert low < 9.5 < high
    stats = summarize(np.array([1.0, 2.0, np.nan, 10.0]))
    assert stats["n"] == 3 and stats["n_nan"] == 1
    assert stats["mean"] == pytest.approx(13 / 3)
    assert stats["iqm_ci"][0] <= stats["iqm"] <= stats["iqm_ci"][1]
    with pytest.raises(ValueError, match="statistic must be"):
        bootstrap_ci(np.ones(3), "median")
