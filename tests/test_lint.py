"""ruff (lint and format check) and mypy over purejaxppo/, as configured in pyproject.toml.

Opt-in for now: the first run found findings that are still to be fixed (see
CHANGELOG.md), so these tests run only with ``PUREJAXPPO_LINT=1``
(``PUREJAXPPO_LINT=1 pytest tests/test_lint.py``; ``make lint`` runs the same tools).
Once purejaxppo/ is clean, drop the skip so that ``make test`` keeps it clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    os.environ.get("PUREJAXPPO_LINT") != "1",
    reason="lint and type checks are opt-in until purejaxppo/ is clean: PUREJAXPPO_LINT=1",
)


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
