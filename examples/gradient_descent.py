"""Gradient descent with an automatic gradient.

f(x, y) = x^2 + y^2 has gradient (2x, 2y); starting from (2, -3) with learning rate 0.1 each
step multiplies the point by 0.8, so 200 steps reach the minimum (0, 0) to within 1e-6.

    python examples/gradient_descent.py
"""

import numpy as np

from netchain.autodiff import grad


def f(p):
    return (p**2).sum()


df = grad(f)
p = np.array([2.0, -3.0])
print("gradient at (2, -3):", df(p))
for step in range(200):
    p = p - 0.1 * df(p)
    if step % 40 == 0:
        print(f"step {step:3d}: p = {p}, f(p) = {float(f(p)):.3g}")
print("after 200 steps:", p)
assert np.allclose(p, 0, atol=1e-6)
