"""Calculus on SymPy: symbolic gradients and Hessians, critical points and their
classification, and numeric gradient descent (through :mod:`netchain.autodiff`) with its
trajectory.

A function may be a formula string such as ``"x**2 + y**2"``: it may contain only numbers,
names not starting with ``_`` (variables and SymPy's functions and constants: ``exp``, ``sin``,
``log``, ``sqrt``, ``pi``, ``E``, ...), whitespace and the operators ``+ - * / ** ^ ( ) ,``
(``^`` is a power). Anything else raises ValueError before evaluation, and formulas are
evaluated without Python's builtins, so a string never runs Python code.

>>> from netchain.calculus import Grad, Hessian, CriticalPoints, GradientDescent
>>> Grad("x**2 + y**2", ["x", "y"])
[2*x, 2*y]
>>> Hessian("x**2 + y**2", ["x", "y"]).tolist()
[[2, 0], [0, 2]]
>>> [str(p) for p in CriticalPoints("x**2 + y**2", ["x", "y"])]
['Minimum at (x = 0, y = 0)']
"""

from netchain.calculus.critical import ClassifyCriticalPoint, CriticalPoint, CriticalPoints
from netchain.calculus.descent import DescentResult, DivergenceWarning, GradientDescent
from netchain.calculus.symbolic import Grad, Hessian, as_expression, lambdify_numpy

__all__ = [
    "ClassifyCriticalPoint",
    "CriticalPoint",
    "CriticalPoints",
    "DescentResult",
    "DivergenceWarning",
    "Grad",
    "GradientDescent",
    "Hessian",
    "as_expression",
    "lambdify_numpy",
]
