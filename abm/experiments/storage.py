"""The on-disk layout of a sweep, written so that a crash never leaves half a file.

::

    <out>/design.parquet       run_id, point_id, replicate, parameters, seed entropy/spawn key/seed
    <out>/runs/run_000123.parquet   per-step metrics of run 123 (run_id, step, kept columns)
    <out>/summary.parquet      one row per run: design, status, outcomes
    <out>/manifest.json        sweep spec, fingerprint, versions, timings, counts
    <out>/failures.jsonl       one JSON object per failed run: run_id, params, seed, traceback

Every file is written to a hidden temporary name (``.NAME.abm-tmp-<pid>-<hex>``)
and moved into place with ``os.replace``; a run counts as done exactly when
``runs/run_NNNNNN.parquet`` exists (:meth:`SweepStore.completed_ids`; never count
the files in ``runs/``, which may include temporaries). JSON files are strict: no
NaN or Infinity (see :func:`abm.run_output.strict_json`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from abm.config import ConfigError
from abm.run_output import (
    OutputError,
    is_temp_name,
    os_reason,
    strict_json,
    temp_sibling,
    write_text_atomic,
)

_RUN_FILE = re.compile(r"^run_(\d+)\.parquet$")
# Temporary names of earlier versions: .NAME.<pid>.tmp
_OLD_TEMP = re.compile(
    r"^\.(run_\d+\.parquet|design\.parquet|summary\.parquet|manifest\.json|failures\.jsonl)\.\d+\.tmp$"
)
# What a sweep directory holds before its first file is written.
_SWEEP_SKELETON = {".lock", "runs"}


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write a table so that ``path`` is either absent or complete."""
    _write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def _write_atomic(path: Path, write) -> None:
    """``write(tmp)`` to a hidden sibling, then move it over ``path`` (or remove it on failure)."""
    tmp = temp_sibling(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class SweepStore:
    """Files of one sweep under a directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.design_path = self.root / "design.parquet"
        self.summary_path = self.root / "summary.parquet"
        self.manifest_path = self.root / "manifest.json"
        self.failures_path = self.root / "failures.jsonl"

    def exists(self) -> bool:
        return self.manifest_path.exists() or self.design_path.exists()

    def refuse_foreign(self) -> None:
        """Refuse a directory that holds something other than a sweep's files."""
        if not os.path.lexists(self.root):
            return
        if self.root.is_symlink() or not self.root.is_dir():
            raise OutputError(f"{self.root}: is not a directory; choose another --out")
        entries = sorted(p.name for p in self.root.iterdir())
        if self.exists() or set(entries) <= _SWEEP_SKELETON:
            return
        shown = ", ".join(entries[:3]) + (
            f" and {len(entries) - 3} more" if len(entries) > 3 else ""
        )
        raise OutputError(
            f"{self.root}: holds files that are not a sweep's ({shown}); choose another --out"
        )

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory for one sweep process; the OS releases it if that process dies."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.root}: cannot write here ({os_reason(exc)})") from None
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield
            return
        with (self.root / ".lock").open("w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigError(f"{self.root}: another sweep is writing here") from None
            yield

    def create(self) -> None:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        for folder in (self.root, self.runs_dir):  # temporaries left by a killed writer
            for stale in folder.iterdir():
                if stale.is_file() and (is_temp_name(stale.name) or _OLD_TEMP.match(stale.name)):
                    stale.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove this sweep's own files (not anything else a user put there)."""
        if self.runs_dir.is_dir():
            shutil.rmtree(self.runs_dir)
        for path in (self.design_path, self.summary_path, self.manifest_path, self.failures_path):
            path.unlink(missing_ok=True)
        for pattern in ("sensitivity_*", "summary_by_point.*", "outcome_*.png", "envelopes.png"):
            for path in self.root.glob(pattern):
                path.unlink()
        if (self.root / "csv").is_dir():
            shutil.rmtree(self.root / "csv")

    # ----------------------------------------------------------------- runs
    def run_path(self, run_id: int) -> Path:
        return self.runs_dir / f"run_{run_id:06d}.parquet"

    def completed_ids(self) -> set[int]:
        if not self.runs_dir.is_dir():
            return set()
        return {int(m.group(1)) for p in self.runs_dir.iterdir() if (m := _RUN_FILE.match(p.name))}

    def write_run(self, run_id: int, steps: pd.DataFrame) -> None:
        write_parquet_atomic(steps, self.run_path(run_id))

    def read_run(self, run_id: int, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(self.run_path(run_id), columns=columns)

    def stored_columns(self) -> list[str] | None:
        """Columns of one stored run (all runs of a sweep store the same ones)."""
        import pyarrow.parquet as pq

        done = sorted(self.completed_ids())
        if not done:
            return None
        return pq.read_schema(self.run_path(done[0])).names

    # ----------------------------------------------------------------- tables and manifest
    def write_design(self, table: pd.DataFrame) -> None:
        write_parquet_atomic(table, self.design_path)

    def read_design(self) -> pd.DataFrame:
        return pd.read_parquet(self.design_path)

    def write_summary(self, table: pd.DataFrame) -> None:
        write_parquet_atomic(table, self.summary_path)

    def read_summary(self) -> pd.DataFrame:
        return pd.read_parquet(self.summary_path)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_text_atomic(strict_json(manifest) + "\n", self.manifest_path)

    def read_manifest(self) -> dict[str, Any]:
        return json.loads(self.manifest_path.read_text())

    # ----------------------------------------------------------------- failures
    def reset_failures(self) -> None:
        self.failures_path.unlink(missing_ok=True)

    def append_failure(self, record: dict[str, Any]) -> None:
        # Appended as they happen, so a crash still leaves the tracebacks so far.
        with self.failures_path.open("a") as fh:
            fh.write(strict_json(record, indent=None) + "\n")

    def write_failures(self, records: list[dict[str, Any]]) -> None:
        if records:
            text = "".join(strict_json(r, indent=None) + "\n" for r in records)
            write_text_atomic(text, self.failures_path)
        else:
            self.failures_path.unlink(missing_ok=True)

    def read_failures(self) -> list[dict[str, Any]]:
        if not self.failures_path.exists():
            return []
        return [json.loads(line) for line in self.failures_path.read_text().splitlines() if line]


# --------------------------------------------------------------------------- reading and export
# Columns of design.parquet that are bookkeeping, not parameters.
_DESIGN_ONLY = ("run_id", "point_id", "replicate", "seed_entropy", "seed_spawn_key", "seed")


def design_parameters(design: pd.DataFrame) -> list[str]:
    """The varied parameters' columns of a design table, in design order."""
    return [c for c in design.columns if c not in _DESIGN_ONLY and not c.startswith("u:")]


def load_runs(
    sweep_dir: str | Path, run_ids: list[int] | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """Per-step metrics of stored runs, one row per run and step, with each run's design.

    Columns: ``run_id``, ``point_id``, ``replicate``, the varied parameters, ``seed``,
    ``step``, then the stored metrics (or only ``columns`` of them). Rows are in run
    and step order. Failed runs have no rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = SweepStore(sweep_dir)
    if not store.design_path.exists():
        raise ConfigError(f"{sweep_dir}: not a sweep directory (no design.parquet)")
    stored = store.completed_ids()
    ids = sorted(stored) if run_ids is None else sorted({int(i) for i in run_ids})
    absent = [i for i in ids if i not in stored]
    if absent:
        raise ConfigError(f"{store.runs_dir}: run {absent[0]} is not stored")
    design = store.read_design()
    keys = ["run_id", "point_id", "replicate", *design_parameters(design), "seed"]
    wanted = None if columns is None else list(dict.fromkeys(["run_id", "step", *columns]))
    if ids:
        # One Arrow concatenation instead of a pandas concat per file: ~10x faster on
        # a few hundred runs.
        steps = pa.concat_tables(
            [pq.read_table(store.run_path(i), columns=wanted) for i in ids]
        ).to_pandas()
    else:
        schema = store.stored_columns() or ["run_id", "step"]
        steps = pd.DataFrame(columns=wanted or schema)
    merged = steps.merge(design[keys], on="run_id", how="left", validate="many_to_one")
    metrics = [c for c in steps.columns if c not in ("run_id", "step")]
    merged = merged[[*keys, "step", *metrics]]
    return merged.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)


def export_csv(sweep_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write the sweep's tables as CSV for spreadsheets and R; return the files written.

    ``<out>/runs.csv`` is :func:`load_runs` (per-step metrics with parameters and
    seed), ``summary.csv`` one row per run with its outcomes, ``design.csv`` the
    design with its seeds. ``out_dir`` defaults to ``<sweep_dir>/csv``.
    """
    store = SweepStore(sweep_dir)
    if not store.summary_path.exists():
        raise ConfigError(f"{sweep_dir}: not a finished sweep (no summary.parquet)")
    out = Path(out_dir) if out_dir is not None else store.root / "csv"
    out.mkdir(parents=True, exist_ok=True)
    design = store.read_design()
    design["seed_spawn_key"] = [" ".join(map(str, k)) for k in design["seed_spawn_key"]]
    tables = {
        "runs.csv": load_runs(store.root),
        "summary.csv": store.read_summary(),
        "design.csv": design,
    }
    written = []
    for name, table in tables.items():
        path = out / name
        _write_atomic(path, lambda tmp, table=table: table.to_csv(tmp, index=False))
        written.append(path)
    return written
