"""Training throughput vs. the environment's own stepping speed, in ONE process.

For one config this measures

* **env-only** steps/s: the same gymnax env and ``num_envs``, stepped in a jitted
  ``lax.scan`` with uniformly random actions (``jax.random.randint`` for discrete,
  ``jax.random.uniform`` in the box for continuous), rewards and observations reduced
  into the scan carry: the strictest ceiling any trainer can reach;
* **env-only (trajectory)** steps/s: the same loop, but each step's sum is emitted as a
  scan output over the whole budget, the way env-only loops are usually written. On
  XLA:CPU this is ~3x slower than the carry-reduced loop (CartPole, 4 envs: ~470k vs
  ~1.45M steps/s here) and it is the formulation that reproduces the peers' 461k
  figure in ../shared/anchors.md, so both ratios are reported;
* **train** steps/s: ``jax.jit(make_train(config))`` (optionally vmapped over seeds);

both compiled first (compile time reported separately), then timed interleaved
(env, train, env, train, ...) ``--repeats`` times; medians are reported together with
their ratio, and the process's peak memory (``ru_maxrss``; JAX device
``peak_bytes_in_use`` where the backend reports it). Writes JSON.

``--sweep`` measures many such points, each in its own subprocess (so peak memory and
compile caches are per point): steps/s vs ``num_envs`` (4 -> 4096 on CPU, -> 65536 on
GPU) and vs vmapped seeds (1 -> 256), for a discrete and a continuous env. For the
seeds sweep the env-only ceiling steps ``num_envs * seeds`` environments, as many as
the vmapped trainer steps. Writes JSON, a Markdown table and a PNG.

    python benchmarks/throughput.py                       # default CartPole config
    python benchmarks/throughput.py --env Pendulum-v1 --num-envs 16 --out results/tp.json
    python benchmarks/throughput.py --sweep all --out results/throughput_sweep.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from purejaxppo import PPOConfig, make_env, make_train


def make_env_only(
    env_name: str, num_envs: int, num_steps: int, env_kwargs=(), emit_per_step: bool = False
):
    """A jitted function stepping ``num_envs`` envs ``num_steps`` times at random.

    With ``emit_per_step`` every step's reward/observation sum is a scan output
    (a trajectory-shaped loop) instead of being reduced into the carry.
    """
    env = make_env(env_name, **dict(env_kwargs))
    spec = env.action_spec

    def run(key):
        k_reset, k_loop = jax.random.split(key)
        obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, num_envs))

        def body(carry, _):
            state, key, total = carry
            key, k_act, k_step = jax.random.split(key, 3)
            if spec.discrete:
                action = jax.random.randint(k_act, (num_envs,), 0, spec.num_actions)
            else:
                action = jax.random.uniform(
                    k_act, (num_envs, spec.action_dim),
                    minval=jnp.asarray(spec.low), maxval=jnp.asarray(spec.high),
                )
            res = jax.vmap(env.step)(jax.random.split(k_step, num_envs), state, action)
            # Consume observations too, so XLA cannot drop their computation.
            step_sum = res.reward.sum() + res.obs.sum() + res.final_obs.sum()
            if emit_per_step:
                return (res.state, key, total), step_sum
            return (res.state, key, total + step_sum), None

        (_, _, total), ys = jax.lax.scan(body, (state, k_loop, 0.0), None, length=num_steps)
        return total if ys is None else ys.sum()

    return jax.jit(run)


def _timed(fn, arg) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn(arg))
    return time.perf_counter() - start


def peak_memory() -> dict:
    """Peak host RSS of this process and, where reported, the device's peak bytes (MiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"peak_rss_mib": kib / 1024.0 if sys.platform != "darwin" else kib / 2**20}
    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # noqa: BLE001 - some backends do not implement memory_stats
        stats = {}
    peak = stats.get("peak_bytes_in_use")
    out["device_peak_mib"] = None if peak is None else peak / 2**20
    return out


