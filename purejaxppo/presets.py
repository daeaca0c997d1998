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
* **cleanrl** ``ppo_continuous_action.py`` is also the layout of the brax presets that
  fit a CPU (inverted pendulums, reacher, hopper, walker2d, halfcheetah, swimmer):
  cleanrl's ONE env x 2048 steps becomes 32 envs x 64 steps (2,048 env steps per
  update), 32 minibatches of 64 transitions, 10 epochs, 1M steps (500k for
  inverted_pendulum).
* **brax training notebook** PPO settings (ant, humanoid, humanoidstandup, pusher:
  budgets of 50M-100M steps that need an accelerator), translated by meaning. brax's
  training step collects ``batch_size * num_minibatches`` trajectories of
  ``unroll_length`` steps from ``num_envs`` envs, i.e.
  ``batch_size * num_minibatches * unroll_length`` env steps per update (times
  ``action_repeat``), and each of ``num_updates_per_batch`` epochs splits them into
  ``num_minibatches`` minibatches of ``batch_size * unroll_length`` transitions. Here
  that is ``num_envs * num_steps`` with ``num_steps = batch_size * num_minibatches *
  unroll_length / num_envs``, the same ``num_minibatches`` and
  ``update_epochs = num_updates_per_batch``; each note writes the arithmetic out and
  ``tests/test_presets.py`` checks it. Reproduced from brax: the tanh-squashed
  Gaussian with a softplus state-dependent std (+0.001) (``policy_head=
  "tanh_gaussian"``), 4x32 swish policy and 5x256 swish value nets
  (``critic_hidden_sizes``), clip 0.3, no value clipping, constant learning rate,
  reward scaling, discount, entropy cost, observation normalization. Not reproduced:
  brax computes GAE inside each ``unroll_length`` segment (bootstrapping from the
  segment's last value; here GAE runs over the whole ``num_steps`` rollout), updates
  the observation statistics before the epochs (here after), uses Adam eps 1e-8 and
  no gradient clipping (here 1e-5 and global norm 0.5), and its loop rounds the
  budget up to whole evaluation epochs (its inverted_pendulum "2M" runs 19 updates,
  3.1M steps). The earlier brax-notebook presets here already matched brax's env
  steps per update (inverted_pendulum: 1024 x 32 x 5 = 2048 envs x 80 = 163,840, 13
  updates in 2M) but with this library's state-independent clipped Gaussian and one
  256x256 tanh net for both actor and critic they reached ~80 of 1000 at 2M;
  inverted_pendulum, inverted_double_pendulum, reacher and halfcheetah now use the
  CPU-sized cleanrl layout, measured below.

Measured here (2-core CPU, jax 0.10.2): see :data:`PRESET_NOTES` and the README; the
presets whose note says "not measured here" are published starting points only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from purejaxppo.config import PPOConfig, field_names, register_presets

# Notes of the sim-to-real variants (see _VARIANT_TABLE below).
_CARTPOLE_RANDOMIZED_NOTE = (
    "CartPole-v1's preset (cleanrl ppo.py, 500k steps) with domain randomization: pole "
    "half-length in [0.25, 1.0], pole mass in [0.05, 0.2] and cart mass in [0.5, 2.0] "
    "(nominal 0.5, 0.1, 1.0), drawn per environment at every episode start. Measured "
    "here, 8 seeds: final training return 500.0 for every seed (as nominal training); "
    "deterministic returns on poles longer than trained, half-length 1.5: IQM 500.0 vs "
    "19.0 for nominal training, 2.0: 263.5 vs 18.1; on shorter poles (0.1, 0.15) it is "
    "slightly worse than nominal training (200.1 vs 254.6, 491.0 vs 500.0); mean over "
    "the 17 off-range grid points 264.9 [237.6, 294.7] vs 188.5 [176.5, 206.8] "
    "(`python benchmarks/sim_to_real.py --part ood --seeds 8`)."
)
_MASKED_PRIVILEGED_NOTE = (
    "MaskedCartPole-v1's preset (GRU 64 actor, 16 envs, lr 1e-3, 500k steps) with an "
    "asymmetric critic: value_obs_key='privileged_state', so the critic (an MLP, no "
    "memory) reads the full state [x, x_dot, theta, theta_dot] during training while "
    "the actor still sees [x, theta] only. Measured here, 8 seeds, same keys as the "
    "symmetric preset: final training return IQM 500.0 [486.3, 500.0] vs 475.1 [351.8, "
    "500.0]; deterministic evaluation 500.0 vs 499.8; every seed reached a training "
    "return of 400, after a median of 82.9k steps vs 111k "
    "(`python benchmarks/sim_to_real.py --part privileged --seeds 8`)."
)

# ---------------------------------------------------------------- family defaults
_CLASSIC_DISCRETE: dict[str, Any] = dict(
    total_timesteps=500_000,
    num_envs=4,
    num_steps=128,
    update_epochs=4,
    num_minibatches=4,
    learning_rate=2.5e-4,
    anneal_lr=True,
    gamma=0.99,
    gae_lambda=0.95,
    ent_coef=0.01,
    activation="tanh",
    hidden_sizes=(64, 64),
)
_CONTINUOUS_SMALL: dict[str, Any] = dict(
    total_timesteps=1_000_000,
    num_envs=16,
    num_steps=128,
    update_epochs=10,
    num_minibatches=8,
    learning_rate=3e-4,
    anneal_lr=True,
    gamma=0.99,
    gae_lambda=0.95,
    ent_coef=0.0,
    activation="tanh",
    hidden_sizes=(64, 64),
    normalize_obs=True,
    normalize_reward=True,
)
_BSUITE: dict[str, Any] = dict(
    total_timesteps=500_000,
    num_envs=16,
    num_steps=64,
    update_epochs=4,
    num_minibatches=4,
    learning_rate=5e-4,
    anneal_lr=True,
    gamma=0.99,
    gae_lambda=0.95,
    ent_coef=0.01,
    activation="tanh",
    hidden_sizes=(64, 64),
)
_MINATAR: dict[str, Any] = dict(
    total_timesteps=10_000_000,
    num_envs=64,
    num_steps=128,
    update_epochs=4,
    num_minibatches=8,
    learning_rate=5e-4,
    anneal_lr=True,
    gamma=0.99,
    gae_lambda=0.95,
    ent_coef=0.01,
    activation="relu",
    hidden_sizes=(256, 256),
)
_MISC_DISCRETE: dict[str, Any] = dict(
    total_timesteps=1_000_000,
    num_envs=16,
    num_steps=128,
    update_epochs=4,
    num_minibatches=8,
    learning_rate=5e-4,
    anneal_lr=True,
    gamma=0.99,
    gae_lambda=0.95,
    ent_coef=0.01,
    activation="relu",
    hidden_sizes=(64, 64),
)
# brax training-notebook PPO, translated (see the module docstring): brax's policy
# head (tanh-squashed Gaussian, softplus state-dependent std + 0.001), 4x32 swish
# policy and 5x256 swish value nets, clip 0.3, no value clipping, constant lr,
# observation normalization, no reward normalization (brax scales rewards instead).
_BRAX_NOTEBOOK: dict[str, Any] = dict(
    num_envs=2048,
    update_epochs=4,
    num_minibatches=32,
    learning_rate=3e-4,
    anneal_lr=False,
    gamma=0.97,
    gae_lambda=0.95,
    clip_eps=0.3,
    clip_vloss=False,
    ent_coef=1e-2,
    activation="silu",
    hidden_sizes=(32, 32, 32, 32),
    critic_hidden_sizes=(256, 256, 256, 256, 256),
    policy_head="tanh_gaussian",
    normalize_obs=True,
    normalize_reward=False,
)
# cleanrl ppo_continuous_action.py (MuJoCo) with 32 envs x 64 steps = cleanrl's
# 2048-step batch of ONE env; 32 minibatches of 64 transitions, 10 epochs.
_BRAX_CLEANRL: dict[str, Any] = dict(
    total_timesteps=1_000_000,
    num_envs=32,
    num_steps=64,
    update_epochs=10,
    num_minibatches=32,
    learning_rate=3e-4,
    anneal_lr=True,
    gamma=0.99,
    gae_lambda=0.95,
    ent_coef=0.0,
    activation="tanh",
    hidden_sizes=(64, 64),
    normalize_obs=True,
    normalize_reward=True,
)


# Optional JAX suites (jumanji / xminigrid / craftax / playground), CPU-sized batches.
_SUITE_DISCRETE: dict[str, Any] = dict(
    total_timesteps=1_000_000,
    num_envs=16,
    num_steps=128,
    update_epochs=4,
    num_minibatches=8,
    learning_rate=5e-4,
    anneal_lr=True,
    gamma=0.99,
    gae_lambda=0.95,
    ent_coef=0.01,
    activation="relu",
    hidden_sizes=(256, 256),
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
            _CLASSIC_DISCRETE,
            total_timesteps=1_000_000,
            num_envs=16,
            num_steps=16,
            num_minibatches=4,
            learning_rate=3e-4,
            gae_lambda=0.98,
            ent_coef=0.0,
            normalize_obs=True,
        ),
        "rl-baselines3-zoo PPO MountainCar-v0 (16 envs x 16 steps, lambda 0.98, "
        "entropy 0, normalized observations). Sparse reward: PPO often stays at -200. "
        "Not measured here.",
    ),
    "Pendulum-v1": (
        _entry(
            _CONTINUOUS_SMALL,
            total_timesteps=1_000_000,
            learning_rate=1e-3,
            gamma=0.95,
        ),
        "rl-baselines3-zoo / gymnax-blines Pendulum (short horizon gamma 0.9-0.95, lr "
        "1e-3, 10 epochs, entropy 0) with obs + reward normalization; the zoo's own "
        "layout (4 envs x 1024, minibatch 64, gSDE, 100k steps) is not translated. "
        "Layout: 16 envs x 128 steps = 2,048 env steps per update; 10 epochs x 8 "
        "minibatches of 256 transitions; 489 updates = 1,001,472 env steps. "
        "Measured here at this full budget: final IQM -169.9 [95% CI -191.9, -103.8], "
        "4 seeds (`python benchmarks/learning.py --continuous --envs Pendulum-v1`).",
    ),
    "MountainCarContinuous-v0": (
        _entry(
            _CONTINUOUS_SMALL,
            total_timesteps=1_000_000,
            num_envs=16,
            num_steps=64,
            num_minibatches=8,
            learning_rate=1e-4,
            gamma=0.9999,
            gae_lambda=0.9,
            clip_eps=0.1,
            ent_coef=0.005,
            vf_coef=0.2,
            max_grad_norm=5.0,
            normalize_reward=False,
        ),
        "rl-baselines3-zoo PPO MountainCarContinuous-v0 (gamma 0.9999, lambda 0.9, "
        "clip 0.1, entropy ~4e-3, vf 0.19, grad-norm 5, normalized obs); the zoo "
        "also uses gSDE exploration, which this library does not have. Layout: 16 "
        "envs x 64 steps = 1,024 env steps per update; 10 epochs x 8 minibatches of "
        "128 transitions; 977 updates = 1,000,448 env steps. Measured here at this full "
        "budget: final IQM 94.4 [93.7, 94.9], 4 seeds "
        "(`python benchmarks/learning.py --continuous --envs "
        "MountainCarContinuous-v0`).",
    ),
    # ------------------------------------------------------------------- MinAtar
    "Asterix-MinAtar": (
        _entry(_MINATAR),
        "purejaxrl / gymnax-blines MinAtar PPO layout. Not measured here.",
    ),
    "Breakout-MinAtar": (
        _entry(_MINATAR),
        "purejaxrl / gymnax-blines MinAtar PPO layout (purejaxrl's MinAtar example "
        "is Breakout). Measured here at total_timesteps=2M (not the 10M preset "
        "budget), 1 seed: final return 17.2; the same preset with torso='cnn' 11.5 at "
        "13x fewer steps/s, so the preset stays MLP (`python benchmarks/cnn_vs_mlp.py "
        "--envs Breakout-MinAtar --seeds 1 --chunk 7`).",
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
        "purejaxrl / gymnax-blines MinAtar PPO layout. Measured here at "
        "total_timesteps=2M (not the 10M preset budget), 1 seed: final return 98.3; "
        "with torso='cnn' 106.9 at 9x fewer steps/s on the CPU, so the preset stays "
        "MLP (`python benchmarks/cnn_vs_mlp.py --envs SpaceInvaders-MinAtar --seeds 1 "
        "--chunk 7`).",
    ),
    # -------------------------------------------------------------------- bsuite
    "Catch-bsuite": (_entry(_BSUITE), "bsuite family default. Not measured here."),
    "DeepSea-bsuite": (
        _entry(_BSUITE, ent_coef=0.05),
        "bsuite family default with more entropy (exploration task). Not measured here.",
    ),
    "MemoryChain-bsuite": (
        _entry(
            _BSUITE,
            total_timesteps=100_000,
            memory="gru",
            memory_size=32,
            env_kwargs=(("memory_length", 10),),
        ),
        "bsuite family default with a 32-unit GRU policy and a 10-step memory "
        "(memory_length=10). Measured here: 0.99 mean final return, 4 seeds, 100k steps "
        "(a feed-forward policy: 0.05, chance level 0; gymnax-blines report ~0.1 for "
        "feed-forward PPO); >= 0.9 at 50k (tests/test_memory_learning.py).",
    ),
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
        "small continuous-control default (cleanrl MuJoCo-style, vectorized). Layout: "
        "16 envs x 128 steps = 2,048 env steps per update; 10 epochs x 8 minibatches "
        "of 256 transitions; 489 updates = 1,001,472 env steps. Measured here at this "
        "full budget: final IQM 4.1 [1.4, 4.8], 4 seeds, rising "
        "from 0.5 (sparse goal reward; no published figure found) (`python "
        "benchmarks/learning.py --continuous --envs PointRobot-misc`).",
    ),
    "Reacher-misc": (
        _entry(_CONTINUOUS_SMALL),
        "small continuous-control default. Layout: 16 envs x 128 steps = 2,048 env "
        "steps per update; 10 epochs x 8 minibatches of 256 transitions; 489 updates "
        "= 1,001,472 env steps. "
        "Measured here at this full budget: final IQM 37.6 [35.2, 47.1], 4 seeds, "
        "rising from 18.3 (first update); no published figure found (`python "
        "benchmarks/learning.py --continuous --envs Reacher-misc`).",
    ),
    "Swimmer-misc": (
        _entry(_CONTINUOUS_SMALL, gamma=0.9999),
        "small continuous-control default; gamma 0.9999 as rl-baselines3-zoo uses for "
        "MuJoCo Swimmer. Layout: 16 envs x 128 steps = 2,048 env steps per update; 10 "
        "epochs x 8 minibatches of 256 transitions; 489 updates = 1,001,472 env "
        "steps. "
        "Measured here at this full budget: final IQM 234.5 [127.5, 326.3], 4 "
        "seeds, rising from 72 (first update); no published figure found (`python "
        "benchmarks/learning.py --continuous --envs Swimmer-misc`).",
    ),
    # -------------------------------------------------------------- memory tasks
    "MaskedCartPole-v1": (
        _entry(_CLASSIC_DISCRETE, num_envs=16, learning_rate=1e-3, memory="gru", memory_size=64),
        "CartPole-v1 seen through position and angle only. cleanrl ppo.py layout with "
        "16 envs, lr 1e-3 and a 64-unit GRU (torso Dense(64) -> GRU -> 64x64 heads). "
        "Measured here: 378.7 mean final return, 4 seeds, 500k steps (417.7 before "
        "the weight-gradient change of 2026-12-03 and 485.8 with the initializer "
        "used before that day: same distribution, other rounding); feed-forward with "
        "the same settings: 50.3 (tests/test_memory_learning.py). Cutting the replay "
        "into memory_chunk=32 gave 423.5; mingru (64) gave 287.9 at 500k.",
    ),
    "RepeatPrevious-v0": (
        _entry(
            _CLASSIC_DISCRETE,
            total_timesteps=300_000,
            num_envs=16,
            learning_rate=1e-3,
            memory="gru",
            memory_size=64,
        ),
        "POPGym-style recall (4 suits, answer the card of 4 steps ago, 64-step "
        "episodes; chance -0.5, best 1). Same layout as MaskedCartPole-v1. Measured "
        "here: 0.42 mean final return (0.38, 0.44, 0.39, 0.46), 4 seeds, 300k steps, "
        "still rising; mingru (64) -0.28; feed-forward -0.50 (chance).",
    ),
    # ---------------------------------------------------------------------- brax
    # Accelerator presets: brax notebook settings translated by semantics. brax runs
    # batch_size * num_minibatches trajectories of unroll_length steps per training
    # step, i.e. batch_size * num_minibatches * unroll_length env steps per update,
    # over num_envs envs; each of num_updates_per_batch epochs splits them into
    # num_minibatches minibatches of batch_size * unroll_length transitions.
    "brax/ant": (
        _entry(
            _BRAX_NOTEBOOK,
            total_timesteps=50_000_000,
            num_envs=4096,
            num_steps=80,
            reward_scale=10.0,
        ),
        "brax notebook PPO ant (num_timesteps 50M, num_envs 4096, batch_size 2048, "
        "num_minibatches 32, unroll_length 5, num_updates_per_batch 4, discounting 0.97, "
        "reward_scaling 10, entropy_cost 1e-2, lr 3e-4). Translation: 2048 x 32 x 5 = "
        "4096 envs x 80 steps = 327,680 env steps per update; 4 epochs x 32 minibatches "
        "of 10,240 transitions; 153 updates = 50,135,040 env steps. Full budget not "
        "measured (needs an accelerator). Measured here at a reduced layout (64 envs x "
        "80 steps = 5,120 per update, 4 epochs x 8 minibatches of 640 transitions) and "
        "527,360 steps (103 updates), 2 seeds: the return rises from -13.2 (first "
        "update) to a final IQM of 233.0 (243.8 and 222.2), still climbing (`python "
        "benchmarks/learning.py --continuous --envs brax/ant`). (At 26 updates, 133k "
        "steps, it had not yet left the start: -10.1.)",
    ),
    "brax/halfcheetah": (
        _entry(_BRAX_CLEANRL),
        "cleanrl ppo_continuous_action (MuJoCo HalfCheetah: 1 env x 2048 steps, 10 "
        "epochs, 32 minibatches, lr 3e-4 annealed, obs + reward normalization, tanh "
        "64x64). Translation: 32 envs x 64 steps = 2,048 env steps per update; 10 epochs "
        "x 32 minibatches of 64 transitions; 489 updates = 1,001,472 env steps. (brax's "
        "notebook uses 50M steps: 512 x 32 x 20 = 327,680 per update, 8 epochs.) "
        "Full 1M budget not measured (~20 min of this 2-core CPU for 2 seeds at the "
        "~1.6k steps/s halfcheetah trains at here). Measured at a reduced 262,144 steps "
        "(128 updates), 2 seeds: from -370 (first update) to a final IQM of 454.6 "
        "(393.4 and 515.7), still rising (`python benchmarks/learning.py --continuous "
        "--envs brax/halfcheetah`).",
    ),
    "brax/humanoid": (
        _entry(
            _BRAX_NOTEBOOK,
            total_timesteps=50_000_000,
            num_steps=160,
            update_epochs=8,
            ent_coef=1e-3,
            reward_scale=0.1,
        ),
        "brax notebook PPO humanoid (num_timesteps 50M, num_envs 2048, batch_size 1024, "
        "num_minibatches 32, unroll_length 10, num_updates_per_batch 8, discounting 0.97, "
        "reward_scaling 0.1, entropy_cost 1e-3). Translation: 1024 x 32 x 10 = 2048 envs "
        "x 160 steps = 327,680 env steps per update; 8 epochs x 32 minibatches of 10,240 "
        "transitions; 153 updates = 50,135,040 env steps. Full budget not measured "
        "(needs an accelerator); "
        "measured at a reduced layout (64 envs x 160 steps = 10,240 per update, 8 "
        "epochs x 8 minibatches of 1,280 transitions) and 266,240 steps (26 updates), 2 "
        "seeds: from 157 (first update) to a final IQM of 443.6 (449.9 and 437.3; the "
        "episodes get longer as it learns to stay up) (`python benchmarks/learning.py "
        "--continuous --envs brax/humanoid`).",
    ),
    "brax/humanoidstandup": (
        _entry(
            _BRAX_NOTEBOOK,
            total_timesteps=100_000_000,
            num_steps=240,
            update_epochs=8,
            learning_rate=6e-4,
            reward_scale=0.1,
        ),
        "brax notebook PPO humanoidstandup (num_timesteps 100M, num_envs 2048, "
        "batch_size 1024, num_minibatches 32, unroll_length 15, num_updates_per_batch 8, "
        "discounting 0.97, reward_scaling 0.1, lr 6e-4, entropy_cost 1e-2). Translation: "
        "1024 x 32 x 15 = 2048 envs x 240 steps = 491,520 env steps per update; 8 epochs "
        "x 32 minibatches of 15,360 transitions; 204 updates = 100,270,080 env steps. "
        "Full budget not measured (needs an accelerator); "
        "measured at a reduced layout (64 envs x 240 steps = 15,360 per update, 8 epochs "
        "x 8 minibatches of 1,920 transitions) and 276,480 steps (18 updates), 2 seeds: "
        "the mean return of each batch of completed 1000-step episodes rose 6812 -> "
        "10156 -> 14881 -> 16129 (final IQM 16129 [15067, 17191]) (`python "
        "benchmarks/learning.py --continuous --envs brax/humanoidstandup`).",
    ),
    "brax/inverted_pendulum": (
        _entry(_BRAX_CLEANRL, total_timesteps=500_000),
        "cleanrl ppo_continuous_action layout at 500k steps. Translation: 32 envs x 64 "
        "steps = 2,048 env steps per update; 10 epochs x 32 minibatches of 64 "
        "transitions; 245 updates = 501,760 env steps. The brax-notebook translation "
        "(2048 envs x 80 = 163,840 per update, 13 updates in 2M) reached ~80 of 1000 "
        "here. Measured here at this full budget: final IQM 1000 [1000, 1000], 2 seeds "
        "(1000 and 1000; first update 4.9) (`python benchmarks/learning.py "
        "--continuous --envs brax/inverted_pendulum`).",
    ),
    "brax/inverted_double_pendulum": (
        _entry(_BRAX_CLEANRL),
        "cleanrl ppo_continuous_action layout. Translation: 32 envs x 64 steps = 2,048 "
        "env steps per update; 10 epochs x 32 minibatches of 64 transitions; 489 "
        "updates = 1,001,472 env steps. (brax's notebook: 20M steps, 163,840 per "
        "update.) "
        "Measured here at this full budget: final IQM 9356 [9356, 9357], 2 seeds, "
        "from 140 at the first update (`python benchmarks/learning.py "
        "--continuous --envs brax/inverted_double_pendulum`).",
    ),
    "brax/reacher": (
        _entry(_BRAX_CLEANRL),
        "cleanrl ppo_continuous_action layout (brax's notebook uses action_repeat 4, "
        "which this library does not have). Translation: 32 envs x 64 steps = 2,048 env "
        "steps per update; 10 epochs x 32 minibatches of 64 transitions; 489 updates = "
        "1,001,472 env steps. "
        "Measured here at this full budget: final IQM -52.1 [-57.4, -46.8], 2 seeds, "
        "from -1050 at the first update; brax reacher episodes last 1000 steps "
        "here (MuJoCo Reacher-v4: 50), so per-step -0.05 (`python "
        "benchmarks/learning.py --continuous --envs brax/reacher`).",
    ),
    "brax/pusher": (
        _entry(
            _BRAX_NOTEBOOK,
            total_timesteps=50_000_000,
            num_steps=120,
            update_epochs=8,
            num_minibatches=16,
            gamma=0.95,
            reward_scale=5.0,
        ),
        "brax notebook PPO pusher (num_timesteps 50M, num_envs 2048, batch_size 512, "
        "num_minibatches 16, unroll_length 30, num_updates_per_batch 8, discounting 0.95, "
        "reward_scaling 5, entropy_cost 1e-2). Translation: 512 x 16 x 30 = 2048 envs x "
        "120 steps = 245,760 env steps per update; 8 epochs x 16 minibatches of 15,360 "
        "transitions; 204 updates = 50,135,040 env steps. Full budget not measured "
        "(needs an accelerator); "
        "measured at a reduced layout (64 envs x 120 steps = 7,680 per update, 8 epochs "
        "x 4 minibatches of 1,920 transitions) and 268,800 steps (35 updates), 2 seeds: "
        "from -1656 (first update) to a final IQM of -665.7 (-660.1 and -671.4) "
        "(`python benchmarks/learning.py --continuous --envs brax/pusher`).",
    ),
    "brax/hopper": (
        _entry(_BRAX_CLEANRL),
        "brax's notebook trains hopper with SAC, so this is cleanrl "
        "ppo_continuous_action. Translation: 32 envs x 64 steps = 2,048 env steps per "
        "update; 10 epochs x 32 minibatches of 64 transitions; 489 updates = 1,001,472 "
        "env steps. "
        "Measured here: at a reduced 65,536 steps (32 updates), 2 seeds: 334 and "
        "356, from 14 and 13 (uniform-random policy: 17) "
        "(tests/test_brax_learning.py); at 131,072 steps: 847 and 627. The full "
        "1M budget was measured earlier on this machine with this same preset "
        "(shared/anchors.md): 3004 and 2639, 2 seeds; it was not re-run in this "
        "change (CPU contention).",
    ),
    "brax/walker2d": (
        _entry(_BRAX_CLEANRL),
        "as brax/hopper (brax's notebook uses SAC here): cleanrl ppo_continuous_action. "
        "Translation: 32 envs x 64 steps = 2,048 env steps per update; 10 epochs x 32 "
        "minibatches of 64 transitions; 489 updates = 1,001,472 env steps. "
        "Measured here at a reduced 131,072 steps (64 updates; full budget 1M not "
        "measured): final IQM 378.3 [364.8, 391.8], 2 seeds, from 0.1 at the first "
        "update (`python benchmarks/learning.py --continuous --envs brax/walker2d`).",
    ),
    "brax/swimmer": (
        _entry(_BRAX_CLEANRL, gamma=0.9999),
        "cleanrl ppo_continuous_action with gamma 0.9999 (rl-baselines3-zoo Swimmer). "
        "Translation: 32 envs x 64 steps = 2,048 env steps per update; 10 epochs x 32 "
        "minibatches of 64 transitions; 489 updates = 1,001,472 env steps. "
        "Measured here at this full budget, 2 seeds: from 22.5 (first update) to a final "
        "IQM of 50.9 [44.2, 57.6] (it dips to ~6 early, then climbs steadily; at a "
        "reduced 262k steps it was still at 13) (`python benchmarks/learning.py "
        "--continuous --envs brax/swimmer`). brax 0.14.2's swimmer needs the adapter's "
        "jnp.clip keyword shim on jax 0.10 (purejaxppo/envs/brax.py).",
    ),
    # ---------------------------------------------------- optional JAX suites
    "jumanji/Snake-v1": (
        _entry(_SUITE_DISCRETE),
        "MinAtar-like layout at CPU size (16 envs x 128, 4 x 8 minibatches, relu "
        "256x256, lr 5e-4, entropy 0.01); masked policy (jumanji's action mask). Layout: "
        "2,048 env steps per update, 489 updates = 1,001,472 env steps. Measured here at "
        "this full budget, 2 seeds: mean return of the first 10 updates 5.8 / 6.5 -> last "
        "10 updates 17.2 / 19.5 (`python benchmarks/suites_learning.py --envs "
        "jumanji/Snake-v1 --seeds 2`).",
    ),
    "jumanji/Game2048-v1": (
        _entry(_SUITE_DISCRETE),
        "as jumanji/Snake-v1 (1,001,472 env steps). Measured here at this full budget, 2 "
        "seeds: first 10 updates 1026 / 1071 -> last 10 updates 3223 / 3320 (`python "
        "benchmarks/suites_learning.py --envs jumanji/Game2048-v1 --seeds 2`).",
    ),
    "xminigrid/MiniGrid-Empty-8x8": (
        _entry(_SUITE_DISCRETE, total_timesteps=500_000, hidden_sizes=(64, 64)),
        "16 envs x 128, relu 64x64 over the one-hot 7x7 view; 245 updates of 2,048 = "
        "501,760 env steps. Measured here at this full budget, 2 seeds: first 10 "
        "updates 0.34 / 0.25 -> last 10 updates 0.961 / 0.961 (the shortest path scores "
        "~0.96) (`python benchmarks/suites_learning.py --envs "
        "xminigrid/MiniGrid-Empty-8x8 --seeds 2`); 0.961 already at 65,536 steps "
        "(tests/test_suite_learning.py).",
    ),
    "xminigrid/MiniGrid-DoorKey-5x5": (
        _entry(_SUITE_DISCRETE, hidden_sizes=(64, 64)),
        "as xminigrid/MiniGrid-Empty-8x8 with 1M steps (489 updates of 2,048 = 1,001,472 "
        "env steps). Measured here at this full budget, 2 seeds: first 10 updates 0.29 / "
        "0.32 -> last 10 updates 0.964 / 0.964 (`python benchmarks/suites_learning.py "
        "--envs xminigrid/MiniGrid-DoorKey-5x5 --seeds 2`).",
    ),
    "craftax/Craftax-Classic-Symbolic-v1": (
        _entry(
            _SUITE_DISCRETE,
            num_envs=64,
            num_steps=64,
            learning_rate=2e-4,
            gae_lambda=0.8,
            activation="tanh",
            hidden_sizes=(512, 512, 512),
        ),
        "Craftax's PPO settings (lr 2e-4, lambda 0.8, entropy 0.01, 4 epochs x 8 "
        "minibatches, tanh 512x3) with 64 instead of 1024 envs for a CPU. Measured "
        "here at total_timesteps=524,288, 2 seeds: first 10 updates 1.71 / 1.80 -> "
        "last 10 updates 4.30 / 4.44, 1147 s on the 2-core CPU (`python "
        "benchmarks/suites_learning.py --envs craftax/Craftax-Classic-Symbolic-v1 "
        "--steps 524288 --seeds 2`). For the 1B-step benchmark on an accelerator use "
        "num_envs=1024, total_timesteps=1_000_000_000 (see README).",
    ),
    "playground/CartpoleBalance": (
        _entry(_BRAX_CLEANRL, total_timesteps=500_000),
        "cleanrl MuJoCo layout (32 envs x 64, 10 x 32 minibatches, obs + reward "
        "normalization, tanh 64x64); 245 updates = 501,760 env steps. Measured here at "
        "this full budget, 2 seeds: mean return of the last 10 updates 998.6 / 998.3 of "
        "1000 (1000-step episodes; none ends in the first 10 updates) (`python "
        "benchmarks/suites_learning.py --envs playground/CartpoleBalance --seeds 2`).",
    ),
}


