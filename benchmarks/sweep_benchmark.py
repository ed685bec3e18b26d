"""Sweep throughput on each backend, against this machine's own two-process ceiling.

A sweep of baseline runs that differ only in their seed runs on one worker (in the
driver process), a pool of 2 worker processes and a Dask LocalCluster of 2
single-threaded workers. Each measurement is one ``python -m abm.experiments sweep``
command timed from start to exit, as a user sees it: starting Python, the workers
and the imports are part of the cost. Between them the script measures the
ceiling: how much faster two plain processes get through pure-Python work (and,
with ``--model-ceiling``, through the same model runs, no pool) than one.

The rounds are interleaved and repeated; the table shows medians, the ratio of the
2-worker speed-up to the ceiling measured in the same round, and how busy the
machine's cores were (other people's work included) during each measurement.

    .venv/bin/python benchmarks/sweep_benchmark.py [--runs 40] [--steps 60] [--repeats 3]
        [--wait-quiet SECONDS] [--model-ceiling]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.toml"
BACKENDS = {
    "1 worker (in-process)": ["--workers", "1"],
    "2 worker processes": ["--workers", "2"],
    "Dask LocalCluster(2)": ["--dask-local", "2"],
}
TARGET = 0.85
QUIET = 0.25  # cores other processes may use for a round to count as clean


def sweep_file(folder: Path, runs: int, steps: int, users: int | None) -> Path:
    """A sweep of one design point (the baseline) and ``runs`` seeds."""
    fixed = f'"end_users.simulated_users" = {users}' if users else ""
    path = folder / "benchmark.toml"
    path.write_text(
        f"""name = "benchmark"
base = {json.dumps(str(BASELINE))}
seed = 2024
steps = {steps}
replicates = {runs}

[fixed]
{fixed}

[[outcomes]]
metric = "tokens"
stat = "final"

[metrics]
keep = ["tokens", "compute_price", "token_price"]
"""
    )
    return path


# --------------------------------------------------------------------------- machine state
def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat (Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


class Watch:
    """Wall time and how many cores were busy (any process) while it ran."""

    def __enter__(self) -> Watch:
        self.busy0, self.total0 = cpu_jiffies()
        self.t0 = time.perf_counter()
        self.wall = self.busy_cores = float("nan")
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.t0
        busy, total = cpu_jiffies()
        if total > self.total0:
            self.busy_cores = (os.cpu_count() or 1) * (busy - self.busy0) / (total - self.total0)


class TreeCPU:
    """CPU seconds used by a process and all its descendants (Linux /proc), sampled.

    Workers forked by a forkserver are the driver's grandchildren and are never
    reaped by it, so ``wait4`` cannot count them; sampling every 0.1 s can, missing
    at most the last 0.1 s of each process.
    """

    def __init__(self, root: int, interval: float = 0.1):
        self.root, self.interval = root, interval
        self.seconds: dict[int, float] = {}
        self._tick = os.sysconf("SC_CLK_TCK")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeCPU:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        todo, seen = [self.root, *self.seconds], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                self.seconds[pid] = (int(fields[11]) + int(fields[12])) / self._tick
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue


def wait_for_quiet(patience: float, threshold: float = 0.3) -> float:
    """Wait up to ``patience`` seconds for other processes to leave the cores nearly
    idle (under ``threshold`` cores busy over 2 s); return the busy cores last seen."""
    deadline = time.monotonic() + patience
    while True:
        with Watch() as w:
            time.sleep(2.0)
        if w.busy_cores < threshold or time.monotonic() > deadline:
            return w.busy_cores


# --------------------------------------------------------------------------- ceilings
def _spin(n: int) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t, time.process_time() - c


def spin_ceiling(n: int = 30_000_000) -> tuple[float, float]:
    """Throughput of two processes running a pure-Python loop, over one (2.0 on two
    idle cores): the most any 2-worker pool can gain on this machine at this moment.
    Also the most cores other processes used meanwhile."""
    with ProcessPoolExecutor(2) as pool:
        pool.submit(_spin, 1000).result()  # both workers exist before the clock starts
        with Watch() as alone:
            wall, cpu = pool.submit(_spin, n).result()
        with Watch() as both:
            results = list(pool.map(_spin, [n, n]))
    others = max(
        alone.busy_cores - cpu / alone.wall,
        both.busy_cores - sum(c for _, c in results) / both.wall,
    )
    return 2 * wall / max(w for w, _ in results), max(0.0, others)


MODEL_LOOP = """
import sys, time
from abm.experiments.runner import execute_run
base, steps, seeds = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3:]]
execute_run("abm.experiments.runner:run_model", base, {}, 1, 2, None)  # imports, warm-up
print("ready", flush=True)
sys.stdin.readline()
t, c = time.perf_counter(), time.process_time()
for seed in seeds:
    execute_run("abm.experiments.runner:run_model", base, {}, seed, steps, None)
