"""Compare the continuous policy heads on one preset (all seeds vmapped, one compile each).

    python benchmarks/policy_heads.py --env Pendulum-v1 --seeds 2 \\
        --out benchmarks/results/policy_heads_pendulum.json

For each ``policy_head`` it trains ``PPOConfig.preset(env, policy_head=head)`` at the
preset's budget and records the final returns (mean of the episodes completed in the
last update), a coarse learning curve and the wall time (compile included).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax  # noqa: E402
import numpy as np  # noqa: E402

from purejaxppo import PPOConfig, make_train  # noqa: E402
from purejaxppo.config import POLICY_HEADS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--heads", default=",".join(POLICY_HEADS))
    parser.add_argument("--out", default="results/policy_heads.json")
    args = parser.parse_args(argv)
    heads = [h.strip() for h in args.heads.split(",")]
    try:
        configs = {h: PPOConfig.preset(args.env, policy_head=h) for h in heads}
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    results = {}
    for head, config in configs.items():
        t0 = time.perf_counter()
        out = jax.jit(jax.vmap(make_train(config)))(
            jax.random.split(jax.random.PRNGKey(0), args.seeds)
        )
        returns = np.asarray(jax.block_until_ready(out.metrics["episode_return"]), float)
        step = max(1, returns.shape[1] // 10)
        results[head] = {
            "final": returns[:, -1].tolist(),
            "curve_env_steps": out.env_steps(config)[0, ::step].tolist(),
            "curve": [[None if not np.isfinite(v) else float(v) for v in row]
                      for row in returns[:, ::step]],
            "wall_s_incl_compile": time.perf_counter() - t0,
            "steps_per_seed": config.steps_trained,
        }
        print(f"{head}: final {np.round(returns[:, -1], 1).tolist()} "
              f"({results[head]['wall_s_incl_compile']:.0f} s)", flush=True)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"env": args.env, "seeds": args.seeds, "results": results},
                               indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
