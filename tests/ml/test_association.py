"""Apriori, Eclat and association rules against brute force, closed forms and mlxtend."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from netchain.ml.association import Apriori, Eclat, association_rules


def brute_force(transactions, min_support, max_length=None):
    """Every itemset over the items seen, counted directly."""
    sets = [set(t) for t in transactions]
    items = sorted(set().union(*sets))
    n = len(sets)
    out = {}
    top = len(items) if max_length is None else max_length
    for k in range(1, top + 1):
        for combo in itertools.combinations(items, k):
            c = sum(1 for s in sets if s.issuperset(combo))
            if c / n >= min_support:
                out[frozenset(combo)] = c / n
    return out


def random_transactions(n=300, m=12, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.6, m)
    B = rng.random((n, m)) < p
    B[rng.random(n) < 0.3, :4] = True  # a correlated group of items
    return B


@pytest.mark.parametrize("miner", [Apriori, Eclat])
@pytest.mark.parametrize("min_support", [0.05, 0.2, 0.5])
def test_miners_equal_brute_force(miner, min_support):
    B = random_transactions()
    transactions = [list(np.flatnonzero(row)) for row in B]
    expected = brute_force(transactions, min_support)
    got = miner(min_support).fit(B).frequent_itemsets_
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, abs=1e-12)


def test_apriori_and_eclat_give_the_same_itemsets_in_the_same_order():
    B = random_transactions(2000, 30, seed=1)
    a = Apriori(0.03).fit(B).frequent_itemsets_
    e = Eclat(0.03).fit(B).frequent_itemsets_
    assert list(a.items()) == list(e.items())
    assert max(len(s) for s in a) >= 3


@pytest.mark.parametrize("miner", [Apriori, Eclat])
def test_max_length(miner):
    B = random_transactions()
    full = miner(0.05).fit(B).frequent_itemsets_
    short = miner(0.05, max_length=2).fit(B).frequent_itemsets_
    assert short == {k: v for k, v in full.items() if len(k) <= 2}


@pytest.mark.parametrize("miner", [Apriori, Eclat])
def test_transactions_of_hashable_items_duplicates_and_empty_ones(miner):
    transactions = [
        ["milk", "bread", "bread"],  # a repeated item counts once
        ["milk"],
        [],  # empty transactions count in the denominator
        ("bread", "butter"),
        {"milk", "bread", "butter"},
    ]
    got = miner(0.4).fit(transactions)
    assert got.n_transactions_ == 5
    assert got.frequent_itemsets_ == {
        frozenset({"bread"}): 3 / 5,
        frozenset({"milk"}): 3 / 5,
        frozenset({"bread", "milk"}): 2 / 5,
        frozenset({"bread", "butter"}): 2 / 5,
        frozenset({"butter"}): 2 / 5,
    }
    assert got.items_ == ["bread", "butter", "milk"]
    # items of mixed types
    mixed = miner(0.5).fit([[1, "a", (2, 3)], [1, (2, 3)]]).frequent_itemsets_
    assert mixed[frozenset({1, (2, 3)})] == 1.0 and mixed[frozenset({"a"})] == 0.5


def test_one_hot_forms_agree():
    B = random_transactions(200, 8, seed=2)
    from_bool = Apriori(0.1).fit(B).frequent_itemsets_
    from_int = Apriori(0.1).fit(B.astype(np.int64)).frequent_itemsets_
    from_list = Apriori(0.1).fit([list(np.flatnonzero(r)) for r in B]).frequent_itemsets_
    assert from_bool == from_int == from_list
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(B, columns=[f"c{j}" for j in range(8)])
    named = Eclat(0.1).fit(df).frequent_itemsets_
    assert {frozenset(f"c{j}" for j in s): v for s, v in from_bool.items()} == named


def test_support_exactly_at_the_threshold_is_frequent():
    transactions = [["a", "b"], ["a"], ["b"], ["c"], ["a", "c"]]
    got = Apriori(0.4).fit(transactions).frequent_itemsets_  # a: 3/5, b: 2/5, c: 2/5
    assert set(got) == {frozenset("a"), frozenset("b"), frozenset("c")}
    assert Eclat(0.6).fit(transactions).frequent_itemsets_ == {frozenset("a"): 0.6}


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, math.nan])
def test_min_support_outside_zero_one_raises(bad):
    with pytest.raises(ValueError, match="min_support"):
        Apriori(bad).fit([["a"]])
    with pytest.raises(ValueError, match="min_support"):
        Eclat(bad).fit([["a"]])


def test_input_errors():
    with pytest.raises(TypeError, match="string"):
        Apriori(0.5).fit(["ab", "bc"])
    with pytest.raises(TypeError, match="hashable"):
        Apriori(0.5).fit([[["a"]]])
    with pytest.raises(ValueError, match="0 and 1"):
        Apriori(0.5).fit(np.array([[0, 2], [1, 1]]))
    with pytest.raises(ValueError, match="0 transactions"):
        Eclat(0.5).fit([])
    with pytest.raises(ValueError, match="max_length"):
        Eclat(0.5, max_length=0).fit([["a"]])


def test_rules_closed_forms():
    transactions = [["a", "b"], ["a", "b"], ["a"], ["b", "c"], ["c"]]
    itemsets = Apriori(0.2).fit(transactions).frequent_itemsets_
    rules = association_rules(itemsets, metric="confidence", min_threshold=0.0)
    r = next(x for x in rules if x.antecedent == {"a"} and x.consequent == {"b"})
    # P(a) = 3/5, P(b) = 3/5, P(ab) = 2/5
    assert r.support == pytest.approx(0.4)
    assert r.confidence == pytest.approx(2 / 3)
    assert r.lift == pytest.approx((2 / 3) / 0.6)
    assert r.leverage == pytest.approx(0.4 - 0.36)
    assert r.conviction == pytest.approx((1 - 0.6) / (1 - 2 / 3))
    c = next(x for x in rules if x.antecedent == {"c"} and x.consequent == {"b"})
    assert c.confidence == pytest.approx(0.5)
    # a rule of confidence 1 has infinite conviction
    sure = association_rules({frozenset("x"): 0.5, frozenset("y"): 0.8, frozenset("xy"): 0.5})
    xy = next(x for x in sure if x.antecedent == {"x"})
    assert xy.confidence == 1.0 and math.isinf(xy.conviction)


@pytest.mark.parametrize("metric", ["confidence", "lift", "leverage", "conviction"])
def test_rules_filter_by_metric(metric):
    B = random_transactions(500, 10, seed=3)
    miner = Eclat(0.05).fit(B)
    every = association_rules(miner, metric=metric, min_threshold=-math.inf)
    values = np.array([getattr(r, metric) for r in every])
    t = float(np.median(values))
    kept = association_rules(miner, metric=metric, min_threshold=t)
    assert len(kept) == int((values >= t).sum())
    assert all(getattr(r, metric) >= t for r in kept)
    n_rules = sum(2 ** len(s) - 2 for s in miner.frequent_itemsets_ if len(s) > 1)
    assert len(every) == n_rules


def test_rules_errors():
    with pytest.raises(ValueError, match="metric"):
        association_rules({}, metric="jaccard")
    with pytest.raises(ValueError, match="lacks the support"):
        association_rules({frozenset("ab"): 0.5, frozenset("a"): 0.6})


def test_equal_to_mlxtend():
    pd = pytest.importorskip("pandas")
    fp = pytest.importorskip("mlxtend.frequent_patterns")
    B = random_transactions(1000, 15, seed=4)
    df = pd.DataFrame(B, columns=[f"i{j}" for j in range(15)])
    ref = fp.apriori(df, min_support=0.04, use_colnames=True)
    expected = {frozenset(s): v for s, v in zip(ref["itemsets"], ref["support"])}
    got = Apriori(0.04).fit(df).frequent_itemsets_
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(v, abs=1e-12) for k, v in expected.items())
    rules = association_rules(got, metric="lift", min_threshold=1.1)
    ref_rules = fp.association_rules(ref, metric="lift", min_threshold=1.1)
    ours = {(r.antecedent, r.consequent): r.lift for r in rules}
    theirs = {
        (frozenset(a), frozenset(c)): v
        for a, c, v in zip(ref_rules["antecedents"], ref_rules["consequents"], ref_rules["lift"])
    }
    assert ours.keys() == theirs.keys()
    assert all(ours[k] == pytest.approx(v, rel=1e-12) for k, v in theirs.items())
