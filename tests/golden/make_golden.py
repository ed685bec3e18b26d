"""Write the golden runs that ``tests/test_golden.py`` reproduces exactly.

Only a commit that changes the model's results on purpose may rerun this, and its
message must say why the numbers moved. Usage::

    python tests/golden/make_golden.py
"""

from __future__ import annotations

import hashlib
import json
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


def main() -> None:
    digests = {}
    for name, config in RUNS.items():
        metrics, digest = run(config)
        metrics.to_parquet(HERE / f"{name}.parquet")
        digests[name] = digest
        print(f"{name}: {len(metrics)} rows, flows {digest[:12]}")
    (HERE / "flows_digests.json").write_text(json.dumps(digests, indent=2) + "\n")


if __name__ == "__main__":
    main()
