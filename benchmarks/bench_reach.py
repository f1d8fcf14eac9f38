"""Algorithmic reach: probability of solving and median time to solution vs alpha.

Binary perceptron, random labels, +-1 patterns, kappa = 0. For every N, alpha and instance
seed, every method gets the same wall-clock budget (``--time-limit`` seconds, one thread)
and its own default hyper-parameters. A run counts as solved only if
``instance.is_solution(w)`` holds.

Methods are a plain dict ``name -> callable(instance, time_limit, rng) -> result`` with
``result.solved`` and ``result.seconds`` (:func:`_methods`): focusing BP, reinforced BP, SBPI,
CP+R (their defaults; the online rules and rBP run until the budget ends), and the three Monte
Carlo solvers of :func:`spinglass_nets.solve` (annealing "SA", tempering "PT", replicated
annealing "RSA"). An annealing schedule has a length, not a time, so the Monte Carlo methods
use the budget as *restarts of doubling length*: 1000 sweeps, then 2000, 4000, ... (a fresh
random start and stream each time) until a solution or the end of the budget; the reported
time is the total. Tempering restarts the same way.

**Early stop along alpha** (``--stop-after-zero``, on by default): once a method solves none
of the instances at some alpha, it is not run at the larger alphas of that N (the success
probability of every method here falls with alpha; running them would spend the whole
budget on each instance for a known zero). Those cells are listed in ``meta["skipped"]`` and
shown as "-" in the table.

**Clock.** ``--clock cpu`` (the default) makes the budget and the reported times CPU seconds
of the benchmark process (``time.process_time``, one Numba thread: set
``NUMBA_NUM_THREADS=1``), so that other jobs on a shared machine do not eat into a method's
budget; ``--clock wall`` uses wall-clock seconds, the library's default. The benchmark passes
the choice to every solver (``clock=`` of :func:`spinglass_nets.solve` and the solvers) and
times its own restarts with the same clock.

Runs can be split over processes (``--methods``, ``--out``) and merged afterwards
(``--merge a.json b.json ... --out reach.json``; parts may differ in N, budget and instance
count, which every record carries): instance seeds depend only on the index of N and alpha in
the lists, so the same lists give the same instances.

Usage::

    python benchmarks/bench_reach.py --quick            # ~2 min: N = 1001, 3 alphas
    python benchmarks/bench_reach.py --n 1001 4001 --instances 4 --time-limit 20
    python benchmarks/bench_reach.py --plot-only        # redraw the PNG from the JSON
    python benchmarks/bench_reach.py --merge r1.json r2.json --out reach.json

Writes ``benchmarks/results/reach.json`` (after every N, so a partial run keeps its data)
and ``benchmarks/results/reach.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

ALPHA_C = 0.833  # RS capacity alpha_c(0) (Krauth-Mezard 1989), PHYSICS.md section 2
ALPHA_LE = 0.77  # breakdown of the dense region, large-deviation estimate (PHYSICS.md section 4)
RESULTS = Path(__file__).resolve().parent / "results"


def _methods(clock="wall"):
    from spinglass_nets.bp import focusing_bp, reinforced_bp
    from spinglass_nets.solvers import cpr, sbpi

    big = 10**9  # let the time limit, not an iteration cap, end the online rules
    c = clock
    return {
        "fBP": lambda inst, t, rng: focusing_bp(inst, time_limit=t, clock=c, rng=rng),
        "rBP": lambda inst, t, rng: reinforced_bp(inst, time_limit=t, clock=c, rng=rng, max_iter=big),
        "SBPI": lambda inst, t, rng: sbpi(inst, time_limit=t, clock=c, rng=rng, max_epochs=big),
        "CP+R": lambda inst, t, rng: cpr(inst, time_limit=t, clock=c, rng=rng, max_epochs=big),
        "SA": lambda inst, t, rng: restarts("anneal", inst, t, rng, clock=c),
        "PT": lambda inst, t, rng: restarts("tempering", inst, t, rng, clock=c),
        "RSA": lambda inst, t, rng: restarts("replicated", inst, t, rng, clock=c),
    }


class _Restarted:
    """The outcome of :func:`restarts`: the best attempt's configuration (a solution, or the
    fewest errors over all attempts), the last attempt's stop reason, the total time."""

    def __init__(self, best, last, seconds, sweeps, attempts):
        self.w, self.solved, self.energy, self.stop = best.w, best.solved, best.energy, last.stop
        self.seconds, self.iterations, self.attempts = seconds, sweeps, attempts


