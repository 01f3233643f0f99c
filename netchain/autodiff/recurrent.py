"""Fused recurrent primitives: a whole sequence through an LSTM, a GRU or a basic RNN.

Each function is one primitive of the tape: its forward runs every time step, its backward runs
back-propagation through time, and neither leaves per-step nodes on the tape. The forward
computes the input projection of all steps in one matrix product, then one product per step
for the recurrent part, with the gate arithmetic fused (see ``_recurrent_kernels``); the
backward accumulates the per-step pre-activation gradients and forms the weight gradients with
one matrix product each at the end.

Sequences are batch first, ``x`` of shape (N, T, F). Variable lengths: ``lengths`` (N,) says
how many leading steps of each sequence are real; the rest is padding. A finished sequence
keeps its state (so the final state is the state after its last real step), its outputs at
padded steps are 0, and nothing flows back from them: every result equals running that
sequence alone.

Gate order and parameters are PyTorch's (``torch.nn.LSTM`` / ``GRU`` / ``RNN``), so its
weights can be used as they are:

- LSTM, gates (i, f, g, o) stacked in rows of ``input_weights`` (4H, F) and ``state_weights``
  (4H, H); one ``biases`` (4H,) (PyTorch's ``bias_ih + bias_hh``)::

      i = s(W_i x + U_i h + b_i)   f = s(W_f x + U_f h + b_f)   g = tanh(W_g x + U_g h + b_g)
      o = s(W_o x + U_o h + b_o)   c' = f c + i g               h' = o tanh(c')

- GRU, gates (r, z, n) in rows of (3H, F) and (3H, H), with ``input_biases`` and
  ``state_biases`` kept apart because the reset gate multiplies the state part of n::

      r = s(W_r x + b_ir + U_r h + b_hr)   z = s(W_z x + b_iz + U_z h + b_hz)
      n = tanh(W_n x + b_in + r (U_n h + b_hn))   h' = (1 - z) n + z h

- basic RNN: h' = f(W x + U h + b) with f = tanh or the ramp (ReLU).

Sigmoids are computed as s(a) = (1 + tanh(a / 2)) / 2 with the halving folded into copies of
the weights, so that one vectorised tanh serves all gates of a step.

References
----------
Hochreiter & Schmidhuber (1997), "Long short-term memory"; Gers, Schmidhuber & Cummins (2000)
(the forget gate); Cho et al. (2014) (the GRU); Werbos (1990), "Backpropagation through time:
what it does and how to do it"; Goodfellow, Bengio & Courville (2016), "Deep Learning", ch. 10.
"""

from __future__ import annotations

from typing import Any

from netchain import backend
from netchain.autodiff.tensor import Tensor, as_tensor, make_result
from netchain.backend import xp

__all__ = ["gru", "lstm", "rnn", "sequence_mask"]

_KERNELS = backend.NumbaKernels("netchain.autodiff._recurrent_kernels")


def _kernels() -> Any:
    """The Numba kernels on the NumPy backend, or False (array expressions) elsewhere."""
    return _KERNELS.get()


_scratch = backend.scratch


def use_kernels(flag: bool) -> None:
    """Switch the Numba kernels on or off (off: NumPy expressions; for tests)."""
    _KERNELS.use(flag)


# ----------------------------------------------------------------------------- shared parts


def _as_float(t: Tensor, dtype: Any) -> Any:
    d = t._data
    return d if d.dtype == dtype else d.astype(dtype)


