"""Samplers: invariants, injected randomness, determinism, and exactness against brute force."""

import math

import numba
import numpy as np
import pytest
from scipy import stats

import spinglass_nets as sn
from spinglass_nets import _rng
from spinglass_nets.samplers import (
    Metropolis, ParallelTempering, SimulatedAnnealing, SolutionWalk, run, schedules,
)
from spinglass_nets.samplers import _float_kernels as KF
from spinglass_nets.samplers import _kernels as K
from tests.conftest import Xoshiro, all_configs

P_FLOOR = 1e-3  # chi-square p-value floor at a fixed seed (a correct sampler fails 0.1% of seeds)

CASES = [
    dict(patterns="binary", kappa=0.0, labels="random"),
    dict(patterns="binary", kappa=0.4, labels="random"),
    dict(patterns="binary", kappa=-0.3, labels="teacher"),
    dict(patterns="gaussian", kappa=0.0, labels="random"),
    dict(patterns="gaussian", kappa=0.3, labels="teacher"),
    dict(patterns="gaussian", kappa=-0.2, labels="random"),
]


def _instances(n=12, alpha=0.75, seed=3):
    out = [sn.make_perceptron(n, alpha, rng=seed, **c) for c in CASES]
    out.append(sn.make_symmetric_perceptron(n, alpha, kappa=0.6, rng=seed))
    out.append(sn.make_symmetric_perceptron(n, alpha, kappa=0.8, patterns="gaussian", rng=seed))
    return out


def _ids():
    return [f"{c['patterns']}-k{c['kappa']}-{c['labels']}" for c in CASES] + ["sym-binary", "sym-gaussian"]


# ------------------------------------------------------------------------- invariants
@pytest.mark.parametrize("energy", ["errors", "linear"])
@pytest.mark.parametrize("idx", range(8), ids=_ids())
def test_cached_fields_and_energies_match_recomputation(idx, energy):
    inst = _instances(n=37, alpha=0.8)[idx]
    sampler = Metropolis(beta=1.5, energy=energy)
    state = sampler.init(inst, 3, rng=idx)
    for _ in range(4):
        state, info = sampler.step(inst, state, n_sweeps=3)
        exact_fields = inst.fields(state.w)
        if inst.patterns == "binary" and inst.kind == "perceptron":
            assert np.array_equal(state.fields, exact_fields)
        else:
            scale = 1.0 if inst.patterns == "binary" else math.sqrt(inst.n)
            assert np.allclose(state.fields * scale, exact_fields, atol=1e-9)
        assert np.allclose(state.energy, inst.energy(state.w, energy), atol=1e-9)
        assert np.all((info.acceptance >= 0) & (info.acceptance <= 1))


def test_step_is_pure_and_run_matches_steps():
    inst = sn.make_perceptron(41, 0.6, rng=1)
    s = Metropolis(beta=2.0)
    st0 = s.init(inst, 2, rng=7)
    w0 = st0.w.copy()
    st1, _ = s.step(inst, st0, 10)
    assert np.array_equal(st0.w, w0)  # input untouched
    res = run(s, inst, n_chains=2, n_sweeps=10, record_every=10, rng=7)
    assert np.array_equal(res.final_state.w, st1.w)
    assert np.array_equal(res.final_state.rng_state, st1.rng_state)


# --------------------------------------------------- the kernel against a reference chain
@pytest.mark.parametrize("idx", [0, 1, 3, 6], ids=["bin-k0", "bin-k0.4", "gauss-k0", "sym-bin"])
@pytest.mark.parametrize("beta", [0.7, math.inf])
def test_kernel_is_the_reference_markov_chain(idx, beta):
    """Pure-Python Metropolis with the same xoshiro256** draws: identical trajectory.

    Accept dE <= 0 without a draw; else draw u and accept iff u < exp(-beta dE); no draw at
    beta = inf. This pins the chain and its random-number consumption exactly.
    """
    inst = _instances(n=15, alpha=0.8)[idx]
    sampler = Metropolis(beta=beta)
    st = sampler.init(inst, 1, rng=11)
    s = Xoshiro(st.rng_state[0])
    w = st.w[0].copy()
    e = int(inst.energy(w))
    n_sweeps = 6
    for _ in range(n_sweeps * inst.n):
        i = s.site(inst.n)
        w2 = w.copy()
        w2[i] = -w2[i]
        e2 = int(inst.energy(w2))
        de = e2 - e
        if de <= 0:
            acc = True
        else:
            pa = math.exp(-beta * de)
            acc = pa > 0 and s.uniform() < pa
        if acc:
            w, e = w2, e2
    st2, _ = sampler.step(inst, st, n_sweeps)
    assert np.array_equal(st2.w[0], w)
    assert [int(x) for x in st2.rng_state[0]] == s.s


