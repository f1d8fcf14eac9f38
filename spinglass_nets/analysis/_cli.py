"""CLI subcommands ``analyze``, ``plot`` and ``report`` (registered by :mod:`spinglass_nets.cli`).

Heavy imports stay inside the handlers so ``spinglass-nets --help`` is instant.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

WHATS = ("margins", "density", "overlaps", "local-entropy", "flatness")
# Which analysis options each --what reads; any other one given is refused, not ignored.
_MC_OPTIONS = {"--beta", "--sweeps", "--chains", "--seed"}
_WHAT_OPTIONS = {
    "margins": {"--all"},
    "density": {"--reference"},
    "overlaps": set(),
    "local-entropy": {"--reference", "--method", *_MC_OPTIONS},
    "flatness": {"--reference", "--d", "--samples", "--seed"},
}


def _check_applicable(args):
    """Refuse options that ``--what`` (and, for local entropy, ``--method``) does not read."""
    given = getattr(args, "given", set())
    every = set().union(*_WHAT_OPTIONS.values())
    bad = sorted(g for g in given if g in every and g not in _WHAT_OPTIONS[args.what])
    if bad:
        raise ValueError(f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not apply to --what {args.what}")
    if args.what == "local-entropy" and args.method == "exact":
        bad = sorted(g for g in given if g in _MC_OPTIONS)
        if bad:
            raise ValueError(f"{', '.join(bad)} {'applies' if len(bad) == 1 else 'apply'} only to --method mc")


def _emit(args, obj, text):
    from ..cli import _emit as emit

    emit(args, obj, text)


def _distances(s):
    """argparse type of ``--d``: a non-empty comma-separated list of numbers in [0, 1]."""
    import argparse
    import math

    try:
        d = [float(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a comma-separated list of numbers") from None
    # An empty list used to fall back silently to the default grid: the user asked for something else.
    if not d:
        raise argparse.ArgumentTypeError(f"{s!r} holds no distance; give numbers in [0, 1], e.g. 0,0.05,0.1")
    bad = [x for x in d if not (math.isfinite(x) and 0 <= x <= 1)]
    if bad:
        raise argparse.ArgumentTypeError(f"{s!r}: distance {bad[0]:g} is not in [0, 1]")
    return d


def _default_distances(n):
    """Default flatness grid d = 0, 0.02, ..., 0.2, rounded to whole flips without repeats.

    At small N several d round to the same number of flips k = round(d N); repeating a k
    repeats a point (with a different seed) and suggests a resolution that is not there.
    """
    import numpy as np

    return (np.unique(np.rint(np.linspace(0, 0.2, 11) * n)) / n).tolist()


def _load_npy(spec, n):
    """The +-1 configuration of length ``n`` stored in the .npy file ``spec`` (int8)."""
    import numpy as np

    want = f"expected an .npy file of N = {n} values +-1 (numpy.save; read with allow_pickle=False)"
    try:
        with open(spec, "rb") as f:
            magic = f.read(6)
    except FileNotFoundError:
        raise ValueError(f"--reference {spec}: no such file; {want}") from None
    except OSError as exc:
        raise ValueError(f"--reference {spec}: cannot be read ({exc.strerror or exc}); {want}") from None
    # numpy's own messages speak of pickles for any file that is not .npy (text included).
    if magic != b"\x93NUMPY":
        raise ValueError(f"--reference {spec}: not an .npy file; {want}")
    try:
        ref = np.load(spec, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        what = "holds Python objects (pickled)" if "allow_pickle" in str(exc) else "has a damaged .npy header"
        raise ValueError(f"--reference {spec}: {what}; {want}") from None
    if ref.shape != (n,):
        raise ValueError(f"--reference {spec}: shape {ref.shape} does not match N = {n}; {want}")
    if ref.dtype.kind not in "biuf" or not np.all((ref == 1) | (ref == -1)):
        raise ValueError(f"--reference {spec}: values are not all +-1 (dtype {ref.dtype}); {want}")
    return ref.astype(np.int8)


def _reference(spec, inst, st):
    """'teacher', a .npy file, or RUN[:CHAIN[:RECORD]] (cli's parser)."""
    if spec is not None and spec.endswith(".npy"):
        return _load_npy(spec, inst.n)
    from ..cli import _reference as parse

    if spec is None:
        raise ValueError("this analysis needs --reference (teacher, FILE.npy or RUN[:CHAIN[:RECORD]])")
    return parse(spec, inst, st)


def _check_analysis_free(st, name, overwrite):
    """Refuse a bad or taken analysis name before the (possibly long) computation."""
    from ..store import _check_name

    try:
        _check_name(name)
    except ValueError:
        raise ValueError(f"--name {name!r} is not allowed: give a non-empty name without '/' not starting "
                         "with '.'") from None
    st.refuse_live()
    if name in st.analyses() and not overwrite:
        raise ValueError(f"/analysis/{name} exists in {str(st.path)!r}; pass --overwrite to replace it or --name "
                         "to choose another name")
    if not os.access(st.path, os.W_OK):
        raise ValueError(f"{str(st.path)!r} is not writable; use --no-write to print the result only")


def cmd_analyze(args):
    import numpy as np

    from .. import analysis as A
    from ..store import open_store

    if args.what not in WHATS:
        raise ValueError(f"--what {args.what!r} is not allowed; choose one of {', '.join(WHATS)}")
    _check_applicable(args)
    name = args.name or f"{args.what}_{args.run}"
    with open_store(args.file) as st:
        inst = st.instance()
        run = st.run(args.run)
        w = run.samples(discard=args.discard, thin=args.thin)  # (T, C, N)
        e = run.energies(discard=args.discard, thin=args.thin)
        ref = _reference(args.reference, inst, st) if args.what in ("density", "local-entropy", "flatness") else None
        # Before the computation, which can take minutes, not after it as write_analysis would.
        if not args.no_write:
            _check_analysis_free(st, name, args.overwrite)
        elif args.name is not None or args.overwrite:
            raise ValueError("--no-write cannot be combined with --name or --overwrite (nothing is written)")
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
                            beta=args.beta, progress=None)
        arrays = {"d": r.d, "entropy": r.entropy, "error": r.error}
        params["method"] = args.method
        summary = {"d": r.d.tolist(), "entropy": [None if not np.isfinite(x) else float(x) for x in r.entropy],
                   "error": [None if not np.isfinite(x) else float(x) for x in r.error]}
        text = "\n".join(f"{d:8.4f} {s:10.5f} {er:9.5f}" for d, s, er in zip(r.d, r.entropy, r.error))
    else:
        # User-given distances are kept as given (even if two round to the same number of flips).
        d = args.d if args.d is not None else _default_distances(inst.n)
        r = A.flatness(inst, ref, d=d, n_samples=args.samples, rng=args.seed)
        arrays = {"d": r.d, "energy": r.energy, "error": r.error, "solution_fraction": r.solution_fraction}
        summary = {"d": r.d.tolist(), "energy": r.energy.tolist(), "error": r.error.tolist(),
                   "solution_fraction": r.solution_fraction.tolist()}
        text = "\n".join(f"{d:8.4f} {x:10.5f} {er:9.5f}" for d, x, er in zip(r.d, r.energy, r.error))
    if not args.no_write:
        from ..store import open_store as _open

        with _open(args.file, "r+") as st:
            st.write_analysis(name, arrays, params, overwrite=args.overwrite)
    out = {"file": str(args.file), "analysis": None if args.no_write else name, "params": params, **summary}
    _emit(args, out, text + ("" if args.no_write else f"\nwrote {args.file}:/analysis/{name}"))
    return 0


