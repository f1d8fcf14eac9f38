"""Chain statistics: integrated autocorrelation time, effective sample size, binning error,
and error bars from independent chains.

Every estimate in :mod:`spinglass_nets.analysis` quotes an error bar; the helpers here are
how those error bars account for correlations along a Markov chain.

References
----------
- A. D. Sokal, "Monte Carlo methods in statistical mechanics: foundations and new
  algorithms" (Cargese lectures, 1996), section 3: the integrated autocorrelation time and
  the automatic windowing rule ``M >= c tau(M)``, ``c ~ 5``.
- D. Foreman-Mackey et al., emcee 3 (JOSS 2019), ``emcee.autocorr``: the FFT estimator of
  the autocorrelation function and the chain-averaged estimator used here.
- H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91, 461 (1989): the blocking (binning)
  analysis of the error of a correlated mean.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "autocorrelation_function",
    "autocorrelation_time",
    "effective_sample_size",
    "binning_error",
    "chain_mean_error",
]


def _as_chains(x) -> np.ndarray:
    """``x`` (T,) or (T, C) -> float64 (T, C), time along axis 0."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"x must have shape (T,) or (T, C), got shape {a.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"x needs at least 2 time steps, got {a.shape[0]}")
    if not np.all(np.isfinite(a)):
        raise ValueError("x must be finite")
    return a


def autocorrelation_function(x) -> np.ndarray:
    """Normalised autocorrelation function of each chain, by FFT.

    Parameters
    ----------
    x : array_like, shape (T,) or (T, C)
        Time series (C independent chains along axis 1).

    Returns
    -------
    ndarray, shape (T,) or (T, C)
        ``rho(t) = C(t) / C(0)`` with the biased estimator ``C(t) = (1/T) sum_s
        (x_s - m)(x_{s+t} - m)`` (emcee's choice: it keeps the sum positive definite).
        A constant chain gives ``rho = 1`` at lag 0 and 0 elsewhere.
    """
    a = _as_chains(x)
    T = a.shape[0]
    n = 1 << (2 * T - 1).bit_length()  # zero padding to >= 2T avoids circular wrap-around
    f = np.fft.rfft(a - a.mean(axis=0), n=n, axis=0)
    acf = np.fft.irfft(f * np.conjugate(f), n=n, axis=0)[:T]
    c0 = acf[0].copy()
    out = np.zeros_like(acf)
    ok = c0 > 0
    out[:, ok] = acf[:, ok] / c0[ok]
    out[0, ~ok] = 1.0
    return out[:, 0] if np.ndim(x) == 1 else out


def autocorrelation_time(x, c: float = 5.0) -> float:
    """Integrated autocorrelation time with Sokal's automatic window.

    ``tau = 1 + 2 sum_{t=1}^{M} rho(t)``, with the window ``M`` the smallest lag such that
    ``M >= c tau(M)`` (Sokal 1996, section 3; emcee's ``integrated_time``). For several
    chains the autocorrelation functions are averaged before summing (emcee 3's
    recommendation: it is less noisy than averaging the per-chain times).

    Parameters
    ----------
    x : array_like, shape (T,) or (T, C)
        Time series in units of the recording interval.
    c : float
        Window constant (default 5; Sokal suggests 4-10).

    Returns
    -------
    float
        ``tau >= 1/(2T)``; 1 for independent samples, ``(1 + phi)/(1 - phi)`` for an AR(1)
        process with coefficient phi. A constant series returns 1. The estimate is
        reliable only when ``T >~ 50 tau`` (emcee's rule); check that with the result.
    """
    a = _as_chains(x)
    if c <= 0:
        raise ValueError(f"c={c!r} must be > 0")
    rho = autocorrelation_function(a).mean(axis=1)
    taus = 2.0 * np.cumsum(rho) - 1.0
    m = np.arange(taus.size)
    window = m >= c * taus
    M = int(np.argmax(window)) if window.any() else taus.size - 1
    return float(max(taus[M], 1.0 / (2 * a.shape[0])))


def effective_sample_size(x, c: float = 5.0) -> float:
    """Effective number of independent samples, ``T C / max(tau, 1)``.

    Parameters
    ----------
    x : array_like, shape (T,) or (T, C)
    c : float
        Window constant of :func:`autocorrelation_time`.

    Returns
    -------
    float
        At most ``T C``: an anticorrelated series (``tau < 1``, e.g. an alternating one) is
        not counted as more independent samples than it has, so error bars built on it stay
        conservative.
    """
    a = _as_chains(x)
    return float(a.size / max(autocorrelation_time(a, c), 1.0))


def binning_error(x, min_bins: int = 16) -> dict:
    """Error of the mean of a correlated series by blocking (Flyvbjerg-Petersen 1989).

    The series is averaged over blocks of 1, 2, 4, ... samples; the naive error of the
    block means grows with the block size and levels off once blocks are longer than the
    correlation time. The plateau value is the error of the mean.

    Parameters
    ----------
    x : array_like, shape (T,) or (T, C)
        With C chains the blocks are formed within each chain and pooled.
    min_bins : int
        Smallest number of blocks (over all chains) kept in the scan.

    Returns
    -------
    dict
        ``mean``; ``error`` (the largest blocked error among block sizes with at least
        ``min_bins`` blocks: conservative when the plateau is noisy); ``block_sizes``
        (L,) and ``errors`` (L,) the whole scan; ``tau`` = ``(error / naive error)^2``, the
        implied integrated autocorrelation time.
    """
    a = _as_chains(x)
    T, C = a.shape
    sizes, errs = [], []
    b = 1
    while (T // b) * C >= max(2, min_bins):
        nb = T // b
        blocks = a[: nb * b].reshape(nb, b, C).mean(axis=1).ravel()
        sizes.append(b)
        errs.append(float(blocks.std(ddof=1) / math.sqrt(blocks.size)))
        b *= 2
    if not errs:
        raise ValueError(f"binning_error needs at least {min_bins} samples, got {a.size}")
    naive = errs[0]
    err = max(errs)
    return {
        "mean": float(a.mean()),
        "error": err,
        "block_sizes": np.array(sizes),
        "errors": np.array(errs),
        "tau": float((err / naive) ** 2) if naive > 0 else 1.0,
    }


def chain_mean_error(values, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over independent replicates (chains, instances).

    Parameters
    ----------
    values : array_like, shape (R, ...)
        One estimate per independent replicate along ``axis``; NaN entries are ignored.
    axis : int

    Returns
    -------
    mean, error : ndarray, shape (...)
        ``error = std(ddof=1) / sqrt(R_valid)``; NaN where fewer than 2 replicates are valid.
    """
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    n = ok.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(ok, v, 0.0).sum(axis=axis)
        mean = np.where(n > 0, s / np.maximum(n, 1), np.nan)
        dev = np.where(ok, v - np.expand_dims(mean, axis), 0.0)
        var = (dev**2).sum(axis=axis) / np.maximum(n - 1, 1)
        err = np.where(n > 1, np.sqrt(var / np.maximum(n, 1)), np.nan)
    return mean, err
