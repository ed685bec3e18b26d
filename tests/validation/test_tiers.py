"""Issue 11b (expect): distilled tiers keep their size between their parent's releases.

A tier is distilled from its parent's model ``rank`` x ``distilled_gap`` below it,
with ``distilled_param_fraction ** rank`` of its active parameters, and changes
only when the parent releases a new model: its quality up ``release_quality_gain``
since the tier was last distilled. The lowest ``fixed_size_tiers`` tiers keep their
first size for good and gain, at each release, what algorithmic progress gives a model
of that size.
"""

from __future__ import annotations

import numpy as np
import pytest

from abm import ComputeMarket
from abm.agents.model_developer import DISTILLED


def market(**over) -> ComputeMarket:
    return ComputeMarket(rng=1, **{"end_users.simulated_users": 200, **over})


def first_tier(m):
    return next(lab for lab in m.labs if lab.kind == DISTILLED and lab.rank == 1)


def test_a_tier_keeps_its_size_and_quality_until_its_parent_releases():
    m = market()
    sc = m.cfg.serving
    tier = first_tier(m)
    lab = tier.parent
    size, quality = tier.active_params(0.0), tier.quality
    assert size == pytest.approx(lab.active_params(0.0) * sc.distilled_param_fraction)
    # the parent improves, but by less than a release: the tier does not move
    lab.quality += 0.9 * sc.release_quality_gain
    tier.follow_parent()
    assert (tier.active_params(12.0), tier.quality) == (size, quality)
    assert lab.active_params(12.0) != size / sc.distilled_param_fraction  # the parent did
    # a release: distilled anew from the parent's new model, at that month's size
    lab.quality += 0.2 * sc.release_quality_gain
    tier.follow_parent()
    assert tier.quality == pytest.approx(lab.quality - sc.distilled_gap)
    assert tier.active_params(18.0) == pytest.approx(
        lab.active_params(18.0) * sc.distilled_param_fraction
    )
    # and fixed again afterwards, however the months pass
    assert tier.active_params(60.0) == tier.active_params(18.0)


def test_a_fixed_size_tier_follows_its_teacher_only_as_far_as_its_size_holds():
    m = market()
    sc, mc = m.cfg.serving, m.cfg.model_developers
    tier = next(t for t in m.labs if t.kind == DISTILLED and t.fixed_size)
    lab, rank = tier.parent, tier.rank
    size, quality = tier.active_params(0.0), tier.quality
    assert quality == pytest.approx(lab.quality - rank * sc.distilled_gap)
    # a small release a year on: distilled anew rank gaps below the teacher, at the
    # same size (a year of algorithms lets the size hold more than that)
    m.month = 12
    lab.quality += sc.release_quality_gain
    tier.follow_parent()
    assert tier.quality == pytest.approx(lab.quality - rank * sc.distilled_gap)
    assert tier.active_params(6.0) == size
    # a big release 24 months on: the teacher is far ahead, so the tier holds what its
    # size can: C = 6 x 20 N^2 x max_overtraining FLOP for N dense parameters (Hoffmann
    # et al. 2022), times two years of algorithmic progress
    m.month = 24
    lab.quality += 3.0
    tier.follow_parent()
    dense = size / sc.active_param_fraction
    flop = 6.0 * sc.tokens_per_param * dense**2 * sc.max_overtraining
    hours = flop / (3600.0 * sc.training_peak_flops * sc.training_mfu)
    held = np.log10(hours * mc.training_algo_gain_per_year**2)
    assert held < lab.quality - rank * sc.distilled_gap  # the size binds, not the gap
    assert tier.quality == pytest.approx(held)
    assert tier.active_params(24.0) == size


@pytest.mark.slow
def test_in_the_baseline_tiers_change_only_at_releases_a_few_times_a_year():
    """Seed 1, 120 months: each tier's served size changes only in months its parent's
    quality has risen by at least ``release_quality_gain`` since the tier's last
    change, and it is then ``distilled_param_fraction ** rank`` of the parent's;
    releases come every few months, as frontier labs' do (not every month)."""
    m = ComputeMarket(rng=1)
    sc = m.cfg.serving
    tiers = [lab for lab in m.labs if lab.kind == DISTILLED]
    size = {t.unique_id: t.active for t in tiers}
    base = {t.unique_id: t.parent.quality for t in tiers}
    changes = 0
    for _ in range(120):
        m.step()
        for t in (t for t in tiers if t in m.labs):
            if t.fixed_size:
                assert t.serving_active == size[t.unique_id]  # never resized
                continue
            if t.serving_active != size[t.unique_id]:
                assert t.parent.quality >= base[t.unique_id] + sc.release_quality_gain - 1e-9
                ratio = t.serving_active / t.parent.serving_active
                assert ratio == pytest.approx(sc.distilled_param_fraction**t.rank, rel=1e-9)
                size[t.unique_id], base[t.unique_id] = t.serving_active, t.distilled_from
                changes += 1
    per_tier_year = changes / sum(not t.fixed_size for t in tiers) / 10
    assert 0.5 <= per_tier_year <= 4.0, per_tier_year


@pytest.mark.slow
def test_the_price_at_fixed_capability_falls_every_year():
    """The cheapest model at least as good as January 2023's best gets cheaper every
    year of the run, the fixed-size small tiers carrying it once they reach that
    quality. (With every tier re-sized at each release to a fixed fraction of its ever
    larger parent, it rose about 6x from 2027 to 2032.)"""
    import abm.runs
    from abm.config import DEFAULT_CONFIG

    df = abm.runs.run(DEFAULT_CONFIG, seed=1, steps=120).metrics
    by_year = df.groupby(df["date"].str[:4])["price_at_fixed_capability"].mean()
    assert np.all(np.diff(by_year.to_numpy()) < 0), by_year
