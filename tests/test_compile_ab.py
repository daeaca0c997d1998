"""benchmarks/compile_ab.py: one round of the init_draws compile A/B, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compile_ab.py"


def test_compile_ab_times_every_phase_of_each_variant(tmp_path):
    out = tmp_path / "compile.json"
    proc = subprocess.run(
        [sys.executable, str(_SCRIPT), "--experiment", "init_draws", "--config", "cartpole",
         "--rounds", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["experiment"] == "init_draws" and data["seeds"] == 1
    assert set(data["results"]) == {"per_layer", "one_draw"}
    for row in data["results"].values():
        assert len(row["every_round"]) == 1
        assert all(row[k] > 0 for k in ("trace_s", "lower_s", "compile_s"))
        assert row["total_s"] >= row["compile_s"]
    assert "median one_draw" in proc.stdout


def test_compile_ab_rejects_zero_rounds():
    proc = subprocess.run(
        [sys.executable, str(_SCRIPT), "--experiment", "init_draws", "--rounds", "0"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "--rounds must be >= 1" in proc.stderr
