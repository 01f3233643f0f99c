"""Fused recurrent primitives over space: the convolutional LSTM (a sequence of images) and the
multi-dimensional LSTM (an image scanned as a two-dimensional sequence).

``conv_lstm`` (Shi et al., 2015) is an LSTM whose states are images and whose matrix products
are convolutions: for a sequence of frames x_t of shape (C, *S),

    [i, f, g, o] = [s, s, tanh, s](W_x * x_t + W_h * h_{t-1} + b)
    c_t = f c_{t-1} + i g        h_t = o tanh(c_t)

with ``*`` a convolution padded to keep the spatial size ("Same"), so h_t and c_t have the
shape (n, *S). The gate order and the per-gate weight blocks are those of the
:func:`~netchain.autodiff.lstm` primitive. The peephole terms of Shi et al. (W_c . c inside the
gates) are left out, as in most later uses of the layer (Keras's ConvLSTM2D among them).
The whole sequence is one node of the tape: the input convolutions of all steps are one
convolution of the N T frames; each step adds one convolution of the state; the gate
arithmetic is that of the LSTM's fused kernels (a step's gate block, read example by example,
has the layout (4, n, *S), the LSTM's (4, H) with H = n prod(S)). The backward pass runs back
through time with one transposed convolution per step for the state gradient, then forms the
weight gradients as correlations of all steps at once (in chunks that bound the column
buffer) and the input gradient as one transposed convolution.

``md_lstm`` (Graves, Fernandez & Schmidhuber, 2007) runs a two-dimensional LSTM over an image
from up to four corners; see its docstring.

References
----------
Shi, Chen, Wang, Yeung, Wong & Woo (2015), "Convolutional LSTM network: a machine learning
approach for precipitation nowcasting", NIPS; Graves, Fernandez & Schmidhuber (2007),
"Multi-dimensional recurrent neural networks", ICANN; Graves & Schmidhuber (2009), "Offline
handwriting recognition with multidimensional recurrent neural networks", NIPS.
"""

from __future__ import annotations

import math
from typing import Any

from netchain import backend
from netchain.autodiff.conv import (
    MAX_COLUMNS,
    _Grid,
    convolution,
    deconvolution,
    normalize_padding,
)
from netchain.autodiff.recurrent import (
    _as_float,
    _initial,
    _Ops,
    _results,
    sequence_mask,
)
from netchain.autodiff.tensor import Tensor, as_tensor, constant, make_result, no_grad
from netchain.backend import xp

__all__ = ["conv_lstm", "md_lstm"]


# ----------------------------------------------------------------------------- helpers


