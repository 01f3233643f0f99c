"""The fused recurrent primitives: back-propagation through time against finite differences,
equality with PyTorch's LSTM / GRU / RNN, the length mask, and the NumPy twins of the kernels."""

from __future__ import annotations

import numpy as np
import pytest

from netchain import autodiff as ad
from netchain.autodiff import Tensor, check_grad, recurrent

KINDS = {"lstm": 4, "gru": 3, "rnn": 1, "rnn_relu": 1}


def _params(kind: str, F: int, H: int, rng: np.random.Generator) -> list[np.ndarray]:
    G = KINDS[kind]
    Wi = rng.standard_normal((G * H, F)) * 0.6
    Wh = rng.standard_normal((G * H, H)) * 0.6
    if kind == "gru":
        return [Wi, Wh, rng.standard_normal(G * H) * 0.3, rng.standard_normal(G * H) * 0.3]
    return [Wi, Wh, rng.standard_normal(G * H) * 0.3]


def _call(kind: str, x, params, h0=None, c0=None, lengths=None) -> list[Tensor]:
    if kind == "lstm":
        return list(ad.lstm(x, *params, state=h0, cell_state=c0, lengths=lengths))
    if kind == "gru":
        return list(ad.gru(x, *params, state=h0, lengths=lengths))
    act = "Ramp" if kind == "rnn_relu" else "Tanh"
    return list(ad.rnn(x, *params, state=h0, lengths=lengths, activation=act))


def _flat(outs: list[Tensor]) -> Tensor:
    return ad.concatenate([o.reshape(-1) for o in outs])


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("T", [3, 7])
@pytest.mark.parametrize("masked", [False, True])
def test_bptt_matches_finite_differences(kind, T, masked, rng):
    N, F, H = 3, 2, 3
    x = rng.standard_normal((N, T, F))
    params = _params(kind, F, H, rng)
    h0 = rng.standard_normal((N, H)) * 0.5
    c0 = rng.standard_normal((N, H)) * 0.5
    lengths = np.array([T, 1, T - 1]) if masked else None
    if kind == "lstm":

        def f(x, *rest):
            *p, h, c = rest
            return _flat(_call(kind, x, p, h, c, lengths))

        err = check_grad(f, x, *params, h0, c0)
    else:

        def f(x, *rest):
            *p, h = rest
            return _flat(_call(kind, x, p, h, None, lengths))

        err = check_grad(f, x, *params, h0)
    assert err < 1e-7


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_gradient_of_only_the_final_state(kind, rng):
    """Only the final state used: the output sequence gets the free zero gradient."""
    x = rng.standard_normal((2, 5, 3))
    params = _params(kind, 3, 4, rng)
    err = check_grad(lambda x, *p: _call(kind, x, p)[1] * 1.5, x, *params)
    assert err < 1e-7


