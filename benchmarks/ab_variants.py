"""A/B of single speed changes of the trainer: variants compiled in ONE process, interleaved.

Each variant is the current ``make_train`` with one internal switch flipped while the
program is traced; all variants are compiled first, then timed ``A B C A B C ...``
(``--repeats`` rounds, median and every repeat of wall and process CPU time).

    python benchmarks/ab_variants.py --experiment env_keys     # Threefry vs Philox env-step keys
    python benchmarks/ab_variants.py --experiment shuffle      # (key, index) pair sort vs packed sort
    python benchmarks/ab_variants.py --experiment gae_unroll   # GAE scan unroll 1 / 16
    python benchmarks/ab_variants.py --experiment dense_grad   # weight gradient: XLA's dot / transposed input
    python benchmarks/ab_variants.py --experiment final_values # V(final obs): all steps / truncated only
    python benchmarks/ab_variants.py --experiment sort_rounds  # batches > 2048: pair sort / packed rounds
    python benchmarks/ab_variants.py --experiment init_draws   # MLP init: per-layer draws / one draw

The ``flat_adam`` and ``fused_means`` experiments of the README ran at commit a207d33,
where their switches existed (``git checkout a207d33`` to repeat them).

Default config: CartPole-v1 defaults, 400 updates (204,800 env steps), 1 seed.
``--config cartpole8|breakout|pendulum`` takes the layout of that
``benchmarks/vs_purejaxrl.py`` config instead (its seeds vmapped), with
``--updates`` updates.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from typing import Any, Callable

import sys
from pathlib import Path

import jax

import purejaxppo.networks as networks
import purejaxppo.rollout as rollout
import purejaxppo.train as train_mod
import purejaxppo.update as update
from purejaxppo import PPOConfig, make_train
from purejaxppo.gae import compute_gae

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vs_purejaxrl import CONFIGS, our_config  # noqa: E402


def _variants(experiment: str) -> dict[str, Callable[[], Callable[[], None]]]:
    """name -> a function that applies the switch and returns the undo function."""

    def setter(module: Any, name: str, value: Any) -> Callable[[], Callable[[], None]]:
        def apply() -> Callable[[], None]:
            old = getattr(module, name)
            setattr(module, name, value)
            return lambda: setattr(module, name, old)

        return apply

    def nothing() -> Callable[[], None]:
        return lambda: None

    if experiment == "env_keys":
        return {"threefry": setter(rollout, "ENV_KEY_IMPL", None), "philox4x32": nothing}
    if experiment == "shuffle":
        # _PACKED_SORT_MAX_BITS = 0 sends every batch size down the (key, index) pair sort.
        return {"pair_sort": setter(update, "_PACKED_SORT_MAX_BITS", 0),
                "packed_sort": nothing}
    if experiment == "gae_unroll":
        return {"unroll1": nothing,
                "unroll16": setter(train_mod, "compute_gae",
                                   functools.partial(compute_gae, unroll=16))}
    if experiment == "dense_grad":
        return {"xla_dot": setter(networks, "_TRANSPOSED_WEIGHT_GRAD", False),
                "transposed": nothing}
    if experiment == "final_values":
        return {"all_final_obs": setter(train_mod, "_TRUNCATED_ONLY_FINAL_VALUES", False),
                "truncated_only": nothing}
    if experiment == "sort_rounds":
        # _MULTI_ROUND_MAX_BITS = 11: batches over 2048 go back to the pair sort.
        return {"pair_sort": setter(update, "_MULTI_ROUND_MAX_BITS", 11),
                "packed_rounds": nothing}
    if experiment == "init_draws":
        # Flax's per-layer init (one Threefry draw per layer) vs one draw for all.
        return {"per_layer": setter(networks, "_ONE_DRAW_INIT", False),
                "one_draw": nothing}
    raise SystemExit(f"unknown experiment {experiment!r}")


EXPERIMENTS = ("env_keys", "shuffle", "gae_unroll", "dense_grad", "final_values",
               "sort_rounds", "init_draws")


def _machine() -> dict[str, Any]:
    import platform

    import jaxlib

    return {"python": platform.python_version(), "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "backend": jax.default_backend(),
            "cpu": platform.processor() or platform.machine()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", required=True,
                        choices=EXPERIMENTS)
    parser.add_argument("--config", default="default", choices=("default",) + tuple(CONFIGS))
    parser.add_argument("--updates", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    seeds = 1
    if args.config == "default":
        config = PPOConfig(total_timesteps=512 * args.updates)
    else:
        config = our_config(CONFIGS[args.config])
        config = config.replace(total_timesteps=config.batch_size * args.updates)
        seeds = CONFIGS[args.config]["seeds"]
    key = jax.random.PRNGKey(0)
    if seeds > 1:
        key = jax.random.split(key, seeds)
    compiled = {}
    for name, apply in _variants(args.experiment).items():
        undo = apply()
        try:
            start = time.perf_counter()
            train = make_train(config)
            train = jax.vmap(train) if seeds > 1 else train
            compiled[name] = (jax.jit(train).lower(key).compile(),
                              time.perf_counter() - start)
        finally:
            undo()
    wall: dict[str, list[float]] = {n: [] for n in compiled}
    cpu: dict[str, list[float]] = {n: [] for n in compiled}
    for _ in range(args.repeats):
        for name, (exe, _) in compiled.items():
            t, c = time.perf_counter(), time.process_time()
            jax.block_until_ready(exe(key))
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    steps = config.steps_trained * seeds
    first = next(iter(compiled))
    base = statistics.median(wall[first])
    result = {}
    for name in compiled:
        med = statistics.median(wall[name])
        result[name] = {
            "compile_s": compiled[name][1], "median_steps_per_s": steps / med,
            "speedup_vs_" + first: base / med,
            "steps_per_s_every_repeat": [steps / w for w in wall[name]],
            "cpu_steps_per_s_median": steps / statistics.median(cpu[name]),
            # Round by round (A and B ran back to back): robust to slow drifts of
            # the machine's speed.
            "paired_speedup_median": statistics.median(
                a / b for a, b in zip(wall[first], wall[name])),
        }
        print(f"{name:12s} {steps / med:>10,.0f} steps/s  x{base / med:.3f}  "
              f"paired x{result[name]['paired_speedup_median']:.3f}  "
              f"repeats {[round(steps / w) for w in wall[name]]}", flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"experiment": args.experiment, "config": args.config, "seeds": seeds,
                   "env_steps": steps, "machine": _machine(), "results": result},
                      handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
