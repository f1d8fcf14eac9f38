"""``spinglass-nets theory <name>``: the theory functions from the command line.

Registered by the lead's ``cli.py`` through :func:`add_parser`. Values accept a single
number or a grid ``start:stop:num`` (inclusive, like ``numpy.linspace``; grids for both
``--alpha`` and ``--kappa`` give every combination), except the ``--alpha`` and ``--kappa``
of ``local-entropy`` and the ``--kappa`` of ``flat-minima``, which take one number (each
curve or threshold costs seconds to a minute). ``--json``
prints exactly one JSON object; ``--store FILE`` writes the arrays under
``/theory/<entry>`` (``--name``, default the quantity's name) through
``spinglass_nets.store.write_theory``, refusing an existing entry unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

NAMES = ("rs", "annealed", "capacity", "margins", "local-entropy", "flat-minima",
         "symmetric", "teacher-student", "spherical")

# Which quantities read each option; any other NAME refuses it rather than ignore it silently.
APPLIES = {
    "alpha": ("rs", "annealed", "margins", "local-entropy", "symmetric", "teacher-student"),
    "kappa": ("rs", "annealed", "capacity", "margins", "local-entropy", "flat-minima", "symmetric",
              "spherical"),
    "kappa_ref": ("local-entropy",),
    "d": ("local-entropy",),
    "delta": ("margins",),
}
# Options a NAME reads as one number: a local-entropy curve costs seconds and a flat-minima
# threshold about half a minute, so a grid there is a loop the user should write knowingly.
SINGLE = {"local-entropy": ("alpha", "kappa"), "flat-minima": ("kappa",)}
# The zero-entropy root of ``capacity`` is located reliably only on this range of kappa:
# below about -5.9 the bracket fails on rounding noise (alpha_c ~ 1e8 there), above about
# 85 the RS entropy stays positive up to the Gardner-Derrida point and there is no root.
CAPACITY_KAPPA = (-5.0, 50.0)
# Past |kappa| ~ 1e10 the quadratures overflow (NaN, solver failures); every NAME is
# saturated long before: H(1e6) = 0 and H(-1e6) = 1 in double precision.
KAPPA_MAX = 1e6
# A grid this long would run for hours (and a bigger one could exhaust memory).
MAX_NUM = 100_000


def _num(x: float) -> str:
    """``1e6`` rather than ``1e+06`` in messages."""
    return f"{x:g}".replace("e+0", "e").replace("e-0", "e-")


def _opt(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _grid(text: str, option: str = "value"):
    """``"0.5"`` -> 0.5; ``"0.1:0.8:50"`` -> 50 evenly spaced values (inclusive).

    Raises ValueError naming ``option`` for anything else: two or four fields, a field that is
    not a number, a non-finite bound, or ``num`` that is not an integer in ``[1, MAX_NUM]``
    (``num = 0`` would silently compute nothing).
    """
    import numpy as np

    parts = text.split(":")
    try:
        if len(parts) == 1:
            v = float(parts[0])
            if np.isfinite(v):
                return v
        elif len(parts) == 3:
            lo, hi, num = float(parts[0]), float(parts[1]), int(parts[2])
            if np.isfinite(lo) and np.isfinite(hi) and 1 <= num <= MAX_NUM:
                return np.linspace(lo, hi, num)
    except ValueError:
        pass
    raise ValueError(f"{option} {text!r} is not allowed: give a finite number or a grid value start:stop:num "
                     f"with an integer num in [1, {MAX_NUM}]")


def add_parser(subparsers) -> None:
    """Register the ``theory`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser("theory", help="replica-theory predictions (scipy)",
                              description=__doc__)
    p.add_argument("name", choices=NAMES, help="which quantity")
    p.add_argument("--alpha", default=None,
                   help="load: number or start:stop:num (one number for local-entropy); required by rs, "
                        "annealed, margins, local-entropy; optional for symmetric (adds the entropy) and "
                        "teacher-student (branches instead of the thresholds). With grids for both --alpha "
                        "and --kappa every combination is computed")
    p.add_argument("--kappa", default=None,
                   help="margin: number or start:stop:num (one number for local-entropy and flat-minima); "
                        f"default 0; |kappa| <= {_num(KAPPA_MAX)}; symmetric needs kappa > 0, capacity kappa in "
                        f"[{CAPACITY_KAPPA[0]:g}, {CAPACITY_KAPPA[1]:g}], flat-minima kappa near 0")
    p.add_argument("--kappa-ref", default=None, metavar="KR|max",
                   help="reference margin (local-entropy): a number >= kappa, 'max' (most robust "
                        "references) or omit (typical references)")
    p.add_argument("--d", default=None,
                   help="Hamming distances in [0, 0.5] (local-entropy): number or start:stop:num, "
                        "default 0.01:0.5:50")
    p.add_argument("--delta", default=None,
                   help="stabilities (margins): number or start:stop:num, default KAPPA:KAPPA+4:81 for "
                        "each kappa")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--store", default=None, metavar="FILE",
                   help="also write the result to /theory/ENTRY of the store FILE (created if missing)")
    p.add_argument("--name", dest="entry", default=None, metavar="ENTRY",
                   help="entry name under /theory with --store (default: the quantity, e.g. capacity)")
    p.add_argument("--overwrite", action="store_true",
                   help="with --store: replace an existing /theory/ENTRY")
    p.set_defaults(func=handler)


def _check_args(args) -> None:
    """Refuse options that NAME does not read, and store options without --store."""
    for dest, names in APPLIES.items():
        if getattr(args, dest) is not None and args.name not in names:
            raise ValueError(f"{_opt(dest)} does not apply to 'theory {args.name}' (it is read by "
                             f"{', '.join(names)})")
    if args.store is None:
        bad = [o for o, v in (("--name", args.entry), ("--overwrite", args.overwrite)) if v]
        if bad:
            raise ValueError(f"{' and '.join(bad)} only appl{'ies' if len(bad) == 1 else 'y'} with --store FILE")


def _value(args, dest: str, default: str | None = None):
    """The number or grid of option ``dest``, refused as a grid where NAME takes one number."""
    text = getattr(args, dest)
    if text is None:
        text = default
    v = _grid(text, _opt(dest))
    if not isinstance(v, float) and dest in SINGLE.get(args.name, ()):
        raise ValueError(f"{_opt(dest)} {text!r} is a grid, but 'theory {args.name}' takes one number for "
                         f"{_opt(dest)}; run it once per value")
    return v


def _need_alpha(args):
    if args.alpha is None:
        raise ValueError(f"--alpha is required for 'theory {args.name}'")
    return _value(args, "alpha")


def _check_store_free(args) -> str:
    """The /theory entry to write; refuses a bad, taken or unwritable one before computing."""
    from spinglass_nets.store import _check_name, open_store

    entry = args.entry if args.entry is not None else args.name
    try:
        _check_name(entry)
    except ValueError:
        raise ValueError(f"--name {entry!r} is not allowed: give a non-empty name without '/' not starting "
                         "with '.'") from None
    path = Path(args.store)
    if path.exists():
        with open_store(path) as st:  # a folder or a file that is not a store: one-line StoreError
            st.refuse_live()
            taken = entry in st.theories()
        if taken and not args.overwrite:
            raise ValueError(f"/theory/{entry} exists in {str(path)!r}; pass --overwrite to replace it or "
                             "--name to choose another name")
        if not os.access(path, os.W_OK):
            raise ValueError(f"--store {str(path)!r} is not writable")
    elif not path.parent.is_dir():
        raise ValueError(f"--store {str(path)!r}: folder {str(path.parent)!r} does not exist")
    return entry


def _pairs(alpha, kappa):
    """Every (alpha, kappa) combination of two values or grids, alpha-major, as flat arrays.

    Two grids mean a table over both (a phase diagram), whatever their lengths; pairing them
    element-wise would need equal lengths and give only the diagonal.
    """
    import numpy as np

    a, k = np.meshgrid(np.atleast_1d(alpha), np.atleast_1d(kappa), indexing="ij")
    return a.ravel(), k.ravel()


def _check_rs_saddle(th, alpha: float, kappa: float) -> None:
    """Refuse an (alpha, kappa) without an RS saddle point (q < 1): no margin density there."""
    from spinglass_nets.errors import ConvergenceWarning

    with warnings.catch_warnings():
        # The non-convergence is the answer here, reported as the error below.
        warnings.simplefilter("ignore", ConvergenceWarning)
        ok = th.rs_entropy(alpha, kappa).converged
    if not ok:
        raise ValueError(f"--alpha {alpha:g} with --kappa {kappa:g}: no RS saddle point with q < 1 (alpha is "
                         f"at or beyond the Gardner-Derrida point {th.gardner_derrida_alpha(kappa):.6g}), so "
                         "no margin density")


def _compute(args):
    """Return ``(arrays, params)`` for the requested quantity."""
    import numpy as np

    from spinglass_nets import theory as th

    name = args.name
    kappa = _value(args, "kappa", "0")
    k = np.atleast_1d(kappa)
    lo, hi = CAPACITY_KAPPA if name == "capacity" else (-KAPPA_MAX, KAPPA_MAX)
    out = k[(k < lo) | (k > hi)]
    if out.size:
        where = ("the range where 'theory capacity' can locate the zero of the RS entropy" if name == "capacity"
                 else "the range where the theory is computed")
        raise ValueError(f"--kappa: kappa={out[0]:g} is outside [{_num(lo)}, {_num(hi)}], {where}")
    params = {"name": name}
    if name == "rs":
        alpha = _need_alpha(args)
        r = th.rs_entropy(*_pairs(alpha, kappa))
        arrays = {k: np.atleast_1d(getattr(r, k)) for k in
                  ("alpha", "kappa", "entropy", "q", "q_hat", "converged", "residual")}
    elif name == "annealed":
        alpha = _need_alpha(args)
        a, k = _pairs(alpha, kappa)
        arrays = {"alpha": a, "kappa": k, "entropy": th.annealed_entropy(a, k)}
    elif name == "capacity":
        k = np.atleast_1d(kappa)
        arrays = {"kappa": k, "alpha_c": np.atleast_1d(th.capacity(k))}
    elif name == "margins":
        alpha = _need_alpha(args)
        # margin_density takes one (alpha, kappa): loop over the pairs (cheap, milliseconds
        # each) and stack the curves in long format, one row per (alpha, kappa, delta).
        pairs = _pairs(alpha, kappa)
        cols = {"alpha": [], "kappa": [], "delta": [], "density": [], "cdf": []}
        for a, k in zip(*pairs):
            _check_rs_saddle(th, float(a), float(k))
            delta = (np.atleast_1d(_value(args, "delta")) if args.delta is not None
                     else np.linspace(k, k + 4.0, 81))
            cols["alpha"].append(np.full(delta.size, a))
            cols["kappa"].append(np.full(delta.size, k))
            cols["delta"].append(delta)
            cols["density"].append(np.atleast_1d(th.margin_density(delta, float(a), float(k))))
            cols["cdf"].append(np.atleast_1d(th.margin_cdf(delta, float(a), float(k))))
        arrays = {c: np.concatenate(v) for c, v in cols.items()}
        if pairs[0].size == 1:  # one curve: its parameters as before, for readers of params
            params.update(alpha=float(pairs[0][0]), kappa=float(pairs[1][0]))
    elif name == "local-entropy":
        alpha = _need_alpha(args)
        kr = args.kappa_ref
        if kr is not None and kr != "max":
            try:
                kr = float(kr)
            except ValueError:
                raise ValueError(f"--kappa-ref {kr!r} is not allowed: give a number >= kappa or 'max'") from None
        r = th.local_entropy(np.atleast_1d(_value(args, "d", "0.01:0.5:50")), alpha, kappa, kr)
        arrays = {k: np.atleast_1d(getattr(r, k)) for k in
                  ("d", "entropy", "dS_dd", "q", "t", "q_hat", "t_hat", "p_hat",
                   "converged", "residual")}
        arrays["h2"] = np.atleast_1d(th.binary_entropy(r.d))
        params.update(alpha=alpha, kappa=kappa, kappa_ref=r.kappa_ref, q0=r.q0,
                      d_max=r.d_max, entropy_max=r.entropy_max)
    elif name == "flat-minima":
        try:
            out = th.flat_minima_threshold(kappa)
        except ValueError as exc:
            # The search bracket is a Python argument the command line does not expose: say
            # which --kappa failed and why, in terms of the command.
            import inspect

            lo, hi = inspect.signature(th.flat_minima_threshold).parameters["alpha_bracket"].default
            raise ValueError(f"--kappa {kappa:g}: no flat-minima threshold found; 'theory flat-minima' searches "
                             f"alpha_LE in [{lo:g}, {hi:g}], which brackets it only for kappa near 0 ({exc})") from None
        arrays = {"alpha_LE": np.array([out.pop("alpha_LE")])}
        params.update(out)
    elif name == "symmetric":
        if args.kappa is None:
            raise ValueError("'theory symmetric' needs --kappa K > 0 (the SBP half-width, e.g. --kappa 1)")
        k = np.atleast_1d(kappa)
        arrays = {"kappa": k, "alpha_c": np.atleast_1d(th.symmetric_capacity(k))}
        if args.alpha is not None:
            a, kk = _pairs(_need_alpha(args), kappa)
            arrays = {"alpha": a, "kappa": kk, "entropy": th.symmetric_entropy(a, kk),
                      "alpha_c": np.atleast_1d(th.symmetric_capacity(kk))}
    elif name == "teacher-student":
        if args.alpha is None:
            out = th.teacher_student_thresholds()
            arrays = {k: np.array([v]) for k, v in out.items()}
        else:
            rows = []
            for a in np.atleast_1d(_need_alpha(args)):
                res = th.teacher_student(float(a))
                rows += [(float(a), i, b.q, b.entropy, b.eps_g, b.stable)
                         for i, b in enumerate(res.branches)]
            cols = list(zip(*rows))
            arrays = {k: np.array(c) for k, c in
                      zip(("alpha", "branch", "q", "entropy", "eps_g", "stable"), cols)}
    else:  # spherical
        k = np.atleast_1d(kappa)
        arrays = {"kappa": k, "alpha_c": np.atleast_1d(th.spherical_capacity(k))}
    return {k: np.asarray(v) for k, v in arrays.items()}, params


def handler(args) -> int:
    """Compute, print (table or one JSON object) and optionally store; returns 0."""
    import numpy as np

    from spinglass_nets.errors import ConvergenceWarning

    _check_args(args)
    entry = _check_store_free(args) if args.store else None
    # Points that fail to converge are part of the result (converged=False, NaN values):
    # report them in one stderr line, not as Python warnings with source lines.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        # Overflow and underflow at extreme arguments are expected and give the right limits
        # (a density 0, a capacity inf, a saturated log H); the values say so, not warnings.
        with np.errstate(all="ignore"):
            arrays, params = _compute(args)
    notes = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if args.store:
        from spinglass_nets.store import write_theory

        write_theory(args.store, entry, arrays, params, overwrite=args.overwrite)
    if args.json:
        from spinglass_nets._json import strict

        obj = {"name": args.name, "params": params, **arrays}
        json.dump(strict(obj), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        keys = list(arrays)
        sys.stdout.write("\t".join(keys) + "\n")
        n = max(v.size for v in arrays.values())
        for i in range(n):
            row = [arrays[k].ravel()[i] if arrays[k].size == n else arrays[k].ravel()[0]
                   for k in keys]
            sys.stdout.write("\t".join(f"{x:.10g}" if isinstance(x, float) or
                                       hasattr(x, "dtype") and x.dtype.kind == "f"
                                       else str(x) for x in row) + "\n")
    if notes:
        more = f" (and {len(notes) - 1} more)" if len(notes) > 1 else ""
        print(f"spinglass-nets theory: warning: {' '.join(notes[0].split())}{more}; those points carry "
              "converged=False", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Stand-alone entry point (``python -m spinglass_nets.theory._cli``) for testing."""
    parser = argparse.ArgumentParser(prog="spinglass-nets")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
