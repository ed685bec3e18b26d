"""Stock-flow consistent money: every cash flow is one transfer between two accounts.

Accounts belong to agents (keyed by their Mesa ``unique_id``) and to named
external sectors. All accounts start at zero and money only moves, so the sum of
all balances is zero forever; :meth:`Ledger.error` reports how far floating point
has taken it from there. Sector balances are net positions of the rest of the
economy and may be negative; agent balances are cash and the model keeps them
non-negative.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable

import numpy as np

SECTORS = (
    "households",  # end users' budgets, wages and salaries
    "venture_capital",
    "energy_opex",  # electricity and operating costs of data centres
    "foundry_components",  # wafers, packaging, memory, building materials and equipment
    "lenders",
    "parent_companies",  # the big four's parents: their non-AI cash flow funds AI build-out
    "own_use_owners",  # -- 2023 shortage: owners of the own-use buyers' fleets (abm.agents.own_use)
    "colocation",  # wholesale colocation developers: rent of leased shells
)

# -- issue 11: credit
# A firm's operating result (EBITDA) is read from its cash flows by kind: what each
# kind of transfer is to the payer and to the payee. Capital spending (GPUs bought,
# construction, capacity), financing (borrowing, interest, repayment, equity rounds)
# and asset sales are not operating; a kind not listed here is not operating.
OPERATING: dict[str, tuple[bool, bool]] = {  # kind: (a cost to the payer, income to the payee)
    "user_spend": (True, True),
    "wholesale_tokens": (True, True),
    "compute": (True, True),  # training compute included: R&D is expensed
    "own_ai_compute": (True, True),  # the parents' own workloads, at the posted price
    "energy_opex": (True, True),
    "colo_lease": (True, True),  # rent of leased shells: an operating cost (ASC 842)
    "foundry": (True, True),  # the vendor's cost of goods
    "gpu_sales": (False, True),  # the vendor's revenue, the cloud's capital spending
    "lab_staff": (True, True),
    "vendor_opex": (True, True),
    "startup_burn": (True, True),
}


_SEQUENCE = (list, tuple)  # (a tuple made once: a union in the call is built at each call)


class Ledger:
    """Balances of all accounts and a per-step record of flows by kind."""

    def __init__(self) -> None:
        self._index: dict[Hashable, int] = {}
        self._balance = np.zeros(64)
        self._operating = np.zeros(64)  # $ operating result this step, by account (EBITDA)
        self.step_volume = 0.0  # $ moved this step, all transfers
        self.step_flows: dict[str, float] = defaultdict(float)
        self._views()
        for sector in SECTORS:
            self.open(sector)

    def _views(self) -> None:
        # one account at a time through a memoryview: the same doubles as the arrays,
        # read and written as Python floats without numpy's per-item overhead
        self._bal, self._op = memoryview(self._balance), memoryview(self._operating)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_bal", "_op")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._views()

    # ---------------------------------------------------------------- accounts
    def open(self, key: Hashable) -> int:
        if key in self._index:
            raise KeyError(f"account {key!r} already exists")
        i = len(self._index)
        if i >= len(self._balance):
            self._balance = np.concatenate([self._balance, np.zeros(len(self._balance))])
            self._operating = np.concatenate([self._operating, np.zeros(len(self._operating))])
            self._views()
        self._index[key] = i
        return i

    def balance(self, key: Hashable) -> float:
        return self._bal[self._index[key]]

    def balances(self, keys) -> np.ndarray:
        return self._balance[self._rows(keys)]

    def _rows(self, keys) -> np.ndarray:
        """The accounts' rows in the arrays (np.fromiter: no Python loop body)."""
        keys = keys if isinstance(keys, _SEQUENCE) else list(keys)
        return np.fromiter(map(self._index.__getitem__, keys), np.intp, len(keys))

    def _rows_of(self, keys, n: int) -> np.ndarray:
        """:meth:`_rows` of a list of accounts, or ``n`` times the row of one account
        named by a string."""
        if isinstance(keys, str):
            return np.full(n, self._index[keys], dtype=np.intp)
        return self._rows(keys)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._index

    def operating(self, keys) -> np.ndarray:
        """Operating result this step (operating income less operating costs, $) of each
        account in ``keys``: a firm's EBITDA for the month (see :data:`OPERATING`)."""
        return self._operating[self._rows(keys)]

    # ---------------------------------------------------------------- flows
    def transfer(self, src: Hashable, dst: Hashable, amount: float, kind: str) -> float:
        """Move ``amount`` dollars from ``src`` to ``dst``; returns the amount."""
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"transfer {kind} {src!r}->{dst!r}: bad amount {amount!r}")
        if amount == 0.0:
            return 0.0
        b, si, di = self._bal, self._index[src], self._index[dst]
        b[si] -= amount
        b[di] += amount
        self.step_volume += amount
        self.step_flows[kind] += amount
        op = OPERATING.get(kind)
        if op is not None:
            o = self._op
            o[si] -= amount * op[0]
            o[di] += amount * op[1]
        return amount

    def transfer_each(self, src: Hashable, dsts, amounts, kind: str) -> None:
        """:meth:`transfer` of each amount from ``src`` to its account in ``dsts``, one
        after another: the same sums in the same order, in one call (a payer's bills
        paid in turn)."""
        b, o, index = self._bal, self._op, self._index
        op = OPERATING.get(kind)
        si = index[src]
        volume, flow, moved = self.step_volume, self.step_flows.get(kind, 0.0), False
        for dst, amount in zip(dsts, amounts, strict=True):
            if not math.isfinite(amount) or amount < 0:
                raise ValueError(f"transfer {kind} {src!r}->{dst!r}: bad amount {amount!r}")
            if amount == 0.0:
                continue
            di = index[dst]
            b[si] -= amount
            b[di] += amount
            volume += amount
            flow += amount
            moved = True
            if op is not None:
                o[si] -= amount * op[0]
                o[di] += amount * op[1]
        if moved:  # (a kind with no money moved gets no entry, as in transfer)
            self.step_volume, self.step_flows[kind] = volume, flow

    def transfer_many(self, src, dst, amounts, kind: str) -> float:
        """Vectorised :meth:`transfer` for parallel lists of accounts and amounts; ``src``
        or ``dst`` may also be one account named by a string (a sector), the same for all."""
        amounts = np.asarray(amounts, dtype=float)
        if amounts.size == 0:
            return 0.0
        if not (amounts.min() >= 0.0 and amounts.max() < math.inf):  # NaN fails both
            raise ValueError(f"transfer_many {kind}: bad amounts")
        si, di = self._rows_of(src, amounts.size), self._rows_of(dst, amounts.size)
        if si.size != amounts.size or di.size != amounts.size:
            raise ValueError(
                f"transfer_many {kind}: {si.size} payers, {di.size} payees, {amounts.size} amounts"
            )
        np.subtract.at(self._balance, si, amounts)
        np.add.at(self._balance, di, amounts)
        op = OPERATING.get(kind)
        if op is not None:
            if op[0]:
                np.subtract.at(self._operating, si, amounts)
            if op[1]:
                np.add.at(self._operating, di, amounts)
        total = float(amounts.sum())
        self.step_volume += total
        self.step_flows[kind] += total
        return total

    def write_off(self, debtor: Hashable, amount: float) -> float:
        """Lenders forgive ``amount`` of ``debtor``'s debt: a flow of kind ``write_off``.

        A forgiven loan is a claim that vanishes, not a payment: no cash moves, so every
        balance (and the conservation identity) is unchanged. The lenders' loss is what
        they paid in and never get back; the entry records it (``step_flows``)."""
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"write_off of {debtor!r}: bad amount {amount!r}")
        if debtor not in self._index:
            raise KeyError(f"write_off: no account {debtor!r}")
        self.step_flows["write_off"] += amount
        return amount

    def start_step(self) -> None:
        self.step_volume = 0.0
        self.step_flows = defaultdict(float)
        self._operating[:] = 0.0

    # ---------------------------------------------------------------- checks
    def total(self) -> float:
        """Exact (correctly rounded) sum of all balances; zero up to rounding."""
        return math.fsum(self._balance[: len(self._index)].tolist())  # (Python floats: faster)

    def error(self) -> float:
        """Absolute conservation residual in $."""
        return abs(self.total())
