"""Exact referee against brute force over all 2**N configurations (N <= 12)."""

import math

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets import exact
from spinglass_nets.exact import _kernels
from spinglass_nets.models import PerceptronInstance


def _instances():
    """Binary and Gaussian patterns, kappa < 0, = 0, > 0, random and teacher labels,
    both kinds, odd and even N (even N has ties h = 0 at kappa = 0)."""
    out = []
    seed = 0
    for n in (1, 6, 9, 12):
        for patterns in ("binary", "gaussian"):
            for kappa in (-0.4, 0.0, 0.35):
                for labels in ("random", "teacher"):
                    seed += 1
                    out.append(sn.make_perceptron(n, 0.8, kappa=kappa, labels=labels, patterns=patterns, rng=seed))
            for kappa in (0.3, 1.0):
                seed += 1
                out.append(sn.make_symmetric_perceptron(n, 0.8, kappa=kappa, patterns=patterns, rng=seed))
    return out


INSTANCES = _instances()


def _ids(inst):
    return f"{inst.kind}-{inst.patterns}-{inst.labels}-n{inst.n}-k{inst.kappa}"


def _brute(inst):
    w = exact.index_to_config(np.arange(2**inst.n), inst.n)
    return w, inst.energy(w, "errors"), inst.energy(w, "linear")


@pytest.mark.parametrize("inst", INSTANCES, ids=_ids)
def test_against_brute_force(inst):
    w, err, lin = _brute(inst)
    sol = err == 0
    n = inst.n
    assert exact.count_solutions(inst) == sol.sum()

    dos = exact.density_of_states(inst, "errors")
    levels, counts = np.unique(err, return_counts=True)
    np.testing.assert_array_equal(dos.energies, levels)
    np.testing.assert_array_equal(dos.counts, counts)
    assert dos.energies.dtype == np.int64 and dos.counts.dtype == np.int64

    lind = exact.density_of_states(inst, "linear")
    assert lind.counts.sum() == 2**n
    assert np.all(np.diff(lind.energies) > 0)
    # Each level holds exactly the configurations whose float energy matches it (the 1e-9
    # relative tolerance is the documented level-merging tolerance; distinct levels of these
    # instances are at least ~1e-3 apart).
    for e, k in zip(lind.energies, lind.counts):
        assert (np.abs(lin - e) <= 1e-9 * max(1.0, abs(e))).sum() == k
    assert lind.n_solutions == dos.n_solutions == sol.sum()

    got = exact.enumerate_solutions(inst)
    np.testing.assert_array_equal(got, w[sol])  # ascending index order
    assert got.dtype == np.int8 and got.shape == (sol.sum(), n)
    np.testing.assert_array_equal(exact.enumerate_solutions(inst, limit=2), w[sol][:2])

    rng = np.random.default_rng(n)
    for ref in (w[0], rng.choice(np.array([-1, 1], np.int8), n), w[sol][0] if sol.any() else w[-1]):
        prof = exact.distance_profile(inst, ref)
        want = np.bincount((w[sol] != ref).sum(axis=1), minlength=n + 1)
        np.testing.assert_array_equal(prof, want)
        assert prof.dtype == np.int64 and prof.shape == (n + 1,)
        assert prof.sum() == sol.sum()
        assert (prof[0] == 1) == bool(inst.is_solution(ref))


