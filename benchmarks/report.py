"""Renders the results tables of README.md and docs/ from ``benchmarks/results``.

The JSON files under ``benchmarks/results/`` are the record of every measurement; the
tables in README.md and in the documentation are views of them. Each table sits in a
marked region of a Markdown file::

    <!-- report:vs-purejaxrl -->
    | config | ... |
    <!-- /report:vs-purejaxrl -->

and this script owns everything between the two markers. ``--write`` re-renders every
region in place; ``--check`` (the default) exits 1 and names every region whose text
differs from its rendering, so a table can never drift from its JSON
(``tests/test_report.py`` runs the check). Region names are the keys of
:data:`REGIONS`; a marker with an unknown name is an error.

    python benchmarks/report.py            # check README.md and docs/**/*.md
    python benchmarks/report.py --write    # re-render them
    python benchmarks/report.py --show h200-throughput   # print one rendering

Only the standard library and numpy are needed (no JAX), so the check is instant.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The scripts' own table writer and step format, so that a rendered table and a
# script's printout agree (``_common`` needs numpy only; JAX is imported lazily).
from _common import fmt_steps  # noqa: E402
from _common import markdown_table as table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
"""The repository whose README.md and docs/ are checked (tests point it elsewhere)."""
_REPO = ROOT
RESULTS = _REPO / "benchmarks" / "results"
H200 = RESULTS / "gpu" / "h200_2026-12-04"

MARKER = re.compile(r"<!-- report:([a-z0-9-]+) -->\n(.*?)<!-- /report:\1 -->", re.S)
OPEN_MARKER = re.compile(r"<!-- report:([a-z0-9-]+) -->")


# ----------------------------------------------------------------------- formatting
def _load(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _rel(path: Path) -> str:
    """A results path as the tables show it, relative to the repository."""
    try:
        return path.relative_to(_REPO).as_posix()
    except ValueError:
        return path.as_posix()


def fmt_return(x: float) -> str:
    """A return with one decimal below 1000, none above; ``n/a`` if not finite."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.1f}" if abs(x) < 1000 else f"{x:.0f}"


def fmt_sig(x: float) -> str:
    """About three significant digits: 0.342, 5.75, 17.2, 998.6, 3223."""
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    if a >= 1000:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def iqm(values: list[float]) -> float:
    """Interquartile mean of the finite values (as ``benchmarks/_common.iqm``)."""
    x = np.sort(np.asarray(values, np.float64))
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan")
    k = len(x) // 4
    return float(x[k : len(x) - k].mean())


def _bold_smaller(a: float, b: float, fmt: str = "{:.1f}") -> str:
    """``"a / b"`` with the smaller of the two in bold."""
    sa, sb = fmt.format(a), fmt.format(b)
    if b < a:
        sb = f"**{sb}**"
    elif a < b:
        sa = f"**{sa}**"
    return f"{sa} / {sb}"


# ------------------------------------------------------------------ vs purejaxrl (CPU)
# The headline: the newest quiet run of the code that ships (2026-12-04, after #24-#26).
VS_PUREJAXRL = RESULTS / "vs_purejaxrl_2026-12-04.json"
VS_PUREJAXRL_RUNS = [
    RESULTS / "vs_purejaxrl_rerun.json",
    RESULTS / "vs_purejaxrl_0854_0911.json",
    RESULTS / "vs_purejaxrl.json",
    RESULTS / "vs_purejaxrl_confirm.json",
    RESULTS / "vs_purejaxrl_2026-12-04_loaded.json",
    RESULTS / "vs_purejaxrl_2026-12-04.json",
    RESULTS / "vs_purejaxrl_breakout_2026-12-04.json",
    RESULTS / "vs_purejaxrl_breakout_7a89f53_2026-12-04.json",
]


def _vs_label(r: dict[str, Any]) -> str:
    seeds = r["seeds"]
    return f"{r['env']}, 1 seed" if seeds == 1 else f"{r['env']}, {seeds} seeds vmapped"


def _over_seeds(r: dict[str, Any]) -> str:
    over = r.get("return_over_seeds")
    if not over:
        return "-"
    a, b = over["purejaxrl"], over["purejaxppo"]
    return f"{a['mean']:.1f} +- {a['sem']:.1f} / {b['mean']:.1f} +- {b['sem']:.1f}"


