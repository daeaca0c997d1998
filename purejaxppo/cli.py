"""Command line: ``purejaxppo {train,sweep,evaluate,plot,presets}`` (also ``python -m purejaxppo``).

Every :class:`~purejaxppo.config.PPOConfig` field is a flag (``--num-envs 8``,
``--hidden-sizes 64,64``, ``--anneal-lr false``). argparse is used because the
flags are generated from the dataclass fields (so a new config field is a new flag
with no extra code), it ships with Python (no dependency to pin), and it lets us turn
every usage error into ONE line on stderr with a non-zero exit. tyro would derive the
same flags but prints multi-line rich-formatted errors and adds a dependency.

Outputs are validated before anything is written and every file is written to a
temporary name and renamed into place, so a failed command leaves nothing half-written.

Exit status: 0 on success, 2 on a usage error (one line on stderr), 3 when training
diverged (one line on stderr naming the seed, the update, the env steps and the first
quantity that went non-finite), 128 + the signal number when SIGINT/SIGTERM stopped
chunked training (after a checkpoint; the line on stderr says how to resume).
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from purejaxppo.config import PPOConfig, field_docs


class CLIError(Exception):
    """A usage error reported as one line on stderr."""


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps help text between words only (never inside "state-dependent")."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

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


def _parse_ranges(text: str) -> tuple[tuple[str, float, float], ...]:
    """``FIELD=LOW:HIGH[,FIELD=LOW:HIGH...]`` (or ``none``) as ``randomize_ranges``."""
    if text.strip().lower() in ("none", ""):
        return ()
    out = []
    for part in text.split(","):
        field, sep, bounds = part.strip().partition("=")
        low, colon, high = bounds.partition(":")
        try:
            if not (sep and colon and field.strip()):
                raise ValueError
            out.append((field.strip(), float(low), float(high)))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected FIELD=LOW:HIGH[,FIELD=LOW:HIGH...] like length=0.25:1.0, got {text!r}"
            ) from None
    return tuple(out)


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


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``none`` (any case) for ``None``, else ``parse``: for ``str | None`` fields etc."""

    def parse_optional(text: str) -> Any:
        return None if text.strip().lower() == "none" else parse(text)

    return parse_optional


_FIELD_TYPES: dict[str, Callable[[str], Any]] = {
    "bool": _parse_bool,
    "int": _strict_int,
    "float": _float,
    "str": str,
    "str | None": _optional(str),
    "int | None": _optional(_strict_int),
}


def _flag_help(field: dataclasses.Field) -> str:
    default = field.default
    if isinstance(default, tuple):
        shown = ",".join(str(v) for v in default)
    elif isinstance(default, bool):
        shown = str(default).lower()
    else:
        shown = str(default)
    doc = " ".join(field_docs()[field.name].replace("``", "").split())
    return f"{doc} (default: {shown})".replace("%", "%%")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """Adds ``--<field>`` for every PPOConfig field (default: unset, i.e. the preset's,
    the config file's or the config's own); the help text is the field's description
    in the :class:`PPOConfig` docstring and its default."""
    group = parser.add_argument_group(
        "PPOConfig fields (a flag overrides --config, which overrides --preset)"
    )
    for field in dataclasses.fields(PPOConfig):
        if field.name in ("env_name", "env_kwargs"):
            continue
        flag = "--" + field.name.replace("_", "-")
        kind: Callable[[str], Any]
        if field.name in ("hidden_sizes", "critic_hidden_sizes", "cnn_channels", "cnn_kernels"):
            kind = _parse_int_tuple
        elif field.name == "randomize_ranges":
            kind = _parse_ranges
        else:
            kind = _FIELD_TYPES[field.type if isinstance(field.type, str) else field.type.__name__]
        group.add_argument(
            flag, dest=field.name, type=kind, default=None, metavar="V", help=_flag_help(field)
        )


def load_config_file(path: str) -> dict[str, Any]:
    """The PPOConfig fields in a ``.yaml``/``.yml``/``.json`` file (a mapping).

    Raises:
      ValueError: unreadable file, unknown extension, not a mapping, or a key that is
        not a PPOConfig field (the message lists the valid ones).
    """
    from purejaxppo.config import field_names, ranges_tuple
    from purejaxppo.sweep import load_mapping_file

    data = load_mapping_file(path, "config file")
    unknown = sorted(str(k) for k in set(data) - set(field_names()))
    if unknown:
        raise ValueError(
            f"config file {path!r} has unknown key(s) {unknown}; valid keys: {field_names()}"
        )
    data = dict(data)
    if "hidden_sizes" in data and isinstance(data["hidden_sizes"], list):
        data["hidden_sizes"] = tuple(data["hidden_sizes"])
    if isinstance(data.get("env_kwargs"), dict):
        data["env_kwargs"] = tuple(sorted(data["env_kwargs"].items()))
    if "randomize_ranges" in data:
        data["randomize_ranges"] = ranges_tuple(data["randomize_ranges"])
    return data