def restarts(method, inst, time_limit, rng, first=1000, clock="wall"):
    """Run the Monte Carlo ``method`` of :func:`spinglass_nets.solve` with ``first``, 2
    ``first``, 4 ``first``, ... sweeps (streams ``(rng, attempt)``) until it solves the instance
    or ``time_limit`` seconds of ``clock`` have gone; returns the last result with the total
    time and sweeps (and the configuration with the fewest errors over all attempts)."""
    import spinglass_nets as sn
    from spinglass_nets.solvers.result import check_clock

    now = check_clock(clock)
    t0 = now()
    n_sweeps, total, attempt, best = first, 0, 0, None
    while True:
        left = time_limit - (now() - t0)
        res = sn.solve(inst, method, time_limit=left, clock=clock, rng=np.random.SeedSequence([rng, attempt]),
                       n_sweeps=n_sweeps)
        total += res.iterations
        attempt += 1
        if best is None or res.energy < best.energy:
            best = res
        if res.solved or now() - t0 >= time_limit:
            return _Restarted(best, res, now() - t0, total, attempt)
        n_sweeps *= 2


METHODS = None  # filled lazily by run() so that importing this module is cheap


def _warm_up(methods):
    """Compile every kernel on a tiny instance so compile time never counts."""
    import spinglass_nets as sn

    inst = sn.make_perceptron(101, 0.3, rng=0)
    for f in methods.values():
        f(inst, 2.0, 0)


def summarise(records):
    """Per (method, N, alpha): P(solve), its binomial standard error, median time to solution.

    The median time counts unsolved runs as +inf (so it is finite only when more than half
    of the instances were solved): the usual definition for a fixed budget.
    """
    out = {}
    for r in records:
        out.setdefault((r["method"], r["n"], r["alpha"]), []).append(r)
    rows = []
    for (m, n, a), rs in sorted(out.items()):
        k = len(rs)
        s = sum(r["solved"] for r in rs)
        p = s / k
        times = sorted(r["seconds"] if r["solved"] else math.inf for r in rs)
        med = float(np.median(times)) if times else math.inf
        rows.append({"method": m, "n": n, "alpha": a, "instances": k, "solved": s, "p_solve": p,
                     "p_err": math.sqrt(p * (1 - p) / k), "median_time": None if math.isinf(med) else med,
                     "median_time_solved": float(np.median([r["seconds"] for r in rs if r["solved"]])) if s else None})
    return rows


