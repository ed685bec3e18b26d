"""What every firm has: an account in the model's ledger, a node on its graph, a debt."""

from __future__ import annotations

import mesa
import pytest

from abm.agents.firm import Firm
from abm.config import load_config
from abm.ledger import Ledger
from abm.supply_graph import SupplyGraph


class Cloud(Firm):
    layer = "hyperscaler"


def economy() -> mesa.Model:
    """A bare Mesa model carrying what a firm needs: a ledger, a graph, the credit terms."""
    model = mesa.Model(rng=0)
    model.ledger = Ledger()
    model.supply = SupplyGraph()
    model.cfg = load_config()
    return model


def test_a_firms_cash_is_its_ledger_balance():
    model = economy()
    firm = Cloud(model)
    firm.open_account("households", 500.0)
    assert firm.cash == 500.0
    model.ledger.transfer(firm.unique_id, "energy_opex", 120.0, "energy_opex")
    assert firm.cash == 380.0
    assert model.ledger.balance("households") == -500.0
    assert model.ledger.step_flows["initial_capital"] == 500.0


def test_opening_an_account_puts_the_firm_on_the_graph():
    model = economy()
    firm = Cloud(model, "cloud-a")
    firm.open_account("venture_capital", 0.0, "vc_startups")
    node = model.supply.g.nodes[firm.unique_id]
    assert (node["layer"], node["label"]) == ("hyperscaler", "cloud-a")
    assert firm.unique_id in model.ledger
    assert firm.cash == 0.0


def test_a_firm_is_named_after_its_layer_unless_named():
    model = economy()
    assert Cloud(model).name == "hyperscaler-1"
    assert Cloud(model, "cloud-b").name == "cloud-b"


def test_borrowing_raises_debt_and_repaying_lowers_it():
    firm = Cloud(economy())
    firm.ebitda_months.extend([10.0] * 12)  # room to borrow: 6 x $120 a year
    assert firm.debt == 0.0
    firm.borrow(100.0)
    firm.borrow(50.0)
    firm.repaid(30.0)
    assert firm.debt == pytest.approx(120.0)


def test_the_firm_panel_row_has_id_layer_name_cash_and_debt():
    model = economy()
    firm = Cloud(model, "cloud-c")
    firm.open_account("households", 70.0)
    firm.borrow(20.0)
    assert firm.firm_row() == {
        "id": firm.unique_id,
        "layer": "hyperscaler",
        "name": "cloud-c",
        "cash": 70.0,
        "debt": 20.0,
    }


def test_a_firm_outside_the_graphs_layers_cannot_open_an_account():
    model = economy()
    with pytest.raises(ValueError, match="unknown layer 'firm'"):
        Firm(model).open_account("households", 0.0)


# ---------------------------------------------------------------- credit (issue 11)
def test_trailing_ebitda_is_the_last_twelve_months_annualised_while_young():
    firm = Cloud(economy())
    assert firm.trailing_ebitda == 0.0
    firm.close_books(10.0)
    firm.close_books(20.0)
    assert firm.trailing_ebitda == pytest.approx(15.0 * 12)  # two months, annualised
    for _ in range(12):
        firm.close_books(5.0)
    assert firm.trailing_ebitda == pytest.approx(60.0)  # the first two months dropped out


def test_a_firm_at_its_limit_cannot_borrow_more_without_going_over_it():
    firm = Cloud(economy())
    firm.ebitda_months.extend([10.0] * 12)  # E = $120 a year; 6x leverage binds: $720
    assert firm.debt_capacity() == pytest.approx(720.0)
    firm.borrow(700.0)
    assert firm.over_limit == 0.0
    assert firm.credit_headroom() == pytest.approx(20.0)
    firm.borrow(50.0)  # 20 within the headroom, 30 beyond it: an obligation it could not pay
    assert firm.over_limit == pytest.approx(30.0)
    assert firm.credit_headroom() == 0.0
    firm.borrow(10.0)  # at the limit every further dollar is over it
    assert firm.over_limit == pytest.approx(40.0)
    assert firm.debt == pytest.approx(760.0)


def test_a_firm_without_positive_ebitda_has_no_credit():
    firm = Cloud(economy())
    firm.ebitda_months.extend([-5.0, 3.0])
    assert firm.debt_capacity() == 0.0
    firm.borrow(1.0)
    assert firm.over_limit == 1.0


def test_every_firm_with_debt_pays_interest_to_the_lenders():
    model = economy()
    firm = Cloud(model)
    firm.open_account("households", 100.0)
    firm.debt = 1000.0
    firm.pay_interest()
    rate = model.cfg.credit.interest_rate_per_month
    assert firm.cash == pytest.approx(100.0 - 1000.0 * rate)
    assert model.ledger.balance("lenders") == pytest.approx(1000.0 * rate)
    assert model.ledger.step_flows["interest"] == pytest.approx(1000.0 * rate)


def test_by_default_no_investor_rescues_a_firm():
    firm = Cloud(economy())
    assert firm.rescue_round(1e9) == 0.0
