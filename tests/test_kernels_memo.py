"""The zero-temperature memo and the bit-sliced fields of the Metropolis kernels are exact.

At ``beta = inf`` the kernels skip the dE of a site whose last proposal was rejected without
a uniform, until some flip is accepted, and a chain whose sites are all so marked only draws
its sites (``_kernels._metropolis_bits_chain``). Inside an errors-energy call the bits
kernel keeps its fields as 16 bit planes (``_numba.flip_planes``). Both are pure
optimisations: these tests compare the kernels with reference chains written from scratch
(NumPy fields, the Python xoshiro256** referee) on frozen chains, chains that freeze in the
middle of a call, schedules mixing finite and infinite betas, with and without an external
field, for both energies, and on fields far enough from the levels that the low byte of the
bit-sliced offsets wraps.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets import _rng
from spinglass_nets._numba import U_B
from spinglass_nets.samplers import _engine as E
from spinglass_nets.samplers import _kernels as K
from tests.conftest import Xoshiro

INF = math.inf


def _decide(rng, beta, de, fw, linear):
    """The kernels' Metropolis rule and its draws (see ``_kernels._field_decision``)."""
    if fw is not None:
        if beta < INF:
            x = fw - beta * de
        elif de > 0:
            return False
        elif de < 0:
            return True
        else:
            x = fw
        if x >= 0.0:
            return True
        pa = math.exp(x)
        return pa > 0.0 and rng.uniform() < pa
    if de <= 0:
        return True
    if beta == INF:
        return False
    if linear:
        return rng.uniform() < math.exp(-beta * de)
    pa = math.exp(-beta * de)
    return pa > 0.0 and rng.uniform() < pa


def reference_bits_chain(inst, w, state, betas, linear, field=None):
    """+-1 patterns, integer fields recomputed per proposal. Returns (w, h, energy, accepted,
    rng state, accepted per sweep)."""
    c = inst.c().astype(np.int64)
    cT = np.ascontiguousarray(c.T)
    n = inst.n
    B = E.layout(inst).B
    inv = 1.0 / math.sqrt(n)
    w = np.array(w, dtype=np.int64)
    h = c @ w
    rng = Xoshiro(state)

    def nv_sv(hh):
        viol = hh <= B
        return int(viol.sum()), int(hh[viol].sum())

    nv, sv = nv_sv(h)
    per_sweep = []
    for beta in betas:
        acc = 0
        for _ in range(n):
            i = rng.site(n)
            h_new = h - 2 * w[i] * cT[i]
            nv2, sv2 = nv_sv(h_new)
            if linear:
                de = (inst.kappa * nv2 - sv2 * inv) - (inst.kappa * nv - sv * inv)
            else:
                de = nv2 - nv
            fw = None if field is None else -2.0 * float(w[i]) * float(field[i])
            if _decide(rng, beta, float(de) if fw is not None else de, fw, linear):
                h, nv, sv = h_new, nv2, sv2
                w[i] = -w[i]
                acc += 1
        per_sweep.append(acc)
    energy = float(nv) if not linear else inst.kappa * nv - sv / math.sqrt(n)
    return w, h, energy, sum(per_sweep), rng.s, per_sweep


def reference_float_chain(inst, w, state, betas, linear, field=None):
    """Float fields carried incrementally in the kernel's order. Returns (w, accepted, rng
    state, accepted per sweep)."""
    lay = E.layout(inst)
    cT = lay.cT
    n, p = cT.shape
    w = [int(x) for x in w]
    f = [0.0] * p
    for i in range(n):  # the order of _engine.float_fields
        for mu in range(p):
            f[mu] += float(w[i]) * cT[i, mu]

    def pe(x):
        if x < lay.lo:
            return (lay.lo_r - x) * lay.scale if linear else 1.0
        if x > lay.hi:
            return (x - lay.hi_r) * lay.scale if linear else 1.0
        return 0.0

    rng = Xoshiro(state)
    per_sweep = []
    for beta in betas:
        acc = 0
        for _ in range(n):
            i = rng.site(n)
            d = -2.0 * w[i]
            de = 0.0
            for mu in range(p):
                old = f[mu]
                de += pe(old + d * cT[i, mu]) - pe(old)
            fw = None if field is None else -2.0 * w[i] * float(field[i])
            if _decide(rng, beta, de, fw, True):  # the float kernel draws whenever dE > 0 at finite beta
                for mu in range(p):
                    f[mu] += d * cT[i, mu]
                w[i] = -w[i]
                acc += 1
        per_sweep.append(acc)
    return np.array(w), sum(per_sweep), rng.s, per_sweep


