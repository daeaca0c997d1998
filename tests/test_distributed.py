"""Data-parallel, seed-parallel and multi-process training (purejaxppo.distributed).

Every test runs in a subprocess that forces several CPU devices with
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before jax is imported, so the
pytest process itself keeps its single device. Budgets are tiny (8 envs x 16 steps x
3 updates).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

TINY = dict(num_envs=8, num_steps=16, total_timesteps=8 * 16 * 3, num_minibatches=2, update_epochs=2)


def _env(devices: int) -> dict[str, str]:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run_python(code: str, devices: int, timeout: float = 240) -> dict:
    """Runs ``code`` with ``devices`` forced CPU devices; returns the JSON of its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=_env(devices), cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


_EQUIVALENCE = """
import json, jax, numpy as np
from purejaxppo import PPOConfig, make_train
from purejaxppo import distributed as D

config = PPOConfig(env_name=ENV, **TINY)
key = jax.random.PRNGKey(3)
base = jax.jit(make_train(config))(key)
result = {"devices": jax.device_count()}
for n in (4, 8):
    out = D.make_sharded_train(config, D.make_mesh(data=n))(key)
    leaves = jax.tree.leaves(out.state.params)
    result[str(n)] = {
        "metrics": {k: np.asarray(v, np.float64).tolist() for k, v in out.metrics.items()},
        "params_max_abs_diff": max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(jax.tree.leaves(base.state.params), leaves)
        ),
        "param_shards": [len(x.addressable_shards) for x in leaves],
        "param_shard_devices": sorted({s.device.id for x in leaves for s in x.addressable_shards}),
        "param_shards_identical": all(
            np.asarray(s.data).tobytes() == np.asarray(x.addressable_shards[0].data).tobytes()
            for x in leaves for s in x.addressable_shards
        ),
        "params_replicated": all(x.sharding.is_fully_replicated for x in leaves),
        "obs_shards": [list(s.data.shape) for s in out.state.obs.addressable_shards],
    }
result["base"] = {k: np.asarray(v, np.float64).tolist() for k, v in base.metrics.items()}
print(json.dumps(result))
"""


@pytest.fixture(scope="module", params=["CartPole-v1", "Pendulum-v1"])
def equivalence(request):
    code = f"ENV = {request.param!r}\nTINY = {TINY!r}\n" + _EQUIVALENCE
    return request.param, _run_python(code, devices=8)


