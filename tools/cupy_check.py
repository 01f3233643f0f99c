"""The same computations on the NumPy and the CuPy backend, compared (needs a GPU and CuPy).

``python tools/cupy_check.py`` runs this file once per backend, each in its own process
(``NETCHAIN_BACKEND`` is read at import), and prints, for each case, whether the two agree:
a loss and its gradients through tanh and softmax cross-entropy, a finite-difference gradient
check, a strided convolution with pooling and its gradients, a masked LSTM and its weight
gradient, and five rounds of NetTrain on the bundled digits (test accuracy).
"""

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

if len(sys.argv) == 1:  # the driver: both backends, then the comparison
    if importlib.util.find_spec("cupy") is None:
        sys.exit("tools/cupy_check.py needs CuPy (and a GPU); this Python has no cupy")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("numpy", "cupy"):
            out = os.path.join(tmp, name + ".json")
            env = {**os.environ, "NETCHAIN_BACKEND": name}
            subprocess.run([sys.executable, __file__, name, out], env=env, check=True)
            results[name] = json.load(open(out))
    a, b = results["numpy"], results["cupy"]
    if "import" in b:
        sys.exit("netchain did not import on CuPy:\n" + b["import"])
    for case in ("autodiff", "check_grad", "conv", "lstm", "nettrain_digits"):
        x, y = a[case], b[case]
        if not y["ok"]:
            print(f"{case}: CuPy failed: {y['error']}\n{y['tb']}")
        elif x["value"] == y["value"]:
            print(f"{case}: equal ({y['s']} s on CuPy)")
        else:
            print(f"{case}: NumPy {x['value']!s:.100} / CuPy {y['value']!s:.100}")
    sys.exit(0)

backend_name, out = sys.argv[1], sys.argv[2]
os.environ["NETCHAIN_BACKEND"] = backend_name
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
res = {"missing": []}
for mod in ("tqdm", "safetensors", "sympy", "numba", "threadpoolctl", "matplotlib"):
    try:
        importlib.import_module(mod)
    except Exception as e:
        res["missing"].append(f"{mod}: {type(e).__name__}")
import numpy as np  # noqa: E402 - after the backend is chosen


def run(name, fn):
    t = time.perf_counter()
    try:
        v = fn()
        res[name] = {"ok": True, "value": v, "s": round(time.perf_counter() - t, 3)}
    except Exception as e:
        import traceback

        res[name] = {
            "ok": False,
            "error": f"{type(e).__name__}: {e}",
            "tb": traceback.format_exc()[-1500:],
        }


try:
    from netchain import backend
    from netchain.backend import xp

    res["backend"] = backend.name
except Exception:
    import traceback

    res["import"] = traceback.format_exc()[-2000:]
    json.dump(res, open(out, "w"))
    sys.exit(0)


def tonp(a):
    a = a.data if hasattr(a, "data") and not isinstance(a, np.ndarray) and hasattr(a, "grad") else a
    return np.asarray(a.get() if hasattr(a, "get") else a)


rng = np.random.default_rng(0)
X = rng.standard_normal((8, 5))
W = rng.standard_normal((3, 5))
b = rng.standard_normal(3)


def autodiff_case():
    from netchain.autodiff import Tensor, linear, softmax_cross_entropy, tanh

    x = Tensor(xp.asarray(X), requires_grad=True)
    w = Tensor(xp.asarray(W), requires_grad=True)
    bb = Tensor(xp.asarray(b), requires_grad=True)
    loss = softmax_cross_entropy(tanh(linear(x, w, bb)) * 3.0, xp.asarray([0, 1, 2, 0, 1, 2, 0, 1]))
    loss.backward()
    return [
        float(tonp(loss._data)),
        tonp(w.grad).round(12).tolist(),
        tonp(x.grad).round(12).tolist(),
    ]


run("autodiff", autodiff_case)


def check_grad_case():
    from netchain.autodiff import check_grad, linear

    return float(check_grad(lambda x, w: (linear(x, w) ** 2).sum(), xp.asarray(X), xp.asarray(W)))


run("check_grad", check_grad_case)


def conv_case():
    from netchain.autodiff import Tensor, convolution, pooling

    xi = rng.standard_normal((2, 3, 9, 9))
    wi = rng.standard_normal((4, 3, 3, 3))
    x = Tensor(xp.asarray(xi), requires_grad=True)
    w = Tensor(xp.asarray(wi), requires_grad=True)
    y = pooling(convolution(x, w, padding=1, stride=(1, 2)), 2)
    (y * y).sum().backward()
    return [
        tonp(y._data).sum().round(8).item(),
        tonp(x.grad).sum().round(8).item(),
        tonp(w.grad).round(8).tolist(),
    ]


run("conv", conv_case)


def lstm_case():
    from netchain.autodiff import Tensor, lstm

    xi = rng.standard_normal((2, 4, 3))
    wi = rng.standard_normal((8, 3))
    wh = rng.standard_normal((8, 2))
    x = Tensor(xp.asarray(xi), requires_grad=True)
    Wi = Tensor(xp.asarray(wi), requires_grad=True)
    y, h, c = lstm(x, Wi, xp.asarray(wh), lengths=[4, 2])
    y.sum().backward()
    return [tonp(y._data).round(10).tolist(), tonp(Wi.grad).round(10).tolist()]


run("lstm", lstm_case)


def nettrain_case():
    from netchain import NetChain, NetTrain, Ramp, SoftmaxLayer
    from netchain.datasets import load_digits, standardize, train_test_split

    d = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(d.X, d.y, 0.25, random_seed=0)
    Xtr, Xte = standardize(Xtr, Xte)
    net = NetTrain(
        NetChain([128, Ramp, 10, SoftmaxLayer()]),
        (Xtr, ytr),
        max_training_rounds=5,
        batch_size=32,
        training_progress_reporting=None,
        random_seed=1,
    )
    p = tonp(
        net(Xte, "Probabilities") if False else net.evaluate(xp.asarray(Xte.astype(np.float32)))
    )
    return float((p.argmax(1) == yte).mean())


run("nettrain_digits", nettrain_case)
json.dump(res, open(out, "w"), default=str)
print(
    backend_name,
    {k: (v.get("ok") if isinstance(v, dict) and "ok" in v else v) for k, v in res.items()},
)
