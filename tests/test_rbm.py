"""Restricted Boltzmann machines: the CD-1 rule against a hand computation, free energy and
pseudo-likelihood against brute-force sums over every state, Gibbs sampling against the exact
conditionals, and binarised MNIST (the pseudo-log-likelihood rises; samples after 1,000 Gibbs
steps lie near real digits). The example examples/rbm_mnist.py trains CD-10 for 15 rounds and
saves the picture of samples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from netchain.models import MODELS, RestrictedBoltzmannMachine, contrastive_divergence


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


def sig(a):
    return 1.0 / (1.0 + math.exp(-a))


# ---------------------------------------------------------------------- the learning rule


W0 = [[0.5, -1.0, 0.25], [-0.75, 0.3, 1.2]]  # (H, V) = (2, 3)
B0 = [0.1, -0.2, 0.3]  # visible biases
C0 = [-0.4, 0.6]  # hidden biases
V0 = [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]


def _cd1_by_hand(seed):
    """CD-1 written out element by element, with the documented order of random numbers: a
    uniform array for the hidden states (2 x 2), then one for the visible states (2 x 3)."""
    rng = np.random.default_rng(seed)
    uh = rng.random((2, 2))
    uv = rng.random((2, 3))
    H, V = 2, 3
    dW = [[0.0] * V for _ in range(H)]
    db = [0.0] * V
    dc = [0.0] * H
    for n in range(2):
        v0 = V0[n]
        ph0 = [sig(C0[j] + sum(W0[j][i] * v0[i] for i in range(V))) for j in range(H)]
        h0 = [1.0 if uh[n, j] < ph0[j] else 0.0 for j in range(H)]
        pv1 = [sig(B0[i] + sum(W0[j][i] * h0[j] for j in range(H))) for i in range(V)]
        v1 = [1.0 if uv[n, i] < pv1[i] else 0.0 for i in range(V)]
        ph1 = [sig(C0[j] + sum(W0[j][i] * v1[i] for i in range(V))) for j in range(H)]
        for j in range(H):
            for i in range(V):
                dW[j][i] += (ph0[j] * v0[i] - ph1[j] * v1[i]) / 2
            dc[j] += (ph0[j] - ph1[j]) / 2
        for i in range(V):
            db[i] += (v0[i] - v1[i]) / 2
    return np.array(dW), np.array(db), np.array(dc)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_cd1_equals_the_hand_computed_update(seed):
    dW, db, dc = _cd1_by_hand(seed)
    s = contrastive_divergence(
        np.array(W0), np.array(B0), np.array(C0), np.array(V0), k=1,
        rng=np.random.default_rng(seed),
    )  # fmt: skip
    np.testing.assert_allclose(s.weights, dW, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.visible_biases, db, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.hidden_biases, dc, rtol=0, atol=1e-12)
    # and the machine's update is learning_rate times it (no momentum or decay on a first step)
    rbm = RestrictedBoltzmannMachine(2, learning_rate=0.1, momentum=0.0, weight_decay=0.0,
                                     batch_size=2, random_seed=seed, working_precision="Real64")  # fmt: skip
    rbm.weights_ = np.array(W0)
    rbm.visible_biases_ = np.array(B0)
    rbm.hidden_biases_ = np.array(C0)
    rng = np.random.default_rng(seed)
    order = rng.permutation(2)  # partial_fit draws the batch order first
    s = contrastive_divergence(rbm.weights_.copy(), np.array(B0), np.array(C0),
                               np.array(V0)[order], k=1, rng=rng)  # fmt: skip
    rbm.partial_fit(np.array(V0))
    np.testing.assert_allclose(rbm.weights_, np.array(W0) + 0.1 * s.weights, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rbm.hidden_biases_, np.array(C0) + 0.1 * s.hidden_biases, atol=1e-12)
    np.testing.assert_allclose(
        rbm.visible_biases_, np.array(B0) + 0.1 * s.visible_biases, atol=1e-12
    )


def test_cd_k_and_persistent_chains():
    W, b, c = np.array(W0), np.array(B0), np.array(C0)
    v = np.array(V0)
    # k steps consume 2 k uniform arrays; the chain ends in binary states
    s = contrastive_divergence(W, b, c, v, k=5, rng=np.random.default_rng(3))
    assert s.chain.shape == (2, 3) and set(np.unique(s.chain)) <= {0.0, 1.0}
    # persistent: the negative statistics come from the given chain, of any number of rows
    chain = np.array([[1.0, 1.0, 1.0]] * 4)
    p = contrastive_divergence(W, b, c, v, k=1, chain=chain, rng=np.random.default_rng(3))
    assert p.chain.shape == (4, 3)
    ph0 = 1 / (1 + np.exp(-(v @ W.T + c)))
    phk = 1 / (1 + np.exp(-(p.chain @ W.T + c)))
    np.testing.assert_allclose(p.weights, ph0.T @ v / 2 - phk.T @ p.chain / 4, atol=1e-12)
    with pytest.raises(ValueError, match="k must be"):
        contrastive_divergence(W, b, c, v, k=0)
    with pytest.raises(ValueError, match=r"data must have shape \(n, 3\)"):
        contrastive_divergence(W, b, c, np.ones((2, 4)))


# ---------------------------------------------------------------------- exact quantities


@pytest.fixture
def tiny(rng):
    rbm = RestrictedBoltzmannMachine(3, working_precision="Real64")
    rbm.weights_ = rng.standard_normal((3, 5))
    rbm.visible_biases_ = rng.standard_normal(5)
    rbm.hidden_biases_ = rng.standard_normal(3)
    states = np.array(list(itertools.product([0.0, 1.0], repeat=5)))
    return rbm, states


def _brute_free_energy(rbm, v):
    """-log sum_h exp(-E(v, h)) over all 2^H hidden states."""
    W, b, c = rbm.weights_, rbm.visible_biases_, rbm.hidden_biases_
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[0])))
    neg_e = (v @ b)[:, None] + hs @ c + np.einsum("nv,hv,kh->nk", v, W, hs)
    m = neg_e.max(axis=1, keepdims=True)
    return -(m[:, 0] + np.log(np.exp(neg_e - m).sum(axis=1)))


def test_free_energy_and_pseudo_likelihood_equal_brute_force_sums(tiny):
    rbm, states = tiny
    F = rbm.free_energy(states)
    np.testing.assert_allclose(F, _brute_free_energy(rbm, states), rtol=1e-12)
    # pseudo-likelihood: log p(v_i | v_-i) from the two states that differ in unit i
    pll = np.zeros(len(states))
    for i in range(5):
        flipped = states.copy()
        flipped[:, i] = 1 - flipped[:, i]
        Ff = _brute_free_energy(rbm, flipped)
        pll += -F - np.logaddexp(-F, -Ff)
    np.testing.assert_allclose(rbm.score_samples(states), pll, rtol=1e-12)
    assert rbm.pseudo_log_likelihood(states) == pytest.approx(pll.mean(), rel=1e-12)
    with pytest.raises(ValueError, match="binary"):
        rbm.score_samples(np.full((1, 5), 0.5))


def test_gibbs_steps_sample_the_exact_conditionals(tiny):
    """One Gibbs step from a fixed v: the frequency of each visible state matches
    sum_h p(h | v) p(v' | h), computed exactly."""
    rbm, states = tiny
    W, b, c = rbm.weights_, rbm.visible_biases_, rbm.hidden_biases_
    v = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    ph = 1 / (1 + np.exp(-(W @ v + c)))
    p_h = np.prod(np.where(hs == 1, ph, 1 - ph), axis=1)
    pv = 1 / (1 + np.exp(-(hs @ W + b)))  # (8, 5)
    p_states = np.prod(np.where(states[None] == 1, pv[:, None], 1 - pv[:, None]), axis=2)
    exact = p_h @ p_states  # (32,)
    n = 40000
    out = rbm.gibbs(np.tile(v, (n, 1)), random_seed=0)
    codes = out @ (2 ** np.arange(4, -1, -1))
    freq = np.bincount(codes.astype(int), minlength=32) / n
    # 5 standard errors of each frequency
    assert np.all(np.abs(freq - exact) <= 5 * np.sqrt(exact * (1 - exact) / n) + 1e-4)
    assert rbm.gibbs(v, steps=3, random_seed=1).shape == (1, 5)


def test_errors_and_saving(tmp_path, tiny):
    rbm, states = tiny
    with pytest.raises(ValueError, match="n_hidden"):
        RestrictedBoltzmannMachine(0)
    with pytest.raises(ValueError, match="momentum"):
        RestrictedBoltzmannMachine(2, momentum=1.0)
    with pytest.raises(ValueError, match="not been trained"):
        RestrictedBoltzmannMachine(2).transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        RestrictedBoltzmannMachine(2).fit(np.full((3, 4), 2.0))
    with pytest.raises(ValueError, match="5 visible units"):
        rbm.transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        rbm.transform(np.full((2, 5), np.nan))
    path = rbm.save(tmp_path / "rbm.safetensors")
    again = RestrictedBoltzmannMachine.load(path)
    np.testing.assert_array_equal(again.weights_, rbm.weights_)
    np.testing.assert_array_equal(again.free_energy(states), rbm.free_energy(states))
    # the saved net is the mean-field reconstruction
    np.testing.assert_allclose(rbm.to_net()(states), rbm.reconstruct(states), rtol=1e-12)


# ---------------------------------------------------------------------- real data


def test_binarised_mnist_pseudo_likelihood_rises_and_samples_lie_near_digits(mnist_split):
    Xtr, Xte, _, _ = mnist_split
    Xtr = (Xtr.reshape(8000, -1) > 0.5).astype(np.float32)
    Xte = (Xte.reshape(2000, -1) > 0.5).astype(np.float32)
    monitor = Xte[:200]
    rbm = RestrictedBoltzmannMachine(128, max_training_rounds=4).fit(Xtr, monitor=monitor)
    pll = rbm.pseudo_log_likelihoods_
    assert len(pll) == 4 and all(b > a for a, b in zip(pll, pll[1:])), pll
    # far above independent pixels with the training marginals (about -206 nats)
    p = Xtr.mean(axis=0).clip(1e-3, 1 - 1e-3)
    independent = float(np.mean(monitor @ np.log(p) + (1 - monitor) @ np.log(1 - p)))
    assert pll[-1] > independent + 40, (pll, independent)
    # 1,000 Gibbs steps from the biases' marginals: the samples lie much nearer to some
    # training digit than samples of independent pixels with the same marginals do
    S = rbm.sample(20, 1000, random_seed=0)
    assert S.shape == (20, 784) and 0 <= S.min() and S.max() <= 1
    rng = np.random.default_rng(0)
    noise = (rng.random((20, 784)) < p).astype(np.float32)

    def nearest(A):
        d = (A**2).sum(1)[:, None] - 2 * A @ Xtr.T + (Xtr**2).sum(1)[None]
        return d.min(axis=1)

    assert np.median(nearest(S)) < 0.5 * np.median(nearest(noise))
    assert MODELS["rbm"].data == ("mnist",)


def test_cli_trains_and_evaluates_an_rbm(tmp_path, capsys, mnist_paths):
    from netchain.cli import main

    images, labels = mnist_paths
    out = tmp_path / "rbm.safetensors"
    args = ["train", "--net", "rbm", "--data", "mnist", "--images", str(images), "--labels",
            str(labels), "--rounds", "1", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    pll = float(printed.split("test pseudo-log-likelihood:")[1].split()[0])
    assert -170 < pll < -100  # one round of CD-10 (independent pixels: about -206)
    assert main(["evaluate", str(out)]) == 0
    assert f"test pseudo-log-likelihood: {pll:.3f}" in capsys.readouterr().out
    assert RestrictedBoltzmannMachine.load(out).k == 10
