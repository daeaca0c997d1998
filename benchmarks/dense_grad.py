"""Weight gradient of a dense layer on XLA:CPU: XLA's dot vs a materialized transpose.

The weight gradient of ``y = x @ w`` is ``x^T g`` (``x``: ``[rows, in]``, ``g``:
``[rows, out]``). Written as JAX differentiates it, a ``dot_general`` contracting
axis 0 of both operands, XLA:CPU (jax 0.10) runs it with Eigen; written as
``transpose(x) @ g`` with the transpose kept as a copy
(``jax.lax.optimization_barrier``), it is a forward-style dot and runs on YNNPACK.
This script times both forms for the layer shapes of the ``vs_purejaxrl.py``
configs, each inside a compiled ``fori_loop`` (one process, interleaved, ``--repeats``
rounds, median per call; process CPU time alongside, since Eigen may use both
cores). ``purejaxppo.networks.dense_dot`` picks the form from these results.

    python benchmarks/dense_grad.py --out benchmarks/results/dense_grad.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp

# (rows, in, out): CartPole minibatch 128 (obs 4, 64x64, 2 actions / 1 value),
# Pendulum 256 (obs 3, 256x256, 1 output), Breakout 1024 (obs 400, 64x64, 6 actions),
# and sizes in between.
SHAPES = [
    (128, 4, 64), (128, 64, 64), (128, 64, 2), (128, 64, 1),
    (256, 64, 64), (256, 64, 6), (256, 3, 256), (256, 256, 256), (256, 256, 1),
    (384, 64, 64), (512, 64, 64), (512, 64, 6), (512, 256, 256),
    (1024, 64, 64), (1024, 400, 64), (1024, 64, 6), (2048, 64, 64),
]


def xla_dot(x: jax.Array, g: jax.Array) -> jax.Array:
    return jax.lax.dot_general(x, g, (((0,), (0,)), ((), ())))


def transposed(x: jax.Array, g: jax.Array) -> jax.Array:
    return jax.lax.optimization_barrier(x.T) @ g


def _loop(form, calls: int):
    def run(x, g):
        def body(_, carry):
            acc, x = carry
            dw = form(x, g)
            # Feed the result back so no call can be hoisted out of the loop.
            return acc + dw, x * (1.0 + 1e-7 * dw[0, 0])

        acc0 = jnp.zeros((x.shape[1], g.shape[1]), x.dtype)
        return jax.lax.fori_loop(0, calls, body, (acc0, x))[0]

    return jax.jit(run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    rows_out = []
    for rows, d_in, d_out in SHAPES:
        kx, kg = jax.random.split(jax.random.PRNGKey(rows * 7 + d_in))
        x = jax.random.normal(kx, (rows, d_in))
        g = jax.random.normal(kg, (rows, d_out))
        calls = max(200, int(2e8 / (rows * d_in * d_out)))
        forms = {"xla_dot": _loop(xla_dot, calls), "transposed": _loop(transposed, calls)}
        for fn in forms.values():
            jax.block_until_ready(fn(x, g))
        wall = {name: [] for name in forms}
        cpu = {name: [] for name in forms}
        for _ in range(args.repeats):
            for name, fn in forms.items():
                t, c = time.perf_counter(), time.process_time()
                jax.block_until_ready(fn(x, g))
                wall[name].append((time.perf_counter() - t) / calls * 1e6)
                cpu[name].append((time.process_time() - c) / calls * 1e6)
        med = {name: statistics.median(v) for name, v in wall.items()}
        row = {
            "rows": rows, "in": d_in, "out": d_out, "calls_per_repeat": calls,
            "us_per_call_median": med,
            "cpu_us_per_call_median": {n: statistics.median(v) for n, v in cpu.items()},
            "us_per_call_every_repeat": wall,
            "xla_dot_over_transposed": med["xla_dot"] / med["transposed"],
        }
        rows_out.append(row)
        print(f"{rows:5d} x {d_in:4d} -> {d_out:4d}: xla_dot {med['xla_dot']:8.1f} us, "
              f"transposed {med['transposed']:8.1f} us, "
              f"ratio {row['xla_dot_over_transposed']:.2f}", flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"machine": {"python": platform.python_version(), "jax": jax.__version__,
                                   "cpu_count": os.cpu_count(),
                                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
                       "repeats": args.repeats, "shapes": rows_out}, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
