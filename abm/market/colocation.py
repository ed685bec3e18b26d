"""The wholesale colocation market: powered shells delivered at a finite rate, leased
by the clouds pro rata to what they ask for.

Colocation developers (Digital Realty, Equinix xScale, QTS, Vantage, ...) build shells
with power already contracted and lease them to clouds, most of them before delivery
(CBRE North America Data Center Trends H2 2024: ~80% of the 6,350 MW under
construction preleased, vacancy 1.9%). Their build is not the clouds' decision, so
the market is a supply path (:class:`~abm.config.ColocationConfig`), not an agent:
deliveries each month join whatever is still vacant, and when clouds ask for more
than that, each gets the same share of its request (pro-rata rationing, the rule the
compute market uses). What no cloud asks for stays vacant for later months.
"""

from __future__ import annotations

import numpy as np

from abm.config import ColocationConfig


class ColocationMarket:
    """The colocation shells on offer and how this month's were allocated."""

    def __init__(self, cfg: ColocationConfig) -> None:
        self.cfg = cfg
        self.vacant_mw = 0.0  # delivered, not yet leased (MW of IT load)
        self.delivered_mw = 0.0  # this month
        self.requested_mw = 0.0  # this month, all clouds
        self.leased_mw = 0.0  # this month, all clouds

    def deliveries_mw_per_year(self, month: float) -> float:
        """New shells a year at ``month`` (months since the start): the cited path,
        linear between its points, growing at ``growth_per_year`` after the last."""
        months, mw = zip(*sorted(self.cfg.supply_path), strict=True)
        if month <= months[-1]:
            return float(np.interp(month, months, mw))
        return mw[-1] * (1.0 + self.cfg.growth_per_year) ** ((month - months[-1]) / 12.0)

    def allocate(self, month: float, requests: np.ndarray) -> np.ndarray:
        """This month's shells (deliveries plus what is vacant) against the clouds'
        ``requests`` (MW): all of each request if they fit, else the same share of each.
        Returns the MW each cloud leases."""
        self.delivered_mw = self.deliveries_mw_per_year(month) / 12.0
        offer = self.vacant_mw + self.delivered_mw
        requests = np.maximum(np.asarray(requests, dtype=float), 0.0)
        asked = float(requests.sum())
        share = min(1.0, offer / asked) if asked > 0 else 0.0
        leased = requests * share
        self.requested_mw, self.leased_mw = asked, float(leased.sum())
        self.vacant_mw = max(offer - self.leased_mw, 0.0)
        return leased