def measure(
    config: PPOConfig, seeds: int = 1, repeats: int = 3, env_only_all_seeds: bool = False
) -> dict:
    """Compiles and times env-only and training; returns a JSON-ready dict.

    Args:
      config: the PPO configuration (its ``steps_trained`` steps are timed per seed).
      seeds: seeds vmapped in one program (1: no vmap).
      repeats: interleaved (env-only, train) timing pairs; medians are reported.
      env_only_all_seeds: step ``num_envs * seeds`` envs in the env-only ceiling (the
        same number of parallel envs the vmapped trainer steps) instead of ``num_envs``.
    """
    total_steps = config.steps_trained
    env_steps_per_env = total_steps // config.num_envs
    env_count = config.num_envs * (seeds if env_only_all_seeds else 1)
    env_fn = make_env_only(config.env_name, env_count, env_steps_per_env, config.env_kwargs)
    traj_fn = make_env_only(
        config.env_name, env_count, env_steps_per_env, config.env_kwargs, emit_per_step=True
    )
    train_fn = make_train(config)
    key = jax.random.PRNGKey(0)
    if seeds > 1:
        train_fn = jax.vmap(train_fn)
        train_key = jax.random.split(key, seeds)
    else:
        train_key = key
    train_jit = jax.jit(train_fn)

    t0 = time.perf_counter()
    env_compiled = jax.jit(env_fn).lower(key).compile()
    env_compile = time.perf_counter() - t0
    traj_compiled = jax.jit(traj_fn).lower(key).compile()
    t0 = time.perf_counter()
    train_compiled = train_jit.lower(train_key).compile()
    train_compile = time.perf_counter() - t0

    env_times, traj_times, train_times = [], [], []
    for _ in range(repeats):
        env_times.append(_timed(env_compiled, key))
        traj_times.append(_timed(traj_compiled, key))
        train_times.append(_timed(train_compiled, train_key))
    env_sps = env_count * env_steps_per_env / statistics.median(env_times)
    traj_sps = env_count * env_steps_per_env / statistics.median(traj_times)
    train_sps = seeds * total_steps / statistics.median(train_times)
    return {
        "env_name": config.env_name,
        "num_envs": config.num_envs,
        "num_steps": config.num_steps,
        "seeds": seeds,
        "steps_per_seed": total_steps,
        "env_only_steps_per_s": env_sps,
        "train_steps_per_s": train_sps,
        "train_over_env_only": train_sps / env_sps,
        "train_per_seed_over_env_only": train_sps / seeds / env_sps,
        "env_only_trajectory_steps_per_s": traj_sps,
        "train_over_env_only_trajectory": train_sps / traj_sps,
        "env_only_trajectory_times_s": traj_times,
        "env_only_times_s": env_times,
        "train_times_s": train_times,
        "env_only_compile_s": env_compile,
        "train_compile_s": train_compile,
        "repeats": repeats,
        "env_only_num_envs": env_count,
        **peak_memory(),
    }


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }


NUM_ENVS_CPU = (4, 32, 256, 1024, 4096)
NUM_ENVS_GPU = (4, 64, 1024, 4096, 16384, 65536)
SEEDS = (1, 8, 64, 256)


def sweep_points(kind: str, envs: list[str], backend: str) -> list[dict]:
    """The (env, num_envs, seeds) points of a sweep kind: ``num_envs``, ``seeds``, ``all``."""
    points = []
    for env in envs:
        if kind in ("num_envs", "all"):
            grid = NUM_ENVS_GPU if backend == "gpu" else NUM_ENVS_CPU
            points += [{"sweep": "num_envs", "env": env, "num_envs": n, "seeds": 1} for n in grid]
        if kind in ("seeds", "all"):
            points += [{"sweep": "seeds", "env": env, "num_envs": 4, "seeds": s} for s in SEEDS]
    return points


