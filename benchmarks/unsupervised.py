"""Unsupervised learning: netchain against scikit-learn (and mlxtend for frequent itemsets).

Each row runs netchain and its peer in separate processes (see ``_harness.py``) on the UCI
digits (or breast cancer for anomalies), or on a larger synthetic set: Gaussian blobs
(20,000 x 50, 8 centres; 5,000 x 50 (3,000 for kernel PCA) where the method needs O(n^2)
memory or time: Ward, kernel PCA, one-class SVM, LLE, t-SNE), and
10,000 random transactions over 100 items at min_support 0.02. Quality figures are computed
after the timing: adjusted Rand index (clusterings), trustworthiness with k = 5
(embeddings), explained variance ratio (PCA), AUROC (anomalies), number of itemsets.

Run: ``python benchmarks/unsupervised.py [--case TEXT] [--rounds N]``.
"""

from __future__ import annotations

import gzip
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, str(ROOT))  # this checkout's netchain, not an installed one
from _harness import Case, main, median_time  # noqa: E402

_CANDIDATES = [ROOT.parent / "shared", ROOT / "shared", ROOT.parent.parent / "shared"]
DATA = next((c for c in _CANDIDATES if c.is_dir()), _CANDIDATES[0]) / "data" / "uci"


# --------------------------------------------------------------------------- data


def digits():
    with gzip.open(DATA / "digits.csv.gz", "rt") as f:
        a = np.loadtxt(f, delimiter=",")
    return a[:, :-1], a[:, -1].astype(np.int64)


def breast_cancer():
    a = np.loadtxt(DATA / "breast_cancer.csv", delimiter=",", skiprows=1)
    X = a[:, :-1]
    return (X - X.mean(0)) / X.std(0), a[:, -1] == 0  # malignant = anomaly


def blobs(n=20000, d=50, k=8, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(k, d))
    y = rng.integers(k, size=n)
    return centres[y] + rng.standard_normal((n, d)), y


def blobs_with_outliers(n=20000, d=50, seed=0):
    X, _ = blobs(n, d, seed=seed)
    rng = np.random.default_rng(seed + 1)
    m = n // 50
    idx = rng.choice(n, m, replace=False)
    X[idx] = rng.uniform(-15, 15, size=(m, d))
    truth = np.zeros(n, bool)
    truth[idx] = True
    return X, truth


def transactions(n=10000, m=100, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.25, m)
    B = rng.random((n, m)) < p
    for _ in range(5):  # five groups of items bought together
        items = rng.choice(m, 6, replace=False)
        rows = rng.random(n) < 0.15
        B[np.ix_(rows, items)] |= rng.random((rows.sum(), 6)) < 0.6
    return B


# --------------------------------------------------------------------------- quality


def ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def trust(X, E):
    from sklearn.manifold import trustworthiness

    return float(trustworthiness(X, E, n_neighbors=5))


def auroc(truth, score):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(truth, score))


def timed(fn, repeats):
    """Median time of fn() (after one warm-up call) and its last result."""
    out = {}

    def run():
        out["r"] = fn()

    return median_time(run, repeats=repeats, warmup=1), out["r"]


def once(fn, warm):
    """Time one call of fn(), after warm() (for slow fits: loads compiled code)."""
    warm()
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


# --------------------------------------------------------------------------- cases


def kmeans_case(data, algorithm, n_init, side, repeats):
    X, y = data()
    if side == "ours":
        from netchain.ml import KMeans
    else:
        from sklearn.cluster import KMeans
    k = len(np.unique(y))
    t, km = timed(
        lambda: KMeans(k, n_init=n_init, random_state=0, algorithm=algorithm).fit(X), repeats
    )
    return {"seconds": t, "quality": ari(y, km.labels_)}


def dbscan_case(data, eps, min_samples, side, repeats):
    X, y = data()
    if side == "ours":
        from netchain.ml import DBSCAN
    else:
        from sklearn.cluster import DBSCAN
    t, db = timed(lambda: DBSCAN(eps=eps, min_samples=min_samples).fit(X), repeats)
    return {"seconds": t, "quality": ari(y, db.labels_)}


def ward_case(data, linkage, side, repeats):
    X, y = data()
    if side == "ours":
        from netchain.ml import AgglomerativeClustering
    else:
        from sklearn.cluster import AgglomerativeClustering
    k = len(np.unique(y))
    t, ag = timed(lambda: AgglomerativeClustering(k, linkage=linkage).fit(X), repeats)
    return {"seconds": t, "quality": ari(y, ag.labels_)}


def pca_case(data, k, solver, side, repeats):
    X, _ = data()
    if side == "ours":
        from netchain.ml import PCA
    else:
        from sklearn.decomposition import PCA
    t, p = timed(lambda: PCA(k, svd_solver=solver, random_state=0).fit(X), repeats)
    return {"seconds": t, "quality": float(p.explained_variance_ratio_.sum())}


def kpca_case(data, k, n, side, repeats):
    X, _ = data()
    X = X[:n]
    if side == "ours":
        from netchain.ml import KernelPCA
    else:
        from sklearn.decomposition import KernelPCA
    gamma = 1.0 / (X.shape[1] * X.var())
    t, kp = timed(lambda: KernelPCA(k, kernel="rbf", gamma=gamma, random_state=0).fit(X), repeats)
    return {"seconds": t, "quality": float(kp.eigenvalues_.sum())}


def iforest_case(data, side, repeats):
    X, truth = data()
    if side == "ours":
        from netchain.ml import IsolationForest
    else:
        from sklearn.ensemble import IsolationForest

    def fit_score():
        f = IsolationForest(random_state=0).fit(X)
        return f.score_samples(X)

    t, s = timed(fit_score, repeats)
    return {"seconds": t, "quality": auroc(truth, -s)}