def _start(inst, C, seed):
    gen = np.random.default_rng(seed)
    w0 = (2 * gen.integers(0, 2, size=(C, inst.n)) - 1).astype(np.int8)
    return w0, _rng.chain_states(np.random.SeedSequence(seed + 100), C)


def _check_bits(inst, eng, w0, states, schedule, linear, fields=None):
    """Run ``schedule`` (C, S) in one call and compare every chain with the reference."""
    eng.sweep(schedule)
    acc, prop = eng.take_counters()
    per = []
    for ch in range(w0.shape[0]):
        fld = None if fields is None else fields[ch]
        w, h, e, a, s, ps = reference_bits_chain(inst, w0[ch], states[ch], schedule[ch], linear, fld)
        assert np.array_equal(eng.w[ch], w)
        assert np.array_equal(eng.fields()[ch], h)
        assert eng.energies()[ch] == pytest.approx(e, abs=1e-9)
        assert acc[ch] == a and prop[ch] == inst.n * schedule.shape[1]
        assert [int(x) for x in eng.rng_state()[ch]] == s
        per.append(ps)
    la, lb, vb = np.zeros_like(eng.la), np.zeros_like(eng.lb), np.zeros_like(eng.vb)
    for ch in range(w0.shape[0]):
        K.rebuild_bits(eng.h[ch], eng.lay.A, eng.lay.B, la[ch], lb[ch], vb[ch], eng.lay.W)
    assert np.array_equal(la, eng.la) and np.array_equal(lb, eng.lb) and np.array_equal(vb, eng.vb)
    assert np.all(eng.h[:, inst.p:] == K.SENTINEL)
    return per


def _strict_local_min(inst, w, energy):
    e = inst.energy(w, energy)
    for i in range(inst.n):
        w2 = w.copy()
        w2[i] = -w2[i]
        if not inst.energy(w2, energy) > e + 1e-12:
            return False
    return True


BITS = [
    dict(n=61, alpha=0.7, kappa=0.0),  # one word
    dict(n=130, alpha=1.2, kappa=0.25),  # three words, padding
]


@pytest.mark.parametrize("field", [False, True], ids=["plain", "field"])
@pytest.mark.parametrize("energy", ["errors", "linear"])
@pytest.mark.parametrize("case", BITS, ids=lambda c: f"n{c['n']}")
def test_zero_temperature_memo_matches_reference(case, energy, field):
    inst = sn.make_perceptron(case["n"], case["alpha"], kappa=case["kappa"], rng=5)
    C = 3
    w0, states = _start(inst, C, 1)
    fields = np.random.default_rng(2).normal(0.0, 0.3, size=(C, inst.n)) if field else None
    eng = E.Engine(inst, w0, states, energy)
    eng.set_field(fields)
    schedule = np.full((C, 12), np.inf)
    per = _check_bits(inst, eng, w0, states, schedule, energy == "linear", fields)
    # the zero-temperature descent moves at first and then freezes within this one call: it
    # ends in a strict local minimum (every proposal a decided rejection) reached sweeps ago
    assert any(ps[0] > 0 and ps[-4:] == [0] * 4 and _strict_local_min(inst, eng.w[ch], energy)
               for ch, ps in enumerate(per))
    # a second call starts from the frozen state with an empty memo
    w1, s1 = eng.w.copy(), eng.rng_state()
    _check_bits(inst, eng, w1, s1, np.full((C, 4), np.inf), energy == "linear", fields)


