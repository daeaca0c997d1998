"""The documentation site builds with ``mkdocs build --strict`` and covers the API.

Strict mode turns every warning into a failure: a broken link or anchor, a page left
out of the navigation, a docstring mkdocstrings cannot parse, a ``::: module`` that
does not import. The other tests here are static and instant.
"""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import purejaxppo

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (site / "index.html").exists()
    assert (site / "reference" / "config" / "index.html").exists()
    # mkdocstrings rendered the docstrings (not just the page skeletons).
    config_page = (site / "reference" / "config" / "index.html").read_text()
    assert "total_timesteps" in config_page and "hparams" in config_page
    # The griffe extension turned Sphinx roles into code spans.
    train_page = (site / "reference" / "train" / "index.html").read_text()
    assert ":class:" not in train_page and ":func:" not in train_page


def _public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(purejaxppo.__path__, "purejaxppo."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]):
            continue
        names.append(info.name)
    return sorted(names)


def test_every_public_module_has_a_reference_page():
    documented = set()
    for page in REFERENCE.glob("*.md"):
        documented.update(re.findall(r"^::: ([\w.]+)", page.read_text(), re.M))
    missing = sorted(set(_public_modules()) - documented)
    assert not missing, f"public modules without a docs/reference page: {missing}"
    unknown = sorted(documented - set(_public_modules()))
    assert not unknown, f"reference pages for modules that do not exist: {unknown}"


def test_every_export_is_in_the_reference_index():
    index = (REFERENCE / "index.md").read_text()
    missing = [name for name in purejaxppo.__all__ if f"| `{name}` |" not in index]
    assert not missing, (
        f"names of purejaxppo.__all__ missing from docs/reference/index.md: {missing}"
    )


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")]
    missing = [p for p in pages if p not in nav]
    assert not missing, f"pages missing from mkdocs.yml nav: {missing}"


_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("name", ["README.md", "CHANGELOG.md"])
def test_relative_links_of_top_level_files_resolve(name):
    """README.md and CHANGELOG.md are not part of the site; check their links here."""
    text = (ROOT / name).read_text()
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+://", target) or target.startswith(("#", "mailto:")):
            continue
        path = target.split("#", 1)[0]
        if path and not (ROOT / path).exists():
            broken.append(target)
    assert not broken, f"{name} links to missing files: {broken}"


def test_readme_is_a_landing_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; keep it a landing page"
