"""What every CUDA engine needs: numba.cuda (imported on first use only), availability, and the
launch shape shared by the kernels (one block per batch row, threads over the units)."""
from __future__ import annotations


def cuda_module():
    try:
        from numba import cuda
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise RuntimeError("backend='cuda' needs numba-cuda: "
                           "pip install 'minirnn[cuda]'") from error
    return cuda


def cuda_available() -> bool:
    """True when a CUDA GPU (or Numba's CUDA simulator) can run the kernels."""
    try:
        return bool(cuda_module().is_available())
    except Exception:  # noqa: BLE001 - a broken driver is "not available", never a crash
        return False


def launch_shape(B: int, H: int):
    """(blocks, threads): a block per batch row; up to 256 threads over the units."""
    return B, max(1, min(H, 256))


