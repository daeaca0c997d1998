"""Training throughput vs. the environment's own stepping speed, in ONE process.

For one config this measures

* **env-only** steps/s: the same gymnax env and ``num_envs``, stepped in a jitted
  ``lax.scan`` with uniformly random actions (``jax.random.randint`` for discrete,
  ``jax.random.uniform`` in the box for continuous), the ceiling any trainer can reach;
* **train** steps/s: ``jax.jit(make_train(config))`` (optionally vmapped over seeds);

both compiled first (compile time reported separately), then timed interleaved
(env, train, env, train, ...) ``--repeats`` times; medians are reported together with
their ratio. Writes JSON.

    python benchmarks/throughput.py                       # default CartPole config
    python benchmarks/throughput.py --env Pendulum-v1 --num-envs 16 --out results/tp.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from purejaxppo import PPOConfig, make_env, make_train


def make_env_only(env_name: str, num_envs: int, num_steps: int, env_kwargs=()):
    """A jitted function stepping ``num_envs`` envs ``num_steps`` times at random."""
    env = make_env(env_name, **dict(env_kwargs))
    spec = env.action_spec

    def run(key):
        k_reset, k_loop = jax.random.split(key)
        obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, num_envs))

        def body(carry, _):
            state, key, total = carry
            key, k_act, k_step = jax.random.split(key, 3)
            if spec.discrete:
                action = jax.random.randint(k_act, (num_envs,), 0, spec.num_actions)
            else:
                action = jax.random.uniform(
                    k_act, (num_envs, spec.action_dim),
                    minval=jnp.asarray(spec.low), maxval=jnp.asarray(spec.high),
                )
            res = jax.vmap(env.step)(jax.random.split(k_step, num_envs), state, action)
            # Consume observations too, so XLA cannot drop their computation.
            total = total + res.reward.sum() + res.obs.sum() + res.final_obs.sum()
            return (res.state, key, total), None

        (_, _, total), _ = jax.lax.scan(body, (state, k_loop, 0.0), None, length=num_steps)
        return total

    return jax.jit(run)


def _timed(fn, arg) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn(arg))
    return time.perf_counter() - start


def measure(config: PPOConfig, seeds: int = 1, repeats: int = 3) -> dict:
    """Compiles and times env-only and training; returns a JSON-ready dict."""
    total_steps = config.steps_trained
    env_steps_per_env = total_steps // config.num_envs
    env_fn = make_env_only(config.env_name, config.num_envs, env_steps_per_env, config.env_kwargs)
    train_fn = make_train(config)
    key = jax.random.PRNGKey(0)
    if seeds > 1:
        train_fn = jax.vmap(train_fn)
        train_key = jax.random.split(key, seeds)
    else:
        train_key = key
    train_jit = jax.jit(train_fn)

    t0 = time.perf_counter()
    env_compiled = jax.jit(env_fn).lower(key).compile()
    env_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_compiled = train_jit.lower(train_key).compile()
    train_compile = time.perf_counter() - t0

    env_times, train_times = [], []
    for _ in range(repeats):
        env_times.append(_timed(env_compiled, key))
        train_times.append(_timed(train_compiled, train_key))
    env_sps = total_steps / statistics.median(env_times)
    train_sps = seeds * total_steps / statistics.median(train_times)
    return {
        "env_name": config.env_name,
        "num_envs": config.num_envs,
        "num_steps": config.num_steps,
        "seeds": seeds,
        "steps_per_seed": total_steps,
        "env_only_steps_per_s": env_sps,
        "train_steps_per_s": train_sps,
        "train_over_env_only": train_sps / env_sps,
        "train_per_seed_over_env_only": train_sps / seeds / env_sps,
        "env_only_times_s": env_times,
        "train_times_s": train_times,
        "env_only_compile_s": env_compile,
        "train_compile_s": train_compile,
        "repeats": repeats,
    }


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--num-steps", type=int, default=128)
    parser.add_argument("--total-timesteps", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="results/throughput.json")
    args = parser.parse_args(argv)
    try:
        config = PPOConfig(
            env_name=args.env, num_envs=args.num_envs, num_steps=args.num_steps,
            total_timesteps=args.total_timesteps,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = {"machine": machine_info(), "config": config.to_dict()}
    result.update(measure(config, args.seeds, args.repeats))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(
        f"{config.env_name} num_envs={config.num_envs} seeds={args.seeds}: "
        f"env-only {result['env_only_steps_per_s']:,.0f} steps/s, "
        f"train {result['train_steps_per_s']:,.0f} steps/s, "
        f"ratio {result['train_over_env_only']:.3f} "
        f"(compile: env {result['env_only_compile_s']:.1f} s, "
        f"train {result['train_compile_s']:.1f} s) -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
