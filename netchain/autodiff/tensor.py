"""The ``Tensor`` and the reverse-mode tape.

A :class:`Tensor` wraps a backend array. When gradient recording is on and an operation has an
input that requires a gradient, the result remembers its parents and a ``backward`` function
that maps the gradient of the result to the gradients of the parents (the chain rule, one
primitive at a time). :meth:`Tensor.backward` visits the recorded graph in reverse topological
order and sums the gradients that reach each tensor along different paths.

Arrays that an operation keeps for its backward pass are protected: operation results are
read-only while their graph is alive, and every in-place change through the Tensor API bumps a
version counter that ``backward`` checks, so a modified input is reported rather than giving a
silently wrong gradient.

References
----------
Rumelhart, Hinton & Williams (1986), "Learning representations by back-propagating errors";
Griewank & Walther (2008), "Evaluating Derivatives", chapter 3 (the reverse mode).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from netchain import backend
from netchain.backend import xp

__all__ = ["Tensor", "as_tensor", "enable_grad", "is_grad_enabled", "no_grad"]


class _GradMode(threading.local):
    """Whether operations are recorded, per thread (as PyTorch's grad mode): one thread's
    ``no_grad()`` does not stop another from recording."""

    enabled = True


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations are being recorded for differentiation (in this thread)."""
    return _mode.enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager that turns off recording in this thread (evaluation, optimiser
    updates)."""
    previous, _mode.enabled = _mode.enabled, False
    try:
        yield
    finally:
        _mode.enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Context manager that turns recording back on inside :func:`no_grad` (in this thread)."""
    previous, _mode.enabled = _mode.enabled, True
    try:
        yield
    finally:
        _mode.enabled = previous


class Tensor:
    """An array that can carry a gradient.

    Parameters
    ----------
    data : array_like
        Numbers of any shape, copied (changing the original array afterwards does not change
        the tensor). Floating arrays keep their dtype; integer, unsigned and boolean data are
        cast to the default float dtype (float32), so uint8 pixels never wrap.
    requires_grad : bool, default False
        Whether :meth:`backward` should compute and store ``.grad`` for this tensor.
    dtype : dtype, optional
        Cast the data to this dtype.

    Attributes
    ----------
    data : ndarray
        The values. For a tensor that requires a gradient this is a read-only view: change it
        through the Tensor API (``t.data = new_values``, or ``t -= step`` / ``t[i] = v`` under
        :func:`no_grad`), which bumps the version counter that :meth:`backward` checks, so an
        array saved for a backward pass is never changed silently.
    grad : ndarray or None
        The accumulated gradient (leaves, and tensors that called :meth:`retain_grad`),
        of the same shape and dtype as ``data``.
    requires_grad : bool

    Raises
    ------
    ValueError
        For ragged nested lists.
    TypeError
        For non-numeric data.
    """

    __slots__ = (
        "_data",
        "grad",
        "requires_grad",
        "_parents",
        "_backward",
        "_versions",
        "_version",
        "_op",
        "_retain",
    )
    # Make NumPy defer to Tensor's reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data._data
        arr = backend.as_float_array(data, dtype, name="data")
        if arr is data or getattr(arr, "base", None) is not None:
            arr = arr.copy()
        self._data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable[[Any], tuple[Any, ...]] | None = None
        self._versions: tuple[int, ...] = ()
        self._version = 0
        self._op = ""
        self._retain = False

    # ------------------------------------------------------------------ array access
    @property
    def data(self) -> Any:
        if not self.requires_grad or not backend.writeable(self._data):
            return self._data
        view = self._data.view()
        backend.set_writeable(view, False)
        return view

    @data.setter
    def data(self, value: Any) -> None:
        self._data = backend.as_float_array(value, self._data.dtype, name="data")
        self._version += 1

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> Any:
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self._backward is None

    def numpy(self) -> Any:
        """The values as a NumPy array (a copy when the data is read-only)."""
        a = backend.to_numpy(self._data)
        return a if backend.writeable(a) else a.copy()

    def item(self) -> float:
        """The single value of a one-element tensor as a Python float."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return float(self._data.reshape(()))

    def detach(self) -> Tensor:
        """A tensor sharing the data, cut from the graph."""
        t = Tensor.__new__(Tensor)
        _init_fast(t, self._data, False)
        return t

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor after :meth:`backward`."""
        self._retain = True
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        body = repr(backend.to_numpy(self._data)).replace("array", "Tensor", 1)
        if self._op:
            return body[:-1] + f", op={self._op})"
        if self.requires_grad:
            return body[:-1] + ", requires_grad=True)"
        return body

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        return self.item()

    # ------------------------------------------------------------------ in-place updates
    def _inplace(self, fn: Callable[[Any], None]) -> Tensor:
        if _mode.enabled and self.requires_grad and self._backward is None:
            raise RuntimeError(
                "an in-place operation on a leaf tensor that requires a gradient would be "
                "invisible to backward; wrap the update in `with no_grad():`"
            )
        if not backend.writeable(self._data):
            raise RuntimeError(
                f"this tensor (result of {self._op or 'an operation'}) is saved for a backward "
                "pass and cannot be modified in place"
            )
        fn(self._data)
        self._version += 1
        return self

    def __iadd__(self, other: Any) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        return self._inplace(lambda a: xp.add(a, o, out=a))

    def __isub__(self, other: Any) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        return self._inplace(lambda a: xp.subtract(a, o, out=a))

    def __imul__(self, other: Any) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        return self._inplace(lambda a: xp.multiply(a, o, out=a))

    def __itruediv__(self, other: Any) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        return self._inplace(lambda a: xp.divide(a, o, out=a))

    def __setitem__(self, index: Any, value: Any) -> None:
        v = value._data if isinstance(value, Tensor) else value

        def assign(a: Any) -> None:
            a[index] = v

        self._inplace(assign)

    def bump_version(self) -> None:
        """Record that ``data`` was changed in place outside the Tensor API (optimisers)."""
        self._version += 1

    # ------------------------------------------------------------------ backward
    def backward(self, grad: Any = None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires one.

        Gradients are summed into each leaf's ``.grad`` (so several calls accumulate, as in
        PyTorch); the graph is released afterwards.

        Parameters
        ----------
        grad : array_like, optional
            The upstream gradient, of this tensor's shape. Optional for one-element tensors
            (taken as 1).

        Raises
        ------
        RuntimeError
            If the tensor does not require a gradient, if ``grad`` is missing for a tensor of
            several elements, or if a tensor saved for the backward pass was modified in place
            after the forward pass.
        ValueError
            If ``grad`` has the wrong shape.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require a gradient: no input of the "
                "computation had requires_grad=True (or it ran under no_grad())"
            )
        if grad is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element tensor, got shape "
                    f"{self.shape}; pass grad= of that shape"
                )
            seed = xp.ones_like(self._data)
        else:
            seed = xp.asarray(grad._data if isinstance(grad, Tensor) else grad)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward(): grad must have the tensor's shape {self.shape}, got {seed.shape}"
                )
            if seed.dtype != self._data.dtype:
                seed = seed.astype(self._data.dtype)
            elif backend.name == "numpy":  # the caller's array, read-only here: never written
                seed = seed.view()
                backend.set_writeable(seed, False)
            else:  # no read-only flag to protect it with
                seed = seed.copy()
        _run_backward(self, seed)


