"""The CLI explains itself and fails loudly: --help from the PPOConfig docs, `presets`,
--config files, --smooth, plots of diverged runs, the diverging run of issue 13, and
one-way imports between the modules."""

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from purejaxppo import PPOConfig, load_checkpoint
from purejaxppo.cli import build_parser, config_from_args, main
from purejaxppo.config import field_docs
from purejaxppo.plots import plot_curves_ci, smooth

PACKAGE = Path(__file__).resolve().parents[1] / "purejaxppo"


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return " ".join(sub.format_help().split())


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_help_shows_every_field_meaning_and_default_from_the_docstring(command):
    text = _help(command)
    docs = field_docs()
    for field in dataclasses.fields(PPOConfig):
        if field.name in ("env_name", "env_kwargs"):
            continue
        flag = "--" + field.name.replace("_", "-")
        doc = " ".join(docs[field.name].replace("``", "").split())
        assert f"{flag} V {doc}" in text, field.name
        default = field.default
        shown = (",".join(map(str, default)) if isinstance(default, tuple)
                 else str(default).lower() if isinstance(default, bool) else str(default))
        assert f"{doc} (default: {shown})" in text, field.name


def test_presets_command_lists_sources_and_results(capsys):
    from purejaxppo.presets import PRESET_NOTES

    assert main(["presets"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for name, note in PRESET_NOTES.items():
        assert name in out and " ".join(note.split()) in out
    assert main(["presets", "Pendulum-v1"]) == 0
    out = capsys.readouterr().out
    assert "learning_rate" in out and "0.001" in out and "Measured here" in out
    assert main(["presets", "NoSuchEnv"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_config_file_loads_with_flags_on_top_and_unknown_keys_refused(tmp_path, capsys):
    good = tmp_path / "ppo.yaml"
    good.write_text("env_name: Acrobot-v1\nnum_envs: 8\nhidden_sizes: [32, 32]\n"
                    "learning_rate: 0.001\n")
    args = build_parser().parse_args(["train", "--config", str(good), "--num-envs", "16"])
    config = config_from_args(args)
    assert (config.env_name, config.num_envs, config.hidden_sizes, config.learning_rate) == (
        "Acrobot-v1", 16, (32, 32), 0.001)
    args = build_parser().parse_args(["train", "--config", str(good), "--preset", "CartPole-v1"])
    config = config_from_args(args)
    assert config.env_name == "CartPole-v1" and config.num_envs == 8
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_envs: 8\nlearning_rat: 0.1\n")
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "unknown key(s) ['learning_rat']" in err and "learning_rate" in err
    assert not (tmp_path / "o").exists()
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    assert main(["train", "--config", str(tmp_path / "list.yaml")]) == 2
    assert "must hold a mapping" in capsys.readouterr().err


def test_smoothing_is_a_trailing_nan_aware_mean():
    values = np.array([[1.0, np.nan, 3.0, 5.0, 7.0]])
    np.testing.assert_allclose(smooth(values, 2), [[1.0, 1.0, 3.0, 4.0, 6.0]])
    np.testing.assert_array_equal(smooth(values, 1), values)
    assert np.isnan(smooth(np.full((1, 3), np.nan), 3)).all()
    with pytest.raises(ValueError, match="positive integer"):
        smooth(values, 0)


def _red_pixels(path: Path) -> int:
    import matplotlib.image

    image = matplotlib.image.imread(path)[..., :3]
    red = np.array([0xD6, 0x27, 0x28]) / 255.0  # tab:red, the colour of the notes
    return int(np.sum(np.all(np.abs(image - red) < 0.05, axis=-1)))


def test_a_plot_with_nothing_finite_says_so(tmp_path):
    steps = np.arange(1, 6) * 512
    plot_curves_ci(steps, {"PPO": np.ones((2, 5))}, tmp_path / "ok.png", smoothing=2)
    plot_curves_ci(steps, {"PPO": np.full((2, 5), np.nan)}, tmp_path / "nan.png")
    assert _red_pixels(tmp_path / "ok.png") == 0
    assert _red_pixels(tmp_path / "nan.png") > 100


def test_diverging_run_exits_nonzero_naming_the_update_and_keeps_a_finite_checkpoint(tmp_path):
    out = tmp_path / "run"
    res = subprocess.run(
        [sys.executable, "-m", "purejaxppo", "train", "--env", "Pendulum-v1", "--learning-rate",
         "1e4", "--total-timesteps", "50000", "--out", str(out), "--smooth", "3"],
        capture_output=True, text=True, timeout=300)
    assert res.returncode == 3, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "training diverged" in lines[0], res.stderr
    summary = json.loads((out / "summary.json").read_text())
    bad = summary["diverged"]
    assert f"seed {bad['seed']} went non-finite at update {bad['update']} " in lines[0]
    assert f"env steps {bad['env_steps']:,}" in lines[0] and bad["quantity"] in lines[0]
    assert "final return" not in res.stdout  # no table of nan
    ckpt = load_checkpoint(out / "checkpoints")
    assert ckpt.step == bad["update"] and str(ckpt.path) in lines[0]
    for leaf in jax.tree.leaves(ckpt.state.params):
        assert np.all(np.isfinite(np.asarray(leaf)))
    assert _red_pixels(out / "learning_curve.png") > 100  # the plot says it diverged
    assert (out / "metrics.csv").read_text().count("\n") == 1 + 98  # every update logged


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_imports_run_one_way():
    assert not {m for m in _imports("train") if "distributed" in m}
    assert "purejaxppo.train" in _imports("distributed")
    assert not {m for m in _imports("sharding") if m.startswith("purejaxppo")}
    assert not {m for m in _imports("config") if "presets" in m}
    assert "purejaxppo.config" in _imports("presets")
    assert PPOConfig.preset("CartPole-v1").env_name == "CartPole-v1"


def test_train_refuses_an_out_dir_with_old_checkpoints_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    (out / "checkpoints" / "977").mkdir(parents=True)
    args = ["train", "--env", "CartPole-v1", "--num-envs", "2", "--num-steps", "8",
            "--num-minibatches", "2", "--update-epochs", "1", "--total-timesteps", "32",
            "--eval-episodes", "0", "--out", str(out)]
    assert main(args) == 2  # refused before training: one line, nothing touched
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0]
    assert (out / "checkpoints" / "977").is_dir()
    assert main(args + ["--overwrite"]) == 0
    assert not (out / "checkpoints" / "977").exists()
    assert any((out / "checkpoints").iterdir())  # the new run's checkpoint