def render_vs_purejaxrl() -> str:
    """The full side-by-side table of the newest run (every repeat, compile, returns)."""
    data = _load(VS_PUREJAXRL)
    rows = []
    for r in data["results"]:
        med = r["median_steps_per_s"]
        every = r["steps_per_s_every_repeat"]
        pairs = " ".join(
            f"{a / 1e3:.0f}/{b / 1e3:.0f}"
            for a, b in zip(every["purejaxrl"], every["purejaxppo"], strict=True)
        )
        rows.append(
            [
                _vs_label(r),
                f"{med['purejaxrl']:,.0f}",
                f"{med['purejaxppo']:,.0f}",
                f"**{r['ratio_ours_over_theirs']:.2f}x**",
                pairs,
                _bold_smaller(r["compile_s"]["purejaxrl"], r["compile_s"]["purejaxppo"]),
                f"{fmt_return(r['final_return']['purejaxrl'])} / "
                f"{fmt_return(r['final_return']['purejaxppo'])}",
                _over_seeds(r),
            ]
        )
    env = data["environment"]
    head = (
        f"Measured {env['date']}, {env['cpu_count']}-core CPU, jax {env['jax']}, "
        f"`XLA_FLAGS` {env['XLA_FLAGS'] or 'unset'}, {env['repeats']} interleaved "
        f"repeats (medians), compile excluded from steps/s (`{_rel(VS_PUREJAXRL)}`).\n\n"
    )
    return head + table(
        [
            "config",
            "purejaxrl steps/s",
            "purejaxppo steps/s",
            "ours / theirs",
            "every repeat, theirs / ours (k steps/s)",
            "compile s, theirs / ours",
            "final return, theirs / ours",
            f"{env.get('return_seeds', 8)} seeds, mean +- s.e., theirs / ours",
        ],
        rows,
    )


def render_vs_purejaxrl_headline() -> str:
    """The short side-by-side table for the landing page."""
    data = _load(VS_PUREJAXRL)
    rows = []
    for r in data["results"]:
        med = r["median_steps_per_s"]
        rows.append(
            [
                _vs_label(r),
                f"{med['purejaxrl'] / 1e3:.0f}k",
                f"{med['purejaxppo'] / 1e3:.0f}k",
                f"**{r['ratio_ours_over_theirs']:.2f}x**",
                _bold_smaller(r["compile_s"]["purejaxrl"], r["compile_s"]["purejaxppo"]),
                _over_seeds(r),
            ]
        )
    env = data["environment"]
    head = (
        f"{env['cpu_count']}-core CPU, jax {env['jax']}, both libraries in one process, "
        f"interleaved, medians of {env['repeats']} (compile excluded from steps/s), "
        f"{env['date']}:\n\n"
    )
    return head + table(
        [
            "config",
            "purejaxrl steps/s",
            "purejaxppo steps/s",
            "ours / theirs",
            "compile s, theirs / ours",
            "return, 8 seeds, theirs / ours",
        ],
        rows,
    )


def render_vs_purejaxrl_runs() -> str:
    """One row per stored run of ``benchmarks/vs_purejaxrl.py``: ratio per config."""
    runs = []
    configs: list[str] = []
    for path in VS_PUREJAXRL_RUNS:
        data = _load(path)
        dates = [run["environment"]["date"] for run in data.get("runs", [])]
        date = " + ".join(dates) if dates else data["environment"]["date"]
        env = data.get("environment") or data["runs"][0]["environment"]
        code = env.get("purejaxppo_commit") or "-"
        if env.get("under_load"):
            code += ", under load"
        by_config = {r["config"]: r for r in data["results"]}
        for name in by_config:
            if name not in configs:
                configs.append(name)
        runs.append((date, code, path, by_config))
    rows = []
    for date, code, path, by_config in runs:
        cells = []
        for name in configs:
            r = by_config.get(name)
            if r is None:
                cells.append("-")
                continue
            c = r["compile_s"]
            cells.append(
                f"{r['ratio_ours_over_theirs']:.2f}x "
                f"({c['purejaxrl']:.1f} / {c['purejaxppo']:.1f} s)"
            )
        rows.append([date, code, *cells, f"`{_rel(path)}`"])
    return table(
        ["run (UTC)", "code", *[f"{name}: ratio (compile theirs / ours)" for name in configs], "JSON"],
        rows,
    )


# ------------------------------------------------------------------ learning (CPU)
LEARNING_QUICK = RESULTS / "learning_quick" / "learning.json"
LEARNING_CONTINUOUS = RESULTS / "learning_continuous" / "learning.json"
SUITES_LEARNING = RESULTS / "suites_learning.json"


def _measured(r: dict[str, Any]) -> str:
    """``YYYY-MM-DD, commit`` of one learning row (``-`` where the record has none)."""
    m = r.get("measured")
    if not m:
        return "-"
    commit = m.get("purejaxppo_commit")
    return m["date"][:10] + (f", {commit}" if commit else "")