def cmd_plot(args):
    from ..plots import PLOTTABLE, output_path, plot_analysis
    from ..store import open_store

    # Every refusal comes before drawing; output_path gives the real file name (".png" added).
    path = output_path(args.output, overwrite=args.overwrite)
    with open_store(args.file) as st:
        arrays, params = st.analysis(args.analysis)
    what = params.get("what")
    if what not in PLOTTABLE:
        origin = (f"written by solve --method {params['method']}" if what is None and "method" in params
                  else f"of kind {what!r}")
        raise ValueError(f"cannot plot /analysis/{args.analysis} ({origin}); plot draws analyses written by "
                         f"analyze --what {'|'.join(PLOTTABLE)}")
    path = plot_analysis(arrays, params, path, overwrite=args.overwrite)
    _emit(args, {"file": str(args.file), "analysis": args.analysis, "output": str(path)}, f"wrote {path}")
    return 0


def cmd_report(args):
    from .report import build_report

    out = build_report(args.output, quick=args.quick, seed=args.seed, overwrite=args.overwrite)
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
    q.add_argument("--d", type=_distances, default=None,
                   help="flatness: comma-separated distances in [0, 1] (default 0, 0.02, ..., 0.2 in whole flips)")
    q.add_argument("--samples", type=_positive_int, default=500, help="flatness: flips per distance")
    q.add_argument("--seed", type=_nonneg_int, default=0)
    q.add_argument("--name", default=None, help="analysis name (default WHAT_RUN)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing /analysis/<name>")
    q.add_argument("--no-write", action="store_true", help="print only; do not write to the store")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_analyze)

    q = sub.add_parser("plot", help="figure of a stored analysis")
    q.add_argument("file", type=Path)
    q.add_argument("--analysis", required=True, help="name under /analysis")
    q.add_argument("-o", "--output", type=Path, required=True,
                   help="figure file in an existing folder; format by suffix (none: .png appended)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_plot)

    q = sub.add_parser("report", help="seeded benchmark of theory against numerics (report.md, JSON, PNG)")
    q.add_argument("-o", "--output", type=Path, required=True,
                   help="new output folder (its parent must exist)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing report folder")
    q.add_argument("--quick", action="store_true", help="small sizes (< 1 minute)")
    q.add_argument("--seed", type=_nonneg_int, default=2024)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_report)
