"""Registry of the optional JAX suites: names, install hints, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

import purejaxppo.envs._suite as suite
from purejaxppo import PPOConfig, env_names, make_env


def test_suite_names_are_listed():
    names = set(env_names())
    for name in ("jumanji/Snake-v1", "craftax/Craftax-Classic-Symbolic-v1",
                 "xminigrid/MiniGrid-DoorKey-5x5", "playground/CartpoleBalance"):
        assert name in names
    assert "jumanji/Sokoban-v0" not in names  # refused, not listed


@pytest.mark.parametrize(
    "name, extra",
    [("jumanji/Snake-v1", "jumanji"), ("craftax/Craftax-Classic-Symbolic-v1", "craftax"),
     ("xminigrid/MiniGrid-Empty-8x8", "xminigrid"), ("playground/CartpoleBalance", "playground")],
)
def test_missing_extra_gives_install_hint(monkeypatch, name, extra):
    monkeypatch.setattr(suite, "is_installed", lambda package: False)
    with pytest.raises(ValueError, match=rf'pip install "purejaxppo\[{extra}\]"'):
        PPOConfig(env_name=name)
    with pytest.raises(ValueError, match="not installed"):
        make_env(name)


def test_listing_names_imports_no_suite():
    code = (
        "import sys, purejaxppo\n"
        "from purejaxppo import env_names\n"
        "assert 'jumanji/Snake-v1' in env_names()\n"
        "bad = [m for m in ('jumanji', 'craftax', 'xminigrid', 'mujoco_playground') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
