"""Does PBT pay? PBT vs random search, same population, same env steps, same keys.

For each environment: ``--reps`` repetitions, each with its own key. Repetition ``r``
runs ``purejaxppo.pbt`` twice from the SAME key, so both methods start from the same
sampled hyperparameters and the same member keys: once with exploit/explore
(``exploit_fraction=0.25``) and once without (``exploit_fraction=0``: random search
over the same space). All repetitions of one method are ONE compiled program (the
PBT program ``vmap``-ed over the repetition keys). Reported per method, over the
repetitions: IQM and 95% percentile-bootstrap CI of

* the best member's final fitness (mean return of the episodes of the last segment),
* the population median of the final fitness,

and the paired difference (PBT minus random search) per repetition.

    python benchmarks/pbt.py --envs CartPole-v1 Pendulum-v1 Breakout-MinAtar \\
        --out-dir benchmarks/results/pbt
    python benchmarks/pbt.py --envs CartPole-v1 --reps 2 --population 4 \\
        --steps 4096 --out-dir /tmp/pbt_smoke                     # toy run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from purejaxppo import PPOConfig
from purejaxppo.pbt import _fused_program, make_pbt
from purejaxppo.stats import summarize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info  # noqa: E402


def _space(max_entropy: float) -> dict[str, tuple[str, float, float]]:
    """The searched space of the study (the entropy range is per env)."""
    return {"learning_rate": ("loguniform", 1e-5, 1e-2),
            "ent_coef": ("uniform", 0.0, max_entropy),
            "clip_eps": ("uniform", 0.1, 0.4),
            "gae_lambda": ("uniform", 0.8, 1.0)}


# Per env: CPU budget per member, the interval, and the searched space.
SETUPS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {"steps": 200_000, "interval": 10, "space": _space(0.05)},
    "Pendulum-v1": {"steps": 500_000, "interval": 20, "space": _space(0.01)},
    "Breakout-MinAtar": {"steps": 500_000, "interval": 6, "space": _space(0.05)},
}


def run_method(config: PPOConfig, setup: dict[str, Any], population: int, keys: jax.Array,
               exploit_fraction: float, interval: int) -> dict[str, Any]:
    """All repetitions of one method in one compiled call; numpy results."""
    fns = make_pbt(config, population, setup["space"], interval,
                   exploit_fraction=exploit_fraction)
    program = _fused_program(fns)

    def one(key):
        first, outs, last, _ = program(key)
        return {"fitness": jax.numpy.concatenate([outs.fitness, last.fitness[None]]),
                "replaced": outs.replaced, "diverged": jax.numpy.concatenate(
                    [outs.diverged, last.diverged[None]])}

    t0 = time.perf_counter()
    compiled = jax.jit(jax.vmap(one)).lower(keys).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = jax.device_get(compiled(keys))
    run_s = time.perf_counter() - t0
    fitness = np.asarray(out["fitness"], np.float64)  # [reps, E + 1, P]
    final = np.where(np.isfinite(fitness[:, -1]), fitness[:, -1], np.nan)
    return {
        "best": np.nanmax(final, axis=1), "median": np.nanmedian(final, axis=1),
        "final_fitness": final, "replaced_total": np.asarray(out["replaced"]).sum(axis=(1, 2)),
        "diverged_any": np.asarray(out["diverged"]).any(axis=(1, 2)),
        "compile_s": compile_s, "run_s": run_s, "num_exploits": fns.num_exploits,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--steps", type=int, default=None,
                        help="env steps per member (default: the env's setup)")
    parser.add_argument("--interval", type=int, default=None,
                        help="updates between exploit steps (default: the env's setup)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default="benchmarks/results/pbt")
    args = parser.parse_args(argv)
    for name in ("reps", "population"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for env_name in args.envs:
        setup = SETUPS[env_name]
        steps = args.steps or setup["steps"]
        config = PPOConfig.preset(env_name, total_timesteps=steps)
        interval = min(args.interval or setup["interval"], max(1, config.num_updates - 1))
        keys = jax.random.split(jax.random.PRNGKey(args.seed), args.reps)
        print(f"{env_name}: {args.reps} reps x population {args.population} x "
              f"{config.steps_trained:,} steps, interval {interval} updates", flush=True)
        results = {}
        for method, frac in (("pbt", 0.25), ("random_search", 0.0)):
            res = run_method(config, setup, args.population, keys, frac, interval)
            results[method] = res
            print(f"  {method:13s} best IQM {summarize(res['best'])['iqm']:.2f}  "
                  f"median IQM {summarize(res['median'])['iqm']:.2f}  "
                  f"(compile {res['compile_s']:.1f} s, run {res['run_s']:.1f} s)", flush=True)
        record = {
            "env": env_name, "reps": args.reps, "population": args.population,
            "steps_per_member": config.steps_trained, "interval": interval,
            "num_exploits": results["pbt"]["num_exploits"],
            "space": {k: list(v) for k, v in setup["space"].items()},
            "config": config.to_dict(), "seed": args.seed, "machine": machine_info(),
            "command": " ".join(["python", "benchmarks/pbt.py", *(argv or sys.argv[1:])]),
        }
        for method, res in results.items():
            record[method] = {
                "best": summarize(res["best"]), "median": summarize(res["median"]),
                "best_per_rep": res["best"].tolist(), "median_per_rep": res["median"].tolist(),
                "final_fitness": [[None if not np.isfinite(v) else float(v) for v in row]
                                  for row in res["final_fitness"]],
                "replaced_total_per_rep": res["replaced_total"].tolist(),
                "reps_with_divergence": int(res["diverged_any"].sum()),
                "compile_s": res["compile_s"], "run_s": res["run_s"],
            }
        for stat in ("best", "median"):
            diff = results["pbt"][stat] - results["random_search"][stat]
            record[f"paired_difference_{stat}"] = {
                **summarize(diff), "pbt_wins": int((diff > 0).sum()),
                "ties": int((diff == 0).sum())}
        path = out_dir / f"pbt_{env_name}.json"
        path.write_text(json.dumps(record, indent=1))
        print(f"  wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
