"""Primitives for neural networks: activations, the fused linear map, softmax and the losses.

Each keeps its forward and analytic backward together. The losses that start from logits
(softmax cross-entropy, binary cross-entropy) are fused so that they never form log(0) or
exp(large) and their gradients are the exact ``p - t``.

References
----------
Goodfellow, Bengio & Courville (2016), "Deep Learning", sections 6.2-6.3 (output units and
losses) and 6.5 (back-propagation); Clevert et al. (2016) for ELU; Klambauer et al. (2017) for
SELU; Hendrycks & Gimpel (2016) for GELU.
"""

from __future__ import annotations

import math
from typing import Any

from netchain import backend
from netchain.autodiff.ops import unbroadcast
from netchain.autodiff.tensor import Tensor, as_tensor, is_grad_enabled, make_result
from netchain.backend import special, xp

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "elu",
    "gelu",
    "linear",
    "log_softmax",
    "mean_absolute_error",
    "mean_squared_error",
    "relu",
    "selu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "softplus",
    "tanh",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


_scratch = backend.scratch


def _times(g: Any, *factors: Any) -> Any:
    """g * f1 * f2 ... (in that order), into a scratch-pool buffer."""
    shape = backend.broadcast_shapes(g.shape, *(f.shape for f in factors))
    out = xp.multiply(g, factors[0], out=_scratch.empty(shape, xp.result_type(g, factors[0])))
    for f in factors[1:]:
        out *= f
    return out


# ---------------------------------------------------------------------- activations


def relu(x: Any) -> Tensor:
    """Rectified linear unit max(x, 0) (Wolfram: ``Ramp``); gradient 0 at x <= 0."""
    x = as_tensor(x)
    X = x._data
    y = xp.maximum(X, 0, out=_scratch.empty(X.shape, xp.result_type(X, 0)))
    if not (x.requires_grad and is_grad_enabled()):
        return make_result(y, (x,), None, "relu")
    # kept for backward: a float-by-bool product is twice as fast as g * (y > 0)
    positive = xp.greater(y, 0, out=_scratch.empty(y.shape, bool))

    def backward(g: Any) -> tuple[Any]:
        return (_times(g, positive),)

    return make_result(y, (x,), backward, "relu")


def sigmoid(x: Any) -> Tensor:
    """Logistic sigmoid 1 / (1 + e^-x), without overflow for any x."""
    x = as_tensor(x)
    X = x._data
    y = special.expit(X, out=_scratch.empty(X.shape, xp.result_type(X, 0.0)))
    return make_result(y, (x,), lambda g: (_times(g, y, 1 - y),), "sigmoid")


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    x = as_tensor(x)
    X = x._data
    y = xp.tanh(X, out=_scratch.empty(X.shape, xp.result_type(X, 0.0)))
    return make_result(y, (x,), lambda g: (_times(g, 1 - y * y),), "tanh")


def softplus(x: Any) -> Tensor:
    """log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|)."""
    x = as_tensor(x)
    d = x._data
    y = xp.maximum(d, 0) + xp.log1p(xp.exp(-xp.abs(d)))
    return make_result(y, (x,), lambda g: (g * special.expit(d),), "softplus")


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: x for x > 0, alpha (e^x - 1) otherwise (Clevert et al., 2016)."""
    x = as_tensor(x)
    d = x._data
    neg = alpha * xp.expm1(xp.minimum(d, 0))
    y = xp.where(d > 0, d, neg)
    return make_result(y, (x,), lambda g: (g * xp.where(d > 0, 1, neg + alpha),), "elu")


def selu(x: Any) -> Tensor:
    """Scaled ELU with Klambauer et al.'s (2017) self-normalising constants."""
    x = as_tensor(x)
    d = x._data
    neg = SELU_ALPHA * xp.expm1(xp.minimum(d, 0))
    y = SELU_SCALE * xp.where(d > 0, d, neg)
    return make_result(
        y, (x,), lambda g: (g * (SELU_SCALE * xp.where(d > 0, 1, neg + SELU_ALPHA)),), "selu"
    )


def gelu(x: Any) -> Tensor:
    """Gaussian error linear unit x * Phi(x), with the exact normal CDF (Hendrycks & Gimpel)."""
    x = as_tensor(x)
    d = x._data
    cdf = 0.5 * (1 + special.erf(d * (1 / math.sqrt(2))))
    y = d * cdf

    def backward(g: Any) -> tuple[Any]:
        pdf = xp.exp(-0.5 * d * d) * (1 / math.sqrt(2 * math.pi))
        return (g * (cdf + d * pdf),)

    return make_result(y, (x,), backward, "gelu")


