"""CNN torso vs the MLP preset on MinAtar, in ONE process, timed interleaved.

For each environment both configurations (the MLP preset and the same preset with
``torso="cnn"``) are compiled first; then training runs in chunks of ``--chunk``
updates, alternating MLP and CNN chunks, so both see the same machine load. Seeds are
vmapped. Reported per configuration: final return (mean over seeds of the mean return
of the episodes completed in the last 10 updates), env steps per second summed over
seeds (compile excluded), compile seconds.

    python benchmarks/cnn_vs_mlp.py --steps 2000000 --seeds 2 --chunk 7 --out benchmarks/results/cnn_vs_mlp.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax  # noqa: E402
import numpy as np  # noqa: E402

from purejaxppo import PPOConfig  # noqa: E402
from purejaxppo.train import make_trainer, run_updates  # noqa: E402


def _configs(env: str, steps: int, channels, kernels, hidden) -> dict[str, PPOConfig]:
    mlp = PPOConfig.preset(env, total_timesteps=steps)
    cnn = mlp.replace(torso="cnn", cnn_channels=channels, cnn_kernels=kernels, hidden_sizes=hidden)
    return {"mlp": mlp, "cnn": cnn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", default="Breakout-MinAtar,SpaceInvaders-MinAtar")
    parser.add_argument("--steps", type=int, default=2_000_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=8, help="updates per timed chunk")
    parser.add_argument("--cnn-channels", default="16")
    parser.add_argument("--cnn-kernels", default="3")
    parser.add_argument("--cnn-hidden", default="128")
    parser.add_argument("--out", default="benchmarks/results/cnn_vs_mlp.json")
    args = parser.parse_args()
    ints = lambda s: tuple(int(v) for v in s.split(","))  # noqa: E731
    results: dict = {"args": vars(args), "runs": {}}
    for env in args.envs.split(","):
        configs = _configs(env, args.steps, ints(args.cnn_channels), ints(args.cnn_kernels),
                           ints(args.cnn_hidden))
        num_updates = configs["mlp"].num_updates
        if num_updates % args.chunk:
            # A partial last chunk would run updates past num_updates, where the
            # annealed learning rate turns negative.
            raise SystemExit(
                f"{env}: --chunk {args.chunk} must divide the {num_updates} updates of "
                f"--steps {args.steps} (batch {configs['mlp'].batch_size})")
        runs = {}
        for label, config in configs.items():
            trainer = make_trainer(config)
            hp = config.hparams()
            keys = jax.random.split(jax.random.PRNGKey(0), args.seeds)
            init = jax.jit(jax.vmap(lambda k, t=trainer, h=hp: t.init(k, h)))
            chunk = jax.jit(jax.vmap(lambda s, t=trainer, h=hp: run_updates(t, s, h, args.chunk)))
            t0 = time.perf_counter()
            state = init(keys)
            state, metrics = chunk(state)
            jax.block_until_ready(state)
            runs[label] = dict(config=config, chunk=chunk, state=state, metrics=[metrics],
                               compile_s=time.perf_counter() - t0, run_s=0.0,
                               updates=args.chunk)
            print(f"{env} {label}: compiled + first chunk in {runs[label]['compile_s']:.1f}s", flush=True)
        while any(r["updates"] < num_updates for r in runs.values()):
            for label, run in runs.items():
                if run["updates"] >= num_updates:
                    continue
                t0 = time.perf_counter()
                run["state"], metrics = run["chunk"](run["state"])
                jax.block_until_ready(run["state"])
                run["run_s"] += time.perf_counter() - t0
                run["metrics"].append(metrics)
                run["updates"] += args.chunk
            done = min(r["updates"] for r in runs.values())
            if done % (8 * args.chunk) == 0:
                print(f"  {env} {done}/{num_updates} updates", flush=True)
        results["runs"][env] = {}
        for label, run in runs.items():
            ret = np.concatenate([np.asarray(m["episode_return"]) for m in run["metrics"]], axis=1)
            final = np.nanmean(ret[:, -10:], axis=1)
            timed_steps = (run["updates"] - args.chunk) * run["config"].batch_size * args.seeds
            results["runs"][env][label] = {
                "config": run["config"].to_dict(),
                "steps_per_seed": run["updates"] * run["config"].batch_size,
                "final_return_per_seed": final.tolist(),
                "final_return_mean": float(np.mean(final)),
                "steps_per_s_all_seeds": timed_steps / run["run_s"],
                "compile_plus_first_chunk_s": run["compile_s"],
                "curve_mean": np.nanmean(ret, axis=0)[:: args.chunk].tolist(),
            }
            print(f"{env} {label}: return {final} steps/s {timed_steps / run['run_s']:.0f}", flush=True)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
