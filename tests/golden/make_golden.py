"""Write the golden runs that ``tests/test_golden.py`` reproduces exactly.

Only a commit that changes the model's results on purpose may rerun this, and its
message must say why the numbers moved. Usage::

    python tests/golden/make_golden.py
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SEED = 7
STEPS = 120
RUNS = {
    "baseline": "configs/baseline.toml",
    "buildout_fast": "configs/scenarios/buildout_fast.toml",
    "vc_boom_freeze": "configs/scenarios/vc_boom_freeze.toml",
    # the one-month switch of generations (rounds 1-10), kept as a path of the code
    "gpu_generations_step": "configs/scenarios/gpu_generations_step.toml",
}


def run(config: str):
    """Metrics and a digest of the per-trade flow log of one golden run."""
    from abm import ComputeMarket

    model = ComputeMarket(config=REPO / config, rng=SEED, record_flows=True)
    model.run(steps=STEPS)
    metrics = model.datacollector.get_model_vars_dataframe()
    flows = pd.DataFrame(model.supply.flow_table())
    return metrics, flows_digest(flows)


def flows_digest(flows: pd.DataFrame) -> str:
    """A digest of every trade (step, seller, buyer, quantity, value), exact to the bit.

    Rows are sorted first, so the digest does not depend on the order in which a
    step's trades were recorded, only on what traded."""
    cols = ["step", "seller", "buyer", "quantity", "value"]
    table = flows[cols].sort_values(cols, kind="stable").reset_index(drop=True)
    h = hashlib.sha256()
    for col in cols:
        h.update(table[col].to_numpy().tobytes())
    return h.hexdigest()


def machine() -> dict[str, str]:
    """What made a run: the processor, Python and the numerical libraries. The model is
    deterministic on one machine, but the last bit of a library's math can differ
    between processors, and a run amplifies a last-bit difference within a few
    months, so a golden run is exact only where this matches."""
    import numpy as np
    import pandas
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:  # numpy's own record of the processor features it dispatches on (private)
        found = np._core._multiarray_umath.__cpu_features__
    except AttributeError:
        found = {}
    return {
        "cpu": cpu,
        "simd": " ".join(
            k for k, on in sorted(found.items()) if on and k.startswith(("AVX", "X86"))
        ),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
    }


def main() -> None:
    digests = {}
    for name, config in RUNS.items():
        metrics, digest = run(config)
        metrics.to_parquet(HERE / f"{name}.parquet")
        digests[name] = digest
        print(f"{name}: {len(metrics)} rows, flows {digest[:12]}")
    (HERE / "flows_digests.json").write_text(json.dumps(digests, indent=2) + "\n")
    (HERE / "machine.json").write_text(json.dumps(machine(), indent=2) + "\n")


if __name__ == "__main__":
    main()
