"""Monte Carlo reach: P(solved) and median time to solution vs alpha for annealing,
parallel tempering and replicated annealing, at a fixed budget of single-flip proposals.

Binary perceptron, random labels, +-1 patterns, kappa = 0. Every method runs through
``spinglass_nets.solve`` with its defaults (linear energy, beta schedule scaled with sqrt(N),
see ``docs_mc_solvers.md``) except for the sweep counts, which are set so that every method
gets the same **compute budget**: ``--budget`` sweeps per weight, summed over all the
replicas/chains of the run (one sweep of one replica = N single-flip proposals):

- ``SA x3``: simulated annealing, 3 independent chains x budget/3 sweeps (success if any
  chain solves): the equal-compute baseline for replicated annealing with y = 3.
- ``SA x1``: one annealing chain of budget sweeps (the same compute in one longer chain).
- ``PT``: parallel tempering, K temperatures x budget/K sweeps.
- ``RSA centre`` / ``RSA traced``: replicated annealing, y = 3 replicas x budget/3 sweeps.
  The centre form also moves the centre (N extra proposals per sweep, no pattern work: not
  counted in the budget, it costs about 1-3% of a replica sweep).

A run counts as solved only if ``instance.is_solution(w)`` holds (``solve`` verifies it).
A wall-clock cap ``--time-limit`` (default 120 s) only guards against pathologies; the
budget in sweeps is the real limit (the machine is shared, so seconds are noisy).

Usage::

    python benchmarks/bench_mc_reach.py --quick          # a few minutes
    python benchmarks/bench_mc_reach.py                  # the grid in docs_mc_solvers.md
    python benchmarks/bench_mc_reach.py --plot-only

Writes ``benchmarks/results/mc_reach.json`` (after every N) and ``mc_reach.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ALPHA_C = 0.833  # RS capacity alpha_c(0), PHYSICS.md section 2
ALPHA_LE = 0.77  # dense-region breakdown, large-deviation estimate, PHYSICS.md section 4
RESULTS = Path(__file__).resolve().parent / "results"
Y = 3  # replicas of RSA, and chains of the equal-compute SA baseline
K_PT = 12  # temperatures of parallel tempering (the solve() default)

DEFAULT_ALPHAS = {
    101: [0.5, 0.6, 0.65, 0.7, 0.75, 0.8],
    201: [0.4, 0.5, 0.55, 0.6, 0.65, 0.7],
    401: [0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65],
    801: [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6],
    1601: [0.3, 0.35, 0.4, 0.45, 0.5, 0.55],
}


def method_options(budget):
    """name -> (solve method, options) with equal total sweeps per weight ``budget``."""
    return {
        "SA x3": ("anneal", {"n_chains": Y, "n_sweeps": budget // Y}),
        "SA x1": ("anneal", {"n_chains": 1, "n_sweeps": budget}),
        "PT": ("tempering", {"n_chains": 1, "n_temps": K_PT, "n_sweeps": budget // K_PT}),
        "RSA centre": ("replicated", {"y": Y, "form": "centre", "n_sweeps": budget // Y}),
        "RSA traced": ("replicated", {"y": Y, "form": "traced", "n_sweeps": budget // Y}),
    }


def _replicas(method, opts):
    if method == "anneal":
        return opts["n_chains"]
    if method == "tempering":
        return opts["n_chains"] * opts["n_temps"]
    return opts.get("n_chains", 1) * opts["y"]


def _warm(threads=1):
    """Worker start: pin Numba to ``threads`` (1 by default: with two worker processes on a
    busy 2-core machine, parallel regions in every sweep call stall on descheduled threads and
    inflate wall times several-fold), then compile every kernel on a tiny instance."""
    import numba

    import spinglass_nets as sn

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))

    inst = sn.make_perceptron(101, 0.3, rng=0)
    for m, kw in method_options(60).values():
        sn.solve(inst, m, rng=0, **kw)


def _job(args):
    import spinglass_nets as sn

    name, method, opts, n, alpha, k, seed, time_limit = args
    inst = sn.make_perceptron(n, alpha, rng=seed)
    r = sn.solve(inst, method, time_limit=time_limit, rng=k, **opts)
    ok = bool(inst.is_solution(r.w))
    assert ok == bool(r.solved)
    return {"method": name, "n": n, "alpha": alpha, "instance": k, "instance_seed": seed, "solved": ok,
            "energy": int(r.energy), "seconds": float(r.seconds), "sweeps": int(r.iterations),
            "replica_sweeps": int(r.iterations) * _replicas(method, opts), "stop": r.stop}


def summarise(records):
    """Per (method, N, alpha): P(solve), binomial standard error, median time and median
    replica-sweeps to solution (unsolved runs count as +inf, so the medians are finite only
    when more than half of the instances were solved)."""
    groups = {}
    for r in records:
        groups.setdefault((r["method"], r["n"], r["alpha"]), []).append(r)
    rows = []
    for (m, n, a), rs in sorted(groups.items()):
        k = len(rs)
        s = sum(r["solved"] for r in rs)
        p = s / k
        t = float(np.median([r["seconds"] if r["solved"] else math.inf for r in rs]))
        sw = float(np.median([r["replica_sweeps"] if r["solved"] else math.inf for r in rs]))
        rows.append({"method": m, "n": n, "alpha": a, "instances": k, "solved": s, "p_solve": p,
                     "p_err": math.sqrt(max(p * (1 - p), 0.25 / k) / k),
                     "median_time": None if math.isinf(t) else t,
                     "median_replica_sweeps": None if math.isinf(sw) else sw,
                     "mean_final_errors": float(np.mean([r["energy"] for r in rs]))})
    return rows


def half_point(rows, method, n):
    """alpha where P(solve) crosses 1/2 (linear interpolation; None if it never does)."""
    rs = sorted((r for r in rows if r["method"] == method and r["n"] == n), key=lambda r: r["alpha"])
    for a, b in zip(rs, rs[1:]):
        if a["p_solve"] >= 0.5 > b["p_solve"]:
            return a["alpha"] + (a["p_solve"] - 0.5) / (a["p_solve"] - b["p_solve"]) * (b["alpha"] - a["alpha"])
    if rs and all(r["p_solve"] >= 0.5 for r in rs):
        return f">{rs[-1]['alpha']}"
    if rs and all(r["p_solve"] < 0.5 for r in rs):
        return f"<{rs[0]['alpha']}"
    return None


def run(ns, alphas, instances, budget, time_limit, methods=None, procs=2, out=RESULTS / "mc_reach.json",
        seed0=5000, threads=1):
    allm = method_options(budget)
    methods = list(allm) if methods is None else list(methods)
    meta = {"budget_sweeps_per_weight": budget, "time_limit_s": time_limit, "instances": instances,
            "ns": list(ns), "alphas": {str(n): list(alphas[n]) for n in ns}, "methods": methods,
            "method_options": {m: allm[m] for m in methods}, "y": Y, "pt_temps": K_PT,
            "kappa": 0.0, "labels": "random", "patterns": "binary",
            "instance_seeds": f"seed0 + 1000 * index(N) + 100 * index(alpha) + k, seed0 = {seed0}",
            "solver_rng": "k (instance index)", "alpha_c": ALPHA_C, "alpha_le": ALPHA_LE, "processes": procs,
            "numba_threads_per_process": threads,
            "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                        "loadavg_start": os.getloadavg()},
            "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    records = []
    with Pool(procs, initializer=_warm, initargs=(threads,)) as pool:
        for ni, n in enumerate(ns):
            jobs = [(m, *allm[m], n, a, k, seed0 + 1000 * ni + 100 * ai + k, time_limit)
                    for ai, a in enumerate(alphas[n]) for k in range(instances) for m in methods]
            for rec in pool.imap_unordered(_job, jobs):
                records.append(rec)
                print(f"N={rec['n']} alpha={rec['alpha']:.3f} inst={rec['instance']} {rec['method']:10s} "
                      f"solved={rec['solved']!s:5s} E={rec['energy']:3d} t={rec['seconds']:6.2f}s "
                      f"sweeps={rec['sweeps']}", flush=True)
            meta["loadavg_end"] = os.getloadavg()
            meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
            rows = summarise(records)
            result = {"meta": meta, "records": records, "summary": rows,
                      "half_points": {m: {str(n2): half_point(rows, m, n2) for n2 in ns[: ni + 1]} for m in methods}}
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1))
    return result


def plot(result, path=RESULTS / "mc_reach.png"):
    """P(solved) (top) and median replica-sweeps to solution (bottom) vs alpha, one column per N."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = result["summary"]
    ns = sorted({r["n"] for r in rows})
    methods = result["meta"]["methods"]
    fig = Figure(figsize=(max(6.0, 4.2 * len(ns)), 6.4), constrained_layout=True)
    axes = fig.subplots(2, len(ns), squeeze=False, sharex=True)
    for ax in axes[1, 1:]:
        ax.sharey(axes[1, 0])  # one scale for the sweeps to solution across N
    markers = "osD^vP*X"
    for j, n in enumerate(ns):
        for mi, m in enumerate(methods):
            rs = sorted((r for r in rows if r["n"] == n and r["method"] == m), key=lambda r: r["alpha"])
            if not rs:
                continue
            a = np.array([r["alpha"] for r in rs])
            off = (mi - (len(methods) - 1) / 2) * 0.003
            axes[0, j].errorbar(a + off, [r["p_solve"] for r in rs], yerr=[r["p_err"] for r in rs],
                                marker=markers[mi % 8], ms=4, capsize=2, alpha=0.85, label=m)
            sw = [np.nan if r["median_replica_sweeps"] is None else r["median_replica_sweeps"] for r in rs]
            axes[1, j].plot(a, sw, marker=markers[mi % 8], ms=4, label=m)
        for ax in axes[:, j]:
            ax.axvline(ALPHA_C, color="k", ls="--", lw=1)
            ax.axvline(ALPHA_LE, color="0.5", ls=":", lw=1)
        axes[0, j].text(ALPHA_C, 0.5, r" $\alpha_c=0.833$", fontsize=8, rotation=90, va="center")
        axes[0, j].text(ALPHA_LE, 0.5, r" $\alpha_{LE}\approx0.77$", fontsize=8, rotation=90, va="center",
                        color="0.4")
        axes[0, j].set_title(f"N = {n}: {result['meta']['budget_sweeps_per_weight']} sweeps/weight, "
                             f"{result['meta']['instances']} inst.", fontsize=9)
        axes[0, j].set_ylim(-0.05, 1.05)
        axes[0, j].set_ylabel("P(solved)")
        if any(r["median_replica_sweeps"] for r in rows):
            axes[1, j].set_yscale("log")
        axes[1, j].set_ylabel("median replica-sweeps to solution")
        axes[1, j].set_xlabel(r"$\alpha = P/N$")
        axes[1, j].set_xlim(0.25, 0.86)
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.savefig(path, dpi=110)
    return path


