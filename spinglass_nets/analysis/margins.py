"""Margin (stability) distributions of sampled configurations against the RS law.

For a uniformly drawn solution at load alpha and margin kappa, the replica-symmetric theory
predicts the density of the stabilities ``Delta_mu = y_mu (xi_mu . w)/sqrt(N)``
(Gardner and Derrida 1988, section 4; PHYSICS.md section 3): a Gaussian truncated at kappa
and averaged over the RS cavity field. Solutions found by solvers and annealing are atypical
and sit further from the threshold; :func:`margins` measures the histogram, its error bars
and the Kolmogorov-Smirnov distance to the RS law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._common import check_configs, theory

__all__ = ["MarginsResult", "margins"]

# Expected KS statistic of n i.i.d. draws from the law itself: E[sqrt(n) D_n] -> sqrt(pi/2) log 2
# (the mean of the Kolmogorov distribution).
_KS_MEAN = math.sqrt(math.pi / 2) * math.log(2)


@dataclass(frozen=True)
class MarginsResult:
    """Histogram of stabilities with error bars and the RS prediction.

    Attributes
    ----------
    edges : ndarray, shape (B + 1,)
        Bin edges in Delta.
    density : ndarray, shape (B,)
        Measured probability density (integrates to 1 over the bins).
    error : ndarray, shape (B,)
        Standard error of ``density`` over configurations (each configuration's P
        stabilities form one unit, so correlations among them are accounted for).
    theory : ndarray, shape (B,) or None
        RS density averaged over each bin (CDF differences / width); None if not computed.
    ks : float or None
        Kolmogorov-Smirnov distance between the pooled stabilities and the RS law. For +-1
        patterns the stabilities live on a lattice of step ``2/sqrt(N)``; the empirical CDF
        is then compared at the lattice cell edges.
    ks_iid : float
        ``sqrt(pi/2) log 2 / sqrt(n_values)``: the mean KS distance of the same number of
        i.i.d. draws from the RS law itself (a noise floor; finite-N corrections and the
        shared patterns of one instance add to it).
    mean, mean_error : float
        Mean stability and its error over configurations.
    min_margin : ndarray, shape (M,)
        Smallest stability of each configuration.
    n_configs, n_values : int
        Configurations and stabilities used.
    alpha, kappa : float
    """

    edges: np.ndarray
    density: np.ndarray
    error: np.ndarray
    theory: np.ndarray | None
    ks: float | None
    ks_iid: float
    mean: float
    mean_error: float
    min_margin: np.ndarray
    n_configs: int
    n_values: int
    alpha: float
    kappa: float

    @property
    def centers(self) -> np.ndarray:
        """Bin centres, shape (B,)."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])


def _default_edges(instance, delta):
    n = instance.n
    sq = math.sqrt(n)
    hi = max(float(delta.max()) if delta.size else 1.0, instance.kappa + 1.0)
    if instance.patterns == "binary":
        # Cells of the lattice h/sqrt(N), h = N mod 2: one value per bin, edges half-way.
        h_lo = math.floor(float(delta.min()) * sq + 1e-9) if delta.size else instance.h_min
        h_lo = min(h_lo, instance.h_min)
        h_hi = math.ceil(hi * sq - 1e-9)
        parity = n % 2
        h_lo -= (h_lo - parity) % 2
        hs = np.arange(h_lo, h_hi + 2, 2)
        return (np.append(hs - 1, hs[-1] + 1)) / sq
    lo = min(instance.kappa, float(delta.min()) if delta.size else instance.kappa)
    return np.linspace(lo, hi, 31)


def margins(instance, w, *, edges=None, with_theory: bool = True) -> MarginsResult:
    """Stability histogram of configurations ``w``, with error bars and the RS law.

    Parameters
    ----------
    instance : PerceptronInstance
    w : array_like, shape (N,) or (..., N)
        Configurations (typically solutions); leading axes are flattened into M
        configurations. Pass independent (or thinned) samples: the error bars treat the
        configurations as independent.
    edges : array_like, shape (B + 1,), optional
        Bin edges. Default: the lattice cells ``(h +- 1)/sqrt(N)`` for +-1 patterns,
        30 equal bins from ``kappa`` for Gaussian patterns.
    with_theory : bool
        Compute the RS density per bin and the KS distance (needs
        :mod:`spinglass_nets.theory`; perceptron instances only).

    Returns
    -------
    MarginsResult
    """
    w = check_configs(w, instance.n).reshape(-1, instance.n)
    if w.shape[0] == 0:
        raise ValueError("w holds no configurations")
    delta = instance.stabilities(w)  # (M, P)
    M, P = delta.shape
    if P == 0:
        raise ValueError("the instance has no patterns (P = 0): no stabilities to histogram")
    e = _default_edges(instance, delta) if edges is None else np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError("edges must be a strictly increasing 1-d array of >= 2 values")
    width = np.diff(e)
    # Per-configuration densities; their mean is the pooled density, their spread the error.
    idx = np.searchsorted(e, delta, side="right") - 1
    inside = (idx >= 0) & (idx < width.size)
    per = np.zeros((M, width.size))
    rows = np.broadcast_to(np.arange(M)[:, None], idx.shape)
    np.add.at(per, (rows[inside], idx[inside]), 1.0)
    per /= P * width
    density = per.mean(axis=0)
    error = per.std(axis=0, ddof=1) / math.sqrt(M) if M > 1 else np.full(width.size, np.nan)
    cfg_mean = delta.mean(axis=1)
    mean_err = float(cfg_mean.std(ddof=1) / math.sqrt(M)) if M > 1 else math.nan
    th = ks = None
    is_perceptron = getattr(instance, "kind", "perceptron") == "perceptron"
    if with_theory and is_perceptron:
        cdf = theory("margin_cdf")
        F = np.asarray(cdf(e, instance.alpha, instance.kappa), dtype=np.float64)
        th = np.diff(F) / width
        flat = np.sort(delta.ravel())
        if instance.patterns == "binary":
            pts = e
            emp = np.searchsorted(flat, pts - 1e-12, side="right") / flat.size
            ks = float(np.max(np.abs(emp - F)))
        else:
            Fs = np.asarray(cdf(flat, instance.alpha, instance.kappa), dtype=np.float64)
            i = np.arange(1, flat.size + 1)
            ks = float(max(np.max(i / flat.size - Fs), np.max(Fs - (i - 1) / flat.size)))
    return MarginsResult(
        edges=e, density=density, error=error, theory=th, ks=ks,
        ks_iid=float(_KS_MEAN / math.sqrt(delta.size)), mean=float(delta.mean()), mean_error=mean_err,
        min_margin=delta.min(axis=1), n_configs=int(M), n_values=int(delta.size),
        alpha=float(instance.alpha), kappa=float(instance.kappa),
    )