def sequence_mask(lengths: Any, n: int, steps: int) -> tuple[Any, Any, int]:
    """Validate sequence lengths and build the per-step masks.

    Parameters
    ----------
    lengths : array_like of int, shape (n,), or None
        The number of real steps of each sequence (0..steps).
    n, steps : int
        Batch size and padded length.

    Returns
    -------
    lengths : ndarray of int64 or None
    masks : ndarray of uint8, shape (steps, n)
        1 where step t of sequence k is real.
    full : int
        The number of leading steps at which every sequence is real.

    Raises
    ------
    ValueError
        For lengths of the wrong shape, non-integers, or values outside [0, steps].
    """
    if lengths is None:
        return None, xp.ones((steps, n), dtype=xp.uint8), steps
    L = xp.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if L.shape != (n,):
        raise ValueError(f"lengths: expected one length per sequence, shape ({n},), got {L.shape}")
    if L.dtype.kind == "f":
        if not bool(xp.all(L == xp.round(L))):
            raise ValueError("lengths must be whole numbers")
    elif L.dtype.kind not in "iu":
        raise ValueError(f"lengths must be integers, got dtype {L.dtype}")
    L = L.astype(xp.int64)
    if n and (int(L.min()) < 0 or int(L.max()) > steps):
        raise ValueError(
            f"lengths must lie in [0, {steps}] (the padded length), got {int(L.min())}..{int(L.max())}"
        )
    masks = (xp.arange(steps)[:, None] < L[None, :]).astype(xp.uint8)
    full = int(L.min()) if n else steps
    return L, masks, full


def _check(
    name: str, x: Tensor, Wi: Tensor, Wh: Tensor, gates: int
) -> tuple[int, int, int, int, Any]:
    X = x._data
    if X.ndim != 3:
        raise ValueError(
            f"{name}: input must be a batch of sequences of shape (N, T, F), got shape {X.shape}"
        )
    N, T, F = X.shape
    if T < 1:
        raise ValueError(f"{name}: sequences need at least one step, got T = 0")
    if Wh.ndim != 2 or Wh.shape[0] != gates * Wh.shape[1]:
        raise ValueError(
            f"{name}: state weights must have shape ({gates} H, H), got {Wh._data.shape}"
        )
    H = Wh.shape[1]
    if Wi.shape != (gates * H, F):
        raise ValueError(
            f"{name}: input weights must have shape ({gates * H}, {F}) for {H} units and {F} "
            f"input features, got {Wi._data.shape}"
        )
    dtype = xp.result_type(X.dtype, Wi._data.dtype, Wh._data.dtype)
    if dtype.kind != "f":
        dtype = backend.default_float()
    return N, T, F, H, dtype


def _vector(name: str, b: Any, size: int) -> Tensor | None:
    if b is None:
        return None
    b = as_tensor(b)
    if b.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {b._data.shape}")
    return b


def _state(name: str, s: Any, N: int, H: int) -> Tensor | None:
    if s is None:
        return None
    s = as_tensor(s)
    if s.shape != (N, H):
        raise ValueError(f"{name} must have shape (N, H) = ({N}, {H}), got {s._data.shape}")
    return s


def _zero_grad(shape: tuple[int, ...], dtype: Any) -> Any:
    """A read-only zero gradient that costs no memory (recognised by :func:`_is_zero`)."""
    return xp.broadcast_to(xp.zeros((), dtype=dtype), shape)


def _is_zero(g: Any) -> bool:
    return g.ndim > 0 and not any(g.strides) and not bool(g.reshape(-1)[0])


def _results(
    main: Any, extras: list[Any], parents: tuple[Tensor, ...], backward_all: Any, op: str
) -> tuple[Tensor, ...]:
    """Record one primitive with several results.

    The first result carries the backward; the others are recorded as children of it whose
    backward stores their incoming gradient for it (and hands it a free zero), so one call of
    ``backward_all(g_main, *g_extras)`` (each None when that result was not used) computes
    every parent's gradient.
    """
    stash: list[Any] = [None] * len(extras)

    def backward_main(g: Any) -> tuple[Any, ...]:
        return backward_all(None if _is_zero(g) else g, *stash)

    first = make_result(main, parents, backward_main, op)
    outs = [first]
    for k, data in enumerate(extras):

        def backward_extra(g: Any, k: int = k) -> tuple[Any]:
            stash[k] = g
            return (_zero_grad(main.shape, main.dtype),)

        outs.append(make_result(data, (first,), backward_extra, f"{op}[{k + 2}]"))
    return tuple(outs)


