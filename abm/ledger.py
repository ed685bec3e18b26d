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
)


class Ledger:
    """Balances of all accounts and a per-step record of flows by kind."""

    def __init__(self) -> None:
        self._index: dict[Hashable, int] = {}
        self._balance = np.zeros(64)
        self.step_volume = 0.0  # $ moved this step, all transfers
        self.step_flows: dict[str, float] = defaultdict(float)
        for sector in SECTORS:
            self.open(sector)

    # ---------------------------------------------------------------- accounts
    def open(self, key: Hashable) -> int:
        if key in self._index:
            raise KeyError(f"account {key!r} already exists")
        i = len(self._index)
        if i >= len(self._balance):
            self._balance = np.concatenate([self._balance, np.zeros(len(self._balance))])
        self._index[key] = i
        return i

    def balance(self, key: Hashable) -> float:
        return float(self._balance[self._index[key]])

    def balances(self, keys) -> np.ndarray:
        return self._balance[[self._index[k] for k in keys]]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._index

    # ---------------------------------------------------------------- flows
    def transfer(self, src: Hashable, dst: Hashable, amount: float, kind: str) -> float:
        """Move ``amount`` dollars from ``src`` to ``dst``; returns the amount."""
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"transfer {kind} {src!r}->{dst!r}: bad amount {amount!r}")
        if amount == 0.0:
            return 0.0
        b = self._balance
        b[self._index[src]] -= amount
        b[self._index[dst]] += amount
        self.step_volume += amount
        self.step_flows[kind] += amount
        return amount

    def transfer_many(self, src, dst, amounts, kind: str) -> float:
        """Vectorised :meth:`transfer` for parallel lists of accounts and amounts."""
        amounts = np.asarray(amounts, dtype=float)
        if amounts.size == 0:
            return 0.0
        if not np.all(np.isfinite(amounts)) or np.any(amounts < 0):
            raise ValueError(f"transfer_many {kind}: bad amounts")
        index = self._index
        si = np.array([index[k] for k in src], dtype=np.int64)
        di = np.array([index[k] for k in dst], dtype=np.int64)
        if si.size != amounts.size or di.size != amounts.size:
            raise ValueError(
                f"transfer_many {kind}: {si.size} payers, {di.size} payees, {amounts.size} amounts"
            )
        np.subtract.at(self._balance, si, amounts)
        np.add.at(self._balance, di, amounts)
        total = float(amounts.sum())
        self.step_volume += total
        self.step_flows[kind] += total
        return total

    def start_step(self) -> None:
        self.step_volume = 0.0
        self.step_flows = defaultdict(float)

    # ---------------------------------------------------------------- checks
    def total(self) -> float:
        """Exact (correctly rounded) sum of all balances; zero up to rounding."""
        return math.fsum(self._balance[: len(self._index)])

    def error(self) -> float:
        """Absolute conservation residual in $."""
        return abs(self.total())