def point_timesteps(num_envs: int, num_steps: int, seeds: int, target: int) -> int:
    """Steps per seed so that all seeds together take about ``target`` steps (>= 2 updates)."""
    batch = num_envs * num_steps
    updates = max(2, round(target / seeds / batch))
    return updates * batch


def run_point(point: dict, args) -> dict:
    """Measures one sweep point in a fresh subprocess; returns its result (or error)."""
    steps = point_timesteps(point["num_envs"], args.num_steps, point["seeds"], args.point_steps)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "point.json"
        cmd = [
            sys.executable, os.path.abspath(__file__), "--env", point["env"],
            "--num-envs", str(point["num_envs"]), "--num-steps", str(args.num_steps),
            "--total-timesteps", str(steps), "--seeds", str(point["seeds"]),
            "--repeats", str(args.repeats), "--out", str(out),
        ]
        if point["sweep"] == "seeds":
            cmd.append("--env-only-all-seeds")
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=args.point_timeout
            )
        except subprocess.TimeoutExpired:
            return {**point, "error": f"timeout after {args.point_timeout} s"}
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return {**point, "error": f"exit {proc.returncode}: {tail[:200]}"}
        result = json.loads(out.read_text())
    result.pop("machine", None)
    result.pop("config", None)
    return {**point, **result, "subprocess_wall_s": wall}


