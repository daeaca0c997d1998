"""The accelerator plan (benchmarks/accelerator.py) and its wheel list.

``--plan tiny`` runs every section end to end on the CPU, so the plan that is run on
a lent GPU cannot rot between GPU sessions; the wheel list that travels to the GPU
machine must stay inside pyproject.toml's dependency bounds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jax
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "accelerator.py"
WHEELS_SH = ROOT / "benchmarks" / "accelerator_wheels.sh"

sys.path.insert(0, str(ROOT / "benchmarks"))
import accelerator  # noqa: E402


def test_tiny_plan_has_the_h200_plan_structure() -> None:
    h200, tiny = accelerator.PLANS["h200"], accelerator.PLANS["tiny"]
    assert set(h200) == set(tiny) == {"budget_s", *accelerator.SECTIONS}
    for name in accelerator.SECTIONS:
        assert set(h200[name]) == set(tiny[name]), name
    # The h200 plan is the plan: 2048 CartPole seeds, SpaceInvaders 1e7 steps
    # at 1 and 16 seeds, the throughput curve 256 .. 65536 envs, brax ant.
    assert h200["cartpole_seeds"]["seeds"] == 2048
    assert h200["spaceinvaders"]["seeds"] == (1, 16)
    assert h200["spaceinvaders"]["overrides"]["total_timesteps"] == 10_000_000
    assert sorted(h200["throughput"]["num_envs"]) == [256, 1024, 4096, 16384, 65536]
    assert h200["brax_ant"]["env"] == "brax/ant"
    assert h200["budget_s"] <= 8 * 60


def test_tiny_plan_runs_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           # compile faster: the tiny plan checks code paths, not speed
           "XLA_FLAGS": "--xla_backend_optimization_level=0 "
                        "--xla_llvm_disable_expensive_passes=true"}
    res = subprocess.run(
        [sys.executable, str(SCRIPT), "--plan", "tiny", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env, cwd=str(ROOT),
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    # every section announced itself with a timestamp as it went
    for name in accelerator.DEFAULT_SECTIONS:
        assert re.search(rf"\[\d\d:\d\d:\d\d \+ *[\d.]+s\] === {name} ", res.stdout), name
    assert not (tmp_path / "variants.json").exists()  # asked for by name only
    records = {}
    for name in accelerator.DEFAULT_SECTIONS:
        data = json.loads((tmp_path / f"{name}.json").read_text())  # strict JSON
        records[name] = data
        assert data["section"] == name and data["plan"] == "tiny"
        assert data["complete"] is True and data["error"] is None, data.get("traceback")
        assert data["device"] and data["backend"] == "cpu"
        assert data["jax_version"] == jax.__version__
        for key in ("sizes", "seconds", "steps_per_s"):
            assert isinstance(data[key], dict) and data[key], (name, key)
    a = records["cartpole_seeds"]
    assert a["sizes"]["seeds"] == 4 and a["returns_final"]["seeds"] == 4
    s = a["seconds"]
    assert s["wall_including_compile"] == pytest.approx(
        s["trace_lower"] + s["compile"] + s["first_run"])
    assert a["steps_per_s"]["train"] > 0
    b = records["spaceinvaders"]
    assert [r["seeds"] for r in b["runs"]] == [1, 2]
    c = records["throughput"]
    assert {(q["env"], q["num_envs"]) for q in c["points"]} == {
        ("CartPole-v1", 16), ("Breakout-MinAtar", 16)}
    for q in c["points"]:
        assert q["steps"] == q["updates"] * q["num_envs"] * q["num_steps"]
        assert q["train_steps_per_s"] > 0 and q["env_only_steps_per_s"] > 0
    assert set(c["summary"]) == {"CartPole-v1", "Breakout-MinAtar"}
    d = records["brax_ant"]
    assert d["updates_done"] == d["sizes"]["num_updates"] and d["finished_all_updates"]
    assert len(d["curve"]["return"]) == d["updates_done"]
    e = records["compile_precision"]
    assert e["cache"]["cold"]["cache"]["misses"] >= 1 and e["cache"]["cold"]["cache"]["hits"] == 0
    assert e["cache"]["warm"]["cache"]["hits"] >= 1
    assert set(e["precision"]) == {"default", "highest"}
    f = records["phases"]
    for env_name in f["sizes"]["envs"]:
        assert set(f["seconds"][env_name]) == {"env_only", "rollout", "update"}


def test_variants_section_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "XLA_FLAGS": "--xla_llvm_disable_expensive_passes=true"}
    res = subprocess.run(
        [sys.executable, str(SCRIPT), "--plan", "tiny", "--out", str(tmp_path),
         "--sections", "variants"],
        capture_output=True, text=True, timeout=600, env=env, cwd=str(ROOT),
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    data = json.loads((tmp_path / "variants.json").read_text())
    assert data["complete"] and data["error"] is None
    r = data["switches"]["cartpole_2048"]
    assert set(r["steps_per_s"]) == {"baseline", "rollout_unroll8"}
    assert r["speedup_vs_baseline"]["baseline"] == 1.0
    probe = data["flags"]["cpu_fast_compile"]
    assert "error" not in probe and probe["backend"] == "cpu"
    assert probe["xla_flags"] == "--xla_backend_optimization_level=0"
    assert probe["results"]["cartpole_2048"]["steps_per_s"]["baseline"] > 0


def test_every_variant_switch_applies_and_undoes() -> None:
    import purejaxppo.train as train_mod

    before = {k: getattr(train_mod, k) for k in
              ("collect_rollout", "compute_gae", "_TRUNCATED_ONLY_FINAL_VALUES")}
    for name in accelerator.PLANS["h200"]["variants"]["switches"]:
        undo = accelerator._switch(name)()
        changed = {k for k, v in before.items() if getattr(train_mod, k) is not v}
        assert len(changed) == (0 if name == "baseline" else 1), (name, changed)
        undo()
        assert all(getattr(train_mod, k) is v for k, v in before.items()), name
    assert set(accelerator.PLANS["tiny"]["variants"]["switches"]) <= set(
        accelerator.PLANS["h200"]["variants"]["switches"])


def test_plan_refuses_bad_arguments(tmp_path: Path) -> None:
    for argv in (["--sections", "nope"], ["--budget", "0"], ["--plan", "h100"]):
        with pytest.raises(SystemExit) as err:
            accelerator.main([*argv, "--out", str(tmp_path)])
        assert err.value.code == 2
    assert not list(tmp_path.iterdir())


def _wheel_pins() -> dict[str, str]:
    text = WHEELS_SH.read_text()
    block = re.search(r"^WHEELS=\((.*?)^\)", text, re.S | re.M).group(1)
    pins = re.findall(r'^\s*"([A-Za-z0-9_.-]+)==([0-9][0-9A-Za-z.]*)"\s*$', block, re.M)
    lines = [ln for ln in block.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert len(pins) == len(lines), f"every WHEELS entry must be name==version: {lines}"
    names = [n.lower().replace("_", "-") for n, _ in pins]
    assert len(set(names)) == len(names), "one version per wheel"
    return dict(zip(names, (v for _, v in pins)))


def test_wheel_list_matches_dependency_bounds() -> None:
    pins = _wheel_pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for r in project["optional-dependencies"]["brax"]]
    bounds = {r.name.lower(): r.specifier for r in reqs}
    # The suites the plan runs are all in the list, each inside pyproject's bounds.
    for name in ("gymnax", "brax", "mujoco", "mujoco-mjx"):
        assert name in pins, f"{name} missing from {WHEELS_SH.name}"
    for name, version in pins.items():
        if name in bounds:
            assert bounds[name].contains(version), (
                f"{name}=={version} is outside pyproject's {bounds[name]}")
    # jax itself is the GPU machine's (0.11.2); pyproject must admit it.
    assert bounds["jax"].contains("0.11.2") and bounds["jaxlib"].contains("0.11.2")
