"""Replica-inspired samplers: exact reductions, exact joint laws at small N, resume."""

import math

import numpy as np
import pytest
from scipy import stats

import spinglass_nets as sn
from spinglass_nets import _rng, exact
from spinglass_nets.samplers import (
    ReferenceTempering, ReplicatedAnnealing, SimulatedAnnealing, resume, run, schedules,
)
from spinglass_nets.store import open_store
from tests.conftest import all_configs
from tests.test_samplers import P_FLOOR, _chi2_pvalue

SCHED = schedules.geometric(0.5, 4.0, 30)


@pytest.mark.parametrize("form", ["centre", "traced"])
def test_gamma_zero_is_independent_annealing_bit_for_bit(form):
    inst = sn.make_perceptron(63, 0.6, rng=1)
    rsa = ReplicatedAnnealing(SCHED, np.zeros(30), y=3, form=form)
    r = run(rsa, inst, n_chains=2, rng=5, record_every=5)
    root = _rng.as_seed_sequence(5)
    for c in range(2):
        # replica a of chain c draws from spawn key root + (c, a): SA chains of root + (c,)
        sa = run(SimulatedAnnealing(SCHED), inst, n_chains=3, rng=_rng.chain_seed(root, c), record_every=5)
        assert np.array_equal(r.samples[:, 3 * c : 3 * c + 3], sa.samples)


def test_y_one_traced_is_annealing_bit_for_bit():
    inst = sn.make_perceptron(63, 0.6, patterns="gaussian", rng=2)
    rsa = ReplicatedAnnealing(SCHED, np.full(30, 0.7), y=1, form="traced")
    r = run(rsa, inst, n_chains=3, rng=9, record_every=5)
    sa = run(SimulatedAnnealing(SCHED), inst, n_chains=3, rng=9, record_every=5)
    assert np.array_equal(r.samples, sa.samples)


def _pair_law(inst, beta, gamma):
    """Exact law of (E1 + E2, overlap) for y = 2 replicas with the centre traced out."""
    W = all_configs(inst.n)
    E = inst.energy(W).astype(np.int64)
    Wf = W.astype(np.float64)
    # log prod_i 2 cosh(gamma (w1_i + w2_i)) depends only on the overlap count of the pair
    q = (Wf @ Wf.T).astype(np.int64)  # w1 . w2
    n_same = (inst.n + q) // 2
    logc = n_same * math.log(2 * math.cosh(2 * gamma)) + (inst.n - n_same) * math.log(2.0)
    logw = -beta * (E[:, None] + E[None, :]) + logc
    key = (E[:, None] + E[None, :]) * (2 * inst.n + 1) + (q + inst.n)
    keys, inv = np.unique(key.reshape(-1), return_inverse=True)
    lw = logw.reshape(-1)
    p = np.bincount(inv, weights=np.exp(lw - lw.max()))
    return keys.astype(float), p / p.sum()


@pytest.mark.parametrize("form", ["centre", "traced"])
def test_two_replicas_sample_the_exact_joint_law(form):
    """N = 8, y = 2 at fixed beta, gamma: the law of (E1 + E2, w1 . w2) over the 2**16 pairs
    (centre summed out; for the explicit form its marginal) against one sample per chain."""
    inst = sn.make_perceptron(8, 0.75, rng=4)
    beta, gamma = 1.0, 0.6
    n = 60
    rsa = ReplicatedAnnealing(np.full(n, beta), np.full(n, gamma), y=2, form=form)
    r = run(rsa, inst, n_chains=3000, n_sweeps=n, record_every=n, rng=17, keep_samples=True)
    w = r.samples[-1].reshape(3000, 2, 8)
    E = inst.energy(w).sum(axis=1)
    q = (w[:, 0].astype(int) * w[:, 1]).sum(axis=1)
    sampled = (E * (2 * 8 + 1) + (q + 8)).astype(float)
    keys, probs = _pair_law(inst, beta, gamma)
    assert _chi2_pvalue(keys, probs, sampled) > P_FLOOR


def test_replicated_resume_equals_uninterrupted(tmp_path):
    inst = sn.make_perceptron(51, 0.5, rng=3)
    rsa = ReplicatedAnnealing.for_sweeps(40, y=3, form="centre")
    full = run(rsa, inst, n_chains=2, rng=4, record_every=4)
    path = tmp_path / "r.h5"
    run(rsa, inst, n_chains=2, n_sweeps=20, rng=4, record_every=4, store=path, run_name="r")
    resume(path, "r", n_sweeps=40)
    with open_store(path) as st:
        assert np.array_equal(st.run("r").samples(), full.samples)


def test_reference_tempering_conditioned_on_solutions_is_exact():
    """Finite beta, samples with E = 0: distance law ∝ count(d) exp(lam (N - 2d)) over all
    solutions (exact distance profile), at the two ends of the ladder."""
    inst = sn.make_perceptron(12, 0.5, rng=6)
    sols = exact.enumerate_solutions(inst)
    ref = sols[len(sols) // 2]
    prof = exact.distance_profile(inst, ref)
    lams = np.array([0.0, 0.25, 0.5])
    rt = ReferenceTempering(ref, lams, beta=2.5)
    res = run(rt, inst, n_chains=3000, n_sweeps=60, record_every=60, rng=8, keep_samples=True)
    last = res.samples[-1]
    for k, lam in enumerate(lams):
        w = last[k::3]
        ok = inst.is_solution(w)
        d = (12 - w[ok].astype(int) @ ref) // 2
        logp = np.where(prof > 0, np.log(np.maximum(prof, 1)) + lam * (12 - 2 * np.arange(13)), -np.inf)
        p = np.exp(logp - logp.max())
        levels = np.arange(13.0)
        keep = prof > 0
        assert _chi2_pvalue(levels[keep], (p / p.sum())[keep], d.astype(float)) > P_FLOOR
    assert all(0 < a <= 1 for a in res.stats["swap_acceptance"])


def test_reference_tempering_at_zero_temperature_stays_on_solutions():
    inst = sn.make_perceptron(15, 0.5, rng=1)
    ref = exact.enumerate_solutions(inst, limit=1)[0]
    res = run(ReferenceTempering(ref, np.linspace(0, 1, 4)), inst, n_chains=2, n_sweeps=50, record_every=5, rng=3)
    assert inst.is_solution(res.samples.reshape(-1, 15)).all()


def test_solve_replicated_and_bad_input():
    inst = sn.make_perceptron(101, 0.3, rng=2)
    r = sn.solve(inst, "replicated", rng=1, n_sweeps=300)
    assert r.solved and inst.is_solution(r.w)
    with pytest.raises(ValueError, match="y=0"):
        ReplicatedAnnealing(SCHED, SCHED, y=0)
    with pytest.raises(ValueError, match="form='both'"):
        ReplicatedAnnealing(SCHED, SCHED, form="both")
    with pytest.raises(ValueError, match="gamma_schedule"):
        ReplicatedAnnealing(SCHED, SCHED[:5])
    with pytest.raises(ValueError, match="strictly increasing"):
        ReferenceTempering(np.ones(5), [1.0, 0.5])
    with pytest.raises(ValueError, match="reference has length 5"):
        run(ReferenceTempering(np.ones(5), [0.0, 1.0]), inst, n_sweeps=2)
    with pytest.raises(ValueError, match="method='magic'"):
        sn.solve(inst, "magic")