def run(ns, alphas, instances, time_limit, methods=None, extra_methods=None, out=RESULTS / "reach.json", seed0=1000,
        stop_after_zero=True, clock="wall"):
    """Run the grid and write the JSON; returns the result dict."""
    import spinglass_nets as sn

    methods = dict(_methods(clock) if methods is None else methods)
    if extra_methods:
        methods.update(extra_methods)
    _warm_up(methods)
    meta = {"time_limit_s": time_limit, "instances": instances, "ns": list(ns), "alphas": list(alphas),
            "methods": list(methods), "kappa": 0.0, "labels": "random", "patterns": "binary",
            "instance_seeds": f"seed0 + 1000 * index(N) + 100 * index(alpha) + k, seed0 = {seed0}",
            "solver_rng": "k (instance index)", "alpha_c": ALPHA_C, "alpha_le": ALPHA_LE,
            "machine": {"platform": platform.platform(), "processor": platform.processor(),
                        "cpu_count": os.cpu_count(), "numba_threads": os.environ.get("NUMBA_NUM_THREADS", "default")},
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "stop_after_zero": bool(stop_after_zero),
            "mc_restarts": "1000, 2000, 4000, ... sweeps until solved or out of budget", "skipped": [],
            "load_before": list(os.getloadavg()), "clock": clock}
    records = []
    for ni, n in enumerate(ns):
        dead = set()  # methods that solved nothing at a smaller alpha of this N
        for ai, alpha in enumerate(alphas):
            live = {m: f for m, f in methods.items() if m not in dead}
            meta["skipped"] += [{"method": m, "n": n, "alpha": alpha} for m in methods if m in dead]
            for k in range(instances):
                inst = sn.make_perceptron(n, alpha, rng=seed0 + 1000 * ni + 100 * ai + k)
                for name, f in live.items():
                    r = f(inst, time_limit, k)
                    rec = {"method": name, "n": n, "alpha": alpha, "instance": k, "solved": bool(r.solved),
                           "time_limit_s": time_limit, "clock": clock,
                           "verified": bool(inst.is_solution(r.w)), "energy": int(r.energy),
                           "seconds": float(r.seconds), "iterations": int(r.iterations), "stop": r.stop}
                    assert rec["solved"] == rec["verified"]
                    records.append(rec)
                    print(f"N={n} alpha={alpha:.3f} inst={k} {name:5s} solved={rec['solved']!s:5s} "
                          f"E={rec['energy']:3d} t={rec['seconds']:7.2f}s it={rec['iterations']} ({rec['stop']})",
                          flush=True)
            if stop_after_zero:
                dead |= {m for m in live if not any(r["solved"] for r in records
                                                    if r["method"] == m and r["n"] == n and r["alpha"] == alpha)}
            _write(meta, records, out)
    meta["load_after"] = list(os.getloadavg())
    return _write(meta, records, out)


