"""The ``abm`` command line.

``abm run [CONFIG] [--steps N] [--seed S] [--set key=value ...] [--out DIR]`` runs one
scenario and writes ``results/<name>/`` (see :mod:`abm.run_output` for what it may
replace). Other commands (``sweep``, ``sensitivity``,
``viz``) are registered by their packages. Bad input is one line on stderr naming
the problem and exit code 2; nothing is written. Ctrl-C ends a command with exit
code 130, SIGTERM with 143; ``abm run`` then leaves nothing behind, nor does
``abm validate`` before it writes (see :func:`sigterm_as_interrupt`). Heavy
imports (Mesa, pandas, Solara) happen inside the commands, so ``abm --help`` is
quick.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

from abm.config import (
    CONFIG_DIR,
    DEFAULT_CONFIG,
    ConfigError,
    config_with_overrides,
    load_config,
    parse_override,
)

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM  # as a shell reports
# Top-level keys of a sweep file (abm.experiments.spec.SweepSpec) that no model config has.
SWEEP_KEYS = ("base", "design", "replicates", "fixed", "parameters", "outcomes", "run_function")
# command packages that add subcommands: module with register(subparsers)
_PLUGINS = ("abm.experiments.cli", "abm.viz.cli", "abm.validation.cli", "abm.params")


def resolve_config_path(text: str | None) -> Path:
    """A config path as given, or else relative to the package's ``configs/``."""
    if text is None:
        return DEFAULT_CONFIG
    path = Path(text)
    if path.is_file() or path.is_absolute():
        return path
    alt = CONFIG_DIR / path
    return alt if alt.is_file() else path


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(
            f"must be {'positive' if low == 1 else 'non-negative'}, got {value}"
        )
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    return _int_at_least(text, 1, "a whole number")


def seed_int(text: str) -> int:
    """argparse type: a non-negative integer seed."""
    return _int_at_least(text, 0, "an integer seed")


def parse_overrides(items: list[str]) -> dict[str, object]:
    return dict(parse_override(item) for item in items)


def refuse_sweep_file(path: Path) -> None:
    """Raise :class:`ConfigError` if ``path`` is a sweep file rather than a model config
    (it has top-level keys only a sweep file has, and no ``extends``), so that the
    mistake gets one sentence instead of a list of missing and unknown keys. A file
    that cannot be read or parsed is left to the config loader to report."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return
    if "extends" not in data and any(key in data for key in SWEEP_KEYS):
        raise ConfigError(f"{path} is a sweep file; run it with `abm sweep {path}`")


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwind like Ctrl-C, so that clean-up code runs (raised here and by
    the sweep executors, :mod:`abm.experiments.executors`)."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt), so the
    clean-up that Ctrl-C gets (staging directory and lock removed) runs for it too.

    A second SIGTERM ends the process outright (the next run tidies what that
    leaves). Only in the main thread, and only if SIGTERM has its default action:
    a handler someone else installed stays. Not for code that waits in
    ``concurrent.futures`` or Dask (the sweep executors trap SIGTERM their own way).
    """
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def cmd_run(args: argparse.Namespace) -> int:
    path = resolve_config_path(args.config)
    overrides = parse_overrides(args.set)
    config = load_config(path, overrides=overrides)
    if args.steps is not None:  # checked against the config's limit before anything is written
        config_with_overrides(config, {"simulation.steps": args.steps}, source="--steps")
    from abm.run_output import output_dir, results_dir, summary_table, write_run_files
    from abm.runs import run

    out = Path(args.out) if args.out else results_dir(config.name)
    # The directory is checked and locked before the run, so a refusal costs nothing.
    # SIGTERM, like Ctrl-C, removes the staging directory and the lock on its way out.
    with sigterm_as_interrupt(), output_dir(out, force=args.force) as staging:
        result = run(
            path,
            seed=args.seed,
            steps=args.steps,
            overrides=overrides,
            record_flows=True,
            source=str(path),
        )
        write_run_files(result, staging, out)
    df, wall = result.metrics, result.provenance.wall_seconds
    steps = len(df) - 1
    print(
        f"{config.name}: {steps} monthly steps from {config.simulation.start}, seed {args.seed}, "
        f"{wall:.2f} s ({wall / max(steps, 1) * 1e3:.1f} ms/step)"
    )
    print(summary_table(df))
    print(
        f"results: {out}/ (metrics.parquet, flows.parquet, firms.parquet, manifest.json, dashboard.png)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="abm", description="Agent-based market of GPUs, compute and tokens."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one scenario and write results/<name>/")
    run.add_argument("config", nargs="?", help="TOML config (default: configs/baseline.toml)")
    run.add_argument(
        "--steps", type=positive_int, help="months to simulate (default: the config's)"
    )
    run.add_argument("--seed", type=seed_int, default=42, help="random seed (default: 42)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set end_users.price_elasticity=2.0",
    )
    run.add_argument(
        "--out",
        help="output directory (default: results/<name>); replaced only if it holds "
        "exactly an earlier run's outputs or is empty",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="replace --out if it holds an earlier run's outputs plus files added since "
        "(deleted, and named on stderr before the run); never a directory without a run's "
        "manifest.json, nor one holding a subdirectory or a file tracked by git (or, in a "
        "git repository, when git cannot say)",
    )
    run.set_defaults(func=cmd_run)
    for module in _PLUGINS:
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; an unknown argument is reported with its subcommand's usage."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        command = getattr(args, "command", None)
        owner = subparsers.choices.get(command, parser)
        owner.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    from abm.run_output import WriteError

    parser = build_parser()
    args = parse_args(parser, argv)
    try:
        if isinstance(getattr(args, "config", None), str):  # run, viz, validate, params
            refuse_sweep_file(resolve_config_path(args.config))
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"abm: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # the reader stopped reading (`abm params | head`): not an error of ours; keep
        # Python from failing again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (WriteError, OSError) as exc:
        print(f"abm: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated):
            print("abm: terminated", file=sys.stderr)
            return EXIT_TERMINATED
        print("abm: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
