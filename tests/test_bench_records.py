"""What every benchmark record says about itself: when, on which code, and how partial
re-runs of ``benchmarks/learning.py --merge`` keep the rows they did not run."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _common  # noqa: E402
import learning  # noqa: E402  (benchmarks/learning.py)


def test_machine_info_names_the_time_and_the_code():
    info = _common.machine_info()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", info["date"])
    commit = info["purejaxppo_commit"]
    # a checkout gives its short hash (+dirty with edits); a copy without .git gives None
    assert commit is None or re.fullmatch(r"[0-9a-f]{7,40}(\+dirty)?", commit)


def test_merge_replaces_only_the_rows_run_now_in_the_old_order():
    old = [{"env_name": n, "v": 0} for n in ("a", "b", "c")]
    new = [{"env_name": "c", "v": 1}, {"env_name": "z", "v": 1}, {"env_name": "a", "v": 1}]
    merged = learning._merged(old, new)
    assert [r["env_name"] for r in merged] == ["a", "b", "c", "z"]
    assert [r["v"] for r in merged] == [1, 0, 1, 1]
    assert learning._merged([], new) == new  # nothing old: the rows as run
