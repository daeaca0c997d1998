"""Process-level XLA:CPU settings that must be applied before JAX starts its backend.

On small CPU hosts (seen on this project's 2-core machine with jax 0.10.2) the vmapped
train program can stall for good: every XLA worker thread parks in a futex and
``block_until_ready`` never returns. Two flags each avoided it in our runs and are
reported elsewhere for the same symptom (PyAutoFit issues #1528/#1530):

* ``--xla_cpu_enable_concurrency_optimized_scheduler=false``
* ``--xla_cpu_multi_thread_eigen=false``

Neither costs anything measurable for this library's small networks
(``benchmarks/throughput.py``: 167-171k steps/s on the default CartPole config with
or without them). :func:`apply_cpu_workaround` appends whichever of the two the user
has not set; it must run before the first JAX computation in the process and does
nothing for GPU/TPU programs. ``import purejaxppo`` calls it (opt out with
``PUREJAXPPO_NO_XLA_WORKAROUND=1``), as do the CLI, the benchmarks and the tests.
"""

from __future__ import annotations

import os

CPU_WORKAROUND_FLAGS = (
    ("--xla_cpu_enable_concurrency_optimized_scheduler", "false"),
    ("--xla_cpu_multi_thread_eigen", "false"),
)


def apply_cpu_workaround() -> bool:
    """Adds the flags above to ``XLA_FLAGS``, never overriding a value already set.

    Returns:
      ``True`` if any flag was added.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    added = [f"{name}={value}" for name, value in CPU_WORKAROUND_FLAGS if name not in flags]
    if added:
        os.environ["XLA_FLAGS"] = " ".join([flags, *added]).strip()
    return bool(added)
