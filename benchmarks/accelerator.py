"""The accelerator plan: one fixed script that measures every headline GPU claim.

    python benchmarks/accelerator.py --plan tiny --out /tmp/acc      # toy sizes, CPU, <1 min
    python benchmarks/accelerator.py --plan h200 --out $OUT          # one H200, <= 8 min

Each section runs in its own subprocess under its own time cap (the plan's total
budget caps the sum), prints timestamped lines as it goes and writes
``<out>/<section>.json`` as soon as it has something, rewritten after every point,
so a section killed at its cap (or a call that times out) keeps what finished. A
section that fails records its error and the plan goes on; the plan exits non-zero
if any section failed or was cut short. Sections, in order:

``cartpole_seeds``
    CartPole-v1 with purejaxrl's config (4 envs x 128 steps, 4 epochs x 4
    minibatches, 500k steps; our preset) vmapped over 2048 seeds in ONE call:
    trace, compile and run times, the run again without compile, final returns.
``spaceinvaders``
    SpaceInvaders-MinAtar preset (64 envs x 128 steps), 1e7 steps, 1 seed and 16
    seeds: wall time including compile, and the final return.
``throughput``
    Training steps/s and env-only steps/s (``benchmarks/throughput.make_env_only``:
    the same envs and ``num_envs``, random actions, as many steps per env) at
    ``num_envs`` 65536 ... 256 for CartPole-v1 and Breakout-MinAtar (preset
    otherwise), interleaved timing, medians; largest sizes first.
``brax_ant``
    The ``brax/ant`` preset (MJX, 4096 envs x 80 steps, 153 updates = 50M steps)
    run in chunks of one compiled program until done or out of time: compile time,
    steps/s, the return curve.
``compile_precision``
    (1) the ``cartpole_seeds`` program compiled in two fresh processes sharing an
    empty persistent compilation cache (cold, then warm); (2) Breakout-MinAtar
    (16 seeds) compiled with the default matmul precision (TF32 on NVIDIA GPUs)
    and with ``jax_default_matmul_precision="highest"``, run interleaved: speed and
    final return.
``phases``
    Where a training update's time goes at the largest size: env-only steps, the
    rollout alone (env + policy), one whole PPO update (rollout, GAE, K epochs).

Every record has ``section``, ``plan``, ``device``, ``jax_version``, ``sizes``,
``seconds``, ``steps_per_s``, ``complete`` and ``error``; ``tests/test_accelerator.py``
runs ``--plan tiny`` and checks them.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

SECTIONS = ("cartpole_seeds", "spaceinvaders", "throughput", "brax_ant",
            "compile_precision", "phases", "variants")
DEFAULT_SECTIONS = SECTIONS[:-1]
"""``--sections`` default: the measuring plan; ``variants`` (the tuning A/B) is asked
for by name: ``--sections variants``."""

# Every size of the plan, per plan. ``cap_s`` is each section's own time limit; the
# plan's ``budget_s`` limits their sum (a section gets min(cap, budget left)).
PLANS: dict[str, dict[str, Any]] = {
    "h200": {
        "budget_s": 480,
        "cartpole_seeds": {"seeds": 2048, "reruns": 1, "cap_s": 80, "overrides": {}},
        "spaceinvaders": {"seeds": (1, 16), "cap_s": 110,
                          "overrides": {"total_timesteps": 10_000_000}},
        "throughput": {"envs": ("CartPole-v1", "Breakout-MinAtar"),
                       "num_envs": (65536, 16384, 4096, 1024, 256),
                       "steps_per_point": 2**25, "min_updates": 2, "max_updates": 16,
                       "repeats": 2, "cap_s": 150, "overrides": {}},
        "brax_ant": {"env": "brax/ant", "chunk_updates": 17, "run_budget_s": 90,
                     "cap_s": 140, "overrides": {}},
        "compile_precision": {"cache_seeds": 2048, "precision_env": "Breakout-MinAtar",
                              "precision_seeds": 16, "repeats": 2, "cap_s": 120,
                              "overrides": {"total_timesteps": 2_000_000}},
        "phases": {"envs": ("CartPole-v1", "Breakout-MinAtar"), "num_envs": 65536,
                   "repeats": 5, "cap_s": 60, "overrides": {}},
        # The two small-batch runs that missed their targets, shortened; each switch
        # compiled in this process and timed interleaved; each XLA flag set in a
        # process of its own (flags are read when the backend starts).
        "variants": {"configs": {
                         "cartpole_2048": {"env": "CartPole-v1", "seeds": 2048,
                                           "overrides": {"total_timesteps": 512 * 100}},
                         "spaceinvaders_1": {"env": "SpaceInvaders-MinAtar", "seeds": 1,
                                             "overrides": {"total_timesteps": 8192 * 200}}},
                     "switches": ("baseline", "rollout_unroll8", "gae_unroll16",
                                  "final_values_all"),
                     "flags": {"cmdbuf_while": "--xla_gpu_enable_command_buffer=FUSION,"
                               "CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,CONDITIONAL,WHILE",
                               "cmdbuf_off": "--xla_gpu_enable_command_buffer="},
                     "repeats": 3, "cap_s": 300},
    },
    # The same plan at toy sizes: every code path, a few seconds per section on a
    # 2-core CPU (tests/test_accelerator.py).
    "tiny": {
        "budget_s": 300,
        "cartpole_seeds": {"seeds": 4, "reruns": 1, "cap_s": 60,
                           "overrides": {"total_timesteps": 256, "num_steps": 16,
                                         "num_minibatches": 2, "update_epochs": 1}},
        "spaceinvaders": {"seeds": (1, 2), "cap_s": 60,
                          "overrides": {"total_timesteps": 256, "num_envs": 8,
                                        "num_steps": 16, "num_minibatches": 2,
                                        "update_epochs": 1, "hidden_sizes": (16,)}},
        "throughput": {"envs": ("CartPole-v1", "Breakout-MinAtar"), "num_envs": (16,),
                       "steps_per_point": 256, "min_updates": 1, "max_updates": 2,
                       "repeats": 2, "cap_s": 90,
                       "overrides": {"num_steps": 8, "num_minibatches": 2,
                                     "update_epochs": 1, "hidden_sizes": (16,)}},
        # brax/ant's MJX program alone compiles for ~30 s on a 2-core CPU; the toy
        # plan runs the same section code on the cheapest brax env instead.
        "brax_ant": {"env": "brax/inverted_pendulum", "chunk_updates": 1,
                     "run_budget_s": 30, "cap_s": 120,
                     "overrides": {"total_timesteps": 64, "num_envs": 4, "num_steps": 8,
                                   "num_minibatches": 2, "update_epochs": 1,
                                   "hidden_sizes": (8,), "critic_hidden_sizes": (8,),
                                   "env_kwargs": (("episode_length", 16),)}},
        "compile_precision": {"cache_seeds": 2, "precision_env": "CartPole-v1",
                              "precision_seeds": 2, "repeats": 1, "cap_s": 90,
                              "overrides": {"total_timesteps": 128, "num_envs": 4,
                                            "num_steps": 16, "num_minibatches": 2,
                                            "update_epochs": 1, "hidden_sizes": (16,)}},
        "phases": {"envs": ("CartPole-v1", "Breakout-MinAtar"), "num_envs": 8,
                   "repeats": 1, "cap_s": 60,
                   "overrides": {"num_steps": 8, "num_minibatches": 2, "update_epochs": 1,
                                 "hidden_sizes": (16,)}},
        "variants": {"configs": {
                         "cartpole_2048": {"env": "CartPole-v1", "seeds": 2,
                                           "overrides": {"total_timesteps": 128,
                                                         "num_steps": 16,
                                                         "num_minibatches": 2,
                                                         "update_epochs": 1,
                                                         "hidden_sizes": (8,)}}},
                     # every switch is checked by tests/test_accelerator.py without
                     # compiling; two are compiled here
                     "switches": ("baseline", "rollout_unroll8"),
                     # a CPU flag, so the per-process path runs on the CPU too
                     "flags": {"cpu_fast_compile": "--xla_backend_optimization_level=0"},
                     "repeats": 1, "cap_s": 120},
    },
}

_T0 = time.perf_counter()


def log(msg: str) -> None:
    """A line with the wall-clock time and the seconds since this process started."""
    now = _dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{now} +{time.perf_counter() - _T0:6.1f}s] {msg}", flush=True)


# ------------------------------------------------------------------ records
def _versions() -> dict[str, str | None]:
    out = {}
    for name in ("jax", "jaxlib", "flax", "optax", "chex", "gymnax", "brax", "mujoco",
                 "mujoco-mjx", "numpy", "jax-cuda13-plugin", "jax-cuda12-plugin"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _gpu_info() -> str | None:
    try:
        res = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.sm,"
             "clocks.max.sm,temperature.gpu,power.draw", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None


def _device_peak_mib() -> float | None:
    import jax

    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # noqa: BLE001 - CPU backends may not implement it
        return None
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


class Record:
    """One section's JSON record, rewritten to disk on every :meth:`save`."""

    def __init__(self, section: str, plan: str, out_dir: Path) -> None:
        import jax

        dev = jax.devices()[0]
        self.path = out_dir / f"{section}.json"
        self.data: dict[str, Any] = {
            "section": section,
            "plan": plan,
            "device": str(dev),
            "device_kind": getattr(dev, "device_kind", None),
            "device_count": jax.device_count(),
            "backend": jax.default_backend(),
            "jax_version": jax.__version__,
            "versions": _versions(),
            "gpu": _gpu_info(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "started_at": _dt.datetime.now().isoformat(timespec="seconds"),
            "finished_at": None,
            "complete": False,
            "error": None,
            "sizes": {},
            "seconds": {},
            "steps_per_s": {},
        }

    def save(self, complete: bool = False) -> None:
        self.data["complete"] = complete
        self.data["finished_at"] = _dt.datetime.now().isoformat(timespec="seconds")
        self.data["device_peak_mib"] = _device_peak_mib()
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(_finite(self.data), indent=1))
        tmp.replace(self.path)