def _time_major(X: Any, dtype: Any) -> Any:
    """(N, T, F) -> a (T, N, F) scratch copy in ``dtype``."""
    out = _scratch.empty((X.shape[1], X.shape[0], X.shape[2]), dtype)
    out[...] = X.transpose(1, 0, 2)
    return out


def _batch_major(Y: Any) -> Any:
    """(T, N, H) -> a (N, T, H) copy in a scratch-pool buffer."""
    out = _scratch.empty((Y.shape[1], Y.shape[0], Y.shape[2]), Y.dtype)
    out[...] = Y.transpose(1, 0, 2)
    return out


def _step_mask(masks: Any, full: int, t: int, ones: Any) -> Any:
    return ones if t < full else masks[t]


# ----------------------------------------------------------------------------- NumPy twins


def _lstm_gates_xp(A: Any, c_prev: Any, c: Any, m: Any, H: int, one: Any) -> None:
    A[:, : 2 * H] *= 0.5
    A[:, : 2 * H] += 0.5
    A[:, 3 * H :] *= 0.5
    A[:, 3 * H :] += 0.5
    new = A[:, H : 2 * H] * c_prev + A[:, :H] * A[:, 2 * H : 3 * H]
    c[...] = xp.where(m[:, None].astype(bool), new, c_prev)


def _lstm_hidden_xp(A: Any, tc: Any, h_prev: Any, h: Any, m: Any, H: int) -> None:
    h[...] = xp.where(m[:, None].astype(bool), A[:, 3 * H :] * tc, h_prev)


def _lstm_backward_xp(
    A: Any, tc: Any, c_prev: Any, dy: Any, dh_rec: Any, dh_pass: Any, dc: Any, m: Any, H: int,
    has_dy: bool, one: Any,
) -> None:  # fmt: skip
    on = m[:, None].astype(bool)
    dh = dh_rec + dh_pass + (dy if has_dy else 0)
    i, f, g, o = A[:, :H], A[:, H : 2 * H], A[:, 2 * H : 3 * H], A[:, 3 * H :]
    dcc = dc + dh * o * (1 - tc * tc)
    grads = xp.concatenate(
        [
            dcc * g * i * (1 - i),
            dcc * c_prev * f * (1 - f),
            dcc * i * (1 - g * g),
            dh * tc * o * (1 - o),
        ],
        axis=1,
    )
    dc[...] = xp.where(on, dcc * f, dc)
    dh_pass[...] = xp.where(on, 0, dh_rec + dh_pass)
    A[...] = xp.where(on, grads, 0)


def _gru_gates_xp(A: Any, gh: Any, bhn: Any, ghn: Any, H: int, one: Any) -> None:
    A[:, : 2 * H] *= 0.5
    A[:, : 2 * H] += 0.5
    ghn[...] = gh[:, 2 * H :] + bhn
    A[:, 2 * H :] += A[:, :H] * ghn


def _gru_hidden_xp(A: Any, h_prev: Any, h: Any, m: Any, H: int) -> None:
    n = A[:, 2 * H :]
    h[...] = xp.where(m[:, None].astype(bool), n + A[:, H : 2 * H] * (h_prev - n), h_prev)


def _gru_backward_xp(
    A: Any, ghn: Any, h_prev: Any, dy: Any, dh_rec: Any, dh_pass: Any, dG: Any, m: Any, H: int,
    has_dy: bool, one: Any,
) -> None:  # fmt: skip
    on = m[:, None].astype(bool)
    dh = dh_rec + dh_pass + (dy if has_dy else 0)
    r, z, n = A[:, :H], A[:, H : 2 * H], A[:, 2 * H :]
    dan = dh * (1 - z) * (1 - n * n)
    dar = dan * ghn * r * (1 - r)
    daz = dh * (h_prev - n) * z * (1 - z)
    dG[...] = xp.where(on, xp.concatenate([dar, daz, dan * r], axis=1), 0)
    dh_pass[...] = xp.where(on, dh * z, dh_rec + dh_pass)
    A[...] = xp.where(on, xp.concatenate([dar, daz, dan], axis=1), 0)