def test_xoshiro_matches_python_and_bounded_is_uniform():
    st = _rng.chain_states(np.random.SeedSequence(5), 1)[0].copy()
    s = Xoshiro(st)
    u = _rng.draw_uniforms(st, 5)
    ref = [s.uniform() for _ in range(5)]
    assert np.array_equal(u, ref)
    x = _rng.draw_bounded(_rng.chain_states(np.random.SeedSequence(6), 1)[0].copy(), 7, 70000)
    counts = np.bincount(x, minlength=7)
    assert x.min() >= 0 and x.max() < 7
    assert stats.chisquare(counts).pvalue > P_FLOOR


# ------------------------------------------------------------- replica exchange logic
def test_pt_swap_pass_with_injected_uniforms():
    betas = np.array([0.5, 1.0, 2.0])
    energies = np.array([[1.0, 3.0, 2.0]])  # replica j holds energy energies[0, j]
    slot = np.array([[0, 1, 2]])
    at = np.array([[0, 1, 2]])
    acc = np.zeros(3, np.int64)
    att = np.zeros(3, np.int64)
    # pair (0, 1): x = (1.0 - 0.5) * (3 - 1) = 1 >= 0 -> always swap
    K.pt_swap_pass(energies, betas, slot, at, 0, np.array([[0.99, 0.99, 0.99]]), acc, att)
    assert at.tolist() == [[1, 0, 2]] and slot.tolist() == [[1, 0, 2]]
    # pair (1, 2): replicas 0 (E=1) at k=1 and 2 (E=2) at k=2: x = (2 - 1) * (2 - 1) = 1 -> swap
    K.pt_swap_pass(energies, betas, slot, at, 1, np.array([[0.5, 0.5, 0.5]]), acc, att)
    assert at.tolist() == [[1, 2, 0]]
    # pair (0, 1) again: replica 1 (E=3) at k=0, replica 2 (E=2) at k=1: x = 0.5 * (2 - 3) = -0.5
    u_reject = math.exp(-0.5) + 1e-12
    K.pt_swap_pass(energies, betas, slot, at, 0, np.array([[u_reject, 0, 0]]), acc, att)
    assert at.tolist() == [[1, 2, 0]]
    K.pt_swap_pass(energies, betas, slot, at, 0, np.array([[math.exp(-0.5) - 1e-12, 0, 0]]), acc, att)
    assert at.tolist() == [[2, 1, 0]] and slot.tolist() == [[2, 1, 0]]
    assert acc.tolist() == [2, 1, 0] and att.tolist() == [3, 1, 0]


def test_tempering_bookkeeping_and_round_trips():
    inst = sn.make_perceptron(31, 0.5, rng=2)
    ladder = schedules.ladder(0.2, 3.0, 5)
    res = run(ParallelTempering(ladder, swap_every=1), inst, n_chains=3, n_sweeps=400, record_every=4, rng=3)
    aux = res.final_state.aux
    for c in range(3):
        assert sorted(aux["chain_at"][c]) == list(range(5))
        assert np.array_equal(aux["slot_of"][c][aux["chain_at"][c]], np.arange(5))
    # each trace column holds the configuration at its temperature
    assert np.allclose(res.traces["beta"], np.tile(ladder, 3))
    assert len(res.stats["swap_acceptance"]) == 4 and all(0 < a <= 1 for a in res.stats["swap_acceptance"])
    assert sum(res.stats["round_trips"]) > 0
    assert np.array_equal(inst.energy(res.samples[-1]), res.traces["energy"][-1])


# ---------------------------------------------------------------------- determinism
def test_same_seed_same_bits_and_chain_streams_independent_of_n_chains():
    inst = sn.make_perceptron(64, 0.6, rng=4)
    a = run(Metropolis(beta=1.3), inst, n_chains=4, n_sweeps=20, rng=99)
    b = run(Metropolis(beta=1.3), inst, n_chains=4, n_sweeps=20, rng=99)
    c = run(Metropolis(beta=1.3), inst, n_chains=2, n_sweeps=20, rng=99)
    assert np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.samples[:, :2], c.samples)
    d = run(Metropolis(beta=1.3), inst, n_chains=4, n_sweeps=20, rng=100)
    assert not np.array_equal(a.samples, d.samples)


@pytest.mark.parametrize("patterns", ["binary", "gaussian"])
def test_results_do_not_depend_on_thread_count(patterns):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 Numba threads")
    inst = sn.make_perceptron(1001, 0.7, patterns=patterns, rng=5)  # large blocks: the threaded kernel
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run(Metropolis(beta=2.0), inst, n_chains=8, n_sweeps=30, record_every=10, rng=8)
        numba.set_num_threads(2)
        two = run(Metropolis(beta=2.0), inst, n_chains=8, n_sweeps=30, record_every=10, rng=8)
    finally:
        numba.set_num_threads(old)
    assert np.array_equal(one.samples, two.samples)
    assert np.array_equal(one.traces["energy"], two.traces["energy"])


