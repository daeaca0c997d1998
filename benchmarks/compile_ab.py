"""Compile time of trainer variants (and optionally purejaxrl's), ONE process, interleaved.

Each variant is ``make_train`` with one internal switch of ``ab_variants.py`` flipped
while the program is traced. Every round traces, lowers and compiles each variant
once (a NEW function object each time, so jax's in-memory cache never answers), in
the order ``A B C A B C ...``; reported are the medians of trace, lower and XLA
compile seconds and every round. The persistent compilation cache is off
(``jax_enable_compilation_cache=False``): a hit would measure a file read.

    python benchmarks/compile_ab.py --experiment init_draws --config cartpole --rounds 5
    python benchmarks/compile_ab.py --experiment init_draws --config cartpole8 \\
        --purejaxrl /path/to/purejaxrl \\
        --out benchmarks/results/compile/compile_init_draws_cartpole8.json

``--config`` is one of ``benchmarks/vs_purejaxrl.py``'s configs (its seeds vmapped);
with ``--purejaxrl`` its train program is compiled in the same rounds, as reference.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import jax

from purejaxppo import make_train

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ab_variants import EXPERIMENTS, _machine, _variants  # noqa: E402
from vs_purejaxrl import CONFIGS, load_purejaxrl, our_config  # noqa: E402

_PHASES = ("trace_s", "lower_s", "compile_s")


def _timed_compile(fn: Callable, arg: Any) -> dict[str, float]:
    t0 = time.perf_counter()
    traced = jax.jit(fn).trace(arg)
    t1 = time.perf_counter()
    lowered = traced.lower()
    t2 = time.perf_counter()
    lowered.compile()
    t3 = time.perf_counter()
    return {"trace_s": t1 - t0, "lower_s": t2 - t1, "compile_s": t3 - t2, "total_s": t3 - t0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", required=True, choices=EXPERIMENTS)
    parser.add_argument("--config", default="cartpole", choices=tuple(CONFIGS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--purejaxrl", default=None, help="a purejaxrl checkout (optional)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    jax.config.update("jax_enable_compilation_cache", False)
    spec = CONFIGS[args.config]
    config = our_config(spec)
    seeds = spec["seeds"]
    key = jax.random.PRNGKey(0)
    arg = jax.random.split(key, seeds) if seeds > 1 else key

    def vmapped(train: Callable) -> Callable:
        return jax.vmap(train) if seeds > 1 else train

    def no_switch() -> Callable[[], None]:
        return lambda: None

    # name -> (apply-the-switch returning its undo, build the train function); the
    # switch stays set through tracing, which happens inside the timed compile.
    sides: dict[str, tuple[Callable, Callable[[], Callable]]] = {
        name: (apply, lambda: vmapped(make_train(config)))
        for name, apply in _variants(args.experiment).items()
    }
    if args.purejaxrl:
        ppo, ppo_cont = load_purejaxrl(args.purejaxrl)
        pj_conf = dict(spec["pjrl"], DEBUG=False)
        pj_make = ppo_cont.make_train if spec["continuous"] else ppo.make_train
        sides["purejaxrl"] = (no_switch, lambda: vmapped(pj_make(dict(pj_conf))))
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    for rnd in range(args.rounds):
        for name, (apply, build) in sides.items():
            undo = apply()
            try:
                rows[name].append(_timed_compile(build(), arg))
            finally:
                undo()
            print(f"round {rnd} {name:14s} " + "  ".join(
                f"{k[:-2]} {v:.2f}" for k, v in rows[name][-1].items()), flush=True)
    result = {}
    for name, runs in rows.items():
        result[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        result[name]["every_round"] = runs
        print(f"median {name:14s} " + "  ".join(
            f"{k[:-2]} {result[name][k]:.2f}" for k in _PHASES + ("total_s",)))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"experiment": args.experiment, "config": args.config, "seeds": seeds,
                       "rounds": args.rounds, "machine": _machine(), "results": result},
                      handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