print(time.perf_counter() - t, time.process_time() - c, flush=True)
"""


def model_ceiling(steps: int, runs: int = 6) -> tuple[float, float]:
    """The same for ``runs`` model runs in each of two plain processes (no pool): what
    the model's own work gains from a second process on this machine right now; and
    how much more CPU time a run takes when two run at once than alone (shared caches
    and memory bandwidth)."""

    def timed(n_procs: int) -> tuple[float, float]:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", MODEL_LOOP, str(BASELINE), str(steps)]
                + [str(100 + i) for i in range(runs)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=_child_env(),
            )
            for _ in range(n_procs)
        ]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:  # both start their loops together
            p.stdin.write("go\n")
            p.stdin.flush()
        times = [[float(x) for x in p.stdout.readline().split()] for p in procs]
        for p in procs:
            p.wait()
        return max(t[0] for t in times), statistics.mean(t[1] for t in times)

    alone, cpu_alone = timed(1)
    both, cpu_both = timed(2)
    return 2 * alone / both, cpu_both / cpu_alone


# --------------------------------------------------------------------------- one backend
def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_backend(label: str, sweep: Path, out: Path) -> dict:
    """Time one ``abm sweep`` command from start to exit; return its measurements."""
    args = [sys.executable, "-m", "abm.experiments", "sweep", str(sweep), *BACKENDS[label]]
    args += ["--out", str(out), "--quiet", "--no-plots"]
    with Watch() as w:
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env()
        )
        with TreeCPU(proc.pid) as cpu:
            _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed (exit {proc.returncode}):\n{err[-3000:]}")
    session = json.loads((out / "manifest.json").read_text())["sessions"][-1]
    return {
        "wall_s": w.wall,
        "s_per_run": session["run_seconds_mean"],
        "cpu_s": cpu.total,
        "busy_cores": w.busy_cores,
        "others_cores": max(0.0, w.busy_cores - cpu.total / w.wall),
    }


# --------------------------------------------------------------------------- where time goes
def overheads(steps: int) -> dict[str, float]:
    """Per-run costs outside the model, and the one-off cost of starting workers."""
    from abm.experiments.executors import Backend
    from abm.experiments.outcomes import summarise
    from abm.experiments.runner import execute_run
    from abm.experiments.spec import OutcomeSpec
    from abm.experiments.storage import write_parquet_atomic

    execute_run("abm.experiments.runner:run_model", str(BASELINE), {}, 1, 2, None)  # imports
    out = execute_run("abm.experiments.runner:run_model", str(BASELINE), {}, 1, steps, None)
    table = out.steps.copy()
    table.insert(0, "run_id", 1)
    blob = pickle.dumps(out)
    outcomes = [OutcomeSpec(metric="tokens", stat="final")]
    n = 20
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        for _ in range(n):
            write_parquet_atomic(table, Path(tmp) / "run.parquet")
        write_ms = 1000 * (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        pickle.loads(pickle.dumps(out))
    pickle_ms = 1000 * (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        summarise(table, outcomes)
    summarise_ms = 1000 * (time.perf_counter() - t) / n

    def start_up(method: str) -> float:
        t = time.perf_counter()
        backend = Backend(workers=2, start_method=method)
        pool = backend.open()
        args = ("abm.experiments.runner:run_model", str(BASELINE), {}, 1, 1, None)
        list(pool.map(execute_run, *zip(args, args, strict=True)))  # a 1-step run on each
        seconds = time.perf_counter() - t
        backend.close()
        return seconds

    return {
        "columns": table.shape[1] - 2,
        "result_kb": len(blob) / 1024,
        "pickle_ms": pickle_ms,
        "parquet_write_ms": write_ms,
        "summarise_ms": summarise_ms,
        "run_s": out.seconds,
        "start_forkserver_s": start_up("forkserver"),
        "start_spawn_s": start_up("spawn"),
    }


def import_seconds() -> float:
    """Wall time for a fresh interpreter to import the model and the sweep runner."""
    code = "import abm.model, mesa, abm.experiments.runner"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_child_env())
    return time.perf_counter() - t


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--users", type=int, default=None, help="simulated users (baseline)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each round, wait up to this long for the other processes to go quiet",
    )
    parser.add_argument(
        "--model-ceiling",
        action="store_true",
        help="also measure two plain processes doing model runs (no pool)",
    )
    args = parser.parse_args()

    rows, rounds = [], []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        sweep = sweep_file(Path(tmp), args.runs, args.steps, args.users)
        for r in range(args.repeats):
            idle_before = wait_for_quiet(args.wait_quiet) if args.wait_quiet else None
            # The pair that makes the ratio is bracketed by two ceiling measurements.
            ceiling_before, others_before = spin_ceiling()
            speeds, others = {}, [others_before]
            for i, label in enumerate(BACKENDS):
                out = Path(tmp) / f"r{r}_{i}"
                row = run_backend(label, sweep, out)
                row.update(round=r, backend=label, runs_per_s=args.runs / row["wall_s"])
                rows.append(row)
                speeds[label] = row["runs_per_s"]
                if label != "Dask LocalCluster(2)":
                    others.append(row["others_cores"])
                if label == "2 worker processes":
                    ceiling_after, others_after = spin_ceiling()
                    others.append(others_after)
            ceiling = (ceiling_before + ceiling_after) / 2
            two, one = speeds["2 worker processes"], speeds["1 worker (in-process)"]
            rounds.append(
                {
                    "ceiling": ceiling,
                    "speedup_2": two / one,
                    "ratio": two / one / ceiling,
                    "others": max(others),
                    "model_ceiling": model_ceiling(args.steps) if args.model_ceiling else None,
                }
            )
            quiet = "" if idle_before is None else f"{idle_before:.2f} cores busy before, "
            print(
                f"round {r + 1} ({quiet}others used up to {max(others):.2f} cores): 2 workers "
                f"{two / one:.2f}x one, ceiling {ceiling:.2f}x, ratio {two / one / ceiling:.2f}",
                file=sys.stderr,
            )
        summaries = [
            pd.read_parquet(Path(tmp) / f"r{r}_{i}" / "summary.parquet")
            for r in range(args.repeats)
            for i in range(len(BACKENDS))
        ]
    load_after = os.getloadavg()
    identical = all(s.equals(summaries[0]) for s in summaries)
    report(args, rows, rounds, identical, load_before, load_after)


def report(args, rows, rounds, identical, load_before, load_after) -> None:
    table = pd.DataFrame(rows)
    med = table.groupby("backend", sort=False).median(numeric_only=True)
    one = med.loc["1 worker (in-process)", "runs_per_s"]
    med["x_one_worker"] = med["runs_per_s"] / one
    med["cpu_s_per_run"] = med["cpu_s"] / args.runs
    print(
        f"{args.runs} baseline runs of {args.steps} steps, {os.cpu_count()} cores; "
        f"medians of {args.repeats} interleaved rounds; wall = the whole abm sweep command"
    )
    print(
        med[
            ["wall_s", "runs_per_s", "x_one_worker", "s_per_run", "cpu_s_per_run", "others_cores"]
        ].to_string(float_format=lambda x: f"{x:.2f}")
    )
    cpu_one = med.loc["1 worker (in-process)", "cpu_s_per_run"]
    cpu_two = med.loc["2 worker processes", "cpu_s_per_run"]
    print(
        f"CPU per run, all processes of the sweep and their start-up: 1 worker {cpu_one:.2f} s, "
        f"2 workers {cpu_two:.2f} s ({100 * (cpu_two / cpu_one - 1):+.0f}%): on two free "
        f"cores the pool could reach at most {2 * cpu_one / cpu_two:.2f}x one worker"
    )
    ceilings = [r["ceiling"] for r in rounds]
    ratios = [r["ratio"] for r in rounds]
    print(
        f"machine ceiling, 2 pure-Python processes vs 1 (same rounds): "
        f"median {statistics.median(ceilings):.2f}x (rounds: "
        + ", ".join(f"{c:.2f}" for c in ceilings)
        + ")"
    )
    if rounds[0]["model_ceiling"] is not None:
        mc = [r["model_ceiling"][0] for r in rounds]
        inflation = [r["model_ceiling"][1] for r in rounds]
        print(
            f"model ceiling, 2 plain processes doing model runs vs 1: "
            f"median {statistics.median(mc):.2f}x (rounds: "
            + ", ".join(f"{c:.2f}" for c in mc)
            + f"); CPU per model run, two at once over alone: {statistics.median(inflation):.2f}"
        )
    clean = [r for r in rounds if r["others"] < QUIET]
    if clean:
        print(
            f"clean rounds (other processes under {QUIET} cores throughout): {len(clean)} of "
            f"{len(rounds)}; in them 2 workers "
            f"{statistics.median(r['speedup_2'] for r in clean):.2f}x one, ceiling "
            f"{statistics.median(r['ceiling'] for r in clean):.2f}x, ratio "
            f"{statistics.median(r['ratio'] for r in clean):.2f}"
        )
    else:
        print(f"no clean round: other processes used over {QUIET} cores in every round")
    verdict = "met" if statistics.median(ratios) >= TARGET else "missed"
    print(
        f"2 workers / ceiling: median {statistics.median(ratios):.2f} (rounds: "
        + ", ".join(f"{x:.2f}" for x in ratios)
        + f"); target >= {TARGET}: {verdict}"
    )
    print(f"summaries identical across backends and rounds: {identical}")
    print(
        "load average (1, 5, 15 min) before: "
        + ", ".join(f"{x:.1f}" for x in load_before)
        + "; after: "
        + ", ".join(f"{x:.1f}" for x in load_after)
        + " (others_cores: cores used by other processes during each measurement; s_per_run:"
        " wall time inside the run function; cpu_s_per_run: CPU of the whole sweep per run)"
    )
    o = overheads(args.steps)
    print(
        f"where a run's time goes (all {o['columns']} metrics kept): model "
        f"{1000 * o['run_s']:.0f} ms; in the driver, Parquet write {o['parquet_write_ms']:.1f} ms, "
        f"outcomes {o['summarise_ms']:.1f} ms; result {o['result_kb']:.1f} KB, pickled and back "
        f"{o['pickle_ms']:.2f} ms"
    )
    print(
        f"once per sweep: importing the model {import_seconds():.1f} s in a fresh process; "
        f"2 workers ready and through a 1-step run: {o['start_forkserver_s']:.1f} s from a "
        f"preloaded forkserver (the default), {o['start_spawn_s']:.1f} s with spawn"
    )


if __name__ == "__main__":  # worker processes are spawned and re-import this file
    main()