@pytest.mark.parametrize("patterns", ["binary", "gaussian"])
@pytest.mark.parametrize("n", [13, 14])
def test_invariants(n, patterns):
    inst = sn.make_perceptron(n, 0.5, patterns=patterns, rng=100 + n)
    dos = exact.density_of_states(inst)
    assert dos.counts.sum() == 2**n
    m = exact.count_solutions(inst)
    assert dos.energies[0] == 0 and dos.counts[0] == m == dos.n_solutions
    assert dos.entropy_of_solutions == pytest.approx(math.log(m) / n)
    sols = exact.enumerate_solutions(inst)
    assert sols.shape == (m, n)
    assert np.all(inst.is_solution(sols))
    assert np.unique(sols, axis=0).shape[0] == m
    ref = sols[m // 2]
    prof = exact.distance_profile(inst, ref)
    assert prof.sum() == m and prof[0] == 1
    # A reference that is not a solution is not counted at distance 0.
    bad = np.ones(n, np.int8)
    if not inst.is_solution(bad):
        assert exact.distance_profile(inst, bad)[0] == 0


def test_ties_even_n_kappa0():
    """Integer Gaussian-typed patterns: ties at the threshold are inclusive in both paths."""
    b = sn.make_perceptron(10, 1.0, rng=7)
    g = PerceptronInstance(xi=b.xi.astype(np.float64), y=b.y, patterns="gaussian")
    w, err, _ = _brute(b)
    assert exact.count_solutions(b) == exact.count_solutions(g) == (err == 0).sum()
    np.testing.assert_array_equal(exact.density_of_states(g).counts, exact.density_of_states(b).counts)
    ld_b, ld_g = exact.density_of_states(b, "linear"), exact.density_of_states(g, "linear")
    np.testing.assert_array_equal(ld_b.counts, ld_g.counts)
    np.testing.assert_allclose(ld_b.energies, ld_g.energies, rtol=1e-12, atol=1e-12)


def test_boltzmann_distribution():
    inst = sn.make_perceptron(12, 0.6, kappa=0.2, rng=3)
    for kind in ("errors", "linear"):
        dos = exact.density_of_states(inst, kind)
        p0 = exact.boltzmann_distribution(dos, 0.0)
        np.testing.assert_allclose(p0, dos.counts / 2**12, rtol=1e-14)
        for beta in (0.5, 3.0, 1e4):
            p = exact.boltzmann_distribution(dos, beta)
            assert p.sum() == pytest.approx(1.0, abs=1e-12) and np.all(p >= 0)
            want = dos.counts * np.exp(-beta * (dos.energies - dos.energies[0]).astype(float))
            np.testing.assert_allclose(p, want / want.sum(), rtol=1e-12, atol=1e-300)
        pinf = exact.boltzmann_distribution(dos, math.inf)
        assert pinf[0] == 1.0 and pinf[1:].sum() == 0.0
    with pytest.raises(ValueError, match="beta"):
        exact.boltzmann_distribution(dos, -1.0)


def test_one_signature_per_kernel():
    for seed, (n, patterns, kappa) in enumerate([(7, "binary", 0.0), (11, "binary", -0.5), (8, "gaussian", 0.3)]):
        inst = sn.make_perceptron(n, 0.9, kappa=kappa, patterns=patterns, rng=seed)
        exact.density_of_states(inst)
        exact.density_of_states(inst, "linear")
        exact.distance_profile(inst, np.ones(n))
        exact.enumerate_solutions(inst, limit=5)
        exact.count_solutions(inst)
    for k in (_kernels.dos_errors_binary, _kernels.scan_binary, _kernels.scan_gauss):
        assert len(k.signatures) == 1, k


def test_thread_count_independent():
    """N = 21 takes the parallel path (N >= 20); 1 and 2 threads give identical results."""
    numba = pytest.importorskip("numba")
    inst = sn.make_perceptron(21, 0.5, rng=11)
    ginst = sn.make_perceptron(21, 0.5, patterns="gaussian", rng=12)
    ref = np.ones(21)
    old = numba.get_num_threads()

    def run():
        return (
            exact.density_of_states(inst).counts,
            exact.density_of_states(inst, "linear").counts,
            exact.distance_profile(inst, ref),
            exact.enumerate_solutions(inst, limit=50),
            exact.density_of_states(ginst).counts,
            exact.distance_profile(ginst, ref),
        )

    try:
        numba.set_num_threads(1)
        a = run()
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        b = run()
    finally:
        numba.set_num_threads(old)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert a[0].sum() == 2**21


def test_index_roundtrip():
    w = exact.index_to_config(np.arange(32), 5)
    np.testing.assert_array_equal(exact.config_to_index(w), np.arange(32))
    np.testing.assert_array_equal(w[1], [1, 1, 1, 1, -1])  # last weight is the lowest bit


def test_bad_input():
    inst = sn.make_perceptron(6, 0.5, rng=1)
    with pytest.raises(ValueError, match=r"shape \(N,\) = \(6,\)"):
        exact.distance_profile(inst, np.ones(5))
    with pytest.raises(ValueError, match=r"\+-1"):
        exact.distance_profile(inst, np.array([1, 0, 1, 1, 1, 1]))
    with pytest.raises(ValueError, match="kind='energy'"):
        exact.density_of_states(inst, kind="energy")
    for bad in (-1, 2.5, "3", True):
        with pytest.raises(ValueError, match="limit="):
            exact.enumerate_solutions(inst, limit=bad)
    assert exact.enumerate_solutions(inst, limit=0).shape == (0, 6)
    big = PerceptronInstance(xi=np.ones((1, exact.MAX_N + 1), np.int8), y=np.ones(1, np.int8))
    with pytest.raises(ValueError, match=f"N={exact.MAX_N + 1}.*N <= {exact.MAX_N}"):
        exact.count_solutions(big)
    gbig = PerceptronInstance(xi=np.ones((1, 31)), y=np.ones(1, np.int8), patterns="gaussian")
    with pytest.raises(ValueError, match="N=31"):
        exact.density_of_states(gbig)
    glin = PerceptronInstance(xi=np.ones((1, 25)), y=np.ones(1, np.int8), patterns="gaussian")
    with pytest.raises(ValueError, match="N=25.*N <= 24"):
        exact.density_of_states(glin, "linear")
    with pytest.raises(ValueError, match="PerceptronInstance"):
        exact.count_solutions("not an instance")


def test_no_patterns():
    inst = sn.make_perceptron(5, 0.0, rng=1)
    assert exact.count_solutions(inst) == 32
    assert exact.density_of_states(inst, "linear").counts.tolist() == [32]
    np.testing.assert_array_equal(exact.distance_profile(inst, np.ones(5)), [1, 5, 10, 10, 5, 1])


@pytest.mark.slow
@pytest.mark.parametrize("patterns", ["binary", "gaussian"])
def test_brute_force_n16(patterns):
    inst = sn.make_perceptron(16, 0.6, kappa=0.1, labels="teacher", patterns=patterns, rng=5)
    w, err, _ = _brute(inst)
    levels, counts = np.unique(err, return_counts=True)
    dos = exact.density_of_states(inst)
    np.testing.assert_array_equal(dos.counts, counts)
    np.testing.assert_array_equal(exact.enumerate_solutions(inst), w[err == 0])


def test_ambiguous_buffer_retry(monkeypatch):
    """Many exact ties in Gaussian-typed patterns overflow the buffer: one retry, same result."""
    b = sn.make_perceptron(12, 1.0, rng=8)
    g = PerceptronInstance(xi=b.xi.astype(np.float64), y=b.y, patterns="gaussian")
    monkeypatch.setattr(exact, "_AMB_CAP", 1)
    np.testing.assert_array_equal(exact.density_of_states(g).counts, exact.density_of_states(b).counts)
    np.testing.assert_array_equal(exact.enumerate_solutions(g), exact.enumerate_solutions(b))
