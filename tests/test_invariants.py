"""Each invariant of abm.invariants catches the state it guards: a small market after one
step is sound, then each test breaks one thing on purpose and expects its message."""

from __future__ import annotations

import numpy as np
import pytest

from abm import ComputeMarket
from abm.invariants import violations


@pytest.fixture
def m() -> ComputeMarket:
    model = ComputeMarket(rng=5, **{"end_users.simulated_users": 300})
    model.step()
    assert violations(model) == []
    return model


def broken(m: ComputeMarket, expected: str) -> list[str]:
    found = violations(m)
    assert any(expected in v for v in found), found
    return found


def a_selling_lab(m: ComputeMarket):
    return next(lab for lab in m.labs if lab.tokens_sold > 0)


# ---------------------------------------------------------------- money
def test_money_created_without_a_counter_entry_breaks_the_ledger(m):
    m.ledger._balance[m.ledger._index[m.labs[0].unique_id]] += 1e6
    assert broken(m, "ledger error 1e+06 $ above") == [
        v for v in violations(m) if v.startswith("ledger error")
    ]


def test_a_firm_paying_out_more_than_its_cash_is_caught(m):
    lab = m.labs[0]
    m.ledger.transfer(lab.unique_id, "households", lab.cash + 5e6, "test")
    assert broken(m, f"{lab.name}: negative cash") == [f"{lab.name}: negative cash -5e+06"]


def test_negative_debt_is_caught(m):
    h = m.hyperscalers[1]
    h.debt = -1.0
    assert violations(m) == [f"{h.name}: negative debt"]


# ---------------------------------------------------------------- vendors
@pytest.mark.parametrize(
    "breakage",
    [
        lambda v: setattr(v, "capacity", -1.0),
        lambda v: v.backlog.update({next(iter(v.backlog)): -1.0}),
        lambda v: setattr(v, "price", 0.0),
    ],
    ids=["capacity", "backlog", "price"],
)
def test_a_vendors_negative_capacity_backlog_or_price_is_caught(m, breakage):
    v = m.vendors[0]
    breakage(v)
    broken(m, f"{v.name}: negative capacity, backlog or price")


# ---------------------------------------------------------------- clouds
@pytest.mark.parametrize(
    ("array", "label"),
    [("units", "fleet"), ("inv_units", "inventory"), ("p_mw", "project MW")]
    + [("p_cost", "project cost")],
)
def test_a_clouds_negative_stock_is_caught(m, array, label):
    h = m.hyperscalers[0]
    stock = getattr(h, array).copy()
    if stock.size:
        stock[0] = -1.0
    else:
        stock = np.array([-1.0])
    setattr(h, array, stock)
    broken(m, f"{h.name}: negative {label}")


@pytest.mark.parametrize(("attr", "value"), [("energized_mw", -1.0), ("price", 0.0)])
def test_a_clouds_negative_energized_mw_or_price_is_caught(m, attr, value):
    h = m.hyperscalers[0]
    setattr(h, attr, value)
    broken(m, f"{h.name}: negative energized MW or price")


def test_gpus_installed_beyond_energized_mw_are_caught(m):
    h = m.hyperscalers[0]
    h.energized_mw = 0.5 * h.used_mw
    broken(m, f"{h.name}: GPUs installed beyond energized MW")


def test_compute_sold_above_capacity_is_caught(m):
    h = m.hyperscalers[0]
    h.sold = 2.0 * h.capacity_gpu_hours
    broken(m, f"{h.name}: sold ")
    broken(m, "above capacity")


def test_own_work_and_sales_above_the_fleet_are_caught(m):
    """Whichever runs first, the labs' hours and the parent's own cannot exceed the fleet."""
    h = m.hyperscalers[0]
    h.own_demand = h.own_used = h.gpu_hours
    h.sold = 0.5 * h.gpu_hours
    broken(m, "used above its fleet's")


def test_own_work_using_more_than_it_asked_is_caught(m):
    h = m.hyperscalers[0]
    h.own_used = h.own_demand * 1.01 + 1.0
    broken(m, "its parent's work used more than it asked")


# ---------------------------------------------------------------- labs and users
@pytest.mark.parametrize(
    "breakage",
    [
        lambda lab: setattr(lab, "tokens_sold", lab.token_orders * 1.01 + 1.0),
        lambda lab: setattr(lab, "price", 0.0),
    ],
    ids=["tokens", "price"],
)
def test_a_lab_selling_more_tokens_than_ordered_or_at_no_price_is_caught(m, breakage):
    lab = a_selling_lab(m)
    breakage(lab)
    broken(m, f"{lab.name}: sold more tokens than ordered, or non-positive price")


def test_a_lab_using_more_compute_than_it_received_is_caught(m):
    lab = a_selling_lab(m)
    lab.training_gpu_hours += 0.01 * lab.compute_received + 1.0
    broken(m, f"{lab.name}: used more compute than received")


@pytest.mark.parametrize("breakage", ["negative demand", "bought more"])
def test_a_segment_with_negative_demand_or_buying_more_than_wanted_is_caught(m, breakage):
    seg = next(s for s in m.segments if s.demand.max() > 0)
    i = int(np.argmax(seg.demand))
    if breakage == "negative demand":
        seg.demand[i] = -1.0
    else:
        seg.bought[i] = 2.0 * seg.demand[i]
    broken(m, f"{seg.name}: negative demand or bought more than wanted")


# ---------------------------------------------------------------- goods along the graph
def test_gpus_shipped_but_not_on_the_graph_are_caught(m):
    v, h = m.vendors[0], m.hyperscalers[0]
    m.supply.trade(v.unique_id, h.unique_id, 5.0, 0.0)  # five parts appear on an edge
    broken(m, "GPUs shipped")
    assert "!= GPUs on edges" in violations(m)[-1]


def test_compute_sold_but_not_received_is_caught(m):
    lab = a_selling_lab(m)
    lab.compute_received *= 0.5
    broken(m, "compute sold")


def test_tokens_delivered_but_not_received_by_users_are_caught(m):
    lab = a_selling_lab(m)
    seg = m.segments[0]
    m.supply.trade(lab.unique_id, seg.unique_id, 1e3, 0.0)
    broken(m, "tokens received by users")


def test_goods_are_not_compared_before_the_first_step():
    m = ComputeMarket(rng=5, **{"end_users.simulated_users": 300})
    m.vendors[0].shipped_units = 5.0
    assert violations(m) == []
