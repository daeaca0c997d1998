"""Domain randomization inside the fused trainer: one set of physics parameters per
environment, kept in the environment's state.

:func:`randomize_env` wraps an adapter that supports it (gymnax's, brax's and MuJoCo
Playground's) into a :class:`RandomizedEnv`. Each environment draws its own
parameters from its reset key and carries them in its state
(:class:`RandomizedState`), so they are vmapped over environments and seeds, split
over devices with the other environment arrays, saved in checkpoints and restored
on resume, and a run stays a pure function of its key.

* ``mode="init"``: drawn once, when the environment is first reset; every later
  episode of that environment runs with them.
* ``mode="reset"``: drawn again at every episode start (every auto-reset).

What is drawn depends on the adapter (its ``randomizer(randomization)``):

* gymnax: a function ``(key, default_params) -> params`` or uniform ranges per
  ``EnvParams`` field, e.g. ``{"length": (0.25, 1.0), "masspole": (0.05, 0.2)}``.
* brax and MuJoCo Playground: brax's ``randomization_fn(sys, rng) -> (sys, in_axes)``
  (called with a batch of one key per environment; only the leaves whose
  ``in_axes`` is 0 are stored per environment), or ranges ``{field: (low, high)}``
  of a factor that scales a top-level field of the system (e.g.
  ``{"geom_friction": (0.5, 1.5), "body_mass": (0.8, 1.2)}``; one factor per field
  and environment).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
from flax import struct

from purejaxppo.envs._suite import select_tree
from purejaxppo.envs.base import StepResult

RANDOMIZE_MODES = ("init", "reset")
"""When :class:`RandomizedEnv` draws an environment's parameters."""


class Randomizer(NamedTuple):
    """How an adapter draws its parameters.

    Attributes:
      sample: ``key -> compact``, the parameters of one environment as stored in its
        state (gymnax: the whole ``EnvParams``; brax: the randomized leaves only).
      expand: ``compact -> params`` as the adapter's ``reset_with`` / ``step_with``
        take them (gymnax: the identity; brax: the nominal system with those leaves).
    """

    sample: Callable[[jax.Array], Any]
    expand: Callable[[Any], Any]


@struct.dataclass
class RandomizedState:
    """State of one randomized environment.

    Attributes:
      env_state: the wrapped adapter's state.
      params: this environment's drawn parameters (``Randomizer.sample``'s output).
    """

    env_state: Any
    params: Any


def check_ranges(ranges: Any) -> dict[str, tuple[float, float]]:
    """``{field: (low, high)}`` from a mapping or ``((field, low, high), ...)``.

    Raises:
      ValueError: empty, a field that is not a string, a bound that is not a finite
        number, or ``low > high``.
    """
    if isinstance(ranges, Mapping):
        items = [(k, *v) if isinstance(v, (tuple, list)) else (k, v) for k, v in ranges.items()]
    elif isinstance(ranges, (tuple, list)):
        items = [tuple(r) if isinstance(r, (tuple, list)) else (r,) for r in ranges]
    else:
        raise ValueError(
            "randomization must be a function or ranges {field: (low, high)}, got "
            f"{type(ranges).__name__}"
        )
    if not items:
        raise ValueError("randomization ranges are empty: give at least one field")
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        if len(item) != 3 or not isinstance(item[0], str):
            raise ValueError(
                f"a randomization range must be (field, low, high) with a field name, got {item!r}"
            )
        field, low, high = item
        numbers = all(
            isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b)
            for b in (low, high)
        )
        if not numbers:
            raise ValueError(
                f"randomization range of {field!r} must be two finite numbers, got ({low!r}, "
                f"{high!r})"
            )
        if low > high:
            raise ValueError(f"randomization range of {field!r} has low {low} > high {high}")
        if field in out:
            raise ValueError(f"randomization range of {field!r} is given twice")
        out[field] = (float(low), float(high))
    return out


def same_structure(a: Any, b: Any) -> bool:
    """Whether two pytree structures are equal (``PyTreeDef`` compares with ``==``
    only: its ``str`` shows object addresses of static fields)."""
    return bool(a == b)


def check_params_fn(sample: Callable[[jax.Array], Any], nominal: Any, name: str) -> None:
    """Traces ``sample(key)`` abstractly and checks it returns parameters shaped like
    ``nominal`` (same structure, shapes and dtypes up to weak typing).

    Raises:
      ValueError: it does not (the message says what differs).
    """
    try:
        out = jax.eval_shape(sample, jax.random.PRNGKey(0))
    except Exception as err:  # the user's function failed to trace: one clear error
        raise ValueError(
            f"the randomization function of {name} failed on (key, default params): "
            f"{type(err).__name__}: {err}"
        ) from err
    want = jax.eval_shape(lambda: nominal)
    got, expected = jax.tree.structure(out), jax.tree.structure(want)
    if not same_structure(got, expected):
        raise ValueError(
            f"the randomization function of {name} must return parameters of the same "
            f"structure as the default params; got {got}, expected {expected}"
        )
    for path, (a, b) in zip(
        jax.tree_util.tree_flatten_with_path(out)[0],
        zip(jax.tree.leaves(out), jax.tree.leaves(want), strict=True),
        strict=True,
    ):
        if a.shape != b.shape:
            raise ValueError(
                f"the randomization function of {name} changed the shape of "
                f"{jax.tree_util.keystr(path[0])}: {a.shape} instead of {b.shape}"
            )


