"""``spinglass_nets.solve``: one entry point for finding a solution of an instance.

Message passing (focusing BP, reinforced BP) and the online rules (SBPI, CP+R) live in
:mod:`spinglass_nets.bp` and :mod:`spinglass_nets.solvers`; the Monte Carlo methods run a
sampler through :func:`spinglass_nets.samplers.run` and stop at the first chain that reaches a
solution, or at the time limit. Every result is verified with the instance's exact test.
"""

from __future__ import annotations

import time

import numpy as np

METHODS = ("fbp", "rbp", "sbpi", "cpr", "anneal", "tempering", "replicated")


def _mc_solve(method, sampler, instance, n_chains, n_sweeps, record_every, time_limit, rng, params):
    from .samplers import run
    from .solvers.result import finish

    t0 = time.perf_counter()
    best = {"w": None, "e": np.inf}

    def watch(state, info):
        k = int(np.argmin(state.energy))
        if state.energy[k] < best["e"]:
            best["e"], best["w"] = float(state.energy[k]), state.w[k].copy()
        if best["e"] == 0:
            return True
        return time_limit is not None and time.perf_counter() - t0 > time_limit

    n_sweeps = (n_sweeps // record_every) * record_every
    res = run(sampler, instance, n_chains=n_chains, n_sweeps=n_sweeps, record_every=record_every, rng=rng,
              callback=watch, keep_samples=False, progress=False)
    stop = "solved" if best["e"] == 0 else ("time_limit" if res.final_state.sweep < n_sweeps else "max_sweeps")
    hist = {"min_energy": res.traces["energy"].min(axis=1)}
    return finish(instance, best["w"], time.perf_counter() - t0, res.final_state.sweep, hist, method, params, stop)


def solve(instance, method: str = "fbp", *, time_limit: float | None = None, rng=None, **options):
    """Find a solution of ``instance`` with the chosen method.

    Parameters
    ----------
    instance : PerceptronInstance
    method : {"fbp", "rbp", "sbpi", "cpr", "anneal", "tempering", "replicated"}
        Focusing BP, reinforced BP, SBPI, CP+R (``options`` go to
        :func:`spinglass_nets.bp.focusing_bp`, :func:`~spinglass_nets.bp.reinforced_bp`,
        :func:`spinglass_nets.solvers.sbpi`, :func:`~spinglass_nets.solvers.cpr`), simulated
        annealing (``n_chains=4, n_sweeps=2000, beta_start=1.0, beta_end=30.0,
        energy="errors"``), parallel tempering (``n_chains=1, n_sweeps=2000,
        beta_min=0.5, beta_max=8.0, n_temps=12``) or replicated annealing
        (:class:`~spinglass_nets.samplers.ReplicatedAnnealing` options, ``n_sweeps=2000``).
    time_limit : float, optional
        Seconds; the run stops at the first check after it.
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    SolveResult
        ``.w`` (N,) int8, ``.solved`` (verified), ``.energy`` (errors), ``.seconds``,
        ``.iterations`` (iterations, epochs or sweeps), ``.history``, ``.stop``.
    """
    from .solvers.result import check_time_limit

    if method not in METHODS:
        raise ValueError(f"method={method!r} is not allowed; choose one of {', '.join(METHODS)}")
    time_limit = check_time_limit(time_limit)
    if method in ("fbp", "rbp"):
        from . import bp

        fn = bp.focusing_bp if method == "fbp" else bp.reinforced_bp
        return fn(instance, time_limit=time_limit, rng=rng, **options)
    if method in ("sbpi", "cpr"):
        from . import solvers

        return getattr(solvers, method)(instance, time_limit=time_limit, rng=rng, **options)
    from .samplers import ParallelTempering, SimulatedAnnealing, schedules

    opts = dict(options)
    n_sweeps = int(opts.pop("n_sweeps", 2000))
    record_every = int(opts.pop("record_every", max(1, min(10, n_sweeps // 10))))
    if method == "anneal":
        n_chains = int(opts.pop("n_chains", 4))
        b0, b1 = opts.pop("beta_start", 1.0), opts.pop("beta_end", 30.0)
        energy = opts.pop("energy", "errors")
        _no_more(opts, method)
        sampler = SimulatedAnnealing(schedules.geometric(b0, b1, n_sweeps), energy=energy)
        params = {"n_chains": n_chains, "n_sweeps": n_sweeps, "beta_start": b0, "beta_end": b1, "energy": energy}
    elif method == "tempering":
        n_chains = int(opts.pop("n_chains", 1))
        ladder = schedules.ladder(opts.pop("beta_min", 0.5), opts.pop("beta_max", 8.0), int(opts.pop("n_temps", 12)))
        energy = opts.pop("energy", "errors")
        swap_every = int(opts.pop("swap_every", 1))
        _no_more(opts, method)
        sampler = ParallelTempering(ladder, swap_every=swap_every, energy=energy)
        params = {"n_chains": n_chains, "n_sweeps": n_sweeps, "betas_ladder": ladder.tolist(), "energy": energy}
    else:
        from .samplers import ReplicatedAnnealing

        n_chains = int(opts.pop("n_chains", 1))
        sampler = ReplicatedAnnealing.for_sweeps(n_sweeps, **opts)
        params = {"n_chains": n_chains, "n_sweeps": n_sweeps, **sampler.params()}
    return _mc_solve(method, sampler, instance, n_chains, n_sweeps, record_every, time_limit, rng, params)


def _no_more(opts, method):
    if opts:
        raise ValueError(f"unknown option(s) for method {method!r}: {', '.join(sorted(opts))}")
