"""The supply graph: who can trade with whom, and this step's trades on its edges."""

from __future__ import annotations

import pytest

from abm.supply_graph import GOODS, SupplyGraph

VENDOR, CLOUD, LAB, APP, USERS = 1, 2, 3, 4, 5


def chain(record_flows: bool = True) -> SupplyGraph:
    """One firm per layer, each able to sell to the next."""
    g = SupplyGraph(record_flows=record_flows)
    for node, layer in zip(
        (VENDOR, CLOUD, LAB, APP, USERS),
        ("vendor", "hyperscaler", "model_developer", "startup", "segment"),
        strict=True,
    ):
        g.add_node(node, layer, f"{layer}-{node}")
    for u, v in ((VENDOR, CLOUD), (CLOUD, LAB), (LAB, APP), (LAB, USERS), (APP, USERS)):
        g.connect(u, v)
    g.start_step(1)
    return g


# ---------------------------------------------------------------- structure
def test_edges_carry_the_good_of_their_layers():
    g = chain().g
    assert g.edges[VENDOR, CLOUD]["good"] == "gpus"
    assert g.edges[CLOUD, LAB]["good"] == "compute"
    assert {g.edges[u, v]["good"] for u, v in ((LAB, APP), (LAB, USERS), (APP, USERS))} == {
        "tokens"
    }
    assert set(GOODS.values()) == {"gpus", "compute", "tokens"}


@pytest.mark.parametrize(("seller", "buyer"), [(CLOUD, VENDOR), (VENDOR, LAB), (USERS, APP)])
def test_no_edge_between_layers_that_do_not_trade(seller, buyer):
    with pytest.raises(ValueError, match="no trade between layers"):
        chain().connect(seller, buyer)


def test_an_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="unknown layer 'bank'"):
        SupplyGraph().add_node(9, "bank", "b")


def test_a_disconnected_edge_keeps_this_steps_trade_and_is_gone_next_step():
    graph = chain()
    graph.trade(LAB, APP, 10.0, 50.0)
    graph.disconnect(LAB, APP)
    edge = graph.g.edges[LAB, APP]
    assert (edge["quantity"], edge["ending"]) == (10.0, True)
    graph.start_step(2)
    assert not graph.g.has_edge(LAB, APP)
    with pytest.raises(KeyError, match=f"missing edge {LAB} -> {APP}"):
        graph.trade(LAB, APP, 1.0, 1.0)


def test_reconnecting_before_the_next_step_keeps_the_edge():
    graph = chain()
    graph.disconnect(LAB, APP)
    graph.connect(LAB, APP)
    graph.start_step(2)
    assert graph.g.has_edge(LAB, APP)
    assert "ending" not in graph.g.edges[LAB, APP]


def test_a_removed_node_keeps_this_steps_trades_and_leaves_next_step():
    graph = chain()
    graph.trade(LAB, APP, 10.0, 50.0)
    graph.trade(APP, USERS, 10.0, 80.0)
    graph.remove_node(APP)
    g = graph.g
    assert g.nodes[APP]["exiting"] and g.nodes[APP]["revenue"] == 80.0
    assert g.edges[APP, USERS]["value"] == 80.0
    graph.start_step(2)
    assert APP not in graph.g
    assert not graph.g.has_edge(LAB, APP) and not graph.g.has_edge(APP, USERS)


def test_a_new_edge_takes_effect_at_once():
    graph = chain()
    graph.add_node(6, "startup", "app-6")
    graph.connect(LAB, 6)
    graph.trade(LAB, 6, 1.0, 2.0)
    assert graph.g.edges[LAB, 6]["value"] == 2.0


# ---------------------------------------------------------------- trades
def test_a_trade_along_a_missing_edge_raises_and_records_nothing():
    graph = chain()
    with pytest.raises(KeyError, match=f"missing edge {VENDOR} -> {LAB}"):
        graph.trade_many([VENDOR, VENDOR], [CLOUD, LAB], [1.0, 1.0], [1.0, 1.0])
    assert graph.g.edges[VENDOR, CLOUD]["quantity"] == 0.0
    assert graph.flow_table()["step"] == []


def test_trades_add_up_on_their_edge_with_the_average_price():
    graph = chain()
    graph.trade(CLOUD, LAB, 100.0, 300.0)
    graph.trade_many([CLOUD, CLOUD], [LAB, LAB], [100.0, 200.0], [200.0, 500.0])
    edge = graph.g.edges[CLOUD, LAB]
    assert (edge["quantity"], edge["value"]) == (400.0, 1000.0)
    assert edge["price"] == 2.5
    assert graph.g.nodes[CLOUD]["revenue"] == 1000.0


def test_edges_are_written_when_read_and_reading_twice_counts_once():
    graph = chain()
    graph.trade(VENDOR, CLOUD, 2.0, 60.0)
    assert graph._g.edges[VENDOR, CLOUD]["quantity"] == 0.0  # not written until someone looks
    assert graph.g.edges[VENDOR, CLOUD]["quantity"] == 2.0
    assert graph.g.edges[VENDOR, CLOUD]["quantity"] == 2.0
    graph.trade(VENDOR, CLOUD, 1.0, 30.0)  # after a read, later trades still add up
    assert graph.g.edges[VENDOR, CLOUD]["value"] == 90.0


def test_flows_reset_each_step_and_prices_stay_as_last_traded():
    graph = chain()
    graph.trade(VENDOR, CLOUD, 2.0, 60.0)
    graph.trade(LAB, USERS, 5.0, 10.0)
    assert graph.g.edges[VENDOR, CLOUD]["value"] == 60.0
    graph.start_step(2)
    edge = graph.g.edges[VENDOR, CLOUD]
    assert (edge["quantity"], edge["value"], edge["price"]) == (0.0, 0.0, 30.0)
    assert all(d["revenue"] == 0.0 for _, d in graph.g.nodes(data=True))
    # trades never read before the step ended are dropped, not carried into the next
    assert graph.g.edges[LAB, USERS]["quantity"] == 0.0


def test_the_flow_log_has_one_row_per_trade_in_equal_columns():
    graph = chain()
    graph.trade(VENDOR, CLOUD, 2.0, 60.0)
    graph.start_step(2)
    graph.trade_many([CLOUD, LAB], [LAB, USERS], [10.0, 3.0], [40.0, 9.0])
    log = graph.flow_table()
    assert list(log) == ["step", "seller", "buyer", "good", "quantity", "value"]
    assert log == {
        "step": [1, 2, 2],
        "seller": [VENDOR, CLOUD, LAB],
        "buyer": [CLOUD, LAB, USERS],
        "good": ["gpus", "compute", "tokens"],
        "quantity": [2.0, 10.0, 3.0],
        "value": [60.0, 40.0, 9.0],
    }


def test_without_flow_recording_the_log_stays_empty_but_edges_carry_trades():
    graph = chain(record_flows=False)
    graph.trade(VENDOR, CLOUD, 2.0, 60.0)
    assert all(col == [] for col in graph.flow_table().values())
    assert graph.g.edges[VENDOR, CLOUD]["value"] == 60.0


def test_trades_with_mismatched_lengths_are_refused():
    graph = chain()
    with pytest.raises(ValueError):
        graph.trade_many([VENDOR], [CLOUD], [1.0, 2.0], [3.0, 4.0])
    assert len({len(col) for col in graph.flow_table().values()}) == 1
