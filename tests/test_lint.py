"""ruff (lint and format check) and mypy over purejaxppo/, as configured in pyproject.toml.

``make test`` runs them (``make lint`` runs the same tools on their own), so that
purejaxppo/ stays clean. mypy keeps its cache in ``.mypy_cache``: about 20 s on the
2-core machine without it, about 1 s with it; ruff takes well under a second.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=900
    )


def test_ruff_check():
    result = _tool("ruff", "check", "purejaxppo")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = _tool("ruff", "format", "--check", "purejaxppo")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy():
    result = _tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
