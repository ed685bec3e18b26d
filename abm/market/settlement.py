"""Settlement: every payment is one ledger transfer, every delivery one graph record.

The payment rule, the same for every firm
-----------------------------------------
* An **obligation** is paid in full. Obligations are payments for something
  already delivered or contractually due: compute, GPUs, tokens bought wholesale,
  energy, construction work, the foundry's cost of goods and interest. If the
  payer's cash falls short, it draws the shortfall on its credit line: the
  lenders pay it in, and the firm's debt rises by the same amount
  (:func:`pay`). The line is limited (:mod:`abm.market.credit`): the draw first
  uses the firm's headroom; the part beyond it is still paid -- the goods were
  delivered -- but the firm records it as ``over_limit`` (``Firm.borrow``): it
  could not pay, and at the month end it cures that or defaults
  (:func:`abm.market.credit.close_month`).
* A **discretionary** outlay is paid only out of cash on hand: staff, operating
  expenses, startups' burn and the vendor's capacity expansion. A firm that is
  short spends what it has and no more (:func:`spend`).

So a firm's cash never goes negative: obligations borrow, discretionary outlays
shrink. Sector accounts (households, venture capital, energy, foundry, lenders)
are net positions of the rest of the economy and are not firms: they pay
without a check.

Deliveries along the supply graph use :func:`deliver` (one trade) and
:func:`deliver_many` (a vector of trades): one call moves the payment and records
quantity and value on the seller -> buyer edge. Plain functions on a ledger, a
graph and payers that have ``unique_id`` and ``borrow()``; no Mesa needed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Protocol

import numpy as np

from abm.ledger import Ledger
from abm.supply_graph import SupplyGraph


class Payer(Protocol):
    """A firm: an account in the ledger (keyed by ``unique_id``) and a credit line."""

    unique_id: int

    def borrow(self, amount: float) -> None: ...


def pay(ledger: Ledger, payer: Payer, payee: Hashable, amount: float, kind: str) -> float:
    """An obligation: paid in full, the shortfall drawn on the payer's credit line.

    Returns the amount paid. A negative amount is a bug in the caller: refused."""
    if amount < 0:
        raise ValueError(f"{kind}: negative payment {amount!r} by {payer.unique_id}")
    if amount == 0:
        return 0.0
    short = float(amount) - ledger.balance(payer.unique_id)
    if short > 0:
        ledger.transfer("lenders", payer.unique_id, short, "borrowing")
        payer.borrow(short)
    ledger.transfer(payer.unique_id, payee, amount, kind)
    return amount


def pay_in_turn(
    ledger: Ledger, payer: Payer, payees: Sequence[Hashable], amounts: Sequence[float], kind: str
) -> None:
    """:func:`pay` of each amount to its payee, one after another. While the payer's cash
    covers each in turn, no draw on its credit line comes between them and they are one
    ledger call (:meth:`Ledger.transfer_each`, the same sums); else each is :func:`pay`."""
    cash = ledger.balance(payer.unique_id)
    for amount in amounts:
        if not amount >= 0.0 or amount - cash > 0.0:  # a bad amount, or a draw: one by one
            break
        cash -= amount  # the balance transfer_each leaves, payment by payment
    else:
        if payer.unique_id not in payees:
            ledger.transfer_each(payer.unique_id, payees, amounts, kind)
            return
    for payee, amount in zip(payees, amounts, strict=True):
        pay(ledger, payer, payee, amount, kind)


def spend(ledger: Ledger, payer: Payer, payee: Hashable, amount: float, kind: str) -> float:
    """A discretionary outlay: paid out of cash on hand, never more. Returns what was paid."""
    return ledger.transfer(
        payer.unique_id, payee, min(amount, max(ledger.balance(payer.unique_id), 0.0)), kind
    )


def spend_many(
    ledger: Ledger, payers: Sequence[Payer], payee: Hashable, amounts: np.ndarray, kind: str
) -> np.ndarray:
    """Vectorised :func:`spend` to one payee. Returns what each payer paid."""
    ids = [p.unique_id for p in payers]
    if len(set(ids)) < len(ids):  # a payer listed twice: its cash must cover both, in turn
        return np.array(
            [spend(ledger, p, payee, a, kind) for p, a in zip(payers, amounts, strict=True)]
        )
    cash = ledger.balances(ids)
    paid = np.minimum(amounts, np.maximum(cash, 0.0))
    # a sector payee is named once (Ledger.transfer_many), a firm's id once per payer
    ledger.transfer_many(ids, payee if isinstance(payee, str) else [payee] * len(ids), paid, kind)
    return paid


def repay_debt(ledger: Ledger, firm: Payer, debt: float, reserve: float, share: float) -> float:
    """The one repayment rule: a firm repays ``share`` of its cash beyond ``reserve``,
    at most what it owes. Returns the repayment (the caller lowers its debt)."""
    spare = ledger.balance(firm.unique_id) - reserve
    if debt <= 0 or spare <= 0:
        return 0.0
    return ledger.transfer(firm.unique_id, "lenders", min(debt, share * spare), "repayment")


def deliver(
    ledger: Ledger,
    graph: SupplyGraph,
    seller: int,
    buyer: Payer,
    quantity: float,
    value: float,
    kind: str,
) -> float:
    """``quantity`` delivered along seller -> buyer; the buyer pays ``value`` (an obligation).
    A delivery along a missing edge is refused before any money moves."""
    graph.require_edge(seller, buyer.unique_id)
    pay(ledger, buyer, seller, value, kind)
    graph.trade(seller, buyer.unique_id, quantity, value)
    return value


def deliver_many(
    ledger: Ledger,
    graph: SupplyGraph,
    sellers: Sequence[int],
    buyers: Sequence[int],
    quantities: np.ndarray,
    values: np.ndarray,
    kind: str,
    payers: Sequence[Payer] | Hashable,
) -> None:
    """Parallel deliveries along sellers[i] -> buyers[i], each paid ``values[i]``.

    ``payers`` is either one sector account that pays for all (households pay for
    the users of every segment) or a firm per delivery, each paying an obligation
    (borrowing any shortfall). Deliveries along missing edges are refused before any
    money moves."""
    graph.require_edges(sellers, buyers)
    if isinstance(payers, str):
        ledger.transfer_many(payers, sellers, values, kind)
    elif len({p.unique_id for p in payers}) < len(payers):  # a payer listed twice: in turn
        rows = zip(payers, sellers, np.asarray(values, dtype=float).tolist(), strict=True)
        for payer, run in groupby(rows, key=itemgetter(0)):  # each payer's run of bills
            _, payees, amounts = zip(*run, strict=True)
            pay_in_turn(ledger, payer, payees, amounts, kind)
    else:
        ids = [p.unique_id for p in payers]
        short = np.asarray(values, dtype=float) - ledger.balances(ids)
        for p, s in zip(payers, short.tolist(), strict=True):
            if s > 0:
                ledger.transfer("lenders", p.unique_id, s, "borrowing")  # an obligation
                p.borrow(s)
        ledger.transfer_many(ids, sellers, values, kind)
    graph.trade_many(sellers, buyers, quantities, values, edges_checked=True)  # checked above
