"""The PPO paper's Table 1 (Schulman et al. 2017) as one study, on brax's versions of
the paper's MuJoCo tasks.

The paper compares surrogate objectives on 7 MuJoCo tasks, 1M steps, 3 seeds each,
scores normalized per task (random policy 0, best setting 1) and averaged over tasks:

| objective | settings |
|---|---|
| no clipping or penalty | r A |
| clipping | eps 0.1 / 0.2 / 0.3 |
| adaptive KL | d_targ 0.003 / 0.01 / 0.03 |
| fixed KL | beta 0.3 / 1 / 3 / 10 |

with the paper's hyperparameters: 2048 env steps per update, 10 epochs, minibatches
of 64, Adam 3e-4 (constant), gamma 0.99, lambda 0.95, separate 64x64 tanh policy and
value networks, a state-independent log std, no entropy bonus. Here the 2048 steps
are 8 envs x 256 steps (the paper: one env x 2048), observations are normalized
(running statistics in the train state), the value loss is not clipped, and the
environments are brax's (``brax/<task>``, MJX or generalized physics), NOT the
paper's MuJoCo-py tasks: scores are comparable only in their normalized form.

Every setting of one objective is ONE compiled, vmapped call (``purejaxppo.sweep``
over the traced field: ``clip_eps``, ``kl_target`` or ``kl_beta_init``; the
no-penalty objective ignores both). Score of a run: the mean return of its last 100
completed episodes (pooled from the final updates). The random-policy score is the
mean return of 100 episodes of uniformly random actions.

    python benchmarks/ppo_table1.py --tasks inverted_pendulum inverted_double_pendulum
    python benchmarks/ppo_table1.py            # all seven tasks (hours on a CPU)
    python benchmarks/ppo_table1.py --tasks inverted_pendulum --steps 8192 --seeds 1 \\
        --out /tmp/t1.json                      # toy run (tests/test_pbt.py)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purejaxppo import PPOConfig, make_env
from purejaxppo.sweep import sweep

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info  # noqa: E402

TASKS = ("halfcheetah", "hopper", "inverted_double_pendulum", "inverted_pendulum",
         "reacher", "swimmer", "walker2d")

# (row label, objective, traced field swept, values); the paper's settings.
SETTINGS: tuple[tuple[str, str, str, tuple[float, ...]], ...] = (
    ("no clipping or penalty", "none", "clip_eps", (0.2,)),
    ("clipping", "clip", "clip_eps", (0.1, 0.2, 0.3)),
    ("adaptive KL", "kl_penalty", "kl_target", (0.003, 0.01, 0.03)),
    ("fixed KL", "kl_fixed", "kl_beta_init", (0.3, 1.0, 3.0, 10.0)),
)

# The paper's Table 1 (averaged normalized scores over its 7 tasks), per setting.
PAPER = {
    "no clipping or penalty": {"-": -0.39},
    "clipping": {"0.1": 0.76, "0.2": 0.82, "0.3": 0.70},
    "adaptive KL": {"0.003": 0.68, "0.01": 0.74, "0.03": 0.71},
    "fixed KL": {"0.3": 0.62, "1": 0.71, "3": 0.72, "10": 0.69},
}


def paper_config(task: str, steps: int) -> PPOConfig:
    """The paper's MuJoCo hyperparameters for ``brax/<task>``."""
    return PPOConfig(
        env_name=f"brax/{task}", total_timesteps=steps, num_envs=8, num_steps=256,
        update_epochs=10, num_minibatches=32, learning_rate=3e-4, anneal_lr=False,
        gamma=0.99, gae_lambda=0.95, ent_coef=0.0, vf_coef=0.5, clip_vloss=False,
        activation="tanh", hidden_sizes=(64, 64), normalize_obs=True,
        normalize_reward=False,
    )


def last_episodes_score(returns: np.ndarray, counts: np.ndarray, episodes: int = 100) -> float:
    """Mean return of (about) the last ``episodes`` completed episodes of one run.

    ``returns[u]`` is the mean return of the ``counts[u]`` episodes completed in update
    ``u``; whole updates are pooled from the end until at least ``episodes`` are in.
    """
    total, seen = 0.0, 0
    for r, c in zip(returns[::-1], counts[::-1]):
        if c > 0:
            total += float(r) * int(c)
            seen += int(c)
        if seen >= episodes:
            break
    return total / seen if seen else float("nan")


