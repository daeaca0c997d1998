"""Evaluate a trained policy on fresh episodes, fully jitted and vmappable.

:func:`make_evaluate` builds a pure ``eval_fn(params, obs_rms, rng) -> EvalResult`` that
runs ``num_episodes`` environments in parallel until each has finished its FIRST
episode (terminated or truncated), acting deterministically (``deterministic=True``)
or with a sample. Observation normalization uses the frozen statistics of the train
state; nothing is updated. The deterministic action is the distribution's ``mode()``:
the arg-max for discrete actions; for continuous actions the Gaussian mean (the env
adapter clips it to the bounds) or, for the ``"tanh_gaussian"`` head, the squashed
mean ``c + r tanh(mean)``, already inside the bounds. :func:`describe_policy` says
which, in words, for reports (the CLI prints it). A policy with memory starts every
episode from the initial carry and carries it through the episode. Only the actor
runs, on the part of the observation it reads (``policy_obs_key`` of a dict
observation, with its own statistics): a privileged observation the critic was
trained on is never needed. A config with domain randomization is evaluated, by
default, as it trained (each episode draws its parameters); ``sim_params="nominal"``
runs the nominal parameters instead, and a parameter pytree (gymnax ``EnvParams``,
a brax ``System``) runs those. :func:`evaluate` is
the convenient
front end that takes a :class:`TrainOutput` / :class:`TrainState` (one run or a batch of
seeds) and caches the compiled program per config.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purejaxppo.config import PPOConfig
from purejaxppo.envs.base import batch_step
from purejaxppo.envs.randomize import FixedParamsEnv, nominal_env
from purejaxppo.normalize import RunningMeanStd
from purejaxppo.train import TrainOutput, TrainState, _normalize_obs, make_trainer


class EvalResult(NamedTuple):
    """Per-episode evaluation results (an extra leading axis per vmapped run).

    Attributes:
      returns: ``[num_episodes]`` undiscounted episode returns.
      lengths: ``[num_episodes]`` episode lengths.
      finished: ``[num_episodes]`` whether the episode ended within ``max_steps``.
    """

    returns: jax.Array
    lengths: jax.Array
    finished: jax.Array


def describe_policy(
    config: PPOConfig, deterministic: bool = True, discrete: bool | None = None
) -> str:
    """How evaluation acts under ``config``, in one line (for logs and summaries).

    Args:
      config: the run's config.
      deterministic: evaluation with the deterministic action (else sampled).
      discrete: whether the action space is discrete; ``None`` looks it up from the
        environment (builds it).
    """
    if discrete is None:
        discrete = make_trainer(config).env.action_spec.discrete
    norm = (
        "observations normalized with the frozen training statistics"
        if config.normalize_obs
        else "raw observations"
    )
    if discrete:
        how = "arg-max action" if deterministic else "sampled action"
    elif config.policy_head == "tanh_gaussian":
        how = (
            "squashed mean action low + (high - low) (tanh(mean) + 1) / 2"
            if deterministic
            else "sampled squashed-Gaussian action"
        )
    else:
        head = "state-dependent-std" if config.policy_head == "gaussian_state_std" else ""
        how = (
            f"mean action of the {head + ' ' if head else ''}Gaussian, clipped to the bounds"
            if deterministic
            else "sampled Gaussian action, clipped to the bounds"
        )
    return f"{how}; {norm}"


def _check(num_episodes: Any, deterministic: Any, max_steps: Any) -> None:
    if isinstance(num_episodes, bool) or not isinstance(num_episodes, int) or num_episodes <= 0:
        raise ValueError(f"num_episodes must be a positive integer, got {num_episodes!r}")
    if not isinstance(deterministic, bool):
        raise ValueError(f"deterministic must be True or False, got {deterministic!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")


def _eval_env(env: Any, sim_params: Any) -> Any:
    """The adapter evaluation runs: ``env`` itself (``None``), its nominal parameters
    (``"nominal"``) or the given parameters."""
    if sim_params is None:
        return env
    if isinstance(sim_params, str):
        if sim_params != "nominal":
            raise ValueError(
                f"sim_params must be None (as trained), 'nominal' or a parameter pytree, "
                f"got {sim_params!r}"
            )
        return nominal_env(env)
    return FixedParamsEnv(env, sim_params)


def _actor_obs(config: PPOConfig, nets: Any, obs_rms: Any, obs: Any) -> Any:
    """The actor's part of a raw observation, normalized with its own statistics."""
    keys = nets.obs_keys
    if keys.policy is None:
        return _normalize_obs(config, obs_rms, obs)
    actor = keys.select(obs, (keys.policy,))
    if obs_rms is not None and not isinstance(obs_rms, RunningMeanStd):
        obs_rms = {keys.policy: obs_rms[keys.policy]}
    return _normalize_obs(config, obs_rms, actor)


