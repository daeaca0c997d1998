"""The results tables of README.md and docs/ equal their rendering from the JSON.

``benchmarks/report.py`` owns every region between ``<!-- report:NAME -->`` and
``<!-- /report:NAME -->``; after a new measurement, ``python benchmarks/report.py
--write`` (``make report``) re-renders them. No JAX needed: these tests are instant.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _report():
    spec = importlib.util.spec_from_file_location("report", ROOT / "benchmarks" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _report()


def test_every_table_equals_its_rendering():
    stale = report.check()
    assert stale == [], (
        f"tables differ from benchmarks/results JSON: {stale}; run "
        "`python benchmarks/report.py --write`"
    )


def test_every_region_is_used_somewhere():
    used = set()
    for path in report.target_files():
        used.update(report.regions_in(path.read_text(encoding="utf-8")))
    assert used == set(report.REGIONS), f"unused renderers: {set(report.REGIONS) - used}"


def test_readme_shows_the_headline_tables():
    names = report.regions_in((ROOT / "README.md").read_text(encoding="utf-8"))
    for name in ("vs-purejaxrl-headline", "h200-headline", "learning-quick"):
        assert name in names


def test_a_hand_edited_table_is_detected(tmp_path):
    (tmp_path / "docs").mkdir()
    body = report.REGIONS["learning-quick"]()
    edited = body.replace("500.0 [500.0, 500.0]", "499.0 [500.0, 500.0]")
    assert edited != body
    (tmp_path / "README.md").write_text(
        f"# x\n<!-- report:learning-quick -->\n{edited}<!-- /report:learning-quick -->\n"
    )
    (tmp_path / "docs" / "page.md").write_text(
        f"<!-- report:learning-quick -->\n{body}<!-- /report:learning-quick -->\n"
    )
    assert report.check(tmp_path) == ["README.md: learning-quick"]
    assert report.write(tmp_path) == [tmp_path / "README.md"]
    assert report.check(tmp_path) == []


def test_unknown_or_unclosed_regions_are_errors():
    rendered = {"a": "x\n"}
    with pytest.raises(ValueError, match="unknown report region"):
        report.render_file("<!-- report:b -->\n<!-- /report:b -->\n", rendered, "f.md")
    with pytest.raises(ValueError, match="no matching"):
        report.render_file("<!-- report:a -->\nold\n", rendered, "f.md")
    assert report.render_file("<!-- report:a -->\nold\n<!-- /report:a -->", rendered) == (
        "<!-- report:a -->\nx\n<!-- /report:a -->"
    )


def test_rendering_follows_the_json(tmp_path, monkeypatch):
    """A changed measurement changes the table (the renderers read the JSON)."""
    src = report.VS_PUREJAXRL
    data = json.loads(src.read_text())
    data["results"][0]["ratio_ours_over_theirs"] = 9.87
    fake = tmp_path / "vs_purejaxrl.json"
    fake.write_text(json.dumps(data))
    monkeypatch.setattr(report, "VS_PUREJAXRL", fake)
    assert "**9.87x**" in report.render_vs_purejaxrl_headline()
    assert "**9.87x**" not in _report().render_vs_purejaxrl_headline()


def test_h200_targets_are_judged_from_the_numbers(tmp_path, monkeypatch):
    src = report.H200_CARTPOLE
    data = json.loads(src.read_text())
    data["seconds"]["wall_including_compile"] = 12.0
    fake = tmp_path / "cartpole_seeds.json"
    fake.write_text(json.dumps(data))
    monkeypatch.setattr(report, "H200_CARTPOLE", fake)
    assert "<= 20 s: met" in report.render_h200_summary()
    assert "<= 20 s: missed" in _report().render_h200_summary()


def test_command_line(capsys, tmp_path, monkeypatch):
    assert report.main(["--show", "h200-throughput"]) == 0
    assert "65,536" in capsys.readouterr().out
    assert report.main(["--check"]) == 0
    # A stale table makes --check exit 1 and name it.
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "README.md", root / "README.md")
    text = (root / "README.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| CartPole-v1, 1 seed |"))
    stale = re.sub(r"\*\*\d+\.\d\dx\*\*", "**0.01x**", row, count=1)
    assert stale != row
    (root / "README.md").write_text(text.replace(row, stale))
    monkeypatch.setattr(report, "ROOT", root)
    assert report.main([]) == 1
    assert "README.md" in capsys.readouterr().err
