"""Monte Carlo local entropy (reference tempering + multi-histogram) against enumeration."""

import numpy as np
import pytest

import spinglass_nets as sn
from spinglass_nets import analysis as A
from spinglass_nets import exact

pytest.importorskip("spinglass_nets.samplers.replicated")


def _check(inst, ref, seed, sweeps, chains=8, z_max=4.0):
    ex = A.local_entropy(inst, ref)
    mc = A.local_entropy(inst, ref, method="mc", rng=seed, beta=3.0, n_chains=chains, n_sweeps=sweeps)
    ok = np.isfinite(mc.entropy) & np.isfinite(mc.error) & (mc.error > 0) & np.isfinite(ex.entropy)
    assert ok.sum() >= inst.n // 3
    z = (mc.entropy[ok] - ex.entropy[ok]) / mc.error[ok]
    # Jackknife errors from 8 chains: allow |z| < 4 at every compared distance, and the
    # mean square near 1 (chi2 / dof < 3: the jackknife variance is itself noisy).
    assert np.max(np.abs(z)) < z_max, z
    assert np.mean(z**2) < 3.0, z
    assert mc.entropy[0] == 0.0
    return mc


def test_mc_local_entropy_matches_enumeration_typical():
    inst = sn.make_perceptron(16, 0.4, patterns="gaussian", rng=2)
    sols = exact.enumerate_solutions(inst)
    assert len(sols) > 200
    _check(inst, sols[len(sols) // 2], seed=3, sweeps=1500)


def test_mc_local_entropy_bad_input():
    inst = sn.make_perceptron(12, 0.5, rng=1)
    w = np.ones(12, np.int8)
    if not inst.is_solution(w):
        with pytest.raises(ValueError, match="solution"):
            A.local_entropy(inst, w, method="mc", n_sweeps=10)
    with pytest.raises(ValueError, match="lams"):
        A.local_entropy(inst, w, method="mc", lams=[1.0, 0.5], beta=2.0, n_sweeps=10)


@pytest.mark.slow
def test_mc_local_entropy_matches_enumeration_n20_high_margin():
    inst = sn.make_perceptron(20, 0.5, patterns="gaussian", rng=1)
    hi = sn.PerceptronInstance(inst.xi, inst.y, kappa=0.3, patterns="gaussian")
    ref = exact.enumerate_solutions(hi)[0]
    _check(inst, ref, seed=4, sweeps=4000)
