"""Fused primitives for convolutional nets: convolution, transposed convolution, pooling,
batch normalisation and constant padding, each with its analytic backward.

Arrays are channels first: a batch of ``d``-dimensional examples has the shape
``(N, C, S_1, ..., S_d)`` (``d`` = 1 for sequences of feature vectors, 2 for images).

How a convolution is computed
-----------------------------
A convolution is a matrix product. The padded input is turned into a *column buffer* (im2col)
with one row per (input channel, kernel offset) and one column per (example, output
position), filled by a single copy from a strided window view (``sliding_window_view``),
never by a Python loop over pixels or examples. The weights, reshaped to
``(n, C k_1 ... k_d)``, multiply it. The backward pass reuses the buffer for the weight
gradient (a second product) and forms the input gradient as the transposed product followed
by col2im: the column gradients are added back into the padded input, one strided slice per
kernel offset (k_1 ... k_d vectorised additions over all examples, channels and positions).
A transposed convolution is the same pair of operations in the opposite order.

The buffer has one of two layouts. Channel-major, ``(C, k.., N, O..)``, makes the whole
batch one matrix product: three large BLAS calls per forward and backward, which BLAS
spreads over its threads. When the product for one example is small (below
:data:`SMALL_PRODUCT` multiply-adds, which OpenBLAS computes on one thread anyway) the
example-major layout ``(N, C, k.., O..)`` is used instead: one batched call computes the
per-example products and no transposes of the input, output or gradients are needed.
A stride-1 convolution with large products goes through a third, flat layout
(:class:`_FlatGrid`): the padded batch as one (C, N F) matrix, in which every kernel offset is
a constant shift, so that im2col and col2im move long contiguous runs (the per-row overhead of
short image rows is what made them slow); the column gradients overwrite the columns once the
weight gradient is formed, which keeps one large buffer fewer in the cache. Large temporary
buffers are kept for reuse between calls (fresh large arrays cost page faults at every
training step).

Pooling works on the same strided views, reducing over the kernel offsets; max pooling records
which offset of each window held the first maximum (in row-major order within the window), so
that its gradient goes to exactly one position and every window's gradient sums to its
upstream value.

References
----------
Chellapilla, Puri & Simard (2006), "High performance convolutional neural networks for
document processing" (convolution as im2col plus a matrix product); Dumoulin & Visin (2016),
"A guide to convolution arithmetic for deep learning" (output sizes, padding, strides,
dilation, transposed convolution); Ioffe & Szegedy (2015), "Batch normalization: accelerating
deep network training by reducing internal covariate shift".
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any

from netchain import backend
from netchain.autodiff.tensor import Tensor, as_tensor, is_grad_enabled, make_result
from netchain.backend import xp

__all__ = [
    "batch_normalization",
    "conv_output_size",
    "convolution",
    "deconv_output_size",
    "deconvolution",
    "normalize_padding",
    "normalize_tuple",
    "pad",
    "pooling",
]

POOLING_FUNCTIONS = ("Max", "Mean", "Total")

#: Per-example products (output channels x C k.. x positions) up to this many multiply-adds
#: are computed example by example (one batched call); larger ones as one product for the
#: whole batch. OpenBLAS computes products below 2 x 4 x 65536 multiply-adds on one thread,
#: so the small ones never wait for a second thread (which costs dearly on a busy machine).
SMALL_PRODUCT = 1 << 19

#: Without gradient recording, a convolution whose column buffer would exceed this many
#: elements (64 MiB in float32) goes through the batch a chunk of examples at a time.
MAX_COLUMNS = 1 << 24


_KERNELS = backend.NumbaKernels("netchain.autodiff._conv_kernels")


def use_kernels(flag: bool) -> None:
    """Switch the Numba col2im kernel on or off (off: NumPy strided additions; for tests)."""
    _KERNELS.use(flag)


def _kernels() -> Any:
    """The Numba col2im kernel on the NumPy backend, or False (NumPy strided additions)."""
    return _KERNELS.get()


# ---------------------------------------------------------------------- argument handling


def normalize_tuple(value: Any, d: int, name: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or a length-``d`` sequence of ints, each at least ``minimum``, as a tuple.

    Raises
    ------
    ValueError
        For a wrong length, a non-integer or a value below ``minimum``.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        items: tuple[Any, ...] = (int(value),) * d
    elif isinstance(value, tuple | list):
        items = tuple(value)
        if len(items) != d:
            raise ValueError(f"{name} needs {d} value(s), one per spatial dimension, got {value!r}")
    else:
        raise ValueError(f"{name} must be an int or a sequence of {d} ints, got {value!r}")
    out = []
    for v in items:
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < minimum:
            raise ValueError(f"{name} must hold ints >= {minimum}, got {value!r}")
        out.append(int(v))
    return tuple(out)


def normalize_padding(
    padding: Any,
    d: int,
    name: str = "padding",
    *,
    spatial: tuple[int, ...] | None = None,
    span: tuple[int, ...] | None = None,
    stride: tuple[int, ...] | None = None,
) -> tuple[tuple[int, int], ...]:
    """Padding as one (before, after) pair per spatial dimension.

    Parameters
    ----------
    padding : int, sequence of ints, sequence of (before, after) pairs, or "Same"
        An int pads every side alike; one int per dimension pads both ends of it; pairs give
        each side (in 1-D a bare pair (before, after) is accepted too). "Same" chooses the padding (extra element at the end when the total is
        odd) that makes the output size ceil(input size / stride), the input size itself for
        stride 1, as TensorFlow's and Keras's "same".
    d : int
        The number of spatial dimensions.
    spatial, span, stride : tuples of int, needed for "Same"
        The input's spatial size, the kernel's dilated extent and the stride.

    Raises
    ------
    ValueError
        For negative values, a wrong number of entries or an unknown string.
    """
    if isinstance(padding, str):
        if padding != "Same":
            raise ValueError(f"{name} must be an int, a tuple or 'Same', got {padding!r}")
        if spatial is None or span is None or stride is None:
            raise ValueError(f"{name}='Same' needs the input size, kernel and stride")
        pairs = []
        for n, k, s in zip(spatial, span, stride):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            pairs.append((total // 2, total - total // 2))
        return tuple(pairs)
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        if padding < 0:
            raise ValueError(f"{name} must be non-negative, got {padding}")
        return ((int(padding), int(padding)),) * d
    if (
        d == 1
        and isinstance(padding, tuple | list)
        and len(padding) == 2
        and all(isinstance(p, numbers.Integral) for p in padding)
    ):
        padding = [tuple(padding)]  # 1-D: a bare (before, after) pair
    if isinstance(padding, tuple | list) and len(padding) == d:
        pairs = []
        for p in padding:
            if isinstance(p, numbers.Integral) and not isinstance(p, bool):
                pair: tuple[Any, ...] = (p, p)
            elif isinstance(p, tuple | list) and len(p) == 2:
                pair = tuple(p)
            else:
                raise ValueError(
                    f"{name} entries must be ints or (before, after) pairs, got {padding!r}"
                )
            for v in pair:
                if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
                    raise ValueError(f"{name} must hold non-negative ints, got {padding!r}")
            pairs.append((int(pair[0]), int(pair[1])))
        return tuple(pairs)
    raise ValueError(
        f"{name} must be an int, {d} ints, {d} (before, after) pairs or 'Same', got {padding!r}"
    )


def conv_output_size(
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """Output size of a convolution or pooling: floor((n + lo + hi - span) / stride) + 1 per
    dimension, with span = dilation (k - 1) + 1. Non-positive entries mean the kernel does not
    fit (callers report it)."""
    return tuple(
        (n + lo + hi - (dl * (k - 1) + 1)) // s + 1
        for n, k, s, (lo, hi), dl in zip(spatial, kernel, stride, padding, dilation)
    )


def deconv_output_size(
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """Output size of a transposed convolution: (n - 1) stride + span - lo - hi."""
    return tuple(
        (n - 1) * s + dl * (k - 1) + 1 - lo - hi
        for n, k, s, (lo, hi), dl in zip(spatial, kernel, stride, padding, dilation)
    )


def _check_input(x: Tensor, name: str, min_d: int = 1) -> int:
    d = x.ndim - 2
    if d < min_d or d > 3:
        raise ValueError(
            f"{name}: input must have shape (N, C, S_1, ..., S_d) with 1 <= d <= 3 spatial "
            f"dimensions, got shape {x.shape}"
        )
    return d


def _filter_tensors(
    name: str, x: Any, weights: Any, biases: Any
) -> tuple[Tensor, Tensor, Tensor | None, int]:
    """The arguments of a (de)convolution as Tensors (biases may be None), and the number of
    spatial dimensions of the checked input."""
    x, w = as_tensor(x), as_tensor(weights)
    b = None if biases is None else as_tensor(biases)
    return x, w, b, _check_input(x, name)


def _check_biases(name: str, b: Tensor | None, n_out: int) -> None:
    if b is not None and b.shape != (n_out,):
        raise ValueError(f"{name}: biases must have shape ({n_out},), got {b.shape}")


def _with_bias(items: tuple[Any, ...], bias_item: Any, b: Tensor | None) -> tuple[Any, ...]:
    """``items``, followed by ``bias_item`` when there are biases ``b`` (parents, gradients)."""
    return items if b is None else (*items, bias_item)


def _zero_pad(a: Any, padding: tuple[tuple[int, int], ...], value: float = 0.0) -> Any:
    """``a`` (N, C, *S) with its spatial dimensions padded by a constant (no copy if no
    padding; else a buffer of the scratch pool)."""
    if not any(lo or hi for lo, hi in padding):
        return a
    N, C, *S = a.shape
    shape = (N, C, *(n + lo + hi for n, (lo, hi) in zip(S, padding)))
    out = _scratch.empty(shape, a.dtype)
    out.fill(value)
    out[(slice(None), slice(None), *(slice(lo, lo + n) for n, (lo, _) in zip(S, padding)))] = a
    return out


def _crop(a: Any, padding: tuple[tuple[int, int], ...], lead: int = 2) -> Any:
    """The inverse of :func:`_zero_pad` on the trailing dimensions (a view)."""
    if not any(lo or hi for lo, hi in padding):
        return a
    tail = tuple(slice(lo, n - hi) for n, (lo, hi) in zip(a.shape[lead:], padding))
    return a[(slice(None),) * lead + tail]


def _windows(
    a: Any, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> Any:
    """Strided view (N, C, *out, *kernel) of every window of ``a`` (N, C, *S): element
    [n, c, i.., p..] is a[n, c, i stride + p dilation ..]. No copy."""
    d = len(kernel)
    span = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    view = xp.lib.stride_tricks.sliding_window_view(a, span, axis=tuple(range(2, 2 + d)))
    index = (
        slice(None),
        slice(None),
        *(slice(None, None, s) for s in stride),
        *(slice(None, None, dl) for dl in dilation),
    )
    return view[index]


_scratch = backend.scratch


def _contiguous(a: Any, copy: bool = False) -> Any:
    """``a`` as a C-contiguous array: itself when it is one (unless ``copy``), else a copy in
    a scratch-pool buffer (results included: the pool reuses a buffer only once nothing refers
    to it)."""
    if a.flags.c_contiguous and not copy:
        return a
    out = _scratch.empty(a.shape, a.dtype)
    xp.copyto(out, a)
    return out


class _Grid:
    """The geometry of a convolution and its column buffer.

    The "large" grid is the padded input of a convolution (the full output of a transposed
    one), the "small" grid its output. The column buffer holds one row per (channel, kernel
    offset) and one column per (example, output position), in one of two layouts:

    - channel-major (C, k_1, ..., k_d, N, O_1, ..., O_d): a whole batch is one matrix
      product (used when the per-example products are large);
    - example-major (N, C, k_1, ..., k_d, O_1, ..., O_d): one product per example, in one
      batched call, with no transposes of inputs and outputs (used when they are small).
    """

    def __init__(
        self,
        small: tuple[int, ...],
        large: tuple[int, ...],
        kernel: tuple[int, ...],
        stride: tuple[int, ...],
        dilation: tuple[int, ...],
        pads: tuple[tuple[int, int], ...],
        batch_first: bool = False,
    ) -> None:
        self.small, self.large = small, large
        self.kernel, self.stride, self.dilation, self.pads = kernel, stride, dilation, pads
        self.batch_first = batch_first
        self.d = len(small)
        self.positions = math.prod(small)
        self.offsets = list(itertools.product(*(range(k) for k in kernel)))

    def _slot(self, cols: Any, offs: tuple[int, ...]) -> Any:
        """The part of a column buffer for one kernel offset, in the buffer's axis order:
        (N, C, *small) example-major, (C, N, *small) channel-major."""
        if self.batch_first:
            return cols[(slice(None), slice(None), *offs)]
        return cols[(slice(None), *offs)]

    def _window(self, a: Any, offs: tuple[int, ...]) -> Any:
        """The (A, B, *small) view of an (A, B, *large) array seen by a kernel offset."""
        index = tuple(
            slice(o * dl, o * dl + (m - 1) * s + 1, s)
            for o, dl, m, s in zip(offs, self.dilation, self.small, self.stride)
        )
        return a[(slice(None), slice(None), *index)]

    def _numba_args(self, a_shape: tuple[int, ...]) -> tuple[Any, ...]:
        """The geometry as the Numba kernels take it: 1-D as 2-D with a unit height."""
        N, C, *unpadded = a_shape
        if self.d == 1:
            return (
                (N, C, 1, unpadded[0]),
                (1, self.kernel[0]),
                (1, self.small[0]),
                *(1, self.stride[0], 1, self.dilation[0], 0, self.pads[0][0]),
                not self.batch_first,
            )
        return (
            (N, C, *unpadded),
            self.kernel,
            self.small,
            *self.stride,
            *self.dilation,
            self.pads[0][0],
            self.pads[1][0],
            not self.batch_first,
        )

    def im2col(self, a: Any) -> Any:
        """The column buffer of ``a`` (N, C, *unpadded), in this grid's layout: one copy
        from the strided window view (no loop over examples or positions)."""
        N, C = a.shape[:2]
        d = self.d
        shape = (N, C, *self.kernel) if self.batch_first else (C, *self.kernel, N)
        cols = _scratch.empty((*shape, *self.small), a.dtype)
        padded = _zero_pad(a, self.pads)
        view = _windows(padded, self.kernel, self.stride, self.dilation)  # (N, C, *out, *k)
        kaxes, oaxes = tuple(range(2 + d, 2 + 2 * d)), tuple(range(2, 2 + d))
        order = (0, 1, *kaxes, *oaxes) if self.batch_first else (1, *kaxes, 0, *oaxes)
        xp.copyto(cols, view.transpose(order))
        return cols

    def col2im(self, cols: Any) -> Any:
        """The adjoint of :meth:`im2col`: a new (N, C, *unpadded) array, each column value
        added into the input position it came from, the padding cut off: one pass of a Numba
        loop in 1-D and 2-D, else one strided addition over all examples, channels and
        positions per kernel offset."""
        k = _kernels() if self.d <= 2 else False
        if k:
            N, C = cols.shape[:2] if self.batch_first else (cols.shape[1 + self.d], cols.shape[0])
            unpadded = tuple(n - lo - hi for n, (lo, hi) in zip(self.large, self.pads))
            out = _scratch.zeros((N, C, *unpadded), cols.dtype)
            flat = xp.ascontiguousarray(cols).reshape(-1)
            k.col2im(flat, out.reshape(-1), *self._numba_args(out.shape))
            return out
        # accumulate in the buffer's own (A, B) axis order so that the additions read it
        # in order; swap to (N, C) at the end
        A, B = cols.shape[:2] if self.batch_first else (cols.shape[0], cols.shape[1 + self.d])
        acc = _scratch.zeros((A, B, *self.large), cols.dtype)
        overlap = any(
            s < dl * (k - 1) + 1 for s, k, dl in zip(self.stride, self.kernel, self.dilation)
        )
        for offs in self.offsets:
            dst = self._window(acc, offs)
            if overlap:
                dst += self._slot(cols, offs)
            else:  # windows never share an element: each position is written once
                dst[...] = self._slot(cols, offs)
        grid = _crop(acc, self.pads)
        out = _contiguous(grid if self.batch_first else grid.swapaxes(0, 1))
        return out

    def rows(self, a: Any) -> Any:
        """(N, C, *small) -> an (N * positions, C) matrix: one row per (example, position)."""
        N, C = a.shape[:2]
        out = _scratch.empty((N, *self.small, C), a.dtype)
        xp.copyto(xp.moveaxis(out, -1, 1), a)
        return out.reshape(N * self.positions, C)

    def channel_major(self, a: Any) -> Any:
        """(N, C, *small) -> a (C, N * positions) matrix: one column per (example, position)."""
        N, C = a.shape[:2]
        out = _scratch.empty((C, N, *self.small), a.dtype)
        xp.copyto(out, a.swapaxes(0, 1))
        return out.reshape(C, N * self.positions)

    def batch_major(self, m: Any, biases: Any = None) -> Any:
        """A (C, N * positions) matrix -> a new contiguous (N, C, *small), plus biases (C,)."""
        C = m.shape[0]
        v = m.reshape(C, -1, *self.small).swapaxes(0, 1)
        out = _scratch.empty(v.shape, m.dtype)
        if biases is None:
            xp.copyto(out, v)
        else:
            xp.add(v, biases.reshape(C, *(1,) * self.d), out=out)
        return out


class _FlatGrid:
    """The geometry of a stride-1 convolution on a flattened, channel-major padded batch.

    The padded batch is stored as a (C, M + tail) matrix, M = N F and F the number of
    positions of one padded example (row-major). A kernel offset then moves every position
    by the same flat distance (its *shift*), so the column-buffer rows of one offset are one
    long contiguous slice of each channel's row: im2col is a single copy and col2im one
    addition per kernel offset, each over runs of M elements instead of one short image row
    at a time (which is what makes them memory-bound rather than overhead-bound). Outputs are
    computed at every padded position; those outside the output grid (the last
    ``span - 1`` rows and columns of each example) are cut off, and their upstream
    gradients are zero, so they add nothing to the input gradient. An output inside the
    grid reads only positions of its own example.
    """

    def __init__(
        self,
        N: int,
        spatial: tuple[int, ...],
        out: tuple[int, ...],
        kernel: tuple[int, ...],
        dilation: tuple[int, ...],
        pads: tuple[tuple[int, int], ...],
        itemsize: int,
    ) -> None:
        self.N, self.spatial, self.out, self.kernel, self.pads = N, spatial, out, kernel, pads
        self.padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads))
        strides = [math.prod(self.padded[i + 1 :]) for i in range(len(self.padded))]
        self.step = tuple(dl * st for dl, st in zip(dilation, strides))  # flat step per axis
        self.shifts = [
            sum(o * s for o, s in zip(offs, self.step))
            for offs in itertools.product(*(range(k) for k in kernel))
        ]
        self.M = N * math.prod(self.padded)
        self.tail = self.shifts[-1]
        self.itemsize = itemsize

    def _inner(self, a: Any) -> Any:
        """The (A, N, *unpadded) view of the input positions of an (A, M [+ tail]) matrix."""
        grid = a[:, : self.M].reshape(a.shape[0], self.N, *self.padded)
        inner = (slice(lo, lo + n) for n, (lo, _) in zip(self.spatial, self.pads))
        return grid[(slice(None), slice(None), *inner)]

    def _outer(self, a: Any) -> Any:
        """The (A, N, *out) view of the output positions of an (A, M) matrix."""
        grid = a[:, : self.M].reshape(a.shape[0], self.N, *self.padded)
        return grid[(slice(None), slice(None), *(slice(0, o) for o in self.out))]

    def flatten_input(self, x: Any) -> Any:
        """(N, C, *S) -> the padded (C, M + tail) matrix (a scratch buffer)."""
        flat = _scratch.zeros((x.shape[1], self.M + self.tail), x.dtype)
        xp.copyto(self._inner(flat), x.swapaxes(0, 1))
        return flat

    def _numba(self) -> Any:
        """The Numba kernels for 2-D grids (False: NumPy copies through strided views)."""
        return _kernels() if len(self.out) == 2 else False

    def flatten_output(self, g: Any) -> Any:
        """(N, n, *out) -> the (n, M) matrix, zero outside the output grid (a scratch buffer)."""
        k = self._numba()
        if k:
            flat = _scratch.empty((g.shape[1], self.M), g.dtype)
            k.flat_scatter(_contiguous(g), flat, *self.padded)
            return flat
        flat = _scratch.zeros((g.shape[1], self.M), g.dtype)
        xp.copyto(self._outer(flat), g.swapaxes(0, 1))
        return flat

    def columns(self, x: Any, ones: bool = False) -> Any:
        """The (C k.., M) column buffer of ``x`` (N, C, *S) (a scratch buffer): in 2-D one
        Numba pass per channel, else :meth:`flatten_input` then :meth:`im2col`. With
        ``ones``, a last row of ones follows (C k.. + 1 rows): a bias column in the weights
        then adds the biases within the product."""
        C, P = x.shape[1], len(self.shifts)
        buf = _scratch.empty((C * P + ones, self.M), x.dtype)
        if ones:
            buf[C * P] = 1
        cols = buf[: C * P].reshape(C, P, self.M)
        k = self._numba()
        if k:
            row = xp.empty(self.M + self.tail, dtype=x.dtype)
            shifts = xp.asarray(self.shifts, dtype=xp.int64)
            top, left = self.pads[0][0], self.pads[1][0]
            k.flat_im2col(_contiguous(x), shifts, cols, row, *self.padded, top, left)
        else:
            self.im2col(self.flatten_input(x), cols)
        return buf

    def im2col(self, flat: Any, cols: Any) -> None:
        """Fill ``cols`` (C, P, M), the column buffer of a (C, M + tail) matrix, rows in
        (channel, kernel offset) order: one copy from a strided view."""
        shape = (flat.shape[0], *self.kernel, self.M)
        view = xp.lib.stride_tricks.as_strided(
            flat,
            shape,
            (flat.strides[0], *(s * self.itemsize for s in self.step), self.itemsize),
            writeable=False,
        )
        xp.copyto(cols.reshape(shape), view)

    def col2im(self, cols: Any) -> Any:
        """The adjoint of :meth:`im2col`: a (C, M + tail) matrix (a scratch buffer) with each
        column value added into the position it came from, one addition per kernel offset."""
        C = cols.shape[0] // len(self.shifts)
        acc = _scratch.zeros((C, self.M + self.tail), cols.dtype)
        slots = cols.reshape(C, len(self.shifts), self.M)
        for p, shift in enumerate(self.shifts):
            acc[:, shift : shift + self.M] += slots[:, p]
        return acc

    def output(self, flat: Any, biases: Any = None) -> Any:
        """The (n, M) matrix -> a new contiguous (N, n, *out), plus biases (n,)."""
        k = self._numba()
        if k:
            out = _scratch.empty((self.N, flat.shape[0], *self.out), flat.dtype)
            has_bias = biases is not None
            k.flat_output(flat, biases if has_bias else flat[:, 0], out, *self.padded, has_bias)
            return out
        v = self._outer(flat).swapaxes(0, 1)
        out = _scratch.empty(v.shape, flat.dtype)
        xp.copyto(out, v)
        if biases is not None:  # on the contiguous result: twice as fast as while copying
            out += biases.reshape(-1, *(1,) * len(self.out))
        return out

    def input_gradient(self, gcols: Any) -> Any:
        """The column gradients (C k.., M) -> the input gradient, a new contiguous (N, C, *S):
        col2im, then the positions inside the padding (one Numba pass in 2-D)."""
        k = self._numba()
        if not k:
            v = self._inner(self.col2im(gcols)).swapaxes(0, 1)
            out = _scratch.empty(v.shape, gcols.dtype)
            xp.copyto(out, v)
            return out
        C = gcols.shape[0] // len(self.shifts)
        gx = _scratch.empty((self.N, C, *self.spatial), gcols.dtype)
        shifts = xp.asarray(self.shifts, dtype=xp.int64)
        top, left = self.pads[0][0], self.pads[1][0]
        acc = xp.empty(self.M + self.tail, dtype=gcols.dtype)
        slots = gcols.reshape(C, len(self.shifts), self.M)
        k.flat_col2im(slots, shifts, gx, acc, *self.padded, top, left)
        return gx


def _convolution_flat(
    x: Tensor,
    w: Tensor,
    b: Tensor | None,
    grid: _FlatGrid,
    groups: int,
) -> Tensor:
    """Stride-1 convolution through :class:`_FlatGrid` (see :func:`convolution`)."""
    X, Wt = x._data, w._data
    n_out = Wt.shape[0]
    og = n_out // groups
    W3 = Wt.reshape(groups, og, -1)
    K, M = W3.shape[2], grid.M
    if groups == 1 and b is not None:
        return _convolution_flat_biased(x, w, b, grid)
    cols = grid.columns(X).reshape(groups, K, M)
    Yflat = _scratch.empty((n_out, M), X.dtype)
    for i in range(groups):
        xp.matmul(W3[i], cols[i], out=Yflat[i * og : (i + 1) * og])
    Y = grid.output(Yflat, None if b is None else b._data)

    def backward(g: Any) -> tuple[Any, ...]:
        gx = gw = gb = None
        G = grid.flatten_output(g)  # (n, M)
        if w.requires_grad:
            gwt = xp.empty((groups, K, og), dtype=g.dtype)
            for i in range(groups):
                xp.matmul(cols[i], G[i * og : (i + 1) * og].T, out=gwt[i])
            gw = xp.ascontiguousarray(gwt.swapaxes(1, 2)).reshape(Wt.shape)
        if b is not None and b.requires_grad:
            gb = G @ xp.ones(M, dtype=G.dtype)  # a BLAS product: faster than a sum
        if x.requires_grad:
            # the column gradients overwrite the columns, no longer needed (one large
            # buffer fewer in the cache)
            gcols = cols
            for i in range(groups):
                xp.matmul(W3[i].T, G[i * og : (i + 1) * og], out=gcols[i])
            gx = grid.input_gradient(gcols.reshape(-1, M))
        return _with_bias((gx, gw), gb, b)

    return make_result(Y, _with_bias((x, w), b, b), backward, "convolution")


def _convolution_flat_biased(x: Tensor, w: Tensor, b: Tensor, grid: _FlatGrid) -> Tensor:
    """:func:`_convolution_flat` with biases and one group: the biases ride in the products
    (a row of ones under the columns, a bias column beside the weights), so that no pass adds
    them to the output and the bias gradient comes out of the weight gradient's product."""
    X, Wt = x._data, w._data
    n_out = Wt.shape[0]
    W2 = Wt.reshape(n_out, -1)
    K, M = W2.shape[1], grid.M
    cols = grid.columns(X, ones=True)  # (K + 1, M)
    Yflat = _scratch.empty((n_out, M), X.dtype)
    xp.matmul(xp.concatenate([W2, b._data.astype(W2.dtype)[:, None]], axis=1), cols, out=Yflat)
    Y = grid.output(Yflat)

    def backward(g: Any) -> tuple[Any, ...]:
        gx = gw = gb = None
        G = grid.flatten_output(g)  # (n, M)
        if w.requires_grad or b.requires_grad:
            gwb = cols @ G.T  # (K + 1, n)
            gw = xp.ascontiguousarray(gwb[:K].T).reshape(Wt.shape) if w.requires_grad else None
            gb = gwb[K].copy() if b.requires_grad else None
        if x.requires_grad:
            gcols = cols[:K]  # the columns are no longer needed: overwritten
            xp.matmul(W2.T, G, out=gcols)
            gx = grid.input_gradient(gcols)
        return gx, gw, gb

    return make_result(Y, (x, w, b), backward, "convolution")


