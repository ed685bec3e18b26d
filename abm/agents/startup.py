"""API-wrapper startups: resell a lab's tokens inside an app, funded by venture capital.

A startup is an agent (:class:`WrapperStartup`); the decisions startups take as a
population each month -- burn, raising, exit, supplier review, entry -- are module
functions over their arrays, in this file, because they are the startups' own rules:
:func:`found`, :func:`burn_raise_and_exit`, :func:`review_suppliers`, :func:`enter`.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

import numpy as np

from abm.agents.firm import Firm, payout_reserve
from abm.config import StartupConfig
from abm.market.demand import choice_utility, nested_choice, softmax
from abm.market.retail import lab_classes
from abm.market.settlement import spend_many
from abm.market.venture import LPS

if TYPE_CHECKING:
    from abm.agents.model_developer import ModelDeveloper
    from abm.model import ComputeMarket


class WrapperStartup(Firm):
    """Buys tokens from one supplier lab and sells them to end users at a retail
    price over its token cost. Its app adds value (``app_bonus``, in logit
    utility) for users who like apps. It burns cash on staff every month, raises
    rounds when its runway is short, and exits when it runs out and cannot."""

    layer = "startup"

    def __init__(
        self,
        model,
        cfg: StartupConfig,
        supplier: int,
        supplier_price: float,
        burn: float,
        app_bonus: float,
    ) -> None:
        super().__init__(model)
        self.name = f"startup-{self.unique_id}"
        self.cfg = cfg
        self.supplier = supplier  # unique_id of the lab it buys from
        self.markup = cfg.initial_markup
        self.price = supplier_price * (1.0 + self.markup)  # $ per mtok, retail
        self.base_burn = burn  # $ per month before growth spending
        self.burn = burn  # $ per month, this month
        self.app_bonus = app_bonus
        self.born = model.steps
        self.rounds = 0
        self.investor_growth = model.cfg.vc.normal_return  # log growth/yr investors extrapolate
        self.last_revenue = 0.0  # $ last month
        self.ask = 0.0  # $ asked of the venture pool this month
        self.raised = 0.0  # $ raised this month
        # this step
        self.token_orders = 0.0  # mtok its users want
        self.tokens_sold = 0.0
        self.revenue = 0.0
        self.token_cost = 0.0

    # ---------------------------------------------------------------- the month
    # (its month starts, and its orders, sales, revenue and token cost are set, for all
    # startups at once by start_step, take_orders, sell, earn and paid_supplier below)
    def follow_supplier_price(self, supplier_price: float) -> None:
        """Retail price = supplier price x (1 + markup): a wholesale change passes through."""
        self.price = supplier_price * (1.0 + self.markup)

    def set_markup(self, markup: float, supplier_price: float) -> None:
        """Keep the markup it chose over the price its supplier just set."""
        self.markup = markup
        self.price = supplier_price * (1.0 + markup)

    def switch_supplier(self, lab: ModelDeveloper) -> None:
        graph = self.model.supply
        graph.disconnect(self.supplier, self.unique_id)
        self.supplier = lab.unique_id
        graph.connect(lab.unique_id, self.unique_id)
        self.follow_supplier_price(lab.price)

    def close(self) -> None:
        """Shutdown: what cash is left returns to its investors (the venture pool); it
        leaves the graph and the model."""
        left = self.cash
        if left > 0:
            self.model.ledger.transfer(self.unique_id, "venture_capital", left, "liquidation")
        self.model.supply.remove_node(self.unique_id)
        self.remove()

    def sell_company(self, price: float) -> None:
        """Acquisition: an outside buyer pays its investors ``price`` and takes the
        company, cash and users, out of the market."""
        ledger = self.model.ledger
        ledger.transfer("households", "limited_partners", price, "acquisition")
        ledger.transfer(self.unique_id, "households", max(self.cash, 0.0), "acquired_cash")
        self.model.supply.remove_node(self.unique_id)
        self.remove()

    # -- issue 11b: vcdeploy
    def planned_spending(self) -> float:
        """$ per month: its headcount plan's burn and the tokens it resells."""
        return self.burn + self.token_cost

    def planned_net_burn(self) -> float:
        """$ per month its burn exceeds its gross profit."""
        return self.burn - (self.revenue - self.token_cost)

    def firm_row(self) -> dict[str, Any]:
        return {
            **super().firm_row(),
            "price": self.price,
            "markup": self.markup,
            "supplier": self.supplier,
            "revenue": self.revenue,
            "tokens_sold": self.tokens_sold,
        }


