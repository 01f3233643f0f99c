"""Decision trees: CART (Breiman, Friedman, Olshen & Stone, 1984, "Classification and
Regression Trees").

A tree is grown depth first by a compiled (Numba) builder. The samples are sorted by each
feature once, at the root, and every split partitions those sorted lists stably between the
two children, so no node sorts again. At each node the candidate features are visited in
random order; for each, every threshold between two distinct consecutive values is scored in
one pass over the node's sorted list, the class counts (or target sums) moving from the right
child to the left as the threshold advances, so the impurity of both children is updated in
constant time per sample:

- "gini": ``1 - sum_k p_k^2``; "entropy": ``-sum_k p_k log2 p_k`` (classification);
- "squared_error": the weighted variance of the target (regression).

The split kept maximises the decrease of weighted impurity; thresholds are midpoints between
consecutive distinct values, and a sample goes left when ``x[feature] <= threshold``. A node
becomes a leaf at ``max_depth``, when it is pure, when it has fewer than
``min_samples_split`` samples, when no split leaves ``min_samples_leaf`` samples (and
``min_weight_fraction_leaf`` of the total weight) on both sides, when every feature is constant on it, or when the best decrease is below
``min_impurity_decrease``. With ``max_features`` below the number of features, the search
visits features until that many non-constant ones have been scored (more when the first ones
are constant), as in random forests (Breiman, 2001).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numba import njit

from netchain.ml.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    check_classifier_targets,
    check_fitted_input,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    check_X_y,
    class_weight_vector,
)

__all__ = ["DecisionTreeClassifier", "DecisionTreeRegressor", "Tree"]

_CRITERIA = {"squared_error": 0, "gini": 1, "entropy": 2}
_FEATURE_EPS = 1e-7  # values closer than this count as equal (no threshold between them)
_IMPURITY_EPS = np.finfo(np.float64).eps


# --------------------------------------------------------------------------- compiled builder


@njit(cache=True, inline="always")
def _xlog2x(v):
    return v * math.log2(v) if v > 0.0 else 0.0


@njit(cache=True, nogil=True)
def _swap(v, s, i, j):
    t = v[i]
    v[i] = v[j]
    v[j] = t
    u = s[i]
    s[i] = s[j]
    s[j] = u


@njit(cache=True, nogil=True)
def _sift_down(v, s, lo, start, end):
    root = start
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and v[lo + child] < v[lo + child + 1]:
            child += 1
        if v[lo + root] < v[lo + child]:
            _swap(v, s, lo + root, lo + child)
            root = child
        else:
            return


@njit(cache=True, nogil=True)
def _heapsort(v, s, lo, hi):
    n = hi - lo
    for start in range(n // 2 - 1, -1, -1):
        _sift_down(v, s, lo, start, n)
    for end in range(n - 1, 0, -1):
        _swap(v, s, lo, lo + end)
        _sift_down(v, s, lo, 0, end)


@njit(cache=True, nogil=True)
def _sort_pairs(v, s, n):
    """Sort v[:n] ascending, moving s[:n] along: introsort (Musser, 1997) with three-way
    partitions (Bentley & McIlroy, 1993), which keep runs of equal values cheap."""
    if n < 2:
        return
    max_depth = 2 * int(math.log2(n)) + 2
    st_lo = np.empty(64, dtype=np.int64)
    st_hi = np.empty(64, dtype=np.int64)
    st_d = np.empty(64, dtype=np.int64)
    sp = 0
    st_lo[0] = 0
    st_hi[0] = n
    st_d[0] = max_depth
    sp = 1
    while sp > 0:
        sp -= 1
        lo = st_lo[sp]
        hi = st_hi[sp]
        depth = st_d[sp]
        while hi - lo > 16:
            if depth == 0:
                _heapsort(v, s, lo, hi)
                break
            depth -= 1
            mid = lo + (hi - lo) // 2
            a, b, c = v[lo], v[mid], v[hi - 1]
            if a < b:
                pivot = b if b < c else (c if a < c else a)
            else:
                pivot = a if a < c else (c if b < c else b)
            # three-way partition: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi) > pivot
            lt = lo
            i = lo
            gt = hi - 1
            while i <= gt:
                x = v[i]
                if x < pivot:
                    _swap(v, s, lt, i)
                    lt += 1
                    i += 1
                elif x > pivot:
                    _swap(v, s, i, gt)
                    gt -= 1
                else:
                    i += 1
            # recurse into the smaller side later (stack), loop on the larger
            if lt - lo < hi - (gt + 1):
                st_lo[sp] = lo
                st_hi[sp] = lt
                st_d[sp] = depth
                sp += 1
                lo = gt + 1
            else:
                st_lo[sp] = gt + 1
                st_hi[sp] = hi
                st_d[sp] = depth
                sp += 1
                hi = lt
        else:
            # insertion sort of a short run
            for i in range(lo + 1, hi):
                x = v[i]
                y = s[i]
                j = i - 1
                while j >= lo and v[j] > x:
                    v[j + 1] = v[j]
                    s[j + 1] = s[j]
                    j -= 1
                v[j + 1] = x
                s[j + 1] = y


@njit(cache=True, nogil=True, inline="always")
def _partition(seg, start, end, goes_left, buf):
    """Reorder seg[start:end] stably: the samples that go left first, then the others."""
    i = start
    j = 0
    for a in range(start, end):
        s = seg[a]
        if goes_left[s]:
            seg[i] = s
            i += 1
        else:
            buf[j] = s
            j += 1
    for b in range(j):
        seg[i + b] = buf[b]


@njit(cache=True, nogil=True, inline="always")
def _push(stack, sp, start, end, depth, parent, is_left, known):
    """Push a node (sample range, depth, parent, side, known-constant features) on the
    depth-first ``stack`` = (st_start, st_end, st_depth, st_parent, st_left, st_const);
    returns the new stack size."""
    st_start, st_end, st_depth, st_parent, st_left, st_const = stack
    st_start[sp] = start
    st_end[sp] = end
    st_depth[sp] = depth
    st_parent[sp] = parent
    st_left[sp] = is_left
    st_const[sp] = known
    return sp + 1


@njit(cache=True, nogil=True)
def _node_stats(codes, Y, w, idx, start, end, crit, K, S, S2):
    """Weighted class counts (or target sums and sums of squares) of idx[start:end]."""
    S[:] = 0.0
    S2[:] = 0.0
    W = 0.0
    if crit == 0:
        for a in range(start, end):
            s = idx[a]
            ws = w[s]
            W += ws
            for k in range(K):
                v = Y[s, k]
                S[k] += ws * v
                S2[k] += ws * v * v
    else:
        for a in range(start, end):
            s = idx[a]
            ws = w[s]
            W += ws
            S[codes[s]] += ws
    return W


@njit(cache=True, nogil=True)
def _impurity(crit, K, S, S2, W):
    if W <= 0.0:
        return 0.0
    out = 0.0
    if crit == 0:
        for k in range(K):
            mean = S[k] / W
            out += S2[k] / W - mean * mean
        return max(out, 0.0)
    if crit == 1:
        out = 1.0
        for k in range(K):
            p = S[k] / W
            out -= p * p
        return max(out, 0.0)
    for k in range(K):
        p = S[k] / W
        if p > 0.0:
            out -= p * math.log2(p)
    return out


@njit(cache=True, nogil=True)
def _build(
    Xt,
    codes,
    Y,
    w,
    idx,
    crit,
    K,
    max_depth,
    min_split,
    min_leaf,
    max_features,
    min_decrease,
    min_weight_frac,
    presort,
    rng,
):
    """Grow a tree on the samples idx (weights w) of X = Xt.T; see the module docstring.

    With ``presort``, each feature's samples are sorted once, at the root, and a split
    partitions every feature's sorted list stably into its two children's (SLIQ; Mehta,
    Agrawal & Rissanen, 1996), so no node sorts again: the better plan when most features are
    searched at every node. Without it, each node sorts only the features it searches (random
    forests). Either way, features found constant at a node are remembered by its descendants
    and not looked at again.
    """
    d = Xt.shape[0]
    n = idx.shape[0]
    cap = 2 * n + 1
    left = -np.ones(cap, dtype=np.int64)
    right = -np.ones(cap, dtype=np.int64)
    feature = np.full(cap, -2, dtype=np.int64)
    threshold = np.full(cap, -2.0)
    impurity = np.zeros(cap)
    n_samples = np.zeros(cap, dtype=np.int64)
    w_samples = np.zeros(cap)
    value = np.zeros((cap, K))
    importances = np.zeros(d)

    # presorted sample lists, one row per feature; a node owns the columns [start, end)
    vals = np.empty(n)
    samp = np.empty(n, dtype=np.int64)
    order = np.empty((d if presort else 0, n), dtype=np.int64)
    if presort:
        for f in range(d):
            for a in range(n):
                s = idx[a]
                vals[a] = Xt[f, s]
                samp[a] = s
            _sort_pairs(vals, samp, n)
            order[f] = samp
    goes_left = np.zeros(Xt.shape[1], dtype=np.bool_)
    buf = np.empty(n, dtype=np.int64)

    # depth-first stack (at most one pending sibling per level)
    scap = n + 2
    st_start = np.empty(scap, dtype=np.int64)
    st_end = np.empty(scap, dtype=np.int64)
    st_depth = np.empty(scap, dtype=np.int64)
    st_parent = np.empty(scap, dtype=np.int64)
    st_left = np.empty(scap, dtype=np.bool_)
    st_const = np.zeros((scap, d), dtype=np.bool_)
    stack = (st_start, st_end, st_depth, st_parent, st_left, st_const)
    known = np.zeros(d, dtype=np.bool_)
    sp = _push(stack, 0, 0, n, 0, -1, False, known)

    S = np.zeros(K)
    S2 = np.zeros(K)
    SL = np.zeros(K)
    SR = np.zeros(K)
    feats = np.arange(d)
    node_count = 0
    depth_seen = 0
    W_root = 0.0
    for a in range(n):
        W_root += w[idx[a]]
    min_wleaf = min_weight_frac * W_root

    while sp > 0:
        sp -= 1
        start = st_start[sp]
        end = st_end[sp]
        depth = st_depth[sp]
        parent = st_parent[sp]
        is_left = st_left[sp]
        known[:] = st_const[sp]
        node = node_count
        node_count += 1
        if parent >= 0:
            if is_left:
                left[parent] = node
            else:
                right[parent] = node
        if depth > depth_seen:
            depth_seen = depth

        m = end - start
        W = _node_stats(codes, Y, w, idx, start, end, crit, K, S, S2)
        imp = _impurity(crit, K, S, S2, W)
        impurity[node] = imp
        n_samples[node] = m
        w_samples[node] = W
        for k in range(K):
            value[node, k] = S[k] / W if W > 0.0 else 0.0

        leaf = (
            depth >= max_depth
            or m < min_split
            or m < 2 * min_leaf
            or imp <= _IMPURITY_EPS
            or W <= 0.0
            or W < 2.0 * min_wleaf
        )
        best_f = -1
        best_thr = 0.0
        best_n_left = 0
        best_proxy = -np.inf
        gain = 0.0
        if not leaf:
            # node-level constant of the proxy: sum S^2 (gini, mse) or t = sum S log S
            sq_node = 0.0
            t_node = 0.0
            for k in range(K):
                sq_node += S[k] * S[k]
                t_node += _xlog2x(S[k])
            n_scored = 0
            for fi in range(d):
                if n_scored >= max_features:
                    break
                r = fi + rng.integers(0, d - fi)
                f = feats[r]
                feats[r] = feats[fi]
                feats[fi] = f
                if known[f]:
                    continue  # constant here: does not count towards max_features
                xf = Xt[f]
                if presort:
                    seg = order[f]
                    off = start
                    if xf[seg[end - 1]] <= xf[seg[start]] + _FEATURE_EPS:
                        known[f] = True
                        continue
                else:
                    vmin = np.inf
                    vmax = -np.inf
                    for a in range(m):
                        sa = idx[start + a]
                        v = xf[sa]
                        vals[a] = v
                        samp[a] = sa
                        vmin = min(vmin, v)
                        vmax = max(vmax, v)
                    if vmax <= vmin + _FEATURE_EPS:
                        known[f] = True
                        continue
                    _sort_pairs(vals, samp, m)
                    seg = samp
                    off = 0
                n_scored += 1
                WL = 0.0
                WR = W
                for k in range(K):
                    SL[k] = 0.0
                    SR[k] = S[k]
                sqL = 0.0
                sqR = sq_node
                tL = 0.0
                tR = t_node
                v_next = xf[seg[off]]
                for pos in range(m - 1):
                    s = seg[off + pos]
                    ws = w[s]
                    if crit == 0:
                        for k in range(K):
                            v = ws * Y[s, k]
                            SL[k] += v
                            SR[k] -= v
                    else:
                        c = codes[s]
                        if crit == 1:
                            sqL += ws * (2.0 * SL[c] + ws)
                            sqR += ws * (ws - 2.0 * SR[c])
                        else:
                            tL -= _xlog2x(SL[c])
                            tR -= _xlog2x(SR[c])
                        SL[c] += ws
                        SR[c] -= ws
                        if crit == 2:
                            tL += _xlog2x(SL[c])
                            tR += _xlog2x(max(SR[c], 0.0))
                    WL += ws
                    WR -= ws
                    v_here = v_next
                    v_next = xf[seg[off + pos + 1]]
                    n_left = pos + 1
                    if n_left < min_leaf:
                        continue
                    if m - n_left < min_leaf:
                        break
                    if v_next <= v_here + _FEATURE_EPS:
                        continue
                    if WL <= 0.0 or WR <= 1e-12 * W or WL < min_wleaf or WR < min_wleaf:
                        continue
                    if crit == 0:
                        sqL = 0.0
                        sqR = 0.0
                        for k in range(K):
                            sqL += SL[k] * SL[k]
                            sqR += SR[k] * SR[k]
                    if crit == 2:
                        proxy = tL + tR - _xlog2x(WL) - _xlog2x(WR)
                    else:
                        proxy = sqL / WL + sqR / WR
                    if proxy > best_proxy:
                        best_proxy = proxy
                        best_f = f
                        best_n_left = n_left
                        thr = 0.5 * (v_here + v_next)
                        if thr >= v_next or thr < v_here:  # rounding
                            thr = v_here
                        best_thr = thr
            if best_f < 0:
                leaf = True
            else:
                if crit == 2:
                    gain = (_xlog2x(W) - t_node) + best_proxy
                else:
                    gain = best_proxy - sq_node / W
                if gain / W_root + _IMPURITY_EPS < min_decrease:
                    leaf = True
        if leaf:
            continue

        # the split: samples with x[best_f] <= threshold go left
        mid = start + best_n_left
        xf = Xt[best_f]
        for a in range(start, end):
            s = idx[a]
            goes_left[s] = xf[s] <= best_thr
        # the node's sample list, then every other live feature's sorted list, stably
        _partition(idx, start, end, goes_left, buf)
        for f in range(d if presort else 0):
            if known[f]:
                continue
            seg = order[f]
            xf = Xt[f]
            if xf[seg[end - 1]] <= xf[seg[start]] + _FEATURE_EPS:
                known[f] = True  # constant here, so in every descendant: never read again
                continue
            _partition(seg, start, end, goes_left, buf)

        feature[node] = best_f
        threshold[node] = best_thr
        importances[best_f] += max(gain, 0.0)
        # right pushed first so that the left child is numbered next (depth-first preorder)
        sp = _push(stack, sp, mid, end, depth + 1, node, False, known)
        sp = _push(stack, sp, start, mid, depth + 1, node, True, known)

    c = node_count
    return (
        left[:c].copy(),
        right[:c].copy(),
        feature[:c].copy(),
        threshold[:c].copy(),
        impurity[:c].copy(),
        n_samples[:c].copy(),
        w_samples[:c].copy(),
        value[:c].copy(),
        importances,
        depth_seen,
    )


@njit(cache=True, nogil=True)
def _apply(X, left, right, feature, threshold):
    n = X.shape[0]
    out = np.empty(n, dtype=np.int64)
    for a in range(n):
        node = 0
        while left[node] >= 0:
            if X[a, feature[node]] <= threshold[node]:
                node = left[node]
            else:
                node = right[node]
        out[a] = node
    return out


# --------------------------------------------------------------------------- the tree object


class Tree:
    """The arrays of a fitted tree, one entry per node (depth-first preorder; node 0 is the root).

    Attributes
    ----------
    node_count : int
    max_depth : int
    children_left, children_right : ndarray of shape (node_count,), int64
        Child node ids; -1 at leaves.
    feature : ndarray of shape (node_count,), int64
        Split feature; -2 at leaves.
    threshold : ndarray of shape (node_count,), float64
        Samples with ``x[feature] <= threshold`` go left; -2 at leaves.
    impurity : ndarray of shape (node_count,), float64
    n_node_samples : ndarray of shape (node_count,), int64
    weighted_n_node_samples : ndarray of shape (node_count,), float64
    value : ndarray of shape (node_count, n_outputs)
        Class probabilities (classification) or target means (regression).
    """

    def __init__(self, arrays: tuple, n_features: int) -> None:
        (
            self.children_left,
            self.children_right,
            self.feature,
            self.threshold,
            self.impurity,
            self.n_node_samples,
            self.weighted_n_node_samples,
            self.value,
            self._importances,
            self.max_depth,
        ) = arrays
        self.max_depth = int(self.max_depth)
        self.node_count = len(self.children_left)
        self.n_features = n_features

    @property
    def n_leaves(self) -> int:
        """Number of leaves."""
        return int(np.sum(self.children_left < 0))

    def apply(self, X: np.ndarray) -> np.ndarray:
        """The leaf id of each row of a validated float64 ``X``."""
        return _apply(X, self.children_left, self.children_right, self.feature, self.threshold)

    def feature_importances(self) -> np.ndarray:
        """Total impurity decrease per feature, normalised to sum to 1 (zeros for a stump)."""
        total = self._importances.sum()
        return self._importances / total if total > 0 else np.zeros_like(self._importances)


def _resolve_count(v: Any, n: int, name: str, minimum: int) -> int:
    """An int (>= minimum) or a fraction in (0, 1] of n, rounded up."""
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        if v < minimum:
            raise ValueError(f"{name} must be an int >= {minimum} or a float in (0, 1], got {v!r}")
        return int(v)
    if isinstance(v, numbers.Real) and not isinstance(v, bool) and 0.0 < v <= 1.0:
        return max(minimum, int(math.ceil(v * n)))
    raise ValueError(f"{name} must be an int >= {minimum} or a float in (0, 1], got {v!r}")


def resolve_max_features(max_features: Any, n_features: int) -> int:
    """Number of features searched per split.

    None means all; "sqrt" and "log2" the (floored) root or logarithm; an int itself (at most
    ``n_features``); a float in (0, 1] that fraction, floored; always at least 1.

    Raises
    ------
    ValueError
        For anything else.
    """
    mf = max_features
    if mf is None:
        return n_features
    if isinstance(mf, str):
        if mf == "sqrt":
            return max(1, int(math.sqrt(n_features)))
        if mf == "log2":
            return max(1, int(math.log2(n_features)))
    elif isinstance(mf, numbers.Integral) and not isinstance(mf, bool):
        if 1 <= mf:
            return min(int(mf), n_features)
    elif isinstance(mf, numbers.Real) and not isinstance(mf, bool) and 0.0 < mf <= 1.0:
        return max(1, int(mf * n_features))
    raise ValueError(
        "max_features must be None, 'sqrt', 'log2', a positive int or a float in (0, 1], "
        f"got {mf!r}"
    )


class _BaseTree(BaseEstimator):
    def _check_common(self, n: int, d: int) -> dict:
        md = self.max_depth
        if md is None:
            max_depth = np.iinfo(np.int64).max
        elif isinstance(md, numbers.Integral) and not isinstance(md, bool) and md >= 1:
            max_depth = int(md)
        else:
            raise ValueError(f"max_depth must be None or a positive int, got {md!r}")
        mwf = self.min_weight_fraction_leaf
        if not isinstance(mwf, numbers.Real) or isinstance(mwf, bool) or not 0 <= mwf <= 0.5:
            raise ValueError(f"min_weight_fraction_leaf must be a float in [0, 0.5], got {mwf!r}")
        mid = self.min_impurity_decrease
        if not isinstance(mid, numbers.Real) or isinstance(mid, bool) or mid < 0:
            raise ValueError(f"min_impurity_decrease must be a float >= 0, got {mid!r}")
        return dict(
            max_depth=max_depth,
            min_split=_resolve_count(self.min_samples_split, n, "min_samples_split", 2),
            min_leaf=_resolve_count(self.min_samples_leaf, n, "min_samples_leaf", 1),
            max_features=resolve_max_features(self.max_features, d),
            min_decrease=float(mid),
            min_weight_frac=float(mwf),
        )

    def _grow(self, Xt, codes, Y, w, crit, K, rows=None, seed=None):
        """Grow a tree on ``rows`` (default: all) of ``X = Xt.T`` with weights ``w``.

        ``Xt`` is the transposed, C-contiguous feature matrix (one row per feature), shared by
        the trees of a forest. Returns a :class:`Tree`.
        """
        d, n = Xt.shape
        params = self._check_common(n, d)
        if seed is None:
            seed = int(check_random_state(self.random_state).integers(0, 2**31 - 1))
        idx = np.arange(n, dtype=np.int64) if rows is None else rows.astype(np.int64)
        idx = idx[w[idx] > 0]  # weightless samples would only add spurious thresholds
        arrays = _build(
            Xt,
            codes,
            Y,
            w,
            idx,
            crit,
            K,
            params["max_depth"],
            params["min_split"],
            params["min_leaf"],
            params["max_features"],
            params["min_decrease"],
            params["min_weight_frac"],
            params["max_features"] * 4 >= d,  # presort when most features are searched
            np.random.default_rng(seed),
        )
        return Tree(arrays, d)

    def _finish(self, tree: Tree, d: int) -> None:
        self.tree_ = tree
        self.n_features_in_ = d
        self.max_features_ = resolve_max_features(self.max_features, d)
        self.feature_importances_ = tree.feature_importances()

    def _X_predict(self, X: Any) -> np.ndarray:
        return check_fitted_input(self, X, "tree_")

    def apply(self, X: Any) -> np.ndarray:
        """The leaf (node id in ``tree_``) that each sample reaches.

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        return self.tree_.apply(self._X_predict(X))

    def get_depth(self) -> int:
        """Depth of the tree (0 for a single leaf)."""
        check_is_fitted(self, "tree_")
        return self.tree_.max_depth

    def get_n_leaves(self) -> int:
        """Number of leaves."""
        check_is_fitted(self, "tree_")
        return self.tree_.n_leaves


