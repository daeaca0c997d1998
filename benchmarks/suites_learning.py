"""Learning runs of the JAX-suite presets at CPU budgets (README 'JAX environment suites').

Each environment trains its preset (``PPOConfig.preset``) with ``--seeds`` seeds
vmapped in one compiled program. Reported: the mean return of episodes completed in
the first and the last 10 updates (mean over seeds, and per seed), wall time
(compile included) and env steps/s over all seeds.

    python benchmarks/suites_learning.py --envs xminigrid/MiniGrid-Empty-8x8 --steps 300000 --seeds 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from _common import measured_stamp  # noqa: E402
from purejaxppo import PPOConfig, make_train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", required=True)
    parser.add_argument("--steps", default="", help="comma list, one per env (default: preset)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/suites_learning.json")
    args = parser.parse_args()
    envs = args.envs.split(",")
    steps = [int(s) for s in args.steps.split(",")] if args.steps else [None] * len(envs)
    out_path = Path(args.out)
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for env, budget in zip(envs, steps):
        overrides = {} if budget is None else {"total_timesteps": budget}
        config = PPOConfig.preset(env, **overrides)
        train = jax.jit(jax.vmap(make_train(config)))
        t0 = time.perf_counter()
        out = train(jax.random.split(jax.random.PRNGKey(0), args.seeds))
        ret = np.asarray(jax.block_until_ready(out.metrics["episode_return"]))
        wall = time.perf_counter() - t0
        first = np.nanmean(ret[:, :10], axis=1)
        last = np.nanmean(ret[:, -10:], axis=1)
        results[env] = {
            "config": config.to_dict(),
            "seeds": args.seeds,
            "steps_per_seed": config.steps_trained,
            "first10_return_per_seed": first.tolist(),
            "last10_return_per_seed": last.tolist(),
            "first10_return": float(np.mean(first)),
            "last10_return": float(np.mean(last)),
            "wall_s_incl_compile": wall,
            "steps_per_s_all_seeds_incl_compile": config.steps_trained * args.seeds / wall,
            "curve_mean": np.nanmean(ret, axis=0).tolist(),
            "measured": {**measured_stamp(), "jax": jax.__version__},
        }
        print(f"{env}: {config.steps_trained} steps x {args.seeds} seeds, first10 {first} -> "
              f"last10 {last}, {wall:.0f}s", flush=True)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
