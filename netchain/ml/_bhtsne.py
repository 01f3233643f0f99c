"""Numba kernels of t-SNE: perplexity calibration, the space-partitioning tree of Barnes-Hut,
the exact and Barnes-Hut gradients, and the gradient descent with momentum and gains.

References
----------
- van der Maaten, L. & Hinton, G. (2008). "Visualizing data using t-SNE". JMLR 9.
- van der Maaten, L. (2014). "Accelerating t-SNE using tree-based algorithms". JMLR 15.
- Barnes, J. & Hut, P. (1986). "A hierarchical O(N log N) force-calculation algorithm".
  Nature 324.
- Jacobs, R. A. (1988). "Increased rates of convergence through learning rate adaptation".
  Neural Networks 1 (the gains, "delta-bar-delta").
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_EPS = np.finfo(np.float64).eps
_CHECK_EVERY = 50


# --------------------------------------------------------------------------- perplexity


@njit(cache=True)
def binary_search_perplexity(sqdist, perplexity, tol=1e-5, max_steps=100):
    """Conditional probabilities P[j | i] with the entropy of each row equal to log(perplexity).

    Row i is p_j proportional to exp(-beta_i * sqdist[i, j]); beta_i is found by bisection
    (doubling or halving while one side of the bracket is open).

    Parameters
    ----------
    sqdist : ndarray of shape (n, k)
        Squared distances from each point to its k neighbours (or to all others).
    perplexity : float

    Returns
    -------
    ndarray of shape (n, k), rows summing to 1
    """
    n, k = sqdist.shape
    target = math.log(perplexity)
    P = np.empty((n, k))
    for i in range(n):
        beta = 1.0
        lo = -np.inf
        hi = np.inf
        for _ in range(max_steps):
            s = 0.0
            for j in range(k):
                v = math.exp(-sqdist[i, j] * beta)
                P[i, j] = v
                s += v
            if s == 0.0:
                s = _EPS
            sd = 0.0
            for j in range(k):
                P[i, j] /= s
                sd += sqdist[i, j] * P[i, j]
            entropy = math.log(s) + beta * sd
            diff = entropy - target
            if abs(diff) <= tol:
                break
            if diff > 0.0:
                lo = beta
                beta = beta * 2.0 if hi == np.inf else 0.5 * (beta + hi)
            else:
                hi = beta
                beta = beta * 0.5 if lo == -np.inf else 0.5 * (beta + lo)
    return P


# --------------------------------------------------------------------------- tree


@njit(cache=True)
def _quadrant(Y, p, center, node, dim):
    q = 0
    for k in range(dim):
        if Y[p, k] >= center[node, k]:
            q |= 1 << k
    return q


@njit(cache=True)
def _grow(arr2, arr1f, arr1i_child, arr1i_count, arr1i_point, com, cap):
    new_cap = cap * 2
    c2 = np.empty((new_cap, arr2.shape[1]))
    c2[:cap] = arr2
    h = np.empty(new_cap)
    h[:cap] = arr1f
    ch = np.empty(new_cap, dtype=np.int64)
    ch[:cap] = arr1i_child
    ct = np.empty(new_cap, dtype=np.int64)
    ct[:cap] = arr1i_count
    pt = np.empty(new_cap, dtype=np.int64)
    pt[:cap] = arr1i_point
    cm = np.empty((new_cap, com.shape[1]))
    cm[:cap] = com
    return c2, h, ch, ct, pt, cm, new_cap


@njit(cache=True)
def build_tree(Y, center, half, child, count, point, com):
    """Build the 2^d-ary space-partitioning tree (quadtree in 2-D, octree in 3-D) of Y.

    Points are inserted one by one; a leaf holding one location splits into 2^d children when
    a second location arrives. Identical points, or points in a cell narrower than 1e-12 of
    the root, share a leaf. ``com`` ends as each cell's centre of mass. The node arrays are
    reused and grown when too small; returns them with the number of nodes.
    """
    n, dim = Y.shape
    nchild = 1 << dim
    cap = half.shape[0]
    # root cell: a cube around the bounding box
    width = 0.0
    for k in range(dim):
        lo = Y[0, k]
        hi = Y[0, k]
        for i in range(1, n):
            v = Y[i, k]
            if v < lo:
                lo = v
            elif v > hi:
                hi = v
        center[0, k] = 0.5 * (lo + hi)
        if hi - lo > width:
            width = hi - lo
    half[0] = 0.5 * width * (1.0 + 1e-6) + 1e-12
    min_half = half[0] * 1e-12
    child[0] = -1
    count[0] = 0
    point[0] = -1
    for k in range(dim):
        com[0, k] = 0.0
    n_nodes = 1
    for p in range(n):
        node = 0
        while True:
            count[node] += 1
            for k in range(dim):
                com[node, k] += Y[p, k]
            if child[node] >= 0:
                node = child[node] + _quadrant(Y, p, center, node, dim)
                continue
            if count[node] == 1:
                point[node] = p
                break
            q = point[node]
            same = True
            for k in range(dim):
                if Y[q, k] != Y[p, k]:
                    same = False
                    break
            if same or half[node] < min_half:
                break
            if n_nodes + nchild > cap:
                center, half, child, count, point, com, cap = _grow(
                    center, half, child, count, point, com, cap
                )
            first = n_nodes
            n_nodes += nchild
            h = 0.5 * half[node]
            for c in range(nchild):
                m = first + c
                half[m] = h
                child[m] = -1
                count[m] = 0
                point[m] = -1
                for k in range(dim):
                    com[m, k] = 0.0
                    if (c >> k) & 1:
                        center[m, k] = center[node, k] + h
                    else:
                        center[m, k] = center[node, k] - h
            child[node] = first
            # the earlier occupants (all in one spot) move down into one child
            old = first + _quadrant(Y, q, center, node, dim)
            count[old] = count[node] - 1
            point[old] = q
            for k in range(dim):
                com[old, k] = com[node, k] - Y[p, k]
            node = first + _quadrant(Y, p, center, node, dim)
    for m in range(n_nodes):
        if count[m] > 0:
            for k in range(dim):
                com[m, k] /= count[m]
    return center, half, child, count, point, com, n_nodes


@njit(cache=True)
def _leaf_of(Y, p, center, child, dim):
    node = 0
    while child[node] >= 0:
        node = child[node] + _quadrant(Y, p, center, node, dim)
    return node


@njit(cache=True)
def _dfs_ranges(child, n_nodes, nchild, pre, post, stack):
    """Preorder number of each node and the end of its subtree's range."""
    top = 0
    stack[0] = 0
    counter = 0
    # iterative DFS with explicit post-processing: push (node) and a marker (-node - 1)
    while top >= 0:
        node = stack[top]
        top -= 1
        if node >= 0:
            pre[node] = counter
            counter += 1
            top += 1
            stack[top] = -node - 1
            c = child[node]
            if c >= 0:
                for j in range(nchild - 1, -1, -1):
                    top += 1
                    stack[top] = c + j
        else:
            post[-node - 1] = counter