def _suite_defaults() -> None:
    """Family defaults for the suite environments without a hand-set entry above."""
    from purejaxppo.envs import craftax, jumanji, playground, xminigrid

    families = (
        (jumanji.ENV_NAMES, _SUITE_DISCRETE, "jumanji family default (as jumanji/Snake-v1)"),
        (
            xminigrid.ENV_NAMES,
            {**_SUITE_DISCRETE, "hidden_sizes": (64, 64)},
            "xminigrid family default (as xminigrid/MiniGrid-DoorKey-5x5)",
        ),
        (
            craftax.ENV_NAMES,
            _PRESET_TABLE["craftax/Craftax-Classic-Symbolic-v1"][0],
            "as craftax/Craftax-Classic-Symbolic-v1",
        ),
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


# ---------------------------------------------------------------- named variants
# "<env>:<variant>" -> (fields on top of the env's preset, note). Sim-to-real
# variants: domain randomization and an asymmetric (privileged) critic.
_VARIANT_TABLE: dict[str, tuple[Mapping[str, Any], str]] = {
    "CartPole-v1:randomized": (
        MappingProxyType(
            dict(
                randomize="reset",
                randomize_ranges=(
                    ("length", 0.25, 1.0),
                    ("masspole", 0.05, 0.2),
                    ("masscart", 0.5, 2.0),
                ),
            )
        ),
        _CARTPOLE_RANDOMIZED_NOTE,
    ),
    "MaskedCartPole-v1:privileged": (
        MappingProxyType(dict(value_obs_key="privileged_state")),
        _MASKED_PRIVILEGED_NOTE,
    ),
}

VARIANTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {name: fields for name, (fields, _) in _VARIANT_TABLE.items()}
)
"""``"<env>:<variant>" -> {PPOConfig field: value}`` applied on top of ``<env>``'s
preset (e.g. ``"CartPole-v1:randomized"``)."""

