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


@pytest.mark.parametrize(
    "name",
    ["CartPole-v1", "Breakout-MinAtar", "craftax/Craftax-Classic-Symbolic-v1",
     "jumanji/Snake-v1", "xminigrid/MiniGrid-Empty-8x8", "playground/CartpoleBalance"],
)
def test_initial_state_has_the_types_an_update_returns(name):
    """A jitted chunk of updates must not compile twice (once for ``init``'s state,
    once for its own output): every leaf of the initial state has the dtype, shape and
    weak-type flag the update returns. Checked by tracing only (no compilation)."""
    import jax

    from purejaxppo.train import make_trainer

    config = PPOConfig.preset(name, num_envs=2, num_steps=4, num_minibatches=1,
                              update_epochs=1, hidden_sizes=(8,))
    trainer = make_trainer(config)
    hp = config.hparams()
    first = jax.eval_shape(trainer.init, jax.random.PRNGKey(0), hp)
    after, _ = jax.eval_shape(trainer.update, first, hp)
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(first), jax.tree.leaves(after)):
        assert (a.dtype, a.shape, a.weak_type) == (b.dtype, b.shape, b.weak_type), (
            jax.tree_util.keystr(path), a, b)