def _finite(x: Any) -> Any:
    """JSON-safe: NaN / inf become None (strict JSON has no NaN)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


# ------------------------------------------------------------------ helpers
def _config(env_name: str, overrides: dict[str, Any], **more: Any):
    from purejaxppo import PPOConfig

    return PPOConfig.preset(env_name, **{**overrides, **more})


def _block(x: Any) -> Any:
    import jax

    return jax.block_until_ready(x)


def _timed(fn: Callable, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = _block(fn(*args))
    return time.perf_counter() - t0, out


def _compile(jitted: Any, *args: Any) -> tuple[Any, float, float]:
    """AOT trace+lower and compile; returns (compiled, lower_s, compile_s)."""
    t0 = time.perf_counter()
    lowered = jitted.lower(*args)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    return compiled, t1 - t0, time.perf_counter() - t1


def _return_stats(returns: Any) -> dict[str, Any]:
    """Summary of final returns (one per seed; NaN where no episode ended)."""
    import numpy as np

    x = np.asarray(returns, np.float64).reshape(-1)
    fin = x[np.isfinite(x)]
    if fin.size == 0:
        return {"seeds": int(x.size), "finite": 0}
    return {
        "seeds": int(x.size), "finite": int(fin.size), "mean": float(fin.mean()),
        "median": float(np.median(fin)), "std": float(fin.std()),
        "min": float(fin.min()), "max": float(fin.max()),
        "p10": float(np.quantile(fin, 0.1)), "p90": float(np.quantile(fin, 0.9)),
    }


def _seed_keys(seeds: int, seed: int = 0):
    import jax

    return jax.random.split(jax.random.PRNGKey(seed), seeds)


def _vmapped_train(config, seeds: int):
    import jax

    from purejaxppo import make_train

    return jax.jit(jax.vmap(make_train(config))), _seed_keys(seeds)


# ------------------------------------------------------------------ sections
def section_cartpole_seeds(rec: Record, p: dict[str, Any]) -> None:
    """CartPole-v1, purejaxrl's config, many seeds in one vmapped call."""
    config = _config("CartPole-v1", p["overrides"])
    seeds = p["seeds"]
    rec.data["sizes"] = {"env": config.env_name, "seeds": seeds, "num_envs": config.num_envs,
                         "num_steps": config.num_steps, "num_updates": config.num_updates,
                         "steps_per_seed": config.steps_trained,
                         "total_steps": seeds * config.steps_trained}
    rec.data["config"] = config.to_dict()
    train, keys = _vmapped_train(config, seeds)
    log(f"cartpole_seeds: {seeds} seeds x {config.steps_trained} steps, compiling")
    compiled, lower_s, compile_s = _compile(train, keys)
    first_s, out = _timed(compiled, keys)
    wall = lower_s + compile_s + first_s
    rec.data["seconds"] = {"trace_lower": lower_s, "compile": compile_s, "first_run": first_s,
                           "wall_including_compile": wall}
    rec.data["returns_final"] = _return_stats(out.metrics["episode_return"][:, -1])
    rec.data["nonfinite_runs"] = int((out.first_nonfinite_update >= 0).sum())
    rec.save()
    log(f"cartpole_seeds: lower {lower_s:.2f}s compile {compile_s:.2f}s run {first_s:.2f}s "
        f"-> {wall:.2f}s with compile; final return mean "
        f"{rec.data['returns_final'].get('mean', float('nan')):.1f}")
    reruns = []
    for _ in range(p["reruns"]):
        reruns.append(_timed(compiled, keys)[0])
    run_s = statistics.median(reruns) if reruns else first_s
    rec.data["seconds"].update({"reruns": reruns, "run_median": run_s})
    total = seeds * config.steps_trained
    rec.data["steps_per_s"] = {"train": total / run_s, "train_first_run": total / first_s,
                               "train_including_compile": total / wall}
    log(f"cartpole_seeds: run without compile {run_s:.2f}s = {total / run_s / 1e6:.1f}M steps/s")


