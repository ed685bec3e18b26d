"""Serving throughput: what one H100-equivalent can decode, written down.

A decode step reads every active weight once for the whole batch and each
sequence's KV cache once for that sequence, and does two FLOP per active
parameter per token. So one GPU with memory bandwidth ``BW`` (bytes/s) and peak
``F`` (FLOP/s), serving a model of ``P`` active parameters at ``b`` bytes each in a
batch of ``B`` sequences that each read ``kv`` bytes of KV cache per step, decodes
at most

    tokens/s <= min( B * BW / (P*b + B*kv),  eta * F / (2*P) )

(memory-bound at small batch, compute-bound at large; Pope et al. 2022). Compute
is counted in H100-equivalents by inference throughput, so the bound per H100e is
the H100's.

Model size comes from quality: quality is log10 of a model's effective training
compute in H100-hours; raw compute is that over the training-algorithm multiplier
of the month it was trained; FLOP = H100-hours x 3600 x peak x MFU; and a
compute-optimal model has ``C = 6 P D`` with ``D = 20 P`` (Hoffmann et al. 2022), so
``P = sqrt(C / 120)``, of which a share is active in a mixture of experts.

Plain functions on numbers or arrays; no Mesa needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from abm.config import ServingConfig

SECONDS_PER_HOUR = 3600.0


def decode_bound(active_params, bytes_per_param, batch, kv_bytes, bandwidth, peak_flops, eta):
    """Most tokens per second one GPU can decode (see the module docstring).

    ``active_params`` in parameters, ``kv_bytes`` in bytes per sequence per step,
    ``bandwidth`` in bytes/s, ``peak_flops`` in FLOP/s, ``eta`` the achieved share of peak."""
    p = np.asarray(active_params, dtype=float)
    memory = batch * bandwidth / (p * bytes_per_param + batch * np.asarray(kv_bytes, dtype=float))
    compute = eta * peak_flops / (2.0 * p)
    return np.minimum(memory, compute)


def chinchilla_params(training_flop, tokens_per_param: float = 20.0):
    """Compute-optimal parameters for ``training_flop``: C = 6 P D with D = k P."""
    return np.sqrt(np.asarray(training_flop, dtype=float) / (6.0 * tokens_per_param))


def active_params(quality, algo_multiplier, sc: ServingConfig):
    """Active parameters of a model of ``quality`` (log10 effective H100-hours) trained
    when algorithms multiplied raw compute by ``algo_multiplier``."""
    raw_hours = 10.0 ** np.asarray(quality, dtype=float) / algo_multiplier
    flop = raw_hours * SECONDS_PER_HOUR * sc.training_peak_flops * sc.training_mfu
    return sc.active_param_fraction * chinchilla_params(flop, sc.tokens_per_param)


def quality_at_size(active, algo_multiplier, sc: ServingConfig):
    """The most capable model of ``active`` parameters that algorithms multiplying raw
    compute by ``algo_multiplier`` can make (log10 effective H100-hours): the inverse of
    :func:`active_params`, trained on ``max_overtraining`` times its compute-optimal
    tokens (small models are over-trained and distilled far past Chinchilla)."""
    dense = np.asarray(active, dtype=float) / sc.active_param_fraction
    flop = 6.0 * sc.tokens_per_param * dense**2 * sc.max_overtraining
    raw_hours = flop / (SECONDS_PER_HOUR * sc.training_peak_flops * sc.training_mfu)
    return np.log10(raw_hours * algo_multiplier)


def bound_tokens_per_second(active, sc: ServingConfig):
    """The hardware bound on decode throughput per H100e (tokens/s) of a model with
    ``active`` parameters, at the largest batch (``max_batch``) and a KV cache that
    grows with the model (``kv_bytes_ratio`` of its weight bytes per sequence)."""
    active = np.asarray(active, dtype=float)
    kv = sc.kv_bytes_ratio * active * sc.bytes_per_param
    return decode_bound(
        active,
        sc.bytes_per_param,
        sc.max_batch,
        kv,
        sc.hbm_bandwidth,
        sc.serving_peak_flops,
        sc.compute_efficiency,
    )


def practical_tokens_per_second(
    active, reference_active, reference_tokens_per_hour, software_gain, years
):
    """Throughput under latency limits: the reference model's, scaled by 1/active
    parameters (bytes read per token), times the serving software's gain to date."""
    return (
        reference_tokens_per_hour
        / SECONDS_PER_HOUR
        * reference_active
        / np.asarray(active, dtype=float)
        * software_gain**years
    )


def served_tokens_per_second(practical, bound):
    """What a model actually serves per H100e: the practical throughput, never above
    the hardware bound, so software gains stop once they reach it."""
    return np.minimum(practical, bound)