class RandomizedEnv:
    """An adapter whose every environment runs with its own drawn parameters.

    Build it with :func:`randomize_env`. It has the wrapped adapter's ``name``,
    ``obs_dim``, ``obs_shape`` and ``action_spec``; its state is a
    :class:`RandomizedState`.

    Attributes:
      env: the wrapped adapter (its own ``reset`` / ``step`` run the nominal
        parameters).
      mode: ``"init"`` or ``"reset"`` (see the module docstring).
      randomization: what was given to :func:`randomize_env`.
    """

    def __init__(self, env: Any, randomization: Any, mode: str = "init") -> None:
        if mode not in RANDOMIZE_MODES:
            raise ValueError(f"unknown randomize mode {mode!r}; allowed: {list(RANDOMIZE_MODES)}")
        missing = [m for m in ("randomizer", "reset_with", "step_with") if not hasattr(env, m)]
        if missing:
            raise ValueError(
                f"{getattr(env, 'name', type(env).__name__)} does not support domain "
                "randomization (its adapter has no "
                f"{', '.join(missing)}); gymnax, brax and playground adapters do"
            )
        self.env = env
        self.mode = mode
        self.randomization = randomization
        self._randomizer: Randomizer = env.randomizer(randomization)
        self.name = env.name
        self.obs_dim = env.obs_dim
        if hasattr(env, "obs_shape"):
            self.obs_shape = env.obs_shape
        self.action_spec = env.action_spec
        # Our own ranges only pass the key to jax.random; a user's function might not.
        self.typed_keys = bool(getattr(env, "typed_keys", False)) and not callable(randomization)

    def __repr__(self) -> str:
        return f"RandomizedEnv({self.env!r}, mode={self.mode!r})"

    @property
    def nominal_params(self) -> Any:
        """The wrapped adapter's nominal parameters."""
        return self.env.nominal_params

    def sample_params(self, key: jax.Array) -> Any:
        """The full parameters one environment would draw from ``key``."""
        return self._randomizer.expand(self._randomizer.sample(key))

    def params_of(self, state: RandomizedState) -> Any:
        """The full parameters of the environment(s) in ``state`` (vmap for a batch)."""
        return self._randomizer.expand(state.params)

    def reset(self, key: jax.Array) -> tuple[Any, RandomizedState]:
        k_params, k_reset = jax.random.split(key)
        compact = self._randomizer.sample(k_params)
        obs, state = self.env.reset_with(k_reset, self._randomizer.expand(compact))
        return obs, RandomizedState(env_state=state, params=compact)

    def step(self, key: jax.Array, state: RandomizedState, action: jax.Array) -> StepResult:
        params = self._randomizer.expand(state.params)
        if self.mode == "init":
            res = self.env.step_with(key, state.env_state, action, params, params)
            return res._replace(state=RandomizedState(env_state=res.state, params=state.params))
        # "reset": the next episode's parameters, drawn from this step's key; kept only
        # where the episode ended (the auto-reset started that episode with them).
        fresh = self._randomizer.sample(jax.random.fold_in(key, 2))
        res = self.env.step_with(
            key, state.env_state, action, params, self._randomizer.expand(fresh)
        )
        done = res.terminated | res.truncated
        compact = select_tree(done, fresh, state.params)
        return res._replace(state=RandomizedState(env_state=res.state, params=compact))


class FixedParamsEnv:
    """An adapter that runs given parameters (all environments the same), e.g. to
    evaluate a policy on an out-of-distribution set. Its state is the wrapped
    adapter's."""

    def __init__(self, env: Any, params: Any) -> None:
        base = env.env if isinstance(env, RandomizedEnv) else env
        if not hasattr(base, "reset_with"):
            raise ValueError(
                f"{getattr(env, 'name', type(env).__name__)} does not take explicit "
                "parameters (no reset_with/step_with); gymnax, brax and playground "
                "adapters do"
            )
        self.env = base
        self.params = params
        self.name = base.name
        self.obs_dim = base.obs_dim
        if hasattr(base, "obs_shape"):
            self.obs_shape = base.obs_shape
        self.action_spec = base.action_spec
        self.typed_keys = bool(getattr(base, "typed_keys", False))

    def reset(self, key: jax.Array) -> tuple[Any, Any]:
        return self.env.reset_with(key, self.params)

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> StepResult:
        return self.env.step_with(key, state, action, self.params, self.params)


def randomize_env(env: Any, randomization: Any, mode: str = "init") -> RandomizedEnv:
    """Wraps ``env`` so that every environment draws its own parameters.

    Args:
      env: an adapter with ``randomizer``/``reset_with``/``step_with`` (gymnax,
        brax, playground; see ``purejaxppo.envs.make_env``).
      randomization: a function or ranges, as the adapter's ``randomizer`` takes
        them (see the module docstring).
      mode: ``"init"`` (drawn once per environment) or ``"reset"`` (drawn at every
        episode start).

    Returns:
      The :class:`RandomizedEnv`; pass it as ``make_train(config, env=...)``.

    Raises:
      ValueError: the adapter cannot be randomized, an unknown mode, or bad
        randomization (unknown field, bad range, a function with the wrong output).
    """
    return RandomizedEnv(env, randomization, mode)


def nominal_env(env: Any) -> Any:
    """The adapter with its nominal parameters: the wrapped one of a
    :class:`RandomizedEnv`, else ``env`` itself."""
    return env.env if isinstance(env, RandomizedEnv) else env