def render_learning_quick() -> str:
    """``benchmarks/learning.py --quick``: every preset at a CPU-sized budget."""
    data = _load(LEARNING_QUICK)
    rows = []
    for r in data["results"]:
        lo, hi = r["ci95"]
        rows.append(
            [
                r["env_name"],
                fmt_steps(r["steps_per_seed"]),
                r["seeds"],
                f"{fmt_return(r['iqm'])} [{fmt_return(lo)}, {fmt_return(hi)}]",
                f"{r['run_s']:.0f}",
                f"{r['compile_s']:.0f}",
                f"{r['steps_per_s'] / 1e3:,.0f}k",
                r["published"],
            ]
        )
    stamps = sorted({_measured(r) for r in data["results"]})
    head = (
        f"Measured {' and '.join(stamps)} (date, purejaxppo commit), "
        f"{data['machine']['cpu_count']}-core CPU, jax {data['machine']['jax']}"
        + (f": `{data['command']}`" if "command" in data else " (a partial run)")
        + ".\n\n"
    )
    return head + table(
        [
            "env",
            "steps/seed",
            "seeds",
            "final IQM [95% CI]",
            "run s",
            "compile s",
            "steps/s (all seeds)",
            "published PPO",
        ],
        rows,
    )


def render_learning_continuous() -> str:
    """``benchmarks/learning.py --continuous``: the continuous presets."""
    data = _load(LEARNING_CONTINUOUS)
    rows = []
    for r in data["results"]:
        lo, hi = r["ci95"]
        curves = np.asarray(r["curve_returns"], np.float64)
        firsts = [row[np.isfinite(row)][0] if np.isfinite(row).any() else np.nan for row in curves]
        rows.append(
            [
                r["env_name"],
                fmt_steps(r["steps_per_seed"]),
                r.get("budget", "-"),
                r["config"].get("policy_head", "gaussian"),
                r["seeds"],
                fmt_return(iqm(firsts)),
                f"{fmt_return(r['iqm'])} [{fmt_return(lo)}, {fmt_return(hi)}]",
                f"{r['run_s']:.0f}",
                f"{r['compile_s']:.0f}",
                f"{r['steps_per_s'] / 1e3:,.0f}k",
                r["published"],
                _measured(r),
            ]
        )
    return table(
        [
            "env",
            "steps/seed",
            "budget",
            "head",
            "seeds",
            "first IQM",
            "final IQM [95% CI]",
            "run s",
            "compile s",
            "steps/s (all seeds)",
            "published PPO",
            "measured",
        ],
        rows,
    )


# Words that the numbers cannot say, per suite env (the published column and notes).
_SUITE_NOTES = {
    "xminigrid/MiniGrid-Empty-8x8": ("shortest path ~0.96", "-"),
    "xminigrid/MiniGrid-DoorKey-5x5": ("", "-"),
    "jumanji/Snake-v1": ("", "-"),
    "jumanji/Game2048-v1": ("", "-"),
    "playground/CartpoleBalance": ("of 1000", "-"),
    "craftax/Craftax-Classic-Symbolic-v1": (
        "+1 per first-time achievement, 22 in all, plus health changes; still rising",
        "no 524k figure published for Classic; 2.2% of max on full Craftax at 1M (Craftax README)",
    ),
}
_SUITE_ORDER = list(_SUITE_NOTES)


def render_suites_learning() -> str:
    """``benchmarks/suites_learning.py``: each suite preset at its own budget, 2 seeds."""
    data = _load(SUITES_LEARNING)
    names = [n for n in _SUITE_ORDER if n in data] + [n for n in data if n not in _SUITE_NOTES]
    rows = []
    for name in names:
        r = data[name]
        note, published = _SUITE_NOTES.get(name, ("", "-"))
        first = r["first10_return_per_seed"]
        if all(not math.isfinite(x) for x in first):
            first_s = "(no episode ended in the first 10 updates)"
        else:
            first_s = ", ".join(fmt_sig(x) for x in first)
        last_s = ", ".join(fmt_sig(x) for x in r["last10_return_per_seed"])
        cell = f"{first_s} -> {last_s}" + (f" ({note})" if note else "")
        rows.append(
            [
                name,
                fmt_steps(r["steps_per_seed"]),
                cell,
                f"{r['wall_s_incl_compile']:.0f}",
                published,
                _measured(r),
            ]
        )
    return table(
        [
            "env",
            "steps/seed",
            "return first 10 -> last 10 updates (seed 0, seed 1)",
            "wall s (incl. compile)",
            "published",
            "measured",
        ],
        rows,
    )


