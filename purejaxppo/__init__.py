"""purejaxppo: PPO in pure JAX, one jit-compiled train function.

>>> import jax
>>> from purejaxppo import PPOConfig, make_train
>>> train = make_train(PPOConfig(env_name="CartPole-v1", total_timesteps=500_000))
>>> out = jax.jit(train)(jax.random.PRNGKey(0))
"""

import os as _os

# ``import purejaxppo`` leaves XLA_FLAGS alone (see purejaxppo/runtime.py for the
# stall these flags were once set against, and its real fix). The old flags remain
# available on request: PUREJAXPPO_XLA_WORKAROUND=1.
if _os.environ.get("PUREJAXPPO_XLA_WORKAROUND"):
    from purejaxppo.runtime import apply_cpu_workaround as _apply_cpu_workaround

    _apply_cpu_workaround()

from purejaxppo import presets as _presets  # noqa: F401  (registers PPOConfig.preset)
from purejaxppo.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from purejaxppo.config import TRACED_FIELDS, HParams, PPOConfig
from purejaxppo.envs import env_names, make_env, randomize_env, wrap_gymnax
from purejaxppo.evaluate import EvalResult, evaluate, make_evaluate
from purejaxppo.gae import compute_gae
from purejaxppo.loop import ChunkInfo, train_in_chunks
from purejaxppo.pbt import PBTResult, pbt
from purejaxppo.sweep import SweepResult, sweep
from purejaxppo.train import (
    METRIC_NAMES,
    Trainer,
    TrainOutput,
    TrainState,
    env_steps,
    make_train,
    make_trainer,
)

__version__ = "0.1.0"

__all__ = [
    "METRIC_NAMES",
    "TRACED_FIELDS",
    "Checkpoint",
    "ChunkInfo",
    "EvalResult",
    "HParams",
    "PBTResult",
    "PPOConfig",
    "SweepResult",
    "TrainOutput",
    "TrainState",
    "Trainer",
    "compute_gae",
    "env_names",
    "env_steps",
    "evaluate",
    "load_checkpoint",
    "make_env",
    "make_evaluate",
    "make_train",
    "make_trainer",
    "pbt",
    "randomize_env",
    "save_checkpoint",
    "sweep",
    "train_in_chunks",
    "wrap_gymnax",
]
