"""The ``abm sweep``, ``abm analyze``, ``abm export`` and ``abm sensitivity`` commands.

The main CLI calls :func:`register` with its subparsers; each subcommand stores
its handler as ``args.func``, which returns the exit code: 0 ok, 1 some runs
failed, 2 bad input (nothing written). ``python -m abm.experiments`` runs the
same commands without the rest of the CLI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from abm.cli import parse_args, positive_int
from abm.config import ConfigError

EXIT_OK, EXIT_FAILED_RUNS, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 128 + 15  # SIGTERM, as a shell reports it
REPORTED_DESIGNS = ("grid", "lhs")  # sobol and morris get sensitivity indices instead


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep``, ``analyze``, ``export`` and ``sensitivity`` subcommands."""
    p = subparsers.add_parser(
        "sweep",
        help="run a batch parameter sweep (resumable)",
        description="Run every run of a sweep file not yet stored, then write summary.parquet. "
        "Results go to results/sweeps/<name>/ unless --out is given. A grid or lhs sweep ends "
        "with its summary by design point and plots (as abm analyze).",
    )
    p.add_argument("sweep_file", type=Path, metavar="SWEEP.toml")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="local worker processes (default: one per core; 1 = in this process)",
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://host:8786"
    )
    where.add_argument(
        "--dask-local",
        type=positive_int,
        metavar="N",
        help="run on a local Dask cluster of N worker processes",
    )
    p.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep runs already stored in the output directory (default); --no-resume starts over",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    p.add_argument("--out", type=Path, metavar="DIR", help="output directory")
    p.add_argument(
        "--allow-import",
        action="append",
        default=[],
        metavar="MODULE",
        help="trust MODULE (and its submodules) as the home of the sweep file's run_function; "
        "without it a sweep file may name only functions in the abm package (repeatable)",
    )
    p.add_argument(
        "--no-plots",
        dest="plots",
        action="store_false",
        help="write the summary by design point but no plots",
    )
    p.add_argument(
        "--csv", action="store_true", help="also write the tables as CSV into <out>/csv/"
    )
    p.set_defaults(func=run_sweep_command)

    a = subparsers.add_parser(
        "analyze",
        help="summary by design point and plots of a finished sweep",
        description="Write summary_by_point.csv/.txt, outcome_<outcome>.png (each outcome "
        "against each parameter) and envelopes.png (metrics over time) into a sweep's "
        "directory, and print the summary.",
    )
    a.add_argument("sweep_dir", type=Path, metavar="SWEEP_DIR")
    a.add_argument("--no-plots", dest="plots", action="store_false", help="the summary only")
    a.add_argument("--quiet", action="store_true", help="print nothing")
    a.set_defaults(func=run_analyze_command)

    e = subparsers.add_parser(
        "export",
        help="a finished sweep's tables as CSV",
        description="Write runs.csv (per-step metrics with parameters and seed), summary.csv "
        "and design.csv into SWEEP_DIR/csv/ (or --out DIR), for spreadsheets and R.",
    )
    e.add_argument("sweep_dir", type=Path, metavar="SWEEP_DIR")
    e.add_argument("--out", type=Path, metavar="DIR", help="output directory")
    e.set_defaults(func=run_export_command)

    s = subparsers.add_parser(
        "sensitivity",
        help="Sobol or Morris sensitivity indices of a finished sweep",
        description="Write sensitivity_<outcome>.csv and .png into a sobol or morris sweep's directory.",
    )
    s.add_argument("sweep_dir", type=Path, metavar="SWEEP_DIR")
    s.add_argument(
        "--outcome", action="append", metavar="NAME", help="only this outcome (repeatable)"
    )
    s.add_argument("--quiet", action="store_true", help="no messages")
    s.set_defaults(func=run_sensitivity_command)


