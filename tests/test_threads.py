"""minirnn.threads: the BLAS thread count, and matmuls split over minirnn's own threads."""
import numpy as np

from minirnn import threads


def test_blas_threads_is_restored_after_the_block():
    before = threads.get_blas_threads()
    with threads.blas_threads(1):
        assert threads.get_blas_threads() in (None, 1)
    assert threads.get_blas_threads() == before


def test_split_matmul_equals_numpy():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((1001, 130)).astype(np.float32)  # odd rows: uneven parts
    B = rng.standard_normal((130, 70)).astype(np.float32)
    with threads.blas_threads(1):  # the setting under which it splits
        out = threads.matmul(A, B)
    assert out.shape == (1001, 70) and out.dtype == np.float32
    np.testing.assert_allclose(out, A @ B, rtol=1e-5, atol=1e-5)
    small = threads.matmul(A[:3], B)  # too small to split: plain A @ B
    np.testing.assert_array_equal(small, A[:3] @ B)
