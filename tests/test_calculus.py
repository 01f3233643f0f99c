"""netchain.calculus: symbolic gradients, critical points and the Hessian test, gradient descent."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from netchain.calculus import (
    ClassifyCriticalPoint,
    CriticalPoints,
    DivergenceWarning,
    Grad,
    GradientDescent,
    Hessian,
    as_expression,
)

HIMMELBLAU = "(x**2 + y - 11)**2 + (x + y**2 - 7)**2"
# The four minima of Himmelblau's function (Himmelblau 1972; the last three are roots of
# cubics, here to 12 digits from their closed forms).
HIMMELBLAU_MINIMA = np.array(
    [
        [3.0, 2.0],
        [-2.805118086953, 3.131312518250],
        [-3.779310253378, -3.283185991286],
        [3.584428340330, -1.848126526964],
    ]
)

x, y = sp.symbols("x y", real=True)


# ------------------------------------------------------------------------------ Grad, Hessian


def test_grad_of_x2_plus_y2_in_every_form():
    want = sp.Array([2 * x, 2 * y])
    assert Grad("x**2 + y**2", ["x", "y"]) == want
    assert Grad("x^2 + y^2") == want  # ^ is a power; variables default to sorted free symbols
    assert Grad(lambda x, y: x**2 + y**2) == want
    assert Grad(x**2 + y**2, [x, y]) == want
    assert Grad("x**2 + y**2", "x y") == want


def test_grad_variable_order_and_plain_symbols():
    a, b = sp.symbols("a b")  # not declared real: the function's own symbols are used
    g = Grad(a * b**2, ["b", "a"])
    assert g == sp.Array([2 * a * b, b**2])


def test_jacobian_and_hessian():
    J = Grad(["x*y", "x + y**3"], ["x", "y"])
    assert J.shape == (2, 2)
    assert J == sp.Array([[y, x], [1, 3 * y**2]])
    f = "x**2 + y**2"
    H = Hessian(f, ["x", "y"])
    assert H.tolist() == [[2, 0], [0, 2]]
    assert Grad(Grad(f, ["x", "y"]), ["x", "y"]) == H
    H2 = Hessian("x**3*y", ["x", "y"])
    assert H2 == sp.Array([[6 * x * y, 3 * x**2], [3 * x**2, 0]])
    assert H2.tomatrix().is_symmetric()


def test_formula_strings_never_run_python_code(capsys, tmp_path):
    marker = tmp_path / "ran"
    attacks = [
        "__import__('os').system('echo PWNED')",
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        "x.__class__",  # attribute access
        "x.real",
        "__builtins__",  # dunder name
        "_x + 1",
        "'x' + y",  # quotes
        '"x"',
        "x[0]",  # brackets
        "{x: 1}",
        "lambda x: x",  # keywords
        "x if y else 1",
        "x = 1",
        "x # comment",
        "x; y",
    ]
    for text in attacks:
        with pytest.raises(ValueError, match=r"^formula .* is not allowed"):
            Grad(text, ["x", "y"])
    with pytest.raises(ValueError, match=r"the name '__import__' .* is not allowed"):
        Hessian("__import__('os').system('echo PWNED')", ["x"])
    assert capsys.readouterr() == ("", "")
    assert not marker.exists()
    # the names that turn values into strings SymPy would parse are not SymPy's functions here:
    # they stay unknown functions of x, so no string is ever made or evaluated
    (g,) = Grad("sympify(x) + S(x) + srepr(x)", ["x"])
    assert all(isinstance(d, sp.Derivative) for d in g.args)


def test_ordinary_formula_strings_still_read():
    x, y = sp.symbols("x y", real=True)
    assert Grad("x**2 + y**2", ["x", "y"]) == sp.Array([2 * x, 2 * y])
    assert Grad(" exp(-x**2)*sin(y) ", ["x", "y"]) == sp.Array(
        [-2 * x * sp.exp(-(x**2)) * sp.sin(y), sp.exp(-(x**2)) * sp.cos(y)]
    )
    assert Grad("x^2", ["x"]) == sp.Array([2 * x])
    assert Grad("sqrt(x) + log(y) + pi*E", ["x", "y"]) == sp.Array([1 / (2 * sp.sqrt(x)), 1 / y])
    assert Grad("abs(x)", ["x"]) == Grad(sp.Abs(x), [x])  # abs / max / min as SymPy's
    assert Grad("Max(x, 2.5e-1)", ["x"]) == Grad("max(x, 0.25)", ["x"])
    assert Grad("(x\n + y)", ["x", "y"]) == sp.Array([1, 1])


def test_unreadable_formulas_raise_a_clean_value_error():
    for text in ["((", "(x + y", "x**2 +* y", "x\n+y", "   "]:
        with pytest.raises(ValueError, match=r"^f: .*formula"):
            Hessian(text, ["x", "y"])
    with pytest.raises(ValueError, match="parentheses"):
        Hessian("((", ["x"])


def test_bad_functions_and_variables():
    with pytest.raises(ValueError, match="cannot read"):
        Grad("x +* y", ["x", "y"])
    with pytest.raises(TypeError, match="variables must be"):
        Grad("x", [1, 2])
    with pytest.raises(ValueError, match="distinct"):
        Grad("x", ["x", "x"])
    with pytest.raises(ValueError, match="scalar"):
        Hessian(["x", "y"], ["x", "y"])
    with pytest.raises(TypeError, match="f must be"):
        Grad(object(), ["x"])
    with pytest.raises(ValueError, match="symbols other than"):
        CriticalPoints("a*x**2", ["x"])
    expr, syms = as_expression("beta*gamma", ["beta", "gamma"])  # names SymPy also uses
    assert [s.name for s in syms] == ["beta", "gamma"] and expr == syms[0] * syms[1]


# ------------------------------------------------------------------------------ critical points


def test_paraboloid_has_one_minimum_at_the_origin():
    (p,) = CriticalPoints("x**2 + y**2", ["x", "y"])
    assert p.point == (0, 0) and p.exact
    assert p.kind == "Minimum"
    assert p.eigenvalues == (2.0, 2.0)
    assert p.value == 0.0
    assert p.rules == {x: 0, y: 0}
    assert ClassifyCriticalPoint("x**2 + y**2", ["x", "y"], (0, 0)) == "Minimum"


def test_saddle_of_x2_minus_y2():
    (p,) = CriticalPoints("x**2 - y**2", ["x", "y"])
    assert p.point == (0, 0) and p.kind == "SaddlePoint"
    assert p.eigenvalues == (-2.0, 2.0)
    assert ClassifyCriticalPoint(lambda x, y: x**2 - y**2, None, [0.0, 0.0]) == "SaddlePoint"


@pytest.mark.parametrize("method", ["Automatic", "Numeric"])
def test_himmelblau_four_minima_one_maximum_four_saddles(method):
    points = CriticalPoints(HIMMELBLAU, ["x", "y"], method=method)
    kinds = [p.kind for p in points]
    assert kinds.count("Minimum") == 4
    assert kinds.count("Maximum") == 1
    assert kinds.count("SaddlePoint") == 4
    assert all(p.exact == (method == "Automatic") for p in points)
    minima = np.array([p.numeric for p in points if p.kind == "Minimum"])
    for m in HIMMELBLAU_MINIMA:
        assert np.min(np.abs(minima - m).max(axis=1)) < 1e-6
    for p in points:
        if p.kind == "Minimum":
            assert abs(p.value) < 1e-12  # all four minima have f = 0
    (top,) = [p for p in points if p.kind == "Maximum"]
    np.testing.assert_allclose(top.numeric, [-0.270844590667, -0.923038556480], atol=1e-9)
    assert top.value == pytest.approx(181.616522, abs=1e-5)


def test_exact_and_numeric_agree_and_exact_roots_are_algebraic():
    exact = CriticalPoints(HIMMELBLAU, method="Exact")
    numeric = CriticalPoints(HIMMELBLAU, method="Numeric")
    np.testing.assert_allclose([p.numeric for p in exact], [p.numeric for p in numeric], atol=1e-10)
    assert (3, 2) in [p.point for p in exact]
    # the others are real roots of the eliminant polynomials, exact SymPy numbers
    assert all(isinstance(c, sp.Basic) and c.is_real for p in exact for c in p.point)


def test_cubic_system_and_quartic():
    pts = CriticalPoints("x**3 - 3*x*y + y**3")
    assert [(p.point, p.kind) for p in pts] == [((0, 0), "SaddlePoint"), ((1, 1), "Minimum")]
    pts = CriticalPoints("x**4 + y**4 - 4*x*y")
    assert [(p.point, p.kind) for p in pts] == [
        ((-1, -1), "Minimum"),
        ((0, 0), "SaddlePoint"),
        ((1, 1), "Minimum"),
    ]


def test_non_polynomial_functions():
    lo, hi = CriticalPoints("x*exp(-x**2 - y**2)")
    assert lo.point == (-sp.sqrt(2) / 2, 0) and lo.kind == "Minimum"
    assert hi.point == (sp.sqrt(2) / 2, 0) and hi.kind == "Maximum"
    # rational function: the maximum of 1 / (1 + x^2 + y^2)
    (p,) = CriticalPoints("1/(1 + x**2 + y**2)")
    assert p.point == (0, 0) and p.kind == "Maximum"


def test_periodic_function_inside_the_search_box():
    # grad sin(x) cos(y) = 0 where cos x = sin y = 0 or sin x = cos y = 0: in [-5, 5]^2,
    # 4 x 3 points of each kind; the first are extrema, the second saddles.
    pts = CriticalPoints("sin(x)*cos(y)", search_range=(-5, 5))
    assert len(pts) == 24
    P = np.array([p.numeric for p in pts])
    g = np.column_stack([np.cos(P[:, 0]) * np.cos(P[:, 1]), -np.sin(P[:, 0]) * np.sin(P[:, 1])])
    assert np.abs(g).max() < 1e-12
    kinds = [p.kind for p in pts]
    assert kinds.count("SaddlePoint") == 12
    assert kinds.count("Minimum") == kinds.count("Maximum") == 6


def test_degenerate_and_non_isolated_points():
    (p,) = CriticalPoints("x**4 + y**2")
    assert p.point == (0, 0) and p.kind == "Degenerate"
    assert p.eigenvalues == (0.0, 2.0)
    (p,) = CriticalPoints("x**3")
    assert p.kind == "Degenerate"
    (line,) = CriticalPoints("x**2", ["x", "y"])  # the whole line x = 0
    assert not line.isolated and line.point[0] == 0 and line.kind == "Degenerate"
    (everything,) = CriticalPoints("3 + 0*x", ["x", "y"])
    assert not everything.isolated
    # x^2 - y^2 + z^4 at 0: a saddle although the Hessian is singular
    assert ClassifyCriticalPoint("x**2 - y**2 + z**4", ["x", "y", "z"], (0, 0, 0)) == (
        "SaddlePoint"
    )


def test_no_critical_points():
    assert CriticalPoints("x + y") == []
    assert CriticalPoints("exp(x) + y", search_range=(-3, 3)) == []


def test_classify_accepts_dicts_and_rejects_non_critical_points():
    f = HIMMELBLAU
    assert ClassifyCriticalPoint(f, ["x", "y"], {"x": 3, "y": 2}) == "Minimum"
    assert ClassifyCriticalPoint(f, ["x", "y"], (-0.270844590667, -0.923038556480)) == "Maximum"
    with pytest.raises(ValueError, match="not a critical point"):
        ClassifyCriticalPoint(f, ["x", "y"], (1, 1))
    with pytest.raises(ValueError, match="not a critical point"):
        ClassifyCriticalPoint(f, ["x", "y"], (0.5, 0.5))
    with pytest.raises(ValueError, match="2 variables"):
        ClassifyCriticalPoint(f, ["x", "y"], (1, 2, 3))
    with pytest.raises(ValueError, match="no value"):
        ClassifyCriticalPoint(f, ["x", "y"], {"x": 3})


def test_critical_points_bad_options():
    with pytest.raises(ValueError, match="domain"):
        CriticalPoints("x**2", domain="Complexes")
    with pytest.raises(ValueError, match="method"):
        CriticalPoints("x**2", method="Guess")
    with pytest.raises(ValueError, match="search_range"):
        CriticalPoints("x**2", search_range=(1, -1))
    with pytest.raises(ValueError, match="scalar"):
        CriticalPoints(["x", "y"])


# ------------------------------------------------------------------------------ descent


def test_gd_on_a_paraboloid_follows_the_closed_form():
    # x_k = (1 - 2 lr)^k x_0 for f = x^2 + y^2
    lr, x0 = 0.1, np.array([2.5, -2.0])
    r = GradientDescent(lambda x, y: x**2 + y**2, x0, lr, 30)
    k = np.arange(31)[:, None]
    np.testing.assert_allclose(r.trajectory, (1 - 2 * lr) ** k * x0, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(r.values, (r.trajectory**2).sum(axis=1), rtol=1e-13)
    np.testing.assert_allclose(r.gradients, 2 * r.trajectory, rtol=1e-13)
    assert r.steps == 30 and r.stop_reason == "Steps"
    # the same from a formula and from a function of one vector
    r2 = GradientDescent("x**2 + y**2", x0, lr, 30)
    r3 = GradientDescent(lambda v: (v**2).sum(), x0, lr, 30)
    np.testing.assert_array_equal(r.trajectory, r2.trajectory)
    np.testing.assert_array_equal(r.trajectory, r3.trajectory)


def test_descent_converges_and_stops():
    r = GradientDescent("x**2 + 3*y**2", [1.0, 1.0], 0.1, 10_000)
    assert r.stop_reason == "Converged" and r.steps < 10_000
    assert np.abs(r.gradients[-1]).max() <= 1e-12


def test_adam_reaches_the_rosenbrock_minimum():
    r = GradientDescent(
        lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, [-1.5, 2.0], 0.1, 4000, "ADAM"
    )
    np.testing.assert_allclose(r.point, [1.0, 1.0], atol=1e-6)
    assert r.value < 1e-10


def test_adam_first_step_moves_each_coordinate_by_the_learning_rate():
    r = GradientDescent(lambda x, y: 3 * x - 0.001 * y**2, [1.0, 2.0], 0.05, 1, "ADAM")
    g = np.array([3.0, -0.004])
    np.testing.assert_allclose(r.trajectory[1], [1.0, 2.0] - 0.05 * g / (np.abs(g) + 1e-8))


def test_momentum_and_adam_match_torch():
    torch = pytest.importorskip("torch")

    def rosen_t(p):
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    for method, make in [
        ("Momentum", lambda p: torch.optim.SGD([p], lr=1e-3, momentum=0.9)),
        ("ADAM", lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)),
    ]:
        p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        opt = make(p)
        path = [p.detach().numpy().copy()]
        for _ in range(60):
            opt.zero_grad()
            rosen_t(p).backward()
            opt.step()
            path.append(p.detach().numpy().copy())
        lr = 1e-3 if method == "Momentum" else 0.01
        r = GradientDescent(
            lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, [-1.5, 2.0], lr, 60, method
        )
        np.testing.assert_allclose(r.trajectory, np.array(path), rtol=1e-10, atol=1e-12)


def test_divergence_stops_with_a_message():
    with pytest.warns(DivergenceWarning, match="learning_rate 1.5"):
        r = GradientDescent("x**2 + y**2", [1.0, 1.0], 1.5, 100)
    assert r.diverged and r.stop_reason == "Diverged"
    assert np.all(np.isfinite(r.trajectory)) and r.steps < 100
    # |x_k| = 2^k: the bound 1e6 (1 + 1) is passed at step 21
    assert r.steps == 20 and "step 21" in r.message
    with pytest.warns(DivergenceWarning, match="no longer finite"):
        r = GradientDescent(lambda x: ((x - 3) ** 2).log(), [1.0], 2.0, 50)
    assert np.all(np.isfinite(r.values))


def test_descent_bad_input():
    f = "x**2 + y**2"
    with pytest.raises(ValueError, match="method"):
        GradientDescent(f, [1, 1], method="Newton")
    with pytest.raises(ValueError, match="learning_rate"):
        GradientDescent(f, [1, 1], learning_rate=0)
    with pytest.raises(ValueError, match="steps"):
        GradientDescent(f, [1, 1], steps=-1)
    with pytest.raises(ValueError, match="finite"):
        GradientDescent(f, [1, math.nan])
    with pytest.raises(ValueError, match="3 coordinates"):
        GradientDescent(lambda x, y: x * y, [1, 2, 3])
    with pytest.raises(ValueError, match="variables"):
        GradientDescent(f, [1, 2, 3])
    with pytest.raises(ValueError, match="no operation"):
        GradientDescent("sin(x)", [1.0])
    with pytest.raises(TypeError, match="f must be"):
        GradientDescent(42, [1.0])
    # variables given where the starting point goes
    with pytest.raises(ValueError, match=r"x0 must be the starting point.*\['a'\].*variables="):
        GradientDescent("x**2", ["a"])
    with pytest.raises(ValueError, match=r"x0 must be the starting point.*\[1, 'b'\]"):
        GradientDescent("x**2 + y**2", [1, "b"])
    with pytest.raises(ValueError, match="x0 must be the starting point.*None"):
        GradientDescent("x**2", None)


def test_numeric_search_in_three_variables_agrees_with_the_exact_answer():
    f = "x*exp(-x**2 - y**2 - z**2)"
    exact = CriticalPoints(f)
    numeric = CriticalPoints(f, method="Numeric", search_range=(-2, 2))
    assert [p.kind for p in exact] == [p.kind for p in numeric] == ["Minimum", "Maximum"]
    np.testing.assert_allclose(
        [p.numeric for p in numeric], [[-(0.5**0.5), 0, 0], [0.5**0.5, 0, 0]], atol=1e-12
    )
    assert all(p.point[1] == 0.0 and p.point[2] == 0.0 for p in numeric)