def _rnn_carry_xp(h_prev: Any, h: Any, m: Any) -> None:
    h[...] = xp.where(m[:, None].astype(bool), h, h_prev)


def _rnn_backward_xp(
    h: Any, dy: Any, dh_rec: Any, dh_pass: Any, dA: Any, m: Any, relu: bool, has_dy: bool, one: Any
) -> None:
    on = m[:, None].astype(bool)
    dh = dh_rec + dh_pass + (dy if has_dy else 0)
    d = dh * (h > 0) if relu else dh * (1 - h * h)
    dA[...] = xp.where(on, d, 0)
    dh_pass[...] = xp.where(on, 0, dh_rec + dh_pass)


class _Ops:
    """The per-step functions: Numba kernels or their NumPy twins."""

    def __init__(self) -> None:
        k = _kernels()
        if k:
            self.lstm_gates, self.lstm_hidden, self.lstm_backward = (
                k.lstm_gates,
                k.lstm_hidden,
                k.lstm_backward,
            )
            self.gru_gates, self.gru_hidden, self.gru_backward = (
                k.gru_gates,
                k.gru_hidden,
                k.gru_backward,
            )
            self.rnn_carry, self.rnn_backward = k.rnn_carry, k.rnn_backward
        else:
            self.lstm_gates, self.lstm_hidden, self.lstm_backward = (
                _lstm_gates_xp,
                _lstm_hidden_xp,
                _lstm_backward_xp,
            )
            self.gru_gates, self.gru_hidden, self.gru_backward = (
                _gru_gates_xp,
                _gru_hidden_xp,
                _gru_backward_xp,
            )
            self.rnn_carry, self.rnn_backward = _rnn_carry_xp, _rnn_backward_xp


def _initial(s: Tensor | None, out: Any, dtype: Any) -> None:
    if s is None:
        out[...] = 0
    else:
        out[...] = _as_float(s, dtype)


def _input_projection(
    x: Tensor, Wi: Tensor, Wh: Tensor, dtype: Any, G: int, scale: Any = None, bias: Any = None
) -> tuple[Any, Any, Any, Any, Any]:
    """The input part of every step's pre-activations, in one matrix product.

    Returns the weights as ``dtype`` arrays, the time-major inputs ``Xt2`` (T N, F) and the
    pre-activations ``A`` (T, N, G) with their (T N, G) view ``A2``; ``scale`` (G,), when
    given, multiplies the rows of the input weights (the sigmoid gates' halving). A ``bias``
    (G,) rides in the product: ``Xt2`` gets a column of ones (T N, F + 1) and the weights the
    bias as a last column, so that no pass over ``A`` adds it and the bias gradient comes out
    of the input-weight gradient's product (see :func:`_weight_grads`).
    """
    N, T, F = x.shape
    Wi_d, Wh_d = _as_float(Wi, dtype), _as_float(Wh, dtype)
    k = F if bias is None else F + 1
    Xt = _scratch.empty((T, N, k), dtype)
    Xt[:, :, :F] = x._data.transpose(1, 0, 2)
    W = Wi_d
    if bias is not None:
        Xt[:, :, F] = 1
        W = xp.concatenate([Wi_d, bias[:, None]], axis=1)
    if scale is not None:
        W = W * scale[:, None]
    Xt2 = Xt.reshape(T * N, k)
    A = _scratch.empty((T, N, G), dtype)
    A2 = A.reshape(T * N, G)
    xp.matmul(Xt2, W.T, out=A2)
    return Wi_d, Wh_d, Xt2, A, A2


def _forward_results(Hs: Any, masks: Any, full: int) -> tuple[Any, Any]:
    """The batch-major outputs (0 at padded steps) and a copy of the last state from the
    states ``Hs`` (T + 1, N, H)."""
    T = Hs.shape[0] - 1
    Y = Hs[1:]
    if full < T:
        Y = Y * masks[:, :, None]
    return _batch_major(Y), Hs[T].copy()


