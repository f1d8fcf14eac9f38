"""``spinglass_nets.solve``: one entry point for finding a solution of an instance.

Message passing (focusing BP, reinforced BP) and the online rules (SBPI, CP+R) live in
:mod:`spinglass_nets.bp` and :mod:`spinglass_nets.solvers`; the Monte Carlo methods run a
sampler through :func:`spinglass_nets.samplers.run` and stop at the first chain that reaches a
solution, or at the time limit. Every result is verified with the instance's exact test.
"""

from __future__ import annotations

import numpy as np

METHODS = ("fbp", "rbp", "sbpi", "cpr", "edmc", "anneal", "tempering", "replicated")

# Final inverse temperature of the linear energy, in units of sqrt(N) (docs_mc_solvers.md):
# annealing and replicated annealing end at 35 sqrt(N); the tempering ladder tops at 12 sqrt(N).
BETA_END_LINEAR = 35.0
BETA_MAX_LINEAR_PT = 12.0


def _mc_solve(method, sampler, instance, n_chains, n_sweeps, record_every, time_limit, now, rng, params,
              wait_for_centre=False, progress=False):
    from .samplers import run
    from .solvers.result import finish

    t0 = now()
    best = {"w": None, "e": np.inf, "returned": "chain" if method != "replicated" else "replica"}

    def watch(state, info):
        k = int(np.argmin(state.energy))
        if state.energy[k] < best["e"]:
            best["e"], best["w"] = float(state.energy[k]), state.w[k].copy()
        if best["e"] == 0:
            # Replicated annealing: the centre sits inside the replicas' dense region, so a
            # centre that solves the instance is the flatter solution to return.
            for centre in state.aux.get("centre", ()):
                if centre.size and instance.is_solution(centre):
                    best["w"], best["returned"] = centre.copy(), "centre"
                    return True
            if not (wait_for_centre and "centre" in state.aux):
                return True
        return time_limit is not None and now() - t0 > time_limit

    n_sweeps = (n_sweeps // record_every) * record_every
    res = run(sampler, instance, n_chains=n_chains, n_sweeps=n_sweeps, record_every=record_every, rng=rng,
              callback=watch, keep_samples=False, progress=progress)
    stop = "solved" if best["e"] == 0 else ("time_limit" if res.final_state.sweep < n_sweeps else "max_sweeps")
    hist = {"min_energy": res.traces["energy"].min(axis=1)}
    params = dict(params, returned=best["returned"])
    return finish(instance, best["w"], now() - t0, res.final_state.sweep, hist, method, params, stop)


def solve(instance, method: str = "fbp", *, time_limit: float | None = None, clock: str = "wall", rng=None,
          progress: bool | None = False, **options):
    """Find a solution of ``instance`` with the chosen method.

    Parameters
    ----------
    instance : PerceptronInstance
    method : {"fbp", "rbp", "sbpi", "cpr", "edmc", "anneal", "tempering", "replicated"}
        Focusing BP, reinforced BP, SBPI, CP+R, entropy-driven MC
        (:func:`spinglass_nets.bp.entropy_driven_mc`) (``options`` go to
        :func:`spinglass_nets.bp.focusing_bp`, :func:`~spinglass_nets.bp.reinforced_bp`,
        :func:`spinglass_nets.solvers.sbpi`, :func:`~spinglass_nets.solvers.cpr`), simulated
        annealing (``n_chains=4, n_sweeps=2000, energy="linear"``, geometric beta from
        ``beta_start=1.0`` to ``beta_end``), parallel tempering (``n_chains=1, n_sweeps=2000,
        energy="linear", n_temps=12``, geometric ladder ``beta_min=1.0 .. beta_max``) or replicated
        annealing (:meth:`~spinglass_nets.samplers.ReplicatedAnnealing.for_sweeps` options:
        ``y=3, form="centre", energy="linear"``, beta ``1.0 -> beta_end``, gamma ``0.1 -> 10``
        geometric; ``n_sweeps=2000`` sweeps of each replica). Replicated annealing stops when
        a replica or a centre solves the instance and returns the centre when it is a
        solution (it sits inside the replicas' dense region: the flatter solution). The centre
        lags the replicas (measured at N = 101-401: it solves 50-230 sweeps after the first
        replica), so ``wait_for_centre=True`` keeps annealing after a replica's solution until a
        centre solves (or the schedule or time ends, and then returns that replica).
        ``result.params["returned"]`` says which: "centre", "replica" (or "chain" for
        annealing and tempering).

        **Beta scale.** The linear energy (sum of ``kappa - Delta`` over violated patterns,
        ``Delta = sigma xi.w / sqrt(N)``) changes by ``O(1/sqrt(N))`` per affected pattern in
        one flip, so its useful inverse temperatures are ``sqrt(N)`` times those of the errors
        energy. When ``energy="linear"`` and the final beta is not given, it defaults to
        ``35 sqrt(N)`` (``beta_end`` for annealing and replicated annealing, ``beta_max`` for
        tempering: ``12 sqrt(N)``); with ``energy="errors"`` the old fixed defaults stay
        (``beta_end=30``, ``beta_max=8``, ``beta_min=0.5``). Tuned at N = 201-801
        (``docs_mc_solvers.md``). Explicit values are used as given.
    time_limit : float, optional
        Seconds; the run stops at the first check after it.
    clock : {"wall", "cpu"}
        What ``time_limit`` and ``result.seconds`` count: wall-clock seconds (default) or CPU
        seconds of the whole process, all threads (``time.process_time``: a budget that a
        loaded or shared machine does not eat into).
    rng : None, int, SeedSequence or Generator
    progress : bool or None
        Monte Carlo methods: tqdm bar over the sweep budget (``None``: only when stderr is a
        terminal); the message-passing methods have none.

    Returns
    -------
    SolveResult
        ``.w`` (N,) int8, ``.solved`` (verified), ``.energy`` (errors), ``.seconds``,
        ``.iterations`` (iterations, epochs or sweeps), ``.history``, ``.stop``.
    """
    from .solvers.result import check_clock, check_time_limit

    if method not in METHODS:
        raise ValueError(f"method={method!r} is not allowed; choose one of {', '.join(METHODS)}")
    time_limit = check_time_limit(time_limit)
    now = check_clock(clock)
    if method in ("edmc", "fbp", "rbp", "sbpi", "cpr"):
        from . import bp, solvers

        fn = {"edmc": bp.entropy_driven_mc, "fbp": bp.focusing_bp, "rbp": bp.reinforced_bp, "sbpi": solvers.sbpi,
              "cpr": solvers.cpr}[method]
        _check_keywords(fn, options, method)
        return fn(instance, time_limit=time_limit, clock=clock, rng=rng, **options)
    from .samplers import ParallelTempering, SimulatedAnnealing, schedules

    opts = dict(options)
    n_sweeps = int(opts.pop("n_sweeps", 2000))
    record_every = int(opts.pop("record_every", max(1, min(10, n_sweeps // 10))))
    energy = opts.pop("energy", "linear")
    root_n = float(np.sqrt(instance.n))
    if method == "anneal":
        n_chains = int(opts.pop("n_chains", 4))
        b0 = opts.pop("beta_start", 1.0)
        b1 = opts.pop("beta_end", None)
        if b1 is None:
            b1 = BETA_END_LINEAR * root_n if energy == "linear" else 30.0
        _no_more(opts, method)
        sampler = SimulatedAnnealing(schedules.geometric(b0, b1, n_sweeps), energy=energy)
        params = {"n_chains": n_chains, "n_sweeps": n_sweeps, "beta_start": b0, "beta_end": b1, "energy": energy}
    elif method == "tempering":
        n_chains = int(opts.pop("n_chains", 1))
        lin = energy == "linear"
        bmin = opts.pop("beta_min", None)
        bmax = opts.pop("beta_max", None)
        bmin = (1.0 if lin else 0.5) if bmin is None else bmin
        bmax = (BETA_MAX_LINEAR_PT * root_n if lin else 8.0) if bmax is None else bmax
        ladder = schedules.ladder(bmin, bmax, int(opts.pop("n_temps", 12)))
        swap_every = int(opts.pop("swap_every", 1))
        _no_more(opts, method)
        sampler = ParallelTempering(ladder, swap_every=swap_every, energy=energy)
        params = {"n_chains": n_chains, "n_sweeps": n_sweeps, "betas_ladder": ladder.tolist(), "energy": energy}
    else:
        from .samplers import ReplicatedAnnealing

        n_chains = int(opts.pop("n_chains", 1))
        if opts.get("beta_end") is None:
            opts["beta_end"] = BETA_END_LINEAR * root_n if energy == "linear" else 30.0
        wait = opts.pop("wait_for_centre", False)
        if not isinstance(wait, (bool, np.bool_)):
            raise ValueError(f"wait_for_centre={wait!r} must be True or False")
        wait = bool(wait)
        _check_keywords(ReplicatedAnnealing.for_sweeps, opts, method, ("n_sweeps", "energy"))
        sampler = ReplicatedAnnealing.for_sweeps(n_sweeps, energy=energy, **opts)
        if wait and sampler.form != "centre":
            raise ValueError("wait_for_centre=True needs form='centre' (the traced form has no centre)")
        params = {"n_chains": n_chains, "n_sweeps": n_sweeps, "wait_for_centre": wait, **sampler.params()}
        params["clock"] = clock
        return _mc_solve(method, sampler, instance, n_chains, n_sweeps, record_every, time_limit, now, rng, params,
                         wait, progress)
    params["clock"] = clock
    return _mc_solve(method, sampler, instance, n_chains, n_sweeps, record_every, time_limit, now, rng, params,
                     progress=progress)


def _check_keywords(fn, options, method, taken=()):
    """Options ``fn`` takes as keywords (not the instance, the clock, the seed or ``taken``);
    anything else is refused by name, with the list of what is allowed."""
    import inspect

    fixed = {"instance", "time_limit", "clock", "rng", *taken}
    allowed = sorted(k for k, p in inspect.signature(fn).parameters.items()
                     if k not in fixed and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
    bad = sorted(k for k in options if k not in allowed)
    if bad:
        raise ValueError(f"unknown option(s) for method {method!r}: {', '.join(bad)} (allowed: {', '.join(allowed)}; "
                         "time_limit, clock and rng are arguments of solve itself)")


def _no_more(opts, method):
    if opts:
        raise ValueError(f"unknown option(s) for method {method!r}: {', '.join(sorted(opts))}")
