"""Data-parallel scaling: training steps/s vs device count and envs per device.

For every (device count ``d``, envs per device ``e``) this trains one run of
``num_envs = d * e`` environments split over a ``d``-device ``"data"`` mesh axis
(``make_train(config, mesh=...)``), compiled first, then timed ``--repeats`` times
(median reported). Also reported, per device: the compiled program's memory
(arguments + outputs + temporaries, from ``compiled.memory_analysis()``) and, where the
backend keeps them (GPU/TPU), the device's peak bytes in use. Writes JSON and a PNG.

On a CPU-only machine the devices are forced with
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (set here before jax is
imported); they all share the host's cores, so CPU numbers show the overhead of
sharding, not a speed-up. On GPUs/TPUs the same command measures real scaling::

    python benchmarks/scaling.py --devices 1 2 4 8 --envs-per-device 256 1024 \\
        --num-steps 128 --updates 10 --out results/scaling.json
    # CPU, forced devices, tiny budget:
    python benchmarks/scaling.py --devices 1 2 4 8 --envs-per-device 4 16 \\
        --num-steps 16 --updates 3 --out results/scaling_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--envs-per-device", type=int, nargs="+", default=[4, 16])
    p.add_argument("--num-steps", type=int, default=16)
    p.add_argument("--updates", type=int, default=3, help="PPO updates per timed run")
    p.add_argument("--num-minibatches", type=int, default=4)
    p.add_argument("--update-epochs", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default="results/scaling.json")
    p.add_argument("--plot", default=None, help="PNG path (default: --out with .png)")
    return p.parse_args(argv)


def _force_cpu_devices(count: int) -> None:
    """Forces ``count`` host devices unless a GPU/TPU platform or the flag is set."""
    platforms = os.environ.get("JAX_PLATFORMS", "")
    if platforms and platforms != "cpu":
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_force_host_platform_device_count={count}".strip()
        )


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if any(d < 1 for d in args.devices) or any(e < 1 for e in args.envs_per_device):
        raise ValueError("--devices and --envs-per-device must be positive")
    if "jax" not in sys.modules:
        _force_cpu_devices(max(args.devices))
    import jax

    from purejaxppo import PPOConfig, make_train
    from purejaxppo import distributed as D

    available = jax.device_count()
    too_many = [d for d in args.devices if d > available]
    if too_many:
        raise ValueError(f"--devices {too_many} exceed the {available} available devices")

    rows = []
    for d in args.devices:
        mesh = D.make_mesh(data=d)
        for e in args.envs_per_device:
            n = d * e
            config = PPOConfig(
                env_name=args.env,
                num_envs=n,
                num_steps=args.num_steps,
                total_timesteps=n * args.num_steps * args.updates,
                num_minibatches=args.num_minibatches,
                update_epochs=args.update_epochs,
            )
            train = jax.jit(make_train(config, mesh=mesh))
            key = D.replicate(jax.random.PRNGKey(0), mesh)
            hp = D.replicate(config.hparams(), mesh)
            t0 = time.perf_counter()
            compiled = train.lower(key, hp).compile()
            compile_s = time.perf_counter() - t0
            jax.block_until_ready(compiled(key, hp))  # warm-up
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                jax.block_until_ready(compiled(key, hp))
                times.append(time.perf_counter() - t0)
            seconds = statistics.median(times)
            mem = compiled.memory_analysis()
            program_bytes = None
            if mem is not None:
                program_bytes = int(
                    mem.argument_size_in_bytes + mem.output_size_in_bytes
                    + mem.temp_size_in_bytes - mem.alias_size_in_bytes
                )
            peaks = []
            for dev in mesh.devices.flat:
                stats = dev.memory_stats() if dev.process_index == jax.process_index() else None
                if stats and "peak_bytes_in_use" in stats:
                    peaks.append(int(stats["peak_bytes_in_use"]))
            row = {
                "devices": d,
                "envs_per_device": e,
                "num_envs": n,
                "steps_per_run": config.steps_trained,
                "seconds": seconds,
                "steps_per_second": config.steps_trained / seconds,
                "compile_seconds": compile_s,
                "program_bytes_per_device": program_bytes,
                "peak_bytes_in_use_per_device": max(peaks) if peaks else None,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

    result = {
        "benchmark": "data-parallel scaling (envs split over a 'data' mesh axis)",
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
        "forced_cpu_devices": jax.default_backend() == "cpu",
        "host_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "jax": jax.__version__,
        "args": vars(args),
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    plot(result, Path(args.plot) if args.plot else out.with_suffix(".png"))
    return result


def plot(result: dict, path: Path) -> Path:
    """Steps/s vs devices (one line per envs/device) and memory per device."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for e in sorted({r["envs_per_device"] for r in rows}):
        sel = [r for r in rows if r["envs_per_device"] == e]
        devs = [r["devices"] for r in sel]
        ax1.plot(devs, [r["steps_per_second"] for r in sel], "o-", label=f"{e} envs/device")
        mem = [r["program_bytes_per_device"] for r in sel]
        if all(m is not None for m in mem):
            ax2.plot(devs, [m / 2**20 for m in mem], "o-", label=f"{e} envs/device")
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("devices on the 'data' axis")
        ax.legend()
    ax1.set_ylabel("env steps / s (training)")
    ax2.set_ylabel("compiled program memory per device (MiB)")
    kind = "forced CPU devices" if result["forced_cpu_devices"] else result["device_kind"]
    fig.suptitle(f"purejaxppo data-parallel scaling ({kind}, {result['host_cpus']} host cores)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