# ---------------------------------------------------------------------- convolution


def _unused(g: Any) -> tuple[Any, ...]:  # pragma: no cover - never recorded
    raise RuntimeError("this result was computed without gradient recording")


def convolution(
    x: Any,
    weights: Any,
    biases: Any = None,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """Cross-correlation of a batch with a bank of kernels (what deep learning calls
    convolution), in 1, 2 or 3 spatial dimensions.

    y[n, o, i..] = b[o] + sum over c in o's group and kernel offsets p.. of
    w[o, c, p..] * xpad[n, c, i stride + p dilation ..].

    Parameters
    ----------
    x : Tensor of shape (N, C, S_1, ..., S_d), d in {1, 2, 3}
    weights : Tensor of shape (n, C / groups, k_1, ..., k_d)
    biases : Tensor of shape (n,), optional
    stride : int or d ints, default 1
    padding : int, d ints, d (before, after) pairs, or "Same", default 0
        Zeros added around each spatial dimension (see :func:`normalize_padding`).
    dilation : int or d ints, default 1
        Spacing between kernel elements.
    groups : int, default 1
        Channel groups: C and n are split into ``groups`` equal parts and each part of the
        output sees only its part of the input.

    Returns
    -------
    Tensor of shape (N, n, O_1, ..., O_d)
        O = floor((S + before + after - dilation (k - 1) - 1) / stride) + 1, in x's dtype.

    Notes
    -----
    Forward: one column buffer and one matrix product (weights (n, C k..) times columns
    (C k.., N O..)) for the whole batch, per channel group. Backward: the weight gradient is
    the columns times the transposed upstream gradient, the column gradient the transposed
    weights times the upstream gradient, scattered back by col2im: two more products.

    Raises
    ------
    ValueError
        For shapes that do not fit (channels, groups, a kernel larger than the padded input)
        or malformed stride, padding or dilation.
    """
    x, w, b, d = _filter_tensors("convolution", x, weights, biases)
    X, Wt = x._data, w._data
    if Wt.ndim != d + 2:
        raise ValueError(
            f"convolution: weights must have shape (n, C / groups, {', '.join(['k'] * d)}) for a "
            f"{d}-D input, got {Wt.shape}"
        )
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"convolution: groups must be a positive int, got {groups!r}")
    N, C, *S = X.shape
    n_out, cg, *kernel = Wt.shape
    kernel = tuple(kernel)
    if C % groups or n_out % groups:
        raise ValueError(
            f"convolution: input channels ({C}) and output channels ({n_out}) must both be "
            f"divisible by groups ({groups})"
        )
    if cg * groups != C:
        raise ValueError(
            f"convolution: weights of shape {Wt.shape} expect {cg * groups} input channels "
            f"({cg} per group, {groups} group(s)), got {C} (input shape {X.shape})"
        )
    _check_biases("convolution", b, n_out)
    stride = normalize_tuple(stride, d, "convolution stride")
    dilation = normalize_tuple(dilation, d, "convolution dilation")
    span = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    pads = normalize_padding(
        padding, d, "convolution padding", spatial=tuple(S), span=span, stride=stride
    )
    out = conv_output_size(tuple(S), kernel, stride, pads, dilation)
    if min(out) < 1:
        padded = tuple(n + lo + hi for n, (lo, hi) in zip(S, pads))
        raise ValueError(
            f"convolution: the kernel {kernel} (dilation {dilation}, spanning {span}) is larger "
            f"than the padded input {padded} (input {tuple(S)}, padding {pads})"
        )
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(S, pads))
    og = n_out // groups
    K = cg * math.prod(kernel)
    recording = is_grad_enabled() and any(t.requires_grad for t in (x, w, b) if t is not None)
    per_example = C * math.prod(kernel) * math.prod(out)
    if not recording and N > 1 and N * per_example > MAX_COLUMNS:
        # evaluation of a large batch: bound the column buffer by going a chunk at a time
        step = max(1, MAX_COLUMNS // per_example)
        kw = dict(stride=stride, padding=pads, dilation=dilation, groups=groups)
        parts = [convolution(X[i : i + step], w, b, **kw)._data for i in range(0, N, step)]
        return make_result(xp.concatenate(parts), _with_bias((x, w), b, b), _unused, "convolution")
    # small per-example products: one product per example (a batched call, example-major
    # layout); large ones: one product per group for the whole batch (channel-major layout)
    batch_first = og * K * math.prod(out) <= SMALL_PRODUCT
    if not batch_first and all(s == 1 for s in stride):
        flat = _FlatGrid(N, tuple(S), out, kernel, dilation, pads, X.dtype.itemsize)
        return _convolution_flat(x, w, b, flat, groups)
    grid = _Grid(out, padded, kernel, stride, dilation, pads, batch_first)
    L = grid.positions
    M = N * L
    cols = grid.im2col(X)
    W3 = Wt.reshape(groups, og, K)
    bias = None if b is None else b._data
    if batch_first:
        c = cols.reshape(N, groups, K, L)
        Y = xp.matmul(W3, c, out=_scratch.empty((N, groups, og, L), X.dtype))
        Y = Y.reshape(N, n_out, *out)
        if bias is not None:
            Y += bias.reshape(n_out, *(1,) * d)
    else:
        c = cols.reshape(groups, K, M)
        Y2 = _scratch.empty((groups, og, M), X.dtype)
        for i in range(groups):
            xp.matmul(W3[i], c[i], out=Y2[i])
        Y = grid.batch_major(Y2.reshape(n_out, M), bias)

    def backward(g: Any) -> tuple[Any, ...]:
        gx = gw = gb = None
        if batch_first:
            g4 = g.reshape(N, groups, og, L)
            if w.requires_grad:
                gwt = _scratch.empty((N, groups, K, og), g.dtype)
                xp.matmul(c, g4.swapaxes(-1, -2), out=gwt)
                gw = gwt.sum(axis=0)
            if x.requires_grad:
                gcols = _scratch.empty((N, groups, K, L), g.dtype)
                xp.matmul(W3.swapaxes(-1, -2), g4, out=gcols)
        else:
            G = grid.rows(g)  # (M, n): rows are (example, position) pairs
            if w.requires_grad:
                gw = xp.empty((groups, K, og), dtype=g.dtype)
                for i in range(groups):
                    xp.matmul(c[i], G[:, i * og : (i + 1) * og], out=gw[i])
            if x.requires_grad:
                gcols = _scratch.empty((groups, K, M), g.dtype)
                for i in range(groups):
                    xp.matmul(W3[i].T, G[:, i * og : (i + 1) * og].T, out=gcols[i])
        if gw is not None:
            gw = xp.ascontiguousarray(gw.swapaxes(-1, -2)).reshape(Wt.shape)
        if b is not None and b.requires_grad:
            gb = g.reshape(N, n_out, -1).sum(axis=2).sum(axis=0)
        if x.requires_grad:
            shape = (N, C, *kernel) if batch_first else (C, *kernel, N)
            gx = grid.col2im(gcols.reshape(*shape, *out))
        return _with_bias((gx, gw), gb, b)

    return make_result(Y, _with_bias((x, w), b, b), backward, "convolution")


def deconvolution(
    x: Any,
    weights: Any,
    biases: Any = None,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
) -> Tensor:
    """Transposed convolution (also called fractionally strided convolution or, loosely,
    deconvolution): the adjoint of :func:`convolution` with respect to its input, in 1, 2 or
    3 spatial dimensions.

    Each input element scatters ``x[n, c, i..] * w[c, o, p..]`` to output position
    ``i stride + p dilation - before``; positions cut off by ``padding`` are dropped.

    Parameters
    ----------
    x : Tensor of shape (N, C, S_1, ..., S_d)
    weights : Tensor of shape (C, n, k_1, ..., k_d)
        As PyTorch's ``conv_transpose``: the weights of the convolution it transposes.
    biases : Tensor of shape (n,), optional
    stride : int or d ints, default 1
    padding : int, d ints or d (before, after) pairs, default 0
        Elements removed from each side of the full output.
    dilation : int or d ints, default 1

    Returns
    -------
    Tensor of shape (N, n, O_1, ..., O_d)
        O = (S - 1) stride + dilation (k - 1) + 1 - before - after.

    Raises
    ------
    ValueError
        For shapes that do not fit or an output size below 1.
    """
    x, w, b, d = _filter_tensors("deconvolution", x, weights, biases)
    X, Wt = x._data, w._data
    N, C, *S = X.shape
    if Wt.ndim != d + 2 or Wt.shape[0] != C:
        raise ValueError(
            f"deconvolution: weights must have shape ({C}, n, {', '.join(['k'] * d)}) for an "
            f"input of shape {X.shape}, got {Wt.shape}"
        )
    _, n_out, *kernel = Wt.shape
    kernel = tuple(kernel)
    _check_biases("deconvolution", b, n_out)
    stride = normalize_tuple(stride, d, "deconvolution stride")
    dilation = normalize_tuple(dilation, d, "deconvolution dilation")
    pads = normalize_padding(padding, d, "deconvolution padding")
    out = deconv_output_size(tuple(S), kernel, stride, pads, dilation)
    if min(out) < 1:
        raise ValueError(
            f"deconvolution: padding {pads} removes the whole output for input {tuple(S)}, "
            f"kernel {kernel}, stride {stride}"
        )
    full = tuple(o + lo + hi for o, (lo, hi) in zip(out, pads))
    grid = _Grid(tuple(S), full, kernel, stride, dilation, pads)
    M = N * grid.positions
    W2 = Wt.reshape(C, n_out * math.prod(kernel))
    XC = grid.channel_major(X)  # (C, M)
    cols = _scratch.empty((W2.shape[1], M), X.dtype)
    xp.matmul(W2.T, XC, out=cols)
    Y = grid.col2im(cols.reshape(n_out, *kernel, N, *S))
    if b is not None:
        Y += b._data.reshape(n_out, *(1,) * d)

    def backward(g: Any) -> tuple[Any, ...]:
        gcols = grid.im2col(g).reshape(-1, M)  # (n k.., M)
        gx = gw = gb = None
        if x.requires_grad:
            gxc = _scratch.empty((C, M), g.dtype)
            xp.matmul(W2, gcols, out=gxc)
            gx = grid.batch_major(gxc)
        if w.requires_grad:
            XR = grid.rows(X)  # (M, C)
            gw = xp.ascontiguousarray((gcols @ XR).T).reshape(Wt.shape)
        if b is not None and b.requires_grad:
            gb = g.sum(axis=(0, *range(2, 2 + d)))
        return _with_bias((gx, gw), gb, b)

    return make_result(Y, _with_bias((x, w), b, b), backward, "deconvolution")


# ---------------------------------------------------------------------- pooling


def pooling(
    x: Any,
    kernel: Any,
    stride: Any = None,
    padding: Any = 0,
    function: str = "Max",
) -> Tensor:
    """Max, mean or total over sliding windows of each channel, in 1, 2 or 3 dimensions.

    Parameters
    ----------
    x : Tensor of shape (N, C, S_1, ..., S_d)
    kernel : int or d ints
    stride : int or d ints, optional
        Default: the kernel (non-overlapping windows).
    padding : int, d ints or d (before, after) pairs, default 0
        Each side's padding must be smaller than the kernel, so that every window holds at
        least one input element. Max pooling pads with -infinity (padding never wins); mean
        and total pooling pad with zeros, and the mean divides by the full window size
        (PyTorch's ``count_include_pad=True``).
    function : {"Max", "Mean", "Total"}, default "Max"

    Returns
    -------
    Tensor of shape (N, C, O_1, ..., O_d)
        O = floor((S + before + after - k) / stride) + 1.

    Notes
    -----
    The gradient of max pooling goes to the first maximum of each window (in row-major order
    within the window, as PyTorch's ``max_pool``), so each window passes on exactly its
    upstream value.

    Raises
    ------
    ValueError
        For an unknown function, padding not smaller than the kernel, or a kernel larger than
        the padded input.
    """
    x = as_tensor(x)
    d = _check_input(x, "pooling")
    if function not in POOLING_FUNCTIONS:
        raise ValueError(f"pooling: function must be one of {POOLING_FUNCTIONS}, got {function!r}")
    X = x._data
    N, C, *S = X.shape
    kernel = normalize_tuple(kernel, d, "pooling kernel")
    stride = kernel if stride is None else normalize_tuple(stride, d, "pooling stride")
    pads = normalize_padding(padding, d, "pooling padding")
    if any(lo >= k or hi >= k for (lo, hi), k in zip(pads, kernel)):
        raise ValueError(f"pooling: padding {pads} must be smaller than the kernel {kernel}")
    ones = (1,) * d
    out = conv_output_size(tuple(S), kernel, stride, pads, ones)
    if min(out) < 1:
        padded = tuple(n + lo + hi for n, (lo, hi) in zip(S, pads))
        raise ValueError(
            f"pooling: the kernel {kernel} is larger than the padded input {padded} "
            f"(input {tuple(S)}, padding {pads})"
        )
    fill = -xp.inf if function == "Max" else 0.0
    Xp = _zero_pad(X, pads, fill)
    padded = Xp.shape[2:]
    offsets = list(itertools.product(*(range(k) for k in kernel)))

    def window(a: Any, offs: tuple[int, ...]) -> Any:
        return a[
            (
                slice(None),
                slice(None),
                *(slice(o, o + (m - 1) * s + 1, s) for o, m, s in zip(offs, out, stride)),
            )
        ]

    overlap = any(s < k for s, k in zip(stride, kernel))
    size = math.prod(kernel)
    if function == "Max":
        Y = _contiguous(window(Xp, offsets[0]), copy=True)
        for offs in offsets[1:]:
            xp.maximum(Y, window(Xp, offs), out=Y)

        def backward_max(g: Any) -> tuple[Any]:
            # the first offset (row-major) whose value equals the window's maximum takes g
            acc = _scratch.zeros((N, C, *padded), g.dtype)
            taken = _scratch.zeros(Y.shape, bool)
            first = _scratch.empty(Y.shape, bool)
            for j, offs in enumerate(offsets):
                xp.equal(window(Xp, offs), Y, out=first)
                if j:
                    xp.greater(first, taken, out=first)  # equal and not yet taken
                if j < size - 1:
                    xp.logical_or(taken, first, out=taken)
                dst = window(acc, offs)
                if overlap:
                    dst += g * first
                else:
                    xp.multiply(g, first, out=dst)
            return (_contiguous(_crop(acc, pads)),)

        return make_result(Y, (x,), backward_max, "pooling")

    Y = _contiguous(window(Xp, offsets[0]), copy=True)
    for offs in offsets[1:]:
        Y += window(Xp, offs)
    scale = 1.0 / size if function == "Mean" else 1.0
    if function == "Mean":
        Y *= scale

    def backward_sum(g: Any) -> tuple[Any]:
        gs = g * scale if scale != 1.0 else g
        acc = _scratch.zeros((N, C, *padded), g.dtype)
        for offs in offsets:
            dst = window(acc, offs)
            if overlap:
                dst += gs
            else:
                dst[...] = gs
        return (_contiguous(_crop(acc, pads)),)

    return make_result(Y, (x,), backward_sum, "pooling")


# ---------------------------------------------------------------------- normalisation


def batch_normalization(
    x: Any,
    scale: Any,
    bias: Any,
    *,
    epsilon: float = 1e-3,
    mean: Any = None,
    variance: Any = None,
) -> tuple[Tensor, Any, Any]:
    """Batch normalisation over every axis but the channel axis 1.

    y = scale (x - mu) / sqrt(var + epsilon) + bias, per channel. Without ``mean`` and
    ``variance`` (training) mu and var are the batch's mean and biased variance over the
    examples and positions; with them (evaluation) those statistics are used as constants.

    Parameters
    ----------
    x : Tensor of shape (N, C) or (N, C, S_1, ..., S_d)
    scale, bias : Tensor of shape (C,)
    epsilon : float, default 1e-3
    mean, variance : arrays of shape (C,), optional
        Fixed statistics (the moving averages) for evaluation.

    Returns
    -------
    y : Tensor of x's shape
    batch_mean, batch_variance : arrays of shape (C,) or None
        The batch statistics (biased variance) in training; None in evaluation.

    Raises
    ------
    ValueError
        For shapes that do not fit, or in training when there is only one value per channel
        (N times the positions is 1), whose variance is undefined.
    """
    x, gamma, beta = as_tensor(x), as_tensor(scale), as_tensor(bias)
    X = x._data
    if X.ndim < 2:
        raise ValueError(f"batch_normalization: input must be (N, C, ...), got shape {X.shape}")
    C = X.shape[1]
    for name, t in (("scale", gamma), ("bias", beta)):
        if t.shape != (C,):
            raise ValueError(
                f"batch_normalization: {name} must have shape ({C},) for input {X.shape}, "
                f"got {t.shape}"
            )
    axes = (0, *range(2, X.ndim))
    bshape = (1, C, *(1,) * (X.ndim - 2))
    m = X.size // C if C else 0
    training = mean is None
    if training:
        if m <= 1:
            raise ValueError(
                f"batch_normalization: training needs more than one value per channel, got "
                f"input of shape {X.shape}; use a larger batch (or evaluation mode)"
            )
        mu = X.mean(axis=axes)
        centred = X - mu.reshape(bshape)
        var = (centred * centred).mean(axis=axes)
    else:
        mu = xp.asarray(mean, dtype=X.dtype)
        var = xp.asarray(variance, dtype=X.dtype)
        if mu.shape != (C,) or var.shape != (C,):
            raise ValueError(
                f"batch_normalization: mean and variance must have shape ({C},), got "
                f"{mu.shape} and {var.shape}"
            )
        centred = X - mu.reshape(bshape)
    inv = (1.0 / xp.sqrt(var + epsilon)).astype(X.dtype)
    xhat = centred
    xhat *= inv.reshape(bshape)
    G = gamma._data.reshape(bshape)
    Y = xhat * G + beta._data.reshape(bshape)

    def backward(g: Any) -> tuple[Any, Any, Any]:
        gx = gg = gb = None
        sum_g = g.sum(axis=axes)
        sum_gx = (g * xhat).sum(axis=axes)
        if gamma.requires_grad:
            gg = sum_gx
        if beta.requires_grad:
            gb = sum_g
        if x.requires_grad:
            k = (gamma._data * inv).reshape(bshape)
            if training:
                gx = (g - (sum_g / m).reshape(bshape) - xhat * (sum_gx / m).reshape(bshape)) * k
            else:
                gx = g * k
        return gx, gg, gb

    y = make_result(Y, (x, gamma, beta), backward, "batch_normalization")
    return (y, mu, var) if training else (y, None, None)


# ---------------------------------------------------------------------- padding


def pad(x: Any, widths: Any, value: float = 0.0) -> Tensor:
    """Pad every axis of ``x`` with a constant.

    Parameters
    ----------
    x : Tensor
    widths : sequence of (before, after) pairs, one per axis of x
    value : float, default 0

    Returns
    -------
    Tensor
        Of shape ``x.shape[i] + before_i + after_i`` along each axis.

    Raises
    ------
    ValueError
        For a wrong number of pairs or negative widths.
    """
    x = as_tensor(x)
    X = x._data
    if len(widths) != X.ndim:
        raise ValueError(
            f"pad: need {X.ndim} (before, after) pairs for shape {X.shape}, got {widths!r}"
        )
    pairs = []
    for p in widths:
        lo, hi = (int(v) for v in p)
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: widths must be non-negative, got {widths!r}")
        pairs.append((lo, hi))
    shape = tuple(n + lo + hi for n, (lo, hi) in zip(X.shape, pairs))
    Y = _scratch.empty(shape, X.dtype)
    Y.fill(value)
    inner = tuple(slice(lo, lo + n) for n, (lo, _) in zip(X.shape, pairs))
    Y[inner] = X
    return make_result(Y, (x,), lambda g: (g[inner],), "pad")
