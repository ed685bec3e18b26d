"""Startups' own rules -- founding, burn, rounds, exit, supplier review, entry, markups --
on a small real market (wired to its ledger and graph)."""

from __future__ import annotations

import numpy as np
import pytest
from support import set_cash

from abm.agents import startup
from abm.market.venture import hold_round

from .conftest import small_market


# ---------------------------------------------------------------- founding
def test_a_founded_startup_is_funded_by_the_venture_pool_and_wired_to_its_supplier_and_users():
    m = small_market()
    vc = m.ledger.balance("venture_capital")
    m.ledger.start_step()
    s = startup.found(m)
    seed = m.cfg.startups.seed_round
    assert s.cash == seed
    assert m.ledger.balance("venture_capital") == vc - seed
    assert m.ledger.step_flows["vc_startups"] == seed
    lab = next(lab for lab in m.labs if lab.unique_id == s.supplier)
    assert s.price == pytest.approx(lab.price * (1 + m.cfg.startups.initial_markup))
    g = m.supply.g
    assert g.nodes[s.unique_id]["layer"] == "startup"
    assert g.has_edge(lab.unique_id, s.unique_id)
    assert {v for _, v in g.out_edges(s.unique_id)} == {seg.unique_id for seg in m.segments}
    assert s in m.agents


def test_initial_startups_get_seed_rounds_of_varying_size():
    m = small_market()
    seed = m.cfg.startups.seed_round
    cash = np.array([s.cash for s in m.startups])
    assert ((cash >= 0.5 * seed) & (cash <= 1.5 * seed)).all()
    assert np.unique(cash).size == cash.size


# ---------------------------------------------------------------- burn, rounds, exit
def test_a_startup_with_no_cash_and_no_round_closes():
    m = small_market(**{"startups.initial_count": 3})
    broke, *others = m.startups
    set_cash(m, broke, 0.0)
    assert all(s.cash > s.base_burn for s in others)
    startup.burn_and_ask(m, list(m.startups))
    survivors, exited, acquired = startup.exit_or_carry_on(m, list(m.startups))
    assert (survivors, exited, acquired) == (others, [broke], 0)
    assert broke not in m.agents
    assert m.supply.g.nodes[broke.unique_id]["exiting"]
    assert all(s.burn == s.base_burn for s in others)  # no revenue: the base team only


def test_a_startup_short_of_runway_asks_for_its_net_burn_and_survives_on_the_round():
    m = small_market(**{"startups.initial_count": 1})
    (s,) = m.startups
    set_cash(m, s, 0.0)
    startup.burn_and_ask(m, [s])
    sc = m.cfg.startups
    assert s.ask == pytest.approx(sc.round_runway_months * s.base_burn)
    seeds = hold_round(m.venture, [s], 0, sc.seed_round)
    assert seeds.size == 0 and s.cash == pytest.approx(s.raised)
    # money chasing deals: at least its ask, at most the cash reserve it accepts (issue 11b)
    assert s.ask < s.raised <= s.cash_reserve() * (1 + 1e-12)
    survivors, exited, _ = startup.exit_or_carry_on(m, [s])
    assert (survivors, exited, s.rounds) == ([s], [], 1)


def test_a_startup_whose_gross_profit_covers_its_burn_stops_raising_and_survives():
    m = small_market(**{"startups.initial_count": 1, "startups.acquisition_probability": 0.0})
    (s,) = m.startups
    set_cash(m, s, 0.0)
    s.revenue, s.token_cost = 5.0 * s.base_burn, 1.0 * s.base_burn  # gross profit 4x base
    startup.burn_and_ask(m, [s])
    share = m.cfg.startups.growth_spend_share
    assert s.burn == pytest.approx(share * 4.0 * s.base_burn)  # hires with its gross profit
    assert s.ask == 0.0  # no net burn: nothing to raise
    survivors, exited, _ = startup.exit_or_carry_on(m, [s])
    assert (survivors, exited) == ([s], [])


def test_burn_follows_the_headcount_plan_and_is_paid_from_cash():
    m = small_market(**{"startups.initial_count": 1})
    (s,) = m.startups
    s.revenue, s.token_cost = 3e6, 1e6
    cash = s.cash
    m.ledger.start_step()
    startup.burn_and_ask(m, [s])
    burn = max(s.base_burn, m.cfg.startups.growth_spend_share * 2e6)
    assert s.burn == pytest.approx(burn)
    assert m.ledger.step_flows["startup_burn"] == pytest.approx(min(burn, cash))


def test_a_self_funding_startup_can_be_acquired_and_its_investors_are_paid():
    m = small_market(**{"startups.initial_count": 1, "startups.acquisition_probability": 1.0})
    (s,) = m.startups
    s.revenue, s.token_cost = 5.0 * s.base_burn, 1.0 * s.base_burn
    startup.burn_and_ask(m, [s])
    lps = m.ledger.balance("limited_partners")
    survivors, exited, acquired = startup.exit_or_carry_on(m, [s])
    assert (survivors, exited, acquired) == ([], [s], 1)
    price = m.cfg.vc.exit_revenue_multiple * 12.0 * s.revenue
    assert m.ledger.balance("limited_partners") == pytest.approx(lps + price)
    assert s not in m.agents


