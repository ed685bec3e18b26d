"""The ``abm validate`` command.

``abm validate [--seeds N] [--steps N] [--set KEY=VALUE ...] [--out DIR]`` runs the
baseline (default to 2032-12, the years after 2024 being a projection), with any
config values overridden, and writes the calibration report against the 2023-2024
targets to ``results/validation/`` (the overrides recorded in its manifest).
``abm validate --hypotheses [--seeds N] [--months N] [--only H1 H3]`` runs the
scenario experiments for H1-H7 instead and writes ``hypotheses.csv`` and
``hypotheses.md`` there. Exit code 0 on success, 2 on bad input (checked before
anything is created), 130 or 143 when stopped by Ctrl-C or SIGTERM (the output
folder is removed again if this command created it and nothing was written yet).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from abm.cli import parse_overrides, positive_int, resolve_config_path, sigterm_as_interrupt
from abm.config import ConfigError
from abm.run_output import os_reason


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    p = subparsers.add_parser(
        "validate",
        help="calibration report against 2023-2024 targets, or the H1-H7 experiments",
        description="Run the baseline for a few seeds and compare it with every 2023-2024 target "
        "(table, figure) in results/validation/; with --hypotheses run the H1-H7 scenario "
        "experiments instead.",
    )
    p.add_argument("--config", help="config to validate (default: configs/baseline.toml)")
    p.add_argument(
        "--seeds", type=positive_int, help="seeds per run (default: 5; 3 with --hypotheses)"
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help="months to simulate for the calibration report (default: 120, to 2032-12)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value for the calibration report, e.g. --set "
        "hyperscalers.salter_over_time=true (a switch that is off in the baseline)",
    )
    p.add_argument(
        "--out", default="results/validation", help="output folder (default: results/validation)"
    )
    p.add_argument("--hypotheses", action="store_true", help="run the H1-H7 scenario experiments")
    p.add_argument(
        "--months",
        type=positive_int,
        default=None,
        help="with --hypotheses: cap every experiment's horizon (months)",
    )
    p.add_argument(
        "--only", nargs="+", metavar="H", help="with --hypotheses: only these (e.g. H1 H6)"
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="with --hypotheses: worker processes (default: 1)",
    )
    p.set_defaults(func=cmd_validate)


@contextlib.contextmanager
def _writable_folder(out: Path) -> Iterator[Path]:
    """Create ``out`` now, so that a bad ``--out`` stops before hours of runs.

    If creating them, or the command after, fails or is stopped, the folders this
    created are removed again while still empty (a folder that existed before is
    never touched).
    """
    created = [p for p in (out, *out.parents) if not p.exists()]
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {out}: cannot write here ({os_reason(exc)})") from None
        yield out
    except BaseException:  # an interrupt half-way through mkdir too
        for folder in created:  # deepest first; rmdir removes only an empty folder
            try:
                folder.rmdir()
            except FileNotFoundError:
                continue  # stopped before it was made
            except OSError:
                break
        raise


def cmd_validate(args: argparse.Namespace) -> int:
    out = Path(args.out)
    overrides = parse_overrides(args.set)
    for option, given in (("--set", overrides), ("--config", args.config)):
        if args.hypotheses and given:
            raise ConfigError(
                f"{option}: applies to the calibration report; the H1-H7 experiments set "
                "their own levers on the baseline (configs/scenarios/)"
            )
    if args.hypotheses:
        from abm.validation.hypotheses import (
            DEFAULT_SEEDS,
            EXPERIMENTS,
            experiments_for,
            hypotheses_report,
        )

        known = {e.key for e in EXPERIMENTS}
        unknown = sorted(set(args.only or []) - known)
        if unknown:
            raise ConfigError(
                f"--only: unknown hypothesis {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        experiments_for(args.months, args.only)  # a horizon too short for all: before --out
        seeds = args.seeds or DEFAULT_SEEDS
        # SIGTERM stays with the sweep executors, which stop the runs and raise an
        # interrupt of their own (sigterm_as_interrupt is not for them).
        with _writable_folder(out):
            result = hypotheses_report(
                seeds=seeds, out=out, months=args.months, workers=args.workers, only=args.only
            )
        for key, finding in result.findings.items():
            print(f"{key}: {finding}\n")
        print(f"results: {out}/ (hypotheses.csv, hypotheses.md, hypotheses.json)")
        return 0
    from abm.validation.calibration import (
        DEFAULT_SEEDS,
        DEFAULT_STEPS,
        calibration_report,
        summary_line,
    )

    if args.steps is not None and args.steps < 24:
        raise ConfigError(
            f"--steps {args.steps}: the targets need 2023 and 2024, at least 24 months"
        )
    config = resolve_config_path(args.config) if args.config else None
    from abm.config import load_config

    load_config(config, overrides=overrides)  # a bad file, key or value stops here
    with sigterm_as_interrupt(), _writable_folder(out):
        table = calibration_report(
            config,
            seeds=args.seeds or DEFAULT_SEEDS,
            steps=args.steps or DEFAULT_STEPS,
            out=out,
            overrides=overrides,
        )
    for r in table.itertuples():
        mark = "in " if r.inside else ("oom" if r.order_of_magnitude else "OUT")
        print(
            f"  [{mark}] {r.target:<34}{r.period:<10}{r.model_mean:>12.4g}  range {r.low:.4g}-{r.high:.4g} {r.unit}"
        )
    print(summary_line(table))
    print(
        f"results: {out}/ (calibration.csv, calibration.md, calibration.png, runs.parquet, calibration.json)"
    )
    return 0