class DecisionTreeClassifier(ClassifierMixin, _BaseTree):
    """A CART classification tree.

    Parameters
    ----------
    criterion : {"gini", "entropy"}, default "gini"
    max_depth : int or None, default None
        None grows until the leaves are pure or too small.
    min_samples_split : int or float, default 2
        Fewest samples a node needs to be split (a float is a fraction of the samples).
    min_samples_leaf : int or float, default 1
        Fewest samples on each side of a split.
    min_weight_fraction_leaf : float, default 0.0
        Smallest share (in [0, 0.5]) of the total sample weight on each side of a split.
    max_features : int, float, {"sqrt", "log2"} or None, default None
        Features searched per split (see :func:`resolve_max_features`).
    random_state : int, Generator or None, default None
        Order in which features are visited (it decides among equally good splits, and which
        features are searched when ``max_features`` is below the number of features).
    min_impurity_decrease : float, default 0.0
        A split must decrease the weighted impurity ``N_t / N * (I - N_L / N_t I_L -
        N_R / N_t I_R)`` by at least this much.
    class_weight : dict, "balanced" or None, default None
        Multiplies the sample weights per class.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_classes_ : int
    tree_ : Tree
    feature_importances_ : ndarray of shape (n_features,)
        Total (weighted) impurity decrease per feature, normalised to sum to 1.
    max_features_ : int
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        criterion: str = "gini",
        max_depth: int | None = None,
        min_samples_split: Any = 2,
        min_samples_leaf: Any = 1,
        min_weight_fraction_leaf: float = 0.0,
        max_features: Any = None,
        random_state: Any = None,
        min_impurity_decrease: float = 0.0,
        class_weight: Any = None,
    ) -> None:
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.min_impurity_decrease = min_impurity_decrease
        self.class_weight = class_weight

    def _prepare(self, X, y, sample_weight):
        if self.criterion not in ("gini", "entropy"):
            raise ValueError(f"criterion must be 'gini' or 'entropy', got {self.criterion!r}")
        X, y = check_X_y(X, y)
        classes, codes, w = check_classifier_targets(y, sample_weight)
        w = w * class_weight_vector(self.class_weight, classes, codes)[codes]
        return X, classes, codes.astype(np.int64), w

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DecisionTreeClassifier:
        """Grow the tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For invalid parameters or data.
        """
        X, classes, codes, w = self._prepare(X, y, sample_weight)
        self.classes_ = classes
        self.n_classes_ = len(classes)
        Xt = np.ascontiguousarray(X.T)
        tree = self._grow(Xt, codes, np.empty((0, 0)), w, _CRITERIA[self.criterion], len(classes))
        self._finish(tree, X.shape[1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class shares (by weight) of the training samples in the leaf each sample reaches.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float64
        """
        X = self._X_predict(X)
        return self.tree_.value[self.tree_.apply(X)]

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba` (-inf for a zero share)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The majority class of each sample's leaf (ties: the smallest label)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class DecisionTreeRegressor(RegressorMixin, _BaseTree):
    """A CART regression tree (squared-error criterion).

    Parameters
    ----------
    criterion : {"squared_error"}, default "squared_error"
    max_depth : int or None, default None
    min_samples_split : int or float, default 2
    min_samples_leaf : int or float, default 1
    min_weight_fraction_leaf : float, default 0.0
    max_features : int, float, {"sqrt", "log2"} or None, default None
    random_state : int, Generator or None, default None
    min_impurity_decrease : float, default 0.0

    Attributes
    ----------
    tree_ : Tree
    feature_importances_ : ndarray of shape (n_features,)
    max_features_ : int
    n_outputs_ : int
    n_features_in_ : int
    """

    _multi_output = True

    def __init__(
        self,
        *,
        criterion: str = "squared_error",
        max_depth: int | None = None,
        min_samples_split: Any = 2,
        min_samples_leaf: Any = 1,
        min_weight_fraction_leaf: float = 0.0,
        max_features: Any = None,
        random_state: Any = None,
        min_impurity_decrease: float = 0.0,
    ) -> None:
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.min_impurity_decrease = min_impurity_decrease

    def _prepare(self, X, y, sample_weight):
        if self.criterion != "squared_error":
            raise ValueError(f"criterion must be 'squared_error', got {self.criterion!r}")
        X, y = check_X_y(X, y, y_numeric=True, multi_output=True)
        w = check_sample_weight(sample_weight, len(X))
        Y = np.ascontiguousarray(y.reshape(len(y), -1))
        return X, Y, w, y.ndim

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DecisionTreeRegressor:
        """Grow the tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        X, Y, w, ndim = self._prepare(X, y, sample_weight)
        self.n_outputs_ = Y.shape[1]
        self._y_ndim = ndim
        Xt = np.ascontiguousarray(X.T)
        tree = self._grow(Xt, np.empty(0, dtype=np.int64), Y, w, 0, Y.shape[1])
        self._finish(tree, X.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The weighted mean target of each sample's leaf.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs), float64
        """
        X = self._X_predict(X)
        out = self.tree_.value[self.tree_.apply(X)]
        return out[:, 0] if self._y_ndim == 1 else out
