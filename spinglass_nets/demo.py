"""The embedded default job (``make demo`` / ``spinglass-nets demo``).

Builds an N = 21, alpha = 0.5 instance, enumerates it exactly, samples it with annealing,
with the solution walk started from the annealed solutions, and with parallel tempering,
checks every walk sample is a solution, and compares sampled statistics with their exact
values. Error bars come from independent chains (standard error of per-chain means), so
the z-scores are honest; a comparison passes at |z| < 4.
"""

from __future__ import annotations

import math
import time

import numpy as np

Z_PASS = 4.0  # |z| below this passes; P(|z| > 4) ~ 6e-5 for a correct sampler


def _neighbour_solution_fraction(inst, w):
    """Fraction of the N single-flip neighbours of each configuration that are solutions."""
    w = np.atleast_2d(w)
    n = inst.n
    frac = np.empty(len(w))
    flips = np.repeat(w[:, None, :], n, axis=1).copy()
    idx = np.arange(n)
    flips[:, idx, idx] *= -1
    ok = inst.is_solution(flips.reshape(-1, n)).reshape(len(w), n)
    frac[:] = ok.mean(axis=1)
    return frac


def _components(inst, sols):
    """Label of the single-flip-connected component of each enumerated solution."""
    from .exact import config_to_index

    keys = np.asarray(config_to_index(sols))
    pos = {int(k): i for i, k in enumerate(keys)}
    label = -np.ones(len(sols), dtype=np.int64)
    n = inst.n
    cur = 0
    for s in range(len(sols)):
        if label[s] >= 0:
            continue
        stack = [s]
        label[s] = cur
        while stack:
            i = stack.pop()
            k = int(keys[i])
            for b in range(n):
                j = pos.get(k ^ (1 << b))
                if j is not None and label[j] < 0:
                    label[j] = cur
                    stack.append(j)
        cur += 1
    return keys, pos, label


