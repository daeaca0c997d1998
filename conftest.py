"""Repository-wide pytest set-up.

Tests run with the defaults every user gets: ``import purejaxppo`` sets no XLA flags
(see ``purejaxppo/runtime.py``). CLI subprocesses started by the tests get a
throw-away compilation cache directory so they never write to the user's home.
"""

import os
import tempfile

os.environ.setdefault(
    "PUREJAXPPO_CACHE_DIR", tempfile.mkdtemp(prefix="purejaxppo-test-cache-")
)
