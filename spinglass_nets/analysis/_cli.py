"""CLI subcommands ``analyze``, ``plot`` and ``report`` (registered by :mod:`spinglass_nets.cli`).

Heavy imports stay inside the handlers so ``spinglass-nets --help`` is instant.
"""

from __future__ import annotations

import json
from pathlib import Path

WHATS = ("margins", "density", "overlaps", "local-entropy", "flatness")


def _emit(args, obj, text):
    from ..cli import _emit as emit

    emit(args, obj, text)


def _floats(s):
    import argparse

    try:
        return [float(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a comma-separated list of numbers") from None


def _reference(spec, inst, st):
    """'teacher', a .npy file, or RUN[:CHAIN[:RECORD]] (cli's parser)."""
    import numpy as np

    if spec is not None and spec.endswith(".npy"):
        ref = np.load(spec)
        if ref.shape != (inst.n,):
            raise ValueError(f"--reference {spec}: shape {ref.shape} does not match N = {inst.n}")
        return ref
    from ..cli import _reference as parse

    if spec is None:
        raise ValueError("this analysis needs --reference (teacher, FILE.npy or RUN[:CHAIN[:RECORD]])")
    return parse(spec, inst, st)


def cmd_analyze(args):
    import numpy as np

    from .. import analysis as A
    from ..store import open_store

    if args.what not in WHATS:
        raise ValueError(f"--what {args.what!r} is not allowed; choose one of {', '.join(WHATS)}")
    with open_store(args.file) as st:
        inst = st.instance()
        run = st.run(args.run)
        w = run.samples(discard=args.discard, thin=args.thin)  # (T, C, N)
        e = run.energies(discard=args.discard, thin=args.thin)
        ref = _reference(args.reference, inst, st) if args.what in ("density", "local-entropy", "flatness") else None
    if w.shape[0] == 0:
        raise ValueError(f"run {args.run!r} has no records after --discard {args.discard}")
    params = {"what": args.what, "run": args.run, "discard": args.discard, "thin": args.thin, "n": inst.n,
              "alpha": inst.alpha, "kappa": inst.kappa, "reference": args.reference}
    if args.what == "margins":
        sel = w[e == 0] if args.solutions_only else w.reshape(-1, inst.n)
        if sel.shape[0] == 0:
            raise ValueError(f"run {args.run!r} has no zero-energy samples (use --all to histogram every sample)")
        r = A.margins(inst, sel, with_theory=inst.kind == "perceptron")
        arrays = {"edges": r.edges, "density": r.density, "error": r.error}
        if r.theory is not None:
            from ._common import theory

            x = np.linspace(min(r.edges[0], inst.kappa), r.edges[-1], 300)
            arrays.update(theory=r.theory, theory_x=x, theory_curve=theory("margin_density")(x, inst.alpha, inst.kappa))
        summary = {"ks": r.ks, "ks_iid": r.ks_iid, "mean": r.mean, "mean_error": r.mean_error, "n_configs": r.n_configs}
        text = (f"margins of {r.n_configs} configurations: mean {r.mean:.4f} +- {r.mean_error:.4f}, "
                f"KS to RS law {r.ks if r.ks is None else round(r.ks, 4)} (i.i.d. floor {r.ks_iid:.4f})")
    elif args.what == "overlaps":
        r = A.overlaps(w)
        arrays = {"edges": r.edges, "density": r.density, "error": r.error}
        summary = {"mean": r.mean, "mean_error": r.mean_error, "mean_abs": r.mean_abs, "mean_abs_error": r.mean_abs_error,
                   "q2": r.q2, "q2_error": r.q2_error, "n_pairs": r.n_pairs}
        text = f"<q> = {r.mean:.4f} +- {r.mean_error:.4f}, <|q|> = {r.mean_abs:.4f} +- {r.mean_abs_error:.4f} ({r.n_pairs} pairs)"
    elif args.what == "density":
        r = A.density_profile(ref, w)
        arrays = {"d": r.d, "fraction": r.fraction, "error": r.error, "counts": r.counts}
        summary = {"mean_distance": r.mean_distance, "mean_distance_error": r.mean_distance_error,
                   "n_samples": r.n_samples}
        text = f"mean distance to reference {r.mean_distance:.4f} +- {r.mean_distance_error:.4f} ({r.n_samples} samples)"
    elif args.what == "local-entropy":
        r = A.local_entropy(inst, ref, method=args.method, rng=args.seed, n_sweeps=args.sweeps, n_chains=args.chains,
                            beta=args.beta)
        arrays = {"d": r.d, "entropy": r.entropy, "error": r.error}
        params["method"] = args.method
        summary = {"d": r.d.tolist(), "entropy": [None if not np.isfinite(x) else float(x) for x in r.entropy],
                   "error": [None if not np.isfinite(x) else float(x) for x in r.error]}
        text = "\n".join(f"{d:8.4f} {s:10.5f} {er:9.5f}" for d, s, er in zip(r.d, r.entropy, r.error))
    else:
        d = args.d if args.d else list(np.linspace(0, 0.2, 11))
        r = A.flatness(inst, ref, d=d, n_samples=args.samples, rng=args.seed)
        arrays = {"d": r.d, "energy": r.energy, "error": r.error, "solution_fraction": r.solution_fraction}
        summary = {"d": r.d.tolist(), "energy": r.energy.tolist(), "error": r.error.tolist(),
                   "solution_fraction": r.solution_fraction.tolist()}
        text = "\n".join(f"{d:8.4f} {x:10.5f} {er:9.5f}" for d, x, er in zip(r.d, r.energy, r.error))
    name = args.name or f"{args.what}_{args.run}"
    if not args.no_write:
        from ..store import open_store as _open

        with _open(args.file, "r+") as st:
            st.write_analysis(name, arrays, params, overwrite=args.overwrite)
    out = {"file": str(args.file), "analysis": None if args.no_write else name, "params": params, **summary}
    _emit(args, out, text + ("" if args.no_write else f"\nwrote {args.file}:/analysis/{name}"))
    return 0


def cmd_plot(args):
    from ..store import open_store

    with open_store(args.file) as st:
        arrays, params = st.analysis(args.analysis)
    from ..plots import plot_analysis

    path = plot_analysis(arrays, params, args.output)
    _emit(args, {"file": str(args.file), "analysis": args.analysis, "output": str(path)}, f"wrote {path}")
    return 0


def cmd_report(args):
    from .report import build_report

    out = build_report(args.output, quick=args.quick, seed=args.seed)
    summary = {"output": str(args.output), "seconds": out["meta"]["seconds"], "figures": out["figures"],
               "section_seconds": out["meta"]["section_seconds"]}
    _emit(args, summary, f"wrote {Path(args.output) / 'report.md'} ({out['meta']['seconds']:.1f} s; "
                         f"figures: {', '.join(out['figures'].values())})")
    return 0


def add_parser(sub):
    """Register ``analyze``, ``plot`` and ``report`` on the CLI's subparsers."""
    from ..cli import _nonneg_int, _positive_int

    q = sub.add_parser("analyze", help="analyse a run of a store; writes /analysis/<name>")
    q.add_argument("file", type=Path)
    q.add_argument("--run", required=True, help="run name in the store")
    q.add_argument("--what", required=True, help=f"one of: {', '.join(WHATS)}")
    q.add_argument("--reference", default=None, help="teacher | FILE.npy | RUN[:CHAIN[:RECORD]] (density, "
                   "local-entropy, flatness)")
    q.add_argument("--discard", type=_nonneg_int, default=0, help="records dropped as burn-in")
    q.add_argument("--thin", type=_positive_int, default=1)
    q.add_argument("--all", dest="solutions_only", action="store_false",
                   help="margins: histogram every sample (default: zero-energy samples only)")
    q.add_argument("--method", choices=["exact", "mc"], default="exact", help="local-entropy method")
    q.add_argument("--beta", type=float, default=float("inf"), help="local-entropy mc: inverse temperature")
    q.add_argument("--sweeps", type=_positive_int, default=2000, help="local-entropy mc: sweeps")
    q.add_argument("--chains", type=_positive_int, default=8, help="local-entropy mc: chains")
    q.add_argument("--d", type=_floats, default=None, help="flatness: comma-separated distances")
    q.add_argument("--samples", type=_positive_int, default=500, help="flatness: flips per distance")
    q.add_argument("--seed", type=_nonneg_int, default=0)
    q.add_argument("--name", default=None, help="analysis name (default WHAT_RUN)")
    q.add_argument("--overwrite", action="store_true")
    q.add_argument("--no-write", action="store_true", help="print only; do not write to the store")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_analyze)

    q = sub.add_parser("plot", help="figure of a stored analysis")
    q.add_argument("file", type=Path)
    q.add_argument("--analysis", required=True, help="name under /analysis")
    q.add_argument("-o", "--output", type=Path, required=True)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_plot)

    q = sub.add_parser("report", help="seeded benchmark of theory against numerics (report.md, JSON, PNG)")
    q.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    q.add_argument("--quick", action="store_true", help="small sizes (< 1 minute)")
    q.add_argument("--seed", type=_nonneg_int, default=2024)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_report)
