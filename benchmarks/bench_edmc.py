"""Entropy-driven Monte Carlo against simulated annealing at equal wall time.

Binary perceptron, random labels, +-1 patterns, kappa = 0. For every (N, alpha, instance):

- **EdMC**: :class:`spinglass_nets.samplers.EntropyDrivenMC` with its defaults (AMP messages,
  tol 1e-6, damping 0.5, gamma = 0.1 * 1.2**t capped at 50, beta_e = inf), one chain, run
  through ``run()`` until the centre (or the sign of its BP marginals) is a solution or the
  wall-clock budget ``--time-limit`` is spent. Recorded: solved, time to solution, sweeps,
  seconds per sweep, BP iterations per proposal.
- **SA**: ``spinglass_nets.solve(method="anneal")`` with its defaults (linear energy,
  geometric beta 1 -> 35 sqrt(N)), one chain, with the schedule length set so that the
  anneal takes the same wall time as EdMC's whole budget: the seconds per SA sweep are
  measured on the instance first (median of three 5000-sweep runs), then
  ``n_sweeps = budget / t_sweep``.

Every success is verified with ``instance.is_solution``. Run it with one Numba thread
(``NUMBA_NUM_THREADS=1``, set below unless already set) so that both methods use one core.

Usage::

    .venv/bin/python benchmarks/bench_edmc.py                 # the README grid, ~6 min
    .venv/bin/python benchmarks/bench_edmc.py --quick         # ~1 min smoke run
    .venv/bin/python benchmarks/bench_edmc.py --table-only    # the table of the last run

Writes ``benchmarks/results/edmc.json`` (every run, the summary, machine and load average).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def run_edmc(inst, seed, budget):
    from spinglass_nets.samplers import EntropyDrivenMC, run

    sampler = EntropyDrivenMC()
    t0 = time.perf_counter()
    best = {"e": math.inf, "w": None, "t": None}

    def watch(state, info):
        cands = np.concatenate([state.w, np.where(sampler.marginals(state) >= 0, 1, -1).astype(np.int8)])
        e = np.asarray(inst.energy(cands)).reshape(-1)
        k = int(np.argmin(e))
        if e[k] < best["e"]:
            best["e"], best["w"] = float(e[k]), cands[k].copy()
        if best["e"] == 0:
            best["t"] = time.perf_counter() - t0
            return True
        return time.perf_counter() - t0 > budget

    res = run(sampler, inst, n_chains=1, n_sweeps=100_000, record_every=1, rng=seed, callback=watch, progress=False,
              keep_samples=False)
    sweeps = int(res.final_state.sweep)
    solved = bool(inst.is_solution(best["w"]))
    return {"solved": solved, "seconds": time.perf_counter() - t0, "time_to_solution": best["t"] if solved else None,
            "sweeps": sweeps, "seconds_per_sweep": res.seconds / max(sweeps, 1), "best_errors": best["e"],
            "bp_iterations_per_call": res.stats["bp_iterations_per_call"],
            "acceptance": float(res.acceptance[0])}


def run_sa(inst, seed, budget):
    import spinglass_nets as sn

    reps = []
    for k in range(3):  # median of three short runs: robust to a load spike on a shared machine
        t0 = time.perf_counter()
        sn.solve(inst, "anneal", n_sweeps=5000, n_chains=1, record_every=500, rng=10_000 + 3 * seed + k)
        reps.append((time.perf_counter() - t0) / 5000)
    t_sweep = float(np.median(reps))
    n_sweeps = max(1000, int(budget / t_sweep) // 1000 * 1000)
    r = sn.solve(inst, "anneal", n_sweeps=n_sweeps, n_chains=1, record_every=n_sweeps // 200, rng=seed,
                 time_limit=3 * budget)
    solved = bool(r.solved and inst.is_solution(r.w))
    return {"solved": solved, "seconds": r.seconds, "time_to_solution": r.seconds if solved else None,
            "n_sweeps": n_sweeps, "sweeps_done": r.iterations,
            "seconds_per_sweep": t_sweep, "best_errors": r.energy}


def summarize(records):
    """One row per (N, alpha). EdMC sweeps, seconds per sweep and BP iterations per proposal
    are medians over the *solved* runs (a failed run may spend its last sweeps frozen where
    BP does not converge, which makes its sweeps cheap and says nothing about the cost)."""
    summary = []
    for key in dict.fromkeys((r["n"], r["alpha"]) for r in records):
        rows = [r for r in records if (r["n"], r["alpha"]) == key]
        ok = [r["edmc"] for r in rows if r["edmc"]["solved"]]
        sa_t = [r["sa"]["time_to_solution"] for r in rows if r["sa"]["solved"]]
        med = (lambda xs: float(np.median(xs)) if xs else None)
        summary.append({
            "n": key[0], "alpha": key[1], "budget_s": rows[0]["budget"], "instances": len(rows),
            "edmc_solved": len(ok),
            "edmc_median_time_to_solution": med([e["time_to_solution"] for e in ok]),
            "edmc_median_sweeps_to_solution": med([e["sweeps"] for e in ok]),
            "edmc_seconds_per_sweep": med([e["seconds_per_sweep"] for e in ok]),
            "edmc_bp_iterations_per_call": med([e["bp_iterations_per_call"] for e in ok]),
            "edmc_best_errors": [r["edmc"]["best_errors"] for r in rows],
            "sa_solved": len(sa_t),
            "sa_median_time_to_solution": med(sa_t),
            "sa_sweeps": int(np.median([r["sa"]["n_sweeps"] for r in rows])),
            "sa_seconds_per_sweep": float(np.median([r["sa"]["seconds_per_sweep"] for r in rows])),
            "sa_best_errors": [r["sa"]["best_errors"] for r in rows],
        })
    return summary


def print_table(summary):
    f = (lambda x, fmt, unit="": "-" if x is None else format(x, fmt) + unit)
    print("| N | alpha | budget | EdMC solved | EdMC median time | EdMC sweeps | EdMC s/sweep | BP it/proposal "
          "| EdMC best errors | SA solved | SA median time | SA sweeps (budget) | SA us/sweep | SA best errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['n']} | {s['alpha']} | {s['budget_s']:g} s | {s['edmc_solved']}/{s['instances']} | "
              f"{f(s['edmc_median_time_to_solution'], '.1f', ' s')} | {f(s['edmc_median_sweeps_to_solution'], 'g')} | "
              f"{f(s['edmc_seconds_per_sweep'], '.3f')} | {f(s['edmc_bp_iterations_per_call'], '.1f')} | "
              f"{[int(x) for x in s['edmc_best_errors']]} | {s['sa_solved']}/{s['instances']} | "
              f"{f(s['sa_median_time_to_solution'], '.1f', ' s')} | {s['sa_sweeps']} | "
              f"{1e6 * s['sa_seconds_per_sweep']:.1f} | {[int(x) for x in s['sa_best_errors']]} |")


def main(argv=None):
    import numba

    import spinglass_nets as sn

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ns", type=int, nargs="+", default=[201, 401])
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.6, 0.7])
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=None,
                    help="wall-clock budget per run and method, seconds (default 10 at N <= 201, 20 above)")
    ap.add_argument("--quick", action="store_true", help="N = 201, alpha = 0.6, 2 instances, 5 s")
    ap.add_argument("--out", type=Path, default=None, help="results file (default edmc.json; "
                    "with --quick edmc_quick.json: a smoke run keeps the published results)")
    ap.add_argument("--table-only", action="store_true", help="print the table of an existing --out file")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = RESULTS / "edmc_quick.json" if args.quick else RESULTS / "edmc.json"
    if args.table_only:
        print_table(summarize(json.loads(args.out.read_text())["records"]))
        return
    if args.quick:
        args.ns, args.alphas, args.instances, args.time_limit = [201], [0.6], 2, 5.0
    # compile / load the kernels outside the timings
    warm = sn.make_perceptron(41, 0.5, rng=0)
    run_edmc(warm, 0, 1.0)
    sn.solve(warm, "anneal", n_sweeps=100, n_chains=1, rng=0)
    meta = {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                        "numba_threads": numba.get_num_threads(), "loadavg_start": os.getloadavg()},
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "command": "NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_edmc.py"
                       + (" --quick" if args.quick else "")}
    records = []
    for n in args.ns:
        budget = args.time_limit if args.time_limit is not None else (10.0 if n <= 201 else 20.0)
        for alpha in args.alphas:
            for seed in range(args.instances):
                inst = sn.make_perceptron(n, alpha, rng=seed)
                rec = {"n": n, "alpha": alpha, "seed": seed, "budget": budget, "edmc": run_edmc(inst, seed, budget),
                       "sa": run_sa(inst, seed, budget)}
                records.append(rec)
                print(json.dumps(rec), flush=True)
    meta["machine"]["loadavg_end"] = os.getloadavg()
    summary = summarize(records)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**meta, "summary": summary, "records": records}, indent=1))
    print()
    print_table(summary)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
