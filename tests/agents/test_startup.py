"""Startups' own rules -- founding, burn, rounds, exit, supplier review, entry, markups --
on a small real market (wired to its ledger and graph)."""

from __future__ import annotations

import numpy as np
import pytest

from abm.agents import startup

from .conftest import set_cash, small_market


# ---------------------------------------------------------------- founding
def test_a_founded_startup_is_funded_by_venture_capital_and_wired_to_its_supplier_and_users():
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
    survivors, exited = startup.burn_raise_and_exit(m, list(m.startups), climate=0.0)
    assert (survivors, exited) == (others, [broke])
    assert broke not in m.agents
    assert m.supply.g.nodes[broke.unique_id]["exiting"]
    # the others paid their burn out of cash
    assert all(s.burn == s.base_burn for s in others)


def test_a_startup_out_of_cash_that_closes_a_round_survives():
    m = small_market(**{"startups.initial_count": 1, "vc.startup_round_probability": 1.0})
    (s,) = m.startups
    set_cash(m, s, 0.0)
    survivors, exited = startup.burn_raise_and_exit(m, [s], climate=10.0)
    assert (survivors, exited, s.rounds) == ([s], [], 1)
    # a round buys round_runway_months of burn (no traction: no premium)
    assert s.cash == pytest.approx(m.cfg.startups.round_runway_months * s.base_burn)


def test_burn_grows_with_gross_profit_and_is_paid_from_cash():
    m = small_market(**{"startups.initial_count": 1, "vc.startup_round_probability": 0.0})
    (s,) = m.startups
    s.revenue, s.token_cost = 3e6, 1e6
    cash = s.cash
    m.ledger.start_step()
    startup.burn_raise_and_exit(m, [s], climate=1.0)
    burn = s.base_burn + m.cfg.startups.reinvest_share * 2e6
    assert s.burn == pytest.approx(burn)
    assert m.ledger.step_flows["startup_burn"] == pytest.approx(min(burn, cash))


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
    m = small_market(
        **{
            "startups.initial_count": 5,
            "startups.max_count": 5 + room,
            "startups.entry_rate_per_month": 1000.0,
        }
    )
    startups = list(m.startups)
    for s in startups:
        s.revenue = s.burn  # incumbents cover their burn: founders are attracted
    assert startup.enter(m, startups, climate=1.0) == entries
    assert len(startups) == 5 + entries


@pytest.mark.parametrize(("climate", "gross_over_burn"), [(0.0, 1.0), (1.0, 0.0)])
def test_no_one_enters_in_a_frozen_climate_or_when_incumbents_earn_nothing(
    climate, gross_over_burn
):
    m = small_market(**{"startups.entry_rate_per_month": 1000.0})
    startups = list(m.startups)
    for s in startups:
        s.revenue = gross_over_burn * s.burn
    assert startup.enter(m, startups, climate=climate) == 0
    assert startups == m.startups


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
