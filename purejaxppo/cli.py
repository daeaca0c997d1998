"""Command line: ``purejaxppo {train,sweep,evaluate,plot}`` (also ``python -m purejaxppo``).

Every :class:`~purejaxppo.config.PPOConfig` field is a flag (``--num-envs 8``,
``--hidden-sizes 64,64``, ``--anneal-lr false``). argparse is used because the
flags are generated from the dataclass fields (so a new config field is a new flag
with no extra code), it ships with Python (no dependency to pin), and it lets us turn
every usage error into ONE line on stderr with a non-zero exit. tyro would derive the
same flags but prints multi-line rich-formatted errors and adds a dependency.

Outputs are validated before anything is written and every file is written to a
temporary name and renamed into place, so a failed command leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from purejaxppo.config import PPOConfig


class CLIError(Exception):
    """A usage error reported as one line on stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise CLIError(message)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parse_int_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 64,64, got {text!r}"
        ) from None


def _strict_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


_FIELD_TYPES = {"bool": _parse_bool, "int": _strict_int, "float": _float, "str": str}


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """Adds ``--<field>`` for every PPOConfig field (default: unset)."""
    group = parser.add_argument_group("PPOConfig fields (default: the config's own)")
    for field in dataclasses.fields(PPOConfig):
        if field.name in ("env_name", "env_kwargs"):
            continue
        flag = "--" + field.name.replace("_", "-")
        if field.name in ("hidden_sizes", "cnn_channels", "cnn_kernels"):
            kind = _parse_int_tuple
        else:
            kind = _FIELD_TYPES[field.type if isinstance(field.type, str) else field.type.__name__]
        group.add_argument(flag, dest=field.name, type=kind, default=None, metavar="V")


def config_from_args(args: argparse.Namespace) -> PPOConfig:
    """The config from ``--env`` / ``--preset`` plus any field flags."""
    overrides: dict[str, Any] = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(PPOConfig)
        if getattr(args, f.name, None) is not None
    }
    if getattr(args, "preset", None):
        return PPOConfig.preset(args.preset, **overrides)
    return PPOConfig(env_name=args.env or "CartPole-v1", **overrides)


def _has_presets() -> bool:
    return hasattr(PPOConfig, "preset") and importlib.util.find_spec("purejaxppo.presets") is not None



# ----------------------------------------------------------------------------- parser
def _add_run_flags(parser: argparse.ArgumentParser, seeds_help: str) -> None:
    parser.add_argument("--env", default=None, help="environment name (default CartPole-v1)")
    if _has_presets():
        parser.add_argument("--preset", default=None, help="tuned preset for an env name")
    parser.add_argument("--seeds", type=_strict_int, default=None, help=seeds_help)
    parser.add_argument("--seed", type=_strict_int, default=0, help="base PRNG seed")
    parser.add_argument("--out", default=None, help="output directory")
    add_config_flags(parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``purejaxppo`` argument parser (subcommands train, sweep, evaluate, plot)."""
    parser = _Parser(prog="purejaxppo", description="PPO in pure JAX.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train one config over several seeds (vmapped)")
    _add_run_flags(train, "number of seeds (vmapped; default 1)")
    train.add_argument("--checkpoint-every", type=_strict_int, default=None, metavar="N",
                       help="save a checkpoint every N updates (needs --out)")
    train.add_argument("--chunk-updates", type=_strict_int, default=None, metavar="N",
                       help="updates per compiled call in chunked mode")
    train.add_argument("--resume", default=None, metavar="DIR",
                       help="continue from a checkpoint (a run dir or checkpoint dir)")
    train.add_argument("--progress", action="store_true", help="show a progress bar (chunked)")
    train.add_argument("--eval-episodes", type=_strict_int, default=10, metavar="N",
                       help="deterministic evaluation episodes per seed at the end (0: none)")

    sweep = sub.add_parser("sweep", help="sweep traced hyperparameters in one compile")
    _add_run_flags(sweep, "seeds per grid point (default 1)")
    sweep.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2",
                       help="values of one traced field (repeatable)")
    sweep.add_argument("--grid-file", default=None, help="grid as a YAML or JSON mapping")
    sweep.add_argument("--max-runs-per-call", type=_strict_int, default=None, metavar="N",
                       help="split the sweep into calls of at most N runs")

    ev = sub.add_parser("evaluate", help="evaluate the policy of a checkpoint")
    ev.add_argument("checkpoint", help="run dir, checkpoint dir or checkpoint step dir")
    ev.add_argument("--episodes", type=_strict_int, default=10, help="episodes per seed")
    ev.add_argument("--seed", type=_strict_int, default=0, help="PRNG seed")
    ev.add_argument("--stochastic", action="store_true", help="sample actions (default: mode)")

    plot = sub.add_parser("plot", help="(re)draw the plots of a train or sweep output dir")
    plot.add_argument("run", help="output dir of train or sweep")
    return parser


# ------------------------------------------------------------------------------ files
def _atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Calls ``write(tmp)`` and renames ``tmp`` to ``path`` (same directory)."""
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_json(path: Path, data: Any) -> None:
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def _write_npz(path: Path, arrays: dict[str, Any]) -> None:
    import numpy as np

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})

    _atomic_write(path, write)


