"""``spinglass-nets theory <name>``: the theory functions from the command line.

Registered by the lead's ``cli.py`` through :func:`add_parser`. Values accept a single
number or a grid ``start:stop:num`` (inclusive, like ``numpy.linspace``). ``--json``
prints exactly one JSON object; ``--store FILE`` writes the arrays under
``/theory/<name>`` through ``spinglass_nets.store.write_theory``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

NAMES = ("rs", "annealed", "capacity", "margins", "local-entropy", "flat-minima",
         "symmetric", "teacher-student", "spherical")


def _grid(text: str):
    """``"0.5"`` -> 0.5; ``"0.1:0.8:50"`` -> 50 evenly spaced values (inclusive)."""
    import numpy as np

    parts = text.split(":")
    try:
        if len(parts) == 1:
            return float(parts[0])
        if len(parts) == 3:
            return np.linspace(float(parts[0]), float(parts[1]), int(parts[2]))
    except ValueError:
        pass
    raise ValueError(f"grid value {text!r} is not allowed: use a number or start:stop:num")


def add_parser(subparsers) -> None:
    """Register the ``theory`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser("theory", help="replica-theory predictions (scipy)",
                              description=__doc__)
    p.add_argument("name", choices=NAMES, help="which quantity")
    p.add_argument("--alpha", default=None, help="load, number or start:stop:num")
    p.add_argument("--kappa", default="0", help="margin, number or start:stop:num")
    p.add_argument("--kappa-ref", default=None,
                   help="reference margin (local-entropy): number, 'max' or omit (typical)")
    p.add_argument("--d", default="0.01:0.5:50", help="Hamming distances (local-entropy)")
    p.add_argument("--delta", default=None, help="stabilities (margins), start:stop:num")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--store", default=None, metavar="FILE", help="write to /theory/<name>")
    p.set_defaults(func=handler)


def _need_alpha(args):
    if args.alpha is None:
        raise ValueError(f"--alpha is required for 'theory {args.name}'")
    return _grid(args.alpha)


def _tolist(v):
    import numpy as np

    if isinstance(v, np.ndarray):
        return [None if (isinstance(x, float) and not math.isfinite(x)) else x
                for x in v.tolist()]
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _compute(args):
    """Return ``(arrays, params)`` for the requested quantity."""
    import numpy as np

    from spinglass_nets import theory as th

    kappa = _grid(args.kappa)
    name = args.name
    params = {"name": name}
    if name == "rs":
        alpha = _need_alpha(args)
        r = th.rs_entropy(alpha, kappa)
        arrays = {k: np.atleast_1d(getattr(r, k)) for k in
                  ("alpha", "kappa", "entropy", "q", "q_hat", "converged", "residual")}
    elif name == "annealed":
        alpha = _need_alpha(args)
        a, k = np.broadcast_arrays(np.atleast_1d(alpha), np.atleast_1d(kappa))
        arrays = {"alpha": a, "kappa": k, "entropy": th.annealed_entropy(a, k)}
    elif name == "capacity":
        k = np.atleast_1d(kappa)
        arrays = {"kappa": k, "alpha_c": np.atleast_1d(th.capacity(k))}
    elif name == "margins":
        alpha = _need_alpha(args)
        delta = _grid(args.delta or f"{float(kappa)}:{float(kappa) + 4}:81")
        delta = np.atleast_1d(delta)
        arrays = {"delta": delta, "density": th.margin_density(delta, alpha, kappa),
                  "cdf": th.margin_cdf(delta, alpha, kappa)}
        params.update(alpha=float(alpha), kappa=float(kappa))
    elif name == "local-entropy":
        alpha = float(_need_alpha(args))
        kr = args.kappa_ref
        kr = None if kr is None else (kr if kr == "max" else float(kr))
        r = th.local_entropy(np.atleast_1d(_grid(args.d)), alpha, float(kappa), kr)
        arrays = {k: np.atleast_1d(getattr(r, k)) for k in
                  ("d", "entropy", "dS_dd", "q", "t", "q_hat", "t_hat", "p_hat",
                   "converged", "residual")}
        arrays["h2"] = np.atleast_1d(th.binary_entropy(r.d))
        params.update(alpha=alpha, kappa=float(kappa), kappa_ref=r.kappa_ref, q0=r.q0,
                      d_max=r.d_max, entropy_max=r.entropy_max)
    elif name == "flat-minima":
        out = th.flat_minima_threshold(float(kappa))
        arrays = {"alpha_LE": np.array([out.pop("alpha_LE")])}
        params.update(out)
    elif name == "symmetric":
        alpha = _need_alpha(args) if args.alpha is not None else None
        k = np.atleast_1d(kappa)
        arrays = {"kappa": k, "alpha_c": np.atleast_1d(th.symmetric_capacity(k))}
        if alpha is not None:
            a, kk = np.broadcast_arrays(np.atleast_1d(alpha), k)
            arrays = {"alpha": a, "kappa": kk, "entropy": th.symmetric_entropy(a, kk),
                      "alpha_c": np.atleast_1d(th.symmetric_capacity(kk))}
    elif name == "teacher-student":
        if args.alpha is None:
            out = th.teacher_student_thresholds()
            arrays = {k: np.array([v]) for k, v in out.items()}
        else:
            rows = []
            for a in np.atleast_1d(_grid(args.alpha)):
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
    arrays, params = _compute(args)
    if args.store:
        from spinglass_nets.store import write_theory

        write_theory(args.store, args.name, arrays, params)
    if args.json:
        obj = {"name": args.name, "params": {k: _tolist(v) for k, v in params.items()}}
        obj.update({k: _tolist(v) for k, v in arrays.items()})
        json.dump(obj, sys.stdout, allow_nan=False)
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
    return 0


def main(argv=None) -> int:
    """Stand-alone entry point (``python -m spinglass_nets.theory._cli``) for testing."""
    parser = argparse.ArgumentParser(prog="spinglass-nets")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
