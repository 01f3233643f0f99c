"""Layers for convolutional nets: ConvolutionLayer, DeconvolutionLayer, PoolingLayer,
BatchNormalizationLayer, FlattenLayer, ReshapeLayer and PaddingLayer.

Shapes are per example and channels first: ``(C, L)`` for a sequence of feature vectors
(1-D), ``(C, H, W)`` for an image (2-D). A kernel given as one int applies to every spatial
dimension, and the layer takes its dimensionality from its input; a tuple fixes it.
The computations are the fused primitives of :mod:`netchain.autodiff.conv`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from netchain import autodiff as ad
from netchain.autodiff import Tensor
from netchain.autodiff.conv import (
    POOLING_FUNCTIONS,
    conv_output_size,
    deconv_output_size,
    normalize_padding,
    normalize_tuple,
    pad,
)
from netchain.backend import xp
from netchain.layers.base import Context, Layer, Shape, ShapeError, format_shape

__all__ = [
    "BatchNormalizationLayer",
    "ConvolutionLayer",
    "DeconvolutionLayer",
    "FlattenLayer",
    "PaddingLayer",
    "PoolingLayer",
    "ReshapeLayer",
]


# ---------------------------------------------------------------------- argument helpers


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _size_spec(value: Any, name: str, minimum: int = 1) -> int | tuple[int, ...]:
    """An int, or a tuple of 1 to 3 ints (fixing the dimensionality), each >= minimum."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
        return int(value)
    if isinstance(value, tuple | list) and 1 <= len(value) <= 3:
        return normalize_tuple(value, len(value), name, minimum)
    raise ValueError(f"{name} must be an int or a tuple of 1 to 3 ints, got {value!r}")


def _padding_spec(value: Any, name: str, allow_same: bool = True) -> Any:
    """Validate a padding_size now (its dimensionality may only be known later)."""
    if isinstance(value, str):
        if value != "Same" or not allow_same:
            choices = "an int, a tuple, (before, after) pairs" + (
                " or 'Same'" if allow_same else ""
            )
            raise ValueError(f"{name} must be {choices}, got {value!r}")
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
        return int(value)
    if isinstance(value, tuple | list) and 1 <= len(value) <= 3:
        pairs = normalize_padding(value, len(value), name)
        if all(lo == hi for lo, hi in pairs):
            return tuple(lo for lo, _ in pairs)
        return pairs
    raise ValueError(
        f"{name} must be an int, one int per spatial dimension, (before, after) pairs"
        + (" or 'Same'" if allow_same else "")
        + f", got {value!r}"
    )


def _input_spec(value: Any, layer: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, tuple | list) or not 2 <= len(value) <= 4:
        raise ValueError(f"{layer} input must be (C, L), (C, H, W) or (C, D, H, W), got {value!r}")
    return normalize_tuple(value, len(value), f"{layer} input")


def _dims_of(spec: Any) -> int | None:
    return len(spec) if isinstance(spec, tuple) else None


def _spatial(shape: Shape, specs: dict[str, Any]) -> tuple[int, tuple[int, ...]]:
    """Split an example shape (C, *S) and check it against the dimensionality of the specs."""
    if any(s is None for s in shape):
        raise ShapeError(f"port 'Input' needs a fixed shape, got {format_shape(shape)}")
    if not 2 <= len(shape) <= 4:
        raise ShapeError(
            f"port 'Input' expects (channels, length), (channels, height, width) or "
            f"(channels, depth, height, width), got {format_shape(shape)}"
        )
    C, *S = shape
    d = len(S)
    for name, spec in specs.items():
        k = _dims_of(spec)
        if k is not None and k != d:
            raise ShapeError(
                f"{name} {spec} is {k}-D but the input {format_shape(shape)} has {d} spatial "
                f"dimension(s)"
            )
    return int(C), tuple(int(s) for s in S)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def _fmt(value: Any) -> str:
    return str(value) if not isinstance(value, tuple) else format_shape(value).replace(",)", ")")


