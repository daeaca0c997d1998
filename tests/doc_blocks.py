"""Docs that run: the code blocks of README.md and docs/**/*.md, found and executed.

Used by ``tests/test_doc_blocks.py`` (and by ``tests/test_wheel.py``, which copies this
file next to an installed wheel). Standard library only until a page is run.

* :func:`code_blocks` finds fenced blocks (``` or ~~~, also indented ones inside
  lists or admonitions) with their language and first line.
* ``python doc_blocks.py PAGE.md [PAGE.md ...]`` runs every ```python block of each
  page in order, in ONE namespace per page, in the current directory, and exits 1 with
  the page and line of the first block that fails.
* ``python doc_blocks.py --script FILE.py`` runs a plain script the same way.

The budget: ``PUREJAXPPO_DOC_TIMESTEPS`` (default ``2048``) caps the
``total_timesteps`` of every :class:`purejaxppo.PPOConfig` built while the blocks run
(never below one batch), so the pages can show the budgets a user would type and the
suite still runs them in seconds. ``PUREJAXPPO_DOC_TIMESTEPS=0`` runs them as written.
``PUREJAXPPO_DOC_COMPILE_CACHE=DIR`` turns on JAX's persistent compilation cache in
DIR, so that the pages (each in its own process) share the programs they have in
common, e.g. the default CartPole program (results are bit for bit the same).
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

DEFAULT_TIMESTEPS = 2048
ENV_VAR = "PUREJAXPPO_DOC_TIMESTEPS"
CACHE_VAR = "PUREJAXPPO_DOC_COMPILE_CACHE"

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")


class Block(NamedTuple):
    """One fenced code block."""

    lang: str
    code: str
    line: int  # 1-based line of the block's first code line


def code_blocks(text: str) -> list[Block]:
    """Every fenced code block of a Markdown text, in order.

    The language is the first word of the info string (``python``, ``bash``, ...;
    ``""`` for none). Blocks indented inside lists or admonitions are dedented by
    their fence's indentation.

    Raises:
      ValueError: a fence that is never closed.
    """
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        info = m.group("info").strip()
        lang = info.split()[0].lower() if info else ""
        body = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            line = lines[j]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            j += 1
        else:
            raise ValueError(f"code block opened at line {i + 1} is never closed")
        blocks.append(Block(lang, "\n".join(body) + "\n", i + 2))
        i = j + 1
    return blocks


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks (the ones that are executed)."""
    return [b for b in code_blocks(text) if b.lang in ("python", "py", "python3")]


def doc_timesteps() -> int:
    """The cap from ``PUREJAXPPO_DOC_TIMESTEPS`` (0: no cap).

    Raises:
      ValueError: the variable is not a non-negative integer.
    """
    raw = os.environ.get(ENV_VAR, str(DEFAULT_TIMESTEPS))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_VAR} must be a non-negative integer, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{ENV_VAR} must be a non-negative integer, got {raw!r}")
    return value


def cap_timesteps(limit: int) -> Callable[[], None]:
    """Makes every ``PPOConfig`` built from now on train at most ``limit`` env steps
    (rounded up to one batch); returns a function that undoes it. ``0``: no cap."""
    from purejaxppo.config import PPOConfig

    original = PPOConfig.__post_init__
    if limit <= 0:
        return lambda: None

    def capped(self: PPOConfig) -> None:
        t, n, s = self.total_timesteps, self.num_envs, self.num_steps
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (t, n, s))
        if ints and n > 0 and s > 0 and t > max(limit, n * s):
            object.__setattr__(self, "total_timesteps", max(limit, n * s))
        original(self)

    PPOConfig.__post_init__ = capped  # type: ignore[method-assign]

    def undo() -> None:
        PPOConfig.__post_init__ = original  # type: ignore[method-assign]

    return undo


def run_source(blocks: list[Block], filename: str) -> None:
    """Executes ``blocks`` in order in one namespace; tracebacks name ``filename`` and
    the block's lines."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    for block in blocks:
        padded = "\n" * (block.line - 1) + block.code  # line numbers match the page
        exec(compile(padded, filename, "exec"), namespace)


def run_page(path: Path) -> None:
    """Runs the ```python blocks of one Markdown page (with the budget cap)."""
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    undo = cap_timesteps(doc_timesteps())
    try:
        run_source(blocks, str(path))
    finally:
        undo()


def main(argv: list[str]) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    if os.environ.get(CACHE_VAR):
        from purejaxppo.runtime import enable_compilation_cache

        enable_compilation_cache(os.environ[CACHE_VAR])
    if argv[:1] == ["--script"]:
        path = Path(argv[1])
        targets = [(path, [Block("python", path.read_text(encoding="utf-8"), 1)])]
    else:
        targets = [(Path(p), None) for p in argv]
    for path, blocks in targets:
        try:
            if blocks is None:
                run_page(path)
            else:
                undo = cap_timesteps(doc_timesteps())
                try:
                    run_source(blocks, str(path))
                finally:
                    undo()
        except Exception:
            traceback.print_exc()
            print(f"doc_blocks: a code block of {path} failed (traceback above)", file=sys.stderr)
            return 1
        print(f"doc_blocks: {path}: ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
