"""Limit 6: with only diffusion active, a segment's adoption follows the closed-form
Bass curve F(t) = (1 - exp(-(p+q)t)) / (1 + (q/p) exp(-(p+q)t)), shifted to start
from the initial adopted share.

Config: ``configs/validation/bass.toml`` (p = 0.03, q = 0.5 per year, 20 years,
monthly steps, 20,000 simulated users). Tolerance: RMSE below 2% of the market.
"""

import numpy as np
import pytest

from abm.validation.limits import bass_curve

from .runs import run


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_adoption_follows_the_closed_form_bass_curve(seed):
    model, df = run("bass", seed)
    (seg,) = model.cfg.end_users.segments
    share = df["adoption"].to_numpy()
    months = np.arange(share.size)  # row k: after k monthly adoption steps
    expected = bass_curve(seg.bass_p, seg.bass_q, months / 12.0, initial_share=share[0])
    rmse = float(np.sqrt(np.mean((share - expected) ** 2)))
    assert rmse < 0.02
    assert share[-1] > 0.99  # the whole market adopts within the run