def test_sharded_matches_single_device(equivalence):
    env_name, res = equivalence
    assert res["devices"] == 8
    base = res["base"]
    for n in ("4", "8"):
        metrics = res[n]["metrics"]
        assert set(metrics) == set(base)
        for name, ref in base.items():
            np.testing.assert_allclose(
                metrics[name], ref, rtol=1e-4, atol=1e-5, equal_nan=True,
                err_msg=f"{env_name} on {n} devices: metric {name}",
            )
        assert res[n]["params_max_abs_diff"] < 1e-4, (env_name, n)
        # Each device stepped num_envs / n environments.
        assert res[n]["obs_shards"] == [[8 // int(n), res[n]["obs_shards"][0][1]]] * int(n)


def test_params_identical_across_devices(equivalence):
    _, res = equivalence
    for n in ("4", "8"):
        assert res[n]["params_replicated"]
        assert set(res[n]["param_shards"]) == {int(n)}
        assert res[n]["param_shard_devices"] == list(range(int(n)))
        assert res[n]["param_shards_identical"]


def test_seed_parallel_matches_vmap():
    code = f"TINY = {TINY!r}\n" + """
import json, jax, numpy as np
from purejaxppo import PPOConfig, make_train
from purejaxppo import distributed as D

config = PPOConfig(env_name="CartPole-v1", **TINY)
keys = jax.random.split(jax.random.PRNGKey(0), 4)
base = jax.jit(jax.vmap(make_train(config)))(keys)
res = {}
for seeds, data in ((2, 2),):
    out = D.make_seeds_train(config, D.make_mesh(data=data, seeds=seeds))(keys)
    res[f"{seeds}x{data}"] = {
        "diff": max(float(np.nanmax(np.abs(np.asarray(out.metrics[k], np.float64)
                    - np.asarray(base.metrics[k], np.float64)))) for k in base.metrics),
        "param_spec": str(jax.tree.leaves(out.state.params)[0].sharding.spec),
        "obs_spec": str(out.state.obs.sharding.spec),
        "shape": list(out.metrics["episode_return"].shape),
    }
print(json.dumps(res))
"""
    res = _run_python(code, devices=4)
    for name, r in res.items():
        assert r["shape"] == [4, 3], name
        assert r["diff"] < 1e-3, (name, r)
        assert "seeds" in r["param_spec"] and "data" not in r["param_spec"], r
    # Seeds over one mesh axis, each seed's envs over the other.
    assert res["2x2"]["obs_spec"] == "P('seeds', 'data')"


def test_bad_meshes_raise_value_error():
    code = f"TINY = {TINY!r}\n" + """
import json, jax
import numpy as np
from jax.sharding import Mesh
from purejaxppo import PPOConfig, make_train
from purejaxppo import distributed as D

config = PPOConfig(env_name="CartPole-v1", **TINY)
cases = {
    "envs_not_divisible": lambda: make_train(config.replace(num_envs=6), mesh=D.make_mesh(data=4)),
    "no_data_axis": lambda: make_train(config, mesh=Mesh(np.array(jax.devices()), ("x",))),
    "not_a_mesh": lambda: make_train(config, mesh="data"),
    "too_many_devices": lambda: D.make_mesh(data=4, seeds=2),
    "seeds_not_dividing": lambda: D.make_mesh(seeds=3),
    "zero_devices": lambda: D.make_mesh(data=0),
    "bool_seeds": lambda: D.make_mesh(seeds=True),
    "seed_count": lambda: D.make_seeds_train(config, D.make_mesh(data=1, seeds=4))(
        jax.random.split(jax.random.PRNGKey(0), 6)),
    "sharded_train_envs": lambda: D.make_sharded_train(config.replace(num_envs=2), D.make_mesh()),
}
out = {}
for name, fn in cases.items():
    try:
        fn()
        out[name] = "no error"
    except ValueError as e:
        out[name] = "ValueError: " + str(e)
    except Exception as e:
        out[name] = type(e).__name__ + ": " + str(e)
# A mesh from jax.make_mesh (Explicit axes by default) is accepted as is.
make_train(config, mesh=jax.make_mesh((4,), ("data",)))
print(json.dumps(out))
"""
    out = _run_python(code, devices=4)
    for name, msg in out.items():
        assert msg.startswith("ValueError: "), (name, msg)
    assert "num_envs = 6 is not divisible by the 4 devices" in out["envs_not_divisible"]
    assert "num_envs = 2 is not divisible by the 4 devices" in out["sharded_train_envs"]
    assert "no axis 'data'" in out["no_data_axis"]
    assert "only 4 are available" in out["too_many_devices"]
    assert "6 seeds" in out["seed_count"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_on_loopback(tmp_path):
    args = [
        "--num-envs", "8", "--num-steps", "16", "--total-timesteps", "384",
        "--num-minibatches", "2", "--update-epochs", "2",
    ]
    cli = [sys.executable, "-m", "purejaxppo.distributed"]
    coordinator = f"127.0.0.1:{_free_port()}"
    multi = tmp_path / "multi"
    procs = [
        subprocess.Popen(
            cli + args + ["--coordinator", coordinator, "--num-processes", "2",
                          "--process-id", str(i), "--out", str(multi)],
            env=_env(2), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in range(2)
    ]
    try:
        logs = [p.communicate(timeout=240)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-4000:]

    summary = json.loads((multi / "metrics.json").read_text())
    assert summary["process_count"] == 2 and summary["devices"] == 4
    assert summary["local_devices"] == 2 and summary["mesh"]["data"] == 4
    assert summary["replicas_identical"]
    p0, p1 = (np.load(multi / f"process{i}.npz") for i in range(2))
    param_names = [k for k in p0.files if k.startswith("params/")]
    assert param_names and set(param_names) == {k for k in p1.files if k.startswith("params/")}
    for name in param_names:
        np.testing.assert_array_equal(p0[name], p1[name], err_msg=name)
    # Each process stepped its own 4 envs, with their own keys.
    assert p0["local_obs"].shape == p1["local_obs"].shape == (4, 4)
    assert not np.array_equal(p0["local_obs"], p1["local_obs"])

    # The same run in one process on one device gives the same metrics.
    single = tmp_path / "single"
    proc = subprocess.run(
        cli + args + ["--data", "1", "--out", str(single)],
        env=_env(1), cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    ref = json.loads((single / "metrics.json").read_text())["metrics"]
    for name, values in ref.items():
        np.testing.assert_allclose(
            summary["metrics"][name], values, rtol=1e-4, atol=1e-5, equal_nan=True, err_msg=name
        )
