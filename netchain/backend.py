"""The array namespace, default dtypes and random generators.

Every array call in netchain goes through ``xp`` from this module rather than importing NumPy
directly, so that CuPy (which mirrors NumPy's API) can stand in for it. The backend is chosen
once, when netchain is first imported, from the environment variable ``NETCHAIN_BACKEND``
("numpy", the default, or "cupy").

Attributes
----------
xp : module
    The array module: :mod:`numpy` or :mod:`cupy`.
special : module
    Special functions (erf, expit) for that array module: :mod:`scipy.special` or
    :mod:`cupyx.scipy.special`.
name : str
    "numpy" or "cupy".
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import sys
import threading
from typing import Any

import numpy as _np

name = os.environ.get("NETCHAIN_BACKEND", "numpy").strip().lower() or "numpy"
if name == "numpy":
    import scipy.special as special  # noqa: F401 - re-exported

    xp = _np
elif name == "cupy":  # pragma: no cover - needs a GPU
    import cupy as xp  # type: ignore[no-redef]
    import cupyx.scipy.special as special  # type: ignore[no-redef]  # noqa: F401
else:  # pragma: no cover - configuration error
    raise ValueError(f"NETCHAIN_BACKEND must be 'numpy' or 'cupy', got {name!r}")


class NumbaKernels:
    """A module of Numba kernels, imported on first use and only on the NumPy backend.

    :meth:`get` gives the module, or False where the caller should use its array-expression
    twin instead (on CuPy, or after ``use(False)``, which the tests use to compare the two).
    """

    def __init__(self, module: str) -> None:
        self.module = module
        self._loaded: Any = None

    def get(self) -> Any:
        if self._loaded is None:
            self._loaded = importlib.import_module(self.module) if name == "numpy" else False
        return self._loaded

    def use(self, flag: bool) -> None:
        """Switch the kernels on (the default) or off (array expressions)."""
        self._loaded = None if flag else False


def errstate(**kwargs: Any) -> Any:
    """``numpy.errstate`` on NumPy; nothing on CuPy, which raises no floating-point warnings."""
    return _np.errstate(**kwargs) if name == "numpy" else contextlib.nullcontext()


def writeable(a: Any) -> bool:
    """Whether an array may be written (CuPy arrays have no read-only flag: always True)."""
    return bool(getattr(a.flags, "writeable", True))


def set_writeable(a: Any, flag: bool) -> None:
    """Mark a NumPy array (or view) read-only or writable again; nothing on CuPy."""
    if hasattr(a.flags, "writeable"):
        a.flags.writeable = flag


class Scratch:
    """A pool of large temporary arrays, reused once nothing refers to them any more.

    The fused primitives (convolution, the recurrent layers) need the same few large buffers
    at every training step. Freshly allocated, each costs page faults: glibc returns large
    freed blocks to the operating system, so every step's buffers are new pages that the
    kernel must map and zero (about 3 ms of a 13 ms LSTM step, measured). The pool keeps the
    buffers and hands one out again when no array (the caller's, a view of it, or a
    backward closure holding it) refers to it any more: reuse is decided by reference count
    and needs no explicit release, so a buffer still held by a recorded tape is never handed
    out twice.

    Parameters
    ----------
    limit : int, default 512 MiB
        Most bytes kept; past it, unused buffers are dropped (oldest size first) and requests
        that still do not fit get an ordinary array.
    smallest : int, default 64 KiB
        Smaller requests get an ordinary array (malloc serves them from its heap).

    Notes
    -----
    Arrays are views of the pooled buffers (their ``base`` is not None). Only NumPy arrays are
    pooled; on CuPy, which keeps its own memory pool, :meth:`empty` is ``cupy.empty``.
    """

    def __init__(self, limit: int = 512 << 20, smallest: int = 1 << 16) -> None:
        self.limit = limit
        self.smallest = smallest
        self._buffers: dict[int, list[Any]] = {}  # size in bytes -> uint8 buffers
        self._bytes = 0
        self._lock = threading.Lock()

    def empty(self, shape: Any, dtype: Any) -> Any:
        """An uninitialised array of this shape and dtype (C order).

        Parameters
        ----------
        shape : tuple of int
        dtype : data-type

        Returns
        -------
        ndarray
            A view of a free pooled buffer when one of the same size exists.
        """
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        dtype = xp.dtype(dtype)
        size = math.prod(shape) * dtype.itemsize
        if name != "numpy" or size < self.smallest:
            return xp.empty(shape, dtype=dtype)
        with self._lock:
            bucket = self._buffers.pop(size, [])
            self._buffers[size] = bucket  # most recently used size last
            for buf in bucket:
                # the bucket, this loop and getrefcount's argument: nothing else holds it
                if sys.getrefcount(buf) == 3:
                    return buf.view(dtype).reshape(shape)
            if self._bytes + size > self.limit:
                self._drop_free(self._bytes + size - self.limit)
                if self._bytes + size > self.limit:
                    return xp.empty(shape, dtype=dtype)
            buf = _np.empty(size, dtype=_np.uint8)
            self._buffers.setdefault(size, []).append(buf)  # (dropping may have replaced it)
            self._bytes += size
            return buf.view(dtype).reshape(shape)

    def zeros(self, shape: Any, dtype: Any) -> Any:
        """Like :meth:`empty`, filled with zeros."""
        a = self.empty(shape, dtype)
        a.fill(0)
        return a

    @property
    def nbytes(self) -> int:
        """Bytes held by the pool (buffers in use included)."""
        return self._bytes

    def clear(self) -> None:
        """Drop every buffer that is not in use."""
        with self._lock:
            self._drop_free(self._bytes)

    def _drop_free(self, wanted: int) -> None:
        """Drop unused buffers, least recently used sizes first, until ``wanted`` bytes are
        freed or none is left (the lock is held)."""
        for size in list(self._buffers):
            bucket = self._buffers[size]
            keep = []
            for buf in bucket:
                # the bucket, this loop and the argument
                if wanted > 0 and sys.getrefcount(buf) == 3:
                    wanted -= size
                    self._bytes -= size
                else:
                    keep.append(buf)
            if keep:
                self._buffers[size] = keep
            else:
                del self._buffers[size]
            if wanted <= 0:
                return


_THREADPOOLS: Any = None


def threadpools() -> Any:
    """threadpoolctl's controller of the loaded thread pools (made once), or None without it."""
    global _THREADPOOLS
    if _THREADPOOLS is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _THREADPOOLS = False
        else:
            _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS or None


