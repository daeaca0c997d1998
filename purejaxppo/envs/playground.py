"""Adapter from `MuJoCo Playground <https://github.com/google-deepmind/mujoco_playground>`_
(PyPI ``playground``) to :class:`~purejaxppo.envs.base.EnvAdapter`, registered as
``"playground/<Env>"``.

playground is an optional extra (``pip install "purejaxppo[playground]"``), imported
lazily. Only the DeepMind Control Suite environments are exposed: their models ship
with the package and run offline on CPU. Playground's locomotion and manipulation
environments clone robot assets from GitHub when first built, so they are refused
with a ``ValueError``.

Playground environments have brax's ``State`` API (``reset(key)``,
``step(state, action)``, ``done`` for a true terminal state, no time limit of their
own: playground's training wrappers add ``episode_length``). So this adapter is the
brax adapter (:class:`~purejaxppo.envs.brax.BraxAdapter`) around the raw playground
environment: ``terminated`` is the environment's ``done``, ``truncated`` is the
adapter's ``episode_length`` (playground's default config value, 1000 for DM
Control), and every auto-reset draws a fresh start state. Physics runs with MJX's
pure-JAX implementation (``impl="jax"``), which works on CPU; playground's default
``warp`` implementation needs an NVIDIA GPU to be fast.
"""

from __future__ import annotations

import contextlib
import io

from purejaxppo.envs._suite import import_suite
from purejaxppo.envs.brax import BraxAdapter

PREFIX = "playground/"
# mujoco_playground.dm_control_suite.ALL_ENVS of playground 0.2.0.
PLAYGROUND_ENVS: tuple[str, ...] = (
    "AcrobotSwingup",
    "AcrobotSwingupSparse",
    "BallInCup",
    "CartpoleBalance",
    "CartpoleBalanceSparse",
    "CartpoleSwingup",
    "CartpoleSwingupSparse",
    "CheetahRun",
    "FingerSpin",
    "FingerTurnEasy",
    "FingerTurnHard",
    "FishSwim",
    "HopperHop",
    "HopperStand",
    "HumanoidStand",
    "HumanoidWalk",
    "HumanoidRun",
    "PendulumSwingup",
    "PointMass",
    "ReacherEasy",
    "ReacherHard",
    "SwimmerSwimmer6",
    "WalkerRun",
    "WalkerStand",
    "WalkerWalk",
)
ENV_NAMES: tuple[str, ...] = tuple(PREFIX + env for env in PLAYGROUND_ENVS)


def check_name(name: str) -> str:
    env = name[len(PREFIX) :]
    if env not in PLAYGROUND_ENVS:
        raise ValueError(
            f"{name} is not supported: only the DM Control Suite environments of "
            "MuJoCo Playground are (the locomotion and manipulation ones clone robot "
            f"assets from the internet when built, which is not available offline); "
            f"valid names: {list(ENV_NAMES)}"
        )
    return env


def make(name: str, episode_length: int | None = None, impl: str = "jax") -> BraxAdapter:
    """Builds the adapter for ``"playground/<Env>"``.

    Args:
      name: one of :data:`ENV_NAMES`, e.g. ``"playground/CartpoleBalance"``.
      episode_length: time limit in steps (default: playground's config value).
      impl: MJX implementation, ``"jax"`` (default, CPU-friendly) or ``"warp"``.
    """
    env_id = check_name(name)
    if impl not in ("jax", "warp"):
        raise ValueError(f"impl must be 'jax' or 'warp', got {impl!r}")
    if episode_length is not None and (
        isinstance(episode_length, bool)
        or not isinstance(episode_length, int)
        or episode_length <= 0
    ):
        raise ValueError(f"episode_length must be a positive int, got {episode_length!r}")
    import_suite("mujoco_playground", "playground")
    # Importing playground initialises warp, which prints its device banner.
    with contextlib.redirect_stdout(io.StringIO()):
        from mujoco_playground import registry

        config = registry.get_default_config(env_id)
        env = registry.load(env_id, config_overrides={"impl": impl})
    length = int(episode_length if episode_length is not None else config.episode_length)
    if int(getattr(config, "action_repeat", 1)) != 1:
        raise ValueError(f"{name}: action_repeat != 1 is not supported")
    return BraxAdapter(name=name, env=env, backend=f"mjx-{impl}", episode_length=length)
