"""Frequent itemsets (Apriori, Eclat) and association rules.

Transactions are stored vertically, one bitset per item (bit t set when transaction t holds
the item), so the support of an itemset is the population count of the AND of its items'
bitsets.

References
----------
- Agrawal, R. & Srikant, R. (1994). "Fast algorithms for mining association rules". VLDB.
- Zaki, M. J. (2000). "Scalable algorithms for association mining". IEEE TKDE 12(3) (Eclat).
- Brin, S., Motwani, R., Ullman, J. D. & Tsur, S. (1997). "Dynamic itemset counting and
  implication rules for market basket data". SIGMOD (lift, conviction).
- Piatetsky-Shapiro, G. (1991). "Discovery, analysis, and presentation of strong rules"
  (leverage).
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from netchain.ml.base import BaseEstimator, check_is_fitted, check_option, check_scalar

__all__ = ["Apriori", "AssociationRule", "Eclat", "association_rules"]


# --------------------------------------------------------------------------- encoding


def _encode(X: Any) -> tuple[np.ndarray, list]:
    """Transactions as a boolean matrix (n_transactions, n_items) and the item list.

    A NumPy array or a DataFrame is a one-hot matrix (bool, or numbers 0 and 1); the items
    are the column names (DataFrame) or the column indices. Anything else is an iterable of
    transactions, each an iterable of hashable items; an item repeated within a transaction
    counts once; empty transactions count.
    """
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):  # a DataFrame
        items = list(X.columns)
        values = X.to_numpy()
        return _check_onehot(values, "X"), items
    if isinstance(X, np.ndarray):
        return _check_onehot(X, "X"), list(range(X.shape[1] if X.ndim == 2 else 0))
    if isinstance(X, str | bytes):
        raise TypeError("X must be a list of transactions or a one-hot array, got a string")
    try:
        transactions = list(X)
    except TypeError:
        raise TypeError(
            f"X must be a list of transactions or a one-hot array, got {type(X).__name__}"
        ) from None
    if not transactions:
        raise ValueError("X: found 0 transactions; at least 1 is required")
    sets = []
    for t, tr in enumerate(transactions):
        if isinstance(tr, str | bytes):
            raise TypeError(
                f"X[{t}] is a string; each transaction must be a collection of items "
                "(wrap a single item in a list)"
            )
        try:
            sets.append(set(tr))
        except TypeError as exc:
            raise TypeError(f"X[{t}] must be an iterable of hashable items: {exc}") from None
    seen: dict = {}
    for s in sets:
        for item in s:
            seen.setdefault(item, None)
    items = list(seen)
    try:
        items = sorted(items)
    except TypeError:
        pass  # items of mixed types keep their order of first appearance
    index = {item: j for j, item in enumerate(items)}
    rows = np.fromiter(
        itertools.chain.from_iterable(itertools.repeat(t, len(s)) for t, s in enumerate(sets)),
        dtype=np.int64,
    )
    cols = np.fromiter((index[item] for s in sets for item in s), dtype=np.int64, count=rows.size)
    B = np.zeros((len(sets), len(items)), dtype=bool)
    B[rows, cols] = True
    return B, items


def _check_onehot(values: Any, name: str) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 2:
        raise ValueError(f"{name}: a one-hot matrix must be 2-D, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name}: found 0 transactions; at least 1 is required")
    if a.dtype == bool:
        return a
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name}: a one-hot matrix must hold bools or 0/1, got dtype {a.dtype}")
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name}: a one-hot matrix must hold only 0 and 1 (or bools)")
    return a.astype(bool)


def _bitsets(B: np.ndarray) -> np.ndarray:
    """One row of uint64 words per item; bit t of row j is B[t, j]."""
    n, m = B.shape
    packed = np.packbits(B.T, axis=1, bitorder="little")  # (m, ceil(n / 8))
    words = -(-packed.shape[1] // 8)
    out = np.zeros((m, words * 8), dtype=np.uint8)
    out[:, : packed.shape[1]] = packed
    return out.view(np.uint64)


@njit(cache=True, inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True)
def _count_candidates(bits, cands):
    """Support counts of the itemsets in the rows of ``cands`` (item indices)."""
    m, k = cands.shape
    W = bits.shape[1]
    out = np.zeros(m, dtype=np.int64)
    for c in range(m):
        total = 0
        for w in range(W):
            x = bits[cands[c, 0], w]
            for j in range(1, k):
                x &= bits[cands[c, j], w]
            total += _popcount(x)
        out[c] = total
    return out


@njit(cache=True)
def _row_less(A, i, B, j):
    """Lexicographic A[i] < B[j] (rows of equal length)."""
    for t in range(A.shape[1]):
        if A[i, t] != B[j, t]:
            return A[i, t] < B[j, t]
    return False


@njit(cache=True)
def _contains_row(L, row):
    """Whether the sorted rows of L contain ``row`` (binary search)."""
    lo = 0
    hi = L.shape[0]
    k = L.shape[1]
    while lo < hi:
        mid = (lo + hi) // 2
        less = False
        equal = True
        for t in range(k):
            if L[mid, t] != row[t]:
                less = L[mid, t] < row[t]
                equal = False
                break
        if equal:
            return True
        if less:
            lo = mid + 1
        else:
            hi = mid
    return False


@njit(cache=True)
def _apriori_candidates(L):
    """Join step and prune step of Apriori (Agrawal & Srikant, 1994).

    ``L`` holds the frequent (k-1)-itemsets as lexicographically sorted rows of increasing
    item indices. Two rows sharing their first k-2 items give the candidate made of those
    items and both last items; a candidate survives if each of its (k-1)-subsets is in L.
    """
    m, km1 = L.shape
    k = km1 + 1
    cap = 16
    out = np.empty((cap, k), dtype=np.int64)
    count = 0
    sub = np.empty(km1, dtype=np.int64)
    cand = np.empty(k, dtype=np.int64)
    start = 0
    while start < m:
        end = start + 1
        while end < m:
            same = True
            for t in range(km1 - 1):
                if L[end, t] != L[start, t]:
                    same = False
                    break
            if not same:
                break
            end += 1
        for a in range(start, end):
            for b in range(a + 1, end):
                for t in range(km1):
                    cand[t] = L[a, t]
                cand[km1] = L[b, km1 - 1]
                ok = True
                # the subsets dropping one of the first k-2 items (the other two are a and b)
                for drop in range(km1 - 1):
                    p = 0
                    for t in range(k):
                        if t != drop:
                            sub[p] = cand[t]
                            p += 1
                    if not _contains_row(L, sub):
                        ok = False
                        break
                if ok:
                    if count == cap:
                        cap *= 2
                        grown = np.empty((cap, k), dtype=np.int64)
                        grown[:count] = out[:count]
                        out = grown
                    out[count] = cand
                    count += 1
        start = end
    return out[:count]


# --------------------------------------------------------------------------- estimators


def _check_min_support(min_support: Any) -> float:
    check_scalar(min_support, "min_support", numbers.Real)
    if not 0 < min_support <= 1:
        raise ValueError(
            f"min_support must be in (0, 1] (a fraction of the transactions), got {min_support!r}"
        )
    return float(min_support)


def _check_max_length(max_length: Any) -> int | None:
    if max_length is None:
        return None
    return int(check_scalar(max_length, "max_length", numbers.Integral, min_val=1))


class _FrequentItemsetMiner(BaseEstimator):
    """Shared input handling and output of the frequent-itemset miners."""

    def __init__(self, min_support: float = 0.5, *, max_length: int | None = None) -> None:
        self.min_support = min_support
        self.max_length = max_length

    def fit(self, X: Any, y: Any = None) -> _FrequentItemsetMiner:
        """Find the itemsets whose support (share of transactions holding them all) is at
        least ``min_support``.

        Parameters
        ----------
        X : list of transactions (iterables of hashable items), or a one-hot matrix
            (NumPy array or DataFrame of bools / 0-1, one row per transaction, one column per
            item; a list is always read as transactions)
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For min_support outside (0, 1], max_length < 1, no transactions, or a one-hot
            matrix holding values other than 0 and 1.
        TypeError
            For a transaction that is a string or holds unhashable items.
        """
        min_support = _check_min_support(self.min_support)
        max_length = _check_max_length(self.max_length)
        B, items = _encode(X)
        n = B.shape[0]
        # smallest count whose support reaches min_support (tolerant to rounding of the ratio)
        min_count = max(1, math.ceil(min_support * n - 1e-9 * n))
        bits = _bitsets(B)
        found = self._mine(bits, min_count, max_length)
        result: dict = {}
        for sets, counts in found:
            for row, c in zip(sets.tolist(), counts.tolist()):
                result[frozenset(items[j] for j in row)] = c / n
        self.frequent_itemsets_ = result
        self.items_ = items
        self.n_transactions_ = n
        return self

    def _mine(self, bits, min_count, max_length):  # pragma: no cover - abstract
        raise NotImplementedError


def _sorted_levels(found: list) -> list:
    """Order the itemsets of each length lexicographically by item index."""
    out = []
    for sets, counts in found:
        if len(sets):
            order = np.lexsort(sets.T[::-1])
            out.append((sets[order], counts[order]))
    return out


class Apriori(_FrequentItemsetMiner):
    """Frequent itemsets by Apriori (Agrawal & Srikant, 1994): breadth first, level by level.

    The frequent k-itemsets are joined into (k+1)-candidates, candidates with an infrequent
    k-subset are pruned (every subset of a frequent itemset is frequent), and the survivors
    are counted against the transactions (as ANDed item bitsets).

    Parameters
    ----------
    min_support : float in (0, 1], default 0.5
        Smallest share of transactions an itemset must appear in.
    max_length : int or None, default None
        Longest itemset reported.

    Attributes
    ----------
    frequent_itemsets_ : dict of frozenset -> float
        Each frequent itemset and its support, by length, then by the order of ``items_``.
    items_ : list
        The items, sorted when comparable, else in order of first appearance.
    n_transactions_ : int
        Transactions, empty ones included (the denominator of every support).
    """

    def _mine(self, bits, min_count, max_length):
        m = bits.shape[0]
        singles = np.arange(m, dtype=np.int64)[:, None]
        counts = _count_candidates(bits, singles)
        keep = counts >= min_count
        level, level_counts = singles[keep], counts[keep]
        found = [(level, level_counts)]
        k = 1
        while len(level) > 1 and (max_length is None or k < max_length):
            cands = _apriori_candidates(level)
            if not len(cands):
                break
            counts = _count_candidates(bits, cands)
            keep = counts >= min_count
            level, level_counts = cands[keep], counts[keep]
            if not len(level):
                break
            found.append((level, level_counts))
            k += 1
        return _sorted_levels(found)


class Eclat(_FrequentItemsetMiner):
    """Frequent itemsets by Eclat (Zaki, 2000): depth first over prefix classes.

    Each itemset carries its tidset (the transactions that hold it, as a bitset); extending
    a prefix by one item intersects two tidsets of the prefix's class, so the transactions
    are never scanned again.

    Parameters
    ----------
    min_support : float in (0, 1], default 0.5
    max_length : int or None, default None

    Attributes
    ----------
    frequent_itemsets_ : dict of frozenset -> float
        The same itemsets and supports as :class:`Apriori`, in the same order.
    items_ : list
    n_transactions_ : int
    """

    def _mine(self, bits, min_count, max_length):
        counts = np.bitwise_count(bits).sum(axis=1, dtype=np.int64)
        frequent = np.flatnonzero(counts >= min_count)
        levels: dict[int, list] = {}
        levels[1] = [(frequent[:, None], counts[frequent])]
        stack = [((), frequent, bits[frequent])]
        while stack:
            prefix, members, member_bits = stack.pop()
            k = len(prefix) + 2  # length of the itemsets made in this class
            if max_length is not None and k > max_length:
                continue
            for i in range(len(members) - 1):
                joint = member_bits[i] & member_bits[i + 1 :]
                c = np.bitwise_count(joint).sum(axis=1, dtype=np.int64)
                ok = np.flatnonzero(c >= min_count)
                if not ok.size:
                    continue
                new_prefix = (*prefix, int(members[i]))
                sets = np.empty((ok.size, k), dtype=np.int64)
                sets[:, :-1] = new_prefix
                sets[:, -1] = members[i + 1 :][ok]
                levels.setdefault(k, []).append((sets, c[ok]))
                if ok.size > 1:
                    stack.append((new_prefix, members[i + 1 :][ok], joint[ok]))
        found = []
        for k in sorted(levels):
            parts = levels[k]
            found.append(
                (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
            )
        return _sorted_levels(found)


# --------------------------------------------------------------------------- rules


class AssociationRule(NamedTuple):
    """One rule ``antecedent -> consequent`` and its measures.

    support = P(A and C); confidence = P(C | A); lift = confidence / P(C);
    leverage = P(A and C) - P(A) P(C); conviction = (1 - P(C)) / (1 - confidence), infinite
    when the confidence is 1.
    """

    antecedent: frozenset
    consequent: frozenset
    support: float
    confidence: float
    lift: float
    leverage: float
    conviction: float
    antecedent_support: float
    consequent_support: float


_METRICS = ("confidence", "lift", "leverage", "conviction", "support")


def association_rules(
    itemsets: Any, metric: str = "confidence", min_threshold: float = 0.8
) -> list[AssociationRule]:
    """Association rules from frequent itemsets (Agrawal & Srikant, 1994).

    Every frequent itemset S of two or more items gives the rules A -> S \\ A for each
    non-empty proper subset A; a rule is kept when its ``metric`` is at least
    ``min_threshold``.

    Parameters
    ----------
    itemsets : dict of frozenset -> float, or a fitted :class:`Apriori` / :class:`Eclat`
        Frequent itemsets with their supports, as ``frequent_itemsets_``; every subset of an
        itemset must be present (as mining returns them).
    metric : {"confidence", "lift", "leverage", "conviction", "support"}, default "confidence"
    min_threshold : float, default 0.8

    Returns
    -------
    list of AssociationRule
        In the order of the itemsets, then by antecedent size and item order.

    Raises
    ------
    ValueError
        For an unknown metric, or when a subset's support is missing.
    """
    check_option(metric, "metric", _METRICS)
    check_scalar(min_threshold, "min_threshold", numbers.Real)
    if isinstance(itemsets, _FrequentItemsetMiner):
        check_is_fitted(itemsets, "frequent_itemsets_")
        itemsets = itemsets.frequent_itemsets_
    if not isinstance(itemsets, dict):
        raise TypeError(
            "itemsets must be a dict of frozenset -> support or a fitted Apriori / Eclat, "
            f"got {type(itemsets).__name__}"
        )
    support = {frozenset(k): float(v) for k, v in itemsets.items()}
    rules: list[AssociationRule] = []
    for S, s_sup in support.items():
        if len(S) < 2:
            continue
        members = list(S)
        for r in range(1, len(members)):
            for ante in itertools.combinations(members, r):
                A = frozenset(ante)
                C = S - A
                try:
                    a_sup = support[A]
                    c_sup = support[C]
                except KeyError as exc:
                    raise ValueError(
                        f"itemsets lacks the support of {set(exc.args[0])!r}, a subset of "
                        f"{set(S)!r}; pass every frequent itemset"
                    ) from None
                conf = s_sup / a_sup
                lift = conf / c_sup
                leverage = s_sup - a_sup * c_sup
                conviction = math.inf if conf >= 1.0 else (1.0 - c_sup) / (1.0 - conf)
                rule = AssociationRule(A, C, s_sup, conf, lift, leverage, conviction, a_sup, c_sup)
                if getattr(rule, metric) >= min_threshold:
                    rules.append(rule)
    return rules
