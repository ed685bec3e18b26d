"""Running a sweep: every run of a design, in parallel, resumable, results on disk."""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import sys
import time
import traceback
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from abm.config import ConfigError, available_memory_bytes
from abm.experiments.design import Design, RunTask, build_design
from abm.experiments.executors import Backend
from abm.experiments.outcomes import summarise
from abm.experiments.runner import RunOutput, check_run_function, execute_run, import_object
from abm.experiments.spec import SweepSpec, load_sweep, parse_sweep
from abm.experiments.storage import SweepStore
from abm.run_output import strict_json
from abm.runs import environment

RESULTS_DIR = Path("results") / "sweeps"
# Spec fields that decide what each run computes; changing any of them between a
# sweep and its resumption would mix results of two different experiments.
RUN_DEFINING_FIELDS = (
    "run_function",
    "seed",
    "steps",
    "design",
    "n",
    "replicates",
    "common_seeds",
    "second_order",
    "morris_levels",
    "fixed",
    "parameters",
)


@dataclass
class SweepResult:
    """What a sweep left on disk, and its counts."""

    out_dir: Path
    n_runs: int
    n_failed: int
    n_run_now: int
    n_resumed: int
    summary: pd.DataFrame
    sensitivity: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.n_failed == 0


def run_sweep(
    sweep: str | Path | dict[str, Any] | SweepSpec,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    resume: bool = True,
    quiet: bool = False,
    out_dir: str | Path | None = None,
    allow_imports: Sequence[str] = (),
) -> SweepResult:
    """Run every run of a sweep that has no stored result yet, then summarise.

    ``sweep`` is a sweep file, or the same as a dict (a relative ``base`` is then
    taken from the current directory). Runs go to a local process pool of
    ``workers`` processes (default: one per core; 1 runs in this process), to the
    Dask scheduler at ``scheduler``, or to a ``LocalCluster`` of ``dask_local``
    workers. With ``resume`` (the default), runs already stored under ``out_dir``
    (default ``results/sweeps/<name>``) are kept; without it the sweep's files
    there are removed first.

    The run function must be inside the ``abm`` package, or in a module named in
    ``allow_imports`` (or a submodule of one): importing a module runs its code.

    Bad input raises :class:`ConfigError` before anything is written or run: an
    untrusted run function, a design too large for memory, a parameter the run
    function rejects, an outcome or kept metric it does not produce, an output
    directory holding something other than a sweep. A run that raises is recorded
    in ``failures.jsonl`` and the others go on; check ``result.n_failed``.
    """
    spec, source = _load(sweep)
    check_run_function(spec.run_function, allow_imports, source)
    backend = Backend(workers, scheduler, dask_local)
    check_design_size(spec, source)
    try:
        run_function = import_object(spec.run_function)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    check_metric_names(spec, getattr(run_function, "metrics", None), source)
    check_outcome_stats(spec, getattr(run_function, "non_numeric", ()), source)
    design = build_design(spec)
    check = getattr(run_function, "check", None)
    if check is not None:
        unique = [t.params for t in design.tasks if t.replicate == 0]
        check(spec.base, dict(spec.fixed), unique, source)
    store = SweepStore(out_dir if out_dir is not None else RESULTS_DIR / spec.name)
    store.refuse_foreign()
    fingerprint = sweep_fingerprint(spec)
    prior: dict[str, Any] | None = None
    if resume and store.exists():
        prior = _check_compatible(store, spec, fingerprint, design, source)

    started = time.time()
    with store.locked(), backend as executor:
        if not resume:
            store.clear()
        store.create()
        store.write_design(design.table)
        outcomes, resumed = _read_stored_outcomes(store, spec, design) if resume else ({}, set())
        session = _Session(spec, source, store, design, fingerprint, backend, prior, started)
        session.resumed = len(resumed)
        session.slots = backend.slots
        store.reset_failures()  # every failed run is tried again
        store.write_manifest(session.manifest("running", outcomes))
        pending = [t for t in design.tasks if t.run_id not in resumed]
        try:
            _execute(pending, backend, executor, spec, store, session, outcomes, quiet)
        except BaseException:
            store.write_manifest(session.manifest("interrupted", outcomes))
            raise

    summary = summary_table(design, spec, outcomes)
    store.write_summary(summary)
    store.write_failures(sorted(session.failures, key=lambda r: r["run_id"]))
    status = "complete" if not session.failures else "complete with failures"
    store.write_manifest(session.manifest(status, outcomes))

    sensitivity: dict[str, pd.DataFrame] = {}
    if spec.design in ("sobol", "morris") and spec.outcomes:
        from abm.experiments.sensitivity import analyze_sweep

        if session.failures:
            _say(quiet, f"sensitivity skipped: {len(session.failures)} runs failed")
        else:
            sensitivity = analyze_sweep(store.root, quiet=quiet)
    return SweepResult(
        out_dir=store.root,
        n_runs=len(design.tasks),
        n_failed=len(session.failures),
        n_run_now=session.run_now,
        n_resumed=session.resumed,
        summary=summary,
        sensitivity=sensitivity,
    )


