"""Classical machine learning: estimators with ``fit`` / ``predict`` / ``transform`` and the
Wolfram Language's high-level functions (``Classify``, ``Predict``, ``FindClusters``,
``DimensionReduce``, ``FindAnomalies``, ``FindFrequentItemsets``).

Every estimator follows scikit-learn's protocol (see :mod:`netchain.ml.base`).
"""

from netchain.ml.base import ConvergenceWarning, NotFittedError
from netchain.ml.classify import (
    ClassifierFunction,
    ClassifierMeasurements,
    Classify,
    Predict,
    PredictorFunction,
    PredictorMeasurements,
)
from netchain.ml.ensemble import RandomForestClassifier, RandomForestRegressor
from netchain.ml.linear_model import LinearRegression, LogisticRegression, Ridge
from netchain.ml.neighbors import KNeighborsClassifier, KNeighborsRegressor
from netchain.ml.svm import SVC
from netchain.ml.tree import DecisionTreeClassifier, DecisionTreeRegressor

__all__ = [
    "SVC",
    "ClassifierFunction",
    "ClassifierMeasurements",
    "Classify",
    "ConvergenceWarning",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "LinearRegression",
    "LogisticRegression",
    "NotFittedError",
    "Predict",
    "PredictorFunction",
    "PredictorMeasurements",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "Ridge",
]
