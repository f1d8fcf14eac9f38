"""Proposals per second of the bit-packed Metropolis kernel against a naive NumPy loop.

What is measured (issue 2, "Samplers"; DESIGN.md section 4)
-----------------------------------------------------------
For each N in {255, 1023, 4095} and alpha in {0.5, 0.8} (binary perceptron, random labels,
kappa = 0, errors energy):

* ``T = 0`` (beta = inf) and a temperature chosen by a short calibration so that the
  equilibrium acceptance is 20-30 % (the measured acceptance is reported for both codes).
* The project's kernel (``Engine.sweep`` -> ``metropolis_bits``) on 8 independent chains,
  with ``numba.set_num_threads(1)`` and ``(2)``.
* A naive NumPy Metropolis written below (:func:`numpy_metropolis`): one proposal at a time,
  dE by vectorised NumPy over the P patterns, accept/reject in Python. It is written the
  way one reasonably would: the (N, P) matrix c = y xi stored transposed so that a weight's
  column is contiguous, the violated count carried incrementally (one count per proposal),
  site indices and uniforms drawn in one batch per sweep.
* For reference only, one block of an even more literal NumPy loop
  (:func:`numpy_metropolis_literal`: int64, two counts per proposal) is timed too and its
  ratio reported in the last column; the targets are checked against the faster one.
* Both start from the same burned-in state at the same beta, run in the same process,
  interleaved (NumPy block, kernel block, repeated); the reported speedup is the median of
  the per-repeat ratios, so machine load that hits both sides cancels to first order.
* Threads: 2-thread / 1-thread throughput on the same 8 chains, median over repeats.
* Warm first call: a fresh subprocess imports the package (Numba cache already warm) and
  times the first call of each compiled kernel; the subprocess runs twice and the second
  run is reported (the first may have had to compile).

What the T = 0 rows measure: after the burn-in the chains are frozen in local minima
(acceptance 0). The kernel memoises, per call, the zero-temperature proposals it rejected
without a uniform and skips their dE until a flip is accepted; once every site is memoised
a proposal costs only its site draw. The chain and its random numbers are exactly those of
the plain kernel (tests/test_kernels_memo.py), but the T = 0 speedup is that of the memo
over a NumPy loop that recomputes every dE, not of the dE computation itself.

Targets (issue 2): >= 250x NumPy at 20-30 % acceptance and >= 700x at T = 0 for every N;
2 threads >= 1.8x 1 thread on 8 chains; warm first call < 50 ms per kernel.

Usage::

    python benchmarks/bench_metropolis.py            # full table, ~2-4 minutes
    python benchmarks/bench_metropolis.py --quick    # small sizes, seconds (smoke test)

Writes ``benchmarks/results/metropolis.json`` (``--out`` to change) and prints a table.
Timings on a loaded machine are noisy: the load average before and after is recorded;
run it on a quiet machine for the figures you publish.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numba
import numpy as np

import spinglass_nets as sn
from spinglass_nets import _rng
from spinglass_nets.samplers._engine import Engine

HERE = Path(__file__).resolve().parent
N_CHAINS = 8


# ----------------------------------------------------------------------- NumPy reference
def numpy_metropolis(cT, w, h, thr, beta, n_sweeps, gen):
    """Naive single-flip Metropolis on the errors energy, one proposal at a time.

    cT : (N, P) int32, c = y xi transposed (row i = the column of weight i, contiguous)
    w : (N,) int32 weights (+-1), h : (P,) int32 fields ``c . w``; both updated in place.
    thr : int, pattern mu is violated iff ``h[mu] < thr``.
    Returns (accepted, proposed, final energy).
    """
    n = cT.shape[0]
    nv = int(np.count_nonzero(h < thr))
    acc = 0
    hot = beta < math.inf
    for _ in range(n_sweeps):
        sites = gen.integers(0, n, size=n)
        us = gen.random(n)
        for t in range(n):
            i = sites[t]
            hn = h - (2 * int(w[i])) * cT[i]
            nv_new = int(np.count_nonzero(hn < thr))
            de = nv_new - nv
            if de <= 0 or (hot and us[t] < math.exp(-beta * de)):
                h = hn
                w[i] = -w[i]
                nv = nv_new
                acc += 1
    return acc, n_sweeps * n, nv, h


def numpy_metropolis_literal(cT, w, h, thr, beta, n_sweeps, gen):
    """The most literal variant, for reference only (not used for the targets): default
    int64 arrays and dE = count(new violated) - count(old violated), two counts per
    proposal. Same arguments and return value as :func:`numpy_metropolis`."""
    n = cT.shape[0]
    acc = 0
    hot = beta < math.inf
    for _ in range(n_sweeps):
        sites = gen.integers(0, n, size=n)
        us = gen.random(n)
        for t in range(n):
            i = sites[t]
            hn = h - 2 * w[i] * cT[i]
            de = np.count_nonzero(hn < thr) - np.count_nonzero(h < thr)
            if de <= 0 or (hot and us[t] < math.exp(-beta * de)):
                h = hn
                w[i] = -w[i]
                acc += 1
    return acc, n_sweeps * n, int(np.count_nonzero(h < thr)), h


# ----------------------------------------------------------------------- helpers
def load_avg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def make_engine(inst, seed, n_chains=N_CHAINS):
    gen = np.random.default_rng(seed)
    w = (2 * gen.integers(0, 2, size=(n_chains, inst.n)) - 1).astype(np.int8)
    states = _rng.chain_states(np.random.SeedSequence(seed), n_chains)
    return Engine(inst, w, states, "errors")


def kernel_acceptance(inst, beta, burn, meas, seed=0):
    eng = make_engine(inst, seed)
    eng.sweep(np.full((N_CHAINS, burn), beta))
    eng.take_counters()
    eng.sweep(np.full((N_CHAINS, meas), beta))
    a, p = eng.take_counters()
    return a.sum() / p.sum()


def calibrate(inst, lo_acc, hi_acc, burn, meas, max_iter=14):
    """Bisect log(beta) until the equilibrium acceptance is in [lo_acc, hi_acc]."""
    target = 0.5 * (lo_acc + hi_acc)
    lo, hi = math.log(0.01), math.log(20.0)  # acceptance(lo) high, acceptance(hi) low
    tries = []
    beta = math.exp(0.5 * (lo + hi))
    for _ in range(max_iter):
        beta = math.exp(0.5 * (lo + hi))
        a = kernel_acceptance(inst, beta, burn, meas)
        tries.append((beta, a))
        if lo_acc <= a <= hi_acc:
            break
        if a > target:
            lo = math.log(beta)
        else:
            hi = math.log(beta)
    best = min(tries, key=lambda ba: abs(ba[1] - target))
    return best[0], best[1], len(tries)


def time_kernel(eng, beta, n_sweeps, threads):
    """(proposals per wall second, per CPU second of the calling thread, acceptance)."""
    numba.set_num_threads(threads)
    betas = np.full((eng.C, n_sweeps), beta)
    eng.take_counters()
    c = time.thread_time()
    t = time.perf_counter()
    eng.sweep(betas)
    dt = time.perf_counter() - t
    dc = time.thread_time() - c
    a, p = eng.take_counters()
    return p.sum() / dt, p.sum() / max(dc, 1e-9), a.sum() / p.sum()


def bench_case(inst, beta, cfg, seed=0):
    """Interleaved NumPy / kernel timing at one (instance, beta). Returns a dict."""
    n, p = inst.n, inst.p
    eng = make_engine(inst, seed)
    eng.sweep(np.full((N_CHAINS, cfg["burn"]), beta))
    eng.take_counters()
    # NumPy reference starts from chain 0's burned-in state
    cT = np.ascontiguousarray(inst.c().T.astype(np.int32))
    w_np = eng.w[0].astype(np.int32)
    h_np = (w_np @ cT).astype(np.int32)
    assert np.array_equal(h_np, np.asarray(eng.fields()[0], dtype=np.int32))
    thr = int(inst.h_min)
    gen = np.random.default_rng(seed + 1)
    # sizes: about cfg["t_numpy"] s of NumPy and cfg["t_kernel"] s of kernel per repeat
    t = time.perf_counter()
    numpy_metropolis(cT, w_np.copy(), h_np.copy(), thr, beta, 1, np.random.default_rng(seed + 2))
    per_sweep_np = time.perf_counter() - t
    np_sweeps = max(1, int(round(cfg["t_numpy"] / per_sweep_np)))
    pps1, _, _ = time_kernel(eng, beta, 2, 1)
    k_sweeps = max(2, int(cfg["t_kernel"] * pps1 / (N_CHAINS * n)))

    ratios, ratios_cpu, np_rates, k1_rates, k1_cpu, k2_rates, scal = [], [], [], [], [], [], []
    np_acc, np_prop, k_acc = 0, 0, []
    for _ in range(cfg["repeats"]):
        c = time.thread_time()
        t = time.perf_counter()
        a, pr, _, h_np = numpy_metropolis(cT, w_np, h_np, thr, beta, np_sweeps, gen)
        r_np = pr / (time.perf_counter() - t)
        r_np_cpu = pr / max(time.thread_time() - c, 1e-9)
        np_acc += a
        np_prop += pr
        r1, r1_cpu, acc1 = time_kernel(eng, beta, k_sweeps, 1)
        r2, _, _ = time_kernel(eng, beta, k_sweeps, 2)
        np_rates.append(r_np)
        k1_rates.append(r1)
        k1_cpu.append(r1_cpu)
        k2_rates.append(r2)
        k_acc.append(acc1)
        ratios.append(r1 / r_np)
        ratios_cpu.append(r1_cpu / r_np_cpu)
        scal.append(r2 / r1)
    # one block of the literal NumPy variant (reference column only), same state and beta
    cT64 = cT.astype(np.int64)
    c = time.thread_time()
    _, pr, _, _ = numpy_metropolis_literal(cT64, w_np.astype(np.int64), h_np.astype(np.int64), thr, beta,
                                           np_sweeps, gen)
    r_lit_cpu = pr / max(time.thread_time() - c, 1e-9)
    _, r1_cpu, _ = time_kernel(eng, beta, k_sweeps, 1)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return {
        "speedup_vs_numpy_literal_cpu_time": r1_cpu / r_lit_cpu,
        "numpy_literal_proposals_per_cpu_s": r_lit_cpu,
        "n": n, "p": p, "alpha": round(p / n, 4), "beta": beta,
        "acceptance_kernel": float(np.mean(k_acc)),
        "acceptance_numpy": np_acc / max(np_prop, 1),
        "numpy_proposals_per_s": statistics.median(np_rates),
        "kernel_1t_proposals_per_s": statistics.median(k1_rates),
        "kernel_2t_proposals_per_s": statistics.median(k2_rates),
        "ns_per_proposal_1t": 1e9 / statistics.median(k1_rates),
        "ns_per_proposal_1t_cpu_time": 1e9 / statistics.median(k1_cpu),
        "speedup_vs_numpy_1t": statistics.median(ratios),
        "speedup_vs_numpy_1t_cpu_time": statistics.median(ratios_cpu),
        "speedup_vs_numpy_2t": statistics.median([a * b for a, b in zip(ratios, scal)]),
        "threads_2_over_1": statistics.median(scal),
        "threads_2_over_1_all": scal,
        "ratios_all": ratios,
        "ratios_cpu_time_all": ratios_cpu,
        "numpy_sweeps_per_repeat": np_sweeps, "kernel_sweeps_per_repeat": k_sweeps,
    }


WARM_SCRIPT = textwrap.dedent(
    """
    import json, time
    t0 = time.perf_counter()
    import numpy as np
    import spinglass_nets as sn
    from spinglass_nets import _rng
    from spinglass_nets.samplers import _engine as E, _float_kernels as KF, _kernels as K
    out = {"import_ms": 1e3 * (time.perf_counter() - t0)}
    # Numba's one-off runtime start-up (CPU target, LLVM) happens on the first dispatch of
    # *any* compiled function in a process; measure it on a trivial cached function so the
    # per-kernel figures below are the kernels' own warm first calls.
    t = time.perf_counter(); _rng.draw_uniforms(np.ones(4, np.uint64), 1)
    out["numba_runtime_init_ms"] = 1e3 * (time.perf_counter() - t)
    def first(name, f, *a):
        t = time.perf_counter(); f(*a); out[name] = 1e3 * (time.perf_counter() - t)
    inst = sn.make_perceptron(63, 0.5, rng=0)
    gi = sn.make_perceptron(63, 0.5, patterns="gaussian", rng=0)
    w = np.ones((2, 63), np.int8); st = _rng.chain_states(np.random.SeedSequence(0), 2)
    lay = E.layout(inst); lg = E.layout(gi)
    eb = E.Engine.__new__(E.Engine)
    h = np.empty((2, lay.ppad), np.int16); la = np.zeros((2, 8), np.uint64); lb = la.copy(); vb = la.copy()
    ints = np.zeros((2, 8), np.int64); rng = np.zeros((2, 8), np.uint64); rng[:, :4] = st
    wp = np.zeros((2, 64), np.int8); wp[:, :63] = w
    first("bits_init", E.bits_init, lay.cbits, wp[:, :63], h, la, lb, vb, ints, lay.A, lay.B, lay.W, lay.p)
    fld = np.zeros((2, 64)); act = np.ones(2, np.int8)
    for name, kern in (("metropolis_bits", K.metropolis_bits), ("metropolis_bits_serial", K.metropolis_bits_serial)):
        first(name, kern, lay.cbits, wp, h, la, lb, vb, ints, rng, np.ones((2, 1)),
              lay.A, lay.B, lay.W, lay.p, 0, lay.kappa, 1.0 / lay.sqrt_n, fld, 0, act)
    f = np.zeros((2, lg.ppad)); e = np.zeros((2, 8))
    first("float_fields", E.float_fields, lg.cT, wp[:, :63], f)
    first("float_energy", E.float_energy, f, lg.p, lg.lo, lg.hi, lg.lo_r, lg.hi_r, lg.scale, 0, e)
    for name, kern in (("metropolis_float", KF.metropolis_float), ("metropolis_float_serial", KF.metropolis_float_serial)):
        first(name, kern, lg.cT, wp, f, e, ints, rng, np.ones((2, 1)),
              lg.lo, lg.hi, lg.lo_r, lg.hi_r, lg.scale, 0, fld, 0, act)
    so = np.array([[0, 1]]); ca = np.array([[0, 1]])
    first("pt_swap_pass", K.pt_swap_pass, np.zeros((1, 2)), np.array([1.0, 2.0]), so, ca, 0,
          np.zeros((1, 2)), np.zeros(2, np.int64), np.zeros(2, np.int64))
    import numba
    numba.set_num_threads(1)
    t = time.perf_counter(); E.Engine(inst, w, st, "errors").sweep(np.ones((2, 1)))
    out["engine_bits_second_ms"] = 1e3 * (time.perf_counter() - t)
    print(json.dumps(out))
    """
)


def warm_first_call():
    runs = []
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", WARM_SCRIPT], capture_output=True, text=True, check=True)
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return {"cold_or_warm_first_run": runs[0], "warm": runs[1]}


# ----------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few seconds (smoke test)")
    ap.add_argument("--out", default=None, help="results file (default metropolis.json; "
                    "with --quick metropolis_quick.json: a smoke run keeps the published results)")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = str(HERE / "results" / ("metropolis_quick.json" if args.quick else "metropolis.json"))

    if args.quick:
        sizes, alphas = [127, 255], [0.5]
        cfg = dict(burn=20, calib_burn=20, calib_meas=10, t_numpy=0.05, t_kernel=0.02, repeats=2)
    else:
        sizes, alphas = [255, 1023, 4095], [0.5, 0.8]
        cfg = dict(burn=100, calib_burn=60, calib_meas=30, t_numpy=0.4, t_kernel=0.1, repeats=5)
    if args.repeats:
        cfg["repeats"] = args.repeats

    load0 = load_avg()
    t_start = time.perf_counter()
    # compile / load from cache before timing anything
    kernel_acceptance(sn.make_perceptron(31, 0.5, rng=0), 1.0, 1, 1)

    rows = []
    for n in sizes:
        for alpha in alphas:
            inst = sn.make_perceptron(n, alpha, rng=12345 + n)
            beta_hot, acc_cal, iters = calibrate(inst, 0.2, 0.3, cfg["calib_burn"], cfg["calib_meas"])
            for label, beta in (("T=0", math.inf), ("hot", beta_hot)):
                r = bench_case(inst, beta, cfg)
                r["case"] = label
                if label == "hot":
                    r["calibration_acceptance"] = acc_cal
                    r["calibration_iterations"] = iters
                rows.append(r)
                print(
                    f"  N={n:5d} alpha={alpha} {label:4s} beta={beta:<8.4g} acc={r['acceptance_kernel']:.3f} "
                    f"{r['ns_per_proposal_1t']:7.2f} ns/prop  x{r['speedup_vs_numpy_1t']:.0f} vs NumPy "
                    f"(CPU time x{r['speedup_vs_numpy_1t_cpu_time']:.0f})  "
                    f"2t/1t={r['threads_2_over_1']:.2f}",
                    flush=True,
                )
    warm = warm_first_call()
    load1 = load_avg()

    # targets
    hot = [r for r in rows if r["case"] == "hot"]
    cold = [r for r in rows if r["case"] == "T=0"]
    skip = ("import_ms", "numba_runtime_init_ms", "engine_bits_second_ms")
    kernels_ms = {k: v for k, v in warm["warm"].items() if k not in skip}
    checks = {
        "hot_min_speedup": min(r["speedup_vs_numpy_1t"] for r in hot),
        "T0_min_speedup": min(r["speedup_vs_numpy_1t"] for r in cold),
        "threads_2_over_1_median": statistics.median(r["threads_2_over_1"] for r in rows),
        "threads_2_over_1_min": min(r["threads_2_over_1"] for r in rows),
        "warm_first_call_max_ms": max(kernels_ms.values()),
    }
    checks["pass"] = {
        "hot>=250x": checks["hot_min_speedup"] >= 250,
        "T0>=700x": checks["T0_min_speedup"] >= 700,
        "threads>=1.8x(median)": checks["threads_2_over_1_median"] >= 1.8,
        "warm<50ms": checks["warm_first_call_max_ms"] < 50,
    }
    result = {
        "benchmark": "metropolis_bits vs naive NumPy Metropolis (errors energy, kappa=0, random labels)",
        "quick": args.quick,
        "config": cfg, "n_chains": N_CHAINS,
        "machine": {
            "platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__,
            "numba_threading_layer": numba.threading_layer(),
            "load_avg_before": load0, "load_avg_after": load1,
        },
        "rows": rows, "warm_first_call_ms": warm, "checks": checks,
        "wall_s": time.perf_counter() - t_start,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=float) + "\n")

    print()
    print(table(rows))
    print()
    print("warm first call (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in warm["warm"].items()))
    print(f"load average before {load0} after {load1}; {os.cpu_count()} CPUs; wrote {out}")
    print("targets: " + ", ".join(f"{k}: {'ok' if v else 'MISSED'}" for k, v in checks["pass"].items()))
    return result


def table(rows):
    head = ("| N | alpha | T | beta | acceptance (kernel / NumPy) | NumPy prop/s | kernel ns/prop, 1 thread (wall / CPU) "
            "| speedup 1 thread (wall) | (CPU time) | speedup 2 threads | 2t / 1t | vs literal NumPy (CPU) |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        cold = r["case"] == "T=0"
        temp = "0" if cold else f"{1.0 / r['beta']:.3g}"
        beta = "inf" if cold else f"{r['beta']:.3g}"
        lines.append(
            f"| {r['n']} | {r['alpha']:.2g} | {temp} | {beta} "
            f"| {r['acceptance_kernel']:.3f} / {r['acceptance_numpy']:.3f} "
            f"| {r['numpy_proposals_per_s']:.3g} | {r['ns_per_proposal_1t']:.1f} / {r['ns_per_proposal_1t_cpu_time']:.1f} "
            f"| {r['speedup_vs_numpy_1t']:.0f}x | {r['speedup_vs_numpy_1t_cpu_time']:.0f}x "
            f"| {r['speedup_vs_numpy_2t']:.0f}x | {r['threads_2_over_1']:.2f} "
            f"| {r['speedup_vs_numpy_literal_cpu_time']:.0f}x |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
