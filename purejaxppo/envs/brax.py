"""Adapter from raw `brax <https://github.com/google/brax>`_ environments to :class:`EnvAdapter`.

brax is an optional extra (``pip install "purejaxppo[brax]"``); it is imported lazily
inside :func:`make_brax_env`, so importing this module never requires brax.

The adapter wraps the RAW brax environment returned by
``brax.envs.get_environment(name, backend=...)`` and deliberately does not use brax's
own wrappers:

* brax's ``AutoResetWrapper`` restores a start state cached at the first reset, so every
  later episode of an environment starts from the same state. Here every auto-reset
  draws a fresh key, so start states are re-randomized.
* brax's ``EpisodeWrapper`` folds the time limit into ``done``. Here ``terminated``
  is only brax's physics ``done`` (e.g. the hopper falling over) and ``truncated`` is
  only the time limit, as the :mod:`purejaxppo.envs.base` contract requires.

The adapter acts on ONE environment; the trainer ``jax.vmap``\\ s it over environments.

Observations: an environment that observes a dict of arrays (MuJoCo Playground's
``{"state": ..., "privileged_state": ...}``) flows through as a dict of flat float32
vectors. ``make_brax_env(..., privileged=True)`` turns a brax environment's array
observation into ``{"state": <its observation>, "privileged_state": <q, qd>}``, the
full generalized position and velocity of the simulator, for an asymmetric critic
(``value_obs_key="privileged_state"``).

Domain randomization (:mod:`purejaxppo.envs.randomize`): ``reset_with`` and
``step_with`` run the environment with a given system (brax's ``sys``, Playground's
MJX model), and :meth:`BraxAdapter.randomizer` takes brax's
``randomization_fn(sys, rng) -> (sys, in_axes)`` or scale ranges per system field.
The system is swapped on the environment object only for the duration of one traced
call and restored right after (so no tracer outlives the trace).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from purejaxppo.envs.base import ActionSpec, StepResult

_INSTALL_HINT = 'pip install "purejaxppo[brax]"'

BRAX_BACKENDS: tuple[str, ...] = ("generalized", "positional", "spring", "mjx")
"""Every physics backend brax 0.14 provides."""

# Default backend per environment. Rule: use a backend FAITHFUL to the MuJoCo model
# the task was defined with (``generalized`` or ``mjx``; both give the same dynamics,
# e.g. identical termination rates under random actions), and among those the one
# that stepped fastest on CPU. Measured with brax 0.14.2 / mujoco 4.0.0 / jax 0.10.2
# on a 2-core CPU: 64 envs, ``jit(vmap(step))`` in a 100-step ``lax.scan``, random
# actions, env steps per second (generalized / positional / spring / mjx):
#
#   inverted_pendulum         72k / 78k / 215k / 90k    -> mjx
#   inverted_double_pendulum  42k / 36k /   -  / 75k    -> mjx
#   reacher                   19k / 48k /   -  / 47k    -> mjx
#   hopper                    11k / 13k /  76k /  9k    -> generalized
#   walker2d                  10k / 14k /   -  / 1.4k   -> generalized
#   halfcheetah               3.0k / 2.6k / -  / 1.0k   -> generalized
#   ant                       6.2k / 6.1k / 22k / 11k   -> mjx
#
# ``positional`` and ``spring`` are approximations: they change the task (hopper /
# walker2d / inverted pendulum terminate 4-16x less often under random actions than
# with generalized/mjx) and are barely faster on CPU, so they are opt-in only.
# humanoid, humanoidstandup and pusher were not measured (slow to compile) and keep
# brax's own class default, ``generalized``; swimmer supports only ``generalized``.
# ``mjx`` construction is slower (~15-27 s on that CPU vs ~3-15 s) but one-off.
DEFAULT_BACKENDS: dict[str, str] = {
    "ant": "mjx",
    "halfcheetah": "generalized",
    "hopper": "generalized",
    "humanoid": "generalized",
    "humanoidstandup": "generalized",
    "inverted_double_pendulum": "mjx",
    "inverted_pendulum": "mjx",
    "pusher": "generalized",
    "reacher": "mjx",
    "swimmer": "generalized",
    "walker2d": "generalized",
}

# Backends each environment accepts (brax raises for swimmer on anything but
# generalized; every other env constructs and steps on all four).
SUPPORTED_BACKENDS: dict[str, tuple[str, ...]] = {
    env: (("generalized",) if env == "swimmer" else BRAX_BACKENDS) for env in DEFAULT_BACKENDS
}

BRAX_ENV_NAMES: tuple[str, ...] = tuple(f"brax/{env}" for env in sorted(DEFAULT_BACKENDS))
"""Every brax environment this adapter exposes, as ``"brax/<env>"`` names."""


@struct.dataclass
class BraxAdapterState:
    """State of one wrapped brax environment.

    Attributes:
      brax_state: the brax ``State`` (physics state, obs, reward, done, metrics, info).
      step_count: int32 scalar, number of steps taken in the current episode.
    """

    brax_state: Any
    step_count: jax.Array


def _import_brax_envs() -> Any:
    """Imports ``brax.envs`` lazily, with an install hint when brax is missing.

    Returns:
      The ``brax.envs`` module.

    Raises:
      ImportError: brax (or one of its dependencies such as mujoco) is not installed.
    """
    try:
        # mujoco.mjx prints "Failed to import warp: ..." on import when the optional
        # NVIDIA warp package is absent; that is harmless here, so keep it quiet.
        with contextlib.redirect_stdout(io.StringIO()):
            import brax  # noqa: F401
            from brax import envs as brax_envs
            from brax import fluid
    except ImportError as err:
        raise ImportError(
            f"brax environments need the optional brax extra: {_INSTALL_HINT} ({err})"
        ) from err
    if "a_min" not in inspect.signature(jnp.clip).parameters and not isinstance(
        fluid.jp, _ClipKeywordCompat
    ):
        fluid.jp = _ClipKeywordCompat(fluid.jp)
    return brax_envs


class _ClipKeywordCompat:
    """``jax.numpy`` for ``brax.fluid`` alone, with ``clip(x, a_min=..., a_max=...)``.

    brax 0.14.2's fluid model (used by ``swimmer``, the only env with a viscous
    medium) calls ``jnp.clip(x, a_min=1e-12)``; jax 0.10 removed the ``a_min`` /
    ``a_max`` keywords (``min`` / ``max`` now), so swimmer's first step raised
    ``TypeError``. This stand-in is bound to ``brax.fluid.jp`` only, forwards every
    other name to ``jax.numpy`` and maps the old keywords to the new ones; nothing
    else in brax or jax changes.
    """

    def __init__(self, module: Any):
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def clip(
        self, x: Any, min: Any = None, max: Any = None, *, a_min: Any = None, a_max: Any = None
    ) -> jax.Array:
        return self._module.clip(x, a_min if min is None else min, a_max if max is None else max)


def _parse_name(name: str) -> str:
    """Maps ``"brax/<env>"`` to ``<env>``, or raises ``ValueError`` listing valid names."""
    env = name[len("brax/") :] if isinstance(name, str) and name.startswith("brax/") else None
    if env not in DEFAULT_BACKENDS:
        raise ValueError(
            f"Unknown brax environment {name!r}; valid names: {', '.join(BRAX_ENV_NAMES)}"
        )
    return env


class BraxAdapter:
    """One raw brax environment behind the :class:`~purejaxppo.envs.base.EnvAdapter` API.

    Build it with :func:`make_brax_env`. ``reset`` and ``step`` are pure functions of
    their arguments (the adapter only holds static configuration), so they can be
    ``jax.jit``-ed and ``jax.vmap``-ed freely.

    Attributes:
      name: the ``"brax/<env>"`` name.
      backend: the brax physics backend in use.
      episode_length: time limit in steps; reaching it sets ``truncated``.
      obs_dim: length of the flat float32 observation.
      action_spec: continuous, ``shape=(action_size,)``, bounds ``[-1, 1]``.
    """

    def __init__(
        self, name: str, env: Any, backend: str, episode_length: int, privileged: bool = False
    ) -> None:
        """Wraps an already constructed raw brax env (use :func:`make_brax_env`).

        Args:
          name: the ``"brax/<env>"`` name.
          env: a raw brax ``PipelineEnv`` (no wrappers).
          backend: its physics backend.
          episode_length: positive time limit in steps.
          privileged: observe ``{"state": obs, "privileged_state": [q, qd]}``.
        """
        self.name = name
        self.backend = backend
        self.episode_length = int(episode_length)
        self.privileged = bool(privileged)
        self._env = env
        # The observation's shape from an abstract reset: brax's own
        # ``observation_size`` runs ``reset`` eagerly, which on MJX dispatches (and
        # compiles) ~1,000 small ops one by one (~40 s on a CPU, ~60 s on an H200).
        start = jax.eval_shape(env.reset, jax.random.PRNGKey(0))
        obs = start.obs
        if isinstance(obs, Mapping):
            bad = {k: type(v).__name__ for k, v in obs.items() if not hasattr(v, "shape")}
            if bad:
                raise ValueError(f"{name}: a dict observation must map keys to arrays, got {bad}")
            if privileged:
                raise ValueError(
                    f"{name} observes a dict already (keys {sorted(obs)}); privileged=True "
                    "is for array observations"
                )
        elif not hasattr(obs, "shape"):
            shapes = jax.tree.map(lambda x: tuple(x.shape), obs)
            raise ValueError(
                f"{name}: observations must be an array or a dict of arrays, got {shapes!r}"
            )
        if isinstance(obs, Mapping) or privileged:
            self.obs_dim: Any = jax.tree.map(
                lambda x: int(math.prod(x.shape)), jax.eval_shape(self._obs, start)
            )
        else:
            self.obs_dim = int(math.prod(obs.shape))
        action_size = int(env.action_size)
        self.action_spec = ActionSpec(
            discrete=False,
            shape=(action_size,),
            low=(-1.0,) * action_size,
            high=(1.0,) * action_size,
        )

    @property
    def brax_env(self) -> Any:
        """The raw (unwrapped) brax environment."""
        return self._env

    def __repr__(self) -> str:
        return (
            f"BraxAdapter(name={self.name!r}, backend={self.backend!r}, "
            f"episode_length={self.episode_length})"
        )

    def _obs(self, brax_state: Any) -> Any:
        """The observation of ``brax_state``: flat float32 vector(s)."""
        obs = brax_state.obs
        flat = lambda x: jnp.reshape(x, (-1,)).astype(jnp.float32)  # noqa: E731
        if self.privileged:
            ps = brax_state.pipeline_state
            full = flat(jnp.concatenate([jnp.ravel(ps.q), jnp.ravel(ps.qd)]))
            return {"state": flat(obs), "privileged_state": full}
        if isinstance(obs, Mapping):
            return {k: flat(v) for k, v in obs.items()}
        return self._flat_obs(brax_state)

    def _flat_obs(self, brax_state: Any) -> jax.Array:
        return jnp.reshape(brax_state.obs, (self.obs_dim,)).astype(jnp.float32)

    def reset(self, key: jax.Array) -> tuple[Any, BraxAdapterState]:
        """Starts a new episode from a randomized start state.

        Args:
          key: PRNG key.

        Returns:
          ``(obs, state)``: flat float32 ``[obs_dim]`` observation and adapter state.
        """
        brax_state = self._env.reset(key)
        state = BraxAdapterState(brax_state=brax_state, step_count=jnp.zeros((), jnp.int32))
        return self._obs(brax_state), state

    def step(self, key: jax.Array, state: BraxAdapterState, action: jax.Array) -> StepResult:
        """Advances one step; auto-resets (with a fresh start state) when the episode ends.

        Args:
          key: PRNG key; used only to draw the start state of the next episode.
          state: adapter state from ``reset`` or a previous ``step``.
          action: raw policy action ``[action_size]``; clipped to ``[-1, 1]`` here.

        Returns:
          A :class:`~purejaxppo.envs.base.StepResult`; ``final_obs`` is the observation
          this step produced, ``obs`` the start observation of the next episode if the
          episode ended (else equal to ``final_obs``).
        """
        return self._step(key, state, action, self._env.step, self._env.reset)

    def _step(
        self,
        key: jax.Array,
        state: BraxAdapterState,
        action: jax.Array,
        env_step: Callable[[Any, jax.Array], Any],
        env_reset: Callable[[jax.Array], Any],
    ) -> StepResult:
        action = jnp.clip(jnp.asarray(action, jnp.float32), -1.0, 1.0)
        stepped = env_step(state.brax_state, action)
        final_obs = self._obs(stepped)
        reward = jnp.asarray(stepped.reward, jnp.float32).reshape(())
        terminated = jnp.asarray(stepped.done).reshape(()) > 0.5
        truncated = (state.step_count + 1 >= self.episode_length) & ~terminated
        done = terminated | truncated

        # Always compute a candidate reset (under vmap a cond would run both sides
        # anyway) and select it leaf by leaf where the episode ended.
        reset_key = jax.random.fold_in(key, 1)
        reset_state = env_reset(reset_key)
        next_brax_state = jax.tree.map(
            lambda fresh, cont: jnp.where(done, fresh, cont).astype(jnp.result_type(fresh)),
            reset_state,
            stepped,
        )
        step_count = jnp.where(done, 0, state.step_count + 1).astype(jnp.int32)
        next_state = BraxAdapterState(brax_state=next_brax_state, step_count=step_count)
        return StepResult(
            obs=self._obs(next_brax_state),
            state=next_state,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
        )

    # ------------------------------------------------------------ domain randomization
    @property
    def _system_attr(self) -> str | None:
        """The attribute holding the environment's system: brax's ``sys``,
        Playground's ``_mjx_model``; ``None`` if it has neither."""
        for attr in ("_mjx_model", "sys"):
            if hasattr(self._env, attr):
                return attr
        return None

    @property
    def nominal_params(self) -> Any:
        """The environment's own system (brax ``System`` / MJX ``Model``)."""
        attr = self._system_attr
        if attr is None:
            raise ValueError(f"{self.name} has no system (sys / _mjx_model) to randomize")
        return getattr(self._env, attr)

    @contextlib.contextmanager
    def _system(self, system: Any) -> Iterator[None]:
        """Runs the environment with ``system`` inside the block, restoring its own after."""
        attr = self._system_attr
        if attr is None:
            raise ValueError(f"{self.name} has no system (sys / _mjx_model) to randomize")
        own = getattr(self._env, attr)
        try:
            setattr(self._env, attr, system)
            yield
        finally:
            setattr(self._env, attr, own)

    def reset_with(self, key: jax.Array, params: Any) -> tuple[Any, BraxAdapterState]:
        """:meth:`reset` with the system ``params``."""
        with self._system(params):
            return self.reset(key)

    def step_with(
        self,
        key: jax.Array,
        state: BraxAdapterState,
        action: jax.Array,
        params: Any,
        reset_params: Any,
    ) -> StepResult:
        """:meth:`step` with the system ``params``; an auto-reset starts the next episode
        with ``reset_params``."""

        def env_step(brax_state: Any, act: jax.Array) -> Any:
            with self._system(params):
                return self._env.step(brax_state, act)

        def env_reset(k: jax.Array) -> Any:
            with self._system(reset_params):
                return self._env.reset(k)

        return self._step(key, state, action, env_step, env_reset)

    def randomizer(self, randomization: Any) -> Any:
        """How :class:`~purejaxppo.envs.randomize.RandomizedEnv` draws systems.

        Args:
          randomization: brax's ``randomization_fn(sys, rng) -> (sys, in_axes)``
            (``rng`` a batch of keys; it is called with one key per environment and
            only the leaves whose ``in_axes`` is 0 are stored per environment), or
            ranges ``{field: (low, high)}``: a factor drawn uniformly per field and
            environment that multiplies a top-level float field of the system
            (e.g. ``geom_friction``, ``body_mass``, ``dof_damping``).

        Raises:
          ValueError: the environment has no system, an unknown or non-float field,
            a bad range, or a function whose output does not fit the system.
        """
        from purejaxppo.envs.randomize import Randomizer, check_ranges

        nominal = self.nominal_params
        if callable(randomization):
            return _function_randomizer(nominal, randomization, self.name)
        ranges = check_ranges(randomization)
        for field in ranges:
            dtype = getattr(getattr(nominal, field, None), "dtype", None)
            if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
                raise ValueError(
                    f"{self.name}'s system has no float field {field!r} to scale; e.g. "
                    "geom_friction, body_mass, dof_damping, actuator_gear"
                )
        lows = jnp.asarray([low for low, _ in ranges.values()], jnp.float32)
        highs = jnp.asarray([high for _, high in ranges.values()], jnp.float32)

        def sample(key: jax.Array) -> jax.Array:
            return jax.random.uniform(key, lows.shape, jnp.float32, lows, highs)

        def expand(factors: jax.Array) -> Any:
            scaled = {
                field: (getattr(nominal, field) * factors[i]).astype(getattr(nominal, field).dtype)
                for i, field in enumerate(ranges)
            }
            return nominal.replace(**scaled)

        return Randomizer(sample=sample, expand=expand)