def run_sweep_command(args: argparse.Namespace) -> int:
    """``abm sweep``: exit 0 when every run succeeded, 1 if some failed, 2 on bad input."""
    from abm.experiments.executors import Terminated, default_workers, prepare_pool

    if not (args.scheduler or args.dask_local) and (args.workers or default_workers()) > 1:
        prepare_pool()  # the workers' imports then overlap the ones below (~1 s)
    from abm.experiments.sweep import run_sweep

    try:
        result = run_sweep(
            args.sweep_file,
            workers=args.workers,
            scheduler=args.scheduler,
            dask_local=args.dask_local,
            resume=args.resume,
            quiet=args.quiet,
            out_dir=args.out,
            allow_imports=args.allow_import,
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Terminated:
        print("terminated; run the same command again to resume", file=sys.stderr)
        return EXIT_TERMINATED
    except OSError as exc:  # the output directory could not be written
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED_RUNS
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(
            f"{result.n_runs} runs ({result.n_resumed} already stored, {result.n_run_now} run now) "
            f"-> {result.out_dir}"
        )
    try:
        if _stored_design(result.out_dir) in REPORTED_DESIGNS and result.n_failed < result.n_runs:
            _report(result.out_dir, plots=args.plots, quiet=args.quiet)
        if args.csv:
            _export(result.out_dir, None, args.quiet)
    except OSError as exc:
        print(
            f"error: {_io_problem(exc)}; the runs are stored in {result.out_dir}",
            file=sys.stderr,
        )
        return EXIT_FAILED_RUNS
    if result.n_failed:
        print(
            f"{result.n_failed} of {result.n_runs} runs failed; tracebacks in "
            f"{result.out_dir / 'failures.jsonl'}",
            file=sys.stderr,
        )
        return EXIT_FAILED_RUNS
    return EXIT_OK


def _io_problem(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write{where}: {exc.strerror or exc}"


def _stored_design(out_dir: Path) -> str | None:
    from abm.experiments.storage import SweepStore

    return SweepStore(out_dir).read_manifest()["spec"].get("design")


def _report(sweep_dir: Path, plots: bool, quiet: bool) -> None:
    from abm.experiments.analysis import sweep_report

    report = sweep_report(sweep_dir, plots=plots)
    if not quiet:
        print()
        print(report.text)
        print()
        names = ", ".join(p.name for p in report.files)
        print(f"wrote {names} in {report.out_dir}")


def _export(sweep_dir: Path, out: Path | None, quiet: bool) -> None:
    from abm.experiments.storage import export_csv

    files = export_csv(sweep_dir, out)
    if not quiet:
        print(f"wrote {', '.join(p.name for p in files)} in {files[0].parent}")


def run_analyze_command(args: argparse.Namespace) -> int:
    """``abm analyze``: exit 0, or 2 if the directory holds no finished sweep or is not writable."""
    return _on_a_finished_sweep(lambda: _report(args.sweep_dir, plots=args.plots, quiet=args.quiet))


def run_export_command(args: argparse.Namespace) -> int:
    """``abm export``: exit 0, or 2 if there is no finished sweep or the CSV cannot be written."""
    return _on_a_finished_sweep(lambda: _export(args.sweep_dir, args.out, quiet=False))


def _on_a_finished_sweep(work) -> int:
    """Run a command's work; a bad directory or an unwritable output is one line and exit 2."""
    try:
        work()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {_io_problem(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def run_sensitivity_command(args: argparse.Namespace) -> int:
    """``abm sensitivity``: exit 0, or 2 if the directory is not a sobol/morris sweep."""
    from abm.experiments.sensitivity import analyze_sweep

    try:
        results = analyze_sweep(args.sweep_dir, outcomes=args.outcome, quiet=args.quiet)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.quiet:
        for label, table in results.items():
            print(f"{label}:\n{table.to_string(index=False, float_format='%.3f')}\n")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Dispatch parsed arguments of any of these subcommands."""
    return args.func(args)


def main(argv: list[str] | None = None) -> int:
    """``python -m abm.experiments sweep|analyze|export|sensitivity ...``"""
    parser = argparse.ArgumentParser(prog="python -m abm.experiments")
    register(parser.add_subparsers(dest="command", required=True))
    return run(parse_args(parser, argv))
