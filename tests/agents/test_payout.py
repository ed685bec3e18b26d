"""Free cash flow goes back to the owners (Jensen 1986): a lab or startup pays out cash
above its reserve, never below it, without starving its training, and every dollar
paid out reaches the limited partners."""

from __future__ import annotations

import pytest
from support import set_cash

from abm.agents import startup
from abm.agents.firm import Firm
from abm.market.venture import LPS

from .conftest import small_market


def frontier_lab(m):
    return next(lab for lab in m.labs if lab.is_frontier)


def test_a_lab_holding_more_than_its_reserve_pays_the_excess_to_limited_partners():
    m = small_market()
    lab = frontier_lab(m)
    reserve = lab.cash_reserve()
    assert reserve > 0
    set_cash(m, lab, 3.0 * reserve)
    lps = m.ledger.balance(LPS)
    m.ledger.start_step()
    paid = lab.pay_out()
    assert paid == pytest.approx(2.0 * reserve)
    assert lab.cash == pytest.approx(reserve)  # at most its reserve ...
    assert m.ledger.balance(LPS) == pytest.approx(lps + paid)
    assert m.ledger.step_flows["payout"] == pytest.approx(paid)
    assert m.ledger.error() < 1e-6 * max(m.ledger.step_volume, 1.0)


@pytest.mark.parametrize("share", [0.0, 0.5, 0.999])
def test_a_lab_below_its_reserve_pays_nothing(share):
    m = small_market()
    lab = frontier_lab(m)
    set_cash(m, lab, share * lab.cash_reserve())
    before = lab.cash
    assert lab.pay_out() == 0.0
    assert lab.cash == before  # ... and never below it


def test_a_lab_that_owes_its_lenders_pays_them_before_its_owners():
    m = small_market()
    lab = frontier_lab(m)
    set_cash(m, lab, 5.0 * lab.cash_reserve())
    lab.debt = 1.0
    assert lab.pay_out() == 0.0


def test_the_reserve_is_runway_on_net_burn_plus_a_buffer_of_spending():
    m = small_market()
    lab = frontier_lab(m)
    vc = m.cfg.vc
    expected = vc.payout_reserve_months * max(lab.planned_net_burn(), 0.0)
    expected += vc.liquidity_months * lab.planned_spending()
    assert lab.cash_reserve() == pytest.approx(expected)
    assert lab.planned_spending() >= lab.desired_budget + lab.staff_cost


def test_a_payout_never_starves_the_training_plan():
    """After paying out down to its reserve, with no credit, the lab can still finance
    its whole planned budget over a training window (budget_training's rule)."""
    m = small_market()
    lab = frontier_lab(m)
    lab.expected_market *= 50.0  # a market in which its runs pay (none does in Jan 2023)
    lab.run_plans.clear()
    lab.plan_training(0.0)
    assert lab.desired_budget > 0
    set_cash(m, lab, 10.0 * lab.cash_reserve())
    lab.pay_out()
    lab.budget_training(m.month + 1, credit=0.0)
    assert lab.training_budget == pytest.approx(lab.desired_budget)


def test_startups_pay_out_above_their_reserve_and_keep_it_exactly():
    m = small_market(**{"startups.initial_count": 3})
    rich, poor, owing = m.startups
    for s in m.startups:
        s.revenue, s.token_cost = 3.0 * s.base_burn, 1.0 * s.base_burn  # self-funding
    set_cash(m, rich, 100.0 * rich.cash_reserve())
    set_cash(m, poor, 0.5 * poor.cash_reserve())
    set_cash(m, owing, 100.0 * owing.cash_reserve())
    owing.debt = 1.0
    cash = [s.cash for s in m.startups]
    lps = m.ledger.balance(LPS)
    paid = startup.pay_out(m, m.startups)
    assert paid == pytest.approx(cash[0] - rich.cash_reserve())
    assert rich.cash == pytest.approx(rich.cash_reserve())
    assert (poor.cash, owing.cash) == (cash[1], cash[2])
    assert m.ledger.balance(LPS) == pytest.approx(lps + paid)


def test_startups_reserves_are_their_cash_reserve_to_the_last_bit():
    """pay_out works out every startup's reserve at once: the floats of Firm.cash_reserve."""
    m = small_market(**{"startups.initial_count": 4})
    for k, s in enumerate(m.startups):
        s.revenue, s.token_cost = (1.0 + k) * s.base_burn, 0.3 * s.base_burn
        s.remember_burn((2.0 - k) * s.base_burn)  # a peak plan above or below this month's
    reserves = [s.cash_reserve() for s in m.startups]
    for s, r in zip(m.startups, reserves, strict=True):
        set_cash(m, s, 10.0 * r + 1e6)
    cash = [s.cash for s in m.startups]
    startup.pay_out(m, m.startups)
    for s, c, r in zip(m.startups, cash, reserves, strict=True):
        assert s.cash == c - (c - r)


def test_in_a_running_market_every_payout_leaves_the_payer_at_its_reserve(monkeypatch):
    """Each month, each lab that pays out ends at exactly its reserve and none pays out
    from below it; payouts metric = the ledger's payout flow; the ledger balances."""
    seen: list[tuple[float, float, float]] = []
    original = Firm.pay_out

    def watched(self):
        before, reserve = self.cash, self.cash_reserve()
        paid = original(self)
        seen.append((before, reserve, paid))
        assert paid == 0.0 or self.cash == pytest.approx(reserve, rel=1e-9, abs=1e-3)
        return paid

    monkeypatch.setattr(Firm, "pay_out", watched)
    m = small_market(**{"model_developers.initial_cash_frontier": 50e9})
    for _ in range(6):
        m.step()
        assert m.metrics["payouts"] == pytest.approx(m.ledger.step_flows.get("payout", 0.0))
        assert m.ledger.error() < 1e-6 * max(m.ledger.step_volume, 1.0)
    assert any(paid > 0 for _, _, paid in seen)  # $50B a lab is far above its reserve
    assert all(paid == 0.0 for before, reserve, paid in seen if before <= reserve)


def test_a_lab_whose_plan_stops_burning_keeps_the_runway_of_its_peak_plan_for_a_year():
    """One better forecast does not pay back the round raised for a plan: the runway
    covers the highest net burn planned over the last ``reserve_memory_months``."""
    m = small_market()
    lab = frontier_lab(m)
    vc = m.cfg.vc
    lab.remember_burn(1e9)  # it planned to burn $1B a month
    for _ in range(vc.reserve_memory_months - 1):
        lab.remember_burn(-5e8)  # ... then expects free cash flow
    buffer = vc.liquidity_months * lab.planned_spending()
    now = max(lab.planned_net_burn(), 0.0)
    assert lab.cash_reserve() == pytest.approx(vc.payout_reserve_months * max(1e9, now) + buffer)
    lab.remember_burn(-5e8)  # a year on, the peak has left its memory
    assert lab.cash_reserve() == pytest.approx(vc.payout_reserve_months * now + buffer)
