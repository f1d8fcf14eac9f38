"""Pin the semantics of the optimised Metropolis kernels with a tiny pure-Python reference.

The reference below re-implements the Markov chain of ``metropolis_bits`` /
``metropolis_float`` from scratch (full recomputation of the energy per proposal, Python
integers for xoshiro256**), draws the same random numbers in the same order (site by
Lemire's bounded draw with rejection; a uniform only when dE > 0 and the acceptance
probability is > 0), and must agree with the compiled kernels exactly: configurations,
fields, energies, counters and generator states. It is slow, so the chains are short.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets import _rng
from spinglass_nets.samplers import _engine as E
from spinglass_nets.samplers import _kernels as K
from tests.conftest import Xoshiro

def reference_bits(inst, w, state, betas, linear):
    """Pure-Python chain on +-1 patterns with integer fields; returns (w, h, energy, acc, rng)."""
    c = inst.c().astype(np.int64)  # (P, N)
    n, p = inst.n, inst.p
    sqrt_n = math.sqrt(n)
    lay = E.layout(inst)
    B = lay.B
    w = [int(x) for x in w]
    h = [int(v) for v in c @ np.array(w, dtype=np.int64)]
    rng = Xoshiro(state)

    def nv_sv(h):
        viol = [x for x in h if x <= B]
        return len(viol), sum(viol)

    nv, sv = nv_sv(h)
    acc = 0
    for beta in betas:
        for _ in range(n):
            i = rng.site(n)
            h_new = [h[mu] - 2 * w[i] * int(c[mu, i]) for mu in range(p)]
            nv2, sv2 = nv_sv(h_new)
            if not linear:
                de = nv2 - nv
                if de <= 0:
                    accept = True
                else:
                    pa = math.exp(-beta * de) if beta < math.inf else 0.0
                    accept = pa > 0.0 and rng.uniform() < pa
            else:
                inv = 1.0 / sqrt_n
                de = (inst.kappa * nv2 - sv2 * inv) - (inst.kappa * nv - sv * inv)
                if de <= 0.0:
                    accept = True
                elif beta < math.inf:
                    accept = rng.uniform() < math.exp(-beta * de)
                else:
                    accept = False
            if accept:
                h, nv, sv = h_new, nv2, sv2
                w[i] = -w[i]
                acc += 1
    energy = float(nv) if not linear else inst.kappa * nv - sv / sqrt_n
    return np.array(w), np.array(h), energy, acc, rng.s


CASES = [
    dict(n=37, alpha=0.6, kappa=0.0, energy="errors"),
    dict(n=40, alpha=1.7, kappa=0.3, energy="errors"),  # P > 64: two words, padding
    dict(n=33, alpha=0.9, kappa=-0.2, energy="linear"),
    dict(n=50, alpha=1.28, kappa=0.0, energy="linear"),  # P = 64: no padding
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"n{c['n']}-a{c['alpha']}-k{c['kappa']}-{c['energy']}")
def test_bits_kernel_matches_reference(case):
    inst = sn.make_perceptron(case["n"], case["alpha"], kappa=case["kappa"], rng=7)
    C = 3
    gen = np.random.default_rng(3)
    w0 = (2 * gen.integers(0, 2, size=(C, inst.n)) - 1).astype(np.int8)
    states = _rng.chain_states(np.random.SeedSequence(11), C)
    schedule = np.array([[0.2, 1.5, np.inf, 3.0], [np.inf, np.inf, 0.7, 0.7], [0.0, 2.0, 2.0, 5.0]])
    eng = E.Engine(inst, w0, states, case["energy"])
    assert eng.lay.bits
    eng.sweep(schedule)
    acc, prop = eng.take_counters()
    linear = case["energy"] == "linear"
    for ch in range(C):
        w, h, e, a, s = reference_bits(inst, w0[ch], states[ch], schedule[ch], linear)
        assert np.array_equal(eng.w[ch], w)
        assert np.array_equal(eng.fields()[ch], h)
        assert eng.energies()[ch] == pytest.approx(e, abs=1e-9)
        if not linear:
            assert eng.energies()[ch] == e
        assert acc[ch] == a and prop[ch] == inst.n * schedule.shape[1]
        assert [int(x) for x in eng.rng_state()[ch]] == s
    # cached bitsets equal a recomputation from the fields
    la, lb, vb = np.zeros_like(eng.la), np.zeros_like(eng.lb), np.zeros_like(eng.vb)
    for ch in range(C):
        K.rebuild_bits(eng.h[ch], eng.lay.A, eng.lay.B, la[ch], lb[ch], vb[ch], eng.lay.W)
    assert np.array_equal(la, eng.la) and np.array_equal(lb, eng.lb) and np.array_equal(vb, eng.vb)
    # padding patterns untouched
    assert np.all(eng.h[:, inst.p:] == K.SENTINEL)


def test_bits_kernel_one_signature():
    inst = sn.make_perceptron(21, 0.5, rng=1)
    for energy in ("errors", "linear"):
        eng = E.Engine(inst, np.ones((2, 21), np.int8), _rng.chain_states(np.random.SeedSequence(0), 2), energy)
        eng.sweep(np.ones((2, 2)))  # a short block: the serial twin
    assert len(K.metropolis_bits_serial.signatures) == 1
    assert len(K.metropolis_bits.signatures) <= 1