# --------------------------------------------------------------------------- gradients


@njit(cache=True, inline="always")
def _t_weight(Y, i, j, dof):
    """The Student-t weight 1 / (1 + |y_i - y_j|^2 / dof) of two embedded points."""
    d2 = 0.0
    for k in range(Y.shape[1]):
        t = Y[i, k] - Y[j, k]
        d2 += t * t
    return 1.0 / (1.0 + d2 / dof)


@njit(cache=True)
def _bh_negative(
    Y, center, half, child, count, com, n_nodes, theta, dof, neg, leaf, pre, post, stack
):
    """Barnes-Hut repulsive forces (unnormalised) of every point; returns Z = sum q~_ij."""
    n, dim = Y.shape
    nchild = 1 << dim
    theta2 = theta * theta
    power = 0.5 * (dof + 1.0)
    Z = 0.0
    for i in range(n):
        for k in range(dim):
            neg[i, k] = 0.0
        zi = 0.0
        li = leaf[i]
        top = 0
        stack[0] = 0
        while top >= 0:
            node = stack[top]
            top -= 1
            cnt = count[node]
            if cnt == 0:
                continue
            d2 = 0.0
            for k in range(dim):
                t = Y[i, k] - com[node, k]
                d2 += t * t
            c = child[node]
            if c >= 0:
                w2 = 4.0 * half[node] * half[node]
                if not (w2 < theta2 * d2):
                    for j in range(nchild):
                        if count[c + j] > 0:
                            top += 1
                            stack[top] = c + j
                    continue
            neff = float(cnt)
            if pre[node] <= pre[li] < post[node]:  # point i lies in this cell: leave it out
                neff -= 1.0
                if neff <= 0.0:
                    continue
                if c >= 0 or d2 > 0.0:
                    d2 = 0.0
                    for k in range(dim):
                        t = Y[i, k] - (cnt * com[node, k] - Y[i, k]) / neff
                        d2 += t * t
                    w = 1.0 / (1.0 + d2 / dof)
                    qt = w if dof == 1.0 else w**power
                    zi += neff * qt
                    f = neff * qt * w
                    for k in range(dim):
                        neg[i, k] += f * (Y[i, k] - (cnt * com[node, k] - Y[i, k]) / neff)
                    continue
            w = 1.0 / (1.0 + d2 / dof)
            qt = w if dof == 1.0 else w**power
            zi += neff * qt
            f = neff * qt * w
            for k in range(dim):
                neg[i, k] += f * (Y[i, k] - com[node, k])
        Z += zi
    return Z


