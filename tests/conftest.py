"""Shared test settings."""
import pytest

import minirnn.blas


@pytest.fixture(autouse=True)
def split_every_kernel(monkeypatch):
    """The cpu kernels run small work on one thread (``blas.SPLIT_WORK``); the tests' sizes are
    all small, so they lower the limit to 0 and every kernel is cut into blocks as large work
    is: the multi-block paths are the ones to check against the references. (B = 1 still
    checks the one-block path, and test_blas checks the two give the same numbers.)"""
    monkeypatch.setattr(minirnn.blas, "SPLIT_WORK", 0)
