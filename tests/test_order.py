"""The model's results do not depend on where an agent stands in its list.

Clouds order GPUs together (none reads a queue its rivals lengthened this month),
same-month deliveries are installed by compute per MW (not by the vendors' order),
and a fleet at its aim orders nothing rather than its rounding residue. Reversing
the vendors, or the clouds within each kind, then leaves every metric as it was, to
rounding: sums taken in another order differ in the last bits, so the comparison is
to a relative 1e-9 over three years (a month of rounding is ~1e-16; the old rules
moved metrics by 1e-4 or more within the first months).

The clouds' test fixes every build stage at its mean (``duration_cv = 0``): the
stages' random durations are drawn from one stream cloud by cloud, so reversing the
clouds would hand them other draws -- an order dependence of the random numbers, not
of the economics (``benchmarks/order_dependence.py`` measures both).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm import ComputeMarket

MONTHS = 36
SMALL = {"end_users.simulated_users": 300}
FIXED_STAGES = {f"datacenters.regions.{r}.duration_cv": 0.0 for r in ("us", "eu", "fast", "colo")}


def _reverse_within(items: list, key) -> None:
    for kind in {key(x) for x in items}:
        where = [i for i, x in enumerate(items) if key(x) == kind]
        picked = [items[i] for i in where][::-1]
        for i, x in zip(where, picked, strict=True):
            items[i] = x


def _metrics(over: dict, reverse=None) -> pd.DataFrame:
    m = ComputeMarket(rng=3, **over)
    if reverse is not None:
        reverse(m)
    m.run(MONTHS)
    # the ledger's rounding error is rounding itself: it follows the order of the sums
    return m.datacollector.get_model_vars_dataframe().drop(columns=["date", "ledger_error"])


@pytest.mark.parametrize(
    ("over", "reverse"),
    [
        (SMALL, lambda m: m.vendors.reverse()),
        ({**SMALL, **FIXED_STAGES}, lambda m: _reverse_within(m.hyperscalers, lambda h: h.kind)),
    ],
    ids=["vendors", "clouds"],
)
def test_reversing_an_agent_list_changes_no_metric(over, reverse):
    base, turned = _metrics(over), _metrics(over, reverse)
    np.testing.assert_allclose(turned.to_numpy(float), base.to_numpy(float), rtol=1e-9, atol=1e-9)
