"""The ledger conserves money: every flow is one transfer between two accounts."""

import numpy as np
import pytest

from abm.ledger import SECTORS, Ledger


def test_transfers_conserve_the_total_and_move_balances():
    led = Ledger()
    led.open(1)
    led.open(2)
    led.transfer("venture_capital", 1, 100.0, "vc")
    led.transfer(1, 2, 40.0, "pay")
    assert led.balance(1) == 60.0 and led.balance(2) == 40.0
    assert led.balance("venture_capital") == -100.0
    assert led.total() == 0.0 and led.error() == 0.0
    assert led.step_volume == 140.0 and led.step_flows["pay"] == 40.0


@pytest.mark.parametrize("amount", [-1.0, float("nan"), float("inf")])
def test_bad_amounts_are_refused(amount):
    led = Ledger()
    with pytest.raises(ValueError):
        led.transfer("households", "lenders", amount, "x")


def test_unknown_accounts_and_duplicates_are_errors():
    led = Ledger()
    with pytest.raises(KeyError):
        led.transfer("households", 99, 1.0, "x")
    with pytest.raises(KeyError):
        led.open("households")


def test_many_random_transfers_stay_at_rounding_level():
    rng = np.random.default_rng(0)
    led = Ledger()
    keys = list(SECTORS) + list(range(200))
    for k in range(200):
        led.open(k)
    for _ in range(20_000):
        a, b = rng.choice(len(keys), 2, replace=False)
        led.transfer(keys[a], keys[b], float(rng.lognormal(15, 3)), "x")
    assert led.error() < 1e-6 * led.step_volume


def test_vectorised_transfers_match_single_ones():
    a, b = Ledger(), Ledger()
    for led in (a, b):
        led.open(1)
        led.open(2)
    src, dst, amt = ["households", 1, "households"], [1, 2, 2], [5.0, 2.0, 3.0]
    for s, d, x in zip(src, dst, amt, strict=True):
        a.transfer(s, d, x, "k")
    b.transfer_many(src, dst, amt, "k")
    assert a.balances([1, 2, "households"]).tolist() == b.balances([1, 2, "households"]).tolist()


def test_one_sector_named_once_pays_or_receives_like_a_list_of_it():
    a, b = Ledger(), Ledger()
    for led in (a, b):
        led.open(1)
        led.open(2)
    a.transfer_many(["households"] * 3, [1, 2, 1], [5.0, 2.0, 3.0], "user_spend")
    b.transfer_many("households", [1, 2, 1], [5.0, 2.0, 3.0], "user_spend")
    a.transfer_many([1, 2], ["lenders"] * 2, [1.5, 0.5], "interest")
    b.transfer_many([1, 2], "lenders", [1.5, 0.5], "interest")
    keys = [1, 2, "households", "lenders"]
    assert a.balances(keys).tolist() == b.balances(keys).tolist()
    assert a.operating(keys).tolist() == b.operating(keys).tolist()
    assert a.step_volume == b.step_volume


def test_transfers_each_in_turn_match_single_ones():
    """transfer_each: the same balances, operating results, volume and flows, to the
    bit, as one transfer after another (zero amounts move nothing and add no entry)."""
    rng = np.random.default_rng(2)
    a, b = Ledger(), Ledger()
    for led in (a, b):
        for k in range(6):
            led.open(k)
            led.transfer("households", k, 1e9, "initial_capital")
        led.start_step()
    for kind in ("compute", "other"):
        dsts = rng.integers(1, 6, 12).tolist()
        amounts = [0.0] + (rng.lognormal(10.0, 3.0, 11)).tolist()
        for d, x in zip(dsts, amounts, strict=True):
            a.transfer(0, d, x, kind)
        b.transfer_each(0, dsts, amounts, kind)
    keys = [0, 1, 2, 3, 4, 5, "households"]
    assert a.balances(keys).tolist() == b.balances(keys).tolist()
    assert a.operating(keys).tolist() == b.operating(keys).tolist()
    assert a.step_volume == b.step_volume and dict(a.step_flows) == dict(b.step_flows)
    b.transfer_each(0, [1], [0.0], "nothing")
    assert "nothing" not in b.step_flows
    with pytest.raises(ValueError, match="bad amount"):
        b.transfer_each(0, [1], [-1.0], "compute")
