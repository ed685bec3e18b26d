"""Golden runs: refactors must reproduce the model's results exactly.

The baseline and two scenarios (seed 7, 120 steps) were run once and stored in
``tests/golden/``. Every metric of every step, and every trade on the supply graph,
must come out bit for bit the same. A commit that changes results on purpose
regenerates them with ``python tests/golden/make_golden.py`` and says why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))
from make_golden import RUNS, machine, run  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(RUNS))
def test_golden_run_is_reproduced_exactly(name):
    expected = pd.read_parquet(GOLDEN / f"{name}.parquet")
    metrics, digest = run(RUNS[name])
    made_on = json.loads((GOLDEN / "machine.json").read_text())
    here = machine()
    note = (
        ""
        if here == made_on
        else f"\n(the golden runs were made on {made_on}, this run is on {here}: a last-bit "
        "difference in a library's math on another processor also shows here)"
    )
    try:
        pd.testing.assert_frame_equal(metrics[expected.columns], expected, check_exact=True)
    except AssertionError as e:
        raise AssertionError(f"{e}{note}") from None
    assert digest == json.loads((GOLDEN / "flows_digests.json").read_text())[name], note