# ---------------------------------------------------------------------- H200 (GPU)
H200_CARTPOLE = H200 / "call1" / "cartpole_seeds.json"
H200_SPACEINVADERS = H200 / "call1" / "spaceinvaders.json"
H200_BRAX = H200 / "call1" / "brax_ant.json"
H200_THROUGHPUT = H200 / "call2" / "throughput.json"
H200_PHASES = H200 / "call2" / "phases.json"
H200_CACHE = [H200 / "call1" / "compile_precision.json", H200 / "call3" / "compile_precision.json"]


def _h200_device() -> str:
    d = _load(H200_CARTPOLE)
    v = d["versions"]
    plugin = "CUDA 13" if v.get("jax-cuda13-plugin") else "CUDA 12"
    return (
        f"one {d['device_kind']}, jax/jaxlib {v['jax']}/{v['jaxlib']} ({plugin} plugin), "
        f"flax {v['flax']}, `XLA_FLAGS` {d['xla_flags'] or 'unset'}, "
        f"{d['started_at'][:10]}"
    )


def _met(value: float, target: float, higher_is_better: bool) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "missed"


def _h200_cartpole() -> dict[str, Any]:
    d = _load(H200_CARTPOLE)
    s, z, ret = d["seconds"], d["sizes"], d["returns_final"]
    return {
        "seeds": z["seeds"],
        "steps_per_seed": z["steps_per_seed"],
        "total": z["total_steps"],
        "wall": s["wall_including_compile"],
        "trace": s["trace_lower"],
        "compile": s["compile"],
        "run": s["first_run"],
        "ret": ret,
    }


def _h200_spaceinvaders() -> list[dict[str, Any]]:
    d = _load(H200_SPACEINVADERS)
    steps = d["sizes"]["steps_per_seed"]
    return [
        {
            "seeds": r["seeds"],
            "steps": steps,
            **r["seconds"],
            "sps": r["steps_per_s"]["train"],
            "ret": r["returns_final"],
        }
        for r in d["runs"]
    ]


def render_h200_headline() -> str:
    """The landing page's GPU figures: the issue-23 plan's headline rows."""
    cp = _h200_cartpole()
    si = _h200_spaceinvaders()[0]
    thr = _load(H200_THROUGHPUT)["summary"]
    ant = _load(H200_BRAX)
    rows = [
        [
            f"CartPole-v1, {cp['seeds']:,} seeds x {cp['steps_per_seed']:,} steps, "
            "one vmapped call",
            f"**{cp['wall']:.1f} s** (run {cp['run']:.1f} s + trace/compile "
            f"{cp['trace'] + cp['compile']:.1f} s)",
            "yes",
            "purejaxrl: ~98 s on an A100",
        ],
        [
            f"SpaceInvaders-MinAtar preset, {si['steps']:,} steps, 1 seed",
            f"**{si['wall_including_compile']:.1f} s**, return {si['ret']['mean']:.1f}",
            "yes",
            "purejaxrl: ~45 s on an A40",
        ],
        [
            "peak training throughput, CartPole-v1 / Breakout-MinAtar (65,536 envs)",
            f"**{thr['CartPole-v1']['peak_train_steps_per_s'] / 1e6:.1f}M / "
            f"{thr['Breakout-MinAtar']['peak_train_steps_per_s'] / 1e6:.1f}M steps/s**",
            "no",
            "PufferLib 3.0: 4M steps/s on an RTX 5090 (C envs, CUDA kernels)",
        ],
        [
            f"brax/ant preset (MJX), {ant['steps_done']:,} steps",
            f"{ant['seconds']['wall_including_compile']:.1f} s in all (run "
            f"{ant['seconds']['run']:.1f} s), return {ant['final_return']:,.0f}",
            "yes",
            "brax notebook: 33 s jit + 2:36 train, ~8000",
        ],
    ]
    return (
        f"Measured on {_h200_device()} (`python benchmarks/accelerator.py --plan h200`, "
        f"JSON in `{_rel(H200)}/`):\n\n"
        + table(["what", "measured", "compile included", "published (other hardware)"], rows)
    )