def test_closing_returns_the_cash_left_to_investors():
    m = small_market()
    s = m.startups[0]
    set_cash(m, s, 1234.0)
    vc = m.ledger.balance("venture_capital")
    m.ledger.start_step()
    s.close()
    assert m.ledger.balance("venture_capital") == pytest.approx(vc + 1234.0)
    assert m.ledger.step_flows["liquidation"] == pytest.approx(1234.0)
    assert s.cash == 0.0
    assert s not in m.agents


# ---------------------------------------------------------------- suppliers
def test_startups_that_review_move_to_the_lab_users_value_most():
    m = small_market(**{"startups.supplier_switch_probability": 1.0})
    best = m.labs[0]
    best.quality += 2.0  # clearly the best value at its price
    moving = [s for s in m.startups if s.supplier != best.unique_id]
    old = {s.unique_id: s.supplier for s in moving}
    assert moving
    startup.review_suppliers(m, m.startups)
    assert all(s.supplier == best.unique_id for s in m.startups)
    for s in moving:
        assert s.price == pytest.approx(best.price * (1 + s.markup))
        g = m.supply.g
        assert g.has_edge(best.unique_id, s.unique_id)
        assert g.edges[old[s.unique_id], s.unique_id]["ending"]  # gone from next step
    m.supply.start_step(1)
    assert not any(m.supply.g.has_edge(old[s.unique_id], s.unique_id) for s in moving)


def test_no_startup_switches_when_reviews_are_off():
    m = small_market(**{"startups.supplier_switch_probability": 0.0})
    m.labs[0].quality += 2.0
    before = [s.supplier for s in m.startups]
    startup.review_suppliers(m, m.startups)
    assert [s.supplier for s in m.startups] == before


# ---------------------------------------------------------------- entry
@pytest.mark.parametrize(("room", "entries"), [(0, 0), (2, 2)])
def test_entry_never_goes_beyond_max_count(room, entries):
    m = small_market(**{"startups.initial_count": 5, "startups.max_count": 5 + room})
    startups = list(m.startups)
    assert startup.enter(m, startups, np.full(10, 8e6)) == entries
    assert len(startups) == 5 + entries


def test_only_founders_whose_seed_was_funded_start_up_and_the_pool_pays_it():
    m = small_market(**{"startups.initial_count": 5})
    startups, pool = list(m.startups), m.ledger.balance("venture_capital")
    m.ledger.start_step()
    assert startup.enter(m, startups, np.array([8e6, 0.0, 5e6])) == 2
    assert m.ledger.balance("venture_capital") == pytest.approx(pool - 13e6)
    assert m.ledger.step_flows["vc_startups"] == pytest.approx(13e6)


@pytest.mark.parametrize(("rate", "gross_over_burn"), [(0.0, 1.0), (1000.0, 0.0)])
def test_no_founders_come_without_entry_or_when_incumbents_earn_nothing(rate, gross_over_burn):
    m = small_market(**{"startups.entry_rate_per_month": rate})
    for s in m.startups:
        s.revenue = gross_over_burn * s.burn
    assert startup.founders(m, m.startups) == 0


def test_in_a_frozen_pool_no_seed_is_funded():
    m = small_market(**{"startups.entry_rate_per_month": 1000.0})
    m.ledger.transfer("venture_capital", "limited_partners", m.venture.balance, "test")
    for s in m.startups:
        s.revenue = s.burn
    n = startup.founders(m, m.startups)
    seeds = hold_round(m.venture, [], n, m.cfg.startups.seed_round)
    assert n > 0 and (seeds == 0).all()


# ---------------------------------------------------------------- markups
def test_startups_keep_the_markup_they_chose_over_their_suppliers_new_price():
    m = small_market(**{"startups.initial_count": 3})
    startup.set_markups(
        m.startups,
        retail=np.array([12.0, 8.0, 10.0]),
        supplier_price=np.array([10.0, 10.0, 10.0]),
        new_supplier_price=np.array([20.0, 5.0, 7.0]),
    )
    assert [s.markup for s in m.startups] == pytest.approx([0.2, 0.0, 0.0])  # never below cost
    assert [s.price for s in m.startups] == pytest.approx([24.0, 5.0, 7.0])


def test_firm_row_reports_the_startups_state():
    s = small_market().startups[0]
    row = s.firm_row()
    assert set(row) == {"id", "layer", "name", "cash", "debt", "price", "markup", "supplier"} | {
        "revenue",
        "tokens_sold",
    }
    assert (row["layer"], row["supplier"]) == ("startup", s.supplier)
