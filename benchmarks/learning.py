"""Learning-quality suite: final IQM return (95% bootstrap CI), wall time, steps/s.

For every environment of the suite this trains the preset configuration
(``PPOConfig.preset``; a built-in fallback config where no preset exists yet) with
many seeds vmapped in ONE compiled program, and records

* the final return of each seed (mean of the episodes completed in the last update),
  their IQM and a 95% percentile-bootstrap CI of the IQM over seeds,
* compile time (``lower().compile()``) and run wall time separately,
* env steps per second (all seeds together) of the compiled run.

It writes ``learning.json``, ``learning.md`` (a Markdown table with the published
results of ``shared/anchors.md`` beside ours) and ``curves/<env>.png``.

``--continuous`` is the continuous-control table: every continuous preset at its own
budget where that fits a CPU (``cpu_steps=0``), otherwise at the entry's stated
reduced budget (and, for the accelerator-sized brax-notebook presets, a stated
smaller layout: 64 envs instead of 2048-4096); the table's "budget" column says
which, and "first IQM" is the first update's return, to show the curve rising.

    python benchmarks/learning.py --continuous             # continuous-control CPU table
    python benchmarks/learning.py --quick                  # 2-core CPU, < ~15 min
    python benchmarks/learning.py                          # full budgets, 16 seeds (GPU)
    python benchmarks/learning.py --envs CartPole-v1,Acrobot-v1 --seeds 8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from _common import (  # noqa: E402
    bootstrap_ci,
    fmt_steps,
    iqm,
    machine_info,
    markdown_table,
    measured_stamp,
    peak_rss_mib,
)
from purejaxppo import PPOConfig, make_train  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Entry:
    """One environment of the suite.

    Attributes:
      env_name: registered environment name.
      full_steps: budget of the full run (steps per seed) when no preset exists; with
        a preset, the preset's own ``total_timesteps`` is the full budget.
      quick_steps: budget of the ``--quick`` run.
      fallback: PPOConfig fields used when ``PPOConfig.preset`` is unavailable.
      quick_overrides: fields changed in ``--quick`` mode (smaller batches on CPU).
      published: the published result to compare with (text, with its source).
      brax: whether the env needs the ``brax`` extra.
      quick_seeds: seeds in ``--quick`` mode.
      cpu_steps: budget of the ``--continuous`` CPU table; ``0`` = the preset's own
        budget, ``None`` = not in that table.
      cpu_seeds: seeds in ``--continuous`` mode.
      cpu_overrides: fields changed in ``--continuous`` mode (stated in the table:
        a reduced layout for presets whose budget needs an accelerator).
      in_quick: part of the default (``--quick`` / full) suite.
    """

    env_name: str
    full_steps: int
    quick_steps: int
    fallback: dict[str, Any]
    published: str
    quick_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    brax: bool = False
    quick_seeds: int = 4
    cpu_steps: int | None = None
    cpu_seeds: int = 2
    cpu_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    in_quick: bool = True


_MINATAR = dict(
    num_envs=64, num_steps=128, update_epochs=4, num_minibatches=8, learning_rate=5e-4,
    activation="relu",
)
_CONTROL = dict(
    num_envs=16, num_steps=128, update_epochs=10, num_minibatches=8, learning_rate=1e-3,
    gamma=0.95, ent_coef=0.0, normalize_obs=True, normalize_reward=True,
)
# --quick on a CPU: the GPU-sized brax presets (2048-4096 envs) shrink to 32 envs.
_BRAX_QUICK = dict(num_envs=32, num_steps=64)
_BRAX = dict(
    num_envs=64, num_steps=64, update_epochs=4, num_minibatches=8, learning_rate=3e-4,
    ent_coef=0.0, gamma=0.99, normalize_obs=True, normalize_reward=True,
    hidden_sizes=(64, 64),
)

# A CPU-sized layout for the accelerator presets (brax notebook, 2048-4096 envs):
# same algorithm settings, 64 envs x 80 steps, 8 minibatches of 640 transitions.
_ACCEL_REDUCED = dict(num_envs=64, num_steps=80, num_minibatches=8)

SUITE: tuple[Entry, ...] = (
    Entry("CartPole-v1", 500_000, 500_000, {}, "490 +/- 6 (cleanrl, 500k); 478 (purejaxrl, 8 seeds)"),
    Entry("Acrobot-v1", 500_000, 500_000, {}, "-86.4 (cleanrl, 500k)"),
    Entry("Pendulum-v1", 1_000_000, 500_000, _CONTROL,
          "-130 (gymnax-blines PPO; same gymnax simulator)", cpu_steps=0, cpu_seeds=4),
    Entry(
        "MountainCarContinuous-v0", 1_000_000, 500_000,
        dict(_CONTROL, gamma=0.99, ent_coef=0.01),
        "92 (gymnax-blines PPO; same gymnax simulator)", cpu_steps=0, cpu_seeds=4,
    ),
    Entry("PointRobot-misc", 1_000_000, 500_000, _CONTROL, "none found", cpu_steps=0,
          cpu_seeds=4, in_quick=False),
    Entry("Reacher-misc", 1_000_000, 500_000, _CONTROL, "none found", cpu_steps=0,
          cpu_seeds=4, in_quick=False),
    Entry("Swimmer-misc", 1_000_000, 500_000, _CONTROL, "none found", cpu_steps=0,
          cpu_seeds=4, in_quick=False),
    Entry("Asterix-MinAtar", 10_000_000, 250_000, _MINATAR, "15 (gymnax-blines)"),
    Entry("Breakout-MinAtar", 10_000_000, 250_000, _MINATAR, "28 (gymnax-blines)"),
    Entry("Freeway-MinAtar", 10_000_000, 250_000, _MINATAR, "58 (gymnax-blines)"),
    Entry("SpaceInvaders-MinAtar", 10_000_000, 250_000, _MINATAR, "131 (gymnax-blines)"),
    Entry(
        "brax/inverted_pendulum", 500_000, 65_536, _BRAX,
        "1000 = max; brax's PPO solves it at 2M (brax training notebook, as cited in "
        "issue 10; brax env, backend may differ)", brax=True, quick_seeds=2,
        quick_overrides=_BRAX_QUICK, cpu_steps=0,
        in_quick=False,
    ),
    Entry(
        "brax/inverted_double_pendulum", 1_000_000, 65_536, _BRAX,
        "5491 +/- 262 (cleanrl ppo_continuous_action, 8M, MuJoCo "
        "InvertedDoublePendulum-v4; not brax; cleanrl docs rl-algorithms/rpo.md)",
        brax=True, quick_seeds=2, quick_overrides=_BRAX_QUICK,
        cpu_steps=0,
        in_quick=False,
    ),
    Entry(
        "brax/reacher", 1_000_000, 65_536, _BRAX,
        "-4.58 +/- 0.73 (cleanrl ppo_continuous_action, 8M, MuJoCo Reacher-v4; not "
        "brax; cleanrl docs rl-algorithms/rpo.md)", brax=True,
        quick_seeds=2, quick_overrides=_BRAX_QUICK, cpu_steps=0,
        in_quick=False,
    ),
    Entry(
        "brax/hopper", 10_000_000, 65_536, _BRAX, "2052 (cleanrl MuJoCo Hopper, 1M; not brax)",
        brax=True, quick_seeds=2, quick_overrides=_BRAX_QUICK, cpu_steps=0,
    ),
    Entry(
        "brax/walker2d", 1_000_000, 65_536, _BRAX,
        "2891 (cleanrl MuJoCo Walker2d, 1M; not brax)", brax=True, quick_seeds=2,
        quick_overrides=_BRAX_QUICK, cpu_steps=131_072,
        in_quick=False,
    ),
    Entry(
        "brax/halfcheetah", 10_000_000, 32_768, _BRAX,
        "2906 (cleanrl MuJoCo HalfCheetah, 1M; not brax)", brax=True, quick_seeds=2,
        quick_overrides=_BRAX_QUICK, cpu_steps=262_144,
    ),
    Entry(
        "brax/swimmer", 1_000_000, 65_536, _BRAX, "none found", brax=True, quick_seeds=2,
        quick_overrides=_BRAX_QUICK, cpu_steps=0,
        in_quick=False,
    ),
    Entry(
        "brax/ant", 50_000_000, 65_536, _BRAX, "~8000 (brax, 50M)", brax=True, quick_seeds=2,
        quick_overrides=_BRAX_QUICK, cpu_steps=524_288, cpu_overrides=_ACCEL_REDUCED,
    ),
    Entry(
        "brax/humanoid", 50_000_000, 65_536, _BRAX, "none found", brax=True,
        quick_seeds=2, quick_overrides=_BRAX_QUICK, cpu_steps=262_144,
        cpu_overrides=dict(_ACCEL_REDUCED, num_steps=160),
        in_quick=False,
    ),
    Entry(
        "brax/humanoidstandup", 100_000_000, 65_536, _BRAX, "none found", brax=True,
        quick_seeds=2, quick_overrides=_BRAX_QUICK, cpu_steps=262_144,
        cpu_overrides=dict(_ACCEL_REDUCED, num_steps=240),
        in_quick=False,
    ),
    Entry(
        "brax/pusher", 50_000_000, 65_536, _BRAX, "none found", brax=True,
        quick_seeds=2, quick_overrides=_BRAX_QUICK, cpu_steps=262_144,
        cpu_overrides=dict(_ACCEL_REDUCED, num_steps=120, num_minibatches=4),
        in_quick=False,
    ),
)
ENTRIES = {e.env_name: e for e in SUITE}


def build_config(
    entry: Entry, quick: bool, steps: int | None = None, continuous: bool = False
) -> tuple[PPOConfig, str]:
    """The config to train for ``entry`` and where it came from (``preset``/``fallback``).

    Args:
      entry: the suite entry.
      quick: apply the entry's ``quick_overrides`` and quick budget.
      steps: explicit budget per seed, overriding both budgets.
      continuous: the ``--continuous`` CPU table: the preset at its own budget
        (``cpu_steps == 0``) or at the entry's stated reduced budget and layout.
    """
    overrides: dict[str, Any] = dict(entry.quick_overrides) if quick else {}
    if continuous:
        overrides = dict(entry.cpu_overrides)
    try:
        base = PPOConfig.preset(entry.env_name)
        source = "preset"
        full = base.total_timesteps
    except (ImportError, AttributeError, KeyError, ValueError):
        base = PPOConfig(env_name=entry.env_name, **entry.fallback)
        source = "fallback"
        full = entry.full_steps
    budget = steps or (entry.quick_steps if quick else full)
    if continuous and not steps and entry.cpu_steps:
        budget = entry.cpu_steps
    # Keep total_timesteps >= one batch (of the overridden sizes) for tiny budgets.
    batch = overrides.get("num_envs", base.num_envs) * overrides.get("num_steps", base.num_steps)
    return base.replace(total_timesteps=max(budget, batch), **overrides), source


def run_entry(config: PPOConfig, seeds: int, key: int = 0) -> dict[str, Any]:
    """Compiles and runs ``seeds`` vmapped seeds of ``config``; returns a result dict."""
    train = jax.jit(jax.vmap(make_train(config)))
    keys = jax.random.split(jax.random.PRNGKey(key), seeds)
    t0 = time.perf_counter()
    compiled = train.lower(keys).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = jax.block_until_ready(compiled(keys))
    run_s = time.perf_counter() - t0
    returns = np.asarray(out.metrics["episode_return"], np.float64)  # [seeds, updates]
    env_steps = out.env_steps(config)[0]
    final = returns[:, -1]
    lo, hi = bootstrap_ci(final)
    return {
        "env_name": config.env_name,
        "seeds": seeds,
        "steps_per_seed": config.steps_trained,
        "final_returns": final.tolist(),
        "iqm": iqm(final),
        "ci95": [lo, hi],
        "mean": float(np.nanmean(final)) if np.isfinite(final).any() else float("nan"),
        "compile_s": compile_s,
        "run_s": run_s,
        "steps_per_s": seeds * config.steps_trained / run_s,
        "curve_env_steps": env_steps.tolist(),
        "curve_returns": returns.tolist(),
        "config": config.to_dict(),
    }


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.1f}" if abs(x) < 1000 else f"{x:.0f}"


def render_markdown(results: list[dict[str, Any]], quick: bool, continuous: bool = False) -> str:
    """The Markdown results table (ours next to the published figure)."""
    rows = []
    for r in results:
        entry = ENTRIES[r["env_name"]]
        if "error" in r:
            rows.append([r["env_name"], "-", "-", "-", "-", "-", f"failed: {r['error']}",
                         "-", "-", "-", entry.published])
            continue
        lo, hi = r["ci95"]
        curves = np.asarray(r["curve_returns"], np.float64)
        firsts = [row[np.isfinite(row)][0] if np.isfinite(row).any() else np.nan
                  for row in curves]
        rows.append([
            r["env_name"],
            fmt_steps(r["steps_per_seed"]),
            r.get("budget", "-"),
            r["config"].get("policy_head", "gaussian"),
            r["seeds"],
            _fmt(iqm(firsts)),
            f"{_fmt(r['iqm'])} [{_fmt(lo)}, {_fmt(hi)}]",
            f"{r['run_s']:.0f}",
            f"{r['compile_s']:.0f}",
            f"{r['steps_per_s'] / 1e3:,.0f}k",
            entry.published,
        ])
    headers = ["env", "steps/seed", "budget", "head", "seeds", "first IQM",
               "final IQM [95% CI]", "run s", "compile s",
               "steps/s (all seeds)", "published PPO"]
    mode = "--continuous" if continuous else "--quick" if quick else "full"
    return f"Mode: {mode}\n\n" + markdown_table(headers, rows)


def _run_in_subprocess(env_name: str, args: argparse.Namespace, out_dir: Path) -> dict[str, Any]:
    """Runs one env of the suite in a fresh process (isolated, with a timeout, one retry).

    A fresh process per env keeps compile caches and memory from piling up, and a
    stuck run (seen once on the shared 2-core machine: all XLA threads idle in a
    futex wait) costs one timeout instead of the whole suite.
    """
    part = out_dir / f".part_{env_name.replace('/', '_')}.json"
    cmd = [sys.executable, os.path.abspath(__file__), "--envs", env_name,
           "--out-dir", str(out_dir), "--part-json", str(part)]
    if args.quick:
        cmd.append("--quick")
    if args.continuous:
        cmd.append("--continuous")
    if args.seeds is not None:
        cmd += ["--seeds", str(args.seeds)]
    if args.steps is not None:
        cmd += ["--steps", str(args.steps)]
    error = "no result"
    for attempt in range(2):
        part.unlink(missing_ok=True)
        try:
            proc = subprocess.run(cmd, timeout=args.env_timeout, capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            error = f"timeout after {args.env_timeout} s (attempt {attempt + 1})"
            print(f"{env_name}: {error}", flush=True)
            continue
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(env_name + ":")]
        print("\n".join(lines), flush=True)
        if part.exists():
            res = json.loads(part.read_text())
            part.unlink()
            return res
        error = f"exit {proc.returncode}: " + (proc.stderr.strip().splitlines() or [""])[-1][:200]
        break
    return {"env_name": env_name, "error": error}


def _merged(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``old`` rows with those of ``new``'s envs replaced, in ``old``'s order (new envs last)."""
    fresh = {r["env_name"] for r in new}
    rank = {r["env_name"]: i for i, r in enumerate(old)}
    rows = [r for r in old if r["env_name"] not in fresh] + list(new)
    return sorted(rows, key=lambda r: rank.get(r["env_name"], len(rank)))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small budgets and fewer seeds (2-core CPU, < ~15 min)")
    parser.add_argument("--continuous", action="store_true",
                        help="the continuous-control CPU table: presets at their own "
                        "budget, or at the entry's stated reduced budget and layout")
    parser.add_argument("--envs", default="all",
                        help="comma-separated env names (default: the whole suite)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="seeds per env (default 16, or the entry's quick seeds)")
    parser.add_argument("--steps", type=int, default=None,
                        help="override the budget (env steps per seed) of every env")
    parser.add_argument("--no-brax", action="store_true", help="skip the brax envs")
    parser.add_argument("--out-dir", default=None,
                        help="output folder (default results/learning[_quick])")
    parser.add_argument("--env-timeout", type=int, default=900,
                        help="seconds before one env's subprocess is abandoned (retried once)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every env in this process instead of one subprocess each")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other envs' rows of an existing learning.json in the "
                        "output folder and replace only the rows of the envs run now")
    parser.add_argument("--part-json", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.envs == "all":
        names = [e.env_name for e in SUITE
                 if (e.cpu_steps is not None if args.continuous else e.in_quick)]
    else:
        names = [n.strip() for n in args.envs.split(",")]
    unknown = [n for n in names if n not in ENTRIES]
    if unknown:
        print(f"error: unknown env(s) {unknown}; suite: {list(ENTRIES)}", file=sys.stderr)
        return 2
    if args.seeds is not None and args.seeds < 1:
        print(f"error: --seeds must be >= 1, got {args.seeds}", file=sys.stderr)
        return 2
    if args.steps is not None and args.steps < 1:
        print(f"error: --steps must be >= 1, got {args.steps}", file=sys.stderr)
        return 2
    entries = [ENTRIES[n] for n in names]
    if args.no_brax:
        entries = [e for e in entries if not e.brax]
    try:
        import brax  # noqa: F401

        have_brax = True
    except ImportError:
        have_brax = False
    try:
        plans = [(e, *build_config(e, args.quick, args.steps, args.continuous)) for e in entries
                 if have_brax or not e.brax]
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    default_dir = ("results/learning_continuous" if args.continuous else
                   "results/learning_quick" if args.quick else "results/learning")
    out_dir = Path(args.out_dir or default_dir)
    (out_dir / "curves").mkdir(parents=True, exist_ok=True)
    from purejaxppo.plots import plot_learning_curves

    previous = None
    if args.merge and args.part_json is None and (out_dir / "learning.json").exists():
        previous = json.loads((out_dir / "learning.json").read_text())
    results: list[dict[str, Any]] = []
    suite_t0 = time.perf_counter()
    if not args.in_process and args.part_json is None:
        for entry, _, _ in plans:
            results.append(_run_in_subprocess(entry.env_name, args, out_dir))
            so_far = results if previous is None else _merged(previous["results"], results)
            (out_dir / "learning.json").write_text(json.dumps(
                {"machine": machine_info(), "partial": True, "results": so_far}, indent=1))
        plans = []
    for entry, config, source in plans:
        seeds = args.seeds or (entry.cpu_seeds if args.continuous else
                               entry.quick_seeds if args.quick else 16)
        try:
            res = run_entry(config, seeds)
        except Exception as err:  # noqa: BLE001 - one env failing must not lose the rest
            res = {"env_name": entry.env_name, "error": f"{type(err).__name__}: {err}"[:200]}
            print(f"{entry.env_name}: FAILED {res['error']}", flush=True)
            results.append(res)
            continue
        res["config_source"] = source
        preset_budget = (PPOConfig.preset(entry.env_name).total_timesteps
                         if source == "preset" else None)
        res["preset_budget"] = preset_budget
        res["budget"] = ("preset's own" if config.total_timesteps == preset_budget
                         and not (args.continuous and entry.cpu_overrides) else
                         "reduced: " + ", ".join(
                             [f"{k}={v}" for k, v in sorted(
                                 (entry.cpu_overrides if args.continuous else
                                  entry.quick_overrides if args.quick else {}).items())]
                             + [f"total_timesteps={config.total_timesteps}"]))
        res["published"] = entry.published
        res["measured"] = measured_stamp()
        png = out_dir / "curves" / (entry.env_name.replace("/", "_") + ".png")
        plot_learning_curves(
            np.asarray(res["curve_env_steps"]), np.asarray(res["curve_returns"]), png,
            title=f"{entry.env_name} ({seeds} seeds, {source} config)",
        )
        res["curve_png"] = str(png)
        results.append(res)
        if args.part_json:
            Path(args.part_json).write_text(json.dumps(res))
        print(
            f"{entry.env_name}: IQM {_fmt(res['iqm'])} [{_fmt(res['ci95'][0])}, "
            f"{_fmt(res['ci95'][1])}] over {seeds} seeds x {fmt_steps(res['steps_per_seed'])}; "
            f"run {res['run_s']:.1f} s, compile {res['compile_s']:.1f} s, "
            f"{res['steps_per_s']:,.0f} steps/s",
            flush=True,
        )
        (out_dir / "learning.json").write_text(json.dumps(
            {"machine": machine_info(), "quick": args.quick, "results": results}, indent=1))

    if args.part_json:
        return 0 if all("error" not in r for r in results) else 1
    command = "python benchmarks/learning.py " + " ".join(argv or sys.argv[1:])
    commands = [command]
    if previous is not None:
        results = _merged(previous["results"], results)
        commands = previous.get("commands", [previous.get("command")]) + commands
    summary = {
        "machine": machine_info(),
        "quick": args.quick,
        "command": command,
        "commands": commands,
        "suite_wall_s": time.perf_counter() - suite_t0,
        "peak_rss_mib": peak_rss_mib(),
        "skipped_brax": [e.env_name for e in entries if e.brax and not have_brax],
        "results": results,
    }
    (out_dir / "learning.json").write_text(json.dumps(summary, indent=1))
    table = render_markdown(results, args.quick, args.continuous)
    (out_dir / "learning.md").write_text(table)
    print(table)
    print(f"suite wall time {summary['suite_wall_s']:.0f} s -> {out_dir}")
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
