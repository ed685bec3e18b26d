"""Speed and memory of the model against Mesa's Boltzmann wealth model, in one run.

    .venv/bin/python benchmarks/benchmark.py [--repeats 3] [--large-steps 12] [--compare REF]

Each measurement runs in a fresh subprocess (so peak resident memory is its own);
the table reports medians over the repeats. Agent-steps count every simulated user
and every firm as an agent. Ratios are taken within this run, on this machine,
because absolute speeds on shared machines are noisy. Not a test: it prints a table.

``--compare REF`` also runs the baseline of another git revision (checked out into
a temporary worktree), interleaved with this tree's, and prints the ratio: how a
change moved the speed, measured in one run on one machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"baseline": ("steps/s >= 100", 100.0), "large": ("steps/s >= 5, peak < 1.5 GB", 5.0)}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def measure_model(config: str, steps: int, warmup: int) -> dict:
    from abm import ComputeMarket

    model = ComputeMarket(config=str(config), rng=1)
    model.run(warmup)
    firms = []
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
        firms.append(
            len(model.vendors) + len(model.hyperscalers) + len(model.labs) + len(model.startups)
        )
    wall = time.perf_counter() - t0
    users = sum(seg.n for seg in model.segments)
    mean_firms = statistics.mean(firms)
    return {
        "users": users,
        "firms": mean_firms,
        "steps_per_s": steps / wall,
        "agent_steps_per_s": steps * (users + mean_firms) / wall,
        "peak_mb": _peak_mb(),
    }


def measure_boltzmann(agents: int, steps: int) -> dict:
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

    model = BoltzmannWealth(n=agents, width=100, height=100, seed=1)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
    wall = time.perf_counter() - t0
    return {
        "users": 0,
        "firms": agents,
        "steps_per_s": steps / wall,
        "agent_steps_per_s": steps * agents / wall,
        "peak_mb": _peak_mb(),
    }


def _one(kind: str, steps: int, tree: Path = ROOT) -> dict:
    """One measurement in a fresh process, with the package of ``tree`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "benchmark.py"), "--one", kind]
        + ["--steps", str(steps), "--root", str(tree)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _worktree(ref: str):
    """A temporary detached checkout of ``ref``."""
    path = Path(tempfile.mkdtemp(prefix="abm-bench-"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(path), ref],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
            capture_output=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-steps", type=int, default=120)
    parser.add_argument("--large-steps", type=int, default=12)
    parser.add_argument("--boltzmann-steps", type=int, default=20)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--compare", metavar="REF", help="also time the baseline at this git revision"
    )
    args = parser.parse_args()
    if args.one:
        if args.one == "boltzmann":
            res = measure_boltzmann(10_000, args.steps)
        else:
            name = "baseline.toml" if args.one == "baseline" else "scenarios/large.toml"
            res = measure_model(
                args.root / "configs" / name,
                args.steps,
                warmup=2,
            )
        print(json.dumps(res))
        return

    runs = {
        "baseline": args.baseline_steps,
        "large": args.large_steps,
        "boltzmann": args.boltzmann_steps,
    }
    results: dict[str, list[dict]] = {k: [] for k in runs}
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit all alike
        for kind, steps in runs.items():
            results[kind].append(_one(kind, steps))
    med = {k: {f: statistics.median(r[f] for r in rs) for f in rs[0]} for k, rs in results.items()}
    ref = med["boltzmann"]["agent_steps_per_s"]
    header = (
        f"{'scenario':<26}{'sim. users':>11}{'firms':>8}{'steps/s':>10}{'agent-steps/s':>15}"
        f"{'peak MB':>9}{'x Boltzmann':>13}  target"
    )
    print(header)
    print("-" * len(header))
    names = {
        "baseline": "baseline",
        "large": "large (scenarios/large)",
        "boltzmann": "Mesa Boltzmann, 10k agents",
    }
    for kind in ("baseline", "large", "boltzmann"):
        m = med[kind]
        ratio = m["agent_steps_per_s"] / ref
        target = TARGETS.get(kind, ("", 0))[0]
        if kind == "large":
            target += ", >= 50x Boltzmann"
        print(
            f"{names[kind]:<26}{m['users']:>11,.0f}{m['firms']:>8.0f}{m['steps_per_s']:>10.1f}"
            f"{m['agent_steps_per_s']:>15,.0f}{m['peak_mb']:>9.0f}{ratio:>13.1f}  {target}"
        )
    print(
        f"medians of {args.repeats} runs; baseline {args.baseline_steps} steps, large {args.large_steps} steps "
        f"(after 2 warm-up steps), Boltzmann {args.boltzmann_steps} steps"
    )
    if args.compare:
        _compare(args.compare, args.baseline_steps, args.repeats)


def _compare(ref: str, steps: int, repeats: int) -> None:
    """Baseline steps/s of this tree and of ``ref``, interleaved in one run."""
    here, there = [], []
    with _worktree(ref) as tree:
        for _ in range(repeats):
            here.append(_one("baseline", steps)["steps_per_s"])
            there.append(_one("baseline", steps, tree)["steps_per_s"])
    now, then = statistics.median(here), statistics.median(there)
    print(
        f"\nbaseline steps/s: this tree {now:.1f}, {ref} {then:.1f} "
        f"(ratio {now / then:.2f}; medians of {repeats} interleaved runs)"
    )


if __name__ == "__main__":
    main()
