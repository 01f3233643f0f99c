"""Optimisers: ADAM, SGD with momentum, RMSProp, with L2 regularisation and gradient clipping.

Each update is one fused pass over a parameter's elements (a serial Numba loop on the NumPy
backend, so that it shares the two cores with OpenBLAS rather than fighting it), which also
copies the values before the update so that a step whose loss turns out non-finite can be
undone. On other backends the same update runs as array expressions.

References
----------
Kingma & Ba (2015), "Adam: A method for stochastic optimization" (ADAM); Polyak (1964) and
Sutskever et al. (2013) for momentum; Tieleman & Hinton (2012), lecture 6.5 (RMSProp).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from netchain import backend
from netchain.autodiff import Tensor
from netchain.backend import xp

__all__ = ["ADAM", "SGD", "RMSProp", "Optimizer", "make_optimizer"]

_KERNELS = backend.NumbaKernels("netchain.train._kernels")


def _numba_kernels() -> Any:
    """The fused update kernels on the NumPy backend, or False (array expressions)."""
    return _KERNELS.get()


def _float_option(
    value: Any, name: str, low: float, high: float, *, low_open: bool = False
) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    ok = (value > low if low_open else value >= low) and value <= high
    if not ok:
        lo = "(" if low_open else "["
        raise ValueError(f"{name} must lie in {lo}{low}, {high}], got {value!r}")
    return float(value)


class Optimizer:
    """Base class. ``update(params, lr, grad_scale)`` changes each parameter in place."""

    name = ""
    default_learning_rate = 1e-3

    def __init__(self, l2_regularization: float = 0.0, gradient_clipping: Any = None) -> None:
        self.l2 = _float_option(l2_regularization, "l2_regularization", 0.0, math.inf)
        self.clip_value = 0.0
        self.clip_norm = 0.0
        if gradient_clipping is not None:
            if isinstance(gradient_clipping, tuple) and len(gradient_clipping) == 2:
                kind, c = gradient_clipping
                if kind != "L2Norm":
                    raise ValueError(
                        f"gradient_clipping must be a number or ('L2Norm', c), got {gradient_clipping!r}"
                    )
                self.clip_norm = _float_option(
                    c, "gradient_clipping norm", 0.0, math.inf, low_open=True
                )
            else:
                self.clip_value = _float_option(
                    gradient_clipping, "gradient_clipping", 0.0, math.inf, low_open=True
                )
        self.state: dict[int, list[Any]] = {}
        self.backups: dict[int, Any] = {}
        self.t = 0

    def _slots(self, p: Tensor, n: int) -> list[Any]:
        key = id(p)
        if key not in self.state:
            self.state[key] = [xp.zeros(p._data.size, dtype=p._data.dtype) for _ in range(n)]
            self.backups[key] = xp.array(p._data.reshape(-1), copy=True)
        return self.state[key]

    def grad_scale(self, params: list[Tensor]) -> float:
        """The factor that brings the global gradient norm down to ``clip_norm`` (or 1)."""
        if not self.clip_norm:
            return 1.0
        total = 0.0
        for p in params:
            if p.grad is not None:
                g = p.grad.reshape(-1)
                total += float(xp.dot(g, g))
        norm = math.sqrt(total)
        return self.clip_norm / norm if norm > self.clip_norm else 1.0

    def update(self, params: list[Tensor], lr: float) -> None:
        """Apply one step to every parameter that has a gradient."""
        self.t += 1
        scale = self.grad_scale(params)
        for p in params:
            if p.grad is None:
                continue
            self._update(p, p._data.reshape(-1), p.grad.reshape(-1), lr, scale)
            p.bump_version()

    def undo(self, params: list[Tensor]) -> None:
        """Put back the values from before the last update."""
        for p in params:
            b = self.backups.get(id(p))
            if b is not None:
                p._data.reshape(-1)[...] = b
                p.bump_version()

    def settings(self) -> dict[str, Any]:
        """The method's name and hyperparameters (what a checkpoint's fingerprint covers)."""
        numbers_ = {
            k: v
            for k, v in vars(self).items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != "t"
        }
        return {"name": self.name, **numbers_}

    def state_arrays(self, params: list[Tensor]) -> dict[str, Any]:
        """The optimiser's state as named arrays (for a checkpoint): for the i-th parameter,
        ``"i/k"`` its k-th slot (momenta, moving averages) and ``"i/backup"`` its values
        before the last update. The step count is :attr:`t`."""
        arrays: dict[str, Any] = {}
        for i, p in enumerate(params):
            for k, slot in enumerate(self.state.get(id(p), [])):
                arrays[f"{i}/{k}"] = slot
            if id(p) in self.backups:
                arrays[f"{i}/backup"] = self.backups[id(p)]
        return arrays

    def load_state_arrays(self, params: list[Tensor], t: int, arrays: dict[str, Any]) -> None:
        """Put back a state from :meth:`state_arrays` (copies of the arrays).

        Raises
        ------
        ValueError
            If an array does not fit its parameter (size or dtype) or a name is unknown.
        """
        state: dict[int, list[Any]] = {}
        backups: dict[int, Any] = {}
        known = set()
        for i, p in enumerate(params):
            want = (p._data.size, p._data.dtype)
            slots = []
            while f"{i}/{len(slots)}" in arrays:
                slots.append(arrays[f"{i}/{len(slots)}"])
            backup = arrays.get(f"{i}/backup")
            for name, a in [
                *((f"{i}/{k}", a) for k, a in enumerate(slots)),
                (f"{i}/backup", backup),
            ]:
                if a is None:
                    continue
                known.add(name)
                if (a.size, a.dtype) != want or a.ndim != 1:
                    raise ValueError(
                        f"optimizer state {name!r}: expected a vector of {want[0]} {want[1]} "
                        f"values for parameter {i}, got shape {a.shape} and dtype {a.dtype}"
                    )
            if slots:
                state[id(p)] = [xp.array(a, copy=True) for a in slots]
            if backup is not None:
                backups[id(p)] = xp.array(backup, copy=True)
        unknown = set(arrays) - known
        if unknown:
            raise ValueError(f"optimizer state has arrays for no parameter: {sorted(unknown)[:3]}")
        self.state, self.backups, self.t = state, backups, int(t)

    def _update(self, p: Tensor, w: Any, g: Any, lr: float, scale: float) -> None:
        raise NotImplementedError

    def _prepare_grad(self, w: Any, g: Any, scale: float) -> Any:
        """Array-expression version of the gradient preprocessing (non-NumPy backends)."""
        g = g * scale if scale != 1.0 else g
        if self.l2:
            g = g + self.l2 * w
        if self.clip_value:
            g = xp.clip(g, -self.clip_value, self.clip_value)
        return g


class ADAM(Optimizer):
    """Adam (Kingma & Ba, 2015): bias-corrected first and second moment estimates.

    Parameters
    ----------
    beta1 : float, default 0.9
    beta2 : float, default 0.999
    epsilon : float, default 1e-8
    l2_regularization : float, default 0
        Adds l2 * w to each gradient (the gradient of (l2 / 2) |w|^2).
    gradient_clipping : float or ("L2Norm", float), optional
        A number clips each gradient element into [-c, c] (as the Wolfram Language's
        GradientClipping); ("L2Norm", c) rescales all gradients together so that their joint
        norm is at most c.
    """

    name = "ADAM"

    def __init__(
        self,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        l2_regularization: float = 0.0,
        gradient_clipping: Any = None,
    ) -> None:
        super().__init__(l2_regularization, gradient_clipping)
        self.beta1 = _float_option(beta1, "beta1", 0.0, 1.0)
        self.beta2 = _float_option(beta2, "beta2", 0.0, 1.0)
        if self.beta1 == 1.0 or self.beta2 == 1.0:
            raise ValueError("beta1 and beta2 must be below 1")
        self.epsilon = _float_option(epsilon, "epsilon", 0.0, math.inf, low_open=True)

    def _update(self, p: Tensor, w: Any, g: Any, lr: float, scale: float) -> None:
        m, v = self._slots(p, 2)
        bc1 = 1.0 - self.beta1**self.t
        bc2 = 1.0 - self.beta2**self.t
        k = _numba_kernels()
        if k:
            f = w.dtype.type
            b1, b2 = self.beta1, self.beta2
            backup = self.backups[id(p)]
            k.adam(w, g, m, v, backup, f(lr / bc1), f(1.0 / math.sqrt(bc2)), f(b1), f(1.0 - b1),
                   f(b2), f(1.0 - b2), f(self.epsilon), f(self.l2), f(self.clip_value), f(scale))  # fmt: skip
            return
        self.backups[id(p)][...] = w
        g = self._prepare_grad(w, g, scale)
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        w -= (lr / bc1) * m / (xp.sqrt(v) / math.sqrt(bc2) + self.epsilon)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (heavy-ball) momentum.

    Parameters
    ----------
    momentum : float, default 0
        v <- momentum v + g; w <- w - lr v (PyTorch's convention).
    l2_regularization, gradient_clipping
        As for :class:`ADAM`.
    """

    name = "SGD"
    default_learning_rate = 1e-2

    def __init__(
        self, momentum: float = 0.0, l2_regularization: float = 0.0, gradient_clipping: Any = None
    ) -> None:
        super().__init__(l2_regularization, gradient_clipping)
        self.momentum = _float_option(momentum, "momentum", 0.0, 1.0)

    def _update(self, p: Tensor, w: Any, g: Any, lr: float, scale: float) -> None:
        (vel,) = self._slots(p, 1)
        k = _numba_kernels()
        if k:
            f = w.dtype.type
            k.sgd(w, g, vel, self.backups[id(p)], f(lr), f(self.momentum), f(self.l2),
                  f(self.clip_value), f(scale))  # fmt: skip
            return
        self.backups[id(p)][...] = w
        g = self._prepare_grad(w, g, scale)
        vel *= self.momentum
        vel += g
        w -= lr * vel


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton, 2012): steps scaled by a running RMS of the gradient.

    Parameters
    ----------
    beta : float, default 0.9
        Decay of the running mean of squared gradients.
    epsilon : float, default 1e-8
    l2_regularization, gradient_clipping
        As for :class:`ADAM`.
    """

    name = "RMSProp"

    def __init__(
        self,
        beta: float = 0.9,
        epsilon: float = 1e-8,
        l2_regularization: float = 0.0,
        gradient_clipping: Any = None,
    ) -> None:
        super().__init__(l2_regularization, gradient_clipping)
        self.beta = _float_option(beta, "beta", 0.0, 1.0)
        self.epsilon = _float_option(epsilon, "epsilon", 0.0, math.inf, low_open=True)

    def _update(self, p: Tensor, w: Any, g: Any, lr: float, scale: float) -> None:
        (sq,) = self._slots(p, 1)
        k = _numba_kernels()
        if k:
            f = w.dtype.type
            k.rmsprop(w, g, sq, self.backups[id(p)], f(lr), f(self.beta), f(1.0 - self.beta),
                      f(self.epsilon), f(self.l2), f(self.clip_value), f(scale))  # fmt: skip
            return
        self.backups[id(p)][...] = w
        g = self._prepare_grad(w, g, scale)
        sq *= self.beta
        sq += (1 - self.beta) * g * g
        w -= lr * g / (xp.sqrt(sq) + self.epsilon)


METHODS: dict[str, type[Optimizer]] = {"ADAM": ADAM, "SGD": SGD, "RMSProp": RMSProp}


def make_optimizer(method: Any, l2_regularization: float, gradient_clipping: Any) -> Optimizer:
    """Build an optimiser from NetTrain's ``method`` option.

    ``method`` is "ADAM", "SGD" or "RMSProp", or a pair such as ``("ADAM", {"beta1": 0.8})``.

    Raises
    ------
    ValueError
        For an unknown method or option.
    """
    options: dict[str, Any] = {}
    if isinstance(method, tuple) and len(method) == 2 and isinstance(method[1], dict):
        method, options = method
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"method must be one of {sorted(METHODS)} (or (name, options)), got {method!r}"
        )
    cls = METHODS[method]
    try:
        return cls(
            l2_regularization=l2_regularization, gradient_clipping=gradient_clipping, **options
        )
    except TypeError:
        import inspect

        known = [
            name
            for name in inspect.signature(cls.__init__).parameters
            if name not in ("self", "l2_regularization", "gradient_clipping")
        ]
        unknown = sorted(set(options) - set(known))
        raise ValueError(
            f"method {method!r}: unknown option(s) {unknown}; its options are {known} "
            "(learning_rate, l2_regularization, gradient_clipping are NetTrain's own options)"
        ) from None