@pytest.mark.parametrize("field", [False, True], ids=["plain", "field"])
@pytest.mark.parametrize("energy", ["errors", "linear"])
def test_mixed_finite_and_infinite_betas_match_reference(energy, field):
    inst = sn.make_perceptron(130, 1.2, kappa=0.25, rng=6)
    C = 3
    w0, states = _start(inst, C, 3)
    fields = np.random.default_rng(4).normal(0.0, 0.3, size=(C, inst.n)) if field else None
    eng = E.Engine(inst, w0, states, energy)
    eng.set_field(fields)
    schedule = np.array([
        [INF, INF, INF, 1.5, INF, INF, 0.3, INF, INF],
        [0.5, INF, INF, INF, 2.0, INF, INF, INF, 0.0],
        [INF] * 9,
    ])
    _check_bits(inst, eng, w0, states, schedule, energy == "linear", fields)


@pytest.mark.parametrize("n, alpha", [(301, 3.5), (257, 0.25)], ids=["W17", "W2-odd"])
def test_row_widths_match_reference(n, alpha):
    """The dE and flip code paths are chosen by the row width W (2, 4, <= 16, wider): the
    other tests cover W <= 5; here W = 17 (8-word blocks) and a second W <= 2 case."""
    inst = sn.make_perceptron(n, alpha, kappa=0.1, rng=12)
    C = 2
    w0, states = _start(inst, C, 9)
    eng = E.Engine(inst, w0, states, "errors")
    _check_bits(inst, eng, w0, states, np.array([[0.8, INF, INF], [INF, 2.0, 0.3]]), False)


def test_bit_sliced_fields_exact_when_the_low_byte_wraps():
    """kappa = -5 puts B five standard deviations below the typical field, so the offsets
    ``(h - B) / 2 + U_B`` of many patterns cross 255 / 256 during the run."""
    inst = sn.make_perceptron(1501, 0.2, kappa=-5.0, rng=8)
    C = 2
    w0, states = _start(inst, C, 5)
    lay = E.layout(inst)
    u = (inst.fields(w0) - lay.B) // 2 + U_B
    assert (u > 255).any() and (u <= 255).any()
    eng = E.Engine(inst, w0, states, "errors")
    _check_bits(inst, eng, w0, states, np.array([[1.0, INF, 0.5], [INF, 0.2, INF]]), False)


FLOAT = [
    dict(patterns="gaussian", kind="perceptron", kappa=0.2),
    dict(patterns="binary", kind="symmetric", kappa=0.8),
]


@pytest.mark.parametrize("energy", ["errors", "linear"])
@pytest.mark.parametrize("case", FLOAT, ids=["gauss", "sym-binary"])
def test_float_kernel_memo_matches_reference(case, energy):
    make = sn.make_perceptron if case["kind"] == "perceptron" else sn.make_symmetric_perceptron
    inst = make(40, 0.6, kappa=case["kappa"], patterns=case["patterns"], rng=11)
    C = 3
    w0, states = _start(inst, C, 7)
    eng = E.Engine(inst, w0, states, energy)
    assert not eng.lay.bits
    schedule = np.array([[INF] * 8 + [0.7, INF, INF], [0.4, INF, INF, INF, INF, 1.0] + [INF] * 5, [INF] * 11])
    eng.sweep(schedule)
    acc, _ = eng.take_counters()
    frozen = False
    for ch in range(C):
        w, a, s, ps = reference_float_chain(inst, w0[ch], states[ch], schedule[ch], energy == "linear")
        assert np.array_equal(eng.w[ch], w)
        assert acc[ch] == a
        assert [int(x) for x in eng.rng_state()[ch]] == s
        frozen |= ps[0] > 0 and ps[7] == 0
    assert frozen


