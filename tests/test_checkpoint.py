"""Checkpoints: round trip, resume equivalence, corrupt files, config mismatch."""

import json
import shutil
from pathlib import Path

import jax
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_train
from purejaxppo.checkpoint import latest_step, load_checkpoint, save_checkpoint
from purejaxppo.loop import ChunkInfo, train_in_chunks

CONFIG = PPOConfig(total_timesteps=512 * 6, normalize_obs=True, normalize_reward=True)
RNG = jax.random.PRNGKey(3)


def _assert_trees_equal(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Uninterrupted chunked run (2 seeds, chunks of 2) saving every 2 updates."""
    ckpt_dir = tmp_path_factory.mktemp("ckpt")
    seen = []
    out = train_in_chunks(CONFIG, RNG, num_seeds=2, chunk_updates=2, checkpoint_dir=ckpt_dir,
                          checkpoint_every=2, callback=seen.append)
    return out, ckpt_dir, seen


def test_round_trip_restores_every_array(full_run, tmp_path):
    out, _, _ = full_run
    path = save_checkpoint(tmp_path, CONFIG, out.state, out.metrics)
    assert path == tmp_path / str(CONFIG.num_updates)
    ckpt = load_checkpoint(tmp_path, CONFIG)
    assert ckpt.step == CONFIG.num_updates and ckpt.num_seeds == 2
    assert ckpt.config == CONFIG
    _assert_trees_equal(ckpt.state, out.state)
    assert ckpt.state.obs_rms is not None and ckpt.state.reward_scaler is not None
    _assert_trees_equal(ckpt.metrics, out.metrics)


def test_chunks_report_progress_and_keep_recent_checkpoints(full_run):
    out, ckpt_dir, seen = full_run
    assert [info.update_step for info in seen] == [2, 4, 6]
    assert isinstance(seen[0], ChunkInfo) and seen[0].metrics["episode_return"].shape == (2, 2)
    assert latest_step(ckpt_dir) == 6
    assert sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit()) == [2, 4, 6]


def test_resume_gives_the_same_final_metrics(full_run):
    out, ckpt_dir, _ = full_run
    resumed = train_in_chunks(CONFIG, None, num_seeds=2, chunk_updates=2,
                              resume=ckpt_dir / "2")
    _assert_trees_equal(resumed.metrics, out.metrics)
    _assert_trees_equal(resumed.state, out.state)


def test_chunked_matches_fused_train(full_run):
    out = full_run[0]
    fused = jax.jit(jax.vmap(make_train(CONFIG)))(jax.random.split(RNG, 2))
    for name in ("episode_return", "update_step", "learning_rate", "policy_loss"):
        np.testing.assert_allclose(out.metrics[name], np.asarray(fused.metrics[name]),
                                   rtol=1e-4, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(out.env_steps(CONFIG), fused.env_steps(CONFIG))


def test_different_config_is_refused(full_run):
    with pytest.raises(ValueError, match="different config.*num_envs: checkpoint 4 != given 8"):
        load_checkpoint(full_run[1], CONFIG.replace(num_envs=8))
    with pytest.raises(ValueError, match="different config"):
        train_in_chunks(CONFIG.replace(learning_rate=1e-3), None, num_seeds=2,
                        resume=full_run[1])
    with pytest.raises(ValueError, match="num_seeds=2"):
        train_in_chunks(CONFIG, None, num_seeds=3, resume=full_run[1])


def _copy_step(ckpt_dir: Path, dst: Path, step: int = 6) -> Path:
    shutil.copytree(ckpt_dir / str(step), dst / str(step))
    return dst


def test_truncated_array_file_is_a_clear_error(full_run, tmp_path):
    root = _copy_step(full_run[1], tmp_path)
    data = [p for p in (root / "6" / "state").rglob("*") if p.is_file() and p.parent.name == "d"]
    assert data
    for path in data:
        blob = path.read_bytes()
        path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="unreadable or corrupt|is corrupt"):
        load_checkpoint(root)


def test_flipped_bytes_fail_the_checksum(full_run, tmp_path):
    root = _copy_step(full_run[1], tmp_path)
    ckpt = load_checkpoint(root)
    # Rewrite a valid checkpoint whose meta claims other data.
    other = jax.tree.map(lambda x: x, ckpt.state)
    other = other.replace(kl_beta=other.kl_beta + 1.0)
    good = tmp_path / "other"
    save_checkpoint(good, CONFIG, other, ckpt.metrics)
    shutil.rmtree(root / "6" / "state")
    shutil.copytree(good / "6" / "state", root / "6" / "state")
    with pytest.raises(ValueError, match="do not match the saved checksum"):
        load_checkpoint(root)


def test_garbage_metadata_and_missing_paths(full_run, tmp_path):
    root = _copy_step(full_run[1], tmp_path)
    (root / "6" / "meta" / "metadata").write_text("{not json")
    with pytest.raises(ValueError, match="unreadable or corrupt"):
        load_checkpoint(root)
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no complete checkpoint"):
        load_checkpoint(empty)


def test_half_written_step_is_never_loaded(full_run, tmp_path):
    root = _copy_step(full_run[1], tmp_path, 4)
    # What a crash mid-write leaves behind: orbax's temporary directory, never renamed.
    shutil.copytree(full_run[1] / "6", root / "6.orbax-checkpoint-tmp-123")
    assert latest_step(root) == 4
    assert load_checkpoint(root).step == 4


def test_bad_arguments_raise_value_error(full_run, tmp_path):
    with pytest.raises(ValueError, match="state must be a TrainState"):
        save_checkpoint(tmp_path, CONFIG, {"params": 1})
    with pytest.raises(ValueError, match="checkpoint_every needs checkpoint_dir"):
        train_in_chunks(CONFIG, RNG, checkpoint_every=2)
    with pytest.raises(ValueError, match="chunk_updates must be a positive integer"):
        train_in_chunks(CONFIG, RNG, chunk_updates=0)
    assert not any(tmp_path.iterdir())


def test_format_1_checkpoints_are_refused_with_the_reason(full_run, tmp_path):
    """Format 1 carried an int32 env-step counter in the train state; format 2 derives
    the steps from the update count, so a format-1 state no longer fits."""
    root = _copy_step(full_run[1], tmp_path)
    meta_file = root / "6" / "meta" / "metadata"
    meta = json.loads(meta_file.read_text())
    assert meta["format"] == 2 and meta["env_steps"] == 6 * CONFIG.batch_size
    meta["format"] = 1
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="unknown format \\(format 1: written before step "
                                         "counts were derived.*expected purejaxppo "
                                         "checkpoint format 2"):
        load_checkpoint(root)