def make_evaluate(
    config: PPOConfig,
    num_episodes: int,
    deterministic: bool = True,
    max_steps: int = 100_000,
    env: Any = None,
    env_params: Any = None,
    sim_params: Any = None,
) -> Callable[..., EvalResult]:
    """Builds the pure evaluation function.

    Args:
      config: the config the policy was trained with.
      num_episodes: episodes to run (in parallel, one per environment).
      deterministic: act with the distribution's mode instead of sampling.
      max_steps: safety bound on steps per episode (episodes still running are
        reported with ``finished=False``).
      env: a custom environment (see :func:`purejaxppo.make_train`).
      env_params: the gymnax params of ``env``.
      sim_params: the environment's parameters: ``None`` (as in training: drawn per
        episode when the config randomizes), ``"nominal"`` (the nominal ones) or a
        parameter pytree (gymnax ``EnvParams``, brax ``System``) for every episode.

    Returns:
      ``eval_fn(params, obs_rms, rng, sim_params=None) -> EvalResult``; jit- and
      vmap-compatible. Its own ``sim_params`` (a parameter pytree, may be traced,
      e.g. vmapped over a grid) overrides the one given here.

    Raises:
      ValueError: bad arguments, or ``sim_params`` for an environment whose adapter
        does not take parameters.
    """
    _check(num_episodes, deterministic, max_steps)
    trainer = make_trainer(config, env, env_params)
    nets = trainer.networks
    default_env = _eval_env(trainer.env, sim_params)

    def eval_fn(params: Any, obs_rms: Any, rng: jax.Array, sim_params: Any = None) -> EvalResult:
        adapter = default_env if sim_params is None else FixedParamsEnv(trainer.env, sim_params)
        rng, k_reset = jax.random.split(rng)
        obs, env_state = jax.vmap(adapter.reset)(jax.random.split(k_reset, num_episodes))
        zeros = jnp.zeros((num_episodes,), jnp.float32)
        # Memory: the core's carry and the episode-start flags (every env starts one).
        memory = (nets.initial_carry(num_episodes), jnp.ones((num_episodes,), bool))
        carry = (
            env_state,
            obs,
            zeros,
            jnp.zeros((num_episodes,), jnp.int32),
            jnp.zeros((num_episodes,), bool),
            jnp.int32(0),
            rng,
            memory if nets.has_memory else None,
        )

        def cond(c):
            return jnp.logical_and(~jnp.all(c[4]), c[5] < max_steps)

        def body(c):
            env_state, obs, ret, length, done, step, rng, memory = c
            rng, k_act, k_step = jax.random.split(rng, 3)
            norm_obs = _actor_obs(config, nets, obs_rms, obs)
            if memory is None:
                dist = nets.policy(params, norm_obs)
            else:
                dist, core_carry = nets.act(params, memory[0], norm_obs, memory[1])
            action = dist.mode() if deterministic else dist.sample(k_act)
            res = batch_step(adapter)(jax.random.split(k_step, num_episodes), env_state, action)
            active = ~done
            ret = ret + jnp.where(active, res.reward.astype(jnp.float32), 0.0)
            length = length + active.astype(jnp.int32)
            ended = res.terminated | res.truncated
            if memory is not None:
                memory = (core_carry, ended)
            done = done | ended
            return res.state, res.obs, ret, length, done, step + 1, rng, memory

        _, _, ret, length, done, _, _, _ = jax.lax.while_loop(cond, body, carry)
        return EvalResult(ret, length, done)

    return eval_fn


