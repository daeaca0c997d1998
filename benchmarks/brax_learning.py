"""Learning on brax tasks with the presets, vmapped over seeds; writes JSON.

For each selected environment this builds ``PPOConfig.preset("brax/<env>", ...)``
(optionally with a smaller budget / fewer envs), compiles ``jit(vmap(train))`` once
(ahead of time, timed separately), runs it once and records

* ``final_return`` per seed (mean undiscounted return of the episodes completed in the
  last update) and their mean / std,
* ``curve``: per update, ``env_steps`` and the across-seed mean episode return,
* ``compile_s``, ``run_s`` (without compile) and ``total_s`` (with compile), and the
  steps per second of the run, plus the device and the full config.

Examples (the budgets of the published figures; these need an accelerator)::

    # brax reports Ant ~8000 after 50M steps in ~3 minutes on an accelerator.
    python benchmarks/brax_learning.py --envs ant --seeds 1 --out results/brax_ant_50m.json

    # rejax reports hopper 1M steps at ~0.8 s per agent with 300 agents (vmapped).
    python benchmarks/brax_learning.py --envs hopper --total-timesteps 1000000 \\
        --seeds 300 --out results/brax_hopper_1m_300.json

A tiny CPU smoke run::

    python benchmarks/brax_learning.py --envs hopper halfcheetah --total-timesteps 4096 \\
        --num-envs 16 --num-steps 32 --num-minibatches 4 --seeds 2 --out /tmp/brax.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from purejaxppo import PPOConfig, make_train
from purejaxppo.envs.brax import DEFAULT_BACKENDS

DEFAULT_ENVS = ("hopper", "ant", "halfcheetah")


def build_config(env: str, args: argparse.Namespace) -> PPOConfig:
    """The preset for ``brax/<env>`` with the command-line overrides applied."""
    overrides: dict[str, Any] = {}
    for name in ("total_timesteps", "num_envs", "num_steps", "num_minibatches", "update_epochs"):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    env_kwargs = {"episode_length": args.episode_length}
    if args.backend is not None:
        env_kwargs["backend"] = args.backend
    overrides["env_kwargs"] = tuple(sorted(env_kwargs.items()))
    return PPOConfig.preset(f"brax/{env}", **overrides)


def _nan_to_none(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in np.asarray(values, float)]


def run_one(config: PPOConfig, seeds: int, seed: int) -> dict[str, Any]:
    """Compiles and runs ``config`` for ``seeds`` seeds; returns the JSON record."""
    keys = jax.random.split(jax.random.PRNGKey(seed), seeds)
    train = jax.jit(jax.vmap(make_train(config)))
    t0 = time.perf_counter()
    compiled = train.lower(keys).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = compiled(keys)
    returns = np.asarray(jax.block_until_ready(out.metrics["episode_return"]))
    run_s = time.perf_counter() - t0
    steps = out.env_steps(config)[0]
    final = returns[:, -1]
    with np.errstate(all="ignore"):
        curve_mean = np.nanmean(np.where(np.isfinite(returns), returns, np.nan), axis=0)
    total_steps = config.steps_trained * seeds
    return {
        "env": config.env_name,
        "backend": dict(config.env_kwargs).get("backend", DEFAULT_BACKENDS[config.env_name[5:]]),
        "seeds": seeds,
        "steps_per_seed": config.steps_trained,
        "final_return": _nan_to_none(final),
        "final_return_mean": float(np.nanmean(final)) if np.isfinite(final).any() else None,
        "final_return_std": float(np.nanstd(final)) if np.isfinite(final).any() else None,
        "curve": {"env_steps": steps.tolist(), "mean_return": _nan_to_none(curve_mean)},
        "compile_s": compile_s,
        "run_s": run_s,
        "total_s": compile_s + run_s,
        "run_s_per_seed": run_s / seeds,
        "steps_per_s": total_steps / run_s,
        "config": config.to_dict(),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments; bad values exit with one clear message."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--envs", nargs="+", default=list(DEFAULT_ENVS),
                   help=f"brax env names without 'brax/' (default: {' '.join(DEFAULT_ENVS)})")
    p.add_argument("--seeds", type=int, default=4, help="seeds, vmapped in one program")
    p.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    p.add_argument("--total-timesteps", type=int, default=None, help="default: the preset's")
    p.add_argument("--num-envs", type=int, default=None)
    p.add_argument("--num-steps", type=int, default=None)
    p.add_argument("--num-minibatches", type=int, default=None)
    p.add_argument("--update-epochs", type=int, default=None)
    p.add_argument("--episode-length", type=int, default=1000)
    p.add_argument("--backend", default=None, help="brax backend (default: per-env default)")
    p.add_argument("--out", default="results/brax_learning.json")
    args = p.parse_args(argv)
    unknown = [e for e in args.envs if e not in DEFAULT_BACKENDS]
    if unknown:
        p.error(f"unknown brax env(s) {unknown}; valid: {sorted(DEFAULT_BACKENDS)}")
    if args.seeds <= 0:
        p.error("--seeds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and writes the JSON file; returns the exit status."""
    args = parse_args(argv)
    try:
        configs = [build_config(env, args) for env in args.envs]  # validate all first
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    records = []
    for config in configs:
        rec = run_one(config, args.seeds, args.seed)
        records.append(rec)
        print(
            f"{rec['env']:<20} backend={rec['backend']:<11} seeds={rec['seeds']} "
            f"steps={rec['steps_per_seed']} final={rec['final_return_mean']} "
            f"compile={rec['compile_s']:.1f}s run={rec['run_s']:.1f}s "
            f"({rec['steps_per_s']:.0f} steps/s)",
            flush=True,
        )
    result = {
        "device": str(jax.devices()[0]),
        "device_kind": jax.devices()[0].device_kind,
        "jax": jax.__version__,
        "python": platform.python_version(),
        "results": records,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
