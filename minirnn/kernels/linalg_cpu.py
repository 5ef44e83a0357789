"""Small jitted building blocks shared by the CPU kernels.

``vec_mat_acc(out, v, A)`` adds the row vector v times A to out: out[j] += Σ_i v[i] A[i, j].
Written in axpy order (for each i, a contiguous row of A scaled by v[i]), it vectorises without
reassociating sums (PERF-NOTES.md). It serves both directions of a layer:

    forward   z += W v      is  vec_mat_acc(z, v, W.T)   (pass W transposed, contiguous)
    backward  c += W^T d    is  vec_mat_acc(c, d, W)
"""
import numba

from .activations import activate

FASTMATH = {"contract", "nsz"}  # FMA and sign-of-zero freedom only: NaN and inf stay visible


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def vec_mat_acc(out, v, A):
    for i in range(A.shape[0]):
        vi = v[i]
        for j in range(A.shape[1]):
            out[j] += vi * A[i, j]


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def activate_into(code, z, out):
    """out[i] = f(z[i]) with f chosen once outside the loop, so each loop is branch-free and
    vectorises (a branch on ``code`` per element would stop it)."""
    if code == 0:
        for i in range(z.size):
            out[i] = activate(0, z[i])
    elif code == 1:
        for i in range(z.size):
            out[i] = activate(1, z[i])
    elif code == 2:
        for i in range(z.size):
            out[i] = activate(2, z[i])
    else:
        for i in range(z.size):
            out[i] = z[i]