@functools.lru_cache(maxsize=16)
def _compiled(
    config: PPOConfig,
    num_episodes: int,
    deterministic: bool,
    max_steps: int,
    batched: bool,
    sim_params: str | None = None,
) -> Callable:
    fn = make_evaluate(config, num_episodes, deterministic, max_steps, sim_params=sim_params)
    return jax.jit(jax.vmap(fn) if batched else fn)


def evaluate(
    config: PPOConfig,
    train_output: TrainOutput | TrainState,
    rng: jax.Array,
    num_episodes: int,
    deterministic: bool = True,
    *,
    max_steps: int = 100_000,
    env: Any = None,
    env_params: Any = None,
    sim_params: Any = None,
) -> EvalResult:
    """Runs ``num_episodes`` fresh episodes with the trained policy.

    Args:
      config: the config of the run.
      train_output: a :class:`TrainOutput` or :class:`TrainState`, of one run or of a
        batch of runs with one leading seed axis (then every run is evaluated, each
        with its own key from ``jax.random.split(rng, num_seeds)``).
      rng: PRNG key.
      num_episodes: episodes per run.
      deterministic: act with the mode of the policy distribution.
      max_steps: safety bound on episode length.
      env: a custom environment (see :func:`purejaxppo.make_train`).
      env_params: the gymnax params of ``env``.
      sim_params: ``None`` (the environment as trained), ``"nominal"`` or a
        parameter pytree (see :func:`make_evaluate`).

    Returns:
      :class:`EvalResult` with arrays ``[num_episodes]`` or ``[num_seeds, num_episodes]``.

    Raises:
      ValueError: on bad arguments or parameters that do not fit ``config``.
    """
    if not isinstance(config, PPOConfig):
        raise ValueError(f"config must be a PPOConfig, got {type(config).__name__}")
    state = train_output.state if isinstance(train_output, TrainOutput) else train_output
    if not isinstance(state, TrainState):
        raise ValueError(
            f"train_output must be a TrainOutput or TrainState, got {type(train_output).__name__}"
        )
    _check(num_episodes, deterministic, max_steps)
    trainer = make_trainer(config, env, env_params)
    single = jax.eval_shape(trainer.networks.init, jax.random.PRNGKey(0))
    want = [tuple(x.shape) for x in jax.tree.leaves(single)]
    have = [tuple(np.shape(x)) for x in jax.tree.leaves(state.params)]
    if have == want:
        batched = False
    elif (
        len(have) == len(want)
        and all(h[1:] == w for h, w in zip(have, want, strict=True))
        and len({h[0] for h in have}) == 1
    ):
        batched = True
    else:
        raise ValueError(
            f"the parameters do not fit the config's networks: expected leaf shapes {want} "
            f"(optionally with one leading seed axis), got {have}"
        )
    if env is None and env_params is None and (sim_params is None or isinstance(sim_params, str)):
        fn = _compiled(config, num_episodes, deterministic, max_steps, batched, sim_params)
    else:
        fn = make_evaluate(
            config, num_episodes, deterministic, max_steps, env, env_params, sim_params
        )
        fn = jax.jit(jax.vmap(fn) if batched else fn)
    if batched:
        rng = jax.random.split(rng, have[0][0])
    return fn(state.params, state.obs_rms, rng)