def _init_fast(t: Tensor, data: Any, requires_grad: bool) -> None:
    t._data = data
    t.grad = None
    t.requires_grad = requires_grad
    t._parents = ()
    t._backward = None
    t._versions = ()
    t._version = 0
    t._op = ""
    t._retain = False


def as_tensor(x: Any, dtype: Any = None) -> Tensor:
    """Return ``x`` if it is a Tensor, else a constant Tensor (no gradient) holding it."""
    if isinstance(x, Tensor):
        return x
    return Tensor(x, dtype=dtype)


def constant(data: Any, requires_grad: bool = False) -> Tensor:
    """Wrap an array that is already of the right dtype, without copying or checking.

    The tensor shares the array's memory (the trainer wraps a net's arrays this way, so that
    the optimiser's in-place updates are the net's new values).
    """
    t = Tensor.__new__(Tensor)
    _init_fast(t, data, requires_grad)
    return t


def make_result(
    data: Any, parents: tuple[Tensor, ...], backward: Callable[[Any], tuple[Any, ...]], op: str
) -> Tensor:
    """Create the result of a primitive, recording it when a parent requires a gradient.

    ``backward(g)`` must return one gradient (or None) per parent, each of the parent's shape.
    """
    if type(data) is not xp.ndarray:
        data = xp.asarray(data)
    t = Tensor.__new__(Tensor)
    _init_fast(t, data, False)
    if _mode.enabled:
        for p in parents:
            if p.requires_grad:
                if any(data is q._data for q in parents):
                    data = t._data = data.view()
                t.requires_grad = True
                t._parents = parents
                t._backward = backward
                t._versions = tuple(p._version for p in parents)
                t._op = op
                backend.set_writeable(data, False)
                break
    return t


def _toposort(root: Tensor) -> list[Tensor]:
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        key = id(node)
        if key in seen:
            continue
        seen.add(key)
        stack.append((node, True))
        for p in node._parents:
            if p.requires_grad and id(p) not in seen:
                stack.append((p, False))
    return order


def _owner(a: Any) -> int:
    base = getattr(a, "base", None)
    return id(a if base is None else base)


def _store_grad(t: Tensor, g: Any, handed: set[int]) -> None:
    if g.dtype != t._data.dtype:
        g = g.astype(t._data.dtype)
    if t.grad is None:
        owner = _owner(g)
        if owner in handed or not backend.writeable(g) or not g.flags.c_contiguous:
            g = xp.array(g, copy=True)
        else:
            handed.add(owner)
        t.grad = g
    else:
        t.grad = t.grad + g


def _released(g: Any) -> tuple[Any, ...]:
    raise RuntimeError(
        "backward through this part of the graph a second time: its saved arrays were released "
        "by the first backward(); compute the result again"
    )


def _run_backward(root: Tensor, seed: Any) -> None:
    order = _toposort(root)
    grads: dict[int, Any] = {id(root): seed}
    handed: set[int] = {_owner(seed)}
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        fn = node._backward
        if fn is None or node._retain:
            _store_grad(node, g, handed)
            if fn is None:
                continue
        for p, v in zip(node._parents, node._versions):
            if p._version != v:
                raise RuntimeError(
                    f"a tensor used by {node._op} was modified in place after the forward pass "
                    f"(version {p._version}, expected {v}); its gradient would be wrong"
                )
        pgrads = fn(g)
        for p, pg in zip(node._parents, pgrads):
            if pg is None or not p.requires_grad:
                continue
            key = id(p)
            prev = grads.get(key)
            grads[key] = pg if prev is None else prev + pg
        # release the graph below this node: its arrays are no longer needed
        if hasattr(node._data, "flags") and node._data.base is None:
            backend.set_writeable(node._data, True)
        node._parents = ()
        node._backward = _released
        node._versions = ()