def table(result):
    """Markdown table: one row per (N, alpha), one column per method: solved/instances,
    median seconds."""
    rows = result["summary"]
    methods = result["meta"]["methods"]
    lines = ["| N | alpha | " + " | ".join(methods) + " |", "|--:|--:|" + ":--|" * len(methods)]
    for n in sorted({r["n"] for r in rows}):
        for a in sorted({r["alpha"] for r in rows if r["n"] == n}):
            cells = []
            for m in methods:
                r = next((r for r in rows if r["n"] == n and r["alpha"] == a and r["method"] == m), None)
                if r is None:
                    cells.append("")
                    continue
                t = "-" if r["median_time"] is None else f"{r['median_time']:.2f} s"
                cells.append(f"{r['solved']}/{r['instances']}, {t}")
            lines.append(f"| {n} | {a:.2f} | " + " | ".join(cells) + " |")
    hp = result.get("half_points", {})
    lines += ["", "| method | " + " | ".join(f"alpha_1/2 (N={n})" for n in result["meta"]["ns"]) + " |",
              "|:--|" + "--:|" * len(result["meta"]["ns"])]
    for m in methods:
        vals = []
        for n in result["meta"]["ns"]:
            v = hp.get(m, {}).get(str(n))
            vals.append("-" if v is None else (v if isinstance(v, str) else f"{v:.3f}"))
        lines.append(f"| {m} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 201 and 801, 3 alphas, 3 instances")
    ap.add_argument("--n", type=int, nargs="+", default=[801, 401, 201, 101])
    ap.add_argument("--alphas", type=float, nargs="+", default=None, help="same grid for every N")
    ap.add_argument("--instances", type=int, default=16)
    ap.add_argument("--budget", type=int, default=3000, help="sweeps per weight, summed over replicas")
    ap.add_argument("--time-limit", type=float, default=120.0, help="wall-clock guard per run (s)")
    ap.add_argument("--methods", nargs="+", default=None)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="Numba threads per worker process")
    ap.add_argument("--out", type=Path, default=None, help="results file (default mc_reach.json; "
                    "with --quick mc_reach_quick.json: a smoke run keeps the published results)")
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = RESULTS / "mc_reach_quick.json" if args.quick else RESULTS / "mc_reach.json"
    if args.plot_only:
        result = json.loads(args.out.read_text())
    else:
        if args.quick:
            args.n, args.instances = [201, 801], 3
            args.alphas = [0.4, 0.5, 0.6]
        alphas = {n: (args.alphas if args.alphas else DEFAULT_ALPHAS.get(n, DEFAULT_ALPHAS[801])) for n in args.n}
        result = run(args.n, alphas, args.instances, args.budget, args.time_limit, methods=args.methods,
                     procs=args.procs, out=args.out, threads=args.threads)
    png = plot(result, args.out.with_suffix(".png"))
    print(table(result))
    print(f"wrote {args.out} and {png}")


if __name__ == "__main__":
    main()
