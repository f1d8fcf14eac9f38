"""Entropy-driven Monte Carlo (EdMC) as a solver: a thin wrapper that runs the sampler
:class:`spinglass_nets.samplers.EntropyDrivenMC` until a centre (or the sign of its BP
marginals) is a solution.

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

import numpy as np

from ..solvers.result import check_clock, check_time_limit, finish


def entropy_driven_mc(instance, *, gamma0=0.1, gamma_growth=1.2, gamma_max=50.0, beta_e=math.inf,
                      max_sweeps=50, tol=1e-6, max_iter=200, damping=0.5, bp_method="amp", n_chains=1,
                      time_limit=None, clock="wall", rng=None):
    """Run EdMC until a centre (or the sign of its BP marginals) is a solution.

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
    tol, max_iter, damping, bp_method
        BP settings per proposal (see :class:`~spinglass_nets.samplers.EntropyDrivenMC`).
    n_chains : int
        Independent chains (run in parallel threads); the run stops when one is solved.
    time_limit : float, optional
        Seconds, checked after every sweep.
    clock : {"wall", "cpu"}
        What ``time_limit`` and ``seconds`` count (:func:`spinglass_nets.solvers.result.check_clock`).
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    SolveResult
        ``w`` the best configuration seen (fewest errors), ``iterations`` the sweeps done,
        ``history["free_entropy"]``, ``history["gamma"]`` and ``history["errors"]`` per sweep
        (of the chain that found ``w``; (sweeps, chains) arrays when ``n_chains > 1``).
    """
    from ..samplers import EntropyDrivenMC, run

    if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, (int, np.integer)) or max_sweeps < 1:
        raise ValueError(f"max_sweeps={max_sweeps!r} is not allowed: must be an integer >= 1")
    if isinstance(n_chains, bool) or not isinstance(n_chains, (int, np.integer)) or n_chains < 1:
        raise ValueError(f"n_chains={n_chains!r} is not allowed: must be an integer >= 1")
    time_limit = check_time_limit(time_limit)
    now = check_clock(clock)
    sampler = EntropyDrivenMC(gamma0=gamma0, gamma_growth=gamma_growth, gamma_max=gamma_max, beta_e=beta_e, tol=tol,
                              max_iter=max_iter, damping=damping, bp_method=bp_method)
    t0 = now()
    best = {"w": None, "e": math.inf}
    stop = ["max_sweeps"]

    def watch(state, info):
        cands = np.concatenate([state.w, np.where(sampler.marginals(state) >= 0, 1, -1).astype(np.int8)])
        e = np.asarray(instance.energy(cands)).reshape(-1)
        k = int(np.argmin(e))
        if e[k] < best["e"]:
            best["w"], best["e"] = cands[k].copy(), float(e[k])
        if best["e"] == 0:
            stop[0] = "solved"
            return True
        if time_limit is not None and now() - t0 > time_limit:
            stop[0] = "time_limit"
            return True
        return False

    res = run(sampler, instance, n_chains=int(n_chains), n_sweeps=int(max_sweeps), record_every=1, rng=rng,
              callback=watch, progress=False, keep_samples=False)
    sweeps = int(res.final_state.sweep)
    squeeze = (lambda x: x[:, 0]) if n_chains == 1 else (lambda x: x)
    history = {"free_entropy": squeeze(res.traces["free_entropy"]), "gamma": squeeze(res.traces["gamma"]),
               "errors": squeeze(res.traces["energy"])}
    params = sampler.params()
    params.update(max_sweeps=int(max_sweeps), n_chains=int(n_chains), clock=clock)
    return finish(instance, best["w"], now() - t0, sweeps, history, "edmc", params, stop[0])
