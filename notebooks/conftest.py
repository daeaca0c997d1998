"""pytest configuration for the notebooks: nbmake runs them with a small budget."""

import os

# Kernels started by nbmake inherit this process's environment.
os.environ.setdefault("PUREJAXPPO_NOTEBOOK_BUDGET", "small")
