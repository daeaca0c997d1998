"""The package builds, its metadata checks out, and the wheel works on its own.

``python -m build`` makes the sdist and, from it, the wheel; ``twine check`` validates
both. The wheel is then installed (``--no-deps``, never editable) into a fresh virtual
environment that sees ONLY the base dependencies: their already-installed files are
linked into a folder the new environment reads through a ``.pth`` file, so no index
is contacted and none of the extras (brax, jumanji, craftax, xminigrid, playground,
tensorboard, wandb) is importable. From a directory outside the checkout, with no
``PYTHONPATH``, the README quickstart runs (at the docs' small budget), the
``purejaxppo`` console script trains, and asking for a suite or brax environment
without its extra fails with the ``pip install`` command in the message.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import doc_blocks  # noqa: E402

pytest.importorskip("build")
packaging_requirements = pytest.importorskip("packaging.requirements")

EXTRA_MODULES = (
    "brax",
    "mujoco",
    "jumanji",
    "craftax",
    "xminigrid",
    "mujoco_playground",
    "tensorboardX",
    "wandb",
)


def _version_in_source() -> str:
    tree = ast.parse((ROOT / "purejaxppo" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("purejaxppo/__init__.py has no literal __version__")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src") / "purejaxppo"
    # Build from a clean copy of what the package is made of: stray build/ or
    # egg-info folders of a working tree cannot leak in, and the checkout stays as is.
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md", "MANIFEST.in", "LICENSE"):
        src.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "purejaxppo",
        src / "purejaxppo",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(src)], timeout=600)
    return out


def _artifacts(dist: Path) -> tuple[Path, Path]:
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in dist.iterdir())
    return wheels[0], sdists[0]


def test_build_and_twine_check(dist):
    wheel, sdist = _artifacts(dist)
    version = _version_in_source()
    assert wheel.name == f"purejaxppo-{version}-py3-none-any.whl"
    assert sdist.name == f"purejaxppo-{version}.tar.gz"
    result = _run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)], timeout=300
    )
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_wheel_contents(dist):
    wheel, _ = _artifacts(dist)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(f"purejaxppo-{_version_in_source()}.dist-info/METADATA").decode()
        entry_points = zf.read(
            f"purejaxppo-{_version_in_source()}.dist-info/entry_points.txt"
        ).decode()
    assert "purejaxppo/py.typed" in names
    assert "purejaxppo/envs/base.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "docs/", "notebooks/"))]
    assert f"Version: {_version_in_source()}" in meta
    assert "Provides-Extra: brax" in meta and "Provides-Extra: dev" in meta
    assert "purejaxppo = purejaxppo.cli:main" in entry_points
    assert f"purejaxppo-{_version_in_source()}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: Apache-2.0" in meta


def _wheel_requirements(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of the wheel's METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = zf.read(name).decode()
    return [
        line.split(":", 1)[1].strip()
        for line in meta.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def _base_closure(wheel: Path) -> list[md.Distribution]:
    """The installed distributions the wheel's base requirements (no extras) need,
    recursively, as found in the environment running the tests."""
    seen: dict[str, md.Distribution] = {}
    todo = _wheel_requirements(wheel)
    while todo:
        req = packaging_requirements.Requirement(todo.pop())
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        if key in seen:
            continue
        dist = md.distribution(req.name)
        seen[key] = dist
        todo += [r for r in dist.requires or []]
    return list(seen.values())


def _top_level_names(dist: md.Distribution) -> set[str]:
    names = set()
    for f in dist.files or []:
        parts = Path(str(f)).parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(".data"):
            continue
        names.add(parts[0])
    return names


def _link_base_dependencies(wheel: Path, target: Path) -> None:
    """Symlinks the base closure's files (packages, modules, dist-info) into target."""
    target.mkdir()
    for dist in _base_closure(wheel):
        location = Path(dist.locate_file(""))
        for name in _top_level_names(dist):
            if name.endswith(".pth") or name.startswith("purejaxppo"):
                continue
            src, dst = location / name, target / name
            if src.exists() and not dst.exists():
                dst.symlink_to(src)


QUICKSTART_CHECKS = textwrap.dedent("""
    import importlib.metadata, importlib.util, sys
    from pathlib import Path
    import purejaxppo
    from purejaxppo import PPOConfig, make_train

    here = Path(purejaxppo.__file__).resolve()
    assert str(here).startswith(sys.argv[-1]), here         # the wheel, not the checkout
    assert importlib.metadata.version("purejaxppo") == purejaxppo.__version__
    for name in {extras!r}:
        assert importlib.util.find_spec(name) is None, name  # base install only
    try:
        PPOConfig(env_name="xminigrid/MiniGrid-Empty-8x8")
    except ValueError as err:
        assert 'pip install "purejaxppo[xminigrid]"' in str(err), err
    else:
        raise AssertionError("a suite env without its extra was accepted")
    try:
        make_train(PPOConfig(env_name="brax/hopper"))
    except ImportError as err:
        assert "purejaxppo[brax]" in str(err), err
    else:
        raise AssertionError("a brax env without the brax extra was built")
    print("checks ok")
""").format(extras=EXTRA_MODULES)


def test_wheel_in_a_fresh_venv_runs_the_quickstart(dist, tmp_path):
    wheel, _ = _artifacts(dist)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=120)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    deps = tmp_path / "base-deps"
    _link_base_dependencies(wheel, deps)
    (site / "base_deps.pth").write_text(str(deps) + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        timeout=300,
    )

    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    env.setdefault(doc_blocks.ENV_VAR, str(doc_blocks.DEFAULT_TIMESTEPS))

    # The installation checks, then the README quickstart, in one process run by a copy
    # of the docs harness (which caps the budget as for the docs).
    quickstart = doc_blocks.python_blocks((ROOT / "README.md").read_text())[0]
    assert "make_train" in quickstart.code and "sweep" in quickstart.code
    (work / "quickstart.py").write_text(QUICKSTART_CHECKS + "\n" + quickstart.code)
    shutil.copy(ROOT / "tests" / "doc_blocks.py", work / "doc_blocks.py")
    out = _run(
        [str(python), "doc_blocks.py", "--script", "quickstart.py", str(site)],
        cwd=work,
        env=env,
        timeout=900,
    )
    assert "checks ok" in out.stdout

    # The console script, as `make train` runs it (base install, no extras).
    result = _run(
        [
            str(venv / "bin" / "purejaxppo"),
            "train",
            "--env",
            "CartPole-v1",
            "--total-timesteps",
            "2048",
            "--seeds",
            "2",
            "--out",
            "runs/cp",
            "--eval-episodes",
            "0",
            "--no-compile-cache",
        ],
        cwd=work,
        env=env,
        timeout=900,
    )
    assert (work / "runs" / "cp" / "learning_curve.png").exists(), result.stdout
    assert (work / "runs" / "cp" / "metrics.csv").exists()