@njit(cache=True)
def _attractive(Y, indptr, indices, pvals, exaggeration, dof, pos, Z, compute_error):
    """Attractive forces sum_j p_ij w_ij (y_i - y_j), from the upper triangle (j > i) of the
    symmetric sparse P, each pair applied to both its points; the KL divergence
    sum p_ij log(p_ij / q_ij) when asked (q_ij = q~_ij / Z)."""
    n, dim = Y.shape
    power = 0.5 * (dof + 1.0)
    err = 0.0
    for i in range(n):
        for k in range(dim):
            pos[i, k] = 0.0
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            pij = pvals[e] * exaggeration
            w = _t_weight(Y, i, j, dof)
            f = pij * w
            for k in range(dim):
                t = f * (Y[i, k] - Y[j, k])
                pos[i, k] += t
                pos[j, k] -= t
            if compute_error:
                qt = w if dof == 1.0 else w**power
                q = qt / Z
                err += 2.0 * pij * math.log(max(pij, _EPS) / max(q, _EPS))
    return err


@njit(cache=True)
def _exact_gradient(Y, P, exaggeration, dof, grad, compute_error):
    """Exact t-SNE gradient, O(n^2): (2(dof+1)/dof) sum_j (p_ij - q_ij) w_ij (y_i - y_j)."""
    n, dim = Y.shape
    power = 0.5 * (dof + 1.0)
    pos = np.zeros((n, dim))
    neg = np.zeros((n, dim))
    Z = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            w = _t_weight(Y, i, j, dof)
            qt = w if dof == 1.0 else w**power
            Z += 2.0 * qt
            fp = P[i, j] * exaggeration * w
            fn = qt * w
            for k in range(dim):
                t = Y[i, k] - Y[j, k]
                pos[i, k] += fp * t
                pos[j, k] -= fp * t
                neg[i, k] += fn * t
                neg[j, k] -= fn * t
    if Z <= 0.0:
        Z = _EPS
    c = 2.0 * (dof + 1.0) / dof
    for i in range(n):
        for k in range(dim):
            grad[i, k] = c * (pos[i, k] - neg[i, k] / Z)
    err = 0.0
    if compute_error:
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                w = _t_weight(Y, i, j, dof)
                qt = w if dof == 1.0 else w**power
                pij = P[i, j] * exaggeration
                err += pij * math.log(max(pij, _EPS) / max(qt / Z, _EPS))
    return err


# --------------------------------------------------------------------------- descent


@njit(cache=True)
def _step(Y, grad, update, gains, momentum, learning_rate, min_gain):
    """Gains (up by 0.2 where the step reverses direction, else times 0.8), momentum step;
    returns the gradient norm."""
    n, dim = Y.shape
    g2 = 0.0
    for i in range(n):
        for k in range(dim):
            g = grad[i, k]
            g2 += g * g
            if update[i, k] * g < 0.0:
                gains[i, k] += 0.2
            else:
                gains[i, k] *= 0.8
            if gains[i, k] < min_gain:
                gains[i, k] = min_gain
            update[i, k] = momentum * update[i, k] - learning_rate * gains[i, k] * g
            Y[i, k] += update[i, k]
    return math.sqrt(g2)


