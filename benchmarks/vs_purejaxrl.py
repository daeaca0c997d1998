"""purejaxrl and purejaxppo side by side: ONE process, same flags, same config.

Usage::

    python benchmarks/vs_purejaxrl.py --purejaxrl /path/to/purejaxrl-checkout \
        [--configs cartpole,cartpole8,breakout,pendulum] [--repeats 5] \
        [--out benchmarks/results/vs_purejaxrl.json]

``--purejaxrl`` is a checkout of https://github.com/luchris429/purejaxrl (its
``purejaxrl/ppo.py`` and ``purejaxrl/ppo_continuous_action.py`` are imported from
there; nothing of it lives in this repository). It needs ``distrax`` (our ``bench``
extra). Two shims, both in this file, let it run on gymnax 1.0:

* gymnax 1.0's ``step`` returns six values (``terminated`` and ``truncated``);
  purejaxrl unpacks five. Its environments are served through gymnax's own
  ``gymnax.wrappers.LegacyStepAPIWrapper`` (``done = terminated or truncated``).
* ``ppo_continuous_action.py`` is written for brax (``BraxGymnaxWrapper``); for
  Pendulum-v1 that name is bound to a small adapter over the gymnax env whose
  action in [-1, 1] (purejaxrl's ``ClipAction`` clips to [-1, 1]) is rescaled to the
  env's bounds ([-2, 2] for Pendulum), so both agents can use the full torque.
* purejaxrl's ``wrappers.py`` imports ``navix`` at module level for a wrapper we do
  not use; if navix is not installed an empty module stands in for it.

Method: each side's train function is traced, lowered and compiled
``--compile-repeats`` times, alternating sides (the median is reported as compile
time, every compile is in the JSON), then both compiled executables run interleaved
``A B A B ...`` ``--repeats`` times; throughput is env steps / wall time of one call
(``block_until_ready``), reported as the median and every repeat. Both sides train
exactly the same number of env steps (total steps are multiples of the batch).

Returns are compared with the same unbiased metric for both: the mean return of the
episodes that COMPLETED during the last 10% of updates (purejaxrl: its
``returned_episode`` flags select ``returned_episode_returns``; purejaxppo:
``episode_return`` weighted by ``episodes_completed``). ``final_return`` is that of the
timed call; ``return_over_seeds`` gives it per seed (mean, std, standard error) over
``--return-seeds`` seeds (default 8; keys split from ``PRNGKey(1)``) trained in
extra, untimed calls per side (the compiled 1-seed program once per seed), or over
the timed call's own seeds when it is vmapped already (cartpole8).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from purejaxppo import PPOConfig, make_train

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import purejaxppo_commit  # noqa: E402

# --------------------------------------------------------------------- the configs
# Shared hyperparameters of each comparison, in purejaxrl's config-dict vocabulary.
_CARTPOLE = dict(
    ENV_NAME="CartPole-v1", LR=2.5e-4, NUM_ENVS=4, NUM_STEPS=128, TOTAL_TIMESTEPS=512 * 977,
    UPDATE_EPOCHS=4, NUM_MINIBATCHES=4, GAMMA=0.99, GAE_LAMBDA=0.95, CLIP_EPS=0.2,
    ENT_COEF=0.01, VF_COEF=0.5, MAX_GRAD_NORM=0.5, ACTIVATION="tanh", ANNEAL_LR=True,
)
# purejaxrl's MinAtar layout (its README / walkthrough settings), 1M steps.
_BREAKOUT = dict(
    ENV_NAME="Breakout-MinAtar", LR=5e-3, NUM_ENVS=64, NUM_STEPS=128,
    TOTAL_TIMESTEPS=8192 * 122, UPDATE_EPOCHS=4, NUM_MINIBATCHES=8, GAMMA=0.99,
    GAE_LAMBDA=0.95, CLIP_EPS=0.2, ENT_COEF=0.01, VF_COEF=0.5, MAX_GRAD_NORM=0.5,
    ACTIVATION="relu", ANNEAL_LR=True,
)
# Our Pendulum preset's layout; 256x256 because purejaxrl's continuous net is fixed.
_PENDULUM = dict(
    ENV_NAME="Pendulum-v1", LR=1e-3, NUM_ENVS=16, NUM_STEPS=128, TOTAL_TIMESTEPS=2048 * 50,
    UPDATE_EPOCHS=10, NUM_MINIBATCHES=8, GAMMA=0.95, GAE_LAMBDA=0.95, CLIP_EPS=0.2,
    ENT_COEF=0.0, VF_COEF=0.5, MAX_GRAD_NORM=0.5, ACTIVATION="tanh", ANNEAL_LR=True,
    NORMALIZE_ENV=True,
)

CONFIGS: dict[str, dict[str, Any]] = {
    "cartpole": dict(pjrl=_CARTPOLE, seeds=1, continuous=False, hidden=(64, 64)),
    "cartpole8": dict(pjrl=_CARTPOLE, seeds=8, continuous=False, hidden=(64, 64)),
    "breakout": dict(pjrl=_BREAKOUT, seeds=1, continuous=False, hidden=(64, 64)),
    "pendulum": dict(pjrl=_PENDULUM, seeds=1, continuous=True, hidden=(256, 256)),
}


def our_config(spec: dict[str, Any]) -> PPOConfig:
    """The PPOConfig equal to a purejaxrl config dict (value clipping eps = CLIP_EPS,
    per-minibatch advantage normalization, Adam eps 1e-5: as purejaxrl does)."""
    c = spec["pjrl"]
    normalize = bool(c.get("NORMALIZE_ENV", False))
    return PPOConfig(
        env_name=c["ENV_NAME"], total_timesteps=int(c["TOTAL_TIMESTEPS"]),
        num_envs=c["NUM_ENVS"], num_steps=c["NUM_STEPS"], update_epochs=c["UPDATE_EPOCHS"],
        num_minibatches=c["NUM_MINIBATCHES"], learning_rate=c["LR"], anneal_lr=c["ANNEAL_LR"],
        gamma=c["GAMMA"], gae_lambda=c["GAE_LAMBDA"], clip_eps=c["CLIP_EPS"],
        vf_clip_eps=c["CLIP_EPS"], clip_vloss=True, vf_coef=c["VF_COEF"],
        ent_coef=c["ENT_COEF"], max_grad_norm=c["MAX_GRAD_NORM"], adam_eps=1e-5,
        activation=c["ACTIVATION"], hidden_sizes=spec["hidden"],
        normalize_obs=normalize, normalize_reward=normalize,
    )


# ------------------------------------------------------------- loading purejaxrl
class _GymnaxAsBraxStyle:
    """Stands in for purejaxrl's ``BraxGymnaxWrapper`` over a continuous gymnax env:
    five-value step via ``LegacyStepAPIWrapper``, params bound, actions in [-1, 1]
    rescaled to the env's Box bounds."""

    def __init__(self, env_name: str, backend: str | None = None):
        import gymnax
        from gymnax.environments import spaces
        from gymnax.wrappers import LegacyStepAPIWrapper

        env, params = gymnax.make(env_name)
        self._env, self._params = LegacyStepAPIWrapper(env), params
        box = env.action_space(params)
        self._low = jnp.asarray(box.low, jnp.float32)
        self._high = jnp.asarray(box.high, jnp.float32)
        self._space = spaces.Box(-1.0, 1.0, box.shape, jnp.float32)

    def reset(self, key, params=None):
        return self._env.reset(key, self._params)

    def step(self, key, state, action, params=None):
        action = self._low + (action + 1.0) * 0.5 * (self._high - self._low)
        return self._env.step(key, state, action, self._params)

    def observation_space(self, params=None):
        return self._env.observation_space(self._params)

    def action_space(self, params=None):
        return self._space