def _write(meta, records, out):
    result = {"meta": meta, "records": records, "summary": summarise(records)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result


def merge(paths, out):
    """Merge the JSON of runs split by method or by N (each part keeps its own budget, clock
    and instance count, copied into its records); a (method, N, alpha, instance) cell may come
    from one part only."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    records, seen, methods, skipped = [], set(), [], []
    for q in parts:
        m = q["meta"]
        for r in q["records"]:
            key = (r["method"], r["n"], r["alpha"], r["instance"])
            if key in seen:
                raise SystemExit(f"cell {key} appears in more than one input")
            seen.add(key)
            r.setdefault("time_limit_s", m["time_limit_s"])
            r.setdefault("clock", m.get("clock", "wall"))
            records.append(r)
        methods += [x for x in m["methods"] if x not in methods]
        skipped += m.get("skipped", [])
    meta = {"merged_from": [str(p) for p in paths], "parts": [q["meta"] for q in parts], "methods": methods,
            "skipped": skipped, "alpha_c": ALPHA_C, "alpha_le": ALPHA_LE}
    return _write(meta, records, out)


def plot(result, path=RESULTS / "reach.png"):
    """P(solve) (top) and median time to solution (bottom) vs alpha, one column per N."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = result["summary"]
    ns = sorted({r["n"] for r in rows})
    methods = result["meta"]["methods"]
    fig = Figure(figsize=(max(6.0, 4.6 * len(ns)), 6.4), constrained_layout=True)
    axes = fig.subplots(2, len(ns), squeeze=False, sharex=True)
    markers = "osD^vP*X"
    for j, n in enumerate(ns):
        for mi, m in enumerate(methods):
            rs = sorted((r for r in rows if r["n"] == n and r["method"] == m), key=lambda r: r["alpha"])
            if not rs:
                continue
            a = np.array([r["alpha"] for r in rs])
            p = np.array([r["p_solve"] for r in rs])
            e = np.array([r["p_err"] for r in rs])
            # a small horizontal offset per method keeps coinciding curves visible
            off = (mi - (len(methods) - 1) / 2) * 0.003
            axes[0, j].errorbar(a + off, p, yerr=e, marker=markers[mi % 8], ms=4, capsize=2, alpha=0.85, label=m)
            t = np.array([np.nan if r["median_time"] is None else r["median_time"] for r in rs])
            axes[1, j].plot(a, t, marker=markers[mi % 8], ms=4, label=m)
        for ax in axes[:, j]:
            ax.axvline(ALPHA_C, color="k", ls="--", lw=1)
            ax.axvline(ALPHA_LE, color="0.5", ls=":", lw=1)
        axes[0, j].text(ALPHA_C, 0.5, r" $\alpha_c=0.833$", fontsize=8, rotation=90, va="center")
        axes[0, j].text(ALPHA_LE, 0.5, r" $\alpha_{LE}\approx0.77$", fontsize=8, rotation=90, va="center", color="0.4")
        recs = [r for r in result["records"] if r["n"] == n]
        budget = "/".join(f"{b:g}" for b in sorted({r.get("time_limit_s", result["meta"].get("time_limit_s")) for r in recs}))
        clock = "/".join(sorted({r.get("clock", result["meta"].get("clock", "wall")) for r in recs}))
        n_inst = max(r["instances"] for r in rows if r["n"] == n)
        axes[0, j].set_title(f"N = {n}, budget {budget} {clock} s, {n_inst} instances", fontsize=9)
        axes[0, j].set_ylim(-0.05, 1.05)
        axes[0, j].set_ylabel("P(solved)")
        axes[1, j].set_yscale("log")
        axes[1, j].set_ylabel(f"median time to solution ({clock} s)")
        axes[1, j].set_xlabel(r"$\alpha = P/N$")
        axes[1, j].set_xlim(min(r["alpha"] for r in rows) - 0.02, 0.85)
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.savefig(path, dpi=120)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 1001, alpha in {0.6, 0.7, 0.75}, 2 instances, 10 s")
    ap.add_argument("--n", type=int, nargs="+", default=[1001, 4001, 10001])
    ap.add_argument("--alphas", type=float, nargs="+",
                    default=[0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.72, 0.74, 0.75, 0.76, 0.78, 0.8])
    ap.add_argument("--instances", type=int, default=4)
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per run (default 60)")
    ap.add_argument("--methods", nargs="+", default=None, help="subset of method names")
    ap.add_argument("--out", type=Path, default=None, help="results file (default reach.json; "
                    "with --quick reach_quick.json: a smoke run keeps the published results)")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="budget and times in CPU seconds of this process (default) or wall-clock seconds")
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--merge", type=Path, nargs="+", help="merge these JSON files into --out and plot")
    ap.add_argument("--no-stop-after-zero", dest="stop_after_zero", action="store_false",
                    help="run every alpha even after a method solved nothing at a smaller one")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = RESULTS / "reach_quick.json" if args.quick else RESULTS / "reach.json"
    if args.merge:
        result = merge(args.merge, args.out)
    elif args.plot_only:
        result = json.loads(args.out.read_text())
    else:
        if args.quick:
            args.n, args.alphas, args.instances, args.time_limit = [1001], [0.6, 0.7, 0.75], 2, 10.0
        methods = _methods(args.clock)
        if args.methods:
            unknown = set(args.methods) - set(methods)
            if unknown:
                raise SystemExit(f"unknown methods {sorted(unknown)}; choose from {sorted(methods)}")
            methods = {k: v for k, v in methods.items() if k in args.methods}
        result = run(args.n, args.alphas, args.instances, args.time_limit, methods=methods, out=args.out,
                     stop_after_zero=args.stop_after_zero, clock=args.clock)
    png = plot(result, args.out.with_suffix(".png"))
    for r in result["summary"]:
        t = "-" if r["median_time"] is None else f"{r['median_time']:.2f}"
        print(f"{r['method']:5s} N={r['n']:6d} alpha={r['alpha']:.3f} P={r['solved']}/{r['instances']} median_t={t}")
    print(f"wrote {args.out} and {png}")


if __name__ == "__main__":
    main()
