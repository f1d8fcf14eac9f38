"""Online solvers (SBPI, CP+R): correctness of the claims, determinism, reach, bad input."""

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets._rng import chain_states
from spinglass_nets.solvers import SolveResult, cpr, focusing_bp, reinforced_bp, sbpi
from spinglass_nets.solvers import _kernels as K

ONLINE = {"sbpi": sbpi, "cpr": cpr}


@pytest.mark.parametrize("name", list(ONLINE))
def test_online_solves_alpha_half_quickly(name):
    inst = sn.make_perceptron(1001, 0.5, rng=21)
    r = ONLINE[name](inst, rng=0, time_limit=30)
    assert isinstance(r, SolveResult)
    assert r.solved and r.energy == 0 and r.stop == "solved" and inst.is_solution(r.w)
    assert r.w.dtype == np.int8 and r.w.shape == (1001,)
    assert r.iterations == len(r.history["errors"])
    assert r.seconds < 30


@pytest.mark.parametrize("name", list(ONLINE))
@pytest.mark.parametrize("patterns, labels, kappa", [("gaussian", "random", 0.0), ("binary", "random", 0.3),
                                                      ("binary", "teacher", 0.0), ("gaussian", "random", -0.2)])
def test_online_other_ensembles_claims_verified(name, patterns, labels, kappa):
    inst = sn.make_perceptron(301, 0.3, kappa=kappa, patterns=patterns, labels=labels, rng=3)
    r = ONLINE[name](inst, rng=1, max_epochs=3000, time_limit=20)
    assert r.solved == bool(inst.is_solution(r.w)) and r.energy == int(inst.energy(r.w))
    assert r.solved


@pytest.mark.parametrize("name", list(ONLINE))
def test_online_failure_is_reported_honestly(name):
    inst = sn.make_perceptron(101, 1.5, rng=0)  # far above capacity
    r = ONLINE[name](inst, rng=0, max_epochs=50)
    assert not r.solved and r.stop == "max_epochs" and r.energy == int(inst.energy(r.w)) > 0


@pytest.mark.parametrize("name", list(ONLINE))
def test_online_same_seed_same_bits(name):
    inst = sn.make_perceptron(501, 0.6, rng=8)
    a = ONLINE[name](inst, rng=5, max_epochs=40)
    b = ONLINE[name](inst, rng=5, max_epochs=40)
    assert np.array_equal(a.w, b.w) and np.array_equal(a.history["errors"], b.history["errors"])
    c = ONLINE[name](inst, rng=6, max_epochs=40)
    assert not np.array_equal(a.history["errors"], c.history["errors"])


def test_kernel_invariants_hidden_states_odd_bounded_and_signs():
    inst = sn.make_perceptron(201, 0.7, rng=2)
    c = np.ascontiguousarray(inst.c())
    gen = np.random.default_rng(0)
    w = (2 * gen.integers(0, 2, 201) - 1).astype(np.int8)
    hidden = w.astype(np.int32)
    state = chain_states(np.random.SeedSequence(1), 1)[0].copy()
    order = np.empty(inst.p, dtype=np.int64)
    for kernel, param in ((K.sbpi_epoch, 0.3), (K.cpr_epoch, 0.05)):
        for _ in range(20):
            e = kernel(c, True, float(inst.h_min), 2.0, param, 15, hidden, w, order, state)
            assert 0 <= e <= inst.p
            assert np.all(hidden % 2 != 0) and np.all(np.abs(hidden) <= 15)
            assert np.array_equal(w, np.where(hidden > 0, 1, -1))
            assert np.array_equal(np.sort(order), np.arange(inst.p))  # a permutation
    assert K.count_errors(c, True, float(inst.h_min), w) == int(inst.energy(w))
    # one signature per dtype of c: int8 (binary) here
    assert len(K.sbpi_epoch.signatures) >= 1


def test_online_bad_input():
    inst = sn.make_perceptron(51, 0.5, rng=0)
    with pytest.raises(ValueError, match="h_max"):
        sbpi(inst, h_max=10)
    with pytest.raises(ValueError, match="p_s"):
        sbpi(inst, p_s=1.5)
    with pytest.raises(ValueError, match="p_r"):
        cpr(inst, p_r=-0.1)
    with pytest.raises(ValueError, match="max_epochs"):
        cpr(inst, max_epochs=0)
    with pytest.raises(ValueError, match="time_limit"):
        sbpi(inst, time_limit=0)
    with pytest.raises(ValueError, match="rng"):
        sbpi(inst, rng=-3)
    sym = sn.make_symmetric_perceptron(51, 0.5, kappa=1.0, rng=0)
    with pytest.raises(ValueError, match="kind"):
        cpr(sym)


def test_every_solver_reexported():
    inst = sn.make_perceptron(301, 0.4, rng=4)
    for f in (focusing_bp, reinforced_bp, sbpi, cpr):
        assert f(inst, rng=0, time_limit=20).solved


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ONLINE))
def test_online_reach_alpha_065(name):
    solved = [ONLINE[name](sn.make_perceptron(1001, 0.65, rng=s), rng=0, max_epochs=20000, time_limit=60).solved
              for s in range(3)]
    assert sum(solved) >= 2