# ------------------------------------------------------------------ the population's rules
# the month's trades, for every startup (one loop each, no call per startup)
def start_step(startups: list[WrapperStartup]) -> None:
    """A new month: no orders, sales, revenue, token cost, ask or round yet."""
    for s in startups:
        s.token_orders = s.tokens_sold = s.revenue = s.token_cost = 0.0
        s.ask = s.raised = 0.0


def take_orders(startups: list[WrapperStartup], mtok: list[float]) -> None:
    """Each startup's users' orders this month (mtok), which it passes on to its supplier."""
    for s, q in zip(startups, mtok, strict=True):
        s.token_orders = q


def sell(startups: list[WrapperStartup], mtok: list[float]) -> None:
    """The mtok each startup delivered to its users this month."""
    for s, q in zip(startups, mtok, strict=True):
        s.tokens_sold = q


def earn(startups: list[WrapperStartup], revenue: list[float]) -> None:
    """What each startup's users paid it this month ($)."""
    for s, r in zip(startups, revenue, strict=True):
        s.revenue += r


def paid_supplier(startups: list[WrapperStartup], cost: list[float]) -> None:
    """What each startup paid its supplier lab for the tokens it resold this month ($)."""
    for s, c in zip(startups, cost, strict=True):
        s.token_cost = c


def supplier_utility(model: ComputeMarket) -> np.ndarray:
    """How much a founder or a startup values building on each lab: the logit utility
    of its model to users (quality and price), or, with ``end_users.nested_choice``,
    the log of the lab's nested-logit share, whose differences are what utility
    differences are in the plain logit (log odds)."""
    uc, labs = model.cfg.end_users, model.labs
    quality = np.array([lab.quality for lab in labs])
    util = choice_utility(
        quality, [lab.price for lab in labs], uc.quality_sensitivity, uc.price_sensitivity
    )
    if not uc.nested_choice:
        return util
    nest, nest_u = lab_classes(labs, quality, uc)
    with np.errstate(divide="ignore"):
        return np.log(nested_choice(util, nest, nest_u, uc.nest_dissimilarity))


def supplier_probabilities(model: ComputeMarket, utility: np.ndarray | None = None) -> np.ndarray:
    """The chance a founder picks each lab, as users choose models: the logit on quality
    and price, or the nested logit over capability classes (``end_users.nested_choice``).
    ``utility``: :func:`supplier_utility`, if already computed at today's labs."""
    return softmax(supplier_utility(model) if utility is None else utility)


def pick_supplier(model: ComputeMarket, probabilities: np.ndarray | None = None) -> ModelDeveloper:
    """A founder picks a lab the way users choose models: logit on quality and price
    (``probabilities``: :func:`supplier_probabilities`, if already computed this month).

    The draw is ``Generator.choice(len(labs), p=probabilities)`` taken by its own steps
    (the shares' running sum, normalised, searched at one uniform draw: the same lab and
    the same use of the stream, a test checks it), without its checks that the shares
    are probabilities, which cost more than the draw; logit shares are."""
    if probabilities is None:
        probabilities = supplier_probabilities(model)
    cdf = probabilities.cumsum()
    cdf /= cdf[-1]
    u = model.stream("startups").random()
    return model.labs[int(cdf.searchsorted(u, side="right"))]


