"""Repository-wide pytest set-up, loaded before any test module imports jax.

XLA:CPU's multi-threaded Eigen pool has been reported to wedge intermittently on
vmapped programs (the process waits in ``block_until_ready`` forever with idle
threads; see PyAutoFit issues #1528/#1530). Our matrices are small, so
single-threaded Eigen costs nothing measurable here (benchmarks/throughput.py:
167-171k steps/s either way), and it keeps CI from hanging. Subprocesses and
notebook kernels inherit the variable.
"""

import os

_FLAG = "--xla_cpu_multi_thread_eigen=false"
if _FLAG not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _FLAG).strip()
