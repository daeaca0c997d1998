"""Process-level JAX settings: the persistent compilation cache and XLA:CPU flags.

**Compilation cache.** :func:`enable_compilation_cache` points JAX's persistent
compilation cache at a directory (default :func:`default_cache_dir`:
``$PUREJAXPPO_CACHE_DIR``, else ``$XDG_CACHE_HOME/purejaxppo/jax``, else
``~/.cache/purejaxppo/jax``), so a second process that builds the same train program
loads the compiled executable instead of compiling it again. The CLI (and so
``make train``) turns it on unless ``--no-compile-cache`` is given or
``PUREJAXPPO_COMPILE_CACHE=0`` is set, and reports whether the train program came
from the cache. Library users opt in by calling it.

**The stall and the flags that once "fixed" it.** Up to version 0.1.0,
``import purejaxppo`` appended ``--xla_cpu_enable_concurrency_optimized_scheduler=false``
and ``--xla_cpu_multi_thread_eigen=false`` to ``XLA_FLAGS``, because
``jit(vmap(train))`` could hang forever on a 2-core host. Native stacks of a hung
process (``benchmarks/stall_repro.py``, jax/jaxlib 0.10.2) show the real cause: the
orthogonal initializer's batched QR (``lapack_sgeqrf_ffi``) runs
``jax::ParallelBatchMap``, which queues work on the XLA intra-op pool it is itself
running on and blocks; two such calls at once (actor and critic) occupy both workers
of a 2-thread pool and nothing is left to run the queued work. The flags only
changed how often two QR calls overlapped (256 seeds still hung with them) and the
scheduler flag cost 35% of training speed. The fix is in the program:
:mod:`purejaxppo.initializers` calls LAPACK's QR once per matrix (a ``lax.map``
over the seeds of a ``vmap``), so the train program of every gymnax env has no
batched custom call. ``import purejaxppo`` now leaves ``XLA_FLAGS`` alone.

:func:`apply_cpu_workaround` still adds the old flags for whoever wants them (or
``PUREJAXPPO_XLA_WORKAROUND=1`` at import); ``PUREJAXPPO_NO_XLA_WORKAROUND=1``
keeps every purejaxppo entry point from touching ``XLA_FLAGS`` even then. Programs
that contain batched LAPACK calls of their own (e.g. brax/MJX physics: Cholesky
``lapack_spotrf_ffi`` and ``lapack_strsm_ffi``) are exposed to the same jaxlib
pattern only when two such calls run at the same time. Within one brax step they
run one after the other, and a vmapped brax train of 16, 64 and 256 seeds
(``benchmarks/stall_repro.py --env brax/inverted_pendulum``) completed here without
any flag; ``tests/test_stall.py`` keeps the gymnax programs free of batched custom
calls and stress-tests 16/64/256 seeds under a timeout.
"""

from __future__ import annotations

import os
from pathlib import Path

CPU_WORKAROUND_FLAGS = (
    ("--xla_cpu_enable_concurrency_optimized_scheduler", "false"),
    ("--xla_cpu_multi_thread_eigen", "false"),
)


def apply_cpu_workaround() -> bool:
    """Adds the old XLA:CPU flags to ``XLA_FLAGS`` (opt-in; not needed by purejaxppo).

    A flag the user already set is never overridden, and nothing is done when
    ``PUREJAXPPO_NO_XLA_WORKAROUND`` is set. It only takes effect if called before
    JAX starts its backend. See the module docstring for why these flags are no
    longer applied by default (they cost ~35% of CPU training speed and did not
    prevent the stall).

    Returns:
      ``True`` if any flag was added.
    """
    if os.environ.get("PUREJAXPPO_NO_XLA_WORKAROUND"):
        return False
    flags = os.environ.get("XLA_FLAGS", "")
    added = [f"{name}={value}" for name, value in CPU_WORKAROUND_FLAGS if name not in flags]
    if added:
        os.environ["XLA_FLAGS"] = " ".join([flags, *added]).strip()
    return bool(added)


def default_cache_dir() -> Path:
    """Where :func:`enable_compilation_cache` stores compiled programs by default."""
    explicit = os.environ.get("PUREJAXPPO_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "purejaxppo" / "jax"


def compile_cache_disabled_by_env() -> bool:
    """``True`` when ``PUREJAXPPO_COMPILE_CACHE`` is set to 0 / false / off / no."""
    value = os.environ.get("PUREJAXPPO_COMPILE_CACHE", "").strip().lower()
    return value in ("0", "false", "off", "no")


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path:
    """Turns on JAX's persistent compilation cache for this process.

    Every program that takes at least 0.5 s to compile (the train program takes
    several seconds on CPU) is written to ``path`` and read back by later processes
    that compile the same program with the same jax/jaxlib, flags and device.

    Args:
      path: cache directory (created if missing); default :func:`default_cache_dir`.

    Returns:
      The directory in use.

    Raises:
      ValueError: if ``path`` exists and is not a directory, or cannot be created.
    """
    import jax

    directory = Path(path).expanduser() if path is not None else default_cache_dir()
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"compile cache path {str(directory)!r} exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"cannot create compile cache directory {str(directory)!r}: {err}"
        ) from None
    _listen_to_cache_events()
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return directory


_CACHE_EVENTS = {
    "/jax/compilation_cache/cache_hits": "hits",
    "/jax/compilation_cache/cache_misses": "misses",
}
_cache_counts = {"hits": 0, "misses": 0}
_listening = False


