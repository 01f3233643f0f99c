"""Fused optimiser updates as serial Numba loops: one pass over each parameter.

As NumPy expressions an Adam step reads and writes the parameter, gradient and both moments
about ten times; fused it touches each element once, which is what lets a NumPy training step
beat PyTorch's (see PERFORMANCE.md). The loops are serial on purpose: a parallel Numba pool
would fight OpenBLAS's threads for the cores.

Each kernel also copies the parameter into ``backup`` before changing it, for NetTrain's
roll-back after a non-finite loss. ``error_model="numpy"`` lets a division by zero give inf
(as NumPy does) instead of raising, which is what allows LLVM to vectorise the loops (a
Python-style ZeroDivisionError check in the loop body keeps them scalar, 2-3x slower). Scalars arrive in the parameter's dtype (see
:func:`netchain.train.optimizers`), so a float32 net is updated in float32 arithmetic, as
PyTorch does, which halves the cost of the square root and the division.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def _grad(w, g, l2, clip, scale):  # pragma: no cover
    gi = g * scale + l2 * w
    if clip > 0:
        if gi > clip:
            gi = clip
        elif gi < -clip:
            gi = -clip
    return gi


@njit(cache=True, error_model="numpy")
def adam(
    w, g, m, v, backup, step, inv_sqrt_bc2, b1, c1, b2, c2, eps, l2, clip, scale
):  # pragma: no cover
    """w -= step * m / (sqrt(v) * inv_sqrt_bc2 + eps), with m = b1 m + c1 g and
    v = b2 v + c2 g^2 (c1 = 1 - b1, c2 = 1 - b2)."""
    for i in range(w.size):
        wi = w[i]
        backup[i] = wi
        gi = _grad(wi, g[i], l2, clip, scale)
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * gi * gi
        m[i] = mi
        v[i] = vi
        w[i] = wi - step * mi / (np.sqrt(vi) * inv_sqrt_bc2 + eps)


@njit(cache=True, error_model="numpy")
def sgd(w, g, vel, backup, lr, momentum, l2, clip, scale):  # pragma: no cover
    """vel = momentum * vel + g; w -= lr * vel."""
    for i in range(w.size):
        wi = w[i]
        backup[i] = wi
        vi = momentum * vel[i] + _grad(wi, g[i], l2, clip, scale)
        vel[i] = vi
        w[i] = wi - lr * vi


@njit(cache=True, error_model="numpy")
def rmsprop(w, g, sq, backup, lr, beta, c, eps, l2, clip, scale):  # pragma: no cover
    """sq = beta * sq + c g^2 (c = 1 - beta); w -= lr * g / (sqrt(sq) + eps)."""
    for i in range(w.size):
        wi = w[i]
        backup[i] = wi
        gi = _grad(wi, g[i], l2, clip, scale)
        si = beta * sq[i] + c * gi * gi
        sq[i] = si
        w[i] = wi - lr * gi / (np.sqrt(si) + eps)
