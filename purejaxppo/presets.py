"""Per-environment PPO hyperparameters: ``preset_config(env_name, **overrides)``.

Every environment name accepted by ``purejaxppo.envs.make_env`` has an entry in
:data:`PRESETS` (the gymnax suite and the ``brax/<env>`` environments). Each entry is
a family default updated with environment-specific values; :data:`PRESET_NOTES` says
where the starting point came from and what was measured here.

Sources of the starting points (values re-typed from the published settings, adapted
to this library's layout of ``num_envs * num_steps`` transitions per update):

* **cleanrl** ``ppo.py`` (classic control): 4 envs x 128 steps, 4 epochs x 4
  minibatches, lr 2.5e-4 annealed, entropy 0.01, tanh 64x64.
* **cleanrl** ``ppo_continuous_action.py`` (MuJoCo): 2048 steps per update, 10
  epochs x 32 minibatches, lr 3e-4 annealed, entropy 0, gamma 0.99, lambda 0.95,
  observation + reward normalization, tanh 64x64.
* **rl-baselines3-zoo** PPO tables (MountainCar, MountainCarContinuous, Pendulum,
  Swimmer): long horizons (gamma 0.9999) and normalization for the sparse/long tasks.
* **purejaxrl / gymnax-blines** MinAtar PPO: 64 envs x 128 steps, 8 minibatches,
  4 epochs, ReLU MLP, entropy 0.01, 10M steps.
* **brax training notebook** PPO settings (ant, halfcheetah, humanoid,
  humanoidstandup, inverted pendulums, reacher, pusher): reward scaling, discount,
  entropy cost, epochs and minibatches per environment, 4096/2048 parallel envs,
  observation normalization, no learning-rate annealing. brax's per-update batch is
  ``batch_size * num_minibatches * unroll_length``; here it is
  ``num_envs * num_steps`` with the same total, so ``num_steps`` is a multiple of
  brax's unroll length. brax's policy (tanh-squashed Gaussian, 4x32 swish policy,
  5x256 value) differs from this library's (clipped Gaussian with a state-independent
  log-std, one ``hidden_sizes`` for both); the 256x256 tanh MLP follows purejaxrl's
  ``ppo_continuous_action`` on brax, which uses the same policy parametrization.

Measured here (2-core CPU, jax 0.10.2): see :data:`PRESET_NOTES` and the README; the
presets whose note says "not measured here" are published starting points only.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, Mapping

from purejaxppo.config import PPOConfig, field_names

# ---------------------------------------------------------------- family defaults
_CLASSIC_DISCRETE: dict[str, Any] = dict(
    total_timesteps=500_000, num_envs=4, num_steps=128, update_epochs=4,
    num_minibatches=4, learning_rate=2.5e-4, anneal_lr=True, gamma=0.99,
    gae_lambda=0.95, ent_coef=0.01, activation="tanh", hidden_sizes=(64, 64),
)
_CONTINUOUS_SMALL: dict[str, Any] = dict(
    total_timesteps=1_000_000, num_envs=16, num_steps=128, update_epochs=10,
    num_minibatches=8, learning_rate=3e-4, anneal_lr=True, gamma=0.99,
    gae_lambda=0.95, ent_coef=0.0, activation="tanh", hidden_sizes=(64, 64),
    normalize_obs=True, normalize_reward=True,
)
_BSUITE: dict[str, Any] = dict(
    total_timesteps=500_000, num_envs=16, num_steps=64, update_epochs=4,
    num_minibatches=4, learning_rate=5e-4, anneal_lr=True, gamma=0.99,
    gae_lambda=0.95, ent_coef=0.01, activation="tanh", hidden_sizes=(64, 64),
)
_MINATAR: dict[str, Any] = dict(
    total_timesteps=10_000_000, num_envs=64, num_steps=128, update_epochs=4,
    num_minibatches=8, learning_rate=5e-4, anneal_lr=True, gamma=0.99,
    gae_lambda=0.95, ent_coef=0.01, activation="relu", hidden_sizes=(256, 256),
)
_MISC_DISCRETE: dict[str, Any] = dict(
    total_timesteps=1_000_000, num_envs=16, num_steps=128, update_epochs=4,
    num_minibatches=8, learning_rate=5e-4, anneal_lr=True, gamma=0.99,
    gae_lambda=0.95, ent_coef=0.01, activation="relu", hidden_sizes=(64, 64),
)
# brax notebook layout (massively parallel, accelerator-sized batches).
_BRAX_NOTEBOOK: dict[str, Any] = dict(
    num_envs=2048, update_epochs=4, num_minibatches=32, learning_rate=3e-4,
    anneal_lr=False, gae_lambda=0.95, ent_coef=1e-2, activation="tanh",
    hidden_sizes=(256, 256), normalize_obs=True, normalize_reward=False,
)
# cleanrl MuJoCo layout with 32 envs x 64 steps = cleanrl's 2048-step batch.
_BRAX_CLEANRL: dict[str, Any] = dict(
    total_timesteps=1_000_000, num_envs=32, num_steps=64, update_epochs=10,
    num_minibatches=32, learning_rate=3e-4, anneal_lr=True, gamma=0.99,
    gae_lambda=0.95, ent_coef=0.0, activation="tanh", hidden_sizes=(64, 64),
    normalize_obs=True, normalize_reward=True,
)


# Optional JAX suites (jumanji / xminigrid / craftax / playground), CPU-sized batches.
_SUITE_DISCRETE: dict[str, Any] = dict(
    total_timesteps=1_000_000, num_envs=16, num_steps=128, update_epochs=4,
    num_minibatches=8, learning_rate=5e-4, anneal_lr=True, gamma=0.99,
    gae_lambda=0.95, ent_coef=0.01, activation="relu", hidden_sizes=(256, 256),
)


def _entry(family: Mapping[str, Any], **specific: Any) -> Mapping[str, Any]:
    return MappingProxyType({**family, **specific})


_PRESET_TABLE: dict[str, tuple[Mapping[str, Any], str]] = {
    # ----------------------------------------------------------- classic control
    "CartPole-v1": (
        _entry(_CLASSIC_DISCRETE),
        "cleanrl ppo.py defaults. Measured here: 480.6 mean final return, 8 seeds, 500k "
        "steps (tests/test_learning.py).",
    ),
    "Acrobot-v1": (
        _entry(_CLASSIC_DISCRETE),
        "cleanrl ppo.py defaults (cleanrl reports -86.4 at 500k). Measured here: -82.1, "
        "4 seeds, 500k steps (tests/test_learning.py).",
    ),
    "MountainCar-v0": (
        _entry(
            _CLASSIC_DISCRETE, total_timesteps=1_000_000, num_envs=16, num_steps=16,
            num_minibatches=4, learning_rate=3e-4, gae_lambda=0.98, ent_coef=0.0,
            normalize_obs=True,
        ),
        "rl-baselines3-zoo PPO MountainCar-v0 (16 envs x 16 steps, lambda 0.98, "
        "entropy 0, normalized observations). Sparse reward: PPO often stays at -200. "
        "Not measured here.",
    ),
    "Pendulum-v1": (
        _entry(
            _CONTINUOUS_SMALL, total_timesteps=1_000_000, learning_rate=1e-3,
            gamma=0.95,
        ),
        "rl-baselines3-zoo / gymnax-blines Pendulum (short horizon gamma 0.9-0.95, lr "
        "1e-3, 10 epochs, entropy 0) with obs + reward normalization. Measured here: "
        "-159.6 mean final return, 4 seeds, 1M steps (tests/test_learning.py).",
    ),
    "MountainCarContinuous-v0": (
        _entry(
            _CONTINUOUS_SMALL, total_timesteps=1_000_000, num_envs=16, num_steps=64,
            num_minibatches=8, learning_rate=1e-4, gamma=0.9999, gae_lambda=0.9,
            clip_eps=0.1, ent_coef=0.005, vf_coef=0.2, max_grad_norm=5.0,
            normalize_reward=False,
        ),
        "rl-baselines3-zoo PPO MountainCarContinuous-v0 (gamma 0.9999, lambda 0.9, "
        "clip 0.1, entropy ~4e-3, vf 0.19, grad-norm 5, normalized obs); the zoo "
        "also uses gSDE exploration, which this library does not have. See "
        "tests/test_brax_learning.py for what was measured here.",
    ),
    # ------------------------------------------------------------------- MinAtar
    "Asterix-MinAtar": (
        _entry(_MINATAR),
        "purejaxrl / gymnax-blines MinAtar PPO layout. Not measured here.",
    ),
    "Breakout-MinAtar": (
        _entry(_MINATAR),
        "purejaxrl / gymnax-blines MinAtar PPO layout (purejaxrl's MinAtar example "
        "is Breakout). Not measured here beyond a finite-loss smoke run.",
    ),
    "Freeway-MinAtar": (
        _entry(_MINATAR, ent_coef=0.005),
        "purejaxrl / gymnax-blines MinAtar PPO layout; lower entropy bonus because "
        "Freeway's reward needs long consistent 'up' sequences (2500-step episodes). "
        "Not measured here.",
    ),
    "Seaquest-MinAtar": (
        _entry(_MINATAR, learning_rate=3e-4),
        "purejaxrl / gymnax-blines MinAtar PPO layout with a smaller step size (6 "
        "actions, 10 channels). Not measured here.",
    ),
    "SpaceInvaders-MinAtar": (
        _entry(_MINATAR),
        "purejaxrl / gymnax-blines MinAtar PPO layout. Not measured here.",
    ),
    # -------------------------------------------------------------------- bsuite
    "Catch-bsuite": (_entry(_BSUITE), "bsuite family default. Not measured here."),
    "DeepSea-bsuite": (
        _entry(_BSUITE, ent_coef=0.05),
        "bsuite family default with more entropy (exploration task). Not measured here.",
    ),
    "MemoryChain-bsuite": (_entry(_BSUITE), "bsuite family default. Not measured here."),
    "UmbrellaChain-bsuite": (_entry(_BSUITE), "bsuite family default. Not measured here."),
    "DiscountingChain-bsuite": (
        _entry(_BSUITE, gamma=0.999),
        "bsuite family default, long horizon. Not measured here.",
    ),
    "MNISTBandit-bsuite": (
        _entry(_BSUITE, gamma=0.0, gae_lambda=0.0, hidden_sizes=(128, 128)),
        "bsuite family default as a contextual bandit (gamma 0). Not measured here.",
    ),
    "SimpleBandit-bsuite": (
        _entry(_BSUITE, gamma=0.0, gae_lambda=0.0),
        "bsuite family default as a bandit (gamma 0). Not measured here.",
    ),
    # ---------------------------------------------------------------------- misc
    "FourRooms-misc": (_entry(_MISC_DISCRETE), "misc discrete default. Not measured here."),
    "MetaMaze-misc": (_entry(_MISC_DISCRETE), "misc discrete default. Not measured here."),
    "BernoulliBandit-misc": (
        _entry(_MISC_DISCRETE, gamma=0.0, gae_lambda=0.0),
        "misc default as a bandit (gamma 0). Not measured here.",
    ),
    "GaussianBandit-misc": (
        _entry(_MISC_DISCRETE, gamma=0.0, gae_lambda=0.0),
        "misc default as a bandit (gamma 0). Not measured here.",
    ),
    "Pong-misc": (
        _entry(_MISC_DISCRETE, num_envs=64, hidden_sizes=(256, 256)),
        "misc default with MinAtar-sized batch and network (image observations). "
        "Not measured here.",
    ),
    "FrozenLake-misc": (_entry(_MISC_DISCRETE), "misc discrete default. Not measured here."),
    "PointRobot-misc": (
        _entry(_CONTINUOUS_SMALL),
        "small continuous-control default (cleanrl MuJoCo-style, vectorized). Not "
        "measured here.",
    ),
    "Reacher-misc": (
        _entry(_CONTINUOUS_SMALL),
        "small continuous-control default. Not measured here.",
    ),
    "Swimmer-misc": (
        _entry(_CONTINUOUS_SMALL, gamma=0.9999),
        "small continuous-control default; gamma 0.9999 as rl-baselines3-zoo uses for "
        "MuJoCo Swimmer. Not measured here.",
    ),
    # ---------------------------------------------------------------------- brax
    "brax/ant": (
        _entry(
            _BRAX_NOTEBOOK, total_timesteps=50_000_000, num_envs=4096, num_steps=80,
            gamma=0.97, reward_scale=10.0,
        ),
        "brax notebook PPO ant (50M steps, reward scaling 10, discount 0.97, entropy "
        "1e-2, 4 epochs x 32 minibatches, 4096 envs; batch 4096 x 80 = brax's 2048 x "
        "32 x 5). brax reports ~8000 in ~3 min on an accelerator. Not "
        "measured here (no GPU).",
    ),
    "brax/halfcheetah": (
        _entry(
            _BRAX_NOTEBOOK, total_timesteps=50_000_000, num_steps=160,
            update_epochs=8, gamma=0.95, ent_coef=1e-3, reward_scale=1.0,
        ),
        "brax notebook PPO halfcheetah (50M, reward scaling 1, discount 0.95, entropy "
        "1e-3, 8 epochs x 32 minibatches, unroll 20; batch 2048 x 160 = 512 x 32 x 20). "
        "Not measured here beyond the tiny benchmark run.",
    ),
    "brax/humanoid": (
        _entry(
            _BRAX_NOTEBOOK, total_timesteps=50_000_000, num_steps=160,
            update_epochs=8, gamma=0.97, ent_coef=1e-3, reward_scale=0.1,
        ),
        "brax notebook PPO humanoid (50M, reward scaling 0.1, discount 0.97, entropy "
        "1e-3, 8 epochs x 32 minibatches, unroll 10). Not measured here.",
    ),
    "brax/humanoidstandup": (
        _entry(
            _BRAX_NOTEBOOK, total_timesteps=100_000_000, num_steps=240,
            update_epochs=8, learning_rate=6e-4, gamma=0.97, reward_scale=0.1,
        ),
        "brax notebook PPO humanoidstandup (100M, reward scaling 0.1, discount 0.97, "
        "lr 6e-4, entropy 1e-2, 8 epochs x 32 minibatches, unroll 15). Not measured "
        "here.",
    ),
    "brax/inverted_pendulum": (
        _entry(
            _BRAX_NOTEBOOK, total_timesteps=2_000_000, num_steps=80, gamma=0.97,
            reward_scale=10.0,
        ),
        "brax notebook PPO inverted_pendulum (2M, reward scaling 10, discount 0.97, "
        "entropy 1e-2, 4 epochs x 32 minibatches). See tests/test_brax_learning.py for "
        "the CPU-sized run measured here.",
    ),
    "brax/inverted_double_pendulum": (
        _entry(
            _BRAX_NOTEBOOK, total_timesteps=20_000_000, num_steps=80, gamma=0.97,
            reward_scale=10.0,
        ),
        "brax notebook PPO inverted_double_pendulum (20M, otherwise as "
        "inverted_pendulum). Not measured here.",
    ),
    "brax/reacher": (
        _entry(
            _BRAX_NOTEBOOK, total_timesteps=50_000_000, num_steps=200,
            update_epochs=8, gamma=0.95, ent_coef=1e-3, reward_scale=5.0,
        ),
        "brax notebook PPO reacher (50M, reward scaling 5, discount 0.95, entropy 1e-3, "
        "8 epochs x 32 minibatches, unroll 50; brax's action_repeat 4 is not "
        "supported). Not measured here.",
    ),
    "brax/pusher": (
        _entry(
            _BRAX_NOTEBOOK, total_timesteps=50_000_000, num_steps=120,
            update_epochs=8, num_minibatches=16, gamma=0.95, reward_scale=5.0,
        ),
        "brax notebook PPO pusher (50M, reward scaling 5, discount 0.95, entropy 1e-2, "
        "8 epochs x 16 minibatches, unroll 30). Not measured here.",
    ),
    "brax/hopper": (
        _entry(_BRAX_CLEANRL),
        "brax's notebook trains hopper with SAC, so this is cleanrl's MuJoCo PPO "
        "(1M steps, 2048-step batches as 32 envs x 64, 10 epochs x 32 minibatches, "
        "obs + reward normalization, tanh 64x64); rejax reports hopper 1M at 0.8 "
        "s/agent with 300 agents on a GPU. Not measured here beyond the tiny "
        "benchmark run.",
    ),
    "brax/walker2d": (
        _entry(_BRAX_CLEANRL),
        "as brax/hopper (brax's notebook uses SAC here): cleanrl MuJoCo PPO. Not "
        "measured here.",
    ),
    "brax/swimmer": (
        _entry(_BRAX_CLEANRL, gamma=0.9999),
        "cleanrl MuJoCo PPO with gamma 0.9999 (rl-baselines3-zoo Swimmer). Not "
        "measured here.",
    ),
    # ---------------------------------------------------- optional JAX suites
    "jumanji/Snake-v1": (
        _entry(_SUITE_DISCRETE),
        "MinAtar-like layout at CPU size (16 envs x 128, 4 x 8 minibatches, relu "
        "256x256, lr 5e-4, entropy 0.01); masked policy (jumanji's action mask). See "
        "README 'JAX environment suites' for what was measured.",
    ),
    "jumanji/Game2048-v1": (
        _entry(_SUITE_DISCRETE),
        "as jumanji/Snake-v1. See README 'JAX environment suites'.",
    ),
    "xminigrid/MiniGrid-Empty-8x8": (
        _entry(_SUITE_DISCRETE, total_timesteps=500_000, hidden_sizes=(64, 64)),
        "16 envs x 128, relu 64x64 over the one-hot 7x7 view. See README 'JAX "
        "environment suites'.",
    ),
    "xminigrid/MiniGrid-DoorKey-5x5": (
        _entry(_SUITE_DISCRETE, hidden_sizes=(64, 64)),
        "as xminigrid/MiniGrid-Empty-8x8 with 1M steps. See README 'JAX environment "
        "suites'.",
    ),
    "craftax/Craftax-Classic-Symbolic-v1": (
        _entry(
            _SUITE_DISCRETE, num_envs=64, num_steps=64, learning_rate=2e-4,
            gae_lambda=0.8, activation="tanh", hidden_sizes=(512, 512, 512),
        ),
        "Craftax's PPO settings (lr 2e-4, lambda 0.8, entropy 0.01, 4 epochs x 8 "
        "minibatches, tanh 512x3) with 64 instead of 1024 envs for a CPU; for the "
        "1B-step benchmark on an accelerator use num_envs=1024, "
        "total_timesteps=1_000_000_000 (see README).",
    ),
    "playground/CartpoleBalance": (
        _entry(_BRAX_CLEANRL, total_timesteps=500_000),
        "cleanrl MuJoCo layout (32 envs x 64, 10 x 32 minibatches, obs + reward "
        "normalization, tanh 64x64). See README 'JAX environment suites'.",
    ),
}



def _suite_defaults() -> None:
    """Family defaults for the suite environments without a hand-set entry above."""
    from purejaxppo.envs import craftax, jumanji, playground, xminigrid

    families = (
        (jumanji.ENV_NAMES, _SUITE_DISCRETE, "jumanji family default (as jumanji/Snake-v1)"),
        (xminigrid.ENV_NAMES, {**_SUITE_DISCRETE, "hidden_sizes": (64, 64)},
         "xminigrid family default (as xminigrid/MiniGrid-DoorKey-5x5)"),
        (craftax.ENV_NAMES, _PRESET_TABLE["craftax/Craftax-Classic-Symbolic-v1"][0],
         "as craftax/Craftax-Classic-Symbolic-v1"),
        (playground.ENV_NAMES, _BRAX_CLEANRL, "cleanrl MuJoCo layout (as brax/hopper)"),
    )
    for names, family, note in families:
        for name in names:
            if name not in _PRESET_TABLE:
                _PRESET_TABLE[name] = (_entry(family), f"{note}. Not measured here.")


_suite_defaults()

PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {name: fields for name, (fields, _) in _PRESET_TABLE.items()}
)
"""``env_name -> {PPOConfig field: value}`` for every supported environment."""

PRESET_NOTES: Mapping[str, str] = MappingProxyType(
    {name: note for name, (_, note) in _PRESET_TABLE.items()}
)
"""``env_name -> where the preset came from and what was measured here``."""


def preset_config(env_name: str, /, **overrides: Any) -> PPOConfig:
    """A validated :class:`PPOConfig` with the preset for ``env_name``.

    Args:
      env_name: a supported environment name (a key of :data:`PRESETS`), e.g.
        ``"CartPole-v1"`` or ``"brax/ant"``.
      **overrides: ``PPOConfig`` fields that replace preset values, e.g.
        ``total_timesteps=100_000`` or ``num_envs=64``.

    Returns:
      The configuration (validated by ``PPOConfig``).

    Raises:
      ValueError: ``env_name`` has no preset (the message lists the valid names), an
        override is not a ``PPOConfig`` field (or is ``env_name``), or the resulting
        configuration is invalid.
    """
    if not isinstance(env_name, str) or env_name not in PRESETS:
        raise ValueError(
            f"no preset for env_name {env_name!r}; valid names: {sorted(PRESETS)}"
        )
    valid_fields = set(field_names())
    unknown = sorted(set(overrides) - valid_fields)
    if unknown:
        raise ValueError(
            f"unknown PPOConfig field(s) {unknown} in preset overrides; valid fields: "
            f"{field_names()}"
        )
    if "env_name" in overrides:
        raise ValueError(
            "env_name cannot be overridden; pass the environment as the first argument"
        )
    fields = {**PRESETS[env_name], **overrides}
    return PPOConfig(env_name=env_name, **fields)


def preset_names() -> list[str]:
    """All environment names that have a preset, sorted."""
    return sorted(PRESETS)


def _check_fields() -> None:
    """Import-time guard: every preset key is a PPOConfig field."""
    known = {f.name for f in dataclasses.fields(PPOConfig)}
    for name, fields in PRESETS.items():
        bad = set(fields) - known
        if bad:  # pragma: no cover - a programming error in this table
            raise RuntimeError(f"preset {name} has unknown fields {sorted(bad)}")


_check_fields()
