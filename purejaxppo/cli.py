"""Command line: ``python -m purejaxppo train --env CartPole-v1 --seeds 4``.

Every :class:`~purejaxppo.config.PPOConfig` field is a flag (``--num-envs 8``,
``--hidden-sizes 64,64``, ``--anneal-lr false``). argparse is used because the
flags are generated from the dataclass fields, it ships with Python, and it lets
us turn every usage error into one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

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
        if field.name == "hidden_sizes":
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
    return PPOConfig(env_name=args.env, **overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="purejaxppo", description="PPO in pure JAX.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser("train", help="train one config over several seeds")
    train.add_argument("--env", default="CartPole-v1", help="environment name")
    train.add_argument("--seeds", type=_strict_int, default=1, help="number of seeds (vmapped)")
    train.add_argument("--seed", type=_strict_int, default=0, help="base PRNG seed")
    train.add_argument("--out", default=None, help="directory for config, metrics and plot")
    add_config_flags(train)
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    import jax
    import numpy as np

    from purejaxppo.train import make_train

    if args.seeds <= 0:
        raise CLIError(f"--seeds must be a positive integer, got {args.seeds}")
    config = config_from_args(args)
    train = jax.jit(jax.vmap(make_train(config)))
    keys = jax.random.split(jax.random.PRNGKey(args.seed), args.seeds)
    print(
        f"training {config.env_name}: {args.seeds} seed(s) x {config.steps_trained:,} env "
        f"steps ({config.num_updates} updates of {config.batch_size})",
        flush=True,
    )
    start = time.perf_counter()
    compiled = train.lower(keys).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    out = jax.block_until_ready(compiled(keys))
    run_s = time.perf_counter() - start
    returns = np.asarray(out.metrics["episode_return"])
    final = returns[:, -1]
    print(f"compile {compile_s:.1f} s, train {run_s:.1f} s "
          f"({args.seeds * config.steps_trained / run_s:,.0f} env steps/s)")
    print(f"{'seed':>6} {'final return':>14} {'env steps':>12}")
    for i, value in enumerate(final):
        print(f"{i:>6} {value:>14.2f} {int(out.metrics['env_steps'][i, -1]):>12,}")
    print(f"{'mean':>6} {np.nanmean(final):>14.2f}")
    if args.out:
        from purejaxppo.plots import plot_learning_curves

        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
        np.savez(out_dir / "metrics.npz", **{k: np.asarray(v) for k, v in out.metrics.items()})
        png = plot_learning_curves(
            np.asarray(out.metrics["env_steps"][0]), returns, out_dir / "learning_curve.png",
            title=f"PPO on {config.env_name}",
        )
        print(f"wrote {out_dir}/config.json, metrics.npz and {png}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            return cmd_train(args)
        raise CLIError(f"unknown command {args.command!r}")
    except (CLIError, ValueError) as err:
        message = " ".join(str(err).split())
        print(f"purejaxppo: error: {message}", file=sys.stderr)
        return 2