def render_h200_summary() -> str:
    """Every section of the H200 plan against the targets of issue 23."""
    cp = _h200_cartpole()
    si1, si16 = _h200_spaceinvaders()
    thr = _load(H200_THROUGHPUT)["summary"]
    ant = _load(H200_BRAX)
    caches = [_load(p)["cache"] for p in H200_CACHE]
    precision = _load(H200_CACHE[-1])
    tc, tb = thr["CartPole-v1"], thr["Breakout-MinAtar"]
    ret = cp["ret"]
    a = ant["seconds"]
    ant_wall = a["wall_including_compile"]
    rows = [
        [
            f"CartPole-v1, purejaxrl's config, {cp['seeds']:,} seeds x {cp['steps_per_seed']:,} "
            "steps in ONE vmapped call",
            f"**{cp['wall']:.1f} s with compile** (trace {cp['trace']:.1f}, compile "
            f"{cp['compile']:.1f}, run {cp['run']:.1f} s = {cp['total'] / cp['run'] / 1e6:.0f}M "
            f"steps/s); final return mean {ret['mean']:.1f}, median {ret['median']:.0f}, min "
            f"{ret['min']:.1f}",
            f"<= 20 s: {_met(cp['wall'], 20, False)}",
            "purejaxrl ~98 s on an A100",
        ],
        [
            f"SpaceInvaders-MinAtar preset, {si1['steps']:,} steps, 1 seed",
            f"**{si1['wall_including_compile']:.1f} s with compile** (trace + compile "
            f"{si1['trace_lower'] + si1['compile']:.1f}, run {si1['run']:.1f} s); final return "
            f"{si1['ret']['mean']:.1f}",
            f"<= 15 s: {_met(si1['wall_including_compile'], 15, False)}",
            "purejaxrl ~45 s with compile on an A40",
        ],
        [
            f"the same, {si16['seeds']} seeds in one call",
            f"{si16['wall_including_compile']:.1f} s with compile (run {si16['run']:.1f} s = "
            f"{si16['sps'] / 1e6:.1f}M steps/s); final return {si16['ret']['mean']:.1f} +- "
            f"{si16['ret']['std']:.1f} (std over seeds)",
            "",
            "",
        ],
        [
            f"peak training throughput, CartPole-v1 (preset, {tc['peak_at_num_envs']:,} envs "
            "x 128 steps)",
            f"**{tc['peak_train_steps_per_s'] / 1e6:.1f}M steps/s**",
            f">= 10M: {_met(tc['peak_train_steps_per_s'], 10e6, True)}",
            "",
        ],
        [
            f"peak training throughput, Breakout-MinAtar (preset, {tb['peak_at_num_envs']:,} envs)",
            f"**{tb['peak_train_steps_per_s'] / 1e6:.1f}M steps/s**",
            f">= 4M: {_met(tb['peak_train_steps_per_s'], 4e6, True)}",
            "PufferLib 3.0: 4M steps/s on one RTX 5090 (C envs, CUDA kernels)",
        ],
        [
            f"training / env-only steps/s at {tc['largest_num_envs']:,} envs",
            f"CartPole {tc['train_over_env_only_at_largest']:.3f}, Breakout "
            f"{tb['train_over_env_only_at_largest']:.3f}",
            ">= 0.5: "
            + _met(
                min(tc["train_over_env_only_at_largest"], tb["train_over_env_only_at_largest"]),
                0.5,
                True,
            ),
            "",
        ],
        [
            f"brax/ant preset (MJX, {ant['config']['num_envs']} envs x "
            f"{ant['config']['num_steps']} steps), {ant['steps_done']:,} steps",
            f"run {a['run']:.1f} s ({ant['steps_per_s']['train'] / 1e6:.2f}M steps/s), compile "
            f"{a['compile_total']:.1f} s, env construction {a['env_build']:.1f} s: "
            f"{ant_wall:.1f} s in all; return {ant['final_return']:,.0f} at "
            f"{ant['steps_done'] / 1e6:.0f}M",
            f"50M <= 2 min with compile: {_met(ant_wall, 120, False)}; return >= 6000: "
            f"{_met(ant['final_return'], 6000, True)}",
            "brax notebook: 33 s jit + 2:36 train, ~8000",
        ],
        [
            f"persistent compilation cache, the {caches[0]['program']} program, second process",
            "compile "
            + "; again: ".join(
                f"{c['cold']['compile_s']:.2f} s cold -> {c['warm']['compile_s']:.2f} s warm"
                for c in caches
            ),
            "",
            "",
        ],
        [
            'TF32 (default) vs `jax_default_matmul_precision="highest"`',
            f'not measured: the section stopped with "{precision["error"]}" after the cache probes',
            "",
            "",
        ],
    ]
    return (
        f'Measured on {_h200_device()}; "with compile" = trace + lower + compile + '
        f"the run. JSON: `{_rel(H200)}/`.\n\n"
        + table(
            [
                "what",
                "measured",
                "target (issue 23)",
                "published figure (other hardware, not the same setting)",
            ],
            rows,
        )
    )