def ocsvm_case(data, n, nu, side, repeats):
    X, truth = data()
    X, truth = X[:n], truth[:n]
    if side == "ours":
        from netchain.ml import OneClassSVM
    else:
        from sklearn.svm import OneClassSVM

    def fit_score():
        return OneClassSVM(nu=nu).fit(X).score_samples(X)

    t, s = timed(fit_score, repeats)
    return {"seconds": t, "quality": auroc(truth, -s)}


def lle_case(data, n, side):
    X, _ = data()
    X = X[:n]
    if side == "ours":
        from netchain.ml import LocallyLinearEmbedding
    else:
        from sklearn.manifold import LocallyLinearEmbedding

    def fit():
        return LocallyLinearEmbedding(n_neighbors=10, random_state=0).fit_transform(X)

    t, E = once(fit, lambda: LocallyLinearEmbedding(n_neighbors=5).fit(X[:300]))
    return {"seconds": t, "quality": trust(X, E)}


def tsne_case(data, n, side):
    X, _ = data()
    X = X[:n]
    if side == "ours":
        from netchain.ml import TSNE
    else:
        from sklearn.manifold import TSNE
    t, E = once(
        lambda: TSNE(random_state=0).fit_transform(X),
        lambda: TSNE(perplexity=5, max_iter=250, random_state=0).fit(X[:100]),
    )
    return {"seconds": t, "quality": trust(X, E)}


def itemsets_case(algorithm, side, repeats):
    B = transactions()
    if side == "ours":
        from netchain.ml import Apriori, Eclat

        miner = Apriori if algorithm == "apriori" else Eclat
        t, r = timed(lambda: miner(0.02).fit(B).frequent_itemsets_, repeats)
        return {"seconds": t, "quality": float(len(r))}
    import pandas as pd
    from mlxtend.frequent_patterns import apriori, fpgrowth

    df = pd.DataFrame(B, columns=[f"i{j}" for j in range(B.shape[1])])
    fn = apriori if algorithm == "apriori" else fpgrowth
    t, r = timed(lambda: fn(df, min_support=0.02), repeats)
    return {"seconds": t, "quality": float(len(r))}


def blobs_small():
    return blobs(5000)


def _c(name, fn, *args, repeats=None):
    if repeats is None:
        return Case(name, ours=lambda: fn(*args, "ours"), peer=lambda: fn(*args, "peer"))
    return Case(
        name, ours=lambda: fn(*args, "ours", repeats), peer=lambda: fn(*args, "peer", repeats)
    )


CASES = [
    _c("digits / KMeans lloyd (k=10, n_init=10)", kmeans_case, digits, "lloyd", 10, repeats=5),
    _c("digits / KMeans elkan (k=10, n_init=10)", kmeans_case, digits, "elkan", 10, repeats=5),
    _c("blobs 20000x50 / KMeans lloyd (k=8)", kmeans_case, blobs, "lloyd", 1, repeats=5),
    _c("blobs 20000x50 / KMeans elkan (k=8)", kmeans_case, blobs, "elkan", 1, repeats=5),
    _c("digits / DBSCAN (eps=20)", dbscan_case, digits, 20.0, 5, repeats=5),
    _c("blobs 20000x50 / DBSCAN (eps=9)", dbscan_case, blobs, 9.0, 5, repeats=3),
    _c("digits / Ward", ward_case, digits, "ward", repeats=5),
    _c("digits / single linkage", ward_case, digits, "single", repeats=5),
    _c("blobs 5000x50 / Ward", ward_case, blobs_small, "ward", repeats=3),
    _c("digits / PCA (10, auto)", pca_case, digits, 10, "auto", repeats=20),
    _c("digits / PCA (10, randomized)", pca_case, digits, 10, "randomized", repeats=20),
    _c("blobs 20000x50 / PCA (10, auto)", pca_case, blobs, 10, "auto", repeats=10),
    _c("digits / KernelPCA rbf (5)", kpca_case, digits, 5, 1797, repeats=5),
    _c("blobs 3000x50 / KernelPCA rbf (5)", kpca_case, blobs, 5, 3000, repeats=3),
    _c("breast cancer / IsolationForest", iforest_case, breast_cancer, repeats=10),
    _c(
        "blobs 20000x50 + 2% outliers / IsolationForest",
        iforest_case,
        blobs_with_outliers,
        repeats=3,
    ),
    _c("breast cancer / OneClassSVM (nu=0.5)", ocsvm_case, breast_cancer, 569, 0.5, repeats=10),
    _c(
        "blobs 5000x50 + 2% outliers / OneClassSVM (nu=0.1)",
        ocsvm_case,
        blobs_with_outliers,
        5000,
        0.1,
        repeats=3,
    ),
    _c("digits / LLE (k=10)", lle_case, digits, 1797),
    _c("blobs 5000x50 / LLE (k=10)", lle_case, blobs, 5000),
    _c("digits / TSNE", tsne_case, digits, 1797),
    _c("blobs 5000x50 / TSNE", tsne_case, blobs, 5000),
    _c(
        "10000 transactions x 100 items / Apriori vs mlxtend apriori",
        itemsets_case,
        "apriori",
        repeats=3,
    ),
    _c(
        "10000 transactions x 100 items / Eclat vs mlxtend fpgrowth",
        itemsets_case,
        "eclat",
        repeats=3,
    ),
]

if __name__ == "__main__":
    main(CASES, peer_name="scikit-learn / mlxtend", description=__doc__.splitlines()[0])