def blas_threads(n_threads: int | None) -> contextlib.AbstractContextManager:
    """A context manager that limits NumPy's and SciPy's BLAS thread pools to ``n_threads``.

    Work made of many small BLAS calls (an optimiser's objective on a few thousand rows, the
    blocked LAPACK factorisation of a thin matrix) pays for waking and synchronising the
    pool's threads on every call; on a small machine shared with other processes one thread is
    then several times faster (see PERFORMANCE.md, "thread-pool traps"). ``None`` changes
    nothing, and so does the CuPy backend. Uses :mod:`threadpoolctl`; without it, this is a
    no-op.
    """
    pools = threadpools() if n_threads is not None and name == "numpy" else None
    if pools is None:
        return contextlib.nullcontext()
    return pools.limit(limits=n_threads, user_api="blas")


#: The shape of arrays broadcast together (shape arithmetic only: NumPy's, on either backend).
broadcast_shapes = _np.broadcast_shapes


#: The pool the engine's primitives draw their large temporaries from.
scratch = Scratch()


#: Default floating dtype for nets and tensors made from non-floating data.
float32 = xp.float32
float64 = xp.float64
_default_float = xp.dtype(xp.float32)

_PRECISIONS = {"Real32": xp.dtype(xp.float32), "Real64": xp.dtype(xp.float64)}


def default_float() -> Any:
    """Return the default floating dtype (float32 unless changed by :func:`set_default_float`)."""
    return _default_float


def set_default_float(dtype: Any) -> None:
    """Set the default floating dtype: ``"float32"`` / ``"float64"`` or ``"Real32"`` / ``"Real64"``.

    Raises
    ------
    ValueError
        If ``dtype`` is not a 32- or 64-bit float.
    """
    global _default_float
    _default_float = precision_dtype(dtype)


def precision_dtype(precision: Any) -> Any:
    """Map a working precision to a dtype.

    Parameters
    ----------
    precision : {"Real32", "Real64"} or a float32 / float64 dtype

    Raises
    ------
    ValueError
        For anything other than a 32- or 64-bit float.
    """
    if isinstance(precision, str) and precision in _PRECISIONS:
        return _PRECISIONS[precision]
    try:
        dt = xp.dtype(precision)
    except TypeError:
        dt = None
    if dt is None or dt not in (xp.dtype(xp.float32), xp.dtype(xp.float64)):
        raise ValueError(
            f"working_precision must be 'Real32', 'Real64', float32 or float64, got {precision!r}"
        )
    return dt


def as_float_array(x: Any, dtype: Any = None, *, name: str = "x") -> Any:
    """Convert ``x`` to a floating array without wrapping integers.

    Floating arrays keep their dtype unless ``dtype`` is given; integer, unsigned and boolean
    data are cast to ``dtype`` or to :func:`default_float`.

    Raises
    ------
    TypeError
        If ``x`` holds objects that are not numbers (strings, ragged nested lists).
    """
    try:
        a = xp.asarray(x)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from None
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if dtype is not None:
        dtype = xp.dtype(dtype)
        return a if a.dtype == dtype else a.astype(dtype)
    if a.dtype.kind != "f":
        return a.astype(_default_float)
    return a


def to_numpy(a: Any) -> _np.ndarray:
    """Return ``a`` as a NumPy array (a no-op on the NumPy backend)."""
    if name == "cupy" and not isinstance(a, _np.ndarray):  # pragma: no cover
        return a.get()
    return _np.asarray(a)


def rng(random_seed: Any = None) -> _np.random.Generator:
    """Return a NumPy random generator.

    Parameters
    ----------
    random_seed : int, numpy.random.Generator or None
        An int seeds a new PCG64 generator; a Generator is returned as it is; None draws fresh
        entropy from the operating system.

    Raises
    ------
    TypeError
        For any other type.
    """
    if isinstance(random_seed, _np.random.Generator):
        return random_seed
    if random_seed is None or isinstance(random_seed, int | _np.integer):
        if isinstance(random_seed, bool):
            raise TypeError(
                "random_seed must be an int, a numpy.random.Generator or None, got bool"
            )
        return _np.random.default_rng(random_seed)
    raise TypeError(
        "random_seed must be an int, a numpy.random.Generator or None, "
        f"got {type(random_seed).__name__}"
    )