def test_one_compiled_signature_per_kernel():
    for inst in _instances(n=20, alpha=0.5):
        run(Metropolis(beta=1.0), inst, n_chains=2, n_sweeps=2, rng=0)
        run(Metropolis(beta=1.0, energy="linear"), inst, n_chains=1, n_sweeps=1, rng=0)
    # one large block per kernel so that the threaded variants run too (when 2 threads exist)
    run(Metropolis(beta=1.0), sn.make_perceptron(1001, 0.5, rng=0), n_chains=8, n_sweeps=10, record_every=10, rng=0)
    run(Metropolis(beta=1.0), sn.make_perceptron(1001, 0.1, patterns="gaussian", rng=0), n_chains=8, n_sweeps=10,
        record_every=10, rng=0)
    for kern in (K.metropolis_bits, K.metropolis_bits_serial, KF.metropolis_float, KF.metropolis_float_serial):
        assert len(kern.signatures) == (1 if kern.__name__.endswith("serial") or numba.get_num_threads() > 1 else 0)


# ------------------------------------------------------- exactness: Boltzmann referee
def _chi2_pvalue(levels, probs, sampled, min_expected=20):
    """Chi-square of sampled energies against exact level probabilities; adjacent levels
    are merged until every bin expects >= min_expected samples."""
    idx = np.searchsorted(levels, sampled - 1e-9)
    idx = np.clip(idx, 0, len(levels) - 1)
    assert np.allclose(levels[idx], sampled, atol=1e-8), "a sampled energy is not an exact level"
    counts = np.bincount(idx, minlength=len(levels)).astype(float)
    expected = probs * len(sampled)
    bins_o, bins_e, co, ce = [], [], 0.0, 0.0
    for o, e in zip(counts, expected):
        co, ce = co + o, ce + e
        if ce >= min_expected:
            bins_o.append(co)
            bins_e.append(ce)
            co, ce = 0.0, 0.0
    if bins_o:
        bins_o[-1] += co
        bins_e[-1] += ce
    assert len(bins_o) >= 2, "too few bins for a test"
    return stats.chisquare(bins_o, np.array(bins_e) * sum(bins_o) / sum(bins_e)).pvalue


def _exact_levels(inst, energy, beta):
    e_all = inst.energy(all_configs(inst.n), energy)
    e_all = np.round(e_all.astype(float), 10)
    levels, counts = np.unique(e_all, return_counts=True)
    logw = np.log(counts) - beta * levels
    p = np.exp(logw - logw.max())
    return levels, p / p.sum()


@pytest.mark.parametrize("energy", ["errors", "linear"])
@pytest.mark.parametrize("beta", [0.6, 2.0])
@pytest.mark.parametrize("idx", range(8), ids=_ids())
def test_metropolis_samples_the_boltzmann_distribution(idx, beta, energy):
    """One sample per independent chain (after 40 sweeps at N = 12, far past equilibration
    for these energy scales) against the exact Boltzmann law from all 2**12 configurations."""
    inst = _instances(n=12, alpha=0.75, seed=3)[idx]
    res = run(Metropolis(beta=beta, energy=energy), inst, n_chains=3000, n_sweeps=40, record_every=40,
              rng=1000 + idx, keep_samples=False)
    levels, probs = _exact_levels(inst, energy, beta)
    assert _chi2_pvalue(levels, probs, res.final_state.energy) > P_FLOOR


def test_tempering_cold_end_is_boltzmann():
    inst = sn.make_perceptron(14, 0.9, rng=8)
    ladder = schedules.ladder(0.3, 3.0, 5)
    res = run(ParallelTempering(ladder), inst, n_chains=1500, n_sweeps=40, record_every=40, rng=5, keep_samples=False)
    for k in (0, 4):
        levels, probs = _exact_levels(inst, "errors", ladder[k])
        assert _chi2_pvalue(levels, probs, res.traces["energy"][-1, k::5]) > P_FLOOR


def test_zero_temperature_and_walk_stay_on_solutions():
    inst = sn.make_perceptron(51, 0.4, rng=6)
    res = run(SolutionWalk(), inst, n_chains=4, n_sweeps=50, record_every=5, rng=2)
    assert inst.is_solution(res.samples.reshape(-1, 51)).all()
    assert np.all(res.traces["energy"] == 0)
    assert res.acceptance.max() > 0  # the walk moves
    for c in np.flatnonzero(res.acceptance == 0):  # a frozen chain sits on an isolated solution
        w = res.final_state.w[c]
        nbrs = np.repeat(w[None], 51, axis=0)
        nbrs[np.arange(51), np.arange(51)] *= -1
        assert not inst.is_solution(nbrs).any()
    # energies never increase at beta = inf
    r = run(Metropolis(beta=math.inf), inst, n_chains=4, n_sweeps=30, rng=2)
    assert np.all(np.diff(r.traces["energy"], axis=0) <= 0)


