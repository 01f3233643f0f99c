"""Restricted Boltzmann machines and deep belief networks.

A restricted Boltzmann machine (RBM) with binary visible units v (V of them) and binary hidden
units h (H) gives every joint state the energy

    E(v, h) = - b.v - c.h - h.W v        (W of shape (H, V), b visible, c hidden biases)

and the probability p(v, h) = exp(-E(v, h)) / Z. The units of one layer are independent given
the other: p(h_j = 1 | v) = s(c_j + W_j. v) and p(v_i = 1 | h) = s(b_i + W_.i h), with s the
logistic sigmoid, so a Gibbs chain alternates two vectorised samplings. Summing out h gives the
free energy F(v) = - b.v - sum_j softplus(c_j + W_j. v), with p(v) = exp(-F(v)) / Z.

Learning. The gradient of the mean log-likelihood is a difference of two expectations,
<v h^T>_data - <v h^T>_model; the second needs samples from the model. Contrastive
divergence (CD-k, Hinton 2002) takes them from a Gibbs chain of k steps started at the data;
persistent contrastive divergence (PCD, Tieleman 2008) keeps the chains ("fantasy particles")
running from one update to the next. Neither estimate is the gradient of a loss that can be
computed, so it is not a backward pass of :mod:`netchain.autodiff`: it is the learning rule
of the model, :func:`contrastive_divergence`, applied with momentum and weight decay
(Hinton 2010, "A practical guide to training restricted Boltzmann machines").

The likelihood itself needs Z, a sum over 2^V states. Training is monitored instead by the
pseudo-log-likelihood (Besag 1975), sum_i log p(v_i | v_-i), which needs only free energies:
p(v_i | v_-i) = s(F(v with v_i flipped) - F(v)).

A deep belief network (Hinton, Osindero & Teh 2006) stacks RBMs, each trained on the hidden
probabilities of the one below (greedy layer-wise pretraining); the stack's weights then start
a sigmoid net that is fine-tuned as a classifier by :func:`~netchain.train.NetTrain`, with every
gradient through :mod:`netchain.autodiff` (Hinton & Salakhutdinov 2006).

References
----------
Smolensky (1986); Hinton (2002), "Training products of experts by minimizing contrastive
divergence", Neural Computation 14; Tieleman (2008), "Training restricted Boltzmann machines
using approximations to the likelihood gradient", ICML; Hinton (2010), UTML TR 2010-003;
Besag (1975), "Statistical analysis of non-lattice data"; Hinton, Osindero & Teh (2006), "A
fast learning algorithm for deep belief nets", Neural Computation 18; Hinton & Salakhutdinov
(2006), Science 313; Bengio, Lamblin, Popovici & Larochelle (2007), "Greedy layer-wise
training of deep networks", NIPS.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netchain import backend
from netchain.backend import special, xp
from netchain.layers import ElementwiseLayer, LinearLayer, SoftmaxLayer
from netchain.nets import NetChain, NetDecoder, NetLoad, NetSave
from netchain.train import NetTrain

__all__ = [
    "CDStatistics",
    "DeepBeliefNetwork",
    "RestrictedBoltzmannMachine",
    "contrastive_divergence",
]


# ---------------------------------------------------------------------- the learning rule


@dataclass
class CDStatistics:
    """The contrastive-divergence estimate of the log-likelihood gradient for one batch.

    Attributes
    ----------
    weights : ndarray of shape (H, V)
        <h v^T>_data - <h v^T>_chain (each a mean over its rows).
    visible_biases : ndarray of shape (V,)
        <v>_data - <v>_chain.
    hidden_biases : ndarray of shape (H,)
        <p(h | v)>_data - <p(h | v)>_chain.
    chain : ndarray of shape (M, V)
        The visible states where the negative chains ended (binary samples), to continue
        from in persistent CD.
    """

    weights: Any
    visible_biases: Any
    hidden_biases: Any
    chain: Any


def _hidden_probabilities(v: Any, W: Any, c: Any) -> Any:
    a = v @ W.T
    a += c
    return special.expit(a, out=a)


def _visible_probabilities(h: Any, W: Any, b: Any) -> Any:
    a = h @ W
    a += b
    return special.expit(a, out=a)


def _bernoulli(p: Any, rng: Any) -> Any:
    """Binary samples: 1 where a uniform number drawn for each element is below p."""
    u = xp.asarray(rng.random(p.shape, dtype=p.dtype))
    return (u < p).astype(p.dtype)


def contrastive_divergence(
    weights: Any,
    visible_biases: Any,
    hidden_biases: Any,
    data: Any,
    *,
    k: int = 1,
    chain: Any = None,
    rng: Any = None,
) -> CDStatistics:
    """The CD-k (or persistent CD) estimate of the gradient of the mean log-likelihood of an
    RBM with binary units, for one batch.

    The positive statistics come from the data with the exact hidden probabilities
    p(h | v0). The negative chain starts at the data (CD-k) or at ``chain`` (persistent CD)
    and makes k Gibbs steps, each drawing binary hidden states h ~ p(h | v) and then binary
    visible states v ~ p(v | h); the negative statistics are those visible states with their
    hidden probabilities p(h | v_k). This is the rule of Hinton (2002) and Tieleman (2008);
    the caller adds ``learning_rate`` times the result to the parameters (with momentum and
    weight decay if wanted).

    Random numbers: for each of the k steps, first a uniform array of the hidden states'
    shape (M, H), then one of the visible states' shape (M, V), both drawn by
    ``rng.random(shape, dtype)`` in the arrays' dtype; a state is 1 where its uniform number
    is below its probability.

    Parameters
    ----------
    weights : ndarray of shape (H, V)
    visible_biases : ndarray of shape (V,)
    hidden_biases : ndarray of shape (H,)
    data : ndarray of shape (n, V)
        The batch; values in [0, 1] (binary data, or probabilities such as grey levels, which
        enter the positive statistics as they are).
    k : int, default 1
        Gibbs steps.
    chain : ndarray of shape (M, V), optional
        The visible states of persistent chains (persistent CD); default: start at the data.
    rng : numpy.random.Generator, optional
        Default: a new generator seeded from the operating system.

    Returns
    -------
    CDStatistics

    Raises
    ------
    ValueError
        For shapes that do not fit or k < 1.
    """
    W = xp.asarray(weights)
    b = xp.asarray(visible_biases)
    c = xp.asarray(hidden_biases)
    v0 = xp.asarray(data)
    H, V = W.shape
    if b.shape != (V,) or c.shape != (H,):
        raise ValueError(
            f"contrastive_divergence: biases of shapes ({V},) and ({H},) needed for weights "
            f"{W.shape}, got {b.shape} and {c.shape}"
        )
    if v0.ndim != 2 or v0.shape[1] != V or len(v0) == 0:
        raise ValueError(
            f"contrastive_divergence: data must have shape (n, {V}), got {tuple(v0.shape)}"
        )
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
        raise ValueError(f"contrastive_divergence: k must be a positive int, got {k!r}")
    rng = backend.rng(rng)
    ph0 = _hidden_probabilities(v0, W, c)
    if chain is None:
        v, ph = v0, ph0
    else:
        v = xp.asarray(chain, dtype=W.dtype)
        if v.ndim != 2 or v.shape[1] != V:
            raise ValueError(
                f"contrastive_divergence: chain must have shape (M, {V}), got {tuple(v.shape)}"
            )
        ph = _hidden_probabilities(v, W, c)
    for _ in range(k):
        h = _bernoulli(ph, rng)
        v = _bernoulli(_visible_probabilities(h, W, b), rng)
        ph = _hidden_probabilities(v, W, c)
    n, m = len(v0), len(v)
    dW = ph0.T @ v0
    dW /= n
    dW -= (ph.T @ v) / m
    db = v0.mean(axis=0) - v.mean(axis=0)
    dc = ph0.mean(axis=0) - ph.mean(axis=0)
    return CDStatistics(dW, db, dc, v)


# ---------------------------------------------------------------------- the RBM


def _check_int(value: Any, name: str, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_real(value: Any, name: str, low: float, high: float = math.inf) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not low <= value < high:
        raise ValueError(f"{name} must be a number in [{low}, {high}), got {value!r}")
    return float(value)


class RestrictedBoltzmannMachine:
    """A restricted Boltzmann machine with Bernoulli (binary) visible and hidden units,
    trained by contrastive divergence (CD-k) or persistent contrastive divergence.

    Parameters
    ----------
    n_hidden : int, default 128
        H, the number of hidden units.
    k : int, default 1
        Gibbs steps per update (CD-k).
    persistent : bool, default False
        Persistent CD: the negative chains (``batch_size`` of them) carry on from update to
        update instead of restarting at the data.
    learning_rate : float, default 0.05
    momentum : float, default 0.5
        The update is momentum times the previous update plus learning_rate times the CD
        statistics (minus weight decay), as in Hinton's guide.
    weight_decay : float, default 1e-4
        L2 penalty on the weights (not the biases).
    batch_size : int, default 64
    max_training_rounds : int, default 10
        Passes over the data in :meth:`fit`.
    random_seed : int or numpy.random.Generator, default 1234
        Initial weights, batch order and all sampling during training.
    working_precision : {"Real32", "Real64"}, default "Real32"

    Attributes
    ----------
    weights_ : ndarray of shape (H, V)
        Initialised from N(0, 0.01^2).
    visible_biases_ : ndarray of shape (V,)
        Initialised to log(p / (1 - p)) for the training data's mean p of each unit (clipped
        to [0.01, 0.99]), so that the model starts with the data's marginals.
    hidden_biases_ : ndarray of shape (H,)
        Initialised to 0.
    pseudo_log_likelihoods_ : list of float
        With ``fit(..., monitor=X)``: the mean pseudo-log-likelihood of X after each round.
    chain_ : ndarray or None
        The persistent chains' visible states (persistent CD).

    Notes
    -----
    The counterpart of scikit-learn's ``BernoulliRBM`` (n_components, n_iter, random_state
    there), with CD-k, the non-persistent variant, momentum and weight decay added.

    Examples
    --------
    >>> import numpy as np
    >>> from netchain.models import RestrictedBoltzmannMachine
    >>> X = (np.random.default_rng(0).random((200, 16)) < 0.3).astype(float)
    >>> rbm = RestrictedBoltzmannMachine(8, max_training_rounds=2).fit(X)
    >>> rbm.transform(X).shape
    (200, 8)
    """

    def __init__(
        self,
        n_hidden: int = 128,
        *,
        k: int = 1,
        persistent: bool = False,
        learning_rate: float = 0.05,
        momentum: float = 0.5,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        max_training_rounds: int = 10,
        random_seed: Any = 1234,
        working_precision: str = "Real32",
    ) -> None:
        self.n_hidden = _check_int(n_hidden, "n_hidden")
        self.k = _check_int(k, "k")
        self.persistent = bool(persistent)
        self.learning_rate = _check_real(learning_rate, "learning_rate", 0.0)
        if self.learning_rate == 0:
            raise ValueError("learning_rate must be positive, got 0")
        self.momentum = _check_real(momentum, "momentum", 0.0, 1.0)
        self.weight_decay = _check_real(weight_decay, "weight_decay", 0.0)
        self.batch_size = _check_int(batch_size, "batch_size")
        self.max_training_rounds = _check_int(max_training_rounds, "max_training_rounds")
        self.random_seed = random_seed
        self.working_precision = working_precision
        self.dtype = backend.precision_dtype(working_precision)
        self.weights_: Any = None
        self.visible_biases_: Any = None
        self.hidden_biases_: Any = None
        self.chain_: Any = None
        self.pseudo_log_likelihoods_: list[float] = []
        self._rng = backend.rng(random_seed)
        self._velocity: list[Any] | None = None

    # ------------------------------------------------------------------ helpers
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-compatible; an int or None seed)."""
        seed = self.random_seed if isinstance(self.random_seed, int) else None
        return {
            "n_hidden": self.n_hidden,
            "k": self.k,
            "persistent": self.persistent,
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "batch_size": self.batch_size,
            "max_training_rounds": self.max_training_rounds,
            "random_seed": seed,
            "working_precision": self.working_precision,
        }

    @property
    def n_visible(self) -> int | None:
        """V, known once trained."""
        return None if self.weights_ is None else int(self.weights_.shape[1])

    def _check_fitted(self) -> None:
        if self.weights_ is None:
            raise ValueError("this RestrictedBoltzmannMachine has not been trained; call fit(X)")

    def _visible(self, X: Any, name: str = "X") -> Any:
        """Validate visible vectors: (N, V) (or one vector (V,)) with values in [0, 1]."""
        A = backend.as_float_array(X, self.dtype, name=name)
        if A.ndim == 1 and self.n_visible is not None and A.shape[0] == self.n_visible:
            A = A[None]
        if A.ndim != 2 or A.shape[0] == 0:
            raise ValueError(f"{name} must be a non-empty 2-D array (N, V), got shape {A.shape}")
        if self.n_visible is not None and A.shape[1] != self.n_visible:
            raise ValueError(
                f"{name} must have {self.n_visible} visible units per row (the machine's V), "
                f"got shape {A.shape}"
            )
        if not bool(xp.all(xp.isfinite(A))):
            raise ValueError(f"{name} contains NaN or infinity")
        if float(A.min()) < 0 or float(A.max()) > 1:
            raise ValueError(
                f"{name}: visible units are binary; values must lie in [0, 1] (probabilities), "
                f"got [{float(A.min()):.3g}, {float(A.max()):.3g}]"
            )
        return A

    def _initialise(self, X: Any) -> None:
        V = X.shape[1]
        rng = self._rng
        self.weights_ = xp.asarray(0.01 * rng.standard_normal((self.n_hidden, V)), self.dtype)
        p = xp.clip(X.mean(axis=0), 0.01, 0.99)
        self.visible_biases_ = xp.log(p / (1 - p)).astype(self.dtype)
        self.hidden_biases_ = xp.zeros(self.n_hidden, self.dtype)
        self._velocity = None
        self.chain_ = None

    # ------------------------------------------------------------------ training
    def fit(
        self, X: Any, *, monitor: Any = None, progress: Any = None
    ) -> RestrictedBoltzmannMachine:
        """Train from scratch for ``max_training_rounds`` passes over ``X``.

        Parameters
        ----------
        X : array_like of shape (N, V)
            Binary data, or probabilities in [0, 1] (e.g. grey levels in [0, 1]).
        monitor : array_like of shape (M, V), optional
            Binary examples whose mean pseudo-log-likelihood is recorded after every round in
            ``pseudo_log_likelihoods_`` (M V H evaluations of softplus per round).
        progress : callable, optional
            Called after each round with a dict (round, rounds, and the pseudo-log-likelihood
            when monitored).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For data that is not a non-empty (N, V) array of values in [0, 1].
        """
        A = self._visible(X)
        self.weights_ = None
        self._initialise(A)
        M = None if monitor is None else self._visible(monitor, "monitor")
        self.pseudo_log_likelihoods_ = []
        for r in range(self.max_training_rounds):
            self.partial_fit(A)
            info: dict[str, Any] = {"round": r + 1, "rounds": self.max_training_rounds}
            if M is not None:
                pll = self.pseudo_log_likelihood(M)
                self.pseudo_log_likelihoods_.append(pll)
                info["pseudo_log_likelihood"] = pll
            if progress is not None:
                progress(info)
        return self

    def partial_fit(self, X: Any) -> RestrictedBoltzmannMachine:
        """One pass over ``X`` in shuffled batches of ``batch_size``, one update per batch.

        Each update: the statistics S of :func:`contrastive_divergence` on the batch (CD-k,
        or from the persistent chains), then for every parameter P with its velocity u,
        ``u = momentum u + learning_rate (S_P - weight_decay P)`` (no decay for the biases)
        and ``P += u``. The batch order is ``rng.permutation(N)`` from the machine's generator,
        drawn before the batches' sampling.

        Returns
        -------
        self
        """
        A = self._visible(X)
        if self.weights_ is None:
            self._initialise(A)
        rng = self._rng
        n = len(A)
        order = rng.permutation(n)
        if self._velocity is None:
            self._velocity = [xp.zeros_like(p) for p in self._parameters()]
        lr, mom, wd = self.learning_rate, self.momentum, self.weight_decay
        for start in range(0, n, self.batch_size):
            batch = A[order[start : start + self.batch_size]]
            chain = None
            if self.persistent:
                if self.chain_ is None:
                    self.chain_ = batch.copy()
                chain = self.chain_
            stats = contrastive_divergence(
                self.weights_,
                self.visible_biases_,
                self.hidden_biases_,
                batch,
                k=self.k,
                chain=chain,
                rng=rng,
            )
            if self.persistent:
                self.chain_ = stats.chain
            grads = (
                stats.weights - wd * self.weights_ if wd else stats.weights,
                stats.visible_biases,
                stats.hidden_biases,
            )
            for p, u, g in zip(self._parameters(), self._velocity, grads):
                u *= mom
                u += lr * g
                p += u
        return self

    def _parameters(self) -> tuple[Any, Any, Any]:
        return self.weights_, self.visible_biases_, self.hidden_biases_

    # ------------------------------------------------------------------ inference
    def transform(self, X: Any) -> np.ndarray:
        """The hidden units' probabilities p(h_j = 1 | v): array of shape (N, H)."""
        self._check_fitted()
        return _hidden_probabilities(self._visible(X), self.weights_, self.hidden_biases_)

    def reconstruct(self, X: Any) -> np.ndarray:
        """Mean-field reconstruction p(v = 1 | h = p(h | v)): array of shape (N, V)."""
        return _visible_probabilities(self.transform(X), self.weights_, self.visible_biases_)

    def gibbs(self, v: Any, steps: int = 1, random_seed: Any = None) -> np.ndarray:
        """Run the Gibbs chain from visible states ``v``: ``steps`` times draw h ~ p(h | v),
        then v ~ p(v | h).

        Parameters
        ----------
        v : array_like of shape (N, V)
        steps : int, default 1
        random_seed : int or numpy.random.Generator, optional
            Default: the machine's own generator.

        Returns
        -------
        ndarray of shape (N, V)
            Binary visible states after the last step.
        """
        self._check_fitted()
        v = self._visible(v, "v")
        steps = _check_int(steps, "steps")
        rng = self._rng if random_seed is None else backend.rng(random_seed)
        W, b, c = self._parameters()
        for _ in range(steps):
            h = _bernoulli(_hidden_probabilities(v, W, c), rng)
            v = _bernoulli(_visible_probabilities(h, W, b), rng)
        return v

    def sample(
        self,
        n: int,
        steps: int = 1000,
        *,
        start: Any = None,
        probabilities: bool = True,
        random_seed: Any = None,
    ) -> np.ndarray:
        """Draw visible vectors from the model by running ``n`` Gibbs chains.

        Parameters
        ----------
        n : int
            Number of chains.
        steps : int, default 1000
            Gibbs steps (each h ~ p(h | v), v ~ p(v | h)).
        start : array_like of shape (n, V), optional
            Where the chains start; default: independent units with the visible biases'
            probabilities s(b), which holds nothing of any training example.
        probabilities : bool, default True
            Return p(v = 1 | h) of the last step's hidden states (what pictures of samples
            usually show) rather than the binary states.
        random_seed : int or numpy.random.Generator, optional

        Returns
        -------
        ndarray of shape (n, V)
        """
        self._check_fitted()
        n = _check_int(n, "n")
        steps = _check_int(steps, "steps")
        rng = self._rng if random_seed is None else backend.rng(random_seed)
        W, b, c = self._parameters()
        if start is None:
            v = _bernoulli(xp.broadcast_to(special.expit(b), (n, len(b))).copy(), rng)
        else:
            v = self._visible(start, "start")
            if len(v) != n:
                raise ValueError(f"start must have n = {n} rows, got {len(v)}")
        for _ in range(steps - 1):
            h = _bernoulli(_hidden_probabilities(v, W, c), rng)
            v = _bernoulli(_visible_probabilities(h, W, b), rng)
        h = _bernoulli(_hidden_probabilities(v, W, c), rng)
        pv = _visible_probabilities(h, W, b)
        return pv if probabilities else _bernoulli(pv, rng)

    def free_energy(self, v: Any) -> np.ndarray:
        """F(v) = - b.v - sum_j softplus(c_j + W_j. v), so that p(v) = exp(-F(v)) / Z:
        array of shape (N,)."""
        self._check_fitted()
        v = self._visible(v, "v")
        a = v @ self.weights_.T + self.hidden_biases_
        return -(v @ self.visible_biases_) - xp.logaddexp(0, a).sum(axis=1)

    def score_samples(self, X: Any) -> np.ndarray:
        """Each example's pseudo-log-likelihood sum_i log p(v_i | v_-i) (in nats), computed
        exactly (every unit flipped, not a random one): array of shape (N,), float64.

        Flipping unit i changes the hidden pre-activations by s_i W_.i (s_i = 1 - 2 v_i), so
        F(v with v_i flipped) - F(v) = - s_i b_i - sum_j [softplus(a_j + s_i W_ji) -
        softplus(a_j)]: N V H softplus evaluations, in chunks of examples.

        Raises
        ------
        ValueError
            For values other than 0 and 1.
        """
        self._check_fitted()
        v = self._visible(X).astype(xp.float64)
        if not bool(xp.all((v == 0) | (v == 1))):
            raise ValueError("the pseudo-likelihood is defined for binary data (0 and 1 only)")
        W = self.weights_.astype(xp.float64)
        b = self.visible_biases_.astype(xp.float64)
        c = self.hidden_biases_.astype(xp.float64)
        N, V = v.shape
        H = W.shape[0]
        out = xp.empty(N)
        chunk = max(1, (1 << 22) // (V * H))
        WT = W.T  # (V, H)
        for s in range(0, N, chunk):
            vb = v[s : s + chunk]
            a = vb @ W.T + c  # (n, H)
            sign = 1 - 2 * vb  # (n, V)
            flipped = a[:, None, :] + sign[:, :, None] * WT[None]  # (n, V, H)
            delta = (xp.logaddexp(0, flipped) - xp.logaddexp(0, a)[:, None, :]).sum(axis=2)
            gap = -sign * b - delta  # F(flipped) - F(v), (n, V)
            out[s : s + chunk] = -xp.logaddexp(0, -gap).sum(axis=1)  # sum_i log s(gap_i)
        return out

    def pseudo_log_likelihood(self, X: Any) -> float:
        """The mean of :meth:`score_samples` over the examples (nats per example)."""
        return float(self.score_samples(X).mean())

    # ------------------------------------------------------------------ nets and files
    def to_net(self) -> NetChain:
        """The machine as a net: {"Hidden": LinearLayer(H), LogisticSigmoid, "Visible":
        LinearLayer(V) with the transposed weights, LogisticSigmoid}, the mean-field
        reconstruction v -> p(v | p(h | v)). Its first two layers compute :meth:`transform`."""
        self._check_fitted()
        W, b, c = self._parameters()
        return NetChain(
            {
                "Hidden": LinearLayer(self.n_hidden, weights=W, biases=c),
                "HiddenSigmoid": ElementwiseLayer("LogisticSigmoid"),
                "Visible": LinearLayer(W.shape[1], weights=xp.ascontiguousarray(W.T), biases=b),
                "VisibleSigmoid": ElementwiseLayer("LogisticSigmoid"),
            },
            input=W.shape[1],
        )

    def save(self, path: str | Path, metadata: dict | None = None) -> Path:
        """Save as the net of :meth:`to_net` (NetSave, one safetensors file) with this
        machine's settings in the metadata; read it back with :meth:`load`."""
        meta = {"model": "RestrictedBoltzmannMachine", "config": self.config(), **(metadata or {})}
        return NetSave(self.to_net(), path, metadata=meta)

    @classmethod
    def load(cls, path: str | Path) -> RestrictedBoltzmannMachine:
        """A machine saved by :meth:`save`.

        Raises
        ------
        ValueError
            If the file holds something else, or its two weight matrices are not transposes
            of each other.
        """
        meta = NetLoad(path, "Metadata")
        if meta.get("model") != "RestrictedBoltzmannMachine":
            raise ValueError(
                f"{str(path)!r} holds {meta.get('model') or 'a plain net'}, not a "
                "RestrictedBoltzmannMachine"
            )
        net = NetLoad(path)
        rbm = cls(**meta["config"])
        up, down = net.layers[0].arrays, net.layers[2].arrays
        if not bool(xp.array_equal(up["Weights"], down["Weights"].T)):
            raise ValueError(f"{str(path)!r}: the visible and hidden weights are not tied")
        rbm.weights_ = xp.array(up["Weights"], dtype=rbm.dtype)
        rbm.hidden_biases_ = xp.array(up["Biases"], dtype=rbm.dtype)
        rbm.visible_biases_ = xp.array(down["Biases"], dtype=rbm.dtype)
        return rbm

    def __repr__(self) -> str:
        return (
            f"RestrictedBoltzmannMachine(n_hidden={self.n_hidden}, k={self.k}, "
            f"persistent={self.persistent})"
        )


# ---------------------------------------------------------------------- deep belief nets


class DeepBeliefNetwork:
    """A deep belief network: RBMs pretrained greedily layer by layer, then the stack
    fine-tuned as a classifier with NetTrain.

    Parameters
    ----------
    hidden : tuple of int, default (500, 500)
        Hidden units of each RBM, bottom to top.
    rbm_options : dict, optional
        Options of every :class:`RestrictedBoltzmannMachine` (k, persistent, learning_rate,
        momentum, weight_decay, batch_size, max_training_rounds); default: CD-1, learning
        rate 0.05, momentum 0.5, 10 rounds, batches of 64.
    random_seed : int, default 1234
        Seeds the RBMs (layer i gets random_seed + i) and the fine-tuning.

    Attributes
    ----------
    rbms_ : list of RestrictedBoltzmannMachine
        After :meth:`pretrain`; the first is trained on the data (grey levels in [0, 1] as
        probabilities), each next one on the hidden probabilities of the one below.
    net : NetChain or None
        The classifier after :meth:`fit`: for each RBM a LinearLayer with its weights and
        hidden biases and a LogisticSigmoid, then LinearLayer(classes) and SoftmaxLayer, with
        a class decoder.
    results_ : NetTrainResults
        The fine-tuning run.

    Examples
    --------
    >>> import numpy as np
    >>> from netchain.models import DeepBeliefNetwork
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((300, 20)), rng.integers(0, 2, 300)
    >>> dbn = DeepBeliefNetwork((16, 8), rbm_options={"max_training_rounds": 2})
    >>> dbn.fit(X, y, max_training_rounds=2).predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        hidden: Any = (500, 500),
        *,
        rbm_options: dict | None = None,
        random_seed: int = 1234,
    ) -> None:
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, tuple | list) or not hidden:
            raise ValueError(f"hidden must be a non-empty tuple of ints, got {hidden!r}")
        self.hidden = tuple(_check_int(h, "hidden") for h in hidden)
        self.rbm_options = dict(rbm_options or {})
        unknown = set(self.rbm_options) - {
            "k",
            "persistent",
            "learning_rate",
            "momentum",
            "weight_decay",
            "batch_size",
            "max_training_rounds",
            "working_precision",
        }
        if unknown:
            raise ValueError(f"rbm_options: unknown options {sorted(unknown)}")
        if not isinstance(random_seed, numbers.Integral) or isinstance(random_seed, bool):
            raise ValueError(f"random_seed must be an int, got {random_seed!r}")
        self.random_seed = int(random_seed)
        self.rbms_: list[RestrictedBoltzmannMachine] = []
        self.net: NetChain | None = None
        self.results_: Any = None

    def config(self) -> dict[str, Any]:
        return {
            "hidden": list(self.hidden),
            "rbm_options": self.rbm_options,
            "random_seed": self.random_seed,
        }

    def pretrain(self, X: Any, *, progress: Any = None) -> DeepBeliefNetwork:
        """Greedy layer-wise pretraining: an RBM on ``X``, the next on its hidden
        probabilities, and so on.

        Parameters
        ----------
        X : array_like of shape (N, V)
            Values in [0, 1] (no labels needed).
        progress : callable, optional
            Called with a dict (layer, round) after every round of every RBM.

        Returns
        -------
        self
        """
        data = backend.as_float_array(X, name="X")
        data = data.reshape(len(data), -1)
        self.rbms_ = []
        for i, h in enumerate(self.hidden):
            rbm = RestrictedBoltzmannMachine(
                h, random_seed=self.random_seed + i, **self.rbm_options
            )
            report = None
            if progress is not None:

                def report(info: dict, i: int = i) -> None:
                    progress({**info, "layer": i + 1})

            rbm.fit(data, progress=report)
            self.rbms_.append(rbm)
            if i < len(self.hidden) - 1:
                data = rbm.transform(data)
        return self

    def classifier(self, n_inputs: int, labels: list[Any], pretrained: bool = True) -> NetChain:
        """The classifier net: pretrained weights when ``pretrained`` (and :meth:`pretrain`
        has run), otherwise uninitialised (NetTrain initialises it)."""
        layers: list[Any] = []
        for i, h in enumerate(self.hidden):
            if pretrained:
                rbm = self.rbms_[i]
                layers.append(LinearLayer(h, weights=rbm.weights_, biases=rbm.hidden_biases_))
            else:
                layers.append(LinearLayer(h))
            layers.append(ElementwiseLayer("LogisticSigmoid"))
        layers += [LinearLayer(len(labels)), SoftmaxLayer()]
        return NetChain(layers, input=n_inputs, output=NetDecoder("Class", labels))

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        pretrain: bool = True,
        unlabelled: Any = None,
        training_progress_reporting: Any = None,
        **options: Any,
    ) -> DeepBeliefNetwork:
        """Pretrain (unless already done or ``pretrain=False``) and fine-tune as a
        classifier.

        Parameters
        ----------
        X : array_like of shape (N, V) (or images, flattened), values in [0, 1]
        y : array_like of shape (N,)
            Class labels (any hashable values).
        pretrain : bool, default True
            False: no pretraining, the net starts from NetTrain's random initialisation
            (the comparison the greedy pretraining is measured against).
        unlabelled : array_like of shape (M, V), optional
            Pretrain on these examples (e.g. a larger unlabelled set) instead of X.
        training_progress_reporting : default None
        **options
            NetTrain options for the fine-tuning (``max_training_rounds``, ``batch_size``,
            ``learning_rate``, ``method``, ...).

        Returns
        -------
        self
        """
        A = backend.as_float_array(X, name="X")
        A = A.reshape(len(A), -1)
        y = np.asarray(y)
        if y.shape != (len(A),):
            raise ValueError(f"y must hold one label per example, shape ({len(A)},), got {y.shape}")
        labels = sorted(set(y.tolist()))
        if pretrain and not self.rbms_:
            self.pretrain(A if unlabelled is None else unlabelled)
        if pretrain and self.rbms_[0].n_visible != A.shape[1]:
            raise ValueError(
                f"X has {A.shape[1]} features but the pretrained RBMs take "
                f"{self.rbms_[0].n_visible}"
            )
        net = self.classifier(A.shape[1], labels, pretrained=pretrain)
        results = NetTrain(
            net,
            (A, y),
            "All",
            random_seed=self.random_seed,
            training_progress_reporting=training_progress_reporting,
            **options,
        )
        self.net = results.trained_net
        self.results_ = results
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Class labels of a batch."""
        if self.net is None:
            raise ValueError("this DeepBeliefNetwork has not been fine-tuned; call fit(X, y)")
        A = backend.as_float_array(X, name="X")
        return np.asarray(self.net(A.reshape(len(A), -1)))

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def save(self, path: str | Path, metadata: dict | None = None) -> Path:
        """Save the fine-tuned classifier (NetSave) with the settings; :meth:`load` reads
        it. (The RBMs' visible biases, unused by the classifier, are not kept.)"""
        if self.net is None:
            raise ValueError("this DeepBeliefNetwork has not been fine-tuned; call fit(X, y)")
        meta = {"model": "DeepBeliefNetwork", "config": self.config(), **(metadata or {})}
        return NetSave(self.net, path, metadata=meta)

    @classmethod
    def load(cls, path: str | Path) -> DeepBeliefNetwork:
        """A network saved by :meth:`save` (its classifier)."""
        meta = NetLoad(path, "Metadata")
        if meta.get("model") != "DeepBeliefNetwork":
            raise ValueError(
                f"{str(path)!r} holds {meta.get('model') or 'a plain net'}, not a DeepBeliefNetwork"
            )
        dbn = cls(**meta["config"])
        dbn.net = NetLoad(path)
        return dbn

    def __repr__(self) -> str:
        return f"DeepBeliefNetwork(hidden={self.hidden})"


# ---------------------------------------------------------------------- the command line


def _binarise(X: Any) -> Any:
    A = np.asarray(X, dtype=np.float32)
    return (A.reshape(len(A), -1) > 0.5).astype(np.float32)


def _rbm_run(args: Any, task: Any, options: dict[str, Any]) -> int:
    """``netchain train --net rbm --data mnist``: CD-10 on the binarised training images,
    the test pseudo-log-likelihood after every round."""
    import time

    Xtr, Xte = _binarise(task.X_train), _binarise(task.X_test)
    rbm = RestrictedBoltzmannMachine(
        128,
        k=10,
        learning_rate=options.get("learning_rate", 0.05),
        batch_size=options.get("batch_size", 64),
        max_training_rounds=options.get("max_training_rounds", 15),
        random_seed=args.seed,
    )
    print(f"data: {task.description}, binarised at 0.5")
    print(f"      {len(Xtr)} training and {len(Xte)} test images of {Xtr.shape[1]} pixels")
    print(rbm)
    monitor = Xte[:500]

    def report(info: dict) -> None:
        if not args.quiet:
            print(
                f"round {info['round']:3d}/{info['rounds']}: pseudo-log-likelihood of 500 test "
                f"images {info['pseudo_log_likelihood']:.2f} nats"
            )

    start = time.perf_counter()
    rbm.fit(Xtr, monitor=monitor, progress=report)
    pll = rbm.pseudo_log_likelihood(Xte)
    print(f"trained {rbm.max_training_rounds} rounds in {time.perf_counter() - start:.1f} s")
    print(f"test pseudo-log-likelihood: {pll:.3f} nats per image")
    out = Path(args.out or f"{args.data}-{args.net}.safetensors")
    rbm.save(out, metadata={**task.metadata, "net": args.net, "seed": args.seed, "test_pll": pll})
    print(f"saved the trained RestrictedBoltzmannMachine to {out}")
    return 0


def _rbm_evaluate(path: Any, meta: dict[str, Any], task: Any) -> int:
    rbm = RestrictedBoltzmannMachine.load(path)
    pll = rbm.pseudo_log_likelihood(_binarise(task.X_test))
    print(f"test pseudo-log-likelihood: {pll:.3f} nats per image")
    return 0


def _dbn_run(args: Any, task: Any, options: dict[str, Any]) -> int:
    """``netchain train --net dbn --data mnist``: pretraining, fine-tuning, test accuracy."""
    import time

    print(f"data: {task.description}")
    print(f"      {len(task.X_train)} training and {len(task.X_test)} test images")
    dbn = DeepBeliefNetwork(
        (500, 500), rbm_options={"max_training_rounds": 10}, random_seed=args.seed
    )
    start = time.perf_counter()
    dbn.pretrain(task.X_train)
    print(
        f"pretrained RBMs 784-500-500 (CD-1, 10 rounds each) in {time.perf_counter() - start:.1f} s"
    )
    start = time.perf_counter()
    dbn.fit(
        task.X_train,
        task.y_train,
        training_progress_reporting=None if args.quiet else "ProgressBar",
        **options,
    )
    print(dbn.net)
    res = dbn.results_
    print(
        f"fine-tuned {res.rounds} rounds in {time.perf_counter() - start:.1f} s "
        f"(final loss {res.round_losses[-1]:.4f})"
    )
    acc = dbn.score(task.X_test, task.y_test)
    n = len(task.y_test)
    print(f"test accuracy: {acc:.4f} ({int(round(acc * n))} of {n})")
    out = Path(args.out or f"{args.data}-{args.net}.safetensors")
    meta = {**task.metadata, "net": args.net, "seed": args.seed, "test_accuracy": acc}
    dbn.save(out, metadata=meta)
    print(f"saved the fine-tuned net to {out}")
    return 0


def _register() -> None:
    from netchain.models import ModelEntry, register

    register(
        ModelEntry(
            "rbm",
            "restricted Boltzmann machine, 784 binary visible units (images binarised at 0.5), "
            "128 hidden, CD-10 (reports the test pseudo-log-likelihood)",
            lambda shape, labels: NetChain([LinearLayer(128), "LogisticSigmoid"], input=shape),
            "vector",
            ("mnist",),
            {"mnist": {"max_training_rounds": 15, "batch_size": 64, "learning_rate": 0.05}},
            run=_rbm_run,
            evaluate=_rbm_evaluate,
        )
    )
    register(
        ModelEntry(
            "dbn",
            "deep belief network: RBMs 784-500-500 pretrained greedily (CD-1), fine-tuned with "
            "LinearLayer(classes) and SoftmaxLayer",
            lambda shape, labels: DeepBeliefNetwork((500, 500)).classifier(
                math.prod(shape), labels, pretrained=False
            ),
            "vector",
            ("mnist",),
            {"mnist": {"max_training_rounds": 10, "batch_size": 64, "learning_rate": 1e-3}},
            run=_dbn_run,
        )
    )


_register()