def _prepare_out(out: str | None) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise CLIError(f"--out {out!r} exists and is not a directory")
    return path


def _check_positive(flag: str, value: int | None) -> None:
    if value is not None and value <= 0:
        raise CLIError(f"{flag} must be a positive integer, got {value}")


def _checkpoint_root(path: str) -> Path:
    root = Path(path)
    if (root / "checkpoints").is_dir():
        return root / "checkpoints"
    return root


def _final_table(final: Any, env_steps: Any, eval_means: Any | None) -> None:
    import numpy as np

    head = f"{'seed':>6} {'final return':>14} {'env steps':>12}"
    print(head + (f" {'eval return':>12}" if eval_means is not None else ""))
    for i, value in enumerate(final):
        row = f"{i:>6} {value:>14.2f} {int(env_steps[i]):>12,}"
        print(row + (f" {eval_means[i]:>12.2f}" if eval_means is not None else ""))
    tail = f"{'mean':>6} {np.nanmean(final):>14.2f} {'':>12}"
    print(tail + (f" {np.mean(eval_means):>12.2f}" if eval_means is not None else ""))


# --------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    """``train``: fused by default; chunked with --checkpoint-every/--resume/--progress."""
    for flag in ("seeds", "checkpoint_every", "chunk_updates"):
        _check_positive("--" + flag.replace("_", "-"), getattr(args, flag))
    if args.eval_episodes < 0:
        raise CLIError(f"--eval-episodes must be >= 0, got {args.eval_episodes}")
    out_dir = _prepare_out(args.out)
    if args.checkpoint_every is not None and out_dir is None:
        raise CLIError("--checkpoint-every needs --out (checkpoints go to OUT/checkpoints)")

    from purejaxppo.checkpoint import load_checkpoint

    ckpt = None
    if args.resume is not None:
        flagged = any(getattr(args, f.name, None) is not None for f in dataclasses.fields(PPOConfig))
        given = config_from_args(args) if flagged or args.env or getattr(args, "preset", None) else None
        ckpt = load_checkpoint(_checkpoint_root(args.resume), given)
        config = ckpt.config
        if ckpt.num_seeds is None:
            raise CLIError("the checkpoint holds an unbatched run; the CLI resumes seed batches")
        if args.seeds is not None and args.seeds != ckpt.num_seeds:
            raise CLIError(f"--seeds {args.seeds} does not match the checkpoint's {ckpt.num_seeds}")
        seeds = ckpt.num_seeds
    else:
        config = config_from_args(args)
        seeds = args.seeds or 1

    import jax
    import numpy as np

    from purejaxppo.train import make_train

    print(
        f"training {config.env_name}: {seeds} seed(s) x {config.steps_trained:,} env "
        f"steps ({config.num_updates} updates of {config.batch_size})",
        flush=True,
    )
    key = jax.random.PRNGKey(args.seed)
    chunked = args.checkpoint_every is not None or ckpt is not None or args.progress
    ckpt_dir = out_dir / "checkpoints" if out_dir is not None else None
    timing: dict[str, float] = {}
    if chunked:
        from purejaxppo.loop import train_in_chunks

        if ckpt is not None:
            print(f"resuming from update {ckpt.step} ({ckpt.path})", flush=True)
        start = time.perf_counter()
        out = train_in_chunks(
            config, key, num_seeds=seeds, chunk_updates=args.chunk_updates, resume=ckpt,
            progress=args.progress, checkpoint_dir=ckpt_dir,
            checkpoint_every=args.checkpoint_every,
        )
        timing["train_s_including_compile"] = time.perf_counter() - start
        print(f"train (chunked, incl. compile) {timing['train_s_including_compile']:.1f} s")
    else:
        keys = jax.random.split(key, seeds)
        train = jax.jit(jax.vmap(make_train(config)))
        start = time.perf_counter()
        compiled = train.lower(keys).compile()
        timing["compile_s"] = time.perf_counter() - start
        start = time.perf_counter()
        out = jax.block_until_ready(compiled(keys))
        timing["train_s"] = time.perf_counter() - start
        print(f"compile {timing['compile_s']:.1f} s, train {timing['train_s']:.1f} s "
              f"({seeds * config.steps_trained / timing['train_s']:,.0f} env steps/s)")
    metrics = {k: np.asarray(v) for k, v in out.metrics.items()}
    final = metrics["episode_return"][:, -1]

    eval_means = None
    eval_summary = None
    if args.eval_episodes:
        from purejaxppo.evaluate import evaluate
        from purejaxppo.stats import summarize

        res = evaluate(config, out.state, jax.random.fold_in(key, 1), args.eval_episodes)
        eval_returns = np.asarray(res.returns)
        eval_means = eval_returns.mean(axis=1)
        eval_summary = {"episodes_per_seed": args.eval_episodes, "deterministic": True,
                        "per_seed_mean": eval_means.tolist(), **summarize(eval_means)}
    _final_table(final, metrics["env_steps"][:, -1], eval_means)

    if out_dir is not None:
        from purejaxppo.checkpoint import save_checkpoint
        from purejaxppo.stats import summarize

        out_dir.mkdir(parents=True, exist_ok=True)
        if not chunked:
            save_checkpoint(ckpt_dir, config, out.state, metrics)
        _write_json(out_dir / "config.json", config.to_dict())
        _write_npz(out_dir / "metrics.npz", metrics)
        summary = {
            "env_name": config.env_name, "num_seeds": seeds, "seed": args.seed,
            "env_steps": int(metrics["env_steps"][0, -1]),
            "final_return_per_seed": [float(v) for v in final],
            "final_return": summarize(final), "evaluation": eval_summary, "timing": timing,
        }
        _write_json(out_dir / "summary.json", summary)
        pngs = _plot_run(out_dir)
        print(f"wrote {out_dir}/config.json, metrics.npz, summary.json, checkpoints/ and "
              f"{', '.join(p.name for p in pngs)}")
    return 0


