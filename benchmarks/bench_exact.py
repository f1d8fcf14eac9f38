"""Time the exact density of states at N = 28, alpha = 0.5 (binary, kappa = 0) on one core.

Compile (or cache load) is excluded by a warm-up call on a small instance with the same
kernel signature; the timed calls are warm. Writes ``benchmarks/results/exact.json``.

Usage: ``python benchmarks/bench_exact.py [--n 28] [--repeat 3] [--threads 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=28)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "exact.json"))
    args = ap.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))

    import numba
    import numpy as np

    import spinglass_nets as sn
    from spinglass_nets import exact

    numba.set_num_threads(args.threads)
    inst = sn.make_perceptron(args.n, args.alpha, kappa=0.0, rng=args.seed)
    t0 = time.perf_counter()
    exact.density_of_states(sn.make_perceptron(12, args.alpha, rng=1))  # compile / cache load
    warmup_s = time.perf_counter() - t0
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        dos = exact.density_of_states(inst, "errors")
        times.append(time.perf_counter() - t0)
    assert int(dos.counts.sum()) == 2**args.n
    best = min(times)
    result = {
        "benchmark": "exact.density_of_states(kind='errors')",
        "n": args.n,
        "p": inst.p,
        "alpha": inst.alpha,
        "kappa": 0.0,
        "patterns": "binary",
        "seed": args.seed,
        "threads": args.threads,
        "repeat": args.repeat,
        "seconds_best": best,
        "seconds_all": times,
        "ns_per_configuration": best / 2**args.n * 1e9,
        "warmup_seconds": warmup_s,
        "n_solutions": dos.n_solutions,
        "levels": dos.energies.tolist(),
        "counts": dos.counts.tolist(),
        "target_seconds": 30.0,
        # Other jobs share these cores: the load average qualifies the timing.
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "numba": numba.__version__,
        "numpy": np.__version__,
        "package": sn.__version__,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"exact DOS N={args.n} P={inst.p} threads={args.threads}: best {best:.3f} s of {args.repeat} "
        f"({result['ns_per_configuration']:.2f} ns/configuration; target < 30 s) -> {out}"
    )
    return result


if __name__ == "__main__":
    main()
