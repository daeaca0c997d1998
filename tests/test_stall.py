"""The ``jit(vmap(train))`` stall (issue 9) and the compilation cache.

The stall came from LAPACK custom calls (batched QR) re-entering XLA's intra-op
thread pool (see ``purejaxppo/runtime.py``). These tests keep LAPACK calls in the
train program unbatched, stress vmapped training at 16/64/256 seeds in a subprocess under a
timeout (a stall fails the test instead of hanging CI), and check that a second
process loads the compiled train program from the persistent cache.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from purejaxppo import PPOConfig, make_train
from purejaxppo.initializers import orthogonal, qr_q

ROOT = Path(__file__).resolve().parents[1]


def test_import_sets_no_xla_flags():
    code = "import os, purejaxppo; print(repr(os.environ.get('XLA_FLAGS')))"
    env = {k: v for k, v in os.environ.items()
           if k not in ("XLA_FLAGS", "PUREJAXPPO_XLA_WORKAROUND")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == "None"


def test_orthogonal_init_matches_qr_and_is_orthonormal():
    for shape in [(64, 64), (4, 64), (64, 2), (7, 3)]:
        w = np.asarray(orthogonal(1.0)(jax.random.PRNGKey(3), shape))
        a = np.asarray(jax.random.normal(jax.random.PRNGKey(3), shape if shape[0] >= shape[1]
                                         else shape[::-1]))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))[None, :]
        expected = q if shape[0] >= shape[1] else q.T
        np.testing.assert_allclose(w, expected, atol=2e-5)
    q = np.asarray(qr_q(jax.random.normal(jax.random.PRNGKey(5), (40, 40))))
    np.testing.assert_allclose(q.T @ q, np.eye(40), atol=2e-5)
    # vmapped (a lax.map of unbatched calls on CPU) and nested vmaps: same matrices.
    a = jax.random.normal(jax.random.PRNGKey(6), (2, 3, 9, 4))
    single = np.stack([np.stack([np.asarray(qr_q(a[i, j])) for j in range(3)])
                       for i in range(2)])
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(jax.vmap(qr_q)))(a)), single)
    with pytest.raises(ValueError, match="m >= n"):
        qr_q(a[0, 0].T)
    assert np.allclose(np.asarray(orthogonal(2.0)(jax.random.PRNGKey(0), (8, 8))) ** 2 @
                       np.ones(8), 4.0, atol=1e-4)  # scale^2 per row


@pytest.mark.parametrize("memory", [None, "gru", "lstm", "mingru"])
def test_train_program_has_no_batched_lapack_call(memory):
    """Every custom call of a vmapped train program is an UNBATCHED LAPACK QR (one
    [m, n] matrix); a batched one is what deadlocked XLA's intra-op pool."""
    cfg = PPOConfig(num_envs=4, num_steps=16, num_minibatches=2, total_timesteps=128,
                    memory=memory)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    text = jax.jit(jax.vmap(make_train(cfg))).lower(keys).as_text()
    calls = re.findall(r"custom_call @(\w+)\(.*?:\s*\((tensor<[^>]*>)", text)
    assert calls, "expected the orthogonal init's QR calls"
    for target, operand in calls:
        assert target in ("lapack_sgeqrf_ffi", "lapack_sorgqr_ffi"), target
        assert operand.count("x") == 2, (target, operand)  # rank 2: [m, n] x f32


@pytest.mark.slow
def test_vmapped_train_never_stalls_16_64_256_seeds():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "stall_repro.py"),
         "--seeds", "16,64,256", "--calls", "2"],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no stall" in proc.stdout
    assert proc.stdout.count("call=1") == 3


def test_second_process_loads_train_from_compile_cache(tmp_path):
    script = textwrap.dedent("""
        import sys, time, jax
        from purejaxppo import PPOConfig, make_train
        from purejaxppo.runtime import enable_compilation_cache, compile_cache_counts
        enable_compilation_cache(sys.argv[1])
        cfg = PPOConfig(num_envs=4, num_steps=16, num_minibatches=2, total_timesteps=128)
        t = time.perf_counter()
        exe = jax.jit(make_train(cfg)).lower(jax.random.PRNGKey(0)).compile()
        took = time.perf_counter() - t
        out = jax.block_until_ready(exe(jax.random.PRNGKey(0)))
        c = compile_cache_counts()
        print(c["hits"], c["misses"], round(took, 2), int(out.env_steps(cfg)[-1]))
    """)
    cache = tmp_path / "cache"
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", script, str(cache)], capture_output=True,
                              text=True, timeout=600, check=True, cwd=ROOT)
        runs.append(proc.stdout.split())
    (hits1, misses1, _, steps1), (hits2, _, _, steps2) = runs
    assert int(hits1) == 0 and int(misses1) >= 1
    assert int(hits2) >= 1
    assert steps1 == steps2 == "128"
    assert any(cache.iterdir())


def test_cli_second_run_loads_traced_program_and_executable(tmp_path):
    """A repeated ``purejaxppo train`` skips tracing, lowering and compiling: the traced
    program comes from ``<cache>/programs`` and the executable from the compilation
    cache; the results are those of a run without any cache, bit for bit."""
    cache = tmp_path / "cache"
    base = [sys.executable, "-m", "purejaxppo", "train", "--env", "CartPole-v1",
            "--num-envs", "4", "--num-steps", "16", "--num-minibatches", "2",
            "--total-timesteps", "640", "--seeds", "2", "--logger", "csv"]
    summaries, metrics = [], []
    for i, extra in enumerate((["--compile-cache-dir", str(cache)],
                               ["--compile-cache-dir", str(cache)],
                               ["--no-compile-cache"])):
        out = tmp_path / f"run{i}"
        proc = subprocess.run(base + extra + ["--out", str(out)], capture_output=True,
                              text=True, timeout=600, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        summaries.append(json.loads((out / "summary.json").read_text())["timing"])
        metrics.append(np.load(out / "metrics.npz"))
        if i == 1:
            assert "traced program and executable from the cache" in proc.stdout
    assert summaries[0]["program_from_cache"] is False
    assert summaries[0]["compile_cache_hit"] is False
    assert summaries[1]["program_from_cache"] is True
    assert summaries[1]["compile_cache_hit"] is True
    assert "program_from_cache" not in summaries[2]
    assert len(list((cache / "programs").glob("*.exported"))) == 1
    for other in metrics[1:]:
        for name in metrics[0].files:
            np.testing.assert_array_equal(metrics[0][name], other[name], err_msg=name)
