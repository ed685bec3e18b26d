"""Rationing: who gets how much of a scarce supply. Plain functions on arrays."""

from __future__ import annotations

import numpy as np


def pro_rata(requests: np.ndarray, supply: float) -> np.ndarray:
    """Fill requests in full if supply allows, otherwise in proportion to their size.

    Never hands out more than ``supply`` nor more than anyone asked for.
    """
    requests = np.maximum(np.asarray(requests, dtype=float), 0.0)
    total = requests.sum()
    if total <= supply or total == 0.0:
        return requests.copy()
    return requests * (max(supply, 0.0) / total)


def allocate_with_spillover(
    requests: np.ndarray, capacities: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Clear a market of several sellers with fixed capacities.

    ``requests[b, s]`` is what buyer ``b`` asks of seller ``s``. Each seller first
    serves its own requests (pro rata when short); what is left unmet then spills
    over to the sellers with spare capacity, pro rata to that spare capacity, and is
    again rationed pro rata. Returns ``(filled[b, s], unmet[b])``.
    """
    requests = np.maximum(np.asarray(requests, dtype=float), 0.0)
    capacities = np.maximum(np.asarray(capacities, dtype=float), 0.0)
    demand = requests.sum(axis=0)
    fill = np.divide(capacities, demand, out=np.ones_like(demand), where=demand > capacities)
    filled = requests * np.minimum(fill, 1.0)
    unmet = requests.sum(axis=1) - filled.sum(axis=1)
    spare = capacities - filled.sum(axis=0)
    total_unmet, total_spare = unmet.sum(), spare.sum()
    if total_unmet > 0.0 and total_spare > 0.0:
        moved = min(total_unmet, total_spare)
        # each buyer's unmet share, spread over sellers by their spare share
        filled += np.outer(unmet / total_unmet, spare / total_spare) * moved
        unmet = unmet * (1.0 - moved / total_unmet)
    return filled, np.maximum(unmet, 0.0)


def spillover_sales(requests: np.ndarray, capacities: np.ndarray) -> np.ndarray:
    """What each seller sells when one buyer's ``requests[..., s]`` meet ``capacities[s]``.

    The single-buyer case of :func:`allocate_with_spillover`, vectorised over any
    leading axes (e.g. candidate prices): each seller fills what it can, and the
    excess moves to sellers with spare capacity in proportion to it.
    """
    requests = np.maximum(np.asarray(requests, dtype=float), 0.0)
    capacities = np.maximum(np.asarray(capacities, dtype=float), 0.0)
    filled = np.minimum(requests, capacities)
    excess = (requests - filled).sum(axis=-1, keepdims=True)
    spare = capacities - filled
    total_spare = spare.sum(axis=-1, keepdims=True)
    moved = np.minimum(excess, total_spare)
    share = np.divide(spare, total_spare, out=np.zeros_like(spare), where=total_spare > 0)
    return filled + share * moved