def section_spaceinvaders(rec: Record, p: dict[str, Any]) -> None:
    """SpaceInvaders-MinAtar preset, 1e7 steps, 1 and 16 seeds."""
    import numpy as np

    runs = []
    rec.data["runs"] = runs
    for seeds in p["seeds"]:
        config = _config("SpaceInvaders-MinAtar", p["overrides"])
        rec.data["sizes"] = {"env": config.env_name, "seeds": list(p["seeds"]),
                             "num_envs": config.num_envs, "num_steps": config.num_steps,
                             "num_updates": config.num_updates,
                             "steps_per_seed": config.steps_trained}
        rec.data["config"] = config.to_dict()
        train, keys = _vmapped_train(config, seeds)
        log(f"spaceinvaders: {seeds} seed(s) x {config.steps_trained} steps")
        compiled, lower_s, compile_s = _compile(train, keys)
        run_s, out = _timed(compiled, keys)
        wall = lower_s + compile_s + run_s
        returns = np.asarray(out.metrics["episode_return"])
        total = seeds * config.steps_trained
        runs.append({
            "seeds": seeds,
            "seconds": {"trace_lower": lower_s, "compile": compile_s, "run": run_s,
                        "wall_including_compile": wall},
            "steps_per_s": {"train": total / run_s, "train_including_compile": total / wall},
            "returns_final": _return_stats(returns[:, -1]),
            # the across-seed mean return every 1/20 of the run: a coarse curve
            "curve": {"env_steps": out.env_steps(config)[0, ::max(1, returns.shape[1] // 20)].tolist(),
                      "return": np.nanmean(returns, axis=0)[::max(1, returns.shape[1] // 20)].tolist()},
        })
        rec.data["seconds"][f"seeds_{seeds}"] = runs[-1]["seconds"]
        rec.data["steps_per_s"][f"seeds_{seeds}"] = runs[-1]["steps_per_s"]["train"]
        rec.save()
        log(f"spaceinvaders: {seeds} seed(s): {wall:.2f}s with compile (compile "
            f"{compile_s:.2f}s, run {run_s:.2f}s), final return mean "
            f"{runs[-1]['returns_final'].get('mean', float('nan')):.1f}")


def _updates_for(p: dict[str, Any], batch: int) -> int:
    return int(min(p["max_updates"], max(p["min_updates"], p["steps_per_point"] // batch)))


def section_throughput(rec: Record, p: dict[str, Any]) -> None:
    """Training vs env-only steps/s over num_envs, two envs, largest sizes first."""
    import jax

    from purejaxppo import make_train

    sys.path.insert(0, str(HERE))
    from throughput import make_env_only

    points = []
    rec.data["points"] = points
    rec.data["sizes"] = {"envs": list(p["envs"]), "num_envs": list(p["num_envs"])}
    key = jax.random.PRNGKey(0)
    for n in p["num_envs"]:
        for env_name in p["envs"]:
            base = _config(env_name, {**p["overrides"], "total_timesteps": 2**30}, num_envs=n)
            updates = _updates_for(p, base.batch_size)
            config = base.replace(total_timesteps=updates * base.batch_size)
            steps = config.steps_trained
            log(f"throughput: {env_name} num_envs={n} ({updates} updates, {steps} steps)")
            try:
                train = jax.jit(make_train(config))
                train_c, tl, tc = _compile(train, key)
                env_fn = make_env_only(env_name, n, updates * config.num_steps, config.env_kwargs)
                env_c, el, ec = _compile(env_fn, key)
                train_t, env_t = [], []
                for _ in range(p["repeats"]):
                    env_t.append(_timed(env_c, key)[0])
                    train_t.append(_timed(train_c, key)[0])
            except Exception as err:  # noqa: BLE001 - e.g. out of memory at one size
                points.append({"env": env_name, "num_envs": n, "error": repr(err)[:2000]})
                rec.save()
                log(f"throughput: {env_name} num_envs={n} FAILED: {err!r:.300}")
                continue
            tr, er = statistics.median(train_t), statistics.median(env_t)
            point = {
                "env": env_name, "num_envs": n, "num_steps": config.num_steps,
                "updates": updates, "steps": steps,
                "train_steps_per_s": steps / tr, "env_only_steps_per_s": steps / er,
                "train_over_env_only": er / tr,
                "train_times_s": train_t, "env_only_times_s": env_t,
                "train_compile_s": tl + tc, "env_only_compile_s": el + ec,
            }
            points.append(point)
            key_name = f"{env_name}@{n}"
            rec.data["steps_per_s"][key_name] = {"train": point["train_steps_per_s"],
                                                 "env_only": point["env_only_steps_per_s"]}
            rec.data["seconds"][key_name] = {"train_median": tr, "env_only_median": er,
                                             "train_compile": tl + tc}
            rec.save()
            log(f"throughput: {env_name} num_envs={n}: train {steps / tr / 1e6:.2f}M/s, "
                f"env-only {steps / er / 1e6:.2f}M/s (ratio {er / tr:.2f}), "
                f"compile {tl + tc:.1f}s")
    for env_name in p["envs"]:
        ok = [q for q in points if q["env"] == env_name and "error" not in q]
        if ok:
            best = max(ok, key=lambda q: q["train_steps_per_s"])
            largest = max(ok, key=lambda q: q["num_envs"])
            rec.data.setdefault("summary", {})[env_name] = {
                "peak_train_steps_per_s": best["train_steps_per_s"],
                "peak_at_num_envs": best["num_envs"],
                "train_over_env_only_at_largest": largest["train_over_env_only"],
                "largest_num_envs": largest["num_envs"],
            }


def section_brax_ant(rec: Record, p: dict[str, Any]) -> None:
    """brax/ant preset (MJX) in compiled chunks until done or out of time."""
    import jax
    import numpy as np

    from purejaxppo import env_steps
    from purejaxppo.train import make_trainer, run_updates

    config = _config(p["env"], p["overrides"])
    chunk = min(p["chunk_updates"], config.num_updates)
    rec.data["sizes"] = {"env": config.env_name, "num_envs": config.num_envs,
                         "num_steps": config.num_steps, "num_updates": config.num_updates,
                         "chunk_updates": chunk, "steps_planned": config.steps_trained}
    rec.data["config"] = config.to_dict()
    log(f"brax_ant: {config.num_envs} envs x {config.num_steps} steps, "
        f"{config.num_updates} updates ({config.steps_trained} steps), chunks of {chunk}")
    t_env = time.perf_counter()
    trainer = make_trainer(config)
    hp = config.hparams()
    env_build_s = time.perf_counter() - t_env
    init = jax.jit(trainer.init)
    step = jax.jit(lambda s: run_updates(trainer, s, hp, chunk), donate_argnums=0)
    key = jax.random.PRNGKey(0)
    init_c, il, ic = _compile(init, key, hp)
    init_s, state = _timed(init_c, key, hp)
    step_c, sl, sc = _compile(step, state)
    compile_s = il + ic + sl + sc
    rec.data["seconds"] = {"env_build": env_build_s, "compile_init": il + ic,
                           "compile_chunk": sl + sc, "compile_total": compile_s,
                           "init_run": init_s, "chunks": []}
    rec.save()
    log(f"brax_ant: compiled (init {il + ic:.1f}s, chunk {sl + sc:.1f}s)")
    curve_steps, curve_ret = [], []
    done, run_s = 0, 0.0
    while done + chunk <= config.num_updates and run_s < p["run_budget_s"]:
        t, (state, metrics) = _timed(step_c, state)
        run_s += t
        done += chunk
        rec.data["seconds"]["chunks"].append(t)
        curve_steps += env_steps(config, metrics["update_step"]).tolist()
        curve_ret += np.asarray(metrics["episode_return"]).tolist()
        steps = done * config.batch_size
        rec.data["seconds"].update({"run": run_s, "wall_including_compile":
                                    env_build_s + compile_s + init_s + run_s})
        rec.data["steps_per_s"] = {"train": steps / run_s,
                                   "train_after_first_chunk": (
                                       (done - chunk) * config.batch_size
                                       / (run_s - rec.data["seconds"]["chunks"][0])
                                       if done > chunk else None)}
        rec.data["updates_done"] = done
        rec.data["steps_done"] = steps
        rec.data["curve"] = {"env_steps": curve_steps, "return": curve_ret}
        rec.data["final_return"] = curve_ret[-1]
        rec.save()
        log(f"brax_ant: {done}/{config.num_updates} updates, {steps / 1e6:.1f}M steps, "
            f"{run_s:.1f}s, {steps / run_s / 1e6:.2f}M steps/s, return {curve_ret[-1]:.1f}")
    rec.data["finished_all_updates"] = done + chunk > config.num_updates


def _cache_probe(cache_dir: str, seeds: int, overrides: dict[str, Any], out_file: str) -> None:
    """Child process: compile the cartpole_seeds program with the persistent cache on."""
    t_start = time.perf_counter()
    import jax

    from purejaxppo import runtime

    runtime.enable_compilation_cache(cache_dir)
    config = _config("CartPole-v1", overrides)
    train, keys = _vmapped_train(config, seeds)
    _, lower_s, compile_s = _compile(train, keys)
    Path(out_file).write_text(json.dumps({
        "lower_s": lower_s, "compile_s": compile_s,
        "process_to_compiled_s": time.perf_counter() - t_start,
        "cache": runtime.compile_cache_counts(), "backend": jax.default_backend(),
    }))


def section_compile_precision(rec: Record, p: dict[str, Any]) -> None:
    """Persistent compilation cache (two fresh processes) and TF32 vs highest."""
    import jax

    seeds = p["cache_seeds"]
    cache_over = PLANS[rec.data["plan"]]["cartpole_seeds"]["overrides"]
    probes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("cold", "warm"):
            out_file = Path(tmp) / f"{name}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--cache-probe",
                   str(Path(tmp) / "cache"), "--cache-seeds", str(seeds),
                   "--cache-overrides", json.dumps(cache_over), "--cache-out", str(out_file)]
            # The probes share the GPU with this process: no preallocation there.
            env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
            t0 = time.perf_counter()
            res = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                 timeout=max(10, p["cap_s"] / 2))
            if res.returncode != 0:
                raise RuntimeError(f"cache probe {name} failed: {res.stderr[-2000:]}")
            probes[name] = {**json.loads(out_file.read_text()),
                            "process_wall_s": time.perf_counter() - t0}
            log(f"compile_precision: {name} cache: compile {probes[name]['compile_s']:.2f}s "
                f"(lower {probes[name]['lower_s']:.2f}s), cache {probes[name]['cache']}")
    rec.data["cache"] = {"program": f"cartpole_seeds ({seeds} seeds)", **probes}
    rec.data["seconds"]["compile_cold_cache"] = probes["cold"]["compile_s"]
    rec.data["seconds"]["compile_warm_cache"] = probes["warm"]["compile_s"]
    rec.save()

    config = _config(p["precision_env"], p["overrides"])
    pseeds = p["precision_seeds"]
    rec.data["sizes"] = {"cache_seeds": seeds, "precision_env": config.env_name,
                         "precision_seeds": pseeds, "num_envs": config.num_envs,
                         "num_steps": config.num_steps, "steps_per_seed": config.steps_trained}
    rec.data["precision_config"] = config.to_dict()
    compiled = {}
    for name, prec in (("default", None), ("highest", "highest")):
        train, keys = _vmapped_train(config, pseeds)
        if prec is None:
            c, lo, co = _compile(train, keys)
        else:
            with jax.default_matmul_precision(prec):
                c, lo, co = _compile(train, keys)
        compiled[name] = c
        rec.data["seconds"][f"compile_{name}"] = lo + co
        rec.save()
        log(f"compile_precision: {name} precision compiled in {lo + co:.1f}s")
    times: dict[str, list[float]] = {"default": [], "highest": []}
    outs = {}
    for _ in range(p["repeats"]):
        for name in ("default", "highest"):
            t, outs[name] = _timed(compiled[name], keys)
            times[name].append(t)
            rec.data.setdefault("precision_times_s", {}).setdefault(name, []).append(t)
            rec.save()
            log(f"compile_precision: {name} precision run {t:.2f}s")
    total = pseeds * config.steps_trained
    rec.data["precision"] = {}
    for name in ("default", "highest"):
        med = statistics.median(times[name])
        rec.data["precision"][name] = {
            "times_s": times[name], "run_median_s": med,
            "returns_final": _return_stats(outs[name].metrics["episode_return"][:, -1]),
        }
        rec.data["steps_per_s"][f"precision_{name}"] = total / med
        log(f"compile_precision: {name}: {total / med / 1e6:.2f}M steps/s, final return "
            f"{rec.data['precision'][name]['returns_final'].get('mean', float('nan')):.2f}")


def section_phases(rec: Record, p: dict[str, Any]) -> None:
    """Env-only vs rollout vs one whole update at one size."""
    import jax

    from purejaxppo.rollout import collect_rollout
    from purejaxppo.train import make_trainer

    sys.path.insert(0, str(HERE))
    from throughput import make_env_only

    n = p["num_envs"]
    rec.data["sizes"] = {"envs": list(p["envs"]), "num_envs": n}
    rec.data["phases"] = {}
    for env_name in p["envs"]:
        config = _config(env_name, {**p["overrides"], "total_timesteps": 2**30}, num_envs=n)
        config = config.replace(total_timesteps=config.batch_size)
        trainer = make_trainer(config)
        hp = config.hparams()
        key = jax.random.PRNGKey(0)
        state = jax.jit(trainer.init)(key, hp)

        def rollout(s):
            out = collect_rollout(
                trainer.env, trainer.networks, s.params, s.env_state, s.obs, s.ep_return,
                s.ep_length, s.rng, config.num_steps,
                lambda o: trainer.normalize_obs(s, o), False,
            )
            return out[4].reward.sum() + out[1].sum()

        fns = {
            "env_only": (make_env_only(env_name, n, config.num_steps, config.env_kwargs), key),
            "rollout": (jax.jit(rollout), state),
            "update": (jax.jit(lambda s: trainer.update(s, hp)), state),
        }
        compiled = {k: _compile(f, a)[0] for k, (f, a) in fns.items()}
        times: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(p["repeats"]):
            for k, (_, a) in fns.items():
                times[k].append(_timed(compiled[k], a)[0])
        med = {k: statistics.median(v) for k, v in times.items()}
        rec.data["phases"][env_name] = {
            "times_s": times, "median_s": med,
            "policy_share_of_rollout": 1 - med["env_only"] / med["rollout"],
            "learning_share_of_update": 1 - med["rollout"] / med["update"],
        }
        rec.data["seconds"][env_name] = med
        rec.data["steps_per_s"][env_name] = {k: config.batch_size / v for k, v in med.items()}
        rec.save()
        log(f"phases: {env_name} @ {n}: env-only {med['env_only'] * 1e3:.1f} ms, rollout "
            f"{med['rollout'] * 1e3:.1f} ms, whole update {med['update'] * 1e3:.1f} ms")


def _switch(name: str) -> Callable[[], Callable[[], None]]:
    """A tuning switch of the trainer: applying it returns its undo function."""
    import functools

    import purejaxppo.train as train_mod
    from purejaxppo.gae import compute_gae
    from purejaxppo.rollout import collect_rollout

    changes = {
        "baseline": {},
        # env steps per iteration of the rollout loop / time steps per GAE iteration
        "rollout_unroll8": {"collect_rollout": functools.partial(collect_rollout, unroll=8)},
        "gae_unroll16": {"compute_gae": functools.partial(compute_gae, unroll=16)},
        # V(final obs) for every step in one pass instead of a while loop over the
        # truncated ones (the loop is a CPU trick; on a GPU it is a host round trip)
        "final_values_all": {"_TRUNCATED_ONLY_FINAL_VALUES": False},
    }[name]

    def apply() -> Callable[[], None]:
        old = {k: getattr(train_mod, k) for k in changes}
        for k, v in changes.items():
            setattr(train_mod, k, v)
        return lambda: [setattr(train_mod, k, v) for k, v in old.items()]

    return apply


def _time_variants(p: dict[str, Any], switches: tuple[str, ...]) -> dict[str, Any]:
    """Compiles every (config, switch) in this process, then times them interleaved."""
    import jax

    from purejaxppo import make_train

    out: dict[str, Any] = {}
    for cname, c in p["configs"].items():
        config = _config(c["env"], c["overrides"])
        keys = _seed_keys(c["seeds"])
        compiled, compile_s = {}, {}
        for sw in switches:
            undo = _switch(sw)()
            try:
                train = jax.vmap(make_train(config)) if c["seeds"] > 1 else make_train(config)
                args = keys if c["seeds"] > 1 else keys[0]
                exe, lo, co = _compile(jax.jit(train), args)
            finally:
                undo()
            compiled[sw], compile_s[sw] = exe, lo + co
        times: dict[str, list[float]] = {sw: [] for sw in switches}
        for _ in range(p["repeats"]):
            for sw in switches:
                times[sw].append(_timed(compiled[sw], args)[0])
        steps = c["seeds"] * config.steps_trained
        base = statistics.median(times[switches[0]])
        out[cname] = {
            "env": config.env_name, "seeds": c["seeds"], "steps": steps,
            "num_updates": config.num_updates, "compile_s": compile_s, "times_s": times,
            "steps_per_s": {sw: steps / statistics.median(t) for sw, t in times.items()},
            "speedup_vs_" + switches[0]: {sw: base / statistics.median(t)
                                          for sw, t in times.items()},
        }
        log(f"variants: {cname}: " + ", ".join(
            f"{sw} {steps / statistics.median(t) / 1e6:.2f}M/s" for sw, t in times.items()))
    return out


def section_variants(rec: Record, p: dict[str, Any]) -> None:
    """Tuning A/B: trainer switches (one process) and XLA flag sets (one process each)."""
    rec.data["sizes"] = {name: {"env": c["env"], "seeds": c["seeds"], **c["overrides"]}
                         for name, c in p["configs"].items()}
    rec.data["switches"] = _time_variants(p, tuple(p["switches"]))
    for cname, r in rec.data["switches"].items():
        rec.data["steps_per_s"][cname] = r["steps_per_s"]
        rec.data["seconds"][cname] = {sw: statistics.median(t) for sw, t in r["times_s"].items()}
    rec.save()
    rec.data["flags"] = {}
    for fname, flags in p["flags"].items():
        env = {**os.environ, "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--plan", rec.data["plan"],
               "--variants-probe", fname]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True,
                             timeout=max(10, p["cap_s"] / 2))
        line = (res.stdout.strip().splitlines() or [""])[-1]
        if res.returncode != 0 or not line.startswith("{"):
            rec.data["flags"][fname] = {"xla_flags": flags,
                                        "error": (res.stderr or res.stdout)[-2000:]}
            log(f"variants: flags {fname} FAILED: {(res.stderr or res.stdout)[-300:]}")
        else:
            rec.data["flags"][fname] = {"xla_flags": flags, **json.loads(line)}
            for cname, r in rec.data["flags"][fname]["results"].items():
                rec.data["steps_per_s"][f"{cname}@{fname}"] = r["steps_per_s"]["baseline"]
                log(f"variants: {cname} with {fname}: "
                    f"{r['steps_per_s']['baseline'] / 1e6:.2f}M/s")
        rec.save()


SECTION_FNS: dict[str, Callable[[Record, dict[str, Any]], None]] = {
    "cartpole_seeds": section_cartpole_seeds,
    "spaceinvaders": section_spaceinvaders,
    "throughput": section_throughput,
    "brax_ant": section_brax_ant,
    "compile_precision": section_compile_precision,
    "phases": section_phases,
    "variants": section_variants,
}


# ------------------------------------------------------------------ driver
def run_section(name: str, plan: str, out_dir: Path) -> int:
    """Child process: run one section and write its record; 0 on success."""
    import traceback

    rec = Record(name, plan, out_dir)
    rec.save()
    log(f"{name}: start on {rec.data['device']} ({rec.data['device_kind']}), "
        f"jax {rec.data['jax_version']}")
    try:
        SECTION_FNS[name](rec, PLANS[plan][name])
    except Exception as err:  # noqa: BLE001 - recorded, and the plan goes on
        rec.data["error"] = f"{type(err).__name__}: {err}"[:4000]
        rec.data["traceback"] = traceback.format_exc()[-8000:]
        rec.save()
        log(f"{name}: FAILED: {rec.data['error'][:500]}")
        return 1
    rec.save(complete=True)
    log(f"{name}: done")
    return 0


def run_plan(plan: str, out_dir: Path, sections: list[str], budget_s: float | None) -> int:
    """Runs each section in its own subprocess under its cap; returns the exit code."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = PLANS[plan]
    budget = spec["budget_s"] if budget_s is None else budget_s
    start = time.perf_counter()
    status = {}
    for name in sections:
        left = budget - (time.perf_counter() - start)
        cap = min(spec[name]["cap_s"], left)
        if cap < 5:
            log(f"{name}: SKIPPED, plan budget of {budget:.0f}s spent")
            status[name] = "skipped"
            continue
        log(f"=== {name} (cap {cap:.0f}s)")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--plan", plan,
               "--section", name, "--out", str(out_dir)]
        try:
            rc = subprocess.run(cmd, timeout=cap).returncode
            status[name] = "ok" if rc == 0 else f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            status[name] = f"cut at its {cap:.0f}s cap"
            path = out_dir / f"{name}.json"
            if path.exists():
                data = json.loads(path.read_text())
                data["error"] = status[name]
                path.write_text(json.dumps(data, indent=1))
        log(f"=== {name}: {status[name]}")
    log(f"plan {plan} finished in {time.perf_counter() - start:.0f}s")
    for name, st in status.items():
        print(f"  {name:18s} {st}")
    print_summary(out_dir, sections)
    return 0 if all(v == "ok" for v in status.values()) else 1


def print_summary(out_dir: Path, sections: list[str]) -> None:
    """The headline figures of whatever sections wrote their records."""
    for name in sections:
        path = out_dir / f"{name}.json"
        if not path.exists():
            continue
        d = json.loads(path.read_text())
        print(f"-- {name} [{d.get('device_kind')}, jax {d.get('jax_version')}] "
              f"complete={d.get('complete')} error={str(d.get('error'))[:200]}")
        print("   seconds:", json.dumps(d.get("seconds"))[:600])
        print("   steps/s:", json.dumps(d.get("steps_per_s"))[:600])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", choices=sorted(PLANS), default="tiny")
    parser.add_argument("--out", default="results/accelerator")
    parser.add_argument("--sections", nargs="+", default=list(DEFAULT_SECTIONS),
                        help=f"subset of {', '.join(SECTIONS)} (in plan order; default: "
                             "all but variants)")
    parser.add_argument("--budget", type=float, default=None,
                        help="total seconds for the plan (default: the plan's own)")
    parser.add_argument("--section", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache-probe", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache-seeds", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--cache-overrides", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--cache-out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--variants-probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    if args.budget is not None and args.budget <= 0:
        parser.error(f"--budget must be > 0 seconds, got {args.budget}")
    sys.path.insert(0, str(ROOT))
    if args.cache_probe:
        _cache_probe(args.cache_probe, args.cache_seeds, json.loads(args.cache_overrides),
                     args.cache_out)
        return 0
    if args.variants_probe:  # child of section_variants: baseline under this XLA_FLAGS
        import jax

        results = _time_variants(PLANS[args.plan]["variants"], ("baseline",))
        print(json.dumps({"results": results, "backend": jax.default_backend()}))
        return 0
    if args.section:
        return run_section(args.section, args.plan, Path(args.out))
    ordered = [s for s in SECTIONS if s in args.sections]
    return run_plan(args.plan, Path(args.out), ordered, args.budget)


if __name__ == "__main__":
    sys.exit(main())
