"""Sim-to-real tools (issue 24): do domain randomization and a privileged critic help,
and what do they cost?

Four parts, each writing one JSON file (and a plot for ``ood``) under ``--out-dir``
(default ``benchmarks/results/sim_to_real``):

* ``ood`` (``ood_cartpole.json``, ``ood_cartpole.png``): ``CartPole-v1`` trained at
  its preset budget with nominal physics (preset ``CartPole-v1``) and with the pole
  length and the masses drawn at every episode start (preset
  ``CartPole-v1:randomized``), ``--seeds`` seeds each; every final policy is
  evaluated deterministically on a grid of pole lengths and pole masses, most of them
  outside the training ranges. Per grid point: IQM over seeds of the per-seed mean
  return, with a 95% bootstrap CI.
* ``privileged`` (``privileged_masked_cartpole.json``): ``MaskedCartPole-v1`` with a
  GRU actor (preset ``MaskedCartPole-v1``) vs the same with a critic that reads the
  full state (preset ``MaskedCartPole-v1:privileged``), same budget and keys:
  final training return (IQM, 95% CI), deterministic evaluation return, and env steps
  until the training return first reaches 400.
* ``brax`` (``brax_inverted_pendulum.json``): ``brax/inverted_pendulum`` (preset
  budget) nominal vs pole-mass and friction scaled at every episode start, evaluated
  on a grid of pole-mass factors.
* ``cost`` (``cost.json``): training steps/s with and without randomization and with
  the privileged critic, side by side in ONE process (variants interleaved, each
  repeat times ``--cost-updates`` compiled updates; medians of ``--repeats``).

Usage::

    python benchmarks/sim_to_real.py --part ood --seeds 8
    python benchmarks/sim_to_real.py --part privileged --seeds 8
    python benchmarks/sim_to_real.py --part brax --seeds 4
    python benchmarks/sim_to_real.py --part cost --repeats 5
    python benchmarks/sim_to_real.py --quick     # every part at toy sizes (a smoke run)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _common import bootstrap_ci, iqm, machine_info  # noqa: E402

from purejaxppo import PPOConfig, make_train, make_trainer  # noqa: E402
from purejaxppo.envs import make_env  # noqa: E402
from purejaxppo.evaluate import make_evaluate  # noqa: E402
from purejaxppo.train import run_updates  # noqa: E402

OUT_DIR = Path(__file__).resolve().parent / "results" / "sim_to_real"
POLE_LENGTHS = (0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
POLE_MASSES = (0.1, 0.5)
MASS_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def _stat(values) -> dict:
    values = [float(v) for v in values]
    low, high = bootstrap_ci(values)
    return {"iqm": iqm(values), "ci95": [low, high], "per_seed": values}


def _train(config: PPOConfig, seeds: int, env=None):
    t0 = time.perf_counter()
    out = jax.jit(jax.vmap(make_train(config, env=env)))(
        jax.random.split(jax.random.PRNGKey(0), seeds)
    )
    jax.block_until_ready(out)
    return out, time.perf_counter() - t0


def _inside(config: PPOConfig, **values: float) -> bool:
    ranges = {k: (low, high) for k, low, high in config.randomize_ranges}
    return all(ranges[k][0] <= v <= ranges[k][1] for k, v in values.items() if k in ranges)


# --------------------------------------------------------------------------- ood
def part_ood(args) -> dict:
    nominal = PPOConfig.preset("CartPole-v1")
    randomized = PPOConfig.preset("CartPole-v1:randomized")
    if args.quick:
        nominal, randomized = (
            c.replace(total_timesteps=c.batch_size * 2) for c in (nominal, randomized)
        )
    p0 = make_env("CartPole-v1").nominal_params
    points = [(length, mass) for mass in POLE_MASSES for length in POLE_LENGTHS]

    def params_at(length, mass):
        return p0.replace(
            length=length,
            masspole=mass,
            total_mass=p0.masscart + mass,
            polemass_length=mass * length,
        )

    grid = jax.vmap(params_at)(
        jnp.asarray([p[0] for p in points], jnp.float32),
        jnp.asarray([p[1] for p in points], jnp.float32),
    )
    result = {"points": [{"length": p[0], "masspole": p[1]} for p in points], "variants": {}}
    for label, config in (("nominal", nominal), ("randomized", randomized)):
        out, seconds = _train(config, args.seeds)
        ev = make_evaluate(config, args.episodes)
        per_point = jax.vmap(ev, in_axes=(None, None, None, 0))
        per_seed = jax.jit(jax.vmap(per_point, in_axes=(0, 0, None, None)))
        res = per_seed(out.state.params, out.state.obs_rms, jax.random.PRNGKey(5), grid)
        means = np.asarray(res.returns).mean(-1)  # [seeds, points]
        result["variants"][label] = {
            "config": config.to_dict(),
            "train_seconds": seconds,
            "final_train_return": _stat(np.asarray(out.metrics["episode_return"])[:, -1]),
            "grid": [_stat(means[:, i]) for i in range(len(points))],
        }
    ood = [
        i for i, (length, mass) in enumerate(points)
        if not _inside(randomized, length=length, masspole=mass)
    ]
    result["ood_points"] = ood
    for label in ("nominal", "randomized"):
        v = result["variants"][label]
        per_seed_ood = np.mean([v["grid"][i]["per_seed"] for i in ood], axis=0)
        v["ood_mean"] = _stat(per_seed_ood)
    _plot_ood(result, args.out_dir / "ood_cartpole.png")
    return result


def _plot_ood(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(POLE_MASSES), figsize=(5 * len(POLE_MASSES), 3.6), sharey=True)
    for ax, mass in zip(np.atleast_1d(axes), POLE_MASSES, strict=True):
        idx = [i for i, p in enumerate(result["points"]) if p["masspole"] == mass]
        lengths = [result["points"][i]["length"] for i in idx]
        for label, colour in (("nominal", "tab:grey"), ("randomized", "tab:blue")):
            grid = result["variants"][label]["grid"]
            y = [grid[i]["iqm"] for i in idx]
            lo = [grid[i]["ci95"][0] for i in idx]
            hi = [grid[i]["ci95"][1] for i in idx]
            ax.plot(lengths, y, "o-", color=colour, label=label)
            ax.fill_between(lengths, lo, hi, color=colour, alpha=0.2)
        ax.axvspan(0.25, 1.0, color="tab:green", alpha=0.08, label="training range of the length")
        ax.axvline(0.5, color="k", lw=0.8, ls=":", label="nominal")
        ax.set_xscale("log")
        ax.set_xlabel("pole half-length")
        ax.set_title(f"pole mass {mass}")
    np.atleast_1d(axes)[0].set_ylabel("deterministic return (IQM, 95% CI)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("CartPole-v1: nominal vs randomized training (masspole in [0.05, 0.2]), "
                 "evaluated off-nominal")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -------------------------------------------------------------------- privileged
def _steps_to(curve: np.ndarray, threshold: float, batch: int) -> float:
    hit = np.nonzero(curve >= threshold)[0]
    return float((hit[0] + 1) * batch) if hit.size else float("nan")


def part_privileged(args) -> dict:
    sym = PPOConfig.preset("MaskedCartPole-v1")
    priv = PPOConfig.preset("MaskedCartPole-v1:privileged")
    if args.quick:
        sym, priv = (c.replace(total_timesteps=c.batch_size * 2) for c in (sym, priv))
    result = {"threshold": 400.0, "variants": {}}
    for label, config in (("symmetric", sym), ("privileged", priv)):
        out, seconds = _train(config, args.seeds)
        curves = np.asarray(out.metrics["episode_return"])  # [seeds, updates]
        ev = jax.jit(jax.vmap(make_evaluate(config, args.episodes)))
        res = ev(out.state.params, out.state.obs_rms, jax.random.split(jax.random.PRNGKey(5), args.seeds))
        steps = [_steps_to(c, 400.0, config.batch_size) for c in curves]
        reached = [s for s in steps if np.isfinite(s)]
        result["variants"][label] = {
            "config": config.to_dict(),
            "train_seconds": seconds,
            "final_train_return": _stat(curves[:, -1]),
            "eval_return": _stat(np.asarray(res.returns).mean(-1)),
            "steps_to_400": {
                "per_seed": steps,
                "reached": len(reached),
                "median_of_reached": float(np.median(reached)) if reached else None,
            },
            "curve_iqm": [iqm(curves[:, u]) for u in range(curves.shape[1])],
        }
    return result


# -------------------------------------------------------------------------- brax
def part_brax(args) -> dict:
    nominal = PPOConfig.preset("brax/inverted_pendulum")
    randomized = nominal.replace(
        randomize="reset",
        randomize_ranges=(("body_mass", 0.5, 2.0), ("geom_friction", 0.5, 1.5)),
    )
    if args.quick:
        nominal, randomized = (
            c.replace(total_timesteps=c.batch_size * 2, num_envs=8, num_minibatches=4)
            for c in (nominal, randomized)
        )
    base = make_trainer(nominal).env
    sys0 = base.nominal_params
    grid = jax.vmap(lambda f: sys0.replace(body_mass=sys0.body_mass * f))(
        jnp.asarray(MASS_FACTORS, jnp.float32)
    )
    result = {"mass_factors": list(MASS_FACTORS), "variants": {}}
    for label, config in (("nominal", nominal), ("randomized", randomized)):
        out, seconds = _train(config, args.seeds)
        ev = make_evaluate(config, args.episodes, max_steps=1000)
        per_point = jax.vmap(ev, in_axes=(None, None, None, 0))
        per_seed = jax.jit(jax.vmap(per_point, in_axes=(0, 0, None, None)))
        res = per_seed(out.state.params, out.state.obs_rms, jax.random.PRNGKey(5), grid)
        means = np.asarray(res.returns).mean(-1)
        result["variants"][label] = {
            "config": config.to_dict(),
            "train_seconds": seconds,
            "final_train_return": _stat(np.asarray(out.metrics["episode_return"])[:, -1]),
            "grid": [_stat(means[:, i]) for i in range(len(MASS_FACTORS))],
        }
    return result


# -------------------------------------------------------------------------- cost
def _cost_variants(quick: bool) -> dict[str, tuple[PPOConfig, str]]:
    cart = PPOConfig.preset("CartPole-v1")
    masked = PPOConfig.preset("MaskedCartPole-v1")
    if quick:
        masked = masked.replace(memory_size=8, num_envs=4, num_minibatches=2)
    return {
        "CartPole-v1 nominal": (cart, "ood"),
        "CartPole-v1 randomized (init)": (
            PPOConfig.preset("CartPole-v1:randomized", randomize="init"), "ood"),
        "CartPole-v1 randomized (reset)": (PPOConfig.preset("CartPole-v1:randomized"), "ood"),
        "MaskedCartPole-v1 GRU symmetric critic": (masked, "privileged"),
        "MaskedCartPole-v1 GRU privileged critic": (
            masked.replace(value_obs_key="privileged_state"), "privileged"),
    }


def part_cost(args) -> dict:
    variants = _cost_variants(args.quick)
    if args.brax:
        ip = PPOConfig.preset("brax/inverted_pendulum")
        variants["brax/inverted_pendulum nominal"] = (ip, "brax")
        variants["brax/inverted_pendulum randomized (reset)"] = (
            ip.replace(randomize="reset",
                       randomize_ranges=(("body_mass", 0.5, 2.0), ("geom_friction", 0.5, 1.5))),
            "brax",
        )
    fns = {}
    for label, (config, _) in variants.items():
        trainer = make_trainer(config)
        hp = config.hparams()
        state = jax.jit(trainer.init)(jax.random.PRNGKey(0), hp)
        run = jax.jit(lambda s, h, t=trainer: run_updates(t, s, h, args.cost_updates))
        t0 = time.perf_counter()
        jax.block_until_ready(run(state, hp))  # compile + warm-up
        fns[label] = (run, state, hp, time.perf_counter() - t0, config)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(args.repeats):
        for label, (run, state, hp, _, _) in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(run(state, hp))
            times[label].append(time.perf_counter() - t0)
    out = {"updates_per_repeat": args.cost_updates, "repeats": args.repeats, "variants": {}}
    for label, (_, _, _, compile_s, config) in fns.items():
        sps = [config.batch_size * args.cost_updates / t for t in times[label]]
        out["variants"][label] = {
            "steps_per_second_median": statistics.median(sps),
            "steps_per_second_repeats": sps,
            "compile_plus_first_call_s": compile_s,
            "batch_size": config.batch_size,
        }
    return out


PARTS = {"ood": part_ood, "privileged": part_privileged, "brax": part_brax, "cost": part_cost}
FILES = {
    "ood": "ood_cartpole.json",
    "privileged": "privileged_masked_cartpole.json",
    "brax": "brax_inverted_pendulum.json",
    "cost": "cost.json",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=sorted(PARTS), action="append", default=None,
                        help="which part(s) to run (repeatable; default: all)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds per variant (vmapped)")
    parser.add_argument("--episodes", type=int, default=16,
                        help="deterministic evaluation episodes per seed (and grid point)")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (cost)")
    parser.add_argument("--cost-updates", type=int, default=20, help="updates per timing repeat")
    parser.add_argument("--brax", action="store_true", help="cost: add brax/inverted_pendulum")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--quick", action="store_true",
                        help="toy sizes (2 updates, 2 seeds, 2 episodes, 1 repeat): a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.episodes, args.repeats, args.cost_updates = 2, 2, 1, 2
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for part in args.part or ["ood", "privileged", "cost"]:
        t0 = time.perf_counter()
        result = PARTS[part](args)
        result.update(
            part=part, seeds=args.seeds, episodes=args.episodes, quick=args.quick,
            seconds=time.perf_counter() - t0, machine=machine_info(),
            command="python benchmarks/sim_to_real.py " + " ".join(sys.argv[1:]),
        )
        path = args.out_dir / FILES[part]
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"{part}: wrote {path} ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