def _changed(layer: Layer, defaults: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The attributes of ``layer`` that differ from their defaults, in the given order."""
    return {key: getattr(layer, key) for key, default in defaults if getattr(layer, key) != default}


def _config_of(layer: Layer, defaults: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The non-default attributes as JSON-compatible values (for ``config``)."""
    return {key: _jsonable(value) for key, value in _changed(layer, defaults).items()}


def _summary_of(layer: Layer, defaults: tuple[tuple[str, Any], ...]) -> list[str]:
    """The non-default attributes as ``key=value`` parts (for ``summary``)."""
    return [
        f"{key}={repr(value) if isinstance(value, str) else _fmt(value)}"
        for key, value in _changed(layer, defaults).items()
    ]


def _filters_and_kernel(
    layer: Layer,
    n: Any,
    kernel: Any,
    weights: Any,
    n_axis: int,
    weights_form: str,
    n_word: str,
) -> tuple[int, Any]:
    """Validate n and kernel of a (de)convolution, or take them from fixed ``weights``.

    ``n_axis`` is the axis of the weights that counts the output channels; ``weights_form``
    and ``n_word`` word the errors.
    """
    name = type(layer).__name__
    if n is not None:
        n = _positive_int(n, f"{name} n")
    if kernel is not None:
        kernel = _size_spec(kernel, f"{name} kernel")
    if weights is not None:
        layer.set_array("Weights", weights)
        W = layer.arrays["Weights"]
        if not 3 <= W.ndim <= 5:
            raise ValueError(f"{name} weights must have shape {weights_form}, got {W.shape}")
        wk = tuple(int(s) for s in W.shape[2:])
        if n is not None and W.shape[n_axis] != n:
            raise ValueError(f"{name} weights have {W.shape[n_axis]} {n_word} but n = {n}")
        if kernel is not None and normalize_tuple(kernel, len(wk), "kernel") != wk:
            raise ValueError(f"{name} weights have kernel {wk}, not {kernel}")
        n, kernel = int(W.shape[n_axis]), wk
    if n is None or kernel is None:
        raise ValueError(f"{name} needs n and kernel (or weights=)")
    return n, kernel


def _set_biases(layer: Layer, biases: Any, n: int, weights: Any) -> None:
    """Disable the biases (``False``) or set fixed ones of shape (n,) in the weights' dtype."""
    if biases is False:
        layer.disabled.add("Biases")
    elif biases is not None:
        dtype = layer.arrays["Weights"].dtype if weights is not None else None
        layer.set_array("Biases", biases, dtype)
        if layer.arrays["Biases"].shape != (n,):
            raise ValueError(
                f"{type(layer).__name__} biases must have shape ({n},), got "
                f"{layer.arrays['Biases'].shape}"
            )


def _window_geometry(
    shape: Shape, kernel: Any, stride: Any, padding_size: Any
) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...], Any]:
    """Channels, spatial size, kernel, stride (default: the kernel) and explicit pads of a
    window sliding over an input of ``shape``."""
    C, S = _spatial(shape, {"kernel": kernel, "stride": stride, "padding_size": padding_size})
    d = len(S)
    k = normalize_tuple(kernel, d, "kernel")
    st = k if stride is None else normalize_tuple(stride, d, "stride")
    return C, S, k, st, normalize_padding(padding_size, d)


def _reshape_forward(layer: Layer, inputs: list[Tensor]) -> Tensor:
    """Reshape each example of the batch to the layer's output shape."""
    x = inputs[0]
    return ad.reshape(x, (x.shape[0], *layer.output_shapes[0]))


# ---------------------------------------------------------------------- convolution

_POOLING_DEFAULTS = (("stride", None), ("function", "Max"), ("padding_size", 0))