def plot_sweep(results: list[dict], path: Path) -> Path:
    """One PNG: steps/s (train solid, env-only dashed) and train/env-only ratio per sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8), dpi=100)
    for row, (sweep, xkey, xlabel) in enumerate(
        [("num_envs", "num_envs", "num_envs (1 seed)"),
         ("seeds", "seeds", "vmapped seeds (4 envs each)")]
    ):
        ok = [r for r in results if r["sweep"] == sweep and "error" not in r]
        for i, env in enumerate(sorted({r["env"] for r in ok})):
            pts = sorted((r for r in ok if r["env"] == env), key=lambda r: r[xkey])
            x = [r[xkey] for r in pts]
            color = f"C{i}"
            axes[row, 0].plot(x, [r["train_steps_per_s"] for r in pts], "o-", color=color,
                              label=f"{env} train")
            axes[row, 0].plot(x, [r["env_only_steps_per_s"] for r in pts], "s--", color=color,
                              alpha=0.6, label=f"{env} env-only")
            axes[row, 1].plot(x, [r["train_over_env_only"] for r in pts], "o-", color=color,
                              label=env)
        axes[row, 0].set(xscale="log", yscale="log", xlabel=xlabel,
                         ylabel="env steps/s (all seeds)")
        axes[row, 1].set(xscale="log", xlabel=xlabel, ylabel="train / env-only")
        for ax in axes[row]:
            ax.grid(alpha=0.3, which="both")
            if ax.lines:
                ax.legend(fontsize=8)
    fig.suptitle(f"purejaxppo throughput ({jax.default_backend()})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def sweep_markdown(results: list[dict]) -> str:
    """A Markdown table of all sweep points."""
    lines = [
        "| sweep | env | num_envs | seeds | steps/seed | env-only steps/s | train steps/s "
        "| train/env-only | compile s (train) | peak RSS MiB | device peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['sweep']} | {r['env']} | {r['num_envs']} | {r['seeds']} "
                         f"| - | - | - | {r['error']} | - | - | - |")
            continue
        dev = r.get("device_peak_mib")
        lines.append(
            f"| {r['sweep']} | {r['env']} | {r['num_envs']} | {r['seeds']} "
            f"| {r['steps_per_seed']:,} | {r['env_only_steps_per_s']:,.0f} "
            f"| {r['train_steps_per_s']:,.0f} | {r['train_over_env_only']:.3f} "
            f"| {r['train_compile_s']:.1f} | {r['peak_rss_mib']:,.0f} "
            f"| {'-' if dev is None else f'{dev:,.0f}'} |"
        )
    return "\n".join(lines) + "\n"


def run_sweep(args) -> int:
    """Runs the ``--sweep`` points, writes JSON, Markdown and PNG next to ``--out``."""
    envs = [e.strip() for e in args.sweep_envs.split(",") if e.strip()]
    for env in envs:
        try:
            PPOConfig(env_name=env)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    points = sweep_points(args.sweep, envs, jax.default_backend())
    out = Path(args.out)
    results = []
    t0 = time.perf_counter()
    for point in points:
        res = run_point(point, args)
        results.append(res)
        if "error" in res:
            print(f"{point}: {res['error']}", flush=True)
        else:
            print(
                f"{res['sweep']:8s} {res['env']:12s} num_envs={res['num_envs']:6d} "
                f"seeds={res['seeds']:4d}: env-only {res['env_only_steps_per_s']:12,.0f} "
                f"train {res['train_steps_per_s']:12,.0f} ratio {res['train_over_env_only']:.3f} "
                f"compile {res['train_compile_s']:.1f} s rss {res['peak_rss_mib']:,.0f} MiB",
                flush=True,
            )
    summary = {
        "machine": machine_info(),
        "sweep": args.sweep,
        "num_steps": args.num_steps,
        "point_steps": args.point_steps,
        "repeats": args.repeats,
        "sweep_wall_s": time.perf_counter() - t0,
        "results": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    out.with_suffix(".md").write_text(sweep_markdown(results))
    png = plot_sweep(results, out.with_suffix(".png"))
    print(f"sweep wall time {summary['sweep_wall_s']:.0f} s -> {out}, {png}")
    return 0 if all("error" not in r for r in results) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--num-steps", type=int, default=128)
    parser.add_argument("--total-timesteps", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None,
                        help="JSON path (default results/throughput.json, "
                             "results/throughput_sweep.json with --sweep)")
    parser.add_argument("--env-only-all-seeds", action="store_true",
                        help="env-only ceiling steps num_envs * seeds envs")
    parser.add_argument("--sweep", choices=["none", "num_envs", "seeds", "all"], default="none",
                        help="measure a grid of points, one subprocess each")
    parser.add_argument("--sweep-envs", default="CartPole-v1,Pendulum-v1",
                        help="comma-separated envs of the sweep (a discrete and a continuous)")
    parser.add_argument("--point-steps", type=int, default=400_000,
                        help="sweep: env steps per timed train call, all seeds together")
    parser.add_argument("--point-timeout", type=int, default=600,
                        help="sweep: seconds before a point is abandoned")
    args = parser.parse_args(argv)
    for name in ("seeds", "repeats", "point_steps", "point_timeout"):
        if getattr(args, name) < 1:
            print(f"error: --{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}",
                  file=sys.stderr)
            return 2
    if args.sweep != "none":
        args.out = args.out or "results/throughput_sweep.json"
        return run_sweep(args)
    args.out = args.out or "results/throughput.json"
    try:
        config = PPOConfig(
            env_name=args.env, num_envs=args.num_envs, num_steps=args.num_steps,
            total_timesteps=args.total_timesteps,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = {"machine": machine_info(), "config": config.to_dict()}
    result.update(measure(config, args.seeds, args.repeats, args.env_only_all_seeds))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(
        f"{config.env_name} num_envs={config.num_envs} seeds={args.seeds}: "
        f"env-only {result['env_only_steps_per_s']:,.0f} steps/s, "
        f"train {result['train_steps_per_s']:,.0f} steps/s, "
        f"ratio {result['train_over_env_only']:.3f}; env-only (trajectory) "
        f"{result['env_only_trajectory_steps_per_s']:,.0f} steps/s, ratio "
        f"{result['train_over_env_only_trajectory']:.3f} "
        f"(compile: env {result['env_only_compile_s']:.1f} s, "
        f"train {result['train_compile_s']:.1f} s) -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
