"""Cost of the non-finite guard on the fused path: guard on vs off, interleaved, ONE process.

"Off" is, by default, the same program with :mod:`purejaxppo.guard`'s two checks
replaced by constants. With ``--baseline-src DIR`` it is instead the train function of
another copy of the package (e.g. the main branch's ``purejaxppo/``, which has no
guard at all), imported under another name; this is the faithful comparison, since
replacing the checks by constants still changes the program XLA sees. Both programs are compiled
first; then each repeat times one full ``train`` call of each, alternating which goes
first. Each call's wall time and the process's CPU time (``time.process_time``, all
threads; less sensitive than wall time to other processes on a shared machine) are
recorded. Prints every repeat and the medians; writes JSON with ``--out``.

    python benchmarks/guard_cost.py --repeats 7
    python benchmarks/guard_cost.py --env Pendulum-v1 --num-envs 16 --seeds 4
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import jax
import jax.numpy as jnp

from purejaxppo import PPOConfig, guard, make_train


def _import_copy(src: str):
    """Imports the package at ``src`` as ``purejaxppo_baseline`` (imports rewritten)."""
    import importlib
    import re
    import shutil
    import sys
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp()) / "purejaxppo_baseline"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("__pycache__"))
    for path in root.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\bpurejaxppo\b", "purejaxppo_baseline", text))
    sys.path.insert(0, str(root.parent))
    return importlib.import_module("purejaxppo_baseline")


def _compiled(config: PPOConfig, seeds: int, enabled: bool, baseline=None):
    saved = guard.step_code, guard.update_code
    build = make_train
    if not enabled and baseline is not None:
        build = baseline.make_train
        known = {f.name for f in dataclasses.fields(baseline.PPOConfig)}
        config = baseline.PPOConfig.from_dict(
            {k: v for k, v in config.to_dict().items() if k in known}
        )
    elif not enabled:
        guard.step_code = lambda loss, grads: jnp.int32(0)
        guard.update_code = lambda codes, params: jnp.int32(0)
    try:
        train = jax.vmap(build(config)) if seeds > 1 else build(config)
        key = jax.random.PRNGKey(0)
        keys = jax.random.split(key, seeds) if seeds > 1 else key
        compiled = jax.jit(train).lower(keys).compile()
    finally:
        guard.step_code, guard.update_code = saved
    return compiled, keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--total-timesteps", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=None)
    parser.add_argument("--baseline-src", default=None,
                        help="package dir whose make_train is the 'off' program")
    args = parser.parse_args()
    baseline = _import_copy(args.baseline_src) if args.baseline_src else None
    config = PPOConfig.preset(args.env, num_envs=args.num_envs,
                              total_timesteps=args.total_timesteps)
    programs = {name: _compiled(config, args.seeds, name == "on", baseline)
                for name in ("on", "off")}
    times: dict[str, list[float]] = {"on": [], "off": []}
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    for repeat in range(args.repeats):
        order = ("on", "off") if repeat % 2 == 0 else ("off", "on")
        for name in order:
            compiled, keys = programs[name]
            start, start_cpu = time.perf_counter(), time.process_time()
            jax.block_until_ready(compiled(keys))
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
        print(f"repeat {repeat}: wall on {times['on'][-1]:.3f} s, off {times['off'][-1]:.3f} s"
              f" | cpu on {cpu['on'][-1]:.3f} s, off {cpu['off'][-1]:.3f} s", flush=True)
    steps = config.steps_trained * args.seeds
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"median wall: on {med['on']:.3f} s ({steps / med['on']:,.0f} steps/s), off "
          f"{med['off']:.3f} s ({steps / med['off']:,.0f} steps/s), on/off "
          f"{med['on'] / med['off']:.3f}")
    print(f"median cpu:  on {med_cpu['on']:.3f} s, off {med_cpu['off']:.3f} s, on/off "
          f"{med_cpu['on'] / med_cpu['off']:.3f}")
    best = {k: min(v) for k, v in times.items()}
    print(f"min wall:    on {best['on']:.3f} s, off {best['off']:.3f} s, on/off "
          f"{best['on'] / best['off']:.3f}")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"config": config.to_dict(), "seeds": args.seeds,
                       "baseline": args.baseline_src or "guard checks replaced by constants", "wall_s": times,
                       "cpu_s": cpu, "median_wall_s": med, "median_cpu_s": med_cpu,
                       "env_steps": steps}, handle, indent=2)


if __name__ == "__main__":
    main()