def _load(sweep: str | Path | dict[str, Any] | SweepSpec) -> tuple[SweepSpec, str]:
    if isinstance(sweep, SweepSpec):
        return sweep, f"sweep {sweep.name!r}"
    if isinstance(sweep, dict):
        source = f"sweep {sweep.get('name', '?')!r}"
        return parse_sweep(sweep, source, Path.cwd()), source
    return load_sweep(sweep), str(sweep)


# --------------------------------------------------------------------------- checks
# Bytes of driver memory per run while the design is built and held (run tasks,
# seed sequences, the design table and its intermediate rows): measured with
# tracemalloc on grid, LHS and Sobol designs of 1-12 parameters and 1-5 replicates
# at 1.1-1.9 kB plus about 0.15 kB per parameter, and rounded up; outcomes add a
# key and a float per run.
_BYTES_PER_RUN = 2_000
_BYTES_PER_PARAMETER = 250
_BYTES_PER_OUTCOME = 150


def design_runs(spec: SweepSpec) -> int:
    """How many runs the design will have (an upper bound for int-valued grids)."""
    d = len(spec.parameters)
    if spec.design == "grid":
        points = math.prod(
            len(p.values) if p.values is not None else p.levels for p in spec.parameters.values()
        )
    elif spec.design == "lhs":
        points = spec.n
    elif spec.design == "sobol":
        points = spec.n * ((2 * d + 2) if spec.second_order else (d + 2))
    else:  # morris: n trajectories of d + 1 points
        points = spec.n * (d + 1)
    return points * spec.replicates


def design_memory(spec: SweepSpec) -> int:
    """Estimated bytes the sweep driver needs to plan and track the design."""
    per_run = (
        _BYTES_PER_RUN
        + _BYTES_PER_PARAMETER * len(spec.parameters)
        + _BYTES_PER_OUTCOME * len(spec.outcomes)
    )
    return design_runs(spec) * per_run


def check_design_size(spec: SweepSpec, source: str) -> None:
    """Refuse, before anything is allocated, a design that would not fit in memory.

    The limit is half the memory available now: the worker processes need the rest.
    """
    need, limit = design_memory(spec), available_memory_bytes() // 2
    if need > limit:
        raise ConfigError(
            f"{source}: the design has {design_runs(spec):,} runs and needs about "
            f"{_gb(need)} of memory to plan, more than the {_gb(limit)} allowed "
            "(half the memory available); use a smaller 'n', fewer levels or replicates, "
            "or split the sweep"
        )


def _gb(n: int) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def check_metric_names(spec: SweepSpec, known: Iterable[str] | None, source: str) -> None:
    """Every outcome metric and kept metric must be one the run function returns."""
    if known is None:  # the run function does not say: runs will tell
        return
    known = list(known)
    used = [(f"outcomes.{i}.metric", o.metric) for i, o in enumerate(spec.outcomes)]
    used += [("metrics.keep", name) for name in spec.metrics.keep or []]
    for where, name in used:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{source}: {where}: unknown metric {name!r}{hint}")


def check_outcome_stats(spec: SweepSpec, non_numeric: Iterable[str], source: str) -> None:
    """Every outcome must summarise a numeric metric: no statistic applies to text (a date)."""
    non_numeric = set(non_numeric)
    for i, o in enumerate(spec.outcomes):
        if o.metric in non_numeric:
            raise ConfigError(
                f"{source}: outcomes.{i} ({o.label!r}): metric {o.metric!r} is not numeric, so "
                f"stat {o.stat!r} cannot apply; an outcome summarises a numeric metric "
                "(keep it with metrics.keep instead)"
            )


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr)


