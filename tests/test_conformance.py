"""Shared conformance suite: every sampler in ``SAMPLERS`` on the same driver and store.

A new sampler joins by one line in ``EXAMPLES`` (a test fails until it does). Checked for
each: parameters survive the JSON round trip of the store; same seed, same bits; the first
chains of a run with more chains are those of the run with fewer; run() equals
init() + step() and step() leaves its input untouched; energies equal a recomputation; the
store holds the run (samples and every trace, extras included); and a run interrupted and
resumed equals an uninterrupted one bit for bit.
"""

import json

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets.samplers import (
    SAMPLERS, EntropyDrivenMC, Metropolis, ParallelTempering, ReferenceTempering, ReplicatedAnnealing,
    SimulatedAnnealing, SolutionWalk, resume, run, sampler_from_params, schedules,
)
from spinglass_nets.store import open_store

N = 25
EXAMPLES = {
    "metropolis": lambda: Metropolis(beta=1.5),
    "anneal": lambda: SimulatedAnnealing(schedules.geometric(0.5, 3.0, 8)),
    "tempering": lambda: ParallelTempering(schedules.ladder(0.5, 3.0, 3), swap_every=2),
    "walk": lambda: SolutionWalk(find_sweeps=100),
    "replicated": lambda: ReplicatedAnnealing(schedules.geometric(0.5, 3.0, 8), schedules.geometric(0.1, 1.0, 8), y=2),
    "reference_tempering": lambda: ReferenceTempering(np.ones(N, dtype=np.int8), [0.0, 0.5], beta=2.0),
    "edmc": lambda: EntropyDrivenMC(gamma0=0.3, beta_e=30.0),
}


def test_every_sampler_has_a_conformance_example():
    assert set(EXAMPLES) == set(SAMPLERS)


@pytest.fixture(scope="module")
def inst():
    return sn.make_perceptron(N, 0.3, rng=5)  # easy: the walk finds solutions


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_sampler_conformance(name, inst, tmp_path):
    s = EXAMPLES[name]()
    assert s.name == name
    back = sampler_from_params(name, json.loads(json.dumps(s.params())))
    assert back.params() == s.params()

    a = run(s, inst, n_chains=2, n_sweeps=8, record_every=2, rng=3)
    b = run(s, inst, n_chains=2, n_sweeps=8, record_every=2, rng=3)
    assert np.array_equal(a.samples, b.samples)
    for k in a.traces:
        assert np.array_equal(a.traces[k], b.traces[k]), k
    assert set(a.traces) == {"sweep", "energy", "acceptance", "beta", *s.extra_traces}
    more = run(s, inst, n_chains=3, n_sweeps=8, record_every=2, rng=3)
    cols = a.samples.shape[1]  # n_chains * K columns, chain c in columns c*K .. c*K + K - 1
    assert np.array_equal(more.samples[:, :cols], a.samples)
    assert np.array_equal(more.traces["energy"][:, :cols], a.traces["energy"])

    st0 = s.init(inst, 2, rng=3)
    w0, aux0 = st0.w.copy(), {k: np.array(v) for k, v in st0.aux.items()}
    st1, info = s.step(inst, st0, 8)
    assert np.array_equal(st0.w, w0) and all(np.array_equal(st0.aux[k], v, equal_nan=True) for k, v in aux0.items())
    assert np.array_equal(st1.w, a.final_state.w) and np.array_equal(st1.rng_state, a.final_state.rng_state)
    assert np.allclose(st1.energy, inst.energy(st1.w, s.energy_kind), atol=1e-9)
    assert np.all((info.acceptance >= 0) & (info.acceptance <= 1))

    path = tmp_path / "c.h5"
    run(s, inst, n_chains=2, n_sweeps=4, record_every=2, rng=3, store=path, run_name="r")
    resume(path, "r", n_sweeps=8)
    with open_store(path) as st:
        r = st.run("r")
        assert r.finished and np.array_equal(r.samples(), a.samples)
        assert r.trace_names() == ["energy", "acceptance", "beta", *s.extra_traces]
        for k in r.trace_names():
            assert np.array_equal(r.trace(k), a.traces[k]), k
        assert np.array_equal(r.sweeps(), a.traces["sweep"])
