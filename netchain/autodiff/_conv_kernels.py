"""col2im of 1-D and 2-D convolutions as a serial Numba loop.

:class:`netchain.autodiff.conv._Grid` scatters a column buffer back into its image with one
strided NumPy addition per kernel offset. That is vectorised, but the innermost runs are one
output row: 7 or 14 elements in a small convolutional net, where NumPy's per-run overhead is
larger than the work (col2im of a stride-2 transposed convolution from 7x7 to 14x14, 16
channels, batch 64: 1.9 ms in NumPy, 0.7 ms here). This loop does the same in one pass over
the buffer in its memory order and writes the unpadded image directly (values that came from
the padding are dropped), so no padded copy is made or cropped either. im2col stays a NumPy
copy from a strided view: a Numba gather was no faster.

Arrays are flat views of C-contiguous arrays: ``x`` of (N, C, H, W); ``cols`` of
the column buffer, (N, C, KH, KW, OH, OW) in the example-major layout (``_bf``) or (C, KH, KW,
N, OH, OW) in the channel-major one (``_cm``). Column element [n, c, ky, kx, i, j] is
x[n, c, i sy + ky dy - top, j sx + kx dx - left]. A 1-D convolution is the case H = KH = OH = 1.
The loops are serial on purpose (a parallel Numba pool would fight OpenBLAS for the cores, see
PERFORMANCE.md).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def _span(W, OW, sx, off):  # pragma: no cover - compiled
    """The output columns j with 0 <= j sx + off < W, as a range [j0, j1)."""
    j0 = 0 if off >= 0 else (-off + sx - 1) // sx
    j1 = (W - off + sx - 1) // sx if W > off else 0
    j1 = min(OW, j1)
    return j0, max(j0, j1)


@njit(cache=True, inline="always")
def _scatter(cols, p, out, base, j0, j1, sx):  # pragma: no cover - compiled
    """out[base + j sx] += cols[p + j] for j in [j0, j1)."""
    if sx == 1:
        for j in range(j0, j1):
            out[base + j] += cols[p + j]
    else:
        for j in range(j0, j1):
            out[base + j * sx] += cols[p + j]


@njit(cache=True)
def col2im(cols, x, shape, kernel, out, sy, sx, dy, dx, top, left, channel_major):
    # pragma: no cover - compiled
    """The adjoint of im2col: add every column value into ``x`` (zero on entry) at the
    position it came from; values that came from the padding are dropped. ``shape`` is
    (N, C, H, W), ``kernel`` (KH, KW), ``out`` (OH, OW)."""
    N, C, H, W = shape
    KH, KW = kernel
    OH, OW = out
    A, B = (C, N) if channel_major else (N, C)
    p = 0
    for a in range(A):
        for b0 in range(1 if channel_major else B):
            for ky in range(KH):
                for kx in range(KW):
                    off = kx * dx - left
                    j0, j1 = _span(W, OW, sx, off)
                    for b1 in range(B if channel_major else 1):
                        n, c = (b1, a) if channel_major else (a, b0)
                        image = (n * C + c) * H
                        for i in range(OH):
                            row = i * sy + ky * dy - top
                            if 0 <= row < H:
                                _scatter(cols, p, x, (image + row) * W + off, j0, j1, sx)
                            p += OW


# ----------------------------------------------------------------------------- flat layout
# :class:`netchain.autodiff.conv._FlatGrid` (stride-1 2-D convolutions) keeps a batch as a
# channel-major matrix (C, M): M = N F, F = HP WP the positions of one padded example, row-major.
# These loops move data between that matrix and (N, C, H, W) arrays in one pass, rows of an
# image at a time (contiguous inner loops that LLVM vectorises), instead of NumPy copies through
# 4-D strided views (swapped axes, cropped rows) whose runs are one image row.


@njit(cache=True)
def flat_output(flat, biases, out, HP, WP, has_bias):  # pragma: no cover - compiled
    """out[n, o, i, j] = flat[o, n F + i WP + j] (+ biases[o]) for the (N, n, OH, OW) out."""
    N, n_out, OH, OW = out.shape
    F = HP * WP
    for n in range(N):
        for o in range(n_out):
            b = biases[o] if has_bias else out.dtype.type(0)
            for i in range(OH):
                src = flat[o, n * F + i * WP : n * F + i * WP + OW]
                dst = out[n, o, i]
                if has_bias:
                    for j in range(OW):
                        dst[j] = src[j] + b
                else:
                    for j in range(OW):
                        dst[j] = src[j]


@njit(cache=True)
def flat_scatter(g, flat, HP, WP):  # pragma: no cover - compiled
    """flat[o, n F + i WP + j] = g[n, o, i, j] inside the (OH, OW) grid of each example and 0
    everywhere else (the whole (n, M) matrix is written)."""
    N, n_out, OH, OW = g.shape
    F = HP * WP
    zero = flat.dtype.type(0)
    for o in range(n_out):
        row = flat[o]
        for n in range(N):
            block = row[n * F : (n + 1) * F]
            for k in range(F):  # one long run of zeros, then the image's rows over it
                block[k] = zero
            for i in range(OH):
                src, dst = g[n, o, i], block[i * WP : i * WP + OW]
                for j in range(OW):
                    dst[j] = src[j]


@njit(cache=True)
def flat_col2im(cols, shifts, gx, acc, HP, WP, top, left):  # pragma: no cover - compiled
    """The input gradient (N, C, H, W) from the column gradients ``cols`` (C, P, M), P kernel
    offsets with flat shifts ``shifts``: for each channel, the offsets' rows are added into
    ``acc`` (M + tail,) at their shifts, in order (as the NumPy path adds them, but one
    channel at a time, so that ``acc`` stays in the cache), and the positions inside the
    padding, (a + top, b + left) of each example, are copied out."""
    N, C, H, W = gx.shape
    P, M = cols.shape[1], cols.shape[2]
    F = HP * WP
    zero = cols.dtype.type(0)
    for c in range(C):
        for q in range(acc.shape[0]):
            acc[q] = zero
        for p in range(P):
            src = cols[c, p]
            dst = acc[shifts[p] : shifts[p] + M]
            for q in range(M):
                dst[q] += src[q]
        for n in range(N):
            for a in range(H):
                src = acc[n * F + (a + top) * WP + left :]
                row = gx[n, c, a]
                for b in range(W):
                    row[b] = src[b]


@njit(cache=True)
def flat_im2col(x, shifts, cols, row, HP, WP, top, left):  # pragma: no cover - compiled
    """The column buffer ``cols`` (C, P, M) of ``x`` (N, C, H, W): for each channel, its padded
    flat row (M + tail,) is laid out in ``row`` (zeros around each example's image at (top,
    left)), and each offset's row of the buffer is the slice of it at the offset's shift."""
    N, C, H, W = x.shape
    P, M = cols.shape[1], cols.shape[2]
    F = HP * WP
    zero = cols.dtype.type(0)
    for c in range(C):
        for q in range(row.shape[0]):
            row[q] = zero
        for n in range(N):
            for a in range(H):
                src = x[n, c, a]
                dst = row[n * F + (a + top) * WP + left :]
                for b in range(W):
                    dst[b] = src[b]
        for p in range(P):
            src = row[shifts[p] : shifts[p] + M]
            dst = cols[c, p]
            for q in range(M):
                dst[q] = src[q]
