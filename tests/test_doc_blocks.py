"""Docs that run: every Python block of README.md and docs/ executes; shell blocks
name real scripts, subcommands, flags, make targets and extras.

Each page's ```python blocks run in order in one namespace, in a fresh subprocess
with a temporary working directory (``tests/doc_blocks.py``), with every
``PPOConfig``'s ``total_timesteps`` capped by ``PUREJAXPPO_DOC_TIMESTEPS`` (default
2048), so the pages show real budgets and the suite runs them in seconds each.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import doc_blocks

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUNNABLE = [p for p in PAGES if doc_blocks.python_blocks(p.read_text(encoding="utf-8"))]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# ------------------------------------------------------------------ python blocks
@pytest.mark.parametrize("page", RUNNABLE, ids=_rel)
def test_python_blocks_run(page, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault(doc_blocks.ENV_VAR, str(doc_blocks.DEFAULT_TIMESTEPS))
    env["MPLBACKEND"] = "Agg"
    # Pages share the programs they have in common (conftest.py gives the session a
    # throw-away cache directory).
    if "PUREJAXPPO_CACHE_DIR" in env:
        env.setdefault(doc_blocks.CACHE_VAR, os.path.join(env["PUREJAXPPO_CACHE_DIR"], "docs"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "doc_blocks.py"), str(page)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (
        f"a Python block of {_rel(page)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )


def test_the_pages_that_teach_have_runnable_blocks():
    names = {_rel(p) for p in RUNNABLE}
    for must in (
        "README.md",
        "docs/getting-started.md",
        "docs/concepts/config.md",
        "docs/guides/sweeps.md",
        "docs/guides/checkpoints.md",
        "docs/guides/environments.md",
    ):
        assert must in names


def test_block_parser():
    text = (
        "# t\n```python\nx = 1\n```\n\n* item\n\n    ```python\n    y = x + 1\n    ```\n"
        "~~~bash\nmake test\n~~~\n````text\n```python\nnot code\n```\n````\n"
    )
    blocks = doc_blocks.code_blocks(text)
    assert [(b.lang, b.code, b.line) for b in blocks] == [
        ("python", "x = 1\n", 3),
        ("python", "y = x + 1\n", 9),
        ("bash", "make test\n", 12),
        ("text", "```python\nnot code\n```\n", 15),
    ]
    assert len(doc_blocks.python_blocks(text)) == 2
    with pytest.raises(ValueError, match="never closed"):
        doc_blocks.code_blocks("```python\nx = 1\n")


def test_budget_cap_and_its_undo(monkeypatch):
    from purejaxppo import PPOConfig

    monkeypatch.setenv(doc_blocks.ENV_VAR, "4096")
    undo = doc_blocks.cap_timesteps(doc_blocks.doc_timesteps())
    try:
        assert PPOConfig(total_timesteps=500_000).total_timesteps == 4096
        assert PPOConfig(total_timesteps=1000).total_timesteps == 1000  # under the cap
        big = PPOConfig(num_envs=64, num_steps=128, total_timesteps=10**6)
        assert big.total_timesteps == 8192  # one batch
        assert PPOConfig().replace(total_timesteps=10**6).total_timesteps == 4096
    finally:
        undo()
    assert PPOConfig(total_timesteps=500_000).total_timesteps == 500_000
    monkeypatch.setenv(doc_blocks.ENV_VAR, "lots")
    with pytest.raises(ValueError, match="PUREJAXPPO_DOC_TIMESTEPS"):
        doc_blocks.doc_timesteps()


def test_a_failing_block_names_its_page_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# p\n\n```python\nx = 1\n```\n\n```python\nassert x == 2, 'boom'\n```\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "doc_blocks.py"), str(page)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1
    assert f'File "{page}", line 8' in result.stderr and "boom" in result.stderr


# ------------------------------------------------------------------- shell blocks
def _shell_commands() -> list[tuple[str, str]]:
    """``(page:line, command)`` for every command line of every ```bash block."""
    out = []
    for page in PAGES:
        for block in doc_blocks.code_blocks(page.read_text(encoding="utf-8")):
            if block.lang not in ("bash", "sh", "shell", "console"):
                continue
            joined = block.code.replace("\\\n", " ")
            for k, line in enumerate(joined.splitlines()):
                if line.strip() and not line.strip().startswith("#"):
                    out.append((f"{_rel(page)}:{block.line + k}", line))
    return out


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, re.M))


def _extras() -> set[str]:
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([A-Za-z][\w-]*) = \[", section, re.M))


def _flags(args: list[str]) -> list[str]:
    return [a.split("=", 1)[0] for a in args if a.startswith("--")]


def _check_source_flags(source: Path, args: list[str]) -> list[str]:
    text = source.read_text()
    return [f for f in _flags(args) if f'"{f}"' not in text]


def _check_command(line: str) -> str | None:
    """``None`` if the command names real things, else what is wrong."""
    from purejaxppo.cli import CLIError, build_parser

    words = shlex.split(line, comments=True)
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value prefixes
        words = words[1:]
    if not words:
        return None
    cmd, args = words[0], words[1:]
    if cmd == "make":
        unknown = [a for a in args if "=" not in a and a not in _makefile_targets()]
        return f"unknown make target(s) {unknown}" if unknown else None
    if cmd in ("pip", "python", "python3") and "pip" in words[:3]:
        wanted = [m.group(1) for a in args for m in [re.search(r"\[([\w,-]+)\]", a)] if m]
        bad = [e for w in wanted for e in w.split(",") if e not in _extras()]
        return f"unknown extra(s) {bad}" if bad else None
    if cmd == "bash":
        return None if (ROOT / args[0]).exists() else f"no script {args[0]}"
    if cmd in ("python", "python3") and args[:2] == ["-m", "purejaxppo.distributed"]:
        bad = _check_source_flags(ROOT / "purejaxppo" / "distributed.py", args[2:])
        return f"purejaxppo.distributed has no flag(s) {bad}" if bad else None
    if cmd in ("python", "python3") and args[:2] == ["-m", "purejaxppo"]:
        cmd, args = "purejaxppo", args[2:]
    if cmd == "purejaxppo":
        try:
            build_parser().parse_args(args)
        except (CLIError, SystemExit) as err:
            return f"purejaxppo {' '.join(args)}: {err}"
        return None
    if cmd in ("python", "python3") and args and args[0].endswith(".py"):
        script = ROOT / args[0]
        if not script.exists():
            return f"no script {args[0]}"
        bad = _check_source_flags(script, args[1:])
        return f"{args[0]} has no flag(s) {bad}" if bad else None
    return f"no rule to check {cmd!r}; add one to tests/test_doc_blocks.py"


SHELL = _shell_commands()


@pytest.mark.parametrize("where,line", SHELL, ids=[w for w, _ in SHELL])
def test_shell_commands_name_real_things(where, line):
    problem = _check_command(line)
    assert problem is None, f"{where}: {line}\n{problem}"


def test_shell_checker_catches_mistakes():
    assert _check_command("make traim")
    assert _check_command('pip install ".[braxx]"')
    assert _check_command("python benchmarks/no_such_script.py")
    assert _check_command("python benchmarks/learning.py --quik")
    assert _check_command("purejaxppo train --no-such-flag 3")
    assert _check_command("purejaxppo trian")
    assert _check_command("python -m purejaxppo.distributed --dataa 2")
    assert _check_command("curl http://example.com")
    assert _check_command("make train") is None
    assert _check_command("PYTHONPATH=/x python3 benchmarks/accelerator.py --plan tiny") is None


def test_yaml_blocks_parse():
    import yaml

    for page in PAGES:
        for block in doc_blocks.code_blocks(page.read_text(encoding="utf-8")):
            if block.lang in ("yaml", "yml"):
                assert isinstance(yaml.safe_load(block.code), dict), f"{_rel(page)}:{block.line}"
