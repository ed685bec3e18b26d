"""Run one scenario and write its results directory, atomically.

``results/<name>/`` holds ``metrics.parquet`` (one row per step), ``flows.parquet``
(one row per trade per step, along the supply graph), ``firms.parquet`` (per-firm
state every step), ``manifest.json`` (config, seed, versions, git commit, timings)
and ``dashboard.png``. Everything is written into a hidden sibling folder first and
moved into place at the end, so an interrupted or failed run leaves nothing behind
and a finished one is never half-written.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.config import PACKAGE_ROOT, Config

SUMMARY_COLUMNS = [
    ("gpu_price", "GPU price", "$/GPU", "{:,.0f}"),
    ("vendor_gross_margin", "vendor gross margin", "", "{:.1%}"),
    ("compute_price", "compute price", "$/GPU-h", "{:.2f}"),
    ("utilization", "utilisation", "", "{:.1%}"),
    ("compute_shortage", "compute shortage", "", "{:.1%}"),
    ("token_price", "token price (labs)", "$/Mtok", "{:.2f}"),
    ("price_at_fixed_capability", "price at fixed capability", "$/Mtok", "{:.3f}"),
    ("tokens", "tokens", "T/month", None),
    ("user_spend", "user spend", "$B/month", None),
    ("capex", "hyperscaler capex", "$B/month", None),
    ("installed_gpus", "installed GPUs", "M H100e", None),
    ("dc_capacity_mw", "energized capacity", "GW", None),
    ("startups_alive", "startups alive", "", "{:.0f}"),
    ("margin_model_devs", "lab gross margin", "", "{:.1%}"),
    ("margin_startups", "startup gross margin", "", "{:.1%}"),
]
_SCALE = {
    "tokens": 1e6,
    "user_spend": 1e9,
    "capex": 1e9,
    "installed_gpus": 1e6,
    "dc_capacity_mw": 1e3,
}


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("abm", "mesa", "numpy", "pandas", "networkx", "pyarrow", "pydantic", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PACKAGE_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PACKAGE_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def summary_table(df: pd.DataFrame) -> str:
    """A short text table: the key metrics at the end of each year and at the last step."""
    rows = df.iloc[1:]
    picks = rows[rows["date"].str.endswith("-12")]
    if rows.index[-1] not in picks.index:
        picks = pd.concat([picks, rows.iloc[[-1]]])
    if len(picks) > 6:  # the calibration years first, then evenly to the end
        keep = [0, 1, *np.linspace(2, len(picks) - 1, 4).round().astype(int)]
        picks = picks.iloc[sorted(set(keep))]
    header = f"{'metric':<28}{'unit':<10}" + "".join(f"{d:>11}" for d in picks["date"])
    lines = [header, "-" * len(header)]
    for col, label, unit, fmt in SUMMARY_COLUMNS:
        cells = []
        for v in picks[col]:
            if fmt is None:
                cells.append(f"{v / _SCALE[col]:>11.3g}")
            else:
                cells.append(f"{fmt.format(v):>11}")
        lines.append(f"{label:<28}{unit:<10}" + "".join(cells))
    lines.append(f"{'max ledger error':<28}{'$':<10}{df['ledger_error'].max():>11.2e}")
    return "\n".join(lines)


def run_scenario(
    config: Config, seed: int, steps: int | None, out_dir: Path, source: str = ""
) -> tuple[Path, pd.DataFrame, float]:
    """Run ``config`` with ``seed`` and write ``out_dir`` atomically.

    Returns the directory, the metrics dataframe and the wall time of the run (s).
    """
    from abm.dashboard import plot_dashboard
    from abm.model import ComputeMarket

    steps = config.simulation.steps if steps is None else steps
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        t0 = time.perf_counter()
        model = ComputeMarket(config=config, rng=seed, record_flows=True)
        model.run(steps)
        wall = time.perf_counter() - t0
        df = model.datacollector.get_model_vars_dataframe()
        df.index.name = "step"
        df.to_parquet(tmp / "metrics.parquet")
        pd.DataFrame(model.supply.flow_table()).to_parquet(tmp / "flows.parquet", index=False)
        pd.DataFrame(model.firm_log).to_parquet(tmp / "firms.parquet", index=False)
        plot_dashboard(df, tmp / "dashboard.png", title=f"{config.name} (seed {seed})")
        manifest: dict[str, Any] = {
            "name": config.name,
            "config_file": source,
            "seed": seed,
            "steps": steps,
            "start": config.simulation.start,
            "config": config.to_dict(),
            "versions": package_versions(),
            "git_commit": git_commit(),
            "wall_time_s": round(wall, 3),
            "seconds_per_step": round(wall / max(steps, 1), 5),
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": ["metrics.parquet", "flows.parquet", "firms.parquet", "dashboard.png"],
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            os.replace(out_dir, old / "previous")
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir, df, wall