def config_from_args(args: argparse.Namespace) -> PPOConfig:
    """The config from ``--preset`` or ``--env``, then ``--config FILE``, then field flags."""
    fields: dict[str, Any] = {}
    if getattr(args, "config", None):
        fields.update(load_config_file(args.config))
    fields.update(
        {
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(PPOConfig)
            if getattr(args, f.name, None) is not None
        }
    )
    if getattr(args, "preset", None):
        fields.pop("env_name", None)
        return PPOConfig.preset(args.preset, **fields)
    if args.env:
        fields["env_name"] = args.env
    return PPOConfig.from_dict(fields)


def _has_presets() -> bool:
    return (
        hasattr(PPOConfig, "preset") and importlib.util.find_spec("purejaxppo.presets") is not None
    )


# ----------------------------------------------------------------------------- parser
def _add_run_flags(parser: argparse.ArgumentParser, seeds_help: str) -> None:
    parser.add_argument("--env", default=None, help="environment name (default CartPole-v1)")
    if _has_presets():
        parser.add_argument("--preset", default=None, help="tuned preset for an env name")
    parser.add_argument("--seeds", type=_strict_int, default=None, help=seeds_help)
    parser.add_argument("--seed", type=_strict_int, default=0, help="base PRNG seed")
    parser.add_argument("--out", default=None, help="output directory")
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="PPOConfig fields from a YAML or JSON mapping (unknown keys are refused)",
    )
    parser.add_argument(
        "--smooth",
        type=_strict_int,
        default=1,
        metavar="N",
        help="plot learning curves as a moving average over N updates (default: 1, no smoothing)",
    )
    add_config_flags(parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``purejaxppo`` argument parser (subcommands train, sweep, evaluate, plot)."""
    parser = _Parser(prog="purejaxppo", description="PPO in pure JAX.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train one config over several seeds (vmapped)")
    _add_run_flags(train, "number of seeds (vmapped; default 1)")
    train.add_argument(
        "--checkpoint-every",
        type=_strict_int,
        default=None,
        metavar="N",
        help="save a checkpoint every N updates (needs --out)",
    )
    train.add_argument(
        "--chunk-updates",
        type=_strict_int,
        default=None,
        metavar="N",
        help="updates per compiled call in chunked mode",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the checkpoints an earlier run left in --out "
        "(without it such an --out is refused before training)",
    )
    train.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue from a checkpoint (a run dir or checkpoint dir)",
    )
    train.add_argument("--progress", action="store_true", help="show a progress bar (chunked)")
    train.add_argument(
        "--eval-episodes",
        type=_strict_int,
        default=10,
        metavar="N",
        help="deterministic evaluation episodes per seed at the end (0: none)",
    )
    train.add_argument(
        "--logger",
        default=None,
        metavar="KIND[,KIND]",
        help="metric loggers fed after every chunk, x-axis env steps: csv "
        "(OUT/metrics.csv), tensorboard (OUT/tensorboard), wandb "
        "(OUT/wandb, offline unless WANDB_MODE says otherwise); "
        "default: csv when --out is given",
    )

    sweep = sub.add_parser("sweep", help="sweep traced hyperparameters in one compile")
    _add_run_flags(sweep, "seeds per grid point (default 1)")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=V1,V2",
        help="values of one traced field (repeatable)",
    )
    sweep.add_argument("--grid-file", default=None, help="grid as a YAML or JSON mapping")
    sweep.add_argument(
        "--max-runs-per-call",
        type=_strict_int,
        default=None,
        metavar="N",
        help="split the sweep into calls of at most N runs",
    )

    pbt = sub.add_parser("pbt", help="population-based training in one compile")
    _add_run_flags(pbt, "runs per member (vmapped; default 1)")
    pbt.add_argument(
        "--population",
        type=_strict_int,
        default=8,
        metavar="P",
        help="members of the population (default 8)",
    )
    pbt.add_argument(
        "--interval",
        type=_strict_int,
        default=None,
        metavar="K",
        help="PPO updates between exploit steps (required)",
    )
    pbt.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="FIELD=PRIOR:LOW:HIGH",
        help="one searched traced field (repeatable): PRIOR is loguniform or "
        "uniform with LOW:HIGH, or choice:V1:V2:...",
    )
    pbt.add_argument(
        "--space-file", default=None, help="the space as a YAML or JSON mapping FIELD: [PRIOR, ...]"
    )
    pbt.add_argument(
        "--exploit-fraction",
        type=_float,
        default=0.25,
        metavar="F",
        help="bottom / top fraction of the population in each exploit step "
        "(default 0.25; 0 is random search)",
    )
    pbt.add_argument(
        "--perturb", default="0.8,1.25", metavar="F1,F2", help="explore factors (default 0.8,1.25)"
    )
    pbt.add_argument(
        "--resample-probability",
        type=_float,
        default=0.25,
        metavar="P",
        help="chance that explore resamples a field from its prior (default 0.25)",
    )
    pbt.add_argument(
        "--fitness",
        default="episodes",
        choices=("episodes", "eval"),
        help="episodes: mean return of the segment's completed episodes; eval: "
        "--eval-episodes deterministic episodes in-jit",
    )
    pbt.add_argument(
        "--eval-episodes",
        type=_strict_int,
        default=None,
        metavar="N",
        help="episodes per run for --fitness eval",
    )
    pbt.add_argument(
        "--checkpoint-every",
        type=_strict_int,
        default=None,
        metavar="N",
        help="run segment by segment and checkpoint the population every N "
        "segments into OUT/checkpoints (needs --out)",
    )
    pbt.add_argument(
        "--resume",
        action="store_true",
        help="continue the run whose checkpoints are in OUT/checkpoints",
    )

    ev = sub.add_parser("evaluate", help="evaluate the policy of a checkpoint")
    ev.add_argument("checkpoint", help="run dir, checkpoint dir or checkpoint step dir")
    ev.add_argument("--episodes", type=_strict_int, default=10, help="episodes per seed")
    ev.add_argument("--seed", type=_strict_int, default=0, help="PRNG seed")
    ev.add_argument("--stochastic", action="store_true", help="sample actions (default: mode)")
    ev.add_argument(
        "--nominal",
        action="store_true",
        help="run the environment's nominal parameters (default: as trained, i.e. "
        "drawn per episode when the config has domain randomization)",
    )

    plot = sub.add_parser("plot", help="(re)draw the plots of a train or sweep output dir")
    plot.add_argument("run", help="output dir of train or sweep")
    plot.add_argument(
        "--smooth",
        type=_strict_int,
        default=1,
        metavar="N",
        help="moving average over N updates (default: 1, no smoothing)",
    )

    presets = sub.add_parser("presets", help="list the presets, their sources and results")
    presets.add_argument("name", nargs="?", default=None, help="show this preset's values too")
    for command in (train, sweep, pbt, ev, plot):
        _add_cache_flags(command)
    return parser


def _add_cache_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of the persistent compilation cache (see ``purejaxppo/runtime.py``)."""
    parser.add_argument(
        "--compile-cache-dir",
        default=None,
        metavar="DIR",
        help="persistent compilation cache directory (default: $PUREJAXPPO_CACHE_DIR, "
        "else ~/.cache/purejaxppo/jax)",
    )
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="do not read or write the persistent compilation cache "
        "(also: PUREJAXPPO_COMPILE_CACHE=0)",
    )