@njit(cache=True, inline="always")
def _progress(error, it, grad_norm, best_error, best_iter, n_iter_without_progress, min_grad_norm):
    """The stopping rules at a check: returns (best error, its iteration, whether to stop) --
    stop when the error has not improved for ``n_iter_without_progress`` iterations or the
    gradient norm is down to ``min_grad_norm``."""
    if error < best_error:
        return error, it, grad_norm <= min_grad_norm
    if it - best_iter > n_iter_without_progress:
        return best_error, best_iter, True
    return best_error, best_iter, grad_norm <= min_grad_norm


@njit(cache=True)
def optimize_barnes_hut(
    Y,
    indptr,
    indices,
    pvals,
    exaggeration,
    momentum,
    learning_rate,
    start,
    stop,
    update,
    gains,
    theta,
    dof,
    min_gain,
    min_grad_norm,
    n_iter_without_progress,
    best_error,
    best_iter,
):
    """Gradient descent iterations start..stop-1 with the Barnes-Hut gradient.

    ``indptr``, ``indices``, ``pvals`` hold the upper triangle (j > i) of the symmetric joint
    probabilities P in CSR form.

    The error is computed every 50 iterations and at the last one; the descent stops early
    when the error has not improved for ``n_iter_without_progress`` iterations or the
    gradient norm falls to ``min_grad_norm``. Returns (last iteration, error, best error,
    best iteration).
    """
    n, dim = Y.shape
    nchild = 1 << dim
    cap = max(16, 4 * nchild * n)
    center = np.empty((cap, dim))
    half = np.empty(cap)
    child = np.empty(cap, dtype=np.int64)
    count = np.empty(cap, dtype=np.int64)
    point = np.empty(cap, dtype=np.int64)
    com = np.empty((cap, dim))
    neg = np.empty((n, dim))
    pos = np.empty((n, dim))
    grad = np.empty((n, dim))
    leaf = np.empty(n, dtype=np.int64)
    # in 2-D with theta < 1 / sqrt(2), no cell holding a point is ever summarised for it
    fast2d = dim == 2 and dof == 1.0 and theta * math.sqrt(2.0) < 1.0
    c = 2.0 * (dof + 1.0) / dof
    error = np.nan
    it = start
    for it in range(start, stop):
        check = (it + 1) % _CHECK_EVERY == 0 or it == stop - 1
        center, half, child, count, point, com, n_nodes = build_tree(
            Y, center, half, child, count, point, com
        )
        for i in range(n):
            leaf[i] = _leaf_of(Y, i, center, child, dim)
        stack = np.empty(n_nodes * 2 + 2, dtype=np.int64)
        pre = np.empty(n_nodes, dtype=np.int64)
        post = np.empty(n_nodes, dtype=np.int64)
        _dfs_ranges(child, n_nodes, nchild, pre, post, stack)
        if fast2d:
            nf = np.empty((n_nodes, 4))
            _pack_2d(half, child, count, com, n_nodes, nf)
            order = np.argsort(pre[leaf])
            Z = _bh_negative_2d(Y, nf, child, theta, neg, leaf, stack, order)
            if Z <= 0.0:
                Z = _EPS
            _attractive_2d(Y, indptr, indices, pvals, exaggeration, pos)
            err = 0.0
            if check:
                err = _kl_sparse(Y, indptr, indices, pvals, exaggeration, dof, Z)
        else:
            Z = _bh_negative(
                Y,
                center,
                half,
                child,
                count,
                com,
                n_nodes,
                theta,
                dof,
                neg,
                leaf,
                pre,
                post,
                stack,
            )
            if Z <= 0.0:
                Z = _EPS
            err = _attractive(Y, indptr, indices, pvals, exaggeration, dof, pos, Z, check)
        for i in range(n):
            for k in range(dim):
                grad[i, k] = c * (pos[i, k] - neg[i, k] / Z)
        grad_norm = _step(Y, grad, update, gains, momentum, learning_rate, min_gain)
        if check:
            error = err
            best_error, best_iter, stop_now = _progress(
                error, it, grad_norm, best_error, best_iter, n_iter_without_progress, min_grad_norm
            )
            if stop_now:
                break
    return it, error, best_error, best_iter


