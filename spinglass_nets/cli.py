"""Command line: ``spinglass-nets <subcommand>`` (also ``python -m spinglass_nets``).

Each subcommand is a thin layer over the library. Heavy imports happen inside handlers so
``--help`` is instant. Errors are one line on stderr and exit status 2; results go to
stdout, as one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage + message, and without
    abbreviated options (``--beta-s`` for ``--beta-start``): every option is spelled out, so
    the checks of which options apply see what was given."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _emit(args, obj, text):
    if getattr(args, "json", False):
        from ._json import strict

        print(json.dumps(strict(obj), allow_nan=False))
    else:
        print(text)


def _int_at_least(lo):
    """argparse type: an integer >= lo, with a one-line error otherwise."""

    def parse(s):
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{s!r} is not an integer") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"{s!r} must be >= {lo}")
        return v

    return parse


_positive_int = _int_at_least(1)
_nonneg_int = _int_at_least(0)


def _float(s):
    try:
        return float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None


# ------------------------------------------------------------------------------ handlers
def cmd_instance(args):
    from . import make_perceptron, make_symmetric_perceptron
    from .store import write_instance

    if args.symmetric:
        if args.labels != "random":
            raise ValueError("--labels teacher is not defined for --symmetric instances")
        inst = make_symmetric_perceptron(args.n, args.alpha, kappa=args.kappa, patterns=args.patterns, rng=args.seed)
    else:
        inst = make_perceptron(args.n, args.alpha, kappa=args.kappa, labels=args.labels, patterns=args.patterns,
                               rng=args.seed)
    write_instance(args.output, inst, overwrite=args.overwrite)
    d = inst.describe()
    d["path"] = str(args.output)
    _emit(args, d, f"wrote {args.output}: {inst.kind} N={inst.n} P={inst.p} alpha={inst.alpha:.4g} "
                   f"kappa={inst.kappa:g} labels={inst.labels} patterns={inst.patterns}")
    return 0


# Which `sample` options each sampler reads; any other sampler option given is refused
# rather than silently ignored. With --resume the stored run fixes everything but these.
_SAMPLER_OPTIONS = {
    "metropolis": {"--beta"},
    "anneal": {"--beta-start", "--beta-end", "--schedule"},
    "tempering": {"--beta-min", "--beta-max", "--n-temps", "--swap-every", "--schedule"},
    "walk": {"--find-sweeps"},
    "replicated": {"--replicas", "--form", "--gamma-start", "--gamma-end", "--beta-start", "--beta-end"},
    "reference": {"--reference", "--lam-min", "--lam-max", "--n-lams", "--beta", "--swap-every", "--find-sweeps"},
    "edmc": {"--gamma-start", "--gamma-end", "--gamma-growth", "--beta-e", "--bp-tol", "--bp-max-iter",
             "--bp-damping", "--bp-method"},
}
_RESUME_OPTIONS = {"--resume", "--run-name", "--sweeps", "--checkpoint-every", "--threads", "--json"}
# --init, --chains, --seed, ... apply to every sampler (not listed above)


def _check_sample_options(args):
    given = getattr(args, "given", set())
    every = set().union(*_SAMPLER_OPTIONS.values())
    if args.resume:
        bad = sorted(g for g in given if g not in _RESUME_OPTIONS)
        if bad:
            raise ValueError(f"{', '.join(bad)} cannot be used with --resume: the run continues with its stored "
                             "sampler, chains, seed and schedule (only --sweeps, --checkpoint-every, --threads, "
                             "--json apply)")
        return
    bad = sorted(g for g in given if g in every and g not in _SAMPLER_OPTIONS[args.sampler])
    if bad:
        raise ValueError(f"{', '.join(bad)} do{'es' if len(bad) == 1 else ''} not apply to --sampler "
                         f"{args.sampler} (its options: {', '.join(sorted(_SAMPLER_OPTIONS[args.sampler]))})")
    if args.run_name is not None and not args.run_name.strip():
        raise ValueError("--run-name must not be empty")


def _build_sampler(args):
    import numpy as np

    from .samplers import Metropolis, ParallelTempering, SimulatedAnnealing, SolutionWalk, schedules

    if args.sampler == "metropolis":
        return Metropolis(beta=args.beta, energy=args.energy)
    if args.sampler == "anneal":
        make = schedules.geometric if args.schedule == "geometric" else schedules.linear
        return SimulatedAnnealing(make(args.beta_start, args.beta_end, args.sweeps), energy=args.energy)
    if args.sampler == "tempering":
        ladder = schedules.ladder(args.beta_min, args.beta_max, args.n_temps, kind=args.schedule)
        return ParallelTempering(np.asarray(ladder), swap_every=args.swap_every, energy=args.energy)
    if args.sampler == "replicated":
        from .samplers import ReplicatedAnnealing

        return ReplicatedAnnealing.for_sweeps(
            args.sweeps, y=args.replicas, beta_start=args.beta_start, beta_end=args.beta_end,
            gamma_start=0.05 if args.gamma_start is None else args.gamma_start,
            gamma_end=3.0 if args.gamma_end is None else args.gamma_end, form=args.form, energy=args.energy)
    if args.sampler == "edmc":
        from .samplers import EntropyDrivenMC

        if args.energy != "errors":
            raise ValueError("--energy linear is not defined for --sampler edmc (its energy is -N F; the trace "
                             "records the errors of the centre)")
        return EntropyDrivenMC(
            gamma0=0.1 if args.gamma_start is None else args.gamma_start, gamma_growth=args.gamma_growth,
            gamma_max=50.0 if args.gamma_end is None else args.gamma_end, beta_e=args.beta_e, tol=args.bp_tol,
            max_iter=args.bp_max_iter, damping=args.bp_damping, bp_method=args.bp_method)
    if args.sampler == "reference":
        from .samplers import ReferenceTempering

        for flag, v in (("--lam-min", args.lam_min), ("--lam-max", args.lam_max)):
            if not np.isfinite(v):
                raise ValueError(f"{flag} {v} must be a finite number")
        lams = np.linspace(args.lam_min, args.lam_max, args.n_lams)
        return ReferenceTempering(args.reference_w, lams, beta=args.beta, swap_every=args.swap_every,
                                  energy=args.energy, find_sweeps=args.find_sweeps)
    if args.energy != "errors":
        raise ValueError("--energy linear is not defined for the solution walk (it moves at zero errors)")
    return SolutionWalk(find_sweeps=args.find_sweeps)


def cmd_sample(args):
    import numba

    from .samplers import resume, run

    if args.threads is not None:
        if not 1 <= args.threads <= numba.config.NUMBA_NUM_THREADS:
            raise ValueError(f"--threads {args.threads} must be between 1 and {numba.config.NUMBA_NUM_THREADS}")
        numba.set_num_threads(args.threads)
    _check_sample_options(args)
    ckpt = args.checkpoint_every
    if args.resume:
        if args.run_name is None:
            raise ValueError("--resume needs --run-name NAME")
        from .store import open_store

        with open_store(args.file) as st:
            st.refuse_live()
            r = st.run(args.run_name)
            done, total, finished = r.sweeps_done, r.attrs["n_sweeps"], r.finished
        if finished and (args.sweeps is None or args.sweeps <= total):
            raise ValueError(f"run {args.run_name!r} is finished ({done}/{total} sweeps); pass --sweeps S > {total} "
                             "to extend it")
        res = resume(args.file, args.run_name, n_sweeps=args.sweeps, progress=None, keep_samples=False,
                     checkpoint_every=ckpt)
    else:
        from .store import open_store

        with open_store(args.file) as st:
            inst = st.instance()
            init = None if args.init is None else _init_config(args.init, inst, st)
            if args.sampler == "reference":
                if args.reference is None:
                    raise ValueError("--sampler reference needs --reference (teacher or RUN[:CHAIN[:RECORD]])")
                args.reference_w = _reference(args.reference, inst, st)
        sampler = _build_sampler(args)
        res = run(sampler, inst, n_chains=args.chains, n_sweeps=args.sweeps, record_every=args.record_every,
                  init=init, rng=args.seed, store=args.file, run_name=args.run_name or sampler.name, progress=None,
                  keep_samples=False, checkpoint_every=ckpt, overwrite=args.overwrite)
    e = res.final_state.energy
    K = res.sampler.n_temperatures
    by_chain = e.reshape(-1, K)  # kernel rows c * K + k: member k of chain c
    out = {
        "file": str(args.file), "run": res.run_name, "sampler": res.sampler.name, "params": res.sampler.params(),
        "sweeps_done": int(res.final_state.sweep), "n_chains": int(by_chain.shape[0]), "members_per_chain": K,
        "final_energy": by_chain.tolist() if K > 1 else e.tolist(),
        "solved_chains": int((by_chain == 0).any(axis=1).sum()),
        "acceptance": float(res.acceptance.mean()), "seconds": res.seconds, "seed": res.seed, "stats": res.stats,
    }
    chains = f"{out['n_chains']} chains" + (f" x {K} members" if K > 1 else "")
    _emit(args, out, f"{args.file}:/runs/{res.run_name}: {res.sampler.name}, {out['sweeps_done']} sweeps, "
                     f"{chains}, min energy {e.min():g}, {out['solved_chains']} chains with a member at zero, "
                     f"acceptance {out['acceptance']:.3f}, {res.seconds:.2f} s")
    return 0


def cmd_enumerate(args):
    import numpy as np

    from . import exact
    from .store import open_store

    with open_store(args.file) as st:
        inst = st.instance()
        reference = None
        if args.what == "distance":
            reference = _reference(args.reference, inst, st)
        elif args.reference is not None:
            raise ValueError(f"--reference applies to --what distance, not --what {args.what}")
        if args.what != "dos" and "--energy" in getattr(args, "given", set()):
            raise ValueError(f"--energy applies to --what dos, not --what {args.what}")
    out = {"file": str(args.file), "n": inst.n, "p": inst.p, "alpha": inst.alpha, "kappa": inst.kappa}
    if args.what == "count":
        cnt = exact.count_solutions(inst)
        out["count"] = int(cnt)
        out["entropy"] = float(np.log(cnt) / inst.n) if cnt else None
        text = f"{cnt} solutions; (1/N) log count = " + (f"{out['entropy']:.6g}" if cnt else "-inf (no solution)")
    elif args.what == "dos":
        dos = exact.density_of_states(inst, kind=args.energy)
        out["energies"] = np.asarray(dos.energies).tolist()
        out["counts"] = np.asarray(dos.counts).tolist()
        text = "\n".join(f"{e:>12g} {c}" for e, c in zip(out["energies"], out["counts"]))
    else:
        prof = exact.distance_profile(inst, reference)
        out["counts"] = np.asarray(prof).tolist()
        text = "\n".join(f"{k:>4d} {c}" for k, c in enumerate(out["counts"]))
    _emit(args, out, text)
    return 0


def _reference(spec, inst, st):
    """Parse ``--reference``: 'teacher', or RUN[:CHAIN[:RECORD]] (default last record, chain 0)."""
    if spec is None:
        raise ValueError("--what distance needs --reference (teacher or RUN[:CHAIN[:RECORD]])")
    if spec == "teacher":
        if inst.teacher is None:
            raise ValueError("--reference teacher: this instance has no teacher")
        return inst.teacher
    parts = spec.split(":")
    if len(parts) > 3:
        raise ValueError(f"--reference {spec}: expected 'teacher' or RUN[:CHAIN[:RECORD]]")
    try:
        idx = [int(x) for x in parts[1:]]
    except ValueError:
        raise ValueError(f"--reference {spec}: CHAIN and RECORD must be integers (RUN[:CHAIN[:RECORD]])") from None
    run = st.run(parts[0])
    if run.n_written == 0:
        raise ValueError(f"run {parts[0]!r} has no records")
    chain = idx[0] if idx else 0
    rec = idx[1] if len(idx) > 1 else run.n_written - 1
    s = run.samples()
    if not (0 <= chain < s.shape[1]) or not (-s.shape[0] <= rec < s.shape[0]):
        raise ValueError(f"--reference {spec}: chain must be in [0, {s.shape[1]}), record in [-{s.shape[0]}, "
                         f"{s.shape[0]}) (negative: from the end)")
    return s[rec, chain]


def _init_config(spec, inst, st):
    """Parse ``--init``: a stored solver result (``/analysis/NAME`` with a ``w``, e.g.
    ``solve_fbp``), or a reference as in ``--reference``; one configuration for every chain."""
    if spec in st.analyses():
        arrays, _ = st.analysis(spec)
        w = arrays.get("w")
        if w is None or w.shape != (inst.n,):
            raise ValueError(f"--init {spec}: /analysis/{spec} holds no configuration w of length N = {inst.n}")
        return w
    try:
        return _reference(spec, inst, st)
    except ValueError as exc:
        raise ValueError(f"--init {spec}: not an analysis with a w ({', '.join(st.analyses()) or 'none'}) "
                         f"nor a reference ({exc})") from None


def _short(params):
    """Parameters for one line of text: long lists become [first, ..., last] (n values)."""
    out = {}
    for k, v in params.items():
        if isinstance(v, list) and len(v) > 6:
            v = f"[{v[0]:.4g}, ..., {v[-1]:.4g}] ({len(v)} values)" if isinstance(v[0], float) else f"({len(v)} values)"
        out[k] = v
    return out


def cmd_info(args):
    from .store import open_store

    with open_store(args.file) as st:
        d = st.describe()
    lines = [f"{d['path']}: spinglass_nets store, schema {d['attrs'].get('schema_version')}, "
             f"package {d['attrs'].get('package_version')}, created {d['attrs'].get('created')}"]
    if "instance" in d:
        i = d["instance"]
        lines.append(f"instance: {i['kind']} N={i['n']} P={i['p']} alpha={i['alpha']:.4g} kappa={i['kappa']:g} "
                     f"labels={i['labels']} patterns={i['patterns']}")
    if d["live"]:
        lines.append("(another process is writing this store: a live view, runs as of their last checkpoint)")
    for name, r in d["runs"].items():
        lines.append(f"run {name}: {r['sampler']} {_short(r['params'])} chains={r['n_chains']}x{r['n_temperatures']} "
                     f"sweeps {r['sweeps_done']}/{r['n_sweeps']} records={r['records']} "
                     f"{'finished' if r['finished'] else 'resumable' if r['resumable'] else 'no checkpoint'}")
    for g in ("analysis", "theory"):
        if d[g]:
            lines.append(f"{g}: {', '.join(d[g])}")
    _emit(args, d, "\n".join(lines))
    return 0


def cmd_demo(args):
    from .demo import demo

    out = demo(args.output, seed=args.seed, overwrite=args.overwrite)
    _emit(args, out, out.pop("table"))
    return 0 if out["ok"] else 1


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="spinglass-nets", description="Statistical physics of the binary perceptron: instances, "
                "Monte Carlo, exact enumeration, HDF5 stores, theory.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"spinglass_nets {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    q = sub.add_parser("instance", help="draw an instance and write it to a new store")
    q.add_argument("--n", type=_positive_int, required=True, help="number of weights N")
    q.add_argument("--alpha", type=_float, required=True, help="load P/N (P = round(alpha N))")
    q.add_argument("--kappa", type=_float, default=None, help="margin (default 0; symmetric: required, > 0)")
    q.add_argument("--labels", choices=["random", "teacher"], default="random")
    q.add_argument("--patterns", choices=["binary", "gaussian"], default="binary")
    q.add_argument("--symmetric", action="store_true", help="symmetric perceptron |Delta| <= kappa")
    q.add_argument("--seed", type=_nonneg_int, required=True)
    q.add_argument("-o", "--output", type=Path, required=True)
    q.add_argument("--overwrite", action="store_true")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_instance)

    q = sub.add_parser("sample", help="run a sampler on a store's instance (or --resume a run)")
    q.add_argument("file", type=Path)
    q.add_argument("--sampler", default="metropolis",
                   choices=["metropolis", "anneal", "tempering", "walk", "replicated", "reference", "edmc"])
    q.add_argument("--beta", type=_float, default=1.0, help="inverse temperature (metropolis, reference; 'inf' allowed)")
    q.add_argument("--beta-start", type=_float, default=0.5, help="anneal, replicated: first beta")
    q.add_argument("--beta-end", type=_float, default=10.0, help="anneal, replicated: last beta")
    q.add_argument("--schedule", choices=["geometric", "linear"], default="geometric",
                   help="anneal schedule / tempering ladder spacing")
    q.add_argument("--beta-min", type=_float, default=0.5, help="tempering: hottest beta")
    q.add_argument("--beta-max", type=_float, default=5.0, help="tempering: coldest beta")
    q.add_argument("--n-temps", type=_positive_int, default=8, help="tempering: number of temperatures")
    q.add_argument("--swap-every", type=_positive_int, default=1, help="tempering and reference: sweeps between exchanges")
    q.add_argument("--replicas", type=_positive_int, default=3, help="replicated: replicas y per chain")
    q.add_argument("--form", choices=["centre", "traced"], default="centre", help="replicated: centre explicit or traced out")
    q.add_argument("--gamma-start", type=_float, default=None,
                   help="replicated: first coupling gamma (default 0.05); edmc: gamma0 (default 0.1)")
    q.add_argument("--gamma-end", type=_float, default=None,
                   help="replicated: last coupling gamma (default 3); edmc: gamma_max (default 50)")
    q.add_argument("--gamma-growth", type=_float, default=1.2,
                   help="edmc: gamma_t = min(gamma0 * growth**t, gamma_max) (default 1.2)")
    q.add_argument("--beta-e", type=_float, default=float("inf"),
                   help="edmc: inverse temperature on -N F (default inf: greedy)")
    q.add_argument("--bp-tol", type=_float, default=1e-6, help="edmc: BP tolerance per proposal")
    q.add_argument("--bp-max-iter", type=_positive_int, default=200, help="edmc: BP iterations per proposal, at most")
    q.add_argument("--bp-damping", type=_float, default=0.5, help="edmc: BP damping in [0, 1)")
    q.add_argument("--bp-method", choices=["amp", "edge"], default="amp", help="edmc: BP messages")
    q.add_argument("--reference", default=None, help="reference: 'teacher' or RUN[:CHAIN[:RECORD]]")
    q.add_argument("--lam-min", type=_float, default=0.0, help="reference: smallest coupling lambda")
    q.add_argument("--lam-max", type=_float, default=1.0, help="reference: largest coupling lambda")
    q.add_argument("--n-lams", type=_positive_int, default=6, help="reference: ladder size")
    q.add_argument("--init", default=None, metavar="SPEC",
                   help="start every chain from one stored configuration: a solver result (/analysis/NAME, e.g. "
                        "solve_fbp), 'teacher', or RUN[:CHAIN[:RECORD]]; default: random configurations")
    q.add_argument("--find-sweeps", type=_positive_int, default=400,
                   help="walk (and reference at beta = inf): annealing sweeps per pass to find each chain's "
                        "starting solution (up to three passes)")
    q.add_argument("--energy", choices=["errors", "linear"], default="errors")
    q.add_argument("--chains", type=_positive_int, default=4)
    q.add_argument("--sweeps", type=_positive_int, default=None,
                   help="sweeps (default 1000, edmc 50; resume: extend to)")
    q.add_argument("--record-every", type=_positive_int, default=10)
    q.add_argument("--seed", type=_nonneg_int, default=None, help="root seed (default: fresh entropy, recorded)")
    q.add_argument("--run-name", default=None)
    q.add_argument("--resume", action="store_true", help="continue --run-name from its last checkpoint")
    q.add_argument("--overwrite", action="store_true", help="replace an existing run of that name")
    q.add_argument("--checkpoint-every", type=_float, default=5.0, help="seconds between checkpoints")
    q.add_argument("--threads", type=_positive_int, default=None, help="Numba threads (chains run in parallel)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_sample)

    q = sub.add_parser("enumerate", help="exact enumeration of a small instance (N <= 34 for +-1 patterns, 30 for Gaussian)")
    q.add_argument("file", type=Path)
    q.add_argument("--what", choices=["count", "dos", "distance"], default="count")
    q.add_argument("--energy", choices=["errors", "linear"], default="errors")
    q.add_argument("--reference", default=None, help="distance: 'teacher' or RUN[:CHAIN[:RECORD]]")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_enumerate)

    q = sub.add_parser("info", help="describe a store")
    q.add_argument("file", type=Path)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_info)

    q = sub.add_parser("demo", help="the embedded default: N=21 instance, enumeration, annealing, walk, checks")
    q.add_argument("-o", "--output", type=Path, default=Path("demo.h5"))
    q.add_argument("--seed", type=_nonneg_int, default=2024)
    q.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_demo)

    for modname in ("spinglass_nets.theory._cli", "spinglass_nets._cli_solve", "spinglass_nets.analysis._cli"):
        try:
            mod = __import__(modname, fromlist=["add_parser"])
        except ImportError:
            continue
        mod.add_parser(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None) == "sample" and args.sweeps is None and not args.resume:
        args.sweeps = 50 if args.sampler == "edmc" else 1000
    if getattr(args, "command", None) == "instance" and args.kappa is None:
        if args.symmetric:
            parser.error("--symmetric needs --kappa > 0")
        args.kappa = 0.0
    raw = sys.argv[1:] if argv is None else list(argv)
    args.given = {tok.split("=", 1)[0] for tok in raw[1:] if tok.startswith("--")}
    from .errors import SpinglassError

    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `spinglass-nets info x.h5 | head`: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, SpinglassError, OSError, MemoryError) as exc:
        msg = " ".join(str(exc).split())  # one line, even when a library message has several
        if isinstance(exc, MemoryError):
            msg = f"out of memory: {msg}"
        print(f"spinglass-nets {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"spinglass-nets {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