def _configure_compile_cache(args: argparse.Namespace) -> None:
    from purejaxppo import runtime

    args.cache_dir = None  # where the traced train program is kept (None: nowhere)
    if not hasattr(args, "no_compile_cache"):  # a command that compiles nothing
        return
    if args.no_compile_cache or runtime.compile_cache_disabled_by_env():
        if args.compile_cache_dir is not None:
            raise CLIError("--compile-cache-dir and --no-compile-cache exclude each other")
        return
    args.cache_dir = runtime.enable_compilation_cache(args.compile_cache_dir)


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
            # mypy checks a ``**`` of arrays against savez's ``allow_pickle: bool``; the
            # keys are metric names, never ``allow_pickle``.
            np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]

    _atomic_write(path, write)


def _prepare_out(out: str | None) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise CLIError(f"--out {out!r} exists and is not a directory")
    return path


def _check_fresh_out(args: argparse.Namespace, out_dir: Path | None) -> None:
    """A new run never mixes its checkpoints with an earlier run's: refuse, or with
    ``--overwrite`` delete the old ``checkpoints/`` now (before any training)."""
    if out_dir is None or args.resume is not None:
        return
    old = out_dir / "checkpoints"
    if not old.is_dir() or not any(old.iterdir()):
        return
    if not args.overwrite:
        raise CLIError(
            f"--out {str(out_dir)!r} already holds checkpoints of an earlier run; pass "
            f"--overwrite to replace them, --resume {str(out_dir)!r} to continue that run, "
            "or choose another --out"
        )
    import shutil

    shutil.rmtree(old)


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
class _Stop(Exception):
    """Ends a command with a status and ONE line on stderr (divergence, interruption)."""

    def __init__(self, status: int, line: str) -> None:
        super().__init__(line)
        self.status, self.line = status, line


def _logger_kinds(args: argparse.Namespace, out_dir: Path | None) -> list[str]:
    from purejaxppo.loggers import LOGGERS

    if args.logger is None:
        return ["csv"] if out_dir is not None else []
    kinds = [k.strip() for k in args.logger.split(",") if k.strip()]
    bad = [k for k in kinds if k not in LOGGERS]
    if bad or not kinds:
        raise CLIError(
            f"--logger {args.logger!r}: allowed kinds are {list(LOGGERS)} (comma-separated)"
        )
    if out_dir is None:
        raise CLIError("--logger needs --out (the loggers write under OUT)")
    return list(dict.fromkeys(kinds))


def _load_for_resume(path: str, config: PPOConfig | None):
    """The newest intact checkpoint under ``path``; says which corrupt ones it skipped."""
    from purejaxppo.checkpoint import load_newest_intact

    ckpt, skipped = load_newest_intact(_checkpoint_root(path), config)
    if skipped:
        print(
            f"purejaxppo: warning: skipped {len(skipped)} corrupt checkpoint step(s) "
            f"(newest: {' '.join(skipped[0].split())}); using {ckpt.path} (update "
            f"{ckpt.step})",
            file=sys.stderr,
            flush=True,
        )
    return ckpt