@njit(cache=True)
def _kl_sparse(Y, indptr, indices, pvals, exaggeration, dof, Z):
    """sum p_ij log(p_ij / q_ij) over the symmetric sparse P given by its upper triangle,
    q_ij = q~_ij / Z."""
    n, dim = Y.shape
    power = 0.5 * (dof + 1.0)
    err = 0.0
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            w = _t_weight(Y, i, j, dof)
            qt = w if dof == 1.0 else w**power
            pij = pvals[e] * exaggeration
            err += 2.0 * pij * math.log(max(pij, _EPS) / max(qt / Z, _EPS))
    return err


@njit(cache=True)
def optimize_exact(
    Y,
    P,
    exaggeration,
    momentum,
    learning_rate,
    start,
    stop,
    update,
    gains,
    dof,
    min_gain,
    min_grad_norm,
    n_iter_without_progress,
    best_error,
    best_iter,
):
    """Gradient descent iterations start..stop-1 with the exact gradient (see
    :func:`optimize_barnes_hut` for the stopping rules)."""
    n, dim = Y.shape
    grad = np.empty((n, dim))
    error = np.nan
    it = start
    for it in range(start, stop):
        check = (it + 1) % _CHECK_EVERY == 0 or it == stop - 1
        err = _exact_gradient(Y, P, exaggeration, dof, grad, check)
        grad_norm = _step(Y, grad, update, gains, momentum, learning_rate, min_gain)
        if check:
            error = err
            best_error, best_iter, stop_now = _progress(
                error, it, grad_norm, best_error, best_iter, n_iter_without_progress, min_grad_norm
            )
            if stop_now:
                break
    return it, error, best_error, best_iter


# --------------------------------------------------------------------------- 2-D fast path


@njit(cache=True)
def _pack_2d(half, child, count, com, n_nodes, nf):
    """Node records for the 2-D traversal: (com_x, com_y, count, squared cell width)."""
    for m in range(n_nodes):
        nf[m, 0] = com[m, 0]
        nf[m, 1] = com[m, 1]
        nf[m, 2] = count[m]
        nf[m, 3] = 4.0 * half[m] * half[m]


@njit(cache=True)
def _bh_negative_2d(Y, nf, child, theta, neg, leaf, stack, order):
    """2-D Barnes-Hut repulsion (Student t with one degree of freedom); returns Z.

    Valid for angle <= 0.5, where no cell holding the point itself can be summarised (the
    point is within sqrt(2) widths of the cell's centre of mass), so only its own leaf needs
    the point left out. Points are visited in ``order`` (the tree's depth-first order of their
    leaves), so that consecutive traversals touch the same cells.
    """
    n = Y.shape[0]
    theta2 = theta * theta
    Z = 0.0
    for ii in range(n):
        i = order[ii]
        yx = Y[i, 0]
        yy = Y[i, 1]
        fx = 0.0
        fy = 0.0
        zi = 0.0
        li = leaf[i]
        top = 0
        stack[0] = 0
        while top >= 0:
            node = stack[top]
            top -= 1
            dx = yx - nf[node, 0]
            dy = yy - nf[node, 1]
            d2 = dx * dx + dy * dy
            c = child[node]
            if c >= 0:
                if not (nf[node, 3] < theta2 * d2):
                    for j in range(4):
                        if nf[c + j, 2] > 0.0:
                            top += 1
                            stack[top] = c + j
                    continue
                cnt = nf[node, 2]
            else:
                cnt = nf[node, 2]
                if node == li:
                    cnt -= 1.0
                    if cnt <= 0.0:
                        continue
            q = 1.0 / (1.0 + d2)
            zi += cnt * q
            f = cnt * q * q
            fx += f * dx
            fy += f * dy
        neg[i, 0] = fx
        neg[i, 1] = fy
        Z += zi
    return Z


@njit(cache=True)
def _attractive_2d(Y, indptr, indices, pvals, exaggeration, pos):
    """2-D attractive forces from the upper triangle of the symmetric sparse P."""
    n = Y.shape[0]
    for i in range(n):
        pos[i, 0] = 0.0
        pos[i, 1] = 0.0
    for i in range(n):
        yx = Y[i, 0]
        yy = Y[i, 1]
        fx = 0.0
        fy = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            dx = yx - Y[j, 0]
            dy = yy - Y[j, 1]
            f = pvals[e] * exaggeration / (1.0 + dx * dx + dy * dy)
            fx += f * dx
            fy += f * dy
            pos[j, 0] -= f * dx
            pos[j, 1] -= f * dy
        pos[i, 0] += fx
        pos[i, 1] += fy