def softmax(x: Any, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, stable for any magnitude (the maximum is subtracted)."""
    x = as_tensor(x)
    d = x._data
    e = xp.exp(d - xp.max(d, axis=axis, keepdims=True))
    y = e / e.sum(axis=axis, keepdims=True)

    def backward(g: Any) -> tuple[Any]:
        gy = g * y
        return (gy - y * gy.sum(axis=axis, keepdims=True),)

    return make_result(y, (x,), backward, "softmax")


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``."""
    x = as_tensor(x)
    d = x._data
    shifted = d - xp.max(d, axis=axis, keepdims=True)
    y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g: Any) -> tuple[Any]:
        return (g - xp.exp(y) * g.sum(axis=axis, keepdims=True),)

    return make_result(y, (x,), backward, "log_softmax")


# ---------------------------------------------------------------------- linear map


def linear(x: Any, weights: Any, biases: Any = None) -> Tensor:
    """The fused affine map y = x W^T + b (one matrix product and one add).

    Parameters
    ----------
    x : Tensor of shape (..., m)
    weights : Tensor of shape (n, m)
    biases : Tensor of shape (n,), optional

    Returns
    -------
    Tensor of shape (..., n)
    """
    x, W = as_tensor(x), as_tensor(weights)
    b = None if biases is None else as_tensor(biases)
    X = x._data
    if X.shape[-1:] != W.shape[1:]:
        raise ValueError(f"linear: input of shape {X.shape} does not match weights {W.shape}")
    X2 = X.reshape(-1, X.shape[-1]) if X.ndim != 2 else X
    dtype = xp.result_type(X2, W._data)
    Y = xp.matmul(X2, W._data.T, out=_scratch.empty((X2.shape[0], W.shape[0]), dtype))
    if b is not None:
        Y += b._data
    if X.ndim != 2:
        Y = Y.reshape(*X.shape[:-1], W.shape[0])

    def backward(g: Any) -> tuple[Any, ...]:
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = gW = gb = None
        if x.requires_grad:
            out = _scratch.empty((g2.shape[0], W.shape[1]), xp.result_type(g2, W._data))
            gx = xp.matmul(g2, W._data, out=out).reshape(X.shape)
        if W.requires_grad:
            # one example: an outer product, which NumPy's matmul (inner size 1) does 5x slower
            gW = g2.T * X2 if g2.shape[0] == 1 else g2.T @ X2
        if b is not None and b.requires_grad:
            gb = g2.sum(axis=0)
        return (gx, gW) if b is None else (gx, gW, gb)

    parents = (x, W) if b is None else (x, W, b)
    return make_result(Y, parents, backward, "linear")


# ---------------------------------------------------------------------- losses


def _target_indices(target: Any, logits_shape: tuple[int, ...]) -> Any:
    t = target._data if isinstance(target, Tensor) else xp.asarray(target)
    if t.dtype.kind == "f":
        if not xp.all(t == xp.round(t)):
            raise ValueError("target: class indices must be whole numbers")
        t = t.astype(xp.intp)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target: class indices must be integers, got dtype {t.dtype}")
    if t.shape != logits_shape[:-1]:
        raise ValueError(
            f"target: expected class indices of shape {logits_shape[:-1]} for logits of shape "
            f"{logits_shape}, got {t.shape}"
        )
    if t is target or getattr(t, "base", None) is not None:
        t = t.copy()  # saved for the backward pass: a snapshot of the caller's array
    n = logits_shape[-1]
    if t.size and (t.min() < 0 or t.max() >= n):
        raise ValueError(
            f"target: class indices must lie in [0, {n - 1}], got {t.min()}..{t.max()}"
        )
    return t


