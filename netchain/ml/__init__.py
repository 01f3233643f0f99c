"""Classical machine learning: estimators with ``fit`` / ``predict`` / ``transform`` and the
Wolfram Language's high-level functions (``Classify``, ``Predict``, ``FindClusters``,
``DimensionReduce``, ``FindAnomalies``, ``FindFrequentItemsets``).

Every estimator follows scikit-learn's protocol (see :mod:`netchain.ml.base`).
"""

from netchain.ml.anomaly import IsolationForest, OneClassSVM
from netchain.ml.association import Apriori, AssociationRule, Eclat, association_rules
from netchain.ml.base import ConvergenceWarning, NotFittedError
from netchain.ml.classify import (
    ClassifierFunction,
    ClassifierMeasurements,
    Classify,
    Predict,
    PredictorFunction,
    PredictorMeasurements,
)
from netchain.ml.cluster import DBSCAN, AgglomerativeClustering, KMeans
from netchain.ml.decomposition import PCA, KernelPCA
from netchain.ml.ensemble import RandomForestClassifier, RandomForestRegressor
from netchain.ml.functions_unsupervised import (
    ClusterClassifier,
    ClusterClassify,
    DimensionReduce,
    FindAnomalies,
    FindClusters,
    FindFrequentItemsets,
)
from netchain.ml.linear_model import LinearRegression, LogisticRegression, Ridge
from netchain.ml.manifold import TSNE, LocallyLinearEmbedding
from netchain.ml.neighbors import KNeighborsClassifier, KNeighborsRegressor
from netchain.ml.neural import MLPClassifier, MLPRegressor
from netchain.ml.svm import SVC
from netchain.ml.tree import DecisionTreeClassifier, DecisionTreeRegressor

__all__ = [
    "DBSCAN",
    "PCA",
    "SVC",
    "TSNE",
    "AgglomerativeClustering",
    "Apriori",
    "AssociationRule",
    "ClassifierFunction",
    "ClassifierMeasurements",
    "Classify",
    "ClusterClassifier",
    "ClusterClassify",
    "ConvergenceWarning",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "DimensionReduce",
    "Eclat",
    "FindAnomalies",
    "FindClusters",
    "FindFrequentItemsets",
    "IsolationForest",
    "KMeans",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "KernelPCA",
    "LinearRegression",
    "LocallyLinearEmbedding",
    "LogisticRegression",
    "MLPClassifier",
    "MLPRegressor",
    "NotFittedError",
    "OneClassSVM",
    "Predict",
    "PredictorFunction",
    "PredictorMeasurements",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "Ridge",
    "association_rules",
]
