"""Every PPOConfig validation error, raised at construction."""

import pytest

from purejaxppo import TRACED_FIELDS, PPOConfig


def test_defaults_are_the_cartpole_settings():
    c = PPOConfig()
    assert (c.env_name, c.num_envs, c.num_steps, c.update_epochs, c.num_minibatches) == (
        "CartPole-v1", 4, 128, 4, 4)
    assert (c.learning_rate, c.anneal_lr, c.gamma, c.gae_lambda, c.clip_eps) == (
        2.5e-4, True, 0.99, 0.95, 0.2)
    assert (c.vf_coef, c.ent_coef, c.max_grad_norm, c.adam_eps) == (0.5, 0.01, 0.5, 1e-5)
    assert (c.activation, c.hidden_sizes, c.objective) == ("tanh", (64, 64), "clip")
    assert (c.clip_vloss, c.vf_clip_eps, c.norm_adv) == (True, 0.2, True)
    assert c.batch_size == 512 and c.minibatch_size == 128


def test_step_accounting_rounds_up_to_whole_batches():
    c = PPOConfig(total_timesteps=500_000)
    assert c.num_updates == 977
    assert c.steps_trained == 977 * 512 >= 500_000
    exact = PPOConfig(total_timesteps=512 * 10)
    assert exact.num_updates == 10 and exact.steps_trained == 5120


def test_config_is_frozen_and_replace_validates():
    c = PPOConfig()
    with pytest.raises(Exception):
        c.num_envs = 8  # type: ignore[misc]
    assert c.replace(num_envs=8).num_envs == 8
    with pytest.raises(ValueError, match="unknown PPOConfig field"):
        c.replace(num_env=8)
    with pytest.raises(ValueError, match="num_envs"):
        c.replace(num_envs=0)


def test_hparams_hold_exactly_the_traced_fields():
    hp = PPOConfig(learning_rate=1e-3).hparams()
    assert set(vars(hp)) == set(TRACED_FIELDS)
    assert float(hp.learning_rate) == pytest.approx(1e-3)


def test_dict_round_trip():
    c = PPOConfig(env_name="Catch-bsuite", hidden_sizes=(32, 16), env_kwargs=(("rows", 8),))
    assert PPOConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="unknown PPOConfig field"):
        PPOConfig.from_dict({"nope": 1})


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("num_envs", 0, "num_envs must be a positive integer"),
        ("num_steps", -1, "num_steps must be a positive integer"),
        ("update_epochs", 0, "update_epochs must be a positive integer"),
        ("num_minibatches", 0, "num_minibatches must be a positive integer"),
        ("total_timesteps", 0, "total_timesteps must be a positive integer"),
        ("num_envs", 2.5, "num_envs must be a positive integer"),
        ("num_envs", True, "num_envs must be a positive integer"),
        ("learning_rate", 0.0, "learning_rate must be a positive finite number"),
        ("learning_rate", -1e-3, "learning_rate must be a positive finite number"),
        ("learning_rate", float("nan"), "learning_rate must be a positive finite number"),
        ("clip_eps", 0.0, "clip_eps must be a positive"),
        ("max_grad_norm", -1.0, "max_grad_norm must be a positive"),
        ("adam_eps", 0.0, "adam_eps must be a positive"),
        ("vf_coef", -0.5, "vf_coef must be a finite number >= 0"),
        ("ent_coef", -0.01, "ent_coef must be a finite number >= 0"),
        ("gamma", 1.5, r"gamma must be in \[0, 1\]"),
        ("gamma", -0.1, r"gamma must be in \[0, 1\]"),
        ("gae_lambda", 1.01, r"gae_lambda must be in \[0, 1\]"),
        ("activation", "sigmoid", "unknown activation 'sigmoid'; allowed: .*tanh"),
        ("objective", "ppo2", "unknown objective 'ppo2'; allowed: .*kl_penalty"),
        ("hidden_sizes", (), "hidden_sizes must be a non-empty tuple"),
        ("hidden_sizes", [64, 64], "hidden_sizes must be a non-empty tuple"),
        ("hidden_sizes", (64, 0), "hidden_sizes must be a non-empty tuple"),
        ("anneal_lr", 1, "anneal_lr must be True or False"),
        ("env_name", "CartPole-v2", "unknown env_name 'CartPole-v2'; valid names: .*CartPole-v1"),
    ],
)
def test_invalid_values_raise_value_error(field, value, match):
    with pytest.raises(ValueError, match=match):
        PPOConfig(**{field: value})


@pytest.mark.parametrize("beta", [0.0, 5e-7, 2e6])
def test_kl_penalty_needs_kl_beta_init_in_the_adapted_range(beta):
    with pytest.raises(ValueError, match=r"objective='kl_penalty' needs kl_beta_init in "
                                         r"\[1e-06, 1e\+06\].*got " + repr(beta)):
        PPOConfig(objective="kl_penalty", kl_beta_init=beta)
    # The clip objective ignores beta: any finite value >= 0 is accepted there.
    assert PPOConfig(kl_beta_init=beta).kl_beta_init == beta
    for ok in (1e-6, 1e6):
        assert PPOConfig(objective="kl_penalty", kl_beta_init=ok).kl_beta_init == ok


def test_minibatches_must_divide_batch():
    with pytest.raises(ValueError, match="not divisible by num_minibatches = 3"):
        PPOConfig(num_envs=4, num_steps=128, num_minibatches=3)


def test_total_timesteps_at_least_one_batch():
    with pytest.raises(ValueError, match="smaller than one batch"):
        PPOConfig(total_timesteps=511)


def test_env_kwargs_the_env_does_not_take_are_a_value_error():
    with pytest.raises(ValueError, match="not accepted by CartPole-v1"):
        PPOConfig(env_kwargs=(("a", 1),))