def demo(path="demo.h5", *, seed=2024, overwrite=True) -> dict:
    """Run the demo; returns a dict with every number and a printable ``table``."""
    from . import exact
    from .models import make_perceptron
    from .samplers import Metropolis, ParallelTempering, SimulatedAnnealing, SolutionWalk, run, schedules
    from .store import write_instance

    t_start = time.perf_counter()
    inst = make_perceptron(21, 0.5, rng=seed)
    write_instance(path, inst, overwrite=overwrite)
    rows = []

    def row(name, exact_v, sampled, err, ok=None):
        z = None if err is None or err == 0 else (sampled - exact_v) / err
        if ok is None:
            # no spread over the chains (err 0): the sampled value must be the exact one
            ok = abs(z) < Z_PASS if z is not None else err == 0 and sampled == exact_v
        rows.append({"quantity": name, "exact": exact_v, "sampled": sampled, "error": err, "z": z, "ok": bool(ok)})

    # exact referee
    t0 = time.perf_counter()
    n_sol = exact.count_solutions(inst)
    sols = exact.enumerate_solutions(inst)
    dos = exact.density_of_states(inst, kind="errors")
    t_exact = time.perf_counter() - t0
    rows.append({"quantity": "solutions (exact count)", "exact": int(n_sol), "sampled": None, "error": None,
                 "z": None, "ok": n_sol > 0})

    # annealing: how many chains reach a solution
    C = 64
    sa = SimulatedAnnealing(schedules.geometric(0.3, 8.0, 300))
    r_sa = run(sa, inst, n_chains=C, rng=seed + 1, store=path, run_name="anneal", record_every=10, progress=False)
    solved = r_sa.final_state.energy == 0
    row("anneal: fraction of chains at a solution", None, float(solved.mean()), None, ok=bool(solved.any()))

    # solution walk from the annealed solutions
    starts = r_sa.final_state.w[solved]
    r_w = run(SolutionWalk(), inst, n_chains=len(starts), n_sweeps=400, record_every=4, init=starts,
              rng=seed + 2, store=path, run_name="walk", progress=False)
    walk = r_w.samples[25:]  # discard the first 100 sweeps
    all_sol = bool(inst.is_solution(walk.reshape(-1, inst.n)).all())
    row("walk: every sample is a solution", True, all_sol, None, ok=all_sol)
    # Uniform-over-cluster referee: the walk's stationary law is uniform on the connected
    # component of its start, so the mean neighbour-solution fraction over the walk equals
    # the component average of that fraction (exact, from enumeration).
    keys, pos, label = _components(inst, sols)
    from .exact import config_to_index

    frac_sol = _neighbour_solution_fraction(inst, sols)
    comp_mean = np.bincount(label, weights=frac_sol) / np.bincount(label)
    start_comp = label[[pos[int(k)] for k in np.atleast_1d(config_to_index(starts))]]
    per_chain = _neighbour_solution_fraction(inst, walk.reshape(-1, inst.n)).reshape(walk.shape[:2]).mean(axis=0)
    diff = per_chain - comp_mean[start_comp]
    row("walk: neighbour-solution fraction minus its cluster mean", 0.0, float(diff.mean()),
        float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else None)
    row("clusters (exact) / distinct clusters reached by annealing", int(label.max() + 1),
        float(len(np.unique(start_comp))), None, ok=True)

    # Metropolis at fixed beta: mean energy against the exact Boltzmann average
    beta = 1.0
    probs = exact.boltzmann_distribution(dos, beta)
    e_exact = float(np.dot(probs, dos.energies))
    r_m = run(Metropolis(beta=beta), inst, n_chains=64, n_sweeps=600, record_every=2, rng=seed + 3,
              store=path, run_name="metropolis", progress=False)
    e_chain = r_m.traces["energy"][50:].mean(axis=0)
    row(f"metropolis beta={beta:g}: mean energy", e_exact, float(e_chain.mean()),
        float(e_chain.std(ddof=1) / math.sqrt(len(e_chain))))

    # Tempering: probability of zero energy at the coldest temperature
    ladder = schedules.ladder(0.5, 4.0, 6)
    r_pt = run(ParallelTempering(ladder, swap_every=1), inst, n_chains=16, n_sweeps=600, record_every=2,
               rng=seed + 4, store=path, run_name="tempering", progress=False)
    K = len(ladder)
    cold = r_pt.traces["energy"][50:, K - 1 :: K]
    p0_exact = float(exact.boltzmann_distribution(dos, ladder[-1])[np.flatnonzero(dos.energies == 0)].sum())
    p0_chain = (cold == 0).mean(axis=0)
    row(f"tempering beta={ladder[-1]:g}: P(E = 0)", p0_exact, float(p0_chain.mean()),
        float(p0_chain.std(ddof=1) / math.sqrt(len(p0_chain))))

    ok = all(r["ok"] for r in rows)
    seconds = time.perf_counter() - t_start
    lines = [
        f"spinglass_nets demo: N={inst.n} P={inst.p} alpha={inst.alpha:.3f} kappa=0 (seed {seed}) -> {path}",
        f"exact enumeration of 2^{inst.n} configurations: {t_exact:.2f} s",
        "",
        f"{'quantity':<58} {'exact':>10} {'sampled':>10} {'+-':>8} {'z':>6}  ok",
    ]

    def fmt(v, w=10):
        if v is None:
            return " " * (w - 1) + "-"
        if isinstance(v, bool):
            return f"{str(v):>{w}}"
        if isinstance(v, (int, np.integer)):
            return f"{v:>{w}d}"
        return f"{v:>{w}.4g}"

    for r in rows:
        lines.append(f"{r['quantity']:<58} {fmt(r['exact'])} {fmt(r['sampled'])} {fmt(r['error'], 8)} "
                     f"{fmt(r['z'], 6)}  {'yes' if r['ok'] else 'NO'}")
    lines += ["", f"{'all checks passed' if ok else 'SOME CHECKS FAILED'} in {seconds:.1f} s; "
                  f"inspect with: spinglass-nets info {path}"]
    return {"ok": ok, "rows": rows, "path": str(path), "seconds": seconds, "n": inst.n, "p": inst.p,
            "table": "\n".join(lines)}
