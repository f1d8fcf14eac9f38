"""``spinglass-nets solve FILE --method M``: find a solution of a store's instance."""

from __future__ import annotations

import json


def add_parser(sub):
    from .cli import _float, _nonneg_int, _positive_int

    q = sub.add_parser("solve", help="find a solution of a store's instance (fbp, rbp, sbpi, cpr, edmc, anneal, tempering, replicated)")
    q.add_argument("file")
    q.add_argument("--method", choices=["fbp", "rbp", "sbpi", "cpr", "edmc", "anneal", "tempering", "replicated"],
                   default="fbp")
    q.add_argument("--time-limit", type=_float, default=None, help="seconds")
    q.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="what --time-limit and the reported seconds count: wall-clock or CPU seconds of the process")
    q.add_argument("--seed", type=_nonneg_int, default=None)
    q.add_argument("--sweeps", type=_positive_int, default=None, help="Monte Carlo methods: sweep budget")
    q.add_argument("--chains", type=_positive_int, default=None, help="Monte Carlo methods: chains")
    q.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra solver option (JSON value), repeatable, e.g. --option damping=0.9")
    q.add_argument("--save", default=None, metavar="NAME",
                   help="write the result to /analysis/NAME in the store (default solve_<method>)")
    q.add_argument("--no-save", action="store_true", help="do not write the result into the store")
    q.add_argument("--overwrite", action="store_true")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=handler)


def _options(pairs):
    out = {}
    for p in pairs:
        if "=" not in p:
            raise ValueError(f"--option {p!r} must be KEY=VALUE")
        k, v = p.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def handler(args):
    import numpy as np

    from . import solve
    from .cli import _emit
    from .store import read_instance, write_analysis

    inst = read_instance(args.file)
    opts = _options(args.option)
    for key, flag in (("time_limit", "--time-limit"), ("clock", "--clock"), ("rng", "--seed"), ("seed", "--seed")):
        if key in opts:
            raise ValueError(f"--option {key}=...: use {flag} instead")
    if args.method in ("anneal", "tempering", "replicated"):
        for key, flag, v in (("n_sweeps", "--sweeps", args.sweeps), ("n_chains", "--chains", args.chains)):
            if v is not None:
                if key in opts:
                    raise ValueError(f"{flag} and --option {key}=... both given; use one")
                opts[key] = v
    elif args.sweeps is not None or args.chains is not None:
        raise ValueError(f"--sweeps/--chains apply to Monte Carlo methods, not {args.method!r}")
    name = None
    if not args.no_save:
        from .store import check_named_free

        name = f"solve_{args.method}" if args.save is None else args.save
        check_named_free(args.file, "analysis", name, args.overwrite)  # before the (long) solve
    elif args.save is not None or args.overwrite:
        raise ValueError("--no-save cannot be combined with --save or --overwrite")
    res = solve(inst, args.method, time_limit=args.time_limit, clock=args.clock, rng=args.seed, progress=None, **opts)
    if name is not None:
        arrays = {"w": res.w, **{f"history_{k}": np.asarray(v) for k, v in res.history.items()}}
        params = {"method": args.method, "seed": args.seed, "time_limit": args.time_limit, "clock": args.clock,
                  "solved": res.solved,
                  "energy": res.energy, "seconds": res.seconds, "iterations": res.iterations, "stop": res.stop,
                  "options": res.params}
        write_analysis(args.file, name, arrays, params, overwrite=args.overwrite)
    out = {"file": str(args.file), "method": args.method, "solved": res.solved, "energy": res.energy,
           "seconds": res.seconds, "iterations": res.iterations, "stop": res.stop, "saved_as": name,
           "params": res.params}
    _emit(args, out, f"{args.method}: {'solved' if res.solved else 'not solved'} (energy {res.energy}) in "
                     f"{res.seconds:.3g} s, {res.iterations} iterations, stop={res.stop}"
                     + (f"; saved to /analysis/{name}" if name else ""))
    return 0
