"""Presets: every environment has one, overrides work, bad input raises ValueError.

Nothing here compiles a training program; only the reward-scale test runs a tiny one.
"""

import jax
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_train
from purejaxppo.envs import env_names
from purejaxppo.presets import PRESET_NOTES, PRESETS, preset_config, preset_names


def test_every_env_name_has_a_preset_and_nothing_else() -> None:
    assert sorted(PRESETS) == sorted(env_names())
    assert sorted(PRESET_NOTES) == sorted(PRESETS)
    assert preset_names() == sorted(PRESETS)
    assert all(note.strip() for note in PRESET_NOTES.values())


@pytest.mark.parametrize("env_name", sorted(PRESETS))
def test_preset_builds_a_valid_config(env_name: str) -> None:
    config = PPOConfig.preset(env_name)
    assert isinstance(config, PPOConfig)
    assert config.env_name == env_name
    for field, value in PRESETS[env_name].items():
        assert getattr(config, field) == value, field
    # Overrides win and the result is validated again.
    small = PPOConfig.preset(env_name, total_timesteps=config.batch_size, ent_coef=0.123)
    assert small.total_timesteps == config.batch_size
    assert small.ent_coef == 0.123
    assert small.num_envs == config.num_envs


def test_specific_presets_have_expected_character() -> None:
    assert PPOConfig.preset("CartPole-v1") == PPOConfig(env_name="CartPole-v1")
    assert PPOConfig.preset("brax/ant").reward_scale == 10.0
    assert PPOConfig.preset("brax/humanoid").reward_scale == 0.1
    assert PPOConfig.preset("Pendulum-v1").normalize_obs
    assert PPOConfig.preset("Breakout-MinAtar").activation == "relu"
    for name in PRESETS:
        if name.startswith("brax/"):
            assert PPOConfig.preset(name).normalize_obs, name


def test_unknown_env_raises_listing_valid_names() -> None:
    with pytest.raises(ValueError, match="valid names") as info:
        preset_config("NoSuchEnv-v0")
    assert "CartPole-v1" in str(info.value) and "brax/ant" in str(info.value)
    with pytest.raises(ValueError, match="no preset"):
        PPOConfig.preset("brax/nosuch")


def test_unknown_or_bad_override_raises() -> None:
    with pytest.raises(ValueError, match="unknown PPOConfig field"):
        preset_config("CartPole-v1", learning_rat=1e-3)
    with pytest.raises(ValueError, match="env_name"):
        preset_config("CartPole-v1", env_name="Acrobot-v1")
    with pytest.raises(ValueError, match="num_minibatches"):
        preset_config("CartPole-v1", num_minibatches=7)
    with pytest.raises(ValueError, match="reward_scale"):
        preset_config("brax/ant", reward_scale=0.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), True, "10"])
def test_reward_scale_validated(bad) -> None:
    with pytest.raises(ValueError, match="reward_scale"):
        PPOConfig(reward_scale=bad)


def test_reward_scale_changes_training_not_reported_returns() -> None:
    base = PPOConfig(env_name="CartPole-v1", total_timesteps=4 * 64 * 2, num_steps=64)
    key = jax.random.PRNGKey(3)
    out1 = jax.jit(make_train(base))(key)
    out10 = jax.jit(make_train(base.replace(reward_scale=10.0)))(key)
    # Same first rollout (same params, same keys): identical reported episode stats.
    np.testing.assert_array_equal(
        np.asarray(out1.metrics["episode_return"])[0],
        np.asarray(out10.metrics["episode_return"])[0],
    )
    # CartPole rewards are 1 per step: returns are episode lengths, never scaled by 10.
    ret = np.asarray(out10.metrics["episode_return"])
    length = np.asarray(out10.metrics["episode_length"])
    np.testing.assert_allclose(ret, length)
    # The value targets are 10x larger, so the value loss differs.
    assert not np.allclose(
        np.asarray(out1.metrics["value_loss"]), np.asarray(out10.metrics["value_loss"])
    )


# ------------------------------------------------------------ preset arithmetic
CONTINUOUS_PRESETS = sorted(
    name for name in PRESETS
    if name.startswith("brax/") or name in (
        "Pendulum-v1", "MountainCarContinuous-v0", "PointRobot-misc", "Reacher-misc",
        "Swimmer-misc",
    )
)


def _num(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.mark.parametrize("env_name", CONTINUOUS_PRESETS)
def test_preset_notes_state_the_layout_the_config_runs(env_name: str) -> None:
    """The numbers written in PRESET_NOTES are what the config does."""
    import re

    config = PPOConfig.preset(env_name)
    note = PRESET_NOTES[env_name]
    m = re.search(r"(\d+) envs x (\d+) steps = ([\d,]+) env steps per update", note)
    assert m, note
    envs, steps, per_update = int(m[1]), int(m[2]), _num(m[3])
    assert (envs, steps) == (config.num_envs, config.num_steps)
    assert per_update == envs * steps == config.batch_size
    m = re.search(r"(\d+) epochs x (\d+) minibatches of ([\d,]+) transitions", note)
    assert m, note
    assert (int(m[1]), int(m[2])) == (config.update_epochs, config.num_minibatches)
    assert _num(m[3]) == config.minibatch_size == per_update // config.num_minibatches
    m = re.search(r"([\d,]+) updates = ([\d,]+) env steps", note)
    assert m, note
    assert _num(m[1]) == config.num_updates
    assert _num(m[2]) == config.steps_trained == config.num_updates * config.batch_size
    assert config.steps_trained >= config.total_timesteps > config.steps_trained - per_update
    # Every continuous preset says what was measured here (or that it was not).
    assert "MEASURED_" not in note, note


@pytest.mark.parametrize(
    "env_name", [n for n in CONTINUOUS_PRESETS if "num_updates_per_batch" in PRESET_NOTES[n]]
)
def test_brax_notebook_translations(env_name: str) -> None:
    """brax: env steps per update = batch_size * num_minibatches * unroll_length, spread
    over num_envs envs; a minibatch holds batch_size * unroll_length transitions."""
    import re

    config = PPOConfig.preset(env_name)
    note = PRESET_NOTES[env_name]
    get = lambda key: _num(re.search(key + r" ([\d,.]+M?)", note)[1].rstrip("M"))  # noqa: E731
    num_envs, batch_size = get("num_envs"), get("batch_size")
    num_minibatches, unroll = get("num_minibatches"), get("unroll_length")
    epochs = get("num_updates_per_batch")
    m = re.search(r"(\d+) x (\d+) x (\d+) = (\d+) envs x (\d+) steps", note)
    assert (int(m[1]), int(m[2]), int(m[3])) == (batch_size, num_minibatches, unroll)
    assert config.num_envs == num_envs
    assert config.batch_size == batch_size * num_minibatches * unroll
    assert config.num_steps == batch_size * num_minibatches * unroll // num_envs
    assert config.minibatch_size == batch_size * unroll
    assert config.num_minibatches == num_minibatches and config.update_epochs == epochs
    assert config.total_timesteps == get("num_timesteps") * 1_000_000
    assert config.policy_head == "tanh_gaussian" and config.critic_hidden_sizes
    assert "full budget not measured" in note.lower()
