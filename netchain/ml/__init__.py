"""Classical machine learning: estimators with ``fit`` / ``predict`` / ``transform`` and the
Wolfram Language's high-level functions (``Classify``, ``Predict``, ``FindClusters``,
``DimensionReduce``, ``FindAnomalies``, ``FindFrequentItemsets``).

Every estimator follows scikit-learn's protocol (see :mod:`netchain.ml.base`).
"""

from netchain.ml.base import NotFittedError

__all__ = ["NotFittedError"]