def _parents(*tensors: Tensor | None) -> tuple[Tensor, ...]:
    """The tape parents of a primitive: the given tensors less the omitted (None) ones."""
    return tuple(t for t in tensors if t is not None)


def _backward_start(gY: Any, ghT: Any, N: int, H: int, dtype: Any) -> tuple[bool, Any, Any, Any]:
    """``has_dy``, the time-major output gradient (or None), and the recurrent and passed-on
    state gradients to start back-propagation through time with."""
    has_dy = gY is not None
    dY = _time_major(gY, dtype) if has_dy else None
    dh_rec = xp.zeros((N, H), dtype=dtype)
    dh_pass = xp.zeros((N, H), dtype=dtype) if ghT is None else xp.array(ghT, dtype=dtype)
    return has_dy, dY, dh_rec, dh_pass


def _weight_grads(
    dA2: Any, dS2: Any, Xt2: Any, Hs: Any, x: Tensor, Wi: Tensor, Wh: Tensor, b: Tensor | None
) -> list[Any]:
    """Gradients of the input, the input weights, the state weights and the bias folded into
    the input projection ``b`` (None where not needed or absent), from the pre-activation
    gradients of the input part ``dA2`` (T N, G) and of the state part ``dS2`` (T N, G).
    With a bias, ``Xt2`` has its column of ones (see :func:`_input_projection`) and one
    product gives both the input-weight and the bias gradient."""
    N, T, F = x.shape
    H = Hs.shape[2]
    gx = gWi = gb = None
    if x.requires_grad:
        gx = _batch_major((dA2 @ _as_float(Wi, dA2.dtype)).reshape(T, N, F))
    want_b = b is not None and b.requires_grad
    if Wi.requires_grad or want_b:
        g = dA2.T @ Xt2
        gWi = xp.ascontiguousarray(g[:, :F]) if Wi.requires_grad else None
        gb = xp.ascontiguousarray(g[:, F]) if want_b else None
    gWh = dS2.T @ Hs[:T].reshape(T * N, H) if Wh.requires_grad else None
    return [gx, gWi, gWh, gb]


def _state_gradient(dA: Any, WhT: Any, buf: Any, out: Any) -> None:
    """``out`` (N, H) = ``dA`` (N, G) @ W_h, computed as W_h^T (H, G) @ dA^T: BLAS splits
    the H rows of that product over its threads, where it would not split N (28 instead of
    38 us at 2 threads for N = 32, H = 128, measured); ``buf`` (H, N) holds the product."""
    xp.matmul(WhT, dA.T, out=buf)
    xp.copyto(out, buf.T)


# ----------------------------------------------------------------------------- LSTM