# --------------------------------------------------------------------------- resume
def sweep_fingerprint(spec: SweepSpec) -> dict[str, Any]:
    """The spec fields that define each run, plus a hash of the base config file."""
    fp = spec.model_dump(mode="json", include=set(RUN_DEFINING_FIELDS))
    fp["base_sha256"] = (
        hashlib.sha256(Path(spec.base).read_bytes()).hexdigest() if spec.base else None
    )
    return json.loads(strict_json(fp))  # the form it has after a round trip through the manifest


def _check_compatible(
    store: SweepStore, spec: SweepSpec, fingerprint: dict[str, Any], design: Design, source: str
) -> dict[str, Any] | None:
    """Refuse to resume into results of a different experiment; return the old manifest."""
    hint = "start afresh with --no-resume, or write elsewhere with --out"
    prior = store.read_manifest() if store.manifest_path.exists() else None
    if prior is not None:
        old = prior.get("fingerprint", {})
        for key in fingerprint:
            if old.get(key) != fingerprint[key]:
                what = "the base config file" if key == "base_sha256" else repr(key)
                raise ConfigError(
                    f"{source}: {what} differs from the sweep stored in {store.root} "
                    f"(stored {old.get(key)!r}, now {fingerprint[key]!r}); {hint}"
                )
    if store.design_path.exists() and _records(store.read_design()) != _records(design.table):
        raise ConfigError(
            f"{source}: the design differs from {store.design_path} (changed library versions?); {hint}"
        )
    stored = store.stored_columns()
    if stored is not None:
        have = set(stored) - {"run_id", "step"}
        keep = spec.stored_columns
        missing = sorted({o.metric for o in spec.outcomes} - have)
        if keep is not None and set(keep) != have:
            raise ConfigError(
                f"{source}: 'metrics.keep' plus outcome metrics ({sorted(keep)}) differ from the "
                f"columns stored in {store.runs_dir} ({sorted(have)}); {hint}"
            )
        if missing:
            raise ConfigError(
                f"{source}: outcome metric {missing[0]!r} is not stored in {store.runs_dir}; {hint}"
            )
    return prior


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    def plain(v: Any) -> Any:
        if isinstance(v, list | tuple | np.ndarray):
            return [plain(x) for x in v]
        return v.item() if isinstance(v, np.generic) else v

    return [{k: plain(v) for k, v in row.items()} for row in table.to_dict("records")]


def _read_stored_outcomes(
    store: SweepStore, spec: SweepSpec, design: Design
) -> tuple[dict[int, dict[str, float]], set[int]]:
    """Outcomes of runs already on disk; an unreadable file is removed and rerun."""
    outcomes: dict[int, dict[str, float]] = {}
    wanted = {t.run_id for t in design.tasks}
    columns = ["step", *dict.fromkeys(o.metric for o in spec.outcomes)]
    for run_id in sorted(store.completed_ids() & wanted):
        try:
            outcomes[run_id] = summarise(store.read_run(run_id, columns), spec.outcomes)
        except Exception:
            store.run_path(run_id).unlink(missing_ok=True)
    return outcomes, set(outcomes)


