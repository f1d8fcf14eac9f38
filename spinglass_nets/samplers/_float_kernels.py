"""The float Metropolis kernel: any patterns (Gaussian or +-1) and either constraint
(perceptron or symmetric), float64 fields, one loop over P per proposal.

For +-1 patterns the fields are integers held exactly in float64 and the thresholds are the
instance's integer thresholds, so tests stay exact. Proposals, acceptance, the per-chain
integers ``ints`` and the ``beta = inf`` memo follow :mod:`spinglass_nets.samplers._kernels`,
whose helpers this module uses (a file of its own only to keep modules under ~800 lines).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._numba import njit
from .._rng import draw_below, u64_to_unit, xoshiro_next
from ._kernels import I_ACC, I_PROP, _draw_sites, _field_accept, _memo_clear


@njit
def _pattern_energy(f, lo, hi, lo_r, hi_r, scale, linear):
    if f < lo:
        return (lo_r - f) * scale if linear else 1.0
    if f > hi:
        return (f - hi_r) * scale if linear else 1.0
    return 0.0


@njit
def _metropolis_float_chain(c, cT, w, f, energy, ints, rng, betas, lo, hi, lo_r, hi_r, scale, linear, field,
                            use_field, N, P, n_sweeps):
    """The sweeps of chain ``c`` (the body of :func:`metropolis_float`'s chain loop), with
    the ``beta = inf`` memo of :func:`spinglass_nets.samplers._kernels._metropolis_bits_chain`.
    The memo is exact here too: dE is a function of the fields, which change only on an
    accepted flip."""
    s0, s1, s2, s3 = rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3]
    fc = f[c]
    wc = w[c]
    e = energy[c, 0]
    acc = np.int64(0)
    memo = np.zeros((N + 63) >> 6, dtype=np.uint64)  # see _kernels._metropolis_bits_chain
    nmark = np.int64(0)
    for t in range(n_sweeps):
        beta = betas[c, t]
        hot = beta < np.inf
        p = np.int64(0)
        while p < N:
            if not hot and nmark == N:
                s0, s1, s2, s3 = _draw_sites(s0, s1, s2, s3, N, N - p)  # frozen: only site draws
                break
            p += 1
            i, s0, s1, s2, s3 = draw_below(s0, s1, s2, s3, N)
            wd = i >> 6
            bit = np.uint64(1) << np.uint64(i & 63)
            if not hot and (memo[wd] & bit) != 0:
                continue
            d = -2.0 * wc[i]
            col = cT[i]
            de = 0.0
            for mu in range(P):
                old = fc[mu]
                new = old + d * col[mu]
                de += _pattern_energy(new, lo, hi, lo_r, hi_r, scale, linear) - _pattern_energy(
                    old, lo, hi, lo_r, hi_r, scale, linear
                )
            drew = False
            if use_field == 1:
                fw = -2.0 * wc[i] * field[c, i]
                accept, drew, s0, s1, s2, s3 = _field_accept(beta, de, fw, s0, s1, s2, s3)
            elif de <= 0.0:
                accept = True
            elif hot:
                x, s0, s1, s2, s3 = xoshiro_next(s0, s1, s2, s3)
                accept = u64_to_unit(x) < np.exp(-beta * de)
                drew = True
            else:
                accept = False
            if accept:
                for mu in range(P):
                    fc[mu] += d * col[mu]
                wc[i] = -wc[i]
                e += de
                acc += 1
                nmark = _memo_clear(memo, nmark)
            elif not hot and not drew:
                memo[wd] |= bit
                nmark += 1
    energy[c, 0] = e
    ints[c, I_ACC] += acc
    ints[c, I_PROP] += n_sweeps * N
    rng[c, 0], rng[c, 1], rng[c, 2], rng[c, 3] = s0, s1, s2, s3


@njit(parallel=True)
def metropolis_float(cT, w, f, energy, ints, rng, betas, lo, hi, lo_r, hi_r, scale, linear, field, use_field,
                     active):
    """Run ``betas.shape[1]`` Metropolis sweeps on every chain with float64 fields.

    Parameters
    ----------
    cT : (N, P) float64
        Columns ``c_mu,i`` (c = y xi; for Gaussian patterns divided by sqrt(N)).
    w : (C, Npad) int8
        Weights, updated in place.
    f : (C, Ppad) float64
        Fields (``h`` for +-1 patterns, ``Delta`` for Gaussian), updated in place.
    energy : (C, 8) float64
        Column 0: current energy, updated in place.
    ints : (C, 8) int64
        Accepted / proposed counters (``I_ACC``, ``I_PROP``).
    rng : (C, 8) uint64
        xoshiro256** states in columns 0-3.
    betas : (C, S) float64
    lo, hi : float
        Feasible interval of a field (exact thresholds; ``hi = inf`` for the perceptron).
    lo_r, hi_r, scale : float
        Linear energy of a field below ``lo``: ``(lo_r - f) * scale`` (above ``hi``:
        ``(f - hi_r) * scale``); for +-1 patterns ``lo_r = kappa sqrt(N)``, ``scale = 1/sqrt(N)``.
    linear : int
        0 errors, 1 linear.
    field, use_field, active
        As in :func:`metropolis_bits`.
    """
    C = w.shape[0]
    N = cT.shape[0]
    P = cT.shape[1]
    n_sweeps = betas.shape[1]
    for c in prange(C):
        if active[c] != 0:
            _metropolis_float_chain(c, cT, w, f, energy, ints, rng, betas, lo, hi, lo_r, hi_r, scale, linear, field,
                                    use_field, N, P, n_sweeps)


@njit
def metropolis_float_serial(cT, w, f, energy, ints, rng, betas, lo, hi, lo_r, hi_r, scale, linear, field,
                            use_field, active):
    """:func:`metropolis_float` without threads (same results): for short blocks, where a
    parallel call would cost more in thread wake-ups than it saves."""
    C = w.shape[0]
    N = cT.shape[0]
    P = cT.shape[1]
    n_sweeps = betas.shape[1]
    for c in range(C):
        if active[c] != 0:
            _metropolis_float_chain(c, cT, w, f, energy, ints, rng, betas, lo, hi, lo_r, hi_r, scale, linear, field,
                                    use_field, N, P, n_sweeps)
