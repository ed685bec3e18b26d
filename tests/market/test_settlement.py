"""Settlement: the one payment rule, table-driven, on a real ledger and supply graph.

Obligations (:func:`pay`) are paid in full and borrow the shortfall; discretionary
outlays (:func:`spend`) are paid only out of cash. No Mesa: payers are tiny objects
with a ``unique_id`` and a credit line.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np
import pytest

from abm.agents.firm import Firm
from abm.config import load_config
from abm.ledger import Ledger
from abm.market.settlement import deliver, deliver_many, pay, repay_debt, spend, spend_many
from abm.supply_graph import SupplyGraph

VENDOR, CLOUD, OTHER_CLOUD = 1, 2, 3


@dataclass
class Payer:
    """A firm as settlement sees it: an account key and a credit line."""

    unique_id: int
    debt: float = 0.0

    def borrow(self, amount: float) -> None:
        self.debt += amount


def books(*cash: float) -> tuple[Ledger, list[Payer]]:
    """A ledger with one firm per ``cash`` entry (ids 1, 2, ...), each holding that cash.

    Negative cash is set by paying households, so the books still balance."""
    ledger = Ledger()
    payers = []
    for i, c in enumerate(cash, start=1):
        ledger.open(i)
        if c > 0:
            ledger.transfer("households", i, c, "initial_capital")
        elif c < 0:
            ledger.transfer(i, "households", -c, "initial_capital")
        payers.append(Payer(i))
    ledger.start_step()
    return ledger, payers


def market() -> SupplyGraph:
    """A vendor selling to two clouds."""
    graph = SupplyGraph()
    graph.add_node(VENDOR, "vendor", "v")
    graph.add_node(CLOUD, "hyperscaler", "c")
    graph.add_node(OTHER_CLOUD, "hyperscaler", "c2")
    graph.connect(VENDOR, CLOUD)
    graph.connect(VENDOR, OTHER_CLOUD)
    graph.start_step(1)
    return graph


# ---------------------------------------------------------------- obligations
@pytest.mark.parametrize(
    ("cash", "amount", "paid", "borrowed", "cash_after"),
    [
        (100.0, 40.0, 40.0, 0.0, 60.0),  # cash above the amount: paid from cash
        (40.0, 40.0, 40.0, 0.0, 0.0),  # cash equal to it: nothing borrowed
        (10.0, 40.0, 40.0, 30.0, 0.0),  # short: borrows exactly the shortfall
        (0.0, 40.0, 40.0, 40.0, 0.0),  # no cash: borrows it all
        (100.0, 0.0, 0.0, 0.0, 100.0),  # nothing due
    ],
)
def test_an_obligation_is_paid_in_full_borrowing_exactly_the_shortfall(
    cash, amount, paid, borrowed, cash_after
):
    ledger, (firm,) = books(cash)
    assert pay(ledger, firm, "energy_opex", amount, "energy_opex") == paid
    assert ledger.balance(firm.unique_id) == cash_after
    assert firm.debt == borrowed
    assert ledger.balance("lenders") == -borrowed
    assert ledger.balance("energy_opex") == paid
    assert ledger.step_flows["borrowing"] == borrowed
    assert ledger.step_flows["energy_opex"] == paid
    assert ledger.total() == 0.0


def test_an_obligation_from_negative_cash_borrows_back_to_zero_first():
    ledger, (firm,) = books(-20.0)
    pay(ledger, firm, "energy_opex", 40.0, "energy_opex")
    assert firm.debt == 60.0
    assert ledger.balance(firm.unique_id) == 0.0


# ---------------------------------------------------------------- discretionary outlays
@pytest.mark.parametrize(
    ("cash", "amount", "paid"),
    [
        (100.0, 40.0, 40.0),  # enough cash: paid in full
        (40.0, 40.0, 40.0),
        (10.0, 40.0, 10.0),  # short: spends what it has and no more
        (0.0, 40.0, 0.0),
        (-20.0, 40.0, 0.0),  # negative cash spends nothing (and does not get more negative)
        (100.0, 0.0, 0.0),
    ],
)
def test_a_discretionary_outlay_spends_at_most_the_cash_on_hand(cash, amount, paid):
    ledger, (firm,) = books(cash)
    assert spend(ledger, firm, "households", amount, "lab_staff") == paid
    assert ledger.balance(firm.unique_id) == cash - paid
    assert firm.debt == 0.0
    assert ledger.balance("lenders") == 0.0
    assert ledger.step_flows["lab_staff"] == paid
    assert ledger.total() == 0.0


def test_a_negative_obligation_is_refused_naming_its_kind():
    ledger, (firm,) = books(100.0)
    with pytest.raises(ValueError, match="energy_opex"):
        pay(ledger, firm, "energy_opex", -5.0, "energy_opex")
    assert ledger.balance(firm.unique_id) == 100.0


def test_a_negative_discretionary_outlay_is_refused_naming_its_kind():
    ledger, (firm,) = books(100.0)
    with pytest.raises(ValueError, match="lab_staff"):
        spend(ledger, firm, "households", -5.0, "lab_staff")
    assert ledger.balance(firm.unique_id) == 100.0


def test_spend_many_pays_each_firm_at_most_its_cash():
    ledger, firms = books(100.0, 10.0, 0.0, -5.0)
    paid = spend_many(ledger, firms, "households", np.array([40.0, 40.0, 40.0, 40.0]), "burn")
    np.testing.assert_array_equal(paid, [40.0, 10.0, 0.0, 0.0])
    np.testing.assert_array_equal(ledger.balances([1, 2, 3, 4]), [60.0, 0.0, 0.0, -5.0])
    assert ledger.step_flows["burn"] == 50.0
    assert all(f.debt == 0.0 for f in firms)
    assert ledger.total() == 0.0


def test_spend_many_never_overdraws_a_firm_listed_twice():
    ledger, (firm,) = books(50.0)
    spend_many(ledger, [firm, firm], "households", np.array([40.0, 40.0]), "burn")
    assert ledger.balance(firm.unique_id) >= 0.0


# ---------------------------------------------------------------- repaying debt
@pytest.mark.parametrize(
    ("cash", "debt", "reserve", "share", "repaid"),
    [
        (100.0, 50.0, 0.0, 1.0, 50.0),  # capped at what it owes
        (100.0, 500.0, 0.0, 1.0, 100.0),  # all its spare cash
        (100.0, 500.0, 20.0, 0.5, 40.0),  # a share of the cash beyond the reserve
        (100.0, 500.0, 100.0, 1.0, 0.0),  # no cash beyond the reserve
        (100.0, 500.0, 150.0, 1.0, 0.0),  # reserve above cash: nothing
        (100.0, 0.0, 0.0, 1.0, 0.0),  # no debt
        (0.0, 50.0, 0.0, 1.0, 0.0),  # no cash
    ],
)
def test_debt_is_repaid_from_a_share_of_spare_cash_never_more_than_owed(
    cash, debt, reserve, share, repaid
):
    ledger, (firm,) = books(cash)
    firm.debt = debt
    assert repay_debt(ledger, firm, debt, reserve, share) == repaid
    assert ledger.balance(firm.unique_id) == cash - repaid
    assert ledger.balance("lenders") == repaid
    assert ledger.step_flows["repayment"] == repaid
    assert firm.debt == debt  # the caller lowers the debt by what was repaid


# ---------------------------------------------------------------- deliveries
def test_a_delivery_pays_the_seller_and_records_quantity_and_value_on_the_edge():
    ledger, (vendor, cloud) = books(0.0, 1000.0)
    graph = market()
    assert deliver(ledger, graph, VENDOR, cloud, 3.0, 1500.0, "gpu_sales") == 1500.0
    assert ledger.balance(VENDOR) == 1500.0
    assert ledger.balance(CLOUD) == 0.0
    assert cloud.debt == 500.0  # an obligation: the shortfall is borrowed
    edge = graph.g.edges[VENDOR, CLOUD]
    assert (edge["quantity"], edge["value"], edge["price"]) == (3.0, 1500.0, 500.0)
    assert graph.g.nodes[VENDOR]["revenue"] == 1500.0
    assert ledger.total() == 0.0


def test_a_delivery_along_a_missing_edge_is_refused():
    ledger, (vendor, cloud) = books(0.0, 1000.0)
    graph = market()
    with pytest.raises(KeyError, match=f"missing edge {CLOUD} -> {VENDOR}"):
        deliver(ledger, graph, CLOUD, vendor, 1.0, 10.0, "gpu_sales")


def test_a_refused_delivery_moves_no_money():
    ledger, (vendor, cloud) = books(0.0, 1000.0)
    graph = market()
    with pytest.raises(KeyError):
        deliver(ledger, graph, CLOUD, vendor, 1.0, 10.0, "gpu_sales")
    assert ledger.balances([VENDOR, CLOUD]).tolist() == [0.0, 1000.0]
    assert vendor.debt == 0.0


def test_deliver_many_by_firms_borrows_each_shortfall_and_records_every_trade():
    ledger, (_, cloud, other) = books(0.0, 100.0, 500.0)
    graph = market()
    deliver_many(
        ledger, graph, [VENDOR, VENDOR], [CLOUD, OTHER_CLOUD],
        np.array([2.0, 1.0]), np.array([300.0, 200.0]), "gpu_sales", [cloud, other],
    )  # fmt: skip
    assert (cloud.debt, other.debt) == (200.0, 0.0)
    np.testing.assert_array_equal(ledger.balances([VENDOR, CLOUD, OTHER_CLOUD]), [500, 0, 300])
    g = graph.g
    assert (g.edges[VENDOR, CLOUD]["quantity"], g.edges[VENDOR, CLOUD]["value"]) == (2.0, 300.0)
    assert (g.edges[VENDOR, OTHER_CLOUD]["quantity"], g.edges[VENDOR, OTHER_CLOUD]["value"]) == (
        1.0,
        200.0,
    )
    assert ledger.step_flows["gpu_sales"] == 500.0
    assert ledger.total() == 0.0


def test_a_sector_pays_deliveries_without_a_check():
    ledger, _ = books(0.0, 0.0, 0.0)
    graph = market()
    deliver_many(
        ledger, graph, [VENDOR, VENDOR], [CLOUD, OTHER_CLOUD],
        np.array([1.0, 1.0]), np.array([70.0, 30.0]), "gpu_sales", "households",
    )  # fmt: skip
    assert ledger.balance("households") == -100.0  # a net position, not a firm: no credit line
    assert ledger.balance("lenders") == 0.0
    assert ledger.balance(VENDOR) == 100.0
    assert graph.g.edges[VENDOR, OTHER_CLOUD]["value"] == 30.0


def test_deliver_many_refuses_a_missing_edge():
    ledger, (vendor, cloud, _) = books(0.0, 0.0, 0.0)
    graph = market()
    with pytest.raises(KeyError, match=f"missing edge {OTHER_CLOUD} -> {CLOUD}"):
        deliver_many(
            ledger, graph, [VENDOR, OTHER_CLOUD], [CLOUD, CLOUD],
            np.array([1.0, 1.0]), np.array([1.0, 1.0]), "gpu_sales", "households",
        )  # fmt: skip


def test_deliver_many_keeps_cash_non_negative_for_a_firm_paying_twice():
    ledger, (_, cloud, _) = books(0.0, 50.0, 0.0)
    graph = market()
    deliver_many(
        ledger, graph, [VENDOR, VENDOR], [CLOUD, CLOUD],
        np.array([1.0, 1.0]), np.array([40.0, 40.0]), "gpu_sales", [cloud, cloud],
    )  # fmt: skip
    assert ledger.balance(CLOUD) >= 0.0
    assert cloud.debt == 30.0


# ---------------------------------------------------------------- limited credit (issue 11)
@pytest.mark.parametrize(
    ("cash", "ebitda_month", "amount", "borrowed", "over_limit"),
    [
        (100.0, 10.0, 40.0, 0.0, 0.0),  # paid from cash
        (100.0, 10.0, 500.0, 400.0, 0.0),  # within the headroom: 6 x 120 = 720
        (100.0, 10.0, 900.0, 800.0, 80.0),  # 720 borrowed within the limit, 80 beyond it
        (0.0, 0.0, 50.0, 50.0, 50.0),  # no cash flow: no credit; still paid, all over the limit
    ],
)
def test_an_obligation_draws_on_headroom_first_and_records_what_it_could_not_pay(
    cash, ebitda_month, amount, borrowed, over_limit
):
    model = mesa.Model(rng=0)
    model.ledger, model.supply, model.cfg = Ledger(), SupplyGraph(), load_config()

    class Startup(Firm):
        layer = "startup"

    firm = Startup(model)
    firm.open_account("households", cash)
    firm.ebitda_months.extend([ebitda_month] * 12)
    assert pay(model.ledger, firm, "energy_opex", amount, "energy_opex") == amount
    assert model.ledger.balance("energy_opex") == amount  # the payee is paid in full
    assert firm.debt == pytest.approx(borrowed)
    assert firm.over_limit == pytest.approx(over_limit)
    assert firm.cash == pytest.approx(max(cash - amount, 0.0))
    assert model.ledger.total() == 0.0


@pytest.mark.parametrize("cash", [1e6, 450.0, 0.0])
def test_bills_paid_in_turn_match_pay_one_by_one(cash):
    """pay_in_turn: the same ledger (to the bit) and the same draws on the credit line as
    pay() of each bill in turn, whether the cash covers them all, some or none."""
    from abm.market.settlement import pay_in_turn

    bills = [300.0, 0.0, 125.5, 210.25]
    payees = [VENDOR, OTHER_CLOUD, VENDOR, OTHER_CLOUD]
    (one, (_, p1, _)), (turn, (_, p2, _)) = books(0.0, cash, 0.0), books(0.0, cash, 0.0)
    for payee, bill in zip(payees, bills, strict=True):
        pay(one, p1, payee, bill, "compute")
    pay_in_turn(turn, p2, payees, bills, "compute")
    keys = [VENDOR, CLOUD, OTHER_CLOUD, "lenders"]
    assert one.balances(keys).tolist() == turn.balances(keys).tolist()
    assert one.operating(keys).tolist() == turn.operating(keys).tolist()
    assert one.step_volume == turn.step_volume and dict(one.step_flows) == dict(turn.step_flows)
    assert p1.debt == p2.debt