def _count_cache_event(event: str, **_: object) -> None:
    name = _CACHE_EVENTS.get(event)
    if name is not None:
        _cache_counts[name] += 1


def _listen_to_cache_events() -> None:
    global _listening
    if not _listening:
        import jax.monitoring

        jax.monitoring.register_event_listener(_count_cache_event)
        _listening = True


def compile_cache_counts() -> dict[str, int]:
    """Persistent-cache hits and misses seen in this process since the cache was enabled.

    Counted from JAX's monitoring events; a compile that is a hit loads the
    executable from disk instead of compiling it.
    """
    return dict(_cache_counts)


# ------------------------------------------------------------ traced-program cache
PROGRAM_CACHE_FORMAT = 1
"""Bumped whenever the on-disk layout of :func:`cached_program` changes."""

_PROGRAM_PACKAGES = (
    "jax",
    "jaxlib",
    "flax",
    "optax",
    "numpy",
    "gymnax",
    "brax",
    "mujoco",
    "mujoco-mjx",
    "jumanji",
    "craftax",
    "xminigrid",
    "playground",
)


def _source_digest() -> str:
    """SHA-256 of every ``.py`` file of this package (any code change is a new key)."""
    import hashlib

    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _program_key(description: object, args: tuple) -> str:
    """The cache key of a traced program: what it computes and everything it depends on."""
    import hashlib
    import json
    from importlib import metadata

    import jax

    versions: dict[str, str | None] = {}
    for name in _PROGRAM_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    leaves, tree = jax.tree.flatten(args)
    material = {
        "format": PROGRAM_CACHE_FORMAT,
        "description": description,
        "args": [[list(x.shape), str(x.dtype)] for x in leaves],
        "args_tree": str(tree),
        "versions": versions,
        "source": _source_digest(),
        "backend": jax.default_backend(),
        "devices": [d.device_kind for d in jax.devices()],
        # jax's Config serves its flags as dynamic attributes its class does not declare.
        "x64": bool(jax.config.jax_enable_x64),  # type: ignore[attr-defined]
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_program(fn, args: tuple, description: object, directory=None):
    """``jax.jit(fn)`` for ``args``, with its traced and lowered program kept on disk.

    The persistent compilation cache (:func:`enable_compilation_cache`) skips XLA's
    compilation in a later process, but not the Python tracing and lowering of the
    train function that come before it (~2 s for the CartPole train program on a
    2-core CPU). This cache skips those too: the first call exports ``fn`` with
    ``jax.export`` (its StableHLO and the output tree structure) to
    ``directory/programs/<key>``; a later process with the same key deserializes it
    instead of tracing. Both processes then compile the same exported program, so the
    compilation cache serves the second one as well.

    The key covers ``description`` (e.g. the config as a dict), the shapes and dtypes
    of ``args``, the versions of jax, jaxlib, flax, optax, numpy and the environment
    suites, a digest of this package's source files, the backend and its devices.
    Anything else ``fn`` depends on must be in ``description``. An unreadable entry is
    rebuilt; a program that cannot be exported (e.g. a custom call without a
    stability guarantee) falls back to plain ``jax.jit(fn)`` and is not stored.
    Entries hold pickled tree structures: point ``directory`` only at a cache you
    trust, as with the compilation cache.

    Args:
      fn: the function to stage, ``fn(*args) -> pytree of arrays``.
      args: example arguments (only shapes and dtypes matter).
      description: JSON-serializable description of what ``fn`` computes.
      directory: cache directory; default :func:`default_cache_dir`.

    Returns:
      ``(jitted, unflatten, source)``: ``jitted(*args)`` returns the output leaves,
      ``unflatten(leaves)`` rebuilds ``fn``'s output pytree, and ``source`` is
      ``"disk"`` (loaded), ``"exported"`` (traced and stored now) or ``"jit"``
      (not exportable; ``jitted`` is ``jax.jit`` of ``fn`` returning its leaves).
    """
    import pickle

    import jax
    from jax import export

    root = Path(directory).expanduser() if directory is not None else default_cache_dir()
    folder = root / "programs"
    key = _program_key(description, args)
    program_file, tree_file = folder / f"{key}.exported", folder / f"{key}.tree"
    if program_file.is_file() and tree_file.is_file():
        try:
            exported = export.deserialize(bytearray(program_file.read_bytes()))
            out_tree = pickle.loads(tree_file.read_bytes())
        except Exception:  # a damaged entry is rebuilt below
            pass
        else:
            return (
                jax.jit(exported.call),
                lambda leaves: jax.tree.unflatten(out_tree, leaves),
                "disk",
            )
    box: dict = {}

    def flat_fn(*a):
        leaves, box["tree"] = jax.tree.flatten(fn(*a))
        return leaves

    try:
        exported = export.export(jax.jit(flat_fn))(*args)
        blob = exported.serialize()
    except Exception:  # not exportable: trace it the ordinary way
        return jax.jit(flat_fn), lambda leaves: jax.tree.unflatten(box["tree"], leaves), "jit"
    out_tree = box["tree"]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, data in ((tree_file, pickle.dumps(out_tree)), (program_file, blob)):
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache still gives a working program
    return jax.jit(exported.call), lambda leaves: jax.tree.unflatten(out_tree, leaves), "exported"
