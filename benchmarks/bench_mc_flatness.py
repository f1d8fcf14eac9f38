"""Flatness around solutions found by RSA, SA and focusing BP, against typical solutions.

Flatness (local energy, Baldassi et al. PNAS 2016 Fig. 2): the fraction of violated patterns
after flipping a uniformly random set of ``round(d N)`` weights of a solution
(:func:`spinglass_nets.analysis.flatness`). Solutions in dense regions stay low at small d;
typical (isolated) solutions rise steeply.

Typical solutions:

- small N (``--n-small``, default 21): uniform over the enumerated solutions
  (:func:`spinglass_nets.exact.enumerate_solutions`), every solution weighted equally;
- large N: the RS prediction from the stability density of a typical solution
  (PHYSICS.md section 3, :func:`spinglass_nets.theory.rs.margin_density`). Flipping a random
  fraction d of the weights moves a stability to ``(1 - 2d) Delta + 2 sqrt(d (1 - d)) z``
  (z standard normal, N large), so the flatness of a solution is a functional of its
  stability histogram: ``e(d) = E_Delta H((1 - 2d) Delta / (2 sqrt(d (1 - d))))``. The same
  formula applied to each found solution's own stabilities is printed as a check of the
  direct measurement.

Local entropy (Franz-Parisi at finite N): around every found solution, BP with an external
field ``lambda w`` (:func:`spinglass_nets.bp.local_entropy_bp`, lambda 0 -> 4) gives ``S(d)``,
the entropy per weight of the solutions at distance d, read at the distances of
:data:`LE_D` by interpolation; the replica prediction for a typical reference and for the
most robust references (:func:`spinglass_nets.theory.local_entropy`, ``kappa_ref=None`` and
``"max"``) is the yardstick. Methods: RSA (first solution: a replica or a centre), RSA with
``wait_for_centre=True`` ("RSA-c"), SA, SBPI and fBP.

Usage::

    python benchmarks/bench_mc_flatness.py            # N = 801, alpha = 0.4, 3 instances (a few min)

Writes ``benchmarks/results/mc_flatness.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
from scipy.special import erfc

RESULTS = Path(__file__).resolve().parent / "results"
D_GRID = [0.005, 0.01, 0.02, 0.05, 0.1]
LE_D = [0.005, 0.01, 0.02, 0.05, 0.1]
LAMBDAS = np.concatenate([np.linspace(0.0, 1.0, 11), np.linspace(1.25, 4.0, 12)])


def H(x):
    return 0.5 * erfc(np.asarray(x) / math.sqrt(2.0))


def predicted_flatness(stabilities, d):
    """Large-N flatness from a list of stabilities (weights equal)."""
    s = np.asarray(stabilities, dtype=float)
    return [float(np.mean(H((1 - 2 * x) * s / (2 * math.sqrt(x * (1 - x)))))) for x in d]


def rs_typical_flatness(alpha, d):
    from spinglass_nets.theory.rs import margin_density

    grid = np.linspace(0.0, 8.0, 4001)
    rho = margin_density(grid, alpha)
    wts = rho / np.trapezoid(rho, grid)
    return [float(np.trapezoid(wts * H((1 - 2 * x) * grid / (2 * math.sqrt(x * (1 - x)))), grid)) for x in d]


def solvers(budget):
    import spinglass_nets as sn
    from spinglass_nets.bp import focusing_bp

    return {
        "RSA": lambda inst, k: sn.solve(inst, "replicated", rng=k, n_sweeps=budget // 3),
        "RSA-c": lambda inst, k: sn.solve(inst, "replicated", rng=k, n_sweeps=budget // 3, wait_for_centre=True),
        "SA": lambda inst, k: sn.solve(inst, "anneal", rng=k, n_chains=3, n_sweeps=budget // 3),
        "SBPI": lambda inst, k: sn.solve(inst, "sbpi", rng=k, time_limit=60),
        "fBP": lambda inst, k: focusing_bp(inst, rng=k, time_limit=60),
    }


def local_entropy_at(inst, w):
    """BP local entropy S(d) around ``w``, interpolated at :data:`LE_D` (nan outside the
    converged range)."""
    from spinglass_nets.bp import local_entropy_bp

    le = local_entropy_bp(inst, w, LAMBDAS)
    ok = np.asarray(le.converged, dtype=bool) & np.isfinite(le.entropy)
    d, sd = np.asarray(le.d)[ok], np.asarray(le.entropy)[ok]
    order = np.argsort(d)
    d, sd = d[order], sd[order]
    return [float(np.interp(x, d, sd)) if d.size and d[0] <= x <= d[-1] else float("nan") for x in LE_D]


def theory_local_entropy(alpha):
    from spinglass_nets.theory import local_entropy

    return {"typical": local_entropy(LE_D, alpha).entropy.tolist(),
            "max_margin": local_entropy(LE_D, alpha, kappa_ref="max").entropy.tolist()}


def run_large(n, alpha, instances, budget, n_samples, seed0=7000):
    import spinglass_nets as sn
    from spinglass_nets.analysis import flatness

    out = []
    for k in range(instances):
        inst = sn.make_perceptron(n, alpha, rng=seed0 + k)
        for name, f in solvers(budget).items():
            r = f(inst, k)
            rec = {"n": n, "alpha": alpha, "instance": k, "method": name, "solved": bool(r.solved)}
            if r.solved:
                st = inst.stabilities(r.w)
                fl = flatness(inst, r.w, d=D_GRID, n_samples=n_samples, rng=k)
                rec.update(flatness=fl.energy.tolist(), flatness_err=fl.error.tolist(),
                           predicted_from_stabilities=predicted_flatness(st, fl.d),
                           min_stability=float(st.min()), mean_stability=float(st.mean()),
                           frac_stability_below_0_2=float(np.mean(st < 0.2)), d=fl.d.tolist(),
                           local_entropy=local_entropy_at(inst, r.w), returned=r.params.get("returned"))
            out.append(rec)
            print(n, alpha, k, name, rec["solved"], np.round(rec.get("flatness", []), 4), flush=True)
    return out


def run_small(n, alpha, instances, seed0=8000):
    """Uniform over all solutions (enumeration) vs SA / RSA / fBP at small N; d = k / N."""
    import spinglass_nets as sn
    from spinglass_nets.bp import focusing_bp
    from spinglass_nets.exact import enumerate_solutions

    ks = [1, 2, 3]
    out = []
    for i in range(instances):
        inst = sn.make_perceptron(n, alpha, rng=seed0 + i)
        sols = enumerate_solutions(inst)
        if len(sols) == 0:
            continue

        def exact_flat(w):
            # exact average over all k-subsets is costly; 400 random subsets per k suffice
            from spinglass_nets.analysis import flatness

            return flatness(inst, w, d=[k / n for k in ks], n_samples=400, rng=1).energy

        typ = np.mean([exact_flat(w) for w in sols[:: max(1, len(sols) // 200)]], axis=0)
        rec = {"n": n, "alpha": alpha, "instance": i, "n_solutions": int(len(sols)), "k": ks,
               "typical_uniform": typ.tolist()}
        for name, f in {"SA": lambda: sn.solve(inst, "anneal", rng=i, n_sweeps=300),
                        "RSA": lambda: sn.solve(inst, "replicated", rng=i, n_sweeps=300),
                        "RSA-c": lambda: sn.solve(inst, "replicated", rng=i, n_sweeps=300, wait_for_centre=True),
                        "fBP": lambda: focusing_bp(inst, rng=i)}.items():
            r = f()
            rec[name] = exact_flat(r.w).tolist() if r.solved else None
        out.append(rec)
        print(rec, flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=801)
    ap.add_argument("--alpha", type=float, default=0.4)
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--budget", type=int, default=9000, help="sweeps per weight for SA/RSA (all replicas)")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--n-small", type=int, default=21)
    ap.add_argument("--alpha-small", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=RESULTS / "mc_flatness.json")
    args = ap.parse_args(argv)
    t0 = time.time()
    large = run_large(args.n, args.alpha, args.instances, args.budget, args.samples)
    typical = rs_typical_flatness(args.alpha, D_GRID)
    small = run_small(args.n_small, args.alpha_small, args.instances)
    summary = {}
    for m in solvers(args.budget):
        rs = [r for r in large if r["method"] == m and r["solved"]]
        if rs:
            summary[m] = {"solved": len(rs), "flatness_mean": np.mean([r["flatness"] for r in rs], axis=0).tolist(),
                          "local_entropy_mean": np.mean([r["local_entropy"] for r in rs], axis=0).tolist(),
                          "min_stability_mean": float(np.mean([r["min_stability"] for r in rs])),
                          "frac_stability_below_0_2_mean": float(np.mean([r["frac_stability_below_0_2"] for r in rs]))}
    th = theory_local_entropy(args.alpha)
    summary["typical_RS"] = {"flatness_mean": typical, "local_entropy_mean": th["typical"]}
    summary["max_margin_RS"] = {"local_entropy_mean": th["max_margin"]}
    res = {"meta": {"n": args.n, "alpha": args.alpha, "d": D_GRID, "le_d": LE_D, "lambdas": LAMBDAS.tolist(),
                    "instances": args.instances,
                    "budget_sweeps_per_weight": args.budget, "samples_per_d": args.samples,
                    "n_small": args.n_small, "alpha_small": args.alpha_small, "seconds": time.time() - t0},
           "large": large, "small": small, "summary": summary}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print("flatness at d =", D_GRID, "| local entropy at d =", LE_D)
    for m, v in summary.items():
        extra = {k: round(x, 3) for k, x in v.items() if not k.endswith("_mean")}
        print(f"{m:14s}", np.round(v.get("flatness_mean", []), 4), np.round(v["local_entropy_mean"], 4), extra)
    if small:
        print("small N:", {k: np.round(np.mean([r[k] for r in small if r.get(k) is not None], axis=0), 4).tolist()
                           for k in ("typical_uniform", "SA", "RSA", "RSA-c", "fBP")})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
