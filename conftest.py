"""Repository-wide pytest set-up, loaded before any test module imports jax.

Applies the XLA:CPU hang workaround (see ``purejaxppo/runtime.py``); subprocesses and
notebook kernels inherit the environment variable.
"""

from purejaxppo.runtime import apply_cpu_workaround

apply_cpu_workaround()
