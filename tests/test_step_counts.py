"""Step counts past 2^31: the compiled program counts updates in int32 and the env
steps are derived on the host in int64, exact at any count; the annealed learning
rate is exact to float32 rounding at any count too.

A 3e9-step config is checked without running its updates: the counter arithmetic,
the learning rate of any update, and a state resumed at update 2^31 / batch + 1
(checkpoint round trip, then ONE real update from there).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purejaxppo import PPOConfig, env_steps, make_trainer
from purejaxppo.checkpoint import load_checkpoint, save_checkpoint
from purejaxppo.loggers import make_logger
from purejaxppo.loop import train_in_chunks
from purejaxppo.train import learning_rate_at, with_env_steps

BIG = PPOConfig(total_timesteps=3_000_000_000)  # CartPole defaults: 512 steps per update
RESUMED = 2**31 // BIG.batch_size + 1  # the first update count past 2^31 env steps


def test_runs_past_2_to_the_31_steps_are_accepted_and_counted_exactly():
    assert BIG.batch_size == 512 and BIG.num_updates == 5_859_375
    assert BIG.steps_trained == 3_000_000_000 > 2**31
    assert RESUMED * 512 == 2**31 + 512
    # 1e12 steps per run: accepted with batches of >= 466 transitions.
    huge = PPOConfig(total_timesteps=10**12)
    assert huge.num_updates == 1_953_125_000 < 2**31 and huge.steps_trained == 10**12
    # Integer ceil: exact where float division would round (> 2^53).
    wide = PPOConfig(total_timesteps=2**60 + 1, num_envs=2**20, num_steps=2**20,
                     num_minibatches=2**20)
    assert wide.num_updates == 2**20 + 1 and wide.steps_trained == (2**20 + 1) * 2**40
    # The limit is on updates (int32 counter, lax.scan trip count), and says what to do.
    with pytest.raises(ValueError, match=r"needs 4000000000 updates of num_envs \* num_steps "
                                         r"= 1 steps; at most 2147483647 updates.*at least 2"):
        PPOConfig(total_timesteps=4_000_000_000, num_envs=1, num_steps=1, num_minibatches=1)
    # Host counts are int64: a run must fit in 2^63 - 1 steps.
    with pytest.raises(ValueError, match=r"at most 9223372036854775807 env steps per run"):
        PPOConfig(total_timesteps=2**63, num_envs=2**32, num_steps=4, num_minibatches=1)


def test_env_steps_are_exact_int64_at_any_count():
    counts = np.array([[1, RESUMED, BIG.num_updates]], np.int32)
    steps = env_steps(BIG, counts)
    assert steps.dtype == np.int64 and steps.shape == (1, 3)
    assert steps.tolist() == [[512, 2**31 + 512, 3_000_000_000]]
    assert int(env_steps(BIG, jnp.int32(RESUMED))) == 2**31 + 512
    assert int(env_steps(BIG, 2**31 - 1)) == (2**31 - 1) * 512
    metrics = with_env_steps(BIG, {"update_step": jnp.asarray(counts[0]),
                                   "episode_return": jnp.zeros(3)})
    assert metrics["env_steps"].tolist() == [512, 2**31 + 512, 3_000_000_000]
    for bad in (1.5, np.float32(3.0), jnp.ones(2), True, -1, np.array([-2, 1])):
        with pytest.raises(ValueError, match="update_step"):
            env_steps(BIG, bad)
    with pytest.raises(ValueError, match="outside jit|on the host"):
        jax.jit(lambda u: env_steps(BIG, u))(jnp.int32(1))
    with pytest.raises(ValueError, match="update_step"):
        with_env_steps(BIG, {"episode_return": np.zeros(3)})


def test_annealed_learning_rate_is_exact_at_any_count():
    hp = BIG.hparams()
    lr = jax.jit(lambda u: learning_rate_at(BIG, hp.learning_rate, u))
    n = BIG.num_updates
    for u in (0, 1, RESUMED, n - 2, n - 1):
        expected = 2.5e-4 * (n - u) / n
        assert float(lr(jnp.int32(u))) == pytest.approx(expected, rel=1e-6), u
    # The longest runs: the last update uses lr / num_updates, where
    # 1 - float32(u) / num_updates would round to exactly 0.
    huge = PPOConfig(total_timesteps=10**12)
    last = float(learning_rate_at(huge, huge.hparams().learning_rate,
                                  jnp.int32(huge.num_updates - 1)))
    assert last == pytest.approx(2.5e-4 / huge.num_updates, rel=1e-6)
    assert 1.0 - np.float32(huge.num_updates - 1) / np.float32(huge.num_updates) == 0.0
    flat = BIG.replace(anneal_lr=False)
    assert float(learning_rate_at(flat, hp.learning_rate, jnp.int32(RESUMED))) == np.float32(2.5e-4)


def test_state_resumed_past_2_to_the_31_steps_round_trips_and_counts_on(tmp_path):
    """A state at update 2^31 / batch + 1 of the 3e9-step run (as a resume would load
    it; no update before it is run): the checkpoint keeps the exact step, the loggers
    and ``ChunkInfo`` report exact env steps, and one real update from there counts on
    with the exactly annealed learning rate."""
    trainer = make_trainer(BIG)
    state = trainer.init(jax.random.PRNGKey(0), BIG.hparams())
    state = state.replace(update_step=jnp.int32(RESUMED))
    assert int(env_steps(BIG, state.update_step)) == 2**31 + 512
    path = save_checkpoint(tmp_path / "ckpt", BIG, state)
    assert path.name == str(RESUMED)
    ckpt = load_checkpoint(tmp_path / "ckpt", BIG)
    assert ckpt.step == RESUMED and ckpt.env_steps == 2**31 + 512
    assert int(ckpt.state.update_step) == RESUMED and ckpt.state.update_step.dtype == jnp.int32

    class Stop(Exception):
        pass

    seen = []

    def one_update(info):
        seen.append(info)
        raise Stop

    with pytest.raises(Stop):
        train_in_chunks(BIG, resume=ckpt, chunk_updates=1, callback=one_update,
                        handle_signals=False)
    info = seen[0]
    assert info.update_step == RESUMED + 1 and info.num_updates == BIG.num_updates
    assert info.env_steps == 2**31 + 1024
    assert np.asarray(info.metrics["update_step"]).tolist() == [RESUMED + 1]
    assert env_steps(BIG, info.metrics["update_step"]).tolist() == [2**31 + 1024]
    n = BIG.num_updates
    assert float(info.metrics["learning_rate"][0]) == pytest.approx(
        2.5e-4 * (n - RESUMED) / n, rel=1e-6)
    assert np.isfinite(info.metrics["policy_loss"][0])
    # A logger given the update counts writes the exact env steps.
    logger = make_logger("csv", tmp_path, BIG, start_update=RESUMED)
    logger.log(info.metrics, RESUMED)
    logger.close()
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    header, row = rows[0].split(","), rows[1].split(",")
    assert header[:3] == ["update", "env_steps", "seed"] and "update_step" not in header
    assert row[:3] == [str(RESUMED), str(2**31 + 1024), "0"]
