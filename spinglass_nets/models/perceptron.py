"""Binary perceptron instances: storage (random labels) or teacher labels, any kappa,
+-1 or Gaussian patterns, and the symmetric binary perceptron.

Conventions and the tie rule are in the package docstring of :mod:`spinglass_nets.models`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._rng import as_seed_sequence, seed_record
from ..errors import as_real
from ._kernels import float_fields

KINDS = ("perceptron", "symmetric")
LABELS = ("random", "teacher")
PATTERNS = ("binary", "gaussian")
ENERGIES = ("errors", "linear")


def _threshold_min(kappa: float, n: int) -> int:
    """Smallest integer h with float64 ``h / sqrt(n) >= kappa``."""
    s = math.sqrt(n)
    if kappa * s > 4 * n:
        return 4 * n
    if kappa * s < -4 * n:
        return -4 * n
    h = math.ceil(kappa * s)
    while (h - 1) / s >= kappa:
        h -= 1
    while h / s < kappa:
        h += 1
    return h


def _threshold_max(kappa: float, n: int) -> int:
    """Largest integer h with float64 ``h / sqrt(n) <= kappa``."""
    return -_threshold_min(-kappa, n) if kappa * math.sqrt(n) < 4 * n else 4 * n


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}")


@dataclass(frozen=True, eq=False)
class PerceptronInstance:
    """One instance of the binary perceptron (or symmetric binary perceptron).

    Parameters
    ----------
    xi : ndarray, shape (P, N)
        Patterns: int8 entries +-1 (``patterns="binary"``) or finite float64.
    y : ndarray, shape (P,)
        Labels, int8 +-1.
    kappa : float
        Margin (finite). Symmetric model: the half-width, > 0.
    teacher : ndarray, shape (N,), int8 +-1, optional
        The teacher of ``labels="teacher"`` instances.
    kind : {"perceptron", "symmetric"}
    labels : {"random", "teacher"}
    patterns : {"binary", "gaussian"}
    seed : dict, optional
        Provenance of the random draw (SeedSequence entropy and spawn key).

    Arrays are stored read-only; the instance is immutable.
    """

    xi: np.ndarray
    y: np.ndarray
    kappa: float = 0.0
    teacher: np.ndarray | None = None
    kind: str = "perceptron"
    labels: str = "random"
    patterns: str = "binary"
    seed: dict | None = field(default=None, compare=False)

    def __post_init__(self):
        _check_choice("kind", self.kind, KINDS)
        _check_choice("labels", self.labels, LABELS)
        _check_choice("patterns", self.patterns, PATTERNS)
        xi = np.asarray(self.xi)
        if xi.ndim != 2 or xi.shape[1] < 1:
            raise ValueError(f"xi must be a 2-d array of shape (P, N) with N >= 1, got shape {xi.shape}")
        p, n = xi.shape
        if self.patterns == "binary":
            if xi.dtype != np.int8:
                if not np.issubdtype(xi.dtype, np.number) or not np.all(np.abs(xi) == 1):
                    raise ValueError(f"binary patterns must be int8 +-1, got dtype {xi.dtype}")
                xi = xi.astype(np.int8)
            if p and not np.all((xi == 1) | (xi == -1)):
                raise ValueError("binary patterns must have entries +-1 only")
        else:
            if not np.issubdtype(xi.dtype, np.floating):
                raise ValueError(f"gaussian patterns must be float64, got dtype {xi.dtype}")
            xi = xi.astype(np.float64)
            if not np.all(np.isfinite(xi)):
                raise ValueError("gaussian patterns must be finite")
        y = np.asarray(self.y)
        if y.shape != (p,):
            raise ValueError(f"y must have shape (P,) = ({p},), got {y.shape}")
        if p and not np.all((y == 1) | (y == -1)):
            raise ValueError("labels y must be +-1")
        y = y.astype(np.int8)
        kappa = as_real("kappa", self.kappa)
        if not math.isfinite(kappa):
            raise ValueError(f"kappa={self.kappa!r} must be finite")
        if self.kind == "symmetric" and kappa <= 0:
            raise ValueError(f"kappa={kappa} must be > 0 for the symmetric perceptron")
        teacher = self.teacher
        if self.labels == "teacher":
            if teacher is None:
                raise ValueError("labels='teacher' needs a teacher of shape (N,)")
        if teacher is not None:
            teacher = np.asarray(teacher)
            if teacher.shape != (n,) or not np.all((teacher == 1) | (teacher == -1)):
                raise ValueError(f"teacher must be +-1 of shape ({n},), got shape {teacher.shape}")
            teacher = teacher.astype(np.int8)
            teacher.setflags(write=False)
            if self.labels == "teacher" and p:
                f = _teacher_fields(xi, teacher)
                # Gaussian patterns: a field within rounding of 0 may carry either label.
                tie = 1e-9 * np.sqrt(n) * np.abs(xi).max(axis=1) if xi.dtype.kind == "f" else 0.0
                bad = (y != np.where(f >= 0, 1, -1)) & (np.abs(f) > tie)
                if bad.any():
                    raise ValueError(f"labels='teacher' but y disagrees with sign(xi . teacher) for {int(bad.sum())} "
                                     f"patterns (first: mu = {int(np.flatnonzero(bad)[0])}); pass labels='random' "
                                     "for other labels")
        xi = np.ascontiguousarray(xi)
        xi.setflags(write=False)
        y = np.ascontiguousarray(y)
        y.setflags(write=False)
        object.__setattr__(self, "xi", xi)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "kappa", kappa)
        object.__setattr__(self, "teacher", teacher)

    # ----------------------------------------------------------------------------- sizes
    @property
    def n(self) -> int:
        """Number of weights N."""
        return self.xi.shape[1]

    @property
    def p(self) -> int:
        """Number of patterns P."""
        return self.xi.shape[0]

    @property
    def alpha(self) -> float:
        """Load P / N."""
        return self.p / self.n

    @property
    def h_min(self) -> int:
        """Integer threshold: binary ``w`` satisfies pattern mu iff ``h_mu >= h_min``
        (perceptron) or ``-h_max <= h_mu <= h_max`` (symmetric, see :attr:`h_max`)."""
        if self.kind == "symmetric":
            return -self.h_max
        return _threshold_min(self.kappa, self.n)

    @property
    def h_max(self) -> int:
        """Upper integer threshold (symmetric model); a large sentinel for the perceptron."""
        if self.kind == "symmetric":
            return _threshold_max(self.kappa, self.n)
        return 4 * self.n

    def c(self) -> np.ndarray:
        """Label-absorbed patterns ``c = y[:, None] * xi``, shape (P, N), dtype of xi."""
        return (self.y[:, None] * self.xi).astype(self.xi.dtype)

    # ------------------------------------------------------------------------ observables
    def _w(self, w) -> np.ndarray:
        w = np.asarray(w)
        if w.ndim < 1 or w.shape[-1] != self.n:
            raise ValueError(f"w must have shape (..., N) with N = {self.n}, got {w.shape}")
        if not np.all((w == 1) | (w == -1)):
            raise ValueError("w must have entries +-1")
        return w

    def fields(self, w) -> np.ndarray:
        """Label-signed fields ``y_mu (xi_mu . w)``, shape (..., P).

        int64 (exact) for binary patterns, float64 for Gaussian ones, summed over i in a fixed
        order (:func:`~spinglass_nets.models._kernels.float_fields`), so a configuration gets
        the same fields, and the same verdicts at a threshold, alone or in any batch.
        """
        w = self._w(w)
        if self.patterns == "binary":
            # float64 BLAS is exact here: binary sums are integers below 2**53.
            h = np.matmul(w.astype(np.float64), self.xi.T.astype(np.float64)) * self.y
            return np.rint(h).astype(np.int64)
        flat = np.ascontiguousarray(w.reshape(-1, self.n), dtype=np.int8)
        cT = np.ascontiguousarray((self.y[:, None] * self.xi).T)  # y xi: exact sign flips
        h = np.empty((flat.shape[0], self.p))
        float_fields(cT, flat, h)
        return h.reshape(w.shape[:-1] + (self.p,))

    def stabilities(self, w) -> np.ndarray:
        """Stabilities ``Delta_mu = y_mu (xi_mu . w) / sqrt(N)``, shape (..., P), float64."""
        return self.fields(w) / math.sqrt(self.n)

    def violated(self, w) -> np.ndarray:
        """Boolean mask of violated constraints, shape (..., P) (exact integer test for binary)."""
        h = self.fields(w)
        if self.patterns == "binary":
            lo, hi = self.h_min, self.h_max
            return (h < lo) | (h > hi)
        d = h / math.sqrt(self.n)
        if self.kind == "symmetric":
            return np.abs(d) > self.kappa
        return d < self.kappa

    def energy(self, w, kind: str = "errors") -> np.ndarray:
        """Energy of one configuration (N,) or a batch (..., N).

        ``"errors"``: number of violated constraints (int64). ``"linear"``: sum over
        violated mu of ``kappa - Delta_mu`` (symmetric: ``|Delta_mu| - kappa``), float64.
        """
        _check_choice("kind", kind, ENERGIES)
        viol = self.violated(w)
        if kind == "errors":
            return viol.sum(axis=-1).astype(np.int64)
        d = self.stabilities(w)
        amount = np.abs(d) - self.kappa if self.kind == "symmetric" else self.kappa - d
        return np.where(viol, amount, 0.0).sum(axis=-1)

    def is_solution(self, w) -> np.ndarray | bool:
        """True where every constraint holds; a bool for (N,), an array for a batch."""
        ok = ~self.violated(w).any(axis=-1)
        return bool(ok) if np.ndim(ok) == 0 else ok

    def describe(self) -> dict:
        """JSON-able summary (the store's instance attributes)."""
        return {
            "kind": self.kind,
            "n": self.n,
            "p": self.p,
            "alpha": self.alpha,
            "kappa": self.kappa,
            "labels": self.labels,
            "patterns": self.patterns,
            "seed": self.seed,
        }


P_MAX = 2**31 - 1  # pattern indices are int32 in some kernels


def _check_size(n, alpha):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be an integer >= 1")
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha={alpha!r} must be a finite number >= 0") from None
    if not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha={alpha!r} must be a finite number >= 0")
    p = round(alpha * n)
    if p > P_MAX:
        raise ValueError(f"alpha={alpha!r} gives P = {p} patterns at n = {n}; at most {P_MAX} are allowed")
    return int(n), alpha, int(p)


def _teacher_fields(xi, teacher):
    """``xi . teacher`` (P,) float64; the teacher's labels are ``+1`` where it is >= 0."""
    return xi.astype(np.float64) @ teacher.astype(np.float64)


def _draw_patterns(gen, p, n, patterns):
    if patterns == "binary":
        return (2 * gen.integers(0, 2, size=(p, n), dtype=np.int8) - 1).astype(np.int8)
    return gen.standard_normal(size=(p, n))


def make_perceptron(n, alpha, *, kappa=0.0, labels="random", patterns="binary", rng=None) -> PerceptronInstance:
    """Draw a binary perceptron instance.

    Parameters
    ----------
    n : int
        Number of weights N >= 1.
    alpha : float
        Load; ``P = round(alpha * N)`` patterns.
    kappa : float
        Margin (any finite value; negative allowed).
    labels : {"random", "teacher"}
        Random +-1 labels (storage problem) or ``y = sign(xi . teacher)`` with
        ``sign(0) = +1`` for a uniformly random binary teacher.
    patterns : {"binary", "gaussian"}
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    PerceptronInstance

    Notes
    -----
    Draw order from the instance's Generator (fixed, so a seed names one instance):
    patterns, then labels (random) or teacher (teacher).
    """
    n, alpha, p = _check_size(n, alpha)
    _check_choice("labels", labels, LABELS)
    _check_choice("patterns", patterns, PATTERNS)
    kappa = as_real("kappa", kappa)
    if not math.isfinite(kappa):
        raise ValueError(f"kappa={kappa!r} must be finite")
    ss = as_seed_sequence(rng)
    gen = np.random.default_rng(ss)
    xi = _draw_patterns(gen, p, n, patterns)
    teacher = None
    if labels == "random":
        y = (2 * gen.integers(0, 2, size=p, dtype=np.int8) - 1).astype(np.int8)
    else:
        teacher = (2 * gen.integers(0, 2, size=n, dtype=np.int8) - 1).astype(np.int8)
        y = np.where(_teacher_fields(xi, teacher) >= 0, 1, -1).astype(np.int8)
    return PerceptronInstance(
        xi=xi, y=y, kappa=kappa, teacher=teacher, kind="perceptron",
        labels=labels, patterns=patterns, seed=seed_record(ss),
    )


def make_symmetric_perceptron(n, alpha, *, kappa, patterns="binary", rng=None) -> PerceptronInstance:
    """Draw a symmetric binary perceptron instance: solutions have ``|Delta_mu| <= kappa``.

    Labels are irrelevant for this model (``|y Delta| = |Delta|``) and are all +1.
    See :func:`make_perceptron` for the parameters.
    """
    n, alpha, p = _check_size(n, alpha)
    _check_choice("patterns", patterns, PATTERNS)
    kappa = as_real("kappa", kappa)
    if not math.isfinite(kappa) or kappa <= 0:
        raise ValueError(f"kappa={kappa!r} must be finite and > 0 for the symmetric perceptron")
    ss = as_seed_sequence(rng)
    gen = np.random.default_rng(ss)
    xi = _draw_patterns(gen, p, n, patterns)
    y = np.ones(p, dtype=np.int8)
    return PerceptronInstance(
        xi=xi, y=y, kappa=kappa, kind="symmetric", labels="random",
        patterns=patterns, seed=seed_record(ss),
    )