class _FilterLayer(Layer):
    """What ConvolutionLayer and DeconvolutionLayer share: n filters of a kernel, optional
    biases and input shape, and the optional arguments in ``_defaults`` (name, default), in
    config and summary order."""

    _defaults: tuple[tuple[str, Any], ...] = ()
    n: int
    kernel: Any
    input: tuple[int, ...] | None

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"n": self.n, "kernel": _jsonable(self.kernel)}
        cfg.update(_config_of(self, self._defaults))
        if "Biases" in self.disabled:
            cfg["biases"] = False
        if self.input is not None:
            cfg["input"] = list(self.input)
        return cfg

    def declared_input_shapes(self) -> list[Shape | None]:
        return [self.input]

    def summary(self) -> str:
        parts = [str(self.n), _fmt(self.kernel), *_summary_of(self, self._defaults)]
        return f"{type(self).__name__}[{', '.join(parts)}]"


class ConvolutionLayer(_FilterLayer):
    """A trainable convolution over 1-D sequences (C, L) or 2-D images (C, H, W).

    Each of the ``n`` output channels is a bias plus the cross-correlation of a kernel with
    the input's channels (of its channel group); output size per dimension
    floor((S + before + after - dilation (k - 1) - 1) / stride) + 1.

    Parameters
    ----------
    n : int, optional
        Output channels. May be omitted when ``weights`` are given.
    kernel : int or tuple of int, optional
        Kernel size; one int applies to every spatial dimension of the input, a tuple fixes
        the dimensionality (``(5,)`` 1-D, ``(5, 5)`` 2-D). May be omitted with ``weights``.
    stride : int or tuple of int, default 1
    padding_size : int, tuple of int, tuple of (before, after) pairs, or "Same", default 0
        Zeros added around the input; "Same" keeps the size for stride 1 (output size
        ceil(S / stride) in general, the extra element at the end when the total is odd).
    dilation : int or tuple of int, default 1
        Spacing between kernel elements.
    channel_groups : int, default 1
        Splits input and output channels into this many groups connected only group to
        group (``channel_groups`` = C gives a depthwise convolution).
    weights : array_like of shape (n, C / channel_groups, *kernel), optional
        Fixed initial weights (otherwise initialised by NetInitialize / NetTrain).
    biases : array_like of shape (n,), None or False, optional
        Initial biases (None: zeros at initialisation; False: no biases).
    input : tuple of int, optional
        The input shape (C, *S), if the layer comes first.

    Notes
    -----
    Arrays: "Weights" (n, C / channel_groups, *kernel), initialised by Kaiming's method with
    fan-in C / channel_groups * prod(kernel); "Biases" (n,). Computed by
    :func:`netchain.autodiff.convolution` (im2col plus one matrix product).

    Raises
    ------
    ValueError
        For malformed arguments; when the net is built or given data, a :class:`ShapeError`
        (a ValueError) naming the layer and the shapes if channels do not divide into groups or
        the kernel is larger than the padded input.

    Examples
    --------
    >>> from netchain import NetChain, ConvolutionLayer, Ramp, PoolingLayer
    >>> net = NetChain([ConvolutionLayer(6, 5, padding_size=2), Ramp, PoolingLayer(2)],
    ...                input=(1, 28, 28))
    >>> net.output_shape
    (6, 14, 14)
    """

    array_names = ("Weights", "Biases")
    _defaults = (("stride", 1), ("padding_size", 0), ("dilation", 1), ("channel_groups", 1))

    def __init__(
        self,
        n: int | None = None,
        kernel: Any = None,
        stride: Any = 1,
        padding_size: Any = 0,
        dilation: Any = 1,
        channel_groups: int = 1,
        weights: Any = None,
        biases: Any = None,
        input: Any = None,
    ) -> None:
        super().__init__()
        self.stride = _size_spec(stride, "ConvolutionLayer stride")
        self.dilation = _size_spec(dilation, "ConvolutionLayer dilation")
        self.padding_size = _padding_spec(padding_size, "ConvolutionLayer padding_size")
        self.channel_groups = _positive_int(channel_groups, "ConvolutionLayer channel_groups")
        n, kernel = _filters_and_kernel(
            self,
            n,
            kernel,
            weights,
            0,
            "(n, C / channel_groups, *kernel) with 1 to 3 kernel dimensions",
            "filters",
        )
        if n % self.channel_groups:
            raise ValueError(
                f"ConvolutionLayer: n = {n} output channels do not divide into "
                f"{self.channel_groups} channel_groups"
            )
        self.n = n
        self.kernel = kernel
        _set_biases(self, biases, n, weights)
        self.input = _input_spec(input, "ConvolutionLayer")

    def _geometry(self, shape: Shape) -> tuple[int, tuple[int, ...], dict[str, Any]]:
        C, S = _spatial(
            shape,
            {
                "kernel": self.kernel,
                "stride": self.stride,
                "dilation": self.dilation,
                "padding_size": self.padding_size
                if not isinstance(self.padding_size, str)
                else None,
            },
        )
        d = len(S)
        kernel = normalize_tuple(self.kernel, d, "kernel")
        stride = normalize_tuple(self.stride, d, "stride")
        dilation = normalize_tuple(self.dilation, d, "dilation")
        span = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
        pads = normalize_padding(self.padding_size, d, spatial=S, span=span, stride=stride)
        return C, S, {"kernel": kernel, "stride": stride, "dilation": dilation, "pads": pads}

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        C, S, g = self._geometry(shape)
        groups = self.channel_groups
        if C % groups:
            raise ShapeError(
                f"input {format_shape(shape)} has {C} channels, which do not divide into "
                f"{groups} channel_groups"
            )
        W = self.arrays.get("Weights")
        if W is not None and W.shape[1] * groups != C:
            raise ShapeError(
                f"port 'Input' expects {W.shape[1] * groups} channels (weights of shape "
                f"{format_shape(W.shape)}, {groups} channel group(s)), got input {format_shape(shape)}"
            )
        out = conv_output_size(S, g["kernel"], g["stride"], g["pads"], g["dilation"])
        if min(out) < 1:
            padded = tuple(s + lo + hi for s, (lo, hi) in zip(S, g["pads"]))
            span = tuple(dl * (k - 1) + 1 for k, dl in zip(g["kernel"], g["dilation"]))
            raise ShapeError(
                f"the kernel {_fmt(g['kernel'])} (spanning {_fmt(span)} with dilation "
                f"{_fmt(g['dilation'])}) is larger than the padded input {_fmt(padded)} "
                f"(input {format_shape(shape)}, padding {g['pads']})"
            )
        self.array_shapes = {
            "Weights": (self.n, C // groups, *g["kernel"]),
            "Biases": (self.n,),
        }
        return [(self.n, *out)]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return ad.convolution(
            inputs[0],
            arrays["Weights"],
            arrays.get("Biases"),
            stride=self.stride,
            padding=self.padding_size,
            dilation=self.dilation,
            groups=self.channel_groups,
        )


class DeconvolutionLayer(_FilterLayer):
    """A trainable transposed convolution ("deconvolution"): upsamples (C, H, W) images (or
    (C, L) sequences) to n channels.

    Output size per dimension: (S - 1) stride + k - before - after, so ``stride=2, kernel=2``
    doubles the size; the layer is the adjoint of a :class:`ConvolutionLayer` with the same
    kernel, stride and padding.

    Parameters
    ----------
    n : int, optional
        Output channels (may be omitted with ``weights``).
    kernel : int or tuple of int, optional
    stride : int or tuple of int, default 1
    padding_size : int, tuple of int or (before, after) pairs, default 0
        Elements cropped from each side of the full output.
    weights : array_like of shape (C, n, *kernel), optional
        As PyTorch's ``ConvTranspose2d`` weights.
    biases : array_like of shape (n,), None or False, optional
    input : tuple of int, optional

    Notes
    -----
    Arrays: "Weights" (C, n, *kernel), initialised by Kaiming's method with fan-in
    n prod(kernel) (PyTorch's convention for transposed convolutions); "Biases" (n,).

    Raises
    ------
    ValueError
        For malformed arguments; a :class:`ShapeError` naming the layer and shapes when the
        input does not fit the weights or the padding removes the whole output.
    """

    array_names = ("Weights", "Biases")
    _defaults = (("stride", 1), ("padding_size", 0))

    def __init__(
        self,
        n: int | None = None,
        kernel: Any = None,
        stride: Any = 1,
        padding_size: Any = 0,
        weights: Any = None,
        biases: Any = None,
        input: Any = None,
    ) -> None:
        super().__init__()
        self.stride = _size_spec(stride, "DeconvolutionLayer stride")
        self.padding_size = _padding_spec(
            padding_size, "DeconvolutionLayer padding_size", allow_same=False
        )
        n, kernel = _filters_and_kernel(
            self, n, kernel, weights, 1, "(C, n, *kernel)", "output channels"
        )
        self.n = n
        self.kernel = kernel
        _set_biases(self, biases, n, weights)
        self.input = _input_spec(input, "DeconvolutionLayer")

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        C, S, kernel, stride, pads = _window_geometry(
            shape, self.kernel, self.stride, self.padding_size
        )
        d = len(S)
        W = self.arrays.get("Weights")
        if W is not None and W.shape[0] != C:
            raise ShapeError(
                f"port 'Input' expects {W.shape[0]} channels (weights of shape "
                f"{format_shape(W.shape)}), got input {format_shape(shape)}"
            )
        out = deconv_output_size(S, kernel, stride, pads, (1,) * d)
        if min(out) < 1:
            raise ShapeError(
                f"padding {pads} removes the whole output for input {format_shape(shape)}, "
                f"kernel {_fmt(kernel)} and stride {_fmt(stride)}"
            )
        self.array_shapes = {"Weights": (C, self.n, *kernel), "Biases": (self.n,)}
        return [(self.n, *out)]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return ad.deconvolution(
            inputs[0],
            arrays["Weights"],
            arrays.get("Biases"),
            stride=self.stride,
            padding=self.padding_size,
        )


# ---------------------------------------------------------------------- pooling


class PoolingLayer(Layer):
    """Max, mean or total pooling over windows of each channel, 1-D (C, L) or 2-D (C, H, W).

    Parameters
    ----------
    kernel : int or tuple of int
        Window size (one int: every spatial dimension of the input).
    stride : int or tuple of int, optional
        Default: the kernel (non-overlapping windows).
    function : {"Max", "Mean", "Total"}, default "Max"
    padding_size : int, tuple of int or (before, after) pairs, default 0
        Each smaller than the kernel. Max pooling never picks padding; mean pooling counts
        padded zeros in the window size (PyTorch's default).

    Notes
    -----
    Output size floor((S + before + after - k) / stride) + 1. The gradient of max pooling goes
    to the first maximum of each window. Computed by :func:`netchain.autodiff.pooling`.

    Raises
    ------
    ValueError
        For an unknown function or malformed sizes; a :class:`ShapeError` naming the layer and
        shapes when the window is larger than the padded input.
    """

    def __init__(
        self, kernel: Any, stride: Any = None, function: str = "Max", padding_size: Any = 0
    ) -> None:
        super().__init__()
        self.kernel = _size_spec(kernel, "PoolingLayer kernel")
        self.stride = None if stride is None else _size_spec(stride, "PoolingLayer stride")
        if function not in POOLING_FUNCTIONS:
            raise ValueError(
                f"PoolingLayer function must be one of {POOLING_FUNCTIONS}, got {function!r}"
            )
        self.function = function
        self.padding_size = _padding_spec(
            padding_size, "PoolingLayer padding_size", allow_same=False
        )

    def config(self) -> dict[str, Any]:
        return {"kernel": _jsonable(self.kernel), **_config_of(self, _POOLING_DEFAULTS)}

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        C, S, kernel, stride, pads = _window_geometry(
            shape, self.kernel, self.stride, self.padding_size
        )
        d = len(S)
        if any(lo >= k or hi >= k for (lo, hi), k in zip(pads, kernel)):
            raise ShapeError(f"padding {pads} must be smaller than the kernel {_fmt(kernel)}")
        out = conv_output_size(S, kernel, stride, pads, (1,) * d)
        if min(out) < 1:
            padded = tuple(s + lo + hi for s, (lo, hi) in zip(S, pads))
            raise ShapeError(
                f"the window {_fmt(kernel)} is larger than the padded input {_fmt(padded)} "
                f"(input {format_shape(shape)}, padding {pads})"
            )
        return [(C, *out)]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return ad.pooling(inputs[0], self.kernel, self.stride, self.padding_size, self.function)

    def summary(self) -> str:
        parts = [_fmt(self.kernel), *_summary_of(self, _POOLING_DEFAULTS)]
        return f"PoolingLayer[{', '.join(parts)}]"


# ---------------------------------------------------------------------- normalisation


class BatchNormalizationLayer(Layer):
    """Batch normalisation (Ioffe & Szegedy, 2015) per channel: the first axis of each example.

    In training each channel is normalised with the batch's mean and (biased) variance over
    the examples and positions, then scaled and shifted: y = Scaling (x - mean) /
    sqrt(var + epsilon) + Biases; the moving averages are updated as
    moving = momentum moving + (1 - momentum) batch, with the unbiased batch variance
    (m / (m - 1) times the biased one, m values per channel). In evaluation the moving
    statistics are used instead.

    Parameters
    ----------
    epsilon : float, default 0.001
    momentum : float, default 0.9
        Weight of the old moving statistics, in [0, 1).
    input : int or tuple of int, optional
        The input shape: (C,) vectors, (C, L) sequences or (C, H, W) images.

    Notes
    -----
    Arrays: "Scaling" (C,) starting at 1 and "Biases" (C,) at 0 (trained); "MovingMean" (C,)
    at 0 and "MovingVariance" (C,) at 1 (state, updated by training). Computed by
    :func:`netchain.autodiff.batch_normalization`.

    Raises
    ------
    ValueError
        For epsilon <= 0 or momentum outside [0, 1); in training, for batches with only one
        value per channel (a batch of one vector), whose variance is undefined.
    """

    array_names = ("Scaling", "Biases")
    state_names = ("MovingMean", "MovingVariance")

    def __init__(self, epsilon: float = 0.001, momentum: float = 0.9, input: Any = None) -> None:
        super().__init__()
        if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or not epsilon > 0:
            raise ValueError(f"BatchNormalizationLayer epsilon must be positive, got {epsilon!r}")
        if (
            not isinstance(momentum, numbers.Real)
            or isinstance(momentum, bool)
            or not 0 <= momentum < 1
        ):
            raise ValueError(
                f"BatchNormalizationLayer momentum must lie in [0, 1), got {momentum!r}"
            )
        self.epsilon = float(epsilon)
        self.momentum = float(momentum)
        self.input = None
        if input is not None:
            spec = (input,) if isinstance(input, numbers.Integral) else input
            if not isinstance(spec, tuple | list) or not spec:
                raise ValueError(f"BatchNormalizationLayer input must be a shape, got {input!r}")
            self.input = normalize_tuple(spec, len(spec), "BatchNormalizationLayer input")

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"epsilon": self.epsilon, "momentum": self.momentum}
        if self.input is not None:
            cfg["input"] = list(self.input)
        return cfg

    def declared_input_shapes(self) -> list[Shape | None]:
        return [self.input]

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        if len(shape) == 0 or any(s is None for s in shape):
            raise ShapeError(
                f"port 'Input' needs a fixed shape with a channel axis first, got "
                f"{format_shape(shape)}"
            )
        C = int(shape[0])
        self.array_shapes = {name: (C,) for name in (*self.array_names, *self.state_names)}
        return [tuple(shape)]

    def initial_array(self, name: str, rng: Any, method: str, dtype: Any) -> Any:
        shape = self.array_shapes[name]
        if name in ("Scaling", "MovingVariance"):
            return xp.ones(shape, dtype=dtype)
        return xp.zeros(shape, dtype=dtype)

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        scale, bias = arrays["Scaling"], arrays["Biases"]
        mean, var = arrays["MovingMean"].data, arrays["MovingVariance"].data
        if not ctx.training:
            y, _, _ = ad.batch_normalization(
                x, scale, bias, epsilon=self.epsilon, mean=mean, variance=var
            )
            return y
        m = x.size // x.shape[1]
        if m <= 1:
            raise ValueError(
                f"{self.name}: training needs more than one value per channel to estimate a "
                f"variance, got a batch of shape {tuple(x.shape)} (one example of shape "
                f"{format_shape(tuple(x.shape[1:]))}); use a batch of at least two examples"
            )
        y, batch_mean, batch_var = ad.batch_normalization(x, scale, bias, epsilon=self.epsilon)
        k = self.momentum
        unbiased = batch_var * (m / (m - 1))
        ctx.updates[(id(self), "MovingMean")] = (k * mean + (1 - k) * batch_mean).astype(mean.dtype)
        ctx.updates[(id(self), "MovingVariance")] = (k * var + (1 - k) * unbiased).astype(var.dtype)
        return y

    def summary(self) -> str:
        return "BatchNormalizationLayer"


