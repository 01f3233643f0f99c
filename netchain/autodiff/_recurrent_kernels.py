"""Per-time-step arithmetic of the fused recurrent primitives, as serial Numba loops.

The recurrent primitives in :mod:`netchain.autodiff.recurrent` run one loop over time steps in
Python; each step is one matrix product (NumPy, so OpenBLAS) and a few passes over the
(batch, units) cells. The hyperbolic tangents are NumPy's vectorised ``tanh`` (several times
faster than a scalar ``tanh`` in a Numba loop); the rest of a step (gate combinations, the
cell update, and the whole backward step, which needs no transcendental function) is fused
here into one pass, with the length mask folded in.

Layouts: ``A`` holds one step's gate block (N, k H) in the gate order of the primitive;
``m`` is the step's mask (uint8, 1 where the sequence is still running); ``one`` is 1 in the
arrays' dtype, so that float32 arithmetic stays in float32 (a float64 literal would widen every
operation and halve the vector width). Rows whose mask is 0
carry their state unchanged and pass their state gradient through.

The kernels are serial on purpose: a parallel Numba pool would fight OpenBLAS for the cores
(see PERFORMANCE.md). Each has a NumPy-expression twin in ``recurrent.py`` used on other
backends and in the tests.
"""

from __future__ import annotations

from numba import njit

# ----------------------------------------------------------------------------- LSTM (i, f, g, o)


@njit(cache=True)
def lstm_gates(A, c_prev, c, m, H, one):  # pragma: no cover - compiled
    """A holds tanh of the half-scaled sigmoid pre-activations and of the candidate's; turn the
    sigmoid blocks into sigmoids in place and compute the new cell state. (Each loop touches
    few arrays, through 1-D views of one row, so that LLVM vectorises it.)"""
    half = one / (one + one)
    for n in range(A.shape[0]):
        if m[n]:
            a = A[n]
            for j in range(2 * H):
                a[j] = half + half * a[j]
            for j in range(3 * H, 4 * H):
                a[j] = half + half * a[j]
            ai, af, ag = a[:H], a[H : 2 * H], a[2 * H : 3 * H]
            cp, cn = c_prev[n], c[n]
            for j in range(H):
                cn[j] = af[j] * cp[j] + ai[j] * ag[j]
        else:
            cp, cn = c_prev[n], c[n]
            for j in range(H):
                cn[j] = cp[j]


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
def lstm_backward(A, tc, c_prev, dy, dh_rec, dh_pass, dc, m, H, has_dy, one):  # pragma: no cover
    """One step back: A (activations) becomes the gradient of the pre-activations; dc and
    dh_pass are updated in place (dh_pass keeps what passes around the step's weights). The
    row's dh is gathered in dh_pass and its dc in dc before the gates are overwritten, in
    loops over 1-D row views that LLVM vectorises."""
    for n in range(A.shape[0]):
        a, dp, dr = A[n], dh_pass[n], dh_rec[n]
        if m[n]:
            if has_dy:
                d = dy[n]
                for j in range(H):
                    dp[j] = dr[j] + dp[j] + d[j]
            else:
                for j in range(H):
                    dp[j] = dr[j] + dp[j]
            ai, af, ag, ao = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            t, cp, dcn = tc[n], c_prev[n], dc[n]
            for j in range(H):
                o, tj, dh = ao[j], t[j], dp[j]
                dcn[j] = dcn[j] + dh * o * (one - tj * tj)
                ao[j] = dh * tj * o * (one - o)
            for j in range(H):
                dcc, i, f, g = dcn[j], ai[j], af[j], ag[j]
                ai[j] = dcc * g * i * (one - i)
                af[j] = dcc * cp[j] * f * (one - f)
                ag[j] = dcc * i * (one - g * g)
                dcn[j] = dcc * f
            for j in range(H):
                dp[j] = 0
        else:
            for j in range(H):
                dp[j] = dr[j] + dp[j]
            for j in range(4 * H):
                a[j] = 0


# ----------------------------------------------------------------------------- GRU (r, z, n)


@njit(cache=True)
def gru_gates(A, gh, bhn, ghn, H, one):  # pragma: no cover - compiled
    """A[:, :2H] holds tanh of the half-scaled r, z pre-activations: make them sigmoids; then
    store ghn = W_hn h + b_hn and put the candidate's pre-activation x_n + r * ghn in A[:, 2H:]."""
    half = one / (one + one)
    for n in range(A.shape[0]):
        a = A[n]
        for j in range(H):
            r = half + half * a[j]
            a[j] = r
            a[H + j] = half + half * a[H + j]
            s = gh[n, 2 * H + j] + bhn[j]
            ghn[n, j] = s
            a[2 * H + j] = a[2 * H + j] + r * s


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
def gru_backward(A, ghn, h_prev, dy, dh_rec, dh_pass, dG, m, H, has_dy, one):  # pragma: no cover
    """One step back: A (r, z, n) becomes the gradient of the input projection, dG the
    gradient of the state projection W_hh h + b_hh; dh_pass gets dh * z (what reaches h_prev
    directly)."""
    for n in range(A.shape[0]):
        if m[n]:
            a = A[n]
            d = dG[n]
            for j in range(H):
                dh = dh_rec[n, j] + dh_pass[n, j]
                if has_dy:
                    dh += dy[n, j]
                r = a[j]
                z = a[H + j]
                nn = a[2 * H + j]
                dan = dh * (one - z) * (one - nn * nn)
                dar = dan * ghn[n, j] * r * (one - r)
                daz = dh * (h_prev[n, j] - nn) * z * (one - z)
                a[j] = dar
                a[H + j] = daz
                a[2 * H + j] = dan
                d[j] = dar
                d[H + j] = daz
                d[2 * H + j] = dan * r
                dh_pass[n, j] = dh * z
        else:
            for j in range(H):
                dh_pass[n, j] = dh_rec[n, j] + dh_pass[n, j]
            for j in range(3 * H):
                A[n, j] = 0
                dG[n, j] = 0


# ----------------------------------------------------------------------------- basic RNN


@njit(cache=True)
def rnn_carry(h_prev, h, m):  # pragma: no cover - compiled
    """Finished rows keep their previous state."""
    for n in range(h.shape[0]):
        if not m[n]:
            for j in range(h.shape[1]):
                h[n, j] = h_prev[n, j]


@njit(cache=True)
def rnn_backward(h, dy, dh_rec, dh_pass, dA, m, relu, has_dy, one):  # pragma: no cover
    """One step back through h = f(a): dA = dh f'(a) for running rows; finished rows pass
    their state gradient through."""
    zero = one - one
    for n in range(h.shape[0]):
        if m[n]:
            for j in range(h.shape[1]):
                dh = dh_rec[n, j] + dh_pass[n, j]
                if has_dy:
                    dh += dy[n, j]
                v = h[n, j]
                if relu:
                    dA[n, j] = dh if v > zero else zero
                else:
                    dA[n, j] = dh * (one - v * v)
                dh_pass[n, j] = zero
        else:
            for j in range(h.shape[1]):
                dh_pass[n, j] = dh_rec[n, j] + dh_pass[n, j]
                dA[n, j] = zero
