"""The window layer as Numba CPU kernels (equations in ``reference``), parallel over the batch.

Each block of batch rows is one thread's, and within it the (b, t) rows go a chunk at a time:
the chunk's product z = e W^T into a small buffer, then f(z + b) into h while the buffer is
still in the cache (the same in the backward: dz = ∂L/∂h ⊙ f'(h) for a chunk, then its share
of ∂L/∂W, ∂L/∂b and ∂L/∂e), so no (B, T, H) array is written but h itself. The blocks' shares
of ∂L/∂W and ∂L/∂b are added after the kernel, as ``blas.matmul`` adds its blocks'.
"""
import numba
import numpy as np

from .. import blas
from ..activations import CODES, activate, derivative
from ..blas import (NOT_TRANSPOSED, TRANSPOSED, block_bounds, cpu_jit, gemm, kernel_threads,
                    row_blocks)
from ..delay import cpu as delay_cpu
from . import reference

#: (b, t) rows per chunk: the chunk's z (CHUNK, H) stays in the cache between its product and
#: its activation
CHUNK = 64


@cpu_jit()
def _activate_chunk(code, z, bias, h):
    """h[i] = f(z[i] + bias) for every row i (the branch outside the loops: they vectorise)."""
    n, H = z.shape
    if code == 0:
        for i in range(n):
            for j in range(H):
                h[i, j] = activate(0, z[i, j] + bias[j])
    elif code == 1:
        for i in range(n):
            for j in range(H):
                h[i, j] = activate(1, z[i, j] + bias[j])
    elif code == 2:
        for i in range(n):
            for j in range(H):
                h[i, j] = activate(2, z[i, j] + bias[j])
    else:
        for i in range(n):
            for j in range(H):
                h[i, j] = z[i, j] + bias[j]


@cpu_jit()
def _delta_chunk(code, dh, h, dz, db):
    """dz[i] = dh[i] ⊙ f'(h[i]) for every row i, and db += Σ_i dz[i]."""
    n, H = dz.shape
    for i in range(n):
        if code == 0:
            for j in range(H):
                dz[i, j] = dh[i, j] * derivative(0, h[i, j])
        elif code == 1:
            for j in range(H):
                dz[i, j] = dh[i, j] * derivative(1, h[i, j])
        elif code == 2:
            for j in range(H):
                dz[i, j] = dh[i, j] * derivative(2, h[i, j])
        else:
            for j in range(H):
                dz[i, j] = dh[i, j] * derivative(3, h[i, j])
        for j in range(H):
            db[j] += dz[i, j]


@cpu_jit(parallel=True)
def _forward(address, code, e, WT, bias, h, z, steps, blocks):
    """h = f(e W^T + b) over the rows (b, t) laid end to end, a block of batch rows per
    thread; z (blocks, CHUNK, H): each block's buffer."""
    batch = e.shape[0] // steps
    for block in numba.prange(blocks):
        lo, hi = block_bounds(block, blocks, batch)
        for r0 in range(lo * steps, hi * steps, CHUNK):
            r1 = min(r0 + CHUNK, hi * steps)
            zc = z[block, :r1 - r0]
            gemm(address, e[r0:r1], WT, zc, NOT_TRANSPOSED, 0.0)
            _activate_chunk(code, zc, bias, h[r0:r1])


@cpu_jit(parallel=True)
def _backward(address, code, dh, h, e, W, dz, dWT, db, de, need_e, steps, blocks):
    """Each block's ∂L/∂W^T (dWT[block], (K, H)) and ∂L/∂b (db[block]) and, if ``need_e``, its
    rows of ∂L/∂e = dz W; dz (blocks, CHUNK, H): each block's buffer."""
    batch = e.shape[0] // steps
    for block in numba.prange(blocks):
        lo, hi = block_bounds(block, blocks, batch)
        dWT[block] = 0
        db[block] = 0
        for r0 in range(lo * steps, hi * steps, CHUNK):
            r1 = min(r0 + CHUNK, hi * steps)
            dzc = dz[block, :r1 - r0]
            _delta_chunk(code, dh[r0:r1], h[r0:r1], dzc, db[block])
            gemm(address, e[r0:r1], dzc, dWT[block], TRANSPOSED, 1.0)
            if need_e:
                gemm(address, dzc, W, de[r0:r1], NOT_TRANSPOSED, 0.0)


def _rows(a):
    return np.ascontiguousarray(a).reshape(-1, a.shape[-1])


def window_forward(b, sources, weights, lags, activation):
    """h (B, T, H) and e (B, T, K), as ``reference.window_forward``."""
    e = reference.embed(sources, lags)
    B, T, K = e.shape
    WT = np.ascontiguousarray(_joined(weights).T)
    H = WT.shape[1]
    h = np.empty((B, T, H), dtype=e.dtype)
    blocks = row_blocks(B, B * T * K * H)
    with kernel_threads(blocks):
        _forward(blas.gemm_address(e.dtype), CODES[activation], e.reshape(B * T, K), WT,
                 np.ascontiguousarray(b), h.reshape(B * T, H),
                 np.empty((blocks, CHUNK, H), dtype=e.dtype), T, blocks)
    return h, e


def window_backward(dh, h, e, weights, activation, need_e=True):
    """(∂L/∂b, [∂L/∂W_i], ∂L/∂e or None), as ``reference.window_backward``."""
    B, T, K = e.shape
    H = h.shape[2]
    W = np.ascontiguousarray(_joined(weights))
    blocks = row_blocks(B, B * T * K * H)
    dWT = np.empty((blocks, K, H), dtype=e.dtype)
    db = np.empty((blocks, H), dtype=e.dtype)
    de = np.empty((B, T, K) if need_e else (0, K), dtype=e.dtype)
    with kernel_threads(blocks):
        _backward(blas.gemm_address(e.dtype), CODES[activation], _rows(dh), h.reshape(B * T, H),
                  e.reshape(B * T, K), W, np.empty((blocks, CHUNK, H), dtype=e.dtype), dWT, db,
                  de.reshape(-1, K), need_e, T, blocks)
    return blas.block_sum(db), _split_columns(blas.block_sum(dWT).T, weights), \
        de if need_e else None


def _joined(weights):
    """[W_1, W_2, …] (H, K), side by side: the one weight itself when there is one."""
    return weights[0] if len(weights) == 1 else np.concatenate(weights, axis=1)


def _split_columns(dW, weights):
    """∂L/∂W (H, K) cut back into each W_i's columns, as views (``np.split`` costs more)."""
    parts, column = [], 0
    for w in weights:
        parts.append(dW[:, column:column + w.shape[1]])
        column += w.shape[1]
    return parts


def fold(de, sources, lags, needs):
    """∂L/∂v^i for each source that ``needs`` it, as ``reference.fold``, by the delay line's
    cpu kernel."""
    return reference.fold(de, sources, lags, needs, delay_cpu.delay_backward)
