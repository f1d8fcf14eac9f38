"""Overlaps between sampled configurations and distance profiles around a reference.

- :func:`overlaps`: the overlap distribution P(q) between independent chains,
  ``q = w.w'/N`` (DESIGN.md section 3), the replica order parameter of the RS theory
  (``q`` of the Gardner-Derrida saddle point, PHYSICS.md section 2).
- :func:`density_profile`: the distribution of Hamming distances from a reference to
  sampled configurations; for uniform samples of the solutions it estimates
  ``exact.distance_profile(instance, reference) / #solutions``.

Error bars are jackknife estimates over independent chains (leave one chain out), which
accounts for correlations along each chain without choosing a thinning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._common import check_configs, check_reference

__all__ = ["OverlapsResult", "DensityProfileResult", "overlaps", "density_profile"]


def _jackknife(full, loo):
    """Jackknife error from leave-one-out estimates ``loo`` (G, ...) around ``full``."""
    G = loo.shape[0]
    if G < 2:
        return np.full(np.shape(full), np.nan)
    m = loo.mean(axis=0)
    return np.sqrt((G - 1) / G * ((loo - m) ** 2).sum(axis=0))


@dataclass(frozen=True)
class OverlapsResult:
    """Overlap distribution between independent chains.

    Attributes
    ----------
    edges : ndarray, shape (B + 1,)
        Bin edges in q (default: one bin per attainable value ``1 - 2k/N``).
    density : ndarray, shape (B,)
        P(q) as a probability density.
    error : ndarray, shape (B,)
        Jackknife error over chains.
    mean, mean_error : float
        Mean overlap ``<q>`` over chain pairs and its jackknife error.
    mean_abs, mean_abs_error : float
        ``<|q|>`` (the ``w -> -w`` symmetric quantity) and its error.
    q2, q2_error : float
        ``<q^2>`` and its error.
    n_pairs : int
        Number of (record, chain pair) overlaps used.
    """

    edges: np.ndarray
    density: np.ndarray
    error: np.ndarray
    mean: float
    mean_error: float
    mean_abs: float
    mean_abs_error: float
    q2: float
    q2_error: float
    n_pairs: int

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])


def overlaps(w, *, edges=None) -> OverlapsResult:
    """Overlaps ``q = w_a . w_b / N`` between all pairs of chains at the same record.

    Parameters
    ----------
    w : array_like, shape (C, N) or (T, C, N)
        Configurations of C >= 2 independent chains (one record, or T records).
    edges : array_like, shape (B + 1,), optional
        Bin edges in q; default one bin per attainable overlap.

    Returns
    -------
    OverlapsResult
    """
    a = check_configs(w)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"w must have shape (C, N) or (T, C, N), got shape {np.shape(w)}")
    T, C, N = a.shape
    if C < 2:
        raise ValueError(f"overlaps need at least 2 chains, got C = {C}")
    af = a.astype(np.float64)
    Q = np.einsum("tin,tjn->tij", af, af) / N  # (T, C, C)
    iu = np.triu_indices(C, 1)
    if edges is None:
        edges = (np.arange(N + 2) * 2.0 - N - 1) / N  # cells around q = (N - 2k)/N
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError("edges must be a strictly increasing 1-d array of >= 2 values")
    width = np.diff(e)
    B = width.size
    # Per-chain sums over the pairs that involve that chain: the jackknife removes them.
    bins = np.clip(np.searchsorted(e, Q, side="right") - 1, -1, B)
    hist_pair = np.zeros((C, C, B))
    valid = (bins >= 0) & (bins < B)
    tt, ii, jj = np.nonzero(valid)
    np.add.at(hist_pair, (ii, jj, bins[tt, ii, jj]), 1.0)
    off = ~np.eye(C, dtype=bool)
    stats = np.stack([Q, np.abs(Q), Q**2], axis=-1).sum(axis=0)  # (C, C, 3)

    def estimate(mask):
        m = np.triu(mask, 1)
        n_pairs = m.sum() * T
        h = hist_pair[m].sum(axis=0)
        s = stats[m].sum(axis=0) / n_pairs
        dens = h / (h.sum() * width) if h.sum() else np.zeros(B)
        return np.concatenate([dens, s])

    full = estimate(off)
    loo = []
    if C >= 3:
        for c in range(C):
            keep = off.copy()
            keep[c, :] = False
            keep[:, c] = False
            loo.append(estimate(keep))
    err = _jackknife(full, np.array(loo)) if loo else np.full(full.shape, np.nan)
    return OverlapsResult(
        edges=e, density=full[:B], error=err[:B],
        mean=float(full[B]), mean_error=float(err[B]), mean_abs=float(full[B + 1]),
        mean_abs_error=float(err[B + 1]), q2=float(full[B + 2]), q2_error=float(err[B + 2]),
        n_pairs=int(len(iu[0]) * T),
    )


@dataclass(frozen=True)
class DensityProfileResult:
    """Distribution of the Hamming distance from a reference to sampled configurations.

    Attributes
    ----------
    k : ndarray, shape (N + 1,)
        Distances in flips, 0..N.
    d : ndarray, shape (N + 1,)
        ``k / N``.
    counts : ndarray, shape (N + 1,), int64
        Samples at each distance.
    fraction : ndarray, shape (N + 1,)
        ``counts / counts.sum()``.
    error : ndarray, shape (N + 1,)
        Error of ``fraction``: jackknife over chains for (T, C, N) input with C >= 2,
        otherwise the binomial error ``sqrt(f (1 - f) / M)`` (rows independent).
    mean_distance, mean_distance_error : float
        Mean of ``d`` and its error.
    n_samples : int
    """

    k: np.ndarray
    d: np.ndarray
    counts: np.ndarray
    fraction: np.ndarray
    error: np.ndarray
    mean_distance: float
    mean_distance_error: float
    n_samples: int


def density_profile(reference, samples) -> DensityProfileResult:
    """Histogram of Hamming distances between ``reference`` and ``samples``.

    Parameters
    ----------
    reference : array_like, shape (N,)
        +-1 reference configuration.
    samples : array_like, shape (M, N) or (T, C, N)
        Configurations; (T, C, N) is read as T records of C independent chains.

    Returns
    -------
    DensityProfileResult
    """
    ref = np.asarray(reference)
    if ref.ndim != 1:
        raise ValueError(f"reference must have shape (N,), got shape {ref.shape}")
    n = ref.shape[0]
    ref = check_reference(ref, n)
    shape = np.shape(samples)
    if len(shape) and shape[-1] != n:
        raise ValueError(f"reference has length N = {n} but samples have shape {shape} (last axis must be N)")
    s = check_configs(samples, n, "samples")
    if s.ndim == 1:
        s = s[None]
    if s.ndim not in (2, 3):
        raise ValueError(f"samples must have shape (M, N) or (T, C, N), got shape {s.shape}")
    k = (s != ref).sum(axis=-1)  # (M,) or (T, C)
    counts = np.bincount(k.ravel(), minlength=n + 1).astype(np.int64)
    M = int(k.size)
    if M == 0:
        raise ValueError("samples holds no configurations")
    frac = counts / M
    mean = float((k / n).mean())
    if s.ndim == 3 and s.shape[1] >= 2:
        C = s.shape[1]
        per = np.stack([np.bincount(k[:, c], minlength=n + 1) for c in range(C)])  # (C, N+1)
        msum = (k / n).sum(axis=0)  # (C,)
        loo = []
        for c in range(C):
            h = counts - per[c]
            loo.append(np.append(h / h.sum(), (msum.sum() - msum[c]) / (M - k.shape[0])))
        err = _jackknife(np.append(frac, mean), np.array(loo))
        error, mean_err = err[:-1], float(err[-1])
    else:
        error = np.sqrt(frac * (1 - frac) / M)
        mean_err = float((k / n).std(ddof=1) / math.sqrt(M)) if M > 1 else math.nan
    kk = np.arange(n + 1)
    return DensityProfileResult(
        k=kk, d=kk / n, counts=counts, fraction=frac, error=error,
        mean_distance=mean, mean_distance_error=mean_err, n_samples=M,
    )
