"""Chunked vs fused training wall time (compile excluded).

    python benchmarks/chunked_overhead.py --total-timesteps 500000 --seeds 4 --chunks 10 50

Runs the fused ``jit(vmap(make_train))`` once to compile and then ``--repeats`` timed
calls, and likewise ``train_in_chunks`` for every chunk count (first call compiles the
chunk, later calls reuse it). Prints one JSON line per setting (best of repeats).
"""

from __future__ import annotations

import argparse
import json
import time


import jax  # noqa: E402

from purejaxppo import PPOConfig, make_train, train_in_chunks  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total-timesteps", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--chunks", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    config = PPOConfig(total_timesteps=args.total_timesteps)
    key = jax.random.PRNGKey(0)
    keys = jax.random.split(key, args.seeds)

    fused = jax.jit(jax.vmap(make_train(config))).lower(keys).compile()
    jax.block_until_ready(fused(keys))
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        jax.block_until_ready(fused(keys))
        times.append(time.perf_counter() - start)
    base = min(times)
    print(json.dumps({"mode": "fused", "updates": config.num_updates, "seconds": round(base, 3)}))
    for chunks in args.chunks:
        chunk = -(-config.num_updates // chunks)
        train_in_chunks(config, key, num_seeds=args.seeds, chunk_updates=chunk)  # compile
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = train_in_chunks(config, key, num_seeds=args.seeds, chunk_updates=chunk)
            jax.block_until_ready(out.state)
            times.append(time.perf_counter() - start)
        best = min(times)
        print(json.dumps({"mode": "chunked", "chunks": chunks, "chunk_updates": chunk,
                          "seconds": round(best, 3),
                          "overhead_pct": round(100 * (best / base - 1), 1)}))


if __name__ == "__main__":
    main()
