"""minirnn.kernels.process: keeping freed memory for reuse (glibc only; elsewhere it says it did
not)."""
import platform
import sys

import numpy as np

from minirnn.kernels.process import keep_freed_memory


def test_keep_freed_memory_on_glibc_and_arrays_still_work():
    done = keep_freed_memory()
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert done == glibc
    a = np.ones((64, 100, 256), dtype=np.float32)  # large blocks: now from the heap
    del a
    b = np.zeros((64, 100, 256), dtype=np.float32)
    assert not b.any()  # reused memory still comes back zero-filled from np.zeros
