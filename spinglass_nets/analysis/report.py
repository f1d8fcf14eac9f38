"""``spinglass-nets report``: a seeded benchmark of theory against numerics.

Sections (issue 5): exact entropy and P(SAT) (enumeration) against the replica-symmetric
entropy and capacity; margins of uniformly drawn solutions (and of solver / annealing
solutions) against the RS stability law; local entropy around typical and high-margin
references (exact at small N, Monte Carlo at N in the hundreds) against Franz-Parisi;
flatness; samplers' probability of solving and time to solution against alpha.

:func:`build_report` returns every number as a JSON-able dict and writes ``report.json``,
``report.md`` and PNG figures into a folder. Each section's wall time is recorded.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .._json import strict
from .._rng import as_seed_sequence, chain_seed
from ._common import theory

__all__ = ["ReportConfig", "build_report"]

# Thresholds marked on the sampler figure (PHYSICS.md sections 2, 4 and 7).
_ALGO_ALPHA = 0.75  # focusing BP / best algorithms (Baldassi et al. 2016)
_LE_ALPHA = 0.77  # local-entropy breakdown, large-deviation ensemble (Baldassi et al. 2015/2016)


@dataclass
class ReportConfig:
    """Sizes of every section (defaults: the full report; :meth:`quick` for the smoke test)."""

    seed: int = 2024
    entropy_n: list = field(default_factory=lambda: [15, 17, 19, 21, 23, 25, 27])
    entropy_alphas: list = field(default_factory=lambda: [0.3, 0.5])
    entropy_instances: int = 10
    psat_n: list = field(default_factory=lambda: [15, 19, 23])
    psat_alphas: list = field(default_factory=lambda: [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3])
    psat_instances: int = 40
    small_n: int = 20  # exact margins and local entropy (Gaussian patterns, P = alpha N exactly)
    small_alpha: float = 0.5
    small_instances: int = 8
    kappa_ref: float = 0.3
    margins_large_n: int = 401
    margins_large_instances: int = 4
    mc_n: list = field(default_factory=lambda: [201, 401])
    mc_sweeps: int = 3000
    mc_chains: int = 8
    mc_validation_sweeps: int = 4000
    mc_validation_beta: float = 3.0
    theory_points: int = 14
    theory_typical: bool = True
    sampler_n: list = field(default_factory=lambda: [101, 201, 401, 801])
    sampler_alphas: list = field(default_factory=lambda: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    sampler_instances: int = 4
    sampler_chains: int = 2
    sampler_sweeps: int = 1000
    quick: bool = False

    @classmethod
    def quick_config(cls, seed: int = 2024) -> "ReportConfig":
        return cls(
            seed=seed, entropy_n=[13, 15, 17], entropy_alphas=[0.5], entropy_instances=6, psat_n=[13, 15],
            psat_alphas=[0.5, 0.7, 0.9, 1.1, 1.3], psat_instances=12, small_n=16, small_instances=3,
            margins_large_n=201, margins_large_instances=2, mc_n=[], mc_sweeps=1000, mc_chains=4,
            mc_validation_sweeps=1500, theory_points=5, theory_typical=False, sampler_n=[101],
            sampler_alphas=[0.4, 0.6, 0.8], sampler_instances=3, sampler_chains=2, sampler_sweeps=500, quick=True,
        )


# ------------------------------------------------------------------------------ helpers
def _clean(o):
    """JSON-able copy: arrays to lists, non-finite floats to None (the figures read None as NaN)."""
    return strict(o, infinity=(None, None))


def _mean_err(x):
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan


def _binom(k, n):
    p = k / n
    # Wilson-like floor so that 0/n and n/n still show an error bar of about 1/n.
    return p, math.sqrt(max(p * (1 - p), 1.0 / n) / n)


def _fp_curve(alpha, kappa_ref, d):
    """Franz-Parisi S(d) (converged points only), or None if theory fails."""
    fp = theory("local_entropy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fp(d, alpha, 0.0, kappa_ref)
        except Exception as exc:  # theory is a separate module: report, don't crash
            return {"error": f"{type(exc).__name__}: {exc}"}
    s = np.where(np.asarray(r.converged), np.asarray(r.entropy, float), np.nan)
    return {"d": np.asarray(d, float), "entropy": s, "d_max": float(r.d_max), "entropy_max": float(r.entropy_max),
            "converged": np.asarray(r.converged).tolist()}


# ------------------------------------------------------------------------------ sections
def _section_entropy(cfg, root, out):
    import spinglass_nets as sn
    from spinglass_nets import exact

    rs, ann, cap = theory("rs_entropy"), theory("annealed_entropy"), theory("capacity")
    per_alpha = {}
    for ia, a in enumerate(cfg.entropy_alphas):
        ss = chain_seed(root, ia)
        ns, means, errs, rows = [], [], [], []
        for n in cfg.entropy_n:
            vals, counts = [], []
            for j in range(cfg.entropy_instances):
                inst = sn.make_perceptron(n, a, rng=chain_seed(chain_seed(ss, n), j))
                c = exact.count_solutions(inst)
                counts.append(int(c))
                vals.append(math.log(c) / n if c else math.nan)
            m, e = _mean_err(vals)
            ns.append(n)
            means.append(m)
            errs.append(e)
            rows.append({"n": n, "p": int(round(a * n)), "counts": counts, "entropies": vals,
                         "unsat": int(sum(c == 0 for c in counts))})
        n_arr, m_arr, e_arr = np.array(ns, float), np.array(means), np.array(errs)
        ok = np.isfinite(m_arr) & np.isfinite(e_arr) & (e_arr > 0)
        fit = None
        if ok.sum() >= 3:
            # Weighted least squares s(N) = s_inf + b/N (PHYSICS.md 7b: corrections O(1/N)).
            X = np.stack([np.ones(ok.sum()), 1 / n_arr[ok]], axis=1)
            W = 1 / e_arr[ok] ** 2
            cov = np.linalg.inv(X.T @ (X * W[:, None]))
            beta = cov @ X.T @ (W * m_arr[ok])
            chi2 = float(((m_arr[ok] - X @ beta) ** 2 * W).sum())
            fit = {"s_inf": float(beta[0]), "s_inf_error": float(math.sqrt(cov[0, 0])), "slope": float(beta[1]),
                   "slope_error": float(math.sqrt(cov[1, 1])), "chi2": chi2, "dof": int(ok.sum() - 2)}
        s_rs = float(rs(a, 0.0).entropy)
        per_alpha[str(a)] = {"n": ns, "mean": means, "error": errs, "rows": rows, "s_rs": s_rs,
                             "s_ann": float(ann(a, 0.0)), "fit": fit,
                             "z_fit_vs_rs": (fit["s_inf"] - s_rs) / fit["s_inf_error"] if fit else None}
    out["entropy"] = {"alphas": list(cfg.entropy_alphas), "per_alpha": per_alpha,
                      "instances_per_point": cfg.entropy_instances, "patterns": "binary", "kappa": 0.0}
    # P(SAT)
    per_n = {}
    ss = chain_seed(root, 100)
    for n in cfg.psat_n:
        ps, pe, ks = [], [], []
        for ia, a in enumerate(cfg.psat_alphas):
            k = 0
            for j in range(cfg.psat_instances):
                inst = sn.make_perceptron(n, a, rng=chain_seed(chain_seed(chain_seed(ss, n), ia), j))
                k += exact.count_solutions(inst) > 0
            p, e = _binom(k, cfg.psat_instances)
            ps.append(p)
            pe.append(e)
            ks.append(int(k))
        per_n[str(n)] = {"alphas": list(cfg.psat_alphas), "psat": ps, "error": pe, "sat": ks,
                         "n_instances": cfg.psat_instances,
                         "alpha_half": _interp_half(cfg.psat_alphas, ps)}
    out["psat"] = {"per_n": per_n, "alpha_c": float(cap(0.0))}


def _interp_half(alphas, ps):
    """First alpha where P(SAT) crosses 1/2 (linear interpolation), or None."""
    for i in range(len(ps) - 1):
        if ps[i] >= 0.5 > ps[i + 1]:
            return float(alphas[i] + (ps[i] - 0.5) / (ps[i] - ps[i + 1]) * (alphas[i + 1] - alphas[i]))
    return None


def _small_instances(cfg, root):
    """Gaussian instances at small N with their solutions (for margins and local entropy)."""
    import spinglass_nets as sn
    from spinglass_nets import exact

    out = []
    for j in range(cfg.small_instances):
        inst = sn.make_perceptron(cfg.small_n, cfg.small_alpha, patterns="gaussian", rng=chain_seed(root, j))
        sols = exact.enumerate_solutions(inst)
        hi = sn.PerceptronInstance(inst.xi, inst.y, kappa=cfg.kappa_ref, patterns="gaussian")
        sols_hi = exact.enumerate_solutions(hi)
        out.append((inst, sols, sols_hi))
    return out


def _lattice_edges(n, d_max=3.2):
    """Cells (h +- 1)/sqrt(N) of the +-1 lattice (N odd: h odd), from Delta = 0."""
    hs = np.arange(0, int(d_max * math.sqrt(n)) + 2, 2)
    return hs / math.sqrt(n)


def _section_margins(cfg, root, small, out):
    import spinglass_nets as sn
    from spinglass_nets.analysis import margins
    from spinglass_nets.samplers import SimulatedAnnealing, run, schedules
    from spinglass_nets.solvers import sbpi

    mdens = theory("margin_density")
    a = cfg.small_alpha
    edges = np.linspace(0.0, 3.5, 29)
    res = [margins(inst, sols, edges=edges) for inst, sols, _ in small]
    dens = np.array([r.density for r in res])
    m, e = dens.mean(0), dens.std(0, ddof=1) / math.sqrt(len(res))
    ks = [r.ks for r in res]
    x = np.linspace(0.0, 3.5, 300)
    panel1 = {"title": f"all solutions (enumeration), N={cfg.small_n}, alpha={a},\nGaussian patterns, "
                       f"{len(res)} instances",
              "series": [{"label": "enumerated solutions", "edges": edges, "density": m, "error": e}],
              "theory_x": x, "theory_y": mdens(x, a, 0.0), "kappa": 0.0}
    # Atypical solutions at large N: annealing and SBPI (+-1 patterns).
    n = cfg.margins_large_n
    le = _lattice_edges(n)
    series2, large = [], {}
    for label in ("annealing", "SBPI"):
        dens_i, ks_i, n_sol, mins = [], [], 0, []
        for j in range(cfg.margins_large_instances):
            inst = sn.make_perceptron(n, a, rng=chain_seed(chain_seed(root, 50), j))
            if label == "annealing":
                r = run(SimulatedAnnealing(schedules.geometric(0.5, 30.0, 1000)), inst, n_chains=4,
                        rng=chain_seed(chain_seed(root, 51), j), record_every=1000, progress=False)
                w = r.final_state.w[r.final_state.energy == 0]
            else:
                ws = [sbpi(inst, rng=chain_seed(chain_seed(root, 52), 4 * j + c), max_epochs=5000) for c in range(4)]
                w = np.array([s.w for s in ws if s.solved])
            if len(w) == 0:
                continue
            mr = margins(inst, w, edges=le)
            dens_i.append(mr.density)
            ks_i.append(mr.ks)
            mins.extend(mr.min_margin.tolist())
            n_sol += len(w)
        if dens_i:
            d_arr = np.array(dens_i)
            err = d_arr.std(0, ddof=1) / math.sqrt(len(d_arr)) if len(d_arr) > 1 else np.full(d_arr.shape[1], np.nan)
            series2.append({"label": f"{label} solutions ({n_sol})", "edges": le, "density": d_arr.mean(0),
                            "error": err})
            large[label] = {"n_solutions": n_sol, "ks_mean": _mean_err(ks_i)[0], "ks_error": _mean_err(ks_i)[1],
                            "min_margin_mean": _mean_err(mins)[0]}
    panel2 = {"title": f"annealing / SBPI solutions, N={n}, alpha={a},\n+-1 patterns (atypical by design)",
              "series": series2, "theory_x": x, "theory_y": mdens(x, a, 0.0), "kappa": 0.0}
    out["margins"] = {
        "small": {"n": cfg.small_n, "alpha": a, "patterns": "gaussian", "instances": len(res),
                  "n_solutions": [int(len(s)) for _, s, _ in small], "ks": ks, "ks_mean": _mean_err(ks)[0],
                  "ks_error": _mean_err(ks)[1], "ks_iid": [r.ks_iid for r in res], "edges": edges, "density": m,
                  "error": e, "theory_bin": np.mean([r.theory for r in res], axis=0),
                  "chi2": float(np.nansum(((m - res[0].theory) / np.where(e > 0, e, np.nan)) ** 2)),
                  "bins": int(np.sum(e > 0))},
        "large": {"n": n, "alpha": a, "patterns": "binary", **large},
        "figure": {"panels": [panel1, panel2]},
    }


def _pick(sols, g):
    return sols[g.integers(len(sols))]


def _avg_profiles(results):
    """Quenched average of S(k) over references, ignoring references with no solution at k."""
    S = np.array([r.entropy for r in results])
    S = np.where(np.isfinite(S), S, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = np.nanmean(S, axis=0)
        n_ok = np.isfinite(S).sum(0)
        e = np.nanstd(S, axis=0, ddof=1) / np.sqrt(np.maximum(n_ok, 1))
    e = np.where(n_ok > 1, e, np.nan)
    return m, e, n_ok


def _section_local_entropy(cfg, root, small, out):
    import spinglass_nets as sn
    from spinglass_nets.analysis import flatness, local_entropy

    a, n = cfg.small_alpha, cfg.small_n
    g = np.random.default_rng(chain_seed(root, 0))
    ex_typ, ex_hi, refs = [], [], []
    for inst, sols, sols_hi in small:
        rt = _pick(sols, g)
        ex_typ.append(local_entropy(inst, rt))
        if len(sols_hi):
            rh = _pick(sols_hi, g)
            ex_hi.append(local_entropy(inst, rh))
        else:
            rh = None
        refs.append((inst, rt, rh))
    d = np.arange(n + 1) / n
    mt, et, nt = _avg_profiles(ex_typ)
    mh, eh, nh = _avg_profiles(ex_hi)
    sec = {"exact": {"n": n, "alpha": a, "patterns": "gaussian", "kappa_ref": cfg.kappa_ref, "d": d,
                     "typical": {"entropy": mt, "error": et, "n_refs": nt},
                     "high_margin": {"entropy": mh, "error": eh, "n_refs": nh}}}
    # Theory (Franz-Parisi, RS).
    dth = np.linspace(0.01, 0.5, cfg.theory_points)
    th = {"high_margin": _fp_curve(a, cfg.kappa_ref, dth)}
    if cfg.theory_typical:
        th["typical"] = _fp_curve(a, None, dth)
    s_rs = float(theory("rs_entropy")(a, 0.0).entropy)
    sec["theory"] = {"alpha": a, "kappa_ref": cfg.kappa_ref, "s_rs": s_rs, **th}
    # Monte Carlo validation against enumeration (first instance, both references).
    try:
        from spinglass_nets.samplers import ReferenceTempering  # noqa: F401
        have_mc = True
    except ImportError:
        have_mc = False
    sec["mc_available"] = have_mc
    if have_mc:
        inst, rt, rh = refs[0]
        val = {}
        for name, ref, exr in (("typical", rt, ex_typ[0]), ("high_margin", rh, ex_hi[0] if ex_hi else None)):
            if ref is None:
                continue
            mc = local_entropy(inst, ref, method="mc", rng=chain_seed(root, 10 + len(val)),
                               beta=cfg.mc_validation_beta, n_chains=cfg.mc_chains, n_sweeps=cfg.mc_validation_sweeps)
            ok = np.isfinite(mc.entropy) & np.isfinite(mc.error) & (mc.error > 0) & np.isfinite(exr.entropy)
            z = (mc.entropy[ok] - exr.entropy[ok]) / mc.error[ok]
            val[name] = {"d": d, "mc": mc.entropy, "mc_error": mc.error, "exact": exr.entropy,
                         "z": z.tolist(), "k_compared": np.flatnonzero(ok).tolist(),
                         "chi2": float((z**2).sum()), "dof": int(ok.sum()), "max_abs_z": float(np.abs(z).max()) if z.size else None,
                         "seconds": mc.info["seconds"], "swap_acceptance": mc.info["stats"].get("swap_acceptance")}
        sec["mc_validation"] = {"n": n, "beta": cfg.mc_validation_beta, "chains": cfg.mc_chains,
                                "sweeps": cfg.mc_validation_sweeps, **val}
    # Large N: Monte Carlo around solver solutions, and flatness.
    large = {}
    from spinglass_nets.solvers import sbpi

    for n_big in cfg.mc_n:
        inst = sn.make_perceptron(n_big, a, rng=chain_seed(chain_seed(root, 200), n_big))
        hi = sn.PerceptronInstance(inst.xi, inst.y, kappa=cfg.kappa_ref)
        entry = {"n": n_big, "p": inst.p}
        refs_big = {}
        r = sbpi(hi, rng=chain_seed(chain_seed(root, 201), n_big), max_epochs=20000)
        if r.solved:
            refs_big["high_margin"] = r.w
        r0 = sbpi(inst, rng=chain_seed(chain_seed(root, 202), n_big), max_epochs=20000)
        if r0.solved:
            refs_big["sbpi_kappa0"] = r0.w
        for name, ref in refs_big.items():
            e = {"min_margin": float(inst.stabilities(ref).min())}
            if have_mc:
                mc = local_entropy(inst, ref, method="mc", rng=chain_seed(chain_seed(root, 203), n_big),
                                   n_chains=cfg.mc_chains, n_sweeps=cfg.mc_sweeps)
                e.update({"d": mc.d, "entropy": mc.entropy, "error": mc.error, "seconds": mc.info["seconds"],
                          "swap_acceptance": mc.info["stats"].get("swap_acceptance"),
                          "lams": mc.info["lams"]})
            fl = flatness(inst, ref, d=np.linspace(0, 0.1, 11), n_samples=400, rng=chain_seed(root, 300 + n_big))
            e["flatness"] = {"d": fl.d, "energy": fl.energy, "error": fl.error}
            entry[name] = e
        large[str(n_big)] = entry
    sec["large"] = large
    out["local_entropy"] = sec


def _first_hit(energy, sweeps):
    """Sweep of the first record with zero energy per column, or nan; energy (T, C)."""
    hit = energy == 0
    first = np.where(hit.any(0), sweeps[np.argmax(hit, axis=0)], np.nan)
    return first


def _median_band(x, g, n_boot=400):
    x = np.asarray(x, float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    med = float(np.median(x))
    if x.size == 1:
        return med, med, med
    b = np.median(g.choice(x, size=(n_boot, x.size)), axis=1)
    return med, float(np.percentile(b, 16)), float(np.percentile(b, 84))


def _section_samplers(cfg, root, out):
    import spinglass_nets as sn
    from spinglass_nets.samplers import ParallelTempering, SimulatedAnnealing, run, schedules

    # The linear energy guides annealing better than the flat error count (measured: 7/8 vs 3/8
    # solved at N = 101, alpha = 0.5, 1000 sweeps).
    sa = SimulatedAnnealing(schedules.geometric(1.0, 30.0, cfg.sampler_sweeps), energy="linear")
    # Exchanges every 10 sweeps and records every 20: each block is a Python-level step, and
    # per-sweep blocks made tempering ~5x slower at N = 401 (measured) for no gain here.
    pt = ParallelTempering(schedules.ladder(0.5, 8.0, 8), swap_every=10)
    g = np.random.default_rng(chain_seed(root, 999))
    res = {"anneal": {}, "tempering": {}}
    seconds = {"anneal": 0.0, "tempering": 0.0}
    for n in cfg.sampler_n:
        for name, smp in (("anneal", sa), ("tempering", pt)):
            ps, pe, tts, lo, hi, secs = [], [], [], [], [], []
            for ia, a in enumerate(cfg.sampler_alphas):
                firsts, t_run = [], 0.0
                for j in range(cfg.sampler_instances):
                    inst = sn.make_perceptron(n, a, rng=chain_seed(chain_seed(chain_seed(root, n), ia), j))
                    r = run(smp, inst, n_chains=cfg.sampler_chains, n_sweeps=cfg.sampler_sweeps, record_every=20,
                            rng=chain_seed(chain_seed(chain_seed(root, 10_000 + n), ia), j), progress=False)
                    e = np.asarray(r.traces["energy"])
                    K = smp.n_temperatures
                    e = e.reshape(e.shape[0], cfg.sampler_chains, K).min(axis=2)  # any replica solves
                    firsts.extend(_first_hit(e, np.asarray(r.traces["sweep"])).tolist())
                    t_run += r.seconds
                f = np.array(firsts)
                solved = np.isfinite(f)
                p, perr = _binom(int(solved.sum()), f.size)
                med, l, h = _median_band(f[solved], g)
                ps.append(p)
                pe.append(perr)
                tts.append(med)
                lo.append(l)
                hi.append(h)
                secs.append(t_run / f.size)
                seconds[name] += t_run
            res[name][str(n)] = {"alphas": list(cfg.sampler_alphas), "p_solve": ps, "p_error": pe, "tts": tts,
                                 "tts_lo": lo, "tts_hi": hi, "seconds_per_run": secs,
                                 "alpha_half": _interp_half(cfg.sampler_alphas, ps)}
    out["samplers"] = {
        "samplers": res, "runs_per_point": cfg.sampler_instances * cfg.sampler_chains,
        "anneal": {"schedule": "geometric beta 1 -> 30, linear energy", "sweeps": cfg.sampler_sweeps},
        "tempering": {"ladder": schedules.ladder(0.5, 8.0, 8).tolist(), "sweeps": cfg.sampler_sweeps,
                      "note": "a tempering sweep costs K = 8 single-temperature sweeps"},
        "thresholds": {f"alpha_c = {float(theory('capacity')(0.0)):.3f} (RS capacity)": float(theory("capacity")(0.0)),
                       f"~{_ALGO_ALPHA} best algorithms (fBP)": _ALGO_ALPHA,
                       f"~{_LE_ALPHA} local-entropy breakdown (LD ensemble)": _LE_ALPHA},
        "sampler_seconds": seconds,
    }


# ------------------------------------------------------------------------------ figures
def _figures(out, folder):
    from .. import plots

    figs = {}
    if "entropy" in out:
        figs["entropy"] = plots.plot_entropy(_clean(out["entropy"]), folder / "entropy.png").name
        figs["psat"] = plots.plot_psat(_clean(out["psat"]), folder / "psat.png").name
    if "margins" in out:
        figs["margins"] = plots.plot_margins(_clean(out["margins"]["figure"]), folder / "margins.png").name
    if "local_entropy" in out:
        le = _clean(out["local_entropy"])
        ex, th = le["exact"], le["theory"]
        theo = []
        for key, lab in (("typical", "Franz-Parisi, typical reference"),
                         ("high_margin", f"Franz-Parisi, kappa_ref = {th['kappa_ref']}")):
            t = th.get(key)
            if t and "d" in t:
                theo.append({"label": lab, "d": t["d"], "entropy": t["entropy"]})
        series = [
            {"label": f"exact N={ex['n']}, typical ref (mean of {max(ex['typical']['n_refs'] or [0])})",
             "d": ex["d"], "entropy": ex["typical"]["entropy"], "error": ex["typical"]["error"], "color": "C0"},
            {"label": f"exact N={ex['n']}, kappa_ref={ex['kappa_ref']} ref", "d": ex["d"],
             "entropy": ex["high_margin"]["entropy"], "error": ex["high_margin"]["error"], "color": "C1"},
        ]
        mv = le.get("mc_validation") or {}
        for key, c in (("typical", "C0"), ("high_margin", "C1")):
            if key in mv:
                series.append({"label": f"MC (one instance, {key}), N={mv['n']}", "d": mv[key]["d"],
                               "entropy": mv[key]["mc"], "error": mv[key]["mc_error"], "color": c, "style": "x"})
                series.append({"label": f"exact, same instance ({key})", "d": mv[key]["d"],
                               "entropy": mv[key]["exact"], "error": None, "color": c, "style": "+"})
        figs["local_entropy_small"] = plots.plot_local_entropy(
            {"title": f"Local entropy, N={ex['n']} (exact and MC) vs Franz-Parisi (alpha={ex['alpha']})",
             "series": series, "theory": theo, "s_rs": th["s_rs"]}, folder / "local_entropy_small.png").name
        big_series = []
        markers = ["o", "s", "^", "D"]
        for i, (nb, entry) in enumerate(le.get("large", {}).items()):
            for key, c in (("high_margin", "C1"), ("sbpi_kappa0", "C2")):
                if key in entry and "entropy" in entry[key]:
                    lab = (f"MC N={nb}, SBPI solution at kappa_ref={th['kappa_ref']}" if key == "high_margin"
                           else f"MC N={nb}, SBPI solution at kappa=0")
                    big_series.append({"label": lab, "d": entry[key]["d"], "entropy": entry[key]["entropy"],
                                       "error": entry[key]["error"], "color": c, "style": markers[i % 4],
                                       "mfc": "none" if i == 0 else None})
        if big_series:
            figs["local_entropy_large"] = plots.plot_local_entropy(
                {"title": f"Local entropy by Monte Carlo (reference tempering + MBAR), alpha~{th['alpha']}",
                 "series": big_series, "theory": theo, "s_rs": th["s_rs"], "d_max": 0.35},
                folder / "local_entropy_large.png").name
        fl = []
        for nb, entry in le.get("large", {}).items():
            for key in ("high_margin", "sbpi_kappa0"):
                if key in entry:
                    f = entry[key]["flatness"]
                    fl.append({"label": f"N={nb}, {key}", "d": f["d"], "energy": f["energy"], "error": f["error"]})
        if fl:
            figs["flatness"] = plots.plot_flatness({"series": fl, "title": "Training error after random flips"},
                                                   folder / "flatness.png").name
    if "samplers" in out:
        figs["samplers"] = plots.plot_samplers(_clean(out["samplers"]), folder / "samplers.png").name
    return figs


# ----------------------------------------------------------------------------- markdown
def _fmt(x, nd=4):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def _markdown(out) -> str:
    L = [f"# spinglass_nets report{' (quick)' if out['meta']['quick'] else ''}", "",
         f"Seed {out['meta']['seed']}; total {out['meta']['seconds']:.1f} s on {out['meta']['cpus']} CPU(s) "
         f"({out['meta']['platform']}). Every number is in `report.json`.", ""]
    L.append("| section | seconds |\n|---|---|")
    for k, v in out["meta"]["section_seconds"].items():
        L.append(f"| {k} | {v:.1f} |")
    L.append("")
    if "entropy" in out:
        e = out["entropy"]
        L += ["## Entropy of solutions (exact enumeration, +-1 patterns, kappa = 0)", "",
              f"(1/N) <log #solutions> over {e['instances_per_point']} instances per point; fit s(N) = s_inf + b/N.", "",
              "| alpha | N | mean | error |", "|---|---|---|---|"]
        for a, d in e["per_alpha"].items():
            for n, m, er in zip(d["n"], d["mean"], d["error"]):
                L.append(f"| {a} | {n} | {_fmt(m)} | {_fmt(er)} |")
        L += ["", "| alpha | s_RS | annealed | fit s_inf | z (fit - RS) |", "|---|---|---|---|---|"]
        for a, d in e["per_alpha"].items():
            f = d["fit"] or {}
            L.append(f"| {a} | {_fmt(d['s_rs'])} | {_fmt(d['s_ann'])} | {_fmt(f.get('s_inf'))} +- "
                     f"{_fmt(f.get('s_inf_error'))} | {_fmt(d['z_fit_vs_rs'], 2)} |")
        L += ["", "![entropy](entropy.png)", "", "### P(SAT)", "",
              f"RS capacity alpha_c = {out['psat']['alpha_c']:.4f}. The 50% point at finite N (linear interpolation):", ""]
        for n, d in out["psat"]["per_n"].items():
            L.append(f"- N = {n}: alpha_1/2 = {_fmt(d['alpha_half'], 3)} ({d['n_instances']} instances per alpha)")
        L += ["", "![psat](psat.png)", ""]
    if "margins" in out:
        m = out["margins"]
        s = m["small"]
        L += ["## Margins", "",
              f"All solutions of {s['instances']} instances (N = {s['n']}, alpha = {s['alpha']}, Gaussian patterns) "
              f"against the RS stability law: KS distance {_fmt(s['ks_mean'])} +- {_fmt(s['ks_error'])} per instance "
              f"(i.i.d. noise floor ~{_fmt(float(np.mean(s['ks_iid'])))}); chi2 of the instance-averaged histogram "
              f"against the binned law: {_fmt(s['chi2'], 1)} for {s['bins']} bins.", ""]
        for lab in ("annealing", "SBPI"):
            if lab in m["large"]:
                x = m["large"][lab]
                L.append(f"- {lab} solutions at N = {m['large']['n']}: KS {_fmt(x['ks_mean'])} +- {_fmt(x['ks_error'])}, "
                         f"mean smallest stability {_fmt(x['min_margin_mean'])} ({x['n_solutions']} solutions)")
        L += ["", "![margins](margins.png)", ""]
    if "local_entropy" in out:
        le = out["local_entropy"]
        ex = le["exact"]
        L += ["## Local entropy", "",
              f"Exact S(d) at N = {ex['n']} (Gaussian patterns, alpha = {ex['alpha']}), averaged over instances, around a "
              f"uniformly drawn solution (typical) and a uniformly drawn solution of margin kappa_ref = {ex['kappa_ref']}; "
              "curves: Franz-Parisi RS predictions (N -> infinity).", ""]
        mv = le.get("mc_validation")
        if mv:
            L.append(f"Monte Carlo (reference tempering at beta = {mv['beta']}, {mv['chains']} chains x {mv['sweeps']} "
                     "sweeps, multi-histogram) against enumeration on the same instance and reference:")
            for key in ("typical", "high_margin"):
                if key in mv:
                    v = mv[key]
                    L.append(f"- {key}: chi2 = {_fmt(v['chi2'], 1)} for {v['dof']} distances, max |z| = "
                             f"{_fmt(v['max_abs_z'], 2)}")
        elif not le.get("mc_available"):
            L.append("Monte Carlo: `ReferenceTempering` is not available in this build; MC sections skipped.")
        L += ["", "![local entropy small N](local_entropy_small.png)", ""]
        for nb, entry in le.get("large", {}).items():
            for key in ("high_margin", "sbpi_kappa0"):
                if key in entry and "entropy" in entry[key]:
                    e = entry[key]
                    S, er = np.asarray(e["entropy"], float), np.asarray(e["error"], float)
                    picks = [k for k in (1, 2, 5, 10, 20, 40) if k < len(S) and np.isfinite(S[k])]
                    vals = ", ".join(f"S({k}/N) = {S[k]:.4f} +- {er[k]:.4f}" for k in picks)
                    L.append(f"- N = {nb}, {key} (min stability {e['min_margin']:.3f}): {vals}")
        if "local_entropy_large" in out["figures"]:
            L += ["", "![local entropy large N](local_entropy_large.png)", ""]
        if "flatness" in out["figures"]:
            L += ["", "![flatness](flatness.png)", ""]
    if "samplers" in out:
        s = out["samplers"]
        L += ["## Samplers", "",
              f"Simulated annealing ({s['anneal']['schedule']}, {s['anneal']['sweeps']} sweeps) and parallel tempering "
              f"(8 temperatures, {s['tempering']['sweeps']} sweeps); {s['runs_per_point']} runs per point "
              "(instances x chains). alpha_1/2 = where P(solved) crosses 1/2.", "",
              "| sampler | N | alpha_1/2 |", "|---|---|---|"]
        for name, per_n in s["samplers"].items():
            for n, d in per_n.items():
                L.append(f"| {name} | {n} | {_fmt(d['alpha_half'], 3)} |")
        L += ["", "![samplers](samplers.png)", ""]
    return "\n".join(L) + "\n"


def _is_report_file(name) -> bool:
    """Whether a folder entry is one a report writes (replacing such a folder loses nothing else)."""
    return name in ("report.json", "report.md") or name.endswith(".png")


def _check_output(folder: Path, overwrite: bool) -> None:
    """Refuse an output folder that may not be written, before any computation."""
    if folder.name in ("", ".", ".."):
        raise ValueError(f"{str(folder)!r} is not a new folder name; give the report its own folder, e.g. report")
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir() or folder.is_symlink():
            raise ValueError(f"{str(folder)!r} exists and is not a folder; choose a new folder name for the report")
        if not overwrite:
            raise ValueError(f"folder {str(folder)!r} exists; pass overwrite=True (CLI: --overwrite) to replace it")
        other = sorted(x for x in os.listdir(folder) if not _is_report_file(x))
        if other:
            # --overwrite replaces a previous report, not an arbitrary folder (think `-o .`).
            raise ValueError(f"folder {str(folder)!r} holds files a report does not write ({other[0]!r}"
                             f"{', ...' if len(other) > 1 else ''}); refusing to replace it")
    if not folder.parent.is_dir():
        raise ValueError(f"folder {str(folder.parent)!r} does not exist")


def _move_into_place(tmp: Path, folder: Path, overwrite: bool) -> None:
    """Rename the finished report ``tmp`` to ``folder``; with ``overwrite`` the old folder goes last."""
    if not folder.exists():
        os.rename(tmp, folder)
        return
    if not overwrite:  # appeared while the report ran
        raise ValueError(f"folder {str(folder)!r} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
    os.rmdir(old)  # only the unique name is wanted: rename needs a free target
    os.rename(folder, old)
    try:
        os.rename(tmp, folder)
    except BaseException:
        os.rename(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def build_report(folder, *, quick: bool = False, seed: int = 2024, config: ReportConfig | None = None,
                 sections=("entropy", "margins", "local_entropy", "samplers"), figures: bool = True,
                 overwrite: bool = False) -> dict:
    """Run the benchmark suite and write ``report.json``, ``report.md`` and figures.

    The report is built in a temporary folder next to ``folder`` and renamed into place at the
    end, so a failure (or an interrupt) leaves no partial report and an old one untouched.

    Parameters
    ----------
    folder : str or Path
        Output folder: new (its parent must exist), or with ``overwrite`` a previous report
        (a folder holding only ``report.json``, ``report.md`` and PNG files), replaced once
        the new one is complete.
    quick : bool
        Small sizes (< 1 minute): the smoke test.
    seed : int
        Root seed; every instance and chain derives from it.
    config : ReportConfig, optional
        Overrides ``quick`` and ``seed``.
    sections : iterable of str
        Subset of ``entropy``, ``margins``, ``local_entropy``, ``samplers``.
    figures : bool
        Draw PNG figures (needs matplotlib).
    overwrite : bool
        Replace an existing report folder.

    Returns
    -------
    dict
        Everything written to ``report.json``.
    """
    cfg = config or (ReportConfig.quick_config(seed) if quick else ReportConfig(seed=seed))
    bad = set(sections) - {"entropy", "margins", "local_entropy", "samplers"}
    if bad:
        raise ValueError(f"unknown report sections {sorted(bad)}; choose from entropy, margins, local_entropy, samplers")
    folder = Path(folder)
    _check_output(folder, overwrite)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; the report is an ordinary folder
    try:
        clean = _build(cfg, tmp, sections, figures)
        _move_into_place(tmp, folder, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return clean


def _build(cfg, folder, sections, figures):
    """Compute every section and write the report's files into ``folder`` (which exists)."""
    root = as_seed_sequence(cfg.seed)
    t_all = time.perf_counter()
    out: dict = {}
    secs = {}
    small = None
    for i, name in enumerate(("entropy", "margins", "local_entropy", "samplers")):
        if name not in sections:
            continue
        t0 = time.perf_counter()
        ss = chain_seed(root, i)
        if name in ("margins", "local_entropy") and small is None:
            small = _small_instances(cfg, chain_seed(root, 7))
        if name == "entropy":
            _section_entropy(cfg, ss, out)
        elif name == "margins":
            _section_margins(cfg, ss, small, out)
        elif name == "local_entropy":
            _section_local_entropy(cfg, ss, small, out)
        else:
            _section_samplers(cfg, ss, out)
        secs[name] = time.perf_counter() - t0
    from .. import __version__

    out["meta"] = {"quick": cfg.quick, "seed": cfg.seed, "config": asdict(cfg), "section_seconds": secs,
                   "cpus": os.cpu_count(), "platform": platform.platform(), "package_version": __version__}
    t0 = time.perf_counter()
    out["figures"] = _figures(out, folder) if figures else {}
    secs["figures"] = time.perf_counter() - t0
    out["meta"]["seconds"] = time.perf_counter() - t_all
    clean = _clean(out)
    (folder / "report.json").write_text(json.dumps(clean, indent=1))
    (folder / "report.md").write_text(_markdown(clean))
    return clean