def test_annealing_schedule_is_followed():
    inst = sn.make_perceptron(61, 0.5, rng=7)
    sched = schedules.linear(0.1, 4.0, 30)
    res = run(SimulatedAnnealing(sched), inst, n_chains=2, rng=1)
    assert res.traces["sweep"].tolist() == list(range(1, 31))
    assert np.array_equal(res.traces["beta"][:, 0], sched)


# -------------------------------------------------------------------- schedules
def test_schedules_length_monotone_exact_endpoints():
    for make in (schedules.linear, schedules.geometric):
        b = make(0.3, 7.1, 57)
        assert len(b) == 57 and b[0] == 0.3 and b[-1] == 7.1 and np.all(np.diff(b) > 0)
    lad = schedules.ladder(0.1, 2.0, 9)
    assert len(lad) == 9 and lad[0] == 0.1 and lad[-1] == 2.0
    assert np.allclose(lad[1:] / lad[:-1], (2.0 / 0.1) ** (1 / 8))
    assert schedules.linear(1.0, 1.0, 1).tolist() == [1.0]


# --------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda i: Metropolis(beta=-1.0), "beta=-1.0"),
        (lambda i: Metropolis(energy="square"), "energy='square'"),
        (lambda i: ParallelTempering(np.array([1.0, 0.5])), "strictly increasing"),
        (lambda i: ParallelTempering(np.array([0.5, 1.0]), swap_every=0), "swap_every=0"),
        (lambda i: schedules.geometric(0.0, 1.0, 10), "beta_start=0.0"),
        (lambda i: schedules.linear(0.1, 1.0, 0), "n=0"),
        (lambda i: run(Metropolis(), i, n_chains=0, n_sweeps=5), "n_chains=0"),
        (lambda i: run(Metropolis(), i, n_sweeps=10, record_every=3), "multiple of record_every"),
        (lambda i: run(Metropolis(), i, n_sweeps=5, init=np.ones(3)), "init must have shape"),
        (lambda i: run(SimulatedAnnealing(schedules.linear(0.1, 1, 5)), i, n_sweeps=6), "exceeds the schedule"),
        (lambda i: run(Metropolis(), i, n_sweeps=5, rng=-3), "non-negative"),
        (lambda i: run(SolutionWalk(find_sweeps=20), sn.make_perceptron(15, 3.0, rng=0), n_sweeps=1),
         "found no solution"),
    ],
)
def test_bad_input(call, match):
    inst = sn.make_perceptron(10, 0.5, rng=0)
    with pytest.raises(ValueError, match=match):
        call(inst)


@pytest.mark.parametrize("kappa", [0.0, 0.3, -0.2])
def test_flip_update_twice_is_identity_and_once_is_a_recomputation(kappa):
    from spinglass_nets.samplers._engine import Engine

    inst = sn.make_perceptron(70, 1.3, kappa=kappa, rng=9)  # P = 91: two words, padding
    w0 = (2 * np.random.default_rng(0).integers(0, 2, size=(1, 70)) - 1).astype(np.int8)
    eng = Engine(inst, w0, np.ones((1, 4), np.uint64), "linear")
    lay = eng.lay
    rem = lay.p - 64 * (lay.W - 1)
    lastmask = np.uint64((1 << rem) - 1) if rem < 64 else np.uint64(2**64 - 1)
    snap = [a[0].copy() for a in (eng.h, eng.la, eng.lb, eng.vb)]
    for i in (0, 33, 69):
        wi = eng.w[0, i]
        neg = np.uint64(0) if wi > 0 else np.uint64(2**64 - 1)
        K._flip_update(eng.h[0], lay.cbits, i, neg, lay.A, lay.B, eng.la[0], eng.lb[0], eng.vb[0], lay.W, lastmask)
        w1 = eng.w[0].copy()
        w1[i] = -w1[i]
        assert np.array_equal(eng.h[0, : lay.p], inst.fields(w1))  # once: the new fields
        assert np.all(eng.h[0, lay.p :] == K.SENTINEL)  # padding untouched
        neg2 = ~neg
        K._flip_update(eng.h[0], lay.cbits, i, neg2, lay.A, lay.B, eng.la[0], eng.lb[0], eng.vb[0], lay.W, lastmask)
        for a, s in zip((eng.h, eng.la, eng.lb, eng.vb), snap):
            assert np.array_equal(a[0], s)  # twice: the identity