def _parse_grid(args: argparse.Namespace) -> dict[str, list[float]]:
    from purejaxppo.sweep import load_grid_file

    grid: dict[str, list[float]] = {}
    if args.grid_file:
        grid.update(load_grid_file(args.grid_file))
    for item in args.grid:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise CLIError(f"--grid expects FIELD=V1,V2,..., got {item!r}")
        name = name.strip().replace("-", "_")
        try:
            grid[name] = [float(v) for v in values.split(",")]
        except ValueError:
            raise CLIError(f"--grid {item!r}: values must be numbers") from None
    if not grid:
        raise CLIError("sweep needs --grid FIELD=V1,V2 (repeatable) or --grid-file")
    return grid


def cmd_sweep(args: argparse.Namespace) -> int:
    """``sweep``: every seed x grid point in one compiled call."""
    _check_positive("--seeds", args.seeds)
    _check_positive("--max-runs-per-call", args.max_runs_per_call)
    out_dir = _prepare_out(args.out)
    config = config_from_args(args)
    grid = _parse_grid(args)
    from purejaxppo.sweep import check_grid, sweep

    points = check_grid(config, grid)
    seeds = args.seeds or 1
    import jax
    import numpy as np

    print(f"sweeping {config.env_name}: {len(points)} point(s) x {seeds} seed(s) x "
          f"{config.steps_trained:,} env steps", flush=True)
    start = time.perf_counter()
    result = sweep(config, seeds, grid, jax.random.PRNGKey(args.seed),
                   max_runs_per_call=args.max_runs_per_call)
    elapsed = time.perf_counter() - start
    summary = result.summary()
    print(f"done in {elapsed:.1f} s (incl. one compile, {result.num_calls} call(s))")
    print(f"{'point':>5}  {'params':<40} {'mean':>9} {'IQM':>9} {'95% CI (IQM)':>20}")
    for row in summary["points"]:
        s = row["final_return"]
        params = ", ".join(f"{k}={v:g}" for k, v in row["params"].items())
        if s["iqm"] is None:
            print(f"{row['point']:>5}  {params:<40} {'nan':>9}")
            continue
        ci = f"[{s['iqm_ci'][0]:.1f}, {s['iqm_ci'][1]:.1f}]"
        print(f"{row['point']:>5}  {params:<40} {s['mean']:>9.2f} {s['iqm']:>9.2f} {ci:>20}")
    if summary["best"] is not None:
        print(f"best: point {summary['best']['point']} {summary['best']['params']}")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_json(out_dir / "config.json", config.to_dict())
        _write_json(out_dir / "grid.json", {"grid": {k: list(map(float, v)) for k, v in
                                                     grid.items()}, "points": result.points,
                                            "dims": list(result.dims)})
        arrays = dict(result.metrics)
        arrays.update({f"grid__{k}": v for k, v in result.grid.items()})
        _write_npz(out_dir / "metrics.npz", arrays)
        summary["timing"] = {"sweep_s_including_compile": elapsed}
        _write_json(out_dir / "summary.json", summary)
        pngs = _plot_run(out_dir)
        print(f"wrote {out_dir}/config.json, grid.json, metrics.npz, summary.json and "
              f"{', '.join(p.name for p in pngs)}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: fresh episodes with a checkpoint's policy."""
    _check_positive("--episodes", args.episodes)
    from purejaxppo.checkpoint import load_checkpoint

    ckpt = load_checkpoint(_checkpoint_root(args.checkpoint))
    import jax
    import numpy as np

    from purejaxppo.evaluate import evaluate

    res = evaluate(ckpt.config, ckpt.state, jax.random.PRNGKey(args.seed), args.episodes,
                   deterministic=not args.stochastic)
    returns = np.atleast_2d(np.asarray(res.returns))
    lengths = np.atleast_2d(np.asarray(res.lengths))
    print(f"evaluating {ckpt.config.env_name} checkpoint at update {ckpt.step}: "
          f"{args.episodes} episode(s) per seed, "
          f"{'sampled' if args.stochastic else 'deterministic'} actions")
    print(f"{'seed':>6} {'mean return':>12} {'min':>9} {'max':>9} {'mean length':>12}")
    for i in range(returns.shape[0]):
        print(f"{i:>6} {returns[i].mean():>12.2f} {returns[i].min():>9.2f} "
              f"{returns[i].max():>9.2f} {lengths[i].mean():>12.1f}")
    print(f"{'all':>6} {returns.mean():>12.2f}")
    return 0


def _plot_run(run: Path) -> list[Path]:
    """Draws the PNGs of a train or sweep output dir from its files."""
    import numpy as np

    from purejaxppo.plots import plot_curves_ci, plot_sweep_final

    try:
        config = json.loads((run / "config.json").read_text())
        with np.load(run / "metrics.npz") as data:
            metrics = {k: data[k] for k in data.files}
        grid = json.loads((run / "grid.json").read_text()) if (run / "grid.json").exists() else None
        summary = json.loads((run / "summary.json").read_text()) if grid else None
    except (OSError, ValueError, KeyError) as err:
        raise CLIError(f"cannot read results in {str(run)!r}: {err}") from err
    if "episode_return" not in metrics or "env_steps" not in metrics:
        raise CLIError(f"{str(run)!r}/metrics.npz lacks episode_return or env_steps")
    env_name = config.get("env_name", "")
    out: list[Path] = []
    if grid is None:
        returns = np.atleast_2d(metrics["episode_return"])
        steps = np.atleast_2d(metrics["env_steps"])[0]
        path = run / "learning_curve.png"
        _atomic_write(path, lambda tmp: plot_curves_ci(steps, {"PPO": returns}, tmp,
                                                        title=f"PPO on {env_name}"))
        out.append(path)
    else:
        returns = metrics["episode_return"]  # [points, seeds, updates]
        steps = metrics["env_steps"][0, 0]
        curves = {", ".join(f"{k}={v:g}" for k, v in p.items()): returns[i]
                  for i, p in enumerate(grid["points"])}
        path = run / "learning_curves.png"
        _atomic_write(path, lambda tmp: plot_curves_ci(steps, curves, tmp,
                                                        title=f"PPO sweep on {env_name}"))
        out.append(path)
        path = run / "final_return.png"
        _atomic_write(path, lambda tmp: plot_sweep_final(
            summary, tmp, title=f"final return per grid point ({env_name})"))
        out.append(path)
    return out


def cmd_plot(args: argparse.Namespace) -> int:
    """``plot``: redraw the PNGs of a results dir."""
    run = Path(args.run)
    if not run.is_dir():
        raise CLIError(f"{args.run!r} is not a directory")
    for path in _plot_run(run):
        print(f"wrote {path}")
    return 0


_COMMANDS = {"train": cmd_train, "sweep": cmd_sweep, "evaluate": cmd_evaluate, "plot": cmd_plot}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``purejaxppo`` console script; returns the exit status."""
    from purejaxppo.runtime import apply_cpu_workaround

    apply_cpu_workaround()
    # orbax reads arrays in asyncio tasks; when a corrupt checkpoint fails several of
    # them, asyncio would also log each one. The ValueError below is the one report.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    try:
        args = build_parser().parse_args(argv)
        command = _COMMANDS.get(args.command)
        if command is None:
            raise CLIError(f"unknown command {args.command!r}")
        return command(args)
    except (CLIError, ValueError) as err:
        message = " ".join(str(err).split())
        print(f"purejaxppo: error: {message}", file=sys.stderr)
        if "unreadable or corrupt" in message:
            # orbax's failed reads leave callbacks that print tracebacks when the
            # interpreter shuts down; end now so the error stays one line.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(2)
        return 2
