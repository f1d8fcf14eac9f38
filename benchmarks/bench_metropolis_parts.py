"""Where the time of a hot Metropolis proposal goes at N = 4095 (errors energy, 1 thread).

Companion of ``bench_metropolis.py`` (which measures the speedups): this one takes the
kernel apart, for the "Performance" section of the README.

1. **Chain.** The real kernel (``Engine.sweep``) on 8 chains from a burned-in state: at the
   calibrated 20-30 % acceptance temperature, and at beta = 20 (acceptance ~0.001: the same
   code path with almost no accepted flip, i.e. the cost of a rejected proposal). The
   difference divided by the acceptance is the cost of one accepted flip inside the chain.
2. **Parts** (a compiled loop written here, with no generator and no acceptance test): the
   dE of a proposal alone (``_delta_ab``); dE followed by an accepted flip on every proposal,
   so that each dE waits for the previous flip (the serial case), with single flips
   (``flip_planes``) and with the pairs the kernel uses (``pend_one`` + ``pair_planes``); the
   same with flips on a random 26 % of the proposals (unpredictable branches, as in the chain),
   and with that branch but no flip work. Sites come in blocks of 32 followed by the same
   sites reversed, so the fields stay near their burned-in values (random flips would let
   them diffuse, which a Metropolis chain does not do).
3. **Store floor.** What the plane updates of one pair of accepted flips write: ``pair_planes``
   rewrites 7 bit planes, ``near`` and ``mab`` (9 x Wp words) and ``pend_one`` rewrites ``mab``
   (Wp words). A compiled loop does read-xor-write passes over exactly that many words in
   L1 (nothing else), which bounds the plane work from below by the core's store bandwidth
   (~32 bytes per cycle on Zen 4). With the chain's rejected-proposal cost and the branch
   cost per accept (part 2, "branch only"), this gives a floor for the chain as written
   (accepted flips on a branch, fields in bit planes): ``beta20 + acceptance x (stores +
   branch) per accept``.

Usage::

    python benchmarks/bench_metropolis_parts.py          # a few seconds

Prints a table and writes ``benchmarks/results/metropolis_parts.json``. Timings are minima of
3 repeats; machine noise on this VM is about 10 % between processes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np

import spinglass_nets as sn
from spinglass_nets import _rng
from spinglass_nets.samplers import _kernels as K
from spinglass_nets.samplers._engine import Engine

HERE = Path(__file__).resolve().parent
HOT_BETA = {0.5: 0.4472, 0.8: 0.3527}  # bench_metropolis.py's calibration at N = 4095
MODES = ("single", "pair", "branch only")


@numba.njit
def _parts(cbits, h, B, P, W, sites, negs, accs, mode):
    """dE of ``sites[k]`` per step; on steps with ``accs`` set, flip ``sites[k]`` (mode 0:
    single flips, 1: pairs, 2: no flip work) and move on to the next site. Returns the sum of
    the dE (kept so that nothing is optimised away)."""
    Wp = (W + 7) & ~7
    buf = np.empty((K.PLANES + 4) * Wp + 8, dtype=np.uint64)
    o = np.int64(((-buf.ctypes.data) & 63) >> 3)
    pl = buf[o:o + K.PLANES * Wp]
    mab = buf[o + K.PLANES * Wp:o + (K.PLANES + 1) * Wp]
    fb = buf[o + (K.PLANES + 1) * Wp:o + (K.PLANES + 2) * Wp]
    valid = buf[o + (K.PLANES + 2) * Wp:o + (K.PLANES + 3) * Wp]
    near = buf[o + (K.PLANES + 3) * Wp:o + (K.PLANES + 4) * Wp]
    nb = K._planes_init(h, B, P, W, Wp, pl, mab, fb, valid, near)
    tot = np.int64(0)
    pend = False
    pi = np.int64(0)
    pneg = np.uint64(0)
    k = 0
    for t in range(accs.shape[0]):
        de = K._delta_ab(cbits, sites[k], negs[k], mab, 8) - nb
        tot += de
        if accs[t] ^ (de > 1000000):  # data-dependent in form, so the flip waits for dE
            i = sites[k]
            neg = negs[k]
            k += 1
            if mode == 0:
                nb = K._flip_ab(pl, cbits, i, neg, valid, mab, fb, near, 8)
            elif mode == 1:
                if pend:
                    nb = K._pair_ab(pl, cbits, pi, pneg, i, neg, valid, mab, fb, near, 8)
                else:
                    nb = K._pend_one_ab(pl, cbits, i, neg, mab, near, 8)
                    pi = i
                    pneg = neg
                pend = not pend
            else:
                nb += 1
    return tot


@numba.njit
def _rmw(buf, n_pass):
    """``n_pass`` read-xor-write passes over ``buf`` (the store traffic alone)."""
    x = np.uint64(0)
    for _ in range(n_pass):
        x += np.uint64(1)
        for k in range(buf.shape[0]):
            buf[k] ^= x
    return buf[0]


def store_floor_ns(W, n_pass=200_000, repeats=5):
    """ns per accepted flip spent writing the words the paired updates write (10 x Wp per
    pair: pair_planes' 7 planes + near + mab, pend_one's mab), from L1."""
    Wp = (W + 7) & ~7
    raw = np.zeros(10 * Wp + 8, np.uint64)
    o = ((-raw.ctypes.data) & 63) >> 3  # 64-byte aligned, as the kernel's planes
    buf = raw[o:o + 10 * Wp]
    _rmw(buf, 10)
    best = np.inf
    for _ in range(repeats):
        t = time.thread_time()
        _rmw(buf, n_pass)
        best = min(best, (time.thread_time() - t) / n_pass * 1e9)
    return best / 2, 10 * Wp * 8


def _engine(alpha, beta, seed=0):
    inst = sn.make_perceptron(4095, alpha, rng=1)
    gen = np.random.default_rng(seed)
    w = (2 * gen.integers(0, 2, size=(8, inst.n)) - 1).astype(np.int8)
    eng = Engine(inst, w, _rng.chain_states(np.random.SeedSequence(seed), 8), "errors")
    eng.sweep(np.full((8, 30), beta))
    eng.take_counters()
    return inst, eng


def chain_ns(eng, beta, sweeps=20, repeats=3):
    best, acc = np.inf, 0.0
    for _ in range(repeats):
        t = time.thread_time()
        eng.sweep(np.full((eng.C, sweeps), beta))
        dt = time.thread_time() - t
        a, p = eng.take_counters()
        best, acc = min(best, dt / p.sum() * 1e9), a.sum() / p.sum()
    return best, acc


def parts_ns(inst, eng, T=200_000, repeats=3, seed=5):
    gen = np.random.default_rng(seed)
    lay, n = eng.lay, inst.n
    h = eng.h[0].copy()
    base = gen.integers(0, n, (T // 64 + 1, 32))
    sites = np.ascontiguousarray(np.concatenate([base, base[:, ::-1]], axis=1).ravel()[:T])
    sign = eng.w[0].astype(np.int64).copy()
    negs = np.empty(T, np.uint64)
    for t, i in enumerate(sites):
        negs[t] = 0 if sign[i] > 0 else np.uint64(2**64 - 1)
        sign[i] = -sign[i]
    patterns = {"none": np.zeros(T, bool), "every": np.ones(T, bool), "random 26 %": gen.random(T) < 0.26}
    out = {}
    for name, accs in patterns.items():
        for mode in range(3):
            if name == "none" and mode:
                continue
            _parts(lay.cbits, h.copy(), lay.B, lay.p, lay.W, sites[:1000], negs[:1000], accs[:1000], mode)
            best = np.inf
            for _ in range(repeats):
                t0 = time.thread_time()
                _parts(lay.cbits, h.copy(), lay.B, lay.p, lay.W, sites, negs, accs, mode)
                best = min(best, (time.thread_time() - t0) / T * 1e9)
            out["dE only" if name == "none" else f"{name}: {MODES[mode]}"] = best
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "results" / "metropolis_parts.json"))
    args = ap.parse_args(argv)
    numba.set_num_threads(1)
    rows = []
    for alpha, beta in HOT_BETA.items():
        inst, eng = _engine(alpha, beta)
        hot, acc = chain_ns(eng, beta)
        cold, acc_cold = chain_ns(eng, 20.0)
        eng.sweep(np.full((eng.C, 5), beta))
        eng.take_counters()
        row = {"n": inst.n, "p": inst.p, "alpha": alpha, "beta_hot": beta, "chain_hot_ns": hot, "acceptance": acc,
               "chain_beta20_ns": cold, "acceptance_beta20": acc_cold,
               "accepted_flip_ns_in_chain": (hot - cold) / acc, "parts_ns": parts_ns(inst, eng)}
        stores, nbytes = store_floor_ns(eng.lay.W)
        branch = (row["parts_ns"]["random 26 %: branch only"] - row["parts_ns"]["dE only"]) / 0.26
        row.update(store_bytes_per_pair=nbytes, stores_ns_per_accept=stores, branch_ns_per_accept=branch,
                   floor_ns=cold + acc * (stores + branch))
        rows.append(row)
        print(f"N = {inst.n}, alpha = {alpha}: chain {hot:.1f} ns/proposal at acceptance {acc:.3f}, "
              f"{cold:.1f} ns at beta = 20 (acceptance {acc_cold:.4f}); one accepted flip costs "
              f"{row['accepted_flip_ns_in_chain']:.0f} ns in the chain")
        for k, v in row["parts_ns"].items():
            print(f"    parts, {k:28s} {v:6.1f} ns/step")
        print(f"    stores of a pair ({nbytes} B, from L1): {stores:.1f} ns per accepted flip; branch "
              f"{branch:.1f} ns per accept; floor of this design {row['floor_ns']:.1f} ns/proposal")
    res = {"benchmark": "metropolis_parts", "rows": rows,
           "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "numba": numba.__version__,
                       "load_avg": list(os.getloadavg())}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