def _legacy_make(name: str, **kwargs: Any):
    import gymnax
    from gymnax.wrappers import LegacyStepAPIWrapper

    env, params = gymnax.make(name, **kwargs)
    return LegacyStepAPIWrapper(env), params


def load_purejaxrl(checkout: str) -> tuple[types.ModuleType, types.ModuleType]:
    """Imports purejaxrl's ``ppo`` and ``ppo_continuous_action`` from a checkout."""
    src = Path(checkout).expanduser().resolve() / "purejaxrl"
    if not (src / "ppo.py").is_file() or not (src / "ppo_continuous_action.py").is_file():
        raise SystemExit(f"error: {str(src)!r} has no ppo.py / ppo_continuous_action.py; "
                         "--purejaxrl must be a checkout of luchris429/purejaxrl")
    try:
        import distrax  # noqa: F401
    except ImportError:
        raise SystemExit("error: purejaxrl needs distrax: pip install -e '.[bench]'") from None
    try:
        import navix  # noqa: F401
    except ImportError:
        sys.modules["navix"] = types.ModuleType("navix")
    sys.path.insert(0, str(src))
    ppo = importlib.import_module("ppo")
    ppo_cont = importlib.import_module("ppo_continuous_action")
    ppo.gymnax = types.SimpleNamespace(make=_legacy_make)
    ppo_cont.BraxGymnaxWrapper = _GymnaxAsBraxStyle
    return ppo, ppo_cont


