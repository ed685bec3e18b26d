"""Credit in whole runs: limits hold, the baseline's first two years see no default, and
the fast build-out stays within what lenders allow, well below what it would borrow
if lenders never said no."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from abm import ComputeMarket
from abm.config import CONFIG_DIR


@lru_cache(maxsize=4)
def credit_run(config: str, seed: int = 1, steps: int = 120):
    """Per step: defaults, $ written off, cloud debt, and the highest ratio of a surviving
    firm's debt to its capacity at the month end; plus the ledger's largest error."""
    m = ComputeMarket(config=CONFIG_DIR / config, rng=seed)
    rows = []
    for _ in range(steps):
        m.step()
        firms = [f for f in (*m.vendors, *m.hyperscalers, *m.labs, *m.startups) if f.debt > 0]
        worst = max(
            (f.debt / max(f.debt_capacity(), 1e-9) for f in firms if not f.defaulted),
            default=0.0,
        )
        rows.append(
            (
                m.metrics["defaults"],
                m.metrics["debt_written_off"],
                sum(h.debt for h in m.hyperscalers),
                worst,
                m.metrics["ledger_error"] / max(m.metrics["ledger_volume"], 1.0),
            )
        )
    return np.array(rows)


@pytest.mark.slow
def test_no_firm_defaults_in_the_baselines_first_two_years():
    run = credit_run("baseline.toml")
    assert run[:24, 0].sum() == 0
    assert run[:24, 1].sum() == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("config", ["baseline.toml", "scenarios/buildout_fast.toml"])
def test_every_surviving_firm_ends_the_month_within_its_credit_limit(config):
    run = credit_run(config)
    assert run[:, 3].max() <= 1.0 + 1e-6
    assert run[:, 4].max() < 1e-9  # money is conserved through every default


@pytest.mark.slow
def test_the_fast_buildout_borrows_within_limits_and_lenders_bear_the_defaults():
    run = credit_run("scenarios/buildout_fast.toml")
    # the same scenario with lenders who lend up to 100x EBITDA against all the collateral
    m = ComputeMarket(
        config=CONFIG_DIR / "scenarios/buildout_fast.toml",
        rng=1,
        **{
            "credit.max_leverage": 100.0,
            "credit.min_interest_cover": 1e-6,
            "credit.loan_to_value": 1.0,
        },
    )
    unlimited = max(sum(h.debt for h in m.hyperscalers) for _ in range(120) if m.step() is None)
    assert run[:, 2].max() < 0.9 * unlimited
    # what was lent and not repaid shows up as lenders' losses, in the months of default
    assert np.all((run[:, 1] > 0) == (run[:, 0] > 0))