def render_h200_throughput() -> str:
    """Training vs env-only steps/s over num_envs (call2/throughput.json)."""
    d = _load(H200_THROUGHPUT)
    by = {(p["env"], p["num_envs"]): p for p in d["points"]}
    envs = d["sizes"]["envs"]
    rows = []
    for n in sorted(d["sizes"]["num_envs"]):
        row: list[Any] = [f"{n:,}"]
        for env in envs:
            p = by.get((env, n))
            row += (
                ["-", "-"]
                if p is None
                else [
                    f"{p['train_steps_per_s'] / 1e6:,.1f}M/s",
                    f"{p['env_only_steps_per_s'] / 1e6:,.1f}M/s",
                ]
            )
        rows.append(row)
    headers = ["num_envs"]
    for env in envs:
        short = env.split("-")[0]
        headers += [f"{short} train", f"{short} env-only"]
    return f"`{_rel(H200_THROUGHPUT)}`:\n\n" + table(headers, rows)


def render_h200_phases() -> str:
    """Time per phase of one update at the largest size (call2/phases.json)."""
    d = _load(H200_PHASES)
    rows = []
    for env, p in d["phases"].items():
        m = p["median_s"]
        rows.append(
            [
                env,
                f"{m['env_only'] * 1e3:.1f}",
                f"{m['rollout'] * 1e3:.1f}",
                f"{m['update'] * 1e3:.1f}",
                f"{p['learning_share_of_update']:.0%}",
            ]
        )
    return (
        f"`{_rel(H200_PHASES)}`, one update at {d['sizes']['num_envs']:,} envs x 128 "
        "steps, median of 5:\n\n"
        + table(
            [
                "env",
                "env-only ms",
                "rollout (env + policy) ms",
                "whole update ms",
                "learning share of the update",
            ],
            rows,
        )
    )


# --------------------------------------------------------------- PBT and Table 1
PBT_DIR = RESULTS / "pbt"
TABLE1_DIR = RESULTS / "ppo_table1"


def _iqm_ci(summary: dict[str, Any]) -> str:
    if summary.get("iqm") is None:
        return "n/a"
    low, high = summary["iqm_ci"]
    return f"{fmt_return(summary['iqm'])} [{fmt_return(low)}, {fmt_return(high)}]"


def render_pbt_study() -> str:
    """``benchmarks/pbt.py``: PBT vs random search per env (IQM and 95% CI over reps)."""
    rows = []
    for path in sorted(PBT_DIR.glob("pbt_*.json")):
        r = _load(path)
        for stat, label in (("best", "best member"), ("median", "population median")):
            diff = r[f"paired_difference_{stat}"]
            rows.append([
                r["env"] if stat == "best" else "",
                f"{r['reps']} x {r['population']} x {fmt_steps(r['steps_per_member'])}"
                if stat == "best" else "",
                label,
                _iqm_ci(r["pbt"][stat]),
                _iqm_ci(r["random_search"][stat]),
                f"{diff['pbt_wins']} / {diff['ties']} / {r['reps'] - diff['pbt_wins'] - diff['ties']}",
            ])
    if not rows:
        return "No PBT study has been run yet.\n"
    return table(["env", "reps x population x steps", "final fitness of", "PBT: IQM [95% CI]",
                  "random search: IQM [95% CI]", "PBT wins / ties / losses (paired)"], rows)


def render_ppo_table1() -> str:
    """``benchmarks/ppo_table1.py``: normalized scores per setting, next to the paper's."""
    files = sorted(TABLE1_DIR.glob("*.json"))
    if not files:
        return "No Table 1 run has been made yet.\n"
    tasks = [t for path in files for t in _load(path)["tasks"]]
    names = [t["task"] for t in tasks]
    rows = []
    for i, row in enumerate(tasks[0]["rows"]):
        setting = "-" if row["label"] == "no clipping or penalty" else f"{row['value']:g}"
        per_task = [t["rows"][i]["normalized"] for t in tasks]
        paper = _load(files[0])["table"][i]["paper"]
        rows.append([row["label"], setting, *[f"{v:.2f}" for v in per_task],
                     f"{np.mean(per_task):.2f}", f"{paper:.2f}"])
    steps = fmt_steps(tasks[0]["steps_per_run"])
    seeds = len(tasks[0]["rows"][0]["scores"])
    return table(["objective", "setting", *[f"{n} ({steps}, {seeds} seeds)" for n in names],
                  "mean here", "paper (7 MuJoCo tasks)"], rows)


# ------------------------------------------------------------------- sim-to-real
SIM_DIR = RESULTS / "sim_to_real"


def _ci(stat: dict[str, Any]) -> str:
    low, high = stat["ci95"]
    return f"{fmt_return(stat['iqm'])} [{fmt_return(low)}, {fmt_return(high)}]"