def cmd_train(args: argparse.Namespace) -> int:
    """``train``: fused by default; chunked with --checkpoint-every/--chunk-updates/
    --resume/--progress (then SIGINT/SIGTERM checkpoint and stop after the chunk)."""
    for flag in ("seeds", "checkpoint_every", "chunk_updates", "smooth"):
        _check_positive("--" + flag.replace("_", "-"), getattr(args, flag))
    if args.eval_episodes < 0:
        raise CLIError(f"--eval-episodes must be >= 0, got {args.eval_episodes}")
    out_dir = _prepare_out(args.out)
    _check_fresh_out(args, out_dir)
    if args.checkpoint_every is not None and out_dir is None:
        raise CLIError("--checkpoint-every needs --out (checkpoints go to OUT/checkpoints)")
    kinds = _logger_kinds(args, out_dir)

    ckpt = None
    if args.resume is not None:
        flagged = any(
            getattr(args, f.name, None) is not None for f in dataclasses.fields(PPOConfig)
        )
        given = (
            config_from_args(args)
            if flagged or args.env or args.config or getattr(args, "preset", None)
            else None
        )
        ckpt = _load_for_resume(args.resume, given)
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

    from purejaxppo import guard
    from purejaxppo.loggers import make_logger
    from purejaxppo.train import env_steps, make_train

    print(
        f"training {config.env_name}: {seeds} seed(s) x {config.steps_trained:,} env "
        f"steps ({config.num_updates} updates of {config.batch_size})",
        flush=True,
    )
    key = jax.random.PRNGKey(args.seed)
    chunked = (
        args.checkpoint_every is not None
        or args.chunk_updates is not None
        or ckpt is not None
        or args.progress
    )
    ckpt_dir = out_dir / "checkpoints" if out_dir is not None else None
    timing: dict[str, float] = {}
    start_update = ckpt.step if ckpt is not None else 0
    # Without --out there are no logger kinds (_logger_kinds), so no loggers.
    loggers = (
        [make_logger(k, out_dir, config, start_update=start_update) for k in kinds]
        if out_dir is not None
        else []
    )

    def log(metrics: dict[str, Any], first_update: int) -> None:
        for logger in loggers:
            logger.log(metrics, first_update)

    divergence = None
    last_finite: Path | None = None
    try:
        if chunked:
            from purejaxppo.loop import TrainingDiverged, TrainingInterrupted, train_in_chunks

            if ckpt is not None:
                print(
                    f"resuming from update {ckpt.step}, {ckpt.env_steps:,} env steps ({ckpt.path})",
                    flush=True,
                )

            def callback(info: Any) -> None:
                log(info.metrics, info.update_step - np.shape(info.metrics["update_step"])[-1])

            start = time.perf_counter()
            try:
                out = train_in_chunks(
                    config,
                    key,
                    num_seeds=seeds,
                    chunk_updates=args.chunk_updates,
                    resume=ckpt,
                    progress=args.progress,
                    checkpoint_dir=ckpt_dir,
                    checkpoint_every=args.checkpoint_every,
                    callback=callback,
                )
            except TrainingDiverged as err:
                out, divergence, last_finite = err.output, err.divergence, err.checkpoint
            except TrainingInterrupted as err:
                name = __import__("signal").Signals(err.signum).name
                if err.checkpoint is None:
                    where = "no checkpoint written (no --out)"
                    how = "rerun with --out to be able to resume"
                else:
                    run_dir = err.checkpoint.parent.parent
                    where = f"checkpoint written to {err.checkpoint}"
                    how = f"resume with: purejaxppo train --resume {run_dir} --out {run_dir}" + (
                        f" --logger {args.logger}" if args.logger else ""
                    )
                raise _Stop(
                    128 + err.signum,
                    f"interrupted by {name} after update {err.update_step} of "
                    f"{config.num_updates}; {where}; {how}",
                ) from None
            timing["train_s_including_compile"] = time.perf_counter() - start
            print(f"train (chunked, incl. compile) {timing['train_s_including_compile']:.1f} s")
        else:
            keys = jax.random.split(key, seeds)
            from purejaxppo.runtime import cached_program, compile_cache_counts

            hits = compile_cache_counts()["hits"]
            start = time.perf_counter()
            if getattr(args, "cache_dir", None) is not None:
                # The traced program is kept next to the compiled one, so a repeated
                # run skips tracing and lowering as well as XLA's compilation.
                train, unflatten, source = cached_program(
                    jax.vmap(make_train(config)),
                    (keys,),
                    {"program": "purejaxppo.cli train", "config": config.to_dict()},
                    args.cache_dir,
                )
                timing["program_from_cache"] = source == "disk"
            else:
                train, unflatten = jax.jit(jax.vmap(make_train(config))), None
            compiled = train.lower(keys).compile()
            timing["compile_s"] = time.perf_counter() - start
            timing["compile_cache_hit"] = compile_cache_counts()["hits"] > hits
            start = time.perf_counter()
            out = jax.block_until_ready(compiled(keys))
            if unflatten is not None:
                out = unflatten(out)
            timing["train_s"] = time.perf_counter() - start
            cached = ""
            if timing["compile_cache_hit"]:
                cached = (
                    " (traced program and executable from the cache)"
                    if timing.get("program_from_cache")
                    else " (from the compilation cache)"
                )
            print(
                f"compile {timing['compile_s']:.1f} s{cached}, train {timing['train_s']:.1f} s "
                f"({seeds * config.steps_trained / timing['train_s']:,.0f} env steps/s)"
            )
            fused_metrics = {k: np.asarray(v) for k, v in out.metrics.items()}
            log(fused_metrics, 0)
            divergence = guard.find_divergence(fused_metrics["nonfinite"], config.batch_size)
            if divergence is not None and ckpt_dir is not None:
                from purejaxppo.checkpoint import save_checkpoint
                from purejaxppo.loop import replay

                good = divergence.update
                state = replay(config, key, good, num_seeds=seeds)
                last_finite = save_checkpoint(
                    ckpt_dir, config, state, {k: v[..., :good] for k, v in fused_metrics.items()}
                )
    finally:
        for logger in loggers:
            logger.close()
    metrics = {k: np.asarray(v) for k, v in out.metrics.items()}
    final = metrics["episode_return"][:, -1]
    steps = env_steps(config, metrics["update_step"])  # exact int64 at any count

    eval_means = None
    eval_summary = None
    if args.eval_episodes and divergence is None:
        from purejaxppo.evaluate import evaluate
        from purejaxppo.stats import summarize

        res = evaluate(config, out.state, jax.random.fold_in(key, 1), args.eval_episodes)
        eval_returns = np.asarray(res.returns)
        eval_means = eval_returns.mean(axis=1)
        from purejaxppo.evaluate import describe_policy

        print(f"evaluation: {describe_policy(config, True)}")
        eval_summary = {
            "episodes_per_seed": args.eval_episodes,
            "deterministic": True,
            "policy": describe_policy(config, True),
            "per_seed_mean": eval_means.tolist(),
            **summarize(eval_means),
        }
    if divergence is None:
        _final_table(final, steps[:, -1], eval_means)

    if out_dir is not None:
        from purejaxppo.checkpoint import save_checkpoint
        from purejaxppo.stats import summarize

        out_dir.mkdir(parents=True, exist_ok=True)
        if not chunked and divergence is None:
            assert ckpt_dir is not None  # it is set whenever out_dir is
            save_checkpoint(ckpt_dir, config, out.state, metrics)
        _write_json(out_dir / "config.json", config.to_dict())
        _write_npz(out_dir / "metrics.npz", {**metrics, "env_steps": steps})
        summary = {
            "env_name": config.env_name,
            "num_seeds": seeds,
            "seed": args.seed,
            "env_steps": int(steps[0, -1]),
            "final_return_per_seed": [float(v) for v in final],
            "final_return": summarize(final),
            "evaluation": eval_summary,
            "timing": timing,
            "diverged": None
            if divergence is None
            else {
                "seed": divergence.run,
                "update": divergence.update,
                "env_steps": divergence.env_steps,
                "quantity": divergence.quantity,
                "seeds": divergence.runs,
                "first_update_per_seed": guard.first_nonfinite(metrics["nonfinite"]).tolist(),
                "last_finite_checkpoint": None if last_finite is None else str(last_finite),
            },
        }
        _write_json(out_dir / "summary.json", summary)
        pngs = _plot_run(out_dir, args.smooth)
        print(
            f"wrote {out_dir}/config.json, metrics.npz, summary.json, checkpoints/ and "
            f"{', '.join(p.name for p in pngs)}"
        )
    if divergence is not None:
        where = (
            "; no checkpoint written (no --out)"
            if last_finite is None
            else f"; last finite checkpoint: {last_finite}"
        )
        raise _Stop(3, f"error: training diverged: {divergence.describe()}{where}")
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
    _check_positive("--smooth", args.smooth)
    out_dir = _prepare_out(args.out)
    config = config_from_args(args)
    grid = _parse_grid(args)
    from purejaxppo.sweep import check_grid, sweep

    points = check_grid(config, grid)
    seeds = args.seeds or 1
    import jax

    print(
        f"sweeping {config.env_name}: {len(points)} point(s) x {seeds} seed(s) x "
        f"{config.steps_trained:,} env steps",
        flush=True,
    )
    start = time.perf_counter()
    result = sweep(
        config, seeds, grid, jax.random.PRNGKey(args.seed), max_runs_per_call=args.max_runs_per_call
    )
    elapsed = time.perf_counter() - start
    summary = result.summary()
    print(f"done in {elapsed:.1f} s (incl. one compile, {result.num_calls} call(s))")
    print(f"{'point':>5}  {'params':<40} {'mean':>9} {'IQM':>9} {'95% CI (IQM)':>20}")
    for row in summary["points"]:
        s = row["final_return"]
        params = ", ".join(f"{k}={v:g}" for k, v in row["params"].items())
        bad = row["diverged"]
        mark = (
            ""
            if bad is None
            else (f"  DIVERGED: seed(s) {bad['seeds']} at update(s) {bad['first_update']}")
        )
        if s["iqm"] is None:
            print(f"{row['point']:>5}  {params:<40} {'-':>9}{mark}")
            continue
        ci = f"[{s['iqm_ci'][0]:.1f}, {s['iqm_ci'][1]:.1f}]"
        print(f"{row['point']:>5}  {params:<40} {s['mean']:>9.2f} {s['iqm']:>9.2f} {ci:>20}{mark}")
    if summary["best"] is not None:
        print(f"best: point {summary['best']['point']} {summary['best']['params']}")
    if summary["num_diverged_points"]:
        print(
            f"{summary['num_diverged_points']} of {len(summary['points'])} point(s) had "
            "runs that went non-finite; their statistics leave those runs out"
        )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_json(out_dir / "config.json", config.to_dict())
        _write_json(
            out_dir / "grid.json",
            {
                "grid": {k: list(map(float, v)) for k, v in grid.items()},
                "points": result.points,
                "dims": list(result.dims),
            },
        )
        arrays = dict(result.metrics)
        arrays["env_steps"] = result.env_steps()
        arrays.update({f"grid__{k}": v for k, v in result.grid.items()})
        _write_npz(out_dir / "metrics.npz", arrays)
        summary["timing"] = {"sweep_s_including_compile": elapsed}
        _write_json(out_dir / "summary.json", summary)
        pngs = _plot_run(out_dir, args.smooth)
        print(
            f"wrote {out_dir}/config.json, grid.json, metrics.npz, summary.json and "
            f"{', '.join(p.name for p in pngs)}"
        )
    if summary["num_diverged_points"] == len(summary["points"]):
        raise _Stop(3, "error: sweep diverged: every grid point had a run that went non-finite")
    return 0