VARIANT_NOTES: Mapping[str, str] = MappingProxyType(
    {name: note for name, (_, note) in _VARIANT_TABLE.items()}
)
"""``"<env>:<variant>" -> what it changes and what was measured here``."""


def variant_names() -> list[str]:
    """All named preset variants (``"<env>:<variant>"``), sorted."""
    return sorted(VARIANTS)


def preset_config(env_name: str, /, **overrides: Any) -> PPOConfig:
    """A validated :class:`PPOConfig` with the preset for ``env_name``.

    Args:
      env_name: a supported environment name (a key of :data:`PRESETS`), e.g.
        ``"CartPole-v1"`` or ``"brax/ant"``, or a named variant of
        :data:`VARIANTS` such as ``"CartPole-v1:randomized"`` (the env's preset
        with the variant's fields).
      **overrides: ``PPOConfig`` fields that replace preset values, e.g.
        ``total_timesteps=100_000`` or ``num_envs=64``.

    Returns:
      The configuration (validated by ``PPOConfig``).

    Raises:
      ValueError: ``env_name`` has no preset (the message lists the valid names), an
        override is not a ``PPOConfig`` field (or is ``env_name``), or the resulting
        configuration is invalid.
    """
    variant: Mapping[str, Any] = {}
    if isinstance(env_name, str) and env_name in VARIANTS:
        variant = VARIANTS[env_name]
        env_name = env_name.split(":", 1)[0]
    if not isinstance(env_name, str) or env_name not in PRESETS:
        raise ValueError(
            f"no preset for env_name {env_name!r}; valid names: {sorted(PRESETS)}; "
            f"variants: {variant_names()}"
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
    fields = {**PRESETS[env_name], **variant, **overrides}
    return PPOConfig(env_name=env_name, **fields)


def preset_names() -> list[str]:
    """All environment names that have a preset, sorted."""
    return sorted(PRESETS)


def _check_fields() -> None:
    """Import-time guard: every preset key is a PPOConfig field."""
    known = {f.name for f in dataclasses.fields(PPOConfig)}
    for name, fields in {**PRESETS, **VARIANTS}.items():
        bad = set(fields) - known
        if bad:  # pragma: no cover - a programming error in this table
            raise RuntimeError(f"preset {name} has unknown fields {sorted(bad)}")


_check_fields()
register_presets(preset_config)
