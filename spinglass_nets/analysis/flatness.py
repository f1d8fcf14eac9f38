"""Flatness (local energy) around a reference: the training error after random flips.

Flip a uniformly random set of exactly ``k = round(d N)`` weights of a reference and count
the violated constraints. The mean training error as a function of d is the "local energy"
of Baldassi et al. (PNAS 113, E7655 (2016), Fig. 2; Baldassi et al., PRL 115, 128101
(2015)): flat near d = 0 for references in dense regions (high-margin solutions, solutions
found by efficient algorithms), steep for typical (isolated) solutions. The fraction of the
flipped configurations that are still solutions estimates ``#solutions at distance k /
binom(N, k)``, which :func:`spinglass_nets.exact.distance_profile` gives exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._rng import as_seed_sequence, chain_seed
from ._common import check_reference

__all__ = ["FlatnessResult", "flatness"]

# Flipped configurations evaluated per matrix product (bounds the temporary arrays).
_BATCH = 4096


@dataclass(frozen=True)
class FlatnessResult:
    """Local energy curve around one reference.

    Attributes
    ----------
    d : ndarray, shape (D,)
        Distances actually used, ``k / N``.
    k : ndarray, shape (D,)
        Number of flipped weights.
    energy : ndarray, shape (D,)
        Mean training error (fraction of violated constraints, errors / P).
    error : ndarray, shape (D,)
        Standard error of ``energy`` (samples are independent draws).
    errors : ndarray, shape (D,)
        Mean number of violated constraints.
    solution_fraction, solution_fraction_error : ndarray, shape (D,)
        Fraction of flipped configurations that are solutions, and its binomial error.
    n_samples : int
    """

    d: np.ndarray
    k: np.ndarray
    energy: np.ndarray
    error: np.ndarray
    errors: np.ndarray
    solution_fraction: np.ndarray
    solution_fraction_error: np.ndarray
    n_samples: int


def flatness(instance, reference, *, d, n_samples: int, rng=None) -> FlatnessResult:
    """Mean training error after flipping a random fraction ``d`` of the reference's weights.

    Parameters
    ----------
    instance : PerceptronInstance
    reference : array_like, shape (N,)
        +-1 configuration (need not be a solution).
    d : float or array_like, shape (D,)
        Distances in ``[0, 1]``; each is rounded to ``k = round(d N)`` flips.
    n_samples : int
        Random flip sets per distance (>= 2).
    rng : None, int, SeedSequence or Generator
        Distance ``i`` draws from the stream with spawn key ``root + (i,)``.

    Returns
    -------
    FlatnessResult
    """
    n = instance.n
    ref = check_reference(reference, n)
    dd = np.atleast_1d(np.asarray(d, dtype=np.float64))
    if dd.ndim != 1 or dd.size == 0 or not np.all(np.isfinite(dd)) or np.any((dd < 0) | (dd > 1)):
        raise ValueError(f"d must be distances in [0, 1], got {d!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise ValueError(f"n_samples={n_samples!r} must be an integer >= 2")
    root = as_seed_sequence(rng)
    ks = np.rint(dd * n).astype(np.int64)
    P = max(instance.p, 1)
    E = np.empty(dd.size)
    Eerr = np.empty(dd.size)
    Emean = np.empty(dd.size)
    F = np.empty(dd.size)
    for i, k in enumerate(ks):
        g = np.random.default_rng(chain_seed(root, i))
        errs = np.empty(n_samples, dtype=np.int64)
        for s0 in range(0, n_samples, _BATCH):
            m = min(_BATCH, n_samples - s0)
            # The k smallest of N uniforms index a uniformly random k-subset.
            u = g.random((m, n))
            flip = np.zeros((m, n), dtype=bool)
            if k > 0:
                sel = np.argpartition(u, k - 1, axis=1)[:, :k]
                np.put_along_axis(flip, sel, True, axis=1)
            w = np.where(flip, -ref, ref).astype(np.int8)
            errs[s0 : s0 + m] = instance.energy(w, "errors")
        Emean[i] = errs.mean()
        E[i] = Emean[i] / P
        Eerr[i] = errs.std(ddof=1) / math.sqrt(n_samples) / P
        F[i] = np.mean(errs == 0)
    Ferr = np.sqrt(F * (1 - F) / n_samples)
    return FlatnessResult(d=ks / n, k=ks, energy=E, error=Eerr, errors=Emean, solution_fraction=F,
                          solution_fraction_error=Ferr, n_samples=int(n_samples))