def _parse_space(args: argparse.Namespace) -> dict[str, list[Any]]:
    from purejaxppo.sweep import load_mapping_file

    space: dict[str, list[Any]] = {}
    if args.space_file:
        for name, spec in load_mapping_file(args.space_file, "space file").items():
            if isinstance(spec, str) or not isinstance(spec, (list, tuple)):
                raise CLIError(f"space file: {name!r} must map to [PRIOR, ...], got {spec!r}")
            space[name] = list(spec)
    for item in args.space:
        name, sep, spec = item.partition("=")
        parts = spec.split(":")
        if not sep or len(parts) < 3:
            raise CLIError(
                f"--space expects FIELD=PRIOR:LOW:HIGH or FIELD=choice:V1:V2..., got {item!r}"
            )
        try:
            values = [float(v) for v in parts[1:]]
        except ValueError:
            raise CLIError(f"--space {item!r}: bounds must be numbers") from None
        space[name.strip().replace("-", "_")] = [parts[0].strip(), *values]
    if not space:
        raise CLIError("pbt needs --space FIELD=PRIOR:LOW:HIGH (repeatable) or --space-file")
    return space


def cmd_pbt(args: argparse.Namespace) -> int:
    """``pbt``: population-based training, the whole schedule in one compiled call."""
    for flag in (
        "--seeds",
        "--population",
        "--interval",
        "--eval-episodes",
        "--smooth",
        "--checkpoint-every",
    ):
        _check_positive(flag, getattr(args, flag[2:].replace("-", "_")))
    if args.interval is None:
        raise CLIError("pbt needs --interval K (PPO updates between exploit steps)")
    if (args.checkpoint_every is not None or args.resume) and args.out is None:
        raise CLIError(
            "--checkpoint-every and --resume need --out (checkpoints go to OUT/checkpoints)"
        )
    try:
        perturb = tuple(float(v) for v in args.perturb.split(","))
    except ValueError:
        raise CLIError(f"--perturb expects numbers like 0.8,1.25, got {args.perturb!r}") from None
    out_dir = _prepare_out(args.out)
    config = config_from_args(args)
    space = _parse_space(args)
    from purejaxppo.pbt import make_pbt, pbt

    options = dict(
        seeds=args.seeds or 1,
        exploit_fraction=args.exploit_fraction,
        perturb=perturb,
        resample_probability=args.resample_probability,
        fitness=args.fitness,
        eval_episodes=args.eval_episodes,
    )
    fns = make_pbt(config, args.population, space, args.interval, **options)  # validates
    import jax
    import numpy as np

    print(
        f"PBT on {config.env_name}: population {args.population} x {options['seeds']} "
        f"run(s) x {config.steps_trained:,} env steps, exploit every {args.interval} "
        f"updates ({fns.num_exploits} exploit steps)",
        flush=True,
    )
    start = time.perf_counter()
    checkpoints = {}
    if args.checkpoint_every is not None or args.resume:
        assert out_dir is not None  # checked above: they need --out
        checkpoints = dict(
            checkpoint_dir=out_dir / "checkpoints",
            checkpoint_every=args.checkpoint_every or 1,
            resume=args.resume,
        )
    result = pbt(
        config,
        args.population,
        space,
        args.interval,
        jax.random.PRNGKey(args.seed),
        **options,
        **checkpoints,
    )
    elapsed = time.perf_counter() - start
    summary = result.summary()
    print(f"done in {elapsed:.1f} s (incl. compile)")
    names = list(result.space)
    print(f"{'member':>6}  {'final fitness':>13}  " + "  ".join(f"{n:>14}" for n in names))
    for p in range(result.population):
        fit = result.fitness[-1, p]
        mark = "  <- best" if p == result.best else ""
        print(
            f"{p:>6}  {fit:>13.2f}  "
            + "  ".join(f"{result.hparams[n][-1, p]:>14.6g}" for n in names)
            + mark
        )
    print(f"best: member {result.best}, lineage {result.ancestry()}")
    diverged = int(result.diverged.any(axis=0).sum())
    if diverged:
        print(
            f"{diverged} member slot(s) went non-finite during some segment; each was "
            "ranked last and replaced at the next exploit step (pbt.json: diverged)"
        )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_json(out_dir / "config.json", config.to_dict())
        record = {
            "space": {
                n: [d.prior, *(d.choices or (d.low, d.high))] for n, d in result.space.items()
            },
            "population": result.population,
            "interval": result.interval,
            "options": {**options, "perturb": list(perturb)},
            "lineage": result.lineage.tolist(),
            "replaced": result.replaced.tolist(),
            "hparams": {n: result.hparams[n].tolist() for n in names},
            "fitness": [
                [None if not np.isfinite(v) else float(v) for v in row] for row in result.fitness
            ],
            "diverged": result.diverged.tolist(),
            "summary": summary,
            "timing": {"pbt_s_including_compile": elapsed},
        }
        _write_json(out_dir / "pbt.json", record)
        _write_npz(out_dir / "metrics.npz", {**result.metrics, "env_steps": result.env_steps()})
        png = _plot_pbt(out_dir, args.smooth)
        print(f"wrote {out_dir}/config.json, pbt.json, metrics.npz and {png.name}")
    if result.diverged[-1].all():
        raise _Stop(3, "error: PBT diverged: every member went non-finite in the last segment")
    return 0


