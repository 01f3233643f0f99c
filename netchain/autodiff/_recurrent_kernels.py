"""Per-time-step arithmetic of the fused recurrent primitives, as serial Numba loops.

The recurrent primitives in :mod:`netchain.autodiff.recurrent` run one loop over time steps in
Python; each step is one matrix product (NumPy, so OpenBLAS) and a few passes over the
(batch, units) cells. The hyperbolic tangents are NumPy's vectorised ``tanh`` (several times
faster than a scalar ``tanh`` in a Numba loop); the rest of a step (gate combinations, the
cell update, and the whole backward step, which needs no transcendental function) is fused
here into one pass, with the length mask folded in.

Layouts: ``A`` holds one step's gate block (N, k H) in the gate order of the primitive;
``m`` is the step's mask (uint8, 1 where the sequence is still running). Rows whose mask is 0
carry their state unchanged and pass their state gradient through.

The kernels are serial on purpose: a parallel Numba pool would fight OpenBLAS for the cores
(see PERFORMANCE.md). Each has a NumPy-expression twin in ``recurrent.py`` used on other
backends and in the tests.
"""

from __future__ import annotations

from numba import njit

# ----------------------------------------------------------------------------- LSTM (i, f, g, o)


@njit(cache=True)
def lstm_gates(A, c_prev, c, m, H):  # pragma: no cover - compiled
    """A holds tanh of the half-scaled sigmoid pre-activations and of the candidate's; turn the
    sigmoid blocks into sigmoids in place and compute the new cell state."""
    for n in range(A.shape[0]):
        if m[n]:
            for j in range(H):
                i = 0.5 + 0.5 * A[n, j]
                f = 0.5 + 0.5 * A[n, H + j]
                o = 0.5 + 0.5 * A[n, 3 * H + j]
                A[n, j] = i
                A[n, H + j] = f
                A[n, 3 * H + j] = o
                c[n, j] = f * c_prev[n, j] + i * A[n, 2 * H + j]
        else:
            for j in range(H):
                c[n, j] = c_prev[n, j]


@njit(cache=True)
def lstm_hidden(A, tc, h_prev, h, m, H):  # pragma: no cover - compiled
    """h = o * tanh(c) for running rows; the previous state for finished ones."""
    for n in range(A.shape[0]):
        if m[n]:
            for j in range(H):
                h[n, j] = A[n, 3 * H + j] * tc[n, j]
        else:
            for j in range(H):
                h[n, j] = h_prev[n, j]


@njit(cache=True)
def lstm_backward(A, tc, c_prev, dy, dh_rec, dh_pass, dc, m, H, has_dy):  # pragma: no cover
    """One step back: A (activations) becomes the gradient of the pre-activations; dc and
    dh_pass are updated in place (dh_pass keeps what passes around the step's weights)."""
    for n in range(A.shape[0]):
        if m[n]:
            for j in range(H):
                dh = dh_rec[n, j] + dh_pass[n, j]
                if has_dy:
                    dh += dy[n, j]
                i = A[n, j]
                f = A[n, H + j]
                g = A[n, 2 * H + j]
                o = A[n, 3 * H + j]
                t = tc[n, j]
                dcc = dc[n, j] + dh * o * (1.0 - t * t)
                A[n, j] = dcc * g * i * (1.0 - i)
                A[n, H + j] = dcc * c_prev[n, j] * f * (1.0 - f)
                A[n, 2 * H + j] = dcc * i * (1.0 - g * g)
                A[n, 3 * H + j] = dh * t * o * (1.0 - o)
                dc[n, j] = dcc * f
                dh_pass[n, j] = 0.0
        else:
            for j in range(H):
                dh_pass[n, j] = dh_rec[n, j] + dh_pass[n, j]
            for j in range(4 * H):
                A[n, j] = 0.0


# ----------------------------------------------------------------------------- GRU (r, z, n)


@njit(cache=True)
def gru_gates(A, gh, bhn, ghn, H):  # pragma: no cover - compiled
    """A[:, :2H] holds tanh of the half-scaled r, z pre-activations: make them sigmoids; then
    store ghn = W_hn h + b_hn and put the candidate's pre-activation x_n + r * ghn in A[:, 2H:]."""
    for n in range(A.shape[0]):
        for j in range(H):
            r = 0.5 + 0.5 * A[n, j]
            A[n, j] = r
            A[n, H + j] = 0.5 + 0.5 * A[n, H + j]
            s = gh[n, 2 * H + j] + bhn[j]
            ghn[n, j] = s
            A[n, 2 * H + j] = A[n, 2 * H + j] + r * s


@njit(cache=True)
def gru_hidden(A, h_prev, h, m, H):  # pragma: no cover - compiled
    """h = (1 - z) n + z h_prev for running rows; the previous state for finished ones."""
    for n in range(A.shape[0]):
        if m[n]:
            for j in range(H):
                nn = A[n, 2 * H + j]
                h[n, j] = nn + A[n, H + j] * (h_prev[n, j] - nn)
        else:
            for j in range(H):
                h[n, j] = h_prev[n, j]


@njit(cache=True)
def gru_backward(A, ghn, h_prev, dy, dh_rec, dh_pass, dG, m, H, has_dy):  # pragma: no cover
    """One step back: A (r, z, n) becomes the gradient of the input projection, dG the
    gradient of the state projection W_hh h + b_hh; dh_pass gets dh * z (what reaches h_prev
    directly)."""
    for n in range(A.shape[0]):
        if m[n]:
            for j in range(H):
                dh = dh_rec[n, j] + dh_pass[n, j]
                if has_dy:
                    dh += dy[n, j]
                r = A[n, j]
                z = A[n, H + j]
                nn = A[n, 2 * H + j]
                dan = dh * (1.0 - z) * (1.0 - nn * nn)
                dar = dan * ghn[n, j] * r * (1.0 - r)
                daz = dh * (h_prev[n, j] - nn) * z * (1.0 - z)
                A[n, j] = dar
                A[n, H + j] = daz
                A[n, 2 * H + j] = dan
                dG[n, j] = dar
                dG[n, H + j] = daz
                dG[n, 2 * H + j] = dan * r
                dh_pass[n, j] = dh * z
        else:
            for j in range(H):
                dh_pass[n, j] = dh_rec[n, j] + dh_pass[n, j]
            for j in range(3 * H):
                A[n, j] = 0.0
                dG[n, j] = 0.0


# ----------------------------------------------------------------------------- basic RNN


@njit(cache=True)
def rnn_carry(h_prev, h, m):  # pragma: no cover - compiled
    """Finished rows keep their previous state."""
    for n in range(h.shape[0]):
        if not m[n]:
            for j in range(h.shape[1]):
                h[n, j] = h_prev[n, j]


@njit(cache=True)
def rnn_backward(h, dy, dh_rec, dh_pass, dA, m, relu, has_dy):  # pragma: no cover - compiled
    """One step back through h = f(a): dA = dh f'(a) for running rows; finished rows pass
    their state gradient through."""
    for n in range(h.shape[0]):
        if m[n]:
            for j in range(h.shape[1]):
                dh = dh_rec[n, j] + dh_pass[n, j]
                if has_dy:
                    dh += dy[n, j]
                v = h[n, j]
                if relu:
                    dA[n, j] = dh if v > 0.0 else 0.0
                else:
                    dA[n, j] = dh * (1.0 - v * v)
                dh_pass[n, j] = 0.0
        else:
            for j in range(h.shape[1]):
                dh_pass[n, j] = dh_rec[n, j] + dh_pass[n, j]
                dA[n, j] = 0.0