def softmax_cross_entropy(logits: Any, target: Any) -> Tensor:
    """Mean cross-entropy of softmax(logits) against class indices or probabilities.

    Parameters
    ----------
    logits : Tensor of shape (..., C)
    target : array of shape (...) with integer class indices in [0, C), or of shape (..., C)
        with probabilities (each row summing to 1).

    Returns
    -------
    Tensor of shape (): the mean over all leading positions of -log softmax(logits)[target].

    Raises
    ------
    ValueError
        For indices out of range or a target of the wrong shape.
    """
    z = as_tensor(logits)
    Z = z._data
    C = Z.shape[-1]
    probs_target = isinstance(target, Tensor) and target.shape == Z.shape
    if not probs_target and not isinstance(target, Tensor):
        ta = xp.asarray(target)
        probs_target = ta.shape == Z.shape and ta.dtype.kind == "f" and C > 1
    shifted = Z - xp.max(Z, axis=-1, keepdims=True)
    ex = xp.exp(shifted)
    s = ex.sum(axis=-1, keepdims=True)
    log_s = xp.log(s)
    count = max(Z.size // C, 1)
    if probs_target:
        t = as_tensor(target, dtype=Z.dtype)
        T = t._data
        logp = shifted - log_s
        loss = xp.asarray(-(T * logp).sum() / count, dtype=Z.dtype)
        ex /= s

        def backward(g: Any) -> tuple[Any, Any]:
            gz = gt = None
            if z.requires_grad:
                gz = (ex * T.sum(axis=-1, keepdims=True) - T) * (g / count)
            if t.requires_grad:
                gt = -logp * (g / count)
            return gz, gt

        return make_result(loss, (z, t), backward, "softmax_cross_entropy")

    return softmax_cross_entropy_index(z, _target_indices(target, Z.shape), shifted, ex, s, log_s)


def softmax_cross_entropy_index(
    z: Tensor, idx: Any, shifted: Any = None, ex: Any = None, s: Any = None, log_s: Any = None
) -> Tensor:
    """Softmax cross-entropy from logits against class indices already validated
    (the training loop's fast path; see :func:`softmax_cross_entropy`)."""
    Z = z._data
    C = Z.shape[-1]
    count = max(Z.size // C, 1)
    if shifted is None:
        shifted = Z - xp.max(Z, axis=-1, keepdims=True)
        ex = xp.exp(shifted)
        s = ex.sum(axis=-1, keepdims=True)
        log_s = xp.log(s)
    flat_shift = shifted.reshape(-1, C)
    rows = xp.arange(flat_shift.shape[0])
    picked = flat_shift[rows, idx.reshape(-1)]
    loss = xp.asarray((log_s.reshape(-1) - picked).sum() / count, dtype=Z.dtype)
    ex /= s

    def backward_idx(g: Any) -> tuple[Any]:
        gz = ex.reshape(-1, C).copy()
        gz[rows, idx.reshape(-1)] -= 1
        gz *= g / count
        return (gz.reshape(Z.shape),)

    return make_result(loss, (z,), backward_idx, "softmax_cross_entropy")


def cross_entropy(probabilities: Any, target: Any) -> Tensor:
    """Mean cross-entropy of given probabilities (not logits) against indices or probabilities.

    ``-log p[target]`` (or ``-sum t log p``); a zero probability of the target class gives an
    infinite loss, and zero target mass never multiplies log(0).
    """
    p = as_tensor(probabilities)
    P = p._data
    C = P.shape[-1]
    count = max(P.size // C, 1)
    ta = target._data if isinstance(target, Tensor) else xp.asarray(target)
    if ta.shape == P.shape and ta.dtype.kind == "f":
        t = as_tensor(target, dtype=P.dtype)
        T = t._data
        with backend.errstate(divide="ignore"):
            logp = xp.log(P)
        loss = xp.asarray(-special.xlogy(T, P).sum() / count, dtype=P.dtype)

        def backward(g: Any) -> tuple[Any, Any]:
            gp = gt = None
            if p.requires_grad:
                with backend.errstate(divide="ignore", invalid="ignore"):
                    gp = xp.where(T == 0, 0, -T / P) * (g / count)
            if t.requires_grad:
                gt = -logp * (g / count)
            return gp, gt

        return make_result(loss, (p, t), backward, "cross_entropy")
    idx = _target_indices(target, P.shape).reshape(-1)
    flat = P.reshape(-1, C)
    rows = xp.arange(flat.shape[0])
    with backend.errstate(divide="ignore"):
        loss = xp.asarray(-xp.log(flat[rows, idx]).sum() / count, dtype=P.dtype)

    def backward_idx(g: Any) -> tuple[Any]:
        gp = xp.zeros_like(flat)
        with backend.errstate(divide="ignore"):
            gp[rows, idx] = -(g / count) / flat[rows, idx]
        return (gp.reshape(P.shape),)

    return make_result(loss, (p,), backward_idx, "cross_entropy")


def _with_target(prediction: Any, target: Any) -> tuple[Tensor, Tensor, Any, Any, int]:
    """A binary loss's prediction and target as Tensors (the target in the prediction's dtype),
    their arrays (the target's broadcast to the prediction's shape) and the number of terms
    the mean divides by (at least 1)."""
    z = as_tensor(prediction)
    t = as_tensor(target, dtype=z.dtype)
    Z, T = z._data, t._data
    if T.shape != Z.shape:
        T = xp.broadcast_to(T, Z.shape)
    return z, t, Z, T, max(Z.size, 1)


def binary_cross_entropy_with_logits(logits: Any, target: Any) -> Tensor:
    """Mean of -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)), from the logits z.

    Computed as max(z, 0) - z t + log1p(e^-|z|); its gradient is (sigmoid(z) - t) / n.
    """
    z, t, Z, T, n = _with_target(logits, target)
    # the same expression, evaluated in that order in two scratch buffers
    shape, dtype = backend.broadcast_shapes(Z.shape, T.shape), xp.result_type(Z, T)
    terms, soft = _scratch.empty(shape, dtype), _scratch.empty(shape, dtype)
    xp.maximum(Z, 0, out=terms)
    terms -= xp.multiply(Z, T, out=soft)
    xp.abs(Z, out=soft)
    xp.negative(soft, out=soft)
    xp.exp(soft, out=soft)
    xp.log1p(soft, out=soft)
    terms += soft
    loss = xp.asarray(terms.sum() / n, dtype=Z.dtype)
    del terms, soft

    def backward(g: Any) -> tuple[Any, Any]:
        gz = None
        if z.requires_grad:
            gz = special.expit(Z, out=_scratch.empty(Z.shape, xp.result_type(Z, 0.0)))
            gz -= T
            gz *= g / n
        gt = unbroadcast(-Z * (g / n), t.shape) if t.requires_grad else None
        return gz, gt

    return make_result(loss, (z, t), backward, "binary_cross_entropy_with_logits")


def binary_cross_entropy(probabilities: Any, target: Any) -> Tensor:
    """Mean of -t log p - (1 - t) log(1 - p) for probabilities p; 0 * log 0 counts as 0."""
    p, t, P, T, n = _with_target(probabilities, target)
    terms = special.xlogy(T, P) + special.xlogy(1 - T, 1 - P)
    loss = xp.asarray(-terms.sum() / n + 0.0, dtype=P.dtype)

    def backward(g: Any) -> tuple[Any, Any]:
        gp = gt = None
        if p.requires_grad:
            with backend.errstate(divide="ignore", invalid="ignore"):
                a = xp.where(T == 0, 0, T / P)
                b = xp.where(T == 1, 0, (1 - T) / (1 - P))
            gp = (b - a) * (g / n)
        if t.requires_grad:
            with backend.errstate(divide="ignore"):
                gt = unbroadcast((xp.log(1 - P) - xp.log(P)) * (g / n), t.shape)
        return gp, gt

    return make_result(loss, (p, t), backward, "binary_cross_entropy")


def _difference_loss(output: Any, target: Any, total: Any, slope: Any, op: str) -> Tensor:
    """Mean over all elements of a function of (output - target), given its total and slope."""
    y = as_tensor(output)
    t = as_tensor(target, dtype=y.dtype)
    diff = y._data - t._data
    n = max(diff.size, 1)
    loss = xp.asarray(total(diff) / n, dtype=y.dtype)

    def backward(g: Any) -> tuple[Any, Any]:
        d = slope(diff) * (g / n)
        gy = unbroadcast(d, y.shape) if y.requires_grad else None
        gt = unbroadcast(-d, t.shape) if t.requires_grad else None
        return gy, gt

    return make_result(loss, (y, t), backward, op)


def mean_squared_error(output: Any, target: Any) -> Tensor:
    """Mean over all elements of (output - target)^2."""
    return _difference_loss(
        output, target, lambda d: xp.vdot(d, d), lambda d: 2 * d, "mean_squared_error"
    )


def mean_absolute_error(output: Any, target: Any) -> Tensor:
    """Mean over all elements of |output - target|; gradient 0 where they are equal."""
    return _difference_loss(
        output, target, lambda d: xp.abs(d).sum(), xp.sign, "mean_absolute_error"
    )
