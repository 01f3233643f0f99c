"""Critical points and gradient descent on two classic test functions, with pictures.

Himmelblau's function (x^2 + y - 11)^2 + (x + y^2 - 7)^2 has nine critical points: four minima
(all with f = 0), one maximum and four saddle points. netchain.calculus finds them exactly
(lex Groebner elimination and real-root isolation in SymPy) and classifies each by the
eigenvalues of the Hessian; the numeric search finds the same points. Then GD, Momentum and
ADAM descend Rosenbrock's valley from (-1.5, 2) and the three paths are drawn on its contours.

Run:  python examples/critical_points_and_descent.py [OUT_DIR]   (about 5 seconds)
Writes himmelblau.png, himmelblau-surface.png and rosenbrock-descent-*.png to OUT_DIR
(default: the current folder).
"""

import sys
import warnings
from pathlib import Path

from netchain.calculus import CriticalPoints, DivergenceWarning, GradientDescent
from netchain.plot import ContourPlot, Plot3D

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
out.mkdir(parents=True, exist_ok=True)

himmelblau = "(x**2 + y - 11)**2 + (x + y**2 - 7)**2"
exact = CriticalPoints(himmelblau, ["x", "y"])
numeric = CriticalPoints(himmelblau, ["x", "y"], method="Numeric")
print(f"Himmelblau: {len(exact)} critical points")
for p, q in zip(exact, numeric):
    eig = ", ".join(f"{e:9.3f}" for e in p.eigenvalues)
    dist = max(abs(a - b) for a, b in zip(p.numeric, q.numeric))
    print(
        f"  {p.kind:<12} ({p.numeric[0]:+.9f}, {p.numeric[1]:+.9f})  f = {p.value:9.4f}  "
        f"Hessian eigenvalues {eig}   exact vs numeric {dist:.1e}"
    )
print("  exact coordinates of one minimum:", exact[0].point)

ContourPlot(
    himmelblau,
    ("x", -5, 5),
    ("y", -5, 5),
    points=exact,
    contours=40,
    log_scale=True,
    title="Himmelblau's function and its 9 critical points",
).save(out / "himmelblau.png")
Plot3D(
    himmelblau,
    ("x", -5, 5),
    ("y", -5, 5),
    points=[p for p in exact if p.kind == "Minimum"],
    view=(45, -120),
).save(out / "himmelblau-surface.png")

rosenbrock = "(1 - x)**2 + 100*(y - x**2)**2"
for method, lr in (("GD", 1e-3), ("Momentum", 1e-4), ("ADAM", 0.05)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        run = GradientDescent(rosenbrock, [-1.5, 2.0], lr, 3000, method)
    print(f"Rosenbrock, {method:<8} lr {lr:g}: {run}")
    ContourPlot(
        rosenbrock,
        ("x", -2, 2),
        ("y", -1, 3),
        trajectory=run,
        points=[(1, 1)],
        log_scale=True,
        contours=30,
        title=f"{method} on Rosenbrock's valley",
    ).save(out / f"rosenbrock-descent-{method.lower()}.png")
print(f"pictures written to {out.resolve()}")
