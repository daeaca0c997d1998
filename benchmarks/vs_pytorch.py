"""purejaxppo vs Stable-Baselines3 (PyTorch, CPU) PPO on CartPole-v1, one process.

Both trainers use the default purejaxppo CartPole hyperparameters: 4 envs x 128
steps, 4 epochs x 4 minibatches (batch 128), Adam lr 2.5e-4 annealed linearly to 0
(eps 1e-5), gamma 0.99, lambda 0.95, clip 0.2, entropy 0.01, value 0.5, global
grad-norm 0.5, separate tanh 64x64 actor and critic, orthogonal init, per-minibatch
advantage normalization. SB3 steps gymnasium's CartPole-v1 in a ``DummyVecEnv``;
purejaxppo steps gymnax's CartPole-v1 inside its compiled program.

The two are timed interleaved in THIS process (A B A B ...), ``--repeats`` times
each, for the same number of env steps; the median steps/s of each and their ratio
are reported. purejaxppo's compile time is measured separately (``lower().compile()``)
and also reported as a first-run figure including compilation.

Needs the ``bench`` extra: ``pip install -e ".[bench]"``.

    python benchmarks/vs_pytorch.py                 # 100k steps per run, 3 repeats
    python benchmarks/vs_pytorch.py --steps 500000 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from _common import machine_info  # noqa: E402
from purejaxppo import PPOConfig, make_train  # noqa: E402


def make_sb3(config: PPOConfig, seed: int):
    """An SB3 PPO model with ``config``'s hyperparameters on gymnasium CartPole-v1."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = make_vec_env("CartPole-v1", n_envs=config.num_envs, seed=seed, vec_env_cls=DummyVecEnv)
    lr = config.learning_rate
    return PPO(
        "MlpPolicy",
        venv,
        learning_rate=(lambda progress_remaining: lr * progress_remaining),
        n_steps=config.num_steps,
        batch_size=config.minibatch_size,
        n_epochs=config.update_epochs,
        gamma=config.gamma,
        gae_lambda=config.gae_lambda,
        clip_range=config.clip_eps,
        clip_range_vf=None,
        normalize_advantage=config.norm_adv,
        ent_coef=config.ent_coef,
        vf_coef=config.vf_coef,
        max_grad_norm=config.max_grad_norm,
        policy_kwargs=dict(
            net_arch=dict(pi=list(config.hidden_sizes), vf=list(config.hidden_sizes)),
            activation_fn=torch.nn.Tanh,
            ortho_init=True,
            optimizer_kwargs=dict(eps=config.adam_eps),
        ),
        device="cpu",
        seed=seed,
        verbose=0,
    )


def time_sb3(config: PPOConfig, seed: int) -> tuple[float, float]:
    """Trains SB3 for ``config.steps_trained`` steps; returns (seconds, mean return)."""
    model = make_sb3(config, seed)
    t0 = time.perf_counter()
    model.learn(total_timesteps=config.steps_trained)
    elapsed = time.perf_counter() - t0
    infos = [ep["r"] for ep in model.ep_info_buffer]
    return elapsed, float(np.mean(infos[-20:])) if infos else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000,
                        help="env steps per training run (both trainers)")
    parser.add_argument("--repeats", type=int, default=3, help="A B pairs")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own choice)")
    parser.add_argument("--out", default="results/vs_pytorch.json")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        print(f"error: --repeats must be >= 1, got {args.repeats}", file=sys.stderr)
        return 2
    try:
        config = PPOConfig(env_name="CartPole-v1", total_timesteps=args.steps)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        import gymnasium
        import stable_baselines3
        import torch
    except ImportError as err:
        print(f"error: {err.name} is missing; install the extra: pip install -e '.[bench]'",
              file=sys.stderr)
        return 2
    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)

    train = jax.jit(make_train(config))
    key = jax.random.PRNGKey(0)
    t0 = time.perf_counter()
    compiled = train.lower(key).compile()
    compile_s = time.perf_counter() - t0

    jax_times, sb3_times, jax_returns, sb3_returns = [], [], [], []
    for rep in range(args.repeats):
        k = jax.random.PRNGKey(rep)
        t0 = time.perf_counter()
        out = jax.block_until_ready(compiled(k))
        jax_times.append(time.perf_counter() - t0)
        jax_returns.append(float(out.metrics["episode_return"][-1]))
        elapsed, ret = time_sb3(config, rep)
        sb3_times.append(elapsed)
        sb3_returns.append(ret)
        print(f"repeat {rep}: purejaxppo {jax_times[-1]:.2f} s, SB3 {elapsed:.2f} s", flush=True)

    steps = config.steps_trained
    jax_sps = steps / statistics.median(jax_times)
    sb3_sps = steps / statistics.median(sb3_times)
    ratios = [s / j for j, s in zip(jax_times, sb3_times)]
    result = {
        "machine": machine_info(),
        "versions": {"torch": torch.__version__, "stable_baselines3": stable_baselines3.__version__,
                     "gymnasium": gymnasium.__version__},
        "torch_threads": torch.get_num_threads(),
        "config": config.to_dict(),
        "steps_per_run": steps,
        "repeats": args.repeats,
        "purejaxppo_times_s": jax_times,
        "sb3_times_s": sb3_times,
        "purejaxppo_compile_s": compile_s,
        "purejaxppo_steps_per_s": jax_sps,
        "purejaxppo_steps_per_s_incl_compile": steps / (compile_s + statistics.median(jax_times)),
        "sb3_steps_per_s": sb3_sps,
        "speedup_median_of_medians": jax_sps / sb3_sps,
        "speedup_median_of_pairs": statistics.median(ratios),
        "purejaxppo_final_returns": jax_returns,
        "sb3_final_returns_last20": sb3_returns,
    }
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))
    print(
        f"CartPole-v1, {steps:,} steps/run, {args.repeats} interleaved pairs: "
        f"purejaxppo {jax_sps:,.0f} steps/s (compile {compile_s:.1f} s), "
        f"SB3 {sb3_sps:,.0f} steps/s -> speedup {result['speedup_median_of_pairs']:.1f}x "
        f"(median of pair ratios) -> {out_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
