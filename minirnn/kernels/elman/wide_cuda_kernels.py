"""The Elman / state-space recurrence for wide layers: several blocks share every step.

Same function as ``reference`` (its docstring has the equations and the BPTT derivation).
``cuda_kernels`` gives each batch row one block; when W_hh no longer fits in one block's
shared memory (H > 109 in float32), every block would read all of W_hh from device memory at
every step, and a batch of 32 rows would keep 32 of the GPU's 132 multiprocessors busy. Here
instead the hidden UNITS are split over the blocks, persistent-RNN style:

- block k owns units [u0, u0 + U) for every batch row, and keeps its U rows of W_hh (forward)
  or of W_hh^T (backward) in shared memory for the whole sequence: W_hh is read from device
  memory once per launch, spread over the chip;
- each thread computes whole dot products for (row, unit) pairs of its block;
- a step needs the whole of h_{t-1} (or dz_{t+1}), written by every block in the step before:
  a grid-wide barrier (``cuda.cg.this_grid().sync()``, a cooperative launch, every block
  resident at once) separates the steps.

Forward, for the block's pairs (b, i):       Backward, from t = T-1 down:
    z = a[b,t,i] + Σ_j W[i,j] h_{t-1}[b,j]       c = Σ_j W^T[i,j] dz_{t+1}[b,j]  (0 at T-1)
    h_t[b,i] = f(z)                               g = dhs[b,t,i] + c
                                                  dz_t[b,i] = g f'(h_t[b,i])
and after the loop dh0[b,i] = Σ_j W^T[i,j] dz_0[b,j]. Padded steps (t >= lengths[b]) keep the
state forward, and backward pass g on unchanged (``carry``, which only the pair's own thread
reads and writes). Shared memory rows are H + 1 long so that threads reading one column of
several rows hit different banks.

Numba's simulator runs a cooperative grid of one block only, so the tests there cover the
one-block case; several blocks are checked on a GPU.
"""
from numba import cuda, float32, float64

from ..activations import activate, derivative


@cuda.jit(device=True, inline=True)
def _own_rows(M, shared, u0, n, H):
    """shared[k (H + 1) + j] = M[u0 + k, j] for the block's n rows (the threads together)."""
    for e in range(cuda.threadIdx.x, n * H, cuda.blockDim.x):
        shared[(e // H) * (H + 1) + e % H] = M[u0 + e // H, e % H]
    cuda.syncthreads()


@cuda.jit(device=True, inline=True)
def _row_dot(M, shared, on_chip, i, k, v, b, t, H):
    """Σ_j M[i, j] v[b, t, j], with row i of M on chip (as row k of ``shared``) or not."""
    s = v[b, t, 0] * (shared[k * (H + 1)] if on_chip else M[i, 0])
    if on_chip:
        for j in range(1, H):
            s += shared[k * (H + 1) + j] * v[b, t, j]
    else:
        for j in range(1, H):
            s += M[i, j] * v[b, t, j]
    return s


@cuda.jit(device=True, inline=True)
def _block_units(H):
    """(u0, n): the first unit this block owns and how many."""
    U = (H + cuda.gridDim.x - 1) // cuda.gridDim.x
    u0 = cuda.blockIdx.x * U
    return u0, max(0, min(U, H - u0))


@cuda.jit(device=True, inline=True)
def _wide_forward(a, W, h0, lengths, code, hs, shared):
    B, T, H = a.shape
    u0, n = _block_units(H)
    on_chip = n > 0 and shared.size >= n * (H + 1)
    if on_chip:
        _own_rows(W, shared, u0, n, H)
    grid = cuda.cg.this_grid()
    for t in range(T):
        for p in range(cuda.threadIdx.x, B * n, cuda.blockDim.x):
            b, k = p // n, p % n
            i = u0 + k
            if t < lengths[b]:
                if t == 0:  # h_{-1} = h0, laid out (B, H): read it as a (B, 1, H) row
                    s = W[i, 0] * h0[b, 0]
                    for j in range(1, H):
                        s += W[i, j] * h0[b, j]
                else:
                    s = _row_dot(W, shared, on_chip, i, k, hs, b, t - 1, H)
                hs[b, t, i] = activate(code, a[b, t, i] + s)
            else:  # after its end a row keeps its state
                hs[b, t, i] = h0[b, i] if t == 0 else hs[b, t - 1, i]
        grid.sync()  # h_t complete, from every block, before any block reads it at t+1


@cuda.jit(device=True, inline=True)
def _wide_backward(dhs, hs, Wt, lengths, code, dz, dh0, carry, shared):
    B, T, H = hs.shape
    u0, n = _block_units(H)
    on_chip = n > 0 and shared.size >= n * (H + 1)
    if on_chip:
        _own_rows(Wt, shared, u0, n, H)
    grid = cuda.cg.this_grid()
    for t in range(T - 1, -1, -1):
        for p in range(cuda.threadIdx.x, B * n, cuda.blockDim.x):
            b, k = p // n, p % n
            i = u0 + k
            if t == T - 1:
                c = dhs[b, t, i] * 0
            elif t + 1 < lengths[b]:
                c = _row_dot(Wt, shared, on_chip, i, k, dz, b, t + 1, H)
            else:  # step t+1 was padding: its gradient passed through unchanged
                c = carry[b, i]
            g = dhs[b, t, i] + c
            if t < lengths[b]:
                dz[b, t, i] = g * derivative(code, hs[b, t, i])
            else:
                dz[b, t, i] = g * 0
                carry[b, i] = g
        grid.sync()  # dz_t complete before any block reads it at t-1
    for p in range(cuda.threadIdx.x, B * n, cuda.blockDim.x):
        b, k = p // n, p % n
        dh0[b, u0 + k] = _row_dot(Wt, shared, on_chip, u0 + k, k, dz, b, 0, H)


@cuda.jit(cache=True)
def wide_forward_f32(a, W, h0, lengths, code, hs):
    _wide_forward(a, W, h0, lengths, code, hs, cuda.shared.array(0, float32))


@cuda.jit(cache=True)
def wide_forward_f64(a, W, h0, lengths, code, hs):
    _wide_forward(a, W, h0, lengths, code, hs, cuda.shared.array(0, float64))


@cuda.jit(cache=True)
def wide_backward_f32(dhs, hs, Wt, lengths, code, dz, dh0, carry):
    _wide_backward(dhs, hs, Wt, lengths, code, dz, dh0, carry, cuda.shared.array(0, float32))


@cuda.jit(cache=True)
def wide_backward_f64(dhs, hs, Wt, lengths, code, dz, dh0, carry):
    _wide_backward(dhs, hs, Wt, lengths, code, dz, dh0, carry, cuda.shared.array(0, float64))


KERNELS = {"float32": (wide_forward_f32, wide_backward_f32),
           "float64": (wide_forward_f64, wide_backward_f64)}
