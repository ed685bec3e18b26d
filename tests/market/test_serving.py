"""The hardware bound on decode throughput and model size from training compute,
against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm.config import load_config
from abm.market.serving import (
    active_params,
    bound_tokens_per_second,
    chinchilla_params,
    decode_bound,
    practical_tokens_per_second,
    served_tokens_per_second,
)

SC = load_config().serving


# P = 1e9 active parameters at 2 bytes, BW = 1e12 B/s, F = 1e15 FLOP/s, eta = 0.5:
# weights take 2 ms to read, the compute roof is 0.5e15 / 2e9 = 250,000 tokens/s
@pytest.mark.parametrize(
    ("batch", "kv", "expected", "regime"),
    [
        (1, 0.0, 500.0, "memory"),  # one sequence: one weight read per token
        (8, 1e8, 8e12 / (2e9 + 8e8), "memory"),  # KV reads add to the weight read
        (100, 0.0, 50_000.0, "memory"),
        (500, 0.0, 250_000.0, "both"),  # the crossover batch eta F b / (2 BW) = 500
        (10_000, 0.0, 250_000.0, "compute"),  # large batch: the compute roof
        (1e6, 1e8, 1e18 / (2e9 + 1e14), "memory"),  # KV reads cap it near BW / kv = 10,000
    ],
)
def test_decode_is_memory_bound_at_small_batch_and_compute_bound_at_large(
    batch, kv, expected, regime
):
    got = decode_bound(1e9, 2.0, batch, kv, 1e12, 1e15, 0.5)
    assert got == pytest.approx(expected, rel=1e-12)
    memory = batch * 1e12 / (2e9 + batch * kv)
    compute = 0.5e15 / 2e9
    assert {"memory": memory < compute, "compute": compute < memory, "both": True}[regime]


def test_the_bound_never_falls_with_batch_and_halves_when_the_model_doubles():
    batches = np.array([1, 2, 8, 64, 256, 4096, 1e6])
    b = decode_bound(7e10, 1.0, batches, 3.5e8, 3.35e12, 1.979e15, 0.5)
    assert (np.diff(b) >= 0).all()
    small, big = bound_tokens_per_second(np.array([1e10, 2e10]), SC)
    assert small / big == pytest.approx(2.0)  # KV bytes scale with the model too


def test_chinchilla_size_is_the_root_of_compute_over_120():
    # C = 6 P D, D = 20 P: C = 120 P^2
    assert chinchilla_params(120e20) == pytest.approx(1e10)
    assert chinchilla_params(4 * 120e20) == pytest.approx(2e10)  # 4x compute, 2x size
    assert chinchilla_params(6 * 100 * 1e12, tokens_per_param=100) == pytest.approx(1e6)


def test_a_model_of_the_same_quality_trained_later_is_smaller_by_the_root_of_the_multiplier():
    now, later = active_params(7.2, 1.0, SC), active_params(7.2, 9.0, SC)
    assert now / later == pytest.approx(3.0)
    flop = 10**7.2 * 3600 * SC.training_peak_flops * SC.training_mfu
    assert now == pytest.approx(SC.active_param_fraction * math.sqrt(flop / 120))


def test_served_throughput_is_the_practical_one_until_it_reaches_the_bound():
    practical = practical_tokens_per_second(1e11, 2e11, 3.6e5, 2.0, np.array([0.0, 1.0, 10.0]))
    assert practical == pytest.approx([200.0, 400.0, 200.0 * 2**10])  # 100 tok/s x 2 x gains
    assert served_tokens_per_second(practical, 1000.0) == pytest.approx([200.0, 400.0, 1000.0])
