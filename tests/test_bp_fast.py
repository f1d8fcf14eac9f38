"""The fused single-pass AMP kernel (spinglass_nets.bp._fast) against the float64 reference.

Tolerances: the fused pass accumulates inner products of N <= 10^4 terms of size <= 1 in
float32 (relative error ~1e-7 per sum, ~1e-6 after a few tens of damped iterations, measured:
max |hpat_fused - hpat_ref| ~ 6e-7 at N = 10001 after 30 iterations, with |hpat| ~ 5). We assert
1e-4 absolute on the fields after 25 iterations, two orders above what was measured and three
below any change that would move a sign decision or a 1e-3 convergence test; the solution check
(integer fields of the sign configuration) must agree exactly.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets._numba import njit
from spinglass_nets.bp import _fast as F
from spinglass_nets.bp import focusing_bp, reinforced_bp
from spinglass_nets.bp.core import _FastState, _State


@njit
def _dots_bits(c16, a, npad, out):
    for mu in range(c16.shape[0]):
        out[mu] = F.dot_bits_f32(c16[mu], a, npad)


@njit
def _dots_i8(c8, a, npad, out):
    for mu in range(c8.shape[0]):
        out[mu] = F.dot_i8_f32(c8[mu], a, npad)


@njit
def _axpy(c16, g, acc, npad):
    p = c16.shape[0]
    for mu in range(0, p, 4):
        m1, m2, m3 = min(mu + 1, p - 1), min(mu + 2, p - 1), min(mu + 3, p - 1)
        g1 = g[m1] if mu + 1 < p else np.float32(0.0)
        g2 = g[m2] if mu + 2 < p else np.float32(0.0)
        g3 = g[m3] if mu + 3 < p else np.float32(0.0)
        F.axpy_bits4(acc, c16[mu], c16[m1], c16[m2], c16[m3], g[mu], g1, g2, g3, npad)


@pytest.mark.parametrize("n", [11, 64, 1001, 4097])
def test_bit_kernels_match_reference(n):
    rng = np.random.default_rng(n)
    p = 37
    c = rng.choice(np.array([-1, 1], dtype=np.int8), size=(p, n))
    npad = F.padded(n)
    bits = F.pack_rows(c)
    c16 = bits.view(np.uint16)
    c8 = np.zeros((p, npad), dtype=np.int8)
    c8[:, :n] = c
    a = np.zeros(npad, dtype=np.float32)
    a[:n] = rng.uniform(-1, 1, n)
    d_bits, d_i8 = np.empty(p, np.float32), np.empty(p, np.float32)
    _dots_bits(c16, a, npad, d_bits)
    _dots_i8(c8, a, npad, d_i8)
    # same lanes, same reduction tree: bit-identical; and within float32 round-off of float64
    assert np.array_equal(d_bits, d_i8)
    ref = c.astype(np.float64) @ a[:n].astype(np.float64)
    assert np.max(np.abs(d_bits - ref)) <= 1e-6 * n
    g = rng.standard_normal(p).astype(np.float32)
    acc = np.zeros(npad, dtype=np.float32)
    _axpy(c16, g, acc, npad)
    ref = g.astype(np.float64) @ c.astype(np.float64)
    assert np.max(np.abs(acc[:n] - ref)) <= 1e-6 * p
    # exact integer fields through the sign bits
    s = rng.choice(np.array([-1, 1], dtype=np.int8), size=n)
    s64 = np.zeros(npad // 64, dtype=np.uint64)
    F.amp_prepare(np.zeros(n), s.astype(np.float64), np.zeros(n), np.zeros(n), np.zeros(npad, np.float32), s64)
    assert np.array_equal(F.unpack_signs(s64, n), s)


@pytest.mark.parametrize("n, alpha, kappa", [(1001, 0.7, 0.0), (777, 0.5, 0.3), (640, 0.6, -0.2)])
def test_fused_iteration_matches_float64_reference(n, alpha, kappa):
    inst = sn.make_perceptron(n, alpha, kappa=kappa, rng=3)
    ref, fast = _State(inst, "amp", 5), _FastState(inst, 5)
    assert np.array_equal(ref.hpat, fast.hpat)
    rng = np.random.default_rng(0)
    for it in range(25):
        hext = 0.3 * rng.standard_normal(n) if it % 5 == 4 else np.zeros(n)  # also with external fields
        ref.hext, fast.hext = hext, hext
        s = np.where(ref.hext + ref.hpat >= 0, 1, -1).astype(np.int8)
        d_ref = ref.step(-np.inf, 0.8)
        d_fast, e_fast = fast.step(-np.inf, 0.8)
        assert np.array_equal(fast.signs(), s)
        assert np.array_equal(fast.hs, ref.hs.astype(np.int64))  # exact integer check
        assert e_fast == int(np.count_nonzero(ref.hs < inst.h_min))
        assert abs(d_fast - d_ref) < 1e-4
    assert np.max(np.abs(fast.hpat - ref.hpat)) < 1e-4
    assert np.max(np.abs(fast.g - ref.g)) < 1e-4 * max(1.0, np.max(np.abs(ref.g)))


_THREADS_SCRIPT = r"""
import numba, numpy as np, spinglass_nets as sn
from spinglass_nets.bp.core import _FastState
from spinglass_nets.bp import focusing_bp
inst = sn.make_perceptron(1501, 0.6, rng=1)
out = []
for t in (1, 2):
    numba.set_num_threads(t)
    st = _FastState(inst, 0, parallel=True)
    for _ in range(15):
        st.step(-np.inf, 0.8)
    r = focusing_bp(inst, rng=0, time_limit=60, parallel=True)
    out.append((st.hpat.copy(), st.g.copy(), r.w, r.iterations, r.history["delta"]))
a, b = out
assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
assert np.array_equal(a[2], b[2]) and a[3] == b[3] and np.array_equal(a[4], b[4])
serial = _FastState(inst, 0)
for _ in range(15):
    serial.step(-np.inf, 0.8)
assert np.array_equal(serial.hpat, a[0])
print("same")
"""


def test_fused_results_identical_for_one_and_two_threads():
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "same" in out.stdout


def test_fused_solvers_agree_with_reference_and_compile_once():
    inst = sn.make_perceptron(1001, 0.6, rng=2)
    a = focusing_bp(inst, rng=1)
    b = focusing_bp(inst, rng=1, fused=False)
    assert a.solved and b.solved and a.params["fused"] and not b.params["fused"]
    assert abs(a.iterations - b.iterations) <= 0.1 * b.iterations + 5
    r = reinforced_bp(inst, rng=1)
    assert r.solved and r.params["fused"]
    # Gaussian patterns and the edge method fall back to the reference path
    g = sn.make_perceptron(301, 0.4, patterns="gaussian", rng=2)
    assert not focusing_bp(g, rng=0).params["fused"]
    for k in (F.amp_rows, F.amp_prepare, F.amp_finish):  # amp_rows_parallel: only in the subprocess
        assert len(k.signatures) == 1, k