def render_sim_to_real_ood() -> str:
    """``benchmarks/sim_to_real.py --part ood``: CartPole nominal vs randomized training,
    deterministic returns over a grid of pole lengths and masses."""
    path = SIM_DIR / "ood_cartpole.json"
    if not path.exists():
        return "No out-of-distribution run has been made yet.\n"
    r = _load(path)
    nom, ran = r["variants"]["nominal"], r["variants"]["randomized"]
    ranges = {k: v for k, v in ran["config"]["randomize_ranges"].items()}
    rows = []
    for i, point in enumerate(r["points"]):
        inside = i not in r["ood_points"]
        rows.append([
            f"{point['length']:g}",
            f"{point['masspole']:g}",
            "yes" if inside else "no",
            _ci(nom["grid"][i]),
            _ci(ran["grid"][i]),
        ])
    rows.append(["**mean of the off-range points**", "", "no", _ci(nom["ood_mean"]),
                 _ci(ran["ood_mean"])])
    what = ", ".join(f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in ranges.items())
    head = (
        f"{r['seeds']} seeds per variant, {fmt_steps(nom['config']['total_timesteps'])} steps "
        f"each, {r['episodes']} deterministic episodes per seed and point; IQM over seeds "
        f"[95% bootstrap CI]. Randomized training: {what}, drawn at every episode start "
        f"(nominal: length 0.5, masspole 0.1, masscart 1). "
        f"`{_rel(path)}`, plot `{_rel(SIM_DIR / 'ood_cartpole.png')}`.\n\n"
    )
    return head + table(
        ["pole length", "pole mass", "inside the training ranges", "nominal training",
         "randomized training"],
        rows,
    )


def render_sim_to_real_privileged() -> str:
    """``benchmarks/sim_to_real.py --part privileged``: MaskedCartPole GRU with a
    symmetric vs a privileged critic."""
    path = SIM_DIR / "privileged_masked_cartpole.json"
    if not path.exists():
        return "No privileged-critic run has been made yet.\n"
    r = _load(path)
    rows = []
    for label, name in (("symmetric", "critic reads [x, theta] (symmetric)"),
                        ("privileged", "critic reads the full state (privileged)")):
        v = r["variants"][label]
        steps = v["steps_to_400"]
        median = steps["median_of_reached"]
        rows.append([
            name,
            _ci(v["final_train_return"]),
            _ci(v["eval_return"]),
            f"{steps['reached']} / {r['seeds']}",
            fmt_steps(median) if median is not None else "n/a",
        ])
    steps = fmt_steps(r["variants"]["symmetric"]["config"]["total_timesteps"])
    head = (
        f"`MaskedCartPole-v1`, GRU 64 actor (preset), {steps} steps, {r['seeds']} seeds "
        f"(same keys for both); IQM [95% bootstrap CI]. `{_rel(path)}`.\n\n"
    )
    return head + table(
        ["critic", "final training return", f"deterministic eval ({r['episodes']} episodes)",
         "seeds reaching 400", "median steps to 400 (of those)"],
        rows,
    )


def render_sim_to_real_brax() -> str:
    """``benchmarks/sim_to_real.py --part brax``: inverted pendulum nominal vs randomized."""
    path = SIM_DIR / "brax_inverted_pendulum.json"
    if not path.exists():
        return "No brax randomization run has been made yet.\n"
    r = _load(path)
    nom, ran = r["variants"]["nominal"], r["variants"]["randomized"]
    low, high = ran["config"]["randomize_ranges"]["body_mass"]
    rows = [
        [f"{f:g}", "yes" if low <= f <= high else "no", _ci(nom["grid"][i]), _ci(ran["grid"][i])]
        for i, f in enumerate(r["mass_factors"])
    ]
    what = ", ".join(
        f"{k} x [{lo:g}, {hi:g}]" for k, (lo, hi) in ran["config"]["randomize_ranges"].items()
    )
    head = (
        f"`brax/inverted_pendulum`, {fmt_steps(nom['config']['total_timesteps'])} steps, "
        f"{r['seeds']} seeds; randomized: {what} at every episode start. Deterministic "
        f"returns (of 1000) with every body mass scaled; IQM [95% CI]. `{_rel(path)}`.\n\n"
    )
    return head + table(
        ["body mass factor", "inside the training range", "nominal training",
         "randomized training"],
        rows,
    )