def _torch_module(torch, kind: str, F: int, H: int):
    if kind == "lstm":
        return torch.nn.LSTM(F, H, batch_first=True).double()
    if kind == "gru":
        return torch.nn.GRU(F, H, batch_first=True).double()
    nl = "relu" if kind == "rnn_relu" else "tanh"
    return torch.nn.RNN(F, H, batch_first=True, nonlinearity=nl).double()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_equals_pytorch_in_float64(kind, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    N, T, F, H = 4, 9, 5, 6
    m = _torch_module(torch, kind, F, H)
    x = rng.standard_normal((N, T, F))
    h0 = rng.standard_normal((N, H))
    c0 = rng.standard_normal((N, H))
    gy = rng.standard_normal((N, T, H))
    gh = rng.standard_normal((N, H))
    gc = rng.standard_normal((N, H))
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    c0t = torch.tensor(c0[None], requires_grad=True)
    if kind == "lstm":
        yt, (hTt, cTt) = m(xt, (h0t, c0t))
        loss = (yt * torch.tensor(gy)).sum() + (hTt[0] * torch.tensor(gh)).sum()
        loss = loss + (cTt[0] * torch.tensor(gc)).sum()
    else:
        yt, hTt = m(xt, h0t)
        loss = (yt * torch.tensor(gy)).sum() + (hTt[0] * torch.tensor(gh)).sum()
    loss.backward()
    sd = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    if kind == "gru":
        arrays = [sd["weight_ih_l0"], sd["weight_hh_l0"], sd["bias_ih_l0"], sd["bias_hh_l0"]]
    else:
        arrays = [sd["weight_ih_l0"], sd["weight_hh_l0"], sd["bias_ih_l0"] + sd["bias_hh_l0"]]
    X = Tensor(x, requires_grad=True)
    P = [Tensor(a, requires_grad=True) for a in arrays]
    H0 = Tensor(h0, requires_grad=True)
    C0 = Tensor(c0, requires_grad=True)
    outs = _call(kind, X, P, H0, C0 if kind == "lstm" else None)
    ups = [gy, gh, gc][: len(outs)]
    _flat([o * u for o, u in zip(outs, ups)]).sum().backward()
    np.testing.assert_allclose(outs[0].data, yt.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(outs[1].data, hTt[0].detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(X.grad, xt.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(P[0].grad, m.weight_ih_l0.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(P[1].grad, m.weight_hh_l0.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(P[2].grad, m.bias_ih_l0.grad.numpy(), rtol=0, atol=1e-10)
    if kind == "gru":
        np.testing.assert_allclose(P[3].grad, m.bias_hh_l0.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(H0.grad, h0t.grad.numpy()[0], rtol=0, atol=1e-10)
    if kind == "lstm":
        np.testing.assert_allclose(outs[2].data, cTt[0].detach().numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(C0.grad, c0t.grad.numpy()[0], rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_padded_batch_equals_each_sequence_alone(kind, rng):
    N, T, F, H = 4, 6, 3, 5
    x = rng.standard_normal((N, T, F))
    lengths = np.array([6, 2, 4, 0])
    x[1, 2:] = 100.0  # padding content must not matter
    params = _params(kind, F, H, rng)
    h0 = rng.standard_normal((N, H))
    c0 = rng.standard_normal((N, H))
    gy = rng.standard_normal((N, T, H))
    gh = rng.standard_normal((N, H))

    def run(xs, h, c, lens, up_y, up_h):
        X = Tensor(xs, requires_grad=True)
        P = [Tensor(p, requires_grad=True) for p in params]
        Hh = Tensor(h, requires_grad=True)
        Cc = Tensor(c, requires_grad=True) if kind == "lstm" else None
        outs = _call(kind, X, P, Hh, Cc, lens)
        _flat([outs[0] * up_y, outs[1] * up_h]).sum().backward()
        return outs[0].data, outs[1].data, X.grad, [p.grad for p in P], Hh.grad

    Y, hT, gx, gp, gh0 = run(x, h0, c0, lengths, gy, gh)
    total = [np.zeros_like(p) for p in params]
    for k, n in enumerate(lengths):
        if n == 0:
            np.testing.assert_array_equal(Y[k], 0)
            np.testing.assert_allclose(hT[k], h0[k], atol=1e-15)
            np.testing.assert_allclose(gh0[k], gh[k], atol=1e-15)
            np.testing.assert_array_equal(gx[k], 0)
            continue
        Yk, hk, gxk, gpk, ghk = run(
            x[k : k + 1, :n], h0[k : k + 1], c0[k : k + 1], None, gy[k : k + 1, :n], gh[k : k + 1]
        )
        np.testing.assert_allclose(Y[k, :n], Yk[0], atol=1e-12)
        np.testing.assert_array_equal(Y[k, n:], 0)
        np.testing.assert_allclose(hT[k], hk[0], atol=1e-12)
        np.testing.assert_allclose(gx[k, :n], gxk[0], atol=1e-12)
        np.testing.assert_array_equal(gx[k, n:], 0)
        np.testing.assert_allclose(gh0[k], ghk[0], atol=1e-12)
        for acc, g in zip(total, gpk):
            acc += g
    for acc, g in zip(total, gp):
        np.testing.assert_allclose(g, acc, atol=1e-11)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("masked", [False, True])
def test_numpy_twins_equal_the_kernels(kind, masked, rng):
    N, T, F, H = 3, 5, 2, 4
    x = rng.standard_normal((N, T, F)).astype(np.float32)
    params = [p.astype(np.float32) for p in _params(kind, F, H, rng)]
    lengths = np.array([5, 3, 1]) if masked else None
    up = rng.standard_normal((N, T, H)).astype(np.float32)
    results = []
    for flag in (True, False):
        recurrent.use_kernels(flag)
        try:
            X = Tensor(x, requires_grad=True)
            P = [Tensor(p, requires_grad=True) for p in params]
            outs = _call(kind, X, P, lengths=lengths)
            (outs[0] * up).sum().backward()
            results.append([outs[0].data, outs[1].data, X.grad, *[p.grad for p in P]])
        finally:
            recurrent.use_kernels(True)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_float32_in_float32_out(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    p = [a.astype(np.float32) for a in _params("lstm", 3, 5, rng)]
    y, h, c = ad.lstm(x, *p)
    assert y.dtype == np.float32 and h.dtype == np.float32 and c.dtype == np.float32
    assert y.shape == (2, 4, 5) and h.shape == (2, 5)


def test_no_grad_records_nothing(rng):
    x = rng.standard_normal((2, 4, 3))
    p = [Tensor(a, requires_grad=True) for a in _params("gru", 3, 5, rng)]
    with ad.no_grad():
        y, h = ad.gru(x, *p)
    assert not y.requires_grad and not h.requires_grad


def test_bad_inputs_are_named(rng):
    Wi, Wh, b = _params("lstm", 3, 4, rng)
    with pytest.raises(ValueError, match=r"\(N, T, F\)"):
        ad.lstm(rng.standard_normal((2, 3)), Wi, Wh, b)
    with pytest.raises(ValueError, match="input weights"):
        ad.lstm(rng.standard_normal((2, 5, 2)), Wi, Wh, b)
    with pytest.raises(ValueError, match="state weights"):
        ad.lstm(rng.standard_normal((2, 5, 3)), Wi, Wh[:, :3], b)
    with pytest.raises(ValueError, match="biases"):
        ad.lstm(rng.standard_normal((2, 5, 3)), Wi, Wh, b[:3])
    with pytest.raises(ValueError, match="state"):
        ad.lstm(rng.standard_normal((2, 5, 3)), Wi, Wh, b, state=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 5\]"):
        ad.lstm(rng.standard_normal((2, 5, 3)), Wi, Wh, b, lengths=[5, 6])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        ad.lstm(rng.standard_normal((2, 5, 3)), Wi, Wh, b, lengths=[5])
    with pytest.raises(ValueError, match="whole numbers"):
        ad.lstm(rng.standard_normal((2, 5, 3)), Wi, Wh, b, lengths=[1.5, 2])
    with pytest.raises(ValueError, match="activation"):
        ad.rnn(rng.standard_normal((2, 5, 3)), Wi[:4], Wh[:4], activation="Sigmoid")