def random_policy_score(task: str, episodes: int = 100, seed: int = 0,
                        max_steps: int = 1000) -> float:
    """Mean undiscounted return of ``episodes`` episodes with uniform random actions."""
    env = make_env(f"brax/{task}")
    spec = env.action_spec

    def run(key):
        k_reset, k_loop = jax.random.split(key)
        obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, episodes))

        def body(carry, key):
            state, ret, alive = carry
            k_act, k_step = jax.random.split(key)
            action = jax.random.uniform(k_act, (episodes,) + spec.shape, minval=-1.0,
                                        maxval=1.0)
            res = jax.vmap(env.step)(jax.random.split(k_step, episodes), state, action)
            ret = ret + jnp.where(alive, res.reward, 0.0)
            alive = alive & ~(res.terminated | res.truncated)
            return (res.state, ret, alive), None

        keys = jax.random.split(k_loop, max_steps)
        (_, ret, _), _ = jax.lax.scan(
            body, (state, jnp.zeros(episodes), jnp.ones(episodes, bool)), keys)
        return ret.mean()

    return float(jax.jit(run)(jax.random.PRNGKey(seed)))


def run_task(task: str, steps: int, seeds: int, seed: int) -> dict[str, Any]:
    """Every setting of every objective on one task; raw scores per setting and seed."""
    base = paper_config(task, steps)
    rows = []
    for label, objective, field, values in SETTINGS:
        config = base.replace(objective=objective)
        t0 = time.perf_counter()
        res = sweep(config, seeds, {field: list(values)}, jax.random.PRNGKey(seed))
        elapsed = time.perf_counter() - t0
        for i, value in enumerate(values):
            scores = [last_episodes_score(res.metrics["episode_return"][i, s],
                                          res.metrics["episodes_completed"][i, s])
                      for s in range(seeds)]
            rows.append({"label": label, "objective": objective, "field": field,
                         "value": value, "scores": scores,
                         "first_nonfinite": res.first_nonfinite()[i].tolist()})
        print(f"  {task} {label}: {elapsed:.0f} s incl. compile "
              f"({len(values)} settings x {seeds} seeds in one call)", flush=True)
    random_score = random_policy_score(task, seed=seed)
    means = [float(np.nanmean(r["scores"])) for r in rows]
    best = max(means)
    for r, m in zip(rows, means):
        r["mean_score"] = m
        r["normalized"] = (m - random_score) / (best - random_score)
    return {"task": task, "steps_per_run": base.steps_trained, "random_score": random_score,
            "best_mean_score": best, "rows": rows, "config": base.to_dict()}


def _key(value: float, label: str) -> str:
    return "-" if label == "no clipping or penalty" else f"{value:g}"


def table(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per setting: the normalized score averaged over the tasks, next to the paper's."""
    out = []
    for i, row in enumerate(tasks[0]["rows"]):
        per_task = {t["task"]: t["rows"][i]["normalized"] for t in tasks}
        key = _key(row["value"], row["label"])
        out.append({"label": row["label"], "setting": key,
                    "normalized_mean": float(np.mean(list(per_task.values()))),
                    "per_task": per_task, "paper": PAPER[row["label"]][key]})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/ppo_table1.json")
    args = parser.parse_args(argv)
    if args.steps <= 0 or args.seeds <= 0:
        parser.error("--steps and --seeds must be positive")
    start = time.perf_counter()
    tasks = []
    for task in args.tasks:
        t0 = time.perf_counter()
        tasks.append(run_task(task, args.steps, args.seeds, args.seed))
        tasks[-1]["seconds"] = time.perf_counter() - t0
        print(f"{task}: {tasks[-1]['seconds']:.0f} s", flush=True)
    rows = table(tasks)
    print(f"{'objective':<24} {'setting':>8} {'here':>7} {'paper':>7}")
    for r in rows:
        print(f"{r['label']:<24} {r['setting']:>8} {r['normalized_mean']:>7.2f} {r['paper']:>7.2f}")
    record = {"tasks": tasks, "table": rows, "seconds": time.perf_counter() - start,
              "command": " ".join(["python", "benchmarks/ppo_table1.py",
                                   *(sys.argv[1:] if argv is None else argv)]),
              "machine": machine_info(),
              "note": "brax's tasks, not the paper's MuJoCo-py ones: compare normalized "
                      "scores only"}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