def found(
    model: ComputeMarket,
    initial: bool = False,
    seed: float | None = None,
    supplier_prob: np.ndarray | None = None,
) -> WrapperStartup:
    """A new startup: a supplier, a burn rate and an app quality drawn; it exists once
    its seed round is paid in -- by the venture pool (``seed``, $), or for the
    startups of January 2023 by limited partners before the start. ``supplier_prob``:
    :func:`supplier_probabilities`, when several are founded while labs' prices stand."""
    sc, rng = model.cfg.startups, model.stream("startups")
    lab = pick_supplier(model, supplier_prob)
    burn = sc.burn_per_month_median * float(rng.lognormal(0.0, sc.burn_sigma))
    bonus = sc.app_bonus + sc.app_bonus_sigma * float(rng.standard_normal())
    s = WrapperStartup(model, sc, lab.unique_id, lab.price, burn, bonus)
    if initial:
        s.open_account("limited_partners", sc.seed_round * float(rng.uniform(0.5, 1.5)))
    else:
        s.open_account("venture_capital", sc.seed_round if seed is None else seed, "vc_startups")
    model.supply.connect(lab.unique_id, s.unique_id)
    for seg in model.segments:
        model.supply.connect(s.unique_id, seg.unique_id)
    return s


def burn_and_ask(model: ComputeMarket, startups: list[WrapperStartup]) -> None:
    """Each startup pays its burn out of cash and, when its runway is short, asks the
    venture pool for ``round_runway_months`` of its net burn (``startup.ask``).

    Burn follows a headcount plan: the base team, or ``growth_spend_share`` of gross
    profit when that is larger (growth hiring). With the share below 1, a startup
    whose gross profit covers its base team has no net burn and asks for nothing."""
    if not startups:
        return
    sc, ledger = model.cfg.startups, model.ledger
    gross = np.array([s.revenue - s.token_cost for s in startups])
    burn = np.maximum(
        np.array([s.base_burn for s in startups]), sc.growth_spend_share * np.maximum(gross, 0.0)
    )
    cash = ledger.balances([s.unique_id for s in startups])
    cash = cash - spend_many(ledger, startups, "households", burn, "startup_burn")
    net_burn = burn - gross
    runway = np.divide(cash, net_burn, out=np.full_like(cash, np.inf), where=net_burn > 0)
    ask = np.where(runway < sc.raise_runway_months, sc.round_runway_months * net_burn, 0.0)
    for s, b, a in zip(startups, burn.tolist(), ask.tolist(), strict=True):
        s.burn, s.ask = b, a


# -- issue 11b: vcdeploy
def seed_limit(model: ComputeMarket) -> float:
    """$ a founder accepts in a seed round: the cash reserve of a median team with no
    revenue yet (:meth:`Firm.cash_reserve`)."""
    median = model.cfg.startups.burn_per_month_median
    return payout_reserve(model.cfg.vc, median, median)


def pay_out(model: ComputeMarket, startups: list[WrapperStartup]) -> float:
    """Month end: startups holding more cash than their reserve (:meth:`Firm.cash_reserve`)
    and owing nothing pay the excess to their investors (Jensen 1986) in one transfer;
    each month's planned net burn joins their memory. Returns the $ paid."""
    if not startups:
        return 0.0
    vc = model.cfg.vc
    ids = [s.unique_id for s in startups]
    burn = np.array([s.burn for s in startups])
    token_cost = np.array([s.token_cost for s in startups])
    revenue = np.array([s.revenue for s in startups])
    peak = np.array([s.peak_burn for s in startups])
    # Firm.cash_reserve of every startup at once: its planned net burn (burn less gross
    # profit, WrapperStartup.planned_net_burn) and planned spending (burn and tokens)
    net = burn - (revenue - token_cost)
    reserve = payout_reserve(vc, np.maximum(net, peak), burn + token_cost)
    for s, b in zip(startups, net.tolist(), strict=True):
        s.remember_burn(b)
    free = np.array([s.debt <= 0 for s in startups])
    excess = np.where(free, np.maximum(model.ledger.balances(ids) - reserve, 0.0), 0.0)
    pick = np.flatnonzero(excess > 0)
    if not pick.size:
        return 0.0
    payers = [ids[i] for i in pick.tolist()]
    return model.ledger.transfer_many(payers, LPS, excess[pick], "payout")