def _same_padding(S: tuple[int, ...], kernel: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    ones = (1,) * len(S)
    return normalize_padding("Same", len(S), spatial=S, span=kernel, stride=ones)


def _conv(x: Any, w: Any, pads: Any, b: Any = None) -> Any:
    """Forward convolution of raw arrays (stride 1), no recording."""
    with no_grad():
        bias = None if b is None else constant(b)
        return convolution(constant(x), constant(w), bias, padding=pads)._data


def _conv_transposed(g: Any, w: Any, pads: Any, chunk: int) -> Any:
    """The input gradient of a stride-1 convolution: the transposed convolution of the
    output gradient g (M, G, *S) by the same weights (G, C, *k), ``chunk`` examples at a time."""
    with no_grad():
        wt = constant(w)
        parts = [
            deconvolution(constant(g[s : s + chunk]), wt, padding=pads)._data
            for s in range(0, len(g), chunk)
        ]
    return parts[0] if len(parts) == 1 else xp.concatenate(parts)


def _conv_weight_grad(x: Any, g: Any, kernel: tuple[int, ...], pads: Any, out: Any = None) -> Any:
    """The weight gradient of a stride-1 convolution with input x (M, C, *S) and output
    gradient g (M, G, *S): sum over examples and positions of g times the input windows,
    shape (G, C, *kernel), in chunks of examples that bound the column buffer; added into
    ``out`` when given."""
    M, C, *S = x.shape
    G = g.shape[1]
    S = tuple(S)
    d = len(S)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(S, pads))
    K = C * math.prod(kernel)
    chunk = max(1, MAX_COLUMNS // (K * math.prod(S)))
    acc = xp.zeros((K, G), dtype=g.dtype)
    for s in range(0, M, chunk):
        xs, gs = x[s : s + chunk], g[s : s + chunk]
        grid = _Grid(S, padded, kernel, (1,) * d, (1,) * d, pads, False)
        cols = grid.im2col(xs)  # (C, k.., m, S..)
        rows = grid.rows(gs)  # (m P, G)
        acc += cols.reshape(K, -1) @ rows
    gw = xp.ascontiguousarray(acc.T).reshape(G, C, *kernel)
    if out is None:
        return gw
    out += gw
    return out


# ----------------------------------------------------------------------------- ConvLSTM


def conv_lstm(
    x: Any,
    input_weights: Any,
    state_weights: Any,
    biases: Any = None,
    state: Any = None,
    cell_state: Any = None,
    lengths: Any = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """A batch of image sequences through a convolutional LSTM (one fused primitive).

    Parameters
    ----------
    x : Tensor of shape (N, T, C, S_1, ..., S_d), d in {1, 2, 3}
        Frames of C channels.
    input_weights : Tensor of shape (4n, C, k_1, ..., k_d)
        Kernels of the input convolution, gate blocks in the order input i, forget f,
        candidate g, output o (as :func:`~netchain.autodiff.lstm`).
    state_weights : Tensor of shape (4n, n, k_1, ..., k_d)
        Kernels of the state convolution (the same kernel size).
    biases : Tensor of shape (4n,), optional
        One per gate channel (zero when omitted).
    state, cell_state : Tensor of shape (N, n, S_1, ..., S_d), optional
        Initial states (zero when omitted).
    lengths : array of int of shape (N,), optional
        Real lengths of padded sequences: a finished sequence keeps its states, its outputs
        are 0 at padded steps and nothing flows back from them.

    Returns
    -------
    outputs : Tensor of shape (N, T, n, S_1, ..., S_d)
        h_t for every step.
    state, cell_state : Tensor of shape (N, n, S_1, ..., S_d)
        The states after each sequence's last real step.

    Notes
    -----
    Both convolutions are padded to keep the size ("Same": (k - 1) / 2 on each side for odd
    k; for even k the extra element goes at the end), with stride 1.

    Raises
    ------
    ValueError
        For shapes that do not fit or invalid lengths.
    """
    x, Wx, Wh = as_tensor(x), as_tensor(input_weights), as_tensor(state_weights)
    X = x._data
    if X.ndim < 4 or X.ndim > 6:
        raise ValueError(
            "conv_lstm: input must be a batch of frame sequences (N, T, C, S_1, ..., S_d) with "
            f"1 to 3 spatial dimensions, got shape {X.shape}"
        )
    N, T, C, *S = X.shape
    S = tuple(S)
    d = len(S)
    if T < 1:
        raise ValueError("conv_lstm: sequences need at least one step, got T = 0")
    if Wh.ndim != d + 2 or Wh.shape[0] != 4 * Wh.shape[1]:
        raise ValueError(
            f"conv_lstm: state weights must have shape (4 n, n, {', '.join(['k'] * d)}), got "
            f"{Wh.shape}"
        )
    n = Wh.shape[1]
    kernel = tuple(Wh.shape[2:])
    G = 4 * n
    if Wx.shape != (G, C, *kernel):
        raise ValueError(
            f"conv_lstm: input weights must have shape {(G, C, *kernel)} for {n} channels, "
            f"{C} input channels and kernel {kernel}, got {Wx.shape}"
        )
    b = None
    if biases is not None:
        b = as_tensor(biases)
        if b.shape != (G,):
            raise ValueError(f"conv_lstm: biases must have shape ({G},), got {b.shape}")
    states = []
    for name, s in (("state", state), ("cell_state", cell_state)):
        if s is None:
            states.append(None)
            continue
        s = as_tensor(s)
        if s.shape != (N, n, *S):
            raise ValueError(f"conv_lstm: {name} must have shape {(N, n, *S)}, got {s.shape}")
        states.append(s)
    h0, c0 = states
    _, masks, full = sequence_mask(lengths, N, T)
    dtype = xp.result_type(X.dtype, Wx._data.dtype, Wh._data.dtype)
    if dtype.kind != "f":
        dtype = backend.default_float()
    pads = _same_padding(S, kernel)
    P = math.prod(S)
    nP = n * P
    ops = _Ops()
    one = dtype.type(1)
    # halve the sigmoid gates' rows: s(a) = (1 + tanh(a / 2)) / 2
    scale = xp.ones(G, dtype=dtype)
    scale[: 2 * n] = 0.5
    scale[3 * n :] = 0.5
    bshape = (G, *(1,) * (d + 1))
    Wx_d, Wh_d = _as_float(Wx, dtype), _as_float(Wh, dtype)
    Xt = xp.ascontiguousarray(X.swapaxes(0, 1), dtype=dtype).reshape(T * N, C, *S)
    bias = None if b is None else _as_float(b, dtype) * scale
    A = _conv(Xt, Wx_d * scale.reshape(bshape), pads, bias).reshape(T, N, G * P)
    WhS = xp.ascontiguousarray(Wh_d * scale.reshape(bshape))
    Hs = xp.empty((T + 1, N, n, *S), dtype=dtype)
    Cs = xp.empty((T + 1, N, nP), dtype=dtype)
    _initial(h0, Hs[0], dtype)
    _initial(c0, Cs[0].reshape(N, n, *S), dtype)
    Hf = Hs.reshape(T + 1, N, nP)
    TC = xp.empty((T, N, nP), dtype=dtype)
    ones = xp.ones(N, dtype=xp.uint8)
    for t in range(T):
        At = A[t]
        m = ones if t < full else masks[t]
        if t > 0 or h0 is not None:
            At += _conv(Hs[t], WhS, pads).reshape(N, G * P)
        xp.tanh(At, out=At)
        ops.lstm_gates(At, Cs[t], Cs[t + 1], m, nP, one)
        xp.tanh(Cs[t + 1], out=TC[t])
        ops.lstm_hidden(At, TC[t], Hf[t], Hf[t + 1], m, nP)
    Y = Hs[1:]
    if full < T:
        Y = Y * masks.reshape(T, N, *(1,) * (d + 1))
    out = xp.ascontiguousarray(Y.swapaxes(0, 1))
    hT = Hs[T].copy()
    cT = Cs[T].reshape(N, n, *S).copy()
    parents: tuple[Tensor, ...] = (x, Wx, Wh)
    for extra in (b, h0, c0):
        if extra is not None:
            parents += (extra,)
    # examples per transposed-convolution call: bound its column buffer
    chunk = max(1, MAX_COLUMNS // (n * math.prod(kernel) * P))

    def backward_all(gY: Any, ghT: Any, gcT: Any) -> tuple[Any, ...]:
        has_dy = gY is not None
        dY = None
        if has_dy:
            dY = xp.ascontiguousarray(gY.swapaxes(0, 1), dtype=dtype).reshape(T, N, nP)
        dh_rec = xp.zeros((N, nP), dtype=dtype)
        dh_pass = xp.zeros((N, nP), dtype=dtype)
        if ghT is not None:
            dh_pass[...] = ghT.reshape(N, nP)
        dc = xp.zeros((N, nP), dtype=dtype)
        if gcT is not None:
            dc[...] = gcT.reshape(N, nP)
        for t in range(T - 1, -1, -1):
            m = ones if t < full else masks[t]
            ops.lstm_backward(
                A[t], TC[t], Cs[t], dY[t] if has_dy else dh_rec, dh_rec, dh_pass, dc, m, nP,
                has_dy, one,
            )  # fmt: skip
            if t > 0 or h0 is not None:
                dA = A[t].reshape(N, G, *S)
                dh_rec = _conv_transposed(dA, Wh_d, pads, chunk).reshape(N, nP)
            else:
                dh_rec = xp.zeros((N, nP), dtype=dtype)
        dA_all = A.reshape(T * N, G, *S)  # the pre-activation gradients of every step
        grads: list[Any] = [None, None, None]
        if x.requires_grad:
            gx = _conv_transposed(
                dA_all, Wx_d, pads, max(1, MAX_COLUMNS // (C * math.prod(kernel) * P))
            )
            grads[0] = xp.ascontiguousarray(gx.reshape(T, N, C, *S).swapaxes(0, 1))
        if Wx.requires_grad:
            grads[1] = _conv_weight_grad(Xt, dA_all, kernel, pads)
        if Wh.requires_grad:
            first = 0 if h0 is not None else 1
            grads[2] = _conv_weight_grad(
                Hs[first:T].reshape((T - first) * N, n, *S),
                A[first:].reshape((T - first) * N, G, *S),
                kernel,
                pads,
            ) if T > first else xp.zeros(Wh_d.shape, dtype=dtype)  # fmt: skip
        if b is not None:
            grads.append(A.reshape(T * N, G, P).sum(axis=(0, 2)) if b.requires_grad else None)
        if h0 is not None:
            grads.append((dh_rec + dh_pass).reshape(N, n, *S))
        if c0 is not None:
            grads.append(dc.reshape(N, n, *S))
        return tuple(grads)

    return _results(out, [hT, cT], parents, backward_all, "conv_lstm")  # type: ignore[return-value]


# ----------------------------------------------------------------------------- MD-LSTM

#: The corners the scans start from, by the number of directions.
CORNERS = {
    1: ("TopLeft",),
    2: ("TopLeft", "BottomRight"),
    4: ("TopLeft", "TopRight", "BottomLeft", "BottomRight"),
}


def _flip(a: Any, corner: str, hw: tuple[int, int]) -> Any:
    """View of ``a`` with the two axes ``hw`` reversed so that ``corner`` becomes the top left
    (its own inverse)."""
    index: list[Any] = [slice(None)] * a.ndim
    if corner in ("TopRight", "BottomRight"):
        index[hw[1]] = slice(None, None, -1)
    if corner in ("BottomLeft", "BottomRight"):
        index[hw[0]] = slice(None, None, -1)
    return a[tuple(index)]


class _Wavefront:
    """The anti-diagonals of an H x W grid: cells (i, j) in the order of s = i + j, then i.

    ``order`` holds the flat index i W + j of each cell in that order; diagonal s has the
    cells ``start[s]:start[s + 1]``, rows i from ``lo[s]`` to ``hi[s]``. For a cell (i, j) of
    diagonal s, its neighbour above (i - 1, j) and on the left (i, j - 1) both lie on diagonal
    s - 1, at positions (i - 1 - lo[s-1]) and (i - lo[s-1]) of it: the cells of a diagonal
    that have a neighbour above form one contiguous run, as do those with a neighbour on the
    left, and so do their neighbours. :meth:`links` gives these runs.
    """

    def __init__(self, H: int, W: int) -> None:
        self.H, self.W = H, W
        self.diagonals = H + W - 1
        self.lo = [max(0, s - W + 1) for s in range(self.diagonals)]
        self.hi = [min(s, H - 1) for s in range(self.diagonals)]
        sizes = [h - lo + 1 for lo, h in zip(self.lo, self.hi)]
        self.start = [0]
        for k in sizes:
            self.start.append(self.start[-1] + k)
        rows = [i for s in range(self.diagonals) for i in range(self.lo[s], self.hi[s] + 1)]
        cols = [s - i for s in range(self.diagonals) for i in range(self.lo[s], self.hi[s] + 1)]
        self.order = xp.asarray([i * W + j for i, j in zip(rows, cols)], dtype=xp.int64)
        self.inverse = xp.argsort(self.order)

    def cells(self, s: int) -> slice:
        return slice(self.start[s], self.start[s + 1])

    def links(self, s: int) -> tuple[slice, slice, slice, slice]:
        """For diagonal s >= 1: (cells with a neighbour above, those neighbours, cells with a
        neighbour on the left, those neighbours), as slices of positions within the
        diagonals s and s - 1."""
        lo, hi, plo, phi = self.lo[s], self.hi[s], self.lo[s - 1], self.hi[s - 1]
        first_up = max(lo, 1)
        up = slice(first_up - lo, hi - lo + 1)
        up_src = slice(first_up - 1 - plo, hi - plo)
        last_left = min(hi, phi)
        left = slice(0, last_left - lo + 1)
        left_src = slice(lo - plo, last_left - plo + 1)
        return up, up_src, left, left_src


def md_lstm(x: Any, input_weights: Any, state_weights: Any, biases: Any = None) -> Tensor:
    """A two-dimensional LSTM over a batch of images, scanned from one, two or four corners
    (one fused primitive).

    Scanning from the top-left corner, the cell at row i and column j sees its input x_ij and
    the states of its neighbours above, (i - 1, j), and on the left, (i, j - 1) (zero outside
    the image), with a forget gate for each (Graves, Fernandez & Schmidhuber, 2007)::

        [i, f_up, f_left, g, o] = [s, s, s, tanh, s](W x_ij + U_up h_{i-1,j} + U_left h_{i,j-1} + b)
        c_ij = f_up c_{i-1,j} + f_left c_{i,j-1} + i g        h_ij = o tanh(c_ij)

    The other corners are the same scan of the flipped image, with their own weights, flipped
    back. The cells of one anti-diagonal (i + j = s) depend only on the diagonal before, so
    the scan is a wavefront: one step per diagonal (H + W - 1 of them), each step vectorised
    over the diagonal's cells, the examples and the directions (one batched matrix product
    for the states and elementwise array operations).

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W)
    input_weights : Tensor of shape (D, 5n, C)
        W for each of the D directions, gate blocks in the order i, f_up, f_left, g, o.
    state_weights : Tensor of shape (D, 5n, 2n)
        [U_up, U_left] side by side for each direction.
    biases : Tensor of shape (D, 5n), optional
    D = 1, 2 or 4 directions: the scans start at the corners ("TopLeft",), ("TopLeft",
    "BottomRight") or ("TopLeft", "TopRight", "BottomLeft", "BottomRight") (:data:`CORNERS`).

    Returns
    -------
    Tensor of shape (N, D n, H, W)
        The hidden states, direction by direction (channels d n to (d + 1) n from the d-th
        corner).

    Raises
    ------
    ValueError
        For shapes that do not fit or a number of directions other than 1, 2 or 4.
    """
    x, Wi, Wh = as_tensor(x), as_tensor(input_weights), as_tensor(state_weights)
    X = x._data
    if X.ndim != 4:
        raise ValueError(f"md_lstm: input must be a batch of images (N, C, H, W), got {X.shape}")
    N, C, H, W = X.shape
    if Wh.ndim != 3 or Wh.shape[1] * 2 != Wh.shape[2] * 5 or Wh.shape[2] % 2:
        raise ValueError(f"md_lstm: state weights must have shape (D, 5n, 2n), got {Wh.shape}")
    D, G, _ = Wh.shape
    n = G // 5
    if D not in CORNERS:
        raise ValueError(f"md_lstm: 1, 2 or 4 directions, got {D} (state weights {Wh.shape})")
    if Wi.shape != (D, G, C):
        raise ValueError(
            f"md_lstm: input weights must have shape {(D, G, C)} for {C} input channels, got "
            f"{Wi.shape}"
        )
    b = None
    if biases is not None:
        b = as_tensor(biases)
        if b.shape != (D, G):
            raise ValueError(f"md_lstm: biases must have shape {(D, G)}, got {b.shape}")
    dtype = xp.result_type(X.dtype, Wi._data.dtype, Wh._data.dtype)
    if dtype.kind != "f":
        dtype = backend.default_float()
    corners = CORNERS[D]
    wave = _Wavefront(H, W)
    P = H * W
    half = dtype.type(0.5)
    # the sigmoid gates' rows halved: s(a) = (1 + tanh(a / 2)) / 2
    scale = xp.full(G, 0.5, dtype=dtype)
    scale[3 * n : 4 * n] = 1.0
    Wi_d, Wh_d = _as_float(Wi, dtype), _as_float(Wh, dtype)
    # inputs of every direction, cells in wavefront order: (D, P, N, C)
    Xhw = X.astype(dtype, copy=False).transpose(2, 3, 0, 1)  # (H, W, N, C)
    Xd = xp.stack([_flip(Xhw, c, (0, 1)).reshape(P, N, C) for c in corners])[:, wave.order]
    A = xp.matmul(Xd.reshape(D, P * N, C), (Wi_d * scale[:, None]).swapaxes(1, 2))
    A = A.reshape(D, P, N, G)
    if b is not None:
        A += (_as_float(b, dtype) * scale)[:, None, None, :]
    UT = xp.ascontiguousarray((Wh_d * scale[:, None]).swapaxes(1, 2))  # (D, 2n, G)
    UT2 = xp.concatenate([UT[:, :n], UT[:, n:]], axis=2)  # (D, n, 2G): [up | left] products
    Hd = xp.empty((D, P, N, n), dtype=dtype)
    Cd = xp.empty((D, P, N, n), dtype=dtype)
    TC = xp.empty((D, P, N, n), dtype=dtype)
    for s in range(wave.diagonals):
        cur = wave.cells(s)
        a = A[:, cur]  # (D, L, N, G), a view
        if s > 0:
            prev = wave.cells(s - 1)
            up, up_src, left, left_src = wave.links(s)
            hp = Hd[:, prev]
            Q = xp.matmul(hp.reshape(D, -1, n), UT2).reshape(D, hp.shape[1], N, 2 * G)
            a[:, up] += Q[:, up_src, :, :G]
            a[:, left] += Q[:, left_src, :, G:]
        xp.tanh(a, out=a)
        sig = a[..., : 3 * n]
        sig *= half
        sig += half
        o = a[..., 4 * n :]
        o *= half
        o += half
        c = Cd[:, cur]
        xp.multiply(a[..., :n], a[..., 3 * n : 4 * n], out=c)
        if s > 0:
            cp = Cd[:, prev]
            c[:, up] += a[:, up, :, n : 2 * n] * cp[:, up_src]
            c[:, left] += a[:, left, :, 2 * n : 3 * n] * cp[:, left_src]
        tc = TC[:, cur]
        xp.tanh(c, out=tc)
        xp.multiply(o, tc, out=Hd[:, cur])
    # back to images: (D, P, N, n) -> (N, D n, H, W)
    Himg = Hd[:, wave.inverse].reshape(D, H, W, N, n)
    out = xp.empty((N, D, n, H, W), dtype=dtype)
    for k, corner in enumerate(corners):
        out[:, k] = _flip(Himg[k], corner, (0, 1)).transpose(2, 3, 0, 1)
    out = out.reshape(N, D * n, H, W)
    parents: tuple[Tensor, ...] = (x, Wi, Wh) if b is None else (x, Wi, Wh, b)

    def backward(gy: Any) -> tuple[Any, ...]:
        g5 = gy.reshape(N, D, n, H, W).astype(dtype, copy=False)
        dH = xp.stack(
            [
                _flip(g5[:, k].transpose(2, 3, 0, 1), corner, (0, 1)).reshape(P, N, n)
                for k, corner in enumerate(corners)
            ]
        )[:, wave.order]  # (D, P, N, n)
        dC = xp.zeros((D, P, N, n), dtype=dtype)
        gWh = xp.zeros((D, G, 2 * n), dtype=dtype) if Wh.requires_grad else None
        one = dtype.type(1)
        for s in range(wave.diagonals - 1, -1, -1):
            cur = wave.cells(s)
            a = A[:, cur]  # activations, overwritten below by the pre-activation gradients
            i, f_up, f_left = a[..., :n], a[..., n : 2 * n], a[..., 2 * n : 3 * n]
            g, o = a[..., 3 * n : 4 * n], a[..., 4 * n :]
            tc = TC[:, cur]
            dh = dH[:, cur]
            dc = dC[:, cur] + dh * o * (one - tc * tc)
            da = xp.empty_like(a)
            da[..., 4 * n :] = dh * tc * o * (one - o)
            da[..., :n] = dc * g * i * (one - i)
            da[..., 3 * n : 4 * n] = dc * i * (one - g * g)
            da[..., n : 3 * n] = 0
            if s > 0:
                prev = wave.cells(s - 1)
                up, up_src, left, left_src = wave.links(s)
                cp = Cd[:, prev]
                fu, fl = f_up[:, up], f_left[:, left]
                da[:, up, :, n : 2 * n] = dc[:, up] * cp[:, up_src] * fu * (one - fu)
                da[:, left, :, 2 * n : 3 * n] = dc[:, left] * cp[:, left_src] * fl * (one - fl)
                dCp = dC[:, prev]
                dCp[:, up_src] += dc[:, up] * fu
                dCp[:, left_src] += dc[:, left] * fl
                R = xp.matmul(da.reshape(D, -1, G), Wh_d).reshape(*da.shape[:3], 2 * n)
                dHp = dH[:, prev]
                dHp[:, up_src] += R[:, up, :, :n]
                dHp[:, left_src] += R[:, left, :, n:]
                if gWh is not None:
                    hp = Hd[:, prev]
                    gWh[:, :, :n] += xp.matmul(
                        da[:, up].reshape(D, -1, G).swapaxes(1, 2), hp[:, up_src].reshape(D, -1, n)
                    )
                    gWh[:, :, n:] += xp.matmul(
                        da[:, left].reshape(D, -1, G).swapaxes(1, 2),
                        hp[:, left_src].reshape(D, -1, n),
                    )
            a[...] = da
        dA = A.reshape(D, P * N, G)  # the pre-activation gradients of every cell
        grads: list[Any] = [None, None, gWh]
        if x.requires_grad:
            dXd = xp.matmul(dA, Wi_d).reshape(D, P, N, C)[:, wave.inverse]
            dXd = dXd.reshape(D, H, W, N, C)
            gx = xp.zeros((H, W, N, C), dtype=dtype)
            for k, corner in enumerate(corners):
                gx += _flip(dXd[k], corner, (0, 1))
            grads[0] = xp.ascontiguousarray(gx.transpose(2, 3, 0, 1))
        if Wi.requires_grad:
            grads[1] = xp.matmul(dA.swapaxes(1, 2), Xd.reshape(D, P * N, C))
        if b is not None:
            grads.append(dA.sum(axis=1) if b.requires_grad else None)
        return tuple(grads)

    return make_result(out, parents, backward, "md_lstm")
