"""Shared test settings."""
import pytest

import minirnn.kernels.blas


@pytest.fixture
def split_every_kernel(monkeypatch):
    """The cpu kernels and products run small work on one thread (``blas.SPLIT_WORK``); the
    tests' sizes are all small, so the modules that check kernels against their references
    (``pytestmark``) lower the limit to 0 and every kernel and product is cut into blocks as
    large work is: the multi-block paths are the ones checked. (B = 1 still checks the
    one-block path, and test_blas checks the two give the same numbers.) The command-line
    tests run with the limit users get."""
    monkeypatch.setattr(minirnn.kernels.blas, "SPLIT_WORK", 0)
