"""Environment registry: every gymnax env by name, brax envs as ``"brax/<env>"``, and
this package's memory tasks (``MaskedCartPole-v1``, ``RepeatPrevious-v0``, see
:mod:`purejaxppo.envs.memory_tasks`).

``make_env(name, **kwargs)`` returns an adapter implementing
:class:`~purejaxppo.envs.base.EnvAdapter`; ``wrap_gymnax(env, params)`` adapts a
user's own gymnax ``Environment``.
"""

from __future__ import annotations

from typing import Any

from purejaxppo.envs.base import ActionSpec, EnvAdapter, StepResult

__all__ = ["ActionSpec", "EnvAdapter", "StepResult", "env_names", "make_env", "wrap_gymnax"]


def _gymnax_names() -> list[str]:
    import gymnax

    return list(gymnax.registered_envs)


def _brax_names() -> list[str]:
    try:
        from purejaxppo.envs.brax import BRAX_ENV_NAMES
    except ImportError:  # the adapter module itself is always importable
        return []
    return list(BRAX_ENV_NAMES)


def _memory_task_names() -> list[str]:
    from purejaxppo.envs.memory_tasks import MEMORY_TASKS

    return list(MEMORY_TASKS)


def env_names() -> list[str]:
    """All environment names ``make_env`` accepts."""
    return _gymnax_names() + _brax_names() + _memory_task_names()


def wrap_gymnax(env: Any, env_params: Any = None, name: str | None = None) -> EnvAdapter:
    """Adapts a gymnax ``Environment`` (and optional params) for the trainer."""
    from purejaxppo.envs.gymnax import GymnaxAdapter

    return GymnaxAdapter(env, env_params, name)


def make_env(name: str, **kwargs: Any) -> EnvAdapter:
    """Builds the adapter for a registered name (``kwargs`` go to the env factory)."""
    if name.startswith("brax/"):
        from purejaxppo.envs.brax import make_brax_env

        return make_brax_env(name, **kwargs)
    if name in _memory_task_names():
        from purejaxppo.envs.memory_tasks import make_memory_task

        env, params = make_memory_task(name, **kwargs)
        return wrap_gymnax(env, params, name)
    if name not in _gymnax_names():
        raise ValueError(f"unknown env_name {name!r}; valid names: {env_names()}")
    import gymnax

    if name == "MemoryChain-bsuite":
        # memory_length (and the time limit) are EnvParams fields, not constructor
        # arguments: route them to the params.
        from purejaxppo.envs.memory_tasks import split_params_kwargs

        env, params = gymnax.make(name)
        params, rest = split_params_kwargs(params, kwargs)
        if rest:
            env, _ = gymnax.make(name, **rest)
        return wrap_gymnax(env, params, name)
    env, params = gymnax.make(name, **kwargs)
    return wrap_gymnax(env, params, name)
