"""Writes the example notebooks of this folder, without outputs.

The notebooks are generated from the cell sources below so that the versions kept in
git never carry outputs or execution counts. After editing a cell here, run

    python notebooks/make_notebooks.py

Every notebook reads ``PUREJAXPPO_NOTEBOOK_BUDGET``: ``small`` (set by
``notebooks/conftest.py`` when pytest executes them through nbmake) trains for a few
seconds; anything else (the default, ``full``) uses budgets that learn properly.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

BUDGET_CELL = '''import os

BUDGET = os.environ.get("PUREJAXPPO_NOTEBOOK_BUDGET", "full")
SMALL = BUDGET == "small"  # pytest/nbmake sets "small": a few seconds of training
print("budget:", BUDGET)'''

EVALUATE_CELL = '''import jax.numpy as jnp


def evaluate(trainer, train_state, key, num_episodes=16, max_steps=500):
    """Mean undiscounted return of the deterministic policy (the distribution's mode).

    Runs ``num_episodes`` environments for ``max_steps`` steps and counts each one's
    reward up to the end of its FIRST episode. Observations are normalized with the
    statistics frozen in ``train_state`` (a no-op when normalization is off).
    """
    env, nets, spec = trainer.env, trainer.networks, trainer.env.action_spec
    k_reset, k_run = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(k_reset, num_episodes))

    def body(carry, step_key):
        env_state, obs, ret, alive = carry
        action = nets.policy(train_state.params, trainer.normalize_obs(train_state, obs)).mode()
        if not spec.discrete:
            action = jnp.clip(action, jnp.asarray(spec.low), jnp.asarray(spec.high))
        res = jax.vmap(env.step)(jax.random.split(step_key, num_episodes), env_state, action)
        ret = ret + alive * res.reward
        done = jnp.logical_or(res.terminated, res.truncated)
        alive = alive * (1.0 - done.astype(jnp.float32))
        return (res.state, res.obs, ret, alive), None

    init = (env_state, obs, jnp.zeros(num_episodes), jnp.ones(num_episodes))
    (_, _, ret, _), _ = jax.lax.scan(body, init, jax.random.split(k_run, max_steps))
    return ret.mean()'''


def walkthrough() -> nbformat.NotebookNode:
    """(a) config, make_train, jit, vmap over seeds, curves, evaluation."""
    return new_notebook(cells=[
        new_markdown_cell(
            "# purejaxppo walkthrough\n\n"
            "PPO on CartPole-v1: a `PPOConfig`, one pure `train(rng)` function, `jax.jit`, "
            "`jax.vmap` over seeds, learning curves, and an evaluation of the trained "
            "deterministic policy.\n\n"
            "Set `PUREJAXPPO_NOTEBOOK_BUDGET=small` for a seconds-long smoke run."
        ),
        new_code_cell(BUDGET_CELL),
        new_code_cell(
            "import time\n\nimport jax\nimport matplotlib.pyplot as plt\nimport numpy as np\n\n"
            "from purejaxppo import PPOConfig, TRACED_FIELDS, make_train, make_trainer"
        ),
        new_markdown_cell(
            "## 1. Configuration\n\n"
            "`PPOConfig` is frozen and validated at construction. Static fields (shapes, "
            "flags) fix the compiled program; the traced fields below enter it as values."
        ),
        new_code_cell(
            "config = PPOConfig(env_name=\"CartPole-v1\", "
            "total_timesteps=20_000 if SMALL else 500_000)\n"
            "print(f\"batch {config.batch_size} = {config.num_envs} envs x {config.num_steps} steps, \"\n"
            "      f\"{config.num_updates} updates, {config.steps_trained:,} env steps\")\n"
            "print(\"traced:\", TRACED_FIELDS)"
        ),
        new_markdown_cell(
            "## 2. One seed: `make_train` + `jax.jit`\n\n"
            "The whole training loop (rollouts, GAE, K epochs of minibatch updates) is one "
            "function; compiling it is separate from running it."
        ),
        new_code_cell(
            "train = make_train(config)\n"
            "key = jax.random.PRNGKey(0)\n"
            "t0 = time.perf_counter()\n"
            "compiled = jax.jit(train).lower(key).compile()\n"
            "print(f\"compile {time.perf_counter() - t0:.1f} s\")\n"
            "t0 = time.perf_counter()\n"
            "out = jax.block_until_ready(compiled(key))\n"
            "elapsed = time.perf_counter() - t0\n"
            "print(f\"train {elapsed:.2f} s = {config.steps_trained / elapsed:,.0f} steps/s\")\n"
            "print(\"metrics:\", sorted(out.metrics))\n"
            "print(\"final return:\", float(out.metrics[\"episode_return\"][-1]))"
        ),
        new_markdown_cell(
            "## 3. Many seeds: `jax.vmap`\n\n"
            "Vmapping over keys trains every seed in ONE program; metrics gain a leading "
            "seed axis."
        ),
        new_code_cell(
            "num_seeds = 2 if SMALL else 8\n"
            "keys = jax.random.split(jax.random.PRNGKey(42), num_seeds)\n"
            "outs = jax.block_until_ready(jax.jit(jax.vmap(train))(keys))\n"
            "returns = np.asarray(outs.metrics[\"episode_return\"])   # [seeds, updates]\n"
            "steps = outs.env_steps(config)[0]   # exact env steps after each update (int64)\n"
            "print(returns.shape, \"final returns:\", returns[:, -1].round(1))"
        ),
        new_code_cell(
            "fig, ax = plt.subplots(figsize=(6, 3.5))\n"
            "ax.plot(steps, returns.T, color=\"tab:blue\", alpha=0.3)\n"
            "ax.plot(steps, np.nanmean(returns, axis=0), color=\"tab:blue\", lw=2, "
            "label=f\"mean of {num_seeds} seeds\")\n"
            "ax.set(xlabel=\"env steps\", ylabel=\"episode return\", title=config.env_name)\n"
            "ax.legend(); ax.grid(alpha=0.3)\nplt.show()"
        ),
        new_markdown_cell(
            "## 4. Evaluate the trained policy\n\n"
            "`make_trainer(config)` exposes the pieces behind `train`: the env adapter, the "
            "networks and the observation normalizer. We roll out the distribution's mode."
        ),
        new_code_cell(EVALUATE_CELL),
        new_code_cell(
            "trainer = make_trainer(config)\n"
            "seed0 = jax.tree.map(lambda x: x[0], outs.state)   # the train state of seed 0\n"
            "score = jax.jit(lambda k: evaluate(trainer, seed0, k))(jax.random.PRNGKey(7))\n"
            "print(f\"deterministic policy, seed 0: mean return {float(score):.1f}\")"
        ),
    ])


def sweeps() -> nbformat.NotebookNode:
    """(b) learning rate x entropy grid, vmapped over HParams, IQM + bootstrap CI."""
    return new_notebook(cells=[
        new_markdown_cell(
            "# Hyperparameter sweeps in one compiled program\n\n"
            "Traced hyperparameters (`config.hparams()`, an `HParams` pytree) are inputs of "
            "`train(rng, hparams)`, so `jax.vmap(train)(keys, hparams_batch)` trains a whole "
            "learning-rate x entropy grid, several seeds per cell, with ONE compile. Each "
            "cell is summarised by the interquartile mean (IQM) of the seeds' final returns "
            "with a 95% percentile-bootstrap confidence interval."
        ),
        new_code_cell(BUDGET_CELL),
        new_code_cell(
            "import itertools\nimport time\n\nimport jax\nimport jax.numpy as jnp\n"
            "import matplotlib.pyplot as plt\nimport numpy as np\n\n"
            "from purejaxppo import PPOConfig, make_train"
        ),
        new_code_cell(
            "config = PPOConfig(env_name=\"CartPole-v1\", "
            "total_timesteps=10_240 if SMALL else 250_000)\n"
            "learning_rates = [2.5e-4, 1e-3] if SMALL else [1e-4, 2.5e-4, 1e-3]\n"
            "ent_coefs = [0.0, 0.01] if SMALL else [0.0, 0.01, 0.05]\n"
            "seeds = 2 if SMALL else 8\n"
            "grid = list(itertools.product(learning_rates, ent_coefs))\n"
            "n_runs = len(grid) * seeds\n"
            "print(f\"{len(grid)} cells x {seeds} seeds = {n_runs} runs of {config.steps_trained:,} steps\")"
        ),
        new_markdown_cell(
            "Build the batch: every traced field broadcast to `n_runs`, then the two swept "
            "fields replaced. Run `i` is cell `i // seeds`."
        ),
        new_code_cell(
            "base = config.hparams()\n"
            "hp_batch = jax.tree.map(lambda x: jnp.full((n_runs,), x), base)\n"
            "lr = jnp.asarray([g[0] for g in grid for _ in range(seeds)], jnp.float32)\n"
            "ent = jnp.asarray([g[1] for g in grid for _ in range(seeds)], jnp.float32)\n"
            "hp_batch = hp_batch.replace(learning_rate=lr, ent_coef=ent)\n"
            "keys = jax.random.split(jax.random.PRNGKey(0), n_runs)\n\n"
            "t0 = time.perf_counter()\n"
            "out = jax.block_until_ready(jax.jit(jax.vmap(make_train(config)))(keys, hp_batch))\n"
            "print(f\"{n_runs} runs in {time.perf_counter() - t0:.1f} s (compile included)\")\n"
            "final = np.asarray(out.metrics[\"episode_return\"])[:, -1].reshape(len(grid), seeds)"
        ),
        new_code_cell(
            "def iqm(x):\n"
            "    \"\"\"Mean of the middle 50% of the finite values.\"\"\"\n"
            "    x = np.sort(x[np.isfinite(x)])\n"
            "    k = len(x) // 4\n"
            "    return x[k:len(x) - k].mean() if len(x) else np.nan\n\n\n"
            "def bootstrap_ci(x, n=2000, seed=0):\n"
            "    \"\"\"95% percentile-bootstrap CI of the IQM over seeds.\"\"\"\n"
            "    rng = np.random.default_rng(seed)\n"
            "    stats = [iqm(x[rng.integers(0, len(x), len(x))]) for _ in range(n)]\n"
            "    return np.nanpercentile(stats, [2.5, 97.5])\n\n\n"
            "summary = [(lr_, ent_, iqm(f), *bootstrap_ci(f)) for (lr_, ent_), f in zip(grid, final)]\n"
            "for lr_, ent_, m, lo, hi in summary:\n"
            "    print(f\"lr {lr_:8.2e}  ent {ent_:5.2f}:  IQM {m:7.1f}  [{lo:7.1f}, {hi:7.1f}]\")"
        ),
        new_code_cell(
            "fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))\n"
            "heat = np.array([s[2] for s in summary]).reshape(len(learning_rates), len(ent_coefs))\n"
            "im = ax0.imshow(heat, cmap=\"viridis\", origin=\"lower\")\n"
            "ax0.set(xticks=range(len(ent_coefs)), xticklabels=ent_coefs, xlabel=\"ent_coef\",\n"
            "        yticks=range(len(learning_rates)), yticklabels=learning_rates, "
            "ylabel=\"learning_rate\", title=\"final-return IQM\")\n"
            "fig.colorbar(im, ax=ax0)\n"
            "labels = [f\"lr={s[0]:.0e}\\nent={s[1]}\" for s in summary]\n"
            "mid = np.array([s[2] for s in summary])\n"
            "err = np.abs(np.array([[s[3] for s in summary], [s[4] for s in summary]]) - mid)\n"
            "ax1.errorbar(range(len(summary)), mid, yerr=err, fmt=\"o\", capsize=4)\n"
            "ax1.set_xticks(range(len(summary)), labels, fontsize=7)\n"
            "ax1.set(ylabel=\"IQM final return (95% CI)\", title=f\"{seeds} seeds per cell\")\n"
            "ax1.grid(alpha=0.3)\nfig.tight_layout()\nplt.show()"
        ),
    ])


def continuous() -> nbformat.NotebookNode:
    """(c) Pendulum with observation/reward normalization; brax if installed."""
    return new_notebook(cells=[
        new_markdown_cell(
            "# Continuous control\n\n"
            "Pendulum-v1 with running observation normalization and reward scaling "
            "(statistics live in the train state, clipped to +/-10), a diagonal Gaussian "
            "policy, and, when the `brax` extra is installed, a brax task."
        ),
        new_code_cell(BUDGET_CELL),
        new_code_cell(
            "import time\n\nimport jax\nimport matplotlib.pyplot as plt\nimport numpy as np\n\n"
            "from purejaxppo import PPOConfig, make_train, make_trainer"
        ),
        new_code_cell(
            "config = PPOConfig(\n"
            "    env_name=\"Pendulum-v1\", total_timesteps=16_384 if SMALL else 1_000_000,\n"
            "    num_envs=16, num_steps=128, update_epochs=10, num_minibatches=8,\n"
            "    learning_rate=1e-3, gamma=0.95, ent_coef=0.0,\n"
            "    normalize_obs=True, normalize_reward=True,\n"
            ")\n"
            "seeds = 2 if SMALL else 4\n"
            "t0 = time.perf_counter()\n"
            "outs = jax.block_until_ready(\n"
            "    jax.jit(jax.vmap(make_train(config)))(jax.random.split(jax.random.PRNGKey(0), seeds)))\n"
            "print(f\"{seeds} seeds x {config.steps_trained:,} steps in {time.perf_counter() - t0:.1f} s \"\n"
            "      \"(compile included)\")\n"
            "returns = np.asarray(outs.metrics[\"episode_return\"])\n"
            "print(\"final returns:\", returns[:, -1].round(1))"
        ),
        new_markdown_cell(
            "The running statistics are part of the returned state (per seed), e.g. the "
            "observation mean of seed 0:"
        ),
        new_code_cell(
            "print(\"obs mean:\", np.asarray(outs.state.obs_rms.mean[0]).round(3))\n"
            "fig, ax = plt.subplots(figsize=(6, 3.5))\n"
            "ax.plot(outs.env_steps(config)[0], returns.T, alpha=0.6)\n"
            "ax.set(xlabel=\"env steps\", ylabel=\"episode return\", title=config.env_name)\n"
            "ax.grid(alpha=0.3)\nplt.show()"
        ),
        new_code_cell(EVALUATE_CELL),
        new_code_cell(
            "trainer = make_trainer(config)\n"
            "seed0 = jax.tree.map(lambda x: x[0], outs.state)\n"
            "score = jax.jit(lambda k: evaluate(trainer, seed0, k, max_steps=200))(jax.random.PRNGKey(1))\n"
            "print(f\"deterministic policy (normalized obs), seed 0: mean return {float(score):.1f}\")"
        ),
        new_markdown_cell(
            "## brax\n\n"
            "Runs when the `brax` extra is installed (`pip install -e '.[brax]'`); set "
            "`PUREJAXPPO_NOTEBOOK_BRAX=0` to skip it (building and compiling a brax "
            "environment takes ~30 s on a 2-core CPU)."
        ),
        new_code_cell(
            "try:\n"
            "    import brax  # noqa: F401\n"
            "    HAVE_BRAX = True\n"
            "except ImportError:\n"
            "    HAVE_BRAX = False\n"
            "RUN_BRAX = HAVE_BRAX and os.environ.get(\"PUREJAXPPO_NOTEBOOK_BRAX\", \"1\") != \"0\"\n"
            "if RUN_BRAX:\n"
            "    bconfig = PPOConfig(\n"
            "        env_name=\"brax/inverted_pendulum\", total_timesteps=8_192 if SMALL else 500_000,\n"
            "        num_envs=32, num_steps=64, update_epochs=4, num_minibatches=8,\n"
            "        learning_rate=3e-4, ent_coef=0.0, normalize_obs=True, normalize_reward=True,\n"
            "    )\n"
            "    t0 = time.perf_counter()\n"
            "    bout = jax.block_until_ready(jax.jit(make_train(bconfig))(jax.random.PRNGKey(0)))\n"
            "    print(f\"{bconfig.env_name}: {bconfig.steps_trained:,} steps in \"\n"
            "          f\"{time.perf_counter() - t0:.1f} s (compile included), final return \"\n"
            "          f\"{float(bout.metrics['episode_return'][-1]):.1f}\")\n"
            "else:\n"
            "    print(\"brax section skipped\", \"(not installed)\" if not HAVE_BRAX else \"(PUREJAXPPO_NOTEBOOK_BRAX=0)\")"
        ),
    ])


def memory() -> nbformat.NotebookNode:
    """(d) policies with memory on a partially observed CartPole and a recall task."""
    return new_notebook(cells=[
        new_markdown_cell(
            "# Policies with memory\n\n"
            "`MaskedCartPole-v1` is CartPole-v1 observed through the cart position and the "
            "pole angle only: the velocities must be remembered. The same `make_train` "
            "trains a feed-forward policy (`memory=None`) and a GRU policy "
            "(`memory=\"gru\"`), both vmapped over seeds; then the recall task "
            "`RepeatPrevious-v0` and an evaluation that carries the memory through each "
            "episode.\n\n"
            "Set `PUREJAXPPO_NOTEBOOK_BUDGET=small` for a seconds-long smoke run."
        ),
        new_code_cell(BUDGET_CELL),
        new_code_cell(
            "import time\n\nimport jax\nimport matplotlib.pyplot as plt\nimport numpy as np\n\n"
            "from purejaxppo import PPOConfig, evaluate, make_train"
        ),
        new_markdown_cell(
            "## 1. Feed-forward vs GRU on MaskedCartPole\n\n"
            "The preset trains a 64-unit GRU for 500k steps; the feed-forward policy gets "
            "the same budget."
        ),
        new_code_cell(
            "seeds = 2 if SMALL else 4\n"
            "keys = jax.random.split(jax.random.PRNGKey(0), seeds)\n"
            "curves, configs, outs = {}, {}, {}\n"
            "for memory in (None, \"gru\"):\n"
            "    config = PPOConfig.preset(\"MaskedCartPole-v1\", memory=memory)\n"
            "    if SMALL:\n"
            "        config = config.replace(total_timesteps=2 * config.batch_size)\n"
            "    start = time.perf_counter()\n"
            "    out = jax.block_until_ready(jax.jit(jax.vmap(make_train(config)))(keys))\n"
            "    name = memory or \"feed-forward\"\n"
            "    configs[name], outs[name] = config, out\n"
            "    curves[name] = np.asarray(out.metrics[\"episode_return\"])\n"
            "    print(f\"{name:>12}: final return per seed {np.round(curves[name][:, -1], 1)} \"\n"
            "          f\"({time.perf_counter() - start:.0f} s incl. compile)\")"
        ),
        new_code_cell(
            "fig, ax = plt.subplots(figsize=(6, 3.5))\n"
            "for name, ret in curves.items():\n"
            "    steps_axis = outs[name].env_steps(configs[name])[0]\n"
            "    ax.plot(steps_axis, np.nanmean(ret, axis=0), label=name)\n"
            "ax.set_xlabel(\"env steps\")\nax.set_ylabel(\"episode return\")\n"
            "ax.set_title(\"MaskedCartPole-v1 (position and angle only)\")\nax.legend()\n"
            "plt.show()"
        ),
        new_markdown_cell(
            "## 2. Evaluation carries the memory through each episode\n\n"
            "`evaluate` starts every episode from the initial carry and runs the core "
            "step by step with the deterministic policy."
        ),
        new_code_cell(
            "res = evaluate(configs[\"gru\"], outs[\"gru\"], jax.random.PRNGKey(1), 8)\n"
            "print(\"mean evaluation return per seed:\", np.round(np.asarray(res.returns).mean(-1), 1))"
        ),
        new_markdown_cell(
            "## 3. A recall task: name the card shown 4 steps ago\n\n"
            "Chance is -0.5 (4 suits), the best return is 1. The parallel-scan core "
            "`mingru` computes each replayed sequence with `jax.lax.associative_scan`."
        ),
        new_code_cell(
            "for memory in (None, \"mingru\", \"gru\"):\n"
            "    config = PPOConfig.preset(\"RepeatPrevious-v0\", memory=memory)\n"
            "    if SMALL:\n"
            "        config = config.replace(total_timesteps=2 * config.batch_size)\n"
            "    out = jax.jit(jax.vmap(make_train(config)))(keys)\n"
            "    final = np.asarray(out.metrics[\"episode_return\"])[:, -1]\n"
            "    print(f\"{memory or 'feed-forward':>12}: final return {final.mean():.2f} \"\n"
            "          f\"(per seed {np.round(final, 2)})\")"
        ),
        new_markdown_cell(
            "## 4. Sim-to-real: a privileged critic, then domain randomization\n\n"
            "`MaskedCartPole-v1` observes `{\"state\": [x, theta], \"privileged_state\": "
            "<full state>}`. The preset variant `MaskedCartPole-v1:privileged` lets the "
            "critic read the full state during training; the GRU actor still reads "
            "`\"state\"` only, so evaluation needs nothing else. Then CartPole trained "
            "with the pole length and masses drawn at every episode start "
            "(`CartPole-v1:randomized`) against nominal training, both evaluated on a "
            "pole three times the nominal length (see the sim-to-real guide)."
        ),
        new_code_cell(
            "priv = PPOConfig.preset(\"MaskedCartPole-v1:privileged\")\n"
            "if SMALL:\n"
            "    priv = priv.replace(total_timesteps=2 * priv.batch_size)\n"
            "out = jax.jit(jax.vmap(make_train(priv)))(keys)\n"
            "final = np.asarray(out.metrics[\"episode_return\"])[:, -1]\n"
            "print(f\"privileged critic: final return {final.mean():.1f} (symmetric GRU above: \"\n"
            "      f\"{curves['gru'][:, -1].mean():.1f})\")\n"
            "\n"
            "from purejaxppo import make_env\n"
            "p0 = make_env(\"CartPole-v1\").nominal_params\n"
            "long_pole = p0.replace(length=1.5, polemass_length=p0.masspole * 1.5)\n"
            "for name in (\"CartPole-v1\", \"CartPole-v1:randomized\"):\n"
            "    config = PPOConfig.preset(name)\n"
            "    if SMALL:\n"
            "        config = config.replace(total_timesteps=2 * config.batch_size)\n"
            "    out = jax.jit(jax.vmap(make_train(config)))(keys)\n"
            "    res = evaluate(config, out, jax.random.PRNGKey(1), 8, sim_params=long_pole)\n"
            "    print(f\"{name:>24}: return on a 3x longer pole {float(res.returns.mean()):.1f}\")"
        ),
    ])


NOTEBOOKS = {
    "01_walkthrough.ipynb": walkthrough,
    "02_sweeps.ipynb": sweeps,
    "03_continuous_control.ipynb": continuous,
    "04_memory.ipynb": memory,
}


def main() -> None:
    """Writes every notebook next to this script (no outputs)."""
    for name, build in NOTEBOOKS.items():
        nb = build()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