def _plot_pbt(run: Path, smoothing: int = 1) -> Path:
    """Draws ``population.png`` of a pbt output dir from its files."""
    import numpy as np

    from purejaxppo.plots import plot_pbt

    try:
        config = json.loads((run / "config.json").read_text())
        record = json.loads((run / "pbt.json").read_text())
        with np.load(run / "metrics.npz") as data:
            returns, steps = data["episode_return"], data["env_steps"]
    except (OSError, ValueError, KeyError) as err:
        raise CLIError(f"cannot read PBT results in {str(run)!r}: {err}") from err
    if returns.ndim == 3:  # [population, seeds, updates]: one line per member
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                returns = np.nanmean(returns, axis=1)
        steps = steps[:, 0]
    steps = steps[0]
    per_update = int(steps[0])
    interval = int(record["interval"])
    cuts = np.arange(len(record["lineage"]) + 1) * interval * per_update
    edges = np.append(cuts, steps[-1])
    hparams = {n: np.asarray(v) for n, v in record["hparams"].items()}
    logs = tuple(n for n, spec in record["space"].items() if spec[0] == "loguniform")
    path = run / "population.png"
    best = record["summary"]["best"]
    _atomic_write(
        path,
        lambda tmp: plot_pbt(
            steps,
            returns,
            edges,
            hparams,
            tmp,
            title=f"PBT on {config.get('env_name', '')}",
            log_fields=logs,
            best=best,
            smoothing=smoothing,
        ),
    )
    return path


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: fresh episodes with a checkpoint's policy."""
    _check_positive("--episodes", args.episodes)
    ckpt = _load_for_resume(args.checkpoint, None)
    import jax
    import numpy as np

    from purejaxppo.evaluate import evaluate

    res = evaluate(
        ckpt.config,
        ckpt.state,
        jax.random.PRNGKey(args.seed),
        args.episodes,
        deterministic=not args.stochastic,
        sim_params="nominal" if args.nominal else None,
    )
    returns = np.atleast_2d(np.asarray(res.returns))
    lengths = np.atleast_2d(np.asarray(res.lengths))
    print(
        f"evaluating {ckpt.config.env_name} checkpoint at update {ckpt.step}: "
        f"{args.episodes} episode(s) per seed, "
        f"{'sampled' if args.stochastic else 'deterministic'} actions"
        + (", nominal parameters" if args.nominal else "")
    )
    from purejaxppo.evaluate import describe_policy

    print(f"policy: {describe_policy(ckpt.config, not args.stochastic)}")
    print(f"{'seed':>6} {'mean return':>12} {'min':>9} {'max':>9} {'mean length':>12}")
    for i in range(returns.shape[0]):
        print(
            f"{i:>6} {returns[i].mean():>12.2f} {returns[i].min():>9.2f} "
            f"{returns[i].max():>9.2f} {lengths[i].mean():>12.1f}"
        )
    print(f"{'all':>6} {returns.mean():>12.2f}")
    return 0