# ------------------------------------------------------------------ measurement
def _tail(n: int) -> slice:
    return slice(n - max(1, n // 10), n)


def _tail_sums_ours(metrics: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per seed: the summed returns and the number of the episodes completed in the
    last 10% of updates (``[seeds]`` each; one seed for an unbatched call)."""
    ret = np.asarray(metrics["episode_return"], np.float64)
    cnt = np.asarray(metrics["episodes_completed"], np.float64)
    tail = _tail(ret.shape[-1])
    r = ret[..., tail].reshape(-1, ret[..., tail].shape[-1])
    c = cnt[..., tail].reshape(r.shape)
    return np.sum(np.where(c > 0, r * c, 0.0), axis=-1), np.sum(c, axis=-1)


def _tail_sums_pjrl(metrics: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The same from purejaxrl's per-step ``returned_episode`` flags
    (``[..., updates, steps, envs]``)."""
    done = np.asarray(metrics["returned_episode"], bool)
    ret = np.asarray(metrics["returned_episode_returns"], np.float64)
    tail = _tail(done.shape[-3])
    d, r = done[..., tail, :, :], ret[..., tail, :, :]
    d = d.reshape(-1, int(np.prod(d.shape[-3:])))
    r = r.reshape(d.shape)
    return np.sum(np.where(d, r, 0.0), axis=-1), d.sum(axis=-1).astype(np.float64)


def _pooled(sums: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.sum(sums[0]) / max(np.sum(sums[1]), 1.0))


def _per_seed(sums: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    total, n = sums
    return np.where(n > 0, total / np.maximum(n, 1.0), np.nan)


def _final_return_ours(metrics: dict[str, Any]) -> float:
    """Mean return of the episodes completed in the last 10% of updates, pooled over
    every seed of the call."""
    return _pooled(_tail_sums_ours(metrics))


def _final_return_pjrl(metrics: dict[str, Any]) -> float:
    """The same for purejaxrl."""
    return _pooled(_tail_sums_pjrl(metrics))


def returns_per_seed_ours(metrics: dict[str, Any]) -> np.ndarray:
    """:func:`_final_return_ours` of each seed of a vmapped call: ``[seeds]``
    (NaN for a seed that completed no episode in the last 10% of updates)."""
    return _per_seed(_tail_sums_ours(metrics))


def returns_per_seed_pjrl(metrics: dict[str, Any]) -> np.ndarray:
    """:func:`_final_return_pjrl` of each seed of a vmapped call: ``[seeds]``."""
    return _per_seed(_tail_sums_pjrl(metrics))


def seed_summary(per_seed: np.ndarray) -> dict[str, Any]:
    """Mean, standard deviation and standard error of the mean over seeds."""
    x = np.asarray(per_seed, np.float64)
    x = x[np.isfinite(x)]
    k = len(x)
    sd = float(np.std(x, ddof=1)) if k > 1 else float("nan")
    return {"seeds": k, "per_seed": x.tolist(), "mean": float(np.mean(x)) if k else float("nan"),
            "std": sd, "sem": sd / np.sqrt(k) if k > 1 else float("nan")}


def _compile(fn: Callable, arg: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(arg).compile()
    return compiled, time.perf_counter() - t0


def run_config(name: str, ppo: Any, ppo_cont: Any, repeats: int,
               compile_repeats: int = 3, return_seeds: int = 8) -> dict[str, Any]:
    spec = CONFIGS[name]
    cfg = our_config(spec)
    pj_conf = dict(spec["pjrl"], DEBUG=False)
    pj_make = ppo_cont.make_train if spec["continuous"] else ppo.make_train
    pj_make(pj_conf)  # purejaxrl's make_train fills in pj_conf["NUM_UPDATES"]
    steps_pj = pj_conf["NUM_UPDATES"] * pj_conf["NUM_STEPS"] * pj_conf["NUM_ENVS"]
    assert steps_pj == cfg.steps_trained, (steps_pj, cfg.steps_trained)
    seeds = spec["seeds"]
    key = jax.random.PRNGKey(0)
    arg = jax.random.split(key, seeds) if seeds > 1 else key

    def build(side: str) -> Callable:
        # A NEW function object per compile: jax caches the executable of a function it
        # has compiled before, so re-compiling the same object would measure nothing.
        fn = pj_make(dict(pj_conf)) if side == "purejaxrl" else make_train(cfg)
        return jax.vmap(fn) if seeds > 1 else fn

    # Compile each side ``compile_repeats`` times, interleaved (a single compile swings
    # by +-1 s on this machine); the median is reported, every compile in the JSON.
    compiles: dict[str, list[float]] = {"purejaxrl": [], "purejaxppo": []}
    exes: dict[str, Any] = {}
    for _ in range(compile_repeats):
        for side in ("purejaxrl", "purejaxppo"):
            exes[side], seconds = _compile(build(side), arg)
            compiles[side].append(seconds)
    pj_exe, our_exe = exes["purejaxrl"], exes["purejaxppo"]
    pj_compile = statistics.median(compiles["purejaxrl"])
    our_compile = statistics.median(compiles["purejaxppo"])
    steps = steps_pj * seeds
    times: dict[str, list[float]] = {"purejaxrl": [], "purejaxppo": []}
    outs: dict[str, Any] = {}
    for rep in range(repeats):
        for side, exe in (("purejaxrl", pj_exe), ("purejaxppo", our_exe)):
            t0 = time.perf_counter()
            out = jax.block_until_ready(exe(arg))
            times[side].append(time.perf_counter() - t0)
            outs[side] = out
            print(f"  {name} rep {rep} {side:10s} {steps / times[side][-1]:>10,.0f} steps/s",
                  flush=True)
    med = {s: statistics.median(t) for s, t in times.items()}
    # Returns over several seeds (one seed says little about "equal or better"): the
    # timed call's seeds when it is vmapped, else ``return_seeds`` extra, untimed calls
    # per side (keys split from PRNGKey(1)).
    per_seed: dict[str, np.ndarray] = {}
    if return_seeds > 0:
        if seeds > 1:
            metrics = {"purejaxrl": outs["purejaxrl"]["metrics"],
                       "purejaxppo": outs["purejaxppo"].metrics}
        else:
            # One seed per call of the compiled 1-seed program, not a vmap: a vmapped
            # purejaxrl Breakout train of 8 seeds sat at 0% CPU with 15 GiB resident
            # for 20 minutes here (2026-12-03; killed, not diagnosed further). Only the
            # metrics that the return needs are kept from each call (8 whole purejaxrl
            # Breakout outputs ran this 24 GiB machine out of memory).
            keys = jax.random.split(jax.random.PRNGKey(1), return_seeds)
            fields = {"purejaxrl": ("returned_episode", "returned_episode_returns"),
                      "purejaxppo": ("episode_return", "episodes_completed")}
            metrics = {}
            for side, exe in (("purejaxrl", pj_exe), ("purejaxppo", our_exe)):
                runs = []
                for k in keys:
                    out = exe(k)
                    m = out["metrics"] if side == "purejaxrl" else out.metrics
                    runs.append({f: np.asarray(m[f]) for f in fields[side]})
                    del out, m
                metrics[side] = {f: np.stack([r[f] for r in runs]) for f in fields[side]}
                print(f"  {name} returns over {return_seeds} seeds: {side} done", flush=True)
        per_seed = {"purejaxrl": returns_per_seed_pjrl(metrics["purejaxrl"]),
                    "purejaxppo": returns_per_seed_ours(metrics["purejaxppo"])}
    result = {
        "config": name,
        "env": spec["pjrl"]["ENV_NAME"],
        "seeds": seeds,
        "env_steps_per_call": steps,
        "compile_s": {"purejaxrl": pj_compile, "purejaxppo": our_compile},
        "compile_s_every_repeat": compiles,
        "seconds": times,
        "steps_per_s_every_repeat": {s: [steps / x for x in t] for s, t in times.items()},
        "median_steps_per_s": {s: steps / m for s, m in med.items()},
        "ratio_ours_over_theirs": med["purejaxrl"] / med["purejaxppo"],
        "final_return": {
            "purejaxrl": _final_return_pjrl(outs["purejaxrl"]["metrics"]),
            "purejaxppo": _final_return_ours(outs["purejaxppo"].metrics),
        },
        "return_over_seeds": {side: seed_summary(x) for side, x in per_seed.items()},
        "purejaxppo_config": cfg.to_dict(),
        "purejaxrl_config": {k: v for k, v in pj_conf.items() if k.isupper()},
    }
    return result


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| config | purejaxrl steps/s | purejaxppo steps/s | ours / theirs | compile s (theirs / ours) | final return (theirs / ours) | over seeds, mean +- s.e. (theirs / ours) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        m, c, f = r["median_steps_per_s"], r["compile_s"], r["final_return"]
        over = r.get("return_over_seeds") or {}
        if over:
            a, b = over["purejaxrl"], over["purejaxppo"]
            seeds_col = (f"{a['mean']:.1f} +- {a['sem']:.1f} / {b['mean']:.1f} +- {b['sem']:.1f} "
                         f"({b['seeds']} seeds)")
        else:
            seeds_col = "-"
        lines.append(
            f"| {r['config']} ({r['env']}, {r['seeds']} seed{'s' if r['seeds'] > 1 else ''}) "
            f"| {m['purejaxrl']:,.0f} | {m['purejaxppo']:,.0f} | "
            f"**{r['ratio_ours_over_theirs']:.2f}x** | {c['purejaxrl']:.1f} / {c['purejaxppo']:.1f} "
            f"| {f['purejaxrl']:.1f} / {f['purejaxppo']:.1f} | {seeds_col} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--purejaxrl", required=True, help="path to a purejaxrl checkout")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per side (>= 1)")
    parser.add_argument("--compile-repeats", type=int, default=3,
                        help="compiles per side, interleaved (>= 1)")
    parser.add_argument("--return-seeds", type=int, default=8,
                        help="seeds of the untimed return comparison of 1-seed configs "
                             "(0: skip it)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    names = [n for n in args.configs.split(",") if n]
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown or args.repeats < 1 or args.compile_repeats < 1 or args.return_seeds < 0:
        parser.error(f"unknown configs {unknown} (known: {list(CONFIGS)}) or repeats < 1 "
                     "or compile repeats < 1 or return seeds < 0")
    ppo, ppo_cont = load_purejaxrl(args.purejaxrl)
    import os

    env = {
        "machine": platform.machine(), "processor": platform.processor(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "jax": jax.__version__, "backend": jax.default_backend(),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""), "repeats": args.repeats,
        "compile_repeats": args.compile_repeats, "return_seeds": args.return_seeds,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "purejaxppo_commit": purejaxppo_commit(),
    }
    print(json.dumps(env), flush=True)
    results = []
    for name in names:
        print(f"== {name}", flush=True)
        results.append(run_config(name, ppo, ppo_cont, args.repeats, args.compile_repeats,
                                  args.return_seeds))
        print(markdown(results[-1:]), flush=True)
        if args.out:  # after every config, so that a later failure keeps these
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps({"environment": env, "results": results},
                                                 indent=1))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