# ---------------------------------------------------------------------- shapes


class FlattenLayer(Layer):
    """Flattens each example into a vector (or merges its first ``level + 1`` axes).

    Parameters
    ----------
    level : int, optional
        None (default) flattens everything: (C, H, W) -> (C H W,). ``level=k`` merges the
        first k + 1 axes: (C, H, W) with level 1 -> (C H, W) (the Wolfram Language's
        ``FlattenLayer[k]``).

    Raises
    ------
    ValueError
        For a level that is not a positive int, or not below the input's rank.
    """

    def __init__(self, level: int | None = None) -> None:
        super().__init__()
        self.level = None if level is None else _positive_int(level, "FlattenLayer level")

    def config(self) -> dict[str, Any]:
        return {} if self.level is None else {"level": self.level}

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        if any(s is None for s in shape):
            raise ShapeError(f"port 'Input' needs a fixed shape, got {format_shape(shape)}")
        if self.level is None:
            return [(math.prod(shape),)]
        if self.level >= len(shape):
            raise ShapeError(
                f"level {self.level} needs an input of rank above {self.level}, got "
                f"{format_shape(shape)}"
            )
        k = self.level + 1
        return [(math.prod(shape[:k]), *shape[k:])]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return _reshape_forward(self, inputs)

    def summary(self) -> str:
        return "FlattenLayer" if self.level is None else f"FlattenLayer[{self.level}]"


