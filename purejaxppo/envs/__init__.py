"""Environment registry: every gymnax env by name, brax envs as ``"brax/<env>"``, and
this package's memory tasks (``MaskedCartPole-v1``, ``RepeatPrevious-v0``, see
:mod:`purejaxppo.envs.memory_tasks`), and
the optional JAX suites as ``"jumanji/<Env>"``, ``"craftax/<Env>"``,
``"xminigrid/<Env>"`` and ``"playground/<Env>"`` (each an extra; see ``SUITES``).

``make_env(name, **kwargs)`` returns an adapter implementing
:class:`~purejaxppo.envs.base.EnvAdapter`; ``wrap_gymnax(env, params)`` adapts a
user's own gymnax ``Environment``.
"""

from __future__ import annotations

from typing import Any

from purejaxppo.envs.base import ActionSpec, EnvAdapter, StepResult

__all__ = [
    "ActionSpec",
    "EnvAdapter",
    "StepResult",
    "check_env_name",
    "env_names",
    "make_env",
    "randomize_env",
    "wrap_gymnax",
]

# Optional suites: prefix -> (adapter module, the package it needs). Their names are
# known statically, so ``env_names()`` lists them whether or not the extra is
# installed; ``check_env_name`` then says which extra to install.
SUITES: dict[str, tuple[str, str]] = {
    "jumanji": ("purejaxppo.envs.jumanji", "jumanji"),
    "craftax": ("purejaxppo.envs.craftax", "craftax"),
    "xminigrid": ("purejaxppo.envs.xminigrid", "xminigrid"),
    "playground": ("purejaxppo.envs.playground", "mujoco_playground"),
}


def _suite_module(name: str) -> Any:
    import importlib

    prefix = name.split("/", 1)[0] if isinstance(name, str) and "/" in name else None
    if prefix not in SUITES:
        return None
    return importlib.import_module(SUITES[prefix][0])


def _suite_names() -> list[str]:
    import importlib

    names: list[str] = []
    for module, _ in SUITES.values():
        names += list(importlib.import_module(module).ENV_NAMES)
    return names


def check_env_name(name: str) -> None:
    """For a suite name (``"<suite>/<Env>"``): a ``ValueError`` if the environment is
    unknown or refused (e.g. it needs a download), or if its extra is not installed
    (the message names the ``pip install`` command). Other names pass through."""
    module = _suite_module(name)
    if module is None:
        return
    module.check_name(name)
    prefix = name.split("/", 1)[0]
    from purejaxppo.envs._suite import install_hint, is_installed

    if not is_installed(SUITES[prefix][1]):
        raise ValueError(
            f"{name} needs the optional {prefix} extra, which is not installed: "
            f"{install_hint(prefix)}"
        )


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
    return _gymnax_names() + _brax_names() + _memory_task_names() + _suite_names()


def wrap_gymnax(env: Any, env_params: Any = None, name: str | None = None) -> EnvAdapter:
    """Adapts a gymnax ``Environment`` (and optional params) for the trainer."""
    from purejaxppo.envs.gymnax import GymnaxAdapter

    return GymnaxAdapter(env, env_params, name)


def randomize_env(env: Any, randomization: Any, mode: str = "init") -> Any:
    """Domain randomization: ``env`` with one set of parameters per environment, drawn
    once (``mode="init"``) or at every episode start (``"reset"``); see
    :func:`purejaxppo.envs.randomize.randomize_env`."""
    from purejaxppo.envs.randomize import randomize_env as _randomize_env

    return _randomize_env(env, randomization, mode)


def make_env(name: str, **kwargs: Any) -> EnvAdapter:
    """Builds the adapter for a registered name (``kwargs`` go to the env factory)."""
    if name.startswith("brax/"):
        from purejaxppo.envs.brax import make_brax_env

        return make_brax_env(name, **kwargs)
    if name in _memory_task_names():
        from purejaxppo.envs.memory_tasks import make_memory_task

        env, params = make_memory_task(name, **kwargs)
        return _typed_keys_ok(wrap_gymnax(env, params, name))
    module = _suite_module(name)
    if module is not None:
        check_env_name(name)
        return module.make(name, **kwargs)
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
    return _typed_keys_ok(wrap_gymnax(env, params, name))


def _typed_keys_ok(adapter: Any) -> Any:
    """Marks an adapter whose env only passes its key to ``jax.random`` functions, so
    the rollout may hand it typed Philox keys (``purejaxppo.rollout.env_step_keys``).
    Set for gymnax's registered envs and this package's memory tasks, which were all
    trained with them (``tests/test_envs.py``); a user's own env keeps raw keys."""
    adapter.typed_keys = True
    return adapter
