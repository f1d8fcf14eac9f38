"""Entropy-driven Monte Carlo (EdMC): a Markov chain on a centre configuration whose energy
is minus its local free entropy, estimated by BP.

Baldassi, Ingrosso, Lucibello, Saglietti, Zecchina, "Local entropy as a measure for sampling
solutions in constraint satisfaction problems", J. Stat. Mech. (2016) 023301, Sec. 4: the
local free entropy ``F(w~, gamma) = (1/N) log sum_w X(w) exp(gamma w . w~)`` (X = 1 on
solutions) is computed by BP with an external field ``gamma w~``; single flips of the centre
are accepted by Metropolis on ``-N F`` at inverse temperature ``beta_e`` (``inf``: greedy),
and ``gamma`` grows ("scoping") so that the centre is driven into a dense region and finally
onto a solution.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .._rng import as_generator
from ..solvers.result import check_time_limit, finish


def entropy_driven_mc(instance, *, gamma0=0.1, gamma_growth=1.2, gamma_max=50.0, beta_e=math.inf,
                      max_sweeps=50, tol=1e-6, time_limit=None, rng=None):
    """Run EdMC until the centre (or the sign of the BP marginals) is a solution.

    Parameters
    ----------
    instance : PerceptronInstance
    gamma0, gamma_growth, gamma_max : float
        Coupling to the centre: ``gamma = min(gamma0 * gamma_growth**sweep, gamma_max)``.
    beta_e : float
        Inverse temperature of the centre's chain on ``-N F`` (``inf``: accept only moves
        that do not lower F).
    max_sweeps : int
        Sweeps of N proposed centre flips.
    tol : float
        BP convergence tolerance (BP is warm-started from the previous fixed point).
    time_limit : float, optional
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    SolveResult
        With ``history["free_entropy"]`` and ``history["gamma"]`` per sweep.
    """
    from . import bp

    if not gamma0 > 0 or not gamma_growth >= 1 or not gamma_max >= gamma0:
        raise ValueError(f"need gamma0 > 0, gamma_growth >= 1, gamma_max >= gamma0; got {gamma0}, {gamma_growth}, "
                         f"{gamma_max}")
    if math.isnan(beta_e) or beta_e < 0:
        raise ValueError(f"beta_e={beta_e!r} must be >= 0 (inf allowed)")
    if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, (int, np.integer)) or max_sweeps < 1:
        raise ValueError(f"max_sweeps={max_sweeps!r} must be an integer >= 1")
    time_limit = check_time_limit(time_limit)
    gen = as_generator(rng)
    t0 = time.perf_counter()
    n = instance.n
    centre = (2 * gen.integers(0, 2, size=n) - 1).astype(np.int8)
    gamma = float(gamma0)
    cur = bp(instance, reference=centre, lam=gamma, tol=tol)
    hist_f, hist_g = [], []
    best, best_e = centre.copy(), int(instance.energy(centre))
    stop = "max_sweeps"
    sweeps = 0
    for sweep in range(max_sweeps):
        sweeps = sweep + 1
        gamma = min(gamma0 * gamma_growth**sweep, gamma_max)
        cur = bp(instance, reference=centre, lam=gamma, tol=tol, init=cur)
        for i in gen.integers(0, n, size=n):
            centre[i] = -centre[i]
            new = bp(instance, reference=centre, lam=gamma, tol=tol, init=cur)
            dF = n * (new.free_entropy - cur.free_entropy)
            if dF >= 0 or (beta_e < math.inf and gen.random() < math.exp(beta_e * dF)):
                cur = new
            else:
                centre[i] = -centre[i]
        hist_f.append(cur.free_entropy)
        hist_g.append(gamma)
        for cand in (centre, np.where(cur.m >= 0, 1, -1).astype(np.int8)):
            e = int(instance.energy(cand))
            if e < best_e:
                best, best_e = cand.copy(), e
        if best_e == 0:
            stop = "solved"
            break
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            stop = "time_limit"
            break
    params = {"gamma0": gamma0, "gamma_growth": gamma_growth, "gamma_max": gamma_max, "beta_e": beta_e,
              "max_sweeps": max_sweeps, "tol": tol}
    return finish(instance, best, time.perf_counter() - t0, sweeps,
                  {"free_entropy": hist_f, "gamma": hist_g}, "edmc", params, stop)
