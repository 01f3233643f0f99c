"""Recurrent layers over space: ConvolutionalLSTMLayer (sequences of images) and
MultidimensionalLSTMLayer (images scanned as two-dimensional sequences).

Both are one fused primitive of :mod:`netchain.autodiff.spatial_recurrent`. Shapes per example
are channels first: a sequence of images is (T, C, H, W) (T may be "Varying"), an image
(C, H, W).

Initialisation (whatever NetInitialize's method, as for the other recurrent layers): weights
uniform in +-sqrt(6 / (fan_in + fan_out)) (Glorot) per gate block, biases 0 except the forget
gates'. A ConvolutionalLSTMLayer's forget gates start at 1 (Jozefowicz, Zaremba & Sutskever,
2015). A MultidimensionalLSTMLayer's two forget gates start at 0 (each s(0) = 1/2): the cell
adds both neighbours' cells, and gates that start open would let it grow geometrically along
the diagonals (Leifert et al., 2016, discuss this instability of the original cell).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from netchain import autodiff as ad
from netchain.autodiff import Tensor
from netchain.autodiff.conv import normalize_tuple
from netchain.autodiff.spatial_recurrent import CORNERS
from netchain.backend import xp
from netchain.layers.base import Context, Layer, Shape, ShapeError, format_shape
from netchain.layers.structural import sequence_lengths, set_sequence_lengths

__all__ = ["ConvolutionalLSTMLayer", "MultidimensionalLSTMLayer"]


def _units(n: Any, layer: str) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{layer} needs a positive number of channels n, got {n!r}")
    return int(n)


def _glorot(rng: Any, shape: tuple[int, ...], fan_in: int, fan_out: int) -> Any:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


class ConvolutionalLSTMLayer(Layer):
    """A convolutional LSTM (Shi et al., 2015): sequences of images (T, C, *S) ->
    (T, n, *S), with states that are n-channel images and convolutions in place of the
    LSTM's matrix products.

    Parameters
    ----------
    n : int
        Channels of the hidden and cell states.
    kernel : int or tuple of int
        Kernel size of both convolutions (input-to-state and state-to-state); an int applies
        to every spatial dimension. Odd sizes keep the states centred (the padding is
        "Same": the output has the input's height and width).
    input : tuple, optional
        The sequence shape (T, C, *S), T an int or "Varying".

    Notes
    -----
    With i, f, o sigmoid gates and g the tanh candidate, all of W_x * x_t + W_h * h_{t-1} +
    b (``*`` a convolution)::

        c_t = f c_{t-1} + i g        h_t = o tanh(c_t)

    Arrays: "InputWeights" (4n, C, *kernel), "StateWeights" (4n, n, *kernel), "Biases"
    (4n,), gate blocks in the order i, f, g, o (as LongShortTermMemoryLayer's). Without the
    peephole terms of Shi et al. Padded batches of sequences with their real lengths give
    what each sequence gives alone. Computed by :func:`netchain.autodiff.conv_lstm`.

    Raises
    ------
    ValueError
        For a bad n, kernel or input; a :class:`ShapeError` when the input is not a sequence
        of images with 1 to 3 spatial dimensions that fit the kernel's.

    Examples
    --------
    >>> from netchain import NetChain
    >>> from netchain.layers import ConvolutionalLSTMLayer
    >>> net = NetChain([ConvolutionalLSTMLayer(8, 3)], input=(10, 1, 16, 16))
    >>> net.output_shape
    (10, 8, 16, 16)
    """

    array_names = ("InputWeights", "StateWeights", "Biases")
    sequence_aware = True

    def __init__(self, n: int, kernel: Any = 3, input: Any = None) -> None:
        super().__init__()
        self.n = _units(n, "ConvolutionalLSTMLayer")
        if isinstance(kernel, numbers.Integral) and not isinstance(kernel, bool):
            if kernel < 1:
                raise ValueError(f"ConvolutionalLSTMLayer kernel must be >= 1, got {kernel}")
            self.kernel: Any = int(kernel)
        elif isinstance(kernel, tuple | list) and 1 <= len(kernel) <= 3:
            self.kernel = normalize_tuple(kernel, len(kernel), "ConvolutionalLSTMLayer kernel")
        else:
            raise ValueError(
                f"ConvolutionalLSTMLayer kernel must be an int or a tuple of 1 to 3 ints, got "
                f"{kernel!r}"
            )
        self.input = None
        if input is not None:
            if not isinstance(input, tuple | list) or not 3 <= len(input) <= 5:
                raise ValueError(
                    f"ConvolutionalLSTMLayer input must be a sequence shape (T, C, *S), got "
                    f"{input!r}"
                )
            T = None if input[0] in (None, "Varying") else input[0]
            rest = normalize_tuple(tuple(input[1:]), len(input) - 1, "ConvolutionalLSTMLayer input")
            if T is not None:
                T = normalize_tuple((T,), 1, "ConvolutionalLSTMLayer input length")[0]
            self.input = (T, *rest)

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "n": self.n,
            "kernel": list(self.kernel) if isinstance(self.kernel, tuple) else self.kernel,
        }
        if self.input is not None:
            cfg["input"] = ["Varying" if self.input[0] is None else self.input[0], *self.input[1:]]
        return cfg

    def declared_input_shapes(self) -> list[Shape | None]:
        if self.input is not None and self.input[0] is not None:
            return [self.input]
        return [None]

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        shape = tuple(input_shapes[0])
        if not 3 <= len(shape) <= 5 or any(s is None for s in shape[1:]):
            raise ShapeError(
                "port 'Input' needs sequences of images (T, C, H, W) (or (T, C, L), "
                f"(T, C, D, H, W)), got {format_shape(shape)}"
            )
        T, C, *S = shape
        d = len(S)
        if isinstance(self.kernel, tuple) and len(self.kernel) != d:
            raise ShapeError(
                f"kernel {self.kernel} is {len(self.kernel)}-D but the frames "
                f"{format_shape(shape[1:])} have {d} spatial dimension(s)"
            )
        if self.input is not None and tuple(self.input[1:]) != tuple(shape[1:]):
            raise ShapeError(
                f"port 'Input' expects frames of shape {format_shape(self.input[1:])}, got "
                f"{format_shape(shape)}"
            )
        kernel = normalize_tuple(self.kernel, d, "kernel")
        W = self.arrays.get("InputWeights")
        if W is not None and W.shape[1] != C:
            raise ShapeError(
                f"port 'Input' expects frames of {W.shape[1]} channels (from its weights), got "
                f"{format_shape(shape)}"
            )
        G = 4 * self.n
        self.array_shapes = {
            "InputWeights": (G, C, *kernel),
            "StateWeights": (G, self.n, *kernel),
            "Biases": (G,),
        }
        return [(T, self.n, *S)]

    def fan(self, name: str) -> tuple[int, int]:
        shape = self.array_shapes[name]
        if len(shape) == 1:
            return (self.n, self.n)
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, self.n * receptive

    def initial_array(self, name: str, rng: Any, method: str, dtype: Any) -> Any:
        if method not in ("Kaiming", "Xavier"):
            raise ValueError(f"method must be 'Kaiming' or 'Xavier', got {method!r}")
        shape = self.array_shapes[name]
        if name == "Biases":
            values = xp.zeros(shape)
            values[self.n : 2 * self.n] = 1.0
        else:
            fan_in, fan_out = self.fan(name)
            values = _glorot(rng, shape, fan_in, fan_out)
        return xp.asarray(values, dtype=dtype)

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        L = sequence_lengths(ctx, x)
        y, _, _ = ad.conv_lstm(
            x, arrays["InputWeights"], arrays["StateWeights"], arrays.get("Biases"), lengths=L
        )
        set_sequence_lengths(ctx, y, L)
        return y

    def summary(self) -> str:
        k = "x".join(map(str, self.kernel)) if isinstance(self.kernel, tuple) else self.kernel
        return f"ConvolutionalLSTMLayer[{self.n}, {k}]"


class MultidimensionalLSTMLayer(Layer):
    """A two-dimensional LSTM (Graves, Fernandez & Schmidhuber, 2007) that scans an image
    from its four corners: images (C, H, W) -> (4n, H, W).

    From each corner, the cell at (i, j) sees its pixel's C values and the hidden and cell
    states of its two neighbours towards that corner (one forget gate for each); the four
    scans have their own weights, and their hidden states are stacked as channels, so every
    output position has seen the whole image. Computed along anti-diagonals (a wavefront: H +
    W - 1 steps, each vectorised over the diagonal, the batch and the four directions) by
    :func:`netchain.autodiff.md_lstm`.

    Parameters
    ----------
    n : int
        Units per direction.
    directions : {4, 2, 1}, default 4
        4: from every corner; 2: from the top-left and bottom-right corners; 1: from the top
        left only (output (n, H, W)).
    input : tuple (C, H, W), optional

    Notes
    -----
    Arrays: "InputWeights" (D, 5n, C), "StateWeights" (D, 5n, 2n) (the neighbour above, then
    the one on the left), "Biases" (D, 5n), for D directions; gate blocks in the order input
    i, forget (above), forget (left), candidate g, output o.

    Raises
    ------
    ValueError
        For a bad n, number of directions or input; a :class:`ShapeError` for inputs that are
        not images (C, H, W).
    """

    array_names = ("InputWeights", "StateWeights", "Biases")

    def __init__(self, n: int, directions: int = 4, input: Any = None) -> None:
        super().__init__()
        self.n = _units(n, "MultidimensionalLSTMLayer")
        if directions not in CORNERS or isinstance(directions, bool):
            raise ValueError(
                f"MultidimensionalLSTMLayer directions must be 1, 2 or 4, got {directions!r}"
            )
        self.directions = int(directions)
        self.input = None
        if input is not None:
            if not isinstance(input, tuple | list) or len(input) != 3:
                raise ValueError(
                    f"MultidimensionalLSTMLayer input must be an image shape (C, H, W), got {input!r}"
                )
            self.input = normalize_tuple(tuple(input), 3, "MultidimensionalLSTMLayer input")

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"n": self.n}
        if self.directions != 4:
            cfg["directions"] = self.directions
        if self.input is not None:
            cfg["input"] = list(self.input)
        return cfg

    def declared_input_shapes(self) -> list[Shape | None]:
        return [self.input]

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        shape = tuple(input_shapes[0])
        if len(shape) != 3 or any(s is None for s in shape):
            raise ShapeError(f"port 'Input' needs images (C, H, W), got {format_shape(shape)}")
        C, H, W = shape
        Wi = self.arrays.get("InputWeights")
        if Wi is not None and Wi.shape[2] != C:
            raise ShapeError(
                f"port 'Input' expects images of {Wi.shape[2]} channels (from its weights), "
                f"got {format_shape(shape)}"
            )
        D, G = self.directions, 5 * self.n
        self.array_shapes = {
            "InputWeights": (D, G, C),
            "StateWeights": (D, G, 2 * self.n),
            "Biases": (D, G),
        }
        return [(D * self.n, H, W)]

    def fan(self, name: str) -> tuple[int, int]:
        shape = self.array_shapes[name]
        return (shape[-1], self.n) if len(shape) == 3 else (self.n, self.n)

    def initial_array(self, name: str, rng: Any, method: str, dtype: Any) -> Any:
        if method not in ("Kaiming", "Xavier"):
            raise ValueError(f"method must be 'Kaiming' or 'Xavier', got {method!r}")
        shape = self.array_shapes[name]
        if name == "Biases":
            return xp.zeros(shape, dtype=dtype)
        fan_in, fan_out = self.fan(name)
        return xp.asarray(_glorot(rng, shape, fan_in, fan_out), dtype=dtype)

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return ad.md_lstm(
            inputs[0], arrays["InputWeights"], arrays["StateWeights"], arrays.get("Biases")
        )

    def summary(self) -> str:
        extra = f", directions={self.directions}" if self.directions != 4 else ""
        return f"MultidimensionalLSTMLayer[{self.n}{extra}]"