def exit_or_carry_on(
    model: ComputeMarket, startups: list[WrapperStartup]
) -> tuple[list[WrapperStartup], list[WrapperStartup], int]:
    """After the rounds: a startup out of cash shuts down; a self-funding one (gross
    profit covers its burn) is bought with probability ``acquisition_probability`` at
    ``vc.exit_revenue_multiple`` years of revenue. Returns (survivors, exited, acquired)."""
    if not startups:
        return startups, [], 0
    sc, vc = model.cfg.startups, model.cfg.vc
    cash = model.ledger.balances([s.unique_id for s in startups])
    burn = np.array([s.burn for s in startups])
    gross = np.array([s.revenue - s.token_cost for s in startups])
    broke = (cash <= 1e-6 * np.maximum(burn, 1.0)) & (burn > gross)
    draw = model.stream("vc").random(len(startups))
    bought = ~broke & (gross >= burn) & (gross > 0) & (draw < sc.acquisition_probability)
    survivors, exited = [], []
    # Python bools (tolist): iterating numpy arrays would make a numpy scalar per startup
    for s, gone, sold in zip(startups, broke.tolist(), bought.tolist(), strict=True):
        s.rounds += int(s.raised > 0)
        if sold:
            s.sell_company(vc.exit_revenue_multiple * 12.0 * s.revenue)
            exited.append(s)
        elif gone:
            s.close()
            exited.append(s)
        else:
            survivors.append(s)
    return survivors, exited, int(bought.sum())


def review_suppliers(
    model: ComputeMarket, startups: list[WrapperStartup], utility: np.ndarray | None = None
) -> None:
    """Some startups review their supplier each month and move to the lab users value
    most, if it beats theirs by a margin worth the switch. ``utility``:
    :func:`supplier_utility`, if already computed at today's labs."""
    sc, labs = model.cfg.startups, model.labs
    if not startups or sc.supplier_switch_probability <= 0:
        return
    value = supplier_utility(model) if utility is None else utility
    best = int(np.argmax(value))
    index = {lab.unique_id: i for i, lab in enumerate(labs)}
    reviews = model.stream("startups").random(len(startups)) < sc.supplier_switch_probability
    for s, review in zip(startups, reviews.tolist(), strict=True):  # Python bools
        if review and best != index[s.supplier] and value[best] > value[index[s.supplier]] + 0.1:
            s.switch_supplier(labs[best])


def founders(model: ComputeMarket, startups: list[WrapperStartup]) -> int:
    """Founders who ask for a seed round this month: Poisson, more while incumbents'
    gross profit covers their burn (free entry); the venture pool decides how many
    are funded."""
    sc = model.cfg.startups
    cover = [(s.revenue - s.token_cost) / s.burn for s in startups if s.burn > 0]
    # statistics.median: np.median's float (the middle value, or the mean of the middle
    # two, (a + b) / 2) without its conversion of the list to an array
    attract = min(max(statistics.median(cover), 0.0), 3.0) if cover else 1.0  # (np.clip, faster)
    return int(model.stream("startups").poisson(sc.entry_rate_per_month * attract))


def enter(
    model: ComputeMarket,
    startups: list[WrapperStartup],
    seeds: np.ndarray,
    utility: np.ndarray | None = None,
) -> int:
    """Founders whose seed round (``seeds``, $) was funded start up, up to ``max_count``
    alive (a memory guard). Returns how many were founded (they join ``startups``).
    ``utility``: :func:`supplier_utility`, if already computed at today's labs."""
    funded = [float(x) for x in np.asarray(seeds) if x > 0]
    n = max(0, min(len(funded), model.cfg.startups.max_count - len(startups)))
    if n:
        # labs' qualities and prices stand while founders pick: their logit shares once
        prob = supplier_probabilities(model, utility)
        startups.extend(found(model, seed=x, supplier_prob=prob) for x in funded[:n])
    return n


def set_markups(
    startups: list[WrapperStartup], retail: np.ndarray, supplier_price, new_supplier_price
) -> None:
    """Each startup keeps the markup implied by the retail price it chose over its
    supplier's old price, applied to the supplier's new price."""
    markup = np.maximum(retail / supplier_price - 1.0, 0.0)
    for s, m, p in zip(startups, markup.tolist(), new_supplier_price.tolist(), strict=True):
        s.set_markup(m, p)
