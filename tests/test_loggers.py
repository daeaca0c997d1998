"""Loggers write files that the tools' own readers (or csv) read back: CSV, a
TensorBoard event file, a W&B offline run directory (never a network call)."""

import csv
import glob
import struct
import time

import numpy as np
import pytest

from purejaxppo import PPOConfig
from purejaxppo.loggers import make_logger

CONFIG = PPOConfig(total_timesteps=2048)


def _chunk(first: int, n: int, seeds: int = 2) -> dict:
    """Metrics of updates first..first+n-1 for `seeds` runs, like a train chunk."""
    upd = np.arange(first, first + n)
    return {
        "episode_return": np.stack([upd * 10.0 + s for s in range(seeds)]),
        "env_steps": np.stack([(upd + 1) * 512] * seeds).astype(np.int32),
        "policy_loss": np.full((seeds, n), 0.5, np.float32),
        "nonfinite": np.zeros((seeds, n), np.int32),
    }


def test_csv_has_every_update_and_seed_and_resume_drops_later_rows(tmp_path):
    logger = make_logger("csv", tmp_path, CONFIG)
    logger.log(_chunk(0, 2), 0)
    logger.log(_chunk(2, 2), 2)
    logger.close()
    with open(tmp_path / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8
    assert [int(r["update"]) for r in rows] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert rows[-1]["env_steps"] == "2048" and float(rows[-1]["episode_return"]) == 31.0
    assert rows[0]["nonfinite"] == "0" and float(rows[0]["policy_loss"]) == 0.5
    # A resumed run (from update 3) keeps the rows before it and rewrites the rest.
    logger = make_logger("csv", tmp_path, CONFIG, start_update=3)
    logger.log(_chunk(3, 1), 3)
    logger.close()
    with open(tmp_path / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["update"]) for r in rows] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_tensorboard_event_file_reads_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = make_logger("tensorboard", tmp_path, CONFIG)
    logger.log(_chunk(0, 3), 0)
    logger.close()
    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"episode_return", "policy_loss", "nonfinite", "episode_return/seed_1"} <= tags
    events = acc.Scalars("episode_return")
    assert [e.step for e in events] == [512, 1024, 1536]  # env steps on the x-axis
    np.testing.assert_allclose([e.value for e in events], [0.5, 10.5, 20.5])


def _wandb_records(path):
    """The protobuf records of a W&B run file (leveldb-style log of 32 KiB blocks)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = open(path, "rb").read()
    assert data[:4] == b":W&B"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0:
            pos += left
            continue
        piece = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        pending = piece if kind in (1, 2) else pending + piece
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            yield record


def test_wandb_offline_run_directory_reads_back(tmp_path, monkeypatch):
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    logger = make_logger("wandb", tmp_path, CONFIG, name="test-run")
    logger.log(_chunk(0, 2), 0)
    logger.log(_chunk(2, 1), 2)
    logger.close()
    files = glob.glob(str(tmp_path / "wandb" / "offline-run-*" / "run-*.wandb"))
    assert len(files) == 1
    deadline = time.monotonic() + 30
    while True:  # wandb's service process may still be flushing the file
        history, config, ended = [], None, False
        for record in _wandb_records(files[0]):
            kind = record.WhichOneof("record_type")
            if kind == "history":
                history.append({i.key or "/".join(i.nested_key): i.value_json
                                for i in record.history.item})
            elif kind == "run":
                config = {i.key or "/".join(i.nested_key): i.value_json
                          for i in record.run.config.update}
            ended = ended or kind == "exit"
        if ended or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [int(h["_step"]) for h in history] == [512, 1024, 1536]
    assert [float(h["episode_return"]) for h in history] == [0.5, 10.5, 20.5]
    assert [int(h["update"]) for h in history] == [0, 1, 2]
    assert config is not None and config["total_timesteps"] == "2048"


def test_unknown_logger_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="allowed"):
        make_logger("mlflow", tmp_path, CONFIG)


def test_loggers_derive_exact_env_steps_from_update_counts(tmp_path):
    """Metrics straight from training carry int32 ``update_step``; the x-axis is
    ``update_step * batch_size`` in int64 (exact past 2^31), counters are not metrics."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from purejaxppo.loggers import CSVLogger

    big = PPOConfig(total_timesteps=3_000_000_000)
    chunk = _chunk(0, 2)
    del chunk["env_steps"]
    chunk["update_step"] = np.array([[4194305, 4194306]] * 2, np.int32)
    logger = make_logger("tensorboard", tmp_path, big)
    logger.log(chunk, 4194304)
    logger.close()
    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("episode_return")] == [2**31 + 512, 2**31 + 1024]
    assert "update_step" not in acc.Tags()["scalars"]
    with pytest.raises(ValueError, match="env_steps, or update_step"):
        CSVLogger(tmp_path / "plain", ["episode_return"]).log(chunk, 0)