# --------------------------------------------------------- the bit-sliced update alone
@numba.njit
def _planes_run(h, B, P, W, cbits, rows, negs, width, paired, out_h, out_m, out_nb, out_f):
    """Apply the flips ``rows`` one by one (``paired`` False) or as the kernel does at finite
    beta (True: even steps pend a flip, odd steps apply both); record fields, level bitset,
    count at B and far bitset after every step."""
    Wp = (W + 7) & ~7
    pl = np.zeros(K.PLANES * Wp, np.uint64)
    mab = np.zeros(Wp, np.uint64)
    fb = np.zeros(Wp, np.uint64)
    valid = np.zeros(Wp, np.uint64)
    near = np.zeros(Wp, np.uint64)
    out_nb[0] = K._planes_init(h, B, P, W, Wp, pl, mab, fb, valid, near)
    for t in range(rows.shape[0]):
        if not paired:
            out_nb[t + 1] = K._flip_ab(pl, cbits, rows[t], negs[t], valid, mab, fb, near, width)
        elif t % 2 == 0:
            out_nb[t + 1] = K._pend_one_ab(pl, cbits, rows[t], negs[t], mab, near, width)
        else:
            out_nb[t + 1] = K._pair_ab(pl, cbits, rows[t - 1], negs[t - 1], rows[t], negs[t], valid, mab, fb, near,
                                       width)
        hh = h.copy()
        K._planes_to_fields(pl, Wp, hh, B, P, W)
        out_h[t] = hh
        out_m[t] = mab
        out_f[t] = fb


