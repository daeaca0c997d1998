"""Craftax rollout speed: reset every env on every step vs only the ones that ended.

Craftax builds a new world on reset (about 30 env steps' worth of work). The adapter's
``step`` (single env, vmapped) computes a fresh world on every step and selects it
where the episode ended, as gymnax-style auto-resets do; its ``step_batch`` generates
worlds only for the envs that ended (``purejaxppo.envs._suite.reset_ended``). Both
rollouts (the preset's 64 envs x 64 steps and policy) are compiled in ONE process and
timed interleaved; medians of ``--repeats``.

    python benchmarks/craftax_reset.py --repeats 5 --out benchmarks/results/craftax_reset.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import jax

from purejaxppo import PPOConfig
from purejaxppo.rollout import collect_rollout
from purejaxppo.train import make_trainer


class _VmappedStep:
    """The adapter without ``step_batch``: the rollout falls back to ``vmap(step)``."""

    def __init__(self, env):
        self._env = env
        self.name, self.obs_dim, self.action_spec = env.name, env.obs_dim, env.action_spec

    def reset(self, key):
        return self._env.reset(key)

    def step(self, key, state, action):
        return self._env.step(key, state, action)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="craftax/Craftax-Classic-Symbolic-v1")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/craftax_reset.json")
    args = parser.parse_args()
    config = PPOConfig.preset(args.env)
    trainer = make_trainer(config)
    state = jax.jit(trainer.init)(jax.random.PRNGKey(0), config.hparams())

    def rollout(env):
        def run(state, key):
            out = collect_rollout(env, trainer.networks, state.params, state.env_state,
                                  state.obs, state.ep_return, state.ep_length, key,
                                  config.num_steps, lambda obs: obs, False)
            return out[-1].count  # episodes that ended in the rollout
        return jax.jit(run)

    fns = {"vmap(step)": rollout(_VmappedStep(trainer.env)), "step_batch": rollout(trainer.env)}
    compile_s = {}
    for label, fn in fns.items():
        t0 = time.perf_counter()
        jax.block_until_ready(fn(state, jax.random.PRNGKey(1)))
        compile_s[label] = time.perf_counter() - t0
    times: dict[str, list[float]] = {label: [] for label in fns}
    ended = []
    for rep in range(args.repeats):
        key = jax.random.PRNGKey(2 + rep)
        for label, fn in fns.items():
            t0 = time.perf_counter()
            count = int(jax.block_until_ready(fn(state, key)))
            times[label].append(time.perf_counter() - t0)
            print(f"rep {rep} {label:11s} {config.batch_size / times[label][-1]:>9,.0f} steps/s "
                  f"({count} episodes ended)", flush=True)
        ended.append(count)
    steps = config.batch_size
    result = {
        "env": args.env, "num_envs": config.num_envs, "num_steps": config.num_steps,
        "episodes_ended_per_rollout": ended,
        "compile_plus_first_call_s": compile_s,
        "steps_per_s_every_repeat": {k: [steps / t for t in v] for k, v in times.items()},
        "median_steps_per_s": {k: steps / statistics.median(v) for k, v in times.items()},
        "machine": platform.processor() or platform.machine(), "jax": jax.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    med = result["median_steps_per_s"]
    print(f"median: vmap(step) {med['vmap(step)']:,.0f}, step_batch {med['step_batch']:,.0f} "
          f"steps/s ({med['step_batch'] / med['vmap(step)']:.1f}x)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
