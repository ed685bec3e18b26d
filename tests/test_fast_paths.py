"""Round-2 fast paths equal the plain forms they replace (docs/computation.md)."""

from __future__ import annotations

import numpy as np

from abm.model import ComputeMarket


def test_fleet_cache_and_running_peak_match_plain_forms():
    """Every month of a run: a cloud's cached installed H100e is units @ perf exactly (its
    kW, units @ kw, and its vintages' kW per H100e likewise), and
    every firm's running peak burn is max(max(memory), 0) exactly."""
    model = ComputeMarket(rng=3)
    for _ in range(40):
        model.step()
        for h in model.hyperscalers:
            assert h.installed_h100e == float(h.units @ h.perf)
            assert h.used_mw == float(h.units @ h.kw) / 1000.0
            assert np.array_equal(h._fleet().kw_per_h100e, h.kw / h.perf)
        for f in [*model.labs, *model.startups, *model.hyperscalers]:
            plain = max(max(f.burn_plans), 0.0) if f.burn_plans else 0.0
            assert f.peak_burn == plain


def test_vector_durations_equal_one_at_a_time():
    """Durations drawn for several projects at once equal draws taken one project at a
    time from the same generator, in the same order (zero means draw nothing)."""
    model = ComputeMarket(rng=1)
    h = model.hyperscalers[0]
    means = np.array([3.0, 0.0, 12.0, 24.0, 6.5])
    key = (model.steps, "projects")
    model._streams.pop(key, None)
    together = h._draw_durations(means)
    model._streams.pop(key, None)
    one_by_one = np.array([h._draw_duration(m) if m > 0 else 0.0 for m in means])
    assert np.array_equal(together, one_by_one)
    assert together[1] == 0.0 and np.all(together[[0, 2, 3, 4]] > 0)


def test_metrics_mean_is_numpys_mean_to_the_bit():
    from abm.metrics import _mean

    rng = np.random.default_rng(6)
    for n in (1, 2, 3, 7, 8, 9, 15, 16, 17, 40, 129):
        values = (rng.lognormal(0.0, 3.0, n) * rng.choice([-1.0, 1.0], n)).tolist()
        assert _mean(values) == float(np.mean(values))


def test_bincount_adds_each_bins_weights_in_input_order_from_zero():
    """Labs' token orders and revenue are totalled by np.bincount: the same float as
    adding each lab's direct sales, then its resellers' one by one in their order."""
    rng = np.random.default_rng(8)
    for n_labs, n in ((1, 1), (3, 40), (15, 230), (15, 2000)):
        source = np.concatenate((np.arange(n_labs), rng.integers(0, n_labs, n)))
        weights = rng.lognormal(0.0, 4.0, source.size)
        plain = [0.0] * n_labs
        for i, w in zip(source.tolist(), weights.tolist(), strict=True):
            plain[i] += w
        assert np.bincount(source, weights=weights, minlength=n_labs).tolist() == plain


def test_a_founders_supplier_is_generator_choice_to_the_bit():
    """pick_supplier takes Generator.choice's steps itself: the same lab from the same
    stream for any logit shares, and the stream left where choice leaves it."""
    from abm.agents.startup import pick_supplier

    model = ComputeMarket(rng=4)
    n = len(model.labs)
    rng = np.random.default_rng(9)
    for _ in range(300):
        util = rng.normal(0.0, 3.0, n)
        p = np.exp(util - util.max())
        p /= p.sum()
        key = (model.steps, "startups")
        model._streams.pop(key, None)
        picked = [pick_supplier(model, p) for _ in range(3)]
        after = model.stream("startups").random()
        model._streams.pop(key, None)
        gen = model.stream("startups")
        chosen = [model.labs[int(gen.choice(n, p=p))] for _ in range(3)]
        assert picked == chosen and gen.random() == after


def test_statistics_median_is_numpys_median_to_the_bit():
    """founders() takes the incumbents' median cover with statistics.median."""
    import statistics

    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 4, 7, 8, 171, 200):
        values = (rng.lognormal(0.0, 2.0, n) * rng.choice([-1.0, 1.0], n)).tolist()
        assert statistics.median(values) == float(np.median(values))


def test_stream_seeds_as_words_equal_seeds_as_ints():
    """A step's generator seeded with the 32-bit words of ``[key, step, purpose]``
    (ComputeMarket.stream) is the generator seeded with the list of ints itself."""
    from abm.model import uint32_words

    for key, step, purpose in [(0, 0, 0), (1, 5, 2), (2**63 - 1, 120, 5), (2**40 + 7, 2**33, 1)]:
        words = [*uint32_words(key), *uint32_words(step), purpose]
        fast = np.random.default_rng(np.array(words, dtype=np.uint32))
        plain = np.random.default_rng([key, step, purpose])
        assert fast.bit_generator.state == plain.bit_generator.state
        assert np.array_equal(fast.random(4), plain.random(4))
    model = ComputeMarket(rng=1)
    model.step()
    model._streams.pop((model.steps, "users"), None)  # a fresh one, not the month's used one
    gen = model.stream("users")
    plain = np.random.default_rng([model._stream_key, model.steps, 1])
    assert gen.bit_generator.state == plain.bit_generator.state