def _wrapping_case(P, B, n_rows, seed, near):
    """Fields ``B + 2 g`` for P patterns: a fraction ``near`` within a few steps of B, the rest
    spread over +-1200 around it (some just inside and outside the low-byte range, so lanes
    wrap in every block); random rows and signs for 400 steps. Returns
    (W, Wp, h, cbits, rows, negs, bits), ``bits[r]`` the row r unpacked to P booleans."""
    gen = np.random.default_rng(seed)
    W = -(-P // 64)
    Wp = -(-W // 8) * 8
    k = int(near * P)
    g = np.concatenate([gen.integers(-4, 4, k), gen.integers(-140, -115, (P - k) // 4),
                        gen.integers(110, 135, (P - k) // 4), gen.integers(-600, 600, P - k - 2 * ((P - k) // 4))])
    h = np.full(64 * W, K.SENTINEL, np.int16)
    h[:P] = B + 2 * gen.permutation(g)
    cbits = gen.integers(0, 2**63, size=(n_rows, Wp), dtype=np.int64).view(np.uint64)
    cbits[:, W:] = 0
    T = 400
    rows = gen.integers(0, n_rows, T)
    negs = np.where(gen.random(T) < 0.5, np.uint64(0), np.uint64(2**64 - 1)).astype(np.uint64)
    bits = np.unpackbits(cbits.view(np.uint8), bitorder="little").reshape(n_rows, 64 * Wp)[:, :P]
    return W, Wp, h, cbits, rows, negs, bits


def _bitset(mask, Wp):
    words = np.zeros(Wp, np.uint64)
    for mu in np.flatnonzero(mask):
        words[mu // 64] |= np.uint64(1) << np.uint64(mu % 64)
    return words


@pytest.mark.parametrize("P, width", [(150, 8), (700, 8), (100, 2), (100, 8), (230, 4)])
def test_flip_planes_is_an_exact_field_update(P, width):
    """Random +-2 steps on fields spread over +-1200 around B (so some lanes wrap their low
    byte in every block) against integer arithmetic: fields, level bitset, count at B and
    the far bitset after every step; padding lanes never move. ``width`` 2 and 4 are the
    narrow variants for W <= 2 and W <= 4."""
    B = -7
    W, Wp, h, cbits, rows, negs, bits = _wrapping_case(P, B, 5, 10, 1 / 3)
    T = len(rows)
    out_h = np.zeros((T, 64 * W), np.int16)
    out_m = np.zeros((T, Wp), np.uint64)
    out_f = np.zeros((T, Wp), np.uint64)
    out_nb = np.zeros(T + 1, np.int64)
    _planes_run(h, B, P, W, cbits, rows, negs, width, False, out_h, out_m, out_nb, out_f)
    ref = h[:P].astype(np.int64)
    assert out_nb[0] == np.count_nonzero(ref == B)
    far = ((ref - B) // 2 + U_B < 0) | ((ref - B) // 2 + U_B > 255)
    crossings = 0
    for t in range(T):
        down = bits[rows[t]] == (1 if negs[t] == 0 else 0)
        ref = ref + np.where(down, -2, 2)
        u = (ref - B) // 2 + U_B
        crossings += np.count_nonzero(far != ((u < 0) | (u > 255)))
        far = (u < 0) | (u > 255)
        assert np.array_equal(out_h[t, :P], ref)
        assert np.all(out_h[t, P:] == K.SENTINEL)
        assert np.array_equal(out_m[t], _bitset((ref == B) | (ref == B + 2), Wp))
        assert out_nb[t + 1] == np.count_nonzero(ref == B)
        assert np.array_equal(out_f[t], _bitset((u < 0) | (u > 255), Wp))
    assert crossings > 20  # lanes did wrap their low byte, both ways


@pytest.mark.parametrize("P, width", [(150, 8), (700, 8), (100, 2), (100, 8), (230, 4)])
def test_pending_and_paired_flips_are_exact(P, width):
    """``pend_one`` (level bitset and count at B as if the flip were applied, planes
    untouched) then ``pair_planes`` (both flips at once, plane 0 unchanged), repeated, on the
    same fields as above, against integer arithmetic: after a pending flip the planes still
    hold the old fields and mab / nb those of the new ones; after a pair both agree. Rows
    repeat, so some pairs flip one site twice (no lane moves)."""
    B = 5
    W, Wp, h, cbits, rows, negs, bits = _wrapping_case(P, B, 3, 11, 1 / 2)
    T = len(rows)
    out_h = np.zeros((T, 64 * W), np.int16)
    out_m = np.zeros((T, Wp), np.uint64)
    out_nb = np.zeros(T + 1, np.int64)
    _planes_run(h, B, P, W, cbits, rows, negs, width, True, out_h, out_m, out_nb, np.zeros((T, Wp), np.uint64))
    ref = h[:P].astype(np.int64)
    assert out_nb[0] == np.count_nonzero(ref == B)
    applied = ref
    cancelled = 0
    for t in range(T):
        down = bits[rows[t]] == (1 if negs[t] == 0 else 0)
        ref = ref + np.where(down, -2, 2)
        if t % 2 == 1:
            applied = ref
            cancelled += rows[t] == rows[t - 1] and negs[t] != negs[t - 1]
        assert np.array_equal(out_h[t, :P], applied)  # pending flips are not in the planes
        assert np.all(out_h[t, P:] == K.SENTINEL)
        assert np.array_equal(out_m[t], _bitset((ref == B) | (ref == B + 2), Wp))
        assert out_nb[t + 1] == np.count_nonzero(ref == B)
    assert cancelled > 0


@numba.njit
def _delta_ab_run(cbits, rows, negs, mab, out):
    for t in range(rows.shape[0]):
        out[t] = K._delta_ab(cbits, rows[t], negs[t], mab, 8)


@pytest.mark.parametrize("Wp", [8, 16, 32, 56])
def test_delta_planes_counts_every_word(Wp):
    """The wide dE (``_numba.delta_planes``, 4-word vector blocks over the padded row)
    equals ``popcount(mab & (cbits[i] ^ neg))`` summed over every word of the row."""
    gen = np.random.default_rng(Wp)
    cbits = gen.integers(0, 2**63, size=(7, Wp + 8), dtype=np.int64).view(np.uint64)
    mab = gen.integers(0, 2**63, size=Wp, dtype=np.int64).view(np.uint64) ^ np.uint64(1 << 63)
    rows = gen.integers(0, 7, 50)
    negs = np.where(gen.random(50) < 0.5, np.uint64(0), np.uint64(2**64 - 1)).astype(np.uint64)
    out = np.zeros(50, np.int64)
    _delta_ab_run(cbits, rows, negs, mab, out)

    def pc(a):
        return int(np.unpackbits(a.view(np.uint8)).sum())

    for t in range(50):
        assert out[t] == pc(mab & (cbits[rows[t], :Wp] ^ negs[t]))
