"""Minibatch permutations on XLA:CPU: the ways of drawing K random permutations of n.

Times, in ONE process, interleaved (``--repeats`` rounds, median per call of K
permutations), each inside a compiled ``fori_loop`` of ``--calls`` calls:

* ``library``: ``purejaxppo.update.random_permutations`` as it is (one packed sort up
  to n = 2048, packed rounds above);
* ``pair_sort``: one sort of (random key, index) pairs per row, what the library did
  for n > 2048 before 2026-12-03;
* ``jax_permutation``: ``jax.random.permutation`` per row (what purejaxrl calls).

    python benchmarks/permutations.py --out benchmarks/results/permutations.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import jax
import jax.numpy as jnp

from purejaxppo.update import packed_sort_rounds, random_permutations

# (K, n): CartPole (4 epochs x 512), Pendulum (10 x 2048), Breakout (4 x 8192), others.
SHAPES = [(4, 512), (10, 2048), (4, 4096), (4, 8192), (4, 16384), (4, 65536)]


def pair_sort(key: jax.Array, num: int, n: int) -> jax.Array:
    bits = jax.random.bits(key, (num, n), jnp.uint32)
    index = jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (num, n))
    return jax.lax.sort((bits, index), dimension=1, num_keys=1, is_stable=False)[1]


def jax_permutation(key: jax.Array, num: int, n: int) -> jax.Array:
    return jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(key, num))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    methods = {"library": random_permutations, "pair_sort": pair_sort,
               "jax_permutation": jax_permutation}
    rows = []
    for num, n in SHAPES:
        compiled = {}
        for name, fn in methods.items():
            def loop(key, fn=fn):
                body = lambda i, acc: acc + fn(jax.random.fold_in(key, i), num, n)[:, 0].sum()  # noqa: E731
                return jax.lax.fori_loop(0, args.calls, body, jnp.int32(0))

            compiled[name] = jax.jit(loop).lower(jax.random.PRNGKey(0)).compile()
            jax.block_until_ready(compiled[name](jax.random.PRNGKey(0)))
        times = {name: [] for name in compiled}
        for r in range(args.repeats):
            for name, exe in compiled.items():
                start = time.perf_counter()
                jax.block_until_ready(exe(jax.random.PRNGKey(r + 1)))
                times[name].append((time.perf_counter() - start) / args.calls * 1e6)
        med = {name: statistics.median(t) for name, t in times.items()}
        nbits = max(1, (n - 1).bit_length())
        rows.append({"permutations": num, "n": n, "packed_rounds": packed_sort_rounds(nbits),
                     "us_per_call_median": med, "us_per_call_every_repeat": times})
        print(f"{num} x {n:>6} (rounds {packed_sort_rounds(nbits)}): "
              + "  ".join(f"{name} {med[name]:9.1f} us" for name in med), flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"machine": {"python": platform.python_version(), "jax": jax.__version__,
                                   "backend": jax.default_backend(),
                                   "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")},
                       "repeats": args.repeats, "calls": args.calls, "shapes": rows},
                      handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
