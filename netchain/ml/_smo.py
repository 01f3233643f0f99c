"""Sequential minimal optimisation (SMO) for the support-vector dual problem.

The solver minimises the quadratic programme

.. math::

    \\min_a \\; \\tfrac12 a^T Q a + p^T a
    \\quad\\text{subject to}\\quad y^T a = \\Delta,\\; 0 \\le a_i \\le C_i,

with labels ``y_i`` in {+1, -1} and ``Q_ij = y_i y_j K(x_i, x_j)`` for a positive semi-definite
kernel ``K``. Each iteration updates two variables in closed form (Platt, 1998, "Sequential
minimal optimization"), chosen by the second-order working-set selection of Fan, Chen & Lin
(2005, "Working set selection using second order information for training support vector
machines", JMLR 6, WSS 3): ``i`` maximises ``-y_t G_t`` over the variables that may grow along
``y``, and ``j`` minimises ``-b_it^2 / a_it`` among the variables that may shrink, where ``G`` is
the gradient ``Q a + p``, ``b_it = -y_i G_i + y_t G_t > 0`` and
``a_it = K_ii + K_tt - 2 K_it`` (replaced by 1e-12 where it is not positive). The iteration stops
when the maximal violation ``m(a) - M(a)`` falls below ``tol``.

Two devices keep the cost down, as in LIBSVM (Chang & Lin, 2011, section 5):

- a least-recently-used cache of kernel rows (``cache_size`` MiB), so that a row is computed
  once while it stays in use;
- shrinking: every ``min(n, 1000)`` iterations, variables at a bound whose gradient says that
  they cannot enter the working set are set aside, and their gradient is rebuilt (with one
  matrix product) before the final optimality check, or once the violation is below
  ``10 * tol``.

Kernel rows are computed inside the compiled loop from the rows of ``X`` ("linear", "poly",
"rbf", "sigmoid"), or gathered from a precomputed kernel matrix (possibly a larger one, of which
``index`` names the rows).

Interface
---------
:func:`solve_dual` is the entry point::

    res = solve_dual(p, y, C, X=X, kernel="rbf", gamma=0.1)         # kernel rows from X
    res = solve_dual(p, y, C, K=K)                                   # a precomputed (n, n) K
    res = solve_dual(p, y, C, K=K, index=rows)                       # rows of a larger K
    res.alpha, res.rho, res.n_iter, res.objective, res.gradient, res.converged

The equality constraint's value ``Delta`` is the one that the starting point ``alpha0`` gives
(``alpha0`` must be feasible; the default zero vector gives ``Delta = 0``). The decision
function of the solution is ``f(x) = sum_i alpha_i y_i K(x_i, x) - rho``.

- C-support vector classification (Cortes & Vapnik, 1995): ``p = -1``, labels ``y``,
  ``C_i = C`` (times a sample weight or class weight), ``alpha0 = 0``.
- One-class SVM (Schoelkopf et al., 2001, "Estimating the support of a high-dimensional
  distribution"): ``p = 0``, ``y = +1``, ``C_i = 1``, ``alpha0 = one_class_alpha0(n, nu)``
  (so that ``sum alpha = nu * n``); the training points with ``f(x) < 0`` are the outliers.

``rho`` is the mean of ``y_i G_i`` over the free variables (``0 < alpha_i < C_i``); with none
free, the midpoint of the interval that the Karush-Kuhn-Tucker conditions allow.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

__all__ = ["KERNEL_IDS", "SMOResult", "one_class_alpha0", "solve_dual"]

#: Kernel names and the integer codes the compiled solver uses.
KERNEL_IDS = {"linear": 0, "poly": 1, "rbf": 2, "sigmoid": 3, "precomputed": 4}

_TAU = 1e-12
_BLOCK = 512  # rows per matrix product when the gradient is rebuilt


class SMOResult(NamedTuple):
    """The solution of :func:`solve_dual`.

    Attributes
    ----------
    alpha : ndarray of shape (n,), float64
        The optimal dual variables.
    rho : float
        The offset: the decision function is ``sum_i alpha_i y_i K(x_i, x) - rho``.
    n_iter : int
        Number of two-variable updates.
    objective : float
        ``0.5 alpha^T Q alpha + p^T alpha`` at the solution.
    gradient : ndarray of shape (n,), float64
        ``Q alpha + p`` at the solution.
    converged : bool
        False when ``max_iter`` stopped the solver before the violation fell below ``tol``.
    """

    alpha: np.ndarray
    rho: float
    n_iter: int
    objective: float
    gradient: np.ndarray
    converged: bool


# --------------------------------------------------------------------------- kernel rows


@njit(cache=True)
def _ipow(v, degree):
    out = 1.0
    base = v
    e = degree
    while e > 0:
        if e & 1:
            out *= base
        base *= base
        e >>= 1
    return out


@njit(cache=True, fastmath=True)
def _fill_row(X, K, index, i, idx, m, kid, gamma, coef0, degree, out):
    """out[t] = K(x_i, x_t) for t in idx[:m] (for a precomputed K: K[index[i], index[t]])."""
    if kid == 4:
        Ki = K[index[i]]
        for k in range(m):
            t = idx[k]
            out[t] = Ki[index[t]]
        return
    d = X.shape[1]
    xi = X[i]
    if kid == 2:
        for k in range(m):
            t = idx[k]
            xt = X[t]
            s = 0.0
            for f in range(d):
                diff = xi[f] - xt[f]
                s += diff * diff
            out[t] = math.exp(-gamma * s)
    elif kid == 0:
        for k in range(m):
            t = idx[k]
            xt = X[t]
            s = 0.0
            for f in range(d):
                s += xi[f] * xt[f]
            out[t] = s
    elif kid == 1:
        for k in range(m):
            t = idx[k]
            xt = X[t]
            s = 0.0
            for f in range(d):
                s += xi[f] * xt[f]
            out[t] = _ipow(gamma * s + coef0, degree)
    else:
        for k in range(m):
            t = idx[k]
            xt = X[t]
            s = 0.0
            for f in range(d):
                s += xi[f] * xt[f]
            out[t] = math.tanh(gamma * s + coef0)


@njit(cache=True)
def _kernel_diag(X, K, index, kid, gamma, coef0, degree):
    n = index.shape[0] if kid == 4 else X.shape[0]
    qd = np.empty(n)
    if kid == 4:
        for t in range(n):
            qd[t] = K[index[t], index[t]]
        return qd
    d = X.shape[1]
    for t in range(n):
        if kid == 2:
            qd[t] = 1.0
            continue
        s = 0.0
        for f in range(d):
            s += X[t, f] * X[t, f]
        if kid == 0:
            qd[t] = s
        elif kid == 1:
            qd[t] = _ipow(gamma * s + coef0, degree)
        else:
            qd[t] = math.tanh(gamma * s + coef0)
    return qd


@njit(cache=True)
def _add_kernel_products(X, K, index, kid, gamma, coef0, degree, y, targets, cols, coef, G):
    """G[t] += y[t] * sum_b coef[b] K(x_t, x_cols[b]) for t in targets, by matrix products."""
    nt = targets.shape[0]
    nc = cols.shape[0]
    if nt == 0 or nc == 0:
        return
    if kid == 4:
        for a in range(nt):
            t = targets[a]
            Kt = K[index[t]]
            s = 0.0
            for b in range(nc):
                s += coef[b] * Kt[index[cols[b]]]
            G[t] += y[t] * s
        return
    d = X.shape[1]
    XcT = np.empty((d, nc))
    sq_c = np.empty(nc)
    for b in range(nc):
        s = 0.0
        for f in range(d):
            v = X[cols[b], f]
            XcT[f, b] = v
            s += v * v
        sq_c[b] = s
    for start in range(0, nt, _BLOCK):
        stop = min(nt, start + _BLOCK)
        nb = stop - start
        Xt = np.empty((nb, d))
        sq_t = np.empty(nb)
        for a in range(nb):
            s = 0.0
            for f in range(d):
                v = X[targets[start + a], f]
                Xt[a, f] = v
                s += v * v
            sq_t[a] = s
        D = np.dot(Xt, XcT)
        for a in range(nb):
            s = 0.0
            if kid == 2:
                for b in range(nc):
                    dist = sq_t[a] + sq_c[b] - 2.0 * D[a, b]
                    s += coef[b] * math.exp(-gamma * max(dist, 0.0))
            elif kid == 0:
                for b in range(nc):
                    s += coef[b] * D[a, b]
            elif kid == 1:
                for b in range(nc):
                    s += coef[b] * _ipow(gamma * D[a, b] + coef0, degree)
            else:
                for b in range(nc):
                    s += coef[b] * math.tanh(gamma * D[a, b] + coef0)
            t = targets[start + a]
            G[t] += y[t] * s


# --------------------------------------------------------------------------- the solver


@njit(cache=True)
def _in_up(yt, at, ct):
    return at < ct if yt > 0 else at > 0.0


@njit(cache=True)
def _in_low(yt, at, ct):
    return at > 0.0 if yt > 0 else at < ct


@njit(cache=True)
def _violation_bounds(active, m_act, y, alpha, C, G):
    """m = max over I_up of -y G, M = min over I_low of -y G (on the active set)."""
    m = -np.inf
    M = np.inf
    for k in range(m_act):
        t = active[k]
        v = -y[t] * G[t]
        if _in_up(y[t], alpha[t], C[t]) and v > m:
            m = v
        if _in_low(y[t], alpha[t], C[t]) and v < M:
            M = v
    return m, M


@njit(cache=True)
def _select_i(active, m_act, y, alpha, C, G):
    i = -1
    g_max = -np.inf
    for k in range(m_act):
        t = active[k]
        if _in_up(y[t], alpha[t], C[t]):
            v = -y[t] * G[t]
            if v > g_max:
                g_max = v
                i = t
    return i, g_max


@njit(cache=True)
def _unshrink(kern, y, alpha, G, active, is_active, epoch_of, snaps, n_epochs):
    """Bring the gradient of every set-aside variable up to date and make all active.

    A variable set aside at shrink event e had an exact gradient for the alphas of snapshot e;
    since then only active variables moved, so G_t gains sum_j (alpha_j - snap_e,j) Q_tj over
    the variables j that moved. ``kern`` is the kernel ``(X, K, index, kid, gamma, coef0,
    degree)``. Returns the new number of active variables (all of them).
    """
    X, K, index, kid, gamma, coef0, degree = kern
    n = y.shape[0]
    for e in range(n_epochs):
        n_t = 0
        for t in range(n):
            if not is_active[t] and epoch_of[t] == e:
                n_t += 1
        if n_t == 0:
            continue
        targets = np.empty(n_t, dtype=np.int64)
        c = 0
        for t in range(n):
            if not is_active[t] and epoch_of[t] == e:
                targets[c] = t
                c += 1
        n_c = 0
        for j in range(n):
            if alpha[j] != snaps[e, j]:
                n_c += 1
        cols = np.empty(n_c, dtype=np.int64)
        coef = np.empty(n_c)
        c = 0
        for j in range(n):
            if alpha[j] != snaps[e, j]:
                cols[c] = j
                coef[c] = (alpha[j] - snaps[e, j]) * y[j]
                c += 1
        _add_kernel_products(X, K, index, kid, gamma, coef0, degree, y, targets, cols, coef, G)
    is_active[:] = True
    epoch_of[:] = -1
    active[:] = np.arange(n)
    return n


@njit(cache=True)
def _kernel_row(i, kern, active, n_act, lru, cur_gen, clock):
    """The slot of the cache that holds K(x_i, .) on the active set (least recently used goes).

    ``kern`` is the kernel ``(X, K, index, kid, gamma, coef0, degree)``; ``lru`` the cache
    ``(rows, slot_of, row_of, stamp, full, gen)``.
    """
    X, K, index, kid, gamma, coef0, degree = kern
    cache, slot_of, row_of, stamp, full, gen = lru
    s = slot_of[i]
    if s >= 0 and (full[s] or gen[s] == cur_gen):
        stamp[s] = clock
        return s
    if s < 0:
        s = 0
        n_slots = stamp.shape[0]
        for q in range(1, n_slots):
            if stamp[q] < stamp[s]:
                s = q
        if row_of[s] >= 0:
            slot_of[row_of[s]] = -1
    _fill_row(X, K, index, i, active, n_act, kid, gamma, coef0, degree, cache[s])
    slot_of[i] = s
    row_of[s] = i
    stamp[s] = clock
    full[s] = n_act == slot_of.shape[0]
    gen[s] = cur_gen
    return s


@njit(cache=True)
def _solve(
    X, K, index, kid, gamma, coef0, degree, y, p, C, alpha, tol, n_slots, shrinking, max_iter
):
    n = y.shape[0]
    qd = _kernel_diag(X, K, index, kid, gamma, coef0, degree)
    G = p.copy()
    n_sv = 0
    for j in range(n):
        if alpha[j] > 0.0:
            n_sv += 1
    if n_sv > 0:
        cols = np.empty(n_sv, dtype=np.int64)
        coef = np.empty(n_sv)
        c = 0
        for j in range(n):
            if alpha[j] > 0.0:
                cols[c] = j
                coef[c] = alpha[j] * y[j]
                c += 1
        _add_kernel_products(X, K, index, kid, gamma, coef0, degree, y, np.arange(n), cols, coef, G)

    active = np.arange(n)
    n_act = n
    is_active = np.ones(n, dtype=np.bool_)
    epoch_of = -np.ones(n, dtype=np.int64)
    snaps = np.empty((4, n))
    n_epochs = 0

    # kernel-row cache, in the dtype of K
    cache = np.empty((n_slots, n), dtype=K.dtype)
    slot_of = -np.ones(n, dtype=np.int64)
    row_of = -np.ones(n_slots, dtype=np.int64)
    stamp = -np.ones(n_slots, dtype=np.int64)
    full = np.zeros(n_slots, dtype=np.bool_)
    gen = np.zeros(n_slots, dtype=np.int64)
    lru = (cache, slot_of, row_of, stamp, full, gen)
    kern = (X, K, index, kid, gamma, coef0, degree)
    cur_gen = 0
    clock = 0

    counter = min(n, 1000) + 1
    unshrunk = False
    n_iter = 0
    converged = False
    i, g_max = _select_i(active, n_act, y, alpha, C, G)
    rebuilt = False  # the gradient was just rebuilt: select on the whole set before shrinking
    while True:
        if shrinking and not rebuilt:
            counter -= 1
            if counter == 0:
                counter = min(n, 1000)
                m, M = _violation_bounds(active, n_act, y, alpha, C, G)
                if not unshrunk and m - M <= 10.0 * tol and n_act < n:
                    unshrunk = True
                    n_act = _unshrink(
                        kern, y, alpha, G, active, is_active, epoch_of, snaps, n_epochs
                    )
                    n_epochs = 0
                    cur_gen += 1
                    m, M = _violation_bounds(active, n_act, y, alpha, C, G)
                c = 0
                for k in range(n_act):
                    t = active[k]
                    v = -y[t] * G[t]
                    up = _in_up(y[t], alpha[t], C[t])
                    low = _in_low(y[t], alpha[t], C[t])
                    drop = False
                    if up and not low:
                        drop = v < M
                    elif low and not up:
                        drop = v > m
                    elif not up and not low:
                        drop = True
                    if drop:
                        is_active[t] = False
                        epoch_of[t] = n_epochs
                    else:
                        active[c] = t
                        c += 1
                if c < n_act:
                    if n_epochs == snaps.shape[0]:
                        grown = np.empty((2 * n_epochs, n))
                        grown[:n_epochs] = snaps
                        snaps = grown
                    snaps[n_epochs] = alpha
                    n_epochs += 1
                    n_act = c
                    i, g_max = _select_i(active, n_act, y, alpha, C, G)

        # kernel row of i
        Ki = cache[0]
        if i >= 0:
            clock += 1
            Ki = cache[_kernel_row(i, kern, active, n_act, lru, cur_gen, clock)]

        # --- j by the second-order rule
        j = -1
        g_max2 = -np.inf
        best = np.inf
        if i >= 0:
            qi = qd[i]
            for k in range(n_act):
                t = active[k]
                if _in_low(y[t], alpha[t], C[t]):
                    yg = y[t] * G[t]
                    if yg > g_max2:
                        g_max2 = yg
                    b = g_max + yg
                    if b > 0.0:
                        a = qi + qd[t] - 2.0 * Ki[t]
                        if a <= 0.0:
                            a = _TAU
                        val = -(b * b) / a
                        if val < best:
                            best = val
                            j = t

        if g_max + g_max2 < tol or j < 0:
            if n_act < n:
                # optimal on the active set: rebuild the whole gradient and check again
                n_act = _unshrink(kern, y, alpha, G, active, is_active, epoch_of, snaps, n_epochs)
                n_epochs = 0
                cur_gen += 1
                counter = 1
                rebuilt = True
                i, g_max = _select_i(active, n_act, y, alpha, C, G)
                continue
            converged = True
            break
        rebuilt = False
        if n_iter >= max_iter:
            break
        n_iter += 1

        # kernel row of j (i's slot is the most recent, so it is not evicted)
        clock += 1
        Kj = cache[_kernel_row(j, kern, active, n_act, lru, cur_gen, clock)]

        # --- the two-variable step along d_i = y_i t, d_j = -y_j t
        a_ij = qd[i] + qd[j] - 2.0 * Ki[j]
        if a_ij <= 0.0:
            a_ij = _TAU
        b_ij = -y[i] * G[i] + y[j] * G[j]
        step = b_ij / a_ij
        lim_i = C[i] - alpha[i] if y[i] > 0 else alpha[i]
        lim_j = alpha[j] if y[j] > 0 else C[j] - alpha[j]
        hit_i = False
        hit_j = False
        if lim_i <= step:
            step = lim_i
            hit_i = True
        if lim_j <= step:
            step = lim_j
            hit_j = True
            hit_i = lim_i <= step
        if hit_i:
            alpha[i] = C[i] if y[i] > 0 else 0.0
        else:
            alpha[i] += y[i] * step
        if hit_j:
            alpha[j] = 0.0 if y[j] > 0 else C[j]
        else:
            alpha[j] -= y[j] * step

        # gradient update, fused with the choice of the next i
        i = -1
        g_max = -np.inf
        for k in range(n_act):
            t = active[k]
            g = G[t] + y[t] * step * (Ki[t] - Kj[t])
            G[t] = g
            if _in_up(y[t], alpha[t], C[t]):
                v = -y[t] * g
                if v > g_max:
                    g_max = v
                    i = t

    if n_act < n:  # stopped by max_iter while shrunk
        _unshrink(kern, y, alpha, G, active, is_active, epoch_of, snaps, n_epochs)

    # --- the offset rho
    n_free = 0
    s_free = 0.0
    ub = np.inf
    lb = -np.inf
    for t in range(n):
        yg = y[t] * G[t]
        if 0.0 < alpha[t] < C[t]:
            n_free += 1
            s_free += yg
        elif _in_up(y[t], alpha[t], C[t]):  # at the bound from which alpha_t can grow along y
            if y[t] > 0:
                ub = min(ub, yg)
            else:
                lb = max(lb, yg)
        elif _in_low(y[t], alpha[t], C[t]):
            if y[t] > 0:
                lb = max(lb, yg)
            else:
                ub = min(ub, yg)
    if n_free > 0:
        rho = s_free / n_free
    elif np.isfinite(ub) and np.isfinite(lb):
        rho = 0.5 * (ub + lb)
    elif np.isfinite(ub):
        rho = ub
    elif np.isfinite(lb):
        rho = lb
    else:
        rho = 0.0
    obj = 0.0
    for t in range(n):
        obj += alpha[t] * (G[t] + p[t])
    return alpha, rho, n_iter, 0.5 * obj, G, converged


# --------------------------------------------------------------------------- public wrapper


def one_class_alpha0(n: int, nu: float) -> np.ndarray:
    """A feasible start for the one-class SVM: ``sum(alpha) = nu * n``, ``0 <= alpha <= 1``.

    The first ``floor(nu * n)`` entries are 1 and the next one holds the remainder
    (Schoelkopf et al., 2001).

    Raises
    ------
    ValueError
        Unless ``0 < nu <= 1`` and ``n >= 1``.
    """
    if not 0.0 < nu <= 1.0:
        raise ValueError(f"nu must be in (0, 1], got {nu!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    total = nu * n
    whole = int(math.floor(total))
    alpha = np.zeros(n)
    alpha[:whole] = 1.0
    if whole < n:
        alpha[whole] = total - whole
    return alpha


def solve_dual(
    p: Any,
    y: Any,
    C: Any,
    *,
    X: Any = None,
    K: Any = None,
    index: Any = None,
    kernel: str = "rbf",
    gamma: float = 1.0,
    coef0: float = 0.0,
    degree: int = 3,
    alpha0: Any = None,
    tol: float = 1e-3,
    cache_size: float = 200.0,
    shrinking: bool = True,
    max_iter: int = -1,
) -> SMOResult:
    """Solve ``min 0.5 a^T Q a + p^T a`` s.t. ``y^T a = y^T alpha0``, ``0 <= a <= C`` by SMO.

    Parameters
    ----------
    p : array-like of shape (n,)
        The linear term (-1 everywhere for C-SVC, 0 for the one-class SVM).
    y : array-like of shape (n,)
        Labels +1 / -1; ``Q_ij = y_i y_j K(x_i, x_j)``.
    C : float or array-like of shape (n,)
        Upper bounds, non-negative (a zero bound pins its variable at 0).
    X : ndarray of shape (n, d), optional
        Rows from which kernel values are computed; required unless ``K`` is given.
    K : ndarray of shape (n, n) or (m, m), optional
        A precomputed kernel matrix (then ``kernel``, ``gamma``, ``coef0``, ``degree`` are
        ignored).
    index : array-like of shape (n,), optional
        With ``K``: the rows of ``K`` that are the problem's variables (so that one kernel
        matrix serves several subproblems, e.g. the pairs of a one-vs-one machine, uncopied).
        Default: all of them, in order (``K`` must then be (n, n)).
    kernel : {"linear", "poly", "rbf", "sigmoid"}, default "rbf"
    gamma : float, default 1.0
        Kernel coefficient (already resolved; see :func:`netchain.ml.base.resolve_gamma`).
    coef0 : float, default 0.0
    degree : int, default 3
    alpha0 : array-like of shape (n,), optional
        A feasible starting point (default zeros); it fixes the equality constraint's value.
    tol : float, default 1e-3
        Stop when the maximal violation ``m(a) - M(a)`` is below ``tol``.
    cache_size : float, default 200
        MiB of kernel rows kept (at least two rows).
    shrinking : bool, default True
    max_iter : int, default -1
        Maximum number of two-variable updates; -1 for no limit.

    Returns
    -------
    SMOResult
        ``alpha``, ``rho``, ``n_iter``, ``objective``, ``gradient``, ``converged``.

    Raises
    ------
    ValueError
        For inconsistent lengths, labels other than +1 / -1, negative bounds, an infeasible
        ``alpha0``, an unknown kernel, or neither / both of ``X`` and ``K``.

    References
    ----------
    Platt (1998); Fan, Chen & Lin (2005), JMLR 6:1889-1918; Chang & Lin (2011), "LIBSVM: a
    library for support vector machines", ACM TIST 2(3).
    """
    y = np.ascontiguousarray(y, dtype=np.float64).ravel()
    n = y.shape[0]
    if n == 0:
        raise ValueError("y: the problem needs at least one variable")
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("y must hold only +1 and -1")
    p = np.ascontiguousarray(np.broadcast_to(np.asarray(p, dtype=np.float64), (n,)))
    C = np.ascontiguousarray(np.broadcast_to(np.asarray(C, dtype=np.float64), (n,)))
    if np.any(C < 0) or not np.all(np.isfinite(C)):
        raise ValueError("C must be finite and non-negative")
    if (X is None) == (K is None):
        raise ValueError("give exactly one of X (kernel rows computed) or K (precomputed)")
    if K is not None:
        K = np.ascontiguousarray(K, dtype=np.float64)
        if index is None:
            if K.shape != (n, n):
                raise ValueError(f"K: expected shape ({n}, {n}), got {K.shape}")
            index = np.arange(n, dtype=np.int64)
        else:
            index = np.ascontiguousarray(index, dtype=np.int64).ravel()
            m = K.shape[0]
            if K.ndim != 2 or K.shape[1] != m:
                raise ValueError(f"K: expected a square matrix, got shape {K.shape}")
            if index.shape != (n,) or (n and (index.min() < 0 or index.max() >= m)):
                raise ValueError(f"index: expected {n} row numbers of K in [0, {m}), got {index!r}")
        kid = KERNEL_IDS["precomputed"]
        Xa = np.zeros((1, 1))
    else:
        if kernel not in KERNEL_IDS or kernel == "precomputed":
            raise ValueError(f"kernel must be 'linear', 'poly', 'rbf' or 'sigmoid', got {kernel!r}")
        if index is not None:
            raise ValueError("index goes with a precomputed K only")
        kid = KERNEL_IDS[kernel]
        Xa = np.ascontiguousarray(X, dtype=np.float64)
        if Xa.ndim != 2 or Xa.shape[0] != n:
            raise ValueError(f"X: expected shape ({n}, d), got {Xa.shape}")
        K = np.zeros((1, 1), dtype=np.float32)  # only its dtype is used: that of the cache
        index = np.zeros(0, dtype=np.int64)
    if alpha0 is None:
        alpha = np.zeros(n)
    else:
        alpha = np.array(alpha0, dtype=np.float64).ravel()
        if alpha.shape != (n,):
            raise ValueError(f"alpha0: expected shape ({n},), got {alpha.shape}")
        if np.any(alpha < 0) or np.any(alpha > C):
            raise ValueError("alpha0 must satisfy 0 <= alpha0 <= C")
    n_slots = int(cache_size * 2**20 // (K.itemsize * n))
    n_slots = max(2, min(n, n_slots))
    max_it = np.iinfo(np.int64).max if max_iter is None or max_iter < 0 else int(max_iter)
    alpha, rho, n_iter, obj, G, converged = _solve(
        Xa,
        K,
        index,
        kid,
        float(gamma),
        float(coef0),
        int(degree),
        y,
        p,
        C,
        alpha,
        float(tol),
        n_slots,
        bool(shrinking),
        max_it,
    )
    return SMOResult(alpha, float(rho), int(n_iter), float(obj), G, bool(converged))
