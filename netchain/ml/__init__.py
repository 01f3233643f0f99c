"""Classical machine learning: estimators with ``fit`` / ``predict`` / ``transform`` and the
Wolfram Language's high-level functions (``Classify``, ``Predict``, ``FindClusters``,
``DimensionReduce``, ``FindAnomalies``, ``FindFrequentItemsets``).

Every estimator follows scikit-learn's protocol (see :mod:`netchain.ml.base`).
"""

from netchain.ml.anomaly import IsolationForest
from netchain.ml.association import Apriori, AssociationRule, Eclat, association_rules
from netchain.ml.base import ConvergenceWarning, NotFittedError
from netchain.ml.cluster import DBSCAN, AgglomerativeClustering, KMeans
from netchain.ml.decomposition import PCA, KernelPCA
from netchain.ml.functions_unsupervised import (
    ClusterClassifier,
    ClusterClassify,
    DimensionReduce,
    FindAnomalies,
    FindClusters,
    FindFrequentItemsets,
)
from netchain.ml.manifold import TSNE, LocallyLinearEmbedding

__all__ = [
    "DBSCAN",
    "PCA",
    "TSNE",
    "AgglomerativeClustering",
    "Apriori",
    "AssociationRule",
    "ClusterClassifier",
    "ClusterClassify",
    "ConvergenceWarning",
    "DimensionReduce",
    "Eclat",
    "FindAnomalies",
    "FindClusters",
    "FindFrequentItemsets",
    "IsolationForest",
    "KMeans",
    "KernelPCA",
    "LocallyLinearEmbedding",
    "NotFittedError",
    "association_rules",
]
