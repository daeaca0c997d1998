"""Where does the time of one PPO update go? Measured in ONE process.

Compiles and times, interleaved and repeated (median and min reported):

* ``env_only``: random-action stepping, reduced into the scan carry (the strict
  ceiling also used by ``throughput.py``);
* ``env_only_trajectory``: the same stepping, but every step's reward/observation
  sum is emitted as a scan output over the whole budget (the usual way of writing an
  env-only loop; on XLA:CPU it is several times slower);
* ``rollout``: ``collect_rollout`` alone, once per update;
* ``shuffle``: the ``update_epochs`` random permutations of one update;
* ``epochs``: the K epochs x minibatches of gradient steps on a fixed batch;
* ``train``: the full fused ``train``.

All figures are per update (``num_envs * num_steps`` env steps), so the parts can be
compared with the whole. Writes JSON.

    python benchmarks/profile_update.py --out results/profile_update.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from purejaxppo import PPOConfig, make_train, make_trainer
from purejaxppo.distributions import Categorical, sample_for_rollout
from purejaxppo.rollout import collect_rollout
from purejaxppo.update import Batch, random_permutation, run_epochs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import make_env_only  # noqa: E402


def build(config: PPOConfig) -> dict:
    """The functions to time, each taking a PRNG key."""
    trainer = make_trainer(config)
    env, nets, hp = trainer.env, trainer.networks, config.hparams()
    n, steps, updates = config.num_envs, config.num_steps, config.num_updates
    env_only = make_env_only(config.env_name, n, updates * steps)
    env_only_trajectory = make_env_only(config.env_name, n, updates * steps, emit_per_step=True)

    def rollout_only(key):
        state = trainer.init(key, hp)

        def body(carry, k):
            env_state, obs, ret, length = carry
            env_state, obs, ret, length, traj, _ = collect_rollout(
                env, nets, state.params, env_state, obs, ret, length, k, steps,
                lambda o: o, False,
            )
            return (env_state, obs, ret, length), traj.reward.sum()

        carry = (state.env_state, state.obs, state.ep_return, state.ep_length)
        return jax.lax.scan(body, carry, jax.random.split(key, updates))[1].sum()

    def shuffle_only(key):
        def body(acc, k):
            perms = jax.vmap(lambda kk: random_permutation(kk, config.batch_size))(
                jax.random.split(k, config.update_epochs)
            )
            return acc + perms[:, 0].sum(), None

        return jax.lax.scan(body, 0, jax.random.split(key, updates))[0]

    def epochs_only(key):
        state = trainer.init(key, hp)
        b = config.batch_size
        kb = jax.random.split(key, 3)
        obs = jax.random.normal(kb[0], (b, env.obs_dim))
        dist = nets.policy(state.params, obs)
        shape = dist.logits.shape if isinstance(dist, Categorical) else dist.mean.shape
        action, _, log_prob = sample_for_rollout(dist, dist.noise(kb[1], shape))
        batch = Batch(obs, action, log_prob, jnp.zeros(b),
                      jax.random.normal(kb[2], (b,)), jnp.ones(b), None)

        def body(carry, k):
            params, opt_state = carry
            params, opt_state, info = run_epochs(
                params, opt_state, batch, k, hp.learning_rate, hp, state.kl_beta, config, nets
            )
            return (params, opt_state), info.total_loss

        carry = (state.params, state.opt_state)
        return jax.lax.scan(body, carry, jax.random.split(key, updates))[1].sum()

    train = make_train(config)
    return {
        "env_only": env_only,
        "env_only_trajectory": env_only_trajectory,
        "rollout": rollout_only,
        "shuffle": shuffle_only,
        "epochs": epochs_only,
        "train": lambda k: train(k).metrics["episode_return"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--total-timesteps", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="results/profile_update.json")
    args = parser.parse_args(argv)
    try:
        config = PPOConfig(env_name=args.env, total_timesteps=args.total_timesteps)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    key = jax.random.PRNGKey(0)
    compiled, compile_s = {}, {}
    for name, fn in build(config).items():
        start = time.perf_counter()
        compiled[name] = jax.jit(fn).lower(key).compile()
        compile_s[name] = time.perf_counter() - start
        jax.block_until_ready(compiled[name](key))
    times = {name: [] for name in compiled}
    for _ in range(args.repeats):
        for name, fn in compiled.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(key))
            times[name].append(time.perf_counter() - start)
    updates = config.num_updates
    result = {"config": config.to_dict(), "num_updates": updates, "parts": {}}
    print(f"{config.env_name}, {updates} updates of {config.batch_size} steps; per update:")
    for name, ts in times.items():
        med, best = statistics.median(ts) / updates, min(ts) / updates
        result["parts"][name] = {
            "ms_per_update_median": med * 1e3,
            "ms_per_update_min": best * 1e3,
            "steps_per_s_median": config.batch_size / med,
            "compile_s": compile_s[name],
        }
        print(f"  {name:>20}: {med * 1e3:7.3f} ms (min {best * 1e3:.3f}), "
              f"{config.batch_size / med:>12,.0f} steps/s")
    parts = result["parts"]
    result["train_over_env_only"] = (
        parts["train"]["steps_per_s_median"] / parts["env_only"]["steps_per_s_median"]
    )
    result["train_over_env_only_trajectory"] = (
        parts["train"]["steps_per_s_median"]
        / parts["env_only_trajectory"]["steps_per_s_median"]
    )
    print(f"  train / env_only = {result['train_over_env_only']:.3f}; "
          f"train / env_only_trajectory = {result['train_over_env_only_trajectory']:.3f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
