"""What every firm has: an account in the model's ledger, a node on its graph, a debt."""

from __future__ import annotations

import mesa
import pytest

from abm.agents.firm import Firm
from abm.ledger import Ledger
from abm.supply_graph import SupplyGraph


class Cloud(Firm):
    layer = "hyperscaler"


def economy() -> mesa.Model:
    """A bare Mesa model carrying the two things a firm needs: a ledger and a graph."""
    model = mesa.Model(rng=0)
    model.ledger = Ledger()
    model.supply = SupplyGraph()
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