def _plot_run(run: Path, smoothing: int = 1) -> list[Path]:
    """Draws the PNGs of a train or sweep output dir from its files."""
    import numpy as np

    from purejaxppo.plots import plot_curves_ci, plot_sweep_final

    try:
        config = json.loads((run / "config.json").read_text())
        with np.load(run / "metrics.npz") as data:
            metrics = {k: data[k] for k in data.files}
        grid = json.loads((run / "grid.json").read_text()) if (run / "grid.json").exists() else None
        summary_path = run / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
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
        bad = (summary or {}).get("diverged")
        note, marks = None, None
        if bad:
            who = "the run" if bad["seed"] is None else f"seed {bad['seed']}"
            note = (
                f"DIVERGED: {who} went non-finite ({bad['quantity']})\nat update "
                f"{bad['update']}, env steps {bad['env_steps']:,}"
            )
            marks = {f"first non-finite update ({who})": bad["env_steps"]}
        _atomic_write(
            path,
            lambda tmp: plot_curves_ci(
                steps,
                {"PPO": returns},
                tmp,
                title=f"PPO on {env_name}",
                smoothing=smoothing,
                note=note,
                marks=marks,
            ),
        )
        out.append(path)
    else:
        returns = metrics["episode_return"]  # [points, seeds, updates]
        steps = metrics["env_steps"][0, 0]
        rows = (summary or {}).get("points", [])
        diverged = {r["point"] for r in rows if r.get("diverged")}
        curves = {
            ", ".join(f"{k}={v:g}" for k, v in p.items())
            + (" (diverged)" if i in diverged else ""): returns[i]
            for i, p in enumerate(grid["points"])
        }
        note = f"{len(diverged)} of {len(rows)} grid point(s) diverged" if diverged else None
        path = run / "learning_curves.png"
        _atomic_write(
            path,
            lambda tmp: plot_curves_ci(
                steps, curves, tmp, title=f"PPO sweep on {env_name}", smoothing=smoothing, note=note
            ),
        )
        out.append(path)
        path = run / "final_return.png"
        assert summary is not None  # a sweep run writes summary.json with grid.json
        _atomic_write(
            path,
            lambda tmp: plot_sweep_final(
                summary, tmp, title=f"final return per grid point ({env_name})"
            ),
        )
        out.append(path)
    return out