# --------------------------------------------------------------------------- execution
class _Session:
    """Counts, failures and timings of one invocation, and the manifest they make."""

    def __init__(self, spec, source, store, design, fingerprint, backend, prior, started):
        self.spec, self.source, self.store, self.design = spec, source, store, design
        self.fingerprint, self.backend = fingerprint, backend
        self.prior, self.started = prior, started
        self.failures: list[dict[str, Any]] = []
        self.run_now = 0
        self.resumed = 0
        self.slots: int | None = None
        self.run_seconds = 0.0

    def record(self, task: RunTask, out: RunOutput) -> dict[str, float] | None:
        """Store one finished run; return its outcomes, or None if it failed."""
        self.run_now += 1
        self.run_seconds += out.seconds
        error = out.traceback
        if out.ok:
            try:
                table = out.steps
                table.insert(0, "run_id", task.run_id)
                values = summarise(table, self.spec.outcomes)
                self.store.write_run(task.run_id, table)
                return values
            except Exception:
                error = traceback.format_exc()
        record = {
            "run_id": task.run_id,
            "point_id": task.point_id,
            "replicate": task.replicate,
            "params": task.params,
            "seed": task.seed,
            "traceback": error,
        }
        self.failures.append(record)
        self.store.append_failure(record)
        return None

    def manifest(self, status: str, outcomes: dict[int, dict[str, float]]) -> dict[str, Any]:
        now = time.time()
        wall = now - self.started
        session = {
            "started": _iso(self.started),
            "finished": _iso(now) if status != "running" else None,
            "status": status,
            "backend": self.backend.description,
            "slots": self.slots,
            "runs_done": self.run_now,
            "runs_failed": len(self.failures),
            "runs_resumed_from_disk": self.resumed,
            "wall_seconds": round(wall, 3),
            "run_seconds_total": round(self.run_seconds, 3),
            "run_seconds_mean": round(self.run_seconds / self.run_now, 4) if self.run_now else None,
            "runs_per_second": round(self.run_now / wall, 4) if wall > 0 else None,
        }
        earlier = (self.prior or {}).get("sessions", [])
        return {
            "output": "abm sweep",
            "name": self.spec.name,
            "description": self.spec.description,
            "sweep_file": self.source,
            "status": status,
            "counts": {
                "runs": len(self.design.tasks),
                "design_points": self.design.n_points,
                "replicates": self.spec.replicates,
                "completed": len(outcomes),
                "failed": len(self.failures),
            },
            "spec": self.spec.model_dump(mode="json"),
            "fingerprint": self.fingerprint,
            **environment(),
            "sessions": [*earlier, session],
        }


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _execute(
    tasks: list[RunTask],
    backend: Backend,
    executor,
    spec: SweepSpec,
    store: SweepStore,
    session: _Session,
    outcomes: dict[int, dict[str, float]],
    quiet: bool,
) -> None:
    """Keep a bounded number of runs in flight, so memory stays flat however many runs."""
    queue = deque(tasks)
    in_flight: dict[Any, RunTask] = {}
    limit, limit_checked = 2 * backend.slots, time.monotonic()
    deaths: Counter[int] = Counter()
    columns = spec.stored_columns
    bar = tqdm(
        total=len(session.design.tasks),
        initial=len(outcomes),
        desc=spec.name,
        unit="run",
        disable=quiet or not sys.stderr.isatty(),
        dynamic_ncols=True,
    )
    try:
        while queue or in_flight:
            if time.monotonic() - limit_checked > 2.0:
                # Dask workers may join (or leave) while the sweep runs: keep ~2 runs per slot.
                limit, limit_checked = 2 * backend.slots, time.monotonic()
            while queue and len(in_flight) < limit:
                task = queue.popleft()
                overrides = {**spec.fixed, **task.params}
                future = executor.submit(
                    execute_run,
                    spec.run_function,
                    spec.base,
                    overrides,
                    task.seed,
                    spec.steps,
                    columns,
                )
                in_flight[future] = task
            done, _ = backend.wait(in_flight)
            broken: list[RunTask] = []
            for future in sorted(done, key=lambda f: in_flight[f].run_id):
                task = in_flight.pop(future)
                try:
                    out = future.result()
                except BrokenProcessPool:
                    # A worker process died (killed, out of memory, segfault): every run
                    # in that pool is lost. Try them again; a run that keeps taking
                    # its pool down is recorded as failed.
                    deaths[task.run_id] += 1
                    if deaths[task.run_id] < 3:
                        broken.append(task)
                        continue
                    out = RunOutput(
                        False, None, "worker process died during this run, 3 times", 0.0
                    )
                except Exception:
                    out = RunOutput(False, None, traceback.format_exc(), 0.0)
                values = session.record(task, out)
                if values is not None:
                    outcomes[task.run_id] = values
                bar.set_postfix(failed=len(session.failures), refresh=False)
                bar.update(1)
            if broken:
                queue.extendleft(reversed(broken))
                for future, task in list(in_flight.items()):  # the rest of the dead pool
                    if future.done() or future.cancel():
                        in_flight.pop(future)
                        queue.appendleft(task)
                queue = deque(sorted(queue, key=lambda t: t.run_id))
                executor = backend.restart()
    finally:
        bar.close()


# --------------------------------------------------------------------------- summary
def summary_table(
    design: Design, spec: SweepSpec, outcomes: dict[int, dict[str, float]]
) -> pd.DataFrame:
    """One row per run, in run-id order: design point, seed, status, outcomes."""
    keep = ["run_id", "point_id", "replicate", *design.parameter_names, "seed"]
    table = design.table[keep].copy()
    table["status"] = ["ok" if r in outcomes else "failed" for r in table["run_id"]]
    for o in spec.outcomes:
        table[o.label] = [outcomes.get(r, {}).get(o.label, np.nan) for r in table["run_id"]]
    return table.reset_index(drop=True)


def load_summary(sweep_dir: str | Path) -> pd.DataFrame:
    """The summary table of a finished sweep."""
    return SweepStore(sweep_dir).read_summary()
