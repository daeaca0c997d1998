"""Process-level XLA settings that must be applied before JAX starts its backend.

On CPU, XLA's concurrency-optimized scheduler can deadlock the vmapped train program
on small machines (observed on a 2-core host with jax 0.10.2: every worker thread
parks in a futex and ``block_until_ready`` never returns; a 1-CPU ``taskset`` or this
flag avoids it). :func:`apply_cpu_workaround` turns that scheduler off by appending
``--xla_cpu_enable_concurrency_optimized_scheduler=false`` to ``XLA_FLAGS``. It only
takes effect if called before the first JAX computation in the process, it never
overrides a value the user set, and it does nothing for GPU/TPU programs.
"""

from __future__ import annotations

import os

CPU_SCHEDULER_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"


def apply_cpu_workaround() -> bool:
    """Adds the CPU scheduler flag to ``XLA_FLAGS`` unless one is already set.

    Returns:
      ``True`` if the flag was added.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if CPU_SCHEDULER_FLAG in flags:
        return False
    os.environ["XLA_FLAGS"] = (flags + f" {CPU_SCHEDULER_FLAG}=false").strip()
    return True