def _function_randomizer(nominal: Any, fn: Callable[..., Any], name: str) -> Any:
    """A Randomizer from brax's ``randomization_fn(sys, rng) -> (sys, in_axes)``."""
    from purejaxppo.envs.randomize import Randomizer
    from purejaxppo.envs.randomize import same_structure as _same_structure

    seen: dict[str, Any] = {}

    def probe(key: jax.Array) -> Any:
        system, in_axes = fn(nominal, key[None])
        seen["in_axes"] = in_axes
        return system

    try:
        out = jax.eval_shape(probe, jax.random.PRNGKey(0))
    except Exception as err:  # the user's function failed to trace: one clear error
        raise ValueError(
            f"the randomization function of {name} failed on (sys, rng[1]): "
            f"{type(err).__name__}: {err}"
        ) from err
    leaves, treedef = jax.tree.flatten(nominal)
    if not _same_structure(jax.tree.structure(out), treedef):
        raise ValueError(
            f"the randomization function of {name} must return (sys, in_axes) with a "
            "system of the environment's structure"
        )
    in_axes = seen["in_axes"]
    if in_axes is None or isinstance(in_axes, int):
        axes = [in_axes] * len(leaves)
    else:
        try:
            axes = treedef.flatten_up_to(in_axes)  # type: ignore[attr-defined]  # jaxlib has it, its stub not
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"the randomization function of {name} returned in_axes that do not "
                f"match the system's structure: {err}"
            ) from None
    if any(a not in (0, None) for a in axes):
        raise ValueError(
            f"the randomization function of {name} returned in_axes other than 0 or "
            "None; a randomized field must be batched over environments on axis 0"
        )
    picked = [i for i, a in enumerate(axes) if a == 0]
    if not picked:
        raise ValueError(f"the randomization function of {name} randomizes no field (in_axes)")
    out_leaves = jax.tree.leaves(out)
    for i in picked:
        if out_leaves[i].shape != (1,) + tuple(jnp.shape(leaves[i])):
            raise ValueError(
                f"the randomization function of {name} returned a field of shape "
                f"{out_leaves[i].shape} for one key; expected {(1,) + jnp.shape(leaves[i])}"
            )

    def sample(key: jax.Array) -> tuple[jax.Array, ...]:
        system, _ = fn(nominal, key[None])
        drawn = jax.tree.leaves(system)
        return tuple(drawn[i][0] for i in picked)

    def expand(compact: tuple[jax.Array, ...]) -> Any:
        full = list(leaves)
        for i, value in zip(picked, compact, strict=True):
            full[i] = value
        return jax.tree.unflatten(treedef, full)

    return Randomizer(sample=sample, expand=expand)


