"""Small jitted building blocks shared by the CPU kernels.

``vec_mat_acc(out, v, A)`` adds the row vector v times A to out: out[j] += Σ_i v[i] A[i, j].
Written in axpy order (for each i, a contiguous row of A scaled by v[i]), it vectorises without
reassociating sums (PERF-NOTES.md). It serves both directions of a layer:

    forward   z += W v      is  vec_mat_acc(z, v, W.T)   (pass W transposed, contiguous)
    backward  c += W^T d    is  vec_mat_acc(c, d, W)
"""
import numba

FASTMATH = {"contract", "nsz"}  # FMA and sign-of-zero freedom only: NaN and inf stay visible


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def vec_mat_acc(out, v, A):
    for i in range(A.shape[0]):
        vi = v[i]
        for j in range(A.shape[1]):
            out[j] += vi * A[i, j]