def render_sim_to_real_cost() -> str:
    """``benchmarks/sim_to_real.py --part cost``: training steps/s side by side."""
    path = SIM_DIR / "cost.json"
    if not path.exists():
        return (
            "Not measured yet: `python benchmarks/sim_to_real.py --part cost` writes "
            "`benchmarks/results/sim_to_real/cost.json`.\n"
        )
    r = _load(path)
    rows = []
    base: float | None = None
    for label, v in r["variants"].items():
        sps = v["steps_per_second_median"]
        if not label.startswith(("CartPole-v1 rand", "MaskedCartPole-v1 GRU priv",
                                 "brax/inverted_pendulum rand")):
            base = sps
        rows.append([label, f"{sps / 1e3:.1f}k", f"{sps / base:.2f}" if base else "-"])
    head = (
        f"Training steps/s, medians of {r['repeats']} interleaved repeats of "
        f"{r['updates_per_repeat']} updates, one process; {r['machine']['cpu_count']} CPU "
        f"cores, {r['machine']['backend']}. `{_rel(path)}`.\n\n"
    )
    return head + table(["variant", "steps/s", "vs the plain variant above"], rows)


REGIONS: dict[str, Callable[[], str]] = {
    "sim-to-real-ood": render_sim_to_real_ood,
    "sim-to-real-privileged": render_sim_to_real_privileged,
    "sim-to-real-brax": render_sim_to_real_brax,
    "sim-to-real-cost": render_sim_to_real_cost,
    "vs-purejaxrl": render_vs_purejaxrl,
    "vs-purejaxrl-headline": render_vs_purejaxrl_headline,
    "vs-purejaxrl-runs": render_vs_purejaxrl_runs,
    "learning-quick": render_learning_quick,
    "learning-continuous": render_learning_continuous,
    "suites-learning": render_suites_learning,
    "h200-headline": render_h200_headline,
    "h200-summary": render_h200_summary,
    "h200-throughput": render_h200_throughput,
    "h200-phases": render_h200_phases,
    "pbt-study": render_pbt_study,
    "ppo-table1": render_ppo_table1,
}
"""Region name -> renderer (each returns Markdown ending in a newline)."""


# ------------------------------------------------------------------------ the files
def target_files(root: Path | None = None) -> list[Path]:
    """README.md and every Markdown page of the documentation (under ``root``,
    default the repository)."""
    root = ROOT if root is None else root
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def render_file(text: str, rendered: dict[str, str], where: str = "") -> str:
    """``text`` with every marked region replaced by its rendering.

    Raises:
      ValueError: an unknown region name, or an opening marker without its closing one.
    """
    opened = OPEN_MARKER.findall(text)
    closed = [m.group(1) for m in MARKER.finditer(text)]
    if sorted(opened) != sorted(closed):
        missing = sorted(set(opened) - set(closed)) or opened
        raise ValueError(
            f"{where}: region(s) {missing} have no matching '<!-- /report:NAME -->' marker"
        )
    unknown = sorted(set(opened) - set(rendered))
    if unknown:
        raise ValueError(f"{where}: unknown report region(s) {unknown}; known: {sorted(rendered)}")

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return f"<!-- report:{name} -->\n{rendered[name]}<!-- /report:{name} -->"

    return MARKER.sub(sub, text)


def regions_in(text: str) -> list[str]:
    """Names of the marked regions in ``text``, in order."""
    return OPEN_MARKER.findall(text)


def check(root: Path | None = None) -> list[str]:
    """Every ``file: region`` whose text differs from its rendering (empty: all equal)."""
    root = ROOT if root is None else root
    rendered = {name: fn() for name, fn in REGIONS.items()}
    stale = []
    for path in target_files(root):
        text = path.read_text(encoding="utf-8")
        fresh = render_file(text, rendered, str(path))
        if fresh != text:
            old = {m.group(1): m.group(2) for m in MARKER.finditer(text)}
            for name, body in old.items():
                if body != rendered[name]:
                    stale.append(f"{path.relative_to(root).as_posix()}: {name}")
    return stale


def write(root: Path | None = None) -> list[Path]:
    """Re-renders every region in place; returns the files that changed."""
    root = ROOT if root is None else root
    rendered = {name: fn() for name, fn in REGIONS.items()}
    changed = []
    for path in target_files(root):
        text = path.read_text(encoding="utf-8")
        fresh = render_file(text, rendered, str(path))
        if fresh != text:
            path.write_text(fresh, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="re-render the regions in place")
    group.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a region differs from its rendering (default)",
    )
    group.add_argument(
        "--show", metavar="REGION", choices=sorted(REGIONS), help="print one region's rendering"
    )
    args = parser.parse_args(argv)
    try:
        if args.show:
            print(REGIONS[args.show](), end="")
            return 0
        if args.write:
            for path in write():
                print(f"rewrote {path.relative_to(ROOT).as_posix()}")
            return 0
        stale = check()
    except ValueError as err:
        print(f"report: error: {err}", file=sys.stderr)
        return 2
    for line in stale:
        print(f"stale: {line} (run `python benchmarks/report.py --write`)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
