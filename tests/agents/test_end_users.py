"""The segment agent's vectorised demand is the demand law of abm.market.demand."""

import numpy as np

from abm import ComputeMarket
from abm.agents.end_users import column_of
from abm.market.demand import token_demand


def test_segment_demand_equals_the_reference_law_user_by_user():
    m = ComputeMarket(rng=2, **{"end_users.simulated_users": 3000})
    m.run(3)
    market = m.observe_market()
    for seg in m.segments:
        seg.choose_providers(market.col_ids, market.choice[0], market.col_of, 0.0)
        totals = seg.order_tokens(market.price, market.quality_factor)
        col = seg._col
        ok = col >= 0
        ref = token_demand(
            market.price[col[ok]],
            market.quality_factor[col[ok]],
            seg.tasks[ok],
            seg.tokens_per_task[ok],
            seg.value[ok],
            seg.elasticity,
            seg.value_range,
        )
        np.testing.assert_allclose(seg.demand[ok], ref, rtol=1e-10)
        assert (seg.demand[~ok] == 0).all()
        np.testing.assert_allclose(totals.sum(), ref.sum() * seg.weight, rtol=1e-10)


def test_users_of_a_provider_that_left_have_no_column():
    col_of = np.array([-1, 0, 1, -1])
    np.testing.assert_array_equal(column_of(col_of, np.array([1, 2, 3, 7, -1])), [0, 1, -1, -1, -1])