def lstm(
    x: Any,
    input_weights: Any,
    state_weights: Any,
    biases: Any = None,
    state: Any = None,
    cell_state: Any = None,
    lengths: Any = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """A batch of sequences through a long short-term memory layer (one fused primitive).

    Parameters
    ----------
    x : Tensor of shape (N, T, F)
    input_weights : Tensor of shape (4H, F)
        Rows in PyTorch's gate order: input gate i, forget gate f, candidate g, output gate o.
    state_weights : Tensor of shape (4H, H)
    biases : Tensor of shape (4H,), optional
        One bias per gate unit (PyTorch's ``bias_ih + bias_hh``); zero when omitted.
    state, cell_state : Tensor of shape (N, H), optional
        Initial hidden and cell states (zero when omitted).
    lengths : array of int of shape (N,), optional
        Real lengths of padded sequences (see the module notes).

    Returns
    -------
    outputs : Tensor of shape (N, T, H)
        The hidden state after every step (0 at padded steps).
    state, cell_state : Tensor of shape (N, H)
        The states after each sequence's last real step.

    Raises
    ------
    ValueError
        For inconsistent shapes or invalid lengths.
    """
    x, Wi, Wh = as_tensor(x), as_tensor(input_weights), as_tensor(state_weights)
    N, T, F, H, dtype = _check("lstm", x, Wi, Wh, 4)
    b = _vector("lstm biases", biases, 4 * H)
    h0 = _state("lstm state", state, N, H)
    c0 = _state("lstm cell state", cell_state, N, H)
    _, masks, full = sequence_mask(lengths, N, T)
    ops = _Ops()
    one = dtype.type(1)
    G = 4 * H
    # halve the sigmoid gates' rows: s(a) = (1 + tanh(a / 2)) / 2
    scale = xp.ones(G, dtype=dtype)
    scale[: 2 * H] = 0.5
    scale[3 * H :] = 0.5
    b_d = None if b is None else _as_float(b, dtype)
    Wi_d, Wh_d, Xt2, A, A2 = _input_projection(x, Wi, Wh, dtype, G, scale, b_d)
    WhT = xp.ascontiguousarray((Wh_d * scale[:, None]).T)
    Hs = _scratch.empty((T + 1, N, H), dtype)
    Cs = _scratch.empty((T + 1, N, H), dtype)
    _initial(h0, Hs[0], dtype)
    _initial(c0, Cs[0], dtype)
    TC = _scratch.empty((T, N, H), dtype)
    tmp = xp.empty((N, G), dtype=dtype)
    ones = xp.ones(N, dtype=xp.uint8)
    for t in range(T):
        At = A[t]
        m = _step_mask(masks, full, t, ones)
        xp.matmul(Hs[t], WhT, out=tmp)
        xp.add(At, tmp, out=At)
        xp.tanh(At, out=At)
        ops.lstm_gates(At, Cs[t], Cs[t + 1], m, H, one)
        xp.tanh(Cs[t + 1], out=TC[t])
        ops.lstm_hidden(At, TC[t], Hs[t], Hs[t + 1], m, H)
    out, hT = _forward_results(Hs, masks, full)
    cT = Cs[T].copy()
    parents = _parents(x, Wi, Wh, b, h0, c0)

    def backward_all(gY: Any, ghT: Any, gcT: Any) -> tuple[Any, ...]:
        has_dy, dY, dh_rec, dh_pass = _backward_start(gY, ghT, N, H, dtype)
        dc = xp.zeros((N, H), dtype=dtype) if gcT is None else xp.array(gcT, dtype=dtype)
        WhD, buf = xp.ascontiguousarray(Wh_d.T), xp.empty((H, N), dtype=dtype)
        for t in range(T - 1, -1, -1):
            m = _step_mask(masks, full, t, ones)
            ops.lstm_backward(
                A[t], TC[t], Cs[t], dY[t] if has_dy else dh_rec, dh_rec, dh_pass, dc, m, H,
                has_dy, one,
            )  # fmt: skip
            _state_gradient(A[t], WhD, buf, dh_rec)
        *grads, gb = _weight_grads(A2, A2, Xt2, Hs, x, Wi, Wh, b)
        if b is not None:
            grads.append(gb)
        if h0 is not None:
            grads.append(dh_rec + dh_pass)
        if c0 is not None:
            grads.append(dc)
        return tuple(grads)

    return _results(out, [hT, cT], parents, backward_all, "lstm")  # type: ignore[return-value]


# ----------------------------------------------------------------------------- GRU


def gru(
    x: Any,
    input_weights: Any,
    state_weights: Any,
    input_biases: Any = None,
    state_biases: Any = None,
    state: Any = None,
    lengths: Any = None,
) -> tuple[Tensor, Tensor]:
    """A batch of sequences through a gated recurrent unit layer (one fused primitive).

    Parameters
    ----------
    x : Tensor of shape (N, T, F)
    input_weights : Tensor of shape (3H, F)
        Rows in PyTorch's gate order: reset gate r, update gate z, candidate n.
    state_weights : Tensor of shape (3H, H)
    input_biases, state_biases : Tensor of shape (3H,), optional
        PyTorch's ``bias_ih`` and ``bias_hh`` (zero when omitted).
    state : Tensor of shape (N, H), optional
        The initial state (zero when omitted).
    lengths : array of int of shape (N,), optional
        Real lengths of padded sequences.

    Returns
    -------
    outputs : Tensor of shape (N, T, H)
    state : Tensor of shape (N, H)
        The state after each sequence's last real step.

    Raises
    ------
    ValueError
        For inconsistent shapes or invalid lengths.
    """
    x, Wi, Wh = as_tensor(x), as_tensor(input_weights), as_tensor(state_weights)
    N, T, F, H, dtype = _check("gru", x, Wi, Wh, 3)
    bi = _vector("gru input biases", input_biases, 3 * H)
    bh = _vector("gru state biases", state_biases, 3 * H)
    h0 = _state("gru state", state, N, H)
    _, masks, full = sequence_mask(lengths, N, T)
    ops = _Ops()
    one = dtype.type(1)
    G = 3 * H
    scale = xp.ones(G, dtype=dtype)
    scale[: 2 * H] = 0.5
    # the input biases and the state biases of r and z ride in the input projection; the
    # state bias of n stays apart (r multiplies it)
    bias = xp.zeros(G, dtype=dtype)
    if bi is not None:
        bias += _as_float(bi, dtype)
    bhn = xp.zeros(H, dtype=dtype)
    if bh is not None:
        bh_d = _as_float(bh, dtype)
        bias[: 2 * H] += bh_d[: 2 * H]
        bhn = bh_d[2 * H :]
    folded = None if bi is None and bh is None else bias
    Wi_d, Wh_d, Xt2, A, A2 = _input_projection(x, Wi, Wh, dtype, G, scale, folded)
    WhT = xp.ascontiguousarray((Wh_d * scale[:, None]).T)
    Hs = _scratch.empty((T + 1, N, H), dtype)
    _initial(h0, Hs[0], dtype)
    GHN = _scratch.empty((T, N, H), dtype)
    gh = xp.empty((N, G), dtype=dtype)
    ones = xp.ones(N, dtype=xp.uint8)
    for t in range(T):
        At = A[t]
        m = _step_mask(masks, full, t, ones)
        xp.matmul(Hs[t], WhT, out=gh)
        rz = At[:, : 2 * H]
        xp.add(rz, gh[:, : 2 * H], out=rz)
        xp.tanh(rz, out=rz)
        ops.gru_gates(At, gh, bhn, GHN[t], H, one)
        cand = At[:, 2 * H :]
        xp.tanh(cand, out=cand)
        ops.gru_hidden(At, Hs[t], Hs[t + 1], m, H)
    out, hT = _forward_results(Hs, masks, full)
    parents = _parents(x, Wi, Wh, bi, bh, h0)

    def backward_all(gY: Any, ghT: Any) -> tuple[Any, ...]:
        has_dy, dY, dh_rec, dh_pass = _backward_start(gY, ghT, N, H, dtype)
        DG = _scratch.empty((T, N, G), dtype)
        WhD, buf = xp.ascontiguousarray(Wh_d.T), xp.empty((H, N), dtype=dtype)
        for t in range(T - 1, -1, -1):
            m = _step_mask(masks, full, t, ones)
            ops.gru_backward(
                A[t], GHN[t], Hs[t], dY[t] if has_dy else dh_rec, dh_rec, dh_pass, DG[t], m, H,
                has_dy, one,
            )  # fmt: skip
            _state_gradient(DG[t], WhD, buf, dh_rec)
        DG2 = DG.reshape(T * N, G)
        *grads, gbi = _weight_grads(A2, DG2, Xt2, Hs, x, Wi, Wh, bi)
        if bi is not None:
            grads.append(gbi)
        if bh is not None:
            grads.append(DG2.sum(axis=0) if bh.requires_grad else None)
        if h0 is not None:
            grads.append(dh_rec + dh_pass)
        return tuple(grads)

    return _results(out, [hT], parents, backward_all, "gru")  # type: ignore[return-value]


# ----------------------------------------------------------------------------- basic RNN


def rnn(
    x: Any,
    input_weights: Any,
    state_weights: Any,
    biases: Any = None,
    state: Any = None,
    lengths: Any = None,
    activation: str = "Tanh",
) -> tuple[Tensor, Tensor]:
    """A batch of sequences through a basic (Elman) recurrent layer h' = f(W x + U h + b).

    Parameters
    ----------
    x : Tensor of shape (N, T, F)
    input_weights : Tensor of shape (H, F)
    state_weights : Tensor of shape (H, H)
    biases : Tensor of shape (H,), optional
        PyTorch's ``bias_ih + bias_hh`` (zero when omitted).
    state : Tensor of shape (N, H), optional
        The initial state (zero when omitted).
    lengths : array of int of shape (N,), optional
    activation : {"Tanh", "Ramp"}, default "Tanh"
        f: the hyperbolic tangent or the ramp max(a, 0) (PyTorch's ``nonlinearity="relu"``).

    Returns
    -------
    outputs : Tensor of shape (N, T, H)
    state : Tensor of shape (N, H)

    Raises
    ------
    ValueError
        For inconsistent shapes, invalid lengths or an unknown activation.
    """
    if activation not in ("Tanh", "Ramp"):
        raise ValueError(f"rnn: activation must be 'Tanh' or 'Ramp', got {activation!r}")
    relu = activation == "Ramp"
    x, Wi, Wh = as_tensor(x), as_tensor(input_weights), as_tensor(state_weights)
    N, T, F, H, dtype = _check("rnn", x, Wi, Wh, 1)
    b = _vector("rnn biases", biases, H)
    h0 = _state("rnn state", state, N, H)
    _, masks, full = sequence_mask(lengths, N, T)
    ops = _Ops()
    one = dtype.type(1)
    b_d = None if b is None else _as_float(b, dtype)
    Wi_d, Wh_d, Xt2, XW, _ = _input_projection(x, Wi, Wh, dtype, H, None, b_d)
    WhT = xp.ascontiguousarray(Wh_d.T)
    Hs = _scratch.empty((T + 1, N, H), dtype)
    _initial(h0, Hs[0], dtype)
    tmp = xp.empty((N, H), dtype=dtype)
    for t in range(T):
        ht = Hs[t + 1]
        xp.matmul(Hs[t], WhT, out=tmp)
        xp.add(XW[t], tmp, out=ht)
        if relu:
            xp.maximum(ht, 0, out=ht)
        else:
            xp.tanh(ht, out=ht)
        if t >= full:
            ops.rnn_carry(Hs[t], ht, masks[t])
    out, hT = _forward_results(Hs, masks, full)
    parents = _parents(x, Wi, Wh, b, h0)
    ones = xp.ones(N, dtype=xp.uint8)

    def backward_all(gY: Any, ghT: Any) -> tuple[Any, ...]:
        has_dy, dY, dh_rec, dh_pass = _backward_start(gY, ghT, N, H, dtype)
        dA = XW  # reused: the pre-activations are no longer needed
        WhD, buf = xp.ascontiguousarray(Wh_d.T), xp.empty((H, N), dtype=dtype)
        for t in range(T - 1, -1, -1):
            m = _step_mask(masks, full, t, ones)
            ops.rnn_backward(
                Hs[t + 1], dY[t] if has_dy else dh_rec, dh_rec, dh_pass, dA[t], m, relu, has_dy,
                one,
            )  # fmt: skip
            _state_gradient(dA[t], WhD, buf, dh_rec)
        dA2 = dA.reshape(T * N, H)
        *grads, gb = _weight_grads(dA2, dA2, Xt2, Hs, x, Wi, Wh, b)
        if b is not None:
            grads.append(gb)
        if h0 is not None:
            grads.append(dh_rec + dh_pass)
        return tuple(grads)

    return _results(out, [hT], parents, backward_all, "rnn")  # type: ignore[return-value]
