"""The retail token market as users see it at the start of a month.

One column per seller: the labs' direct channel first, then the startups' apps.
:func:`observe_retail_market` reads posted prices and qualities from the sellers
and gives each segment its logit choice probabilities over the columns
(:func:`abm.market.demand.choice_utility`, plus app and crowding terms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from abm.market.demand import choice_utility, class_utility, nested_choice, softmax

if TYPE_CHECKING:
    from abm.config import EndUserConfig, ModelDeveloperConfig, StartupConfig


@dataclass(frozen=True)
class RetailMarket:
    """This month's retail market, column by column (labs first, then startups)."""

    col_ids: np.ndarray  # unique_id of each column's seller
    col_of: np.ndarray  # column of a seller's unique_id, -1 for ids that sell nothing here
    price: np.ndarray  # posted retail price, $ per million tokens
    quality: np.ndarray  # quality of the model behind the column (its lab's)
    quality_factor: np.ndarray  # what quality multiplies task values by
    choice: np.ndarray  # [segment, column] logit choice probabilities of re-choosing users
    source: np.ndarray  # index (in the labs list) of the lab whose tokens the column sells
    n_labs: int  # the first n_labs columns are the labs' direct channel
    # -- issue 11, nested choice: capability classes
    nest: np.ndarray | None = None  # each column's capability class (None: plain logit)

    @property
    def n_cols(self) -> int:
        return int(self.col_ids.size)


def lab_classes(labs: list, quality: np.ndarray, uc: EndUserConfig):
    """The nested choice's classes (issue 11, round 8): each lab's nest, its capability
    class numbered in order (frontier, each tier rank, open weights), and each nest's
    class utility, ``class_quality_sensitivity - quality_sensitivity`` times the mean
    ``quality`` of its labs (:func:`~abm.market.demand.class_utility`)."""
    classes = [getattr(lab, "capability_class", 0) for lab in labs]  # 0: frontier
    # each class's rank among those present: np.unique's inverse, without its overhead
    rank = {c: i for i, c in enumerate(sorted(set(classes)))}
    nest = np.fromiter(map(rank.__getitem__, classes), np.intp, len(classes))
    weight = uc.class_quality_sensitivity - uc.quality_sensitivity
    return nest, class_utility(quality, nest, int(nest.max()) + 1, weight)


def observe_retail_market(
    labs: list,
    startups: list,
    app_affinity: list[float],
    uc: EndUserConfig,
    mc: ModelDeveloperConfig,
    sc: StartupConfig,
) -> RetailMarket:
    """The columns of the retail market with their posted prices, qualities and, per
    segment (``app_affinity`` has one entry each), logit choice probabilities."""
    lab_col = {lab.unique_id: i for i, lab in enumerate(labs)}
    col_ids = np.array([a.unique_id for a in (*labs, *startups)], dtype=np.int64)
    source = np.array(
        list(range(len(labs))) + [lab_col[s.supplier] for s in startups], dtype=np.int64
    )
    quality = np.array([lab.quality for lab in labs])[source] if labs else np.zeros(0)
    price = np.array([lab.price for lab in labs] + [s.price for s in startups])
    # np.concatenate, not np.r_: the same arrays without np.r_'s parsing of its arguments
    is_startup = np.concatenate((np.zeros(len(labs), bool), np.ones(len(startups), bool)))
    app_bonus = np.concatenate(
        (
            np.full(len(labs), mc.first_party_app_bonus if mc.first_party_apps else 0.0),
            np.array([s.app_bonus for s in startups], dtype=float),
        )
    )
    # more apps split the same app-loving users: each one's pull falls with their number
    crowding = np.where(is_startup, -math.log(max(len(startups), 1) / sc.crowding_reference), 0.0)
    base = choice_utility(quality, price, uc.quality_sensitivity, uc.price_sensitivity)
    if not mc.direct_sales and startups:
        base[: len(labs)] = -np.inf  # labs sell only wholesale: users reach them through apps
    nest = None
    if uc.nested_choice and col_ids.size:
        # -- issue 11, nested choice: a column is in its source lab's capability class
        lab_nest, nest_u = lab_classes(labs, quality[: len(labs)], uc)
        nest = lab_nest[source]
        util = base[None, :] + np.asarray(app_affinity, dtype=float)[:, None] * app_bonus
        # crowding times lambda: within a nest utilities count 1/lambda times, and the
        # apps' joint appeal (their nests' inclusive values) must not grow with their number
        lam = uc.nest_dissimilarity
        choice = nested_choice(util + lam * crowding, nest, nest_u, lam)
    elif col_ids.size:
        choice = np.vstack([softmax(base + app_bonus * a + crowding) for a in app_affinity])
    else:
        choice = np.zeros((len(app_affinity), 0))
    col_of = np.full(int(col_ids.max()) + 1 if col_ids.size else 1, -1, dtype=np.int64)
    col_of[col_ids] = np.arange(col_ids.size)
    quality_factor = np.exp(uc.value_per_quality * (quality - mc.reference_quality))
    return RetailMarket(
        col_ids=col_ids,
        col_of=col_of,
        price=price,
        quality=quality,
        quality_factor=quality_factor,
        choice=choice,
        source=source,
        n_labs=len(labs),
        nest=nest,
    )
