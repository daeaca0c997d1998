"""Minimal reproduction of (and stress test against) the ``jit(vmap(train))`` stall.

With jax/jaxlib 0.10.2 on a 2-core host, ``jax.jit(jax.vmap(make_train(cfg)))`` of
256 seeds used to hang forever: every XLA thread parked in ``futex_wait`` and CPU
time stopped (16 and 64 seeds finished). Native stacks (``gdb -p PID -batch -ex
"thread apply all bt"``) of the hung process show both workers of XLA's intra-op
pool inside ``lapack_sgeqrf_ffi -> jax::QrFactorization -> jax::ParallelBatchMap ->
BlockingCounter::Wait``: the batched QR of Flax's orthogonal initializer (actor and
critic, run concurrently) queues its batch on the pool it is running on and waits;
with both workers waiting, the queued work never runs. See
``purejaxppo/runtime.py`` and ``purejaxppo/initializers.py``.

Usage::

    python benchmarks/stall_repro.py                     # 16, 64, 256 seeds, our init
    python benchmarks/stall_repro.py --init flax         # Flax's LAPACK QR init: hangs
    python benchmarks/stall_repro.py --env brax/inverted_pendulum --seeds 16,64

Each seed count is compiled once and called ``--calls`` times; the script prints
the lowered program's custom calls, the compile and call times, and exits 0. With
``--init flax`` on a 2-core host expect it to hang at the 256-seed call (run it
under ``timeout``).
"""

from __future__ import annotations

import argparse
import re
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", default="16,64,256", help="comma-separated seed counts")
    parser.add_argument("--calls", type=int, default=2, help="calls per compiled program")
    parser.add_argument("--init", choices=("ours", "flax"), default="ours",
                        help="orthogonal initializer: ours (LAPACK QR, one call per seed) or "
                             "Flax's (one batched LAPACK QR)")
    args = parser.parse_args(argv)

    import jax

    import purejaxppo.networks as networks
    from purejaxppo import PPOConfig, make_train

    if args.init == "flax":
        import flax.linen as nn

        networks.orthogonal = nn.initializers.orthogonal
    # A tiny budget: the stall happened at initialization, the loop length is irrelevant.
    cfg = PPOConfig(env_name=args.env, num_envs=4, num_steps=16, num_minibatches=2,
                    update_epochs=1, total_timesteps=128)
    for n in (int(s) for s in args.seeds.split(",")):
        keys = jax.random.split(jax.random.PRNGKey(0), n)
        fn = jax.jit(jax.vmap(make_train(cfg)))
        lowered = fn.lower(keys)
        calls = sorted(set(re.findall(r"custom_call @(\w+)", lowered.as_text())))
        start = time.perf_counter()
        compiled = lowered.compile()
        print(f"seeds={n} custom_calls={calls} compile={time.perf_counter() - start:.1f}s",
              flush=True)
        for i in range(args.calls):
            start = time.perf_counter()
            jax.block_until_ready(compiled(keys))
            print(f"seeds={n} call={i} {time.perf_counter() - start:.2f}s", flush=True)
    print("no stall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
