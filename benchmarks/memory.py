"""Speed of policies with memory (issue 11): training steps/s and update-phase time.

Two measurements, each interleaving its variants in ONE process (variant A, B, C, ...
then again A, B, C, ...) so that a load change on a shared machine hits every variant
alike; the report gives the median of the repeats and every repeat.

1. **Training throughput** on ``MaskedCartPole-v1``: ``train`` (rollout + GAE + K
   epochs) of feed-forward, ``gru``, ``lstm`` and ``mingru`` policies with the same
   batch layout, compiled once; each repeat times ``--updates`` PPO iterations of the
   compiled update (``run_updates``), excluding compilation.
2. **Update phase** (``run_epochs`` alone: K epochs of sequence minibatches, forward
   and backward through the core) of ``mingru`` (parallel associative scan) vs
   ``gru`` (sequential ``lax.scan``) at sequence lengths 128 and 512, on a fixed
   batch.

Usage::

    python benchmarks/memory.py --out benchmarks/results/memory.json
    python benchmarks/memory.py --quick      # a smoke run with small sizes
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from purejaxppo import PPOConfig, make_trainer  # noqa: E402
from purejaxppo.train import run_updates  # noqa: E402
from purejaxppo.update import Batch, make_optimizer, run_epochs, to_sequences  # noqa: E402

VARIANTS = (None, "gru", "lstm", "mingru")


def _label(memory):
    return "feed-forward" if memory is None else memory


def training_throughput(args) -> dict:
    base = dict(env_name="MaskedCartPole-v1", num_envs=args.num_envs, num_steps=128,
                num_minibatches=4, update_epochs=4, memory_size=args.memory_size,
                total_timesteps=args.num_envs * 128 * args.updates)
    fns = {}
    for memory in VARIANTS:
        config = PPOConfig(memory=memory, **base)
        trainer = make_trainer(config)
        hp = config.hparams()
        state = jax.jit(trainer.init)(jax.random.PRNGKey(0), hp)
        run = jax.jit(lambda s, h, t=trainer: run_updates(t, s, h, args.updates))
        t0 = time.perf_counter()
        jax.block_until_ready(run(state, hp))  # compile + warm-up
        fns[memory] = (run, state, hp, time.perf_counter() - t0)
    times = {m: [] for m in VARIANTS}
    for _ in range(args.repeats):
        for memory in VARIANTS:
            run, state, hp, _ = fns[memory]
            t0 = time.perf_counter()
            jax.block_until_ready(run(state, hp))
            times[memory].append(time.perf_counter() - t0)
    steps = args.num_envs * 128 * args.updates
    out = {}
    for memory in VARIANTS:
        sps = [steps / t for t in times[memory]]
        out[_label(memory)] = {
            "steps_per_second_median": statistics.median(sps),
            "steps_per_second_repeats": sps,
            "compile_plus_first_call_s": fns[memory][3],
        }
    ff = out["feed-forward"]["steps_per_second_median"]
    for memory in VARIANTS[1:]:
        out[_label(memory)]["relative_to_feed_forward"] = (
            out[_label(memory)]["steps_per_second_median"] / ff
        )
    return {"config": base, "updates_per_repeat": args.updates, "results": out}


def update_phase(args) -> dict:
    results = {}
    for seq_len in args.seq_lens:
        fns = {}
        for memory in ("gru", "mingru"):
            config = PPOConfig(env_name="MaskedCartPole-v1", memory=memory,
                               memory_size=args.memory_size, num_envs=args.num_envs,
                               num_steps=seq_len, num_minibatches=4, update_epochs=4,
                               total_timesteps=args.num_envs * seq_len)
            trainer = make_trainer(config)
            nets, hp = trainer.networks, config.hparams()
            params = nets.init(jax.random.PRNGKey(0))
            opt_state = make_optimizer(hp).init(params)
            k = jax.random.split(jax.random.PRNGKey(1), 4)
            T, N = seq_len, args.num_envs
            batch = Batch(
                obs=jax.random.normal(k[0], (T, N, trainer.env.obs_dim)),
                action=jax.random.bernoulli(k[1], 0.5, (T, N)).astype(jnp.int32),
                log_prob=jnp.full((T, N), jnp.log(0.5)),
                value=jnp.zeros((T, N)),
                advantage=jax.random.normal(k[2], (T, N)),
                target=jax.random.normal(k[3], (T, N)),
                dist=None,
                carry=jax.tree.map(lambda c: c[None], nets.initial_carry(N)),
                start=jnp.zeros((T, N), bool).at[0].set(True),
            )
            seqs = to_sequences(batch, T)
            fn = jax.jit(lambda p, o, b, c=config, n=nets, h=hp: run_epochs(
                p, o, b, jax.random.PRNGKey(2), h.learning_rate, h, jnp.float32(1.0), c, n))
            jax.block_until_ready(fn(params, opt_state, seqs))
            fns[memory] = (fn, params, opt_state, seqs)
        times = {m: [] for m in fns}
        for _ in range(args.repeats):
            for memory, (fn, params, opt_state, seqs) in fns.items():
                t0 = time.perf_counter()
                jax.block_until_ready(fn(params, opt_state, seqs))
                times[memory].append(time.perf_counter() - t0)
        results[str(seq_len)] = {
            m: {"seconds_median": statistics.median(t), "seconds_repeats": t}
            for m, t in times.items()
        }
        results[str(seq_len)]["mingru_speedup_over_gru"] = (
            statistics.median(times["gru"]) / statistics.median(times["mingru"])
        )
    return {"num_envs": args.num_envs, "memory_size": args.memory_size,
            "update_epochs": 4, "num_minibatches": 4, "results": results}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--memory-size", type=int, default=128)
    p.add_argument("--updates", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seq-lens", type=int, nargs="+", default=[128, 512])
    p.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.num_envs, args.memory_size, args.updates, args.repeats = 4, 16, 2, 2
        args.seq_lens = [16, 32]
    report = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "devices": [str(d) for d in jax.devices()], "jax": jax.__version__},
        "training_throughput": training_throughput(args),
        "update_phase": update_phase(args),
    }
    text = json.dumps(report, indent=1)
    print(text)
    tt = report["training_throughput"]["results"]
    print("\ntraining steps/s (median):", {k: round(v["steps_per_second_median"]) for k, v in tt.items()})
    for seq_len, r in report["update_phase"]["results"].items():
        print(f"update phase T={seq_len}: gru {r['gru']['seconds_median']:.3f}s, "
              f"mingru {r['mingru']['seconds_median']:.3f}s, "
              f"speed-up {r['mingru_speedup_over_gru']:.2f}x")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