def cmd_plot(args: argparse.Namespace) -> int:
    """``plot``: redraw the PNGs of a results dir."""
    _check_positive("--smooth", args.smooth)
    run = Path(args.run)
    if not run.is_dir():
        raise CLIError(f"{args.run!r} is not a directory")
    paths = (
        [_plot_pbt(run, args.smooth)]
        if (run / "pbt.json").exists()
        else _plot_run(run, args.smooth)
    )
    for path in paths:
        print(f"wrote {path}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    """``presets``: every preset with its source and measured result (one: its values)."""
    import textwrap

    from purejaxppo.presets import PRESET_NOTES, VARIANT_NOTES, preset_names, variant_names

    notes = {**PRESET_NOTES, **VARIANT_NOTES}
    if args.name is not None:
        if args.name not in notes:
            raise CLIError(
                f"no preset {args.name!r}; valid names: {preset_names()}; variants: "
                f"{variant_names()}"
            )
        print(args.name)
        print(
            textwrap.fill(
                notes[args.name],
                88,
                initial_indent="  ",
                subsequent_indent="  ",
                break_on_hyphens=False,
            )
        )
        config = PPOConfig.preset(args.name)
        for name, value in config.to_dict().items():
            print(f"  {name:<18} {value}")
        return 0
    for name in preset_names() + variant_names():
        print(name)
        print(
            textwrap.fill(
                notes[name],
                88,
                initial_indent="  ",
                subsequent_indent="  ",
                break_on_hyphens=False,
            )
        )
    return 0


_COMMANDS = {
    "train": cmd_train,
    "sweep": cmd_sweep,
    "pbt": cmd_pbt,
    "evaluate": cmd_evaluate,
    "plot": cmd_plot,
    "presets": cmd_presets,
}


def _is_closed_loop_error(error: BaseException | None) -> bool:
    return isinstance(error, RuntimeError) and str(error) == "Event loop is closed"


def _silence_closed_loop_callbacks() -> None:
    """Drops the tracebacks of orbax's late read callbacks after a failed restore.

    When a corrupt checkpoint makes an orbax restore fail, reads still in flight finish
    later and post their results to the restore's event loop, which is closed by then;
    Python reports each as an unraisable ``RuntimeError: Event loop is closed``. The
    restore's own ``ValueError`` is already reported (or the CLI fell back to an intact
    checkpoint), so exactly those reports are dropped; any other one prints as usual.
    """
    previous = sys.unraisablehook
    if getattr(previous, "_purejaxppo", False):
        return

    def hook(unraisable: Any) -> None:
        if not _is_closed_loop_error(unraisable.exc_value):
            previous(unraisable)

    hook._purejaxppo = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``purejaxppo`` console script; returns the exit status."""
    # orbax reads arrays in asyncio tasks; when a corrupt checkpoint fails several of
    # them, asyncio would also log each one. The ValueError below is the one report.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    _silence_closed_loop_callbacks()
    try:
        args = build_parser().parse_args(argv)
        _configure_compile_cache(args)
        command = _COMMANDS.get(args.command)
        if command is None:
            raise CLIError(f"unknown command {args.command!r}")
        return command(args)
    except _Stop as stop:
        print(f"purejaxppo: {' '.join(stop.line.split())}", file=sys.stderr, flush=True)
        return stop.status
    except (CLIError, ValueError, ImportError) as err:
        message = " ".join(str(err).split())
        print(f"purejaxppo: error: {message}", file=sys.stderr)
        if "unreadable or corrupt" in message:
            # orbax's failed reads leave callbacks that print tracebacks when the
            # interpreter shuts down; end now so the error stays one line.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(2)
        return 2
