"""Focusing BP at scale: time per AMP iteration and time to solution, before / after.

Two parts, both in one process:

1. **Per iteration.** On one instance per (N, alpha), the float64 two-pass reference AMP
   iteration (``spinglass_nets.bp.core._State``: ``amp_forward`` + ``amp_channel`` +
   ``amp_backward``, int8 couplings read twice) and the fused single-pass kernel
   (``_FastState``: bit-packed couplings, float32 inner products, exact popcount solution
   check, ``spinglass_nets.bp._fast``) are timed interleaved from the same messages: wall clock
   and CPU time of the process with 1 Numba thread, and wall clock with 2 threads (fused only;
   the reference kernels are serial).
2. **Time to solution.** ``focusing_bp`` on ``--instances`` random instances per (N, alpha)
   (seeds 0, 1, ...; ``rng=0``), one thread, ``--time-limit`` seconds of wall clock each, with
   the configurations of :data:`CONFIGS`: the old defaults on the reference kernel (``before``;
   only up to ``--before-max-n``, since at N = 10001 it costs minutes per instance), the old
   defaults on the fused kernel (``old+fused``: the new default, same protocol, same
   iterations up to float32 round-off) and the fast option ``tol=1e-2`` (``fused tol=1e-2``).

Usage::

    NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/bench_fbp.py            # ~15-25 min on 2 busy cores
    NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/bench_fbp.py --quick    # ~1 min smoke test

Writes ``benchmarks/results/fbp.json`` (rewritten after every row, so a partial run keeps its
data) with the machine, the load averages (``os.getloadavg``) before and after each part, and
every measurement; prints the tables of ``docs_fbp.md``.
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

RESULTS = Path(__file__).resolve().parent / "results"

# name -> (focusing_bp keywords, uses the reference kernel)
CONFIGS = {
    "before": ({"fused": False, "tol": 1e-3, "max_iter": 100, "damping": 0.8, "protocol": ("sr", 0.01, 0.99)}, True),
    "old+fused": ({"fused": True, "tol": 1e-3, "max_iter": 100, "damping": 0.8, "protocol": ("sr", 0.01, 0.99)}, False),
    "fused tol=1e-2": ({"fused": True, "tol": 1e-2, "max_iter": 100, "damping": 0.8, "protocol": ("sr", 0.01, 0.99)},
                       False),
}


def _kw(kw):
    from spinglass_nets.bp import standard_reinforcement

    out = dict(kw)
    if "protocol" in out:
        _, step, rho_max = out["protocol"]
        out["protocol"] = standard_reinforcement(step, rho_max)
    return out


def _load():
    return [round(x, 2) for x in os.getloadavg()]


def _set_threads(t):
    import numba

    numba.set_num_threads(t)


def time_iterations(n, alpha, reps, k, max_threads):
    """Median seconds per iteration of the reference and the fused kernel (interleaved)."""
    import spinglass_nets as sn
    from spinglass_nets.bp.core import _FastState, _State

    inst = sn.make_perceptron(n, alpha, rng=0)
    ref, fast = _State(inst, "amp", 0), _FastState(inst, 0)
    _set_threads(1)
    for _ in range(3):  # warm up (compilation is cached) and leave the initial transient
        ref.step(-math.inf, 0.8)
        fast.step(-math.inf, 0.8)
    rows = {"ref_wall": [], "ref_cpu": [], "fused_wall": [], "fused_cpu": [], "fused2_wall": []}
    for _ in range(reps):
        for name, st in (("ref", ref), ("fused", fast)):
            w, c = time.perf_counter(), time.process_time()
            for _ in range(k):
                st.step(-math.inf, 0.8)
            rows[name + "_wall"].append((time.perf_counter() - w) / k)
            rows[name + "_cpu"].append((time.process_time() - c) / k)
        if max_threads >= 2:
            _set_threads(2)
            w = time.perf_counter()
            for _ in range(k):
                fast.step(-math.inf, 0.8)
            rows["fused2_wall"].append((time.perf_counter() - w) / k)
            _set_threads(1)
    out = {key: float(np.median(v)) if v else None for key, v in rows.items()}
    out["speedup_cpu"] = out["ref_cpu"] / out["fused_cpu"]
    out["speedup_wall"] = out["ref_wall"] / out["fused_wall"]
    out["raw"] = rows
    return out


def solve_runs(n, alpha, instances, time_limit, configs):
    import spinglass_nets as sn
    from spinglass_nets.bp import focusing_bp

    _set_threads(1)
    res = {}
    for name, (kw, _) in configs.items():
        runs = []
        for seed in range(instances):
            inst = sn.make_perceptron(n, alpha, rng=seed)
            c = time.process_time()
            r = focusing_bp(inst, rng=0, time_limit=time_limit, **_kw(kw))
            runs.append({"seed": seed, "solved": bool(r.solved), "iterations": int(r.iterations),
                         "wall_s": round(r.seconds, 3), "cpu_s": round(time.process_time() - c, 3),
                         "energy": int(r.energy), "stop": r.stop,
                         "s_per_iter_cpu": (time.process_time() - c) / max(r.iterations, 1)})
        res[name] = runs
    return res


def _median_time(runs, key):
    t = sorted(r[key] if r["solved"] else math.inf for r in runs)
    m = t[len(t) // 2] if len(t) % 2 else 0.5 * (t[len(t) // 2 - 1] + t[len(t) // 2])
    return m


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1001, 4001, 10001])
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.7, 0.75])
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--before-max-n", type=int, default=4001)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--skip-solve", action="store_true")
    ap.add_argument("--quick", action="store_true", help="N = 1001 and 4001, alpha = 0.7, 1 instance, 10 s")
    ap.add_argument("-o", "--output", default=None, help="results file (default fbp.json; "
                    "with --quick fbp_quick.json: a smoke run keeps the published results)")
    args = ap.parse_args(argv)
    if args.output is None:
        args.output = str(RESULTS / "fbp_quick.json") if args.quick else str(RESULTS / "fbp.json")
    if args.quick:
        args.n, args.alphas, args.instances, args.time_limit, args.reps = [1001, 4001], [0.7], 1, 10.0, 2
    import numba

    import spinglass_nets as sn
    from spinglass_nets.bp import focusing_bp

    max_threads = numba.config.NUMBA_NUM_THREADS
    # compile / load every kernel once so no compilation is timed
    small = sn.make_perceptron(201, 0.5, rng=0)
    focusing_bp(small, rng=0)
    focusing_bp(small, rng=0, fused=False)
    out = {"machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                       "numba_threads_max": max_threads, "numba": numba.__version__},
           "args": vars(args), "configs": {k: {"kwargs": v[0], "reference_kernel": v[1]} for k, v in CONFIGS.items()},
           "iteration": [], "solve": []}
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)

    def save():
        path.write_text(json.dumps(out, indent=1, default=float))

    print("per iteration (ms; 1 thread wall / CPU, 2 threads wall)")
    print("| N | alpha | reference wall / CPU | fused wall / CPU | fused 2 threads wall | speedup (CPU) | load |")
    print("|---|---|---|---|---|---|---|")
    for n in args.n:
        for alpha in args.alphas:
            k = max(1, int(2e8 // (n * n)))  # ~ a few hundred ms per timed batch
            load0 = _load()
            r = time_iterations(n, alpha, args.reps, k, max_threads)
            r.update(n=n, alpha=alpha, iterations_per_batch=k, load_before=load0, load_after=_load())
            out["iteration"].append(r)
            save()
            f2 = f"{1e3 * r['fused2_wall']:.2f}" if r["fused2_wall"] else "-"
            print(f"| {n} | {alpha} | {1e3 * r['ref_wall']:.2f} / {1e3 * r['ref_cpu']:.2f} | "
                  f"{1e3 * r['fused_wall']:.2f} / {1e3 * r['fused_cpu']:.2f} | {f2} | {r['speedup_cpu']:.1f}x | "
                  f"{r['load_after'][0]} |", flush=True)
    if args.skip_solve:
        return out
    print("\ntime to solution (1 thread): solved/instances, median wall s / median CPU s, median iterations")
    print("| N | alpha | " + " | ".join(CONFIGS) + " | load |")
    print("|---|---|" + "---|" * len(CONFIGS) + "---|")
    for n in args.n:
        for alpha in args.alphas:
            cfgs = {k: v for k, v in CONFIGS.items() if not (v[1] and n > args.before_max_n)}
            load0 = _load()
            res = solve_runs(n, alpha, args.instances, args.time_limit, cfgs)
            row = {"n": n, "alpha": alpha, "runs": res, "load_before": load0, "load_after": _load()}
            out["solve"].append(row)
            save()
            cells = []
            for name in CONFIGS:
                if name not in res:
                    cells.append("not run")
                    continue
                runs = res[name]
                ns = sum(r["solved"] for r in runs)
                it = int(np.median([r["iterations"] for r in runs]))
                tw, tc = _median_time(runs, "wall_s"), _median_time(runs, "cpu_s")
                cells.append(f"{ns}/{len(runs)}, {tw:.3g} / {tc:.3g} s, {it} it")
            print(f"| {n} | {alpha} | " + " | ".join(cells) + f" | {row['load_after'][0]} |", flush=True)
    return out


if __name__ == "__main__":
    main()