class ReshapeLayer(Layer):
    """Reshapes each example (the batch axis is kept).

    Parameters
    ----------
    shape : tuple of int
        The new shape of one example; one entry may be -1 (inferred from the size).

    Raises
    ------
    ValueError
        For entries that are not positive ints (or one -1); a :class:`ShapeError` when the
        input's size does not fit.
    """

    def __init__(self, shape: Any) -> None:
        super().__init__()
        if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
            shape = (shape,)
        if not isinstance(shape, tuple | list) or not shape:
            raise ValueError(f"ReshapeLayer shape must be a tuple of ints, got {shape!r}")
        for s in shape:
            if not isinstance(s, numbers.Integral) or isinstance(s, bool) or (s < 1 and s != -1):
                raise ValueError(
                    f"ReshapeLayer shape must hold positive ints and at most one -1, got {shape!r}"
                )
        if sum(1 for s in shape if s == -1) > 1:
            raise ValueError(f"ReshapeLayer shape may hold at most one -1, got {shape!r}")
        self.shape = tuple(int(s) for s in shape)

    def config(self) -> dict[str, Any]:
        return {"shape": list(self.shape)}

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        if any(s is None for s in shape):
            raise ShapeError(f"port 'Input' needs a fixed shape, got {format_shape(shape)}")
        size = math.prod(shape)
        known = math.prod(s for s in self.shape if s != -1)
        if -1 in self.shape:
            if size % known:
                raise ShapeError(
                    f"cannot reshape an input of shape {format_shape(shape)} ({size} elements) "
                    f"into {format_shape(self.shape)}"
                )
            out = tuple(size // known if s == -1 else s for s in self.shape)
        else:
            if known != size:
                raise ShapeError(
                    f"cannot reshape an input of shape {format_shape(shape)} ({size} elements) "
                    f"into {format_shape(self.shape)} ({known} elements)"
                )
            out = self.shape
        return [out]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return _reshape_forward(self, inputs)

    def summary(self) -> str:
        return f"ReshapeLayer[{format_shape(self.shape)}]"


PADDING_MODES = ("Fixed", "Periodic", "Reflected")


def _padding_index(n: int, lo: int, hi: int, mode: str) -> Any:
    """Source index along one axis for each padded position (edge, wrap, reflect)."""
    i = xp.arange(-lo, n + hi)
    if mode == "Fixed":
        return xp.clip(i, 0, n - 1)
    if mode == "Periodic":
        return i % n
    if n == 1:
        return xp.zeros_like(i)
    period = 2 * (n - 1)
    j = i % period
    return xp.where(j >= n, period - j, j)


class PaddingLayer(Layer):
    """Pads each example with margins on every axis.

    Parameters
    ----------
    margins : sequence of (before, after) pairs
        One pair per axis of the example, e.g. ``[(0, 0), (2, 2), (2, 2)]`` pads a (C, H, W)
        image by 2 pixels on each side and leaves the channels alone.
    padding : float or {"Fixed", "Periodic", "Reflected"}, default 0
        A number fills the margins with it; "Fixed" repeats the edge element, "Periodic" wraps
        around, "Reflected" mirrors without repeating the edge (NumPy's "edge", "wrap" and
        "reflect" modes).

    Raises
    ------
    ValueError
        For malformed margins or an unknown padding; a :class:`ShapeError` when the number of
        pairs differs from the input's rank, or "Reflected" margins reach beyond the input.
    """

    def __init__(self, margins: Any, padding: Any = 0.0) -> None:
        super().__init__()
        if not isinstance(margins, tuple | list) or not margins:
            raise ValueError(f"PaddingLayer margins must be (before, after) pairs, got {margins!r}")
        self.margins = normalize_padding(list(margins), len(margins), "PaddingLayer margins")
        if isinstance(padding, str):
            if padding not in PADDING_MODES:
                raise ValueError(
                    f"PaddingLayer padding must be a number or one of {PADDING_MODES}, got "
                    f"{padding!r}"
                )
        elif not isinstance(padding, numbers.Real) or isinstance(padding, bool):
            raise ValueError(f"PaddingLayer padding must be a number or a mode, got {padding!r}")
        else:
            padding = float(padding)
        self.padding = padding

    def config(self) -> dict[str, Any]:
        return {"margins": _jsonable(self.margins), "padding": self.padding}

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        if any(s is None for s in shape):
            raise ShapeError(f"port 'Input' needs a fixed shape, got {format_shape(shape)}")
        if len(shape) != len(self.margins):
            raise ShapeError(
                f"{len(self.margins)} margin pair(s) for an input of rank {len(shape)} "
                f"({format_shape(shape)}); give one (before, after) pair per axis"
            )
        if self.padding == "Reflected":
            for n, (lo, hi) in zip(shape, self.margins):
                if (lo or hi) and max(lo, hi) > n - 1:
                    raise ShapeError(
                        f"'Reflected' margins {self.margins} must be smaller than each axis of "
                        f"the input {format_shape(shape)}"
                    )
        return [tuple(n + lo + hi for n, (lo, hi) in zip(shape, self.margins))]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        if not isinstance(self.padding, str):
            return pad(x, [(0, 0), *self.margins], self.padding)
        for axis, (lo, hi) in enumerate(self.margins, start=1):
            if lo or hi:
                index = _padding_index(x.shape[axis], lo, hi, self.padding)
                x = ad.getitem(x, (slice(None),) * axis + (index,))
        return x

    def summary(self) -> str:
        pad = f", padding={self.padding!r}" if self.padding != 0.0 else ""
        return f"PaddingLayer[{list(self.margins)}{pad}]"
