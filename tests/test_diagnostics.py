"""Residual diagnostics: the correlations find what a residual hides, on both sides of lag 0."""
import numpy as np
import pytest

from minirnn.diagnostics import autocorrelation, cross_correlation


@pytest.mark.parametrize("shift", [-3, 0, 2])
def test_a_residual_made_of_a_shifted_input_peaks_at_its_lag(shift):
    """e_t = u_{t-k}: the model missed the input k steps back (k > 0), the input of the same
    step (k = 0), or the input drives nothing but follows the output (k < 0: feedback)."""
    u = np.random.default_rng(1).standard_normal(400)
    e = np.roll(u, shift)[10:-10]  # e_t = u_{t - shift}
    lags = list(range(-5, 6))
    r = cross_correlation(u[10:-10], e, lags)
    assert lags[int(np.argmax(r))] == shift and r.max() > 0.95
    assert np.all(np.abs(np.delete(r, lags.index(shift))) < 0.2)


def test_white_residuals_stay_in_the_band():
    rng = np.random.default_rng(2)
    e, u = rng.standard_normal(2000), rng.standard_normal(2000)
    band = 1.96 / np.sqrt(2000)
    assert np.mean(np.abs(autocorrelation(e, range(1, 21))) > band) <= 0.15
    assert np.mean(np.abs(cross_correlation(u, e, range(-20, 21))) > band) <= 0.15