def make_brax_env(
    name: str, backend: str | None = None, episode_length: int = 1000, privileged: bool = False
) -> BraxAdapter:
    """Builds a :class:`BraxAdapter` for ``"brax/<env>"``.

    Args:
      name: one of :data:`BRAX_ENV_NAMES`, e.g. ``"brax/hopper"``.
      backend: brax physics backend (one of :data:`BRAX_BACKENDS`); ``None`` picks
        :data:`DEFAULT_BACKENDS` for the environment.
      episode_length: positive time limit in steps (``truncated`` is set when reached).
      privileged: observe ``{"state": <obs>, "privileged_state": <q, qd>}`` (for an
        asymmetric critic, ``value_obs_key="privileged_state"``).

    Returns:
      The adapter.

    Raises:
      ValueError: unknown environment, unsupported backend, or a non-positive /
        non-integer ``episode_length``.
      ImportError: brax is not installed (the message names the ``purejaxppo[brax]``
        extra).
    """
    env_name = _parse_name(name)
    if backend is None:
        backend = DEFAULT_BACKENDS[env_name]
    valid_backends = SUPPORTED_BACKENDS[env_name]
    if backend not in valid_backends:
        raise ValueError(
            f"Unknown backend {backend!r} for {name}; valid backends: {', '.join(valid_backends)}"
        )
    if (
        isinstance(episode_length, bool)
        or not isinstance(episode_length, numbers.Integral)
        or episode_length <= 0
    ):
        raise ValueError(f"episode_length must be a positive int, got {episode_length!r}")
    brax_envs = _import_brax_envs()
    if not isinstance(privileged, bool):
        raise ValueError(f"privileged must be True or False, got {privileged!r}")
    env = brax_envs.get_environment(env_name, backend=backend)
    return BraxAdapter(
        name=name,
        env=env,
        backend=backend,
        episode_length=episode_length,
        privileged=privileged,
    )
